/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by bench/bare.bpf.c and bench/bare.c. */
#ifndef BENCH_BARE_H
#define BENCH_BARE_H

#include <linux/types.h>

struct bare_record {
	__u64 time_ns;		/* bpf_ktime_get_ns() in the program: CLOCK_MONOTONIC */
	__u64 sector;
};

struct bare_counters {
	__u64 runs;		/* every run, any device */
	__u64 matched;		/* runs for the watched device */
	__u64 dropped;		/* of those, the ring was full */
	__u64 alloc_failed;	/* -K: perf_trace_buf_alloc() returned NULL (any event) */
	__u64 btf_runs;		/* -B: runs of the tp_btf twin (raw tracepoint), any device */
	__u64 btf_matched;	/* -B: its runs for the watched device */
};

#define BARE_ALLOC_FAILS_MAX	256

struct bare_alloc_fail {
	__u64 time_ns;
	__u32 cpu;
	__u32 pad;
};

#endif
