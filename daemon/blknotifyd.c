// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotifyd: reads block-layer error records from one source and fans them
 * out to monitors connected over a Unix socket, each with its own bounded
 * queue, watches and filter (blknotifyd(8), docs/protocol.md).
 *
 * One thread, one epoll loop, every fd non-blocking: the daemon never waits
 * for a client.  A client that does not read fills its own queue and loses
 * records, counted; nobody else notices.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <blknotify/blknotify.h>
#include "client-queue.h"
#include "config.h"
#include "match.h"
#include "policy.h"
#include "protocol.h"

#define SD_LISTEN_FDS_START	3
#define MAX_EVENTS		64
#define REQUESTS_PER_WAKEUP	8	/* per client per loop turn: no client starves the rest */
#define UPSTREAM_READS_PER_WAKEUP 16	/* then serve the clients, then read more */
/* Kernel buffer per client connection: a few batches; the real queue is ours. */
#define CLIENT_SNDBUF		(2 * BND_RECORDS_BATCH)

/* epoll tags for the fds that are not clients (clients use their slot). */
enum { TAG_LISTEN = 0xffff, TAG_UPSTREAM = 0xfffe, TAG_SIGNAL = 0xfffd, TAG_GRACE = 0xfffc };

struct client {
	int fd;
	unsigned int slot;
	__u32 gen;			/* with slot, names this connection in epoll events */
	__u32 id;
	struct peer peer;
	bool hello_done;
	bool ever_watched;		/* SET_SIZE only before the first watch */
	unsigned int nr_watches;
	struct bn_config cfg;		/* watches and filter, matched with lib/match.h */
	unsigned int queue_size;
	struct client_queue q;		/* allocated at the first watch */
	__u64 token;
	bool detached;			/* kept across a restart for a client to reconnect: fd is -1 */
	bool unclean;			/* detached after a crash: records may be missing */
	__u32 records_seq;
	__u32 events;			/* epoll events registered */
	bool dirty;			/* on the flush list */
	struct client *next_dirty;
	/* A reply that did not fit in the socket; no request is read until it is sent. */
	size_t out_len;
	unsigned char out[BND_MSG_MAX] __attribute__((aligned(8)));
	struct timespec connected;
};

static struct {
	struct daemon_config cfg;
	const char *config_path;
	bool verbose;
	bool journal;			/* stderr is the journal: prefix priorities */
	int epoll_fd;
	int listen_fd;
	bool socket_activated;
	int signal_fd;
	struct blknotify_queue *upstream;
	enum blknotify_source source;
	struct client *clients[BND_CLIENTS_HARD_MAX];
	unsigned int nr_clients;
	__u32 next_id, next_gen;
	struct client *dirty;
	__u64 upstream_records, upstream_lost;
	/*
	 * The source's own watches: the disks some client watches (at most
	 * BN_WATCHES_MAX), or every device.  Errors on disks nobody watches
	 * never reach the daemon, so a storm there cannot fill its queue.
	 */
	struct { bool active, all; __u64 dev; unsigned int id; } up[BN_WATCHES_MAX];
	__u64 recent[8][5];		/* last records' contents, to drop duplicates */
	unsigned int recent_next;
	struct timespec started;
	bool pinned;			/* the source is pinned: it outlives us */
	bool resumed;			/* and we took it over from our predecessor */
	int grace_fd;			/* timerfd: detached clients expire */
	int pin_lock_fd;		/* the pin directory, flock()ed: one daemon per pin */
	bool stopping;
	bool failed;			/* stopping because the source failed: exit non-zero */
} d;

static unsigned char upstream_buf[1 << 16] __attribute__((aligned(8)));

__attribute__((format(printf, 2, 3)))
static void log_msg(int prio, const char *fmt, ...)
{
	static const char *const level[] = { "emerg", "alert", "crit", "error", "warning",
					     "notice", "info", "debug" };
	char msg[1024];
	va_list ap;

	if (prio == 7 && !d.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d.journal)
		fprintf(stderr, "<%d>%s\n", prio, msg);
	else
		fprintf(stderr, "blknotifyd: %s%s%s\n", prio <= 4 ? level[prio] : "",
			prio <= 4 ? ": " : "", msg);
}
#define log_err(...)	log_msg(3, __VA_ARGS__)
#define log_warn(...)	log_msg(4, __VA_ARGS__)
#define log_info(...)	log_msg(6, __VA_ARGS__)
#define log_debug(...)	log_msg(7, __VA_ARGS__)

/*
 * What clients cause (connections, refusals, protocol errors) is logged at
 * most LOG_CLIENT_BURST times per LOG_CLIENT_INTERVAL seconds, then counted:
 * a local user looping on connect() must not flood the journal.
 */
#define LOG_CLIENT_BURST	20
#define LOG_CLIENT_INTERVAL	5

static bool log_client_allowed(void)
{
	static time_t start;
	static unsigned int n, suppressed;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - start >= LOG_CLIENT_INTERVAL) {
		if (suppressed)
			log_msg(4, "%u messages about clients suppressed in the last %d s",
				suppressed, LOG_CLIENT_INTERVAL);
		start = now.tv_sec;
		n = suppressed = 0;
	}
	if (n < LOG_CLIENT_BURST) {
		n++;
		return true;
	}
	suppressed++;
	return false;
}
#define log_client(prio, ...) do {					\
	if (log_client_allowed())					\
		log_msg(prio, __VA_ARGS__);				\
} while (0)

/* The sd_notify protocol: one datagram to $NOTIFY_SOCKET; nothing to do without it. */
static void sd_notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   offsetof(struct sockaddr_un, sun_path) + len) < 0)
		log_warn("cannot notify the service manager at %s: %m", path);
	close(fd);
}

static __u64 ns_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000000000ULL + now.tv_nsec - t->tv_nsec;
}

static __u64 epoll_tag(__u32 gen, unsigned int slot)
{
	return (__u64)gen << 32 | slot;
}

static int epoll_set(int op, int fd, __u32 events, __u64 tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(d.epoll_fd, op, fd, &ev) < 0 ? -errno : 0;
}

static void client_set_events(struct client *c, __u32 events)
{
	if (c->events == events)
		return;
	if (epoll_set(EPOLL_CTL_MOD, c->fd, events, epoll_tag(c->gen, c->slot)) == 0)
		c->events = events;
}

static void upstream_update(void);
static void save_state(bool clean);

static void client_close(struct client *c, const char *why)
{
	struct client **pp;
	bool had_watches = c->nr_watches > 0;

	log_client(6, "client %u (pid %d uid %u) gone: %s; delivered %llu, lost %llu",
		 c->id, (int)c->peer.pid, c->peer.uid, why,
		 (unsigned long long)c->q.total_acked, (unsigned long long)c->q.total_lost);
	for (pp = &d.dirty; *pp; pp = &(*pp)->next_dirty) {
		if (*pp == c) {
			*pp = c->next_dirty;
			break;
		}
	}
	if (!c->detached) {
		epoll_ctl(d.epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		d.nr_clients--;
	}
	cq_free(&c->q);
	d.clients[c->slot] = NULL;
	free(c);
	if (had_watches && d.upstream && !d.stopping) {
		upstream_update();
		save_state(false);
	}
}

/*
 * Write a queued reply, then records in batches, until the socket is full.
 * Returns false when the client was closed.
 */
static bool client_flush(struct client *c)
{
	static unsigned char buf[BND_RECORDS_BATCH] __attribute__((aligned(8)));
	ssize_t n;

	if (c->detached)
		return true;	/* its queue waits for it to come back */
	if (c->out_len) {
		n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			client_set_events(c, EPOLLOUT);
			return true;
		}
		if (n < 0) {
			client_close(c, strerror(errno));
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
			client_set_events(c, EPOLLIN | EPOLLOUT);
			return true;
		}
		if (n < 0) {
			client_close(c, strerror(errno));
			return false;
		}
		cq_consume(&c->q, nr_slots, trailing_loss);
	}
	client_set_events(c, EPOLLIN);
	return true;
}

/* Queue a reply (len bytes in c->out was built by the caller) and try to send it. */
static bool client_reply(struct client *c, size_t len)
{
	c->out_len = len;
	return client_flush(c);
}

static bool reply_error(struct client *c, __u32 seq, int error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool reply_error(struct client *c, __u32 seq, int error, const char *fmt, ...)
{
	char text[BND_ERROR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_debug("client %u: %s: %s", c->id, strerror(-error), text);
	return client_reply(c, bnd_msg_error(c->out, seq, error, "%s", text));
}

static bool reply_ok(struct client *c, __u32 seq, __u64 value)
{
	struct bnd_ok *ok = bnd_msg_init(c->out, BND_OK, seq, sizeof(*ok));

	ok->value = value;
	return client_reply(c, sizeof(struct bnd_hdr) + sizeof(*ok));
}

/* A protocol violation: say what it was (best effort), then hang up. */
static void client_abort(struct client *c, __u32 seq, int error, const char *why)
{
	unsigned char buf[BND_REQUEST_MAX] __attribute__((aligned(8)));
	size_t len = bnd_msg_error(buf, seq, error, "%s; disconnecting", why);

	log_client(4, "client %u (pid %d uid %u): %s; disconnecting", c->id, (int)c->peer.pid,
		   c->peer.uid, why);
	(void)!send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	client_close(c, "protocol error");
}

static void mark_dirty(struct client *c)
{
	if (!c->dirty) {
		c->dirty = true;
		c->next_dirty = d.dirty;
		d.dirty = c;
	}
}

static void flush_dirty(void)
{
	while (d.dirty) {
		struct client *c = d.dirty;

		d.dirty = c->next_dirty;
		c->dirty = false;
		/* A client waiting for EPOLLOUT is flushed when it comes. */
		if (!(c->events & EPOLLOUT))
			client_flush(c);
	}
}


/*
 * Across a restart.  With its source pinned (bpf), errors keep queueing in
 * the kernel while the daemon is away.  So that they reach the clients they
 * were for, the daemon keeps each watching client's token, size, watches,
 * filter and uncounted loss in a state file; its successor restores them as
 * detached clients whose queues fill from the pinned source at once, and a
 * client that reconnects with its token (libblknotify does, by itself) takes
 * its queue back: nothing missing, loss counted.  After a crash the file is
 * the one written at the last change, and the client is told of a gap.
 */
#define STATE_MAGIC	0x53444e42U	/* "BNDS" */
#define STATE_VERSION	1

struct state_hdr {
	__u32 magic;
	__u32 version;
	__u32 clean;			/* written at a clean shutdown */
	__u32 nr;
};

struct state_client {
	__u64 token;
	__u64 lost;			/* records lost and not yet reported */
	__u32 uid;
	__u32 queue_size;
	struct bn_config cfg;
};

static void save_state(bool clean)
{
	static struct state_client entries[BND_CLIENTS_HARD_MAX];
	struct state_hdr h = { .magic = STATE_MAGIC, .version = STATE_VERSION, .clean = clean };
	char tmp[sizeof(d.cfg.state_file) + 8];
	unsigned int i;
	size_t len;
	int fd;

	if (!d.pinned)
		return;		/* nothing would survive to resume */
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		const struct client *c = d.clients[i];
		struct state_client *e;

		if (!c || !c->nr_watches)
			continue;
		e = &entries[h.nr++];
		memset(e, 0, sizeof(*e));
		e->token = c->token;
		/* Queued but not sent: lost, and counted, at a clean stop. */
		e->lost = clean ? c->q.lost + c->q.count : 0;
		e->uid = c->peer.uid;
		e->queue_size = c->queue_size;
		e->cfg = c->cfg;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", d.cfg.state_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("cannot write %s: %m; clients cannot resume after a restart", tmp);
		return;
	}
	len = h.nr * sizeof(entries[0]);
	if (write(fd, &h, sizeof(h)) != sizeof(h) || write(fd, entries, len) != (ssize_t)len ||
	    close(fd) < 0 || rename(tmp, d.cfg.state_file) < 0) {
		log_warn("cannot write %s: %m; clients cannot resume after a restart", tmp);
		unlink(tmp);
	}
}

static bool state_entry_valid(const struct state_client *e)
{
	const struct bn_config *c = &e->cfg;
	unsigned int i, nr = 0;

	if (e->queue_size < 1 || e->queue_size > BLKNOTIFY_QUEUE_SIZE_MAX || c->filter_on > 1 ||
	    c->nr_filters > BN_FILTERS_MAX || (!c->filter_on && c->nr_filters))
		return false;
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		const struct bn_watch *w = &c->watches[i];

		if (!w->active)
			continue;
		if (w->active != 1 || w->id > BLOCK_NOTIFY_WATCH_ID_MAX || w->start >= w->end ||
		    (!w->dev && (w->start || w->end != ~0ULL)))
			return false;
		nr++;
	}
	return nr > 0;
}

/* Restore the predecessor's clients, detached, from the state file. */
static void load_state(void)
{
	static struct state_client entries[BND_CLIENTS_HARD_MAX];
	struct itimerspec its = { 0 };
	struct state_hdr h;
	unsigned int i, j, slot = 0, restored = 0;
	ssize_t n;
	int fd;

	fd = open(d.cfg.state_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, &h, sizeof(h));
	if (n != sizeof(h) || h.magic != STATE_MAGIC || h.version != STATE_VERSION ||
	    h.nr > BND_CLIENTS_HARD_MAX ||
	    read(fd, entries, h.nr * sizeof(entries[0])) != (ssize_t)(h.nr * sizeof(entries[0]))) {
		log_warn("ignoring %s: not a state file of this version", d.cfg.state_file);
		close(fd);
		return;
	}
	close(fd);
	for (i = 0; i < h.nr; i++) {
		struct client *c;

		if (!state_entry_valid(&entries[i])) {
			log_warn("%s: entry %u is not valid; its client will see a gap",
				 d.cfg.state_file, i);
			continue;
		}
		while (slot < BND_CLIENTS_HARD_MAX && d.clients[slot])
			slot++;
		c = calloc(1, sizeof(*c));
		if (!c || slot == BND_CLIENTS_HARD_MAX ||
		    cq_init(&c->q, entries[i].queue_size < d.cfg.max_queue_size ?
				   entries[i].queue_size : d.cfg.max_queue_size) < 0) {
			free(c);
			log_err("no room to restore a client; it will see a gap");
			break;
		}
		c->fd = -1;
		c->slot = slot;
		c->gen = ++d.next_gen;
		c->id = ++d.next_id;
		c->detached = true;
		c->unclean = !h.clean;
		c->hello_done = c->ever_watched = true;
		c->token = entries[i].token;
		c->peer.uid = entries[i].uid;
		c->queue_size = c->q.size;
		c->cfg = entries[i].cfg;
		for (j = 0; j < BN_WATCHES_MAX; j++)
			c->nr_watches += c->cfg.watches[j].active;
		if (entries[i].lost)
			cq_add_loss(&c->q, entries[i].lost);
		clock_gettime(CLOCK_MONOTONIC, &c->connected);
		d.clients[slot] = c;
		restored++;
	}
	if (!restored)
		return;
	log_info("kept %u clients' queues across the restart (%s); they have %u ms to reconnect",
		 restored, h.clean ? "clean" : "after a crash: they will be told of a gap",
		 d.cfg.restart_grace_ms);
	its.it_value.tv_sec = d.cfg.restart_grace_ms / 1000;
	its.it_value.tv_nsec = (d.cfg.restart_grace_ms % 1000) * 1000000L;
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	timerfd_settime(d.grace_fd, 0, &its, NULL);
}

/* The grace period is over: queues nobody came back for go. */
static void expire_detached(void)
{
	unsigned int i;
	__u64 ticks;

	(void)!read(d.grace_fd, &ticks, sizeof(ticks));
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++)
		if (d.clients[i] && d.clients[i]->detached)
			client_close(d.clients[i], "did not reconnect after the restart");
}

/*
 * A reconnecting client presented token: give it its detached queue back if
 * it is the same user and the policy still lets it watch what it watched.
 * Returns the HELLO_REPLY flags.
 */
static __u32 adopt(struct client *c, __u64 token)
{
	char why[BND_ERROR_TEXT_MAX];
	struct client *g = NULL;
	unsigned int i;
	__u32 flags;

	for (i = 0; i < BND_CLIENTS_HARD_MAX && !g; i++)
		if (d.clients[i] && d.clients[i]->detached && d.clients[i]->token == token)
			g = d.clients[i];
	if (!g || g->peer.uid != c->peer.uid)
		return 0;
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		const struct bn_watch *w = &g->cfg.watches[i];
		struct bnd_add_watch aw = { .id = w->id, .dev = w->dev, .start = w->start, .end = w->end };

		if (w->active && policy_check_watch(&d.cfg, &c->peer, &aw, why, sizeof(why)) < 0) {
			log_info("client %u: not resuming its queue: %s", c->id, why);
			client_close(g, "no longer allowed");
			return 0;
		}
	}
	c->token = g->token;
	c->cfg = g->cfg;
	c->nr_watches = g->nr_watches;
	c->ever_watched = true;
	c->queue_size = g->queue_size;
	c->q = g->q;
	flags = BND_HELLO_RESUMED | (g->unclean ? BND_HELLO_GAP : 0);
	g->q.slots = NULL;
	d.clients[g->slot] = NULL;
	free(g);
	log_info("client %u (pid %d uid %u) resumed its queue: %u records waiting",
		 c->id, (int)c->peer.pid, c->peer.uid, c->q.count);
	if (cq_pending(&c->q))
		mark_dirty(c);
	return flags;
}

static bool handle_hello(struct client *c, const struct bnd_msg *m)
{
	struct bnd_hello_reply *r;
	__u32 flags;

	if (c->hello_done) {
		client_abort(c, m->seq, -EPROTO, "HELLO sent twice");
		return false;
	}
	c->hello_done = true;
	flags = m->hello->token ? adopt(c, m->hello->token) : 0;
	if (!(flags & BND_HELLO_RESUMED) &&
	    getrandom(&c->token, sizeof(c->token), GRND_NONBLOCK) != sizeof(c->token))
		c->token = (__u64)c->id << 32 ^ (__u64)c->connected.tv_nsec;
	r = bnd_msg_init(c->out, BND_HELLO_REPLY, m->seq, sizeof(*r));
	r->version = BND_VERSION;
	r->flags = flags | (c->peer.privileged ? BND_HELLO_PRIVILEGED : 0);
	r->queue_size = c->queue_size;
	r->max_queue_size = d.cfg.max_queue_size;
	r->source = d.source;
	r->client_id = c->id;
	r->token = c->token;
	return client_reply(c, sizeof(struct bnd_hdr) + sizeof(*r));
}

static bool handle_set_filter(struct client *c, const struct bnd_msg *m)
{
	const struct bnd_set_filter *f = m->set_filter;
	struct bn_config *cfg = &c->cfg;
	__u32 i;

	cfg->filter_on = f->nr_filters > 0;
	cfg->nr_filters = 0;
	memset(cfg->filters, 0, sizeof(cfg->filters));
	/* Types we do not know are dropped, as the kernel does; then they match nothing. */
	for (i = 0; i < f->nr_filters; i++)
		if (f->filters[i].type < BLOCK_NOTIFY_WATCH_TYPE__NR)
			cfg->filters[cfg->nr_filters++] = f->filters[i];
	if (c->nr_watches)
		save_state(false);
	return reply_ok(c, m->seq, 0);
}

static bool handle_add_watch(struct client *c, const struct bnd_msg *m)
{
	const struct bnd_add_watch *w = m->add_watch;
	char why[BND_ERROR_TEXT_MAX];
	struct bn_watch *free_slot = NULL;
	unsigned int i;
	int r;

	for (i = 0; i < BN_WATCHES_MAX; i++) {
		if (c->cfg.watches[i].active && c->cfg.watches[i].id == w->id)
			return reply_error(c, m->seq, -EEXIST, "watch ID %u is in use on this queue", w->id);
		if (!c->cfg.watches[i].active && !free_slot)
			free_slot = &c->cfg.watches[i];
	}
	if (!free_slot)
		return reply_error(c, m->seq, -ENOSPC, "this queue has %d watches already",
				   BN_WATCHES_MAX);
	r = policy_check_watch(&d.cfg, &c->peer, w, why, sizeof(why));
	if (r < 0) {
		if (r == -EACCES)
			log_client(6, "client %u (pid %d uid %u) refused: %s", c->id,
				   (int)c->peer.pid, c->peer.uid, why);
		return reply_error(c, m->seq, r, "%s", why);
	}
	if (!c->q.slots && cq_init(&c->q, c->queue_size) < 0)
		return reply_error(c, m->seq, -ENOMEM, "no memory for a queue of %u records",
				   c->queue_size);
	free_slot->active = 1;
	free_slot->id = w->id;
	free_slot->dev = w->dev;
	free_slot->start = w->start;
	free_slot->end = w->end;
	c->nr_watches++;
	c->ever_watched = true;
	upstream_update();	/* before the reply: errors after it are seen */
	save_state(false);
	return reply_ok(c, m->seq, 0);
}

static bool handle_remove_watch(struct client *c, const struct bnd_msg *m)
{
	unsigned int i;

	for (i = 0; i < BN_WATCHES_MAX; i++) {
		if (c->cfg.watches[i].active && c->cfg.watches[i].id == m->remove_watch->id) {
			memset(&c->cfg.watches[i], 0, sizeof(c->cfg.watches[i]));
			c->nr_watches--;
			upstream_update();
			save_state(false);
			return reply_ok(c, m->seq, 0);
		}
	}
	return reply_error(c, m->seq, -ENOENT, "no watch with ID %u", m->remove_watch->id);
}

static bool handle_get_stats(struct client *c, const struct bnd_msg *m)
{
	struct bnd_stats *s = bnd_msg_init(c->out, BND_STATS, m->seq, sizeof(*s));
	unsigned int i;

	s->total_clients = d.nr_clients;
	s->max_clients = d.cfg.max_clients;
	s->source = d.source;
	s->upstream_records = d.upstream_records;
	s->upstream_lost = d.upstream_lost;
	s->uptime_ns = ns_since(&d.started);
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		const struct client *o = d.clients[i];
		struct bnd_client_stats *e;

		/* Others see their own uid's connections only. */
		if (!o || (!c->peer.privileged && o->peer.uid != c->peer.uid))
			continue;
		e = &s->clients[s->nr_clients++];
		e->id = o->id;
		e->pid = o->peer.pid;
		e->uid = o->peer.uid;
		e->gid = o->peer.gid;
		e->queue_size = o->queue_size;
		e->queued = o->q.count + o->q.in_flight;
		e->nr_watches = o->nr_watches;
		e->flags = (o->peer.privileged ? BND_CLIENT_PRIVILEGED : 0) |
			   (o == c ? BND_CLIENT_SELF : 0) | (o->detached ? BND_CLIENT_DETACHED : 0);
		e->delivered = o->q.total_acked;
		e->lost = o->q.total_lost;
		e->connected_ns = ns_since(&o->connected);
	}
	((struct bnd_hdr *)c->out)->len = sizeof(struct bnd_hdr) + sizeof(*s) +
					  s->nr_clients * sizeof(s->clients[0]);
	return client_reply(c, ((struct bnd_hdr *)c->out)->len);
}

/* Returns false when the client was closed. */
static bool handle_message(struct client *c, const void *buf, size_t len)
{
	char why[BND_ERROR_TEXT_MAX];
	struct bnd_msg m;
	int r;

	r = bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why));
	if (r == -EOPNOTSUPP && c->hello_done)
		return reply_error(c, m.seq, r, "%s", why);	/* a newer client probing */
	if (r < 0) {
		client_abort(c, len >= sizeof(struct bnd_hdr) ? ((const struct bnd_hdr *)buf)->seq : 0,
			     r, why);
		return false;
	}
	if (!c->hello_done && m.type != BND_HELLO) {
		snprintf(why, sizeof(why), "%s before HELLO", bnd_type_name(m.type));
		client_abort(c, m.seq, -EPROTO, why);
		return false;
	}
	switch (m.type) {
	case BND_HELLO:
		return handle_hello(c, &m);
	case BND_SET_SIZE:
		if (c->ever_watched)
			return reply_error(c, m.seq, -EBUSY, "set the queue size before the first watch");
		c->queue_size = m.set_size->nr_records < d.cfg.max_queue_size ?
				m.set_size->nr_records : d.cfg.max_queue_size;
		return reply_ok(c, m.seq, c->queue_size);
	case BND_SET_FILTER:
		return handle_set_filter(c, &m);
	case BND_ADD_WATCH:
		return handle_add_watch(c, &m);
	case BND_REMOVE_WATCH:
		return handle_remove_watch(c, &m);
	case BND_GET_STATS:
		return handle_get_stats(c, &m);
	case BND_ACK:
		if (!c->q.slots || cq_ack(&c->q, m.ack->nr_records) < 0) {
			snprintf(why, sizeof(why), "ACK of %u records, %u were sent", m.ack->nr_records,
				 c->q.in_flight);
			client_abort(c, m.seq, -EPROTO, why);
			return false;
		}
		/* Room again: what waits (records, a held-back loss report) can go. */
		if (cq_pending(&c->q))
			mark_dirty(c);
		return true;
	}
	return reply_error(c, m.seq, -EOPNOTSUPP, "unexpected message");
}

static void client_readable(struct client *c)
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
			client_close(c, strerror(errno));
			return;
		}
		if (n == 0) {
			client_close(c, "disconnected");
			return;
		}
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			client_abort(c, 0, -EMSGSIZE, mh.msg_flags & MSG_TRUNC ?
				     "message longer than the 1024-byte request limit" :
				     "unexpected ancillary data");
			return;
		}
		if (!handle_message(c, buf, n))
			return;
	}
	/* A reply is pending: read no more requests until the client takes it. */
	if (c->out_len)
		client_set_events(c, EPOLLOUT);
}

static void accept_clients(void)
{
	static const char full_fmt[] =
		"blknotifyd serves at most %u clients (max_clients in %s); try again later";
	unsigned char buf[BND_REQUEST_MAX] __attribute__((aligned(8)));
	struct client *c;
	unsigned int slot;
	int fd, sndbuf = CLIENT_SNDBUF;

	for (;;) {
		fd = accept4(d.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %m");
			return;
		}
		for (slot = 0; slot < BND_CLIENTS_HARD_MAX && d.clients[slot]; slot++)
			;
		/* (Queues kept across a restart hold slots too, until claimed or expired.) */
		if (d.nr_clients >= d.cfg.max_clients || slot == BND_CLIENTS_HARD_MAX) {
			size_t len = bnd_msg_error(buf, 0, -EUSERS, full_fmt, d.cfg.max_clients,
						   d.config_path);

			log_client(4, "refused a client: %u clients connected (max_clients)",
				   d.nr_clients);
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
		if (peer_get(fd, &d.cfg, &c->peer) < 0) {
			log_warn("cannot read a client's credentials: %m");
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->slot = slot;
		c->gen = ++d.next_gen;
		c->id = ++d.next_id;
		c->queue_size = BLKNOTIFY_QUEUE_SIZE_DEFAULT < d.cfg.max_queue_size ?
				BLKNOTIFY_QUEUE_SIZE_DEFAULT : d.cfg.max_queue_size;
		clock_gettime(CLOCK_MONOTONIC, &c->connected);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		c->events = EPOLLIN;
		if (epoll_set(EPOLL_CTL_ADD, fd, EPOLLIN, epoll_tag(c->gen, slot)) < 0) {
			log_err("epoll: %m");
			close(fd);
			free(c);
			continue;
		}
		d.clients[slot] = c;
		d.nr_clients++;
		log_client(6, "client %u connected: pid %d uid %u gid %u%s", c->id, (int)c->peer.pid,
			   c->peer.uid, c->peer.gid, c->peer.privileged ? " (privileged)" : "");
	}
}

/*
 * While the source's watches change (a new one is added before the old one
 * goes, so nothing is missed), one error can match two of them and come
 * twice.  The copies are identical but for the watch ID and adjacent in the
 * source's queue: drop a record identical to one of the last few.  Records
 * with a timestamp only: two distinct errors never share time, disk, sector
 * and operation.
 */
static bool duplicate(const struct block_notification *b, size_t len)
{
	__u64 key[5];
	unsigned int i;

	if (len < BLOCK_NOTIFICATION_SIZE_V1)
		return false;
	key[0] = b->time_ns;
	key[1] = b->dev;
	key[2] = b->sector;
	key[3] = (__u64)b->nr_sectors << 32 | (__u32)b->error;
	key[4] = (__u64)b->op << 32 | (__u64)b->flags << 16 | b->watch.subtype;
	for (i = 0; i < 8; i++)
		if (!memcmp(d.recent[i], key, sizeof(key)))
			return true;
	memcpy(d.recent[d.recent_next++ % 8], key, sizeof(key));
	return false;
}

/*
 * The source's watches for the clients' watches now: whole disks, or every
 * device.  At most UPSTREAM_DISKS_MAX disks, so that one watch is always free
 * at the source for the next change (new watches go in before old ones go).
 */
#define UPSTREAM_DISKS_MAX	(BN_WATCHES_MAX - 1)

static void upstream_wanted(bool *all, __u64 *devs, unsigned int *nr)
{
	unsigned int i, j, k;

	*all = false;
	*nr = 0;
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		const struct client *c = d.clients[i];

		for (j = 0; c && j < BN_WATCHES_MAX; j++) {
			const struct bn_watch *w = &c->cfg.watches[j];

			if (!w->active)
				continue;
			for (k = 0; k < *nr && devs[k] != w->dev; k++)
				;
			if (k < *nr)
				continue;
			if (!w->dev || *nr == UPSTREAM_DISKS_MAX) {
				*all = true;
				return;
			}
			devs[(*nr)++] = w->dev;
		}
	}
}

static int upstream_find(bool all, __u64 dev)
{
	unsigned int k;

	for (k = 0; k < BN_WATCHES_MAX; k++)
		if (d.up[k].active && d.up[k].all == all && (all || d.up[k].dev == dev))
			return k;
	return -1;
}

static int upstream_add(bool all, __u64 dev)
{
	unsigned int slot, id, k;
	bool used = true;
	int r;

	for (slot = 0; slot < BN_WATCHES_MAX && d.up[slot].active; slot++)
		;
	if (slot == BN_WATCHES_MAX)
		return -ENOSPC;
	for (id = 0; used; id++)
		for (used = false, k = 0; k < BN_WATCHES_MAX && !used; k++)
			used = d.up[k].active && d.up[k].id == id;
	id--;
	r = all ? blknotify_queue_watch_all(d.upstream, id) :
	    blknotify_queue_watch_device(d.upstream, (dev_t)dev, id);
	if (r < 0)
		return r;
	d.up[slot].active = true;
	d.up[slot].all = all;
	d.up[slot].dev = dev;
	d.up[slot].id = id;
	return 0;
}

/*
 * Bring the source's watches to what the clients watch.  New watches go in
 * before old ones go out, so no error falls between them; duplicate() drops
 * what comes twice meanwhile.  If a disk cannot be watched, every device is.
 */
static void upstream_update(void)
{
	__u64 devs[UPSTREAM_DISKS_MAX];
	unsigned int nr, i, k;
	bool all;
	int r;

	upstream_wanted(&all, devs, &nr);
	for (i = 0; !all && i < nr; i++) {
		if (upstream_find(false, devs[i]) >= 0)
			continue;
		r = upstream_add(false, devs[i]);
		if (r < 0) {
			log_warn("cannot watch %u:%u at the source (%s): watching every device",
				 major(devs[i]), minor(devs[i]), strerror(-r));
			all = true;
		}
	}
	if (all && upstream_find(true, 0) < 0) {
		r = upstream_add(true, 0);
		if (r < 0) {
			/* Keep what is there rather than open a gap. */
			log_err("cannot watch every device at the source: %s", strerror(-r));
			return;
		}
	}
	for (k = 0; k < BN_WATCHES_MAX; k++) {
		bool wanted = false;

		if (!d.up[k].active)
			continue;
		if (all)
			wanted = d.up[k].all;
		else
			for (i = 0; i < nr && !wanted; i++)
				wanted = !d.up[k].all && d.up[k].dev == devs[i];
		if (wanted)
			continue;
		r = blknotify_queue_remove_watch(d.upstream, d.up[k].id);
		if (r < 0)
			log_err("cannot remove a watch at the source: %s", strerror(-r));
		else
			d.up[k].active = false;
	}
}

/* Give one upstream record to every client watch that matches it and whose filter admits it. */
static void fan_out(const struct watch_notification *n, size_t len)
{
	const struct block_notification *b = (const void *)n;
	struct block_notification copy;
	unsigned int i, j;

	if (len > sizeof(copy))
		len = sizeof(copy);
	if (duplicate(b, len))
		return;
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		struct client *c = d.clients[i];

		if (!c || !c->nr_watches)
			continue;
		for (j = 0; j < BN_WATCHES_MAX; j++) {
			const struct bn_watch *w = &c->cfg.watches[j];

			if (!bn_watch_match(w, b->dev, b->sector))
				continue;
			memcpy(&copy, b, len);
			copy.watch.info = (n->info & ~WATCH_INFO_ID & ~WATCH_INFO_LENGTH) |
					  (w->id << WATCH_INFO_ID__SHIFT) | len;
			if (!bn_filter_match(&c->cfg, copy.watch.type, copy.watch.subtype, copy.watch.info))
				continue;
			cq_push(&c->q, &copy.watch);
			mark_dirty(c);
		}
	}
}

/* The source lost records: nobody knows whose, so every watching client is told. */
static void upstream_loss(__u64 nr)
{
	unsigned int i;

	d.upstream_lost += nr;
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		struct client *c = d.clients[i];

		if (c && c->nr_watches) {
			cq_add_loss(&c->q, nr);
			mark_dirty(c);
		}
	}
}

/*
 * Returns the number of reads that returned records (so a caller can tell
 * whether more may wait), or a negative errno when the source failed for good.
 */
static int upstream_readable(void)
{
	int i;

	for (i = 0; i < UPSTREAM_READS_PER_WAKEUP; i++) {
		const struct watch_notification *n;
		ssize_t len = blknotify_queue_read(d.upstream, upstream_buf, sizeof(upstream_buf), 0);

		if (len == -EAGAIN || len == -EINTR)
			return i;
		if (len < 0)
			return (int)len;
		for (n = (const void *)upstream_buf; BLOCK_NOTIFY_RECORD_OK(n, len);
		     n = BLOCK_NOTIFY_RECORD_NEXT(n, len)) {
			__u32 rlen = BLOCK_NOTIFY_RECORD_LEN(n);

			if (n->type == WATCH_TYPE_META && n->subtype == WATCH_META_LOSS_NOTIFICATION) {
				upstream_loss(rlen >= BLOCK_NOTIFICATION_LOSS_SIZE ?
					      ((const struct block_notification_loss *)n)->nr_lost : 1);
			} else if (n->type == WATCH_TYPE_BLOCK_NOTIFY &&
				   rlen >= BLOCK_NOTIFICATION_SIZE_V0) {
				d.upstream_records++;
				fan_out(n, rlen);
			}
		}
	}
	return i;
}

/* Remove a pinned queue (bpffs: unlinking the pins detaches the program). */
static void unpin(const char *dir)
{
	static const char *const names[] = { "link", "events", "config", "bss" };
	char path[sizeof(d.cfg.pin_path) + 16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int open_source(enum blknotify_source src, struct blknotify_queue **ret, const char **why)
{
	const char *pin = src == BLKNOTIFY_SOURCE_BPF && d.cfg.pin_path[0] ? d.cfg.pin_path : NULL;
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = src, .bpf_pin_path = pin);
	struct blknotify_queue *q = NULL;
	char link[sizeof(d.cfg.pin_path) + 8];
	bool had_pin = false;
	int r;

	if (pin && d.pin_lock_fd < 0) {
		/* Two daemons reading one pinned queue would each get part of it. */
		if (mkdir(pin, 0700) < 0 && errno != EEXIST)
			log_warn("cannot create %s: %m", pin);	/* the library says more */
		d.pin_lock_fd = open(pin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d.pin_lock_fd >= 0 && flock(d.pin_lock_fd, LOCK_EX | LOCK_NB) < 0) {
			static char msg[512];

			snprintf(msg, sizeof(msg), "another blknotifyd reads the source pinned at %s: "
				 "stop it, or give this one its own pin_path (or pin_path = none)", pin);
			*why = msg;
			close(d.pin_lock_fd);
			d.pin_lock_fd = -1;
			return -EBUSY;
		}
	}
	if (pin) {
		snprintf(link, sizeof(link), "%s/link", pin);
		had_pin = access(link, F_OK) == 0;
	}

	*why = NULL;
	r = blknotify_queue_new(&q, &opts);
	if (r < 0)
		return r;
	r = blknotify_queue_set_size(q, d.cfg.upstream_queue_size);
	if (r >= 0)
		r = blknotify_queue_watch_all(q, 0);
	if (r == -ESTALE && had_pin) {
		/* Pinned by an incompatible version: start afresh; clients see a gap. */
		log_warn("%s; removing it and starting afresh", blknotify_queue_get_error(q));
		blknotify_queue_free(q);
		unpin(pin);
		return open_source(src, ret, why);
	}
	if (r < 0) {
		static char msg[512];

		snprintf(msg, sizeof(msg), "%s", blknotify_queue_get_error(q) ?: strerror(-r));
		*why = msg;
		blknotify_queue_free(q);
		return r;
	}
	*ret = q;
	d.pinned = pin != NULL;
	d.resumed = had_pin;
	if (had_pin)
		log_info("took over the source pinned at %s: errors from while no daemon ran follow",
			 pin);
	return 0;
}

static int start_source(void)
{
	const char *why, *bpf_why = NULL;
	int r;

	if (d.cfg.source != BLKNOTIFY_SOURCE_AUTO) {
		r = open_source(d.cfg.source, &d.upstream, &why);
		if (r < 0) {
			log_err("cannot start source %s: %s", blknotify_source_name(d.cfg.source),
				why ?: strerror(-r));
			return r;
		}
		d.source = d.cfg.source;
		return 0;
	}
	/* auto: the kernel's own implementation where it has one, else BPF, else the log. */
	if (open_source(BLKNOTIFY_SOURCE_WATCH_QUEUE, &d.upstream, &why) == 0) {
		d.source = BLKNOTIFY_SOURCE_WATCH_QUEUE;
		return 0;
	}
	log_debug("no native watch queue: %s", why ?: "unavailable");
	r = open_source(BLKNOTIFY_SOURCE_BPF, &d.upstream, &why);
	if (r == 0) {
		d.source = BLKNOTIFY_SOURCE_BPF;
		return 0;
	}
	bpf_why = why ?: strerror(-r);
	if (r == -EBUSY) {
		/* BPF works; the pinned queue is in use.  Falling back would hide that. */
		log_err("cannot start source bpf: %s", bpf_why);
		return r;
	}
	r = open_source(BLKNOTIFY_SOURCE_KMSG, &d.upstream, &why);
	if (r < 0) {
		log_err("no source works: bpf: %s; kmsg: %s", bpf_why, why ?: strerror(-r));
		return r;
	}
	d.source = BLKNOTIFY_SOURCE_KMSG;
	log_warn("BPF CANNOT LOAD (%s). FALLING BACK TO THE KERNEL LOG (/dev/kmsg): records "
		 "will be lost in an error storm (printk rate limit: 10 lines per 5 s), counted "
		 "where the kernel says so. Fix BPF (root or CAP_BPF+CAP_PERFMON, kernel BTF) "
		 "or set source = kmsg to accept this.", bpf_why);
	return 0;
}

/* Use the socket systemd passed (blknotifyd.socket), if any.  Returns 1 if so. */
static int listen_fds(void)
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
	d.listen_fd = SD_LISTEN_FDS_START;
	d.socket_activated = true;
	return 1;
}

static int make_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old_umask;
	int fd, r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.cfg.socket_path);
	snprintf(dir, sizeof(dir), "%s", d.cfg.socket_path);
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
	if ((d.cfg.socket_gid_set && chown(sa.sun_path, -1, d.cfg.socket_gid) < 0) ||
	    chmod(sa.sun_path, d.cfg.socket_mode) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		log_err("cannot set up %s: %m", sa.sun_path);
		close(fd);
		unlink(sa.sun_path);
		return r;
	}
	if (!d.cfg.socket_gid_set && (d.cfg.socket_mode & 077))
		log_warn("group \"blknotify\" does not exist: %s belongs to root's group; "
			 "create the group or set socket_group", sa.sun_path);
	d.listen_fd = fd;
	return 0;
}

static int setup_signals(void)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	d.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	return d.signal_fd < 0 ? -errno : 0;
}

static void handle_signal(void)
{
	struct signalfd_siginfo si;

	while (read(d.signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: configuration reload is not supported; restart blknotifyd "
				 "to apply %s", d.config_path);
			continue;
		}
		log_info("%s: shutting down", strsignal(si.ssi_signo));
		d.stopping = true;
	}
}

static void dispatch(const struct epoll_event *ev)
{
	unsigned int slot = ev->data.u64 & 0xffffffff;
	__u32 gen = ev->data.u64 >> 32;
	struct client *c;
	int r;

	switch (slot) {
	case TAG_LISTEN:
		accept_clients();
		return;
	case TAG_SIGNAL:
		handle_signal();
		return;
	case TAG_GRACE:
		expire_detached();
		return;
	case TAG_UPSTREAM:
		r = upstream_readable();
		if (r < 0) {
			log_err("source %s failed: %s", blknotify_source_name(d.source),
				blknotify_queue_get_error(d.upstream) ?: strerror(-r));
			d.stopping = d.failed = true;
		}
		return;
	}
	if (slot >= BND_CLIENTS_HARD_MAX)
		return;
	c = d.clients[slot];
	if (!c || c->gen != gen)
		return;		/* closed earlier in this batch */
	if (ev->events & EPOLLOUT) {
		if (!client_flush(c))
			return;
		if (ev->events & EPOLLIN)
			client_readable(c);
		return;
	}
	if (ev->events & EPOLLIN) {
		client_readable(c);
		return;
	}
	if (ev->events & (EPOLLHUP | EPOLLERR))
		client_close(c, "hung up");
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: blknotifyd [OPTIONS]\n"
		"Serve block-layer error records to monitors over a Unix socket.\n\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -s, --socket PATH   listen here (default from the configuration: %s)\n"
		"      --source NAME   auto, bpf, kmsg or watch_queue (overrides the configuration)\n"
		"  -t, --check-config  validate the configuration, print it and exit\n"
		"  -v, --verbose       log every request and refusal\n"
		"  -h, --help          this text\n"
		"      --version       print the version\n\n"
		"Runs in the foreground; under systemd as blknotifyd.service.  See blknotifyd(8).\n",
		BLKNOTIFYD_CONFIG_FILE, BLKNOTIFY_DAEMON_SOCKET);
}

static void print_config(void)
{
	printf("source = %s\nsocket = %s\nsocket_mode = %04o\nsocket_group = %s\n"
	       "max_clients = %u\nmax_queue_size = %u\nupstream_queue_size = %u\n"
	       "privileged_groups = %s\ndevice_access = %s\npin_path = %s\nstate_file = %s\n"
	       "restart_grace_ms = %u\n",
	       d.cfg.source == BLKNOTIFY_SOURCE_AUTO ? "auto" : blknotify_source_name(d.cfg.source),
	       d.cfg.socket_path, d.cfg.socket_mode,
	       d.cfg.socket_gid_set ? d.cfg.socket_group : "(root's)",
	       d.cfg.max_clients, d.cfg.max_queue_size, d.cfg.upstream_queue_size,
	       d.cfg.privileged_groups,
	       d.cfg.device_access == DEVICE_ACCESS_READABLE ? "readable" : "none",
	       d.cfg.pin_path[0] ? d.cfg.pin_path : "none", d.cfg.state_file,
	       d.cfg.restart_grace_ms);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "source", required_argument, NULL, 'S' },
		{ "check-config", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *socket_arg = NULL, *source_arg = NULL;
	struct epoll_event events[MAX_EVENTS];
	bool check_only = false, config_given = false;
	char err[1024], status[256];
	int opt, r, i, n;
	unsigned int s;

	d.config_path = BLKNOTIFYD_CONFIG_FILE;
	d.journal = getenv("JOURNAL_STREAM") != NULL;
	d.listen_fd = d.signal_fd = d.epoll_fd = d.grace_fd = d.pin_lock_fd = -1;
	while ((opt = getopt_long(argc, argv, "c:s:tvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': d.config_path = optarg; config_given = true; break;
		case 's': socket_arg = optarg; break;
		case 'S': source_arg = optarg; break;
		case 't': check_only = true; break;
		case 'v': d.verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("blknotifyd %s\n", BLKNOTIFYD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "blknotifyd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	/* The default file may be absent; one named on the command line may not. */
	r = config_load(&d.cfg, d.config_path, !config_given, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "blknotifyd: %s\n", err);
		return 1;
	}
	if (socket_arg) {
		if (socket_arg[0] != '/' || strlen(socket_arg) >= sizeof(d.cfg.socket_path)) {
			fprintf(stderr, "blknotifyd: --socket: \"%s\" is not an absolute path of at most %zu bytes\n",
				socket_arg, sizeof(d.cfg.socket_path) - 1);
			return 2;
		}
		snprintf(d.cfg.socket_path, sizeof(d.cfg.socket_path), "%s", socket_arg);
	}
	if (source_arg) {
		if (!strcmp(source_arg, "auto")) {
			d.cfg.source = BLKNOTIFY_SOURCE_AUTO;
		} else {
			r = blknotify_source_from_name(source_arg);
			if (r < 0 || r == BLKNOTIFY_SOURCE_DAEMON || r == BLKNOTIFY_SOURCE_AUTO) {
				fprintf(stderr, "blknotifyd: --source: \"%s\" is not one of auto, bpf, kmsg, watch_queue\n",
					source_arg);
				return 2;
			}
			d.cfg.source = r;
		}
	}
	if (check_only) {
		print_config();
		return 0;
	}

	clock_gettime(CLOCK_MONOTONIC, &d.started);
	d.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epoll_fd < 0 || setup_signals() < 0) {
		log_err("cannot set up the event loop: %m");
		return 1;
	}
	r = start_source();
	if (r < 0)
		goto out;
	/* open_source() watched every device, to start the source; nobody asks yet. */
	d.up[0].active = d.up[0].all = true;
	d.grace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d.grace_fd < 0 || (r = epoll_set(EPOLL_CTL_ADD, d.grace_fd, EPOLLIN, TAG_GRACE)) < 0) {
		log_err("cannot set up a timer: %m");
		r = -errno;
		goto out;
	}
	/* Before the source narrows: the restored clients' disks stay watched. */
	if (d.resumed)
		load_state();
	upstream_update();
	r = listen_fds();
	if (r == 0)
		r = make_socket();
	if (r < 0)
		goto out;
	if ((r = epoll_set(EPOLL_CTL_ADD, d.listen_fd, EPOLLIN, TAG_LISTEN)) < 0 ||
	    (r = epoll_set(EPOLL_CTL_ADD, d.signal_fd, EPOLLIN, TAG_SIGNAL)) < 0 ||
	    (r = epoll_set(EPOLL_CTL_ADD, blknotify_queue_get_fd(d.upstream), EPOLLIN, TAG_UPSTREAM)) < 0) {
		log_err("epoll: %s", strerror(-r));
		goto out;
	}
	log_info("reading %s, serving %s%s (at most %u clients, queues up to %u records)",
		 blknotify_source_name(d.source), d.cfg.socket_path,
		 d.socket_activated ? " (socket-activated)" : "", d.cfg.max_clients,
		 d.cfg.max_queue_size);
	snprintf(status, sizeof(status), "READY=1\nSTATUS=source %s, serving %s\nMAINPID=%d",
		 blknotify_source_name(d.source), d.cfg.socket_path, (int)getpid());
	sd_notify_send(status);

	while (!d.stopping) {
		n = epoll_wait(d.epoll_fd, events, MAX_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			log_err("epoll_wait: %m");
			break;
		}
		for (i = 0; i < n && !d.stopping; i++)
			dispatch(&events[i]);
		flush_dirty();
	}
	sd_notify_send("STOPPING=1");
	d.stopping = true;
	r = r < 0 ? r : 0;
	/*
	 * Errors that happened before the signal are in the source already:
	 * read them all and hand out what fits in the clients' sockets.  A
	 * client is told of what did not fit when it reconnects (a gap).
	 */
	if (d.upstream && !d.pinned) {
		int reads;

		do
			reads = upstream_readable();
		while (reads == UPSTREAM_READS_PER_WAKEUP);
		flush_dirty();
	}
	/* Pinned: what the source holds stays for our successor, and so do the clients. */
	if (d.upstream && d.pinned)
		save_state(true);
out:
	for (s = 0; s < BND_CLIENTS_HARD_MAX; s++)
		if (d.clients[s])
			client_close(d.clients[s], "daemon stopping");
	if (d.listen_fd >= 0 && !d.socket_activated) {
		close(d.listen_fd);
		unlink(d.cfg.socket_path);
	}
	blknotify_queue_free(d.upstream);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	if (d.grace_fd >= 0)
		close(d.grace_fd);
	if (d.pin_lock_fd >= 0)
		close(d.pin_lock_fd);
	if (d.epoll_fd >= 0)
		close(d.epoll_fd);
	return r < 0 || d.failed ? 1 : 0;
}
