// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotify-history: what blknotifyd's history holds (blknotify-history(1)),
 * without SQL: the errors and losses in a time range, on a disk, of a
 * subtype, one line (or JSON object) each, or a summary per disk.  Reads
 * the database read-only; blknotifyd may be writing it meanwhile (WAL).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <blknotify/blknotify.h>
#include "history-daemon.h"
#include "history-time.h"
#include "wall-time.h"

#define HISTORY_PATH_DEFAULT	"/var/lib/blknotify/history.db"
#define APPLICATION_ID		0x626c6b68	/* daemon/history.h */
#define SCHEMA_VERSION		1

struct options {
	const char *path;
	int64_t since_ns, until_ns;
	bool dev_set;
	__u64 dev;
	const char *name, *serial;
	unsigned int sub_lo, sub_hi;
	bool summary, json, utc;
	bool daemon;			/* through blknotifyd (--daemon, --socket, or EACCES) */
	const char *socket;
	long long lines;		/* -1: all */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: blknotify-history [OPTIONS]\n"
"Show the block I/O errors and losses blknotifyd stored in its history.\n"
"\n"
"  -f, --file PATH        the history (default " HISTORY_PATH_DEFAULT ";\n"
"                         blknotifyd.conf's history_path)\n"
"  -S, --since TIME       from TIME on (as journalctl: \"2026-12-02 10:00:00\",\n"
"                         today, yesterday, -1h, \"1 hour ago\", @EPOCH...)\n"
"  -U, --until TIME       up to TIME\n"
"  -d, --device DEV       one disk: kernel name (sda), MAJ:MIN or /dev path\n"
"      --serial SERIAL    the disk with this serial number\n"
"  -t, --subtype NAME     one subtype (io, medium, ...) or class (error, soft,\n"
"                         lifecycle, perf)\n"
"  -n, --lines N          the newest N rows only\n"
"  -s, --summary          per disk: errors by subtype and operation, first and\n"
"                         last time, distinct sectors; and the losses\n"
"  -j, --json             one JSON object per line\n"
"      --utc              times in UTC\n"
"      --daemon           ask blknotifyd (its policy decides which disks' rows\n"
"                         you get); the default when the file is not readable\n"
"      --socket PATH      blknotifyd's socket (implies --daemon)\n"
"  -h, --help             show this help\n"
"  -V, --version          show the version\n"
"\n"
"Losses (records the daemon could not store, with their count when known) are\n"
"shown whatever the disk and subtype filters.  Exit status: 0 success, 1 the\n"
"history cannot be read, 2 bad usage.  See blknotify-history(1).\n");
}

static int64_t realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void format_time(int64_t ns, bool utc, char *buf, size_t len)
{
	wall_time_format(ns, utc, WALL_TIME_JOURNAL, buf, len);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? (const char *)t : NULL;
}

static const char *reason_name(int reason)
{
	switch (reason) {
	case 1: return "source";
	case 2: return "history_queue";
	case 3: return "crash";
	}
	return "unknown";
}

/* The filters, as SQL on events e (and disks d); ?1..?8 bound by bind_filters(). */
#define WHERE_TIME "e.time >= ?1 AND e.time <= ?2"
#define WHERE_DISK "(?3 IS NULL OR e.dev = ?3) AND (?4 IS NULL OR d.name = ?4) AND " \
	"(?5 IS NULL OR d.serial = ?5) AND e.subtype BETWEEN ?6 AND ?7"

static void bind_filters(sqlite3_stmt *s, const struct options *o)
{
	sqlite3_bind_int64(s, 1, o->since_ns);
	sqlite3_bind_int64(s, 2, o->until_ns);
	if (o->dev_set)
		sqlite3_bind_int64(s, 3, o->dev);
	if (o->name)
		sqlite3_bind_text(s, 4, o->name, -1, SQLITE_STATIC);
	if (o->serial)
		sqlite3_bind_text(s, 5, o->serial, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, o->sub_lo);
	sqlite3_bind_int(s, 7, o->sub_hi);
	sqlite3_bind_int64(s, 8, o->lines);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK) {
		fprintf(stderr, "blknotify-history: cannot query the history: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static void print_loss(sqlite3_stmt *s, const struct options *o, char *when)
{
	bool known = sqlite3_column_type(s, 22) != SQLITE_NULL;
	long long lost = sqlite3_column_int64(s, 22);
	const char *reason = reason_name(sqlite3_column_int(s, 23));

	if (o->json) {
		printf("{\"type\":\"loss\",\"time\":\"%s\",\"time_ns\":%lld,\"nr_lost\":", when,
		       (long long)sqlite3_column_int64(s, 1));
		if (known)
			printf("%lld", lost);
		else
			printf("null");
		printf(",\"reason\":\"%s\"}\n", reason);
	} else if (known) {
		printf("%s LOSS: %lld records lost (%s)\n", when, lost, reason);
	} else {
		printf("%s LOSS: records lost, how many is not known (%s)\n", when, reason);
	}
}

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "?";
}

static int list(sqlite3 *db, const struct options *o)
{
	static const char sql[] =
		"SELECT * FROM (SELECT e.id, e.time, e.kind, e.dev, e.subtype, e.op, e.flags, e.sector,"
		" e.nr_sectors, e.error, e.mono, e.retries, e.transport, e.detail, e.status,"
		" e.command_id, e.sense_key, e.asc, e.ascq, e.opcode, e.device_lba, e.value, e.lost,"
		" e.reason, e.watch, d.name, d.serial, d.wwn, d.by_id, d.model, d.diskseq, e.source"
		" FROM events e LEFT JOIN disks d ON d.id = e.disk"
		" WHERE " WHERE_TIME " AND (e.kind = 1 OR (" WHERE_DISK "))"
		" ORDER BY e.id DESC LIMIT ?8) ORDER BY id";
	static const char *const v2[] = { "status", "command_id", "sense_key", "asc", "ascq",
					  "opcode", "device_lba", "value" };
	sqlite3_stmt *s;
	char when[64];
	int rc, i;

	if (prepare(db, sql, &s) < 0)
		return 1;
	bind_filters(s, o);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		__u64 dev = sqlite3_column_int64(s, 3);
		unsigned int subtype = sqlite3_column_int(s, 4), op = sqlite3_column_int(s, 5);
		const char *sname = blknotify_subtype_name(subtype), *oname = blknotify_op_name(op);
		const char *name = col_text(s, 25);
		char devnum[32], fallback[16];
		bool ext = sqlite3_column_type(s, 5) != SQLITE_NULL;
		bool v2ext = sqlite3_column_type(s, 14) != SQLITE_NULL;

		format_time(sqlite3_column_int64(s, 1), o->utc, when, sizeof(when));
		if (sqlite3_column_int(s, 2) == 1) {
			print_loss(s, o, when);
			continue;
		}
		snprintf(devnum, sizeof(devnum), "%u:%u", major(dev), minor(dev));
		if (!sname) {
			snprintf(fallback, sizeof(fallback), "%u", subtype);
			sname = fallback;
		}
		if (!oname)
			oname = "unknown";
		if (!o->json) {
			printf("%s %s (%s) %s", when, name ? name : devnum, devnum, sname);
			if (ext)
				printf(" %s", oname);
			printf(" sector %llu", (unsigned long long)sqlite3_column_int64(s, 7));
			if (ext)
				printf(" +%lld %s", (long long)sqlite3_column_int64(s, 8),
				       errno_name(-sqlite3_column_int(s, 9)));
			if (col_text(s, 26))
				printf(" serial %s", col_text(s, 26));
			if (col_text(s, 27))
				printf(" wwn %s", col_text(s, 27));
			if (v2ext && sqlite3_column_int(s, 12))
				printf(" status 0x%x sense %x/%02x/%02x", sqlite3_column_int(s, 14),
				       sqlite3_column_int(s, 16), sqlite3_column_int(s, 17),
				       sqlite3_column_int(s, 18));
			putchar('\n');
			continue;
		}
		printf("{\"type\":\"error\",\"time\":\"%s\",\"time_ns\":%lld,\"dev\":\"%s\",\"disk\":",
		       when, (long long)sqlite3_column_int64(s, 1), devnum);
		json_str(name ? name : devnum);
		printf(",\"subtype\":\"%s\",\"subtype_nr\":%u,\"sector\":%llu,\"id\":%d", sname, subtype,
		       (unsigned long long)sqlite3_column_int64(s, 7), sqlite3_column_int(s, 24));
		if (ext)
			printf(",\"op\":\"%s\",\"op_nr\":%u,\"flags\":%d,\"nr_sectors\":%lld,"
			       "\"error\":\"%s\",\"errno\":%d,\"mono_ns\":%lld,\"retries\":%d,"
			       "\"transport\":%d,\"detail\":%d", oname, op, sqlite3_column_int(s, 6),
			       (long long)sqlite3_column_int64(s, 8), errno_name(-sqlite3_column_int(s, 9)),
			       -sqlite3_column_int(s, 9), (long long)sqlite3_column_int64(s, 10),
			       sqlite3_column_int(s, 11), sqlite3_column_int(s, 12),
			       sqlite3_column_int(s, 13));
		if (v2ext)
			for (i = 0; i < 8; i++)
				printf(",\"%s\":%llu", v2[i],
				       (unsigned long long)sqlite3_column_int64(s, 14 + i));
		for (i = 26; i <= 29; i++) {
			static const char *const keys[] = { "serial", "wwn", "by_id", "model" };

			if (col_text(s, i)) {
				printf(",\"%s\":", keys[i - 26]);
				json_str(col_text(s, i));
			}
		}
		if (sqlite3_column_type(s, 30) != SQLITE_NULL)
			printf(",\"diskseq\":%lld", (long long)sqlite3_column_int64(s, 30));
		{
			const char *src = blknotify_source_name(sqlite3_column_int(s, 31));

			printf(",\"source\":\"%s\"}\n", src ? src : "unknown");
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "blknotify-history: reading the history: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	return 0;
}

static int summary_losses(sqlite3 *db, const struct options *o)
{
	static const char sql[] =
		"SELECT e.reason, count(*), sum(e.lost), sum(e.lost IS NULL) FROM events e"
		" WHERE " WHERE_TIME " AND e.kind = 1 GROUP BY e.reason ORDER BY e.reason";
	long long rows = 0, lost = 0, unknown = 0;
	sqlite3_stmt *s;
	bool first = true;
	int rc;

	if (prepare(db, sql, &s) < 0)
		return 1;
	bind_filters(s, o);
	if (o->json)
		printf("{\"type\":\"losses\",\"by_reason\":{");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		long long n = sqlite3_column_int64(s, 1), l = sqlite3_column_int64(s, 2);
		long long u = sqlite3_column_int64(s, 3);

		rows += n;
		lost += l;
		unknown += u;
		if (o->json)
			printf("%s\"%s\":{\"rows\":%lld,\"lost\":%lld,\"unknown\":%lld}", first ? "" : ",",
			       reason_name(sqlite3_column_int(s, 0)), n, l, u);
		else
			printf("  %s: %lld records lost in %lld loss rows%s\n",
			       reason_name(sqlite3_column_int(s, 0)), l, n,
			       u ? " (some with the count not known)" : "");
		first = false;
	}
	sqlite3_finalize(s);
	if (o->json)
		printf("},\"rows\":%lld,\"lost\":%lld,\"unknown\":%lld}\n", rows, lost, unknown);
	else if (!rows)
		printf("  none\n");
	return rc == SQLITE_DONE ? 0 : 1;
}

static int summary(sqlite3 *db, const struct options *o)
{
	static const char disks_sql[] =
		"SELECT e.disk, e.dev, d.name, d.serial, d.wwn, d.by_id, count(*), min(e.time),"
		" max(e.time), count(DISTINCT e.sector)"
		" FROM events e LEFT JOIN disks d ON d.id = e.disk"
		" WHERE " WHERE_TIME " AND e.kind = 0 AND " WHERE_DISK
		" GROUP BY e.disk, e.dev ORDER BY e.dev, e.disk";
	static const char pairs_sql[] =
		"SELECT e.subtype, e.op, count(*) FROM events e LEFT JOIN disks d ON d.id = e.disk"
		" WHERE " WHERE_TIME " AND e.kind = 0 AND " WHERE_DISK
		" AND e.disk IS ?9 AND e.dev = ?10 GROUP BY e.subtype, e.op ORDER BY 3 DESC, 1, 2";
	sqlite3_stmt *s, *p;
	int rc, r = 0;

	if (prepare(db, disks_sql, &s) < 0 || prepare(db, pairs_sql, &p) < 0)
		return 1;
	bind_filters(s, o);
	if (!o->json)
		printf("Errors by disk:\n");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		__u64 dev = sqlite3_column_int64(s, 1);
		char devnum[32], first[64], last[64];
		const char *name = col_text(s, 2);
		bool comma = false;
		int i;

		snprintf(devnum, sizeof(devnum), "%u:%u", major(dev), minor(dev));
		format_time(sqlite3_column_int64(s, 7), o->utc, first, sizeof(first));
		format_time(sqlite3_column_int64(s, 8), o->utc, last, sizeof(last));
		if (o->json) {
			printf("{\"type\":\"disk\",\"dev\":\"%s\",\"disk\":", devnum);
			json_str(name ? name : devnum);
			for (i = 3; i <= 5; i++) {
				static const char *const keys[] = { "serial", "wwn", "by_id" };

				if (col_text(s, i)) {
					printf(",\"%s\":", keys[i - 3]);
					json_str(col_text(s, i));
				}
			}
			printf(",\"errors\":%lld,\"first\":\"%s\",\"first_ns\":%lld,\"last\":\"%s\","
			       "\"last_ns\":%lld,\"distinct_sectors\":%lld,\"by\":[",
			       (long long)sqlite3_column_int64(s, 6), first,
			       (long long)sqlite3_column_int64(s, 7), last,
			       (long long)sqlite3_column_int64(s, 8),
			       (long long)sqlite3_column_int64(s, 9));
		} else {
			printf("%s (%s)", name ? name : devnum, devnum);
			if (col_text(s, 3))
				printf(" serial %s", col_text(s, 3));
			if (col_text(s, 4))
				printf(" wwn %s", col_text(s, 4));
			printf(": %lld errors, %lld distinct sectors, from %s to %s\n",
			       (long long)sqlite3_column_int64(s, 6), (long long)sqlite3_column_int64(s, 9),
			       first, last);
		}
		sqlite3_reset(p);
		bind_filters(p, o);
		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			sqlite3_bind_int64(p, 9, sqlite3_column_int64(s, 0));
		else
			sqlite3_bind_null(p, 9);
		sqlite3_bind_int64(p, 10, dev);
		while (sqlite3_step(p) == SQLITE_ROW) {
			unsigned int subtype = sqlite3_column_int(p, 0), op = sqlite3_column_int(p, 1);
			const char *sname = blknotify_subtype_name(subtype);
			const char *oname = sqlite3_column_type(p, 1) == SQLITE_NULL ? "unknown" :
					    blknotify_op_name(op);

			if (o->json)
				printf("%s{\"subtype\":\"%s\",\"subtype_nr\":%u,\"op\":\"%s\",\"count\":%lld}",
				       comma ? "," : "", sname ? sname : "unknown", subtype,
				       oname ? oname : "unknown", (long long)sqlite3_column_int64(p, 2));
			else
				printf("  %-16s %-12s %lld\n", sname ? sname : "unknown",
				       oname ? oname : "unknown", (long long)sqlite3_column_int64(p, 2));
			comma = true;
		}
		if (o->json)
			printf("]}\n");
	}
	sqlite3_finalize(s);
	sqlite3_finalize(p);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "blknotify-history: reading the history: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	if (!o->json)
		printf("Losses (records not stored; any disk):\n");
	r = summary_losses(db, o);
	return r;
}

/* The rows blknotifyd's policy lets this user see, in memory; says what was withheld. */
static sqlite3 *open_daemon(const struct options *o, bool denied)
{
	struct history_daemon_query q = {
		.socket = o->socket, .since_ns = o->since_ns, .until_ns = o->until_ns,
		.dev = o->dev_set ? o->dev : 0, .sub_lo = o->sub_lo, .sub_hi = o->sub_hi,
	};
	char why[512];
	__u64 withheld;
	sqlite3 *db;
	int r;

	if (o->dev_set && !o->dev) {
		fprintf(stderr, "blknotify-history: --device 0:0 names no disk\n");
		return NULL;
	}
	r = history_daemon_load(&q, &db, &withheld, why, sizeof(why));
	if (r < 0) {
		if (denied)
			fprintf(stderr, "blknotify-history: %s is readable by root only (it holds "
				"every disk's errors), and asking blknotifyd failed: %s\n", o->path, why);
		else
			fprintf(stderr, "blknotify-history: through blknotifyd: %s\n", why);
		return NULL;
	}
	if (withheld)
		fprintf(stderr, "blknotify-history: %llu rows on disks you may not watch were "
			"withheld by blknotifyd's policy (device_access and privileged_groups in "
			"blknotifyd.conf(5))\n", (unsigned long long)withheld);
	return db;
}

/* The history, read-only; refused unless it is blknotifyd's.  *denied: not readable. */
static sqlite3 *open_history(const char *path, bool *denied)
{
	long long app = -1, version = -1;
	sqlite3_stmt *s;
	sqlite3 *db = NULL;
	int rc;

	if (access(path, R_OK) < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "blknotify-history: no history at %s: set history_path in "
				"blknotifyd.conf(5) and restart blknotifyd, or name the file with --file\n",
				path);
		else if (errno == EACCES)
			*denied = true;	/* ask blknotifyd instead */
		else
			fprintf(stderr, "blknotify-history: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT (SELECT application_id FROM pragma_application_id),"
					" (SELECT user_version FROM pragma_user_version)", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			app = sqlite3_column_int64(s, 0);
			version = sqlite3_column_int64(s, 1);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_OK) {
		fprintf(stderr, "blknotify-history: %s: %s (damaged, or not a database)\n", path,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	if (app != APPLICATION_ID) {
		fprintf(stderr, "blknotify-history: %s is not a blknotify history (application_id "
			"%#llx)\n", path, (unsigned long long)app);
		sqlite3_close(db);
		return NULL;
	}
	if (version > SCHEMA_VERSION) {
		fprintf(stderr, "blknotify-history: %s was written by a newer blknotifyd (schema %lld, "
			"this tool reads up to %d): use that version's blknotify-history\n", path,
			version, SCHEMA_VERSION);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int parse_device(const char *w, struct options *o)
{
	unsigned int maj, min;
	struct stat st;
	int n = -1;

	if (w[0] == '/') {
		if (stat(w, &st) < 0 || !S_ISBLK(st.st_mode))
			return -1;
		o->dev = st.st_rdev;	/* a partition's node names the partition: give the disk */
		o->dev_set = true;
	} else if (sscanf(w, "%u:%u%n", &maj, &min, &n) == 2 && n == (int)strlen(w)) {
		o->dev = makedev(maj, min);
		o->dev_set = true;
	} else if (w[0] && !strchr(w, '/')) {
		o->name = w;
	} else {
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "device", required_argument, NULL, 'd' },
		{ "serial", required_argument, NULL, 1 },
		{ "subtype", required_argument, NULL, 't' },
		{ "lines", required_argument, NULL, 'n' },
		{ "summary", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "utc", no_argument, NULL, 2 },
		{ "daemon", no_argument, NULL, 3 },
		{ "socket", required_argument, NULL, 4 },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct options o = { .path = HISTORY_PATH_DEFAULT, .until_ns = INT64_MAX, .sub_hi = 255,
			     .lines = -1 };
	int64_t now = realtime_us(), us;
	sqlite3 *db = NULL;
	bool denied = false;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "f:S:U:d:t:n:sjhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.path = optarg;
			break;
		case 'S':
		case 'U':
			if (history_parse_time(optarg, now, &us) < 0) {
				fprintf(stderr, "blknotify-history: --%s: \"%s\" is not a time (try "
					"\"2026-12-02 10:00:00\", today, yesterday, -1h or \"1 hour ago\")\n",
					c == 'S' ? "since" : "until", optarg);
				return 2;
			}
			if (c == 'S')
				o.since_ns = us * 1000;
			else
				o.until_ns = us * 1000 + 999;
			break;
		case 'd':
			if (parse_device(optarg, &o) < 0) {
				fprintf(stderr, "blknotify-history: --device: \"%s\" is not a disk (a kernel "
					"name like sda, MAJ:MIN like 8:0, or a block device node)\n", optarg);
				return 2;
			}
			break;
		case 1:
			o.serial = optarg;
			break;
		case 't':
			r = blknotify_subtype_from_name(optarg);
			if (r >= 0) {
				o.sub_lo = o.sub_hi = r;
			} else if (blknotify_subtype_class_range(optarg, &o.sub_lo, &o.sub_hi) < 0) {
				fprintf(stderr, "blknotify-history: --subtype: \"%s\" is neither a subtype "
					"(io, medium, timeout, ...; see blkwatch(1)) nor a class (error, "
					"soft, lifecycle, perf)\n", optarg);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			o.lines = strtoll(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9') {
				fprintf(stderr, "blknotify-history: --lines: \"%s\" is not a count\n", optarg);
				return 2;
			}
			break;
		case 's':
			o.summary = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 2:
			o.utc = true;
			break;
		case 3:
			o.daemon = true;
			break;
		case 4:
			o.daemon = true;
			o.socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("blknotify-history %s\n", BLKNOTIFY_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "blknotify-history: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o.summary && o.lines >= 0) {
		fprintf(stderr, "blknotify-history: --lines does not go with --summary\n");
		return 2;
	}
	if (!o.daemon) {
		db = open_history(o.path, &denied);
		if (!db && !denied)
			return 1;
	}
	if (o.daemon || denied) {
		db = open_daemon(&o, denied);
		if (!db)
			return 1;
	}
	r = o.summary ? summary(db, &o) : list(db, &o);
	sqlite3_close(db);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "blknotify-history: writing the output: %s\n", strerror(errno));
		return 1;
	}
	return r;
}
