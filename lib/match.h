/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Watch and filter matching, shared by the BPF program (which applies them in
 * the kernel) and the library (which applies them for the sources that
 * deliver unfiltered records: kmsg, and the daemon for its clients).  One
 * definition, so both places mean the same thing.
 *
 * Only fixed-width types and bounded loops: this file is compiled for BPF too.
 */
#ifndef BLKNOTIFY_MATCH_H
#define BLKNOTIFY_MATCH_H

#include <linux/types.h>
#include <asm-generic/errno.h>
#include <blknotify/block_notify.h>

#define BN_WATCHES_MAX	16	/* = BLKNOTIFY_QUEUE_WATCHES_MAX */
#define BN_FILTERS_MAX	16	/* = BLKNOTIFY_FILTERS_MAX */

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* A watch: every device (dev == 0) or one disk, optionally a sector range. */
struct bn_watch {
	__u32	active;
	__u32	id;		/* 0..255 */
	__u64	dev;		/* st_rdev encoding; 0: every device */
	__u64	start;		/* first sector watched (partition start) */
	__u64	end;		/* one past the last; ~0: to the end of the disk */
};

/*
 * What a queue admits.  filter_on == 0: no filter, everything passes.
 * Otherwise only filters[0 .. nr_filters) are consulted (types the library
 * does not know were dropped when the filter was set, as the kernel does).
 */
struct bn_config {
	struct bn_watch watches[BN_WATCHES_MAX];
	__u32	filter_on;
	__u32	nr_filters;
	struct watch_notification_type_filter filters[BN_FILTERS_MAX];
};

static __always_inline int bn_watch_match(const struct bn_watch *w, __u64 dev, __u64 sector)
{
	if (!w->active)
		return 0;
	if (w->dev && w->dev != dev)
		return 0;
	return sector >= w->start && sector < w->end;
}

/* IOC_WATCH_QUEUE_SET_FILTER semantics (kernel/watch_queue.c). */
static __always_inline int bn_filter_match(const struct bn_config *c, __u32 type,
					   __u32 subtype, __u32 info)
{
	__u32 i, word = (subtype & 0xff) >> 5, bit = 1U << (subtype & 31);

	if (!c->filter_on)
		return 1;
	for (i = 0; i < BN_FILTERS_MAX; i++) {
		const struct watch_notification_type_filter *f = &c->filters[i];

		if (i >= c->nr_filters)
			break;
		if (f->type == type && (f->subtype_filter[word] & bit) &&
		    (info & f->info_mask) == f->info_filter)
			return 1;
	}
	return 0;
}

/*
 * Whether watch i of c takes event ev, and the info word of the record it
 * gets: ev's, with the watch's ID in WATCH_INFO_ID (the length is left as
 * ev has it).  The per-watch step of every fan-out: the BPF program's, the
 * library's (bn_fanout()) and so the daemon's.
 */
static __always_inline int bn_watch_takes(const struct bn_config *c, __u32 i,
					  const struct block_notification *ev, __u32 *info)
{
	const struct bn_watch *w = &c->watches[i];
	/* A lifecycle record is about the whole disk: every watch on it takes it,
	 * a partition's too (its sector is no sector: a capacity, or 0). */
	__u64 sector = ev->watch.subtype >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST &&
		       ev->watch.subtype <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST ? w->start : ev->sector;

	if (!bn_watch_match(w, ev->dev, sector))
		return 0;
	*info = (ev->watch.info & ~WATCH_INFO_ID) | ((w->id & 0xff) << WATCH_INFO_ID__SHIFT);
	return bn_filter_match(c, ev->watch.type, ev->watch.subtype, *info);
}

/* A loss record for nr_lost records, the one way every source and the daemon make it. */
static __always_inline void bn_make_loss(struct block_notification_loss *l, __u64 nr_lost)
{
	l->watch.type = WATCH_TYPE_META;
	l->watch.subtype = WATCH_META_LOSS_NOTIFICATION;
	l->watch.info = sizeof(*l);
	l->nr_lost = nr_lost;
}

/* Whether n is a loss record (16 bytes with a count, or the 8-byte "some" form). */
static __always_inline int bn_is_loss(const struct watch_notification *n)
{
	return n->type == WATCH_TYPE_META && n->subtype == WATCH_META_LOSS_NOTIFICATION;
}

/* The count a loss record carries: the 8-byte form says "at least one". */
static __always_inline __u64 bn_loss_count(const struct watch_notification *n)
{
	if ((n->info & WATCH_INFO_LENGTH) >= sizeof(struct block_notification_loss))
		return ((const struct block_notification_loss *)n)->nr_lost;
	return 1;
}

/* Linux's internal dev_t (major << 20 | minor) to stat()'s encoding. */
static __always_inline __u64 bn_dev_from_kernel(__u32 kdev)
{
	__u64 major = kdev >> 20, minor = kdev & 0xfffff;

	return ((major & 0xfffff000ULL) << 32) | ((major & 0xfffULL) << 8) |
	       ((minor & 0xffffff00ULL) << 12) | (minor & 0xffULL);
}

/* The subtype for a negative errno (DESIGN.md table); unknown: IO. */
static __always_inline __u32 bn_subtype_from_errno(__s32 error)
{
	switch (-error) {
	case ETIMEDOUT:    return NOTIFY_BLOCK_ERROR_TIMEOUT;
	case ENOSPC:       return NOTIFY_BLOCK_ERROR_NO_SPACE;
	case ENOLINK:      return NOTIFY_BLOCK_ERROR_RECOVERABLE_TRANSPORT;
	case EREMOTEIO:    return NOTIFY_BLOCK_ERROR_CRITICAL_TARGET;
	case EBADE:        return NOTIFY_BLOCK_ERROR_CRITICAL_NEXUS;
	case ENODATA:      return NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	case EILSEQ:       return NOTIFY_BLOCK_ERROR_PROTECTION;
	case ENOMEM:       return NOTIFY_BLOCK_ERROR_KERNEL_RESOURCE;
	case EBUSY:        return NOTIFY_BLOCK_ERROR_DEVICE_RESOURCE;
	case EOPNOTSUPP:   return NOTIFY_BLOCK_ERROR_NOT_SUPPORTED;
	case EAGAIN:       return NOTIFY_BLOCK_ERROR_AGAIN;
	case ENODEV:       return NOTIFY_BLOCK_ERROR_OFFLINE;
	case ETOOMANYREFS: return NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE;
	case EOVERFLOW:    return NOTIFY_BLOCK_ERROR_ZONE_ACTIVE_RESOURCE;
	case ETIME:        return NOTIFY_BLOCK_ERROR_DURATION_LIMIT;
	case EINVAL:       return NOTIFY_BLOCK_ERROR_INVALID;
	default:           return NOTIFY_BLOCK_ERROR_IO;	/* EIO and anything unknown */
	}
}

#endif /* BLKNOTIFY_MATCH_H */
