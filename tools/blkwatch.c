// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blkwatch: print block-layer error records as they happen.
 *
 * One line per record (or one JSON object per line with --json).  Loss is
 * printed, never hidden.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <blknotify/blknotify.h>
#include "protocol.h"	/* blknotifyd's statistics query */
#include "blkwatch-identity.h"

#define MAX_DEVICES	BLKNOTIFY_QUEUE_WATCHES_MAX
#define NAME_CACHE	64

static volatile sig_atomic_t stop;
static struct identity *ident;	/* --identity */

struct options {
	enum blknotify_source source;
	unsigned int flags;
	bool json;
	bool stats;
	bool identity, no_files;
	unsigned long count;		/* 0: forever */
	unsigned int size;		/* 0: library default */
	unsigned int id;
	dev_t devices[MAX_DEVICES];
	unsigned int nr_devices;
	__u32 subtypes[8];		/* bitmask; all zero: no filter */
	const char *socket;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: blkwatch [OPTION]...\n"
"Print block-layer I/O errors as structured records, as they happen.\n"
"\n"
"  -s, --source=SRC     auto (default), bpf, kmsg, watch_queue or daemon\n"
"      --bpf-complete   bpf: attach to block_rq_complete instead of block_rq_error\n"
"      --replay         kmsg: start at the beginning of the kernel log\n"
"      --socket=PATH    daemon: its socket (default " BLKNOTIFY_DAEMON_SOCKET ")\n"
"  -d, --device=DEV     only errors on DEV: a name (sda), a node (/dev/sda) or\n"
"                       MAJ:MIN; a partition means its sectors of the disk.\n"
"                       Repeatable: the Nth device gets watch ID (ID + N - 1)\n"
"  -i, --id=ID          watch ID, 0..255, shown in every record (default 0)\n"
"  -t, --subtype=LIST   only these subtypes, comma-separated: timeout, no_space,\n"
"                       transport, target, nexus, medium, protection,\n"
"                       kernel_resource, device_resource, io, not_supported,\n"
"                       again, offline, zone_open_resource,\n"
"                       zone_active_resource, duration_limit, invalid\n"
"  -q, --size=N         queue size in records (default %u, at most %u)\n"
"  -n, --count=N        exit after N error records\n"
"  -j, --json           one JSON object per line\n"
"      --stats          print blknotifyd's per-client statistics and exit\n"
"      --identity       name the disk (serial, WWN, model, by-id), the partition\n"
"                       and offset, the filesystem and mount with each record,\n"
"                       and the files or metadata hit on a line after it\n"
"      --no-files       with --identity: no file lookups (no impact lines)\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Exit status: 0 on success or signal, 1 on a runtime failure, 2 on bad usage.\n",
		BLKNOTIFY_QUEUE_SIZE_DEFAULT, BLKNOTIFY_QUEUE_SIZE_MAX);
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *val)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*val = strtoul(s, &end, 10);
	if (errno || *end || *val > max)
		return -ERANGE;
	return 0;
}

/* "sda", "/dev/sda", "8:0" -> device number of an existing block device. */
static int parse_device(const char *arg, dev_t *dev)
{
	unsigned int maj, min;
	char path[PATH_MAX], sys[64];
	struct stat st;
	int n = 0;

	if (sscanf(arg, "%u:%u%n", &maj, &min, &n) == 2 && !arg[n]) {
		*dev = makedev(maj, min);
	} else {
		if (strchr(arg, '/'))
			snprintf(path, sizeof(path), "%s", arg);
		else
			snprintf(path, sizeof(path), "/dev/%s", arg);
		if (stat(path, &st))
			return -ENODEV;
		if (!S_ISBLK(st.st_mode))
			return -ENOTBLK;
		*dev = st.st_rdev;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(*dev), minor(*dev));
	return access(sys, F_OK) ? -ENODEV : 0;
}

static int parse_subtypes(char *list, __u32 mask[8])
{
	char *tok, *save = NULL;
	int st;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		st = blknotify_subtype_from_name(tok);
		if (st < 0) {
			fprintf(stderr, "blkwatch: unknown subtype '%s' (see --help)\n", tok);
			return -EINVAL;
		}
		mask[st / 32] |= 1U << (st % 32);
	}
	return 0;
}

/* The kernel's name for a disk ("sda"), cached; "?" if it is gone. */
static const char *disk_name(__u64 dev)
{
	static struct { __u64 dev; char name[32]; } cache[NAME_CACHE];
	static unsigned int next;
	char path[64], target[PATH_MAX];
	const char *base;
	unsigned int i;
	ssize_t n;

	for (i = 0; i < NAME_CACHE; i++)
		if (cache[i].name[0] && cache[i].dev == dev)
			return cache[i].name;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return "?";
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	i = next++ % NAME_CACHE;
	cache[i].dev = dev;
	snprintf(cache[i].name, sizeof(cache[i].name), "%.31s", base);
	return cache[i].name;
}

/* CLOCK_MONOTONIC ns -> wall clock, for display. */
static void format_time(__u64 mono_ns, char *buf, size_t len)
{
	struct timespec now_real, now_mono;
	__s64 real_ns;
	time_t secs;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now_real);
	clock_gettime(CLOCK_MONOTONIC, &now_mono);
	real_ns = (__s64)now_real.tv_sec * 1000000000LL + now_real.tv_nsec -
		  ((__s64)now_mono.tv_sec * 1000000000LL + now_mono.tv_nsec - (__s64)mono_ns);
	secs = real_ns / 1000000000LL;
	localtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(buf + n, len - n, ".%06lld", (long long)(real_ns % 1000000000LL) / 1000);
	strftime(buf + n, len - n, "%z", &tm);
}

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "?";
}

static void print_error(const struct block_notification *n, size_t len, bool json)
{
	unsigned int id = (n->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;
	const char *subtype = blknotify_subtype_name(n->watch.subtype);
	bool ext = len >= BLOCK_NOTIFICATION_SIZE_V1;
	const char *op = ext ? blknotify_op_name(n->op) : NULL;
	char when[64] = "";

	if (ext)
		format_time(n->time_ns, when, sizeof(when));
	if (!subtype)
		subtype = "unknown";
	if (!op)
		op = "unknown";
	if (json) {
		printf("{\"type\":\"error\",\"dev\":\"%u:%u\",\"disk\":\"%s\",\"subtype\":\"%s\","
		       "\"subtype_nr\":%u,\"sector\":%llu,\"id\":%u",
		       major(n->dev), minor(n->dev), disk_name(n->dev), subtype,
		       n->watch.subtype, (unsigned long long)n->sector, id);
		if (ext)
			printf(",\"time\":\"%s\",\"time_ns\":%llu,\"nr_sectors\":%u,\"op\":\"%s\","
			       "\"op_nr\":%u,\"flags\":%u,\"error\":\"%s\",\"errno\":%d",
			       when, (unsigned long long)n->time_ns, n->nr_sectors, op, n->op,
			       n->flags, errno_name(-n->error), n->error);
		if (ident)
			identity_print(ident, stdout, n, true);
		printf("}\n");
		if (ident && ext)
			identity_print_impact(ident, stdout, n, true);
		return;
	}
	if (ext)
		printf("%s %s (%u:%u) %s %s sector %llu +%u %s id %u\n", when,
		       disk_name(n->dev), major(n->dev), minor(n->dev), subtype, op,
		       (unsigned long long)n->sector, n->nr_sectors, errno_name(-n->error), id);
	else
		printf("%s (%u:%u) %s sector %llu id %u\n", disk_name(n->dev), major(n->dev),
		       minor(n->dev), subtype, (unsigned long long)n->sector, id);
	if (ident)
		identity_print(ident, stdout, n, false);
	if (ident && ext)
		identity_print_impact(ident, stdout, n, false);
}

static void print_loss(const struct watch_notification *w, size_t len, bool json)
{
	const struct block_notification_loss *l = (const void *)w;
	bool counted = len >= BLOCK_NOTIFICATION_LOSS_SIZE;

	if (json) {
		if (counted)
			printf("{\"type\":\"loss\",\"nr_lost\":%llu}\n", (unsigned long long)l->nr_lost);
		else
			printf("{\"type\":\"loss\",\"nr_lost\":null}\n");
	} else if (counted) {
		printf("LOSS: %llu records lost (queue full or source overrun)\n",
		       (unsigned long long)l->nr_lost);
	} else {
		printf("LOSS: records lost (the source did not say how many)\n");
	}
}

static int setup(struct blknotify_queue *q, const struct options *o)
{
	unsigned int i;
	int err;

	if (o->size && (err = blknotify_queue_set_size(q, o->size)) < 0)
		return err;
	if (o->subtypes[0] | o->subtypes[1] | o->subtypes[2] | o->subtypes[3] |
	    o->subtypes[4] | o->subtypes[5] | o->subtypes[6] | o->subtypes[7]) {
		struct {
			struct watch_notification_filter f;
			struct watch_notification_type_filter t[1];
		} filter = { .f.nr_filters = 1 };

		filter.t[0].type = WATCH_TYPE_BLOCK_NOTIFY;
		memcpy(filter.t[0].subtype_filter, o->subtypes, sizeof(o->subtypes));
		err = blknotify_queue_set_filter(q, &filter.f);
		if (err < 0)
			return err;
	}
	if (!o->nr_devices)
		return blknotify_queue_watch_all(q, o->id);
	for (i = 0; i < o->nr_devices; i++) {
		err = blknotify_queue_watch_device(q, o->devices[i], o->id + i);
		if (err < 0)
			return err;
	}
	return 0;
}

static int run(struct blknotify_queue *q, const struct options *o)
{
	unsigned char buf[64 * 1024];
	unsigned long seen = 0;

	while (!stop && (!o->count || seen < o->count)) {
		const struct watch_notification *n;
		ssize_t len = blknotify_queue_read(q, buf, sizeof(buf), -1);

		if (len == -EINTR || len == -EAGAIN)
			continue;
		if (len < 0) {
			fprintf(stderr, "blkwatch: reading records: %s\n", strerror((int)-len));
			return 1;
		}
		for (n = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(n, len);
		     n = BLOCK_NOTIFY_RECORD_NEXT(n, len)) {
			size_t rlen = BLOCK_NOTIFY_RECORD_LEN(n);

			if (n->type == WATCH_TYPE_META && n->subtype == WATCH_META_LOSS_NOTIFICATION) {
				print_loss(n, rlen, o->json);
			} else if (n->type == WATCH_TYPE_BLOCK_NOTIFY &&
				   rlen >= BLOCK_NOTIFICATION_SIZE_V0) {
				if (o->count && seen >= o->count)
					break;
				print_error((const void *)n, rlen, o->json);
				seen++;
			}
		}
		fflush(stdout);
	}
	return 0;
}

/* What blknotifyd delivered to and lost for each client. */
static int print_daemon_stats(const char *socket_path)
{
	struct bnd_stats *s = NULL;
	char why[256];

	if (bnd_query_stats(socket_path, &s, why, sizeof(why)) < 0) {
		fprintf(stderr, "blkwatch: --stats: %s\n", why);
		return 1;
	}
	bnd_print_stats(stdout, s);
	free(s);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source",	  required_argument, NULL, 's' },
		{ "bpf-complete", no_argument,	     NULL, 'C' },
		{ "replay",	  no_argument,	     NULL, 'R' },
		{ "socket",	  required_argument, NULL, 'S' },
		{ "device",	  required_argument, NULL, 'd' },
		{ "id",		  required_argument, NULL, 'i' },
		{ "subtype",	  required_argument, NULL, 't' },
		{ "size",	  required_argument, NULL, 'q' },
		{ "count",	  required_argument, NULL, 'n' },
		{ "json",	  no_argument,	     NULL, 'j' },
		{ "stats",	  no_argument,	     NULL, 'T' },
		{ "identity",	  no_argument,	     NULL, 'I' },
		{ "no-files",	  no_argument,	     NULL, 'F' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{}
	};
	struct options o = { .source = BLKNOTIFY_SOURCE_AUTO };
	struct blknotify_queue *q = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long v;
	int c, err, ret;

	while ((c = getopt_long(argc, argv, "s:d:i:t:q:n:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			err = blknotify_source_from_name(optarg);
			if (err < 0) {
				fprintf(stderr, "blkwatch: unknown source '%s': use auto, bpf, kmsg, "
					"watch_queue or daemon\n", optarg);
				return 2;
			}
			o.source = err;
			break;
		case 'C':
			o.flags |= BLKNOTIFY_QUEUE_BPF_COMPLETE;
			break;
		case 'R':
			o.flags |= BLKNOTIFY_QUEUE_KMSG_REPLAY;
			break;
		case 'S':
			o.socket = optarg;
			break;
		case 'd':
			if (o.nr_devices == MAX_DEVICES) {
				fprintf(stderr, "blkwatch: at most %d devices\n", MAX_DEVICES);
				return 2;
			}
			err = parse_device(optarg, &o.devices[o.nr_devices]);
			if (err) {
				fprintf(stderr, "blkwatch: '%s' is not a block device on this "
					"machine (%s): give a name from /sys/class/block (sda), "
					"a node (/dev/sda) or MAJ:MIN (8:0)\n", optarg, strerror(-err));
				return 2;
			}
			o.nr_devices++;
			break;
		case 'i':
			if (parse_ulong(optarg, BLOCK_NOTIFY_WATCH_ID_MAX, &v)) {
				fprintf(stderr, "blkwatch: --id takes a number from 0 to 255, not '%s'\n",
					optarg);
				return 2;
			}
			o.id = v;
			break;
		case 't':
			if (parse_subtypes(optarg, o.subtypes))
				return 2;
			break;
		case 'q':
			if (parse_ulong(optarg, BLKNOTIFY_QUEUE_SIZE_MAX, &v) || !v) {
				fprintf(stderr, "blkwatch: --size takes a number of records from 1 "
					"to %u, not '%s'\n", BLKNOTIFY_QUEUE_SIZE_MAX, optarg);
				return 2;
			}
			o.size = v;
			break;
		case 'n':
			if (parse_ulong(optarg, ULONG_MAX, &v) || !v) {
				fprintf(stderr, "blkwatch: --count takes a positive number, not '%s'\n",
					optarg);
				return 2;
			}
			o.count = v;
			break;
		case 'j':
			o.json = true;
			break;
		case 'T':
			o.stats = true;
			break;
		case 'I':
			o.identity = true;
			break;
		case 'F':
			o.no_files = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("blkwatch " BLKNOTIFY_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "blkwatch: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (o.id + (o.nr_devices ? o.nr_devices - 1 : 0) > BLOCK_NOTIFY_WATCH_ID_MAX) {
		fprintf(stderr, "blkwatch: watch IDs %u..%u do not fit in 0..255\n", o.id,
			o.id + o.nr_devices - 1);
		return 2;
	}

	if (o.no_files && !o.identity) {
		fprintf(stderr, "blkwatch: --no-files only applies with --identity\n");
		return 2;
	}

	if (o.stats)
		return print_daemon_stats(o.socket ? o.socket : BLKNOTIFY_DAEMON_SOCKET);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	{
		BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = o.source, .flags = o.flags,
			       .daemon_socket = o.socket);

		err = blknotify_queue_new(&q, &opts);
	}
	if (err < 0) {
		fprintf(stderr, "blkwatch: cannot open a queue: %s\n", strerror(-err));
		return 1;
	}
	err = setup(q, &o);
	if (err < 0) {
		const char *why = blknotify_queue_get_error(q);

		fprintf(stderr, "blkwatch: %s source: %s\n",
			blknotify_source_name(blknotify_queue_get_source(q)),
			why ? why : strerror(-err));
		blknotify_queue_free(q);
		return 1;
	}
	if (o.identity && (err = identity_new(&ident, !o.no_files))) {
		fprintf(stderr, "blkwatch: --identity: %s\n", strerror(-err));
		blknotify_queue_free(q);
		return 1;
	}
	/* On stderr, so scripts can wait for it: the source is attached now. */
	fprintf(stderr, "blkwatch: watching %s through the %s source\n",
		o.nr_devices ? "the given devices" : "every block device",
		blknotify_source_name(blknotify_queue_get_source(q)));
	ret = run(q, &o);
	ident = identity_free(ident);
	blknotify_queue_free(q);
	return ret;
}
