// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-monitor: a monitor against libblknotify that counts what it receives
 * and how late.
 *
 * Opens one or more queues (one per simulated client), watches a device or
 * everything, and reads until told to stop.  For each record it takes
 * CLOCK_MONOTONIC right after blknotify_queue_read() returned and subtracts
 * the record's time_ns (when the error completed in the kernel): that is the
 * latency from the error to the monitor's read.  Its wake-up part is the
 * time the monitor's epoll_wait() returned minus the same time_ns (the rest is
 * blknotify_queue_read() itself).  Prints "ready" on stdout once every queue
 * is attached, and one JSON object when it stops.
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
#include <blknotify/blknotify.h>
#include <blknotify/device.h>
#include "samples.h"

#define CLIENTS_MAX	1024

struct client {
	struct blknotify_queue *q;
	uint64_t received;	/* block error records */
	uint64_t sectors;	/* sectors they cover (a merged request covers several reads) */
	uint64_t lost;		/* records the loss records say were lost */
	uint64_t loss_records;
	uint64_t first_ns, last_ns;	/* monotonic time of the first and last read record */
};

static struct client clients[CLIENTS_MAX];
static unsigned int nr_clients = 1;
static struct samples lat, wake, iso;
static uint64_t prev_ns;	/* time_ns of the previous record */
static uint64_t wakeups;	/* epoll_wait() returns with a queue ready */
static FILE *dump;		/* -o: "time_ns woke_ns read_ns" per record */
static struct blknotify_device_cache *ident;	/* -I: each record's identity */
static uint64_t ident_errors;	/* records whose identity could not be had */
static volatile size_t ident_sink;	/* keeps the getters' answers in use */

/*
 * What blkwatch --identity prints beside a record, through the same library
 * calls: the disk from the cache, the partition the sector lands in, and
 * the identity, filesystem and mount strings.
 */
static void describe(const struct block_notification *b)
{
	struct blknotify_device *disk = NULL, *part = NULL;
	const char *s;
	uint64_t off;

	if (blknotify_device_cache_get(ident, (dev_t)b->dev, &disk) ||
	    blknotify_device_locate(disk, b->sector, &part, &off)) {
		ident_errors++;
		blknotify_device_unref(disk);
		return;
	}
	if (!blknotify_device_get_serial(disk, &s))
		ident_sink += strlen(s);
	if (!blknotify_device_get_wwn(disk, &s))
		ident_sink += strlen(s);
	if (!blknotify_device_get_model(disk, &s))
		ident_sink += strlen(s);
	if (!blknotify_device_get_by_id(disk, &s))
		ident_sink += strlen(s);
	if (!blknotify_device_get_fs_type(part, &s))
		ident_sink += strlen(s);
	if (!blknotify_device_get_mount(part, 0, &s))
		ident_sink += strlen(s);
	ident_sink += off;
	blknotify_device_unref(part);
	blknotify_device_unref(disk);
}

/* Drain one queue without waiting; woke_ns: when epoll_wait() returned.
 * Returns 0 or a negative errno. */
static int drain(struct client *c, bool latency, uint64_t woke_ns)
{
	static char buf[65536];
	ssize_t n;

	while ((n = blknotify_queue_read(c->q, buf, sizeof(buf), 0)) > 0) {
		uint64_t t = samples_now_ns();
		size_t len = n;
		const struct watch_notification *w;

		for (w = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(w, len);
		     w = BLOCK_NOTIFY_RECORD_NEXT(w, len)) {
			if (w->type == WATCH_TYPE_META && w->subtype == WATCH_META_LOSS_NOTIFICATION) {
				const struct block_notification_loss *l = (const void *)w;

				c->loss_records++;
				c->lost += BLOCK_NOTIFY_RECORD_LEN(w) >= BLOCK_NOTIFICATION_LOSS_SIZE ?
					   l->nr_lost : 1;
				continue;
			}
			if (w->type != WATCH_TYPE_BLOCK_NOTIFY)
				continue;
			c->received++;
			if (BLOCK_NOTIFY_RECORD_LEN(w) >= BLOCK_NOTIFICATION_SIZE_V1) {
				c->sectors += ((const struct block_notification *)w)->nr_sectors;
				if (ident) {
					/* The latency is to the record with its identity. */
					describe((const void *)w);
					t = samples_now_ns();
				}
			}
			if (!c->first_ns)
				c->first_ns = t;
			c->last_ns = t;
			if (latency && BLOCK_NOTIFY_RECORD_LEN(w) >= BLOCK_NOTIFICATION_SIZE_V1) {
				const struct block_notification *b = (const void *)w;

				samples_add_split(&lat, &iso, &prev_ns, b->time_ns,
						  t > b->time_ns ? t - b->time_ns : 0);
				samples_add(&wake, woke_ns > b->time_ns ? woke_ns - b->time_ns : 0);
				if (dump)
					fprintf(dump, "%llu %llu %llu\n", (unsigned long long)b->time_ns,
						(unsigned long long)woke_ns, (unsigned long long)t);
			}
		}
	}
	return n == -EAGAIN ? 0 : (int)n;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bench-monitor [OPTIONS]\n"
"Read block error records through libblknotify; print counts and latency as JSON.\n"
"\n"
"  -s, --source SRC     bpf (default), kmsg or daemon\n"
"      --bpf-complete   bpf: the fallback attach point, block_rq_complete\n"
"      --bio-errors     bpf: also the bio program (BLKNOTIFY_QUEUE_BPF_BIO)\n"
"      --no-reconcile   bpf: no reconciliation with ftrace (BLKNOTIFY_QUEUE_BPF_NO_RECONCILE)\n"
"      --socket PATH    daemon: its socket\n"
"  -d, --device DEV     watch only this block device node (default: all)\n"
"  -q, --size N         queue size in records (default: the library's, %u)\n"
"  -c, --clients N      queues to open, 1..%d, each its own client (default 1)\n"
"  -l, --latency        record each record's latency (error to read)\n"
"  -I, --identity       describe each record's disk as blkwatch --identity does\n"
"                       (the library's cache); the latency then includes it\n"
"  -o, --output FILE    -l: also write \"time_ns woke_ns read_ns\" per record to FILE\n"
"  -e, --expect N       stop once every queue has received or lost N records\n"
"  -i, --idle-ms MS     stop once no record arrived for MS ms after the first\n"
"  -T, --timeout SEC    stop after SEC seconds in any case (default 600)\n"
"Stops on SIGINT or SIGTERM too.\n", BLKNOTIFY_QUEUE_SIZE_DEFAULT, CLIENTS_MAX);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "bpf-complete", no_argument, NULL, 'C' },
		{ "bio-errors", no_argument, NULL, 'B' },
		{ "no-reconcile", no_argument, NULL, 'R' },
		{ "socket", required_argument, NULL, 'S' },
		{ "device", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 'q' },
		{ "clients", required_argument, NULL, 'c' },
		{ "latency", no_argument, NULL, 'l' },
		{ "identity", no_argument, NULL, 'I' },
		{ "output", required_argument, NULL, 'o' },
		{ "expect", required_argument, NULL, 'e' },
		{ "idle-ms", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum blknotify_source source = BLKNOTIFY_SOURCE_BPF;
	const char *device = NULL, *sock = NULL;
	unsigned int flags = 0, size = 0;
	unsigned long long expect = 0, idle_ms = 0, timeout_s = 600;
	bool latency = false, done = false;
	struct rusage ru;
	struct stat st;
	uint64_t t_start, deadline, total = 0, sectors = 0, lost = 0, lossrec = 0, min_rx = UINT64_MAX, max_rx = 0;
	uint64_t first = UINT64_MAX, last = 0;
	unsigned int with_loss = 0;
	int c, r, ep;

	while ((c = getopt_long(argc, argv, "s:d:q:c:lIo:e:i:T:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			r = blknotify_source_from_name(optarg);
			if (r < 0) {
				fprintf(stderr, "bench-monitor: --source: unknown source \"%s\"\n", optarg);
				return 2;
			}
			source = r;
			break;
		case 'C':
			flags |= BLKNOTIFY_QUEUE_BPF_COMPLETE;
			break;
		case 'B':
			flags |= BLKNOTIFY_QUEUE_BPF_BIO;
			break;
		case 'R':
			flags |= BLKNOTIFY_QUEUE_BPF_NO_RECONCILE;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'd':
			device = optarg;
			break;
		case 'q':
		case 'c':
		case 'e':
		case 'i':
		case 'T': {
			uint64_t v;

			if (!bench_parse_u64(optarg, &v) ||
			    (c == 'c' && (v < 1 || v > CLIENTS_MAX)) ||
			    (c == 'q' && (v < 1 || v > BLKNOTIFY_QUEUE_SIZE_MAX))) {
				fprintf(stderr, "bench-monitor: -%c: bad number \"%s\"\n", c, optarg);
				return 2;
			}
			if (c == 'q')
				size = v;
			else if (c == 'c')
				nr_clients = v;
			else if (c == 'e')
				expect = v;
			else if (c == 'i')
				idle_ms = v;
			else
				timeout_s = v;
			break;
		}
		case 'l':
			latency = true;
			break;
		case 'I':
			r = blknotify_device_cache_new(&ident, NULL);
			if (r) {
				fprintf(stderr, "bench-monitor: identity cache: %s\n", strerror(-r));
				return 1;
			}
			break;
		case 'o':
			dump = reader_open_dump("bench-monitor", optarg);
			if (!dump)
				return 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (device && stat(device, &st) < 0) {
		fprintf(stderr, "bench-monitor: %s: %s\n", device, strerror(errno));
		return 1;
	}
	if (device && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "bench-monitor: %s is not a block device\n", device);
		return 1;
	}
	if (latency && (samples_init(&lat) || samples_init(&wake) || samples_init(&iso))) {
		fprintf(stderr, "bench-monitor: out of memory\n");
		return 1;
	}

	/* Signals arrive through the epoll set, so the read loop sees them. */
	ep = reader_epoll_with_signals();
	if (ep < 0) {
		fprintf(stderr, "bench-monitor: signalfd/epoll: %s\n", strerror(errno));
		return 1;
	}

	for (unsigned int i = 0; i < nr_clients; i++) {
		BLKNOTIFY_OPTS(blknotify_queue_opts, o, .source = source, .flags = flags,
			       .daemon_socket = sock);
		struct client *cl = &clients[i];

		r = blknotify_queue_new(&cl->q, &o);
		if (!r && size)
			r = blknotify_queue_set_size(cl->q, size);
		if (!r)
			r = device ? blknotify_queue_watch_device(cl->q, st.st_rdev, 0) :
				     blknotify_queue_watch_all(cl->q, 0);
		if (r) {
			const char *why = cl->q ? blknotify_queue_get_error(cl->q) : NULL;

			fprintf(stderr, "bench-monitor: queue %u (%s): %s%s%s\n", i,
				blknotify_source_name(source), strerror(-r),
				why ? ": " : "", why ? why : "");
			return 1;
		}
		if (epoll_ctl(ep, EPOLL_CTL_ADD, blknotify_queue_get_fd(cl->q),
			      &(struct epoll_event){ .events = EPOLLIN, .data.u64 = i })) {
			fprintf(stderr, "bench-monitor: epoll: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);

	t_start = samples_now_ns();
	deadline = t_start + timeout_s * 1000000000ULL;
	while (!done) {
		struct epoll_event ev[64];
		uint64_t t = samples_now_ns(), until = deadline, last_rx = 0, woke;
		int n;

		for (unsigned int i = 0; i < nr_clients; i++)
			last_rx = clients[i].last_ns > last_rx ? clients[i].last_ns : last_rx;
		if (idle_ms && last_rx && last_rx + idle_ms * 1000000ULL < until)
			until = last_rx + idle_ms * 1000000ULL;
		if (t >= until)
			break;
		n = epoll_wait(ep, ev, 64, (int)((until - t) / 1000000) + 1);
		woke = samples_now_ns();
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "bench-monitor: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		for (int k = 0; k < n; k++) {
			if (ev[k].data.u64 == UINT64_MAX) {
				done = true;
				continue;
			}
			wakeups++;
			r = drain(&clients[ev[k].data.u64], latency, woke);
			if (r) {
				fprintf(stderr, "bench-monitor: queue %llu: read: %s\n",
					(unsigned long long)ev[k].data.u64, strerror(-r));
				return 1;
			}
		}
		if (expect) {
			bool all = true;

			for (unsigned int i = 0; i < nr_clients && all; i++)
				all = clients[i].received + clients[i].lost >= expect;
			done = done || all;
		}
	}
	/* Whatever is still queued was delivered in time, too. */
	for (unsigned int i = 0; i < nr_clients; i++)
		drain(&clients[i], latency, samples_now_ns());

	for (unsigned int i = 0; i < nr_clients; i++) {
		struct client *cl = &clients[i];

		total += cl->received;
		sectors += cl->sectors;
		lost += cl->lost;
		lossrec += cl->loss_records;
		with_loss += cl->lost || cl->loss_records;
		min_rx = cl->received < min_rx ? cl->received : min_rx;
		max_rx = cl->received > max_rx ? cl->received : max_rx;
		if (cl->first_ns && cl->first_ns < first)
			first = cl->first_ns;
		last = cl->last_ns > last ? cl->last_ns : last;
		blknotify_queue_free(cl->q);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"source\": \"%s\", \"clients\": %u, \"received\": %llu, \"sectors\": %llu, \"min_received\": %llu, "
	       "\"max_received\": %llu, \"lost\": %llu, \"loss_records\": %llu, "
	       "\"clients_with_loss\": %u, \"wakeups\": %llu, \"first_ns\": %llu, \"last_ns\": %llu, "
	       "\"cpu_s\": %.3f, \"maxrss_kb\": %ld",
	       blknotify_source_name(source), nr_clients, (unsigned long long)total,
	       (unsigned long long)sectors,
	       (unsigned long long)min_rx, (unsigned long long)max_rx,
	       (unsigned long long)lost, (unsigned long long)lossrec, with_loss, (unsigned long long)wakeups,
	       (unsigned long long)(first == UINT64_MAX ? 0 : first), (unsigned long long)last,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6, ru.ru_maxrss);
	if (ident) {
		struct blknotify_device_cache_stats cs = { .sz = sizeof(cs) };

		blknotify_device_cache_get_stats(ident, &cs);
		printf(", \"identity_lookups\": %llu, \"identity_hits\": %llu, \"identity_errors\": %llu",
		       (unsigned long long)cs.lookups, (unsigned long long)cs.hits,
		       (unsigned long long)ident_errors);
		ident = blknotify_device_cache_free(ident);
	}
	if (latency) {
		samples_print_json(&lat, "");
		samples_print_json(&wake, "wake_");
		samples_print_json(&iso, "iso_");
	}
	printf("}\n");
	samples_free(&lat);
	samples_free(&wake);
	samples_free(&iso);
	if (dump && fclose(dump)) {
		fprintf(stderr, "bench-monitor: writing the records: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
