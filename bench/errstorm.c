// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-errstorm: cause an exact number of block-layer read errors.
 *
 * Several threads issue O_DIRECT reads of one logical block each inside a
 * range of bad sectors (a blkfault device), as fast as the device allows or
 * paced to a given rate, and count the reads that fail with EIO.  O_DIRECT
 * means no page cache and no readahead: one read is one block request, so
 * the EIO count is the number of failed requests the kernel saw, the
 * reference every consumer is compared with.
 *
 * Prints one JSON object on stdout when done.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include "samples.h"

#define THREADS_MAX	64

static const char *device;
static uint64_t first_sector, nr_sectors = 1;
static uint64_t count = 100000;
static double rate;		/* errors per second; 0: as fast as possible */
static unsigned int nr_threads = 4;
static unsigned int block_size;	/* the device's logical block size */
static uint64_t t0_ns;

static uint64_t next_index;	/* claimed by the threads, atomically */
static uint64_t nr_eio, nr_ok, nr_other;
static int other_errno;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int dev_fd;

static void *reader(void *buf)
{
	uint64_t eio = 0, ok = 0, other = 0;
	uint64_t blocks = nr_sectors * 512 / block_size;

	for (;;) {
		uint64_t i = __atomic_fetch_add(&next_index, 1, __ATOMIC_RELAXED);
		off_t off;

		if (i >= count)
			break;
		if (rate > 0) {
			/* The i-th error is due at t0 + i / rate. */
			uint64_t due = t0_ns + (uint64_t)((double)i * 1e9 / rate);
			struct timespec ts = { due / 1000000000ULL, due % 1000000000ULL };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		off = (off_t)(first_sector * 512 + (i % blocks) * block_size);
		if (pread(dev_fd, buf, block_size, off) < 0) {
			if (errno == EIO) {
				eio++;
			} else {
				other++;
				__atomic_store_n(&other_errno, errno, __ATOMIC_RELAXED);
			}
		} else {
			ok++;
		}
	}
	__atomic_fetch_add(&nr_eio, eio, __ATOMIC_RELAXED);
	__atomic_fetch_add(&nr_ok, ok, __ATOMIC_RELAXED);
	__atomic_fetch_add(&nr_other, other, __ATOMIC_RELAXED);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bench-errstorm -d DEVICE -s SECTOR[+COUNT] [-n N] [-r RATE] [-t THREADS]\n"
"Cause N read errors on DEVICE's bad sectors (a blkfault device) with O_DIRECT\n"
"reads of one logical block, and print how many failed with EIO, as JSON.\n"
"\n"
"  -d, --device DEV      the block device (/dev/loopN)\n"
"  -s, --sectors S[+C]   the bad 512-byte sectors to read (default C = 1)\n"
"  -n, --count N         reads to issue (default 100000)\n"
"  -r, --rate R          errors per second, paced (default: as fast as possible)\n"
"  -t, --threads T       reading threads, 1..%d (default 4)\n", THREADS_MAX);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "sectors", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	pthread_t th[THREADS_MAX];
	void *buf[THREADS_MAX];	/* one aligned O_DIRECT buffer per thread */
	uint64_t v, t1;
	char *plus, *end;
	int c, fd, err;

	while ((c = getopt_long(argc, argv, "d:s:n:r:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 's':
			plus = strchr(optarg, '+');
			if (plus)
				*plus++ = '\0';
			if (!bench_parse_u64(optarg, &first_sector) ||
			    (plus && (!bench_parse_u64(plus, &nr_sectors) || !nr_sectors))) {
				fprintf(stderr, "bench-errstorm: --sectors: expected START[+COUNT] with COUNT >= 1\n");
				return 2;
			}
			break;
		case 'n':
			if (!bench_parse_u64(optarg, &count) || !count) {
				fprintf(stderr, "bench-errstorm: --count: expected a number >= 1, got \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'r':
			errno = 0;
			rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || rate < 0) {
				fprintf(stderr, "bench-errstorm: --rate: expected errors per second >= 0, got \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (!bench_parse_u64(optarg, &v) || v < 1 || v > THREADS_MAX) {
				fprintf(stderr, "bench-errstorm: --threads: expected 1..%d, got \"%s\"\n",
					THREADS_MAX, optarg);
				return 2;
			}
			nr_threads = v;
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

	fd = open(device, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "bench-errstorm: cannot open %s for O_DIRECT reads: %s\n",
			device, strerror(errno));
		return 1;
	}
	if (ioctl(fd, BLKSSZGET, &c) < 0 || c < 512 || c > 65536) {
		fprintf(stderr, "bench-errstorm: %s: not a block device with a usable logical block size\n",
			device);
		return 1;
	}
	block_size = c;
	if (nr_sectors * 512 < block_size || (first_sector * 512) % block_size) {
		fprintf(stderr, "bench-errstorm: the bad range must cover whole %u-byte logical blocks\n",
			block_size);
		return 2;
	}

	for (unsigned int i = 0; i < nr_threads; i++) {
		if (posix_memalign(&buf[i], 4096, block_size)) {
			fprintf(stderr, "bench-errstorm: out of memory\n");
			return 1;
		}
	}
	dev_fd = fd;
	t0_ns = now_ns();
	for (unsigned int i = 0; i < nr_threads; i++) {
		err = pthread_create(&th[i], NULL, reader, buf[i]);
		if (err) {
			fprintf(stderr, "bench-errstorm: cannot start thread %u: %s\n", i, strerror(err));
			return 1;
		}
	}
	for (unsigned int i = 0; i < nr_threads; i++)
		pthread_join(th[i], NULL);
	t1 = now_ns();
	for (unsigned int i = 0; i < nr_threads; i++)
		free(buf[i]);

	printf("{\"caused\": %llu, \"ok\": %llu, \"other\": %llu, \"other_errno\": %d, "
	       "\"start_ns\": %llu, \"end_ns\": %llu, \"seconds\": %.6f, \"rate\": %.1f}\n",
	       (unsigned long long)nr_eio, (unsigned long long)nr_ok,
	       (unsigned long long)nr_other, other_errno,
	       (unsigned long long)t0_ns, (unsigned long long)t1,
	       (t1 - t0_ns) / 1e9, nr_eio / ((t1 - t0_ns) / 1e9));
	close(fd);
	if (nr_other)
		fprintf(stderr, "bench-errstorm: %llu reads failed with %s, not EIO: is the range bad?\n",
			(unsigned long long)nr_other, strerror(other_errno));
	if (nr_ok)
		fprintf(stderr, "bench-errstorm: %llu reads succeeded: the range is not all bad\n",
			(unsigned long long)nr_ok);
	return nr_other || nr_ok ? 1 : 0;
}
