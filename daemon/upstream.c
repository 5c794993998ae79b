// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "clients.h"
#include "devices.h"
#include "log.h"
#include "outputs.h"
#include "queue.h"
#include "upstream.h"
#include "watch.h"

static unsigned char upstream_buf[1 << 16] __attribute__((aligned(8)));

/*
 * While the source's watches change (a new one is added before the old one
 * goes, so nothing is missed), one error can match two of them and come
 * twice.  The copies are identical but for the watch ID and adjacent in the
 * source's queue: drop a record identical to one of the last few.  Records
 * with a timestamp only: two distinct errors never share time, disk, sector
 * and operation.
 */
static bool duplicate(struct manager *m, const struct block_notification *b, size_t len)
{
	__u64 key[5];
	unsigned int i;

	if (len < BLOCK_NOTIFICATION_SIZE_V1)
		return false;
	key[0] = b->time_ns;
	key[1] = b->dev;
	key[2] = b->sector;
	key[3] = (__u64)b->nr_sectors << 32 | (__u32)b->error;
	key[4] = (__u64)b->op << 32 | (__u64)b->flags << 16 | b->watch.subtype;
	for (i = 0; i < 8; i++)
		if (!memcmp(m->recent[i], key, sizeof(key)))
			return true;
	memcpy(m->recent[m->recent_next++ % 8], key, sizeof(key));
	return false;
}

/*
 * The source's watches for the clients' watches now: whole disks, or every
 * device.  At most UPSTREAM_DISKS_MAX disks, so that one watch is always free
 * at the source for the next change (new watches go in before old ones go).
 */
#define UPSTREAM_DISKS_MAX	(BN_WATCHES_MAX - 1)

static void upstream_wanted(struct manager *m, bool *all, __u64 *devs, unsigned int *nr)
{
	unsigned int i, j, k;

	/* The outputs count every error on the node (or on their disks), watched by a client or not. */
	*nr = 0;
	*all = outputs_wanted(m, devs, nr, UPSTREAM_DISKS_MAX);
	for (i = 0; !*all && i < BND_CLIENTS_HARD_MAX; i++) {
		const struct client *c = m->clients[i];

		for (j = 0; c && j < BN_WATCHES_MAX; j++) {
			const struct bn_watch *w = &c->cfg.watches[j];

			if (!w->active)
				continue;
			for (k = 0; k < *nr && devs[k] != w->dev; k++)
				;
			if (k < *nr)
				continue;
			if (!w->dev || *nr == UPSTREAM_DISKS_MAX) {
				*all = true;
				return;
			}
			devs[(*nr)++] = w->dev;
		}
	}
}

static int upstream_find(struct manager *m, bool all, __u64 dev)
{
	unsigned int k;

	for (k = 0; k < BN_WATCHES_MAX; k++)
		if (m->up[k].active && m->up[k].all == all && (all || m->up[k].dev == dev))
			return k;
	return -1;
}

static int upstream_add(struct manager *m, bool all, __u64 dev)
{
	unsigned int slot, id, k;
	bool used = true;
	int r;

	for (slot = 0; slot < BN_WATCHES_MAX && m->up[slot].active; slot++)
		;
	if (slot == BN_WATCHES_MAX)
		return -ENOSPC;
	for (id = 0; used; id++)
		for (used = false, k = 0; k < BN_WATCHES_MAX && !used; k++)
			used = m->up[k].active && m->up[k].id == id;
	id--;
	r = all ? blknotify_queue_watch_all(m->upstream, id) :
	    blknotify_queue_watch_device(m->upstream, (dev_t)dev, id);
	if (r < 0)
		return r;
	m->upstream_changes++;
	m->up[slot].active = true;
	m->up[slot].all = all;
	m->up[slot].dev = dev;
	m->up[slot].id = id;
	return 0;
}

/* Whether some client watches dev (0: every device). */
static bool dev_watched(const struct manager *m, __u64 dev)
{
	unsigned int i, j;

	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++)
		for (j = 0; m->clients[i] && j < BN_WATCHES_MAX; j++)
			if (m->clients[i]->cfg.watches[j].active && m->clients[i]->cfg.watches[j].dev == dev)
				return true;
	return false;
}

static int upstream_remove(struct manager *m, unsigned int k)
{
	int r = blknotify_queue_remove_watch(m->upstream, m->up[k].id);

	if (r < 0) {
		log_err("cannot remove a watch at the source: %s", strerror(-r));
		return r;
	}
	m->up[k].active = false;
	m->upstream_changes++;
	return 0;
}

/* Room at the source for a new watch: remove disk watches no client needs any more. */
static void upstream_drop_stale(struct manager *m)
{
	unsigned int k;

	for (k = 0; k < BN_WATCHES_MAX; k++)
		if (m->up[k].active && !m->up[k].all && !dev_watched(m, m->up[k].dev))
			upstream_remove(m, k);
}

static int upstream_add_room(struct manager *m, bool all, __u64 dev)
{
	int r = upstream_add(m, all, dev);

	if (r == -ENOSPC) {
		upstream_drop_stale(m);
		r = upstream_add(m, all, dev);
	}
	return r;
}

/*
 * Add what the clients' watches need and the source lacks; nothing is
 * removed.  Returns 0, or a negative errno when some client's watch is not
 * covered.  *all and devs[*nr] are what is wanted.
 */
static int upstream_widen_to(struct manager *m, bool *all, __u64 *devs, unsigned int *nr)
{
	unsigned int i;
	int r;

	upstream_wanted(m, all, devs, nr);
	for (i = 0; !*all && i < *nr; i++) {
		if (upstream_find(m, false, devs[i]) >= 0)
			continue;
		r = upstream_add_room(m, false, devs[i]);
		if (r < 0) {
			log_warn("cannot watch %u:%u at the source (%s): watching every device",
				 major(devs[i]), minor(devs[i]), strerror(-r));
			*all = true;
		}
	}
	if (*all && upstream_find(m, true, 0) < 0) {
		r = upstream_add_room(m, true, 0);
		if (r < 0) {
			/* Keep what is there rather than open a gap; the caller says so. */
			log_err("cannot watch every device at the source: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

int upstream_widen(struct manager *m)
{
	__u64 devs[UPSTREAM_DISKS_MAX];
	unsigned int nr;
	bool all;

	return upstream_widen_to(m, &all, devs, &nr);
}

/*
 * New watches go in before old ones go out, so no error falls between them;
 * duplicate() drops what comes twice meanwhile.  If a disk cannot be
 * watched, every device is.
 */
int upstream_update(struct manager *m)
{
	__u64 devs[UPSTREAM_DISKS_MAX];
	unsigned int nr, i, k;
	bool all;
	int r;

	r = upstream_widen_to(m, &all, devs, &nr);
	if (r < 0)
		return r;
	for (k = 0; k < BN_WATCHES_MAX; k++) {
		bool wanted = false;

		if (!m->up[k].active)
			continue;
		if (all)
			wanted = m->up[k].all;
		else
			for (i = 0; i < nr && !wanted; i++)
				wanted = !m->up[k].all && m->up[k].dev == devs[i];
		if (!wanted)
			upstream_remove(m, k);
	}
	return 0;
}

void upstream_update_later(struct manager *m)
{
	/* 1 s after the last removal: a flood of ADD/REMOVE changes nothing at the source. */
	m->upstream_pending = true;
	m->upstream_due_ns = now_ns() + UPSTREAM_NARROW_DELAY_MS * 1000000ULL;
	manager_defer(m, UPSTREAM_NARROW_DELAY_MS);
}

/* One record for one of c's watches (bn_fanout() found it matches and passes the filter). */
struct emit_ctx {
	struct manager *m;
	struct client *c;
};

static bool emit(void *ctx, const struct block_notification *rec, size_t len)
{
	struct manager *m = ((struct emit_ctx *)ctx)->m;
	struct client *c = ((struct emit_ctx *)ctx)->c;
	struct bn_watch *w = bn_config_find_watch(&c->cfg, (rec->watch.info & WATCH_INFO_ID) >>
						  WATCH_INFO_ID__SHIFT);

	(void)len;
	if (!w)
		return false;
	/*
	 * The disk went away: its removal record (about the disk the watch was
	 * allowed, whatever the number names now), then the watch's end.
	 */
	if (rec->watch.subtype == NOTIFY_BLOCK_DEVICE_REMOVED && w->dev) {
		cq_push(&c->q, &rec->watch);
		client_mark_dirty(m, c);
		client_end_watch(m, c, w - c->cfg.watches, -ENODEV, "disk %u:%u was removed",
				 major(w->dev), minor(w->dev));
		return true;
	}
	/* Access follows the disk, not its number: is it still the one allowed? */
	if (!device_watch_valid(m, c, w - c->cfg.watches))
		return false;
	cq_push(&c->q, &rec->watch);
	client_mark_dirty(m, c);
	return true;
}

/* Give one upstream record to every client watch that matches it and whose filter admits it. */
static void fan_out(struct manager *m, const struct watch_notification *n, size_t len)
{
	const struct block_notification *b = (const void *)n;
	unsigned int i;

	if (len > sizeof(*b))
		len = sizeof(*b);
	if (duplicate(m, b, len))
		return;
	outputs_record(m, b, len);
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		struct client *c = m->clients[i];

		if (!c || (!c->nr_watches && !c->nr_ended))
			continue;
		client_push_ended(m, c);	/* in order: before what comes after the end */
		bn_fanout(&c->cfg, b, len, emit, &(struct emit_ctx){ .m = m, .c = c });
	}
}

/* The source lost records: nobody knows whose, so every watching client is told. */
static void upstream_loss(struct manager *m, __u64 nr)
{
	unsigned int i;

	m->upstream_lost += nr;
	outputs_loss(m, nr);
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		struct client *c = m->clients[i];

		if (c && c->nr_watches) {
			cq_add_loss(&c->q, nr);
			client_mark_dirty(m, c);
		}
	}
}

bool upstream_lifecycle(const struct manager *m)
{
	return m->upstream && m->upstream->lifecycle;
}

int upstream_readable(struct manager *m)
{
	int i;

	for (i = 0; i < UPSTREAM_READS_PER_WAKEUP; i++) {
		devices_forget(m);	/* disks are looked at again once per batch read */
		const struct watch_notification *n;
		ssize_t len = blknotify_queue_read(m->upstream, upstream_buf, sizeof(upstream_buf), 0);

		if (len == -EAGAIN || len == -EINTR)
			return i;
		if (len < 0)
			return (int)len;
		for (n = (const void *)upstream_buf; BLOCK_NOTIFY_RECORD_OK(n, len);
		     n = BLOCK_NOTIFY_RECORD_NEXT(n, len)) {
			__u32 rlen = BLOCK_NOTIFY_RECORD_LEN(n);

			if (bn_is_loss(n)) {
				upstream_loss(m, bn_loss_count(n));
			} else if (n->type == WATCH_TYPE_BLOCK_NOTIFY &&
				   rlen >= BLOCK_NOTIFICATION_SIZE_V0) {
				m->upstream_records++;
				fan_out(m, n, rlen);
			}
		}
		/* Serve the clients now: the next read (which finds the
		 * source empty and arms its timers) is not on their way. */
		clients_flush_dirty(m);
	}
	return i;
}

/* One daemon per pin: two reading one pinned queue would each get part of it. */
static int lock_pin(struct manager *m, const char *pin, const char **why)
{
	static char msg[512];

	if (mkdir(pin, 0700) < 0 && errno != EEXIST)
		log_warn("cannot create %s: %m", pin);	/* the library says more */
	m->pin_lock_fd = open(pin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->pin_lock_fd >= 0 && flock(m->pin_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(msg, sizeof(msg), "another blknotifyd reads the source pinned at %s: "
			 "stop it, or give this one its own pin_path (or pin_path = none)", pin);
		*why = msg;
		close(m->pin_lock_fd);
		m->pin_lock_fd = -1;
		return -EBUSY;
	}
	return 0;
}

static int open_source(struct manager *m, enum blknotify_source src,
		       struct blknotify_queue **ret, const char **why)
{
	const char *pin = src == BLKNOTIFY_SOURCE_BPF && m->cfg.pin_path[0] ? m->cfg.pin_path : NULL;
	bool slow = m->cfg.slow_io_threshold_ms || m->cfg.slow_io_relative;
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = src, .bpf_pin_path = pin,
		       .flags = m->cfg.bio_errors ? BLKNOTIFY_QUEUE_BPF_BIO : 0,
		       .slow_threshold_ns = m->cfg.slow_io_threshold_ms * 1000000ULL,
		       .slow_relative = m->cfg.slow_io_relative);
	struct blknotify_queue *q = NULL;
	char link[sizeof(m->cfg.pin_path) + 8];
	bool had_pin = false;
	int r;

	*why = NULL;
	if (pin && m->pin_lock_fd < 0 && (r = lock_pin(m, pin, why)) < 0)
		return r;
	if (pin) {
		snprintf(link, sizeof(link), "%s/link", pin);
		had_pin = access(link, F_OK) == 0;
	}

	r = blknotify_queue_new(&q, &opts);
	if (r == -EOPNOTSUPP && slow)
		*why = "slow_io_threshold_ms and slow_io_relative need the bpf source";
	if (r < 0)
		return r;
	r = blknotify_queue_set_size(q, m->cfg.upstream_queue_size);
	if (r >= 0)
		r = blknotify_queue_watch_all(q, 0);
	if (r == -ESTALE && had_pin) {
		/* Pinned by an incompatible version: start afresh; clients see a gap. */
		log_warn("%s; removing it and starting afresh", blknotify_queue_get_error(q));
		blknotify_queue_free(q);
		source_bpf_unpin(pin);
		return open_source(m, src, ret, why);
	}
	if (r < 0) {
		static char msg[512];

		snprintf(msg, sizeof(msg), "%s", blknotify_queue_get_error(q) ?: strerror(-r));
		*why = msg;
		blknotify_queue_free(q);
		return r;
	}
	*ret = q;
	m->pinned = pin != NULL;
	m->resumed = had_pin;
	if (had_pin)
		log_info("took over the source pinned at %s: errors from while no daemon ran follow",
			 pin);
	return 0;
}

static int select_source(struct manager *m)
{
	const char *why, *bpf_why = NULL;
	int r;

	if (m->cfg.source != BLKNOTIFY_SOURCE_AUTO) {
		r = open_source(m, m->cfg.source, &m->upstream, &why);
		if (r < 0) {
			log_err("cannot start source %s: %s", blknotify_source_name(m->cfg.source),
				why ?: strerror(-r));
			return r;
		}
		m->source = m->cfg.source;
		return 0;
	}
	/* auto: the kernel's own implementation where it has one, else BPF, else the log. */
	if (open_source(m, BLKNOTIFY_SOURCE_WATCH_QUEUE, &m->upstream, &why) == 0) {
		m->source = BLKNOTIFY_SOURCE_WATCH_QUEUE;
		return 0;
	}
	log_debug("no native watch queue: %s", why ?: "unavailable");
	r = open_source(m, BLKNOTIFY_SOURCE_BPF, &m->upstream, &why);
	if (r == 0) {
		m->source = BLKNOTIFY_SOURCE_BPF;
		return 0;
	}
	bpf_why = why ?: strerror(-r);
	if (r == -EBUSY) {
		/* BPF works; the pinned queue is in use.  Falling back would hide that. */
		log_err("cannot start source bpf: %s", bpf_why);
		return r;
	}
	r = open_source(m, BLKNOTIFY_SOURCE_KMSG, &m->upstream, &why);
	if (r < 0) {
		log_err("no source works: bpf: %s; kmsg: %s", bpf_why, why ?: strerror(-r));
		return r;
	}
	m->source = BLKNOTIFY_SOURCE_KMSG;
	log_warn("BPF CANNOT LOAD (%s). FALLING BACK TO THE KERNEL LOG (/dev/kmsg): records "
		 "will be lost in an error storm (printk rate limit: 10 lines per 5 s), counted "
		 "where the kernel says so. Fix BPF (root or CAP_BPF+CAP_PERFMON, kernel BTF) "
		 "or set source = kmsg to accept this.", bpf_why);
	return 0;
}

int upstream_start(struct manager *m)
{
	int r = select_source(m);

	if (r < 0)
		return r;
	/* open_source() watched every device, to start the source; nobody asks yet. */
	m->up[0].active = m->up[0].all = true;
	return 0;
}
