/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What sysfs says about a disk, for the outputs' labels and fields: its
 * kernel name and its disk sequence number.  Read once per disk when an
 * output first sees it, never per record.
 */
#ifndef BLKNOTIFYD_DISK_INFO_H
#define BLKNOTIFYD_DISK_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Read attr of the disk below sysfs ("/sys") into buf, first line.  Returns 0 or -errno. */
int disk_attr(const char *sysfs, __u64 dev, const char *attr, char *buf, size_t len);
/* The kernel name ("sda"), or "MAJ:MIN" when sysfs does not say. */
void disk_name(const char *sysfs, __u64 dev, char *buf, size_t len);
/* The disk sequence number, 0 when the kernel has none or the disk is gone. */
__u64 disk_diskseq(const char *sysfs, __u64 dev);
/* Whether the disk exists now. */
bool disk_present(const char *sysfs, __u64 dev);

/* name, or value in decimal in buf when name is NULL (a subtype or op newer than us). */
const char *name_or_number(const char *name, unsigned int value, char *buf, size_t len);

#endif /* BLKNOTIFYD_DISK_INFO_H */
