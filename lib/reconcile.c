// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reconciling the bpf source with ftrace: the one loss the program cannot
 * count itself.
 *
 * Some kernels (this project's 6.18 development host, at least) sometimes run
 * no BPF program at all for a block_rq_error that ftrace, probing the same
 * tracepoint call, records, and count no recursion miss either (bench/
 * RESULTS.md figure 6).  Nothing in the program can see that.  So each queue
 * gets a private tracefs instance, "blknotify-<program ID>", with
 * block:block_rq_error enabled and filtered to the queue's watched devices
 * (and sector ranges), and a tiny buffer (its per-CPU entries + overrun count
 * every event even when the buffer wraps).  The program counts the errors
 * that matched a watch (counters.watched).  When both counts have been still
 * for a while and the ring is empty, ftrace's count minus the program's, less
 * the baseline, is errors the program never ran for: reported as loss.
 *
 * It never reports loss that did not happen:
 *  - the comparison is made only when neither count moved since the previous
 *    sample, at least RECON_SETTLE_NS earlier (ftrace's event and the
 *    program's run are two probes of one tracepoint call: an error between
 *    them is counted by one and not yet by the other);
 *  - a fresh instance's baseline is taken with the program's count read
 *    before the event is enabled, so an error in between counts for the
 *    program only (too little loss, never too much);
 *  - when the watches change, the event is off while the program's
 *    configuration is written and its filter rewritten;
 *  - a deficit that shrinks (the program counted more) is not loss, and the
 *    baseline stays where it was; a traced count that goes down (someone
 *    reset the instance) starts a new baseline.
 * The baseline lives in the program's .bss, so a queue pinned and taken over
 * by another process (blknotifyd restarting) keeps it with the instance.
 *
 * Cost: the ftrace event runs for failed requests only (one write into a
 * per-CPU ring); the reader reads one stats file per CPU at most once per
 * RECON_SETTLE_NS while errors come, then at growing intervals up to
 * RECON_IDLE_NS.  Not used on the block_rq_complete fallback (it would trace
 * every completion).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>

#include "reconcile.h"

#define RECON_SETTLE_NS		(100 * 1000000ULL)	/* counts still this long: compare */
#define RECON_IDLE_NS		(60 * 1000000000ULL)	/* longest interval between checks */
#define RECON_BUFFER_KB		"4"			/* per CPU; overrun counts the rest */
#define RECON_CPUS_MAX		1024
#define RECON_PREFIX		"blknotify-"

struct reconcile {
	char dir[384];			/* the instance */
	__u32 prog_id;
	struct bn_reconcile *state;	/* in the pinned .bss */
	const __u64 *watched;		/* counters.watched, in the .bss */
	int *stats_fds;			/* per_cpu/cpuN/stats */
	unsigned int nr_cpus;
	int timer_fd;
	__u64 timer_due;		/* 0: not armed */
	bool have_sample;
	__u64 last_traced, last_watched, last_ns;
	__u64 interval;
	char filter[2048];		/* as written */
	bool enabled;
};

static const char *const tracing_dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

static __u64 monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
}

/* Say once per process why there is no reconciliation (it is not an error). */
static void say_once(const char *doing, const char *what, int err)
{
	static bool said;

	if (said)
		return;
	said = true;
	fprintf(stderr, "blknotify: %s %s: %s; running without the reconciliation with "
		"ftrace (errors the kernel traces but runs no BPF program for are then not "
		"counted)\n", doing, what, strerror(err));
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[sizeof(((struct reconcile *)0)->dir) + 64];
	size_t len = strlen(text);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = -errno ?: -EIO;
	close(fd);
	return err;
}

static int read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[sizeof(((struct reconcile *)0)->dir) + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

static __u32 kernel_dev(__u64 dev)
{
	return (__u32)(major(dev) << 20 | (minor(dev) & 0xfffff));
}

int reconcile_filter(const struct bn_config *cfg, char *buf, size_t len)
{
	size_t off = 0;
	bool any = false;
	unsigned int i;

	if (!len)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		const struct bn_watch *w = &cfg->watches[i];
		char term[160];
		int n = 0;

		if (!w->active)
			continue;
		if (!w->dev && !w->start && w->end == UINT64_MAX) {
			buf[0] = '\0';	/* every device: no filter */
			return 0;
		}
		n += snprintf(term + n, sizeof(term) - n, "%s(", any ? " || " : "");
		if (w->dev)
			n += snprintf(term + n, sizeof(term) - n, "dev == %" PRIu32, kernel_dev(w->dev));
		if (w->start)
			n += snprintf(term + n, sizeof(term) - n, "%ssector >= %llu",
				      w->dev ? " && " : "", (unsigned long long)w->start);
		if (w->end != UINT64_MAX)
			n += snprintf(term + n, sizeof(term) - n, "%ssector < %llu",
				      w->dev || w->start ? " && " : "", (unsigned long long)w->end);
		n += snprintf(term + n, sizeof(term) - n, ")");
		if (off + n >= len)
			return -ENAMETOOLONG;
		memcpy(buf + off, term, n + 1);
		off += n;
		any = true;
	}
	return any ? 0 : 1;
}

static __u64 field(const char *buf, size_t len, const char *name, bool *found)
{
	size_t nl = strlen(name);
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && !memcmp(p, name, nl) && p[nl] == ':') {
			__u64 v = 0;
			const char *q = p + nl + 1;

			while (q < eol && *q == ' ')
				q++;
			if (q == eol || *q < '0' || *q > '9')
				return 0;
			for (; q < eol && *q >= '0' && *q <= '9'; q++)
				v = v * 10 + (__u64)(*q - '0');
			*found = true;
			return v;
		}
		p = eol + 1;
	}
	return 0;
}

int reconcile_parse_stats(const char *buf, size_t len, __u64 *traced)
{
	bool e = false, o = false, unused = false;
	__u64 n;

	n = field(buf, len, "entries", &e);
	n += field(buf, len, "overrun", &o);
	n += field(buf, len, "commit overrun", &unused);
	n += field(buf, len, "dropped events", &unused);
	n += field(buf, len, "read events", &unused);
	if (!e || !o)
		return -EINVAL;
	*traced = n;
	return 0;
}

/* ftrace's count for the instance, over every CPU. */
static int traced_now(struct reconcile *r, __u64 *traced)
{
	char buf[512];
	__u64 sum = 0, n;
	unsigned int i;

	for (i = 0; i < r->nr_cpus; i++) {
		ssize_t len = pread(r->stats_fds[i], buf, sizeof(buf), 0);

		if (len < 0)
			return -errno;
		if (reconcile_parse_stats(buf, len, &n))
			return -EINVAL;
		sum += n;
	}
	*traced = sum;
	return 0;
}

static void arm(struct reconcile *r, __u64 when)
{
	struct itimerspec its = {};

	if (r->timer_due && r->timer_due <= when)
		return;
	its.it_value.tv_sec = when / 1000000000ULL;
	its.it_value.tv_nsec = when % 1000000000ULL;
	if (timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		r->timer_due = when;
}

/* Remove instances of programs that no longer exist (an owner that crashed). */
static void remove_stale(const char *instances)
{
	char path[256 + 1 + 256];
	struct dirent *de;
	DIR *d = opendir(instances);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long id;
		int fd;

		if (strncmp(de->d_name, RECON_PREFIX, strlen(RECON_PREFIX)))
			continue;
		errno = 0;
		id = strtoul(de->d_name + strlen(RECON_PREFIX), &end, 10);
		if (*end || errno || !id || id > UINT32_MAX)
			continue;
		fd = bpf_prog_get_fd_by_id((__u32)id);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno != ENOENT)
			continue;
		snprintf(path, sizeof(path), "%s/%s", instances, de->d_name);
		rmdir(path);
	}
	closedir(d);
}

static int open_stats(struct reconcile *r)
{
	char path[sizeof(r->dir) + 64];
	unsigned int cpu;

	r->stats_fds = calloc(RECON_CPUS_MAX, sizeof(*r->stats_fds));
	if (!r->stats_fds)
		return -ENOMEM;
	for (cpu = 0; cpu < RECON_CPUS_MAX; cpu++) {
		int fd;

		snprintf(path, sizeof(path), "%s/per_cpu/cpu%u/stats", r->dir, cpu);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;	/* CPU IDs may have holes */
			return -errno;
		}
		r->stats_fds[r->nr_cpus++] = fd;
	}
	return r->nr_cpus ? 0 : -ENOENT;
}

/* Filter and enable (or disable, when nothing is watched) the event. */
static int apply(struct reconcile *r, const struct bn_config *cfg)
{
	char filter[sizeof(r->filter)];
	int nothing, err;

	nothing = reconcile_filter(cfg, filter, sizeof(filter));
	if (nothing < 0)
		return nothing;
	if (strcmp(filter, r->filter)) {
		err = write_file(r->dir, "events/block/block_rq_error/filter", filter[0] ? filter : "0");
		if (err)
			return err;
		snprintf(r->filter, sizeof(r->filter), "%s", filter);
	}
	if (r->enabled != !nothing) {
		err = write_file(r->dir, "events/block/block_rq_error/enable", nothing ? "0" : "1");
		if (err)
			return err;
		r->enabled = !nothing;
	}
	return 0;
}

struct reconcile *reconcile_open(const char *tracing_dir, __u32 prog_id,
				 const struct bn_config *cfg, struct bn_reconcile *state,
				 const __u64 *watched)
{
	char instances[256], cur[sizeof(((struct reconcile *)0)->filter)];
	struct reconcile *r;
	bool fresh;
	__u64 w0, f0 = 0;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->timer_fd = -1;
	r->prog_id = prog_id;
	r->state = state;
	r->watched = watched;
	r->interval = RECON_SETTLE_NS;
	snprintf(instances, sizeof(instances), "%s/instances", tracing_dir);
	remove_stale(instances);
	snprintf(r->dir, sizeof(r->dir), "%s/" RECON_PREFIX "%" PRIu32, instances, prog_id);
	fresh = mkdir(r->dir, 0700) == 0;
	if (!fresh && errno != EEXIST) {
		say_once("cannot make the tracefs instance", r->dir, errno);
		free(r);
		return NULL;
	}
	err = open_stats(r);
	if (!err && fresh)
		err = write_file(r->dir, "buffer_size_kb", RECON_BUFFER_KB);
	if (!err && !fresh) {
		/* Taken over with a pinned queue: as the last owner left it? */
		if (read_file(r->dir, "events/block/block_rq_error/filter", cur, sizeof(cur)) == 0)
			snprintf(r->filter, sizeof(r->filter), "%s", strcmp(cur, "none") ? cur : "");
		if (read_file(r->dir, "events/block/block_rq_error/enable", cur, sizeof(cur)) == 0)
			r->enabled = cur[0] == '1';
	}
	if (!err) {
		char want[sizeof(r->filter)];
		int nothing = reconcile_filter(cfg, want, sizeof(want));

		if (nothing < 0)
			err = nothing;
		else if (!fresh && (strcmp(want, r->filter) || r->enabled != !nothing))
			state->valid = 0;	/* counted under another filter: a new baseline */
	}
	/*
	 * A fresh baseline: both counts before the event is on.  An error
	 * between the two reads and the enable counts for the program only
	 * (too little loss, never too much); one after it counts for both.
	 */
	w0 = __atomic_load_n(watched, __ATOMIC_SEQ_CST);
	if (!err && fresh)
		err = traced_now(r, &f0);
	if (!err)
		err = apply(r, cfg);
	if (!err && fresh) {
		state->base = f0 - w0;
		state->traced = f0;
		state->valid = 1;
	}
	if (!err) {
		r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (r->timer_fd < 0)
			err = -errno;
	}
	/* The first check: a miss with nothing after it is found too. */
	if (!err)
		arm(r, monotonic_ns() + RECON_SETTLE_NS);
	if (err) {
		say_once("cannot set up the tracefs instance", r->dir, -err);
		reconcile_close(r, fresh);
		return NULL;
	}
	return r;
}

int reconcile_fd(const struct reconcile *r)
{
	return r ? r->timer_fd : -1;
}

void reconcile_pause(struct reconcile *r)
{
	if (!r || !r->enabled)
		return;
	if (write_file(r->dir, "events/block/block_rq_error/enable", "0") == 0)
		r->enabled = false;
	else
		r->state->valid = 0;
}

void reconcile_resume(struct reconcile *r, const struct bn_config *cfg)
{
	if (!r)
		return;
	/* Whatever failed here: no loss is reported until a new baseline. */
	if (apply(r, cfg))
		r->state->valid = 0;
	r->have_sample = false;
}

__u64 reconcile_check(struct reconcile *r)
{
	struct bn_reconcile *st;
	__u64 now, w, f, due, loss = 0;
	__s64 d;

	if (!r)
		return 0;
	now = monotonic_ns();
	if (r->timer_due && now >= r->timer_due) {
		__u64 v;

		if (read(r->timer_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return 0;
		r->timer_due = 0;
	}
	w = __atomic_load_n(r->watched, __ATOMIC_SEQ_CST);
	if (r->have_sample && w != r->last_watched)
		r->interval = RECON_SETTLE_NS;	/* errors are coming */
	due = r->have_sample ? r->last_ns + r->interval : now;
	if (now < due) {
		arm(r, due);
		return 0;
	}
	if (traced_now(r, &f))
		return 0;
	if (!r->have_sample || f != r->last_traced || w != r->last_watched) {
		r->have_sample = true;
		r->last_traced = f;
		r->last_watched = w;
		r->last_ns = now;
		r->interval = RECON_SETTLE_NS;
		arm(r, now + r->interval);
		return 0;
	}
	/* Neither count moved for r->interval: nothing is in flight. */
	st = r->state;
	if (f < st->traced)
		st->valid = 0;		/* the instance was reset */
	st->traced = f;
	if (!st->valid) {
		st->base = f - w;
		st->valid = 1;
	} else {
		d = (__s64)((f - w) - st->base);
		if (d > 0) {
			loss = (__u64)d;
			st->base = f - w;
		}
	}
	r->last_ns = now;
	r->interval = r->interval * 10 < RECON_IDLE_NS ? r->interval * 10 : RECON_IDLE_NS;
	arm(r, now + r->interval);
	return loss;
}

static void close_fds(struct reconcile *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_cpus; i++)
		close(r->stats_fds[i]);
	free(r->stats_fds);
	r->stats_fds = NULL;
	r->nr_cpus = 0;
	if (r->timer_fd >= 0)
		close(r->timer_fd);
	r->timer_fd = -1;
}

void reconcile_close(struct reconcile *r, bool remove_instance)
{
	if (!r)
		return;
	close_fds(r);		/* an instance with open files cannot go */
	if (remove_instance)
		rmdir(r->dir);
	free(r);
}

void reconcile_remove(__u32 prog_id)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(tracing_dirs) / sizeof(tracing_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/instances/" RECON_PREFIX "%" PRIu32,
			 tracing_dirs[i], prog_id);
		if (rmdir(path) == 0 || errno != ENOENT)
			break;
	}
	/* And those other owners left (pins removed by hand, a crash). */
	for (i = 0; i < sizeof(tracing_dirs) / sizeof(tracing_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/instances", tracing_dirs[i]);
		remove_stale(path);
	}
}
