/* SPDX-License-Identifier: (LGPL-2.1-or-later OR GPL-2.0 WITH Linux-syscall-note) */
/*
 * Block-layer error notification records.
 *
 * The layout of the watch-queue records proposed (never merged) for Linux as
 * WATCH_TYPE_BLOCK_NOTIFY.  Every blknotify source (BPF, /dev/kmsg, the native
 * kernel watch queue, the blknotifyd socket) delivers exactly these bytes.
 *
 * The first 24 bytes are the original layout.  Longer records append fields;
 * watch.info & WATCH_INFO_LENGTH is the length of each record, so a reader
 * skips what it does not know.  Reserved fields are zero.
 *
 * This header is usable from C, from BPF programs (with <linux/types.h>) and
 * from the kernel (the patch series in kernel/ carries the same definitions in
 * <linux/watch_queue.h> and <linux/block_notify.h>).
 */
#ifndef _BLKNOTIFY_BLOCK_NOTIFY_H
#define _BLKNOTIFY_BLOCK_NOTIFY_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * The kernel's watch-queue definitions (<linux/watch_queue.h>, Linux 5.8+).
 * Repeated here because that header pulls in <linux/fcntl.h>, which clashes
 * with glibc's <fcntl.h>; if it was included first, it is used as is.
 */
#ifndef _LINUX_WATCH_QUEUE_H
#define _LINUX_WATCH_QUEUE_H

#define IOC_WATCH_QUEUE_SET_SIZE	_IO('W', 0x60)	/* Set the size in pages */
#define IOC_WATCH_QUEUE_SET_FILTER	_IO('W', 0x61)	/* Set the filter */

enum watch_notification_type {
	WATCH_TYPE_META		= 0,	/* Special record */
	WATCH_TYPE_KEY_NOTIFY	= 1,	/* Key change event notification */
};

enum watch_meta_notification_subtype {
	WATCH_META_REMOVAL_NOTIFICATION	= 0,	/* Watched object was removed */
	WATCH_META_LOSS_NOTIFICATION	= 1,	/* Data loss occurred */
};

struct watch_notification {
	__u32			type:24;	/* enum watch_notification_type */
	__u32			subtype:8;	/* Type-specific subtype (filterable) */
	__u32			info;
#define WATCH_INFO_LENGTH	0x0000007f	/* Length of record */
#define WATCH_INFO_LENGTH__SHIFT 0
#define WATCH_INFO_ID		0x0000ff00	/* ID of watchpoint */
#define WATCH_INFO_ID__SHIFT	8
#define WATCH_INFO_TYPE_INFO	0xffff0000	/* Type-specific info */
#define WATCH_INFO_TYPE_INFO__SHIFT 16
};

struct watch_notification_type_filter {
	__u32	type;			/* Type to apply filter to */
	__u32	info_filter;		/* Filter on watch_notification::info */
	__u32	info_mask;		/* Mask of relevant bits in info_filter */
	__u32	subtype_filter[8];	/* Bitmask of subtypes to filter on */
};

struct watch_notification_filter {
	__u32	nr_filters;		/* Number of filters */
	__u32	__reserved;		/* Must be 0 */
	struct watch_notification_type_filter filters[];
};
#endif /* _LINUX_WATCH_QUEUE_H */

#ifndef WATCH_TYPE_BLOCK_NOTIFY
#define WATCH_TYPE_BLOCK_NOTIFY	2	/* enum watch_notification_type */
#endif
/* Highest watch type a blknotify filter recognises, plus one. */
#define BLOCK_NOTIFY_WATCH_TYPE__NR	3

/*
 * watch.subtype of a WATCH_TYPE_BLOCK_NOTIFY record.  The first ten keep the
 * original proposal's numbers; later ones are appended, never renumbered.  The
 * source maps the negative errno the kernel reports for the request (ABI),
 * never the kernel-internal blk_status_t value (not ABI).
 */
enum block_notification_type {
	NOTIFY_BLOCK_ERROR_TIMEOUT		  = 1,	/* -ETIMEDOUT  BLK_STS_TIMEOUT */
	NOTIFY_BLOCK_ERROR_NO_SPACE		  = 2,	/* -ENOSPC     BLK_STS_NOSPC */
	NOTIFY_BLOCK_ERROR_RECOVERABLE_TRANSPORT  = 3,	/* -ENOLINK    BLK_STS_TRANSPORT */
	NOTIFY_BLOCK_ERROR_CRITICAL_TARGET	  = 4,	/* -EREMOTEIO  BLK_STS_TARGET */
	NOTIFY_BLOCK_ERROR_CRITICAL_NEXUS	  = 5,	/* -EBADE      BLK_STS_RESV_CONFLICT */
	NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM	  = 6,	/* -ENODATA    BLK_STS_MEDIUM */
	NOTIFY_BLOCK_ERROR_PROTECTION		  = 7,	/* -EILSEQ     BLK_STS_PROTECTION */
	NOTIFY_BLOCK_ERROR_KERNEL_RESOURCE	  = 8,	/* -ENOMEM     BLK_STS_RESOURCE */
	NOTIFY_BLOCK_ERROR_DEVICE_RESOURCE	  = 9,	/* -EBUSY      BLK_STS_DEV_RESOURCE */
	NOTIFY_BLOCK_ERROR_IO			  = 10,	/* -EIO        BLK_STS_IOERR, and any unknown errno */
	/* Appended: statuses the original proposal did not name. */
	NOTIFY_BLOCK_ERROR_NOT_SUPPORTED	  = 11,	/* -EOPNOTSUPP BLK_STS_NOTSUPP */
	NOTIFY_BLOCK_ERROR_AGAIN		  = 12,	/* -EAGAIN     BLK_STS_AGAIN */
	NOTIFY_BLOCK_ERROR_OFFLINE		  = 13,	/* -ENODEV     BLK_STS_OFFLINE */
	NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE	  = 14,	/* -ETOOMANYREFS BLK_STS_ZONE_OPEN_RESOURCE */
	NOTIFY_BLOCK_ERROR_ZONE_ACTIVE_RESOURCE	  = 15,	/* -EOVERFLOW  BLK_STS_ZONE_ACTIVE_RESOURCE */
	NOTIFY_BLOCK_ERROR_DURATION_LIMIT	  = 16,	/* -ETIME      BLK_STS_DURATION_LIMIT */
	NOTIFY_BLOCK_ERROR_INVALID		  = 17,	/* -EINVAL     BLK_STS_INVAL */
	/* 18-31: reserved for errors the block layer adds later. */

	/*
	 * 32-47: device-level soft events.  The request has not failed (yet):
	 * the device failed a command that the kernel retries, or corrected an
	 * error itself.  error is 0 or the status the retried command got.
	 */
	NOTIFY_BLOCK_SOFT_RETRY			  = 32,	/* the device failed a command; the kernel retries it */
	NOTIFY_BLOCK_SOFT_RECOVERED		  = 33,	/* the device reported a recovered error */
	NOTIFY_BLOCK_SOFT_RETRY_SUCCEEDED	  = 34,	/* a retried request completed; retries says how often */

	/*
	 * 48-63: lifecycle of the disk.  sector, nr_sectors, op and error are
	 * zero unless said otherwise; time_ns is when the source learnt of it.
	 * Every watch on the disk takes them, a partition's too, whatever its
	 * sector range; records are 72 bytes (BLOCK_NOTIFICATION_SIZE_V2).
	 *
	 * Sources.  The bpf and kmsg sources read the kernel's uevents (add,
	 * remove, change with DISK_RO=, RESIZE=1, DISK_MEDIA_CHANGE=1; sysfs
	 * for the new size) on the kernel's netlink group: no udevd needed.
	 * DEAD (blk_mark_disk_dead(): NVMe, device-mapper, xen, rbd, mtip32xx
	 * call it; SCSI does not) and READ_ONLY_* by BLKROSET come from BPF
	 * hooks, where the kernel lets them load.  The watch_queue source's
	 * kernel posts them itself.
	 *
	 * Ordering against error records of the same disk.  Guaranteed:
	 * REMOVED comes after every error of the disk's I/O (del_gendisk()
	 * drains the disk before the kernel sends the uevent) and nothing of
	 * that disk follows it; DEAD (posted by the kernel) comes before the
	 * errors of the I/O it fails.  Not guaranteed: ADDED before errors of
	 * the new disk's partition scan (the kernel sends the add uevent after
	 * it), and the place of ADDED, CAPACITY_CHANGE, MEDIA_CHANGE and
	 * READ_ONLY_* among errors that complete within the time the reader
	 * takes to read the uevent (uevent records are stamped when read, and
	 * merged with the errors by time).  Across disks: by time_ns, as above.
	 * Lost uevents (socket overflow) are a loss record, then what sysfs
	 * shows changed meanwhile (added, removed, capacity) is reported.
	 */
	NOTIFY_BLOCK_DEVICE_ADDED		  = 48,	/* the disk appeared */
	NOTIFY_BLOCK_DEVICE_REMOVED		  = 49,	/* the disk went away */
	NOTIFY_BLOCK_DEVICE_DEAD		  = 50,	/* marked dead (surprise removal, I/O may be outstanding) */
	NOTIFY_BLOCK_MEDIA_CHANGE		  = 51,	/* removable media changed */
	NOTIFY_BLOCK_CAPACITY_CHANGE		  = 52,	/* sector: new capacity; old_capacity: the old one (512-byte sectors) */
	NOTIFY_BLOCK_READ_ONLY_SET		  = 53,	/* the disk became read-only */
	NOTIFY_BLOCK_READ_ONLY_CLEARED		  = 54,	/* the disk became writable */

	/* 64-79: performance. */
	NOTIFY_BLOCK_SLOW			  = 64,	/* completed without error, but late: latency_ns */
};

/* The classes of subtypes (the numbering plan above), for filters and names. */
#define NOTIFY_BLOCK_CLASS_ERROR_FIRST		1
#define NOTIFY_BLOCK_CLASS_ERROR_LAST		31
#define NOTIFY_BLOCK_CLASS_SOFT_FIRST		32
#define NOTIFY_BLOCK_CLASS_SOFT_LAST		47
#define NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST	48
#define NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST	63
#define NOTIFY_BLOCK_CLASS_PERF_FIRST		64
#define NOTIFY_BLOCK_CLASS_PERF_LAST		79

/*
 * block_notification.op: the request's operation.  These are blknotify's
 * own values (ABI).  READ through WRITE_ZEROES and DRV_IN/DRV_OUT equal the
 * kernel's REQ_OP_* numbers; the zone operations do not (the kernel has
 * renumbered them: 6.12 has ZONE_OPEN = 11 ... ZONE_RESET_ALL = 19), so
 * every source translates rather than copies.
 */
enum block_notification_op {
	BLOCK_NOTIFY_OP_READ		= 0,
	BLOCK_NOTIFY_OP_WRITE		= 1,
	BLOCK_NOTIFY_OP_FLUSH		= 2,
	BLOCK_NOTIFY_OP_DISCARD		= 3,
	BLOCK_NOTIFY_OP_SECURE_ERASE	= 5,
	BLOCK_NOTIFY_OP_ZONE_APPEND	= 7,
	BLOCK_NOTIFY_OP_WRITE_ZEROES	= 9,
	BLOCK_NOTIFY_OP_ZONE_OPEN	= 10,
	BLOCK_NOTIFY_OP_ZONE_CLOSE	= 11,
	BLOCK_NOTIFY_OP_ZONE_FINISH	= 12,
	BLOCK_NOTIFY_OP_ZONE_RESET	= 13,
	BLOCK_NOTIFY_OP_ZONE_RESET_ALL	= 15,
	BLOCK_NOTIFY_OP_DRV_IN		= 34,
	BLOCK_NOTIFY_OP_DRV_OUT		= 35,
	/*
	 * The source saw the error but cannot name the operation: the
	 * tracepoint's "rwbs" string, which the BPF source reads, spells
	 * write-zeroes, zone and driver-private operations all as 'N'.
	 */
	BLOCK_NOTIFY_OP_OTHER		= 0xffff,
};

/* block_notification.flags: request flags that qualify the operation. */
#define BLOCK_NOTIFY_F_PREFLUSH	(1U << 0)	/* REQ_PREFLUSH */
#define BLOCK_NOTIFY_F_FUA	(1U << 1)	/* REQ_FUA */
#define BLOCK_NOTIFY_F_RAHEAD	(1U << 2)	/* REQ_RAHEAD */
#define BLOCK_NOTIFY_F_SYNC	(1U << 3)	/* REQ_SYNC */
#define BLOCK_NOTIFY_F_META	(1U << 4)	/* REQ_META */

/*
 * block_notification.transport: which transport filled the device detail
 * (status, command_id, sense_key, asc, ascq, opcode, device_lba).  NONE:
 * the record carries no device detail (the transport is not one blknotify
 * reads, or this kernel has no hook for it; the source logs why once).
 */
#define BLOCK_NOTIFY_TRANSPORT_NONE	0
#define BLOCK_NOTIFY_TRANSPORT_SCSI	1	/* status = host_byte << 8 | SCSI status byte */
#define BLOCK_NOTIFY_TRANSPORT_NVME	2	/* status = NVMe CQE status field >> 1 (SC, SCT, CRD, M, DNR) */

/* block_notification.detail: which device-detail fields are valid. */
#define BLOCK_NOTIFY_D_STATUS	(1U << 0)	/* status (and command_id, opcode) */
#define BLOCK_NOTIFY_D_SENSE	(1U << 1)	/* sense_key, asc, ascq */
#define BLOCK_NOTIFY_D_LBA	(1U << 2)	/* device_lba */
#define BLOCK_NOTIFY_D_RETRIES	(1U << 3)	/* retries is known (it may be 0) */

/* Clock of block_notification.time_ns (a clockid_t for clock_gettime()). */
#define BLOCK_NOTIFY_CLOCK	1	/* CLOCK_MONOTONIC */

/*
 * A failed block request.
 * - watch.type = WATCH_TYPE_BLOCK_NOTIFY
 * - watch.subtype = enum block_notification_type
 * - watch.info & WATCH_INFO_LENGTH = sizeof the record (24, 48 or 72)
 * - watch.info & WATCH_INFO_ID = watch ID << WATCH_INFO_ID__SHIFT
 */
struct block_notification {
	struct watch_notification watch;
	__u64	dev;		/* whole disk, encoded as stat()'s st_rdev: major()/minor() work */
	__u64	sector;		/* first failed 512-byte sector, relative to the whole disk */
	/* Extension, present when the length is >= BLOCK_NOTIFICATION_SIZE_V1. */
	__u64	time_ns;	/* when the error completed, on BLOCK_NOTIFY_CLOCK */
	__u32	nr_sectors;	/* 512-byte sectors the error covers (0: unknown) */
	__s32	error;		/* negative errno the kernel reported */
	__u16	op;		/* enum block_notification_op */
	__u16	flags;		/* BLOCK_NOTIFY_F_* */
	__u16	retries;	/* times the kernel retried the command (valid with BLOCK_NOTIFY_D_RETRIES) */
	__u8	transport;	/* BLOCK_NOTIFY_TRANSPORT_* */
	__u8	detail;		/* BLOCK_NOTIFY_D_*: which of the device detail is valid */
	/* Extension, present when the length is >= BLOCK_NOTIFICATION_SIZE_V2. */
	__u16	status;		/* the device's status, as the transport defines it (see transport) */
	__u16	command_id;	/* NVMe command identifier; 0 for SCSI */
	__u8	sense_key;	/* SCSI sense key (SPC-6 4.5.6) */
	__u8	asc;		/* SCSI additional sense code */
	__u8	ascq;		/* SCSI additional sense code qualifier */
	__u8	opcode;		/* the failed command's opcode (SCSI CDB byte 0, NVMe opcode) */
	__u64	device_lba;	/* the failing LBA the device reported, in 512-byte sectors of the whole disk */
	union {
		__u64	latency_ns;	/* NOTIFY_BLOCK_SLOW: issue to completion */
		__u64	old_capacity;	/* NOTIFY_BLOCK_CAPACITY_CHANGE: 512-byte sectors before */
		__u64	value;		/* zero for other subtypes */
	};
};

#define BLOCK_NOTIFICATION_SIZE_V0	24	/* the original proposal */
#define BLOCK_NOTIFICATION_SIZE_V1	48	/* + time, nr_sectors, error, op, flags */
#define BLOCK_NOTIFICATION_SIZE_V2	72	/* + retries, transport, device detail, value */

/* old_capacity of a NOTIFY_BLOCK_CAPACITY_CHANGE when the source did not know the old size. */
#define BLOCK_NOTIFY_CAPACITY_UNKNOWN	(~0ULL)

/*
 * Loss.  The kernel's own watch queue marks loss with an 8-byte
 * WATCH_TYPE_META / WATCH_META_LOSS_NOTIFICATION record that carries no count;
 * blknotify appends the count.  A loss record is delivered in order, before
 * the next record that was not lost, whatever the queue's filter says.
 * - watch.type = WATCH_TYPE_META
 * - watch.subtype = WATCH_META_LOSS_NOTIFICATION
 * - watch.info & WATCH_INFO_LENGTH = 8 (count unknown, at least one) or 16
 */
struct block_notification_loss {
	struct watch_notification watch;
	__u64	nr_lost;	/* records lost since the previous loss record */
};

#define BLOCK_NOTIFICATION_LOSS_SIZE	16

/* The longest record any source may deliver (the watch queue's limit). */
#define BLOCK_NOTIFICATION_MAX_SIZE	WATCH_INFO_LENGTH

/* Watch IDs are 8 bits, as in the kernel's watch queue. */
#define BLOCK_NOTIFY_WATCH_ID_MAX	255

/*
 * Walking a buffer of records, as read from a queue:
 *
 *	for (n = buf; BLOCK_NOTIFY_RECORD_OK(n, len);
 *	     n = BLOCK_NOTIFY_RECORD_NEXT(n, len))
 *		...
 *
 * A record is OK when its header fits, its length is at least the header's
 * and it fits in what is left of the buffer.
 */
#define BLOCK_NOTIFY_RECORD_LEN(n) \
	((__u32)((const struct watch_notification *)(n))->info & WATCH_INFO_LENGTH)
#define BLOCK_NOTIFY_RECORD_OK(n, len) \
	((long)(len) >= (long)sizeof(struct watch_notification) && \
	 BLOCK_NOTIFY_RECORD_LEN(n) >= sizeof(struct watch_notification) && \
	 (long)BLOCK_NOTIFY_RECORD_LEN(n) <= (long)(len))
#define BLOCK_NOTIFY_RECORD_NEXT(n, len) \
	((len) -= BLOCK_NOTIFY_RECORD_LEN(n), \
	 (const struct watch_notification *)((const char *)(n) + \
					     BLOCK_NOTIFY_RECORD_LEN(n)))

#endif /* _BLKNOTIFY_BLOCK_NOTIFY_H */
