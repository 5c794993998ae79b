// SPDX-License-Identifier: GPL-2.0
/*
 * blknotify's BPF source: one queue per loaded instance.
 *
 * Runs on block:block_rq_error, which fires only for failed requests, so
 * successful I/O pays nothing.  Where a kernel lacks that tracepoint the user
 * side attaches the block_rq_complete twin instead, which tests error != 0
 * here, in the kernel.  Both read the tracepoint's own record, whose "error"
 * is a negative errno (ABI), never the kernel-internal blk_status_t.
 *
 * The ring buffer is the queue.  Watches, filter, bound and loss accounting
 * are applied here, so the consumer reads exactly the records it asked for
 * and a full queue costs the I/O path one failed reservation.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "match.h"
#include "blknotify.bpf.h"

/*
 * The tracepoints' records, as CO-RE relocatable views: field offsets come
 * from the running kernel's BTF.  commit d5869fdc189f ("block: introduce
 * block_rq_error tracepoint", 5.18) renamed block_rq_complete's record to the
 * event class trace_event_raw_block_rq_completion; older kernels have
 * trace_event_raw_block_rq_complete and no block_rq_error.
 */
struct trace_event_raw_block_rq_completion___x {
	__u32 dev;
	__u64 sector;
	unsigned int nr_sector;
	int error;
	char rwbs[8];
} __attribute__((preserve_access_index));

struct trace_event_raw_block_rq_complete___x {
	__u32 dev;
	__u64 sector;
	unsigned int nr_sector;
	int error;
	char rwbs[8];
} __attribute__((preserve_access_index));

/* Set by the loader before load (bpf_object rodata). */
const volatile __u32 limit_bytes = BN_RECORD_SLOT * 4096;	/* the queue's bound */
const volatile __u32 wake_backlog = BN_RECORD_SLOT * 1024;	/* wake now at this backlog */
const volatile __u64 wake_interval_ns = BN_WAKE_INTERVAL_NS;
const volatile __u32 detail_on = 0;	/* a transport hook is attached: join at block_rq_error */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 64);		/* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bn_config);
} config SEC(".maps");

/* Shared with the user side through the mmap'ed .bss. */
struct bn_counters counters;
__u64 last_wake_ns;
/*
 * The program's recursion misses the reader has reported as loss so far:
 * written by the user side only, kept here so that it survives with a
 * pinned queue and the next owner does not report them again.
 */
__u64 reported_misses;
struct bn_reconcile reconcile;

static __always_inline __u64 submit_flags(void)
{
	__u64 now = bpf_ktime_get_ns();

	/*
	 * Wake the reader at once for an isolated error: latency matters.  In
	 * a storm, a wake-up per record would cost the completing CPU far more
	 * than the record does; wake at most once per wake_interval_ns, or
	 * when the backlog crosses wake_backlog.  The reader arms a timer of
	 * at least wake_interval_ns after every read that returned records,
	 * so nothing is left unread for longer than that.
	 */
	if (now - last_wake_ns >= wake_interval_ns ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wake_backlog) {
		last_wake_ns = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	__sync_fetch_and_add(&counters.deferred_wakeups, 1);
	return BPF_RB_NO_WAKEUP;
}

static __always_inline int have_room(__u32 slot)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + slot <= limit_bytes;
}

/*
 * Report loss counted so far, in order, before the record about to be
 * queued.  Returns 0 when there is no loss left to report.
 */
static __always_inline int flush_loss(void)
{
	struct block_notification_loss *l;
	__u64 n;

	if (!counters.pending_loss)
		return 0;
	n = __sync_lock_test_and_set(&counters.pending_loss, 0);
	if (!n)
		return 0;
	l = have_room(BN_LOSS_SLOT) ? bpf_ringbuf_reserve(&events, sizeof(*l), 0) : NULL;
	if (!l) {
		__sync_fetch_and_add(&counters.pending_loss, n);
		return -1;
	}
	bn_make_loss(l, n);
	bpf_ringbuf_submit(l, submit_flags());
	return 0;
}

static __always_inline void lose(void)
{
	__sync_fetch_and_add(&counters.pending_loss, 1);
	__sync_fetch_and_add(&counters.lost, 1);
}

/* Queue the first len bytes of ev (a constant: the verifier wants one). */
static __always_inline void emit_len(const struct block_notification *ev, const __u32 len)
{
	struct block_notification *r;

	if (flush_loss() || !have_room(8 + len)) {
		lose();
		return;
	}
	r = bpf_ringbuf_reserve(&events, len, 0);
	if (!r) {
		lose();
		return;
	}
	__builtin_memcpy(r, ev, len);
	bpf_ringbuf_submit(r, submit_flags());
	__sync_fetch_and_add(&counters.queued, 1);
}

#define emit(ev) emit_len(ev, BN_RECORD_SIZE)
/*
 * One record per matching watch, as the kernel's watch queue posts (the
 * same rule as bn_fanout() in user space).  Returns whether a watch covers
 * the record's disk and sector, whatever the filter says: what ftrace's
 * filter in lib/reconcile.c admits.
 */
static __always_inline int fanout(const struct bn_config *cfg, struct block_notification *ev)
{
	int seen = 0;
	__u32 i;

	for (i = 0; i < BN_WATCHES_MAX; i++) {
		__u32 info;

		ev->watch.info = BN_RECORD_SIZE;
		seen |= bn_watch_match(&cfg->watches[i], ev->dev, ev->sector);
		if (!bn_watch_takes(cfg, i, ev, &info))
			continue;
		ev->watch.info = info;
		emit(ev);
	}
	return seen;
}

/* What the device said (transport hooks and the join), see detail.bpf.h. */
#include "detail.bpf.h"
#include "scsi.bpf.h"
#include "nvme.bpf.h"

/* The request's operation and flags, from blk_fill_rwbs()'s string. */
static __always_inline void parse_rwbs(const char *rwbs, __u16 *op, __u16 *flags)
{
	int i = 0;

	*op = BLOCK_NOTIFY_OP_OTHER;
	*flags = 0;
	if (rwbs[0] == 'F') {
		if (rwbs[1] == 'R' || rwbs[1] == 'W' || rwbs[1] == 'D' || rwbs[1] == 'N') {
			*flags |= BLOCK_NOTIFY_F_PREFLUSH;
			i = 1;
		} else {
			*op = BLOCK_NOTIFY_OP_FLUSH;
			i = 1;
			goto modifiers;
		}
	}
	switch (rwbs[i]) {
	case 'R':
		*op = BLOCK_NOTIFY_OP_READ;
		break;
	case 'W':
		*op = BLOCK_NOTIFY_OP_WRITE;
		break;
	case 'D':
		if (rwbs[i + 1] == 'E') {
			*op = BLOCK_NOTIFY_OP_SECURE_ERASE;
			i++;
		} else {
			*op = BLOCK_NOTIFY_OP_DISCARD;
		}
		break;
	default:	/* 'N': write-zeroes, zone and driver operations */
		break;
	}
	i++;
modifiers:
	for (; i < 7; i++) {
		if (rwbs[i] == 'F')
			*flags |= BLOCK_NOTIFY_F_FUA;
		else if (rwbs[i] == 'A')
			*flags |= BLOCK_NOTIFY_F_RAHEAD;
		else if (rwbs[i] == 'S')
			*flags |= BLOCK_NOTIFY_F_SYNC;
		else if (rwbs[i] == 'M')
			*flags |= BLOCK_NOTIFY_F_META;
		else
			break;
	}
}

/* A failed request or bio: its records.  Returns fanout()'s "seen". */
static __always_inline int handle(__u32 kdev, __u64 sector, __u32 nr_sector, int error,
				  const char *rwbs)
{
	struct block_notification ev = {};
	const struct bn_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return 0;

	ev.watch.type = WATCH_TYPE_BLOCK_NOTIFY;
	ev.watch.subtype = bn_subtype_from_errno(error);
	ev.dev = bn_dev_from_kernel(kdev);
	ev.sector = sector;
	ev.time_ns = bpf_ktime_get_ns();
	ev.nr_sectors = nr_sector;
	ev.error = error;
	parse_rwbs(rwbs, &ev.op, &ev.flags);
	if (detail_on)
		detail_join(&ev, kdev);
	return fanout(cfg, &ev);
}

#define HANDLE_CTX(ctx) ({							\
	char rwbs[8];								\
	bpf_probe_read_kernel(rwbs, sizeof(rwbs), &(ctx)->rwbs);		\
	handle((ctx)->dev, (ctx)->sector, (ctx)->nr_sector, (ctx)->error, rwbs);\
})

SEC("tracepoint/block/block_rq_error")
int block_rq_error(struct trace_event_raw_block_rq_completion___x *ctx)
{
	__sync_fetch_and_add(&counters.runs, 1);
	/* Compared with ftrace's count of the same tracepoint (lib/reconcile.c). */
	if (HANDLE_CTX(ctx))
		__sync_fetch_and_add(&counters.watched, 1);
	return 0;
}

/* Fallback for kernels without block_rq_error: runs on every completion. */
SEC("tracepoint/block/block_rq_complete")
int block_rq_complete(void *ctx)
{
	if (bpf_core_type_exists(struct trace_event_raw_block_rq_completion___x)) {
		struct trace_event_raw_block_rq_completion___x *c = ctx;

		if (!c->error) {
			if (detail_on)
				detail_succeeded(c->dev, c->sector, c->nr_sector);
			return 0;
		}
		__sync_fetch_and_add(&counters.runs, 1);
		HANDLE_CTX(c);
		return 0;
	} else {
		struct trace_event_raw_block_rq_complete___x *c = ctx;

		if (!c->error)
			return 0;
		__sync_fetch_and_add(&counters.runs, 1);
		HANDLE_CTX(c);
		return 0;
	}
}

/* Opt-in: failed bios of bio-based devices (dm, md, ...). */
#include "bio.bpf.h"
#include "slow.bpf.h"	/* slow I/O: opt-in issue/complete pair */
#include "lifecycle.bpf.h"

char LICENSE[] SEC("license") = "GPL";
