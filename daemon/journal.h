/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotifyd's journal output: one native journal entry per error, with a
 * fixed MESSAGE_ID and BLKNOTIFY_* fields (docs/fleet.md), coalesced so that
 * a storm neither floods journald nor loses anything to its rate limit: per
 * disk and window, the first `burst` errors get entries of their own, the
 * rest are counted, and when the window ends one summary entry gives their
 * exact counts by subtype and operation with the sectors' range.  Every
 * error is either its own entry or counted in a summary; an entry journald
 * does not take (its queue full: the socket never blocks) is counted in
 * the summary instead; a summary it does not take is tried again
 * JOURNAL_RETRY_NS later, its window going on meanwhile, and only one
 * refused at the final flush is counted in `failed`
 * (blknotify_journal_failed_total).
 *
 * Bounds: max_devices disks have windows of their own; the errors of any
 * further disk share one more window ("other disks"), so nothing is
 * uncounted.  A summary holds JOURNAL_PAIRS_MAX (subtype, op) pairs; the
 * rest are counted together as "other".
 */
#ifndef BLKNOTIFYD_JOURNAL_H
#define BLKNOTIFYD_JOURNAL_H

#include <stdbool.h>
#include <sys/uio.h>
#include <blknotify/block_notify.h>
#include "disk-info.h"

/* journalctl MESSAGE_ID=...; the catalog is systemd/blknotify.catalog. */
#define JOURNAL_MESSAGE_ID_ERROR	"30785b7f7d3240809df08cb3185d760e"
#define JOURNAL_MESSAGE_ID_SUMMARY	"6663ef1bbdf046d5aac781bb450bcfa1"
#define JOURNAL_MESSAGE_ID_LIFECYCLE	"8afd7c47f01844a496043371a8c8ae67"

#define JOURNAL_SOCKET			"/run/systemd/journal/socket"
#define JOURNAL_RETRY_NS		(500 * 1000000ULL)	/* a summary journald refused */
#define JOURNAL_STOP_TIMEOUT_S		2	/* per summary, when the daemon stops */
#define JOURNAL_PAIRS_MAX		16
#define JOURNAL_FIELDS_MAX		(16 + JOURNAL_PAIRS_MAX)
#define JOURNAL_WINDOW_DEFAULT		10000	/* ms */
#define JOURNAL_BURST_DEFAULT		20	/* entries per disk per window */
#define JOURNAL_MAX_DEVICES_DEFAULT	64

struct journal_pair {
	__u8 subtype;
	__u16 op;
	bool other;			/* the pairs that found no slot */
	__u64 count;
	__u64 sector_min, sector_max;
};

struct journal_device {
	__u64 dev;			/* 0 for the shared "other disks" slot */
	char name[32];
	/* Identity as the window began ("" when none): BLKNOTIFY_SERIAL, _WWN, _BY_ID. */
	char serial[96], wwn[64], by_id[160];
	__u64 window_start;		/* CLOCK_MONOTONIC ns; 0: no window open */
	unsigned int entries;		/* in this window */
	__u64 suppressed;		/* counted, not yet summarised */
	unsigned int nr_pairs;
	struct journal_pair pairs[JOURNAL_PAIRS_MAX + 1];	/* + "other" */
};

/* Send one entry: journal_send_native() in the daemon.  Returns 0 or a negative errno. */
typedef int (*journal_send_fn)(void *userdata, const struct iovec *iov, int n);

struct journal {
	__u64 window_ns;
	unsigned int burst;
	unsigned int max_devices;
	struct journal_device *devices;	/* max_devices + 1 (the shared slot) */
	unsigned int nr_devices;
	journal_send_fn send;
	void *userdata;
	__u64 entries, summaries, summarised, failed;
	__u64 lifecycle_entries;	/* journal_lifecycle()'s, not errors */
};

int journal_init(struct journal *j, unsigned int window_ms, unsigned int burst,
		 unsigned int max_devices, journal_send_fn send, void *userdata);
void journal_free(struct journal *j);

/* One error record of the disk id (looked up by the caller), at now (CLOCK_MONOTONIC ns). */
void journal_record(struct journal *j, const struct block_notification *b, size_t len,
		    const struct disk_identity *id, __u64 now);

/*
 * One lifecycle record (the disk was added, removed, ...): an entry of its
 * own, outside the error windows (disks come and go rarely; an entry each).
 */
void journal_lifecycle(struct journal *j, const struct block_notification *b, size_t len,
		       const struct disk_identity *id);

/*
 * Write the summaries of the windows that ended by now (all of them when
 * all).  Returns when the next open window ends (ns, CLOCK_MONOTONIC), or
 * 0 when no window holds anything to summarise.
 */
__u64 journal_flush(struct journal *j, __u64 now, bool all);

/* The syslog priority of an error of this subtype (LOG_CRIT ... LOG_WARNING). */
int journal_priority(unsigned int subtype);

/* The native protocol on JOURNAL_SOCKET, non-blocking; userdata is an int fd, -1 at first. */
int journal_send_native(void *userdata, const struct iovec *iov, int n);

#endif /* BLKNOTIFYD_JOURNAL_H */
