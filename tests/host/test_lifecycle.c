// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Lifecycle records on real disks: loop devices this test adds and removes
 * itself (LOOP_CTL_ADD / LOOP_CTL_REMOVE, numbers from 200 up, so that no
 * other test's device is touched), attached to a blkfault image (whose bad
 * sectors fail) or to a plain file.  Only records of the test's own device
 * are looked at.
 *
 * The test reads the queue after each step, as a monitor that keeps up
 * does: a uevent's record says what sysfs says when blknotify reads it.
 *
 * Needs root, /dev/fuse and /dev/loop-control.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include <linux/loop.h>

#include <blknotify/blknotify.h>
#include "lifecycle.h"
#include "queue.h"
#include "sysfs.h"
#include "faulty.h"
#include "daemon-run.h"
#include "protocol.h"	/* struct bnd_watch_removal */

#define BAD_SECTOR	1000
static const char *bad_ranges[] = { "1000+100:r", NULL };
static struct faulty fdev;
static int setup_err;
static char image[64];	/* blkfault's device: its bad sectors fail */

static void setup(void)
{
	/*
	 * Our loop devices are backed by blkfault's: its bad sectors fail
	 * their requests too (its image is reachable only through it).
	 */
	setup_err = faulty_start_for_program_opts(&fdev, "16M", 0, bad_ranges);
	if (!setup_err)
		snprintf(image, sizeof(image), "%s", fdev.path);
}
#define TEST_SETUP setup
#include "../harness.h"
#include "host-test.h"

static void need_root(void)
{
	need_faulty(setup_err, NULL);
}

/* --- a loop device of our own --- */

struct mine {
	int nr;
	char path[32];
	dev_t dev;
	int ctl, lfd;
};

static void loop_add(struct mine *m)
{
	char sys[64];

	m->ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	ASSERT_GE(m->ctl, 0);
	static int next = 200;	/* a number no other test uses, and a new one each time */

	for (m->nr = next; m->nr < 300; m->nr++)
		if (ioctl(m->ctl, LOOP_CTL_ADD, m->nr) >= 0)
			break;
	ASSERT_LT(m->nr, 300);
	next = m->nr + 1;
	snprintf(m->path, sizeof(m->path), "/dev/loop%d", m->nr);
	snprintf(sys, sizeof(sys), "/sys/block/loop%d/dev", m->nr);
	ASSERT_EQ(bn_sysfs_read_devnum(sys, &m->dev), 0);
	m->lfd = open(m->path, O_RDWR | O_CLOEXEC);
	ASSERT_GE(m->lfd, 0);
}

static void loop_attach(struct mine *m, const char *file, bool ro)
{
	struct loop_config cfg = { 0 };

	int fd = open(file, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0)
		TEST_FAIL_(1, "open %s: %s", file, strerror(errno));
	cfg.fd = (__u32)fd;
	cfg.info.lo_flags = ro ? LO_FLAGS_READ_ONLY : 0;
	if (ioctl(m->lfd, LOOP_CONFIGURE, &cfg))
		TEST_FAIL_(1, "LOOP_CONFIGURE %s on %s: %s", file, m->path, strerror(errno));
	close(cfg.fd);
}

/* LOOP_CLR_FD detaches at the last close (since Linux 5.18 or so): close, and open again. */
static void loop_detach(struct mine *m)
{
	char sys[64];
	__u64 size = 1;
	int i;

	ASSERT_EQ(ioctl(m->lfd, LOOP_CLR_FD, 0), 0);
	close(m->lfd);
	snprintf(sys, sizeof(sys), "/sys/block/loop%d/size", m->nr);
	for (i = 0; i < 200 && (bn_sysfs_read_u64(sys, &size) || size); i++)
		usleep(10000);
	ASSERT_EQ(size, 0);
	m->lfd = open(m->path, O_RDWR | O_CLOEXEC);
	ASSERT_GE(m->lfd, 0);
}

static void loop_remove(struct mine *m)
{
	int i, r = -1;

	close(m->lfd);
	m->lfd = -1;
	for (i = 0; i < 200 && r < 0; i++) {
		r = ioctl(m->ctl, LOOP_CTL_REMOVE, m->nr);
		if (r < 0 && errno != EBUSY)
			break;
		if (r < 0)
			usleep(10000);	/* a prober (udev, if any) still has it open */
	}
	ASSERT_GE(r, 0);
	close(m->ctl);
}

/* --- what the queue gives for our device --- */

#define LOG_MAX	1024
struct seen {
	struct block_notification r[LOG_MAX];
	unsigned int len[LOG_MAX];
	int n;
	__u64 lost;
	int loss_at;		/* index of the first record after the first loss; -1: none */
};

static void read_some(struct blknotify_queue *q, dev_t dev, struct seen *s, int timeout_ms)
{
	static unsigned char buf[64 * 1024];
	const struct watch_notification *w;
	ssize_t len = blknotify_queue_read(q, buf, sizeof(buf), timeout_ms);

	if (len == -EAGAIN)
		return;
	if (len < 0)
		TEST_FAIL_(1, "read: %s", strerror((int)-len));
	for (w = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(w, len); w = BLOCK_NOTIFY_RECORD_NEXT(w, len)) {
		const struct block_notification *b = (const void *)w;
		unsigned int rl = BLOCK_NOTIFY_RECORD_LEN(w);

		if (w->type == WATCH_TYPE_META) {
			ASSERT_EQ(w->subtype, WATCH_META_LOSS_NOTIFICATION);
			s->lost += ((const struct block_notification_loss *)w)->nr_lost;
			if (s->loss_at < 0)
				s->loss_at = s->n;
			continue;
		}
		ASSERT_EQ(w->type, WATCH_TYPE_BLOCK_NOTIFY);
		/* dev 0: every device's lifecycle records (other tests' errors would flood the log) */
		if (dev ? b->dev != dev : w->subtype < NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST ||
						w->subtype > NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST)
			continue;
		ASSERT_LT(s->n, LOG_MAX);
		memset(&s->r[s->n], 0, sizeof(s->r[0]));
		memcpy(&s->r[s->n], b, rl < sizeof(*b) ? rl : sizeof(*b));
		s->len[s->n++] = rl;
	}
	ASSERT_EQ(len, 0);
}

/* Read until dev's record of subtype st arrives at index from or later (at most 10 s); its index. */
static int wait_for(struct blknotify_queue *q, dev_t dev, struct seen *s, unsigned int st, int from)
{
	int i, tries;

	for (tries = 0; tries < 100; tries++) {
		for (i = from; i < s->n; i++)
			if (s->r[i].watch.subtype == st)
				return i;
		from = s->n;
		read_some(q, dev, s, 100);
	}
	TEST_FAIL_(1, "no %s record for %u:%u within 10 s", blknotify_subtype_name(st),
		   major(dev), minor(dev));
	return -1;
}

static struct blknotify_queue *open_queue(enum blknotify_source src, unsigned int size)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = src);
	struct blknotify_queue *q;

	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	ASSERT_EQ(blknotify_queue_set_size(q, size), 0);
	return q;
}

/*
 * Let watch id[i] pass only subtypes first[i]..last[i]: a watch of every
 * device that must not fill up with other tests' errors passes lifecycle
 * records only.
 */
static void filter_watches(struct blknotify_queue *q, unsigned int n, const unsigned int *id,
			   const unsigned int *first, const unsigned int *last)
{
	struct {
		struct watch_notification_filter f;
		struct watch_notification_type_filter t[4];
	} fl = { .f.nr_filters = n };
	unsigned int i, st;

	for (i = 0; i < n; i++) {
		fl.t[i].type = WATCH_TYPE_BLOCK_NOTIFY;
		fl.t[i].info_mask = WATCH_INFO_ID;
		fl.t[i].info_filter = id[i] << WATCH_INFO_ID__SHIFT;
		for (st = first[i]; st <= last[i]; st++)
			fl.t[i].subtype_filter[st / 32] |= 1U << (st % 32);
	}
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
}

#define LC_FIRST	NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST
#define LC_LAST		NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST
#define ERR_FIRST	NOTIFY_BLOCK_CLASS_ERROR_FIRST
#define ERR_LAST	NOTIFY_BLOCK_CLASS_ERROR_LAST

/* The subtypes seen, media changes left out (loop sends one at detach, on some kernels). */
static int subtypes(const struct seen *s, unsigned int *out, int max)
{
	int i, n = 0;

	for (i = 0; i < s->n && n < max; i++)
		if (s->r[i].watch.subtype != NOTIFY_BLOCK_MEDIA_CHANGE)
			out[n++] = s->r[i].watch.subtype;
	return n;
}

static int fail_reads(const char *path, int nr)
{
	static unsigned char buf[512] __attribute__((aligned(4096)));
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC), i, failed = 0;

	ASSERT_GE(fd, 0);
	for (i = 0; i < nr; i++)
		failed += pread(fd, buf, sizeof(buf), BAD_SECTOR * 512ULL) < 0 && errno == EIO;
	close(fd);
	return failed;
}

/*
 * A disk that appears after the watch of every device began is covered;
 * its errors (through a watch on it, so that other tests' errors cannot
 * fill this queue) come between its records.
 */
TEST(added_and_removed_in_order_with_errors)
{
	struct blknotify_queue *q;
	struct seen s = { .loss_at = -1 };
	struct mine m;
	unsigned int st[16], want[] = {
		NOTIFY_BLOCK_DEVICE_ADDED, NOTIFY_BLOCK_CAPACITY_CHANGE, NOTIFY_BLOCK_ERROR_IO,
		NOTIFY_BLOCK_ERROR_IO, NOTIFY_BLOCK_CAPACITY_CHANGE, NOTIFY_BLOCK_DEVICE_REMOVED,
	};
	int i, n, added, attached, detached;

	need_root();
	q = open_queue(BLKNOTIFY_SOURCE_BPF, 1024);
	filter_watches(q, 2, (unsigned int[]){ 1, 2 }, (unsigned int[]){ LC_FIRST, ERR_FIRST },
		       (unsigned int[]){ LC_LAST, ERR_LAST });
	ASSERT_EQ(blknotify_queue_watch_all(q, 1), 0);

	loop_add(&m);
	added = wait_for(q, m.dev, &s, NOTIFY_BLOCK_DEVICE_ADDED, 0);
	ASSERT_EQ(blknotify_queue_watch_device(q, m.dev, 2), 0);	/* its errors */
	loop_attach(&m, image, false);
	attached = wait_for(q, m.dev, &s, NOTIFY_BLOCK_CAPACITY_CHANGE, 0);
	ASSERT_EQ(fail_reads(m.path, 2), 2);
	loop_detach(&m);
	detached = wait_for(q, m.dev, &s, NOTIFY_BLOCK_CAPACITY_CHANGE, attached + 1);
	loop_remove(&m);
	wait_for(q, m.dev, &s, NOTIFY_BLOCK_DEVICE_REMOVED, 0);
	read_some(q, m.dev, &s, 0);

	n = subtypes(&s, st, 16);
	printf("#");
	for (i = 0; i < n; i++)
		printf(" %s", blknotify_subtype_name(st[i]));
	printf("\n");
	ASSERT_EQ(s.lost, 0);
	ASSERT_EQ(n, (int)(sizeof(want) / sizeof(want[0])));
	for (i = 0; i < n; i++)
		ASSERT_EQ(st[i], want[i]);
	/* Added: the new disk is 16 MiB; detached: back to 0.  All 72 bytes, watch ID 1. */
	ASSERT_EQ(added, 0);
	ASSERT_EQ(s.r[attached].old_capacity, 0);
	ASSERT_EQ(s.r[attached].sector, 16 << 11);
	ASSERT_EQ(s.r[detached].old_capacity, 16 << 11);
	ASSERT_EQ(s.r[detached].sector, 0);
	for (i = 0; i < s.n; i++) {
		unsigned int sub = s.r[i].watch.subtype;

		unsigned int id = (s.r[i].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;

		if (sub >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST && sub <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST) {
			ASSERT_EQ(s.len[i], BLOCK_NOTIFICATION_SIZE_V2);
			ASSERT_EQ(id, 1);
		} else {
			ASSERT_EQ(s.r[i].sector, BAD_SECTOR);
			ASSERT_EQ(id, 2);
		}
		if (i)
			ASSERT_GE(s.r[i].time_ns, s.r[i - 1].time_ns);	/* in order */
	}
	blknotify_queue_free(q);
}

/* losetup -c after the backing file grew: both sizes. */
TEST(capacity_change_has_both_sizes)
{
	char file[] = "/tmp/blknotify-lifecycle-XXXXXX";
	struct blknotify_queue *q;
	struct seen s = { .loss_at = -1 };
	struct mine m;
	int fd, i;

	need_root();
	fd = mkstemp(file);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
	q = open_queue(BLKNOTIFY_SOURCE_BPF, 256);
	loop_add(&m);
	loop_attach(&m, file, false);
	/* A watch on the disk itself this time: its records come to it. */
	ASSERT_EQ(blknotify_queue_watch_device(q, m.dev, 7), 0);
	ASSERT_EQ(ftruncate(fd, 3 << 20), 0);
	ASSERT_EQ(ioctl(m.lfd, LOOP_SET_CAPACITY, 0), 0);
	i = wait_for(q, m.dev, &s, NOTIFY_BLOCK_CAPACITY_CHANGE, 0);
	ASSERT_EQ(s.len[i], BLOCK_NOTIFICATION_SIZE_V2);
	ASSERT_EQ(s.r[i].old_capacity, 1 << 11);
	ASSERT_EQ(s.r[i].sector, 3 << 11);
	ASSERT_EQ((s.r[i].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 7);
	ASSERT_EQ(s.r[i].nr_sectors, 0);
	ASSERT_EQ(s.r[i].error, 0);
	loop_detach(&m);
	loop_remove(&m);
	close(fd);
	unlink(file);
	blknotify_queue_free(q);
}

/* losetup -r, then read-write again; BLKROSET (blockdev --setro) where the kernel lets us hook it. */
TEST(read_only_set_and_cleared)
{
	char file[] = "/tmp/blknotify-lifecycle-XXXXXX";
	struct blknotify_queue *q;
	struct seen s = { .loss_at = -1 };
	struct mine m;
	int fd, i, sets, clears, on = 1, off = 0;

	need_root();
	fd = mkstemp(file);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
	q = open_queue(BLKNOTIFY_SOURCE_BPF, 256);
	filter_watches(q, 1, (unsigned int[]){ 2 }, (unsigned int[]){ LC_FIRST },
		       (unsigned int[]){ LC_LAST });
	ASSERT_EQ(blknotify_queue_watch_all(q, 2), 0);
	loop_add(&m);
	wait_for(q, m.dev, &s, NOTIFY_BLOCK_DEVICE_ADDED, 0);
	loop_attach(&m, file, true);
	i = wait_for(q, m.dev, &s, NOTIFY_BLOCK_READ_ONLY_SET, 0);
	ASSERT_EQ(s.len[i], BLOCK_NOTIFICATION_SIZE_V2);
	loop_detach(&m);
	wait_for(q, m.dev, &s, NOTIFY_BLOCK_CAPACITY_CHANGE, i + 1);
	loop_attach(&m, file, false);
	wait_for(q, m.dev, &s, NOTIFY_BLOCK_READ_ONLY_CLEARED, 0);
	read_some(q, m.dev, &s, 0);
	for (i = 0, sets = 0, clears = 0; i < s.n; i++) {	/* exactly one of each */
		sets += s.r[i].watch.subtype == NOTIFY_BLOCK_READ_ONLY_SET;
		clears += s.r[i].watch.subtype == NOTIFY_BLOCK_READ_ONLY_CLEARED;
	}
	ASSERT_EQ(sets, 1);
	ASSERT_EQ(clears, 1);
	if (source_bpf_lifecycle_hooks(q)) {
		int from = s.n;

		ASSERT_EQ(ioctl(m.lfd, BLKROSET, &on), 0);
		ASSERT_EQ(ioctl(m.lfd, BLKROSET, &on), 0);	/* no change: no record */
		ASSERT_EQ(ioctl(m.lfd, BLKROSET, &off), 0);
		wait_for(q, m.dev, &s, NOTIFY_BLOCK_READ_ONLY_CLEARED, from);
		read_some(q, m.dev, &s, 0);
		ASSERT_EQ(s.n, from + 2);
		ASSERT_EQ(s.r[from].watch.subtype, NOTIFY_BLOCK_READ_ONLY_SET);
		ASSERT_EQ(s.r[from + 1].watch.subtype, NOTIFY_BLOCK_READ_ONLY_CLEARED);
	} else {
		printf("# BLKROSET not checked: this kernel does not load the lifecycle hooks "
		       "(fentry); the VM tier checks it\n");
	}
	loop_detach(&m);
	loop_remove(&m);
	close(fd);
	unlink(file);
	blknotify_queue_free(q);
}

/*
 * A storm fills a small queue, then the disk goes away before the monitor
 * reads: every error is delivered or counted lost, and the removal record
 * comes last, after the loss report.
 */
TEST(removed_after_a_storm_ends_with_removal_and_exact_loss)
{
	enum { STORM = 300, QSIZE = 16 };
	struct blknotify_queue *q;
	struct seen s = { .loss_at = -1 };
	struct mine m;
	int i, errors = 0, failed;

	need_root();
	q = open_queue(BLKNOTIFY_SOURCE_BPF, QSIZE);
	loop_add(&m);
	loop_attach(&m, image, false);
	ASSERT_EQ(blknotify_queue_watch_device(q, m.dev, 3), 0);
	failed = fail_reads(m.path, STORM);
	ASSERT_EQ(failed, STORM);
	loop_detach(&m);
	loop_remove(&m);
	wait_for(q, m.dev, &s, NOTIFY_BLOCK_DEVICE_REMOVED, 0);
	read_some(q, m.dev, &s, 0);

	for (i = 0; i < s.n; i++)
		errors += s.r[i].watch.subtype == NOTIFY_BLOCK_ERROR_IO;
	printf("# %d errors: %d delivered, %llu reported lost\n", STORM, errors,
	       (unsigned long long)s.lost);
	ASSERT_GT(s.lost, 0);
	ASSERT_EQ(errors + s.lost, STORM);
	ASSERT_EQ(s.r[s.n - 1].watch.subtype, NOTIFY_BLOCK_DEVICE_REMOVED);
	ASSERT_LE(s.loss_at, errors);	/* the loss is reported before the lifecycle records */
	ASSERT_EQ((s.r[s.n - 1].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 3);
	blknotify_queue_free(q);
}

/* The kmsg source gets the same records from the same monitor. */
TEST(kmsg_source_gets_them_too)
{
	struct blknotify_queue *q;
	struct seen s = { .loss_at = -1 };
	struct mine m;

	need_root();
	q = open_queue(BLKNOTIFY_SOURCE_KMSG, 256);
	ASSERT_EQ(blknotify_queue_watch_all(q, 4), 0);
	loop_add(&m);
	wait_for(q, m.dev, &s, NOTIFY_BLOCK_DEVICE_ADDED, 0);
	loop_remove(&m);
	wait_for(q, m.dev, &s, NOTIFY_BLOCK_DEVICE_REMOVED, 0);
	ASSERT_EQ(s.n, 2);
	ASSERT_EQ(s.r[0].watch.subtype, NOTIFY_BLOCK_DEVICE_ADDED);
	blknotify_queue_free(q);
}

/*
 * Through blknotifyd: a watch on the disk ends with the disk's removal
 * record, then exactly one end of the watch (-ENODEV); a watch of every
 * device gets the removal record and goes on.  Errors before: delivered
 * or counted lost.
 */
static struct daemon_run *daemon_running;

static void stop_daemon_at_exit(void)
{
	if (daemon_running)
		daemon_run_fini(daemon_running);	/* a failed test leaves none behind */
}

TEST(daemon_ends_the_watch_after_the_removal_record)
{
	enum { ERRORS = 50 };
	char dir[] = "/tmp/blknotify-lifecycle-d-XXXXXX", conf[96], sock[96], notify[96];
	static unsigned char buf[64 * 1024];
	static struct daemon_run r;	/* static: stop_daemon_at_exit() may see it after a failed ASSERT */
	struct blknotify_queue *q;
	struct mine m;
	FILE *f;
	int errors5 = 0, errors6 = 0, removed5 = -1, removed6 = -1, ends = 0, end_error = 0;
	int i, n = 0, end_at = -1;
	__u64 lost = 0;

	need_root();
	if (!getenv("BLKNOTIFYD"))
		TEST_FAIL_(1, "%s", "BLKNOTIFYD names no blknotifyd binary: run through meson test");
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(conf, sizeof(conf), "%s/d.conf", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "socket = %s\npin_path = none\nstate_file = %s/state\n", sock, dir);
	fclose(f);
	ASSERT_EQ(daemon_run_init(&r, notify, conf, 10000), 0);
	daemon_running = &r;
	atexit(stop_daemon_at_exit);
	ASSERT_EQ(daemon_run_start(&r, "bpf"), 0);
	{
		BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_DAEMON,
			       .daemon_socket = sock);

		ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	}
	loop_add(&m);
	loop_attach(&m, image, false);
	/* Watch 6, of every device, passes lifecycle records only: other tests' errors stay out. */
	filter_watches(q, 2, (unsigned int[]){ 5, 6 }, (unsigned int[]){ ERR_FIRST, LC_FIRST },
		       (unsigned int[]){ LC_LAST, LC_LAST });
	ASSERT_EQ(blknotify_queue_watch_device(q, m.dev, 5), 0);
	ASSERT_EQ(blknotify_queue_watch_all(q, 6), 0);
	ASSERT_EQ(fail_reads(m.path, ERRORS), ERRORS);
	loop_detach(&m);
	loop_remove(&m);
	/* Until the watch's end, and a little after it: nothing more may come for watch 5. */
	for (i = 0; i < 100 && (end_at < 0 || i < end_at + 5); i++) {
		const struct watch_notification *w;
		ssize_t len = blknotify_queue_read(q, buf, sizeof(buf), 100);

		if (len == -EAGAIN)
			continue;
		ASSERT_GE(len, 0);
		for (w = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(w, len);
		     w = BLOCK_NOTIFY_RECORD_NEXT(w, len)) {
			const struct block_notification *b = (const void *)w;
			unsigned int id = (w->info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;

			if (w->type == WATCH_TYPE_META && w->subtype == WATCH_META_LOSS_NOTIFICATION) {
				lost += ((const struct block_notification_loss *)w)->nr_lost;
				continue;
			}
			if (w->type == WATCH_TYPE_META) {
				ASSERT_EQ(w->subtype, WATCH_META_REMOVAL_NOTIFICATION);
				ASSERT_EQ(id, 5);
				ASSERT_GE(removed5, 0);		/* after the removal record */
				ends++;
				end_error = ((const struct bnd_watch_removal *)w)->error;
				end_at = i;
				n++;
				continue;
			}
			if (b->dev != m.dev)
				continue;
			if (id == 5)
				ASSERT_EQ(ends, 0);	/* nothing for watch 5 after its end */
			if (w->subtype == NOTIFY_BLOCK_ERROR_IO)
				id == 5 ? errors5++ : errors6++;
			if (w->subtype == NOTIFY_BLOCK_DEVICE_REMOVED)
				*(id == 5 ? &removed5 : &removed6) = n;
			n++;
		}
	}
	printf("# watch 5: %d errors, removal at %d; watch 6: %d errors, removal at %d; "
	       "%llu lost; %d end(s), %s\n", errors5, removed5, errors6, removed6,
	       (unsigned long long)lost, ends, strerror(-end_error));
	ASSERT_EQ(ends, 1);
	ASSERT_EQ(end_error, -ENODEV);
	ASSERT_GE(removed5, 0);
	ASSERT_GE(removed6, 0);
	ASSERT_EQ(errors6, 0);
	ASSERT_EQ(errors5 + lost, ERRORS);
	blknotify_queue_free(q);
	daemon_run_fini(&r);
	daemon_running = NULL;
	unlink(conf);
	unlink(notify);
	snprintf(conf, sizeof(conf), "%s/state", dir);
	unlink(conf);
	rmdir(dir);
}

/*
 * The uevent socket overflows (its buffer shrunk to the least the kernel
 * allows, and 24 disks added before the queue is read): a loss record,
 * then every disk is still reported added exactly once, from the socket or
 * from the resync with sysfs that follows the overflow.
 */
TEST(socket_overflow_is_loss_then_resync)
{
	enum { NR = 24 };
	struct blknotify_queue *q;
	struct seen s = { .loss_at = -1 };
	struct mine m[NR];
	int i, j, added, tries;

	need_root();
	q = open_queue(BLKNOTIFY_SOURCE_BPF, 1024);
	filter_watches(q, 1, (unsigned int[]){ 1 }, (unsigned int[]){ LC_FIRST },
		       (unsigned int[]){ LC_LAST });
	ASSERT_EQ(blknotify_queue_watch_all(q, 1), 0);
	ASSERT_EQ(lifecycle_set_rcvbuf(q, 1), 0);
	for (i = 0; i < NR; i++)
		loop_add(&m[i]);
	/* Every disk's records, whatever device they are for: ours are picked out below. */
	for (tries = 0; tries < 20; tries++)
		read_some(q, 0, &s, 100);
	printf("# %llu reported lost, %d lifecycle records\n", (unsigned long long)s.lost, s.n);
	EXPECT_TRUE(s.lost > 0);	/* EXPECT: the disks are removed below either way */
	for (i = 0; i < NR; i++) {
		for (j = 0, added = 0; j < s.n; j++)
			added += s.r[j].dev == m[i].dev &&
				 s.r[j].watch.subtype == NOTIFY_BLOCK_DEVICE_ADDED;
		if (added != 1)
			printf("# loop%d: %d added records\n", m[i].nr, added);
		EXPECT_EQ(added, 1);
	}
	for (i = 0; i < NR; i++)
		loop_remove(&m[i]);
	blknotify_queue_free(q);
}
