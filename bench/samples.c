// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include "samples.h"

uint64_t samples_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int samples_init(struct samples *s)
{
	s->n = s->dropped = 0;
	s->v = malloc(SAMPLES_MAX * sizeof(*s->v));
	return s->v ? 0 : -1;
}

void samples_add(struct samples *s, uint64_t ns)
{
	if (s->n < SAMPLES_MAX)
		s->v[s->n++] = ns;
	else
		s->dropped++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const struct samples *s, double p)
{
	if (!s->n)
		return 0;
	return s->v[(size_t)(p / 100.0 * (double)(s->n - 1) + 0.5)] / 1000.0;
}

void samples_print_json(struct samples *s, const char *prefix)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	printf(", \"%ssamples\": %zu, \"%ssamples_dropped\": %llu, \"%sp50_us\": %.1f, "
	       "\"%sp90_us\": %.1f, \"%sp99_us\": %.1f, \"%sp999_us\": %.1f, \"%smax_us\": %.1f",
	       prefix, s->n, prefix, (unsigned long long)s->dropped, prefix, pct(s, 50),
	       prefix, pct(s, 90), prefix, pct(s, 99), prefix, pct(s, 99.9),
	       prefix, s->n ? s->v[s->n - 1] / 1000.0 : 0.0);
}

void samples_free(struct samples *s)
{
	free(s->v);
	s->v = NULL;
}

void samples_add_split(struct samples *all, struct samples *iso, uint64_t *prev_ns,
		       uint64_t time_ns, uint64_t latency_ns)
{
	samples_add(all, latency_ns);
	if (!*prev_ns || time_ns >= *prev_ns + SAMPLES_CLOSE_NS)
		samples_add(iso, latency_ns);
	*prev_ns = time_ns;
}

int reader_epoll_with_signals(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	sigset_t sigs;
	int ep, sfd;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev))
		return -1;
	return ep;
}

FILE *reader_open_dump(const char *prog, const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
	return f;
}

bool bench_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && end != s && !*end && *s != '-';
}
