// SPDX-License-Identifier: LGPL-2.1-or-later
/* journalctl-style --since/--until times (history-time.h). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "history-time.h"

#define USEC_PER_SEC	1000000LL
#define SPAN_MAX_US	(10000LL * 366 * 86400 * USEC_PER_SEC)	/* 10,000 years */
#define TIME_MAX_US	(253402300799LL * USEC_PER_SEC)		/* 9999-12-31 23:59:59 UTC */

static const struct unit {
	const char *name;
	int64_t us;
} units[] = {
	/* Longest first where one is a prefix of another ("ms" before "m", "min" before "m"). */
	{ "usec", 1 }, { "us", 1 }, { "\xc2\xb5s", 1 },
	{ "msec", 1000 }, { "ms", 1000 },
	{ "seconds", USEC_PER_SEC }, { "second", USEC_PER_SEC }, { "sec", USEC_PER_SEC },
	{ "s", USEC_PER_SEC },
	{ "minutes", 60 * USEC_PER_SEC }, { "minute", 60 * USEC_PER_SEC },
	{ "min", 60 * USEC_PER_SEC },
	{ "months", 2629800 * USEC_PER_SEC }, { "month", 2629800 * USEC_PER_SEC },
	{ "M", 2629800 * USEC_PER_SEC },
	{ "m", 60 * USEC_PER_SEC },
	{ "hours", 3600 * USEC_PER_SEC }, { "hour", 3600 * USEC_PER_SEC },
	{ "hr", 3600 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC },
	{ "days", 86400 * USEC_PER_SEC }, { "day", 86400 * USEC_PER_SEC },
	{ "d", 86400 * USEC_PER_SEC },
	{ "weeks", 7 * 86400 * USEC_PER_SEC }, { "week", 7 * 86400 * USEC_PER_SEC },
	{ "w", 7 * 86400 * USEC_PER_SEC },
	{ "years", 31557600 * USEC_PER_SEC }, { "year", 31557600 * USEC_PER_SEC },
	{ "y", 31557600 * USEC_PER_SEC },
};

/* A decimal fraction after '.' in microseconds of unit; *p moves past it. */
static int64_t fraction(const char **p, int64_t unit)
{
	int64_t v = 0, scale = unit;

	bool rounded = false;

	while (isdigit((unsigned char)**p)) {
		if (scale >= 10) {
			scale /= 10;
			v += (**p - '0') * scale;
		} else if (!rounded) {
			v += **p >= '5';	/* as systemd rounds: .1234565 s is .123457 */
			rounded = true;
		}
		(*p)++;
	}
	return v;
}

/* "1h 30min", "90", "1.5d": the span in microseconds, up to end (the whole string). */
static int parse_span(const char *p, const char *end, int64_t *ret)
{
	int64_t total = 0;
	bool any = false;

	while (p < end) {
		int64_t n = 0, frac_us = 0, unit = USEC_PER_SEC;
		const char *frac = NULL, *q;
		size_t i;

		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p == end)
			break;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
		q = p;
		while (p < end && isdigit((unsigned char)*p)) {
			if (n > SPAN_MAX_US / 10)
				return -EINVAL;
			n = n * 10 + (*p++ - '0');
		}
		if (p < end && *p == '.') {
			frac = ++p;
			while (p < end && isdigit((unsigned char)*p))
				p++;
		}
		if (p == q || (frac && p == frac && frac == q + 1))
			return -EINVAL;	/* "." alone */
		while (p < end && isspace((unsigned char)*p))
			p++;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].name);

			if ((size_t)(end - p) >= l && !strncmp(p, units[i].name, l) &&
			    (p + l == end || !isalpha((unsigned char)p[l]))) {
				unit = units[i].us;
				p += l;
				break;
			}
		}
		if (i == sizeof(units) / sizeof(units[0]) && p < end && !isdigit((unsigned char)*p))
			return -EINVAL;	/* an unknown unit */
		if (frac) {
			const char *f = frac;

			frac_us = fraction(&f, unit);
		}
		if (n > (SPAN_MAX_US - frac_us) / unit || total > SPAN_MAX_US - n * unit - frac_us)
			return -EINVAL;
		total += n * unit + frac_us;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret = total;
	return 0;
}

/* tm as local time (or UTC), checked: mktime() moves 2026-02-31 to March, we refuse it. */
static int from_tm(struct tm *tm, bool utc, int64_t usec, int64_t *ret)
{
	struct tm want = *tm;
	time_t t;

	tm->tm_isdst = -1;
	t = utc ? timegm(tm) : mktime(tm);
	if (t == (time_t)-1 && !(want.tm_year == 69 && want.tm_mon == 11 && want.tm_mday == 31))
		return -EINVAL;
	if (tm->tm_year != want.tm_year || tm->tm_mon != want.tm_mon ||
	    tm->tm_mday != want.tm_mday || tm->tm_min != want.tm_min || tm->tm_sec != want.tm_sec)
		return -EINVAL;
	if (t < 0 || (int64_t)t > TIME_MAX_US / USEC_PER_SEC)
		return -EINVAL;
	*ret = (int64_t)t * USEC_PER_SEC + usec;
	return 0;
}

/* Digits: exactly n of them (n > 0) or, n == 0, one or two. */
static bool digits(const char **p, int n, int *v)
{
	int i, max = n ? n : 2;

	*v = 0;
	for (i = 0; i < max && isdigit((unsigned char)(*p)[i]); i++)
		*v = *v * 10 + ((*p)[i] - '0');
	if (i == 0 || (n && i != n))
		return false;
	*p += i;
	return true;
}

/* "HH:MM[:SS[.frac]]" at p, into tm and *usec; *p moves past it. */
static bool parse_clock(const char **p, struct tm *tm, int64_t *usec)
{
	tm->tm_sec = 0;
	*usec = 0;
	if (!digits(p, 0, &tm->tm_hour) || **p != ':')
		return false;
	(*p)++;
	if (!digits(p, 0, &tm->tm_min))
		return false;
	if (**p == ':') {
		(*p)++;
		if (!digits(p, 0, &tm->tm_sec))
			return false;
		if (**p == '.') {
			(*p)++;
			if (!isdigit((unsigned char)**p))
				return false;
			*usec = fraction(p, USEC_PER_SEC);
		}
	}
	return tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec < 60;
}

static int midnight(int64_t now_us, int days, int64_t *ret)
{
	time_t t = now_us / USEC_PER_SEC;
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return -EINVAL;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += days;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = (int64_t)t * USEC_PER_SEC;
	return 0;
}

static int add(int64_t now_us, int64_t span, int sign, int64_t *ret)
{
	int64_t v = now_us + sign * span;

	if (v < 0 || v > TIME_MAX_US)
		return -EINVAL;
	*ret = v;
	return 0;
}

int history_parse_time(const char *s, int64_t now_us, int64_t *ret_us)
{
	char buf[128];
	const char *p, *end;
	size_t len;
	bool utc = false;
	struct tm tm;
	int64_t usec, span;
	time_t t;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (now_us < 0 || now_us > TIME_MAX_US)
		return -EINVAL;

	if (!strcmp(buf, "now")) {
		*ret_us = now_us;
		return 0;
	}
	if (!strcmp(buf, "today"))
		return midnight(now_us, 0, ret_us);
	if (!strcmp(buf, "yesterday"))
		return midnight(now_us, -1, ret_us);
	if (!strcmp(buf, "tomorrow"))
		return midnight(now_us, 1, ret_us);
	if (buf[0] == '@') {
		if (parse_span(buf + 1, buf + len, &span) < 0 || !isdigit((unsigned char)buf[1]) ||
		    strspn(buf + 1, "0123456789.") != len - 1 || span > TIME_MAX_US ||
		    (strchr(buf, '.') && strchr(strchr(buf, '.') + 1, '.')))
			return -EINVAL;
		*ret_us = span;
		return 0;
	}
	if (buf[0] == '+' || buf[0] == '-') {
		if (parse_span(buf + 1, buf + len, &span) < 0)
			return -EINVAL;
		return add(now_us, span, buf[0] == '+' ? 1 : -1, ret_us);
	}
	if (len > 4 && !strcmp(buf + len - 4, " ago")) {
		if (parse_span(buf, buf + len - 4, &span) < 0)
			return -EINVAL;
		return add(now_us, span, -1, ret_us);
	}
	if (len > 5 && !strcmp(buf + len - 5, " left")) {
		if (parse_span(buf, buf + len - 5, &span) < 0)
			return -EINVAL;
		return add(now_us, span, 1, ret_us);
	}

	/* Absolute. */
	end = buf + len;
	if (len > 4 && !strcmp(buf + len - 4, " UTC")) {
		utc = true;
		end -= 4;
	} else if (len > 1 && buf[len - 1] == 'Z') {
		utc = true;
		end--;
	}
	*(char *)end = '\0';
	p = buf;
	t = now_us / USEC_PER_SEC;
	if (!(utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)))
		return -EINVAL;
	usec = 0;
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) && p[4] == '-') {
		int year, mon, day;

		if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &mon) || *p++ != '-' ||
		    !digits(&p, 2, &day))
			return -EINVAL;
		if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31)
			return -EINVAL;
		tm.tm_year = year - 1900;
		tm.tm_mon = mon - 1;
		tm.tm_mday = day;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		if (*p == ' ' || *p == 'T') {
			p++;
			if (!parse_clock(&p, &tm, &usec))
				return -EINVAL;
		}
	} else if (!parse_clock(&p, &tm, &usec)) {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	return from_tm(&tm, utc, usec, ret_us);
}
