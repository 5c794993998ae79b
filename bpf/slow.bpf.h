/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Slow I/O: a request that completes without error, but late, gives a
 * NOTIFY_BLOCK_SLOW record (72 bytes, latency_ns = issue to completion).
 * Included from blknotify.bpf.c: the records go through its ring, watches,
 * filter, bound and loss accounting (emit_len(), lose()).
 *
 * A pair of programs runs on every request while slow detection is on:
 * block_rq_issue stamps the request in a bounded hash map keyed by its
 * struct request *, block_rq_complete takes the stamp out and judges the
 * latency.  They are not loaded, and nothing runs, unless a queue asks for
 * slow detection (lib/source-bpf-slow.c turns their autoload on).  Each has
 * a tp_btf entry (BTF-enabled tracepoints, 5.5+) and a raw_tp twin sharing
 * one handler; the loader picks one at run time.
 *
 * Why our own stamp and not the request's: rq->start_time_ns is taken when
 * the request is allocated (it counts the time queued in the scheduler and
 * is zero without iostats), and rq->io_start_time_ns is set only when the
 * queue collects statistics (QUEUE_FLAG_STATS: wbt, iolatency); neither is
 * there for every request.  block_rq_issue fires in blk_mq_start_request()
 * at the same instant io_start_time_ns would be taken.
 *
 * Only request-based (blk-mq) disks have these tracepoints: a bio-based
 * device (device-mapper, md) is not judged itself; the disks under it are.
 */
#include "slow.h"

/* CO-RE views of the block layer's structures (offsets from the running kernel). */
struct gendisk___slow {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));

struct request_queue___slow {
	struct gendisk___slow *disk;
} __attribute__((preserve_access_index));

struct request___slow {
	struct request_queue___slow *q;
	unsigned int cmd_flags;
	__u64 __sector;
} __attribute__((preserve_access_index));

/* Before commit f3fa33acca9f ("block: remove the ->rq_disk field in struct request", 5.16). */
struct request___slow_old {
	struct gendisk___slow *rq_disk;
} __attribute__((preserve_access_index));

/*
 * The request flags the records name; the bit numbers come from the
 * kernel's BTF (enum req_flag_bits: libbpf ignores the ___slow flavour of
 * the type's and the enumerators' names, which keeps them from clashing
 * with other views of the same enum in this object).
 */
enum req_flag_bits___slow {
	__REQ_SYNC___slow = 0,
	__REQ_META___slow,
	__REQ_FUA___slow,
	__REQ_PREFLUSH___slow,
	__REQ_RAHEAD___slow,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BN_SLOW_INFLIGHT_MAX);	/* 1 while slow detection is off */
	__type(key, __u64);
	__type(value, struct bn_slow_inflight);
} slow_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BN_SLOW_DEVICES_MAX);	/* 1 while slow detection is off */
	__type(key, __u32);
	__type(value, struct bn_slow_dev);
} slow_devices SEC(".maps");

/* In .bss: written by the loader (also into a pinned queue it takes over). */
struct bn_slow_config slow_config;
struct bn_slow_counters slow_counters;
/* Recursion misses of the two programs already reported as loss (see new_misses()). */
__u64 slow_reported_misses;

/*
 * A field of a kernel structure: tp_btf programs load it directly (the
 * verifier knows the pointer's BTF type and the load cannot fault), their
 * raw_tp twins read it with bpf_probe_read_kernel().  btf is a constant in
 * each program, so only one of the two is compiled into it.
 */
#define SLOW_RD(btf, p, field)	((btf) ? (p)->field : BPF_CORE_READ(p, field))

static __always_inline __u32 slow_rq_kdev(struct request___slow *rq, const int btf)
{
	struct request_queue___slow *q = SLOW_RD(btf, rq, q);
	struct gendisk___slow *disk;

	if (bpf_core_field_exists(q->disk))
		disk = SLOW_RD(btf, q, disk);
	else
		disk = SLOW_RD(btf, (struct request___slow_old *)rq, rq_disk);
	if (!disk)
		return 0;
	return (__u32)SLOW_RD(btf, disk, major) << 20 | (__u32)SLOW_RD(btf, disk, first_minor);
}

/* REQ_OP_* equals block_notification_op for these (see block_notify.h). */
static __always_inline __u16 slow_op(__u32 cmd_flags)
{
	__u32 op = cmd_flags & 0xff;	/* REQ_OP_MASK */

	switch (op) {
	case BLOCK_NOTIFY_OP_READ: case BLOCK_NOTIFY_OP_WRITE: case BLOCK_NOTIFY_OP_FLUSH:
	case BLOCK_NOTIFY_OP_DISCARD: case BLOCK_NOTIFY_OP_SECURE_ERASE:
	case BLOCK_NOTIFY_OP_ZONE_APPEND: case BLOCK_NOTIFY_OP_WRITE_ZEROES:
	case BLOCK_NOTIFY_OP_DRV_IN: case BLOCK_NOTIFY_OP_DRV_OUT:
		return op;
	default:
		return BLOCK_NOTIFY_OP_OTHER;
	}
}

#define SLOW_FLAG(cmd_flags, bit, f)						\
	(bpf_core_enum_value_exists(enum req_flag_bits___slow, bit) &&		\
	 ((cmd_flags) >> bpf_core_enum_value(enum req_flag_bits___slow, bit) & 1) ? (f) : 0)

static __always_inline __u16 slow_flags(__u32 cmd_flags)
{
	return SLOW_FLAG(cmd_flags, __REQ_SYNC___slow, BLOCK_NOTIFY_F_SYNC) |
	       SLOW_FLAG(cmd_flags, __REQ_META___slow, BLOCK_NOTIFY_F_META) |
	       SLOW_FLAG(cmd_flags, __REQ_FUA___slow, BLOCK_NOTIFY_F_FUA) |
	       SLOW_FLAG(cmd_flags, __REQ_PREFLUSH___slow, BLOCK_NOTIFY_F_PREFLUSH) |
	       SLOW_FLAG(cmd_flags, __REQ_RAHEAD___slow, BLOCK_NOTIFY_F_RAHEAD);
}

/*
 * log2(v) in 1/16 units: the position of the top bit, then the next four
 * bits.  Monotonic, which is all a median needs (the median of log2 of the
 * latencies is log2 of their median).
 */
static __always_inline __s32 slow_log(__u64 v)
{
	__u64 x = v;
	__u32 m = 0;

	if (x >> 32) { m += 32; x >>= 32; }
	if (x >> 16) { m += 16; x >>= 16; }
	if (x >> 8) { m += 8; x >>= 8; }
	if (x >> 4) { m += 4; x >>= 4; }
	if (x >> 2) { m += 2; x >>= 2; }
	if (x >> 1) m += 1;
	return (__s32)(m << BN_SLOW_LOG_FRAC) |
	       (__s32)((m >= 4 ? v >> (m - 4) : v << (4 - m)) & 15);
}

/* The smallest latency whose slow_log() is l. */
static __always_inline __u64 slow_ns(__s32 l)
{
	__u32 m = (__u32)l >> BN_SLOW_LOG_FRAC;
	__u64 f = 16 + ((__u32)l & 15);

	if (l < 0)
		return 0;
	if (m > 58)
		return ~0ULL;
	return m >= 4 ? f << (m - 4) : f >> (4 - m);
}

/*
 * The disk's median latency: a frugal streaming estimate (Ma, Muthukrishnan
 * and Sandler, "Frugal Streaming for Estimating Quantiles", 2013) of the
 * median of log2(latency).  After every successful completion the estimate
 * moves one step toward that completion's latency (up if it was longer,
 * down if shorter), so half the recent completions are above it and half
 * below: a median.  A step is 1/16 of a doubling (about 4.4 %); 8, 4 and 2
 * times that in the first 16, 32 and 48 completions so that it converges
 * within the warm-up.  One slow request moves it by one step only; if a
 * disk stays slow, the median follows it and its requests stop being slow
 * relative to it (the absolute threshold still applies).  Updated without
 * atomics: two CPUs completing at once may lose one step, which an
 * estimate does not mind.  Returns whether lat is slow relative to it.
 */
static __always_inline int slow_relative(__u32 kdev, __u64 lat)
{
	struct bn_slow_dev *d = bpf_map_lookup_elem(&slow_devices, &kdev);
	__s32 l = slow_log(lat), step;
	int slow;

	if (!d) {
		struct bn_slow_dev nd = { .median_log = l, .samples = 1 };

		if (bpf_map_update_elem(&slow_devices, &kdev, &nd, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&slow_devices, &kdev))
			__sync_fetch_and_add(&slow_counters.unjudged, 1);
		return 0;
	}
	/* Judged against the estimate before this completion moves it. */
	slow = d->samples >= slow_config.warmup &&
	       lat / slow_config.relative >= slow_ns(d->median_log);
	step = d->samples < 16 ? 8 : d->samples < 32 ? 4 : d->samples < 48 ? 2 : 1;
	if (l > d->median_log)
		d->median_log += step;
	else if (l < d->median_log)
		d->median_log -= step;
	if (d->samples < 0xffffffffU)
		d->samples++;
	return slow;
}

/* Whether some watch of the queue takes a slow record for this request. */
static __always_inline int slow_wanted(const struct bn_config *cfg,
				       struct block_notification *ev)
{
	__u32 i, info;

	for (i = 0; i < BN_WATCHES_MAX; i++)
		if (bn_watch_takes(cfg, i, ev, &info))
			return 1;
	return 0;
}

static __always_inline int slow_issue(struct request___slow *rq, const int btf)
{
	struct block_notification ev = {};
	struct bn_slow_inflight in = {};
	const struct bn_config *cfg;
	__u64 key = (__u64)(unsigned long)rq;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return 0;
	in.kdev = slow_rq_kdev(rq, btf);
	ev.watch.type = WATCH_TYPE_BLOCK_NOTIFY;
	ev.watch.subtype = NOTIFY_BLOCK_SLOW;
	ev.watch.info = BLOCK_NOTIFICATION_SIZE_V2;
	ev.dev = bn_dev_from_kernel(in.kdev);
	ev.sector = SLOW_RD(btf, rq, __sector);
	if (!slow_wanted(cfg, &ev))
		return 0;	/* no watch on this disk wants slow records */
	in.issue_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&slow_inflight, &key, &in, BPF_ANY)) {
		/* Full: this request cannot be judged, which is loss. */
		__sync_fetch_and_add(&slow_counters.untracked, 1);
		lose();
	}
	return 0;
}

static __always_inline int slow_complete(struct request___slow *rq, __u8 error, __u32 nr_bytes,
					 const int btf)
{
	struct block_notification ev = {};
	const struct bn_config *cfg;
	struct bn_slow_inflight *in;
	__u64 key = (__u64)(unsigned long)rq, now, lat, issue;
	__u32 zero = 0, kdev, i, flags;
	int slow;

	in = bpf_map_lookup_elem(&slow_inflight, &key);
	if (!in)
		return 0;	/* not watched, issued before we attached, or a later partial completion */
	issue = in->issue_ns;
	kdev = in->kdev;
	bpf_map_delete_elem(&slow_inflight, &key);
	if (error)
		return 0;	/* the error program reports it */
	now = bpf_ktime_get_ns();
	lat = now - issue;
	slow = slow_config.threshold_ns && lat >= slow_config.threshold_ns;
	if (slow_config.relative && slow_relative(kdev, lat))
		slow = 1;
	if (!slow)
		return 0;
	__sync_fetch_and_add(&slow_counters.slow, 1);

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return 0;
	flags = SLOW_RD(btf, rq, cmd_flags);
	ev.watch.type = WATCH_TYPE_BLOCK_NOTIFY;
	ev.watch.subtype = NOTIFY_BLOCK_SLOW;
	ev.dev = bn_dev_from_kernel(kdev);
	ev.sector = SLOW_RD(btf, rq, __sector);
	ev.time_ns = now;
	ev.nr_sectors = nr_bytes >> 9;
	ev.op = slow_op(flags);
	ev.flags = slow_flags(flags);
	ev.latency_ns = lat;
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		__u32 info;

		ev.watch.info = BLOCK_NOTIFICATION_SIZE_V2;
		if (!bn_watch_takes(cfg, i, &ev, &info))
			continue;
		ev.watch.info = info;
		emit_len(&ev, BLOCK_NOTIFICATION_SIZE_V2);
	}
	return 0;
}

/* tp_btf: arguments as the tracepoint's prototype has them (rq; rq, error, nr_bytes). */
SEC("tp_btf/block_rq_issue")
int slow_issue_btf(__u64 *ctx)
{
	return slow_issue((struct request___slow *)ctx[0], 1);
}

SEC("tp_btf/block_rq_complete")
int slow_complete_btf(__u64 *ctx)
{
	return slow_complete((struct request___slow *)ctx[0], (__u8)ctx[1], (__u32)ctx[2], 1);
}

/* raw_tp twins, for kernels whose tracepoints have no BTF. */
SEC("raw_tp/block_rq_issue")
int slow_issue_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return slow_issue((struct request___slow *)ctx->args[0], 0);
}

SEC("raw_tp/block_rq_complete")
int slow_complete_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return slow_complete((struct request___slow *)ctx->args[0], (__u8)ctx->args[1],
			     (__u32)ctx->args[2], 0);
}
