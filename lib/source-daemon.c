// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon source: the queue lives in blknotifyd, which applies this
 * queue's size, filter and watches and sends the records that pass, already
 * tagged with our watch IDs.  docs/protocol.md describes the messages.
 *
 * Requests (HELLO, SET_SIZE, SET_FILTER, ADD/REMOVE_WATCH) are synchronous:
 * the caller gets the daemon's verdict, with its explanation.  Records that
 * arrive while we wait for a reply are kept, in order, in a bounded inbox.
 *
 * If the daemon goes away (restart, upgrade, crash), the source reconnects
 * by itself for up to BND_RECONNECT_WINDOW_MS, sets the queue up again and
 * reports the gap as a loss record; records are never silently missing.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <blknotify/device.h>
#include "device-internal.h"
#include "protocol.h"
#include "queue.h"

#define BND_REPLY_TIMEOUT_MS	10000	/* a daemon that does not answer a request in this long is stuck */
#define BND_RECONNECT_WINDOW_MS	60000	/* how long a restart may take before reads fail with -EPIPE */
#define BND_RECONNECT_INTERVAL_MS 200
#define INBOX_MAX		(1U << 20)	/* records received while waiting for a reply */

struct daemon_src {
	int fd;				/* -1 while disconnected */
	int timer_fd;			/* reconnect attempts, in the queue's epoll set while disconnected */
	__u32 seq;
	__u64 token;
	unsigned int size;		/* in effect at the daemon */
	struct bn_config sent;		/* what the daemon has */
	bool gap;			/* disconnected: report loss when reconnected */
	struct timespec lost_at;
	__u64 inbox_lost;		/* records dropped because the inbox was full */
	__u32 unacked;			/* records handed out, not yet acknowledged */
	int kick_fd;			/* eventfd: "read again" to send the ACK, see daemon_read() */
	bool kicked;
	unsigned char *inbox;		/* whole records, from off to len */
	size_t in_off, in_len;
	size_t in_stale;		/* inbox bytes before this came over an old connection */
	unsigned char *msg;		/* one received message, BND_MSG_MAX bytes */
};

static __u64 ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000ULL + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static int connect_daemon(struct blknotify_queue *q, const char *path, int *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return q ? queue_set_error(q, errno, "socket: %s", strerror(errno)) : -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		if (!q)
			return -err;
		switch (err) {
		case ENOENT:
			return queue_set_error(q, err, "blknotifyd is not running: no socket at %s "
					       "(start it: systemctl start blknotifyd.socket)", path);
		case EACCES:
			return queue_set_error(q, err, "permission denied on %s: the daemon's socket admits "
					       "its group only (ask to be added to group \"blknotify\")", path);
		case ECONNREFUSED:
			return queue_set_error(q, err, "no blknotifyd listening on %s", path);
		default:
			return queue_set_error(q, err, "cannot connect to %s: %s", path, strerror(err));
		}
	}
	*ret = fd;
	return 0;
}

/* Receive one message (waiting up to timeout_ms), validated, into buf.  Returns its length. */
static ssize_t recv_msg(int fd, void *buf, int timeout_ms, struct bnd_msg *m, char *why, size_t why_len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct iovec iov = { .iov_base = buf, .iov_len = BND_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	int r;

	for (;;) {
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0 || errno != EAGAIN || timeout_ms == 0)
			break;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0) {
			snprintf(why, why_len, "blknotifyd did not answer within %d ms", timeout_ms);
			return -ETIMEDOUT;
		}
	}
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : (snprintf(why, why_len, "blknotifyd connection: %s",
							     strerror(errno)), -errno);
	if (n == 0) {
		snprintf(why, why_len, "blknotifyd closed the connection");
		return -EPIPE;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		snprintf(why, why_len, "blknotifyd sent a message longer than %d bytes", BND_MSG_MAX);
		return -EBADMSG;
	}
	r = bnd_parse(buf, n, BND_TO_CLIENT, m, why, why_len);
	return r < 0 ? r : n;
}

/* Keep records that arrived while waiting for a reply, in order, within INBOX_MAX. */
static void inbox_add(struct daemon_src *s, const void *recs, size_t len)
{
	const struct watch_notification *n;

	if (s->in_off == s->in_len)
		s->in_off = s->in_len = s->in_stale = 0;
	if (len > INBOX_MAX - s->in_len && s->in_off) {
		memmove(s->inbox, s->inbox + s->in_off, s->in_len - s->in_off);
		s->in_len -= s->in_off;
		s->in_stale = s->in_stale > s->in_off ? s->in_stale - s->in_off : 0;
		s->in_off = 0;
	}
	if (!s->inbox_lost && len <= INBOX_MAX - s->in_len) {
		memcpy(s->inbox + s->in_len, recs, len);
		s->in_len += len;
		return;
	}
	/* Full: count what is dropped, and drop everything after it too, so
	 * the loss record stays in order. */
	for (n = recs; BLOCK_NOTIFY_RECORD_OK(n, len); n = BLOCK_NOTIFY_RECORD_NEXT(n, len)) {
		if (bn_is_loss(n)) {
			s->inbox_lost += bn_loss_count(n);
			continue;
		}
		/* Dropped here is handed out as loss: the daemon must get
		 * its credit back (ACK), or its queue for us shrinks. */
		s->inbox_lost++;
		s->unacked++;
	}
}

static unsigned int reply_type(unsigned int request)
{
	switch (request) {
	case BND_HELLO:		return BND_HELLO_REPLY;
	case BND_GET_STATS:	return BND_STATS;
	case BND_GET_IMPACT:	return BND_IMPACT;
	default:		return BND_OK;
	}
}

/*
 * Send a request and wait for its reply; records meanwhile go to the inbox.
 * Returns 0 (OK, HELLO_REPLY, STATS: *m points into s->msg) or the daemon's
 * negative errno with its explanation in why[].
 */
static int request(struct daemon_src *s, const void *req, size_t len, struct bnd_msg *m,
		   char *why, size_t why_len)
{
	const struct bnd_hdr *h = req;
	ssize_t n;

	n = send(s->fd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };

		if (poll(&pfd, 1, BND_REPLY_TIMEOUT_MS) == 1)
			n = send(s->fd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (n < 0) {
		int err = errno;

		snprintf(why, why_len, "cannot send %s to blknotifyd: %s", bnd_type_name(h->type),
			 strerror(err));
		/* Refused at once (too many clients): the daemon said why before closing. */
		if ((err == EPIPE || err == ECONNRESET) &&
		    recv_msg(s->fd, s->msg, 0, m, why, why_len) > 0 && m->type == BND_ERROR) {
			snprintf(why, why_len, "blknotifyd: %s", m->error->text);
			return m->error->error;
		}
		return err == EAGAIN ? -ETIMEDOUT : -err;
	}
	for (;;) {
		n = recv_msg(s->fd, s->msg, BND_REPLY_TIMEOUT_MS, m, why, why_len);
		/* A reset is reported before what was queued: the reason may still be there. */
		if (n == -ECONNRESET && recv_msg(s->fd, s->msg, 0, m, why, why_len) > 0 &&
		    m->type == BND_ERROR) {
			snprintf(why, why_len, "blknotifyd: %s", m->error->text);
			return m->error->error;
		}
		if (n < 0)
			return n;
		if (m->type == BND_RECORDS) {
			inbox_add(s, m->records, m->body_len);
			continue;
		}
		/* ERROR with seq 0: refused before any request (too many clients). */
		if (m->type == BND_ERROR && (m->seq == h->seq || m->seq == 0)) {
			snprintf(why, why_len, "blknotifyd: %s", m->error->text);
			return m->error->error;
		}
		if (m->seq != h->seq)
			continue;	/* a reply to a request we gave up on */
		if (m->type != reply_type(h->type)) {
			snprintf(why, why_len, "blknotifyd answered %s with %s", bnd_type_name(h->type),
				 bnd_type_name(m->type));
			return -EBADMSG;
		}
		return 0;
	}
}

static int req_set_size(struct daemon_src *s, unsigned int size, char *why, size_t why_len)
{
	unsigned char buf[64] __attribute__((aligned(8)));
	struct bnd_set_size *b = bnd_msg_init(buf, BND_SET_SIZE, ++s->seq, sizeof(*b));
	struct bnd_msg m;
	int r;

	b->nr_records = size;
	r = request(s, buf, sizeof(struct bnd_hdr) + sizeof(*b), &m, why, why_len);
	if (r == 0)
		s->size = m.ok->value;
	return r;
}

static int req_set_filter(struct daemon_src *s, const struct bn_config *c, char *why, size_t why_len)
{
	unsigned char buf[BND_REQUEST_MAX] __attribute__((aligned(8)));
	struct bnd_set_filter *f;
	struct bnd_msg m;
	size_t body;
	__u32 nr = c->filter_on ? c->nr_filters : 0;
	int r;

	/*
	 * A filter whose types were all unknown admits nothing; send one that
	 * matches nothing (type 0 with an empty subtype mask), not "no filter".
	 */
	body = sizeof(*f) + (c->filter_on && !nr ? 1 : nr) * sizeof(f->filters[0]);
	f = bnd_msg_init(buf, BND_SET_FILTER, ++s->seq, body);
	if (c->filter_on && !nr) {
		f->nr_filters = 1;
	} else {
		f->nr_filters = nr;
		memcpy(f->filters, c->filters, nr * sizeof(f->filters[0]));
	}
	r = request(s, buf, sizeof(struct bnd_hdr) + body, &m, why, why_len);
	if (r == 0) {
		s->sent.filter_on = c->filter_on;
		s->sent.nr_filters = c->nr_filters;
		memcpy(s->sent.filters, c->filters, sizeof(c->filters));
	}
	return r;
}

static int req_watch(struct daemon_src *s, const struct bn_watch *w, bool add, char *why, size_t why_len)
{
	unsigned char buf[64] __attribute__((aligned(8)));
	struct bnd_msg m;
	size_t len;
	int r;

	if (add) {
		struct bnd_add_watch *b = bnd_msg_init(buf, BND_ADD_WATCH, ++s->seq, sizeof(*b));

		b->id = w->id;
		b->dev = w->dev;
		b->start = w->start;
		b->end = w->end;
		len = sizeof(struct bnd_hdr) + sizeof(*b);
	} else {
		struct bnd_remove_watch *b = bnd_msg_init(buf, BND_REMOVE_WATCH, ++s->seq, sizeof(*b));

		b->id = w->id;
		len = sizeof(struct bnd_hdr) + sizeof(*b);
	}
	r = request(s, buf, len, &m, why, why_len);
	return r;
}

static int req_hello(struct daemon_src *s, __u64 token, struct bnd_msg *m, char *why, size_t why_len)
{
	unsigned char buf[64] __attribute__((aligned(8)));
	struct bnd_hello *h = bnd_msg_init(buf, BND_HELLO, ++s->seq, sizeof(*h));

	h->version = BND_VERSION;
	h->token = token;
	return request(s, buf, sizeof(struct bnd_hdr) + sizeof(*h), m, why, why_len);
}

static bool filter_equal(const struct bn_config *a, const struct bn_config *b)
{
	return a->filter_on == b->filter_on && a->nr_filters == b->nr_filters &&
	       !memcmp(a->filters, b->filters, a->nr_filters * sizeof(a->filters[0]));
}

static bool watch_equal(const struct bn_watch *a, const struct bn_watch *b)
{
	return a->active == b->active && (!a->active || (a->id == b->id && a->dev == b->dev &&
							 a->start == b->start && a->end == b->end));
}

/* Bring the daemon's copy of our configuration to q->config. */
static int sync_config(struct blknotify_queue *q, struct daemon_src *s)
{
	char why[sizeof(q->error)];
	unsigned int i;
	int r;

	if (!filter_equal(&q->config, &s->sent)) {
		r = req_set_filter(s, &q->config, why, sizeof(why));
		if (r < 0)
			return queue_set_error(q, -r, "%s", why);
	}
	/* Removals first, so that an ID moved to another device is free again. */
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		struct bn_watch *old = &s->sent.watches[i];

		if (old->active && !watch_equal(old, &q->config.watches[i])) {
			r = req_watch(s, old, false, why, sizeof(why));
			if (r < 0 && r != -ENOENT)
				return queue_set_error(q, -r, "%s", why);
			memset(old, 0, sizeof(*old));
		}
	}
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		const struct bn_watch *w = &q->config.watches[i];

		if (w->active && !s->sent.watches[i].active) {
			r = req_watch(s, w, true, why, sizeof(why));
			if (r < 0)
				return queue_set_error(q, -r, "%s", why);
			s->sent.watches[i] = *w;
		}
	}
	return 0;
}

/* Connect, say hello and set the queue up.  A failure leaves s->fd closed. */
static int establish(struct blknotify_queue *q, struct daemon_src *s, bool resume)
{
	char why[sizeof(q->error)];
	struct bnd_msg m;
	int r;

	r = connect_daemon(q, q->daemon_socket, &s->fd);
	if (r < 0)
		return r;
	r = req_hello(s, resume ? s->token : 0, &m, why, sizeof(why));
	if (r < 0) {
		queue_set_error(q, -r, "%s", why);
		goto fail;
	}
	s->token = m.hello_reply->token;
	if (resume && (m.hello_reply->flags & BND_HELLO_RESUMED)) {
		/*
		 * The daemon kept our queue, watches and filter across its
		 * restart (s->sent is what it has) and filled the queue
		 * meanwhile; a gap only if it had crashed.
		 */
		s->gap = m.hello_reply->flags & BND_HELLO_GAP;
	} else {
		/* Set up afresh.  Records the daemon dropped for us in between
		 * cannot be counted: the loss is unknown, not zero. */
		s->gap = resume;
		memset(&s->sent, 0, sizeof(s->sent));
		r = req_set_size(s, q->size, why, sizeof(why));
		if (r < 0) {
			queue_set_error(q, -r, "%s", why);
			goto fail;
		}
		q->size = s->size;	/* capped by the daemon's max_queue_size */
	}
	r = sync_config(q, s);
	if (r < 0)
		goto fail;
	r = queue_watch_fd(q, s->fd);
	if (r < 0) {
		queue_set_error(q, -r, "epoll: %s", strerror(-r));
		goto fail;
	}
	return 0;
fail:
	close(s->fd);
	s->fd = -1;
	return r;
}

static void disconnect(struct blknotify_queue *q, struct daemon_src *s)
{
	struct itimerspec its = {
		.it_value = { .tv_nsec = BND_RECONNECT_INTERVAL_MS * 1000000L },
		.it_interval = { .tv_nsec = BND_RECONNECT_INTERVAL_MS * 1000000L },
	};
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = s->timer_fd };

	epoll_ctl(q->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->gap = true;
	/* A new connection starts with nothing in flight. */
	s->unacked = 0;
	s->in_stale = s->in_len;
	clock_gettime(CLOCK_MONOTONIC, &s->lost_at);
	/* Wake the reader to retry; a closed socket alone would spin. */
	timerfd_settime(s->timer_fd, 0, &its, NULL);
	epoll_ctl(q->epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev);
}

static int reconnect(struct blknotify_queue *q, struct daemon_src *s)
{
	struct itimerspec off = { 0 };
	__u64 ticks;
	int r;

	(void)!read(s->timer_fd, &ticks, sizeof(ticks));
	r = establish(q, s, true);
	if (r < 0) {
		if (ms_since(&s->lost_at) < BND_RECONNECT_WINDOW_MS &&
		    (r == -ENOENT || r == -ECONNREFUSED || r == -EPIPE || r == -ECONNRESET))
			return -EAGAIN;
		epoll_ctl(q->epoll_fd, EPOLL_CTL_DEL, s->timer_fd, NULL);
		timerfd_settime(s->timer_fd, 0, &off, NULL);
		if (r == -ENOENT || r == -ECONNREFUSED)
			queue_set_error(q, -r, "blknotifyd went away and did not come back within %d s",
					BND_RECONNECT_WINDOW_MS / 1000);
		return -EPIPE;
	}
	epoll_ctl(q->epoll_fd, EPOLL_CTL_DEL, s->timer_fd, NULL);
	timerfd_settime(s->timer_fd, 0, &off, NULL);
	return 0;
}

static void daemon_stop(struct blknotify_queue *q)
{
	struct daemon_src *s = q->priv;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->kick_fd >= 0)
		close(s->kick_fd);
	free(s->inbox);
	free(s->msg);
	free(s);
	q->priv = NULL;
}

static int daemon_start(struct blknotify_queue *q)
{
	struct daemon_src *s;
	int n;

	s = calloc(1, sizeof(*s));
	if (!s)
		return queue_set_error(q, ENOMEM, "out of memory");
	q->priv = s;
	s->fd = -1;
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->inbox = malloc(INBOX_MAX);
	s->msg = aligned_alloc(8, BND_MSG_MAX);
	if (s->timer_fd < 0 || s->kick_fd < 0 || !s->inbox || !s->msg)
		return queue_set_error(q, errno ?: ENOMEM, "cannot set up the daemon source: %s",
				       strerror(errno ?: ENOMEM));
	n = queue_watch_fd(q, s->kick_fd);
	if (n)
		return queue_set_error(q, -n, "epoll: %s", strerror(-n));
	return establish(q, s, false);
}

static int daemon_update(struct blknotify_queue *q)
{
	struct daemon_src *s = q->priv;

	if (s->fd < 0)
		return 0;	/* applied when we reconnect */
	return sync_config(q, s);
}

/* Whether the gap's loss record is due: everything from before it is out. */
static bool gap_due(const struct daemon_src *s)
{
	return s->gap && s->fd >= 0 && s->in_off >= s->in_stale;
}

/*
 * Slow-I/O records are opt-in per queue here too: the daemon's
 * configuration decides what it detects, a queue that did not ask gets none
 * of them, and one with slow_threshold_ns only those at least that slow.
 */
static bool slow_unwanted(const struct blknotify_queue *q, const struct watch_notification *n,
			  size_t rl)
{
	const struct block_notification *b = (const void *)n;

	if (n->type != WATCH_TYPE_BLOCK_NOTIFY || n->subtype != NOTIFY_BLOCK_SLOW)
		return false;
	if (!q->slow_threshold_ns && !q->slow_relative)
		return true;
	return q->slow_threshold_ns && !q->slow_relative && rl >= BLOCK_NOTIFICATION_SIZE_V2 &&
	       b->latency_ns < q->slow_threshold_ns;
}

/*
 * Copy whole records from the inbox into buf, up to the gap of a
 * reconnection: what came over the new connection follows its loss record.
 */
static size_t take_inbox(const struct blknotify_queue *q, struct daemon_src *s, char *buf,
			 size_t len, size_t done)
{
	while (s->in_off < s->in_len && !gap_due(s)) {
		const struct watch_notification *n = (const void *)(s->inbox + s->in_off);
		size_t rl = BLOCK_NOTIFY_RECORD_LEN(n);

		if (slow_unwanted(q, n, rl)) {
			/* Not asked for (not lost): skipped, and acknowledged. */
			if (s->in_off >= s->in_stale)
				s->unacked++;
			s->in_off += rl;
			continue;
		}
		if (rl > len - done)
			break;
		memcpy(buf + done, n, rl);
		done += rl;
		/* Records from an earlier connection are not the new daemon's to count. */
		if (s->in_off >= s->in_stale && !bn_is_loss(n))
			s->unacked++;
		s->in_off += rl;
	}
	return done;
}

/*
 * Tell the daemon how many records we handed out: its queue for us counts
 * them until then (flow control, docs/protocol.md).  A full socket is not
 * an error: the count is kept and sent with the next read.
 */
static void send_ack(struct daemon_src *s)
{
	unsigned char buf[32] __attribute__((aligned(8)));
	struct bnd_ack *a;

	if (!s->unacked || s->fd < 0)
		return;
	a = bnd_msg_init(buf, BND_ACK, ++s->seq, sizeof(*a));
	a->nr_records = s->unacked;
	if (send(s->fd, buf, sizeof(struct bnd_hdr) + sizeof(*a), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		s->unacked = 0;
}

static ssize_t daemon_read(struct blknotify_queue *q, void *buf, size_t len)
{
	struct daemon_src *s = q->priv;
	char why[sizeof(q->error)];
	size_t done = 0;
	struct bnd_msg m;
	ssize_t n;

	/*
	 * The ACK for what the last read returned goes now, not on that
	 * read's way out: it wakes the daemon (another CPU), which cost the
	 * records' latency about as much as the rest of the read.  The last
	 * read left the fd readable (kick_fd) so that this read comes at
	 * once even from a caller that reads once per poll.
	 */
	if (s->kicked) {
		eventfd_t v;

		(void)eventfd_read(s->kick_fd, &v);
		s->kicked = false;
	}
	send_ack(s);
	for (;;) {
		done = take_inbox(q, s, buf, len, done);
		if (s->in_off < s->in_len && !gap_due(s))
			break;		/* buf is full */
		/*
		 * Loss comes after the records kept before it and before
		 * those after it: a reconnection the daemon could not make
		 * seamless (not counted: the 8-byte form says "at least one,
		 * count unknown"), or the inbox's overflow (counted), once
		 * the inbox is empty.
		 */
		if (gap_due(s) || (s->inbox_lost && s->in_off == s->in_len)) {
			struct block_notification_loss l;
			bool gap = gap_due(s);
			size_t ll = gap ? sizeof(l.watch) : sizeof(l);

			if (ll > len - done)
				break;
			bn_make_loss(&l, gap ? 0 : s->inbox_lost);
			l.watch.info = ll;
			memcpy((char *)buf + done, &l, ll);
			done += ll;
			if (gap)
				s->gap = false;
			else
				s->inbox_lost = 0;
			continue;
		}
		/* Records in hand: return them; a second recv() only says
		 * "empty" (the socket stays readable if it is not). */
		if (done)
			break;
		if (s->fd < 0) {
			n = reconnect(q, s);
			if (n < 0)
				return done ? (ssize_t)done : n;
			continue;
		}
		n = recv_msg(s->fd, s->msg, 0, &m, why, sizeof(why));
		if (n == -EAGAIN)
			break;
		if (n == -EPIPE || n == -ECONNRESET) {
			disconnect(q, s);
			continue;
		}
		if (n < 0) {
			/* A daemon that talks nonsense is treated as one that went away. */
			queue_set_error(q, -n, "%s", why);
			disconnect(q, s);
			continue;
		}
		if (m.type == BND_RECORDS)
			inbox_add(s, m.records, m.body_len);
		/* Anything else unasked for (a late reply) is dropped. */
	}
	if (s->unacked && !s->kicked && eventfd_write(s->kick_fd, 1) == 0)
		s->kicked = true;
	if (!s->kicked)
		send_ack(s);	/* no kick: do not keep the daemon waiting */
	if (done)
		return done;
	return s->in_off < s->in_len ? -ENOBUFS : -EAGAIN;
}

/* The daemon's IMPACT answer as the library's own object. */
static int impact_from_msg(const struct bnd_impact *w, struct blknotify_impact **ret)
{
	const struct bnd_extent *x = bnd_impact_first(w);
	struct blknotify_impact *im;
	int r;

	if ((r = impact_new(&im, bnd_impact_mount(w), w->nr_extents, w->dropped, w->unnamed)))
		return r;
	for (__u32 i = 0; i < w->nr_extents; i++, x = bnd_extent_next(x)) {
		struct blknotify_extent e = {
			.kind = x->kind, .flags = x->flags, .dev_offset = x->dev_offset,
			.length = x->length, .inode = x->inode, .file_offset = x->file_offset,
			.owner = bnd_extent_owner(x), .path = bnd_extent_path(x),
		};

		if ((r = impact_append(im, &e))) {
			blknotify_impact_free(im);
			return r;
		}
	}
	*ret = im;
	return 0;
}

/*
 * Ask on the queue's own connection: its records that arrive meanwhile go
 * to the inbox, as while any request waits.
 */
static int daemon_impact(struct blknotify_queue *q, __u64 dev, __u64 sector, __u32 nr_sectors,
			 struct blknotify_impact **ret)
{
	struct daemon_src *s = q->priv;
	unsigned char buf[64] __attribute__((aligned(8)));
	struct bnd_get_impact *g;
	char why[sizeof(q->error)];
	struct bnd_msg m;
	int r;

	if (!s || s->fd < 0)
		return queue_set_error(q, ENOTCONN, "blknotifyd is not connected (reconnecting)");
	if (nr_sectors > BND_IMPACT_SECTORS_MAX)
		nr_sectors = BND_IMPACT_SECTORS_MAX;
	g = bnd_msg_init(buf, BND_GET_IMPACT, ++s->seq, sizeof(*g));
	g->dev = dev;
	g->sector = sector;
	g->nr_sectors = nr_sectors;
	r = request(s, buf, sizeof(struct bnd_hdr) + sizeof(*g), &m, why, sizeof(why));
	if (r < 0)
		return queue_set_error(q, -r, "%s", why);
	return impact_from_msg(m.impact, ret);
}

const struct source_ops source_daemon_ops = {
	.start = daemon_start,
	.update = daemon_update,
	.read = daemon_read,
	.stop = daemon_stop,
	.impact = daemon_impact,
};

int bnd_query_stats(const char *path, struct bnd_stats **ret, char *why, size_t why_len)
{
	struct daemon_src s = { .fd = -1, .timer_fd = -1, .kick_fd = -1 };
	unsigned char buf[64] __attribute__((aligned(8)));
	struct bnd_msg m;
	int r;

	*ret = NULL;
	s.msg = aligned_alloc(8, BND_MSG_MAX);
	s.inbox = malloc(INBOX_MAX);
	if (!s.msg || !s.inbox) {
		r = -ENOMEM;
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	r = connect_daemon(NULL, path ?: BLKNOTIFY_DAEMON_SOCKET, &s.fd);
	if (r < 0) {
		snprintf(why, why_len, "cannot connect to %s: %s", path ?: BLKNOTIFY_DAEMON_SOCKET,
			 strerror(-r));
		goto out;
	}
	r = req_hello(&s, 0, &m, why, why_len);
	if (r < 0)
		goto out;
	bnd_msg_init(buf, BND_GET_STATS, ++s.seq, 0);
	r = request(&s, buf, sizeof(struct bnd_hdr), &m, why, why_len);
	if (r < 0)
		goto out;
	*ret = malloc(m.body_len);
	if (!*ret) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(*ret, m.stats, m.body_len);
out:
	if (s.fd >= 0)
		close(s.fd);
	free(s.msg);
	free(s.inbox);
	return r;
}

void bnd_print_stats(FILE *f, const struct bnd_stats *s)
{
	__u32 i;

	fprintf(f, "source %s, up %llu s, %u of at most %u clients; ",
		blknotify_source_name(s->source), (unsigned long long)(s->uptime_ns / 1000000000ULL),
		s->total_clients, s->max_clients);
	/* The daemon's totals are shown to root and privileged_groups only. */
	if (s->flags & BND_STATS_GLOBAL)
		fprintf(f, "read %llu records, source lost %llu; state file written %llu times, "
			"source watches changed %llu times\n", (unsigned long long)s->upstream_records,
			(unsigned long long)s->upstream_lost, (unsigned long long)s->state_writes,
			(unsigned long long)s->upstream_changes);
	else
		fprintf(f, "the daemon's totals are for root and privileged_groups\n");
	if (s->nr_clients < s->total_clients)
		fprintf(f, "(showing your own %u; root and privileged_groups see all)\n",
			s->nr_clients);
	fprintf(f, "%6s %8s %8s %7s %9s %9s %12s %12s %10s\n", "CLIENT", "PID", "UID",
		"WATCHES", "SIZE", "HELD", "DELIVERED", "LOST", "CONNECTED");
	for (i = 0; i < s->nr_clients; i++) {
		const struct bnd_client_stats *c = &s->clients[i];

		fprintf(f, "%6u %8u %8u %7u %9u %9u %12llu %12llu %9llus%s%s\n", c->id, c->pid,
			c->uid, c->nr_watches, c->queue_size, c->queued,
			(unsigned long long)c->delivered, (unsigned long long)c->lost,
			(unsigned long long)(c->connected_ns / 1000000000ULL),
			c->flags & BND_CLIENT_PRIVILEGED ? " privileged" : "",
			c->flags & BND_CLIENT_SELF ? " (this query)" : "");
	}
}
