// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Numbers read from sysfs (bn_parse_u64(): the device snapshot's sizes,
 * partition starts and diskseq, and bn_sysfs_read_u64()): any bytes are
 * accepted only when they are digits, at least one, whose value fits in 64
 * bits, and then the value is what strtoull() makes of them.  And SCSI VPD
 * page 0x80 (bn_parse_vpd80(): the serial of a disk without udev data):
 * a serial it accepts is non-empty printable ASCII without padding, inside
 * the page and its length.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_vpd80(const uint8_t *data, size_t size)
{
	char out[32];
	size_t n;

	if (bn_parse_vpd80(data, size, out, sizeof(out)))
		return;
	n = strlen(out);
	if (!n || n >= sizeof(out) || size < 4 + n || data[1] != 0x80 ||
	    out[0] == ' ' || out[n - 1] == ' ' || !memmem(data + 4, size - 4, out, n))
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			abort();
}

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
	check_vpd80(data, size);
	return 0;
}
