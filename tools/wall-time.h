/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Wall-clock times as the tools print them: date, time to the microsecond,
 * then the zone, in one of two forms.
 */
#ifndef BLKNOTIFY_TOOLS_WALL_TIME_H
#define BLKNOTIFY_TOOLS_WALL_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wall_time_form {
	WALL_TIME_ISO,		/* blkwatch: 2026-12-02T10:00:00.123456+0100 */
	WALL_TIME_JOURNAL,	/* blknotify-history, as journalctl: 2026-12-02 10:00:00.123456,
				 * with " UTC" after it under utc */
};

/* real_ns (CLOCK_REALTIME ns) in buf, local time or UTC. */
void wall_time_format(int64_t real_ns, bool utc, enum wall_time_form form, char *buf,
		      size_t len);

#endif /* BLKNOTIFY_TOOLS_WALL_TIME_H */
