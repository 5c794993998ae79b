// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the handlers' logic without processes: the rate limit per
 * (handler, disk, subtype) (every event reported exactly once, at most one
 * run per interval, the last events of a storm flushed, a full queue never
 * losing anything, the key table's bound and eviction), the thresholds'
 * SERD arithmetic (fires exactly at N within T, starts over, restores), the
 * configuration keys and the names of handler files.  Time is made up.
 * Real processes are in tests/host/test_handlers.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <blknotify/blknotify.h>

#include "handler-rate.h"
#include "handlers-config.h"
#include "threshold.h"

#include "../harness.h"

#define MS	1000000ULL
#define SEC	1000000000ULL

/* The runs the limiter started: handler, count, the event's id. */
static struct {
	__u32 handler;
	__u64 count, id;
} runs[100000];
static unsigned int nr_runs, room = ~0U;

static bool take(void *ctx, __u32 handler, __u64 count, const struct handler_event *ev)
{
	(void)ctx;
	if (!room)
		return false;
	room--;
	runs[nr_runs].handler = handler;
	runs[nr_runs].count = count;
	runs[nr_runs].id = ev->id;
	nr_runs++;
	return true;
}

static void reset(void)
{
	nr_runs = 0;
	room = ~0U;
}

static struct handler_event event(__u64 dev, __u64 id)
{
	struct handler_event ev = { .len = BLOCK_NOTIFICATION_SIZE_V1, .id = id };

	ev.rec.dev = dev;
	ev.rec.watch.subtype = NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	return ev;
}

static __u64 total(void)
{
	__u64 s = 0;
	unsigned int i;

	for (i = 0; i < nr_runs; i++)
		s += runs[i].count;
	return s;
}

TEST(rate_first_event_runs_then_once_per_interval)
{
	struct rate_table t;
	struct handler_event ev;

	reset();
	ASSERT_EQ(rate_init(&t, 16, 1000 * MS), 0);
	ev = event(8, 1);
	ASSERT_TRUE(rate_event(&t, 0, 6, &ev, 10 * SEC, take, NULL));
	ASSERT_EQ(nr_runs, 1);
	EXPECT_EQ(runs[0].count, 1);
	ev.id = 2;
	ASSERT_FALSE(rate_event(&t, 0, 6, &ev, 10 * SEC + 1, take, NULL));
	ev.id = 3;
	ASSERT_FALSE(rate_event(&t, 0, 6, &ev, 10 * SEC + 999 * MS, take, NULL));
	EXPECT_EQ(rate_next_due(&t), 11 * SEC);
	ASSERT_EQ(rate_flush(&t, 11 * SEC - 1, take, NULL), 0);
	ASSERT_EQ(rate_flush(&t, 11 * SEC, take, NULL), 1);
	ASSERT_EQ(nr_runs, 2);
	EXPECT_EQ(runs[1].count, 2);
	EXPECT_EQ(runs[1].id, 3);	/* the latest event stands for them */
	EXPECT_EQ(rate_next_due(&t), ~0ULL);
	/* Long after: the next event runs at once again. */
	ev.id = 4;
	ASSERT_TRUE(rate_event(&t, 0, 6, &ev, 20 * SEC, take, NULL));
	EXPECT_EQ(runs[2].count, 1);
	rate_free(&t);
}

TEST(rate_keys_are_independent)
{
	struct rate_table t;
	struct handler_event a = event(8, 1), b = event(9, 2);

	reset();
	ASSERT_EQ(rate_init(&t, 16, 1000 * MS), 0);
	ASSERT_TRUE(rate_event(&t, 0, 6, &a, SEC, take, NULL));
	ASSERT_TRUE(rate_event(&t, 0, 6, &b, SEC, take, NULL));	/* another disk */
	ASSERT_TRUE(rate_event(&t, 1, 6, &a, SEC, take, NULL));	/* another handler */
	ASSERT_TRUE(rate_event(&t, 0, 10, &a, SEC, take, NULL));	/* another subtype */
	ASSERT_FALSE(rate_event(&t, 0, 6, &a, SEC, take, NULL));
	EXPECT_EQ(nr_runs, 4);
	rate_free(&t);
}

/* A storm: every event reported exactly once, by few runs. */
TEST(rate_storm_sums_exactly)
{
	struct rate_table t;
	struct handler_event ev = event(8, 0);
	__u64 now = SEC, i;

	reset();
	ASSERT_EQ(rate_init(&t, 16, 1000 * MS), 0);
	for (i = 1; i <= 20000; i++) {
		ev.id = i;
		now += 137 * 1000;	/* 137 us apart: 2.74 s in all */
		rate_event(&t, 0, 6, &ev, now, take, NULL);
		rate_flush(&t, now, take, NULL);
	}
	/* The timer after the storm reports the rest. */
	ASSERT_LE(rate_next_due(&t), now + SEC);
	rate_flush(&t, rate_next_due(&t), take, NULL);
	EXPECT_EQ(total(), 20000);
	EXPECT_EQ(runs[nr_runs - 1].id, 20000);
	EXPECT_EQ(nr_runs, 4);		/* at 1 s, 2 s, 3 s ... and the first */
	EXPECT_EQ(rate_pending(&t), 0);
	rate_free(&t);
}

/* A full queue refuses: the events stay pending and the next flush reports them. */
TEST(rate_refused_runs_stay_pending)
{
	struct rate_table t;
	struct handler_event ev = event(8, 1);

	reset();
	ASSERT_EQ(rate_init(&t, 16, 1000 * MS), 0);
	room = 0;
	ASSERT_FALSE(rate_event(&t, 0, 6, &ev, SEC, take, NULL));
	ASSERT_FALSE(rate_event(&t, 0, 6, &ev, SEC, take, NULL));
	EXPECT_EQ(rate_pending(&t), 2);
	EXPECT_EQ(rate_next_due(&t), 0);	/* never ran: due at once */
	ASSERT_EQ(rate_flush(&t, SEC, take, NULL), 0);
	room = 1;
	ASSERT_EQ(rate_flush(&t, SEC, take, NULL), 1);
	EXPECT_EQ(runs[0].count, 2);
	EXPECT_EQ(rate_pending(&t), 0);
	rate_free(&t);
}

TEST(rate_table_is_bounded_and_evicts_idle_keys_first)
{
	struct rate_table t;
	struct handler_event ev;
	unsigned int i;

	reset();
	ASSERT_EQ(rate_init(&t, 16, 1000 * MS), 0);
	/* 16 keys, the first with events pending. */
	for (i = 0; i < 16; i++) {
		ev = event(100 + i, i);
		ASSERT_TRUE(rate_event(&t, 0, 6, &ev, SEC + i, take, NULL));
	}
	ev = event(100, 99);
	ASSERT_FALSE(rate_event(&t, 0, 6, &ev, SEC + 20, take, NULL));
	EXPECT_EQ(t.nr_used, 16);
	/* A 17th key takes an idle key's place (dev 101, the least recently used idle one). */
	ev = event(200, 100);
	ASSERT_TRUE(rate_event(&t, 0, 6, &ev, SEC + 30, take, NULL));
	EXPECT_EQ(t.nr_used, 16);
	EXPECT_EQ(t.evicted, 1);
	EXPECT_EQ(rate_pending(&t), 1);		/* dev 100's event is still there */
	EXPECT_EQ(t.lost, 0);
	rate_free(&t);
}

TEST(rate_full_of_pending_keys_flushes_the_oldest)
{
	struct rate_table t;
	struct handler_event ev;
	unsigned int i;

	reset();
	ASSERT_EQ(rate_init(&t, 16, 1000 * MS), 0);
	for (i = 0; i < 16; i++) {
		ev = event(100 + i, i);
		rate_event(&t, 0, 6, &ev, SEC, take, NULL);
		rate_event(&t, 0, 6, &ev, SEC + 1 + i, take, NULL);	/* one pending each */
	}
	EXPECT_EQ(rate_pending(&t), 16);
	nr_runs = 0;
	ev = event(300, 50);
	rate_event(&t, 0, 6, &ev, SEC + 100, take, NULL);
	/* dev 100 was flushed early to make room, then the new key ran. */
	ASSERT_EQ(nr_runs, 2);
	EXPECT_EQ(runs[0].id, 0);
	EXPECT_EQ(runs[0].count, 1);
	EXPECT_EQ(t.evicted, 1);
	EXPECT_EQ(t.lost, 0);
	/* With every key pending and no room at all, what the evicted key held is lost, counted. */
	room = 0;
	ev = event(300, 50);
	rate_event(&t, 0, 6, &ev, SEC + 150, take, NULL);
	EXPECT_EQ(t.lost, 0);
	ev = event(301, 51);
	rate_event(&t, 0, 6, &ev, SEC + 200, take, NULL);
	EXPECT_EQ(t.lost, 1);
	rate_free(&t);
}

TEST(rate_restore_and_renumber)
{
	struct rate_table t;
	struct handler_event ev = event(8, 7);
	int map[3] = { -1, 0, 1 };

	reset();
	ASSERT_EQ(rate_init(&t, 16, 1000 * MS), 0);
	ASSERT_EQ(rate_restore(&t, 2, 6, 5, &ev, SEC), 0);
	ASSERT_EQ(rate_restore(&t, 0, 6, 3, &ev, SEC), 0);
	EXPECT_EQ(rate_pending(&t), 8);
	/* Handler 0 is gone, 2 becomes 1. */
	EXPECT_EQ(rate_renumber(&t, map, 3), 3);
	ASSERT_EQ(rate_flush(&t, SEC, take, NULL), 1);
	EXPECT_EQ(runs[0].handler, 1);
	EXPECT_EQ(runs[0].count, 5);
	rate_free(&t);
}

/* Loss events coalesced by the rate limit: the run is told the sum of what was lost. */
static __u64 last_lost;

static bool take_lost(void *ctx, __u32 handler, __u64 count, const struct handler_event *ev)
{
	last_lost = ev->lost;
	return take(ctx, handler, count, ev);
}

TEST(rate_sums_losses)
{
	struct rate_table t;
	struct handler_event ev = { .lost = 5 };

	reset();
	ASSERT_EQ(rate_init(&t, 16, 1000 * MS), 0);
	ASSERT_TRUE(rate_event(&t, 0, RATE_SUBTYPE_LOSS, &ev, SEC, take_lost, NULL));
	EXPECT_EQ(last_lost, 5);
	ev.lost = 7;
	rate_event(&t, 0, RATE_SUBTYPE_LOSS, &ev, SEC + 1, take_lost, NULL);
	ev.lost = 100;
	rate_event(&t, 0, RATE_SUBTYPE_LOSS, &ev, SEC + 2, take_lost, NULL);
	ASSERT_EQ(rate_flush(&t, 2 * SEC, take_lost, NULL), 1);
	EXPECT_EQ(runs[1].count, 2);
	EXPECT_EQ(last_lost, 107);
	ev.lost = 1;
	rate_event(&t, 0, RATE_SUBTYPE_LOSS, &ev, 4 * SEC, take_lost, NULL);
	EXPECT_EQ(last_lost, 1);	/* not what the last run reported again */
	rate_free(&t);
}

/* ---- thresholds ---- */

static unsigned int nr_fired, fired_count, fired_rule;
static __u64 fired_dev;

static void fire(void *ctx, unsigned int rule, __u64 dev, unsigned int count)
{
	(void)ctx;
	nr_fired++;
	fired_rule = rule;
	fired_dev = dev;
	fired_count = count;
}

static struct threshold_rule rules[2];

static void two_rules(struct thresholds *t)
{
	memset(rules, 0, sizeof(rules));
	snprintf(rules[0].name, sizeof(rules[0].name), "medium");
	rules[0].first = rules[0].last = NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	rules[0].n = 3;
	rules[0].t_s = 10;
	snprintf(rules[1].name, sizeof(rules[1].name), "error");
	blknotify_subtype_class_range("error", &rules[1].first, &rules[1].last);
	rules[1].n = 5;
	rules[1].t_s = 60;
	thresholds_init(t, rules, 2);
	nr_fired = 0;
}

TEST(threshold_fires_exactly_at_n_within_t)
{
	struct thresholds t;
	const unsigned int med = NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;

	two_rules(&t);
	ASSERT_EQ(thresholds_event(&t, 8, med, 100 * SEC, fire, NULL), 0);
	ASSERT_EQ(thresholds_event(&t, 8, med, 105 * SEC, fire, NULL), 0);
	EXPECT_EQ(nr_fired, 0);
	/* The third, 10 s after the first: within T (inclusive). */
	ASSERT_EQ(thresholds_event(&t, 8, med, 110 * SEC, fire, NULL), 0);
	EXPECT_EQ(nr_fired, 1);
	EXPECT_EQ(fired_rule, 0);
	EXPECT_EQ(fired_dev, 8);
	EXPECT_EQ(fired_count, 3);
	/* It starts over: two more do not fire it (but are the 5 of "error" within 60 s). */
	thresholds_event(&t, 8, med, 111 * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 1);
	thresholds_event(&t, 8, med, 112 * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 2);
	EXPECT_EQ(fired_rule, 1);
	EXPECT_EQ(fired_count, 5);
	thresholds_free(&t);
}

TEST(threshold_does_not_fire_when_spread_over_more_than_t)
{
	struct thresholds t;
	const unsigned int med = NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	unsigned int i;

	two_rules(&t);
	/* One every 6 s: never 3 within 10 s. */
	for (i = 0; i < 20; i++)
		thresholds_event(&t, 8, med, (100 + 6 * i) * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 4);		/* but "error" (5 in 60 s) does: 5 in 24 s, 4 times */
	EXPECT_EQ(fired_rule, 1);
	/* 10 s + 1 ns apart: not within T; 10 s apart: within. */
	thresholds_free(&t);
	two_rules(&t);
	thresholds_event(&t, 9, med, 100 * SEC, fire, NULL);
	thresholds_event(&t, 9, med, 100 * SEC + 1, fire, NULL);
	thresholds_event(&t, 9, med, 110 * SEC + 1, fire, NULL);
	EXPECT_EQ(nr_fired, 0);
	thresholds_event(&t, 9, med, 110 * SEC + 1, fire, NULL);	/* 10 s after 100 s + 1 ns */
	EXPECT_EQ(nr_fired, 1);
	thresholds_free(&t);
}

TEST(threshold_disks_and_subtypes_are_separate)
{
	struct thresholds t;
	const unsigned int med = NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;

	two_rules(&t);
	thresholds_event(&t, 8, med, SEC, fire, NULL);
	thresholds_event(&t, 9, med, SEC, fire, NULL);
	thresholds_event(&t, 8, NOTIFY_BLOCK_ERROR_IO, SEC, fire, NULL);	/* "error" only */
	thresholds_event(&t, 9, med, SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 0);
	thresholds_event(&t, 9, NOTIFY_BLOCK_SOFT_RETRY, SEC, fire, NULL);	/* in no rule */
	EXPECT_EQ(nr_fired, 0);
	thresholds_event(&t, 9, med, SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 1);
	EXPECT_EQ(fired_dev, 9);
	thresholds_free(&t);
}

TEST(threshold_restore_keeps_less_than_n)
{
	struct thresholds t;
	const unsigned int med = NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	__u64 times[5] = { 100 * SEC, 101 * SEC, 102 * SEC, 103 * SEC, 104 * SEC }, out[3];

	two_rules(&t);
	ASSERT_EQ(thresholds_restore(&t, 8, 0, "medium", times, 5), 0);
	EXPECT_EQ(nr_fired, 0);
	ASSERT_EQ(t.nr, 1);
	ASSERT_EQ(thresholds_times(&t, 0, out), 2);	/* n - 1: a restart fires nothing */
	EXPECT_EQ(out[0], 103 * SEC);
	EXPECT_EQ(out[1], 104 * SEC);
	thresholds_event(&t, 8, med, 105 * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 1);
	EXPECT_EQ(thresholds_restore(&t, 8, 0, "gone", times, 1), -ENOENT);
	thresholds_free(&t);
}

/* A disk replaced under the same number (a loop device reattached): its count starts over. */
TEST(threshold_another_disk_under_the_number_starts_over)
{
	struct thresholds t;
	const unsigned int med = NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM;
	__u64 times[2] = { 100 * SEC, 101 * SEC };

	two_rules(&t);
	thresholds_disk(&t, 8, 41);
	thresholds_event(&t, 8, med, 100 * SEC, fire, NULL);
	thresholds_event(&t, 8, med, 101 * SEC, fire, NULL);
	thresholds_disk(&t, 8, 42);
	thresholds_event(&t, 8, med, 102 * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 0);
	thresholds_event(&t, 8, med, 103 * SEC, fire, NULL);
	thresholds_event(&t, 8, med, 104 * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 1);			/* three of disk 42 */
	/* Unknown diskseq (0) changes nothing. */
	thresholds_disk(&t, 8, 0);
	thresholds_event(&t, 8, med, 105 * SEC, fire, NULL);
	thresholds_event(&t, 8, med, 106 * SEC, fire, NULL);
	thresholds_disk(&t, 8, 42);
	thresholds_event(&t, 8, med, 107 * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 3);			/* medium's 3, and error's 5 since 102 s */
	thresholds_free(&t);
	/* Restored with its diskseq: the same disk goes on counting, another does not. */
	two_rules(&t);
	ASSERT_EQ(thresholds_restore(&t, 8, 41, "medium", times, 2), 0);
	thresholds_disk(&t, 8, 41);
	thresholds_event(&t, 8, med, 102 * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 1);
	ASSERT_EQ(thresholds_restore(&t, 9, 50, "medium", times, 2), 0);
	thresholds_disk(&t, 9, 51);
	thresholds_event(&t, 9, med, 102 * SEC, fire, NULL);
	EXPECT_EQ(nr_fired, 1);
	thresholds_free(&t);
}

TEST(threshold_table_is_bounded)
{
	struct thresholds t;
	unsigned int i;

	two_rules(&t);
	for (i = 0; i < THRESHOLD_ENTRIES_MAX + 10; i++)
		thresholds_event(&t, 1000 + i, NOTIFY_BLOCK_ERROR_IO, (__u64)(i + 1) * SEC, fire, NULL);
	EXPECT_EQ(t.nr, THRESHOLD_ENTRIES_MAX);
	EXPECT_EQ(t.evicted, 10);
	thresholds_free(&t);
}

/* ---- configuration and names ---- */

TEST(config_threshold_keys)
{
	struct handlers_config c;
	char err[512];

	handlers_config_defaults(&c);
	ASSERT_EQ(handlers_config_set(&c, "threshold_medium", "10/600", 1, err, sizeof(err)), 0);
	ASSERT_EQ(handlers_config_set(&c, "threshold_error", "5/10m", 2, err, sizeof(err)), 0);
	ASSERT_EQ(handlers_config_set(&c, "threshold_soft", "100/1h", 3, err, sizeof(err)), 0);
	ASSERT_EQ(c.nr_rules, 3);
	EXPECT_EQ(c.rules[0].n, 10);
	EXPECT_EQ(c.rules[0].t_s, 600);
	EXPECT_EQ(c.rules[0].first, NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM);
	EXPECT_EQ(c.rules[0].last, NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM);
	EXPECT_EQ(c.rules[1].t_s, 600);
	EXPECT_EQ(c.rules[1].first, NOTIFY_BLOCK_CLASS_ERROR_FIRST);
	EXPECT_EQ(c.rules[2].t_s, 3600);
	ASSERT_EQ(handlers_config_set(&c, "threshold_medium", "1/1", 9, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strstr(err, "set twice (first on line 1)"));
	ASSERT_EQ(handlers_config_set(&c, "threshold_bogus", "1/1", 9, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strstr(err, "neither a subtype"));
	ASSERT_EQ(handlers_config_set(&c, "threshold_io", "10", 9, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "threshold_io", "0/10", 9, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "threshold_io", "1001/10", 9, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "threshold_io", "10/0", 9, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "threshold_io", "10/-1", 9, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "threshold_io", "10/8d", 9, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "threshold_io", "10/5x", 9, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "threshold_io", "10/s", 9, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(c.nr_rules, 3);	/* nothing half-added */
}

TEST(config_keys)
{
	struct handlers_config c;
	char err[512];

	handlers_config_defaults(&c);
	EXPECT_EQ(!!c.enabled, 0);
	ASSERT_STREQ(c.dir, HANDLERS_DIR_DEFAULT);
	EXPECT_EQ(c.interval_ms, HANDLERS_INTERVAL_DEFAULT);
	ASSERT_EQ(handlers_config_set(&c, "handlers", "yes", 1, err, sizeof(err)), 0);
	EXPECT_TRUE(c.enabled);
	ASSERT_EQ(handlers_config_set(&c, "handlers", "no", 2, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strstr(err, "set twice"));
	ASSERT_EQ(handlers_config_set(&c, "handlers_dir", "relative", 3, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "handlers_user", "-rf", 3, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "handlers_user", "a b", 3, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "handlers_user", "nobody", 3, err, sizeof(err)), 0);
	ASSERT_EQ(handlers_config_set(&c, "handlers_max_running", "0", 4, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "handlers_max_running", "65", 4, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "handlers_max_running", "2", 4, err, sizeof(err)), 0);
	EXPECT_EQ(c.max_running, 2);
	ASSERT_EQ(handlers_config_set(&c, "handlers_interval_ms", "0", 5, err, sizeof(err)), 0);
	ASSERT_EQ(handlers_config_set(&c, "handlers_timeout_ms", "99", 6, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(handlers_config_set(&c, "metrics_listen", "x", 7, err, sizeof(err)), -ENOENT);
}

TEST(handler_names)
{
	enum handler_kind k;
	unsigned int first, last;

	ASSERT_EQ(handler_name_parse("medium-notify.sh", &k, &first, &last), 0);
	EXPECT_EQ(k, HANDLER_SUBTYPES);
	EXPECT_EQ(first, NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM);
	EXPECT_EQ(last, NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM);
	ASSERT_EQ(handler_name_parse("error-log", &k, &first, &last), 0);
	EXPECT_EQ(first, NOTIFY_BLOCK_CLASS_ERROR_FIRST);
	EXPECT_EQ(last, NOTIFY_BLOCK_CLASS_ERROR_LAST);
	ASSERT_EQ(handler_name_parse("lifecycle-x", &k, &first, &last), 0);
	EXPECT_EQ(first, NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST);
	ASSERT_EQ(handler_name_parse("read_only-x", &k, &first, &last), 0);
	EXPECT_EQ(first, NOTIFY_BLOCK_READ_ONLY_SET);
	ASSERT_EQ(handler_name_parse("threshold-replace.sh", &k, &first, &last), 0);
	EXPECT_EQ(k, HANDLER_THRESHOLD);
	ASSERT_EQ(handler_name_parse("loss-alert", &k, &first, &last), 0);
	EXPECT_EQ(k, HANDLER_LOSS);
	ASSERT_EQ(handler_name_parse("all-log.sh", &k, &first, &last), 0);
	EXPECT_EQ(k, HANDLER_ALL);
	EXPECT_EQ(handler_name_parse("medium", &k, &first, &last), -EINVAL);
	EXPECT_EQ(handler_name_parse("medium-", &k, &first, &last), -EINVAL);
	EXPECT_EQ(handler_name_parse("-medium", &k, &first, &last), -EINVAL);
	EXPECT_EQ(handler_name_parse("bogus-x", &k, &first, &last), -EINVAL);
	EXPECT_TRUE(handler_name_ignored(".hidden-x"));
	EXPECT_TRUE(handler_name_ignored("io-x.dpkg-old"));
	EXPECT_TRUE(handler_name_ignored("io-x~"));
	EXPECT_EQ(!!handler_name_ignored("io-x.sh"), 0);
}
