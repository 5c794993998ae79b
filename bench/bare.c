// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-bare: the floor bench/run measures blknotify against.
 *
 * Loads bench/bare.bpf.c (block_rq_error -> bpf_ringbuf_reserve/submit with
 * the default wake-up) for one device and reads its ring with libbpf the way
 * ring_buffer__poll() does: blocked in epoll_wait() on the ring's fd, then
 * ring_buffer__consume().  The epoll set is the reader's own (one level, with
 * a signalfd beside the ring) so that the time epoll_wait() returned can be
 * taken too.  For each record: latency = CLOCK_MONOTONIC in the callback -
 * the record's bpf_ktime_get_ns(), and its wake-up part = the time
 * epoll_wait() returned - the same.  Prints "ready" once attached and one
 * JSON object (the keys bench-monitor uses, plus the program's counters)
 * when it stops.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bare.h"
#include "bare.skel.h"
#include "samples.h"

static struct samples lat, wake, iso;
static uint64_t prev_ns;	/* time_ns of the previous record */
static uint64_t received, first_ns, last_ns, wake_ns, wakeups;
static FILE *dump;		/* -o: one "time_ns sector" line per record */

static int on_record(void *ctx, void *data, size_t size)
{
	const struct bare_record *r = data;
	uint64_t t = samples_now_ns();

	(void)ctx;
	if (size < sizeof(*r))
		return 0;
	received++;
	if (!first_ns)
		first_ns = t;
	last_ns = t;
	samples_add_split(&lat, &iso, &prev_ns, r->time_ns, t > r->time_ns ? t - r->time_ns : 0);
	samples_add(&wake, wake_ns > r->time_ns ? wake_ns - r->time_ns : 0);
	if (dump)
		fprintf(dump, "%llu %llu\n", (unsigned long long)r->time_ns,
			(unsigned long long)r->sector);
	return 0;
}

/* The kernel's count of the program's skipped runs (recursion), 0 if unknown. */
static unsigned long long recursion_misses(const struct bpf_program *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(p);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bench-bare -d DEVICE [-T SEC] [-o FILE]\n"
"The bare ring-buffer reader: block_rq_error of DEVICE -> BPF ring -> epoll.\n"
"Prints \"ready\" when attached and, on SIGINT/SIGTERM or after SEC seconds\n"
"(default 600), counts, latency percentiles and the program's counters as JSON.\n"
"  -o FILE   also write each record's \"time_ns sector\" to FILE\n"
"  -N        nested: the ring in an epoll set of its own, that set in the\n"
"            reader's (as libblknotify's queue fd is), to measure what nesting costs\n"
"  -K        also count (and time, per CPU) the kernel's failures to get a perf\n"
"            trace buffer for any tracepoint (kretprobe on perf_trace_buf_alloc;\n"
"            needs CONFIG_KPROBES)\n"
"  -B        also attach a counting tp_btf twin (the raw-tracepoint path) to\n"
"            the same tracepoint: btf_runs/btf_matched next to runs/matched\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "output", required_argument, NULL, 'o' },
		{ "nested", no_argument, NULL, 'N' },
		{ "kprobe-alloc", no_argument, NULL, 'K' },
		{ "btf-twin", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *device = NULL;
	uint64_t timeout_s = 600;
	struct ring_buffer *rb = NULL;
	struct bare_bpf *skel;
	struct epoll_event ev;
	struct rusage ru;
	struct stat st;
	uint64_t deadline;
	bool done = false, nested = false, kprobe = false, btf = false;
	int c, ep, err, ring_ep;

	while ((c = getopt_long(argc, argv, "d:T:o:NKBh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'o':
			dump = reader_open_dump("bench-bare", optarg);
			if (!dump)
				return 1;
			break;
		case 'N':
			nested = true;
			break;
		case 'B':
			btf = true;
			break;
		case 'K':
			kprobe = true;
			break;
		case 'T':
			if (!bench_parse_u64(optarg, &timeout_s)) {
				fprintf(stderr, "bench-bare: -T: bad number \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!device || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (stat(device, &st) < 0 || !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "bench-bare: %s: %s\n", device,
			errno ? strerror(errno) : "not a block device");
		return 1;
	}
	if (samples_init(&lat) || samples_init(&wake) || samples_init(&iso)) {
		fprintf(stderr, "bench-bare: out of memory\n");
		return 1;
	}

	skel = bare_bpf__open();
	if (!skel) {
		fprintf(stderr, "bench-bare: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->watch_dev = (major(st.st_rdev) << 20) | minor(st.st_rdev);
	bpf_program__set_autoload(skel->progs.perf_trace_buf_alloc_ret, kprobe);
	bpf_program__set_autoload(skel->progs.bare_rq_error_btf, btf);
	err = bare_bpf__load(skel);
	err = err ?: bare_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "bench-bare: loading/attaching the program: %s\n", strerror(-err));
		return 1;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.ring), on_record, NULL, NULL);

	ep = reader_epoll_with_signals();
	ring_ep = nested ? epoll_create1(EPOLL_CLOEXEC) : ep;
	if (!rb || ep < 0 || ring_ep < 0 ||
	    epoll_ctl(ring_ep, EPOLL_CTL_ADD, bpf_map__fd(skel->maps.ring),
		      &(struct epoll_event){ .events = EPOLLIN, .data.u64 = 0 }) ||
	    (nested && epoll_ctl(ep, EPOLL_CTL_ADD, ring_ep,
				 &(struct epoll_event){ .events = EPOLLIN, .data.u64 = 0 }))) {
		fprintf(stderr, "bench-bare: ring/epoll: %s\n", strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	deadline = samples_now_ns() + timeout_s * 1000000000ULL;
	while (!done) {
		uint64_t t = samples_now_ns();
		int n;

		if (t >= deadline)
			break;
		n = epoll_wait(ep, &ev, 1, (int)((deadline - t) / 1000000) + 1);
		wake_ns = samples_now_ns();
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "bench-bare: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		if (n > 0 && ev.data.u64 == UINT64_MAX)
			done = true;
		else if (n > 0)
			wakeups++;
		if (ring_buffer__consume(rb) < 0) {
			fprintf(stderr, "bench-bare: ring_buffer__consume failed\n");
			return 1;
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"source\": \"bare\", \"clients\": 1, \"received\": %llu, \"lost\": %llu, "
	       "\"loss_records\": 0, \"wakeups\": %llu, \"first_ns\": %llu, \"last_ns\": %llu, \"cpu_s\": %.3f, "
	       "\"kernel\": {\"runs\": %llu, \"matched\": %llu, \"dropped\": %llu, "
	       "\"alloc_failed\": %llu, \"btf_runs\": %llu, \"btf_matched\": %llu, "
	       "\"recursion_misses\": %llu, \"btf_recursion_misses\": %llu}",
	       (unsigned long long)received, (unsigned long long)skel->bss->counters.dropped,
	       (unsigned long long)wakeups,
	       (unsigned long long)first_ns, (unsigned long long)last_ns,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
	       (unsigned long long)skel->bss->counters.runs,
	       (unsigned long long)skel->bss->counters.matched,
	       (unsigned long long)skel->bss->counters.dropped,
	       (unsigned long long)skel->bss->counters.alloc_failed,
	       (unsigned long long)skel->bss->counters.btf_runs,
	       (unsigned long long)skel->bss->counters.btf_matched,
	       recursion_misses(skel->progs.bare_rq_error),
	       btf ? recursion_misses(skel->progs.bare_rq_error_btf) : 0ULL);
	printf(", \"alloc_fails\": [");
	for (uint64_t i = 0; i < skel->bss->counters.alloc_failed && i < BARE_ALLOC_FAILS_MAX; i++)
		printf("%s[%llu, %u]", i ? ", " : "",
		       (unsigned long long)skel->bss->alloc_fails[i].time_ns, skel->bss->alloc_fails[i].cpu);
	printf("]");
	samples_print_json(&lat, "");
	samples_print_json(&wake, "wake_");
	samples_print_json(&iso, "iso_");
	printf("}\n");
	if (dump && fclose(dump)) {
		fprintf(stderr, "bench-bare: writing the records: %s\n", strerror(errno));
		return 1;
	}
	ring_buffer__free(rb);
	samples_free(&lat);
	samples_free(&wake);
	samples_free(&iso);
	bare_bpf__destroy(skel);
	return 0;
}
