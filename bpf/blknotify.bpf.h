/* SPDX-License-Identifier: (LGPL-2.1-or-later OR GPL-2.0) */
/* Types shared by the BPF program and its loader (lib/source-bpf.c). */
#ifndef BLKNOTIFY_BPF_H
#define BLKNOTIFY_BPF_H

#include <linux/types.h>
#include "slow.h"	/* the slow-I/O programs' .bss types: in every skeleton user */

/* Ring-buffer bytes one record takes: 8-byte header + the record. */
/* The length of the records this program writes (ring slot: + 8-byte header). */
#define BN_RECORD_SIZE	BLOCK_NOTIFICATION_SIZE_V2
#define BN_RECORD_SLOT	(8 + BN_RECORD_SIZE)
#define BN_LOSS_SLOT	(8 + BLOCK_NOTIFICATION_LOSS_SIZE)

/*
 * In a storm, wake the reader at most this often (plus backlog wake-ups);
 * the reader re-polls after this long when it has just read records.
 */
#define BN_WAKE_INTERVAL_NS	(250 * 1000ULL)

struct bn_counters {
	__u64 runs;		/* failed requests the program saw */
	__u64 queued;		/* records queued */
	__u64 lost;		/* records dropped: queue full */
	__u64 pending_loss;	/* dropped and not yet reported in a loss record */
	__u64 deferred_wakeups;	/* records queued without waking the reader */
	__u64 watched;		/* errors that matched a watch (once each), see lib/reconcile.c */
};

/*
 * The reconciliation's baseline (lib/reconcile.c), written by the user side
 * only; kept in the program's .bss so that it is pinned with the queue.
 */
struct bn_reconcile {
	__u64 base;		/* traced - watched at the last check (mod 2^64) */
	__u64 traced;		/* ftrace's count then (a smaller one later: reset) */
	__u64 valid;		/* base is a baseline */
};

/* Transport detail (detail.bpf.h): the join table's bound and its counters. */
#define BN_DETAIL_MAX	1024

struct bn_detail_stats {
	__u64 stored;		/* entries an error hook made */
	__u64 joined;		/* block_rq_error records that got an entry's detail */
	__u64 refused;		/* entries found at a record's key that were another request's */
	__u64 soft;		/* retry / recovered records made (before watches and filter) */
};

#endif /* BLKNOTIFY_BPF_H */
