// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotify-history's --since/--until parser (tools/history-time.h) against
 * what journalctl makes of the same strings (systemd.time(7)): the absolute
 * values below are those `TZ=UTC systemd-analyze timestamp` (systemd 252)
 * prints for them, the spans those of `systemd-analyze timespan`, and local
 * time is checked in a zone with summer time (TZ=CET-1CEST...).  Where the
 * two differ on purpose, history-time.h says so.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "harness.h"
#include "history-time.h"

/* 2026-12-02 13:36:17.250000 UTC, a Wednesday. */
#define NOW	1796218577250000LL
#define DAY	(86400LL * 1000000)
#define MIDNIGHT 1796169600000000LL	/* 2026-12-02 00:00:00 UTC */

static int64_t parse(const char *s)
{
	int64_t v = -1;

	return history_parse_time(s, NOW, &v) == 0 ? v : -1;
}

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

TEST(absolute)
{
	utc();
	EXPECT_EQ(parse("2026-12-02 10:00:00"), MIDNIGHT + 10 * 3600 * 1000000LL);
	EXPECT_EQ(parse("2026-12-02T10:00:00"), MIDNIGHT + 10 * 3600 * 1000000LL);
	EXPECT_EQ(parse("2026-12-02 10:00"), MIDNIGHT + 10 * 3600 * 1000000LL);
	EXPECT_EQ(parse("2026-12-02"), MIDNIGHT);
	EXPECT_EQ(parse("  2026-12-02  "), MIDNIGHT);
	EXPECT_EQ(parse("2026-12-02 10:00:00.5"), MIDNIGHT + 10 * 3600 * 1000000LL + 500000);
	EXPECT_EQ(parse("2026-12-02 10:00:00.123456789"), MIDNIGHT + 10 * 3600 * 1000000LL + 123457);
	EXPECT_EQ(parse("2026-12-02 10:00:00.1234564"), MIDNIGHT + 10 * 3600 * 1000000LL + 123456);
	EXPECT_EQ(parse("12:5"), MIDNIGHT + 12 * 3600 * 1000000LL + 300 * 1000000LL);
	EXPECT_EQ(parse("1970-01-01 00:00:00"), 0);
	EXPECT_EQ(parse("2026-12-02 10:00:00 UTC"), MIDNIGHT + 10 * 3600 * 1000000LL);
	EXPECT_EQ(parse("2026-12-02T10:00:00Z"), MIDNIGHT + 10 * 3600 * 1000000LL);
	EXPECT_EQ(parse("10:00"), MIDNIGHT + 10 * 3600 * 1000000LL);
	EXPECT_EQ(parse("10:00:01"), MIDNIGHT + 36001 * 1000000LL);
	EXPECT_EQ(parse("9999-12-31 23:59:59"), 253402300799LL * 1000000);
}

TEST(keywords)
{
	utc();
	EXPECT_EQ(parse("now"), NOW);
	EXPECT_EQ(parse("today"), MIDNIGHT);
	EXPECT_EQ(parse("yesterday"), MIDNIGHT - DAY);
	EXPECT_EQ(parse("tomorrow"), MIDNIGHT + DAY);
	EXPECT_EQ(parse("@0"), 0);
	EXPECT_EQ(parse("@1796218577"), 1796218577000000LL);
	EXPECT_EQ(parse("@1796218577.25"), NOW);
}

TEST(relative)
{
	utc();
	EXPECT_EQ(parse("-1h"), NOW - 3600 * 1000000LL);
	EXPECT_EQ(parse("+1h"), NOW + 3600 * 1000000LL);
	EXPECT_EQ(parse("1 hour ago"), NOW - 3600 * 1000000LL);
	EXPECT_EQ(parse("2 hours ago"), NOW - 7200 * 1000000LL);
	EXPECT_EQ(parse("1h 30min ago"), NOW - 5400 * 1000000LL);
	EXPECT_EQ(parse("-1h30m"), NOW - 5400 * 1000000LL);
	EXPECT_EQ(parse("-90"), NOW - 90 * 1000000LL);
	EXPECT_EQ(parse("-1.5d"), NOW - DAY - DAY / 2);
	EXPECT_EQ(parse("-500ms"), NOW - 500000);
	EXPECT_EQ(parse("-3us"), NOW - 3);
	EXPECT_EQ(parse("-2w"), NOW - 14 * DAY);
	EXPECT_EQ(parse("-1M"), NOW - 2629800LL * 1000000);
	EXPECT_EQ(parse("-1y"), NOW - 31557600LL * 1000000);
	EXPECT_EQ(parse("-1 m"), NOW - 60 * 1000000LL);
	EXPECT_EQ(parse("5 minutes left"), NOW + 300 * 1000000LL);
	EXPECT_EQ(parse("-1sec"), NOW - 1000000);
}

TEST(local_time)
{
	/* UTC+01:00 in December (CET), +02:00 in July (CEST). */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	EXPECT_EQ(parse("2026-12-02 10:00:00"), MIDNIGHT + 9 * 3600 * 1000000LL);
	EXPECT_EQ(parse("2026-07-01 10:00:00"), 1782892800000000LL);	/* 08:00 UTC */
	EXPECT_EQ(parse("2026-12-02 10:00:00 UTC"), MIDNIGHT + 10 * 3600 * 1000000LL);
	EXPECT_EQ(parse("today"), MIDNIGHT - 3600 * 1000000LL);
	utc();
}

TEST(refused)
{
	static const char *const bad[] = {
		"", " ", "garbage", "2026-13-01", "2026-02-31", "2026-12-02 24:00", "2026-12-02 10:60",
		"2026-12-02 10", "2026-12-02 10:00:00 PST", "1969-12-31", "10000-01-01", "12:",
		"12:123",
		"-", "+", "-1x", "-1 parsec", "1 hour", "ago", " ago", "-1h ago", "@", "@-1", "@1.2.3",
		"@1x", "-.", "-99999999999999999999", "-10001y", "now now", "2026-12-02 10:00:00.",
		"2026-12-02  10:00", "+1000000y",
	};
	size_t i;
	int64_t v;

	utc();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = history_parse_time(bad[i], NOW, &v);

		if (r != -EINVAL)
			printf("# \"%s\" was accepted: %lld\n", bad[i], (long long)v);
		EXPECT_EQ(r, -EINVAL);
	}
}
