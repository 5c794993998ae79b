/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Thresholds, the SERD-like diagnosis of ZED and FMA: "N errors of these
 * subtypes on one disk in T seconds" (threshold_NAME = N/T in
 * blknotifyd.conf(5)).  Each (disk, rule) keeps the times of its last N
 * errors; when the N-th error in a row lies within T seconds of the first
 * one kept, the rule fires (a `threshold` event for the handlers) and its
 * count starts again from zero, as a SERD engine does.
 *
 * Times are CLOCK_REALTIME nanoseconds, so that the state means the same
 * after a restart (it is saved with the handlers' state).  A time earlier
 * than the newest one kept (records from several CPUs) counts as the newest.
 *
 * At most THRESHOLD_ENTRIES_MAX (disk, rule) pairs are kept; a new pair in
 * a full table takes the place of the least recently used one, counted in
 * `evicted` (its errors so far are forgotten).  No I/O.
 */
#ifndef BLKNOTIFYD_THRESHOLD_H
#define BLKNOTIFYD_THRESHOLD_H

#include <stdbool.h>
#include <linux/types.h>
#include "handlers-config.h"

#define THRESHOLD_ENTRIES_MAX	256

struct serd {
	__u64 dev;
	__u64 diskseq;			/* of the disk counted; 0: unknown */
	unsigned int rule;		/* index in the rules */
	unsigned int count, head;	/* times[] is a ring of the rule's n, count of them used */
	__u64 used_ns;			/* the newest time, for eviction */
	__u64 *times;
};

struct thresholds {
	const struct threshold_rule *rules;
	unsigned int nr_rules;
	struct serd e[THRESHOLD_ENTRIES_MAX];
	unsigned int nr;
	__u64 fired, evicted;
	__u64 seq_dev, seq;		/* thresholds_disk(): the disk of the next events */
};

/* Fired: rule (an index in rules) on dev, with count errors within its T. */
typedef void (*threshold_fire_fn)(void *ctx, unsigned int rule, __u64 dev, unsigned int count);

void thresholds_init(struct thresholds *t, const struct threshold_rule *rules, unsigned int nr_rules);
void thresholds_free(struct thresholds *t);
/*
 * The next events are of dev, whose diskseq (0: unknown) is this: the
 * counts of another disk that had the number before start again from zero.
 */
void thresholds_disk(struct thresholds *t, __u64 dev, __u64 diskseq);
/* One record of subtype on dev at time_ns (CLOCK_REALTIME).  Returns -ENOMEM or 0. */
int thresholds_event(struct thresholds *t, __u64 dev, unsigned int subtype, __u64 time_ns,
		     threshold_fire_fn fire, void *ctx);
/*
 * Put back what a rule counted before a restart: times[count], oldest
 * first, of the rule named name.  A rule no longer configured is dropped;
 * at most n - 1 of the newest times are kept (a restart fires nothing by
 * itself).  Returns 0, -ENOENT (no such rule now) or -ENOMEM.
 */
int thresholds_restore(struct thresholds *t, __u64 dev, __u64 diskseq, const char *name,
		       const __u64 *times, unsigned int count);
/* The times of entry i, oldest first, into out[] (the rule's n of room). Returns the count. */
unsigned int thresholds_times(const struct thresholds *t, unsigned int i, __u64 *out);

#endif /* BLKNOTIFYD_THRESHOLD_H */
