/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Access follows the disk, not its number.  A client without privilege was
 * allowed to watch one disk; when that disk goes away, or its number comes
 * to name another disk (a loop device detached and attached to another
 * file: the kernel gives each new disk a new diskseq), the watch ends with
 * a removal record (struct bnd_watch_removal) and the client may ask again,
 * with its access checked again.
 *
 * With a source that delivers lifecycle records (bpf, kmsg: lib/lifecycle.c),
 * every watch on a disk (any client's) ends at the disk's removal record:
 * the record first, then the end (-ENODEV), exactly once; a disk that is
 * merely gone from sysfs is left to that record, so that the records before
 * it (errors of its last I/O) are delivered too.
 *
 * When: before a record is delivered to such a watch (so no record of the
 * new disk ever reaches it, whatever the timing), and at each sweep (so a
 * quiet disk's change is noticed within a second).  Not from udev events:
 * they need systemd-udevd (absent in containers and on this project's test
 * machines; libsystemd 252's sd_device_monitor listens to udev's netlink
 * group only) and can be dropped under load, while the check at delivery
 * cannot be missed.  Kernels without /sys/block/X/diskseq (before 5.15)
 * are checked for disks that went away only.
 */
#ifndef BLKNOTIFYD_DEVICES_H
#define BLKNOTIFYD_DEVICES_H

#include "manager.h"

/* The diskseq of disk dev into *seq (0: the kernel has none).  -ENODEV: no such disk. */
int device_diskseq(__u64 dev, __u64 *seq);
/* A new round: disks are read again when next asked about. */
void devices_forget(struct manager *m);
/* Whether watch j of c still watches the disk it was allowed; if not, it is ended. */
bool device_watch_valid(struct manager *m, struct client *c, unsigned int j);
/* Check every client's watches now (the sweep). */
void devices_check(struct manager *m);

#endif /* BLKNOTIFYD_DEVICES_H */
