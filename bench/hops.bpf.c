// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's hops, seen from outside it: when one process (blknotifyd)
 * returns from epoll_wait() with events and when it enters sendto(), on
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC), so that bench/run can place each
 * record's wake-up of the daemon and its send between the program's time
 * and the client's read.  Costs the traced process a program run per such
 * system call: bench/run uses it in runs of its own, not in the ones whose
 * latency it reports as ratios.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "hops.h"

const volatile __u32 target_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} hops SEC(".maps");

__u64 dropped;

struct sys_exit_args {
	__u64 common;
	long id;
	long ret;
};

static __always_inline void hop(__u32 kind)
{
	struct hop *h;

	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return;
	h = bpf_ringbuf_reserve(&hops, sizeof(*h), 0);
	if (!h) {
		__sync_fetch_and_add(&dropped, 1);
		return;
	}
	h->time_ns = bpf_ktime_get_ns();
	h->kind = kind;
	bpf_ringbuf_submit(h, BPF_RB_NO_WAKEUP);	/* read at the end */
}

SEC("tracepoint/syscalls/sys_exit_epoll_wait")
int epoll_wait_exit(struct sys_exit_args *ctx)
{
	if (ctx->ret > 0)
		hop(HOP_WOKE);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int sendto_enter(void *ctx)
{
	(void)ctx;
	hop(HOP_SEND);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
