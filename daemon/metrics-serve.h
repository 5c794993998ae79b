/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Serving the exposition (metrics.h): GET /metrics over HTTP with
 * libmicrohttpd, run from blknotifyd's own epoll loop (MHD's epoll fd and a
 * timerfd for its timeouts are two more fds in it; no thread), and the file
 * for node_exporter's textfile collector, replaced atomically.
 *
 * Bounds: METRICS_HTTP_CONNECTIONS connections at once (more wait in the
 * kernel's backlog, then are refused), METRICS_HTTP_TIMEOUT seconds idle.
 */
#ifndef BLKNOTIFYD_METRICS_SERVE_H
#define BLKNOTIFYD_METRICS_SERVE_H

#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

#define METRICS_HTTP_CONNECTIONS	16
#define METRICS_HTTP_TIMEOUT		10	/* s */
#define METRICS_TEXTFILE_NAME		"blknotify.prom"

/* The exposition, malloc()ed, or NULL on ENOMEM. */
typedef char *(*metrics_render_fn)(void *userdata, size_t *len);

struct metrics_server {
	struct MHD_Daemon *mhd;
	int mhd_fd;		/* MHD's epoll fd: readable when MHD has work */
	int timer_fd;		/* MHD's next timeout */
	metrics_render_fn render;
	void *userdata;
	__u64 scrapes;
};

/* Listen on addr.  Returns 0 or a negative errno, with a sentence in err[]. */
int metrics_server_start(struct metrics_server *s, const char *addr, metrics_render_fn render,
			 void *userdata, char *err, size_t err_len);
/* Either fd was readable: let MHD do its work, then rearm the timer. */
void metrics_server_run(struct metrics_server *s);
void metrics_server_stop(struct metrics_server *s);

/* Replace DIR/blknotify.prom with buf atomically (a temporary file, renamed). 0 or -errno. */
int metrics_textfile_write(const char *dir, const char *buf, size_t len);

#endif /* BLKNOTIFYD_METRICS_SERVE_H */
