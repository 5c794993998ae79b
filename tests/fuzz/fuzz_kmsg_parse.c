// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the kmsg parser (lib/kmsg-parse.c): whatever bytes
 * /dev/kmsg, a sysfs "dev" file or a test corpus hands it, the parser must
 * not read outside them, and what it returns must hold together.
 *
 * The input is tried whole (as one /dev/kmsg record, one message, one device
 * number) and line by line, so the multi-line corpus files in
 * tests/unit/data/kmsg/ are good seeds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <blknotify/block_notify.h>
#include "kmsg-parse.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void check_message(const char *msg, size_t len)
{
	struct kmsg_message m;
	enum kmsg_kind kind = kmsg_parse_message(msg, len, &m);
	size_t dlen;

	CHECK(kind == m.kind);
	switch (kind) {
	case KMSG_REQUEST_ERROR:
		dlen = strnlen(m.err.disk, sizeof(m.err.disk));
		CHECK(dlen > 0 && dlen < sizeof(m.err.disk));
		CHECK(!strchr(m.err.disk, ' ') && !strchr(m.err.disk, ','));
		CHECK(m.err.subtype >= NOTIFY_BLOCK_ERROR_TIMEOUT &&
		      m.err.subtype <= NOTIFY_BLOCK_ERROR_INVALID);
		CHECK(m.err.error < 0);
		CHECK(!(m.err.flags & ~(BLOCK_NOTIFY_F_PREFLUSH | BLOCK_NOTIFY_F_FUA |
					BLOCK_NOTIFY_F_RAHEAD | BLOCK_NOTIFY_F_SYNC |
					BLOCK_NOTIFY_F_META)));
		CHECK(m.nr_suppressed == 0);
		break;
	case KMSG_SUPPRESSED:
		CHECK(m.nr_suppressed > 0);
		break;
	case KMSG_OTHER:
		CHECK(m.nr_suppressed == 0 && m.err.disk[0] == '\0');
		break;
	default:
		CHECK(0);
	}
}

static void check_record(const char *buf, size_t len)
{
	struct kmsg_record r;
	const char *v;
	size_t vlen;
	__u32 maj, min;

	if (kmsg_parse_record(buf, len, &r))
		return;
	CHECK(r.msg >= buf && r.msg + r.msg_len <= buf + len);
	CHECK(!r.dict || (r.dict > r.msg && r.dict + r.dict_len <= buf + len));
	check_message(r.msg, r.msg_len);
	CHECK(kmsg_record_from_kernel(&r) == (r.prio < 8));
	v = kmsg_dict_get(&r, "DEVICE", &vlen);
	if (v) {
		CHECK(v >= r.dict && v + vlen <= r.dict + r.dict_len);
		if (vlen > 1 && v[0] == 'b')
			kmsg_parse_devnum(v + 1, vlen - 1, &maj, &min);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy of exactly size bytes: no NUL after it to lean on. */
	char *buf = malloc(size ? size : 1);
	const char *p, *end;
	__u32 maj, min;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	check_record(buf, size);
	check_message(buf, size);
	kmsg_parse_devnum(buf, size, &maj, &min);
	kmsg_status_errno(buf, size);

	for (p = buf, end = buf + size; p < end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		check_message(p, (size_t)(eol - p));
		check_record(p, (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	free(buf);
	return 0;
}
