// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotify-history's --since/--until parser (tools/history-time.h): any
 * bytes either fail with -EINVAL or give a time inside the range it
 * promises (the epoch to the end of 9999), the same for the same input;
 * a relative form moves with "now" by exactly as much as "now" moved.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "history-time.h"

#define NOW	1796218577250000LL
#define TIME_MAX_US (253402300799LL * 1000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool tz;
	char *s = malloc(size + 1);
	int64_t a = -1, b = -1, c = -1;
	int r;

	if (!tz) {
		setenv("TZ", "UTC", 1);
		tzset();
		tz = true;
	}
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = history_parse_time(s, NOW, &a);
	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0) {
		if (a < 0 || a > TIME_MAX_US)
			abort();
		if (history_parse_time(s, NOW, &b) != 0 || a != b)
			abort();
		/* Relative forms shift with now; the others do not move by a different amount. */
		if ((s[0] == '+' || s[0] == '-' || strstr(s, " ago") || strstr(s, " left")) &&
		    history_parse_time(s, NOW + 1000000, &c) == 0 && c != a + 1000000)
			abort();
	}
	free(s);
	return 0;
}
