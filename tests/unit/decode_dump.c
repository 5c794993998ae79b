// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every name lib/decode.c has, one per line, for test_decode_tables.py:
 *   sense KEY NAME / asc ASC ASCQ NAME / nvme CODE NAME   (numbers in hex)
 * (A program, not ctypes: a sanitizer build's library cannot be dlopen()ed.)
 */
#include <stdio.h>
#include <blknotify/blknotify.h>

int main(void)
{
	unsigned int a, q;
	const char *n;

	for (a = 0; a < 16; a++)
		if ((n = blknotify_scsi_sense_key_name(a)))
			printf("sense %x %s\n", a, n);
	for (a = 0; a < 256; a++)
		for (q = 0; q < 256; q++)
			if ((n = blknotify_scsi_asc_name(a, q)))
				printf("asc %x %x %s\n", a, q, n);
	for (a = 0; a < 0x800; a++)
		if ((n = blknotify_nvme_status_name(a)))
			printf("nvme %x %s\n", a, n);
	return 0;
}
