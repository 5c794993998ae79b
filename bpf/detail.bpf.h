/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transport detail: what the device said about a failed request, joined to
 * the block layer's record of that request.
 *
 * The transport programs (scsi.bpf.h, nvme.bpf.h) run only where a command
 * failed.  Each reads the kernel's own structures (the SCSI command's result
 * and sense data, the NVMe request's status) into an entry of `details`,
 * keyed by the disk and the request's current sector, holding the request's
 * identity: its address and its start_time_ns.  block_rq_error, which has
 * only the tracepoint's record (dev, sector), looks the entry up by the same
 * key and takes it only if the request at that address is still the one the
 * entry was made for: in flight or completing, at that sector, with the same
 * start time.  So a record carries its own request's detail or none (an
 * entry left by a retried request that then succeeded, whose address has
 * been reused since, is never taken by another request).
 *
 * A request completed in parts (SCSI completes the good head of a read
 * before the failed rest) gives several block_rq_error records: the entry
 * moves to the sector the rest starts at, and each record gets the detail.
 *
 * Bound: BN_DETAIL_MAX entries, least recently used evicted first (entries
 * of failed requests are taken within microseconds; the ones evicted are
 * those of retried requests that succeeded).  Counted in detail_stats.
 */
#ifndef BLKNOTIFY_DETAIL_BPF_H
#define BLKNOTIFY_DETAIL_BPF_H

/* The block layer's structures, as CO-RE views (vmlinux BTF). */
struct gendisk___x {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));

struct request_queue___x {
	struct gendisk___x *disk;
} __attribute__((preserve_access_index));

/* CO-RE matches an enum field only with an enum. */
enum mq_rq_state___x { BN_MQ_RQ_IDLE = 0 };

struct request___x {
	struct request_queue___x *q;
	unsigned int cmd_flags;
	unsigned int __data_len;
	__u64 __sector;
	__u64 start_time_ns;
	enum mq_rq_state___x state;
} __attribute__((preserve_access_index));

struct bn_detail_key {
	__u32 dev;		/* the kernel's dev_t of the disk, as the tracepoint has it */
	__u32 pad;
	__u64 sector;
};

struct bn_detail {
	__u64 rq;		/* the request's address: identity only, read with probes */
	__u64 start_ns;		/* its start_time_ns when the entry was made */
	__u64 device_lba;
	__u16 status;
	__u16 command_id;
	__u16 retries;
	__u8 transport;
	__u8 detail;
	__u8 sense_key;
	__u8 asc;
	__u8 ascq;
	__u8 opcode;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BN_DETAIL_MAX);
	__type(key, struct bn_detail_key);
	__type(value, struct bn_detail);
} details SEC(".maps");

/* Counters of the join (an array map, not .bss: a pinned queue's .bss size is its ABI). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bn_detail_stats);
} detail_stats SEC(".maps");

/*
 * The detail programs' recursion misses the reader has counted so far
 * (lib/source-bpf-detail.c): of the hooks that make soft records (reported
 * as loss) and of those that only fill the table.  Written by the user
 * side only; in .bss so that they stay with a pinned queue and its next
 * owner does not count them again.
 */
__u64 detail_reported_misses;
__u64 detail_only_misses;

static __always_inline void detail_count(int which)
{
	__u32 zero = 0;
	struct bn_detail_stats *st = bpf_map_lookup_elem(&detail_stats, &zero);

	if (!st)
		return;
	if (which == 0)
		__sync_fetch_and_add(&st->stored, 1);
	else if (which == 1)
		__sync_fetch_and_add(&st->joined, 1);
	else if (which == 2)
		__sync_fetch_and_add(&st->refused, 1);
	else
		__sync_fetch_and_add(&st->soft, 1);
}

static __always_inline __u32 rq_kdev(const struct request___x *rq)
{
	const struct gendisk___x *disk = BPF_CORE_READ(rq, q, disk);
	__u32 major, minor;

	if (!disk)
		return 0;
	major = BPF_CORE_READ(disk, major);
	minor = BPF_CORE_READ(disk, first_minor);
	return major << 20 | minor;
}

static __always_inline struct bn_detail_key rq_key(const struct request___x *rq)
{
	struct bn_detail_key k = {};

	k.dev = rq_kdev(rq);
	k.sector = BPF_CORE_READ(rq, __sector);
	return k;
}

/*
 * The entry for rq, created empty (transport and detail only) if there is
 * none or the one there is another request's.  NULL: the table refused it.
 */
static __always_inline struct bn_detail *detail_entry(const struct request___x *rq, __u8 transport)
{
	struct bn_detail_key k = rq_key(rq);
	struct bn_detail *d, fresh = {};
	__u64 start = BPF_CORE_READ(rq, start_time_ns);

	d = bpf_map_lookup_elem(&details, &k);
	if (d && d->rq == (__u64)(unsigned long)rq && d->start_ns == start)
		return d;
	fresh.rq = (__u64)(unsigned long)rq;
	fresh.start_ns = start;
	fresh.transport = transport;
	fresh.detail = BLOCK_NOTIFY_D_RETRIES;	/* none yet: 0 is known */
	if (bpf_map_update_elem(&details, &k, &fresh, BPF_ANY))
		return NULL;
	detail_count(0);
	return bpf_map_lookup_elem(&details, &k);
}

/* The request's operation, from cmd_flags (REQ_OP_*: the low 8 bits). */
static __always_inline __u16 rq_op(const struct request___x *rq)
{
	__u32 op = BPF_CORE_READ(rq, cmd_flags) & 0xff;

	switch (op) {
	case 0: return BLOCK_NOTIFY_OP_READ;
	case 1: return BLOCK_NOTIFY_OP_WRITE;
	case 2: return BLOCK_NOTIFY_OP_FLUSH;
	case 3: return BLOCK_NOTIFY_OP_DISCARD;
	case 5: return BLOCK_NOTIFY_OP_SECURE_ERASE;
	case 9: return BLOCK_NOTIFY_OP_WRITE_ZEROES;
	default: return BLOCK_NOTIFY_OP_OTHER;	/* zone numbers differ between kernels */
	}
}

static __always_inline void detail_copy(struct block_notification *ev, const struct bn_detail *d)
{
	ev->transport = d->transport;
	ev->detail = d->detail;
	ev->retries = d->retries;
	ev->status = d->status;
	ev->command_id = d->command_id;
	ev->sense_key = d->sense_key;
	ev->asc = d->asc;
	ev->ascq = d->ascq;
	ev->opcode = d->opcode;
	ev->device_lba = d->device_lba;
}

/*
 * A soft record (retry, recovered) for rq with the entry's detail, made at
 * the transport hook: the request has not completed.
 */
static __always_inline void detail_soft(const struct request___x *rq, const struct bn_detail *d,
					__u32 subtype)
{
	struct block_notification ev = {};
	const struct bn_config *cfg;
	__u32 zero = 0;

	/* Passthrough commands (REQ_OP_DRV_IN/OUT: SG_IO, the driver's own
	 * probes, such as the TEST UNIT READY retried after a unit attention)
	 * are not I/O: block_rq_error skips them, and so do soft records. */
	if ((BPF_CORE_READ(rq, cmd_flags) & 0xff) >= 34)
		return;
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return;
	ev.watch.type = WATCH_TYPE_BLOCK_NOTIFY;
	ev.watch.subtype = subtype;
	ev.dev = bn_dev_from_kernel(rq_kdev(rq));
	ev.sector = BPF_CORE_READ(rq, __sector);
	ev.time_ns = bpf_ktime_get_ns();
	ev.nr_sectors = BPF_CORE_READ(rq, __data_len) >> 9;
	ev.op = rq_op(rq);
	detail_copy(&ev, d);
	detail_count(3);
	fanout(cfg, &ev);
}

/*
 * The entry at (kdev, sector), copied into *copy, if it is the request now
 * completing there: that address still in flight or completing, at that
 * sector of that disk, with the start time the entry was made with.  Its
 * request, or NULL (no entry, or another request's: a stale one).
 */
static __always_inline const struct request___x *
detail_take(const struct bn_detail_key *k, struct bn_detail *copy)
{
	const struct request___x *rq;
	struct bn_detail *d;

	d = bpf_map_lookup_elem(&details, k);
	if (!d)
		return NULL;
	*copy = *d;
	rq = (const void *)(unsigned long)copy->rq;
	if (BPF_CORE_READ(rq, state) == BN_MQ_RQ_IDLE ||
	    BPF_CORE_READ(rq, __sector) != k->sector ||
	    BPF_CORE_READ(rq, start_time_ns) != copy->start_ns ||
	    rq_kdev(rq) != k->dev) {
		detail_count(2);
		return NULL;
	}
	return rq;
}

/*
 * At block_rq_error: the detail of the failing request at (kdev, sector),
 * if an error hook saw it.  If the request goes on past what this
 * completion covers (ev->nr_sectors), the entry moves to where the rest
 * starts.
 */
static __always_inline void detail_join(struct block_notification *ev, __u32 kdev)
{
	struct bn_detail_key k = { .dev = kdev, .sector = ev->sector };
	const struct request___x *rq;
	struct bn_detail copy;
	__u32 left;

	rq = detail_take(&k, &copy);
	if (!rq)
		return;
	detail_copy(ev, &copy);
	detail_count(1);
	bpf_map_delete_elem(&details, &k);
	left = BPF_CORE_READ(rq, __data_len) >> 9;
	if (left > ev->nr_sectors) {
		k.sector += ev->nr_sectors;
		bpf_map_update_elem(&details, &k, &copy, BPF_ANY);
	}
}

/*
 * At a successful completion (block_rq_complete, the per-completion attach
 * point only): if an error hook keyed this request and the kernel retried
 * it, the retries worked: a NOTIFY_BLOCK_SOFT_RETRY_SUCCEEDED record with
 * their number.  The entry is done with either way.  A hash lookup per
 * completion, which that attach point costs anyway (a program run each).
 */
static __always_inline void detail_succeeded(__u32 kdev, __u64 sector, __u32 nr_sector)
{
	struct bn_detail_key k = { .dev = kdev, .sector = sector };
	const struct request___x *rq;
	struct bn_detail copy;

	rq = detail_take(&k, &copy);
	/* Only the completion that ends the request: SCSI "completes" 0 bytes
	 * with no error before it fails the rest of a command. */
	if (!rq || !nr_sector || nr_sector < BPF_CORE_READ(rq, __data_len) >> 9)
		return;
	bpf_map_delete_elem(&details, &k);
	if (copy.retries)
		detail_soft(rq, &copy, NOTIFY_BLOCK_SOFT_RETRY_SUCCEEDED);
}

#endif /* BLKNOTIFY_DETAIL_BPF_H */
