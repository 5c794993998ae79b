/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What host test programs share once the harness is in: the check that
 * the program's blkfault device is there, and the record clock.  Include
 * after harness.h (it skips and fails tests).
 */
#ifndef BLKNOTIFY_TEST_HOST_TEST_H
#define BLKNOTIFY_TEST_HOST_TEST_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <blknotify/blknotify.h>

/*
 * For a test that needs the device its program's setup started
 * (faulty_start_for_program*()): skip when not root, fail when the setup
 * did not get there.  step: where the setup stopped (NULL: it starts only
 * blkfault).
 */
static inline void need_faulty(int err, const char *step)
{
	if (err == -EPERM)
		SKIP("needs root");
	if (!getenv("BLKFAULT"))
		TEST_FAIL_(1, "%s", "BLKFAULT names no blkfault binary: run through meson test");
	if (err && step)
		TEST_FAIL_(1, "setup failed at %s: %s", step, strerror(-err));
	if (err)
		TEST_FAIL_(1, "blkfault did not start: %s", strerror(-err));
}

/* Now on the clock records are stamped with (BLOCK_NOTIFY_CLOCK), in ns. */
static inline __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(BLOCK_NOTIFY_CLOCK, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/*
 * A queue of opts, of size records (0: the default), watching rdev with id;
 * anything refused fails the test.
 */
static inline struct blknotify_queue *queue_watching(const struct blknotify_queue_opts *opts,
						     unsigned int size, dev_t rdev, unsigned int id)
{
	struct blknotify_queue *q = NULL;
	int err;

	err = blknotify_queue_new(&q, opts);
	if (err)
		TEST_FAIL_(1, "blknotify_queue_new: %s", strerror(-err));
	if (size && (err = blknotify_queue_set_size(q, size)))
		TEST_FAIL_(1, "set_size: %s", strerror(-err));
	err = blknotify_queue_watch_device(q, rdev, id);
	if (err)
		TEST_FAIL_(1, "watch_device: %s (%s)", strerror(-err),
			   blknotify_queue_get_error(q) ?: "");
	return q;
}

#endif /* BLKNOTIFY_TEST_HOST_TEST_H */
