// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The watch_queue source when the kernel fails a watch change half-way.
 * A kernel without the series in kernel/ has no block watches (this
 * host has no notification pipes either), so the test stands in for the
 * kernel (source_watch_queue_kernel): an ordinary pipe, and ioctls that
 * keep the watches the kernel would hold and fail when told to.  The queue must end up delivering what its configuration
 * says, or fail its reads: never be silent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/watch_queue.h>

#include "queue.h"
#include "../harness.h"

struct block_watch {
	__u32	flags;
	__u32	watch_id;
	__u64	dev;
};
#define BLOCK_WATCH_REMOVE		(1U << 0)
#define IOC_WATCH_QUEUE_WATCH_BLOCK	_IOW('W', 0x62, struct block_watch)

/* The fake kernel: its watches, and which WATCH_BLOCK adds fail. */
static struct { bool on; __u32 id; __u64 dev; } kw[BN_WATCHES_MAX];
static int fail_adds;	/* the next this many adds fail */

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
		for (i = 0; i < BN_WATCHES_MAX; i++)
			if (kw[i].on && kw[i].id == w->watch_id && kw[i].dev == w->dev) {
				kw[i].on = false;
				return 0;
			}
		return errno = ENOENT, -1;
	}
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
	return pipe2(fd, flags & ~O_NOTIFICATION_PIPE);
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
