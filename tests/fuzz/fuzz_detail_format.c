// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A record's device detail as text (blknotify_detail_format(), which
 * blkwatch and any monitor run on records from a daemon or a pinned queue):
 * any bytes of any length, any buffer size.  The text is NUL-terminated
 * inside the buffer, the length returned is what a big enough buffer gets,
 * and a record shorter than the extension gives nothing.
 */
#include <stdint.h>
#include <string.h>
#include <blknotify/blknotify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_notification r = {};
	char big[512], small[24];
	size_t len, cut;
	int n, m;

	if (size < 1)
		return 0;
	cut = data[0] % sizeof(small);
	data++;
	size--;
	len = size < sizeof(r) ? size : sizeof(r);
	memcpy(&r, data, len);
	n = blknotify_detail_format(&r, len, big, sizeof(big));
	if (n < 0 || (size_t)n >= sizeof(big) || strlen(big) != (size_t)n)
		__builtin_trap();
	if (len < BLOCK_NOTIFICATION_SIZE_V2 && n)
		__builtin_trap();
	memset(small, 'x', sizeof(small));
	m = blknotify_detail_format(&r, len, small, cut);
	if (m != n || (cut && (strlen(small) >= cut || strncmp(small, big, strlen(small)))))
		__builtin_trap();
	if (!cut && small[0] != 'x')
		__builtin_trap();
	return 0;
}
