// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Numbers read from sysfs (bn_parse_u64(): the device snapshot's sizes,
 * partition starts and diskseq, and bn_sysfs_read_u64()): any bytes are
 * accepted only when they are digits, at least one, whose value fits in 64
 * bits, and then the value is what strtoull() makes of them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	unsigned long long want;
	bool digits;
	__u64 v = 0;
	int err;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	digits = *s && strspn(s, "0123456789") == strlen(s);
	errno = 0;
	want = digits ? strtoull(s, NULL, 10) : 0;
	err = bn_parse_u64(s, &v);
	if (digits && errno != ERANGE ? err || v != want : !err)
		abort();
	free(s);
	return 0;
}
