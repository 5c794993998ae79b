// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "client-queue.h"
#include "match.h"

int cq_init(struct client_queue *q, unsigned int size)
{
	memset(q, 0, sizeof(*q));
	q->slots = calloc(size, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	q->size = size;
	return 0;
}

void cq_free(struct client_queue *q)
{
	free(q->slots);
	q->slots = NULL;
	q->size = q->count = 0;
}

bool cq_push(struct client_queue *q, const struct watch_notification *rec)
{
	size_t len = rec->info & WATCH_INFO_LENGTH;
	struct cq_slot *s;

	if (q->count + q->in_flight >= q->size) {
		q->lost++;
		q->total_lost++;
		return false;
	}
	if (len > sizeof(s->rec))
		len = sizeof(s->rec);
	s = &q->slots[(q->head + q->count) % q->size];
	s->loss_before = q->lost;
	q->lost = 0;
	memset(&s->rec, 0, sizeof(s->rec));
	memcpy(&s->rec, rec, len);
	s->rec.watch.info = (rec->info & ~WATCH_INFO_LENGTH) | len;
	q->count++;
	return true;
}

void cq_add_loss(struct client_queue *q, __u64 nr)
{
	q->lost += nr;
	q->total_lost += nr;
}

bool cq_pending(const struct client_queue *q)
{
	return q->count || (q->lost && !q->in_flight);
}

static size_t put_loss(void *buf, __u64 nr)
{
	struct block_notification_loss l;

	bn_make_loss(&l, nr);
	memcpy(buf, &l, sizeof(l));
	return sizeof(l);
}

size_t cq_peek(const struct client_queue *q, void *buf, size_t len,
	       unsigned int *nr_slots, bool *trailing_loss)
{
	char *p = buf;
	size_t off = 0;
	unsigned int i;

	*nr_slots = 0;
	*trailing_loss = false;
	for (i = 0; i < q->count; i++) {
		const struct cq_slot *s = &q->slots[(q->head + i) % q->size];
		size_t need = s->rec.watch.info & WATCH_INFO_LENGTH;

		if (s->loss_before)
			need += BLOCK_NOTIFICATION_LOSS_SIZE;
		if (off + need > len)
			return off;
		if (s->loss_before)
			off += put_loss(p + off, s->loss_before);
		memcpy(p + off, &s->rec, s->rec.watch.info & WATCH_INFO_LENGTH);
		off += s->rec.watch.info & WATCH_INFO_LENGTH;
		(*nr_slots)++;
	}
	if (q->lost && !q->in_flight && off + BLOCK_NOTIFICATION_LOSS_SIZE <= len) {
		off += put_loss(p + off, q->lost);
		*trailing_loss = true;
	}
	return off;
}

void cq_consume(struct client_queue *q, unsigned int nr_slots, bool trailing_loss)
{
	if (nr_slots > q->count)
		nr_slots = q->count;
	q->head = (q->head + nr_slots) % q->size;
	q->count -= nr_slots;
	q->in_flight += nr_slots;
	/* Peek and consume run back to back, with no push between them. */
	if (trailing_loss && !q->count)
		q->lost = 0;
}

int cq_ack(struct client_queue *q, unsigned int nr)
{
	if (nr > q->in_flight)
		return -EINVAL;
	q->in_flight -= nr;
	q->total_acked += nr;
	return 0;
}
