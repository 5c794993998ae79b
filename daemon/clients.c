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
	if (!c->detached) {
		epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		m->nr_clients--;
	}
	cq_free(&c->q);
	m->clients[c->slot] = NULL;
	free(c);
	if (had_watches && m->upstream && !m->stopping) {
		upstream_update(m);
		state_save(m, false);
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
			client_set_events(m, c, EPOLLIN | EPOLLOUT);
			return true;
		}
		if (n < 0) {
			client_close(m, c, strerror(errno));
			return false;
		}
		cq_consume(&c->q, nr_slots, trailing_loss);
	}
	client_set_events(m, c, EPOLLIN);
	return true;
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

void clients_accept(struct manager *m)
{
	static const char full_fmt[] =
		"blknotifyd serves at most %u clients (max_clients in %s); try again later";
	unsigned char buf[BND_REQUEST_MAX] __attribute__((aligned(8)));
	struct client *c;
	unsigned int slot;
	int fd, sndbuf = CLIENT_SNDBUF;

	for (;;) {
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %m");
			return;
		}
		for (slot = 0; slot < BND_CLIENTS_HARD_MAX && m->clients[slot]; slot++)
			;
		/* (Queues kept across a restart hold slots too, until claimed or expired.) */
		if (m->nr_clients >= m->cfg.max_clients || slot == BND_CLIENTS_HARD_MAX) {
			size_t len = bnd_msg_error(buf, 0, -EUSERS, full_fmt, m->cfg.max_clients,
						   m->config_path);

			m->clients_refused++;
			log_client(4, "refused a client: %u clients connected (max_clients)",
				   m->nr_clients);
			(void)!send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			log_err("out of memory for a client");
			close(fd);
			continue;
		}
		if (peer_get(fd, &m->cfg, &c->peer) < 0) {
			log_warn("cannot read a client's credentials: %m");
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->slot = slot;
		c->gen = ++m->next_gen;
		c->id = ++m->next_id;
		c->queue_size = BLKNOTIFY_QUEUE_SIZE_DEFAULT < m->cfg.max_queue_size ?
				BLKNOTIFY_QUEUE_SIZE_DEFAULT : m->cfg.max_queue_size;
		clock_gettime(CLOCK_MONOTONIC, &c->connected);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		c->events = EPOLLIN;
		if (manager_epoll_add(m, fd, EPOLLIN, epoll_tag(c->gen, slot)) < 0) {
			log_err("epoll: %m");
			close(fd);
			free(c);
			continue;
		}
		m->clients[slot] = c;
		m->nr_clients++;
		log_client(6, "client %u connected: pid %d uid %u gid %u%s", c->id, (int)c->peer.pid,
			   c->peer.uid, c->peer.gid, c->peer.privileged ? " (privileged)" : "");
	}
}
