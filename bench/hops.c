// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-hops PID: record when process PID returns from epoll_wait() with
 * events and when it enters sendto() (bench/hops.bpf.c) until SIGINT or
 * SIGTERM; then print one "woke|send TIME_NS" line per event, in order.
 * Prints "ready" once attached.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "hops.h"
#include "hops.skel.h"

static int print_hop(void *ctx, void *data, size_t size)
{
	const struct hop *h = data;

	(void)ctx;
	if (size >= sizeof(*h))
		printf("%s %llu\n", h->kind == HOP_WOKE ? "woke" : "send",
		       (unsigned long long)h->time_ns);
	return 0;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb;
	struct hops_bpf *skel;
	unsigned long pid;
	sigset_t sigs;
	char *end;
	int sig, err;

	if (argc != 2 || (pid = strtoul(argv[1], &end, 10)) == 0 || *end) {
		fprintf(stderr, "Usage: bench-hops PID\n");
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	skel = hops_bpf__open();
	if (!skel) {
		fprintf(stderr, "bench-hops: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->target_tgid = pid;
	err = hops_bpf__load(skel);
	err = err ?: hops_bpf__attach(skel);
	rb = err ? NULL : ring_buffer__new(bpf_map__fd(skel->maps.hops), print_hop, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "bench-hops: loading/attaching: %s\n", strerror(err ? -err : errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&sigs, &sig);
	ring_buffer__consume(rb);
	printf("dropped %llu\n", (unsigned long long)skel->bss->dropped);
	ring_buffer__free(rb);
	hops_bpf__destroy(skel);
	return 0;
}
