// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Slow I/O through the bpf source, on a real device: a blkfault device whose
 * chosen sectors are answered late ("delay SPEC MS"), read with O_DIRECT so
 * that each access is one block request.  Each test watches only its own
 * device.
 *
 * Only lower bounds of time are relied on: a delayed request takes at least
 * its delay (the FUSE thread sleeps that long before answering).  A read
 * with no delay is assumed to finish within the 300 ms threshold the
 * "none below" checks use; a machine that stalls a single 512-byte loop
 * read for that long would make that check fail, rightly.
 *
 * Needs root, /dev/fuse and /dev/loop-control.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <bpf/bpf.h>
#include <blknotify/blknotify.h>
#include "queue.h"
#include "source-bpf-slow.h"
#include "faulty.h"

#define MS	1000000ULL

/* Slow sectors: [100, 108) 600 ms, [200, 208) 100 ms, [300, 308) 400 ms, [400, 410) 40 ms. */
static const char *const delays[] = { "delay 100+8 600", "delay 200+8 100",
				      "delay 300+8 400", "delay 400+10 40" };
static const char *const no_bad[] = { NULL };
static struct faulty dev;
static int setup_err;

static void setup(void)
{
	unsigned int i;

	setup_err = faulty_start_for_program_opts(&dev, "64M", 1, no_bad);
	for (i = 0; !setup_err && i < sizeof(delays) / sizeof(delays[0]); i++)
		setup_err = faulty_command(&dev, delays[i]);
}
#define TEST_SETUP setup
#include "../harness.h"
#include "host-test.h"

static void need_device(void)
{
	need_faulty(setup_err, NULL);
}

static struct blknotify_queue *open_slow(__u64 threshold_ns, unsigned int relative,
					 unsigned int size, const char *pin)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_BPF,
		       .slow_threshold_ns = threshold_ns, .slow_relative = relative,
		       .bpf_pin_path = pin);

	return queue_watching(&opts, size, dev.rdev, 5);
}

/*
 * Everything readable now: records into recs (72-byte slow records, or
 * error records of any length), loss counts summed into *lost (NULL: loss
 * fails the test).
 */
static int drain(struct blknotify_queue *q, struct block_notification *recs, int max, __u64 *lost)
{
	static unsigned char buf[64 * 1024];
	int n = 0;

	for (;;) {
		const struct watch_notification *w;
		ssize_t len = blknotify_queue_read(q, buf, sizeof(buf), 0);

		if (len == -EAGAIN)
			return n;
		if (len < 0)
			TEST_FAIL_(1, "read: %s", strerror((int)-len));
		for (w = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(w, len);
		     w = BLOCK_NOTIFY_RECORD_NEXT(w, len)) {
			if (w->type == WATCH_TYPE_META) {
				ASSERT_EQ(w->subtype, WATCH_META_LOSS_NOTIFICATION);
				if (!lost)
					TEST_FAIL_(1, "unexpected loss of %llu records",
						   (unsigned long long)bn_loss_count(w));
				*lost += bn_loss_count(w);
				continue;
			}
			ASSERT_EQ(w->type, WATCH_TYPE_BLOCK_NOTIFY);
			if (w->subtype == NOTIFY_BLOCK_SLOW)
				ASSERT_EQ(BLOCK_NOTIFY_RECORD_LEN(w), BLOCK_NOTIFICATION_SIZE_V2);
			if (n < max) {
				memset(&recs[n], 0, sizeof(recs[n]));
				memcpy(&recs[n], w, BLOCK_NOTIFY_RECORD_LEN(w) < sizeof(recs[n]) ?
				       BLOCK_NOTIFY_RECORD_LEN(w) : sizeof(recs[n]));
			}
			n++;
		}
		ASSERT_EQ(len, 0);
	}
}

/* One timed read or write; its record must fall within [*t0, *t1]. */
static void timed_io(unsigned long long sector, unsigned int count, int write, __u64 *t0,
		     __u64 *t1)
{
	*t0 = now_ns();
	ASSERT_EQ(faulty_io(&dev, sector, count, write), 0);
	*t1 = now_ns();
}

static void expect_slow(const struct block_notification *r, __u64 sector, unsigned int nr,
			unsigned int op, __u64 min_ns, __u64 t0, __u64 t1)
{
	ASSERT_EQ(r->watch.type, WATCH_TYPE_BLOCK_NOTIFY);
	ASSERT_EQ(r->watch.subtype, NOTIFY_BLOCK_SLOW);
	ASSERT_EQ((r->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 5);
	ASSERT_EQ(r->dev, dev.rdev);
	ASSERT_EQ(r->sector, sector);
	ASSERT_EQ(r->nr_sectors, nr);
	ASSERT_EQ(r->op, op);
	ASSERT_EQ(r->error, 0);
	ASSERT_EQ(r->transport, BLOCK_NOTIFY_TRANSPORT_NONE);
	ASSERT_EQ(r->detail, 0);
	/* At least the delay; at most what the caller saw around the request. */
	ASSERT_GE(r->latency_ns, min_ns);
	ASSERT_LE(r->latency_ns, t1 - t0);
	ASSERT_GE(r->time_ns, t0);
	ASSERT_LE(r->time_ns, t1);
	/* O_DIRECT writes are REQ_SYNC (the bit's number comes from the kernel's BTF). */
	if (op == BLOCK_NOTIFY_OP_WRITE)
		ASSERT_TRUE(r->flags & BLOCK_NOTIFY_F_SYNC);
	ASSERT_EQ(r->flags & ~(BLOCK_NOTIFY_F_SYNC | BLOCK_NOTIFY_F_META), 0);
	printf("# sector %llu: latency %.3f ms, flags %#x\n", (unsigned long long)sector,
	       r->latency_ns / 1e6, r->flags);
}

/* Programs whose name starts with "slow_", loaded anywhere on the machine. */
static unsigned int slow_programs_loaded(void)
{
	__u32 id = 0;
	unsigned int n = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "slow_", 5))
			n++;
		close(fd);
	}
	return n;
}

static __u64 run_count(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.run_cnt;
}

static __u32 prog_type(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.type;
}

/* Off by default: nothing loaded, nothing attached, no record for a slow read. */
TEST(slow_detection_is_off_by_default)
{
	struct block_notification recs[4];
	struct blknotify_queue *q;
	unsigned int before = slow_programs_loaded();

	need_device();
	q = open_slow(0, 0, 0, NULL);
	ASSERT_EQ(source_bpf_slow_prog_fd(q, 0), -1);
	ASSERT_EQ(source_bpf_slow_prog_fd(q, 1), -1);
	ASSERT_EQ(slow_programs_loaded(), before);
	ASSERT_EQ(faulty_io(&dev, 400, 1, 0), 0);	/* 40 ms late */
	ASSERT_EQ(drain(q, recs, 4, NULL), 0);
	blknotify_queue_free(q);
}

static void check_threshold(void)
{
	struct block_notification recs[8];
	struct blknotify_queue *q;
	__u64 t0, t1, u0, u1;
	int i, stats_fd;

	need_device();
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);	/* run counts, while open */
	q = open_slow(300 * MS, 0, 0, NULL);
	ASSERT_GE(source_bpf_slow_prog_fd(q, 0), 0);
	ASSERT_GE(source_bpf_slow_prog_fd(q, 1), 0);
	/* tp_btf programs are of type tracing; their twins raw tracepoint. */
	ASSERT_EQ(prog_type(source_bpf_slow_prog_fd(q, 0)), source_bpf_slow_force_raw_tp ?
		  BPF_PROG_TYPE_RAW_TRACEPOINT : BPF_PROG_TYPE_TRACING);
	ASSERT_EQ(prog_type(source_bpf_slow_prog_fd(q, 1)), source_bpf_slow_force_raw_tp ?
		  BPF_PROG_TYPE_RAW_TRACEPOINT : BPF_PROG_TYPE_TRACING);
	timed_io(100, 1, 0, &t0, &t1);			/* 600 ms: slow */
	ASSERT_EQ(drain(q, recs, 8, NULL), 1);
	expect_slow(&recs[0], 100, 1, BLOCK_NOTIFY_OP_READ, 600 * MS, t0, t1);

	ASSERT_EQ(faulty_io(&dev, 200, 8, 0), 0);	/* 100 ms: below */
	for (i = 0; i < 50; i++)			/* no delay */
		ASSERT_EQ(faulty_io(&dev, 1000 + i * 8, 8, i & 1), 0);
	ASSERT_EQ(drain(q, recs, 8, NULL), 0);

	timed_io(300, 8, 1, &u0, &u1);			/* 400 ms write: slow */
	ASSERT_EQ(drain(q, recs, 8, NULL), 1);
	expect_slow(&recs[0], 300, 8, BLOCK_NOTIFY_OP_WRITE, 400 * MS, u0, u1);
	if (stats_fd >= 0) {
		/* Both programs ran for each of our 53 requests (and others' I/O). */
		ASSERT_GE(run_count(source_bpf_slow_prog_fd(q, 0)), 53);
		ASSERT_GE(run_count(source_bpf_slow_prog_fd(q, 1)), 53);
		close(stats_fd);
	}
	blknotify_queue_free(q);
}

TEST(slow_records_at_the_threshold_and_none_below)
{
	source_bpf_slow_force_raw_tp = false;
	check_threshold();
}

TEST(raw_tp_twins_give_the_same_records)
{
	source_bpf_slow_force_raw_tp = true;
	check_threshold();
	source_bpf_slow_force_raw_tp = false;
}

/*
 * Relative to the disk's own median: nothing is judged during the warm-up,
 * then a request 400 ms late on a disk whose median is well under 4 ms is
 * more than 100x it.  Fast reads may be judged slow here if the machine
 * stalls one for 100x the median: only the delayed sector is asserted on.
 */
TEST(relative_threshold_judges_after_the_warm_up)
{
	struct block_notification recs[64];
	struct blknotify_queue *q;
	__u64 t0, t1;
	int i, n, found = 0;

	need_device();
	q = open_slow(0, 100, 0, NULL);
	timed_io(300, 1, 0, &t0, &t1);			/* first completion: no median yet */
	n = drain(q, recs, 64, NULL);
	for (i = 0; i < n && i < 64; i++)
		ASSERT_NE(recs[i].sector, 300);
	for (i = 0; i < BLKNOTIFY_SLOW_WARMUP + 16; i++)
		ASSERT_EQ(faulty_io(&dev, 2000 + (i % 32) * 8, 1, 0), 0);
	n = drain(q, recs, 64, NULL);
	if (n)
		printf("# %d fast reads judged slow (a stalled machine)\n", n);
	timed_io(300, 1, 0, &t0, &t1);
	n = drain(q, recs, 64, NULL);
	for (i = 0; i < n && i < 64; i++)
		if (recs[i].sector == 300) {
			expect_slow(&recs[i], 300, 1, BLOCK_NOTIFY_OP_READ, 400 * MS, t0, t1);
			found++;
		}
	ASSERT_EQ(found, 1);
	blknotify_queue_free(q);
}

/* A slow storm is bounded like an error storm: what does not fit is counted. */
TEST(slow_storm_is_bounded_and_its_loss_counted)
{
	struct block_notification recs[16];
	struct blknotify_queue *q;
	__u64 lost = 0;
	int i, n;

	need_device();
	q = open_slow(20 * MS, 0, 4, NULL);
	for (i = 0; i < 10; i++)			/* 40 ms each */
		ASSERT_EQ(faulty_io(&dev, 400 + i, 1, 0), 0);
	n = drain(q, recs, 16, &lost);
	printf("# %d records, %llu lost\n", n, (unsigned long long)lost);
	ASSERT_GE(n, 1);
	ASSERT_LE(n, 4);
	ASSERT_EQ(n + lost, 10);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(recs[i].watch.subtype, NOTIFY_BLOCK_SLOW);
		ASSERT_EQ(recs[i].sector, 400 + i);
	}
	/* And it recovers: the next slow read is a record again. */
	ASSERT_EQ(faulty_io(&dev, 405, 1, 0), 0);
	ASSERT_EQ(drain(q, recs, 16, NULL), 1);
	ASSERT_EQ(recs[0].sector, 405);
	blknotify_queue_free(q);
}

/* blkfault's count of read requests it has been asked for. */
static unsigned long long blkfault_reads(void)
{
	char reply[256];
	unsigned long long n = 0;

	ASSERT_GT(dprintf(dev.ctl, "stats\n"), 0);
	ASSERT_TRUE(fgets(reply, sizeof(reply), dev.out) != NULL);
	ASSERT_EQ(sscanf(reply, "ok reads=%llu", &n), 1);
	return n;
}

static void *read_sector_100(void *arg)
{
	(void)arg;
	return (void *)(long)faulty_io(&dev, 100, 1, 0);	/* 600 ms */
}

/*
 * A request issued while the in-flight table is full cannot be judged:
 * it is loss, reported in order.  With a table of one, a read issued while
 * the 600 ms read is in flight (blkfault has it: its FUSE thread sleeps on
 * it) is the one.
 */
TEST(full_in_flight_table_is_loss)
{
	struct block_notification recs[8];
	struct blknotify_queue *q;
	unsigned long long before;
	pthread_t t;
	void *ret;
	__u64 lost = 0;
	int i;

	need_device();
	source_bpf_slow_inflight_max = 1;
	q = open_slow(300 * MS, 0, 0, NULL);
	source_bpf_slow_inflight_max = 0;
	before = blkfault_reads();
	ASSERT_EQ(pthread_create(&t, NULL, read_sector_100, NULL), 0);
	for (i = 0; i < 1000 && blkfault_reads() == before; i++)
		usleep(1000);
	ASSERT_GT(blkfault_reads(), before);	/* in flight, in blkfault's hands */
	ASSERT_EQ(faulty_io(&dev, 3000, 1, 0), 0);	/* issued now: no room */
	ASSERT_EQ(pthread_join(t, &ret), 0);
	ASSERT_EQ((long)ret, 0);
	ASSERT_EQ(drain(q, recs, 8, &lost), 1);
	ASSERT_EQ(lost, 1);
	ASSERT_EQ(recs[0].sector, 100);
	ASSERT_GE(recs[0].latency_ns, 600 * MS);
	blknotify_queue_free(q);
}

/*
 * Pinned (blknotifyd): the slow programs stay attached with the queue, a
 * new owner sets its own thresholds, one without slow detection detaches
 * them, and one asking for it from a queue pinned without it is told so.
 */
TEST(pinned_queue_keeps_and_drops_slow_detection)
{
	char pin[64], path[96];
	struct block_notification recs[8];
	struct blknotify_queue *q;
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_BPF,
		       .slow_threshold_ns = 20 * MS);
	int err;

	need_device();
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/blknotify-test-slow-%d", (int)getpid());
	source_bpf_unpin(pin);
	q = open_slow(500 * MS, 0, 0, pin);
	snprintf(path, sizeof(path), "%s/slow_issue", pin);
	ASSERT_EQ(access(path, F_OK), 0);
	blknotify_queue_free(q);

	/* Still attached with nobody reading: the slow read waits in the queue. */
	ASSERT_EQ(faulty_io(&dev, 100, 1, 0), 0);	/* 600 ms */
	q = open_slow(50 * MS, 0, 0, pin);		/* the new owner's threshold */
	ASSERT_EQ(drain(q, recs, 8, NULL), 1);
	ASSERT_EQ(recs[0].sector, 100);
	ASSERT_GE(recs[0].latency_ns, 600 * MS);
	ASSERT_EQ(faulty_io(&dev, 200, 1, 0), 0);	/* 100 ms: above 50 now */
	ASSERT_EQ(drain(q, recs, 8, NULL), 1);
	ASSERT_EQ(recs[0].sector, 200);
	blknotify_queue_free(q);

	q = open_slow(0, 0, 0, pin);			/* without: detached */
	ASSERT_NE(access(path, F_OK), 0);
	ASSERT_EQ(faulty_io(&dev, 200, 1, 0), 0);
	ASSERT_EQ(drain(q, recs, 8, NULL), 0);
	blknotify_queue_free(q);

	opts.bpf_pin_path = pin;			/* with, from a queue without */
	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	err = blknotify_queue_watch_device(q, dev.rdev, 5);
	ASSERT_EQ(err, -ESTALE);
	printf("# %s\n", blknotify_queue_get_error(q));
	ASSERT_TRUE(strstr(blknotify_queue_get_error(q), "without slow-I/O detection") != NULL);
	blknotify_queue_free(q);
	ASSERT_EQ(source_bpf_unpin(pin), 0);
}
