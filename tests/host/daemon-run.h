/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running the real blknotifyd (BLKNOTIFYD names the binary) in a host
 * test: a service-manager notification socket to learn when it is ready,
 * start, SIGTERM, SIGKILL.  For any test that needs the daemon.
 */
#ifndef BLKNOTIFY_TEST_DAEMON_RUN_H
#define BLKNOTIFY_TEST_DAEMON_RUN_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

struct daemon_run {
	pid_t pid;
	int notify_fd;
	char notify_path[108];
	const char *conf;	/* its configuration file */
	int wait_ms;		/* how long READY=1 may take */
};

/* Bind the notification socket at notify_path.  Returns 0 or -errno. */
static inline int daemon_run_init(struct daemon_run *r, const char *notify_path,
				  const char *conf, int wait_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(r, 0, sizeof(*r));
	r->conf = conf;
	r->wait_ms = wait_ms;
	snprintf(r->notify_path, sizeof(r->notify_path), "%s", notify_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
	r->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r->notify_fd < 0 || bind(r->notify_fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

/* Wait for the notification that contains want (READY=1). */
static inline int daemon_run_wait(struct daemon_run *r, const char *want)
{
	struct pollfd pfd = { .fd = r->notify_fd, .events = POLLIN };
	char buf[512];
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, r->wait_ms) != 1)
			return -ETIMEDOUT;
		n = recv(r->notify_fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (strstr(buf, want))
			return 0;
	}
}

/* Start blknotifyd -c conf --source source, and wait until it is ready. */
static inline int daemon_run_start(struct daemon_run *r, const char *source)
{
	char env[160];

	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (r->pid == 0) {
		snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", r->notify_path);
		putenv(env);
		execl(getenv("BLKNOTIFYD"), "blknotifyd", "-c", r->conf, "--source", source,
		      (char *)NULL);
		_exit(127);
	}
	return daemon_run_wait(r, "READY=1");
}

/* SIGTERM (or SIGKILL) and reap; returns the exit status (0: clean), -1 if none ran. */
static inline int daemon_run_stop(struct daemon_run *r, int sig)
{
	int st;

	if (r->pid <= 0)
		return -1;
	kill(r->pid, sig);
	waitpid(r->pid, &st, 0);
	r->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline void daemon_run_fini(struct daemon_run *r)
{
	daemon_run_stop(r, SIGTERM);
	if (r->notify_fd > 0)
		close(r->notify_fd);
	r->notify_fd = -1;
	unlink(r->notify_path);
}

#endif /* BLKNOTIFY_TEST_DAEMON_RUN_H */
