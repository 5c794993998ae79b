// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Values read from sysfs and udev's database: numbers and padded strings.
 * Kept apart from device.c so that the fuzzer (tests/fuzz/fuzz_device_parse.c)
 * runs them without libsystemd, libblkid and libmount.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device-internal.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int device_parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	while (is_space(*end))
		end++;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

const char *device_trim(const char *s, size_t *len)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n && is_space(s[n - 1]))
		n--;
	*len = n;
	return s;
}
