/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading a queue empty in host tests, checking every record's framing on
 * the way.  Include after harness.h (it asserts).
 */
#ifndef BLKNOTIFY_TEST_RECORDS_H
#define BLKNOTIFY_TEST_RECORDS_H

#include <errno.h>
#include <string.h>
#include <blknotify/blknotify.h>

/* The length of the records the test's source writes: the bpf source's are
 * 72 bytes (with the device detail), kmsg's 48. */
#ifndef RECORDS_LEN
#define RECORDS_LEN BLOCK_NOTIFICATION_SIZE_V1
#endif

/*
 * Everything readable now: error records into recs, loss counts summed in
 * *lost (NULL: loss fails the test).  *loss_at is the number of records
 * read before the first loss record (-1: none).
 */
static int drain_records(struct blknotify_queue *q, struct block_notification *recs, int max,
		 __u64 *lost, int *loss_at)
{
	static unsigned char buf[256 * 1024];
	int n = 0;

	if (loss_at)
		*loss_at = -1;
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
				__u64 nr = ((const struct block_notification_loss *)w)->nr_lost;

				ASSERT_EQ(w->subtype, WATCH_META_LOSS_NOTIFICATION);
				ASSERT_EQ(BLOCK_NOTIFY_RECORD_LEN(w), BLOCK_NOTIFICATION_LOSS_SIZE);
				ASSERT_GT(nr, 0);
				if (!lost)
					TEST_FAIL_(1, "unexpected loss of %llu records",
						   (unsigned long long)nr);
				*lost += nr;
				if (loss_at && *loss_at < 0)
					*loss_at = n;
				continue;
			}
			ASSERT_EQ(w->type, WATCH_TYPE_BLOCK_NOTIFY);
			/* Disks that come and go (other tests' loop devices, this
			 * one's): test_lifecycle.c checks those records. */
			if (w->subtype >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST &&
			    w->subtype <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST)
				continue;
			ASSERT_EQ(BLOCK_NOTIFY_RECORD_LEN(w), RECORDS_LEN);
			if (n < max)
				recs[n] = *(const struct block_notification *)w;
			n++;
		}
		ASSERT_EQ(len, 0);	/* whole records only */
	}
}

#endif /* BLKNOTIFY_TEST_RECORDS_H */
