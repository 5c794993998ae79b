/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libblknotify: block-layer error records for monitoring processes.
 *
 * The calls mirror the kernel watch queue the records were proposed for:
 *
 *	pipe2(O_NOTIFICATION_PIPE)	blknotify_queue_new()
 *	IOC_WATCH_QUEUE_SET_SIZE	blknotify_queue_set_size()
 *	IOC_WATCH_QUEUE_SET_FILTER	blknotify_queue_set_filter()
 *	watch_devices(fd, id)		blknotify_queue_watch_all()
 *					blknotify_queue_watch_device()
 *	poll() + read()			blknotify_queue_get_fd(), blknotify_queue_read()
 *	close()				blknotify_queue_free()
 *
 * Every queue gets every record that matches its watches and filter; a full
 * queue drops and counts, and delivers a loss record before its next record.
 * It never blocks the I/O path, the source, or any other queue.
 *
 * Functions that return int return 0 (or a non-negative value) on success and
 * a negative errno on failure.  The library never takes over a thread: the
 * caller polls the fd and calls blknotify_queue_read().  A queue is not
 * thread-safe; use one queue per thread or lock around it.
 */
#ifndef _BLKNOTIFY_BLKNOTIFY_H
#define _BLKNOTIFY_BLKNOTIFY_H

#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <blknotify/block_notify.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef BLKNOTIFY_API
#define BLKNOTIFY_API __attribute__((visibility("default")))
#endif

/* Where a queue's records come from. */
enum blknotify_source {
	BLKNOTIFY_SOURCE_AUTO		= 0,	/* bpf if this process may load it, else the daemon */
	BLKNOTIFY_SOURCE_BPF		= 1,	/* CO-RE program on block:block_rq_error */
	BLKNOTIFY_SOURCE_KMSG		= 2,	/* the kernel's request-error lines in /dev/kmsg; lossy */
	/*
	 * A kernel with CONFIG_BLK_NOTIFICATIONS (kernel/): the kernel posts
	 * records into a notification pipe.  Its size is capped at the
	 * kernel's 512 notes; adding watches needs CAP_SYS_ADMIN; watches on
	 * partitions, or two on one disk, become one kernel watch on every
	 * device filtered in the library.
	 */
	BLKNOTIFY_SOURCE_WATCH_QUEUE	= 3,
	BLKNOTIFY_SOURCE_DAEMON		= 4,	/* blknotifyd over its Unix socket */
};

/* blknotify_queue_opts.flags */
enum {
	/* bpf: attach to block:block_rq_complete (error != 0 tested in the
	 * kernel) even where block:block_rq_error exists.  Costs every
	 * successful completion a program run; for tests and old kernels. */
	BLKNOTIFY_QUEUE_BPF_COMPLETE	= 1U << 0,
	/* kmsg: start at the beginning of the kernel log, not its end. */
	BLKNOTIFY_QUEUE_KMSG_REPLAY	= 1U << 1,
	/* bpf: also report bios that bio-based devices (device-mapper, md,
	 * zram, pmem, ...) fail without a failed request (dm-integrity,
	 * dm-thin out of space, dm-flakey, a failed md array), as records of
	 * that device.  Runs a program on every bio completion (block:
	 * block_bio_complete); see libblknotify(3) for its cost. */
	BLKNOTIFY_QUEUE_BPF_BIO		= 1U << 2,
	/* bpf: read the NVMe status of every NVMe completion (one program run
	 * each, that returns at once for a successful one), so that a failed
	 * NVMe request's record carries the device's status.  Without it NVMe
	 * records carry only what the retry hook saw (docs/transport-detail.md). */
	BLKNOTIFY_QUEUE_BPF_NVME_STATUS	= 1U << 8,
	/* bpf: no reconciliation with ftrace (a tracefs instance per queue that
	 * counts the errors the kernel runs no BPF program for, reported as
	 * loss; see libblknotify(3)).  For benchmarks, and where tracefs
	 * instances are unwanted; such errors are then not counted. */
	BLKNOTIFY_QUEUE_BPF_NO_RECONCILE = 1U << 4,
};

/*
 * Options for blknotify_queue_new().  Declare with BLKNOTIFY_OPTS() so that
 * sz is set and every field you do not name is zero.  The library accepts
 * older, smaller structures and rejects non-zero bytes past the fields it
 * knows (-EINVAL).
 */
struct blknotify_queue_opts {
	size_t sz;			/* sizeof(struct blknotify_queue_opts) */
	enum blknotify_source source;	/* default BLKNOTIFY_SOURCE_AUTO */
	unsigned int flags;		/* BLKNOTIFY_QUEUE_* */
	const char *daemon_socket;	/* NULL: BLKNOTIFY_DAEMON_SOCKET */
	/*
	 * bpf: a bpffs directory (for example BLKNOTIFY_BPF_PIN_PATH) where the
	 * queue is pinned, so that it outlives this process: the program stays
	 * attached and keeps queueing (and counting loss) after
	 * blknotify_queue_free() or a crash, and the next queue opened with
	 * the same path takes it over and reads what was queued meanwhile.
	 * The size and attach point are those it was created with.  Remove
	 * the directory (rm -r) to detach it.  For blknotifyd; NULL: none.
	 */
	const char *bpf_pin_path;
	/*
	 * Slow I/O (off when both are 0): a request that completes without
	 * error but takes at least slow_threshold_ns from issue to completion,
	 * or at least slow_relative times its disk's median latency (2 or
	 * more; judged after BLKNOTIFY_SLOW_WARMUP completions of that disk),
	 * gives a NOTIFY_BLOCK_SLOW record carrying latency_ns.  Needs a
	 * per-request hook: the bpf source runs a program on every request's
	 * issue and completion while this is on (see libblknotify(3) for the
	 * cost); kmsg and watch_queue have none and fail with -EOPNOTSUPP;
	 * daemon: what the daemon's configuration detects (blknotifyd.conf(5)),
	 * none unless one of these is set, and with only slow_threshold_ns
	 * those at least that slow.
	 */
	__u64 slow_threshold_ns;
	unsigned int slow_relative;
	size_t :0;
};
#define blknotify_queue_opts__last_field slow_relative

/* Completions of a disk before slow_relative judges its requests. */
#define BLKNOTIFY_SLOW_WARMUP	64

#define BLKNOTIFY_OPTS(TYPE, NAME, ...)					\
	struct TYPE NAME = ({						\
		memset(&NAME, 0, sizeof(struct TYPE));			\
		(struct TYPE) {						\
			.sz = sizeof(struct TYPE),			\
			__VA_ARGS__					\
		};							\
	})

#define BLKNOTIFY_DAEMON_SOCKET	"/run/blknotify/blknotifyd.sock"
#define BLKNOTIFY_BPF_PIN_PATH	"/sys/fs/bpf/blknotify"

/* Queue sizes, in records. */
#define BLKNOTIFY_QUEUE_SIZE_DEFAULT	4096
#define BLKNOTIFY_QUEUE_SIZE_MAX	(1U << 20)
/* Watches per queue, and type filters per filter (as the kernel's). */
#define BLKNOTIFY_QUEUE_WATCHES_MAX	16
#define BLKNOTIFY_FILTERS_MAX		16

struct blknotify_queue;

/*
 * Open a queue.  No records arrive until a watch is added.
 * Returns 0 and sets *ret, or a negative errno:
 *   -EINVAL	ret is NULL, or bad options (unknown source or flags, unknown
 *		non-zero bytes past the fields this library knows)
 *   -ENAMETOOLONG daemon_socket is longer than a socket address holds
 *   -ENOMEM	out of memory
 *   -EMFILE, -ENFILE	no file descriptor left for the queue's epoll fd
 * Nothing is started here: the source's own errors (-EPERM when "auto" found
 * neither the privilege to load BPF nor the daemon, for one) come from the
 * first watch, explained by blknotify_queue_get_error().
 */
BLKNOTIFY_API int blknotify_queue_new(struct blknotify_queue **ret,
				      const struct blknotify_queue_opts *opts);

/* Close the queue, remove its watches and free it.  Accepts NULL.  Returns NULL. */
BLKNOTIFY_API struct blknotify_queue *blknotify_queue_free(struct blknotify_queue *q);

/*
 * Bound the queue to nr_records records (1 .. BLKNOTIFY_QUEUE_SIZE_MAX;
 * default BLKNOTIFY_QUEUE_SIZE_DEFAULT).  Only before the first watch:
 * -EBUSY after.  The kmsg source has no queue of its own (the kernel log
 * buffer is its queue); it accepts and ignores the size.
 */
BLKNOTIFY_API int blknotify_queue_set_size(struct blknotify_queue *q, unsigned int nr_records);

/* The size in effect, in records. */
BLKNOTIFY_API unsigned int blknotify_queue_get_size(const struct blknotify_queue *q);

/*
 * Admit only records that match one of filter's type filters, with the
 * meaning of IOC_WATCH_QUEUE_SET_FILTER: a record passes when, for some
 * filter, type == record type, bit (subtype) is set in subtype_filter[], and
 * (info & info_mask) == info_filter, where info includes the watch ID.
 * NULL removes the filter (everything passes).  Loss records always pass.
 * -EINVAL: nr_filters is 0 or above BLKNOTIFY_FILTERS_MAX, __reserved is not
 * zero, info_filter has bits outside info_mask, or info_mask covers
 * WATCH_INFO_LENGTH.  Types the library does not know are ignored.  May be
 * called at any time; it applies to records not yet queued.
 */
BLKNOTIFY_API int blknotify_queue_set_filter(struct blknotify_queue *q,
					     const struct watch_notification_filter *filter);

/*
 * Watch every block device; records carry id (0..255) in watch.info.
 * Starts the source on the first watch.  -EEXIST: id already in use on this
 * queue; -ENOSPC: BLKNOTIFY_QUEUE_WATCHES_MAX watches already.
 */
BLKNOTIFY_API int blknotify_queue_watch_all(struct blknotify_queue *q, unsigned int id);

/*
 * Watch one device, by its device number (st_rdev of its node).  A partition
 * is watched as the sectors of its whole disk that it covers; records still
 * name the whole disk and whole-disk sectors, as the kernel reports them.
 * -ENODEV: no such block device.  Otherwise as blknotify_queue_watch_all().
 */
BLKNOTIFY_API int blknotify_queue_watch_device(struct blknotify_queue *q, dev_t dev,
					       unsigned int id);

/* Remove the watch with this id.  -ENOENT: no such watch. */
BLKNOTIFY_API int blknotify_queue_remove_watch(struct blknotify_queue *q, unsigned int id);

/*
 * A file descriptor that poll()/epoll report readable (EPOLLIN) when
 * blknotify_queue_read() may have records.  Owned by the queue: do not close
 * or read it.  Valid from blknotify_queue_new() to blknotify_queue_free().
 */
BLKNOTIFY_API int blknotify_queue_get_fd(const struct blknotify_queue *q);

/*
 * Copy whole records into buf, as many as fit; never part of one.  Waits up
 * to timeout_ms for the first one (0: do not wait; -1: wait forever).
 * Returns the number of bytes copied, or:
 *   -EAGAIN	no record arrived in time
 *   -ENOBUFS	len is too small for the next record
 *		(BLOCK_NOTIFICATION_MAX_SIZE is always enough)
 *   -EINTR	a signal arrived while waiting
 *   -ENOTCONN	no watch has been added
 *   -EPIPE	the source went away (daemon stopped); records already
 *		queued were delivered first
 * Walk the result with BLOCK_NOTIFY_RECORD_OK() / BLOCK_NOTIFY_RECORD_NEXT().
 */
BLKNOTIFY_API ssize_t blknotify_queue_read(struct blknotify_queue *q, void *buf, size_t len,
					   int timeout_ms);

/* The source this queue uses (what "auto" resolved to). */
BLKNOTIFY_API enum blknotify_source blknotify_queue_get_source(const struct blknotify_queue *q);

/*
 * A human-readable account of the last failure to start the source, with
 * what to do about it (for example "loading BPF needs root or
 * CAP_BPF+CAP_PERFMON ..."), or NULL.  Valid until the next call on q.
 */
BLKNOTIFY_API const char *blknotify_queue_get_error(const struct blknotify_queue *q);

/* Names: "medium", "timeout", ...; "read", "write", ...; "bpf", "kmsg", ... */
BLKNOTIFY_API const char *blknotify_subtype_name(unsigned int subtype);
BLKNOTIFY_API int blknotify_subtype_from_name(const char *name);
/*
 * The class of a subtype in the numbering plan of <blknotify/block_notify.h>:
 * "error", "soft", "lifecycle" or "perf"; NULL for a number in no class.
 */
BLKNOTIFY_API const char *blknotify_subtype_class(unsigned int subtype);
/* The subtypes of a class named as above: 0, or -EINVAL for an unknown name. */
BLKNOTIFY_API int blknotify_subtype_class_range(const char *name, unsigned int *first,
						unsigned int *last);
BLKNOTIFY_API const char *blknotify_op_name(unsigned int op);
BLKNOTIFY_API const char *blknotify_source_name(enum blknotify_source source);
BLKNOTIFY_API int blknotify_source_from_name(const char *name);

/* The subtype for a negative errno the kernel reported (unknown: NOTIFY_BLOCK_ERROR_IO). */
BLKNOTIFY_API unsigned int blknotify_subtype_from_errno(int error);

/*
 * What the device said (a record's transport detail, lib/decode.c).  Each
 * name function returns NULL for a code it does not name; print the number.
 * SCSI: sense keys and ASC/ASCQ (SPC-6), the status byte (SAM-6), Linux's
 * host byte (DID_*).  NVMe: status as the record holds it (the CQE status
 * field without the phase bit): the code is status & BLKNOTIFY_NVME_SCT_SC.
 */
#define BLKNOTIFY_NVME_SCT_SC	0x07ff	/* status code type << 8 | status code */
#define BLKNOTIFY_NVME_CRD	0x1800	/* command retry delay */
#define BLKNOTIFY_NVME_MORE	0x2000
#define BLKNOTIFY_NVME_DNR	0x4000	/* do not retry */
BLKNOTIFY_API const char *blknotify_scsi_sense_key_name(unsigned int key);
BLKNOTIFY_API const char *blknotify_scsi_asc_name(unsigned int asc, unsigned int ascq);
BLKNOTIFY_API const char *blknotify_scsi_status_name(unsigned int status);
BLKNOTIFY_API const char *blknotify_scsi_host_byte_name(unsigned int host);
BLKNOTIFY_API const char *blknotify_nvme_status_name(unsigned int status);
/*
 * A record's device detail as text ("MEDIUM ERROR 11/00 unrecovered read
 * error (opcode 0x28), device sector 1004, retries 0", "NVMe 0x281
 * unrecovered read error DNR (opcode 0x02, command id 12)"), snprintf()
 * style: the length it needs, 0 when the record has no detail (shorter
 * than BLOCK_NOTIFICATION_SIZE_V2, or detail 0).
 */
BLKNOTIFY_API int blknotify_detail_format(const struct block_notification *r, size_t len,
					  char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* _BLKNOTIFY_BLKNOTIFY_H */
