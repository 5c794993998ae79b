// SPDX-License-Identifier: LGPL-2.1-or-later
/* Wall-clock times for display: see wall-time.h. */
#include <stdio.h>
#include <time.h>
#include "wall-time.h"

void wall_time_format(int64_t real_ns, bool utc, enum wall_time_form form, char *buf,
		      size_t len)
{
	time_t secs = real_ns / 1000000000LL;
	bool iso = form == WALL_TIME_ISO;
	struct tm tm;
	size_t n;

	if (utc)
		gmtime_r(&secs, &tm);
	else
		localtime_r(&secs, &tm);
	n = strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	n += snprintf(buf + n, len - n, ".%06lld", (long long)(real_ns % 1000000000LL) / 1000);
	strftime(buf + n, len - n, iso ? "%z" : utc ? " UTC" : "", &tm);
}
