/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotifyd's Prometheus metrics: error counters keyed by disk, subtype
 * and operation, and the text exposition format (version 0.0.4) of them and
 * of the daemon's own counters.  Served by metrics-serve.c over HTTP and to
 * node_exporter's textfile collector.
 *
 * The label set is bounded: at most max_devices disks, each with at most
 * METRICS_SERIES_PER_DEVICE (subtype, op) pairs.  An error that finds no
 * room is counted in blknotify_errors_unlabelled_total instead, so the sum
 * stays exact.  A disk is keyed on its WWN when it has one (the same disk
 * unplugged and found again as another sdX keeps its series), else on its
 * device number and disk sequence number (diskseq: a loop device
 * reattached to another file is another disk).  Its labels (device,
 * devnum, diskseq, serial, wwn, model) are those it had when its first
 * error was counted.  One that is gone or replaced and had no error for
 * device_expiry_s is dropped, with its series.
 */
#ifndef BLKNOTIFYD_METRICS_H
#define BLKNOTIFYD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <blknotify/block_notify.h>
#include "disk-info.h"

#define METRICS_SERIES_PER_DEVICE	32
#define METRICS_MAX_DEVICES_DEFAULT	64
#define METRICS_MAX_DEVICES_MAX		4096
#define METRICS_DEVICE_EXPIRY_DEFAULT	3600	/* s */

/* What the rest of the daemon counts, for the exposition. */
struct handlers_stats;

struct metrics_daemon_stats {
	const char *source;			/* "bpf", ... */
	__u64 upstream_records;			/* records the source gave */
	__u64 upstream_lost;			/* records the source lost */
	__u64 client_queue_lost;		/* records lost to full client queues */
	__u64 delivered;			/* records sent to clients */
	unsigned int clients_connected;
	__u64 clients_refused;
	__u64 journal_entries;			/* one per error */
	__u64 journal_summaries;
	__u64 journal_lifecycle;		/* one per lifecycle record */
	__u64 journal_summarised;		/* errors counted in a summary */
	__u64 journal_failed;			/* entries journald did not take */
	__u64 textfile_failed;			/* textfile writes that failed */
	const struct handlers_stats *handlers;	/* handlers.h; NULL: handlers = no */
	bool history_on;			/* history.h: */
	__u64 history_rows, history_loss_rows;	/* rows committed */
	__u64 history_dropped;			/* records its queue had no room for */
	__u64 history_trimmed;			/* rows deleted by retention */
	__u64 history_commits, history_commit_failed;
};

struct metrics_series {
	__u16 op;
	__u8 subtype;
	__u64 count;
};

struct metrics_device {
	__u64 dev;
	__u64 diskseq;			/* 0: the kernel has none */
	char name[32];			/* kernel name, or "MAJ:MIN" */
	char serial[96], wwn[64], model[64];	/* "" when the disk has none */
	__u64 last_error_ns;		/* CLOCK_REALTIME */
	__u64 last_seen_ns;		/* CLOCK_MONOTONIC, for expiry */
	bool stale;			/* gone or replaced: new errors get a new entry */
	unsigned int nr_series;
	struct metrics_series series[METRICS_SERIES_PER_DEVICE];
};

struct metrics {
	unsigned int max_devices;
	unsigned int expiry_s;
	unsigned int nr_devices;
	struct metrics_device *devices;		/* max_devices of them */
	__u64 unlabelled;			/* no room for the device or the pair */
	__u64 expired;				/* devices dropped */
	__u64 errors;				/* every error counted, labelled or not */
	__u64 slow;				/* every slow I/O record counted */
	/* Lifecycle records (added, removed, ...), by subtype; not errors. */
	__u64 lifecycle[NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST - NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST + 1];
};

/* Count one lifecycle record (blknotify_lifecycle_events_total{subtype=...}). */
void metrics_lifecycle(struct metrics *m, unsigned int subtype);

int metrics_init(struct metrics *m, unsigned int max_devices, unsigned int expiry_s);
void metrics_free(struct metrics *m);

/*
 * Count one error record (24 bytes or longer) of the disk id (its
 * identity, looked up by the caller).  now_mono and now_real are
 * the current CLOCK_MONOTONIC and CLOCK_REALTIME times in ns: they convert
 * the record's time to wall-clock time, and stand in for it in a 24-byte
 * record.
 */
void metrics_count(struct metrics *m, const struct block_notification *b, size_t len,
		   const struct disk_identity *id, __u64 now_mono, __u64 now_real);

/* Whether dev is still the disk with diskseq: disk_identity_current() in the daemon. */
typedef bool (*metrics_current_fn)(void *userdata, __u64 dev, __u64 diskseq);

/* Drop the devices that are gone or replaced and had no error for expiry_s.  Returns how many. */
unsigned int metrics_expire(struct metrics *m, __u64 now_mono, metrics_current_fn current,
			    void *userdata);

/* Write the exposition to f.  Returns 0 or -EIO. */
int metrics_write(const struct metrics *m, const struct metrics_daemon_stats *s, FILE *f);

/* The same into a malloc()ed buffer (*len bytes, NUL-terminated). Returns NULL on ENOMEM. */
char *metrics_format(const struct metrics *m, const struct metrics_daemon_stats *s, size_t *len);

#endif /* BLKNOTIFYD_METRICS_H */
