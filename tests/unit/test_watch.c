// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the code the library and blknotifyd share: watch and filter
 * checks (lib/watch.c), the fan-out, loss records (lib/match.h), and the
 * sysfs readers' validation (lib/sysfs.c) on files made here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "sysfs.h"
#include "watch.h"
#include "../harness.h"

TEST(watch_check_refuses_what_cannot_match)
{
	char why[128];

	ASSERT_EQ(bn_watch_check(0, 0, 0, UINT64_MAX, why, sizeof(why)), 0);
	ASSERT_EQ(bn_watch_check(255, makedev(8, 0), 10, 20, why, sizeof(why)), 0);
	ASSERT_EQ(bn_watch_check(256, 0, 0, UINT64_MAX, why, sizeof(why)), -EINVAL);
	ASSERT_STREQ(why, "watch ID 256 (must be 0..255)");
	ASSERT_EQ(bn_watch_check(1, makedev(8, 0), 20, 20, why, sizeof(why)), -EINVAL);
	ASSERT_EQ(bn_watch_check(1, 0, 0, 100, why, sizeof(why)), -EINVAL);
	ASSERT_EQ(bn_watch_check(1, 0, 5, UINT64_MAX, NULL, 0), -EINVAL);
}

TEST(config_add_find_remove)
{
	struct bn_config c;
	unsigned int i;

	bn_config_init(&c);
	ASSERT_EQ(bn_config_nr_watches(&c), 0);
	ASSERT_EQ(bn_config_add_watch(&c, 7, 0, 0, UINT64_MAX, NULL, 0), 0);
	ASSERT_EQ(bn_config_add_watch(&c, 7, makedev(8, 0), 0, UINT64_MAX, NULL, 0), -EEXIST);
	ASSERT_EQ(bn_config_add_watch(&c, 300, 0, 0, UINT64_MAX, NULL, 0), -EINVAL);
	for (i = 1; i < BN_WATCHES_MAX; i++)
		ASSERT_EQ(bn_config_add_watch(&c, i + 10, 0, 0, UINT64_MAX, NULL, 0), (int)i);
	ASSERT_EQ(bn_config_add_watch(&c, 99, 0, 0, UINT64_MAX, NULL, 0), -ENOSPC);
	ASSERT_EQ(bn_config_nr_watches(&c), BN_WATCHES_MAX);
	ASSERT_TRUE(bn_config_find_watch(&c, 7) == &c.watches[0]);
	ASSERT_EQ(bn_config_remove_watch(&c, 7, NULL, 0), 0);
	ASSERT_EQ(bn_config_remove_watch(&c, 7, NULL, 0), -ENOENT);
	ASSERT_TRUE(bn_config_find_watch(&c, 7) == NULL);
	/* A freed slot is reused, and is inert meanwhile. */
	ASSERT_EQ(c.watches[0].active, 0);
	ASSERT_EQ(bn_config_add_watch(&c, 99, 0, 0, UINT64_MAX, NULL, 0), 0);
	ASSERT_EQ(bn_config_check(&c, NULL, 0), 0);
}

TEST(filter_check_and_unknown_types)
{
	struct watch_notification_type_filter f[2] = {
		{ .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype_filter = { ~0U } },
		{ .type = 200, .subtype_filter = { ~0U } },
	};
	struct bn_config c;
	char why[128];

	bn_config_init(&c);
	ASSERT_EQ(bn_config_set_filter(&c, f, 2, why, sizeof(why)), 0);
	ASSERT_EQ(c.filter_on, 1);
	ASSERT_EQ(c.nr_filters, 1);	/* type 200 dropped, as the kernel does */
	ASSERT_EQ(bn_config_check(&c, NULL, 0), 0);
	f[0].info_filter = 0x100;	/* outside its mask */
	ASSERT_EQ(bn_config_set_filter(&c, f, 1, why, sizeof(why)), -EINVAL);
	ASSERT_EQ(c.nr_filters, 1);	/* unchanged */
	f[0].info_filter = 0;
	f[0].info_mask = WATCH_INFO_LENGTH;
	ASSERT_EQ(bn_filter_check(f, 1, why, sizeof(why)), -EINVAL);
	ASSERT_EQ(bn_filter_check(f, BN_FILTERS_MAX + 1, why, sizeof(why)), -EINVAL);
	ASSERT_EQ(bn_config_set_filter(&c, NULL, 0, NULL, 0), 0);
	ASSERT_EQ(c.filter_on, 0);
}

TEST(config_check_refuses_a_forged_state)
{
	struct bn_config c;

	bn_config_init(&c);
	ASSERT_EQ(bn_config_add_watch(&c, 1, makedev(7, 0), 0, UINT64_MAX, NULL, 0), 0);
	ASSERT_EQ(bn_config_add_watch(&c, 2, makedev(7, 1), 0, UINT64_MAX, NULL, 0), 1);
	ASSERT_EQ(bn_config_check(&c, NULL, 0), 0);
	c.watches[1].id = 1;
	ASSERT_EQ(bn_config_check(&c, NULL, 0), -EINVAL);	/* ID twice */
	c.watches[1].id = 2;
	c.watches[1].active = 2;
	ASSERT_EQ(bn_config_check(&c, NULL, 0), -EINVAL);
	c.watches[1].active = 1;
	c.nr_filters = 3;
	ASSERT_EQ(bn_config_check(&c, NULL, 0), -EINVAL);	/* filters without filter_on */
	c.filter_on = 1;
	c.nr_filters = BN_FILTERS_MAX + 1;
	ASSERT_EQ(bn_config_check(&c, NULL, 0), -EINVAL);
}

struct sink {
	unsigned int n, refuse_after;
	__u32 ids[BN_WATCHES_MAX];
	size_t lens[BN_WATCHES_MAX];
};

static bool sink_emit(void *ctx, const struct block_notification *rec, size_t len)
{
	struct sink *s = ctx;

	if (s->n >= s->refuse_after)
		return false;
	s->ids[s->n] = (rec->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;
	s->lens[s->n] = (rec->watch.info & WATCH_INFO_LENGTH) == len ? len : 0;
	s->n++;
	return true;
}

TEST(fanout_one_record_per_taking_watch)
{
	struct block_notification ev = {
		.watch = { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype = NOTIFY_BLOCK_ERROR_IO,
			   .info = sizeof(ev) | (9 << WATCH_INFO_ID__SHIFT) },
		.dev = makedev(7, 0), .sector = 50,
	};
	struct watch_notification_type_filter only_medium = {
		.type = WATCH_TYPE_BLOCK_NOTIFY,
		.subtype_filter = { 1U << NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM },
	};
	struct sink s = { .refuse_after = 100 };
	struct bn_config c;

	bn_config_init(&c);
	bn_config_add_watch(&c, 1, 0, 0, UINT64_MAX, NULL, 0);		/* all */
	bn_config_add_watch(&c, 2, makedev(7, 0), 0, 40, NULL, 0);	/* before it */
	bn_config_add_watch(&c, 3, makedev(7, 0), 40, 60, NULL, 0);	/* holds it */
	bn_config_add_watch(&c, 4, makedev(7, 1), 0, UINT64_MAX, NULL, 0);	/* other disk */
	ASSERT_EQ(bn_fanout(&c, &ev, BLOCK_NOTIFICATION_SIZE_V0, sink_emit, &s), 2);
	ASSERT_EQ(s.ids[0], 1);
	ASSERT_EQ(s.ids[1], 3);
	ASSERT_EQ(s.lens[0], BLOCK_NOTIFICATION_SIZE_V0);	/* the length given, not ev's */
	/* What emit refuses is not counted. */
	s = (struct sink){ .refuse_after = 1 };
	ASSERT_EQ(bn_fanout(&c, &ev, sizeof(ev), sink_emit, &s), 1);
	/* Bad lengths make nothing. */
	ASSERT_EQ(bn_fanout(&c, &ev, 8, sink_emit, &s), 0);
	ASSERT_EQ(bn_fanout(&c, &ev, sizeof(ev) + 8, sink_emit, &s), 0);
	/* The filter applies to every watch. */
	bn_config_set_filter(&c, &only_medium, 1, NULL, 0);
	s = (struct sink){ .refuse_after = 100 };
	ASSERT_EQ(bn_fanout(&c, &ev, sizeof(ev), sink_emit, &s), 0);
	ev.watch.subtype = NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	ASSERT_EQ(bn_fanout(&c, &ev, sizeof(ev), sink_emit, &s), 2);
}

/* A lifecycle record is the whole disk's: a partition's watch takes it, whatever its sector says. */
TEST(lifecycle_records_ignore_the_sector_range)
{
	struct block_notification ev = {
		.watch = { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype = NOTIFY_BLOCK_CAPACITY_CHANGE,
			   .info = sizeof(ev) },
		.dev = makedev(7, 0), .sector = 1 << 21,	/* the new capacity */
	};
	struct sink s = { .refuse_after = 100 };
	struct bn_config c;

	bn_config_init(&c);
	bn_config_add_watch(&c, 2, makedev(7, 0), 0, 40, NULL, 0);	/* a partition */
	bn_config_add_watch(&c, 3, makedev(7, 0), 2048, 4096, NULL, 0);	/* another */
	bn_config_add_watch(&c, 4, makedev(7, 1), 0, UINT64_MAX, NULL, 0);	/* other disk */
	ASSERT_EQ(bn_fanout(&c, &ev, sizeof(ev), sink_emit, &s), 2);
	ASSERT_EQ(s.ids[0], 2);
	ASSERT_EQ(s.ids[1], 3);
	/* An error at that sector is neither partition's. */
	ev.watch.subtype = NOTIFY_BLOCK_ERROR_IO;
	s = (struct sink){ .refuse_after = 100 };
	ASSERT_EQ(bn_fanout(&c, &ev, sizeof(ev), sink_emit, &s), 0);
}

TEST(loss_records)
{
	struct block_notification_loss l;
	struct watch_notification short_form = {
		.type = WATCH_TYPE_META, .subtype = WATCH_META_LOSS_NOTIFICATION, .info = 8,
	};

	memset(&l, 0xff, sizeof(l));
	bn_make_loss(&l, 42);
	ASSERT_EQ(l.watch.type, WATCH_TYPE_META);
	ASSERT_EQ(l.watch.subtype, WATCH_META_LOSS_NOTIFICATION);
	ASSERT_EQ(l.watch.info, BLOCK_NOTIFICATION_LOSS_SIZE);	/* ID 0, nothing else */
	ASSERT_TRUE(bn_is_loss(&l.watch));
	ASSERT_EQ(bn_loss_count(&l.watch), 42);
	ASSERT_TRUE(bn_is_loss(&short_form));
	ASSERT_EQ(bn_loss_count(&short_form), 1);
	short_form.type = WATCH_TYPE_BLOCK_NOTIFY;
	ASSERT_FALSE(bn_is_loss(&short_form));
}

static const char *put(const char *content)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test_watch.%d", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(content, f);
	fclose(f);
	return path;
}

TEST(sysfs_readers_validate)
{
	char buf[8];
	__u64 v;
	dev_t d;

	ASSERT_EQ(bn_sysfs_read_u64(put("4096\n"), &v), 0);
	ASSERT_EQ(v, 4096);
	ASSERT_EQ(bn_sysfs_read_u64(put("18446744073709551615\n"), &v), 0);
	ASSERT_EQ(v, UINT64_MAX);
	ASSERT_EQ(bn_sysfs_read_u64(put("18446744073709551616\n"), &v), -EINVAL);
	ASSERT_EQ(bn_sysfs_read_u64(put("12abc\n"), &v), -EINVAL);
	ASSERT_EQ(bn_sysfs_read_u64(put("-1\n"), &v), -EINVAL);
	ASSERT_EQ(bn_sysfs_read_u64(put("1\n\n"), &v), -EINVAL);
	ASSERT_EQ(bn_sysfs_read_u64(put(""), &v), -EIO);
	ASSERT_EQ(bn_sysfs_read_devnum(put("259:3\n"), &d), 0);
	ASSERT_EQ(d, makedev(259, 3));
	ASSERT_EQ(bn_sysfs_read_devnum(put("259:\n"), &d), -EINVAL);
	ASSERT_EQ(bn_sysfs_read_devnum(put("8:0 x\n"), &d), -EINVAL);
	/* Cut short is refused, not half-used. */
	ASSERT_EQ(bn_sysfs_read(put("12345678\n"), buf, sizeof(buf)), -EFBIG);
	ASSERT_EQ(bn_sysfs_read(put("12345678"), buf, sizeof(buf)), -EFBIG);
	ASSERT_EQ(bn_sysfs_read(put("1234567\n"), buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "1234567");
	unlink(put(""));
	ASSERT_EQ(bn_sysfs_read_u64("/nonexistent/x", &v), -ENOENT);
}

TEST(block_extent_of_a_missing_device)
{
	__u64 start, end;
	dev_t disk;

	/* Major 4095 is never assigned (LANANA's range ends well below). */
	ASSERT_EQ(bn_block_extent(makedev(4095, 4095), &disk, &start, &end), -ENODEV);
}
