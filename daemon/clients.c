// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "clients.h"
#include "log.h"
#include "requests.h"
#include "state.h"
#include "upstream.h"
#include "watch.h"

static __u64 epoll_tag(__u32 gen, unsigned int slot)
{
	return (__u64)gen << 32 | slot;
}

static void client_set_events(struct manager *m, struct client *c, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.u64 = epoll_tag(c->gen, c->slot) };

	if (c->events == events)
		return;
	if (epoll_ctl(m->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = events;
}

void client_close(struct manager *m, struct client *c, const char *why)
{
	struct client **pp;
	bool had_watches = c->nr_watches > 0;

	log_client(6, "client %u (pid %d uid %u) gone: %s; delivered %llu, lost %llu",
		 c->id, (int)c->peer.pid, c->peer.uid, why,
		 (unsigned long long)c->q.total_acked, (unsigned long long)c->q.total_lost);
	for (pp = &m->dirty; *pp; pp = &(*pp)->next_dirty) {
		if (*pp == c) {
			*pp = c->next_dirty;
			break;
		}
	}
	m->closed_delivered += c->q.total_acked;
	m->closed_lost += c->q.total_lost;
	if (c->throttled)
		m->nr_throttled--;
	if (!c->detached) {
		epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		m->nr_clients--;
	}
	cq_free(&c->q);
	m->clients[c->slot] = NULL;
	free(c->out);
	free(c);
	if (had_watches && m->upstream && !m->stopping) {
		upstream_update_later(m);
		state_changed(m);
	}
}

void client_push_ended(struct manager *m, struct client *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_ended && cq_room(&c->q); i++) {
		struct bnd_watch_removal r = {
			.watch = {
				.type = WATCH_TYPE_META,
				.subtype = WATCH_META_REMOVAL_NOTIFICATION,
				.info = c->ended[i].id << WATCH_INFO_ID__SHIFT | BND_WATCH_REMOVAL_SIZE,
			},
			.error = c->ended[i].error,
		};

		cq_push(&c->q, &r.watch);
		client_mark_dirty(m, c);
	}
	memmove(c->ended, c->ended + i, (c->nr_ended - i) * sizeof(c->ended[0]));
	c->nr_ended -= i;
}

void client_end_watch(struct manager *m, struct client *c, unsigned int j, int error,
		      const char *fmt, ...)
{
	struct bn_watch *w = &c->cfg.watches[j];
	char why[BND_ERROR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_client(5, "client %u (pid %d uid %u): watch %u ended: %s", c->id, (int)c->peer.pid,
		   c->peer.uid, w->id, why);
	if (c->nr_ended < BN_WATCHES_MAX) {
		c->ended[c->nr_ended].id = w->id;
		c->ended[c->nr_ended++].error = error;
	}
	bn_config_remove_watch(&c->cfg, w->id, why, sizeof(why));
	c->diskseq[j] = 0;
	c->nr_watches--;
	clock_gettime(CLOCK_MONOTONIC, &c->last_request);	/* idle from now, if it was the last */
	client_push_ended(m, c);
	upstream_update_later(m);
	state_changed(m);
}

/* Connections that never said HELLO, or that watch nothing and ask nothing, are closed. */
void clients_sweep(struct manager *m)
{
	__u64 hello_ns = m->cfg.hello_timeout_ms * 1000000ULL;
	__u64 idle_ns = m->cfg.idle_timeout_ms * 1000000ULL;
	char why[BND_ERROR_TEXT_MAX];
	unsigned int i;

	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		struct client *c = m->clients[i];

		if (!c || c->detached)
			continue;
		if (!c->hello_done && ns_since(&c->connected) > hello_ns) {
			snprintf(why, sizeof(why), "no HELLO within %u ms of connecting (to allow more, "
				 "set hello_timeout_ms in %s)", m->cfg.hello_timeout_ms, m->config_path);
			client_abort(m, c, 0, -ETIMEDOUT, why);
		} else if (c->hello_done && !c->nr_watches && !c->nr_ended && !c->q.count &&
			   !c->q.in_flight && ns_since(&c->last_request) > idle_ns) {
			/* (Records it has not read yet, a removal record among them, keep it.) */
			snprintf(why, sizeof(why), "no watch and no request for %u ms (to allow more, "
				 "set idle_timeout_ms in %s)", m->cfg.idle_timeout_ms, m->config_path);
			client_abort(m, c, 0, -ETIMEDOUT, why);
		}
	}
}

/*
 * Write a queued reply, then records in batches, until the socket is full.
 * Returns false when the client was closed.
 */
bool client_flush(struct manager *m, struct client *c)
{
	static unsigned char buf[BND_RECORDS_BATCH] __attribute__((aligned(8)));
	ssize_t n;

	if (c->detached)
		return true;	/* its queue waits for it to come back */
	if (c->out_len) {
		n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			client_set_events(m, c, EPOLLOUT);
			return true;
		}
		if (n < 0) {
			client_close(m, c, strerror(errno));
			return false;
		}
		c->out_len = 0;
	}
	while (c->q.slots && cq_pending(&c->q)) {
		unsigned int nr_slots;
		bool trailing_loss;
		size_t len;
		void *body;

		body = bnd_msg_init(buf, BND_RECORDS, ++c->records_seq, 0);
		len = cq_peek(&c->q, body, sizeof(buf) - sizeof(struct bnd_hdr), &nr_slots,
			      &trailing_loss);
		if (!len)
			break;
		((struct bnd_hdr *)buf)->len = sizeof(struct bnd_hdr) + len;
		n = send(c->fd, buf, sizeof(struct bnd_hdr) + len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			c->records_seq--;
			client_set_events(m, c, (c->throttled ? 0 : EPOLLIN) | EPOLLOUT);
			return true;
		}
		if (n < 0) {
			client_close(m, c, strerror(errno));
			return false;
		}
		cq_consume(&c->q, nr_slots, trailing_loss);
	}
	client_set_events(m, c, c->throttled ? 0 : EPOLLIN);
	return true;
}

/* Whether c may make one more request now (REQUEST_RATE); if not, it is not read for a while. */
static bool request_allowed(struct manager *m, struct client *c)
{
	__u64 ms = ns_since(&c->refilled) / 1000000, add = ms * REQUEST_RATE / 1000;

	if (add) {
		c->tokens = c->tokens + add > REQUEST_BURST ? REQUEST_BURST : c->tokens + add;
		clock_gettime(CLOCK_MONOTONIC, &c->refilled);
	}
	if (c->tokens)
		return true;
	if (!c->throttles++)
		log_client(5, "client %u (pid %d uid %u) sends more than %d requests per second: "
			   "reading it more slowly", c->id, (int)c->peer.pid, c->peer.uid,
			   REQUEST_RATE);
	c->throttled = true;
	m->nr_throttled++;
	client_set_events(m, c, c->out_len ? EPOLLOUT : 0);
	manager_defer(m, THROTTLE_MS);
	return false;
}

void clients_unthrottle(struct manager *m)
{
	unsigned int i;

	for (i = 0; i < BND_CLIENTS_HARD_MAX && m->nr_throttled; i++) {
		struct client *c = m->clients[i];

		if (!c || !c->throttled)
			continue;
		c->throttled = false;
		m->nr_throttled--;
		/* Read again (and sent to, as before); a pending reply still comes first. */
		client_set_events(m, c, c->out_len ? EPOLLOUT : EPOLLIN);
	}
	m->nr_throttled = 0;
}

bool client_reply(struct manager *m, struct client *c, size_t len)
{
	c->out_len = len;
	return client_flush(m, c);
}

bool reply_error(struct manager *m, struct client *c, __u32 seq, int error, const char *fmt, ...)
{
	char text[BND_ERROR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_debug("client %u: %s: %s", c->id, strerror(-error), text);
	return client_reply(m, c, bnd_msg_error(c->out, seq, error, "%s", text));
}

bool reply_ok(struct manager *m, struct client *c, __u32 seq, __u64 value)
{
	struct bnd_ok *ok = bnd_msg_init(c->out, BND_OK, seq, sizeof(*ok));

	ok->value = value;
	return client_reply(m, c, sizeof(struct bnd_hdr) + sizeof(*ok));
}

void client_abort(struct manager *m, struct client *c, __u32 seq, int error, const char *why)
{
	unsigned char buf[BND_REQUEST_MAX] __attribute__((aligned(8)));
	size_t len = bnd_msg_error(buf, seq, error, "%s; disconnecting", why);

	log_client(4, "client %u (pid %d uid %u): %s; disconnecting", c->id, (int)c->peer.pid,
		   c->peer.uid, why);
	(void)!send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	client_close(m, c, "protocol error");
}

void client_mark_dirty(struct manager *m, struct client *c)
{
	if (!c->dirty) {
		c->dirty = true;
		c->next_dirty = m->dirty;
		m->dirty = c;
	}
}

void clients_flush_dirty(struct manager *m)
{
	while (m->dirty) {
		struct client *c = m->dirty;

		m->dirty = c->next_dirty;
		c->dirty = false;
		/* A client waiting for EPOLLOUT is flushed when it comes. */
		if (!(c->events & EPOLLOUT))
			client_flush(m, c);
	}
}

void client_readable(struct manager *m, struct client *c)
{
	unsigned char buf[BND_REQUEST_MAX] __attribute__((aligned(8)));
	int i;

	for (i = 0; i < REQUESTS_PER_WAKEUP && !c->out_len; i++) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (c->throttled || !request_allowed(m, c))
			return;
		n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			client_close(m, c, strerror(errno));
			return;
		}
		if (n == 0) {
			client_close(m, c, "disconnected");
			return;
		}
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			client_abort(m, c, 0, -EMSGSIZE, mh.msg_flags & MSG_TRUNC ?
				     "message longer than the 1024-byte request limit" :
				     "unexpected ancillary data");
			return;
		}
		/* ACKs are not counted: a reader acknowledges as fast as it reads. */
		if ((size_t)n < sizeof(struct bnd_hdr) || ((struct bnd_hdr *)buf)->type != BND_ACK)
			c->tokens--;
		if (!request_handle(m, c, buf, n))
			return;
	}
	/* A reply is pending: read no more requests until the client takes it. */
	if (c->out_len)
		client_set_events(m, c, EPOLLOUT);
}

void client_event(struct manager *m, struct client *c, __u32 events)
{
	if (events & EPOLLOUT) {
		if (!client_flush(m, c))
			return;
		if (events & EPOLLIN)
			client_readable(m, c);
		return;
	}
	if (events & EPOLLIN) {
		client_readable(m, c);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR))
		client_close(m, c, "hung up");
}

static unsigned int connections_of(const struct manager *m, uid_t uid)
{
	unsigned int i, n = 0;

	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++)
		n += m->clients[i] && !m->clients[i]->detached && m->clients[i]->peer.uid == uid;
	return n;
}

/*
 * Whether a new connection from peer p may have a slot; if not, the refusal
 * for it in buf (what to do, and the setting to change).  The last
 * reserved_clients slots are root's and privileged_groups'; an unprivileged
 * uid holds at most max_clients_per_uid.  Returns the refusal's length, or 0.
 */
static size_t refusal(const struct manager *m, const struct peer *p, unsigned int slot, void *buf)
{
	const struct daemon_config *cfg = &m->cfg;
	unsigned int mine;

	if (m->nr_clients >= cfg->max_clients || slot == BND_CLIENTS_HARD_MAX)
		return bnd_msg_error(buf, 0, -EUSERS, "blknotifyd serves at most %u clients and has "
				     "that many; try again later (to serve more, set max_clients "
				     "in %s)", cfg->max_clients, m->config_path);
	if (p->privileged)
		return 0;
	if (m->nr_clients >= cfg->max_clients - cfg->reserved_clients)
		return bnd_msg_error(buf, 0, -EUSERS, "the %u client slots open to unprivileged users "
				     "are in use (%u more are kept for root and privileged_groups); "
				     "try again later (set max_clients or reserved_clients in %s)",
				     cfg->max_clients - cfg->reserved_clients, cfg->reserved_clients,
				     m->config_path);
	mine = connections_of(m, p->uid);
	if (mine >= cfg->max_clients_per_uid)
		return bnd_msg_error(buf, 0, -EUSERS, "uid %u has %u connections, the most one user "
				     "may have; close one (or set max_clients_per_uid in %s)",
				     p->uid, mine, m->config_path);
	return 0;
}

static void client_new(struct manager *m, int fd)
{
	unsigned char buf[BND_REQUEST_MAX] __attribute__((aligned(8)));
	int sndbuf = CLIENT_SNDBUF;
	unsigned int slot;
	struct client *c;
	size_t len;

	c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("out of memory for a client");
		close(fd);
		return;
	}
	if (peer_get(fd, &m->cfg, &c->peer) < 0) {
		log_warn("cannot read a client's credentials: %m");
		free(c);
		close(fd);
		return;
	}
	/* (Queues kept across a restart hold slots too, until claimed or expired.) */
	for (slot = 0; slot < BND_CLIENTS_HARD_MAX && m->clients[slot]; slot++)
		;
	len = refusal(m, &c->peer, slot, buf);
	if (len) {
		m->clients_refused++;
		log_client(4, "refused a client (pid %d uid %u): %s", (int)c->peer.pid, c->peer.uid,
			   ((const struct bnd_error *)((const struct bnd_hdr *)buf + 1))->text);
		(void)!send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		free(c);
		return;
	}
	c->fd = fd;
	c->slot = slot;
	c->gen = ++m->next_gen;
	c->id = ++m->next_id;
	c->queue_size = BLKNOTIFY_QUEUE_SIZE_DEFAULT < m->cfg.max_queue_size ?
			BLKNOTIFY_QUEUE_SIZE_DEFAULT : m->cfg.max_queue_size;
	clock_gettime(CLOCK_MONOTONIC, &c->connected);
	c->last_request = c->refilled = c->connected;
	c->tokens = REQUEST_BURST;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	c->events = EPOLLIN;
	if (manager_epoll_add(m, fd, EPOLLIN, epoll_tag(c->gen, slot)) < 0) {
		log_err("epoll: %m");
		close(fd);
		free(c);
		return;
	}
	m->clients[slot] = c;
	m->nr_clients++;
	manager_sweep_arm(m);
	log_client(6, "client %u connected: pid %d uid %u gid %u%s", c->id, (int)c->peer.pid,
		   c->peer.uid, c->peer.gid, c->peer.privileged ? " (privileged)" : "");
}

void clients_accept(struct manager *m)
{
	int fd;

	for (;;) {
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %m");
			return;
		}
		client_new(m, fd);
	}
}
