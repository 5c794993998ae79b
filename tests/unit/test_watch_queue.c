// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The watch_queue source when the kernel fails a watch change half-way.
 * A kernel without the series in kernel/ has no block watches (this
 * host has no notification pipes either), so the test stands in for the
 * kernel (source_watch_queue_kernel): an ordinary pipe, and ioctls that
 * keep the watches the kernel would hold and fail when told to.  The queue must end up delivering what its configuration
 * says, or fail its reads: never be silent.
 *
 * The fake also posts what the series (kernel/0003) posts when a disk goes
 * away: the removal record to each watch on it, then the watch queue's
 * 16-byte removal notice (the watch's ID in info, the disk's number as
 * id), as it does for a BLOCK_WATCH_REMOVE.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <linux/watch_queue.h>

#include "queue.h"
#include "../harness.h"

/* The fake kernel: its watches, and which WATCH_BLOCK adds fail. */
static struct { bool on; __u32 id; __u64 dev; } kw[BN_WATCHES_MAX];
static int fail_adds;	/* the next this many adds fail */
static int pipe_w = -1;		/* the fake notification pipe's write end */
static __u64 gone_dev;		/* a disk the fake kernel removed: adds fail ENODEV */
static int nr_removes;		/* BLOCK_WATCH_REMOVE ioctls */

/* remove_watch_from_object(): the notice, 16 bytes with an id, 8 without. */
static void post_removal_notice(__u32 watch_id, __u64 id)
{
	struct watch_notification_removal n = {
		.watch.type = WATCH_TYPE_META,
		.watch.subtype = WATCH_META_REMOVAL_NOTIFICATION,
		.watch.info = watch_id << WATCH_INFO_ID__SHIFT |
			      (id ? sizeof(n) : sizeof(n.watch)),
		.id = id,
	};

	ASSERT_EQ(write(pipe_w, &n, n.watch.info & WATCH_INFO_LENGTH),
		  (ssize_t)(n.watch.info & WATCH_INFO_LENGTH));
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct block_watch *w = arg;
	unsigned int i;

	(void)fd;
	if (req == IOC_WATCH_QUEUE_SET_FILTER || req == IOC_WATCH_QUEUE_SET_SIZE)
		return 0;
	if (req != IOC_WATCH_QUEUE_WATCH_BLOCK)
		return errno = ENOTTY, -1;
	if (w->flags & BLOCK_WATCH_REMOVE) {
		nr_removes++;
		for (i = 0; i < BN_WATCHES_MAX; i++)
			if (kw[i].on && kw[i].id == w->watch_id && kw[i].dev == w->dev) {
				kw[i].on = false;
				post_removal_notice(w->watch_id, w->dev);
				return 0;
			}
		return errno = ENOENT, -1;
	}
	if (w->dev && w->dev == gone_dev)
		return errno = ENODEV, -1;
	if (fail_adds > 0) {
		fail_adds--;
		return errno = EAGAIN, -1;
	}
	for (i = 0; i < BN_WATCHES_MAX; i++)
		if (!kw[i].on) {
			kw[i].on = true;
			kw[i].id = w->watch_id;
			kw[i].dev = w->dev;
			return 0;
		}
	return errno = ENOSPC, -1;
}

/* An ordinary pipe stands in for the notification pipe: it stays empty. */
static int fake_pipe2(int fd[2], int flags)
{
	int r = pipe2(fd, flags & ~O_NOTIFICATION_PIPE);

	if (!r)
		pipe_w = fd[1];
	return r;
}

static const struct source_watch_queue_kernel fake_kernel = {
	.pipe2 = fake_pipe2,
	.ioctl = fake_ioctl,
};

static unsigned int kernel_watches(__u32 *id, __u64 *dev)
{
	unsigned int i, n = 0;

	for (i = 0; i < BN_WATCHES_MAX; i++)
		if (kw[i].on) {
			*id = kw[i].id;
			*dev = kw[i].dev;
			n++;
		}
	return n;
}

/*
 * del_gendisk(): the removal record (72 bytes) to each watch on the disk,
 * then each watch removed with its notice.
 */
static void fake_remove_disk(__u64 dev)
{
	unsigned int i;

	for (i = 0; i < BN_WATCHES_MAX; i++) {
		struct block_notification r = {
			.watch.type = WATCH_TYPE_BLOCK_NOTIFY,
			.watch.subtype = NOTIFY_BLOCK_DEVICE_REMOVED,
			.dev = dev,
		};

		if (!kw[i].on || (kw[i].dev && kw[i].dev != dev))
			continue;
		r.watch.info = kw[i].id << WATCH_INFO_ID__SHIFT | BLOCK_NOTIFICATION_SIZE_V2;
		ASSERT_EQ(write(pipe_w, &r, BLOCK_NOTIFICATION_SIZE_V2), BLOCK_NOTIFICATION_SIZE_V2);
	}
	for (i = 0; i < BN_WATCHES_MAX; i++)
		if (kw[i].on && kw[i].dev == dev) {
			kw[i].on = false;
			post_removal_notice(kw[i].id, dev);
		}
	gone_dev = dev;
}

/* A whole disk of this machine (the fake kernel does not care which). */
static __u64 some_disk(void)
{
	struct dirent *de;
	unsigned int ma, mi;
	__u64 dev = 0;
	DIR *d = opendir("/sys/block");

	while (d && !dev && (de = readdir(d))) {
		char path[300];
		FILE *f;

		snprintf(path, sizeof(path), "/sys/block/%s/dev", de->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%u:%u", &ma, &mi) == 2)
			dev = makedev(ma, mi);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return dev;
}

/* A queue with one watch, ID 3, on one disk: direct mode, one kernel watch. */
static struct blknotify_queue *disk_queue(__u64 *dev)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_WATCH_QUEUE);
	struct blknotify_queue *q;

	memset(kw, 0, sizeof(kw));
	fail_adds = 0;
	gone_dev = 0;
	nr_removes = 0;
	*dev = some_disk();
	if (!*dev)
		return NULL;
	source_watch_queue_kernel = &fake_kernel;
	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	ASSERT_EQ(blknotify_queue_watch_device(q, *dev, 3), 0);
	return q;
}

static struct blknotify_queue *started_queue(void)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_WATCH_QUEUE);
	struct blknotify_queue *q;

	memset(kw, 0, sizeof(kw));
	fail_adds = 0;
	source_watch_queue_kernel = &fake_kernel;
	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	ASSERT_EQ(blknotify_queue_watch_all(q, 1), 0);
	return q;
}

TEST(failed_change_is_undone_at_the_kernel)
{
	struct blknotify_queue *q = started_queue();
	unsigned char buf[64];
	__u64 dev = 1;
	__u32 id = 0;

	ASSERT_EQ(kernel_watches(&id, &dev), 1);
	ASSERT_EQ(id, 1);
	/*
	 * A second watch on every device switches to one kernel watch (ID 0)
	 * and library fan-out: the kernel removes watch 1, then refuses the
	 * new one.  The queue keeps its one watch, so the kernel must too.
	 */
	fail_adds = 1;
	ASSERT_EQ(blknotify_queue_watch_all(q, 2), -EAGAIN);
	ASSERT_EQ(kernel_watches(&id, &dev), 1);	/* 0 without the fix: silent */
	ASSERT_EQ(id, 1);
	ASSERT_EQ(dev, 0);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EAGAIN);
	blknotify_queue_free(q);
}

TEST(change_that_cannot_be_undone_stops_the_queue)
{
	struct blknotify_queue *q = started_queue();
	unsigned char buf[64];

	fail_adds = 2;	/* the add fails, and so does the restoring one */
	ASSERT_EQ(blknotify_queue_watch_all(q, 2), -EAGAIN);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EPIPE);
	ASSERT_TRUE(blknotify_queue_get_error(q) != NULL);
	printf("# %s\n", blknotify_queue_get_error(q));
	ASSERT_TRUE(strstr(blknotify_queue_get_error(q), "stopped") != NULL);
	blknotify_queue_free(q);
}

/*
 * The disk goes away: the kernel's removal record reaches the consumer as
 * the bpf and kmsg sources deliver theirs (72 bytes, the watch's ID) and
 * nothing after it, the notice included.  The library knows that kernel
 * watch is gone: removing the watch succeeds (as with bpf: 0) without
 * asking the kernel, and adding another watch does not try to add it back
 * (the kernel would say ENODEV).
 */
TEST(kernel_ending_a_disk_watch_is_its_removal_record)
{
	struct blknotify_queue *q;
	unsigned char buf[512];
	struct block_notification r;
	__u64 dev, other;
	__u32 id = 0;
	ssize_t n;

	q = disk_queue(&dev);
	if (!q)
		SKIP("no block device in /sys/block to name in a watch");
	fake_remove_disk(dev);
	n = blknotify_queue_read(q, buf, sizeof(buf), 0);
	ASSERT_EQ(n, BLOCK_NOTIFICATION_SIZE_V2);
	memcpy(&r, buf, sizeof(r));
	ASSERT_EQ(r.watch.type, WATCH_TYPE_BLOCK_NOTIFY);
	ASSERT_EQ(r.watch.subtype, NOTIFY_BLOCK_DEVICE_REMOVED);
	ASSERT_EQ((r.watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 3);
	ASSERT_EQ(r.dev, dev);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EAGAIN);

	/* Another watch: the ended one is not added again (ENODEV here). */
	other = dev ^ 1;
	ASSERT_EQ(blknotify_queue_watch_all(q, 4), 0);
	ASSERT_EQ(kernel_watches(&id, &other), 1);
	ASSERT_EQ(id, 4);
	ASSERT_EQ(other, 0);
	ASSERT_EQ(blknotify_queue_remove_watch(q, 3), 0);
	ASSERT_EQ(nr_removes, 0);	/* 1 without the notice read: ENOENT from the kernel */
	ASSERT_EQ(blknotify_queue_remove_watch(q, 3), -ENOENT);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EAGAIN);
	blknotify_queue_free(q);
}

/*
 * The notice our own removal causes is the same 16 bytes: a watch added
 * again with that ID before the notice is read is not taken as ended.
 */
TEST(own_removal_notice_ends_no_later_watch)
{
	struct blknotify_queue *q;
	unsigned char buf[512];
	__u64 dev, kdev = 0;
	__u32 id = 0;

	q = disk_queue(&dev);
	if (!q)
		SKIP("no block device in /sys/block to name in a watch");
	ASSERT_EQ(blknotify_queue_remove_watch(q, 3), 0);
	ASSERT_EQ(blknotify_queue_watch_device(q, dev, 3), 0);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EAGAIN);	/* the notice: dropped */
	ASSERT_EQ(kernel_watches(&id, &kdev), 1);
	ASSERT_EQ(blknotify_queue_remove_watch(q, 3), 0);
	ASSERT_EQ(nr_removes, 2);	/* the second watch was live: removed at the kernel */
	ASSERT_EQ(kernel_watches(&id, &kdev), 0);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EAGAIN);
	blknotify_queue_free(q);
}

/*
 * The disk goes away while the consumer is not reading; it removes its
 * watch (the kernel: ENOENT, done), the number comes back as another disk
 * and is watched again with the same ID.  The old disk's notice, read
 * now, must not end the new kernel watch: removing it later reaches the
 * kernel, so no kernel watch outlives the library's.
 */
TEST(late_notice_ends_no_later_watch)
{
	struct blknotify_queue *q;
	unsigned char buf[512];
	__u64 dev, kdev = 0;
	__u32 id = 0;

	q = disk_queue(&dev);
	if (!q)
		SKIP("no block device in /sys/block to name in a watch");
	fake_remove_disk(dev);
	ASSERT_EQ(blknotify_queue_remove_watch(q, 3), 0);
	ASSERT_EQ(nr_removes, 1);
	gone_dev = 0;		/* the number names a new disk */
	ASSERT_EQ(blknotify_queue_watch_device(q, dev, 3), 0);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), BLOCK_NOTIFICATION_SIZE_V2);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EAGAIN);
	ASSERT_EQ(kernel_watches(&id, &kdev), 1);
	ASSERT_EQ(blknotify_queue_remove_watch(q, 3), 0);
	ASSERT_EQ(nr_removes, 2);
	ASSERT_EQ(kernel_watches(&id, &kdev), 0);	/* 1 if the old notice ended the new watch */
	blknotify_queue_free(q);
}
