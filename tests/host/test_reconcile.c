// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The bpf source's reconciliation with ftrace (lib/reconcile.c) on real
 * errors: errors the program did not count for a watch are reported as loss,
 * with their exact count, and ordinary errors give no loss that did not
 * happen.
 *
 * To make the program miss errors deterministically, a test overwrites the
 * program's configuration map with one that watches nothing (behind the
 * library's back, so the ftrace filter still watches the device): the
 * program runs, matches nothing and counts nothing, as when the kernel runs
 * no program.  Then it puts the queue's configuration back.
 *
 * Each test watches only its own blkfault device.  Needs root, /dev/fuse,
 * /dev/loop-control and tracefs.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <blknotify/blknotify.h>
#include "queue.h"
#include "reconcile.h"
#include "blknotify.bpf.h"
#include "blknotify.skel.h"
#include "faulty.h"

static const char *bad_ranges[] = { "1000+200", NULL };
static struct faulty dev;
static int setup_err;

static char pin[64];

/* A failed assertion must not leave the pinned test's program attached. */
static void unpin_at_exit(void)
{
	source_bpf_unpin(pin);
}

static void setup(void)
{
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/blknotify-test-recon-%d", getpid());
	atexit(unpin_at_exit);
	setup_err = faulty_start_for_program(&dev, bad_ranges);
}
#define TEST_SETUP setup
#include "../harness.h"
#include "host-test.h"

/* The program's .bss (bpf/blknotify.bpf.c), as its skeleton lays it out. */
#define program_bss blknotify_bpf__bss

static void need_device(void)
{
	need_faulty(setup_err, NULL);
	if (access("/sys/kernel/tracing/instances", W_OK))
		SKIP("no writable tracefs instances (/sys/kernel/tracing/instances)");
}

static __u32 prog_id(struct blknotify_queue *q)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	ASSERT_EQ(bpf_obj_get_info_by_fd(source_bpf_prog_fd(q), &info, &len), 0);
	return info.id;
}

/* The fd of the program's map whose name ends in suffix. */
static int program_map(struct blknotify_queue *q, const char *suffix, __u32 *value_size)
{
	struct bpf_prog_info info = {};
	__u32 ids[8], len = sizeof(info), i;
	int found = -1;

	info.nr_map_ids = 8;
	info.map_ids = (__u64)(unsigned long)ids;
	ASSERT_EQ(bpf_obj_get_info_by_fd(source_bpf_prog_fd(q), &info, &len), 0);
	for (i = 0; i < info.nr_map_ids && i < 8; i++) {
		struct bpf_map_info m = {};
		__u32 mlen = sizeof(m);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		size_t nl, sl = strlen(suffix);

		ASSERT_GE(fd, 0);
		ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &m, &mlen), 0);
		nl = strlen(m.name);
		if (found < 0 && nl >= sl && !strcmp(m.name + nl - sl, suffix)) {
			found = fd;
			*value_size = m.value_size;
			continue;
		}
		close(fd);
	}
	ASSERT_GE(found, 0);
	return found;
}

static struct program_bss program_bss(struct blknotify_queue *q)
{
	struct program_bss b;
	__u32 size, zero = 0;
	int fd = program_map(q, ".bss", &size);

	ASSERT_EQ(size, sizeof(b));	/* the skeleton's own layout */
	ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &b), 0);
	close(fd);
	return b;
}

/* The program watches nothing (blind) or the queue's watches again. */
static void program_blind(struct blknotify_queue *q, bool blind)
{
	struct bn_config none = {};
	__u32 size, zero = 0;
	int fd = program_map(q, "config", &size);

	ASSERT_EQ(size, sizeof(none));
	ASSERT_EQ(bpf_map_update_elem(fd, &zero, blind ? &none : &q->config, BPF_ANY), 0);
	close(fd);
}

static struct blknotify_queue *open_queue(const char *pin_path)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_BPF,
		       .bpf_pin_path = pin_path);
	struct blknotify_queue *q = NULL;
	int err;

	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	err = blknotify_queue_watch_device(q, dev.rdev, 1);
	if (err)
		TEST_FAIL_(1, "watch_device: %s (%s)", strerror(-err),
			   blknotify_queue_get_error(q) ?: "");
	return q;
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read for wait_ms (poll, then read until empty): error records counted in
 * *records (their sectors in sectors[] when given), loss summed in *lost;
 * returns once wait_ms passed, or as soon as records + lost reach until
 * (0: wait it all).
 */
static void read_for(struct blknotify_queue *q, unsigned int wait_ms, __u64 until,
		     unsigned int *records, __u64 *lost, __u64 *sectors, unsigned int max)
{
	static unsigned char buf[64 * 1024];
	__u64 end = now_ms() + wait_ms;

	for (;;) {
		struct pollfd pfd = { .fd = blknotify_queue_get_fd(q), .events = POLLIN };
		const struct watch_notification *w;
		__u64 t = now_ms();
		ssize_t len;

		if (t >= end || (until && *records + *lost >= until))
			return;
		if (poll(&pfd, 1, (int)(end - t)) <= 0)
			continue;
		while ((len = blknotify_queue_read(q, buf, sizeof(buf), 0)) > 0) {
			for (w = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(w, len);
			     w = BLOCK_NOTIFY_RECORD_NEXT(w, len)) {
				if (w->type == WATCH_TYPE_META) {
					ASSERT_EQ(w->subtype, WATCH_META_LOSS_NOTIFICATION);
					*lost += ((const struct block_notification_loss *)w)->nr_lost;
					continue;
				}
				if (sectors && *records < max)
					sectors[*records] = ((const struct block_notification *)w)->sector;
				(*records)++;
			}
		}
		ASSERT_EQ(len, -EAGAIN);
	}
}

static bool instance_exists(__u32 id)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/tracing/instances/blknotify-%u", id);
	return access(path, F_OK) == 0;
}

/*
 * Errors the program did not count are reported as loss with their exact
 * count, after the record that followed them, once the counts have settled;
 * and not again.  (This host's kernel may itself skip the program for an
 * error, the loss this reconciliation exists for: such an error is then
 * missing from the records and counted in the loss, so the test asserts
 * records + loss = errors caused, and at least the errors made to be missed.)
 */
TEST(errors_the_program_missed_are_reported_as_loss)
{
	enum { MISSED = 7 };
	__u64 lost = 0, sectors[4];
	unsigned int records = 0, i;
	struct blknotify_queue *q;
	__u32 id;

	need_device();
	q = open_queue(NULL);
	id = prog_id(q);
	ASSERT_TRUE(instance_exists(id));
	ASSERT_EQ(faulty_io(&dev, 1000, 1, 0), -EIO);
	program_blind(q, true);
	for (i = 0; i < MISSED; i++)
		ASSERT_EQ(faulty_io(&dev, 1001 + i, 1, 0), -EIO);
	program_blind(q, false);
	ASSERT_EQ(faulty_io(&dev, 1100, 1, 0), -EIO);
	read_for(q, 5000, 2 + MISSED, &records, &lost, sectors, 4);
	ASSERT_EQ(records + lost, 2 + MISSED);
	ASSERT_GE(lost, MISSED);
	if (records == 2) {
		ASSERT_EQ(sectors[0], 1000);
		ASSERT_EQ(sectors[1], 1100);
	} else {
		printf("# the kernel skipped the program for %u of our errors too\n", 2 - records);
	}
	/* The next checks (at 0.1 s and 1 s) find nothing new. */
	read_for(q, 1300, 0, &records, &lost, NULL, 0);
	ASSERT_EQ(records + lost, 2 + MISSED);
	ASSERT_GE(program_bss(q).reconcile.traced, 2 + MISSED);
	blknotify_queue_free(q);
	ASSERT_FALSE(instance_exists(id));	/* freed with the queue */
}

/* A miss with no error after it is found by the queue's own timer. */
TEST(a_miss_with_nothing_after_it_is_found)
{
	unsigned int records = 0;
	struct blknotify_queue *q;
	__u64 lost = 0;

	need_device();
	q = open_queue(NULL);
	program_blind(q, true);
	ASSERT_EQ(faulty_io(&dev, 1030, 1, 0), -EIO);
	ASSERT_EQ(faulty_io(&dev, 1031, 1, 0), -EIO);
	program_blind(q, false);
	/* Checks at 0.1 s, then at 1 s and 10 s intervals while nothing moves. */
	read_for(q, 15000, 2, &records, &lost, NULL, 0);
	ASSERT_EQ(records + lost, 2);
	ASSERT_EQ(lost, 2);		/* no record: the program saw none */
	blknotify_queue_free(q);
}

/*
 * A storm with two watches on the device and a filter that keeps one watch's
 * records, with errors on an unwatched device in between: every error is
 * delivered or reported lost, and no loss is made up (records + lost is
 * exactly the errors caused, after the reconciliation ran twice).
 */
TEST(storm_with_two_watches_and_a_filter_has_no_phantom_loss)
{
	enum { ERRORS = 2000 };
	static const char *const other_bad[] = { "0+16", NULL };
	struct {
		struct watch_notification_filter f;
		struct watch_notification_type_filter t[1];
	} fl = { .f.nr_filters = 1 };
	unsigned int records = 0, i;
	struct blknotify_queue *q;
	struct program_bss b;
	struct faulty other;
	__u64 lost = 0;
	int err;

	need_device();
	q = open_queue(NULL);
	ASSERT_EQ(blknotify_queue_watch_device(q, dev.rdev, 2), 0);
	fl.t[0].type = WATCH_TYPE_BLOCK_NOTIFY;
	memset(fl.t[0].subtype_filter, 0xff, sizeof(fl.t[0].subtype_filter));
	fl.t[0].info_mask = WATCH_INFO_ID;
	fl.t[0].info_filter = 2 << WATCH_INFO_ID__SHIFT;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	err = faulty_start(&other, other_bad);
	if (err)
		TEST_FAIL_(1, "second blkfault: %s", strerror(-err));
	for (i = 0; i < ERRORS; i++) {
		ASSERT_EQ(faulty_io(&dev, 1000 + i % 200, 1, 0), -EIO);
		if (i % 100 == 0)
			ASSERT_EQ(faulty_io(&other, i % 16, 1, 0), -EIO);
		if (i % 500 == 0)
			read_for(q, 150, 0, &records, &lost, NULL, 0);	/* a check mid-storm */
	}
	read_for(q, 1300, 0, &records, &lost, NULL, 0);
	b = program_bss(q);
	printf("# records %u, lost %llu, watched %llu, traced %llu\n", records,
	       (unsigned long long)lost, (unsigned long long)b.counters.watched,
	       (unsigned long long)b.reconcile.traced);
	ASSERT_EQ(records + lost, ERRORS);
	ASSERT_TRUE(b.reconcile.valid);
	ASSERT_EQ(b.reconcile.traced, ERRORS);	/* the ftrace filter saw only our device */
	faulty_stop(&other);
	blknotify_queue_free(q);
}

/*
 * A pinned queue's baseline survives its owner: a miss counted before the
 * owner left is reported by the next owner once, and not by the one after.
 * Removing the pins removes the instance.
 */
TEST(pinned_queue_reports_a_miss_once_across_owners)
{
	unsigned int records = 0, i;
	struct blknotify_queue *q;
	__u64 lost = 0;
	__u32 id;

	need_device();
	source_bpf_unpin(pin);
	q = open_queue(pin);
	id = prog_id(q);
	ASSERT_EQ(faulty_io(&dev, 1000, 1, 0), -EIO);
	read_for(q, 300, 0, &records, &lost, NULL, 0);	/* a baseline check */
	ASSERT_EQ(records + lost, 1);
	program_blind(q, true);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(faulty_io(&dev, 1010 + i, 1, 0), -EIO);
	program_blind(q, false);
	blknotify_queue_free(q);		/* before any check saw the misses */
	ASSERT_TRUE(instance_exists(id));	/* kept with the pinned queue */

	q = open_queue(pin);
	ASSERT_EQ(prog_id(q), id);
	ASSERT_EQ(faulty_io(&dev, 1020, 1, 0), -EIO);
	read_for(q, 5000, 5, &records, &lost, NULL, 0);
	ASSERT_EQ(records + lost, 5);
	ASSERT_GE(lost, 3);
	blknotify_queue_free(q);

	q = open_queue(pin);			/* the next owner: nothing new */
	ASSERT_EQ(faulty_io(&dev, 1021, 1, 0), -EIO);
	read_for(q, 1300, 0, &records, &lost, NULL, 0);
	ASSERT_EQ(records + lost, 6);
	ASSERT_GE(lost, 3);
	blknotify_queue_free(q);
	ASSERT_EQ(source_bpf_unpin(pin), 0);
	ASSERT_FALSE(instance_exists(id));
}

/* The fallback attach point traces every completion: no reconciliation there. */
TEST(fallback_attach_point_has_no_instance)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_BPF,
		       .flags = BLKNOTIFY_QUEUE_BPF_COMPLETE);
	struct blknotify_queue *q = NULL;

	need_device();
	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	ASSERT_EQ(blknotify_queue_watch_device(q, dev.rdev, 1), 0);
	ASSERT_FALSE(instance_exists(prog_id(q)));
	blknotify_queue_free(q);
}
