// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "listen.h"
#include "log.h"

#define SD_LISTEN_FDS_START	3

/* Use the socket systemd passed (blknotifyd.socket), if any.  Returns 1 if so. */
static int listen_fds(struct manager *m)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int type = 0, acc = 0, fl;
	socklen_t len = sizeof(type);

	if (!pid || !fds || strtol(pid, NULL, 10) != getpid())
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1")) {
		log_err("systemd passed %s sockets; blknotifyd.socket must declare exactly one", fds);
		return -EINVAL;
	}
	if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET) {
		log_err("the socket systemd passed is not SOCK_SEQPACKET: use ListenSequentialPacket= in blknotifyd.socket");
		return -EINVAL;
	}
	len = sizeof(acc);
	if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc) {
		log_err("the socket systemd passed is not listening");
		return -EINVAL;
	}
	fl = fcntl(SD_LISTEN_FDS_START, F_GETFL);
	fcntl(SD_LISTEN_FDS_START, F_SETFL, fl | O_NONBLOCK);
	fcntl(SD_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC);
	m->listen_fd = SD_LISTEN_FDS_START;
	m->socket_activated = true;
	return 1;
}

static int make_socket(struct manager *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old_umask;
	int fd, r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", m->cfg.socket_path);
	snprintf(dir, sizeof(dir), "%s", m->cfg.socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			log_err("cannot create %s: %m", dir);
			return -errno;
		}
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket left by a daemon that died is removed; a live one is not. */
	if (access(sa.sun_path, F_OK) == 0) {
		int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			log_err("another blknotifyd is listening on %s; stop it first", sa.sun_path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(sa.sun_path);
	}
	/* Created owner-only; opened up to socket_mode once its group is right. */
	old_umask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0) {
		r = -errno;
		log_err("cannot bind %s: %m", sa.sun_path);
		close(fd);
		return r;
	}
	if ((m->cfg.socket_gid_set && chown(sa.sun_path, -1, m->cfg.socket_gid) < 0) ||
	    chmod(sa.sun_path, m->cfg.socket_mode) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		log_err("cannot set up %s: %m", sa.sun_path);
		close(fd);
		unlink(sa.sun_path);
		return r;
	}
	if (!m->cfg.socket_gid_set && (m->cfg.socket_mode & 077))
		log_warn("group \"blknotify\" does not exist: %s belongs to root's group; "
			 "create the group or set socket_group", sa.sun_path);
	m->listen_fd = fd;
	return 0;
}

int listen_open(struct manager *m)
{
	int r = listen_fds(m);

	if (r == 0)
		r = make_socket(m);
	return r < 0 ? r : 0;
}

void listen_close(struct manager *m)
{
	if (m->listen_fd >= 0 && !m->socket_activated) {
		close(m->listen_fd);
		unlink(m->cfg.socket_path);
	}
	m->listen_fd = -1;
}
