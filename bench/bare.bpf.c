// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: the least a BPF error reader can do.  One record per failed
 * request of one device, reserved and submitted with the default wake-up
 * (the kernel wakes the reader when it has caught up), nothing else.  No
 * watches, no filter map, no bound, no batching: what blknotify adds to this
 * is what bench/run measures against it.
 *
 * Two counters in .bss say what the kernel ran: every run of the program
 * (any device) and the runs for the watched device, so a reader can tell an
 * error the program never saw from one it saw and could not queue.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bare.h"

/* block_rq_error's record (5.18+), a CO-RE relocatable view. */
struct trace_event_raw_block_rq_completion___bare {
	__u32 dev;
	__u64 sector;
} __attribute__((preserve_access_index));

const volatile __u32 watch_dev;		/* the kernel's dev_t (MKDEV 20-bit minor) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ring SEC(".maps");

struct bare_counters counters;
struct bare_alloc_fail alloc_fails[BARE_ALLOC_FAILS_MAX];

SEC("tracepoint/block/block_rq_error")
int bare_rq_error(struct trace_event_raw_block_rq_completion___bare *ctx)
{
	struct bare_record *r;

	__sync_fetch_and_add(&counters.runs, 1);
	if (ctx->dev != watch_dev)
		return 0;
	__sync_fetch_and_add(&counters.matched, 1);
	r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&counters.dropped, 1);
		return 0;
	}
	r->time_ns = bpf_ktime_get_ns();
	r->sector = ctx->sector;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/*
 * Not loaded unless asked for (bench-bare -B): the same tracepoint through
 * the raw-tracepoint path (tp_btf: __bpf_trace_run(), its own per-program
 * recursion guard) instead of the perf-event one (tracepoint/:
 * perf_trace_buf_alloc(), then trace_call_bpf() and bpf_prog_active), only
 * counting, so that one run tells which path skipped an error ftrace traced.
 */
struct gendisk___bare {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));

struct request_queue___bare {
	struct gendisk___bare *disk;
} __attribute__((preserve_access_index));

struct request___bare {
	struct request_queue___bare *q;
} __attribute__((preserve_access_index));

SEC("tp_btf/block_rq_error")
int BPF_PROG(bare_rq_error_btf, struct request___bare *rq)
{
	struct gendisk___bare *disk = BPF_CORE_READ(rq, q, disk);
	__u32 dev;

	__sync_fetch_and_add(&counters.btf_runs, 1);
	if (!disk)
		return 0;
	dev = (__u32)BPF_CORE_READ(disk, major) << 20 | (__u32)BPF_CORE_READ(disk, first_minor);
	if (dev == watch_dev)
		__sync_fetch_and_add(&counters.btf_matched, 1);
	return 0;
}

/*
 * Not loaded unless asked for (bench-bare -K; needs CONFIG_KPROBES: the
 * function is in kernel/trace/, built without ftrace hooks, so no fexit): every time the kernel could
 * not get a perf trace buffer for a tracepoint event - perf_trace_buf_alloc()
 * returned NULL, which is where perf_swevent_get_recursion_context() makes a
 * tracepoint skip its BPF programs without counting a miss - with its CPU
 * and time, so that bench/run can match them to the errors ftrace traced and
 * the program never saw.
 */
SEC("kretprobe/perf_trace_buf_alloc")
int BPF_KRETPROBE(perf_trace_buf_alloc_ret, void *ret)
{
	__u64 i;

	if (ret)
		return 0;
	i = __sync_fetch_and_add(&counters.alloc_failed, 1);
	if (i < BARE_ALLOC_FAILS_MAX) {
		alloc_fails[i].time_ns = bpf_ktime_get_ns();
		alloc_fails[i].cpu = bpf_get_smp_processor_id();
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
