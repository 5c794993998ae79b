// SPDX-License-Identifier: LGPL-2.1-or-later
/* Watches and filters: see watch.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "watch.h"

static int refuse(char *why, size_t why_len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(char *why, size_t why_len, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -err;
}

void bn_config_init(struct bn_config *c)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < BN_WATCHES_MAX; i++)
		c->watches[i].end = UINT64_MAX;
}

int bn_watch_check(__u32 id, __u64 dev, __u64 start, __u64 end, char *why, size_t why_len)
{
	if (id > BLOCK_NOTIFY_WATCH_ID_MAX)
		return refuse(why, why_len, EINVAL, "watch ID %u (must be 0..%d)", id,
			      BLOCK_NOTIFY_WATCH_ID_MAX);
	if (start >= end)
		return refuse(why, why_len, EINVAL, "empty sector range %llu..%llu",
			      (unsigned long long)start, (unsigned long long)end);
	if (!dev && (start || end != UINT64_MAX))
		return refuse(why, why_len, EINVAL,
			      "a watch on every device cannot have a sector range");
	return 0;
}

int bn_filter_check(const struct watch_notification_type_filter *f, __u32 nr,
		    char *why, size_t why_len)
{
	__u32 i;

	if (nr > BN_FILTERS_MAX)
		return refuse(why, why_len, EINVAL, "%u filters (at most %d)", nr, BN_FILTERS_MAX);
	for (i = 0; i < nr; i++) {
		if (f[i].info_filter & ~f[i].info_mask)
			return refuse(why, why_len, EINVAL,
				      "filter %u: info_filter 0x%x has bits outside info_mask 0x%x",
				      i, f[i].info_filter, f[i].info_mask);
		if (f[i].info_mask & WATCH_INFO_LENGTH)
			return refuse(why, why_len, EINVAL,
				      "filter %u: info_mask 0x%x covers the record length", i,
				      f[i].info_mask);
	}
	return 0;
}

int bn_config_check(const struct bn_config *c, char *why, size_t why_len)
{
	unsigned int i, j;
	int r;

	if (c->filter_on > 1 || (!c->filter_on && c->nr_filters))
		return refuse(why, why_len, EINVAL, "filter flag %u with %u filters",
			      c->filter_on, c->nr_filters);
	r = bn_filter_check(c->filters, c->nr_filters, why, why_len);
	if (r)
		return r;
	for (i = 0; i < c->nr_filters; i++)
		if (c->filters[i].type >= BLOCK_NOTIFY_WATCH_TYPE__NR)
			return refuse(why, why_len, EINVAL, "filter %u: unknown type %u", i,
				      c->filters[i].type);
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		const struct bn_watch *w = &c->watches[i];

		if (!w->active)
			continue;
		if (w->active != 1)
			return refuse(why, why_len, EINVAL, "watch slot %u: flag %u", i, w->active);
		r = bn_watch_check(w->id, w->dev, w->start, w->end, why, why_len);
		if (r)
			return r;
		for (j = 0; j < i; j++)
			if (c->watches[j].active && c->watches[j].id == w->id)
				return refuse(why, why_len, EINVAL, "watch ID %u twice", w->id);
	}
	return 0;
}

struct bn_watch *bn_config_find_watch(struct bn_config *c, __u32 id)
{
	unsigned int i;

	for (i = 0; i < BN_WATCHES_MAX; i++)
		if (c->watches[i].active && c->watches[i].id == id)
			return &c->watches[i];
	return NULL;
}

unsigned int bn_config_nr_watches(const struct bn_config *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < BN_WATCHES_MAX; i++)
		n += !!c->watches[i].active;
	return n;
}

int bn_config_add_watch(struct bn_config *c, __u32 id, __u64 dev, __u64 start, __u64 end,
			char *why, size_t why_len)
{
	unsigned int i;
	int r;

	r = bn_watch_check(id, dev, start, end, why, why_len);
	if (r)
		return r;
	if (bn_config_find_watch(c, id))
		return refuse(why, why_len, EEXIST, "watch ID %u is in use on this queue", id);
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		if (c->watches[i].active)
			continue;
		c->watches[i] = (struct bn_watch){ .active = 1, .id = id, .dev = dev,
						   .start = start, .end = end };
		return (int)i;
	}
	return refuse(why, why_len, ENOSPC, "this queue has %d watches already", BN_WATCHES_MAX);
}

int bn_config_remove_watch(struct bn_config *c, __u32 id, char *why, size_t why_len)
{
	struct bn_watch *w = bn_config_find_watch(c, id);

	if (!w)
		return refuse(why, why_len, ENOENT, "no watch with ID %u", id);
	*w = (struct bn_watch){ .end = UINT64_MAX };
	return 0;
}

int bn_config_set_filter(struct bn_config *c, const struct watch_notification_type_filter *f,
			 __u32 nr, char *why, size_t why_len)
{
	__u32 i, n = 0;
	int r;

	r = bn_filter_check(f, nr, why, why_len);
	if (r)
		return r;
	memset(c->filters, 0, sizeof(c->filters));
	for (i = 0; i < nr; i++)
		if (f[i].type < BLOCK_NOTIFY_WATCH_TYPE__NR)
			c->filters[n++] = f[i];
	c->filter_on = nr > 0;
	c->nr_filters = n;
	return 0;
}

unsigned int bn_fanout(const struct bn_config *c, const struct block_notification *ev, size_t len,
		       bn_emit_fn *emit, void *ctx)
{
	struct block_notification rec;
	unsigned int i, n = 0;
	__u32 info;

	if (len < BLOCK_NOTIFICATION_SIZE_V0 || len > sizeof(rec))
		return 0;
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		if (!bn_watch_takes(c, i, ev, &info))
			continue;
		memcpy(&rec, ev, len);
		rec.watch.info = (info & ~WATCH_INFO_LENGTH) | (__u32)len;
		n += emit(ctx, &rec, len);
	}
	return n;
}
