// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blkwatch --identity.  The record line comes first and is flushed; the
 * identity fields come from libblknotify's device cache (one snapshot per
 * disk, a hit costs a pread() and a poll()), so they ride on the record.
 * The impact (the files on the failed sectors) can take a walk of the
 * mount, so it is its own line after the record, coalesced per (device,
 * range) in a bounded table and rate-bounded, and a lookup skipped by the
 * bound is reported, never silently missing.
 *
 * Through the daemon source, identity is still looked up here (sysfs and
 * udev's database need no privilege) but the files are asked of blknotifyd,
 * whose walk sees every directory: it answers if its policy gives us file
 * names (file_names in blknotifyd.conf(5)) and says so once if not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/sysmacros.h>

#include <blknotify/device.h>
#include "blkwatch-identity.h"

#define IMPACT_TABLE	256		/* ranges remembered */
#define IMPACT_MAX_AGE_NS (60ULL * 1000000000ULL)	/* then looked up again */
#define LOOKUP_BURST	10		/* lookups at once ... */
#define LOOKUP_RATE	10		/* ... and per second after that */

struct impact_entry {
	__u64 dev, sector;
	__u32 nr;
	int err;			/* the lookup's error, or 0 and im */
	struct blknotify_impact *im;
	__u64 made_ns, used;
};

struct identity {
	struct blknotify_device_cache *cache;
	struct blknotify_queue *daemon;	/* ask blknotifyd for the files; NULL: here */
	bool files, refusal_told;
	struct impact_entry table[IMPACT_TABLE];
	unsigned int n;
	__u64 tick, skipped;
	double tokens;
	__u64 tokens_ns;
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

int identity_new(struct identity **ret, bool files, struct blknotify_queue *q)
{
	struct identity *id = calloc(1, sizeof(*id));
	int err;

	if (!id)
		return -ENOMEM;
	if ((err = blknotify_device_cache_new(&id->cache, NULL))) {
		free(id);
		return err;
	}
	id->files = files;
	if (blknotify_queue_get_source(q) == BLKNOTIFY_SOURCE_DAEMON)
		id->daemon = q;
	id->tokens = LOOKUP_BURST;
	id->tokens_ns = mono_ns();
	*ret = id;
	return 0;
}

struct identity *identity_free(struct identity *id)
{
	if (!id)
		return NULL;
	for (unsigned int i = 0; i < id->n; i++)
		blknotify_impact_free(id->table[i].im);
	blknotify_device_cache_free(id->cache);
	free(id);
	return NULL;
}

/* A string as JSON (control characters escaped; other bytes as they are) or as text. */
static void put_str(FILE *f, const char *s, bool json)
{
	if (json)
		fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (json && (c == '"' || c == '\\'))
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, json ? "\\u%04x" : "\\x%02x", c);
		else if (!json && c == ' ')
			fputs("\\x20", f);
		else
			fputc(c, f);
	}
	if (json)
		fputc('"', f);
}

static void put_field(FILE *f, const char *key, const char *val, bool json)
{
	if (!val)
		return;
	fprintf(f, json ? ",\"%s\":" : " %s=", key);
	put_str(f, val, json);
}

static const char *str_or_null(int (*get)(const struct blknotify_device *, const char **),
			       const struct blknotify_device *d)
{
	const char *s;

	return d && get(d, &s) == 0 ? s : NULL;
}

void identity_print(struct identity *id, FILE *f, const struct block_notification *n, bool json)
{
	struct blknotify_device *disk = NULL, *part = NULL;
	const char *mount = NULL;
	uint64_t off = 0;
	int err;

	err = blknotify_device_cache_get(id->cache, (dev_t)n->dev, &disk);
	if (!err)
		err = blknotify_device_locate(disk, n->sector, &part, &off);
	if (!json)
		fputs("  identity:", f);
	if (err) {
		fprintf(f, json ? ",\"identity_error\":\"%s\"" : " unknown (%s)\n", strerror(-err));
		blknotify_device_unref(disk);
		return;
	}
	put_field(f, "serial", str_or_null(blknotify_device_get_serial, disk), json);
	put_field(f, "wwn", str_or_null(blknotify_device_get_wwn, disk), json);
	put_field(f, "model", str_or_null(blknotify_device_get_model, disk), json);
	put_field(f, "by_id", str_or_null(blknotify_device_get_by_id, disk), json);
	if (part != disk) {
		put_field(f, "partition", str_or_null(blknotify_device_get_sysname, part), json);
		fprintf(f, json ? ",\"part_offset\":%llu" : " part_offset=%llu",
			(unsigned long long)off);
	}
	put_field(f, "fs_type", str_or_null(blknotify_device_get_fs_type, part), json);
	put_field(f, "fs_uuid", str_or_null(blknotify_device_get_fs_uuid, part), json);
	blknotify_device_get_mount(part, 0, &mount);
	put_field(f, "mount", mount, json);
	if (!json)
		fputc('\n', f);
	blknotify_device_unref(part);
	blknotify_device_unref(disk);
}

/* A lookup token; false when the storm outran the rate bound. */
static bool take_token(struct identity *id)
{
	__u64 now = mono_ns();

	id->tokens += (double)(now - id->tokens_ns) * LOOKUP_RATE / 1e9;
	if (id->tokens > LOOKUP_BURST)
		id->tokens = LOOKUP_BURST;
	id->tokens_ns = now;
	if (id->tokens < 1)
		return false;
	id->tokens -= 1;
	return true;
}

static int lookup(struct identity *id, const struct block_notification *n, __u32 nr,
		  struct blknotify_impact **ret)
{
	struct blknotify_device *disk = NULL, *part = NULL;
	uint64_t off;
	int err;

	if (id->daemon) {
		err = blknotify_queue_get_impact(id->daemon, n->dev, n->sector, nr, ret);
		if (err == -EACCES && !id->refusal_told) {
			fprintf(stderr, "blkwatch: --identity: no file names: %s\n",
				blknotify_queue_get_error(id->daemon) ?: strerror(-err));
			id->refusal_told = true;
		}
		if (err != -EOPNOTSUPP)		/* else a daemon from before GET_IMPACT */
			return err;
	}
	err = blknotify_device_cache_get(id->cache, (dev_t)n->dev, &disk);
	if (!err)
		err = blknotify_device_locate(disk, n->sector, &part, &off);
	if (!err)
		err = blknotify_device_get_impact(part, off, nr, NULL, ret);
	blknotify_device_unref(part);
	blknotify_device_unref(disk);
	return err;
}

/* The table's entry for the record's range: found, made, or NULL when skipped. */
static struct impact_entry *impact_for(struct identity *id, const struct block_notification *n,
				       __u32 nr)
{
	struct impact_entry *e = NULL;
	unsigned int i, lru = 0;
	__u64 now = mono_ns();

	id->tick++;
	for (i = 0; i < id->n; i++) {
		if (id->table[i].dev == n->dev && id->table[i].sector == n->sector &&
		    id->table[i].nr == nr) {
			e = &id->table[i];
			break;
		}
		if (id->table[i].used < id->table[lru].used)
			lru = i;
	}
	if (e && now - e->made_ns < IMPACT_MAX_AGE_NS) {
		e->used = id->tick;
		return e;
	}
	if (!take_token(id)) {
		id->skipped++;
		return NULL;
	}
	if (!e)
		e = id->n < IMPACT_TABLE ? &id->table[id->n++] : &id->table[lru];
	blknotify_impact_free(e->im);
	*e = (struct impact_entry){ .dev = n->dev, .sector = n->sector, .nr = nr,
				    .made_ns = now, .used = id->tick };
	e->err = lookup(id, n, nr, &e->im);
	if (e->err == -EAGAIN) {	/* blknotifyd's rate bound: not cached, counted */
		e->made_ns = 0;
		id->skipped++;
		return NULL;
	}
	return e;
}

static void print_extent(FILE *f, const struct blknotify_extent *x, bool first, bool json)
{
	if (!json) {
		fputs(first ? " " : "; ", f);
		if (x->kind == BLKNOTIFY_EXTENT_FILE) {
			if (x->path)
				put_str(f, x->path, false);
			else
				fprintf(f, "inode %llu", (unsigned long long)x->inode);
			fprintf(f, " offset %llu", (unsigned long long)x->file_offset);
		} else {
			fputs(x->owner, f);
		}
		fprintf(f, " length %llu", (unsigned long long)x->length);
		return;
	}
	fputs(first ? "{" : ",{", f);
	switch (x->kind) {
	case BLKNOTIFY_EXTENT_FILE:
		if (x->path) {
			fputs("\"path\":", f);
			put_str(f, x->path, true);
			fputc(',', f);
		}
		fprintf(f, "\"inode\":%llu,\"file_offset\":%llu,", (unsigned long long)x->inode,
			(unsigned long long)x->file_offset);
		break;
	case BLKNOTIFY_EXTENT_FREE:
		fputs("\"free\":true,", f);
		break;
	case BLKNOTIFY_EXTENT_METADATA:
		fprintf(f, "\"metadata\":\"%s\",", x->owner);
		break;
	default:
		fputs("\"unknown\":true,", f);
	}
	fprintf(f, "\"dev_offset\":%llu,\"length\":%llu}", (unsigned long long)x->dev_offset,
		(unsigned long long)x->length);
}

void identity_print_impact(struct identity *id, FILE *f, const struct block_notification *n,
			   bool json)
{
	__u32 nr = n->nr_sectors ? n->nr_sectors : 1;
	const struct blknotify_extent *x;
	struct impact_entry *e;

	if (!id->files)
		return;
	e = impact_for(id, n, nr);
	if (json)
		fprintf(f, "{\"type\":\"impact\",\"dev\":\"%u:%u\",\"sector\":%llu,\"nr_sectors\":%u,"
			"\"time_ns\":%llu", major(n->dev), minor(n->dev),
			(unsigned long long)n->sector, nr, (unsigned long long)n->time_ns);
	else
		fputs("  impact:", f);
	if (!e) {
		fputs(json ? ",\"skipped\":true" : " not looked up (rate bound)", f);
	} else if (e->err) {
		fprintf(f, json ? ",\"error\":\"%s\"" : " not known: %s",
			e->err == -EACCES && id->daemon ? "blknotifyd gives no file names (file_names)" :
			e->err == -ENOENT ? "not mounted here" : strerror(-e->err));
	} else {
		fprintf(f, json ? ",\"mount\":" : " (mount ");
		put_str(f, blknotify_impact_get_mount(e->im), json);
		fputs(json ? ",\"impact\":[" : ")", f);
		for (unsigned int i = 0; !blknotify_impact_get_extent(e->im, i, &x); i++)
			print_extent(f, x, i == 0, json);
		fprintf(f, json ? "],\"unnamed\":%u,\"dropped\":%u" : " (%u unnamed, %u dropped)",
			blknotify_impact_get_unnamed(e->im), blknotify_impact_get_dropped(e->im));
	}
	fprintf(f, json ? ",\"lookups_skipped\":%llu}\n" : " [%llu lookups skipped]\n",
		(unsigned long long)id->skipped);
}
