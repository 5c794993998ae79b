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
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <blknotify/blknotify.h>
#include "match.h"	/* bn_is_loss() */
#include "protocol.h"	/* blknotifyd's statistics query */
#include "sysfs.h"	/* bn_sysfs_dev_path() */
#include "blkwatch-identity.h"
#include "blkwatch-follow.h"
#include "blkwatch-detail.h"
#include "wall-time.h"

#define MAX_DEVICES	BLKNOTIFY_QUEUE_WATCHES_MAX
#define NAME_CACHE	64

static struct identity *ident;	/* --identity */
static struct follow fol;	/* --follow */

/* Exit status, the same in blkwatch, blknotifyd and blkfault. */
enum {
	EXIT_OK		= 0,	/* done: --count reached, SIGINT/SIGTERM/SIGHUP */
	EXIT_START	= 1,	/* could not start: source, privilege, device, socket */
	EXIT_USAGE	= 2,	/* bad option or value */
	EXIT_GONE	= 3,	/* the source went away after it had started */
};

struct options {
	enum blknotify_source source;
	unsigned int flags;
	bool json;
	bool stats;
	bool utc;
	bool identity, no_files;
	bool follow;			/* --follow: watches by identity */
	unsigned long count;		/* 0: forever */
	unsigned int size;		/* 0: library default */
	unsigned int id;
	dev_t devices[MAX_DEVICES];
	unsigned int nr_devices;
	__u32 subtypes[8];		/* bitmask; all zero: no filter */
	const char *socket;
	__u64 slow_ns;			/* --slow, in ns; 0: off */
	unsigned int slow_relative;	/* --slow-relative; 0: off */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: blkwatch [OPTION]...\n"
"Print block-layer I/O errors as structured records, as they happen.\n"
"\n"
"      --source=SRC     auto (default), bpf, kmsg, watch_queue or daemon\n"
"      --bpf-complete   bpf: attach to block_rq_complete instead of block_rq_error\n"
"      --bio-errors     bpf: also errors of dm, md and other bio-based devices\n"
"                       that no request reports (a program runs per bio)\n"
"      --nvme-status    bpf: NVMe errors carry the device's status (a program\n"
"                       run per NVMe completion)\n"
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
"                       zone_active_resource, duration_limit, invalid;\n"
"                       lifecycle: added, removed, dead, media_change,\n"
"                       capacity, read_only, read_write; perf: slow;\n"
"                       or a class:\n"
"                       error, soft, lifecycle, perf\n"
"  -s, --size=N         queue size in records (default %u, at most %u)\n"
"  -n, --count=N        exit after N error records\n"
"      --slow=MS        also report I/O that succeeds but takes MS milliseconds\n"
"                       or more (bpf source: costs every request, see blkwatch(1))\n"
"      --slow-relative=X  ... or X times its disk's median latency or more (X >= 2)\n"
"  -j, --json           one JSON object per line\n"
"      --utc            print times in UTC (default: local time)\n"
"      --stats          print blknotifyd's per-client statistics and exit\n"
"                       (one JSON object with --json)\n"
"      --identity       name the disk (serial, WWN, model, by-id), the partition\n"
"                       and offset, the filesystem and mount with each record,\n"
"                       and the files or metadata hit on a line after it\n"
"      --no-files       with --identity: no file lookups (no impact lines)\n"
"      --follow         with --device: watch the disks by identity (WWN, else\n"
"                       serial): when one is removed and a disk with its\n"
"                       identity is added, watch that one\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Exit status: 0 on success or SIGINT/SIGTERM/SIGHUP, 1 when the source cannot\n"
"start, 2 on bad usage, 3 when the source went away after it had started.\n"
"See blkwatch(1).\n",
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
	if (bn_sysfs_dev_path(sys, sizeof(sys), *dev, NULL))
		return -ENODEV;
	return access(sys, F_OK) ? -ENODEV : 0;
}

static int parse_subtypes(char *list, __u32 mask[8])
{
	char *tok, *save = NULL;
	int st;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned int first, last;

		st = blknotify_subtype_from_name(tok);
		if (st < 0 && !blknotify_subtype_class_range(tok, &first, &last)) {
			for (; first <= last; first++)	/* a class: error, soft, lifecycle, perf */
				mask[first / 32] |= 1U << (first % 32);
			continue;
		}
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
	if (bn_sysfs_dev_path(path, sizeof(path), dev, NULL))
		return "?";
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

static __s64 clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__s64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CLOCK_MONOTONIC ns -> wall clock, local or UTC, for display. */
static void format_time(__u64 mono_ns, bool utc, char *buf, size_t len)
{
	__s64 real_ns = clock_ns(CLOCK_REALTIME) - (clock_ns(CLOCK_MONOTONIC) - (__s64)mono_ns);

	wall_time_format(real_ns, utc, WALL_TIME_ISO, buf, len);
}

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "?";
}

/* A slow request: "loop1 (7:1) slow read 2.31 s sector 100 +8 id 0". */
static void print_slow(const struct block_notification *n, const struct options *o)
{
	unsigned int id = (n->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;
	const char *op = blknotify_op_name(n->op);
	double lat = n->latency_ns / 1e9;
	char when[64];

	format_time(n->time_ns, o->utc, when, sizeof(when));
	if (!op)
		op = "unknown";
	if (o->json) {
		printf("{\"type\":\"slow\",\"dev\":\"%u:%u\",\"disk\":\"%s\",\"subtype\":\"slow\","
		       "\"subtype_nr\":%u,\"sector\":%llu,\"id\":%u,\"time\":\"%s\",\"time_ns\":%llu,"
		       "\"nr_sectors\":%u,\"op\":\"%s\",\"op_nr\":%u,\"flags\":%u,\"latency_ns\":%llu",
		       major(n->dev), minor(n->dev), disk_name(n->dev), n->watch.subtype,
		       (unsigned long long)n->sector, id, when, (unsigned long long)n->time_ns,
		       n->nr_sectors, op, n->op, n->flags, (unsigned long long)n->latency_ns);
		if (ident)
			identity_print(ident, stdout, n, true);
		printf("}\n");
		return;
	}
	printf("%s %s (%u:%u) slow %s %.*f %s sector %llu +%u id %u\n", when, disk_name(n->dev),
	       major(n->dev), minor(n->dev), op, lat >= 1 ? 2 : lat >= 1e-3 ? 1 : 0,
	       lat >= 1 ? lat : lat >= 1e-3 ? lat * 1e3 : lat * 1e6,
	       lat >= 1 ? "s" : lat >= 1e-3 ? "ms" : "us",
	       (unsigned long long)n->sector, n->nr_sectors, id);
	if (ident)
		identity_print(ident, stdout, n, false);
}

/* JSON "type": the subtype's class ("error", "soft", ...); an unknown number is an error. */
static const char *record_class(unsigned int subtype)
{
	const char *c = blknotify_subtype_class(subtype);

	return c ? c : "error";
}

static void print_error(const struct block_notification *n, size_t len, const struct options *o)
{
	unsigned int id = (n->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;
	const char *subtype = blknotify_subtype_name(n->watch.subtype);
	bool ext = len >= BLOCK_NOTIFICATION_SIZE_V1;
	const char *op = ext ? blknotify_op_name(n->op) : NULL;
	char when[64] = "";

	if (n->watch.subtype == NOTIFY_BLOCK_SLOW && len >= BLOCK_NOTIFICATION_SIZE_V2) {
		print_slow(n, o);
		return;
	}
	if (ext)
		format_time(n->time_ns, o->utc, when, sizeof(when));
	if (!subtype)
		subtype = "unknown";
	if (!op)
		op = "unknown";
	if (o->json) {
		printf("{\"type\":\"%s\",\"dev\":\"%u:%u\",\"disk\":\"%s\",\"subtype\":\"%s\","
		       "\"subtype_nr\":%u,\"sector\":%llu,\"id\":%u", record_class(n->watch.subtype),
		       major(n->dev), minor(n->dev), disk_name(n->dev), subtype,
		       n->watch.subtype, (unsigned long long)n->sector, id);
		/* The record holds a negative errno; scripts compare with errno(3)'s. */
		if (ext)
			printf(",\"time\":\"%s\",\"time_ns\":%llu,\"nr_sectors\":%u,\"op\":\"%s\","
			       "\"op_nr\":%u,\"flags\":%u,\"error\":\"%s\",\"errno\":%d",
			       when, (unsigned long long)n->time_ns, n->nr_sectors, op, n->op,
			       n->flags, errno_name(-n->error), -n->error);
		detail_print(stdout, n, len, true);
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
	detail_print(stdout, n, len, false);
	if (ident)
		identity_print(ident, stdout, n, false);
	if (ident && ext)
		identity_print_impact(ident, stdout, n, false);
}

/*
 * A lifecycle record: the disk was added, removed or marked dead, its media
 * or capacity changed, it became read-only or writable.  Capacities are
 * printed in bytes (the record has 512-byte sectors).
 */
static void print_lifecycle(const struct block_notification *n, size_t len,
			    const struct options *o)
{
	unsigned int id = (n->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;
	const char *subtype = blknotify_subtype_name(n->watch.subtype);
	bool v2 = len >= BLOCK_NOTIFICATION_SIZE_V2;
	bool cap = n->watch.subtype == NOTIFY_BLOCK_CAPACITY_CHANGE;
	bool old_known = v2 && n->old_capacity != BLOCK_NOTIFY_CAPACITY_UNKNOWN;
	const char *what;
	char when[64] = "";

	if (len >= BLOCK_NOTIFICATION_SIZE_V1)
		format_time(n->time_ns, o->utc, when, sizeof(when));
	switch (n->watch.subtype) {
	case NOTIFY_BLOCK_DEVICE_ADDED:		what = "added"; break;
	case NOTIFY_BLOCK_DEVICE_REMOVED:	what = "removed"; break;
	case NOTIFY_BLOCK_DEVICE_DEAD:		what = "dead"; break;
	case NOTIFY_BLOCK_MEDIA_CHANGE:		what = "media changed"; break;
	case NOTIFY_BLOCK_CAPACITY_CHANGE:	what = "capacity"; break;
	case NOTIFY_BLOCK_READ_ONLY_SET:	what = "read-only"; break;
	case NOTIFY_BLOCK_READ_ONLY_CLEARED:	what = "read-write"; break;
	default:				what = subtype ? subtype : "lifecycle"; break;
	}
	if (o->json) {
		printf("{\"type\":\"lifecycle\",\"dev\":\"%u:%u\",\"disk\":\"%s\",\"subtype\":\"%s\","
		       "\"subtype_nr\":%u,\"class\":\"lifecycle\",\"id\":%u",
		       major(n->dev), minor(n->dev), disk_name(n->dev), subtype ? subtype : "unknown",
		       n->watch.subtype, id);
		if (when[0])
			printf(",\"time\":\"%s\",\"time_ns\":%llu", when,
			       (unsigned long long)n->time_ns);
		if (cap) {
			printf(",\"capacity\":%llu,\"old_capacity\":",
			       (unsigned long long)n->sector * 512);
			if (old_known)
				printf("%llu", (unsigned long long)n->old_capacity * 512);
			else
				printf("null");
		}
		printf("}\n");
		return;
	}
	printf("%s%s%s (%u:%u) %s", when, when[0] ? " " : "", disk_name(n->dev), major(n->dev),
	       minor(n->dev), what);
	if (cap && old_known)
		printf(" %llu -> %llu", (unsigned long long)n->old_capacity * 512,
		       (unsigned long long)n->sector * 512);
	else if (cap)
		printf(" ? -> %llu", (unsigned long long)n->sector * 512);
	printf(" id %u\n", id);
}

/* A loss record carries no time of its own: it gets the time blkwatch read it. */
static void print_loss(const struct watch_notification *w, size_t len, const struct options *o)
{
	const struct block_notification_loss *l = (const void *)w;
	bool counted = len >= BLOCK_NOTIFICATION_LOSS_SIZE;
	__u64 now = clock_ns(CLOCK_MONOTONIC);
	char when[64];

	format_time(now, o->utc, when, sizeof(when));
	if (o->json) {
		printf("{\"type\":\"loss\",\"nr_lost\":");
		if (counted)
			printf("%llu", (unsigned long long)l->nr_lost);
		else
			printf("null");
		printf(",\"time\":\"%s\",\"time_ns\":%llu}\n", when, (unsigned long long)now);
	} else if (counted) {
		printf("%s LOSS: %llu records lost (queue full or source overrun)\n", when,
		       (unsigned long long)l->nr_lost);
	} else {
		printf("%s LOSS: records lost (the source did not say how many)\n", when);
	}
}

/*
 * The source ended one of our watches by itself: blknotifyd's removal record
 * (docs/protocol.md) says why; the kernel's watch queue sends the 8-byte
 * form for a removed watched object.  No record of that watch follows.
 */
static void print_removal(const struct watch_notification *w, size_t len, const struct options *o)
{
	const struct bnd_watch_removal *r = (const void *)w;
	unsigned int id = (w->info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;
	int err = len >= BND_WATCH_REMOVAL_SIZE ? -r->error : 0;
	const char *why = err == ENODEV ? "the disk went away" :
			  err == ESTALE ? "its device number names another disk now; watch it again "
					  "to have the new disk checked" :
			  "the watched object was removed";
	__u64 now = clock_ns(CLOCK_MONOTONIC);
	char when[64];

	format_time(now, o->utc, when, sizeof(when));
	if (o->json) {
		printf("{\"type\":\"watch_ended\",\"id\":%u,\"error\":", id);
		if (err)
			printf("\"%s\",\"errno\":%d", errno_name(err), err);
		else
			printf("null");
		printf(",\"reason\":\"%s\",\"time\":\"%s\",\"time_ns\":%llu}\n", why, when,
		       (unsigned long long)now);
	} else {
		printf("%s watch %u ended: %s (%s)\n", when, id, err ? errno_name(err) : "removed",
		       why);
	}
}

static int setup(struct blknotify_queue *q, const struct options *o)
{
	unsigned int i;
	int err;

	if (o->size && (err = blknotify_queue_set_size(q, o->size)) < 0)
		return err;
	for (i = 0; i < o->nr_devices; i++)
		disk_name(o->devices[i]);	/* its name, for its removal record */
	if (o->follow)
		return follow_setup(&fol, q, o->subtypes);
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

/* Print what one read returned; false once --count error records are out. */
static bool print_records(struct blknotify_queue *q, void *buf, ssize_t len,
			  const struct options *o, unsigned long *seen)
{
	const struct watch_notification *n;

	for (n = buf; BLOCK_NOTIFY_RECORD_OK(n, len); n = BLOCK_NOTIFY_RECORD_NEXT(n, len)) {
		size_t rlen = BLOCK_NOTIFY_RECORD_LEN(n);

		if (bn_is_loss(n)) {
			print_loss(n, rlen, o);
		} else if (n->type == WATCH_TYPE_META &&
			   n->subtype == WATCH_META_REMOVAL_NOTIFICATION) {
			print_removal(n, rlen, o);
		} else if (n->type == WATCH_TYPE_BLOCK_NOTIFY &&
			   rlen >= BLOCK_NOTIFICATION_SIZE_V0) {
			/* --follow: an "added" may become a followed watch's (its ID rewritten). */
			if (o->follow && !follow_record(&fol, q, (struct block_notification *)n))
				continue;
			if (n->subtype >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST &&
			    n->subtype <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST) {
				print_lifecycle((const void *)n, rlen, o);	/* not counted */
				continue;
			}
			if (o->count && *seen >= o->count)
				return false;
			print_error((const void *)n, rlen, o);
			(*seen)++;
		}
	}
	fflush(stdout);
	return !o->count || *seen < o->count;
}

/*
 * Read and print until --count, a signal or the source's end.  The stop
 * signals are blocked and wait in sig_fd: one that arrives at any moment is
 * seen by the next poll(), which is never skipped for long (between batches
 * it does not wait).  A flag set by a handler could arrive after it was
 * checked and before the wait began, and be missed until the next record.
 */
static int run(struct blknotify_queue *q, const struct options *o, int sig_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = sig_fd, .events = POLLIN },
		{ .fd = blknotify_queue_get_fd(q), .events = POLLIN },
	};
	unsigned char buf[64 * 1024];
	unsigned long seen = 0;
	int timeout = 0;
	ssize_t len;

	for (;;) {
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			fprintf(stderr, "blkwatch: poll: %s\n", strerror(errno));
			return EXIT_GONE;
		}
		if (pfd[0].revents)
			return EXIT_OK;
		len = blknotify_queue_read(q, buf, sizeof(buf), 0);
		if (len == -EAGAIN || len == -EINTR) {
			timeout = -1;
			continue;
		}
		if (len < 0) {
			const char *why = blknotify_queue_get_error(q);

			fprintf(stderr, "blkwatch: the %s source went away: %s\n",
				blknotify_source_name(blknotify_queue_get_source(q)),
				why ? why : strerror((int)-len));
			return EXIT_GONE;
		}
		if (!print_records(q, buf, len, o, &seen))
			return EXIT_OK;
		timeout = 0;
	}
}

static void print_stats_json(const struct bnd_stats *s)
{
	__u32 i;

	printf("{\"source\":\"%s\",\"uptime_ns\":%llu,\"clients\":%u,\"max_clients\":%u,"
	       "\"upstream_records\":%llu,\"upstream_lost\":%llu,\"shown\":[",
	       blknotify_source_name(s->source), (unsigned long long)s->uptime_ns,
	       s->total_clients, s->max_clients, (unsigned long long)s->upstream_records,
	       (unsigned long long)s->upstream_lost);
	for (i = 0; i < s->nr_clients; i++) {
		const struct bnd_client_stats *c = &s->clients[i];

		printf("%s{\"id\":%u,\"pid\":%u,\"uid\":%u,\"gid\":%u,\"watches\":%u,"
		       "\"queue_size\":%u,\"held\":%u,\"delivered\":%llu,\"lost\":%llu,"
		       "\"connected_ns\":%llu,\"privileged\":%s,\"self\":%s,\"detached\":%s}",
		       i ? "," : "", c->id, c->pid, c->uid, c->gid, c->nr_watches,
		       c->queue_size, c->queued, (unsigned long long)c->delivered,
		       (unsigned long long)c->lost, (unsigned long long)c->connected_ns,
		       c->flags & BND_CLIENT_PRIVILEGED ? "true" : "false",
		       c->flags & BND_CLIENT_SELF ? "true" : "false",
		       c->flags & BND_CLIENT_DETACHED ? "true" : "false");
	}
	printf("]}\n");
}

/* What blknotifyd delivered to and lost for each client. */
static int print_daemon_stats(const char *socket_path, bool json)
{
	struct bnd_stats *s = NULL;
	char why[256];

	if (bnd_query_stats(socket_path, &s, why, sizeof(why)) < 0) {
		fprintf(stderr, "blkwatch: --stats: %s\n", why);
		return EXIT_START;
	}
	if (json)
		print_stats_json(s);
	else
		bnd_print_stats(stdout, s);
	free(s);
	return EXIT_OK;
}

enum {
	OPT_BPF_COMPLETE = 256,
	OPT_REPLAY,
	OPT_SOCKET,
	OPT_SOURCE,
	OPT_STATS,
	OPT_UTC,
	OPT_IDENTITY,
	OPT_NO_FILES,
	OPT_BIO_ERRORS,
	OPT_SLOW,
	OPT_SLOW_RELATIVE,
	OPT_FOLLOW,
	OPT_NVME_STATUS,
};

/* One option; returns -1 to go on, else the exit status. */
static int parse_option(int c, const char *arg, struct options *o)
{
	unsigned long v;
	int err;

	switch (c) {
	case OPT_SOURCE:
		err = blknotify_source_from_name(arg);
		if (err < 0) {
			fprintf(stderr, "blkwatch: unknown source '%s': use auto, bpf, kmsg, "
				"watch_queue or daemon\n", arg);
			return EXIT_USAGE;
		}
		o->source = err;
		return -1;
	case OPT_BPF_COMPLETE:
		o->flags |= BLKNOTIFY_QUEUE_BPF_COMPLETE;
		return -1;
	case OPT_REPLAY:
		o->flags |= BLKNOTIFY_QUEUE_KMSG_REPLAY;
		return -1;
	case OPT_BIO_ERRORS:
		o->flags |= BLKNOTIFY_QUEUE_BPF_BIO;
		return -1;
	case OPT_NVME_STATUS:
		o->flags |= BLKNOTIFY_QUEUE_BPF_NVME_STATUS;
		return -1;
	case OPT_SOCKET:
		o->socket = arg;
		return -1;
	case 'd':
		if (o->nr_devices == MAX_DEVICES) {
			fprintf(stderr, "blkwatch: at most %d devices\n", MAX_DEVICES);
			return EXIT_USAGE;
		}
		err = parse_device(arg, &o->devices[o->nr_devices]);
		if (err) {
			fprintf(stderr, "blkwatch: '%s' is not a block device on this "
				"machine (%s): give a name from /sys/class/block (sda), "
				"a node (/dev/sda) or MAJ:MIN (8:0)\n", arg, strerror(-err));
			return EXIT_USAGE;
		}
		o->nr_devices++;
		return -1;
	case 'i':
		if (parse_ulong(arg, BLOCK_NOTIFY_WATCH_ID_MAX, &v)) {
			fprintf(stderr, "blkwatch: --id takes a number from 0 to 255, not '%s'\n", arg);
			return EXIT_USAGE;
		}
		o->id = v;
		return -1;
	case 't':
		return parse_subtypes((char *)arg, o->subtypes) ? EXIT_USAGE : -1;
	case 's':
		if (parse_ulong(arg, BLKNOTIFY_QUEUE_SIZE_MAX, &v) || !v) {
			fprintf(stderr, "blkwatch: --size takes a number of records from 1 "
				"to %u, not '%s'\n", BLKNOTIFY_QUEUE_SIZE_MAX, arg);
			if (blknotify_source_from_name(arg) >= 0)
				fprintf(stderr, "blkwatch: -s is the queue size; the source is "
					"chosen with --source %s\n", arg);
			return EXIT_USAGE;
		}
		o->size = v;
		return -1;
	case 'q':
		fprintf(stderr, "blkwatch: -q is gone: the queue size is -s, --size\n");
		return EXIT_USAGE;
	case 'n':
		if (parse_ulong(arg, ULONG_MAX, &v) || !v) {
			fprintf(stderr, "blkwatch: --count takes a positive number, not '%s'\n", arg);
			return EXIT_USAGE;
		}
		o->count = v;
		return -1;
	case 'j':
		o->json = true;
		return -1;
	case OPT_UTC:
		o->utc = true;
		return -1;
	case OPT_STATS:
		o->stats = true;
		return -1;
	case OPT_IDENTITY:
		o->identity = true;
		return -1;
	case OPT_NO_FILES:
		o->no_files = true;
		return -1;
	case OPT_SLOW:
		/* At most a day: the record's latency is nanoseconds in 64 bits anyway. */
		if (parse_ulong(arg, 86400000UL, &v) || !v) {
			fprintf(stderr, "blkwatch: --slow takes a number of milliseconds from 1 "
				"to 86400000, not '%s'\n", arg);
			return EXIT_USAGE;
		}
		o->slow_ns = (__u64)v * 1000000ULL;
		return -1;
	case OPT_SLOW_RELATIVE:
		if (parse_ulong(arg, 1000000UL, &v) || v < 2) {
			fprintf(stderr, "blkwatch: --slow-relative takes a factor from 2 to 1000000 "
				"(times the disk's median latency), not '%s'\n", arg);
			return EXIT_USAGE;
		}
		o->slow_relative = v;
		return -1;
	case OPT_FOLLOW:
		o->follow = true;
		return -1;
	case 'h':
		usage(stdout);
		return EXIT_OK;
	case 'V':
		printf("blkwatch " BLKNOTIFY_VERSION "\n");
		return EXIT_OK;
	default:
		fprintf(stderr, "Try 'blkwatch --help'.\n");
		return EXIT_USAGE;
	}
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "source",	  required_argument, NULL, OPT_SOURCE },
		{ "bpf-complete", no_argument,	     NULL, OPT_BPF_COMPLETE },
		{ "bio-errors",	  no_argument,	     NULL, OPT_BIO_ERRORS },
		{ "nvme-status",  no_argument,	     NULL, OPT_NVME_STATUS },
		{ "replay",	  no_argument,	     NULL, OPT_REPLAY },
		{ "socket",	  required_argument, NULL, OPT_SOCKET },
		{ "device",	  required_argument, NULL, 'd' },
		{ "id",		  required_argument, NULL, 'i' },
		{ "subtype",	  required_argument, NULL, 't' },
		{ "size",	  required_argument, NULL, 's' },
		{ "count",	  required_argument, NULL, 'n' },
		{ "json",	  no_argument,	     NULL, 'j' },
		{ "utc",	  no_argument,	     NULL, OPT_UTC },
		{ "stats",	  no_argument,	     NULL, OPT_STATS },
		{ "identity",	  no_argument,	     NULL, OPT_IDENTITY },
		{ "no-files",	  no_argument,	     NULL, OPT_NO_FILES },
		{ "slow",	  required_argument, NULL, OPT_SLOW },
		{ "slow-relative", required_argument, NULL, OPT_SLOW_RELATIVE },
		{ "follow",	  no_argument,	     NULL, OPT_FOLLOW },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{}
	};
	int c, ret;

	/* "q" only to say that it is gone. */
	while ((c = getopt_long(argc, argv, "d:i:t:s:qn:jhV", longopts, NULL)) != -1)
		if ((ret = parse_option(c, optarg, o)) >= 0)
			return ret;
	if (optind < argc) {
		fprintf(stderr, "blkwatch: unexpected argument '%s' (see --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (o->id + (o->nr_devices ? o->nr_devices - 1 : 0) > BLOCK_NOTIFY_WATCH_ID_MAX) {
		fprintf(stderr, "blkwatch: watch IDs %u..%u do not fit in 0..255\n", o->id,
			o->id + o->nr_devices - 1);
		return EXIT_USAGE;
	}
	if (o->follow && (!o->nr_devices || o->nr_devices > FOLLOW_MAX)) {
		fprintf(stderr, "blkwatch: --follow needs 1 to %d --device options\n", FOLLOW_MAX);
		return EXIT_USAGE;
	}
	if (o->no_files && !o->identity) {
		fprintf(stderr, "blkwatch: --no-files only applies with --identity\n");
		return EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct options o = { .source = BLKNOTIFY_SOURCE_AUTO };
	struct blknotify_queue *q = NULL;
	int err, ret, sig_fd;
	sigset_t sigs;

	ret = parse_options(argc, argv, &o);
	if (ret >= 0)
		return ret;
	if (o.stats)
		return print_daemon_stats(o.socket ? o.socket : BLKNOTIFY_DAEMON_SOCKET, o.json);
	if (o.follow) {
		unsigned int bad = 0;

		err = follow_init(&fol, o.devices, o.nr_devices, o.id, &bad);
		if (err < 0) {
			fprintf(stderr, "blkwatch: --follow: %u:%u: %s\n", major(o.devices[bad]),
				minor(o.devices[bad]), err == -ENOENT ? "the disk has no WWN or "
				"serial to follow it by" : strerror(-err));
			return EXIT_START;
		}
	}

	/* Blocked from here on: a signal during setup waits for run(). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) ||
	    (sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		fprintf(stderr, "blkwatch: cannot set up signal handling: %s\n", strerror(errno));
		return EXIT_START;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	{
		BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = o.source, .flags = o.flags,
			       .daemon_socket = o.socket, .slow_threshold_ns = o.slow_ns,
			       .slow_relative = o.slow_relative);

		err = blknotify_queue_new(&q, &opts);
	}
	if (err == -EOPNOTSUPP && (o.slow_ns || o.slow_relative)) {
		fprintf(stderr, "blkwatch: --slow and --slow-relative need a per-request hook, "
			"which the %s source has none of: use --source bpf (or daemon, "
			"with slow_io_* in blknotifyd.conf)\n", blknotify_source_name(o.source));
		return EXIT_USAGE;
	}
	if (err < 0) {
		fprintf(stderr, "blkwatch: cannot open a queue: %s\n", strerror(-err));
		return EXIT_START;
	}
	err = setup(q, &o);
	if (err < 0) {
		const char *why = blknotify_queue_get_error(q);

		fprintf(stderr, "blkwatch: %s source: %s\n",
			blknotify_source_name(blknotify_queue_get_source(q)),
			why ? why : strerror(-err));
		blknotify_queue_free(q);
		return EXIT_START;
	}
	if (o.identity && (err = identity_new(&ident, !o.no_files, q))) {
		fprintf(stderr, "blkwatch: --identity: %s\n", strerror(-err));
		blknotify_queue_free(q);
		return EXIT_START;
	}
	/* On stderr, so scripts can wait for it: the source is attached now. */
	fprintf(stderr, "blkwatch: watching %s through the %s source\n",
		o.nr_devices ? "the given devices" : "every block device",
		blknotify_source_name(blknotify_queue_get_source(q)));
	ret = run(q, &o, sig_fd);
	ident = identity_free(ident);
	blknotify_queue_free(q);
	close(sig_fd);
	return ret;
}
