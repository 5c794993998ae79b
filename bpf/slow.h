/* SPDX-License-Identifier: (LGPL-2.1-or-later OR GPL-2.0) */
/*
 * Types shared by the slow-I/O programs (bpf/slow.bpf.h) and their loader
 * (lib/source-bpf-slow.c).  Fixed-width types only.
 */
#ifndef BLKNOTIFY_SLOW_H
#define BLKNOTIFY_SLOW_H

#include <linux/types.h>

/*
 * Requests in flight the programs track at once, over every watched disk.
 * A request issued while the table is full cannot be judged: it is counted
 * as a lost record (loss record, in order) and in untracked.  About 64 bytes
 * a slot, preallocated (1 MiB), and only when slow detection is on.
 */
#define BN_SLOW_INFLIGHT_MAX	16384
/*
 * Disks whose median latency is kept (relative threshold).  When more have
 * I/O, the one idle longest is forgotten (LRU) and learns again from its
 * next completions (warm-up, see BN_SLOW_WARMUP).
 */
#define BN_SLOW_DEVICES_MAX	4096
/* Completions of a disk before the relative threshold judges its requests. */
#define BN_SLOW_WARMUP		64
/* The median estimate's unit: 1/16 of a doubling of the latency (log2 fixed point). */
#define BN_SLOW_LOG_FRAC	4

/* Written by the loader into the program's .bss; 0 turns a threshold off. */
struct bn_slow_config {
	__u64	threshold_ns;	/* slow when latency >= this */
	__u32	relative;	/* slow when latency >= relative x the disk's median */
	__u32	warmup;		/* completions before "relative" applies (BN_SLOW_WARMUP) */
};

struct bn_slow_counters {
	__u64	completions;	/* successful completions judged */
	__u64	slow;		/* of those, slow (before fan-out to watches) */
	__u64	untracked;	/* issued while the in-flight table was full: lost */
	__u64	unjudged;	/* relative: no room to keep the disk's median */
};

/* What the in-flight table keeps per request, keyed by its struct request *. */
struct bn_slow_inflight {
	__u64	issue_ns;	/* bpf_ktime_get_ns() at block_rq_issue */
	__u32	kdev;		/* the disk, kernel dev_t (major << 20 | minor) */
	__u32	__pad;
};

/* Per disk: an estimate of its median latency (see slow.bpf.h). */
struct bn_slow_dev {
	__s32	median_log;	/* log2(latency ns) in 1/16 units */
	__u32	samples;	/* completions seen (saturates) */
};

#endif /* BLKNOTIFY_SLOW_H */
