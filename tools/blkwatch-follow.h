/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blkwatch --follow: a watch on a disk by its identity, not its number.
 *
 * At start each --device disk's stable identity is taken (its WWN, else its
 * serial: blknotify_device(3), udev's database or sysfs), so a device named
 * by /dev/disk/by-id/... or as sda is the same.  When the disk is removed
 * (its lifecycle record "removed"), its watch is removed too; when a disk
 * with that identity is added later (a watch of every device with its own
 * ID, FOLLOW_ID, passes only "added" records: the queue's filter says so),
 * the watch is set on it again with the same ID, and its "added" record is
 * printed under that ID.  Errors of the new disk between the kernel adding
 * it and blkwatch reading its "added" record are not seen (the watch is not
 * there yet).  A disk without WWN or serial cannot be followed: refused at
 * start.  --follow takes at most BN_FILTERS_MAX - 1 devices (one filter
 * each, and one for the added records).
 */
#ifndef BLKWATCH_FOLLOW_H
#define BLKWATCH_FOLLOW_H

#include <stdbool.h>
#include <sys/types.h>
#include <blknotify/block_notify.h>

struct blknotify_queue;

#define FOLLOW_MAX	15

struct follow {
	unsigned int nr;
	unsigned int follow_id;		/* the watch of every device, for "added" */
	struct {
		unsigned int id;
		dev_t dev;		/* 0: gone, waiting for its identity to come back */
		char key[160];		/* "wwn ..." or "serial ..." */
	} d[FOLLOW_MAX];
};

/* Take the identities of devs (watch IDs id, id + 1, ...); -ENOENT names the one without. */
int follow_init(struct follow *f, const dev_t *devs, unsigned int nr, unsigned int id,
		unsigned int *bad);

/*
 * Set the queue's filter (subtypes as --subtype gave them; all zero: every
 * subtype) and its watches: the devices, and the watch of every device.
 */
int follow_setup(struct follow *f, struct blknotify_queue *q, const __u32 subtypes[8]);

/*
 * Look at a record before it is printed: an "added" of FOLLOW_ID for a
 * followed identity sets its watch and becomes that watch's (true: print
 * it); another "added" of FOLLOW_ID is dropped (false); a "removed" of a
 * followed watch removes the watch.  n may be rewritten (its watch ID).
 */
bool follow_record(struct follow *f, struct blknotify_queue *q, struct block_notification *n);

#endif
