/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handlers' rate limit, per (handler, disk, subtype): a handler runs for
 * the first event of a key, then at most once per interval; the events in
 * between are counted (pending) and the next run stands for all of them
 * (BLKNOTIFY_EVENTS_SINCE_LAST).  rate_flush(), from a timer, starts the
 * runs that are due, so that the last events of a storm are reported too.
 *
 * No I/O: the caller says what "now" is and gets the runs through a
 * callback that may refuse (its queue is full); what is refused stays
 * pending, counted, and is offered again by the next rate_flush().
 *
 * The table holds at most `size` keys (handlers_rate_keys).  A new key in a
 * full table takes the place of the least recently used key with nothing
 * pending (all it forgets is when that key last ran: its next event runs at
 * once); if every key has events pending, the least recently used one is
 * flushed at once to make room, and if that run is refused too its events
 * are lost, counted in `lost`.  Both are counted in `evicted`.
 */
#ifndef BLKNOTIFYD_HANDLER_RATE_H
#define BLKNOTIFYD_HANDLER_RATE_H

#include <stdbool.h>
#include <blknotify/block_notify.h>

/* One event for a handler: the record, and what the daemon adds to it. */
struct handler_event {
	struct block_notification rec;	/* zero past len */
	__u32 len;
	__u32 rule;			/* threshold events: rule index + 1; 0: a record */
	__u32 count;			/* threshold events: errors in the window */
	__u32 reserved;
	__u64 lost;			/* loss events: records the source lost (summed when coalesced) */
	__u64 id;			/* BLKNOTIFY_EVENT_ID */
	__u64 realtime_ns;		/* CLOCK_REALTIME when the daemon took it */
};

/* The key's subtype for a threshold event of rule index r, and for loss events (disk 0). */
#define RATE_SUBTYPE_THRESHOLD(r)	(256U + (r))
#define RATE_SUBTYPE_LOSS		512U

struct rate_entry {
	__u64 dev;
	__u32 handler, subtype;
	__u64 last_run_ns;		/* when its last run was started (if ran) */
	__u64 pending;			/* events since, not given to a run yet */
	__u64 used_ns;			/* last event, for eviction */
	struct handler_event last;	/* the latest event: what the next run is told */
	int next;			/* hash chain, -1: end */
	bool used, ran;
};

/* Start a run for handler: count events, the latest ev.  False: no room now (kept pending). */
typedef bool (*rate_run_fn)(void *ctx, __u32 handler, __u64 count, const struct handler_event *ev);

struct rate_table {
	struct rate_entry *e;
	int *buckets;
	unsigned int size, nr_buckets, nr_used;
	__u64 interval_ns;
	__u64 evicted;			/* keys forgotten to make room */
	__u64 lost;			/* events of evicted keys no run could take */
};

int rate_init(struct rate_table *t, unsigned int size, __u64 interval_ns);
void rate_free(struct rate_table *t);
/*
 * An event for (handler, ev->rec.dev, subtype) at now (any monotonic ns
 * clock).  Runs it through run() when the key is due, else counts it.
 * Returns true when a run took it (and the events pending before it).
 */
bool rate_event(struct rate_table *t, __u32 handler, __u32 subtype, const struct handler_event *ev,
		__u64 now, rate_run_fn run, void *ctx);
/* Offer the runs that are due to run(), until it refuses.  Returns how many it took. */
unsigned int rate_flush(struct rate_table *t, __u64 now, rate_run_fn run, void *ctx);
/* When the next pending key is due (it may be <= now), or ~0 when nothing is pending. */
__u64 rate_next_due(const struct rate_table *t);
/* Events pending in every key. */
__u64 rate_pending(const struct rate_table *t);
/*
 * Put pending events back (a restart): count events of a key, the latest
 * ev, due at once.  Returns 0 or -ENOSPC (table full of pending keys).
 */
int rate_restore(struct rate_table *t, __u32 handler, __u32 subtype, __u64 count,
		 const struct handler_event *ev, __u64 now);
/*
 * Handlers were numbered anew (a rescan): map[old] is the new number, or
 * -1 when the handler is gone (its pending events are dropped and returned).
 */
__u64 rate_renumber(struct rate_table *t, const int *map, unsigned int nr_map);

#endif /* BLKNOTIFYD_HANDLER_RATE_H */
