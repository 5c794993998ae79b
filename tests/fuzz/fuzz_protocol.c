// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the blknotifyd wire protocol parser (lib/protocol.c):
 * the daemon runs it on every message a client sends, the library on every
 * message from the daemon.  The first input byte picks the direction; the
 * rest is one message.  Whatever bnd_parse() accepts is then used the way
 * its callers use it, so reads past what was validated show up under ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "protocol.h"
#include "match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile __u64 sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bnd_msg m;
	char why[256];
	enum bnd_direction dir;
	void *buf;
	size_t len;
	__u32 i;

	if (size < 1)
		return 0;
	dir = data[0] & 1 ? BND_TO_CLIENT : BND_TO_DAEMON;
	len = size - 1;
	/* An exact-size heap copy: ASan catches any read past the message. */
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	if (bnd_parse(buf, len, dir, &m, why, sizeof(why)) == 0) {
		switch (m.type) {
		case BND_SET_FILTER:
			for (i = 0; i < m.set_filter->nr_filters; i++)
				sink += m.set_filter->filters[i].subtype_filter[7] +
					m.set_filter->filters[i].info_mask;
			break;
		case BND_ADD_WATCH:
			sink += m.add_watch->dev + m.add_watch->end;
			break;
		case BND_ERROR:
			sink += strlen(m.error->text);
			break;
		case BND_STATS:
			for (i = 0; i < m.stats->nr_clients; i++)
				sink += m.stats->clients[i].connected_ns;
			break;
		case BND_RECORDS: {
			const struct watch_notification *n = m.records;
			size_t left = m.body_len;

			for (; BLOCK_NOTIFY_RECORD_OK(n, left); n = BLOCK_NOTIFY_RECORD_NEXT(n, left)) {
				if (n->type == WATCH_TYPE_BLOCK_NOTIFY)
					sink += ((const struct block_notification *)n)->sector;
				else if (BLOCK_NOTIFY_RECORD_LEN(n) >= BLOCK_NOTIFICATION_LOSS_SIZE)
					sink += ((const struct block_notification_loss *)n)->nr_lost;
			}
			if (left)
				abort();	/* bnd_records_valid() accepted a stray tail */
			break;
		}
		default:
			break;
		}
	} else if (!why[0]) {
		abort();	/* every rejection must say why */
	}
	free(buf);
	return 0;
}
