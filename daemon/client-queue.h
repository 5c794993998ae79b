/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A client's queue in the daemon: a ring of records not yet sent, the count
 * of records sent and not yet acknowledged (in flight), and the count of
 * records lost since the last loss record.  Records queued plus records in
 * flight never exceed `size`: the client's socket is part of its queue.
 *
 * Loss is kept beside the records, not in a slot of its own: each slot
 * remembers how many records were lost just before it, so a full queue
 * still reports its loss in order (before the next record that made it) and
 * a queue of N slots always holds N records.  Loss that no record follows
 * yet is sent on its own once everything queued before it has been sent.
 */
#ifndef BLKNOTIFYD_CLIENT_QUEUE_H
#define BLKNOTIFYD_CLIENT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <blknotify/block_notify.h>

struct cq_slot {
	__u64 loss_before;		/* records lost just before this one */
	struct block_notification rec;	/* length in rec.watch.info */
};

struct client_queue {
	struct cq_slot *slots;
	unsigned int size;		/* capacity, records */
	unsigned int head;		/* oldest */
	unsigned int count;		/* queued, not sent */
	unsigned int in_flight;		/* sent, not acknowledged */
	__u64 lost;			/* lost after the newest queued record, not yet reported */
	__u64 total_lost, total_acked;	/* for STATS */
};

/* Allocate a queue of size records (>= 1).  Returns 0 or -ENOMEM. */
int cq_init(struct client_queue *q, unsigned int size);
void cq_free(struct client_queue *q);

/*
 * Queue a copy of rec (its length must be 8..sizeof(struct block_notification)).
 * Returns true, or false when the queue is full and the record was counted as lost.
 */
bool cq_push(struct client_queue *q, const struct watch_notification *rec);

/* Whether one more record fits (records queued plus in flight stay within size). */
static inline bool cq_room(const struct client_queue *q)
{
	return q->slots && q->count + q->in_flight < q->size;
}

/* Count nr records lost before reaching this queue (upstream loss). */
void cq_add_loss(struct client_queue *q, __u64 nr);

/*
 * Whether there is anything to send: records, or a loss report that no
 * record follows (held back until the client has read everything sent, so
 * a client that does not read gets one loss record, not one per loss).
 */
bool cq_pending(const struct client_queue *q);

/*
 * Serialize what is oldest into buf (up to len bytes of whole records, each
 * preceded by its loss record when it has one; a trailing loss record when
 * the queue empties) without removing it.  *nr_slots and *trailing_loss say
 * what cq_consume() must remove once buf has been sent.  Returns bytes.
 */
size_t cq_peek(const struct client_queue *q, void *buf, size_t len,
	       unsigned int *nr_slots, bool *trailing_loss);
void cq_consume(struct client_queue *q, unsigned int nr_slots, bool trailing_loss);

/* The client read nr records.  Returns 0, or -EINVAL if more than were in flight. */
int cq_ack(struct client_queue *q, unsigned int nr);

#endif /* BLKNOTIFYD_CLIENT_QUEUE_H */
