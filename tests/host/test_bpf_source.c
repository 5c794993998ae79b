// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The bpf source on real errors: a blkfault device whose sectors fail inside
 * the block layer, read and written with O_DIRECT.  Each test watches only
 * its own device, so errors elsewhere on the machine cannot disturb it.
 *
 * A failed request's record is in the ring before the failed pread()
 * returns (the tracepoint fires in blk_update_request(), before the waiter
 * is completed), so the tests read with timeout 0 and never sleep.
 *
 * Needs root, /dev/fuse and /dev/loop-control.
 */
#include <errno.h>
#include <time.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <linux/blkpg.h>
#include <sys/sysmacros.h>

#include <bpf/bpf.h>
#include <blknotify/blknotify.h>
#include "queue.h"
#include "blknotify.bpf.h"
#include "source-bpf-detail.h"
#include "faulty.h"

/*
 * Bad ranges: [1000, 1200) on reads and writes, [5000, 5008) on reads,
 * [6000, 6008) on writes; from 8000, one sector per errno the loop driver
 * passes through (as its blk_status_t), for every subtype a host can make.
 */
static const struct { const char *name; int err; unsigned int subtype; } errnos[] = {
	{ "ETIMEDOUT",	ETIMEDOUT,	NOTIFY_BLOCK_ERROR_TIMEOUT },
	{ "ENOSPC",	ENOSPC,		NOTIFY_BLOCK_ERROR_NO_SPACE },
	{ "ENOLINK",	ENOLINK,	NOTIFY_BLOCK_ERROR_RECOVERABLE_TRANSPORT },
	{ "EREMOTEIO",	EREMOTEIO,	NOTIFY_BLOCK_ERROR_CRITICAL_TARGET },
	{ "EBADE",	EBADE,		NOTIFY_BLOCK_ERROR_CRITICAL_NEXUS },
	{ "ENODATA",	ENODATA,	NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM },
	{ "EILSEQ",	EILSEQ,		NOTIFY_BLOCK_ERROR_PROTECTION },
	{ "ENOMEM",	ENOMEM,		NOTIFY_BLOCK_ERROR_KERNEL_RESOURCE },
	{ "EBUSY",	EBUSY,		NOTIFY_BLOCK_ERROR_DEVICE_RESOURCE },
	{ "EIO",	EIO,		NOTIFY_BLOCK_ERROR_IO },
	{ "EOPNOTSUPP",	EOPNOTSUPP,	NOTIFY_BLOCK_ERROR_NOT_SUPPORTED },
};
#define NR_ERRNOS (sizeof(errnos) / sizeof(errnos[0]))
static char errno_ranges[NR_ERRNOS][32];
static const char *bad_ranges[4 + NR_ERRNOS] = { "1000+200", "5000+8:r", "6000+8:w" };
static struct faulty dev;
static int setup_err;

static void setup(void)
{
	for (unsigned int i = 0; i < NR_ERRNOS; i++) {
		snprintf(errno_ranges[i], sizeof(errno_ranges[i]), "%u+1:r:%s", 8000 + i,
			 errnos[i].name);
		bad_ranges[3 + i] = errno_ranges[i];
	}
	setup_err = faulty_start_for_program(&dev, bad_ranges);
}
#define TEST_SETUP setup
#include "../harness.h"
#define RECORDS_LEN BLOCK_NOTIFICATION_SIZE_V2	/* the bpf source */
#include "records.h"
#include "host-test.h"

static void need_device(void)
{
	need_faulty(setup_err, NULL);
}

static struct blknotify_queue *open_queue(unsigned int flags, unsigned int size,
					  unsigned int id)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_BPF,
		       .flags = flags);

	return queue_watching(&opts, size, dev.rdev, id);
}

static void expect_record(const struct block_notification *r, __u64 sector, unsigned int nr,
			  unsigned int op, unsigned int id, __u64 t0, __u64 t1)
{
	ASSERT_EQ(r->watch.subtype, NOTIFY_BLOCK_ERROR_IO);
	ASSERT_EQ(r->dev, dev.rdev);
	ASSERT_EQ(major(r->dev), major(dev.rdev));
	ASSERT_EQ(minor(r->dev), minor(dev.rdev));
	ASSERT_EQ(r->sector, sector);
	ASSERT_EQ(r->nr_sectors, nr);
	ASSERT_EQ(r->op, op);
	ASSERT_EQ(r->error, -EIO);
	ASSERT_EQ((r->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, id);
	ASSERT_EQ(r->retries, 0);
	ASSERT_EQ(r->transport, BLOCK_NOTIFY_TRANSPORT_NONE);
	ASSERT_EQ(r->detail, 0);
	/* A loop device has no transport: the device detail is all zero. */
	ASSERT_EQ(r->status, 0);
	ASSERT_EQ(r->command_id, 0);
	ASSERT_EQ(r->sense_key | r->asc | r->ascq | r->opcode, 0);
	ASSERT_EQ(r->device_lba, 0);
	ASSERT_EQ(r->value, 0);
	ASSERT_GE(r->time_ns, t0);
	ASSERT_LE(r->time_ns, t1);
}

static void check_reads_and_writes(unsigned int flags)
{
	struct block_notification recs[16];
	struct blknotify_queue *q;
	__u64 t0, t1;
	int i;

	need_device();
	q = open_queue(flags, 0, 7);
	t0 = now_ns();
	for (i = 0; i < 4; i++)
		ASSERT_EQ(faulty_io(&dev, 1000 + 3 * i, 1, 0), -EIO);
	ASSERT_EQ(faulty_io(&dev, 1100, 8, 0), -EIO);		/* 4 KiB */
	ASSERT_EQ(faulty_io(&dev, 6000, 1, 1), -EIO);		/* write-bad */
	ASSERT_EQ(faulty_io(&dev, 6000, 1, 0), 0);		/* ... readable */
	ASSERT_EQ(faulty_io(&dev, 5000, 1, 0), -EIO);		/* read-bad */
	t1 = now_ns();
	ASSERT_EQ(drain_records(q, recs, 16, NULL, NULL), 7);
	for (i = 0; i < 4; i++)
		expect_record(&recs[i], 1000 + 3 * i, 1, BLOCK_NOTIFY_OP_READ, 7, t0, t1);
	expect_record(&recs[4], 1100, 8, BLOCK_NOTIFY_OP_READ, 7, t0, t1);
	expect_record(&recs[5], 6000, 1, BLOCK_NOTIFY_OP_WRITE, 7, t0, t1);
	expect_record(&recs[6], 5000, 1, BLOCK_NOTIFY_OP_READ, 7, t0, t1);
	blknotify_queue_free(q);
}

TEST(bad_reads_and_writes_give_exact_records)
{
	check_reads_and_writes(0);
}

TEST(fallback_attach_point_gives_the_same_records)
{
	check_reads_and_writes(BLKNOTIFY_QUEUE_BPF_COMPLETE);
}

TEST(every_errno_gives_its_subtype)
{
	struct block_notification recs[NR_ERRNOS];
	struct blknotify_queue *q;
	unsigned int i;

	need_device();
	q = open_queue(0, 0, 9);
	for (i = 0; i < NR_ERRNOS; i++)
		ASSERT_EQ(faulty_io(&dev, 8000 + i, 1, 0), -errnos[i].err);
	ASSERT_EQ(drain_records(q, recs, NR_ERRNOS, NULL, NULL), NR_ERRNOS);
	for (i = 0; i < NR_ERRNOS; i++) {
		printf("# %s -> %s\n", errnos[i].name, blknotify_subtype_name(recs[i].watch.subtype));
		ASSERT_EQ(recs[i].sector, 8000 + i);
		ASSERT_EQ(recs[i].error, -errnos[i].err);
		ASSERT_EQ(recs[i].watch.subtype, errnos[i].subtype);
	}
	blknotify_queue_free(q);
}

static __u64 run_count(struct blknotify_queue *q)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	ASSERT_EQ(bpf_obj_get_info_by_fd(source_bpf_prog_fd(q), &info, &len), 0);
	return info.run_cnt;
}

/* Runs of the transport-detail programs this kernel loaded (none without SCSI or NVMe). */
static __u64 detail_run_count(struct blknotify_queue *q, int *nr_progs)
{
	int fds[16], i, n = source_bpf_detail_fds(q, fds, 16);
	__u64 runs = 0;

	for (i = 0; i < n; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		ASSERT_EQ(bpf_obj_get_info_by_fd(fds[i], &info, &len), 0);
		runs += info.run_cnt;
	}
	*nr_progs = n;
	return runs;
}

/* The default attach point costs successful I/O nothing: it never runs. */
TEST(healthy_io_runs_no_program)
{
	struct blknotify_queue *q, *qc, *qb;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int stats_fd, i, nr_detail;

	need_device();
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);	/* counts while open */
	ASSERT_GE(stats_fd, 0);
	q = open_queue(0, 0, 1);
	qc = open_queue(BLKNOTIFY_QUEUE_BPF_COMPLETE, 0, 1);
	/* The opt-in bio program runs per bio of bio-based devices only
	 * (this host has none in use); a request's bios never run it. */
	qb = open_queue(BLKNOTIFY_QUEUE_BPF_BIO, 0, 1);
	for (i = 0; i < 2000; i++)
		ASSERT_EQ(faulty_io(&dev, (i % 100) * 8, 8, 0), 0);
	ASSERT_EQ(run_count(q), 0);
	ASSERT_EQ(run_count(qb), 0);
	ASSERT_EQ(bpf_obj_get_info_by_fd(source_bpf_bio_prog_fd(qb), &info, &len), 0);
	ASSERT_EQ(info.run_cnt, 0);
	ASSERT_EQ(detail_run_count(q, &nr_detail), 0);
	printf("# %d transport-detail programs loaded, 0 runs\n", nr_detail);
	/* The fallback runs on every completion of every disk (ours at least). */
	ASSERT_GE(run_count(qc), 2000);
	ASSERT_EQ(faulty_io(&dev, 1060, 1, 0), -EIO);
	ASSERT_EQ(run_count(q), 1);
	ASSERT_EQ(run_count(qb), 1);
	memset(&info, 0, sizeof(info));		/* the last call filled in counts */
	len = sizeof(info);
	ASSERT_EQ(bpf_obj_get_info_by_fd(source_bpf_bio_prog_fd(qb), &info, &len), 0);
	ASSERT_EQ(info.run_cnt, 0);
	close(stats_fd);
	blknotify_queue_free(q);
	blknotify_queue_free(qc);
	blknotify_queue_free(qb);
}

/*
 * The opt-in bio program (BLKNOTIFY_QUEUE_BPF_BIO) reports bio-based
 * devices (dm, md, ...), which this host has none of.  A loop device is
 * request-based: its failed read is the request record alone, never a
 * second record for the same bio.  (Its bios do not even run the program:
 * blk-mq clears BIO_TRACE_COMPLETION on the bios of a request, see
 * bpf/bio.bpf.h; healthy_io_runs_no_program asserts it.)  The records of
 * bio-based devices are checked on stock kernels (tests/vm, dm_bio).
 */
TEST(bio_program_adds_no_record_for_request_disks)
{
	struct block_notification recs[4];
	struct blknotify_queue *q;
	__u64 t0, t1;

	need_device();
	q = open_queue(BLKNOTIFY_QUEUE_BPF_BIO, 0, 3);
	ASSERT_GE(source_bpf_bio_prog_fd(q), 0);
	t0 = now_ns();
	ASSERT_EQ(faulty_io(&dev, 1060, 8, 0), -EIO);
	ASSERT_EQ(faulty_io(&dev, 6000, 8, 1), -EIO);
	t1 = now_ns();
	ASSERT_EQ(drain_records(q, recs, 4, NULL, NULL), 2);
	expect_record(&recs[0], 1060, 8, BLOCK_NOTIFY_OP_READ, 3, t0, t1);
	expect_record(&recs[1], 6000, 8, BLOCK_NOTIFY_OP_WRITE, 3, t0, t1);
	blknotify_queue_free(q);
	/* Without the flag the bio program is not even loaded. */
	q = open_queue(0, 0, 3);
	ASSERT_EQ(source_bpf_bio_prog_fd(q), -1);
	blknotify_queue_free(q);
}

TEST(good_sectors_give_no_record)
{
	struct block_notification recs[4];
	struct blknotify_queue *q;
	int i;

	need_device();
	q = open_queue(0, 0, 1);
	for (i = 0; i < 100; i++)
		ASSERT_EQ(faulty_io(&dev, i * 8, 8, 0), 0);
	for (i = 0; i < 20; i++)
		ASSERT_EQ(faulty_io(&dev, 2000 + i * 8, 8, 1), 0);
	ASSERT_EQ(faulty_io(&dev, 999, 1, 0), 0);		/* next to a bad range */
	ASSERT_EQ(faulty_io(&dev, 1200, 1, 0), 0);
	ASSERT_EQ(drain_records(q, recs, 4, NULL, NULL), 0);
	/* And the queue is live: one bad read is one record. */
	ASSERT_EQ(faulty_io(&dev, 1199, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 4, NULL, NULL), 1);
	ASSERT_EQ(recs[0].sector, 1199);
	blknotify_queue_free(q);
}

TEST(two_queues_each_get_every_record)
{
	struct block_notification a[64], b[64];
	struct blknotify_queue *qa, *qb;
	int i;

	need_device();
	qa = open_queue(0, 0, 1);
	qb = open_queue(0, 0, 2);
	for (i = 0; i < 50; i++)
		ASSERT_EQ(faulty_io(&dev, 1000 + i, 1, 0), -EIO);
	ASSERT_EQ(drain_records(qa, a, 64, NULL, NULL), 50);
	ASSERT_EQ(drain_records(qb, b, 64, NULL, NULL), 50);
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(a[i].sector, 1000 + i);
		ASSERT_EQ(b[i].sector, 1000 + i);
		ASSERT_EQ(a[i].watch.info & WATCH_INFO_ID, 1 << WATCH_INFO_ID__SHIFT);
		ASSERT_EQ(b[i].watch.info & WATCH_INFO_ID, 2 << WATCH_INFO_ID__SHIFT);
	}
	blknotify_queue_free(qa);
	blknotify_queue_free(qb);
}

TEST(subtype_filter_excludes_and_can_change_live)
{
	struct {
		struct watch_notification_filter f;
		struct watch_notification_type_filter t[1];
	} fl = { .f.nr_filters = 1 };
	struct block_notification recs[8];
	struct blknotify_queue *q;

	need_device();
	q = open_queue(0, 0, 3);
	fl.t[0].type = WATCH_TYPE_BLOCK_NOTIFY;
	fl.t[0].subtype_filter[0] = 1U << NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_EQ(faulty_io(&dev, 1010, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 8, NULL, NULL), 0);
	fl.t[0].subtype_filter[0] |= 1U << NOTIFY_BLOCK_ERROR_IO;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_EQ(faulty_io(&dev, 1011, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 8, NULL, NULL), 1);
	ASSERT_EQ(recs[0].sector, 1011);
	blknotify_queue_free(q);
}

TEST(watch_ids_and_info_filter)
{
	struct {
		struct watch_notification_filter f;
		struct watch_notification_type_filter t[1];
	} fl = { .f.nr_filters = 1 };
	struct block_notification recs[8];
	struct blknotify_queue *q;

	need_device();
	q = open_queue(0, 0, 20);
	ASSERT_EQ(blknotify_queue_watch_device(q, dev.rdev, 21), 0);
	/* Two watches match: one record for each, with its own ID. */
	ASSERT_EQ(faulty_io(&dev, 1020, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 8, NULL, NULL), 2);
	ASSERT_EQ((recs[0].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 20);
	ASSERT_EQ((recs[1].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 21);
	/* info_filter on the ID keeps watch 21's records only. */
	fl.t[0].type = WATCH_TYPE_BLOCK_NOTIFY;
	memset(fl.t[0].subtype_filter, 0xff, sizeof(fl.t[0].subtype_filter));
	fl.t[0].info_mask = WATCH_INFO_ID;
	fl.t[0].info_filter = 21 << WATCH_INFO_ID__SHIFT;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_EQ(faulty_io(&dev, 1021, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 8, NULL, NULL), 1);
	ASSERT_EQ((recs[0].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 21);
	/* Removing the watch stops its records. */
	ASSERT_EQ(blknotify_queue_remove_watch(q, 21), 0);
	ASSERT_EQ(faulty_io(&dev, 1022, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 8, NULL, NULL), 0);
	blknotify_queue_free(q);
}

TEST(other_devices_are_not_watched)
{
	static const char *const other_bad[] = { "0+16", NULL };
	struct block_notification recs[8];
	struct blknotify_queue *q;
	struct faulty other;
	int err;

	need_device();
	q = open_queue(0, 0, 1);
	err = faulty_start(&other, other_bad);
	if (err)
		TEST_FAIL_(1, "second blkfault: %s", strerror(-err));
	ASSERT_EQ(faulty_io(&other, 3, 1, 0), -EIO);
	ASSERT_EQ(faulty_io(&dev, 1030, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 8, NULL, NULL), 1);
	ASSERT_EQ(recs[0].sector, 1030);
	faulty_stop(&other);
	blknotify_queue_free(q);
}

TEST(tiny_queue_counts_every_loss)
{
	enum { ERRORS = 300 };
	struct block_notification recs[ERRORS];
	struct blknotify_queue *q;
	__u64 lost = 0;
	int i, got;

	need_device();
	q = open_queue(0, 1, 4);
	for (i = 0; i < ERRORS; i++)
		ASSERT_EQ(faulty_io(&dev, 1000 + i % 200, 1, 0), -EIO);
	got = drain_records(q, recs, ERRORS, &lost, NULL);
	ASSERT_GE(got, 1);
	ASSERT_GT(lost, 0);
	ASSERT_EQ(got + lost, ERRORS);
	/* The first error made it; the queue holds one record. */
	ASSERT_EQ(recs[0].sector, 1000);
	ASSERT_EQ(got, 1);
	/* After loss, the next record arrives behind a loss record with the count. */
	lost = 0;
	ASSERT_EQ(faulty_io(&dev, 1150, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, ERRORS, &lost, NULL), 1);
	ASSERT_EQ(lost, 0);
	ASSERT_EQ(recs[0].sector, 1150);
	blknotify_queue_free(q);
}

TEST(default_queue_keeps_a_burst_whole)
{
	enum { ERRORS = 2000 };
	static struct block_notification recs[ERRORS];
	struct blknotify_queue *q;
	int i;

	need_device();
	q = open_queue(0, 0, 5);
	ASSERT_EQ(blknotify_queue_get_size(q), BLKNOTIFY_QUEUE_SIZE_DEFAULT);
	for (i = 0; i < ERRORS; i++)
		ASSERT_EQ(faulty_io(&dev, 1000 + i % 200, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, ERRORS, NULL, NULL), ERRORS);
	for (i = 0; i < ERRORS; i++)
		ASSERT_EQ(recs[i].sector, 1000 + i % 200);
	blknotify_queue_free(q);
}

TEST(blocking_read_and_short_buffer)
{
	struct blknotify_queue *q;
	unsigned char buf[256];
	ssize_t n;

	need_device();
	q = open_queue(0, 0, 6);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EAGAIN);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 50), -EAGAIN);	/* times out */
	ASSERT_EQ(faulty_io(&dev, 1040, 1, 0), -EIO);
	/* The queue's fd polls readable once a record is queued. */
	{
		struct pollfd pfd = { .fd = blknotify_queue_get_fd(q), .events = POLLIN };

		ASSERT_EQ(poll(&pfd, 1, -1), 1);
		ASSERT_TRUE(pfd.revents & POLLIN);
	}
	/* Blocking read returns the record already queued. */
	n = blknotify_queue_read(q, buf, sizeof(buf), -1);
	ASSERT_EQ(n, BLOCK_NOTIFICATION_SIZE_V2);
	/* Too small a buffer: -ENOBUFS, and the record stays queued. */
	ASSERT_EQ(faulty_io(&dev, 1041, 1, 0), -EIO);
	ASSERT_EQ(blknotify_queue_read(q, buf, BLOCK_NOTIFICATION_SIZE_V2 - 1, 0), -ENOBUFS);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), BLOCK_NOTIFICATION_SIZE_V2);
	ASSERT_EQ(((struct block_notification *)buf)->sector, 1041);
	blknotify_queue_free(q);
}

/* One poll() of the queue's fd (at most timeout_ms), then one read without waiting. */
static ssize_t poll_then_read(struct blknotify_queue *q, void *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = blknotify_queue_get_fd(q), .events = POLLIN };
	int n = poll(&pfd, 1, timeout_ms);

	if (n <= 0)
		return n < 0 ? -errno : -ETIMEDOUT;
	return blknotify_queue_read(q, buf, len, 0);
}

/* The program's counters, from its .bss map (struct bn_counters comes first). */
static struct bn_counters program_counters(struct blknotify_queue *q)
{
	struct bn_counters c = {};
	struct bpf_prog_info info = {};
	__u32 ids[8], len = sizeof(info);

	info.nr_map_ids = 8;
	info.map_ids = (__u64)(unsigned long)ids;
	ASSERT_EQ(bpf_obj_get_info_by_fd(source_bpf_prog_fd(q), &info, &len), 0);
	for (__u32 i = 0; i < info.nr_map_ids && i < 8; i++) {
		struct bpf_map_info m = {};
		__u32 mlen = sizeof(m), zero = 0;
		int fd = bpf_map_get_fd_by_id(ids[i]);
		unsigned char value[256];

		ASSERT_GE(fd, 0);
		ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &m, &mlen), 0);
		if (strstr(m.name, ".bss") && m.value_size >= sizeof(c) && m.value_size <= sizeof(value)) {
			ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, value), 0);
			memcpy(&c, value, sizeof(c));
		}
		close(fd);
	}
	return c;
}

static struct {
	int go;			/* 1: fail a read now; -1: exit */
	int result;
} helper;

/* Fails sector 1051 whenever told to, at once (no thread start-up delay). */
static void *fail_reads(void *arg)
{
	int go;

	(void)arg;
	while ((go = __atomic_load_n(&helper.go, __ATOMIC_ACQUIRE)) >= 0) {
		if (go == 1) {
			helper.result = faulty_io(&dev, 1051, 1, 0);
			__atomic_store_n(&helper.go, 0, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

/*
 * A caller that reads once per poll (not until -EAGAIN) gets a record that
 * fails while it is blocked in poll(), within the batching window opened by
 * the record it just read, for which the program wakes nobody; and once all
 * is read the fd stops polling readable.
 */
TEST(read_once_per_poll_gets_records_of_the_batch_window)
{
	unsigned char buf[256];
	struct blknotify_queue *q;
	__u64 deferred0;
	pthread_t th;
	ssize_t n;
	int i;

	need_device();
	/* Without the reconciliation's timer, which would add a wake-up per
	 * 0.1 s while errors come (lib/reconcile.c): this is the batch timer's. */
	q = open_queue(BLKNOTIFY_QUEUE_BPF_NO_RECONCILE, 0, 8);
	deferred0 = program_counters(q).deferred_wakeups;
	ASSERT_EQ(pthread_create(&th, NULL, fail_reads, NULL), 0);
	/* Until the second error fell inside the window 5 times (the machine
	 * may be slow), at most 100 tries; every record must arrive each time. */
	for (i = 0; i < 100 && program_counters(q).deferred_wakeups - deferred0 < 5; i++) {
		int got = 0, empty = 0;

		ASSERT_EQ(faulty_io(&dev, 1050, 1, 0), -EIO);
		ASSERT_EQ(poll_then_read(q, buf, sizeof(buf), 5000), BLOCK_NOTIFICATION_SIZE_V2);
		ASSERT_EQ(((struct block_notification *)buf)->sector, 1050);
		__atomic_store_n(&helper.go, 1, __ATOMIC_RELEASE);
		while (!got) {
			n = poll_then_read(q, buf, sizeof(buf), 5000);
			ASSERT_NE(n, -ETIMEDOUT);
			if (n == -EAGAIN) {
				ASSERT_LT(++empty, 4);	/* the fd does not stay readable */
				continue;
			}
			ASSERT_EQ(n, BLOCK_NOTIFICATION_SIZE_V2);
			ASSERT_EQ(((struct block_notification *)buf)->sector, 1051);
			got = 1;
		}
		while (__atomic_load_n(&helper.go, __ATOMIC_ACQUIRE))
			;
		ASSERT_EQ(helper.result, -EIO);
		/* What is left to read is wake-ups, then the fd goes quiet. */
		for (empty = 0; (n = poll_then_read(q, buf, sizeof(buf), 20)) != -ETIMEDOUT; )
			ASSERT_LT(++empty, 4);
	}
	__atomic_store_n(&helper.go, -1, __ATOMIC_RELEASE);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_GE(program_counters(q).deferred_wakeups - deferred0, 5);
	blknotify_queue_free(q);
}

static struct blknotify_queue *open_pinned_flags(const char *pin, unsigned int size,
						  unsigned int flags)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_BPF,
		       .bpf_pin_path = pin, .flags = flags);
	struct blknotify_queue *q = NULL;
	int err;

	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	if (size)
		ASSERT_EQ(blknotify_queue_set_size(q, size), 0);
	err = blknotify_queue_watch_device(q, dev.rdev, 2);
	if (err)
		TEST_FAIL_(1, "watch_device: %s (%s)", strerror(-err),
			   blknotify_queue_get_error(q) ?: "");
	return q;
}

static struct blknotify_queue *open_pinned(const char *pin, unsigned int size)
{
	return open_pinned_flags(pin, size, 0);
}

static void remove_pins(const char *pin)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pin);
	ASSERT_EQ(system(cmd), 0);
}

/*
 * A pin directory an earlier owner left incomplete (a failed pin, or a
 * SIGKILL between the map pins and the link pin, which comes last): the
 * next start removes it and starts afresh, pinned again, instead of
 * failing with EEXIST on every pin.
 */
static void pinned_after_leaving(const char *const *leave)
{
	static const char *const all[] = { "events", "config", "bss", "link" };
	struct block_notification recs[4];
	struct blknotify_queue *q;
	char pin[64], path[96];
	unsigned int i, j;

	snprintf(pin, sizeof(pin), "/sys/fs/bpf/blknotify-test-half-%d", getpid());
	remove_pins(pin);
	q = open_pinned(pin, 0);
	blknotify_queue_free(q);
	for (i = 0; i < 4; i++) {
		bool keep = false;

		for (j = 0; leave[j]; j++)
			keep |= !strcmp(leave[j], all[i]);
		snprintf(path, sizeof(path), "%s/%s", pin, all[i]);
		if (!keep)
			ASSERT_EQ(unlink(path), 0);
	}
	q = open_pinned(pin, 0);	/* fails (EEXIST) without the fix */
	ASSERT_EQ(faulty_io(&dev, 1095, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 4, NULL, NULL), 1);
	ASSERT_EQ(recs[0].sector, 1095);
	blknotify_queue_free(q);
	/* Pinned again, completely: the next owner resumes it. */
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin, all[i]);
		ASSERT_EQ(access(path, F_OK), 0);
	}
	ASSERT_EQ(faulty_io(&dev, 1096, 1, 0), -EIO);
	q = open_pinned(pin, 0);
	ASSERT_EQ(drain_records(q, recs, 4, NULL, NULL), 1);
	ASSERT_EQ(recs[0].sector, 1096);
	blknotify_queue_free(q);
	remove_pins(pin);
}

TEST(pin_directory_with_maps_but_no_link_is_stale)
{
	static const char *const maps[] = { "events", "config", "bss", NULL };

	need_device();
	pinned_after_leaving(maps);
}

TEST(pin_directory_half_written_is_stale)
{
	static const char *const first[] = { "events", NULL };

	need_device();
	pinned_after_leaving(first);
}

/* A pinned queue outlives its process: what fails meanwhile is read later. */
TEST(pinned_queue_keeps_records_across_owners)
{
	struct block_notification recs[16];
	struct blknotify_queue *q;
	char pin[64];
	__u64 lost = 0;
	int i;

	need_device();
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/blknotify-test-%d", getpid());
	remove_pins(pin);
	q = open_pinned(pin, 0);
	ASSERT_EQ(faulty_io(&dev, 1070, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 16, NULL, NULL), 1);
	blknotify_queue_free(q);		/* the owner goes away ... */
	for (i = 0; i < 5; i++)			/* ... errors go on ... */
		ASSERT_EQ(faulty_io(&dev, 1071 + i, 1, 0), -EIO);
	q = open_pinned(pin, 0);		/* ... and the next owner reads them */
	ASSERT_EQ(drain_records(q, recs, 16, NULL, NULL), 5);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(recs[i].sector, 1071 + i);
	blknotify_queue_free(q);
	remove_pins(pin);

	/* Errors beyond the queue's bound while nobody reads: counted. */
	q = open_pinned(pin, 1);
	blknotify_queue_free(q);
	for (i = 0; i < 10; i++)
		ASSERT_EQ(faulty_io(&dev, 1080 + i, 1, 0), -EIO);
	q = open_pinned(pin, 0);
	ASSERT_EQ(drain_records(q, recs, 16, &lost, NULL) + lost, 10);
	ASSERT_GT(lost, 0);
	ASSERT_EQ(recs[0].sector, 1080);
	blknotify_queue_free(q);
	remove_pins(pin);

	/* Removing the pins detaches the program: a new queue is fresh. */
	ASSERT_EQ(faulty_io(&dev, 1090, 1, 0), -EIO);
	q = open_pinned(pin, 0);
	ASSERT_EQ(drain_records(q, recs, 16, NULL, NULL), 0);
	blknotify_queue_free(q);
	remove_pins(pin);
}

/*
 * The bio program is pinned beside the rest (bio_link) and taken over with
 * it; a queue asked for with the other setting restarts afresh (the pinned
 * one's records are lost, as the message says), and unpinning removes it.
 */
TEST(pinned_queue_keeps_its_bio_program_or_restarts_without)
{
	struct block_notification recs[4];
	struct blknotify_queue *q;
	char pin[64], bio_link[96];
	int fd;

	need_device();
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/blknotify-test-bio-%d", getpid());
	snprintf(bio_link, sizeof(bio_link), "%s/bio_link", pin);
	remove_pins(pin);
	q = open_pinned_flags(pin, 0, BLKNOTIFY_QUEUE_BPF_BIO);
	blknotify_queue_free(q);
	fd = bpf_obj_get(bio_link);		/* still attached, pinned */
	ASSERT_GE(fd, 0);
	close(fd);
	ASSERT_EQ(faulty_io(&dev, 1095, 1, 0), -EIO);
	q = open_pinned_flags(pin, 0, BLKNOTIFY_QUEUE_BPF_BIO);
	ASSERT_EQ(drain_records(q, recs, 4, NULL, NULL), 1);	/* taken over */
	ASSERT_EQ(recs[0].sector, 1095);
	blknotify_queue_free(q);
	ASSERT_EQ(faulty_io(&dev, 1096, 1, 0), -EIO);
	q = open_pinned(pin, 0);		/* without: afresh */
	ASSERT_EQ(access(bio_link, F_OK), -1);
	ASSERT_EQ(drain_records(q, recs, 4, NULL, NULL), 0);
	blknotify_queue_free(q);
	q = open_pinned_flags(pin, 0, BLKNOTIFY_QUEUE_BPF_BIO);	/* and back */
	ASSERT_EQ(access(bio_link, F_OK), 0);
	blknotify_queue_free(q);
	ASSERT_EQ(source_bpf_unpin(pin), 0);
	ASSERT_EQ(access(bio_link, F_OK), -1);
	ASSERT_EQ(access(pin, F_OK), -1);
}

/*
 * Add (or delete) partition 1 = disk sectors [start, start + size), without
 * a table.  A partition added this way outlives the loop device's backing
 * file (only a partition scan drops it), so the test deletes it again.
 */
static int blkpg_partition(struct faulty *f, int op, long long start, long long size)
{
	struct blkpg_partition part = {
		.start = start * 512, .length = size * 512, .pno = 1,
	};
	struct blkpg_ioctl_arg arg = {
		.op = op, .datalen = sizeof(part), .data = &part,
	};

	return ioctl(f->fd, BLKPG, &arg) ? -errno : 0;
}

/* A partition is watched as its sectors of the disk; records name the disk. */
TEST(partition_watch_is_its_range_of_the_disk)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_BPF);
	struct block_notification recs[8];
	struct blknotify_queue *q;
	struct stat st;
	char part[80];
	int i, pfd, err;

	need_device();
	/* Partition 1: disk sectors [4096, 8192): holds 5000 and 6000, not 1000. */
	blkpg_partition(&dev, BLKPG_DEL_PARTITION, 0, 0);	/* left by a crashed run */
	ASSERT_EQ(blkpg_partition(&dev, BLKPG_ADD_PARTITION, 4096, 4096), 0);
	snprintf(part, sizeof(part), "%sp1", dev.path);
	for (i = 0; i < 100 && stat(part, &st); i++)	/* devtmpfs makes the node */
		usleep(20000);
	ASSERT_EQ(stat(part, &st), 0);
	ASSERT_TRUE(S_ISBLK(st.st_mode));

	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	err = blknotify_queue_watch_device(q, st.st_rdev, 12);
	if (err)
		TEST_FAIL_(1, "watch_device(partition): %s (%s)", strerror(-err),
			   blknotify_queue_get_error(q) ?: "");
	ASSERT_EQ(faulty_io(&dev, 1000, 1, 0), -EIO);	/* the disk, outside p1 */
	pfd = open(part, O_RDONLY | O_DIRECT | O_CLOEXEC);
	ASSERT_GE(pfd, 0);
	{
		static unsigned char buf[512] __attribute__((aligned(4096)));

		/* Partition sector 904 is disk sector 5000. */
		ASSERT_EQ(pread(pfd, buf, 512, 904 * 512), -1);
		ASSERT_EQ(errno, EIO);
	}
	close(pfd);
	ASSERT_EQ(faulty_io(&dev, 5001, 1, 0), -EIO);	/* the disk, inside p1 */
	ASSERT_EQ(drain_records(q, recs, 8, NULL, NULL), 2);
	ASSERT_EQ(recs[0].dev, dev.rdev);		/* the whole disk ... */
	ASSERT_EQ(recs[0].sector, 5000);		/* ... and its sectors */
	ASSERT_EQ(recs[1].sector, 5001);
	ASSERT_EQ((recs[0].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 12);
	blknotify_queue_free(q);
	ASSERT_EQ(blkpg_partition(&dev, BLKPG_DEL_PARTITION, 0, 0), 0);
}

TEST(size_cannot_change_after_start)
{
	struct blknotify_queue *q;

	need_device();
	q = open_queue(0, 0, 8);
	ASSERT_EQ(blknotify_queue_set_size(q, 100), -EBUSY);
	ASSERT_EQ(blknotify_queue_watch_all(q, 8), -EEXIST);
	blknotify_queue_free(q);
}

/*
 * The transport-detail programs' recursion misses (lib/source-bpf-detail.c),
 * stood in for by source_bpf_detail_fake_misses: those of the hooks that
 * make soft records are loss, reported once, also across a takeover of the
 * pinned queue (the baseline is in its .bss); those of the detail-only
 * hooks are counted apart and are not loss.
 */
TEST(detail_misses_are_loss_once_across_owners)
{
	struct block_notification recs[4];
	struct blknotify_queue *q;
	char pin[64];
	__u64 lost;

	need_device();
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/blknotify-test-dm-%d", getpid());
	remove_pins(pin);
	q = open_pinned(pin, 0);
	source_bpf_detail_fake_misses[0] = 3;
	ASSERT_EQ(faulty_io(&dev, 1150, 1, 0), -EIO);
	lost = 0;
	ASSERT_EQ(drain_records(q, recs, 4, &lost, NULL), 1);
	ASSERT_EQ(recs[0].sector, 1150);
	ASSERT_EQ(lost, 3);		/* 0 before the change: silent */
	lost = 0;
	ASSERT_EQ(drain_records(q, recs, 4, &lost, NULL), 0);
	ASSERT_EQ(lost, 0);		/* reported once */
	blknotify_queue_free(q);

	q = open_pinned(pin, 0);	/* a new owner takes the pinned queue over */
	ASSERT_EQ(faulty_io(&dev, 1151, 1, 0), -EIO);
	lost = 0;
	ASSERT_EQ(drain_records(q, recs, 4, &lost, NULL), 1);
	ASSERT_EQ(lost, 0);		/* not again */
	source_bpf_detail_fake_misses[0] = 5;
	ASSERT_EQ(drain_records(q, recs, 4, &lost, NULL), 0);
	ASSERT_EQ(lost, 2);		/* only the new ones */

	/* Detail-only misses: a count of records without detail, no loss. */
	source_bpf_detail_fake_misses[1] = 4;
	lost = 0;
	ASSERT_EQ(faulty_io(&dev, 1152, 1, 0), -EIO);
	ASSERT_EQ(drain_records(q, recs, 4, &lost, NULL), 1);
	ASSERT_EQ(lost, 0);
	ASSERT_EQ(source_bpf_detail_misses_of(q), 4);
	blknotify_queue_free(q);
	q = open_pinned(pin, 0);
	ASSERT_EQ(drain_records(q, recs, 4, &lost, NULL), 0);
	ASSERT_EQ(lost, 0);
	ASSERT_EQ(source_bpf_detail_misses_of(q), 0);	/* the old owner's were counted */
	source_bpf_detail_fake_misses[0] = source_bpf_detail_fake_misses[1] = 0;
	blknotify_queue_free(q);
	remove_pins(pin);
}
