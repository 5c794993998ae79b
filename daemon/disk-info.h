/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who a disk is, for the outputs' labels and fields: its kernel name,
 * diskseq, serial, WWN, model and /dev/disk/by-id link, from libblknotify's
 * device cache (blknotify_device(3): udev's database, else sysfs).  The
 * cache makes a snapshot once per disk; a record costs a cache hit (a table
 * lookup and one read of the disk's diskseq), never a udev or sysfs walk.
 */
#ifndef BLKNOTIFYD_DISK_INFO_H
#define BLKNOTIFYD_DISK_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct blknotify_device;
struct blknotify_device_cache;

/*
 * A disk's identity.  The strings are "" when unknown (a loop device has no
 * serial); they belong to the snapshot in ref (or to the caller, in tests)
 * and live until disk_identity_put().
 */
struct disk_identity {
	__u64 dev;
	__u64 diskseq;			/* 0: the kernel has none, or the disk is gone */
	const char *name;		/* kernel name; NULL: not known ("MAJ:MIN" is used) */
	const char *serial, *wwn, *model, *by_id;
	struct blknotify_device *ref;
};

/* Look dev up in c; a disk that is gone gives its number only.  Returns 0 or -ENODEV. */
int disk_identity_get(struct blknotify_device_cache *c, __u64 dev, struct disk_identity *id);
void disk_identity_put(struct disk_identity *id);
/* Whether dev is the disk with this diskseq now (0: any disk with that number). */
bool disk_identity_current(struct blknotify_device_cache *c, __u64 dev, __u64 diskseq);

/* The name for labels and fields: id->name, or "MAJ:MIN" in buf. */
const char *disk_identity_name(const struct disk_identity *id, char *buf, size_t len);
/* Copy s into buf (len bytes), control characters as '?': a serial is the device's to choose. */
void disk_identity_copy(char *buf, size_t len, const char *s);

/* name, or value in decimal in buf when name is NULL (a subtype or op newer than us). */
const char *name_or_number(const char *name, unsigned int value, char *buf, size_t len);

#endif /* BLKNOTIFYD_DISK_INFO_H */
