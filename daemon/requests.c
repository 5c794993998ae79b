// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysmacros.h>
#include "clients.h"
#include "devices.h"
#include "history-query.h"
#include "impact.h"
#include "log.h"
#include "requests.h"
#include "state.h"
#include "upstream.h"
#include "watch.h"

static bool handle_hello(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	struct bnd_hello_reply *r;
	__u32 flags;

	if (c->hello_done) {
		client_abort(m, c, msg->seq, -EPROTO, "HELLO sent twice");
		return false;
	}
	/* The reply buffer: only now, so a connection that never says HELLO costs little. */
	c->out = aligned_alloc(8, BND_MSG_MAX);
	if (!c->out) {
		client_abort(m, c, msg->seq, -ENOMEM, "blknotifyd is out of memory");
		return false;
	}
	c->hello_done = true;
	flags = msg->hello->token ? state_adopt(m, c, msg->hello->token) : 0;
	if (!(flags & BND_HELLO_RESUMED) &&
	    getrandom(&c->token, sizeof(c->token), GRND_NONBLOCK) != sizeof(c->token))
		c->token = (__u64)c->id << 32 ^ (__u64)c->connected.tv_nsec;
	r = bnd_msg_init(c->out, BND_HELLO_REPLY, msg->seq, sizeof(*r));
	r->version = BND_VERSION;
	r->flags = flags | (c->peer.privileged ? BND_HELLO_PRIVILEGED : 0);
	r->queue_size = c->queue_size;
	r->max_queue_size = m->cfg.max_queue_size;
	r->source = m->source;
	r->client_id = c->id;
	r->token = c->token;
	return client_reply(m, c, sizeof(struct bnd_hdr) + sizeof(*r));
}

static bool handle_set_size(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	if (c->ever_watched)
		return reply_error(m, c, msg->seq, -EBUSY, "set the queue size before the first watch");
	c->queue_size = msg->set_size->nr_records < m->cfg.max_queue_size ?
			msg->set_size->nr_records : m->cfg.max_queue_size;
	return reply_ok(m, c, msg->seq, c->queue_size);
}

static bool handle_set_filter(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	const struct bnd_set_filter *f = msg->set_filter;
	char why[BND_ERROR_TEXT_MAX];
	int r;

	r = bn_config_set_filter(&c->cfg, f->filters, f->nr_filters, why, sizeof(why));
	if (r < 0)
		return reply_error(m, c, msg->seq, r, "%s", why);
	if (c->nr_watches)
		state_changed(m);
	return reply_ok(m, c, msg->seq, 0);
}

static bool handle_add_watch(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	const struct bnd_add_watch *w = msg->add_watch;
	char why[BND_ERROR_TEXT_MAX];
	__u64 seq = 0;
	int r, j;

	if (bn_config_find_watch(&c->cfg, w->id))
		return reply_error(m, c, msg->seq, -EEXIST, "watch ID %u is in use on this queue", w->id);
	r = policy_check_watch(&m->cfg, &c->peer, w, why, sizeof(why));
	if (r < 0) {
		if (r == -EACCES)
			log_client(6, "client %u (pid %d uid %u) refused: %s", c->id,
				   (int)c->peer.pid, c->peer.uid, why);
		return reply_error(m, c, msg->seq, r, "%s", why);
	}
	/* The disk as it was allowed: if its number comes to name another, the watch ends. */
	if (w->dev && device_diskseq(w->dev, &seq) == -ENODEV)
		return reply_error(m, c, msg->seq, -ENODEV, "no block device %u:%u",
				   major(w->dev), minor(w->dev));
	if (!c->q.slots && cq_init(&c->q, c->queue_size) < 0)
		return reply_error(m, c, msg->seq, -ENOMEM, "no memory for a queue of %u records",
				   c->queue_size);
	j = bn_config_add_watch(&c->cfg, w->id, w->dev, w->start, w->end, why, sizeof(why));
	if (j < 0)
		return reply_error(m, c, msg->seq, j, "%s", why);
	c->diskseq[j] = seq;
	c->nr_watches++;
	/* Before the reply, so errors after it are seen; an OK the source cannot keep is a lie. */
	r = upstream_widen(m);
	if (r < 0) {
		bn_config_remove_watch(&c->cfg, w->id, why, sizeof(why));
		c->diskseq[j] = 0;
		c->nr_watches--;
		return reply_error(m, c, msg->seq, r, "the daemon's source (%s) cannot watch %u:%u: "
				   "%s; see the daemon's log", blknotify_source_name(m->source),
				   major(w->dev), minor(w->dev), strerror(-r));
	}
	c->ever_watched = true;
	state_changed(m);
	return reply_ok(m, c, msg->seq, 0);
}

static bool handle_remove_watch(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	struct bn_watch *w = bn_config_find_watch(&c->cfg, msg->remove_watch->id);
	char why[BND_ERROR_TEXT_MAX];

	if (!w || bn_config_remove_watch(&c->cfg, msg->remove_watch->id, why, sizeof(why)) < 0)
		return reply_error(m, c, msg->seq, -ENOENT, "no watch with ID %u",
				   msg->remove_watch->id);
	c->diskseq[w - c->cfg.watches] = 0;
	c->nr_watches--;
	upstream_update_later(m);
	state_changed(m);
	return reply_ok(m, c, msg->seq, 0);
}

static bool handle_get_stats(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	struct bnd_stats *s = bnd_msg_init(c->out, BND_STATS, msg->seq, sizeof(*s));
	unsigned int i;

	s->total_clients = m->nr_clients;
	s->max_clients = m->cfg.max_clients;
	s->source = m->source;
	s->uptime_ns = ns_since(&m->started);
	/* The daemon's totals tell of errors on every watched disk: privileged only. */
	if (c->peer.privileged) {
		s->flags = BND_STATS_GLOBAL;
		s->upstream_records = m->upstream_records;
		s->upstream_lost = m->upstream_lost;
		s->state_writes = m->state_writes;
		s->upstream_changes = m->upstream_changes;
	}
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		const struct client *o = m->clients[i];
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
	return client_reply(m, c, ((struct bnd_hdr *)c->out)->len);
}

static bool handle_ack(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	char why[BND_ERROR_TEXT_MAX];

	if (!c->q.slots || cq_ack(&c->q, msg->ack->nr_records) < 0) {
		snprintf(why, sizeof(why), "ACK of %u records, %u were sent", msg->ack->nr_records,
			 c->q.in_flight);
		client_abort(m, c, msg->seq, -EPROTO, why);
		return false;
	}
	/* Room again: what waits (records, a held-back loss report, a removal) can go. */
	client_push_ended(m, c);
	if (cq_pending(&c->q))
		client_mark_dirty(m, c);
	return true;
}

bool request_handle(struct manager *m, struct client *c, const void *buf, size_t len)
{
	char why[BND_ERROR_TEXT_MAX];
	struct bnd_msg msg;
	int r;

	r = bnd_parse(buf, len, BND_TO_DAEMON, &msg, why, sizeof(why));
	if (r == -EOPNOTSUPP && c->hello_done)
		return reply_error(m, c, msg.seq, r, "%s", why);	/* a newer client probing */
	if (r < 0) {
		client_abort(m, c, len >= sizeof(struct bnd_hdr) ?
			     ((const struct bnd_hdr *)buf)->seq : 0, r, why);
		return false;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->last_request);
	if (!c->hello_done && msg.type != BND_HELLO) {
		snprintf(why, sizeof(why), "%s before HELLO", bnd_type_name(msg.type));
		client_abort(m, c, msg.seq, -EPROTO, why);
		return false;
	}
	switch (msg.type) {
	case BND_HELLO:
		return handle_hello(m, c, &msg);
	case BND_SET_SIZE:
		return handle_set_size(m, c, &msg);
	case BND_SET_FILTER:
		return handle_set_filter(m, c, &msg);
	case BND_ADD_WATCH:
		return handle_add_watch(m, c, &msg);
	case BND_REMOVE_WATCH:
		return handle_remove_watch(m, c, &msg);
	case BND_GET_STATS:
		return handle_get_stats(m, c, &msg);
	case BND_ACK:
		return handle_ack(m, c, &msg);
	case BND_GET_IMPACT:
		return impact_handle(m, c, &msg);
	case BND_GET_HISTORY:
		return history_query_handle(m, c, &msg);
	}
	return reply_error(m, c, msg.seq, -EOPNOTSUPP, "unexpected message");
}
