/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by bench/hops.bpf.c and bench/hops.c. */
#ifndef BENCH_HOPS_H
#define BENCH_HOPS_H

#include <linux/types.h>

enum { HOP_WOKE = 1, HOP_SEND = 2 };

struct hop {
	__u64 time_ns;
	__u32 kind;		/* HOP_* */
	__u32 pad;
};

#endif
