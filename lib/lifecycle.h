/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lifecycle records (NOTIFY_BLOCK_DEVICE_ADDED ... READ_ONLY_CLEARED) from
 * the kernel's uevents, for the sources whose kernel does not post them
 * itself (bpf, kmsg).  Private to the library.
 *
 * The monitor is a NETLINK_KOBJECT_UEVENT socket bound to the kernel's
 * multicast group (1), not udev's (2), and not sd_device_monitor: the
 * public sd_device_monitor_new() of libsystemd (252 here, Debian 12)
 * listens to udev's group only, so it sees nothing where systemd-udevd
 * does not run (containers, initramfs, this project's test
 * machines) and sees everything only after udev's rules ran (seconds, under
 * load), while errors are stamped when they complete.  The kernel's group
 * is what udevd itself reads.  Only messages the kernel sent (sender port
 * 0, credentials uid 0) are used.  What the kernel's message does not say
 * (the new capacity) is read from sysfs.
 *
 * Which uevent makes which record (whole disks only, DEVTYPE=disk):
 *   add                      ADDED
 *   remove                   REMOVED
 *   change DISK_RO=1 / =0    READ_ONLY_SET / READ_ONLY_CLEARED (set_disk_ro())
 *   change (other)           /sys/block/X/ro differs from the cached state:
 *                            the same (loop suppresses its uevents while it
 *                            is configured, so losetup -r sends a plain change)
 *   change DISK_MEDIA_CHANGE=1  MEDIA_CHANGE
 *   change (any, RESIZE=1 or not): the capacity in sysfs differs from the
 *                            cached one: CAPACITY_CHANGE, old and new
 * "Marked dead" and read-only by BLKROSET (blockdev --setro) send no uevent:
 * the BPF program's hooks post those (bpf/lifecycle.bpf.h).
 *
 * Bounds.  The backlog holds LIFECYCLE_BACKLOG_MAX events taken from the
 * socket and not yet read; while it is full the socket is not read, so the
 * kernel's socket buffer (LIFECYCLE_RCVBUF) is the rest of the bound, and
 * its overflow (ENOBUFS) is loss: one loss record "at least 1" (the kernel
 * does not say how many), and the disks are read again from sysfs so that
 * what changed meanwhile is reported (see resync()).  The cache of disk
 * sizes holds LIFECYCLE_DISKS_MAX disks; a disk past it gets
 * old_capacity = BLOCK_NOTIFY_CAPACITY_UNKNOWN (block_notify.h), counted and logged once.
 */
#ifndef BLKNOTIFY_LIFECYCLE_H
#define BLKNOTIFY_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct blknotify_queue;

#define LIFECYCLE_BACKLOG_MAX	256
#define LIFECYCLE_DISKS_MAX	1024
#define LIFECYCLE_RCVBUF	(4 << 20)

/*
 * Open the monitor for q and fill the disk cache (at the source's start).
 * Never fails the queue: without it, the queue delivers no lifecycle
 * records and the reason is logged on stderr once.  q->lifecycle is NULL then.
 */
void lifecycle_start(struct blknotify_queue *q);
void lifecycle_stop(struct blknotify_queue *q);
/* Tests: shrink the socket's buffer (bytes) so that it overflows. */
int lifecycle_set_rcvbuf(struct blknotify_queue *q, int bytes);

/*
 * A read-only record the kernel posted (the BPF program's BLKROSET hook):
 * the cache learns the state, so that the next uevent does not report it again.
 */
struct watch_notification;
void lifecycle_note(struct blknotify_queue *q, const struct watch_notification *n);

/* Take what the socket has into the backlog (non-blocking, bounded). */
void lifecycle_poll(struct blknotify_queue *q);

/* Whether an event received at or before t_ns (CLOCK_MONOTONIC) waits to be read. */
bool lifecycle_due(const struct blknotify_queue *q, __u64 t_ns);

/*
 * Copy into buf the records of every event received at or before t_ns, as
 * the queue's watches and filter admit them (queue_fanout()), in order,
 * while they fit.  Returns bytes copied (0: none due, or none admitted),
 * -ENOBUFS when the first record due does not fit.
 */
ssize_t lifecycle_read_before(struct blknotify_queue *q, __u64 t_ns, void *buf, size_t len);

#endif /* BLKNOTIFY_LIFECYCLE_H */
