/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Times as journalctl's --since/--until take them (systemd.time(7),
 * "PARSING TIMESTAMPS"); libsystemd does not export its parser, so this is
 * a small one of the same forms:
 *
 *   2026-12-02 10:00:00[.frac]   2026-12-02 10:00   2026-12-02   (also with 'T')
 *   10:00:00   10:00            today's, at that time
 *   now  today  yesterday  tomorrow   (midnight for the last three)
 *   @1764669600[.frac]           seconds since the epoch, UTC
 *   -1h  +30min  "1 hour ago"  "2d 3h left"   relative to now
 *
 * Absolute forms are local time, or UTC with a trailing " UTC" (or "Z").
 * Spans: a number, optionally fractional, and a unit (usec us, msec ms,
 * seconds second sec s, minutes minute min m, hours hour hr h, days day d,
 * weeks week w, months month M (30.44 days), years year y (365.25 days);
 * seconds without one), repeated: "1h 30min", "1h30m".  What systemd takes
 * and this does not: weekday names, time zone names other than UTC, and a
 * day the month does not have (systemd 252 moves "2026-02-31" to March 3rd;
 * this refuses it).  What this takes and systemd 252 does not: a trailing
 * "Z", and 9999-12-31.
 */
#ifndef BLKNOTIFY_HISTORY_TIME_H
#define BLKNOTIFY_HISTORY_TIME_H

#include <stdint.h>

/*
 * s into microseconds since the epoch (CLOCK_REALTIME), now_us being now.
 * Returns 0, or -EINVAL for what is none of the forms above (or out of
 * range: years 1970 to 9999).
 */
int history_parse_time(const char *s, int64_t now_us, int64_t *ret_us);

#endif /* BLKNOTIFY_HISTORY_TIME_H */
