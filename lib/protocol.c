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
#include <stdio.h>
#include <string.h>
#include <blknotify/blknotify.h>
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
	if (to_daemon != (dir == BND_TO_DAEMON) && m->type <= BND_STATS)
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
