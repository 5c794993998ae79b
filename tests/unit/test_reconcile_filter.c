// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The reconciliation's pure parts (lib/reconcile.c): the ftrace filter made
 * from a queue's watches, which must admit exactly what bn_watch_match()
 * admits, and the per-CPU stats text, whose every way of counting an event
 * (kept, overwritten, dropped, read) is summed.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/sysmacros.h>

#include "reconcile.h"
#include "watch.h"
#include "../harness.h"

static void add(struct bn_config *c, __u32 id, __u64 dev, __u64 start, __u64 end)
{
	char why[128];

	ASSERT_GE(bn_config_add_watch(c, id, dev, start, end, why, sizeof(why)), 0);
}

TEST(filter_names_each_watched_disk_by_the_kernels_dev_t)
{
	struct bn_config c = {};
	char f[2048];

	bn_config_init(&c);
	ASSERT_EQ(reconcile_filter(&c, f, sizeof(f)), 1);	/* nothing watched */
	add(&c, 1, makedev(7, 3), 0, UINT64_MAX);
	ASSERT_EQ(reconcile_filter(&c, f, sizeof(f)), 0);
	ASSERT_STREQ(f, "(dev == 7340035)");
	/* A partition: its sectors of the disk; sda is 8:0, internally 8 << 20. */
	add(&c, 2, makedev(8, 0), 2048, 4096);
	ASSERT_EQ(reconcile_filter(&c, f, sizeof(f)), 0);
	ASSERT_STREQ(f, "(dev == 7340035) || (dev == 8388608 && sector >= 2048 && sector < 4096)");
	/* Minors above 255 (loop256 is 7:256) are not the stat() encoding. */
	bn_config_init(&c);
	add(&c, 1, makedev(259, 300), 0, UINT64_MAX);
	ASSERT_EQ(reconcile_filter(&c, f, sizeof(f)), 0);
	ASSERT_STREQ(f, "(dev == 271581484)");
	/* Every device among the watches: no filter at all. */
	add(&c, 3, 0, 0, UINT64_MAX);
	ASSERT_EQ(reconcile_filter(&c, f, sizeof(f)), 0);
	ASSERT_STREQ(f, "");
	/* Too small a buffer says so. */
	bn_config_init(&c);
	add(&c, 1, makedev(7, 3), 0, UINT64_MAX);
	ASSERT_EQ(reconcile_filter(&c, f, 8), -ENAMETOOLONG);
}

TEST(stats_sum_every_event_ftrace_counted)
{
	static const char s[] = "entries: 12\noverrun: 3000\ncommit overrun: 2\nbytes: 480\n"
		"oldest event ts:   664.669726\nnow ts:   664.812059\ndropped events: 5\n"
		"read events: 7\n";
	__u64 n = 0;

	ASSERT_EQ(reconcile_parse_stats(s, sizeof(s) - 1, &n), 0);
	ASSERT_EQ(n, 12 + 3000 + 2 + 5 + 7);
	/* Older kernels print fewer lines; entries and overrun are needed. */
	ASSERT_EQ(reconcile_parse_stats("entries: 4\noverrun: 1\n", 22, &n), 0);
	ASSERT_EQ(n, 5);
	ASSERT_EQ(reconcile_parse_stats("entries: 4\n", 11, &n), -EINVAL);
	ASSERT_EQ(reconcile_parse_stats("entries: x\noverrun: 1\n", 22, &n), -EINVAL);
	ASSERT_EQ(reconcile_parse_stats("", 0, &n), -EINVAL);
}
