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
#include <systemd/sd-daemon.h>
#include "listen.h"
#include "log.h"

/*
 * Use the socket systemd passed (blknotifyd.socket), if any, through
 * libsystemd's sd_listen_fds(), which also clears $LISTEN_*.  Returns 1 if so.
 */
static int listen_fds(struct manager *m)
{
	int n = sd_listen_fds(1), fd = SD_LISTEN_FDS_START;

	if (n < 0) {
		log_err("cannot take the sockets systemd passed: %s", strerror(-n));
		return n;
	}
	if (n == 0)
		return 0;
	if (n != 1) {
		log_err("systemd passed %d sockets; blknotifyd.socket must declare exactly one", n);
		return -EINVAL;
	}
	if (sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) <= 0) {
		log_err("the socket systemd passed is not a listening SOCK_SEQPACKET Unix socket: "
			"use ListenSequentialPacket= in blknotifyd.socket");
		return -EINVAL;
	}
	/* sd_listen_fds(1) made it close-on-exec; the loop needs it non-blocking. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	m->listen_fd = fd;
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
