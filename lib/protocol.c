// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotifyd wire protocol: validation and encoding (docs/protocol.md).
 *
 * Everything here handles bytes from another process, possibly hostile or
 * just of another version: every length is checked before a field is read,
 * and nothing is trusted that a check has not covered.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <blknotify/blknotify.h>
#include <blknotify/device.h>
#include "match.h"
#include "protocol.h"
#include "watch.h"

_Static_assert(sizeof(struct bnd_hdr) == 16, "wire layout");
_Static_assert(sizeof(struct bnd_hello) == 16, "wire layout");
_Static_assert(sizeof(struct bnd_hello_reply) == 32, "wire layout");
_Static_assert(sizeof(struct bnd_set_size) == 8, "wire layout");
_Static_assert(sizeof(struct bnd_set_filter) == 8, "wire layout");
_Static_assert(sizeof(struct watch_notification_type_filter) == 44, "wire layout");
_Static_assert(sizeof(struct bnd_add_watch) == 32, "wire layout");
_Static_assert(sizeof(struct bnd_remove_watch) == 8, "wire layout");
_Static_assert(sizeof(struct bnd_ok) == 8, "wire layout");
_Static_assert(sizeof(struct bnd_ack) == 8, "wire layout");
_Static_assert(sizeof(struct bnd_error) == 8, "wire layout");
_Static_assert(sizeof(struct bnd_client_stats) == 56, "wire layout");
_Static_assert(sizeof(struct bnd_stats) == 64, "wire layout");
_Static_assert(sizeof(struct bnd_watch_removal) == BND_WATCH_REMOVAL_SIZE, "wire layout");
_Static_assert(sizeof(struct bnd_hdr) + sizeof(struct bnd_set_filter) +
	       BN_FILTERS_MAX * sizeof(struct watch_notification_type_filter) <= BND_REQUEST_MAX,
	       "the largest request fits BND_REQUEST_MAX");
_Static_assert(sizeof(struct bnd_hdr) + sizeof(struct bnd_stats) +
	       BND_CLIENTS_HARD_MAX * sizeof(struct bnd_client_stats) <= BND_MSG_MAX,
	       "a full STATS reply fits BND_MSG_MAX");
_Static_assert(BN_FILTERS_MAX == BLKNOTIFY_FILTERS_MAX, "one bound");
_Static_assert(sizeof(struct bnd_get_impact) == 24, "wire layout");
_Static_assert(sizeof(struct bnd_impact) == 16, "wire layout");
_Static_assert(sizeof(struct bnd_extent) == 48, "wire layout");
_Static_assert(sizeof(struct bnd_get_history) == 40, "wire layout");
_Static_assert(sizeof(struct bnd_history) == 32, "wire layout");
_Static_assert(sizeof(struct bnd_history_disk) == 448, "wire layout");
_Static_assert(sizeof(struct bnd_history_row) == 112, "wire layout");
_Static_assert(sizeof(struct bnd_hdr) + sizeof(struct bnd_history) +
	       BND_HISTORY_DISKS_MAX * sizeof(struct bnd_history_disk) +
	       BND_HISTORY_ROWS_MAX * sizeof(struct bnd_history_row) <= BND_MSG_MAX,
	       "a full HISTORY page fits BND_MSG_MAX");

const char *bnd_type_name(unsigned int type)
{
	switch (type) {
	case BND_HELLO:		return "HELLO";
	case BND_SET_SIZE:	return "SET_SIZE";
	case BND_SET_FILTER:	return "SET_FILTER";
	case BND_ADD_WATCH:	return "ADD_WATCH";
	case BND_REMOVE_WATCH:	return "REMOVE_WATCH";
	case BND_GET_STATS:	return "GET_STATS";
	case BND_ACK:		return "ACK";
	case BND_HELLO_REPLY:	return "HELLO_REPLY";
	case BND_OK:		return "OK";
	case BND_ERROR:		return "ERROR";
	case BND_RECORDS:	return "RECORDS";
	case BND_STATS:		return "STATS";
	case BND_GET_IMPACT:	return "GET_IMPACT";
	case BND_IMPACT:	return "IMPACT";
	case BND_GET_HISTORY:	return "GET_HISTORY";
	case BND_HISTORY:	return "HISTORY";
	default:		return "unknown";
	}
}

bool bnd_records_valid(const void *buf, size_t len, char *why, size_t why_len)
{
	const struct watch_notification *n = buf;
	size_t off = 0;

	while (off < len) {
		size_t left = len - off, rlen;

		n = (const void *)((const char *)buf + off);
		if (left < sizeof(*n)) {
			bn_refuse(why, why_len, EBADMSG, "%zu stray bytes after the last record", left);
			return false;
		}
		rlen = n->info & WATCH_INFO_LENGTH;
		/* Records are whole 8-byte units so the next one stays aligned. */
		if (rlen < sizeof(*n) || rlen % 8 || rlen > left) {
			bn_refuse(why, why_len, EBADMSG,
			       "record at offset %zu has length %zu (need 8..%zu, a multiple of 8)",
			       off, rlen, left);
			return false;
		}
		if (n->type == WATCH_TYPE_BLOCK_NOTIFY && rlen < BLOCK_NOTIFICATION_SIZE_V0) {
			bn_refuse(why, why_len, EBADMSG,
			       "block record at offset %zu is %zu bytes, shorter than %d",
			       off, rlen, BLOCK_NOTIFICATION_SIZE_V0);
			return false;
		}
		off += rlen;
	}
	return true;
}

static int check_filter(const struct bnd_set_filter *f, size_t body_len, char *why, size_t why_len)
{
	char sub[BND_ERROR_TEXT_MAX];
	size_t want;

	if (f->__reserved)
		return bn_refuse(why, why_len, EBADMSG, "SET_FILTER: reserved field is not zero");
	if (f->nr_filters > BN_FILTERS_MAX)
		return bn_refuse(why, why_len, EBADMSG, "SET_FILTER: %u filters, at most %d",
			      f->nr_filters, BN_FILTERS_MAX);
	want = sizeof(*f) + f->nr_filters * sizeof(f->filters[0]);
	if (body_len != want)
		return bn_refuse(why, why_len, EBADMSG,
			      "SET_FILTER: body is %zu bytes, %u filters need %zu",
			      body_len, f->nr_filters, want);
	/* The kernel's IOC_WATCH_QUEUE_SET_FILTER rules. */
	if (bn_filter_check(f->filters, f->nr_filters, sub, sizeof(sub)))
		return bn_refuse(why, why_len, EBADMSG, "SET_FILTER: %s", sub);
	return 0;
}

#define PAD8(n)	(((n) + 7) & ~(size_t)7)

/* Whether s[0 .. len) is one NUL-terminated string of min_len .. max_len bytes. */
static bool wire_string(const char *s, size_t len, size_t min_len, size_t max_len)
{
	return len >= min_len && len <= max_len && memchr(s, '\0', len) == s + len - 1;
}

/* Whether the bytes from p to end are zero (the padding of a string). */
static bool zero_pad(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p)
			return false;
	return true;
}

static size_t extent_size(const struct bnd_extent *x)
{
	return PAD8(sizeof(*x) + x->owner_len + x->path_len);
}

static int check_extent(const struct bnd_extent *x, size_t left, unsigned int i,
			char *why, size_t why_len)
{
	const char *owner = (const char *)(x + 1), *end;

	if (left < sizeof(*x))
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: extent %u is cut short", i);
	if (x->kind > BLKNOTIFY_EXTENT_FILE || x->flags & ~0xfU || x->__reserved)
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: extent %u has kind %u, flags 0x%x "
				 "or reserved bits set", i, x->kind, x->flags);
	if (x->path_len && x->kind != BLKNOTIFY_EXTENT_FILE)
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: extent %u has a path but is no file", i);
	if (x->kind != BLKNOTIFY_EXTENT_FILE && (x->inode || x->file_offset))
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: extent %u has an inode but is no file", i);
	if (extent_size(x) > left)
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: extent %u (%zu bytes) is past the end",
				 i, extent_size(x));
	if (!wire_string(owner, x->owner_len, 2, BND_OWNER_MAX) ||
	    (x->path_len && !wire_string(owner + x->owner_len, x->path_len, 2, BND_PATH_MAX)))
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: extent %u: owner or path is not one "
				 "NUL-terminated string of the length given", i);
	end = (const char *)x + extent_size(x);
	if (!zero_pad(owner + x->owner_len + x->path_len, end))
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: extent %u: padding is not zero", i);
	return 0;
}

static int check_impact(const struct bnd_impact *im, size_t body_len, char *why, size_t why_len)
{
	const char *mount = (const char *)(im + 1), *end = (const char *)im + body_len;
	const struct bnd_extent *x;
	unsigned int i;
	int r;

	if (body_len < sizeof(*im))
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: body is %zu bytes, at least %zu needed",
				 body_len, sizeof(*im));
	if (im->nr_extents > BND_IMPACT_EXTENTS_MAX)
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: %u extents, at most %d",
				 im->nr_extents, BND_IMPACT_EXTENTS_MAX);
	if (im->mount_len > body_len - sizeof(*im) ||
	    PAD8(im->mount_len) > body_len - sizeof(*im) ||
	    !wire_string(mount, im->mount_len, 2, BND_PATH_MAX) ||
	    !zero_pad(mount + im->mount_len, mount + PAD8(im->mount_len)))
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: the mount point is not one padded, "
				 "NUL-terminated string of %u bytes", im->mount_len);
	x = bnd_impact_first(im);
	for (i = 0; i < im->nr_extents; i++) {
		if ((r = check_extent(x, (size_t)(end - (const char *)x), i, why, why_len)))
			return r;
		x = bnd_extent_next(x);
	}
	if ((const char *)x != end)
		return bn_refuse(why, why_len, EBADMSG, "IMPACT: %zu bytes after the last extent",
				 (size_t)(end - (const char *)x));
	return 0;
}

const char *bnd_impact_mount(const struct bnd_impact *im)
{
	return (const char *)(im + 1);
}

const struct bnd_extent *bnd_impact_first(const struct bnd_impact *im)
{
	return (const void *)((const char *)(im + 1) + PAD8(im->mount_len));
}

const struct bnd_extent *bnd_extent_next(const struct bnd_extent *x)
{
	return (const void *)((const char *)x + extent_size(x));
}

const char *bnd_extent_owner(const struct bnd_extent *x)
{
	return (const char *)(x + 1);
}

const char *bnd_extent_path(const struct bnd_extent *x)
{
	return x->path_len ? (const char *)(x + 1) + x->owner_len : NULL;
}

/* Append a string of len bytes (NUL included) at p; returns the end. */
static char *put_string(char *p, const char *s, size_t len)
{
	memcpy(p, s, len - 1);
	p[len - 1] = '\0';
	return p + len;
}

struct bnd_impact *bnd_msg_impact_init(void *buf, __u32 seq, const char *mount,
				       __u32 dropped, __u32 unnamed)
{
	size_t mlen = strnlen(mount, BND_PATH_MAX - 1) + 1;
	struct bnd_impact *im;

	/* Zeroed whole: strings' padding is zero. */
	im = bnd_msg_init(buf, BND_IMPACT, seq, BND_MSG_MAX - sizeof(struct bnd_hdr));
	im->mount_len = mlen;
	im->dropped = dropped;
	im->unnamed = unnamed;
	put_string((char *)(im + 1), mount, mlen);
	((struct bnd_hdr *)buf)->len = sizeof(struct bnd_hdr) + sizeof(*im) + PAD8(mlen);
	return im;
}

bool bnd_msg_impact_add(void *buf, const struct blknotify_extent *e)
{
	struct bnd_hdr *h = buf;
	struct bnd_impact *im = (void *)(h + 1);
	struct bnd_extent *x = (void *)((char *)buf + h->len);
	const char *owner = e->owner ? e->owner : "unknown";
	size_t olen = strnlen(owner, BND_OWNER_MAX - 1) + 1;
	size_t plen = e->path && e->kind == BLKNOTIFY_EXTENT_FILE ?
		      strnlen(e->path, BND_PATH_MAX) + 1 : 0;
	char *p;

	if (plen > BND_PATH_MAX) {	/* cut short it would name another file */
		plen = 0;
		im->unnamed++;
	}
	if (im->nr_extents == BND_IMPACT_EXTENTS_MAX || e->kind > BLKNOTIFY_EXTENT_FILE ||
	    PAD8(sizeof(*x) + olen + plen) > BND_MSG_MAX - h->len) {
		im->dropped++;
		return false;
	}
	*x = (struct bnd_extent){ .kind = e->kind, .flags = e->flags & 0xf,
				  .dev_offset = e->dev_offset, .length = e->length,
				  .owner_len = olen, .path_len = plen };
	if (e->kind == BLKNOTIFY_EXTENT_FILE) {
		x->inode = e->inode;
		x->file_offset = e->file_offset;
	}
	p = put_string((char *)(x + 1), owner, olen);
	if (plen)
		put_string(p, e->path, plen);
	h->len += extent_size(x);
	im->nr_extents++;
	return true;
}

const struct bnd_history_disk *bnd_history_disks(const struct bnd_history *h)
{
	return (const void *)(h + 1);
}

const struct bnd_history_row *bnd_history_rows(const struct bnd_history *h)
{
	return (const void *)(bnd_history_disks(h) + h->nr_disks);
}

/* A fixed string field: NUL-terminated, the rest zero. */
static bool fixed_string(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);

	return nul && zero_pad(nul, s + size);
}

static bool zero_bytes(const void *p, size_t n)
{
	return zero_pad(p, (const char *)p + n);
}

static int check_history_row(const struct bnd_history_row *r, unsigned int i, char *why, size_t why_len)
{
	/* A NULL column is zero on the wire. */
	static const struct { unsigned int col; size_t off, size; } cols[] = {
#define COL(c, f) { BND_HCOL_##c, offsetof(struct bnd_history_row, f), \
		    sizeof(((struct bnd_history_row *)0)->f) }
		COL(DISK, disk), COL(DEV, dev), COL(SOURCE, source), COL(WATCH, watch),
		COL(SUBTYPE, subtype), COL(OP, op), COL(FLAGS, flags), COL(SECTOR, sector),
		COL(NR_SECTORS, nr_sectors), COL(ERROR, error), COL(MONO, mono),
		COL(RETRIES, retries), COL(TRANSPORT, transport), COL(DETAIL, detail),
		COL(STATUS, status), COL(COMMAND_ID, command_id), COL(SENSE_KEY, sense_key),
		COL(ASC, asc), COL(ASCQ, ascq), COL(OPCODE, opcode), COL(DEVICE_LBA, device_lba),
		COL(VALUE, value), COL(LOST, lost), COL(REASON, reason),
#undef COL
	};
	size_t k;

	if (!r->id || r->kind > 1 || r->nulls >> BND_HCOL_COUNT || !zero_bytes(r->__reserved, sizeof(r->__reserved)))
		return bn_refuse(why, why_len, EBADMSG, "HISTORY: row %u has id 0, kind %u, unknown "
				 "null bits 0x%x or reserved bytes set", i, r->kind, r->nulls);
	if (!(r->nulls & 1U << BND_HCOL_DISK) && !r->disk)
		return bn_refuse(why, why_len, EBADMSG, "HISTORY: row %u names disk 0", i);
	for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
		if (r->nulls & 1U << cols[k].col && !zero_bytes((const char *)r + cols[k].off, cols[k].size))
			return bn_refuse(why, why_len, EBADMSG, "HISTORY: row %u: a NULL column (%u) is "
					 "not zero", i, cols[k].col);
	return 0;
}

static int check_history(const struct bnd_history *h, size_t body_len, char *why, size_t why_len)
{
	const struct bnd_history_disk *d = bnd_history_disks(h);
	const struct bnd_history_row *r;
	__u64 prev = 0;
	__u32 i, j;
	int e;

	if (body_len < sizeof(*h))
		return bn_refuse(why, why_len, EBADMSG, "HISTORY: body is %zu bytes, at least %zu needed",
				 body_len, sizeof(*h));
	if (h->flags & ~BND_HISTORY_END || h->__reserved)
		return bn_refuse(why, why_len, EBADMSG, "HISTORY: unknown flags or reserved bits set");
	if (h->nr_rows > BND_HISTORY_ROWS_MAX || h->nr_disks > BND_HISTORY_DISKS_MAX ||
	    body_len != sizeof(*h) + h->nr_disks * sizeof(*d) +
			h->nr_rows * sizeof(struct bnd_history_row))
		return bn_refuse(why, why_len, EBADMSG, "HISTORY: body is %zu bytes for %u disks and "
				 "%u rows (at most %d and %d)", body_len, h->nr_disks, h->nr_rows,
				 BND_HISTORY_DISKS_MAX, BND_HISTORY_ROWS_MAX);
	for (i = 0; i < h->nr_disks; i++) {
		if (!d[i].id || !fixed_string(d[i].name, sizeof(d[i].name)) ||
		    !fixed_string(d[i].serial, sizeof(d[i].serial)) ||
		    !fixed_string(d[i].wwn, sizeof(d[i].wwn)) ||
		    !fixed_string(d[i].by_id, sizeof(d[i].by_id)) ||
		    !fixed_string(d[i].model, sizeof(d[i].model)))
			return bn_refuse(why, why_len, EBADMSG, "HISTORY: disk %u has id 0 or a string "
					 "that is not NUL-terminated and zero-padded", i);
		for (j = 0; j < i; j++)
			if (d[j].id == d[i].id)
				return bn_refuse(why, why_len, EBADMSG, "HISTORY: disk id %llu twice",
						 (unsigned long long)d[i].id);
	}
	r = bnd_history_rows(h);
	for (i = 0; i < h->nr_rows; i++) {
		if ((e = check_history_row(&r[i], i, why, why_len)))
			return e;
		if (r[i].id <= prev || r[i].id > h->last)
			return bn_refuse(why, why_len, EBADMSG, "HISTORY: row %u has id %llu, not between "
					 "the previous row's and the cursor %llu", i,
					 (unsigned long long)r[i].id, (unsigned long long)h->last);
		prev = r[i].id;
		if (r[i].nulls & 1U << BND_HCOL_DISK)
			continue;
		for (j = 0; j < h->nr_disks && d[j].id != r[i].disk; j++)
			;
		if (j == h->nr_disks)
			return bn_refuse(why, why_len, EBADMSG, "HISTORY: row %u names disk %llu, which "
					 "the reply does not hold", i, (unsigned long long)r[i].disk);
	}
	return 0;
}

static int check_body(struct bnd_msg *m, const void *body, size_t body_len,
		      char *why, size_t why_len)
{
	const char *name = bnd_type_name(m->type);
	char sub[BND_ERROR_TEXT_MAX];
	size_t want = 0;

	switch (m->type) {
	case BND_HELLO:		want = sizeof(struct bnd_hello); break;
	case BND_SET_SIZE:	want = sizeof(struct bnd_set_size); break;
	case BND_ADD_WATCH:	want = sizeof(struct bnd_add_watch); break;
	case BND_REMOVE_WATCH:	want = sizeof(struct bnd_remove_watch); break;
	case BND_GET_STATS:	want = 0; break;
	case BND_ACK:		want = sizeof(struct bnd_ack); break;
	case BND_HELLO_REPLY:	want = sizeof(struct bnd_hello_reply); break;
	case BND_OK:		want = sizeof(struct bnd_ok); break;
	case BND_SET_FILTER:
		want = sizeof(struct bnd_set_filter);
		if (body_len < want)
			goto short_body;
		m->set_filter = body;
		return check_filter(body, body_len, why, why_len);
	case BND_ERROR: {
		const struct bnd_error *e = body;
		size_t text_len;

		if (body_len < sizeof(*e) + 1 || body_len > sizeof(*e) + BND_ERROR_TEXT_MAX)
			return bn_refuse(why, why_len, EBADMSG, "ERROR: body is %zu bytes (need %zu..%zu)",
				      body_len, sizeof(*e) + 1, sizeof(*e) + BND_ERROR_TEXT_MAX);
		text_len = body_len - sizeof(*e);
		if (e->error >= 0 || e->error < -4095 || e->__reserved)
			return bn_refuse(why, why_len, EBADMSG, "ERROR: error %d is not a negative errno",
				      e->error);
		if (memchr(e->text, '\0', text_len) != e->text + text_len - 1)
			return bn_refuse(why, why_len, EBADMSG, "ERROR: text is not one NUL-terminated string");
		m->error = e;
		return 0;
	}
	case BND_RECORDS:
		if (!bnd_records_valid(body, body_len, why, why_len))
			return -EBADMSG;
		m->records = body;
		return 0;
	case BND_GET_IMPACT:	want = sizeof(struct bnd_get_impact); break;
	case BND_GET_HISTORY:	want = sizeof(struct bnd_get_history); break;
	case BND_HISTORY:
		m->history = body;
		return check_history(body, body_len, why, why_len);
	case BND_IMPACT:
		m->impact = body;
		return check_impact(body, body_len, why, why_len);
	case BND_STATS: {
		const struct bnd_stats *s = body;

		if (body_len < sizeof(*s))
			goto short_body;
		if (s->flags & ~BND_STATS_GLOBAL || s->__reserved)
			return bn_refuse(why, why_len, EBADMSG, "STATS: unknown flags or reserved bits set");
		if (s->nr_clients > BND_CLIENTS_HARD_MAX ||
		    body_len != sizeof(*s) + s->nr_clients * sizeof(s->clients[0]))
			return bn_refuse(why, why_len, EBADMSG, "STATS: body is %zu bytes for %u clients",
				      body_len, s->nr_clients);
		m->stats = s;
		return 0;
	}
	default:
		return bn_refuse(why, why_len, EOPNOTSUPP, "message type 0x%x is not defined in version %d",
			      m->type, BND_VERSION);
	}

	if (body_len != want) {
short_body:
		return bn_refuse(why, why_len, EBADMSG, "%s: body is %zu bytes, expected %s%zu",
			      name, body_len, m->type == BND_SET_FILTER || m->type == BND_STATS ?
			      "at least " : "", want);
	}

	switch (m->type) {
	case BND_HELLO:
		m->hello = body;
		if (m->hello->version != BND_VERSION)
			return bn_refuse(why, why_len, EPROTONOSUPPORT,
				      "HELLO: protocol version %u; this side speaks %d",
				      m->hello->version, BND_VERSION);
		if (m->hello->flags)
			return bn_refuse(why, why_len, EBADMSG, "HELLO: unknown flags 0x%x", m->hello->flags);
		break;
	case BND_SET_SIZE:
		m->set_size = body;
		if (m->set_size->__reserved)
			return bn_refuse(why, why_len, EBADMSG, "SET_SIZE: reserved field is not zero");
		if (m->set_size->nr_records < 1 || m->set_size->nr_records > BLKNOTIFY_QUEUE_SIZE_MAX)
			return bn_refuse(why, why_len, EBADMSG, "SET_SIZE: %u records (must be 1..%u)",
				      m->set_size->nr_records, BLKNOTIFY_QUEUE_SIZE_MAX);
		break;
	case BND_ADD_WATCH: {
		const struct bnd_add_watch *w = body;

		m->add_watch = w;
		if (w->__reserved)
			return bn_refuse(why, why_len, EBADMSG, "ADD_WATCH: reserved field is not zero");
		if (bn_watch_check(w->id, w->dev, w->start, w->end, sub, sizeof(sub)))
			return bn_refuse(why, why_len, EBADMSG, "ADD_WATCH: %s", sub);
		break;
	}
	case BND_REMOVE_WATCH:
		m->remove_watch = body;
		if (m->remove_watch->__reserved)
			return bn_refuse(why, why_len, EBADMSG, "REMOVE_WATCH: reserved field is not zero");
		if (m->remove_watch->id > BLOCK_NOTIFY_WATCH_ID_MAX)
			return bn_refuse(why, why_len, EBADMSG, "REMOVE_WATCH: watch ID %u (must be 0..%d)",
				      m->remove_watch->id, BLOCK_NOTIFY_WATCH_ID_MAX);
		break;
	case BND_ACK:
		m->ack = body;
		if (m->ack->__reserved)
			return bn_refuse(why, why_len, EBADMSG, "ACK: reserved field is not zero");
		if (m->ack->nr_records == 0)
			return bn_refuse(why, why_len, EBADMSG, "ACK: zero records");
		break;
	case BND_HELLO_REPLY:
		m->hello_reply = body;
		if (m->hello_reply->version != BND_VERSION)
			return bn_refuse(why, why_len, EPROTONOSUPPORT,
				      "HELLO_REPLY: protocol version %u; this side speaks %d",
				      m->hello_reply->version, BND_VERSION);
		if (m->hello_reply->queue_size < 1 || m->hello_reply->max_queue_size < 1 ||
		    m->hello_reply->queue_size > m->hello_reply->max_queue_size)
			return bn_refuse(why, why_len, EBADMSG, "HELLO_REPLY: queue size %u, maximum %u",
				      m->hello_reply->queue_size, m->hello_reply->max_queue_size);
		break;
	case BND_OK:
		m->ok = body;
		break;
	case BND_GET_IMPACT:
		m->get_impact = body;
		if (m->get_impact->__reserved)
			return bn_refuse(why, why_len, EBADMSG, "GET_IMPACT: reserved field is not zero");
		if (!m->get_impact->dev || m->get_impact->nr_sectors < 1 ||
		    m->get_impact->nr_sectors > BND_IMPACT_SECTORS_MAX ||
		    m->get_impact->sector > ~0ULL - m->get_impact->nr_sectors)
			return bn_refuse(why, why_len, EBADMSG, "GET_IMPACT: a device and 1..%u sectors "
				      "are needed", BND_IMPACT_SECTORS_MAX);
		break;
	case BND_GET_HISTORY: {
		const struct bnd_get_history *g = body;

		m->get_history = g;
		if (g->flags)
			return bn_refuse(why, why_len, EBADMSG, "GET_HISTORY: unknown flags 0x%x", g->flags);
		if (g->limit < 1 || g->limit > BND_HISTORY_ROWS_MAX)
			return bn_refuse(why, why_len, EBADMSG, "GET_HISTORY: limit %u (must be 1..%d)",
					 g->limit, BND_HISTORY_ROWS_MAX);
		if (g->sub_lo > g->sub_hi || g->sub_hi > 255)
			return bn_refuse(why, why_len, EBADMSG, "GET_HISTORY: subtypes %u..%u (need "
					 "lo <= hi <= 255)", g->sub_lo, g->sub_hi);
		if (g->since_ns < 0 || g->since_ns > g->until_ns)
			return bn_refuse(why, why_len, EBADMSG, "GET_HISTORY: time range %lld..%lld "
					 "(need 0 <= since <= until)", (long long)g->since_ns,
					 (long long)g->until_ns);
		break;
	}
	}
	return 0;
}

int bnd_parse(const void *buf, size_t len, enum bnd_direction dir, struct bnd_msg *m,
	      char *why, size_t why_len)
{
	const struct bnd_hdr *h = buf;
	bool to_daemon;

	memset(m, 0, sizeof(*m));
	if (len < sizeof(*h))
		return bn_refuse(why, why_len, EBADMSG, "message of %zu bytes is shorter than the %zu-byte header",
			      len, sizeof(*h));
	if (h->magic != BND_MAGIC)
		return bn_refuse(why, why_len, EBADMSG, "bad magic 0x%08x (expected 0x%08x)",
			      h->magic, BND_MAGIC);
	if (h->version != BND_VERSION)
		return bn_refuse(why, why_len, EPROTONOSUPPORT, "protocol version %u; this side speaks %d",
			      h->version, BND_VERSION);
	if (h->len != len)
		return bn_refuse(why, why_len, EBADMSG, "header says %u bytes, message has %zu",
			      h->len, len);
	if (len > (dir == BND_TO_DAEMON ? BND_REQUEST_MAX : BND_MSG_MAX))
		return bn_refuse(why, why_len, EBADMSG, "message of %zu bytes is over the limit", len);

	m->hdr = h;
	m->type = h->type;
	m->seq = h->seq;
	m->body_len = len - sizeof(*h);
	to_daemon = m->type < 0x80;
	if (to_daemon != (dir == BND_TO_DAEMON) &&
	    m->type <= (to_daemon ? BND_TYPE_TO_DAEMON_LAST : BND_TYPE_TO_CLIENT_LAST))
		return bn_refuse(why, why_len, EOPNOTSUPP, "%s is not a message this side accepts",
			      bnd_type_name(m->type));
	return check_body(m, (const char *)buf + sizeof(*h), m->body_len, why, why_len);
}

void *bnd_msg_init(void *buf, unsigned int type, __u32 seq, size_t body_len)
{
	struct bnd_hdr *h = buf;

	h->magic = BND_MAGIC;
	h->version = BND_VERSION;
	h->type = type;
	h->len = sizeof(*h) + body_len;
	h->seq = seq;
	memset(h + 1, 0, body_len);
	return h + 1;
}

size_t bnd_msg_error(void *buf, __u32 seq, int error, const char *fmt, ...)
{
	char text[BND_ERROR_TEXT_MAX];
	struct bnd_error *e;
	va_list ap;
	size_t n;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	n = r < 0 ? 0 : (size_t)r >= sizeof(text) ? sizeof(text) - 1 : (size_t)r;
	text[n] = '\0';
	e = bnd_msg_init(buf, BND_ERROR, seq, sizeof(*e) + n + 1);
	e->error = error < 0 ? error : -error;
	memcpy(e->text, text, n + 1);
	return sizeof(struct bnd_hdr) + sizeof(*e) + n + 1;
}
