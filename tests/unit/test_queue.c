// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the record format, the errno mapping, filter and watch
 * semantics, user-space fan-out and loss accounting, and bad input to every
 * API call.  No privilege needed: nothing here loads BPF.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sysmacros.h>

#include "queue.h"
#include "../harness.h"

TEST(record_layout_is_the_contract)
{
	/* The original 24 bytes, then the extension: offsets are ABI. */
	ASSERT_EQ(sizeof(struct watch_notification), 8);
	ASSERT_EQ(offsetof(struct block_notification, dev), 8);
	ASSERT_EQ(offsetof(struct block_notification, sector), 16);
	ASSERT_EQ(offsetof(struct block_notification, time_ns), BLOCK_NOTIFICATION_SIZE_V0);
	ASSERT_EQ(offsetof(struct block_notification, nr_sectors), 32);
	ASSERT_EQ(offsetof(struct block_notification, error), 36);
	ASSERT_EQ(offsetof(struct block_notification, op), 40);
	ASSERT_EQ(offsetof(struct block_notification, flags), 42);
	ASSERT_EQ(sizeof(struct block_notification), BLOCK_NOTIFICATION_SIZE_V2);
	ASSERT_EQ(offsetof(struct block_notification, retries), BLOCK_NOTIFICATION_SIZE_V1 - 4);
	ASSERT_EQ(offsetof(struct block_notification, status), BLOCK_NOTIFICATION_SIZE_V1);
	ASSERT_EQ(sizeof(struct block_notification_loss), BLOCK_NOTIFICATION_LOSS_SIZE);
	ASSERT_EQ(WATCH_TYPE_BLOCK_NOTIFY, 2);
	ASSERT_LE(BLOCK_NOTIFICATION_SIZE_V1, WATCH_INFO_LENGTH);
}

TEST(errno_to_subtype_table)
{
	static const struct { int err; unsigned int subtype; } table[] = {
		{ -ETIMEDOUT,	 NOTIFY_BLOCK_ERROR_TIMEOUT },
		{ -ENOSPC,	 NOTIFY_BLOCK_ERROR_NO_SPACE },
		{ -ENOLINK,	 NOTIFY_BLOCK_ERROR_RECOVERABLE_TRANSPORT },
		{ -EREMOTEIO,	 NOTIFY_BLOCK_ERROR_CRITICAL_TARGET },
		{ -EBADE,	 NOTIFY_BLOCK_ERROR_CRITICAL_NEXUS },
		{ -ENODATA,	 NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM },
		{ -EILSEQ,	 NOTIFY_BLOCK_ERROR_PROTECTION },
		{ -ENOMEM,	 NOTIFY_BLOCK_ERROR_KERNEL_RESOURCE },
		{ -EBUSY,	 NOTIFY_BLOCK_ERROR_DEVICE_RESOURCE },
		{ -EIO,		 NOTIFY_BLOCK_ERROR_IO },
		{ -EOPNOTSUPP,	 NOTIFY_BLOCK_ERROR_NOT_SUPPORTED },
		{ -EAGAIN,	 NOTIFY_BLOCK_ERROR_AGAIN },
		{ -ENODEV,	 NOTIFY_BLOCK_ERROR_OFFLINE },
		{ -ETOOMANYREFS, NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE },
		{ -EOVERFLOW,	 NOTIFY_BLOCK_ERROR_ZONE_ACTIVE_RESOURCE },
		{ -ETIME,	 NOTIFY_BLOCK_ERROR_DURATION_LIMIT },
		{ -EINVAL,	 NOTIFY_BLOCK_ERROR_INVALID },
		/* Never dropped for an unknown code: EIO's subtype. */
		{ -EREMCHG,	 NOTIFY_BLOCK_ERROR_IO },
		{ -4095,	 NOTIFY_BLOCK_ERROR_IO },
		{ 0,		 NOTIFY_BLOCK_ERROR_IO },
		{ 12345,	 NOTIFY_BLOCK_ERROR_IO },
	};
	unsigned int i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		EXPECT_EQ(blknotify_subtype_from_errno(table[i].err), table[i].subtype);
		EXPECT_EQ(bn_subtype_from_errno(table[i].err), table[i].subtype);
	}
}

TEST(names_round_trip)
{
	unsigned int st;

	for (st = NOTIFY_BLOCK_ERROR_TIMEOUT; st <= NOTIFY_BLOCK_ERROR_INVALID; st++) {
		const char *name = blknotify_subtype_name(st);

		ASSERT_TRUE(name != NULL);
		ASSERT_EQ(blknotify_subtype_from_name(name), st);
	}
	ASSERT_TRUE(blknotify_subtype_name(0) == NULL);
	ASSERT_TRUE(blknotify_subtype_name(200) == NULL);
	/* Every named subtype round-trips and sits in the class its number says. */
	for (st = 1; st < 256; st++) {
		const char *name = blknotify_subtype_name(st), *cls = blknotify_subtype_class(st);
		unsigned int first, last;

		if (!name)
			continue;
		ASSERT_EQ(blknotify_subtype_from_name(name), st);
		ASSERT_TRUE(cls != NULL);
		ASSERT_EQ(blknotify_subtype_class_range(cls, &first, &last), 0);
		ASSERT_TRUE(st >= first && st <= last);
	}
	ASSERT_STREQ(blknotify_subtype_class(NOTIFY_BLOCK_ERROR_IO), "error");
	ASSERT_STREQ(blknotify_subtype_class(NOTIFY_BLOCK_SOFT_RETRY), "soft");
	ASSERT_STREQ(blknotify_subtype_class(NOTIFY_BLOCK_DEVICE_REMOVED), "lifecycle");
	ASSERT_STREQ(blknotify_subtype_class(NOTIFY_BLOCK_SLOW), "perf");
	ASSERT_TRUE(blknotify_subtype_class(0) == NULL);
	ASSERT_TRUE(blknotify_subtype_class(80) == NULL);
	ASSERT_EQ(blknotify_subtype_from_name("no-such"), -EINVAL);
	ASSERT_EQ(blknotify_subtype_from_name(NULL), -EINVAL);
	ASSERT_STREQ(blknotify_op_name(BLOCK_NOTIFY_OP_WRITE_ZEROES), "write_zeroes");
	ASSERT_STREQ(blknotify_op_name(BLOCK_NOTIFY_OP_OTHER), "other");
	ASSERT_TRUE(blknotify_op_name(4) == NULL);
	ASSERT_EQ(blknotify_source_from_name("kmsg"), BLKNOTIFY_SOURCE_KMSG);
	ASSERT_EQ(blknotify_source_from_name("BPF"), -EINVAL);
	ASSERT_STREQ(blknotify_source_name(BLKNOTIFY_SOURCE_WATCH_QUEUE), "watch_queue");
	ASSERT_TRUE(blknotify_source_name(99) == NULL);
}

TEST(kernel_dev_t_decodes_like_stat)
{
	/* sda is 8:0, kernel-internal 8 << 20; userspace must see 8:0, not 0:2048. */
	__u64 dev = bn_dev_from_kernel(8U << 20);

	ASSERT_EQ(major(dev), 8);
	ASSERT_EQ(minor(dev), 0);
	dev = bn_dev_from_kernel(259U << 20 | 3);	/* nvme0n1p3 */
	ASSERT_EQ(major(dev), 259);
	ASSERT_EQ(minor(dev), 3);
	dev = bn_dev_from_kernel(7U << 20 | 0xfffff);	/* largest minor */
	ASSERT_EQ(major(dev), 7);
	ASSERT_EQ(minor(dev), 0xfffff);
	ASSERT_EQ(dev, makedev(7, 0xfffff));
}

static struct block_notification make_event(__u64 dev, __u64 sector, unsigned int subtype)
{
	struct block_notification ev = {
		.watch.type = WATCH_TYPE_BLOCK_NOTIFY,
		.watch.subtype = subtype,
		.watch.info = sizeof(ev),
		.dev = dev,
		.sector = sector,
		.nr_sectors = 8,
		.error = -EIO,
	};
	return ev;
}

/* A queue that is never started: the user-space helpers work on its config. */
static struct blknotify_queue *kmsg_queue(void)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_KMSG);
	struct blknotify_queue *q;

	if (blknotify_queue_new(&q, &opts))
		return NULL;
	return q;
}

static void add_watch_unstarted(struct blknotify_queue *q, unsigned int slot, __u64 dev,
				__u64 start, __u64 end, unsigned int id)
{
	q->config.watches[slot] = (struct bn_watch){ 1, id, dev, start, end };
}

struct filter1 {
	struct watch_notification_filter f;
	struct watch_notification_type_filter t[2];
};

TEST(filter_semantics)
{
	struct blknotify_queue *q = kmsg_queue();
	struct filter1 fl = { .f.nr_filters = 1 };
	__u32 info_id5 = sizeof(struct block_notification) | 5 << WATCH_INFO_ID__SHIFT;

	ASSERT_TRUE(q != NULL);
	/* No filter: everything passes. */
	ASSERT_TRUE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 6, info_id5));

	/* subtype_filter is a bitmask indexed by subtype. */
	fl.t[0].type = WATCH_TYPE_BLOCK_NOTIFY;
	fl.t[0].subtype_filter[0] = 1U << NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_TRUE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 6, info_id5));
	ASSERT_FALSE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 10, info_id5));
	ASSERT_FALSE(bn_filter_match(&q->config, WATCH_TYPE_META, 6, info_id5));

	/* info_filter/info_mask select on the watch ID, as the kernel's do. */
	fl.t[0].subtype_filter[0] = ~0U;
	fl.t[0].info_mask = WATCH_INFO_ID;
	fl.t[0].info_filter = 7 << WATCH_INFO_ID__SHIFT;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_FALSE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 6, info_id5));
	ASSERT_TRUE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 6,
				    sizeof(struct block_notification) | 7 << WATCH_INFO_ID__SHIFT));

	/* Subtypes above 31 use the later words of the bitmask. */
	fl.t[0].info_mask = fl.t[0].info_filter = 0;
	fl.t[0].subtype_filter[0] = 0;
	fl.t[0].subtype_filter[1] = 1U << (40 - 32);
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_TRUE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 40, info_id5));
	ASSERT_FALSE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 8, info_id5));

	/* Two filters: either admits. */
	fl.f.nr_filters = 2;
	fl.t[1].type = WATCH_TYPE_BLOCK_NOTIFY;
	fl.t[1].subtype_filter[0] = 1U << 8;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_TRUE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 8, info_id5));
	ASSERT_TRUE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 40, info_id5));
	ASSERT_FALSE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 9, info_id5));

	/* A filter of unknown types only is still a filter: it rejects all. */
	fl.f.nr_filters = 1;
	fl.t[0].type = 77;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_EQ(q->config.nr_filters, 0);
	ASSERT_FALSE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 40, info_id5));

	/* NULL removes the filter. */
	ASSERT_EQ(blknotify_queue_set_filter(q, NULL), 0);
	ASSERT_TRUE(bn_filter_match(&q->config, WATCH_TYPE_BLOCK_NOTIFY, 9, info_id5));
	blknotify_queue_free(q);
}

TEST(filter_rejects_what_the_kernel_rejects)
{
	struct blknotify_queue *q = kmsg_queue();
	struct {
		struct watch_notification_filter f;
		struct watch_notification_type_filter t[BLKNOTIFY_FILTERS_MAX + 1];
	} fl = {};

	ASSERT_TRUE(q != NULL);
	fl.t[0].type = WATCH_TYPE_BLOCK_NOTIFY;
	fl.f.nr_filters = 0;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), -EINVAL);
	fl.f.nr_filters = BLKNOTIFY_FILTERS_MAX + 1;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), -EINVAL);
	fl.f.nr_filters = 1;
	fl.f.__reserved = 1;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), -EINVAL);
	fl.f.__reserved = 0;
	fl.t[0].info_filter = 0x100;		/* bits outside the mask */
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), -EINVAL);
	fl.t[0].info_mask = WATCH_INFO_LENGTH | 0x100;	/* the length is not filterable */
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), -EINVAL);
	/* A rejected filter leaves the old one (none) in place. */
	ASSERT_EQ(q->config.filter_on, 0);
	fl.f.nr_filters = BLKNOTIFY_FILTERS_MAX;
	fl.t[0].info_mask = fl.t[0].info_filter = 0;
	ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
	ASSERT_EQ(blknotify_queue_set_filter(NULL, &fl.f), -EINVAL);
	blknotify_queue_free(q);
}

TEST(watch_matching_by_device_and_range)
{
	struct bn_watch all = { 1, 0, 0, 0, UINT64_MAX };
	struct bn_watch sda = { 1, 1, makedev(8, 0), 0, UINT64_MAX };
	struct bn_watch sda2 = { 1, 2, makedev(8, 0), 2048, 4096 };
	struct bn_watch off = { 0, 3, 0, 0, UINT64_MAX };

	ASSERT_TRUE(bn_watch_match(&all, makedev(259, 0), 5));
	ASSERT_TRUE(bn_watch_match(&sda, makedev(8, 0), 5));
	ASSERT_FALSE(bn_watch_match(&sda, makedev(8, 16), 5));
	ASSERT_FALSE(bn_watch_match(&sda2, makedev(8, 0), 2047));
	ASSERT_TRUE(bn_watch_match(&sda2, makedev(8, 0), 2048));
	ASSERT_TRUE(bn_watch_match(&sda2, makedev(8, 0), 4095));
	ASSERT_FALSE(bn_watch_match(&sda2, makedev(8, 0), 4096));
	ASSERT_FALSE(bn_watch_match(&off, makedev(8, 0), 1));
}

/* Read everything pending into buf; returns bytes. */
static size_t drain(struct blknotify_queue *q, unsigned char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while ((n = queue_take_pending(q, buf + done, len - done)) > 0)
		done += n;
	return done;
}

TEST(fanout_one_record_per_matching_watch_with_its_id)
{
	struct blknotify_queue *q = kmsg_queue();
	struct block_notification ev = make_event(makedev(8, 0), 100, NOTIFY_BLOCK_ERROR_IO);
	unsigned char buf[1024];
	const struct block_notification *r = (const void *)buf;
	size_t len;

	ASSERT_TRUE(q != NULL);
	add_watch_unstarted(q, 0, 0, 0, UINT64_MAX, 4);
	add_watch_unstarted(q, 3, makedev(8, 0), 0, UINT64_MAX, 9);
	add_watch_unstarted(q, 5, makedev(8, 16), 0, UINT64_MAX, 11);
	ASSERT_EQ(queue_fanout(q, &ev), 2);
	len = drain(q, buf, sizeof(buf));
	ASSERT_EQ(len, 2 * sizeof(ev));
	ASSERT_EQ((r[0].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 4);
	ASSERT_EQ((r[1].watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, 9);
	ASSERT_EQ(r[1].watch.info & WATCH_INFO_LENGTH, sizeof(ev));
	ASSERT_EQ(r[1].sector, 100);
	ASSERT_EQ(r[1].dev, makedev(8, 0));

	/* A too-small buffer gets nothing and loses nothing. */
	ASSERT_EQ(queue_fanout(q, &ev), 2);
	ASSERT_EQ(queue_take_pending(q, buf, sizeof(ev) - 1), -ENOBUFS);
	ASSERT_EQ(queue_take_pending(q, buf, sizeof(ev)), sizeof(ev));
	ASSERT_EQ(queue_take_pending(q, buf, sizeof(buf)), sizeof(ev));
	ASSERT_EQ(queue_take_pending(q, buf, sizeof(buf)), 0);
	blknotify_queue_free(q);
}

TEST(loss_is_reported_before_the_next_record)
{
	struct blknotify_queue *q = kmsg_queue();
	struct block_notification ev = make_event(makedev(7, 0), 8, NOTIFY_BLOCK_ERROR_IO);
	unsigned char buf[1024];
	const struct block_notification_loss *l = (const void *)buf;
	const struct block_notification *r = (const void *)(buf + sizeof(*l));

	ASSERT_TRUE(q != NULL);
	add_watch_unstarted(q, 0, 0, 0, UINT64_MAX, 1);
	queue_add_loss(q, 41);
	queue_add_loss(q, 1);
	ASSERT_EQ(queue_fanout(q, &ev), 1);
	ASSERT_EQ(drain(q, buf, sizeof(buf)), sizeof(*l) + sizeof(ev));
	ASSERT_EQ(l->watch.type, WATCH_TYPE_META);
	ASSERT_EQ(l->watch.subtype, WATCH_META_LOSS_NOTIFICATION);
	ASSERT_EQ(l->watch.info & WATCH_INFO_LENGTH, sizeof(*l));
	ASSERT_EQ(l->nr_lost, 42);
	ASSERT_EQ(r->watch.type, WATCH_TYPE_BLOCK_NOTIFY);

	/* Loss with no record after it is still reported (never silent). */
	queue_add_loss(q, 3);
	ASSERT_EQ(drain(q, buf, sizeof(buf)), sizeof(*l));
	ASSERT_EQ(l->nr_lost, 3);
	ASSERT_EQ(drain(q, buf, sizeof(buf)), 0);

	/* A filtered-out event carries no loss record with it. */
	{
		struct filter1 fl = { .f.nr_filters = 1 };

		fl.t[0].type = WATCH_TYPE_BLOCK_NOTIFY;
		fl.t[0].subtype_filter[0] = 1U << NOTIFY_BLOCK_ERROR_TIMEOUT;
		ASSERT_EQ(blknotify_queue_set_filter(q, &fl.f), 0);
		ASSERT_EQ(queue_fanout(q, &ev), 0);
		ASSERT_EQ(drain(q, buf, sizeof(buf)), 0);
	}
	blknotify_queue_free(q);
}

TEST(fanout_rejects_malformed_lengths)
{
	struct blknotify_queue *q = kmsg_queue();
	struct block_notification ev = make_event(makedev(7, 0), 8, NOTIFY_BLOCK_ERROR_IO);

	ASSERT_TRUE(q != NULL);
	add_watch_unstarted(q, 0, 0, 0, UINT64_MAX, 1);
	ev.watch.info = 8;
	ASSERT_EQ(queue_fanout(q, &ev), 0);
	ev.watch.info = 100;
	ASSERT_EQ(queue_fanout(q, &ev), 0);
	ev.watch.info = BLOCK_NOTIFICATION_SIZE_V0;	/* the original length is fine */
	ASSERT_EQ(queue_fanout(q, &ev), 1);
	blknotify_queue_free(q);
}

TEST(record_walk_macros_bound_every_step)
{
	unsigned char buf[64] = {};
	struct watch_notification *w = (void *)buf;
	const struct watch_notification *n;
	long len;
	int count = 0;

	w->info = 16;				/* one 16-byte record */
	((struct watch_notification *)(buf + 16))->info = 100;	/* claims past the end */
	len = 64;
	for (n = w; BLOCK_NOTIFY_RECORD_OK(n, len); n = BLOCK_NOTIFY_RECORD_NEXT(n, len))
		count++;
	ASSERT_EQ(count, 1);
	ASSERT_EQ(len, 48);

	w->info = 4;				/* shorter than its own header */
	len = 64;
	ASSERT_FALSE(BLOCK_NOTIFY_RECORD_OK(w, len));
	len = 7;
	w->info = 8;
	ASSERT_FALSE(BLOCK_NOTIFY_RECORD_OK(w, len));
}

TEST(bad_input_to_every_call)
{
	struct blknotify_queue *q = NULL;
	unsigned char buf[128];
	struct {
		struct blknotify_queue_opts o;
		char future[16];
	} big = {};

	ASSERT_EQ(blknotify_queue_new(NULL, NULL), -EINVAL);
	{
		BLKNOTIFY_OPTS(blknotify_queue_opts, o, .source = 42);
		ASSERT_EQ(blknotify_queue_new(&q, &o), -EINVAL);
		ASSERT_TRUE(q == NULL);
	}
	{
		BLKNOTIFY_OPTS(blknotify_queue_opts, o, .flags = 1U << 30);
		ASSERT_EQ(blknotify_queue_new(&q, &o), -EINVAL);
	}
	{
		/* sz too small to be an options struct at all */
		struct blknotify_queue_opts o = { .sz = 1 };
		ASSERT_EQ(blknotify_queue_new(&q, &o), -EINVAL);
	}
	/* A newer, bigger struct: zero tail accepted, non-zero tail rejected. */
	big.o.sz = sizeof(big);
	big.o.source = BLKNOTIFY_SOURCE_KMSG;
	ASSERT_EQ(blknotify_queue_new(&q, &big.o), 0);
	q = blknotify_queue_free(q);
	big.future[3] = 1;
	ASSERT_EQ(blknotify_queue_new(&q, &big.o), -EINVAL);
	{
		char longpath[200];

		memset(longpath, 'x', sizeof(longpath) - 1);
		longpath[sizeof(longpath) - 1] = '\0';
		BLKNOTIFY_OPTS(blknotify_queue_opts, o, .source = BLKNOTIFY_SOURCE_DAEMON,
			       .daemon_socket = longpath);
		ASSERT_EQ(blknotify_queue_new(&q, &o), -ENAMETOOLONG);
	}

	q = kmsg_queue();
	ASSERT_TRUE(q != NULL);
	ASSERT_EQ(blknotify_queue_set_size(q, 0), -EINVAL);
	ASSERT_EQ(blknotify_queue_set_size(q, BLKNOTIFY_QUEUE_SIZE_MAX + 1), -EINVAL);
	ASSERT_EQ(blknotify_queue_set_size(q, 7), 0);
	ASSERT_EQ(blknotify_queue_get_size(q), 7);
	ASSERT_EQ(blknotify_queue_set_size(NULL, 7), -EINVAL);
	ASSERT_EQ(blknotify_queue_watch_all(q, 256), -EINVAL);
	ASSERT_EQ(blknotify_queue_watch_all(NULL, 1), -EINVAL);
	ASSERT_EQ(blknotify_queue_watch_device(q, 0, 1), -EINVAL);
	ASSERT_EQ(blknotify_queue_watch_device(q, makedev(4095, 4095), 1), -ENODEV);
	ASSERT_EQ(blknotify_queue_remove_watch(q, 3), -ENOENT);
	ASSERT_EQ(blknotify_queue_remove_watch(NULL, 3), -EINVAL);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -ENOTCONN);
	ASSERT_EQ(blknotify_queue_read(q, NULL, sizeof(buf), 0), -EINVAL);
	ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), -2), -EINVAL);
	ASSERT_EQ(blknotify_queue_read(NULL, buf, sizeof(buf), 0), -EINVAL);
	ASSERT_GE(blknotify_queue_get_fd(q), 0);
	ASSERT_EQ(blknotify_queue_get_fd(NULL), -EINVAL);
	ASSERT_EQ(blknotify_queue_get_source(q), BLKNOTIFY_SOURCE_KMSG);
	ASSERT_TRUE(blknotify_queue_get_error(q) == NULL);
	ASSERT_TRUE(blknotify_queue_free(q) == NULL);
	ASSERT_TRUE(blknotify_queue_free(NULL) == NULL);
}

TEST(watch_ids_unique_and_bounded)
{
	struct blknotify_queue *q = kmsg_queue();
	unsigned int i;

	ASSERT_TRUE(q != NULL);
	/* Fill the watch table without starting a source. */
	for (i = 0; i < BN_WATCHES_MAX; i++)
		add_watch_unstarted(q, i, 0, 0, UINT64_MAX, i);
	q->started = true;	/* as if started; kmsg's update is not called */
	q->ops = &(const struct source_ops){ .update = NULL };
	ASSERT_EQ(blknotify_queue_watch_all(q, 3), -EEXIST);
	ASSERT_EQ(blknotify_queue_watch_all(q, 200), -ENOSPC);
	ASSERT_EQ(blknotify_queue_set_size(q, 10), -EBUSY);
	q->started = false;
	q->ops = &source_kmsg_ops;
	blknotify_queue_free(q);
}

/* Slow I/O needs a per-request hook: sources without one refuse, never ignore it. */
TEST(slow_options_rejected_where_there_is_no_hook)
{
	static const enum blknotify_source none[] = { BLKNOTIFY_SOURCE_KMSG,
						      BLKNOTIFY_SOURCE_WATCH_QUEUE };
	struct blknotify_queue *q = NULL;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		BLKNOTIFY_OPTS(blknotify_queue_opts, a, .source = none[i],
			       .slow_threshold_ns = 500000000ULL);
		BLKNOTIFY_OPTS(blknotify_queue_opts, r, .source = none[i], .slow_relative = 50);

		ASSERT_EQ(blknotify_queue_new(&q, &a), -EOPNOTSUPP);
		ASSERT_TRUE(q == NULL);
		ASSERT_EQ(blknotify_queue_new(&q, &r), -EOPNOTSUPP);
	}
	{
		/* 1x the median would make half of all I/O slow. */
		BLKNOTIFY_OPTS(blknotify_queue_opts, o, .source = BLKNOTIFY_SOURCE_BPF,
			       .slow_relative = 1);
		ASSERT_EQ(blknotify_queue_new(&q, &o), -EINVAL);
	}
	{
		/* The bpf source and the daemon (its configuration decides) take them. */
		BLKNOTIFY_OPTS(blknotify_queue_opts, b, .source = BLKNOTIFY_SOURCE_BPF,
			       .slow_threshold_ns = 1, .slow_relative = 2);
		BLKNOTIFY_OPTS(blknotify_queue_opts, d, .source = BLKNOTIFY_SOURCE_DAEMON,
			       .slow_threshold_ns = 1);

		ASSERT_EQ(blknotify_queue_new(&q, &b), 0);
		q = blknotify_queue_free(q);
		ASSERT_EQ(blknotify_queue_new(&q, &d), 0);
		q = blknotify_queue_free(q);
	}
	{
		/* A caller built before the fields existed: they read as 0 (off). */
		BLKNOTIFY_OPTS(blknotify_queue_opts, o, .source = BLKNOTIFY_SOURCE_KMSG);

		o.sz = offsetof(struct blknotify_queue_opts, slow_threshold_ns);
		ASSERT_EQ(blknotify_queue_new(&q, &o), 0);
		q = blknotify_queue_free(q);
	}
}
