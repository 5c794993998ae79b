/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Latency samples for the bench readers: kept, sorted, printed as JSON keys. */
#ifndef BENCH_SAMPLES_H
#define BENCH_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A record that failed less than this after the one before it is inside
 * blknotify's batching window (BN_WAKE_INTERVAL_NS), where the program
 * defers the wake-up by design: latencies are also kept for the others
 * alone ("isolated"), so that the policy's share of a tail can be told.
 */
#define SAMPLES_CLOSE_NS	250000ULL

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

/*
 * The readers' shared set-up: an epoll set in which SIGINT and SIGTERM arrive
 * (blocked, through a signalfd with data.u64 = UINT64_MAX), or -1.
 */
int reader_epoll_with_signals(void);
/* A decimal number, nothing after it, no sign: true and *v set, or false. */
bool bench_parse_u64(const char *s, uint64_t *v);
/* -o FILE: opened for writing, or NULL after saying why (as prog). */
FILE *reader_open_dump(const char *prog, const char *path);

/* Latency of a record of time time_ns: into all, and into iso unless it is
 * within SAMPLES_CLOSE_NS of the previous record (*prev_ns, updated). */
void samples_add_split(struct samples *all, struct samples *iso, uint64_t *prev_ns,
		       uint64_t time_ns, uint64_t latency_ns);

#endif
