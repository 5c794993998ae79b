// SPDX-License-Identifier: LGPL-2.1-or-later
/* The handlers' rate limit per (handler, disk, subtype) (handler-rate.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "handler-rate.h"

int rate_init(struct rate_table *t, unsigned int size, __u64 interval_ns)
{
	unsigned int i;

	memset(t, 0, sizeof(*t));
	if (!size)
		return -EINVAL;
	for (t->nr_buckets = 16; t->nr_buckets < size; t->nr_buckets <<= 1)
		;
	t->e = calloc(size, sizeof(*t->e));
	t->buckets = malloc(t->nr_buckets * sizeof(*t->buckets));
	if (!t->e || !t->buckets) {
		rate_free(t);
		return -ENOMEM;
	}
	for (i = 0; i < t->nr_buckets; i++)
		t->buckets[i] = -1;
	t->size = size;
	t->interval_ns = interval_ns;
	return 0;
}

void rate_free(struct rate_table *t)
{
	free(t->e);
	free(t->buckets);
	t->e = NULL;
	t->buckets = NULL;
}

static unsigned int bucket(const struct rate_table *t, __u32 handler, __u64 dev, __u32 subtype)
{
	__u64 h = dev * 0x9e3779b97f4a7c15ULL ^ ((__u64)handler << 32 | subtype) * 0xc2b2ae3d27d4eb4fULL;

	return (unsigned int)(h ^ h >> 29) & (t->nr_buckets - 1);
}

static struct rate_entry *find(struct rate_table *t, __u32 handler, __u64 dev, __u32 subtype)
{
	int i;

	for (i = t->buckets[bucket(t, handler, dev, subtype)]; i >= 0; i = t->e[i].next)
		if (t->e[i].dev == dev && t->e[i].handler == handler && t->e[i].subtype == subtype)
			return &t->e[i];
	return NULL;
}

static void unlink_entry(struct rate_table *t, struct rate_entry *e)
{
	int *p = &t->buckets[bucket(t, e->handler, e->dev, e->subtype)];
	int idx = e - t->e;

	while (*p != idx)
		p = &t->e[*p].next;
	*p = e->next;
	e->used = false;
	t->nr_used--;
}

static bool due(const struct rate_table *t, const struct rate_entry *e, __u64 now)
{
	return e->pending && (!e->ran || now - e->last_run_ns >= t->interval_ns);
}

static bool try_run(struct rate_table *t, struct rate_entry *e, __u64 now, rate_run_fn run, void *ctx)
{
	(void)t;
	if (!run(ctx, e->handler, e->pending, &e->last))
		return false;
	e->pending = 0;
	e->ran = true;
	e->last_run_ns = now;
	return true;
}

/* A free entry: unused, else the least recently used idle one, else flush the least recently used. */
static struct rate_entry *make_room(struct rate_table *t, __u64 now, rate_run_fn run, void *ctx)
{
	struct rate_entry *idle = NULL, *any = NULL;
	unsigned int i;

	if (t->nr_used < t->size) {
		for (i = 0; t->e[i].used; i++)
			;
		return &t->e[i];
	}
	for (i = 0; i < t->size; i++) {
		struct rate_entry *e = &t->e[i];

		if (!e->pending && (!idle || e->used_ns < idle->used_ns))
			idle = e;
		if (!any || e->used_ns < any->used_ns)
			any = e;
	}
	if (!idle) {
		idle = any;
		if (!try_run(t, idle, now, run, ctx))
			t->lost += idle->pending;
	}
	t->evicted++;
	unlink_entry(t, idle);
	return idle;
}

static struct rate_entry *insert(struct rate_table *t, __u32 handler, __u64 dev, __u32 subtype,
				 __u64 now, rate_run_fn run, void *ctx)
{
	struct rate_entry *e = make_room(t, now, run, ctx);
	unsigned int b = bucket(t, handler, dev, subtype);

	memset(e, 0, sizeof(*e));
	e->used = true;
	e->handler = handler;
	e->dev = dev;
	e->subtype = subtype;
	e->next = t->buckets[b];
	t->buckets[b] = e - t->e;
	t->nr_used++;
	return e;
}

bool rate_event(struct rate_table *t, __u32 handler, __u32 subtype, const struct handler_event *ev,
		__u64 now, rate_run_fn run, void *ctx)
{
	struct rate_entry *e = find(t, handler, ev->rec.dev, subtype);

	__u64 lost;

	if (!e)
		e = insert(t, handler, ev->rec.dev, subtype, now, run, ctx);
	lost = (e->pending ? e->last.lost : 0) + ev->lost;	/* a run reports all the loss since the last */
	e->used_ns = now;
	e->last = *ev;
	e->last.lost = lost;
	e->pending++;
	return due(t, e, now) && try_run(t, e, now, run, ctx);
}

unsigned int rate_flush(struct rate_table *t, __u64 now, rate_run_fn run, void *ctx)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->size; i++) {
		struct rate_entry *e = &t->e[i];

		if (!e->used || !due(t, e, now))
			continue;
		if (!try_run(t, e, now, run, ctx))
			break;
		n++;
	}
	return n;
}

__u64 rate_next_due(const struct rate_table *t)
{
	__u64 next = ~0ULL;
	unsigned int i;

	for (i = 0; i < t->size; i++) {
		const struct rate_entry *e = &t->e[i];
		__u64 d;

		if (!e->used || !e->pending)
			continue;
		d = e->ran ? e->last_run_ns + t->interval_ns : 0;
		if (d < next)
			next = d;
	}
	return next;
}

__u64 rate_pending(const struct rate_table *t)
{
	__u64 n = 0;
	unsigned int i;

	for (i = 0; i < t->size; i++)
		if (t->e[i].used)
			n += t->e[i].pending;
	return n;
}

static bool refuse(void *ctx, __u32 handler, __u64 count, const struct handler_event *ev)
{
	(void)ctx, (void)handler, (void)count, (void)ev;
	return false;
}

int rate_restore(struct rate_table *t, __u32 handler, __u32 subtype, __u64 count,
		 const struct handler_event *ev, __u64 now)
{
	struct rate_entry *e = find(t, handler, ev->rec.dev, subtype);
	unsigned int i;
	__u64 lost;

	if (!e) {
		/* Never at the cost of another key's events. */
		if (t->nr_used == t->size) {
			for (i = 0; i < t->size && t->e[i].pending; i++)
				;
			if (i == t->size)
				return -ENOSPC;
		}
		e = insert(t, handler, ev->rec.dev, subtype, now, refuse, NULL);
	}
	lost = (e->pending ? e->last.lost : 0) + ev->lost;
	e->used_ns = now;
	e->last = *ev;
	e->last.lost = lost;
	e->pending += count;
	return 0;
}

__u64 rate_renumber(struct rate_table *t, const int *map, unsigned int nr_map)
{
	__u64 dropped = 0;
	unsigned int i;

	/* Rehash: the handler is part of the key. */
	for (i = 0; i < t->nr_buckets; i++)
		t->buckets[i] = -1;
	for (i = 0; i < t->size; i++) {
		struct rate_entry *e = &t->e[i];
		unsigned int b;

		if (!e->used)
			continue;
		if (e->handler >= nr_map || map[e->handler] < 0) {
			dropped += e->pending;
			e->used = false;
			t->nr_used--;
			continue;
		}
		e->handler = map[e->handler];
		b = bucket(t, e->handler, e->dev, e->subtype);
		e->next = t->buckets[b];
		t->buckets[b] = i;
	}
	return dropped;
}
