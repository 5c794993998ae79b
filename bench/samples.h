/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Latency samples for the bench readers: kept, sorted, printed as JSON keys. */
#ifndef BENCH_SAMPLES_H
#define BENCH_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

/* Samples kept (8 bytes each); later ones are counted, not kept. */
#define SAMPLES_MAX	(1U << 22)

struct samples {
	uint64_t *v;		/* nanoseconds */
	size_t n;
	uint64_t dropped;
};

uint64_t samples_now_ns(void);
int samples_init(struct samples *s);
void samples_add(struct samples *s, uint64_t ns);
/* Sorts s, then prints `, "<prefix>samples": N, ..., "<prefix>p50_us": ...`. */
void samples_print_json(struct samples *s, const char *prefix);
void samples_free(struct samples *s);

#endif
