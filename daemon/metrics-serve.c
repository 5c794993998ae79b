// SPDX-License-Identifier: LGPL-2.1-or-later
/* GET /metrics with libmicrohttpd in the daemon's loop; the textfile (metrics-serve.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <microhttpd.h>
#include "metrics-serve.h"
#include "outputs.h"

#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result r;

	if (!resp) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static char not_found[] = "blknotifyd serves /metrics only\n";
	static char not_allowed[] = "GET or HEAD only\n";
	struct metrics_server *s = cls;
	size_t len;
	char *body;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, strlen(not_allowed),
			     MHD_RESPMEM_PERSISTENT);
	if (*upload_data_size)
		return MHD_NO;	/* a GET with a body */
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found),
			     MHD_RESPMEM_PERSISTENT);
	body = s->render(s->userdata, &len);
	if (!body)
		return MHD_NO;
	s->scrapes++;
	return reply(conn, MHD_HTTP_OK, body, len, MHD_RESPMEM_MUST_FREE);
}

int metrics_server_start(struct metrics_server *s, const char *addr, metrics_render_fn render,
			 void *userdata, char *err, size_t err_len)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	socklen_t len;
	/* (No MHD_USE_ERROR_LOG: MHD's own lines name port 0; the message below says what is wrong.) */
	unsigned int flags = MHD_USE_EPOLL;

	memset(s, 0, sizeof(*s));
	s->mhd_fd = s->timer_fd = -1;
	s->render = render;
	s->userdata = userdata;
	if (outputs_parse_listen(addr, &ss, &len) < 0) {
		snprintf(err, err_len, "metrics_listen: \"%s\" is not ADDRESS:PORT or [ADDRESS]:PORT", addr);
		return -EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_HTTP_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_HTTP_TIMEOUT,
				  MHD_OPTION_END);
	if (!s->mhd) {
		int e = errno ?: EADDRNOTAVAIL;

		snprintf(err, err_len, "cannot serve metrics on %s: %s; set metrics_listen to another "
			 "address, or none", addr, strerror(e));
		return -e;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!info || s->timer_fd < 0) {
		snprintf(err, err_len, "cannot set up the metrics server's event loop: %s",
			 strerror(errno ?: EINVAL));
		metrics_server_stop(s);
		return -EIO;
	}
	s->mhd_fd = info->epoll_fd;
	return 0;
}

void metrics_server_run(struct metrics_server *s)
{
	struct itimerspec its = {};
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t expirations;

	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	MHD_run(s->mhd);
	if (MHD_get_timeout(s->mhd, &ms) == MHD_YES) {
		ms = ms ?: 1;
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = ms % 1000 * 1000000;
	}
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

void metrics_server_stop(struct metrics_server *s)
{
	if (s->mhd)
		MHD_stop_daemon(s->mhd);	/* closes its epoll fd */
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	s->mhd = NULL;
	s->mhd_fd = s->timer_fd = -1;
}

int metrics_textfile_write(const char *dir, const char *buf, size_t len)
{
	char tmp[4096], path[4096];
	size_t off = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s/." METRICS_TEXTFILE_NAME ".tmp", dir);
	snprintf(path, sizeof(path), "%s/" METRICS_TEXTFILE_NAME, dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		off += n;
	}
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}
