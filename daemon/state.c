// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "clients.h"
#include "log.h"
#include "state.h"
#include "watch.h"

#define STATE_MAGIC	0x53444e42U	/* "BNDS" */
#define STATE_VERSION	2	/* 2: diskseq of each watch */

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
	__u64 diskseq[BN_WATCHES_MAX];
};

void state_save(struct manager *m, bool clean)
{
	static struct state_client entries[BND_CLIENTS_HARD_MAX];
	struct state_hdr h = { .magic = STATE_MAGIC, .version = STATE_VERSION, .clean = clean };
	char tmp[sizeof(m->cfg.state_file) + 8];
	unsigned int i;
	size_t len;
	bool ok;
	int fd;

	m->state_pending = false;
	if (!m->pinned)
		return;		/* nothing would survive to resume */
	m->state_writes++;
	clock_gettime(CLOCK_MONOTONIC, &m->state_written);
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		const struct client *c = m->clients[i];
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
		memcpy(e->diskseq, c->diskseq, sizeof(e->diskseq));
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->cfg.state_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("cannot write %s: %m; clients cannot resume after a restart", tmp);
		return;
	}
	len = h.nr * sizeof(entries[0]);
	/* Closed on every path: a full /run must not cost an fd per attempt. */
	ok = write(fd, &h, sizeof(h)) == sizeof(h) && write(fd, entries, len) == (ssize_t)len;
	if (close(fd) < 0)
		ok = false;
	if (!ok || rename(tmp, m->cfg.state_file) < 0) {
		log_warn("cannot write %s: %m; clients cannot resume after a restart", tmp);
		unlink(tmp);
	}
}

void state_changed(struct manager *m)
{
	__u64 since;

	if (!m->pinned || m->state_pending)
		return;
	/*
	 * A token bucket: STATE_WRITE_BURST writes at once (an honest client's
	 * changes are on disk before a crash can lose them), then one per
	 * STATE_WRITE_INTERVAL_MS, each with every change made meanwhile.
	 */
	since = m->state_writes ? ns_since(&m->state_written) / 1000000 : ~0ULL;
	if (m->state_tokens + since / STATE_WRITE_INTERVAL_MS >= 1) {
		__u64 t = m->state_tokens + since / STATE_WRITE_INTERVAL_MS;

		m->state_tokens = (t > STATE_WRITE_BURST ? STATE_WRITE_BURST : t) - 1;
		state_save(m, false);
		return;
	}
	m->state_pending = true;
	m->state_due_ns = now_ns() + (STATE_WRITE_INTERVAL_MS - since) * 1000000ULL;
	manager_defer(m, STATE_WRITE_INTERVAL_MS - since);
}

static bool state_entry_valid(const struct state_client *e)
{
	char why[BND_ERROR_TEXT_MAX];

	return e->queue_size >= 1 && e->queue_size <= BLKNOTIFY_QUEUE_SIZE_MAX &&
	       bn_config_check(&e->cfg, why, sizeof(why)) == 0 && bn_config_nr_watches(&e->cfg) > 0;
}

/* A detached client for entry e (of a clean stop or not) in a free slot; NULL if none. */
static struct client *restore_client(struct manager *m, const struct state_client *e, bool clean,
				     unsigned int *slot)
{
	struct client *c;

	while (*slot < BND_CLIENTS_HARD_MAX && m->clients[*slot])
		(*slot)++;
	c = calloc(1, sizeof(*c));
	if (!c || *slot == BND_CLIENTS_HARD_MAX ||
	    cq_init(&c->q, e->queue_size < m->cfg.max_queue_size ?
			   e->queue_size : m->cfg.max_queue_size) < 0) {
		free(c);
		return NULL;
	}
	c->fd = -1;
	c->slot = *slot;
	c->gen = ++m->next_gen;
	c->id = ++m->next_id;
	c->detached = true;
	c->unclean = !clean;
	c->hello_done = c->ever_watched = true;
	c->token = e->token;
	c->peer.uid = e->uid;
	c->queue_size = c->q.size;
	c->cfg = e->cfg;
	memcpy(c->diskseq, e->diskseq, sizeof(c->diskseq));
	c->nr_watches = bn_config_nr_watches(&c->cfg);
	if (e->lost)
		cq_add_loss(&c->q, e->lost);
	clock_gettime(CLOCK_MONOTONIC, &c->connected);
	m->clients[*slot] = c;
	return c;
}

void state_load(struct manager *m)
{
	static struct state_client entries[BND_CLIENTS_HARD_MAX];
	struct itimerspec its = { 0 };
	struct state_hdr h;
	unsigned int i, slot = 0, restored = 0;
	ssize_t n;
	int fd;

	fd = open(m->cfg.state_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, &h, sizeof(h));
	if (n != sizeof(h) || h.magic != STATE_MAGIC || h.version != STATE_VERSION ||
	    h.nr > BND_CLIENTS_HARD_MAX ||
	    read(fd, entries, h.nr * sizeof(entries[0])) != (ssize_t)(h.nr * sizeof(entries[0]))) {
		log_warn("ignoring %s: not a state file of this version", m->cfg.state_file);
		close(fd);
		return;
	}
	close(fd);
	for (i = 0; i < h.nr; i++) {
		if (!state_entry_valid(&entries[i])) {
			log_warn("%s: entry %u is not valid; its client will see a gap",
				 m->cfg.state_file, i);
			continue;
		}
		if (!restore_client(m, &entries[i], h.clean, &slot)) {
			log_err("no room to restore a client; it will see a gap");
			break;
		}
		restored++;
	}
	if (!restored)
		return;
	log_info("kept %u clients' queues across the restart (%s); they have %u ms to reconnect",
		 restored, h.clean ? "clean" : "after a crash: they will be told of a gap",
		 m->cfg.restart_grace_ms);
	its.it_value.tv_sec = m->cfg.restart_grace_ms / 1000;
	its.it_value.tv_nsec = (m->cfg.restart_grace_ms % 1000) * 1000000L;
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	/* Without the timer the queues would hold their slots for ever: drop them now. */
	if (timerfd_settime(m->grace_fd, 0, &its, NULL) < 0) {
		log_err("cannot arm the restart grace timer: %m; dropping the kept queues "
			"(their clients will see a gap)");
		state_expire_detached(m);
	}
}

void state_expire_detached(struct manager *m)
{
	unsigned int i;
	__u64 ticks;

	(void)!read(m->grace_fd, &ticks, sizeof(ticks));
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++)
		if (m->clients[i] && m->clients[i]->detached)
			client_close(m, m->clients[i], "did not reconnect after the restart");
}

__u32 state_adopt(struct manager *m, struct client *c, __u64 token)
{
	char why[BND_ERROR_TEXT_MAX];
	struct client *g = NULL;
	unsigned int i;
	__u32 flags;

	for (i = 0; i < BND_CLIENTS_HARD_MAX && !g; i++)
		if (m->clients[i] && m->clients[i]->detached && m->clients[i]->token == token)
			g = m->clients[i];
	if (!g || g->peer.uid != c->peer.uid)
		return 0;
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		const struct bn_watch *w = &g->cfg.watches[i];
		struct bnd_add_watch aw = { .id = w->id, .dev = w->dev, .start = w->start, .end = w->end };

		if (w->active && policy_check_watch(&m->cfg, &c->peer, &aw, why, sizeof(why)) < 0) {
			log_info("client %u: not resuming its queue: %s", c->id, why);
			client_close(m, g, "no longer allowed");
			return 0;
		}
	}
	c->token = g->token;
	c->cfg = g->cfg;
	memcpy(c->diskseq, g->diskseq, sizeof(c->diskseq));
	c->nr_watches = g->nr_watches;
	c->ever_watched = true;
	c->queue_size = g->queue_size;
	c->q = g->q;
	flags = BND_HELLO_RESUMED | (g->unclean ? BND_HELLO_GAP : 0);
	g->q.slots = NULL;
	m->clients[g->slot] = NULL;
	free(g);
	log_info("client %u (pid %d uid %u) resumed its queue: %u records waiting",
		 c->id, (int)c->peer.pid, c->peer.uid, c->q.count);
	if (cq_pending(&c->q))
		client_mark_dirty(m, c);
	return flags;
}
