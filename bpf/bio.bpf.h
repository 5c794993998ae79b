/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Errors born above the request layer: bios that a bio-based device
 * (device-mapper, md, and other stacking or bio-based drivers: zram, brd,
 * pmem, drbd, bcache) completes with an error without any request of its own
 * failing: dm-integrity's checksum mismatch (BLK_STS_PROTECTION, EILSEQ),
 * dm-thin out of data space (BLK_STS_NOSPC), dm-flakey's "down" intervals and
 * error_writes, an md array that fails a bio.  block_rq_error never sees
 * those.  Included from blknotify.bpf.c; opt-in (BLKNOTIFY_QUEUE_BPF_BIO).
 *
 * Where: block:block_bio_complete, a tp_btf program (the bio itself, no
 * record assembled by the tracepoint).  bio_endio() fires it once for each
 * bio that went through submit_bio_noacct() (which sets
 * BIO_TRACE_COMPLETION, since commit fbbaf700e7b1 "block: trace completion
 * of all bios", 4.14), successful or not, except the bios blk-mq completes
 * as part of a request: blk_update_request() and blk_complete_request()
 * clear the flag ("Completion has already been traced").  So it runs for
 * every bio of a bio-based device (each level of a dm/md stack), and for
 * the rare bio of a request-based disk that ends before it joins a request;
 * healthy I/O on request-based disks runs it 0 times.  No error-only point
 * covers these failures on 6.1, 6.12 and 6.18: dm marks an
 * error in dm_io_set_error() (static inline), md in per-personality end_io
 * functions that run for every bio, dm-integrity's dm_audit_log_bio() covers
 * one target only, and all of them live in modules that may load after we
 * attach.  So this program runs per bio and is opt-in; the first thing it
 * does is return on bi_status == 0 (see bench/RESULTS.md for its cost).
 *
 * Which bios: those whose disk has no blk-mq queue (queue->mq_ops == NULL),
 * i.e. bio-based devices.  A request-based disk's bios that end before a
 * request exists are not device errors: REQ_NOWAIT bios that would block
 * (BLK_STS_AGAIN, which io_uring resubmits), bios to a dying queue.  For the
 * same reason BLK_STS_AGAIN is not reported for bio-based devices either
 * (dm fails REQ_NOWAIT bios with it while suspended).  A dm/md device over a
 * failing disk gets a record of its own besides the disk's: both devices saw
 * their I/O fail, at their own sectors (docs/libblknotify.3.md).
 *
 * The record: the bio's whole disk (bd_disk->part0, converted like
 * bn_dev_from_kernel()), its first sector (whole-disk: submit_bio_noacct()
 * has already added a partition's start when the tracepoint can fire), its
 * size in sectors, the op and flags from bi_opf the way blk_fill_rwbs()
 * spells them (so they decode exactly as the request records do), and the
 * errno blk_status_to_errno() gives: read from the kernel's own table
 * (blk_errors[], found in /proc/kallsyms by the loader), because
 * blk_status_t values are macros, in no BTF, and not ABI.
 */
#ifndef BLKNOTIFY_BIO_BPF_H
#define BLKNOTIFY_BIO_BPF_H

struct request_queue___bn {
	const void *mq_ops;
} __attribute__((preserve_access_index));

struct block_device___bn;

struct gendisk___bn {
	struct block_device___bn *part0;	/* 5.11+ (commit 0d02129e76ed) */
	struct request_queue___bn *queue;
} __attribute__((preserve_access_index));

struct block_device___bn {
	__u32 bd_dev;
	struct gendisk___bn *bd_disk;
} __attribute__((preserve_access_index));

struct bvec_iter___bn {
	__u64 bi_sector;
	__u32 bi_size;
} __attribute__((preserve_access_index));

struct bio___bn {
	struct block_device___bn *bi_bdev;	/* 5.12+ (commit 309dca309fc3) */
	__u32 bi_opf;
	__u8 bi_status;
	struct bvec_iter___bn bi_iter;
} __attribute__((preserve_access_index));

/* For CO-RE enum relocations: the values are the running kernel's. */
enum req_op {
	REQ_OP_READ = 0,
	REQ_OP_WRITE = 1,
	REQ_OP_FLUSH = 2,
	REQ_OP_DISCARD = 3,
	REQ_OP_SECURE_ERASE = 5,
};

enum req_flag_bits {
	__REQ_FAILFAST_DEV = 8,		/* = REQ_OP_BITS */
	__REQ_SYNC = 11,
	__REQ_META = 12,
	__REQ_FUA = 17,
	__REQ_PREFLUSH = 18,
	__REQ_RAHEAD = 19,
};

/*
 * The kernel's blk_errors[] (block/blk-core.c: struct { int errno; const
 * char *name; }, indexed by blk_status_t, unchanged since 4.13's commit
 * 2a842acab109 "block: introduce new block status code type"): its address,
 * its number of entries and the entry size, set by the loader; 0 when
 * /proc/kallsyms does not have it (CONFIG_KALLSYMS_ALL off).
 */
const volatile __u64 bio_status_table = 0;
const volatile __u32 bio_status_nr = 0;
const volatile __u32 bio_status_stride = 0;

/* Failed bios the program saw (any device), and those it reported on. */
__u64 bio_runs;
__u64 bio_reported;

/*
 * blk_status_to_errno() without the table: the statuses every kernel from
 * 4.13 to 6.18 numbers this way (the list has only been appended to).
 */
static __always_inline int bio_errno_builtin(__u32 st)
{
	switch (st) {
	case 1: return -EOPNOTSUPP;
	case 2: return -ETIMEDOUT;
	case 3: return -ENOSPC;
	case 4: return -ENOLINK;
	case 5: return -EREMOTEIO;
	case 6: return -EBADE;
	case 7: return -ENODATA;
	case 8: return -EILSEQ;
	case 9: return -ENOMEM;
	case 12: return -EAGAIN;
	case 13: return -EBUSY;
	case 14: return -ETOOMANYREFS;
	case 15: return -EOVERFLOW;
	case 16: return -ENODEV;
	case 17: return -ETIME;
	case 19: return -EINVAL;
	default: return -EIO;
	}
}

static __always_inline int bio_errno(__u32 st)
{
	int e = 0;

	if (!bio_status_table)
		return bio_errno_builtin(st);
	if (st < bio_status_nr &&
	    !bpf_probe_read_kernel(&e, sizeof(e),
				   (const void *)(bio_status_table + (__u64)st * bio_status_stride)) &&
	    e < 0 && e > -4096)
		return e;
	return -EIO;	/* a hole in the table, or past it: an error all the same */
}

#define BN_REQ_BIT(name) (1U << bpf_core_enum_value(enum req_flag_bits, name))

/*
 * blk_fill_rwbs(), for parse_rwbs(): the same op and flags as a request
 * record.  Built in a register (a store at a variable offset of the stack
 * is what the verifier refuses), least significant byte first.
 */
#define BN_RWBS_PUT(acc, i, c) do { (acc) |= (__u64)(c) << ((i) * 8); (i)++; } while (0)

static __always_inline __u64 bio_rwbs(__u32 opf)
{
	__u32 op = opf & ((1U << bpf_core_enum_value(enum req_flag_bits, __REQ_FAILFAST_DEV)) - 1);
	__u64 acc = 0;
	__u32 i = 0;

	if (opf & BN_REQ_BIT(__REQ_PREFLUSH))
		BN_RWBS_PUT(acc, i, 'F');
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_WRITE)) {
		BN_RWBS_PUT(acc, i, 'W');
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_DISCARD)) {
		BN_RWBS_PUT(acc, i, 'D');
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_SECURE_ERASE)) {
		BN_RWBS_PUT(acc, i, 'D');
		BN_RWBS_PUT(acc, i, 'E');
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_FLUSH)) {
		BN_RWBS_PUT(acc, i, 'F');
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_READ)) {
		BN_RWBS_PUT(acc, i, 'R');
	} else {
		BN_RWBS_PUT(acc, i, 'N');
	}
	if (opf & BN_REQ_BIT(__REQ_FUA))
		BN_RWBS_PUT(acc, i, 'F');
	if (opf & BN_REQ_BIT(__REQ_RAHEAD))
		BN_RWBS_PUT(acc, i, 'A');
	if (opf & BN_REQ_BIT(__REQ_SYNC))
		BN_RWBS_PUT(acc, i, 'S');
	if (opf & BN_REQ_BIT(__REQ_META))
		BN_RWBS_PUT(acc, i, 'M');
	return acc;	/* at most 7 characters: the 8th byte stays NUL */
}

SEC("tp_btf/block_bio_complete")
int block_bio_complete(__u64 *ctx)
{
	struct bio___bn *bio = (void *)ctx[1];
	struct gendisk___bn *disk;
	__u32 st = bio->bi_status;
	char buf[8], *p = buf;
	int err;
	__u64 rwbs;

	if (!st)
		return 0;		/* every healthy bio ends here */
	__sync_fetch_and_add(&bio_runs, 1);
	disk = bio->bi_bdev->bd_disk;
	if (!disk || disk->queue->mq_ops)
		return 0;		/* request-based: see "Which bios" above */
	err = bio_errno(st);
	if (err == -EAGAIN)
		return 0;		/* a nonblocking bio that would block: retried */
	__sync_fetch_and_add(&bio_reported, 1);
	rwbs = bio_rwbs(bio->bi_opf);
	__builtin_memcpy(buf, &rwbs, sizeof(buf));
	/* Hide the buffer's alignment: the compiler would otherwise turn
	 * parse_rwbs()'s buf + i into buf | i, which the verifier refuses. */
	asm volatile("" : "+r"(p));
	/* Not counted in counters.watched: ftrace's block_rq_error never sees it. */
	handle(disk->part0->bd_dev, bio->bi_iter.bi_sector, bio->bi_iter.bi_size >> 9, err, p);
	return 0;
}

#endif /* BLKNOTIFY_BIO_BPF_H */
