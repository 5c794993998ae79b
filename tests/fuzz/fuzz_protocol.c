// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the blknotifyd wire protocol parser (lib/protocol.c):
 * the daemon runs it on every message a client sends, the library on every
 * message from the daemon.  The first input byte picks the direction; the
 * rest is one message.  Whatever bnd_parse() accepts is then used the way
 * its callers use it, so reads past what was validated show up under ASan.
 * An IMPACT reply that was accepted is built again with the encoder the
 * daemon uses: it must come out byte for byte the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <blknotify/device.h>
#include "protocol.h"
#include "match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile __u64 sink;

/* Walk an accepted IMPACT as the library does, and encode it again. */
static void impact_round_trip(const struct bnd_msg *m, size_t len)
{
	static unsigned char out[BND_MSG_MAX] __attribute__((aligned(8)));
	const struct bnd_impact *im = m->impact;
	const struct bnd_extent *x = bnd_impact_first(im);
	struct bnd_msg again;
	char why[256];

	bnd_msg_impact_init(out, m->seq, bnd_impact_mount(im), im->dropped, im->unnamed);
	for (__u32 i = 0; i < im->nr_extents; i++, x = bnd_extent_next(x)) {
		struct blknotify_extent e = {
			.kind = x->kind, .flags = x->flags, .dev_offset = x->dev_offset,
			.length = x->length, .inode = x->inode, .file_offset = x->file_offset,
			.owner = bnd_extent_owner(x), .path = bnd_extent_path(x),
		};

		sink += strlen(e.owner) + (e.path ? strlen(e.path) : 0);
		if (!bnd_msg_impact_add(out, &e))
			abort();	/* what was accepted must fit again */
	}
	if (((struct bnd_hdr *)out)->len != len || memcmp(out, m->hdr, len) ||
	    bnd_parse(out, len, BND_TO_CLIENT, &again, why, sizeof(why)))
		abort();	/* the encoder and the parser disagree */
}

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
		case BND_GET_IMPACT:
			sink += m.get_impact->sector + m.get_impact->nr_sectors;
			break;
		case BND_IMPACT:
			impact_round_trip(&m, len);
			break;
		case BND_GET_HISTORY:
			sink += m.get_history->after + m.get_history->limit;
			break;
		case BND_HISTORY: {
			const struct bnd_history_disk *d = bnd_history_disks(m.history);
			const struct bnd_history_row *r = bnd_history_rows(m.history);

			for (i = 0; i < m.history->nr_disks; i++)
				sink += strlen(d[i].name) + strlen(d[i].serial) + strlen(d[i].wwn) +
					strlen(d[i].by_id) + strlen(d[i].model);
			for (i = 0; i < m.history->nr_rows; i++)
				sink += r[i].id + r[i].nulls + r[i].reason;
			if ((const char *)(r + m.history->nr_rows) != (const char *)m.hdr + len)
				abort();	/* the walk and the length check disagree */
			break;
		}
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
