// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the uevent parser (lib/uevent-parse.c): whatever a
 * netlink message holds, the parser must not read outside it, and what it
 * returns must hold together.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uevent-parse.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past them. */
	char *buf = malloc(size ? size : 1);
	struct uevent ev;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (lifecycle_parse_uevent(buf, size, &ev) == 0) {
		CHECK(ev.action <= UEVENT_CHANGE);
		CHECK(ev.disk_ro >= -1 && ev.disk_ro <= 1);
		CHECK(ev.major <= 0xfff && ev.minor <= 0xfffff);
	} else {
		CHECK(ev.action == UEVENT_OTHER && !ev.block_disk && !ev.have_devnum);
	}
	free(buf);
	return 0;
}
