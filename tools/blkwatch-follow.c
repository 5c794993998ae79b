// SPDX-License-Identifier: LGPL-2.1-or-later
/* blkwatch --follow: see blkwatch-follow.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <blknotify/blknotify.h>
#include <blknotify/device.h>
#include "blkwatch-follow.h"

/* The disk's stable identity: its WWN, else its serial. */
static int identity_key(dev_t dev, char *key, size_t len)
{
	struct blknotify_device *d;
	const char *v = NULL;
	int r;

	r = blknotify_device_new_from_devnum(&d, dev);
	if (r < 0)
		return r;
	if (blknotify_device_get_wwn(d, &v) == 0 && v && *v)
		snprintf(key, len, "wwn %s", v);
	else if (blknotify_device_get_serial(d, &v) == 0 && v && *v)
		snprintf(key, len, "serial %s", v);
	else
		r = -ENOENT;
	blknotify_device_unref(d);
	return r;
}

int follow_init(struct follow *f, const dev_t *devs, unsigned int nr, unsigned int id,
		unsigned int *bad)
{
	unsigned int i;
	int r;

	memset(f, 0, sizeof(*f));
	if (nr > FOLLOW_MAX)
		return -E2BIG;
	for (i = 0; i < nr; i++) {
		f->d[i].id = id + i;
		f->d[i].dev = devs[i];
		r = identity_key(devs[i], f->d[i].key, sizeof(f->d[i].key));
		if (r < 0) {
			*bad = i;
			return r;
		}
	}
	f->nr = nr;
	/* An ID none of the devices has: the highest free one. */
	for (f->follow_id = BLOCK_NOTIFY_WATCH_ID_MAX; f->follow_id >= id && f->follow_id < id + nr;
	     f->follow_id--)
		;
	return 0;
}

int follow_setup(struct follow *f, struct blknotify_queue *q, const __u32 subtypes[8])
{
	struct {
		struct watch_notification_filter f;
		struct watch_notification_type_filter t[FOLLOW_MAX + 1];
	} filter = { .f.nr_filters = f->nr + 1 };
	bool any = false;
	unsigned int i;
	int r;

	for (i = 0; i < 8; i++)
		any |= subtypes[i] != 0;
	/* Each device's watch: the subtypes asked for; FOLLOW_ID's: "added" only. */
	for (i = 0; i < f->nr; i++) {
		filter.t[i].type = WATCH_TYPE_BLOCK_NOTIFY;
		filter.t[i].info_mask = WATCH_INFO_ID;
		filter.t[i].info_filter = f->d[i].id << WATCH_INFO_ID__SHIFT;
		if (any)
			memcpy(filter.t[i].subtype_filter, subtypes, sizeof(filter.t[i].subtype_filter));
		else
			memset(filter.t[i].subtype_filter, 0xff, sizeof(filter.t[i].subtype_filter));
		/* Its end is what following it means: always. */
		filter.t[i].subtype_filter[NOTIFY_BLOCK_DEVICE_REMOVED / 32] |=
			1U << (NOTIFY_BLOCK_DEVICE_REMOVED % 32);
	}
	filter.t[i].type = WATCH_TYPE_BLOCK_NOTIFY;
	filter.t[i].info_mask = WATCH_INFO_ID;
	filter.t[i].info_filter = f->follow_id << WATCH_INFO_ID__SHIFT;
	filter.t[i].subtype_filter[NOTIFY_BLOCK_DEVICE_ADDED / 32] = 1U << (NOTIFY_BLOCK_DEVICE_ADDED % 32);
	r = blknotify_queue_set_filter(q, &filter.f);
	if (r < 0)
		return r;
	for (i = 0; i < f->nr; i++) {
		r = blknotify_queue_watch_device(q, f->d[i].dev, f->d[i].id);
		if (r < 0)
			return r;
	}
	return blknotify_queue_watch_all(q, f->follow_id);
}

bool follow_record(struct follow *f, struct blknotify_queue *q, struct block_notification *n)
{
	unsigned int id = (n->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, i;
	char key[160];
	int r;

	if (n->watch.type != WATCH_TYPE_BLOCK_NOTIFY)
		return true;
	if (id == f->follow_id) {
		if (n->watch.subtype != NOTIFY_BLOCK_DEVICE_ADDED ||
		    identity_key((dev_t)n->dev, key, sizeof(key)) < 0)
			return false;
		for (i = 0; i < f->nr; i++) {
			if (f->d[i].dev || strcmp(f->d[i].key, key))
				continue;
			r = blknotify_queue_watch_device(q, (dev_t)n->dev, f->d[i].id);
			if (r < 0) {
				fprintf(stderr, "blkwatch: %s came back as %u:%u, but it cannot be "
					"watched: %s\n", f->d[i].key, major(n->dev), minor(n->dev),
					strerror(-r));
				return false;
			}
			f->d[i].dev = (dev_t)n->dev;
			n->watch.info = (n->watch.info & ~WATCH_INFO_ID) |
					f->d[i].id << WATCH_INFO_ID__SHIFT;
			return true;
		}
		return false;
	}
	if (n->watch.subtype != NOTIFY_BLOCK_DEVICE_REMOVED)
		return true;
	for (i = 0; i < f->nr; i++) {
		if (f->d[i].id != id || !f->d[i].dev)
			continue;
		/* Not by number any more: the next disk with it may be another. */
		blknotify_queue_remove_watch(q, id);
		f->d[i].dev = 0;
	}
	return true;
}
