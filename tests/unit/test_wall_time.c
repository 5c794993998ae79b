// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The tools' one wall-clock formatter (tools/wall-time.h) in both of its
 * forms: blkwatch's ISO 8601 and blknotify-history's journalctl form, in
 * UTC and in a zone with a half-hour offset.
 */
#include <stdlib.h>
#include <time.h>
#include "harness.h"
#include "wall-time.h"

/* 2026-12-02 13:36:17.250000999 UTC */
#define T_NS	1796218577250000999LL

static const char *fmt(int64_t ns, bool utc, enum wall_time_form form)
{
	static char buf[64];

	wall_time_format(ns, utc, form, buf, sizeof(buf));
	return buf;
}

TEST(iso_form)
{
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	ASSERT_STREQ(fmt(T_NS, false, WALL_TIME_ISO), "2026-12-02T19:06:17.250000+0530");
	ASSERT_STREQ(fmt(T_NS, true, WALL_TIME_ISO), "2026-12-02T13:36:17.250000+0000");
}

TEST(journal_form)
{
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	ASSERT_STREQ(fmt(T_NS, false, WALL_TIME_JOURNAL), "2026-12-02 19:06:17.250000");
	ASSERT_STREQ(fmt(T_NS, true, WALL_TIME_JOURNAL), "2026-12-02 13:36:17.250000 UTC");
}

TEST(epoch_and_microseconds)
{
	ASSERT_STREQ(fmt(0, true, WALL_TIME_JOURNAL), "1970-01-01 00:00:00.000000 UTC");
	ASSERT_STREQ(fmt(999999999, true, WALL_TIME_ISO), "1970-01-01T00:00:00.999999+0000");
}
