// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kmsg source on real errors: a blkfault device whose sectors fail in
 * the block layer, read and written with O_DIRECT; the kernel prints its
 * request-error lines and the source reads them back from /dev/kmsg.
 *
 * The kernel prints at most 10 request-error lines per 5 s (one rate limit
 * for the whole machine), so the tests keep count of the lines they cause
 * and wait for a fresh window when they need one; and the line is in the
 * log before the failed pread() returns, so they read with timeout 0.
 * Another process making request errors at the same time shares that rate
 * limit and would make the counts wrong: a watch on every device notices
 * it, and the test is run again after a quiet window (at most 3 times).
 *
 * The overrun test floods the kernel log (128 KiB here) with filler lines:
 * the log's earlier contents are gone afterwards.
 *
 * Needs root, /dev/fuse and /dev/loop-control.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <time.h>
#include <sys/sysmacros.h>

#include <blknotify/blknotify.h>
#include "faulty.h"
#include "queue.h"

/* The kernel's printk_ratelimited() defaults (DEFAULT_RATELIMIT_*). */
#define RATELIMIT_BURST		10
#define RATELIMIT_INTERVAL_NS	5000000000ULL
/* Past the end of a window: jiffies granularity and scheduling slack. */
#define WINDOW_SLACK_NS		300000000ULL

static const char *const bad_ranges[] = { "1000+200", "5000+8:r", "6000+8:w", NULL };
static struct faulty dev;
static int setup_err;

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_until(__u64 t)
{
	__u64 now = now_ns();
	struct timespec ts;

	if (now >= t)
		return;
	ts.tv_sec = (t - now) / 1000000000ULL;
	ts.tv_nsec = (t - now) % 1000000000ULL;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Our view of the kernel's rate-limit window: when it began (taken after
 * the call that began it, so never earlier than the kernel's) and how many
 * lines we have caused in it.
 */
static __u64 window_start;
static int window_used;

static int fail_io(struct faulty *f, unsigned long long sector, unsigned int count, int write);

/*
 * Wait out the current window: the next error starts a new one.  With
 * flush, cause that error now (sector 1199 of our device), so that a
 * pending "callbacks suppressed" line is printed before the caller opens a
 * queue.
 */
static __u64 last_foreign_ns;

static void fresh_window(bool flush)
{
	/*
	 * A window begins with a line the kernel prints, so the current one
	 * began no later than the last line printed, ours or another's.
	 * (Others' come stamped with the printk clock, within a millisecond
	 * of CLOCK_MONOTONIC here: the slack covers it.)
	 */
	__u64 start = window_start > last_foreign_ns ? window_start : last_foreign_ns;

	sleep_until(start + RATELIMIT_INTERVAL_NS + WINDOW_SLACK_NS);
	window_start = 0;
	window_used = 0;
	if (flush)
		fail_io(&dev, 1199, 1, 0);
}

/* Make sure the next n lines we cause are all printed and counted right. */
static void need_lines(int n)
{
	if (window_used + n > RATELIMIT_BURST)
		fresh_window(true);
}

/* One O_DIRECT request on f that must fail; counts against the window. */
static int fail_io(struct faulty *f, unsigned long long sector, unsigned int count, int write)
{
	int err = faulty_io(f, sector, count, write);
	__u64 now = now_ns();

	if (!window_start || now >= window_start + RATELIMIT_INTERVAL_NS) {
		window_start = now;
		window_used = 0;
	}
	window_used++;
	return err;
}

/*
 * A kmsg queue on every device, to notice request errors that are not ours:
 * they share the kernel's rate limit with ours.
 */
static struct blknotify_queue *noise;
static dev_t ours[4];

static void noise_start(void)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_KMSG);

	if (blknotify_queue_new(&noise, &opts) || blknotify_queue_watch_all(noise, 0)) {
		fprintf(stderr, "cannot watch /dev/kmsg: %s\n",
			noise ? blknotify_queue_get_error(noise) : "out of memory");
		exit(1);
	}
	ours[0] = dev.rdev;
}

/* Whether a request error on a device not ours was logged since the last call. */
static bool foreign_errors(void)
{
	static unsigned char buf[16384];
	bool seen = false;
	ssize_t len;

	while ((len = blknotify_queue_read(noise, buf, sizeof(buf), 0)) > 0) {
		const struct watch_notification *w;

		for (w = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(w, len);
		     w = BLOCK_NOTIFY_RECORD_NEXT(w, len)) {
			const struct block_notification *r = (const void *)w;
			unsigned int i;
			bool mine = false;

			if (w->type != WATCH_TYPE_BLOCK_NOTIFY ||
			    (w->subtype >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST &&
			     w->subtype <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST))
				continue;	/* not errors: disks coming and going */
			for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
				mine |= ours[i] && r->dev == ours[i];
			if (!mine && r->time_ns > last_foreign_ns)
				last_foreign_ns = r->time_ns;
			if (!mine && !seen) {
				printf("# another process made a request error (%u:%u sector %llu) "
				       "during the test; it shares the kernel's rate limit\n",
				       major(r->dev), minor(r->dev),
				       (unsigned long long)r->sector);
				seen = true;
			}
		}
	}
	return seen;
}

/*
 * Run a test body that returns true when other request errors may have
 * disturbed it; then again after a quiet window, at most three times.
 */
static bool run_quiet(bool (*body)(void));

static void setup(void)
{
	setup_err = faulty_start_for_program(&dev, bad_ranges);
	if (setup_err)
		return;
	noise_start();
	/*
	 * Whatever ran before us may have left the rate limiter mid-window
	 * with lines suppressed.  Wait the window out and cause one error:
	 * it prints any pending "callbacks suppressed" line before any queue
	 * of ours is open, and starts a window we know.
	 */
	window_start = now_ns();
	fresh_window(true);
}
#define TEST_SETUP setup
#include "../harness.h"
#include "records.h"

static void need_device(void)
{
	if (setup_err == -EPERM)
		SKIP("needs root");
	if (setup_err)
		TEST_FAIL_(1, "blkfault did not start: %s", strerror(-setup_err));
}

static struct blknotify_queue *open_kmsg_queue(unsigned int flags, dev_t watch_dev,
					       unsigned int id)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_KMSG,
		       .flags = flags);
	struct blknotify_queue *q = NULL;
	int err;

	err = blknotify_queue_new(&q, &opts);
	if (err)
		TEST_FAIL_(1, "blknotify_queue_new: %s", strerror(-err));
	ASSERT_EQ(blknotify_queue_get_source(q), BLKNOTIFY_SOURCE_KMSG);
	err = watch_dev ? blknotify_queue_watch_device(q, watch_dev, id)
			: blknotify_queue_watch_all(q, id);
	if (err)
		TEST_FAIL_(1, "watch: %s (%s)", strerror(-err), blknotify_queue_get_error(q) ?: "");
	return q;
}

static void expect_record(const struct block_notification *r, dev_t rdev, __u64 sector,
			  unsigned int op, unsigned int id)
{
	ASSERT_EQ(r->watch.subtype, NOTIFY_BLOCK_ERROR_IO);
	ASSERT_EQ(r->dev, rdev);
	ASSERT_EQ(major(r->dev), major(rdev));
	ASSERT_EQ(minor(r->dev), minor(rdev));
	ASSERT_EQ(r->sector, sector);
	ASSERT_EQ(r->nr_sectors, 0);		/* the line does not say */
	ASSERT_EQ(r->op, op);
	ASSERT_EQ(r->error, -EIO);
	ASSERT_EQ((r->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, id);
	ASSERT_EQ(r->flags & ~(BLOCK_NOTIFY_F_PREFLUSH | BLOCK_NOTIFY_F_FUA |
			       BLOCK_NOTIFY_F_RAHEAD | BLOCK_NOTIFY_F_SYNC |
			       BLOCK_NOTIFY_F_META), 0);
	ASSERT_EQ(r->retries, 0);
	ASSERT_EQ(r->transport, BLOCK_NOTIFY_TRANSPORT_NONE);
	ASSERT_EQ(r->detail, 0);
	ASSERT_GT(r->time_ns, 0);
}

static bool run_quiet(bool (*body)(void))
{
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		/* Others' lines may have begun the window we would run in:
		 * wait it out (and check nobody began another meanwhile). */
		foreign_errors();
		if (now_ns() < last_foreign_ns + RATELIMIT_INTERVAL_NS + WINDOW_SLACK_NS) {
			fresh_window(true);
			if (foreign_errors())
				continue;
		}
		if (!body())
			return true;
		printf("# attempt %d disturbed; waiting for a quiet window\n", attempt + 1);
		fresh_window(true);
	}
	TEST_FAIL_(1, "%s", "other request errors on this machine disturbed every attempt; "
		   "run the host tests on a quiet machine");
	return false;
}

/* In the bodies: a check that fails only if nothing else disturbed it. */
#define DISTURBED_IF(cond) do { if ((cond) && foreign_errors()) return true; } while (0)

static bool exact_records(void)
{
	struct block_notification recs[8];
	struct blknotify_queue *q;
	int i, n;

	need_lines(4);
	q = open_kmsg_queue(0, dev.rdev, 7);
	ASSERT_EQ(fail_io(&dev, 1000, 1, 0), -EIO);
	ASSERT_EQ(fail_io(&dev, 1100, 8, 0), -EIO);		/* 4 KiB */
	ASSERT_EQ(fail_io(&dev, 6000, 1, 1), -EIO);		/* write-bad */
	ASSERT_EQ(faulty_io(&dev, 6000, 1, 0), 0);		/* ... readable */
	ASSERT_EQ(fail_io(&dev, 5000, 1, 0), -EIO);		/* read-bad */
	n = drain_records(q, recs, 8, NULL, NULL);
	DISTURBED_IF(n != 4);
	ASSERT_EQ(n, 4);
	expect_record(&recs[0], dev.rdev, 1000, BLOCK_NOTIFY_OP_READ, 7);
	expect_record(&recs[1], dev.rdev, 1100, BLOCK_NOTIFY_OP_READ, 7);
	expect_record(&recs[2], dev.rdev, 6000, BLOCK_NOTIFY_OP_WRITE, 7);
	expect_record(&recs[3], dev.rdev, 5000, BLOCK_NOTIFY_OP_READ, 7);
	/* O_DIRECT requests are REQ_SYNC, which the line's flags show. */
	for (i = 0; i < 4; i++)
		ASSERT_TRUE(recs[i].flags & BLOCK_NOTIFY_F_SYNC);
	for (i = 1; i < 4; i++)
		ASSERT_GE(recs[i].time_ns, recs[i - 1].time_ns);
	blknotify_queue_free(q);
	return false;
}

TEST(real_errors_give_exact_records)
{
	need_device();
	run_quiet(exact_records);
}

static bool size_ignored(void)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_KMSG);
	struct block_notification recs[4];
	struct blknotify_queue *q = NULL;
	int n;

	need_lines(3);
	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	ASSERT_EQ(blknotify_queue_set_size(q, 1), 0);
	ASSERT_EQ(blknotify_queue_watch_device(q, dev.rdev, 1), 0);
	/* A one-record queue would lose two of these; this source does not. */
	ASSERT_EQ(fail_io(&dev, 1010, 1, 0), -EIO);
	ASSERT_EQ(fail_io(&dev, 1011, 1, 0), -EIO);
	ASSERT_EQ(fail_io(&dev, 1012, 1, 0), -EIO);
	n = drain_records(q, recs, 4, NULL, NULL);
	DISTURBED_IF(n != 3);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(recs[2].sector, 1012);
	blknotify_queue_free(q);
	return false;
}

TEST(set_size_is_accepted_and_ignored)
{
	need_device();
	run_quiet(size_ignored);
}

static bool end_and_replay(void)
{
	struct block_notification recs[4];
	static struct block_notification all[4096];
	struct blknotify_queue *q, *replay;
	__u64 lost = 0;
	int n;

	need_lines(2);
	ASSERT_EQ(fail_io(&dev, 1077, 1, 0), -EIO);	/* before the queue opens */
	q = open_kmsg_queue(0, dev.rdev, 2);
	ASSERT_EQ(drain_records(q, recs, 4, NULL, NULL), 0);
	ASSERT_EQ(fail_io(&dev, 1078, 1, 0), -EIO);
	n = drain_records(q, recs, 4, NULL, NULL);
	DISTURBED_IF(n != 1);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(recs[0].sector, 1078);

	/* Replay: whatever the log still holds, ours last. */
	replay = open_kmsg_queue(BLKNOTIFY_QUEUE_KMSG_REPLAY, dev.rdev, 3);
	n = drain_records(replay, all, 4096, &lost, NULL);
	ASSERT_GE(n, 2);
	ASSERT_LE(n, 4096);
	expect_record(&all[n - 2], dev.rdev, 1077, BLOCK_NOTIFY_OP_READ, 3);
	expect_record(&all[n - 1], dev.rdev, 1078, BLOCK_NOTIFY_OP_READ, 3);
	blknotify_queue_free(replay);
	blknotify_queue_free(q);
	return false;
}

TEST(starts_at_the_end_of_the_log_unless_replaying)
{
	need_device();
	run_quiet(end_and_replay);
}

static bool per_device(void)
{
	static const char *const other_bad[] = { "0+16", NULL };
	struct block_notification recs[8];
	struct blknotify_queue *mine, *all;
	struct faulty other;
	bool disturbed;
	int err, n, m;

	need_lines(2);
	mine = open_kmsg_queue(0, dev.rdev, 1);
	all = open_kmsg_queue(0, 0, 9);
	err = faulty_start(&other, other_bad);
	if (err)
		TEST_FAIL_(1, "second blkfault: %s", strerror(-err));
	ASSERT_NE(other.rdev, dev.rdev);
	ours[1] = other.rdev;
	ASSERT_EQ(fail_io(&other, 3, 1, 0), -EIO);
	ASSERT_EQ(fail_io(&dev, 1030, 1, 0), -EIO);
	faulty_stop(&other);
	disturbed = foreign_errors();	/* while the other device still counts as ours */
	ours[1] = 0;
	n = drain_records(mine, recs, 8, NULL, NULL);
	if (n != 1 && disturbed)
		return true;
	DISTURBED_IF(n != 1);
	ASSERT_EQ(n, 1);
	expect_record(&recs[0], dev.rdev, 1030, BLOCK_NOTIFY_OP_READ, 1);
	/* The whole-machine watch sees both, each with its own device. */
	m = drain_records(all, recs, 8, NULL, NULL);
	if (m != 2 && disturbed)
		return true;
	DISTURBED_IF(m != 2);
	ASSERT_EQ(m, 2);
	expect_record(&recs[0], other.rdev, 3, BLOCK_NOTIFY_OP_READ, 9);
	expect_record(&recs[1], dev.rdev, 1030, BLOCK_NOTIFY_OP_READ, 9);
	blknotify_queue_free(all);
	blknotify_queue_free(mine);
	return false;
}

TEST(only_watched_devices_and_names_resolve_per_device)
{
	need_device();
	run_quiet(per_device);
}

static bool storm(void)
{
	enum { STORM = 30 };
	struct block_notification recs[STORM + 1];
	struct blknotify_queue *q;
	__u64 lost = 0;
	int i, n, loss_at;

	fresh_window(true);
	q = open_kmsg_queue(0, dev.rdev, 4);
	for (i = 0; i < STORM; i++)
		ASSERT_EQ(fail_io(&dev, 1100 + i, 1, 0), -EIO);
	/* The first 9 are printed (the flush was the first of the window);
	 * the kernel holds the count of the rest. */
	n = drain_records(q, recs, STORM, &lost, NULL);
	DISTURBED_IF(n != RATELIMIT_BURST - 1 || lost);
	ASSERT_EQ(n, RATELIMIT_BURST - 1);
	ASSERT_EQ(lost, 0);
	for (i = 0; i < n; i++)
		expect_record(&recs[i], dev.rdev, 1100 + i, BLOCK_NOTIFY_OP_READ, 4);
	/* The next line after the window says how many it dropped. */
	fresh_window(false);
	ASSERT_EQ(fail_io(&dev, 1150, 1, 0), -EIO);
	n = drain_records(q, recs, STORM, &lost, &loss_at);
	/* More suppressed than we caused: others' errors fell in our window. */
	if (lost > STORM - (RATELIMIT_BURST - 1)) {
		printf("# %llu lines suppressed, %d of them ours\n", (unsigned long long)lost,
		       STORM - (RATELIMIT_BURST - 1));
		return true;
	}
	DISTURBED_IF(n != 1 || lost != STORM - (RATELIMIT_BURST - 1));
	ASSERT_EQ(n, 1);
	ASSERT_EQ(lost, STORM - (RATELIMIT_BURST - 1));
	ASSERT_EQ(loss_at, 0);			/* before the record */
	expect_record(&recs[0], dev.rdev, 1150, BLOCK_NOTIFY_OP_READ, 4);
	blknotify_queue_free(q);
	return false;
}

TEST(rate_limited_lines_come_back_as_counted_loss)
{
	need_device();
	run_quiet(storm);
}

/* Write one line into the kernel log through a new open file each time:
 * printk_devkmsg=ratelimit limits writes per open file. */
static void log_line(const char *s)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static bool overrun(void)
{
	struct block_notification recs[8];
	struct blknotify_queue *q;
	char line[900];
	bool disturbed = false;
	__u64 lost = 0;
	int i, n, size, lines, loss_at;

	need_lines(2);
	size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	ASSERT_GT(size, 0);
	q = open_kmsg_queue(0, dev.rdev, 5);
	ASSERT_EQ(fail_io(&dev, 1040, 1, 0), -EIO);
	n = drain_records(q, recs, 8, NULL, NULL);	/* now the source knows where it is */
	DISTURBED_IF(n != 1);
	ASSERT_EQ(n, 1);

	/* Twice the log in filler lines, unread: the kernel overwrites what
	 * the source had not read, and says so with EPIPE. */
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "blknotify test_kmsg_source: overrun filler ", 43);
	lines = 2 * size / (int)(sizeof(line) - 1) + 1;
	for (i = 0; i < lines; i++) {
		log_line(line);
		/* Keep the watch for others' errors current: the filler
		 * would overwrite them before the end. */
		if (i % 16 == 0)
			disturbed |= foreign_errors();
	}
	ASSERT_EQ(fail_io(&dev, 1041, 1, 0), -EIO);

	n = drain_records(q, recs, 8, &lost, &loss_at);
	if (n != 1 && disturbed)
		return true;
	DISTURBED_IF(n != 1);
	ASSERT_EQ(n, 1);
	expect_record(&recs[0], dev.rdev, 1041, BLOCK_NOTIFY_OP_READ, 5);
	ASSERT_EQ(loss_at, 0);
	/* The gap in sequence numbers: at least the lines that cannot fit. */
	ASSERT_GE(lost, (__u64)(lines - size / (int)(sizeof(line) - 1)));
	printf("# %d filler lines into a %d-byte log: loss of %llu reported\n", lines, size,
	       (unsigned long long)lost);
	blknotify_queue_free(q);
	return false;
}

TEST(log_overrun_is_counted_as_loss)
{
	need_device();
	run_quiet(overrun);
}

/*
 * What user space writes to /dev/kmsg is not the kernel's (it gets facility
 * LOG_USER whatever it claims): neither records nor loss, but counted.
 */
TEST(lines_written_by_user_space_are_refused)
{
	struct block_notification recs[8];
	struct blknotify_queue *q;
	__u64 lost = 0;
	int i, n, forged = 0;

	if (geteuid())
		SKIP("needs root to write /dev/kmsg");
	q = open_kmsg_queue(0, 0, 3);
	log_line("<3>I/O error, dev loop7, sector 4242 op 0x0:(READ) flags 0x0 "
		 "phys_seg 1 prio class 2\n");
	log_line("<0>blk_print_req_error: 1000000 callbacks suppressed\n");
	n = drain_records(q, recs, 8, &lost, NULL);
	for (i = 0; i < n && i < 8; i++)
		forged += recs[i].sector == 4242;
	ASSERT_EQ(forged, 0);
	ASSERT_LT(lost, 1000000);	/* others' real loss may be there; not the forged */
	ASSERT_EQ(source_kmsg_refused(q), 2);
	blknotify_queue_free(q);
}

static int read_int(const char *path)
{
	char buf[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? atoi(buf) : -1;
}

static int write_int(const char *path, int v)
{
	char buf[16];
	int fd = open(path, O_WRONLY | O_CLOEXEC), len = snprintf(buf, sizeof(buf), "%d", v);
	ssize_t n = fd >= 0 ? write(fd, buf, (size_t)len) : -1;

	if (fd >= 0)
		close(fd);
	return n == len ? 0 : -1;
}

/* In a child without CAP_SYSLOG and CAP_SYS_ADMIN: the source must fail with
 * -EPERM and say why. */
static int child_without_syslog(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_KMSG);
	struct blknotify_queue *q = NULL;
	const char *msg;
	int err;

	if (syscall(SYS_capget, &h, d))
		return 10;
	d[CAP_TO_INDEX(CAP_SYSLOG)].effective &= ~CAP_TO_MASK(CAP_SYSLOG);
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return 11;
	if (blknotify_queue_new(&q, &opts))
		return 12;
	err = blknotify_queue_watch_all(q, 1);
	msg = blknotify_queue_get_error(q);
	printf("# without CAP_SYSLOG: %s: %s\n", strerror(-err), msg ? msg : "(no message)");
	if (err != -EPERM)
		return 13;
	if (!msg || !strstr(msg, "CAP_SYSLOG") || !strstr(msg, "dmesg_restrict"))
		return 14;
	blknotify_queue_free(q);
	return 0;
}

TEST(no_syslog_capability_is_explained)
{
	const char *knob = "/proc/sys/kernel/dmesg_restrict";
	int restrict_was, status = -1;
	pid_t pid;

	need_device();
	restrict_was = read_int(knob);
	ASSERT_GE(restrict_was, 0);
	if (restrict_was == 0)
		ASSERT_EQ(write_int(knob, 1), 0);	/* put back below */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child_without_syslog());
	waitpid(pid, &status, 0);
	if (restrict_was == 0)
		EXPECT_EQ(write_int(knob, 0), 0);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}
