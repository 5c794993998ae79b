// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sysfs and udev values as the device snapshot reads them: any bytes as a
 * number (accepted only as digits and trailing blanks, and then equal to
 * what strtoull() made of them) and as a string to trim (the result lies
 * inside the input and has no blank at either end).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	const char *t;
	uint64_t v = 0;
	size_t len;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (device_parse_u64(s, &v) == 0) {
		char buf[32];
		const char *p = s;
		size_t digits = strspn(p, "0123456789");

		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
		/* Leading zeros aside, the digits are the number. */
		while (digits > 1 && *p == '0' && strlen(buf) < digits)
			p++, digits--;
		if (strncmp(p, buf, digits) || strlen(buf) != digits)
			abort();
		if (p[digits + strspn(p + digits, " \t\n")])
			abort();
	}
	t = device_trim(s, &len);
	if (t < s || t + len > s + strlen(s))
		abort();
	if (len && (t[0] == ' ' || t[0] == '\t' || t[0] == '\n' ||
		    t[len - 1] == ' ' || t[len - 1] == '\t' || t[len - 1] == '\n'))
		abort();
	free(s);
	return 0;
}
