// SPDX-License-Identifier: LGPL-2.1-or-later
/* Handlers: executables run on events, rate-limited, with thresholds (handlers.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <blknotify/blknotify.h>
#include "disk-info.h"
#include "handler-rate.h"
#include "handlers.h"
#include "log.h"
#include "threshold.h"

#define STATE_MAGIC		0x53484e42U	/* "BNHS" */
#define STATE_VERSION		1
#define STATE_SAVE_DELAY_NS	1000000000ULL	/* thresholds' counts: written at most once a second */
#define LINE_MAX_LOGGED		512		/* a longer output line is logged in pieces */
#define ENV_MAX			64
#define ENV_BYTES		8192
#define GROUPS_MAX		64
#ifndef P_PIDFD
#define P_PIDFD			3	/* <linux/wait.h>; glibc < 2.36 lacks it */
#endif
#define HANDLER_PATH		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* epoll tags on the handlers' own epoll fd: slot << 2 | what. */
enum { T_PIDFD = 0, T_OUTPUT = 1, T_TIMER = 2 };

struct handler {
	char name[NAME_MAX + 1];
	enum handler_kind kind;
	unsigned int first, last;
};

struct run {
	__u32 handler;
	__u64 count;
	struct handler_event ev;
};

struct running {
	bool used;
	struct run run;
	char name[NAME_MAX + 1];	/* its handler's: a rescan renumbers them */
	pid_t pid;
	int pidfd, out_fd;
	__u64 deadline_ns;
	bool killed;
	size_t logged;
	char line[LINE_MAX_LOGGED];
	size_t line_len;
};

struct handlers {
	const struct handlers_config *cfg;
	struct blknotify_device_cache *cache;
	struct handler handlers[HANDLERS_MAX];
	unsigned int nr;
	struct rate_table rate;
	struct thresholds thr;
	struct run *queue;		/* a ring of cfg->queue_size */
	unsigned int q_head, q_count;
	struct running *running;	/* cfg->max_running slots */
	unsigned int nr_running;
	int epoll_fd, timer_fd, devnull;
	bool drop_privileges;
	uid_t uid;
	gid_t gid, groups[GROUPS_MAX];
	int nr_groups;
	char user[64];
	__u64 next_id, reserved_id;
	bool started;			/* a stop saves the state */
	bool holding;			/* stopping: nothing starts */
	bool state_dirty;
	__u64 state_due_ns;
	const struct handler_event *current;	/* the record a threshold fired on */
	struct handlers_stats st;
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static __u64 real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- the state file: event IDs, thresholds, and (at a clean stop) what was not reported ---- */

struct state_hdr {
	__u32 magic, version, clean, nr_pending;
	__u64 next_id, reserved_id;
	__u32 nr_serd, reserved;
};

struct state_pending {
	char handler[NAME_MAX + 1];
	__u32 subtype, queued;
	__u64 count;
	struct handler_event ev;
};

struct state_serd {
	__u64 dev, diskseq;
	char rule[32];
	__u32 count, reserved;
	/* then count __u64 times, oldest first */
};

/* snprintf() for messages and paths: a cut message is still a message; a cut path is refused. */
__attribute__((format(printf, 3, 4)))
static bool fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len;
}

static bool put(FILE *f, const void *p, size_t len)
{
	return fwrite(p, 1, len, f) == len;
}

static int handler_index(const struct handlers *h, const char *name)
{
	unsigned int i;

	for (i = 0; i < h->nr; i++)
		if (!strcmp(h->handlers[i].name, name))
			return i;
	return -1;
}

/* Write the state; clean: also the events not reported yet, and the exact next ID. */
static int state_save(struct handlers *h, bool clean)
{
	char tmp[sizeof(h->cfg->state_file) + 8];
	struct state_hdr hdr = { .magic = STATE_MAGIC, .version = STATE_VERSION, .clean = clean };
	__u64 times[THRESHOLD_N_MAX];
	unsigned int i;
	bool ok = true;
	FILE *f;

	h->state_dirty = false;
	hdr.next_id = h->next_id;
	hdr.reserved_id = clean ? h->next_id : h->reserved_id;
	if (clean) {
		for (i = 0; i < h->rate.size; i++)
			hdr.nr_pending += h->rate.e[i].used && h->rate.e[i].pending;
		hdr.nr_pending += h->q_count;
	}
	hdr.nr_serd = h->thr.nr;
	snprintf(tmp, sizeof(tmp), "%s.tmp", h->cfg->state_file);
	f = fopen(tmp, "we");
	if (!f) {
		log_err("cannot write %s: %m; handlers' event IDs and thresholds are not kept", tmp);
		return -errno;
	}
	ok = put(f, &hdr, sizeof(hdr));
	for (i = 0; clean && ok && i < h->rate.size; i++) {
		const struct rate_entry *e = &h->rate.e[i];
		struct state_pending p = { .subtype = e->subtype, .count = e->pending, .ev = e->last };

		if (!e->used || !e->pending)
			continue;
		snprintf(p.handler, sizeof(p.handler), "%s", h->handlers[e->handler].name);
		ok = put(f, &p, sizeof(p));
	}
	for (i = 0; clean && ok && i < h->q_count; i++) {
		const struct run *r = &h->queue[(h->q_head + i) % h->cfg->queue_size];
		struct state_pending p = { .subtype = 0, .queued = 1, .count = r->count, .ev = r->ev };

		snprintf(p.handler, sizeof(p.handler), "%s", h->handlers[r->handler].name);
		ok = put(f, &p, sizeof(p));
	}
	for (i = 0; ok && i < h->thr.nr; i++) {
		struct state_serd s = { .dev = h->thr.e[i].dev, .diskseq = h->thr.e[i].diskseq };

		snprintf(s.rule, sizeof(s.rule), "%s", h->cfg->rules[h->thr.e[i].rule].name);
		s.count = thresholds_times(&h->thr, i, times);
		ok = put(f, &s, sizeof(s)) && put(f, times, s.count * sizeof(times[0]));
	}
	if (fflush(f) || ferror(f))
		ok = false;
	if (fclose(f))
		ok = false;
	if (!ok || rename(tmp, h->cfg->state_file) < 0) {
		log_err("cannot write %s: %m; handlers' event IDs and thresholds are not kept", tmp);
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static bool get(FILE *f, void *p, size_t len)
{
	return fread(p, 1, len, f) == len;
}

/* Read the state before the first event.  A damaged file is set aside, not trusted. */
static void state_load(struct handlers *h)
{
	const char *path = h->cfg->state_file;
	struct state_hdr hdr;
	__u64 times[THRESHOLD_N_MAX], now = mono_ns();
	unsigned int i, restored = 0, queued = 0;
	__u64 events = 0;
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f) {
		if (errno != ENOENT)
			log_warn("cannot read %s: %m; event IDs start again from 1", path);
		return;
	}
	ok = get(f, &hdr, sizeof(hdr)) && hdr.magic == STATE_MAGIC && hdr.version == STATE_VERSION &&
	     hdr.next_id <= hdr.reserved_id && hdr.nr_serd <= THRESHOLD_ENTRIES_MAX;
	if (ok) {
		/* A crash may have used any ID below the reservation: start above it. */
		h->next_id = hdr.clean ? hdr.next_id : hdr.reserved_id;
		if (!h->next_id)
			h->next_id = 1;
	}
	for (i = 0; ok && i < hdr.nr_pending; i++) {
		struct state_pending p;
		int k;

		ok = get(f, &p, sizeof(p)) && memchr(p.handler, 0, sizeof(p.handler)) &&
		     (p.ev.lost || p.ev.len >= BLOCK_NOTIFICATION_SIZE_V0) && p.ev.len <= sizeof(p.ev.rec) &&
		     p.count;
		if (!ok)
			break;
		k = handler_index(h, p.handler);
		if (k < 0 || (p.ev.rule && p.ev.rule > h->cfg->nr_rules)) {
			log_warn("%s: %llu events for handler %s are not reported: it is gone",
				 path, (unsigned long long)p.count, p.handler);
			h->st.lost += p.count;
			continue;
		}
		if (p.queued) {
			/* Queued before the stop: each was a run of its own; now a pending count. */
			p.subtype = p.ev.lost ? RATE_SUBTYPE_LOSS : p.ev.rule ?
				    RATE_SUBTYPE_THRESHOLD(p.ev.rule - 1) : p.ev.rec.watch.subtype;
			queued++;
		}
		if (rate_restore(&h->rate, k, p.subtype, p.count, &p.ev, now) < 0) {
			h->st.lost += p.count;
			log_warn("%s: no room for %llu events of handler %s (handlers_rate_keys)",
				 path, (unsigned long long)p.count, p.handler);
			continue;
		}
		restored++;
		events += p.count;
	}
	for (i = 0; ok && i < hdr.nr_serd; i++) {
		struct state_serd s;

		ok = get(f, &s, sizeof(s)) && s.count <= THRESHOLD_N_MAX && memchr(s.rule, 0, sizeof(s.rule)) &&
		     get(f, times, s.count * sizeof(times[0]));
		if (ok)
			thresholds_restore(&h->thr, s.dev, s.diskseq, s.rule, times, s.count);
	}
	fclose(f);
	if (!ok) {
		log_warn("%s is damaged or of another version; the rest of it is ignored "
			 "(event IDs continue from %llu)", path, (unsigned long long)h->next_id);
		return;
	}
	if (restored)
		log_info("handlers: %llu events not reported before the restart (%u keys, %u were "
			 "queued runs) are reported now", (unsigned long long)events, restored, queued);
}

/* The next event ID, never one a crash could have used: reserve a block on disk first. */
static __u64 next_event_id(struct handlers *h)
{
	if (h->next_id >= h->reserved_id) {
		h->reserved_id = h->next_id + HANDLERS_ID_BLOCK;
		state_save(h, false);
	}
	return h->next_id++;
}

/* ---- the directory ---- */

/* Whether st may hold handlers: root's (or ours), not writable by others. */
static bool secure(const struct stat *st, bool ancestor, char *why, size_t len)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(why, len, "owned by uid %u, not root", (unsigned int)st->st_uid);
		return false;
	}
	/* /tmp and the like: others cannot rename what they do not own in a sticky directory. */
	if ((st->st_mode & S_IWOTH) && !(ancestor && (st->st_mode & S_ISVTX))) {
		snprintf(why, len, "writable by everyone (mode %04o)", (unsigned int)st->st_mode & 07777);
		return false;
	}
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && !(ancestor && (st->st_mode & S_ISVTX))) {
		snprintf(why, len, "writable by group %u (mode %04o)", (unsigned int)st->st_gid,
			 (unsigned int)st->st_mode & 07777);
		return false;
	}
	return true;
}

/* dir (a real path) and every directory above it. */
static bool dir_secure(const char *dir, char *why, size_t len)
{
	char path[PATH_MAX], *slash;
	struct stat st;
	bool ancestor = false;

	snprintf(path, sizeof(path), "%s", dir);
	for (;;) {
		char sub[256];

		if (stat(path[0] ? path : "/", &st) < 0) {
			snprintf(why, len, "%s: %s", path[0] ? path : "/", strerror(errno));
			return false;
		}
		if (!secure(&st, ancestor, sub, sizeof(sub))) {
			fmt(why, len, "directory %s is %s", path[0] ? path : "/", sub);
			return false;
		}
		if (!path[0])
			return true;
		slash = strrchr(path, '/');
		*slash = '\0';
		ancestor = true;
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct handler *)a)->name, ((const struct handler *)b)->name);
}

/* One file of the directory: a handler, or why not (logged). */
static bool consider(struct handlers *h, const char *dir, const char *name, struct handler *out)
{
	char path[PATH_MAX], real[PATH_MAX], why[PATH_MAX + 64], *slash;
	struct stat st;

	if (handler_name_ignored(name))
		return false;
	if (handler_name_parse(name, &out->kind, &out->first, &out->last) < 0) {
		log_info("handlers: ignoring %s/%s: its name does not start with a subtype, a class, "
			 "\"threshold\" or \"all\" and a '-' (docs/handlers.md)", dir, name);
		return false;
	}
	if (!fmt(path, sizeof(path), "%s/%s", dir, name)) {
		log_warn("handlers: ignoring %s/%s: the path is too long", dir, name);
		return false;
	}
	if (!realpath(path, real) || stat(real, &st) < 0) {
		log_warn("handlers: ignoring %s: %m", path);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		log_info("handlers: ignoring %s: not a regular file", path);
		return false;
	}
	if (!secure(&st, false, why, sizeof(why))) {
		log_err("handlers: REFUSING %s: it is %s; only root may be able to change a handler "
			"(chown root and chmod go-w it)", path, why);
		h->st.refused++;
		return false;
	}
	/* A link to a file elsewhere (enabled as ZED's zedlets are): that directory counts too. */
	slash = strrchr(real, '/');
	*slash = '\0';
	if (strcmp(real, dir) && !dir_secure(real, why, sizeof(why))) {
		log_err("handlers: REFUSING %s: %s", path, why);
		h->st.refused++;
		return false;
	}
	if (!(st.st_mode & 0111)) {
		log_info("handlers: ignoring %s: not executable (chmod +x it to enable it)", path);
		return false;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	return true;
}

static void scan(struct handlers *h)
{
	struct handler old[HANDLERS_MAX];
	int map[HANDLERS_MAX];
	unsigned int nr_old = h->nr, i, k;
	char dir[PATH_MAX], why[PATH_MAX + 64];
	struct dirent *de;
	__u64 dropped;
	DIR *d;

	memcpy(old, h->handlers, sizeof(old));
	h->nr = 0;
	h->st.refused = 0;
	if (!realpath(h->cfg->dir, dir)) {
		log_warn("handlers: %s: %m; no handlers run", h->cfg->dir);
		goto renumber;
	}
	if (!dir_secure(dir, why, sizeof(why))) {
		log_err("handlers: REFUSING every handler in %s: %s; only root may be able to change "
			"the handlers", h->cfg->dir, why);
		h->st.refused++;
		goto renumber;
	}
	d = opendir(dir);
	if (!d) {
		log_warn("handlers: %s: %m; no handlers run", dir);
		goto renumber;
	}
	while ((de = readdir(d))) {
		if (h->nr == HANDLERS_MAX) {
			log_err("handlers: more than %d files in %s: the rest are ignored",
				HANDLERS_MAX, dir);
			break;
		}
		if (consider(h, dir, de->d_name, &h->handlers[h->nr]))
			h->nr++;
	}
	closedir(d);
	/* In name order, as ZED runs its zedlets. */
	qsort(h->handlers, h->nr, sizeof(h->handlers[0]), by_name);
renumber:
	for (i = 0; i < nr_old; i++)
		map[i] = handler_index(h, old[i].name);
	dropped = rate_renumber(&h->rate, map, nr_old);
	/* The queued runs too: those of a handler that is gone are not run. */
	for (i = 0, k = 0; i < h->q_count; i++) {
		struct run r = h->queue[(h->q_head + i) % h->cfg->queue_size];

		if (r.handler >= nr_old || map[r.handler] < 0) {
			dropped += r.count;
			continue;
		}
		r.handler = map[r.handler];
		h->queue[(h->q_head + k++) % h->cfg->queue_size] = r;
	}
	h->q_count = k;
	if (dropped) {
		h->st.lost += dropped;
		log_warn("handlers: %llu events of handlers that are gone are not reported",
			 (unsigned long long)dropped);
	}
	log_info("handlers: %u in %s, running as %s%s%s", h->nr, h->cfg->dir, h->user,
		 h->st.refused ? "; some were REFUSED (see above)" : "",
		 h->nr ? "" : " (none yet: see docs/handlers.md)");
	for (i = 0; i < h->nr; i++)
		log_debug("handlers: %s", h->handlers[i].name);
}

/* ---- running ---- */

struct env {
	char *v[ENV_MAX + 1];
	unsigned int nr;
	char buf[ENV_BYTES];
	size_t used;
};

__attribute__((format(printf, 2, 3)))
static void env_add(struct env *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->nr == ENV_MAX || e->used >= sizeof(e->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->used, sizeof(e->buf) - e->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(e->buf) - e->used)
		return;		/* cannot happen with the fields' sizes; never a cut value */
	e->v[e->nr++] = e->buf + e->used;
	e->used += n + 1;
	e->v[e->nr] = NULL;
}

static void env_str(struct env *e, const char *key, const char *s)
{
	char clean[256];

	disk_identity_copy(clean, sizeof(clean), s);
	env_add(e, "%s=%s", key, clean);
}

static const char *transport_name(unsigned int t)
{
	return t == BLOCK_NOTIFY_TRANSPORT_SCSI ? "scsi" : t == BLOCK_NOTIFY_TRANSPORT_NVME ? "nvme" : NULL;
}

static void build_env(struct handlers *h, const struct run *r, struct env *e)
{
	const struct block_notification *b = &r->ev.rec;
	const struct threshold_rule *rule = r->ev.rule ? &h->cfg->rules[r->ev.rule - 1] : NULL;
	struct disk_identity id;
	char name[32], num[16];
	struct tm tm;
	time_t secs = r->ev.realtime_ns / 1000000000ULL;
	char when[64];

	memset(e, 0, sizeof(*e));
	env_add(e, HANDLER_PATH);
	env_add(e, "LANG=C.UTF-8");
	env_add(e, "HOME=/");
	env_add(e, "BLKNOTIFY_HANDLER=%s", h->handlers[r->handler].name);
	env_add(e, "BLKNOTIFY_EVENT_ID=%llu", (unsigned long long)r->ev.id);
	env_add(e, "BLKNOTIFY_EVENTS_SINCE_LAST=%llu", (unsigned long long)r->count);
	if (r->ev.lost) {
		/* Nobody knows whose records they were: no disk, no record. */
		env_add(e, "BLKNOTIFY_SUBTYPE=loss");
		env_add(e, "BLKNOTIFY_CLASS=loss");
		env_add(e, "BLKNOTIFY_LOST=%llu", (unsigned long long)r->ev.lost);
		env_add(e, "BLKNOTIFY_DEVICE=");
		env_add(e, "BLKNOTIFY_DEVNUM=");
		secs = r->ev.realtime_ns / 1000000000ULL;
		gmtime_r(&secs, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		env_add(e, "BLKNOTIFY_TIME=%s.%09lluZ", when,
			(unsigned long long)(r->ev.realtime_ns % 1000000000ULL));
		env_add(e, "BLKNOTIFY_TIME_NS=%llu", (unsigned long long)r->ev.realtime_ns);
		return;
	}
	disk_identity_get(h->cache, b->dev, &id);	/* a cache hit but for a disk's first */
	env_str(e, "BLKNOTIFY_DEVICE", disk_identity_name(&id, name, sizeof(name)));
	env_add(e, "BLKNOTIFY_DEVNUM=%u:%u", major(b->dev), minor(b->dev));
	env_str(e, "BLKNOTIFY_SERIAL", id.serial);
	env_str(e, "BLKNOTIFY_WWN", id.wwn);
	env_str(e, "BLKNOTIFY_BY_ID", id.by_id);
	env_str(e, "BLKNOTIFY_MODEL", id.model);
	if (id.diskseq)
		env_add(e, "BLKNOTIFY_DISKSEQ=%llu", (unsigned long long)id.diskseq);
	disk_identity_put(&id);
	if (rule) {
		env_add(e, "BLKNOTIFY_SUBTYPE=threshold");
		env_add(e, "BLKNOTIFY_CLASS=threshold");
		env_add(e, "BLKNOTIFY_THRESHOLD=%s", rule->name);
		env_add(e, "BLKNOTIFY_THRESHOLD_N=%u", rule->n);
		env_add(e, "BLKNOTIFY_THRESHOLD_T=%u", rule->t_s);
		env_add(e, "BLKNOTIFY_THRESHOLD_COUNT=%u", r->ev.count);
		env_add(e, "BLKNOTIFY_TRIGGER_SUBTYPE=%s",
			name_or_number(blknotify_subtype_name(b->watch.subtype), b->watch.subtype,
				       num, sizeof(num)));
	} else {
		env_add(e, "BLKNOTIFY_SUBTYPE=%s",
			name_or_number(blknotify_subtype_name(b->watch.subtype), b->watch.subtype,
				       num, sizeof(num)));
		env_add(e, "BLKNOTIFY_CLASS=%s", blknotify_subtype_class(b->watch.subtype) ?: "unknown");
	}
	env_add(e, "BLKNOTIFY_SECTOR=%llu", (unsigned long long)b->sector);
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	env_add(e, "BLKNOTIFY_TIME=%s.%09lluZ", when, (unsigned long long)(r->ev.realtime_ns % 1000000000ULL));
	env_add(e, "BLKNOTIFY_TIME_NS=%llu", (unsigned long long)r->ev.realtime_ns);
	if (r->ev.len < BLOCK_NOTIFICATION_SIZE_V1)
		return;
	env_add(e, "BLKNOTIFY_TIME_MONOTONIC=%llu", (unsigned long long)b->time_ns);
	env_add(e, "BLKNOTIFY_NR_SECTORS=%u", b->nr_sectors);
	env_add(e, "BLKNOTIFY_OP=%s", name_or_number(blknotify_op_name(b->op), b->op, num, sizeof(num)));
	env_add(e, "BLKNOTIFY_ERRNO=%d", -b->error);
	if (b->detail & BLOCK_NOTIFY_D_RETRIES)
		env_add(e, "BLKNOTIFY_RETRIES=%u", b->retries);
	if (transport_name(b->transport))
		env_add(e, "BLKNOTIFY_TRANSPORT=%s", transport_name(b->transport));
	if (r->ev.len < BLOCK_NOTIFICATION_SIZE_V2)
		return;
	if (b->detail & BLOCK_NOTIFY_D_STATUS) {
		env_add(e, "BLKNOTIFY_STATUS=0x%04x", b->status);
		env_add(e, "BLKNOTIFY_OPCODE=0x%02x", b->opcode);
		if (b->transport == BLOCK_NOTIFY_TRANSPORT_NVME)
			env_add(e, "BLKNOTIFY_COMMAND_ID=%u", b->command_id);
	}
	if (b->detail & BLOCK_NOTIFY_D_SENSE) {
		env_add(e, "BLKNOTIFY_SENSE_KEY=0x%x", b->sense_key);
		env_add(e, "BLKNOTIFY_ASC=0x%02x", b->asc);
		env_add(e, "BLKNOTIFY_ASCQ=0x%02x", b->ascq);
	}
	if (b->detail & BLOCK_NOTIFY_D_LBA)
		env_add(e, "BLKNOTIFY_DEVICE_LBA=%llu", (unsigned long long)b->device_lba);
	if (b->watch.subtype == NOTIFY_BLOCK_SLOW)
		env_add(e, "BLKNOTIFY_LATENCY_NS=%llu", (unsigned long long)b->latency_ns);
	if (b->watch.subtype == NOTIFY_BLOCK_CAPACITY_CHANGE)
		env_add(e, "BLKNOTIFY_OLD_CAPACITY=%llu", (unsigned long long)b->old_capacity);
}

static int epoll_add(struct handlers *h, int fd, unsigned int slot, unsigned int what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (__u64)slot << 2 | what };

	return epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void arm(struct handlers *h);

/* The child, between fork() and execve(): async-signal-safe calls only. */
static __attribute__((noreturn)) void child(struct handlers *h, int out, const char *path,
					    char *const argv[], char *const envp[])
{
	int devnull = h->devnull;
	sigset_t none;

	setsid();	/* its own process group: a timeout kills everything it started */
	/* dup2() onto itself would keep O_CLOEXEC: move what sits on 0..2 (a daemon started without them). */
	if (out < 3)
		out = fcntl(out, F_DUPFD, 3);
	if (devnull < 3)
		devnull = fcntl(devnull, F_DUPFD, 3);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (out < 0 || devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	if (h->drop_privileges &&
	    (setgroups(h->nr_groups, h->groups) < 0 || setgid(h->gid) < 0 || setuid(h->uid) < 0))
		_exit(126);
	if (chdir("/") < 0)
		_exit(126);
	syscall(SYS_close_range, 3U, ~0U, 0U);	/* everything is O_CLOEXEC already; belt and braces */
	execve(path, argv, envp);
	_exit(127);
}

static bool start(struct handlers *h, const struct run *r)
{
	char path[PATH_MAX];
	char *argv[2];
	struct running *s;
	struct env e;
	unsigned int slot;
	int p[2], pidfd;
	pid_t pid;

	for (slot = 0; h->running[slot].used; slot++)
		;
	s = &h->running[slot];
	snprintf(path, sizeof(path), "%s/%s", h->cfg->dir, h->handlers[r->handler].name);
	build_env(h, r, &e);
	argv[0] = h->handlers[r->handler].name;
	argv[1] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	pid = fork();
	if (pid == 0)
		child(h, p[1], path, argv, e.v);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		goto fail;
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		/* Cannot happen on kernels with BPF; reap it the hard way rather than leak it. */
		log_err("handlers: pidfd_open: %m; killing handler %s", argv[0]);
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(p[0]);
		goto fail;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->run = *r;
	snprintf(s->name, sizeof(s->name), "%s", argv[0]);
	s->pid = pid;
	s->pidfd = pidfd;
	s->out_fd = p[0];
	s->deadline_ns = mono_ns() + h->cfg->timeout_ms * 1000000ULL;
	if (epoll_add(h, pidfd, slot, T_PIDFD) < 0 || epoll_add(h, p[0], slot, T_OUTPUT) < 0)
		log_err("handlers: epoll: %m");	/* the timeout still kills and reaps it */
	h->nr_running++;
	h->st.runs++;
	h->st.coalesced += r->count - 1;
	log_debug("handlers: %s (pid %d): event %llu, %llu events", argv[0], (int)pid,
		  (unsigned long long)r->ev.id, (unsigned long long)r->count);
	arm(h);
	return true;
fail:
	h->st.failed++;
	h->st.lost += r->count;
	log_err("handlers: cannot start %s: %m; %llu events not reported to it", path,
		(unsigned long long)r->count);
	return true;	/* taken: retrying a fork that fails would only spin */
}

/* rate_run_fn: start now, or queue, or refuse (the events stay pending). */
static bool offer(void *ctx, __u32 handler, __u64 count, const struct handler_event *ev)
{
	struct handlers *h = ctx;
	struct run r = { .handler = handler, .count = count, .ev = *ev };

	if (h->holding)
		return false;	/* stopping: pending, saved for the next start */
	if (h->nr_running < h->cfg->max_running && !h->q_count)
		return start(h, &r);
	if (h->q_count < h->cfg->queue_size) {
		h->queue[(h->q_head + h->q_count++) % h->cfg->queue_size] = r;
		return true;
	}
	h->st.queue_full++;
	return false;
}

static bool wants(const struct handler *x, unsigned int subtype)
{
	return x->kind == HANDLER_ALL || (x->kind == HANDLER_SUBTYPES && subtype >= x->first &&
					  subtype <= x->last);
}

static void give(struct handlers *h, const struct handler_event *ev, __u32 key_subtype,
		 enum handler_kind kind)
{
	unsigned int i;

	h->st.events++;
	for (i = 0; i < h->nr; i++) {
		const struct handler *x = &h->handlers[i];

		if (kind == HANDLER_SUBTYPES ? wants(x, ev->rec.watch.subtype) :
		    x->kind == kind || x->kind == HANDLER_ALL)
			rate_event(&h->rate, i, key_subtype, ev, mono_ns(), offer, h);
	}
}

static void fired(void *ctx, unsigned int rule, __u64 dev, unsigned int count)
{
	struct handlers *h = ctx;
	struct handler_event ev = *h->current;
	const struct threshold_rule *r = &h->cfg->rules[rule];

	ev.rule = rule + 1;
	ev.count = count;
	ev.id = next_event_id(h);
	log_warn("threshold %s reached on %u:%u: %u errors within %u s (event %llu)",
		 r->name, major(dev), minor(dev), count, r->t_s, (unsigned long long)ev.id);
	give(h, &ev, RATE_SUBTYPE_THRESHOLD(rule), HANDLER_THRESHOLD);
}

void handlers_record(struct handlers *h, const struct block_notification *b, size_t len,
		     __u64 diskseq, bool hold)
{
	struct handler_event ev = { 0 };
	__u64 rt = real_ns(), mono = mono_ns();

	if (!h)
		return;
	h->holding = hold;
	memcpy(&ev.rec, b, len < sizeof(ev.rec) ? len : sizeof(ev.rec));
	ev.len = len < sizeof(ev.rec) ? len : sizeof(ev.rec);
	ev.id = next_event_id(h);
	/* When it happened, on the wall clock: records read after a restart are older than now. */
	ev.realtime_ns = len >= BLOCK_NOTIFICATION_SIZE_V1 && b->time_ns && b->time_ns <= mono ?
			 rt - (mono - b->time_ns) : rt;
	give(h, &ev, b->watch.subtype, HANDLER_SUBTYPES);
	if (h->cfg->nr_rules) {
		h->current = &ev;
		thresholds_disk(&h->thr, b->dev, diskseq);
		if (thresholds_event(&h->thr, b->dev, b->watch.subtype, ev.realtime_ns, fired, h) < 0)
			log_err("handlers: no memory for a threshold's count");
		h->current = NULL;
		if (!h->state_dirty) {
			h->state_dirty = true;
			h->state_due_ns = mono + STATE_SAVE_DELAY_NS;
		}
	}
	arm(h);
}

void handlers_loss(struct handlers *h, __u64 nr, bool hold)
{
	struct handler_event ev = { .lost = nr };

	if (!h || !nr)
		return;
	h->holding = hold;
	h->st.source_lost += nr;
	ev.id = next_event_id(h);
	ev.realtime_ns = real_ns();
	log_warn("handlers: the source lost %llu records (event %llu)", (unsigned long long)nr,
		 (unsigned long long)ev.id);
	give(h, &ev, RATE_SUBTYPE_LOSS, HANDLER_LOSS);
	arm(h);
}

/* Log the complete lines of s's output, up to handlers_output_max bytes per run. */
static void log_output(struct handlers *h, struct running *s, const char *buf, size_t n, bool end)
{
	const char *name = s->name;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = buf[i];

		if (s->logged >= h->cfg->output_max) {
			h->st.output_truncated += n - i;
			s->line_len = 0;
			return;
		}
		s->logged++;
		if (c != '\n' && s->line_len < sizeof(s->line) - 1) {
			s->line[s->line_len++] = (unsigned char)c < 0x20 && c != '\t' ? '?' : c;
			continue;
		}
		s->line[s->line_len] = '\0';
		log_info("handler %s[%d]: %s", name, (int)s->pid, s->line);
		s->line_len = 0;
		if (c != '\n')
			s->line[s->line_len++] = c;
	}
	if (end && s->line_len) {
		s->line[s->line_len] = '\0';
		log_info("handler %s[%d]: %s", name, (int)s->pid, s->line);
		s->line_len = 0;
	}
}

static void read_output(struct handlers *h, struct running *s, bool end)
{
	char buf[4096];
	unsigned int reads = 0;
	ssize_t n = -1;

	/* At most 64 KiB a turn (256 KiB at its end): a chatty handler does not hold the loop. */
	while (s->out_fd >= 0 && reads++ < (end ? 64U : 16U) && (n = read(s->out_fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;	/* EAGAIN: more later (or never, if a child of it holds the pipe) */
		}
		log_output(h, s, buf, n, false);
	}
	if (end || (s->out_fd >= 0 && n == 0)) {
		log_output(h, s, "", 0, true);
		if (s->out_fd >= 0) {
			epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, s->out_fd, NULL);
			close(s->out_fd);
			s->out_fd = -1;
		}
	}
}

static void start_queued(struct handlers *h)
{
	while (h->q_count && h->nr_running < h->cfg->max_running) {
		struct run r = h->queue[h->q_head];

		h->q_head = (h->q_head + 1) % h->cfg->queue_size;
		h->q_count--;
		start(h, &r);
	}
	rate_flush(&h->rate, mono_ns(), offer, h);
}

static void reap(struct handlers *h, unsigned int slot)
{
	struct running *s = &h->running[slot];
	const char *name = s->name;
	siginfo_t si = { 0 };
	__u64 truncated = h->st.output_truncated;

	if (waitid(P_PIDFD, s->pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	read_output(h, s, true);
	truncated = h->st.output_truncated - truncated;
	if (s->logged >= h->cfg->output_max && h->cfg->output_max)
		log_info("handler %s[%d]: output beyond %u bytes not logged (counted)", name, (int)s->pid,
			 h->cfg->output_max);
	if (s->killed) {
		log_warn("handler %s[%d] (event %llu) was killed after %u ms (handlers_timeout_ms)",
			 name, (int)s->pid, (unsigned long long)s->run.ev.id, h->cfg->timeout_ms);
		h->st.failed++;
	} else if (si.si_code == CLD_EXITED && si.si_status == 0) {
		log_debug("handler %s[%d] (event %llu) exited 0", name, (int)s->pid,
			  (unsigned long long)s->run.ev.id);
	} else if (si.si_code == CLD_EXITED) {
		log_warn("handler %s[%d] (event %llu) failed: exit status %d%s", name, (int)s->pid,
			 (unsigned long long)s->run.ev.id, si.si_status,
			 si.si_status == 127 ? " (could not be executed)" :
			 si.si_status == 126 ? " (could not switch to handlers_user)" : "");
		h->st.failed++;
	} else {
		log_warn("handler %s[%d] (event %llu) failed: killed by signal %s", name, (int)s->pid,
			 (unsigned long long)s->run.ev.id, strsignal(si.si_status));
		h->st.failed++;
	}
	(void)truncated;
	epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, s->pidfd, NULL);
	close(s->pidfd);
	s->used = false;
	h->nr_running--;
	start_queued(h);
}

/* The timer: the nearest of the runs' deadlines, the next rate-limited run due, the state write. */
static void arm(struct handlers *h)
{
	struct itimerspec its = { 0 };
	__u64 next = ~0ULL, now = mono_ns(), due;
	unsigned int i;

	for (i = 0; i < h->cfg->max_running; i++)
		if (h->running[i].used && !h->running[i].killed && h->running[i].deadline_ns < next)
			next = h->running[i].deadline_ns;
	/* Full: a finished run flushes what is due (no spinning on a full queue). */
	if (h->nr_running < h->cfg->max_running || h->q_count < h->cfg->queue_size) {
		due = rate_next_due(&h->rate);
		if (due < next)
			next = due;
	}
	if (h->state_dirty && h->state_due_ns < next)
		next = h->state_due_ns;
	if (next != ~0ULL) {
		if (next <= now)
			next = now + 1;
		its.it_value.tv_sec = next / 1000000000ULL;
		its.it_value.tv_nsec = next % 1000000000ULL;
	}
	timerfd_settime(h->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timer(struct handlers *h)
{
	__u64 ticks, now = mono_ns();
	unsigned int i;

	(void)!read(h->timer_fd, &ticks, sizeof(ticks));
	for (i = 0; i < h->cfg->max_running; i++) {
		struct running *s = &h->running[i];

		if (!s->used || s->killed || now < s->deadline_ns)
			continue;
		kill(-s->pid, SIGKILL);	/* its process group: what it started goes too */
		kill(s->pid, SIGKILL);	/* (a zombie until reaped: the pid is still its) */
		s->killed = true;
		h->st.timeouts++;
	}
	rate_flush(&h->rate, now, offer, h);
	if (h->state_dirty && now >= h->state_due_ns)
		state_save(h, false);
}

void handlers_dispatch(struct handlers *h)
{
	struct epoll_event evs[16];
	int n, i;

	n = epoll_wait(h->epoll_fd, evs, 16, 0);
	for (i = 0; i < n; i++) {
		unsigned int slot = evs[i].data.u64 >> 2, what = evs[i].data.u64 & 3;

		if (what == T_TIMER) {
			timer(h);
			continue;
		}
		if (slot >= h->cfg->max_running || !h->running[slot].used)
			continue;
		if (what == T_OUTPUT)
			read_output(h, &h->running[slot], false);
		else
			reap(h, slot);
	}
	arm(h);
}

void handlers_reload(struct handlers *h)
{
	if (!h)
		return;
	log_info("handlers: SIGHUP: scanning %s again", h->cfg->dir);
	scan(h);
}

void handlers_get_stats(const struct handlers *h, struct handlers_stats *s)
{
	*s = h->st;
	s->rate_evicted = h->rate.evicted;
	s->lost += h->rate.lost;
	s->thresholds_fired = h->thr.fired;
	s->handlers = h->nr;
}

static int resolve_user(struct handlers *h)
{
	const char *name = h->cfg->user[0] ? h->cfg->user : HANDLERS_USER_DEFAULT;
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long n;

	if (geteuid() != 0) {
		struct passwd *me = getpwuid(geteuid());

		snprintf(h->user, sizeof(h->user), "%s", me ? me->pw_name : "the daemon's user");
		if (h->cfg->user[0])
			log_warn("handlers: not running as root: handlers run as %s, not handlers_user %s",
				 h->user, h->cfg->user);
		return 0;
	}
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) || !res) {
		errno = 0;
		n = strtoul(name, &end, 10);
		if (name[0] >= '0' && name[0] <= '9' && !*end && !errno &&
		    !getpwuid_r(n, &pw, buf, sizeof(buf), &res) && res) {
			/* a number with an entry */
		} else if (!h->cfg->user[0] && !getpwnam_r("nobody", &pw, buf, sizeof(buf), &res) && res) {
			log_info("handlers: no user %s; handlers run as nobody", name);
		} else {
			log_err("handlers: handlers_user: no user %s (create it, or name another one)", name);
			return -ENOENT;
		}
	}
	snprintf(h->user, sizeof(h->user), "%s", res->pw_name);
	h->uid = res->pw_uid;
	h->gid = res->pw_gid;
	h->nr_groups = GROUPS_MAX;
	if (getgrouplist(res->pw_name, res->pw_gid, h->groups, &h->nr_groups) < 0) {
		log_warn("handlers: %s is in more than %d groups: only the first count", h->user, GROUPS_MAX);
		h->nr_groups = GROUPS_MAX;
	}
	h->drop_privileges = true;
	if (h->uid == 0)
		log_warn("handlers: handlers run as root (handlers_user = %s)", name);
	return 0;
}

int handlers_new(struct handlers **ret, const struct handlers_config *c,
		 struct blknotify_device_cache *cache, int *fd)
{
	struct handlers *h = calloc(1, sizeof(*h));
	int r;

	*ret = NULL;
	if (!h)
		return -ENOMEM;
	h->cfg = c;
	h->cache = cache;
	h->epoll_fd = h->timer_fd = h->devnull = -1;
	h->next_id = 1;
	h->queue = calloc(c->queue_size, sizeof(*h->queue));
	h->running = calloc(c->max_running, sizeof(*h->running));
	if (!h->queue || !h->running ||
	    (r = rate_init(&h->rate, c->rate_keys, c->interval_ms * 1000000ULL)) < 0) {
		handlers_free(h);
		return -ENOMEM;
	}
	thresholds_init(&h->thr, c->rules, c->nr_rules);
	h->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	h->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (h->epoll_fd < 0 || h->timer_fd < 0 || h->devnull < 0 ||
	    (r = epoll_add(h, h->timer_fd, 0, T_TIMER)) < 0) {
		r = -errno;
		log_err("handlers: cannot set up: %m");
		handlers_free(h);
		return r;
	}
	if ((r = resolve_user(h)) < 0) {
		handlers_free(h);
		return r;
	}
	scan(h);
	state_load(h);
	/* Reserve the first block now: the file is known to be writable before any event. */
	h->reserved_id = h->next_id + HANDLERS_ID_BLOCK;
	if ((r = state_save(h, false)) < 0) {
		log_err("handlers: cannot keep event IDs in %s: create its directory, or set "
			"handlers_state_file", c->state_file);
		handlers_free(h);
		return r;
	}
	log_info("handlers: event IDs from %llu", (unsigned long long)h->next_id);
	rate_flush(&h->rate, mono_ns(), offer, h);	/* what the last run left to report */
	arm(h);
	h->started = true;
	*fd = h->epoll_fd;
	*ret = h;
	return 0;
}

void handlers_free(struct handlers *h)
{
	struct handlers_stats st;
	unsigned int i;

	if (!h)
		return;
	if (h->started) {
		for (i = 0; i < h->cfg->max_running; i++) {
			struct running *s = &h->running[i];

			if (!s->used)
				continue;
			log_info("handlers: stopping: killing %s[%d]", s->name, (int)s->pid);
			kill(-s->pid, SIGKILL);
			read_output(h, s, true);
			close(s->pidfd);
		}
		handlers_get_stats(h, &st);
		if (state_save(h, true) == 0 && (rate_pending(&h->rate) || h->q_count))
			log_info("handlers: %llu events pending and %u queued runs are kept for the next start",
				 (unsigned long long)rate_pending(&h->rate), h->q_count);
		log_info("handlers: %llu events, %llu runs (%llu events coalesced into them), %llu failed, "
			 "%llu timed out, %llu queue full, %llu lost, %llu output bytes not logged, "
			 "%llu rate keys evicted, %llu thresholds fired, %llu records the source lost",
			 (unsigned long long)st.events, (unsigned long long)st.runs,
			 (unsigned long long)st.coalesced, (unsigned long long)st.failed,
			 (unsigned long long)st.timeouts, (unsigned long long)st.queue_full,
			 (unsigned long long)st.lost, (unsigned long long)st.output_truncated,
			 (unsigned long long)st.rate_evicted, (unsigned long long)st.thresholds_fired,
			 (unsigned long long)st.source_lost);
	}
	thresholds_free(&h->thr);
	rate_free(&h->rate);
	if (h->epoll_fd >= 0)
		close(h->epoll_fd);
	if (h->timer_fd >= 0)
		close(h->timer_fd);
	if (h->devnull >= 0)
		close(h->devnull);
	free(h->queue);
	free(h->running);
	free(h);
}
