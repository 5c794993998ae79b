// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The manager: one thread, one epoll loop, every fd non-blocking, so the
 * daemon never waits for a client.  A client that does not read fills its
 * own queue and loses records, counted; nobody else notices.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "clients.h"
#include "devices.h"
#include "history-query.h"
#include "listen.h"
#include "log.h"
#include "manager.h"
#include "outputs.h"
#include "state.h"
#include "upstream.h"

#define MAX_EVENTS		64

__u64 now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000000000ULL + now.tv_nsec;
}

__u64 ns_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000000000ULL + now.tv_nsec - t->tv_nsec;
}

int manager_epoll_add(struct manager *m, int fd, __u32 events, __u64 tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Tell the service manager (nothing to do without $NOTIFY_SOCKET). */
static void notify(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		log_warn("cannot notify the service manager: %s", strerror(-r));
}

void manager_defer(struct manager *m, unsigned int ms)
{
	struct itimerspec its = { 0 }, cur;

	if (timerfd_gettime(m->defer_fd, &cur) == 0 &&
	    (cur.it_value.tv_sec || cur.it_value.tv_nsec) &&
	    cur.it_value.tv_sec * 1000ULL + cur.it_value.tv_nsec / 1000000 <= ms)
		return;		/* due sooner already */
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000L + 1;
	if (timerfd_settime(m->defer_fd, 0, &its, NULL) < 0)
		log_err("cannot arm the deferred-work timer: %m");
}

/* The deferred work: what a flood of requests asked for, done once. */
static void run_deferred(struct manager *m)
{
	__u64 ticks;

	__u64 now = now_ns(), next = ~0ULL;

	(void)!read(m->defer_fd, &ticks, sizeof(ticks));
	if (m->nr_throttled)
		clients_unthrottle(m);
	/* The timer serves several deadlines: do what is due, wait again for the rest. */
	if (m->upstream_pending && now >= m->upstream_due_ns) {
		m->upstream_pending = false;
		upstream_update(m);
	} else if (m->upstream_pending) {
		next = m->upstream_due_ns;
	}
	if (m->state_pending && now >= m->state_due_ns)
		state_save(m, false);
	else if (m->state_pending && m->state_due_ns < next)
		next = m->state_due_ns;
	if (next != ~0ULL)
		manager_defer(m, (next - now) / 1000000 + 1);
}

void manager_sweep_arm(struct manager *m)
{
	unsigned int ms = m->cfg.hello_timeout_ms < m->cfg.idle_timeout_ms ?
			  m->cfg.hello_timeout_ms : m->cfg.idle_timeout_ms;
	struct itimerspec its = { 0 };

	if (m->sweep_armed)
		return;
	ms /= 4;
	if (ms > SWEEP_INTERVAL_MAX_MS)
		ms = SWEEP_INTERVAL_MAX_MS;
	its.it_value.tv_sec = its.it_interval.tv_sec = ms / 1000;
	its.it_value.tv_nsec = its.it_interval.tv_nsec = (ms % 1000) * 1000000L;
	if (timerfd_settime(m->sweep_fd, 0, &its, NULL) < 0)
		log_err("cannot arm the client timeout timer: %m");
	else
		m->sweep_armed = true;
}

/* Timeouts and device checks; the timer stops while nobody is connected. */
static void sweep(struct manager *m)
{
	struct itimerspec off = { 0 };
	__u64 ticks;

	(void)!read(m->sweep_fd, &ticks, sizeof(ticks));
	clients_sweep(m);
	devices_check(m);
	if (!m->nr_clients && timerfd_settime(m->sweep_fd, 0, &off, NULL) == 0)
		m->sweep_armed = false;
}

static int setup_signals(struct manager *m)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	m->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	return m->signal_fd < 0 ? -errno : 0;
}

static void handle_signal(struct manager *m)
{
	struct signalfd_siginfo si;

	while (read(m->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: configuration reload is not supported; restart blknotifyd "
				 "to apply %s", m->config_path);
			outputs_reload(m);	/* the handlers' directory is read again */
			continue;
		}
		log_info("%s: shutting down", strsignal(si.ssi_signo));
		m->stopping = true;
	}
}

static void dispatch(struct manager *m, const struct epoll_event *ev)
{
	unsigned int slot = ev->data.u64 & 0xffffffff;
	__u32 gen = ev->data.u64 >> 32;
	struct client *c;
	int r;

	switch (slot) {
	case TAG_LISTEN:
		clients_accept(m);
		return;
	case TAG_SIGNAL:
		handle_signal(m);
		return;
	case TAG_GRACE:
		state_expire_detached(m);
		return;
	case TAG_OUTPUT_FIRST ... TAG_OUTPUT_LAST:
		outputs_dispatch(m, slot);
		return;
	case TAG_DEFER:
		run_deferred(m);
		return;
	case TAG_SWEEP:
		sweep(m);
		return;
	case TAG_UPSTREAM:
		r = upstream_readable(m);
		if (r < 0) {
			log_err("source %s failed: %s", blknotify_source_name(m->source),
				blknotify_queue_get_error(m->upstream) ?: strerror(-r));
			m->stopping = m->failed = true;
		}
		return;
	}
	if (slot >= BND_CLIENTS_HARD_MAX)
		return;
	c = m->clients[slot];
	if (!c || c->gen != gen)
		return;		/* closed earlier in this batch */
	client_event(m, c, ev->events);
}

void manager_init(struct manager *m)
{
	memset(m, 0, sizeof(*m));
	m->config_path = BLKNOTIFYD_CONFIG_FILE;
	m->journal = getenv("JOURNAL_STREAM") != NULL;
	m->listen_fd = m->signal_fd = m->epoll_fd = m->grace_fd = m->pin_lock_fd = -1;
	m->defer_fd = m->sweep_fd = -1;
}

int manager_start(struct manager *m)
{
	char status[256];
	int r;

	clock_gettime(CLOCK_MONOTONIC, &m->started);
	m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epoll_fd < 0 || setup_signals(m) < 0) {
		log_err("cannot set up the event loop: %m");
		return -errno;
	}
	r = upstream_start(m);
	if (r < 0)
		return r;
	m->grace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	m->defer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	m->sweep_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->grace_fd < 0 || m->defer_fd < 0 || m->sweep_fd < 0 ||
	    (r = manager_epoll_add(m, m->grace_fd, EPOLLIN, TAG_GRACE)) < 0 ||
	    (r = manager_epoll_add(m, m->defer_fd, EPOLLIN, TAG_DEFER)) < 0 ||
	    (r = manager_epoll_add(m, m->sweep_fd, EPOLLIN, TAG_SWEEP)) < 0) {
		log_err("cannot set up a timer: %m");
		return -errno;
	}
	/* Before the source narrows: the restored clients' disks stay watched. */
	if (m->resumed)
		state_load(m);
	r = outputs_start(m);
	if (r < 0)
		return r;
	upstream_update(m);
	r = listen_open(m);
	if (r < 0)
		return r;
	if ((r = manager_epoll_add(m, m->listen_fd, EPOLLIN, TAG_LISTEN)) < 0 ||
	    (r = manager_epoll_add(m, m->signal_fd, EPOLLIN, TAG_SIGNAL)) < 0 ||
	    (r = manager_epoll_add(m, blknotify_queue_get_fd(m->upstream), EPOLLIN, TAG_UPSTREAM)) < 0) {
		log_err("epoll: %s", strerror(-r));
		return r;
	}
	log_info("reading %s, serving %s%s (at most %u clients, queues up to %u records)",
		 blknotify_source_name(m->source), m->cfg.socket_path,
		 m->socket_activated ? " (socket-activated)" : "", m->cfg.max_clients,
		 m->cfg.max_queue_size);
	snprintf(status, sizeof(status), "READY=1\nSTATUS=source %s, serving %s\nMAINPID=%d",
		 blknotify_source_name(m->source), m->cfg.socket_path, (int)getpid());
	notify(status);
	return 0;
}

int manager_run(struct manager *m)
{
	struct epoll_event events[MAX_EVENTS];
	int i, n;

	while (!m->stopping) {
		n = epoll_wait(m->epoll_fd, events, MAX_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("epoll_wait: %m");
			return -errno;
		}
		for (i = 0; i < n && !m->stopping; i++)
			dispatch(m, &events[i]);
		clients_flush_dirty(m);
	}
	return 0;
}

void manager_stop(struct manager *m)
{
	notify("STOPPING=1");
	m->stopping = true;
	/*
	 * Errors that happened before the signal are in the source already:
	 * read them all and hand out what fits in the clients' sockets.  A
	 * client is told of what did not fit when it reconnects (a gap).
	 */
	if (m->upstream && !m->pinned) {
		int reads;

		do
			reads = upstream_readable(m);
		while (reads == UPSTREAM_READS_PER_WAKEUP);
		clients_flush_dirty(m);
	}
	/* Pinned: what the source holds stays for our successor, and so do the clients. */
	if (m->upstream && m->pinned)
		state_save(m, true);
}

void manager_free(struct manager *m)
{
	unsigned int s;

	m->stopping = true;
	for (s = 0; s < BND_CLIENTS_HARD_MAX; s++)
		if (m->clients[s])
			client_close(m, m->clients[s], "daemon stopping");
	listen_close(m);
	history_query_free(m);	/* before the writer closes (and removes the WAL) */
	outputs_stop(m);	/* after the last records: summaries, the textfile */
	blknotify_queue_free(m->upstream);
	m->upstream = NULL;
	if (m->signal_fd >= 0)
		close(m->signal_fd);
	if (m->grace_fd >= 0)
		close(m->grace_fd);
	if (m->defer_fd >= 0)
		close(m->defer_fd);
	if (m->sweep_fd >= 0)
		close(m->sweep_fd);
	if (m->pin_lock_fd >= 0)
		close(m->pin_lock_fd);
	if (m->epoll_fd >= 0)
		close(m->epoll_fd);
}
