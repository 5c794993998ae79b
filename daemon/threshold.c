// SPDX-License-Identifier: LGPL-2.1-or-later
/* Thresholds: N errors on one disk in T seconds (threshold.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "threshold.h"

void thresholds_init(struct thresholds *t, const struct threshold_rule *rules, unsigned int nr_rules)
{
	memset(t, 0, sizeof(*t));
	t->rules = rules;
	t->nr_rules = nr_rules;
}

void thresholds_free(struct thresholds *t)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		free(t->e[i].times);
	t->nr = 0;
}

static struct serd *get(struct thresholds *t, __u64 dev, unsigned int rule)
{
	struct serd *s = NULL;
	unsigned int i;
	__u64 *times;

	for (i = 0; i < t->nr; i++)
		if (t->e[i].dev == dev && t->e[i].rule == rule)
			return &t->e[i];
	times = calloc(t->rules[rule].n, sizeof(*times));
	if (!times)
		return NULL;
	if (t->nr < THRESHOLD_ENTRIES_MAX) {
		s = &t->e[t->nr++];
	} else {
		for (i = 0; i < t->nr; i++)
			if (!s || t->e[i].used_ns < s->used_ns)
				s = &t->e[i];
		free(s->times);
		t->evicted++;
	}
	*s = (struct serd){ .dev = dev, .rule = rule, .times = times,
			    .diskseq = dev == t->seq_dev ? t->seq : 0 };
	return s;
}

static __u64 oldest(const struct serd *s, unsigned int n)
{
	return s->times[(s->head + n - s->count) % n];
}

/* Add one time; returns whether the rule's N are now within its T. */
static bool add(struct serd *s, const struct threshold_rule *r, __u64 time_ns)
{
	__u64 window = (__u64)r->t_s * 1000000000ULL;

	if (s->count && time_ns < s->used_ns)
		time_ns = s->used_ns;
	s->times[s->head] = time_ns;
	s->head = (s->head + 1) % r->n;
	if (s->count < r->n)
		s->count++;
	s->used_ns = time_ns;
	/* Forget what lies outside the window ending now. */
	while (s->count && time_ns - oldest(s, r->n) > window)
		s->count--;
	return s->count >= r->n;
}

void thresholds_disk(struct thresholds *t, __u64 dev, __u64 diskseq)
{
	unsigned int i;

	t->seq_dev = dev;
	t->seq = diskseq;
	for (i = 0; diskseq && i < t->nr; i++) {
		struct serd *s = &t->e[i];

		if (s->dev != dev || s->diskseq == diskseq)
			continue;
		if (s->diskseq)
			s->count = 0;	/* another disk under the same number: not its errors */
		s->diskseq = diskseq;
	}
}

int thresholds_event(struct thresholds *t, __u64 dev, unsigned int subtype, __u64 time_ns,
		     threshold_fire_fn fire, void *ctx)
{
	unsigned int i;

	for (i = 0; i < t->nr_rules; i++) {
		const struct threshold_rule *r = &t->rules[i];
		struct serd *s;

		if (subtype < r->first || subtype > r->last)
			continue;
		s = get(t, dev, i);
		if (!s)
			return -ENOMEM;
		if (add(s, r, time_ns)) {
			unsigned int count = s->count;

			s->count = 0;
			t->fired++;
			fire(ctx, i, dev, count);
		}
	}
	return 0;
}

int thresholds_restore(struct thresholds *t, __u64 dev, __u64 diskseq, const char *name,
		       const __u64 *times, unsigned int count)
{
	unsigned int i, rule;
	struct serd *s;

	for (rule = 0; rule < t->nr_rules && strcmp(t->rules[rule].name, name); rule++)
		;
	if (rule == t->nr_rules)
		return -ENOENT;
	s = get(t, dev, rule);
	if (!s)
		return -ENOMEM;
	s->count = s->head = 0;
	s->diskseq = diskseq;
	if (count > t->rules[rule].n - 1) {
		times += count - (t->rules[rule].n - 1);
		count = t->rules[rule].n - 1;
	}
	for (i = 0; i < count; i++)
		add(s, &t->rules[rule], times[i]);
	return 0;
}

unsigned int thresholds_times(const struct thresholds *t, unsigned int i, __u64 *out)
{
	const struct serd *s = &t->e[i];
	unsigned int n = t->rules[s->rule].n, k;

	for (k = 0; k < s->count; k++)
		out[k] = s->times[(s->head + n - s->count + k) % n];
	return s->count;
}
