// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The watch_queue source: a kernel with CONFIG_BLK_NOTIFICATIONS (the patch
 * series in kernel/) posts the records into a notification pipe itself.
 *
 * The kernel does what the library's queue promises -- watches with IDs on
 * all devices or one disk, filters, a bounded queue, counted loss -- so in
 * the common case ("direct" mode) every library watch is one kernel watch,
 * the filter is the kernel's, and read() hands over the pipe's bytes as
 * they are.  The kernel watches whole disks, one watch per disk and per
 * queue, so watches it cannot express (a partition, two watches on the
 * same disk or on all disks) switch the queue to "fanout" mode: one
 * kernel watch on all devices, and the library's matching (queue_fanout())
 * on each record.
 *
 * Loss passes through in both modes: the kernel's counted loss record
 * (struct block_notification_loss, 16 bytes) and the 8-byte note a full
 * pipe leaves, which carries no count.
 *
 * A removed disk ends its kernel watches: the kernel posts the disk's
 * NOTIFY_BLOCK_DEVICE_REMOVED record to them (after the disk's errors),
 * then removes them, and the queue gets the watch queue's removal notice
 * (WATCH_META_REMOVAL_NOTIFICATION, 16 bytes, the watch's ID in info, the
 * disk's number as its id).  The consumer gets the removal record, as the
 * bpf and kmsg sources deliver it, and not the notice (they have none);
 * the library's watch stays until it is removed, as there.  The notice
 * marks the kernel watch ended (note_removal()): it is not removed again
 * nor added back for that library watch.  Our own BLOCK_WATCH_REMOVE
 * causes the same notice; those are counted and told apart by order.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
/* O_NOTIFICATION_PIPE, O_NONBLOCK, O_CLOEXEC: <linux/fcntl.h>, not glibc's. */
#include <linux/watch_queue.h>
#include "queue.h"

/* The kernel's bound on a notification pipe (kernel/watch_queue.c). */
#define WQ_NOTES_MAX	512

/* A kernel watch: a disk (or 0: all) and the ID the kernel stamps. */
struct kwatch {
	bool	active;
	bool	ended;		/* the kernel removed it (its disk went away) */
	__u32	id;
	__u64	dev;
};

/* Watch IDs: 0-255 (WATCH_INFO_ID). */
#define WQ_IDS		256

struct wq_state {
	int fd[2];			/* the notification pipe */
	bool fanout;			/* kernel watches all, library matches */
	struct kwatch kw[BN_WATCHES_MAX];
	/*
	 * Removal notices our own BLOCK_WATCH_REMOVE caused (or found caused:
	 * ENOENT) and read() has not seen yet, by watch ID: the pipe delivers
	 * them in order, so the next notice with that ID is one of these while
	 * this is not 0.  A notice lost to a full pipe leaves one too many: the
	 * kernel's next ending of a watch with that ID is then not noticed (its
	 * removal record still is, and removing the watch gets ENOENT, which
	 * is taken as done).
	 */
	__u32 own_removals[WQ_IDS];
};

/* Tests stand in for the kernel here (see queue.h). */
const struct source_watch_queue_kernel *source_watch_queue_kernel;

static int wq_ioctl(int fd, unsigned long req, void *arg)
{
	if (source_watch_queue_kernel)
		return source_watch_queue_kernel->ioctl(fd, req, arg);
	return ioctl(fd, req, arg);
}

static int wq_pipe2(int fd[2], int flags)
{
	if (source_watch_queue_kernel)
		return source_watch_queue_kernel->pipe2(fd, flags);
	return pipe2(fd, flags);
}

static int kwatch_ioctl(struct wq_state *s, unsigned int flags, __u32 id, __u64 dev)
{
	struct block_watch w = { .flags = flags, .watch_id = id, .dev = dev };

	return wq_ioctl(s->fd[0], IOC_WATCH_QUEUE_WATCH_BLOCK, &w) ? -errno : 0;
}

/*
 * The kernel watches the configuration needs, or false when it needs the
 * fanout mode: a partition (sector range), or a disk (or "all") named twice.
 */
static bool direct_watches(const struct bn_config *c, struct kwatch *kw)
{
	unsigned int i, j, n = 0;

	memset(kw, 0, sizeof(*kw) * BN_WATCHES_MAX);
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		const struct bn_watch *w = &c->watches[i];

		if (!w->active)
			continue;
		if (w->start != 0 || w->end != UINT64_MAX)
			return false;
		for (j = 0; j < n; j++)
			if (kw[j].dev == w->dev)
				return false;
		kw[n++] = (struct kwatch){ .active = true, .id = w->id, .dev = w->dev };
	}
	return true;
}

static bool same_kwatch(const struct kwatch *a, const struct kwatch *b)
{
	return a->active == b->active && a->id == b->id && a->dev == b->dev;
}

static int set_kernel_filter(struct blknotify_queue *q, struct wq_state *s, bool fanout)
{
	struct {
		struct watch_notification_filter f;
		struct watch_notification_type_filter tf[BN_FILTERS_MAX];
	} f;
	unsigned int i;

	/* Fanout filters in the library: watch IDs are the library's there. */
	if (fanout || !q->config.filter_on) {
		if (wq_ioctl(s->fd[0], IOC_WATCH_QUEUE_SET_FILTER, NULL))
			return -errno;
		return 0;
	}
	/*
	 * The library dropped the types it does not know, perhaps all of
	 * them; the kernel refuses an empty filter, so keep a type that never
	 * matches (META records other than loss are dropped in read()).
	 */
	memset(&f, 0, sizeof(f));
	f.f.nr_filters = q->config.nr_filters ? q->config.nr_filters : 1;
	for (i = 0; i < q->config.nr_filters && i < BN_FILTERS_MAX; i++)
		f.tf[i] = q->config.filters[i];
	if (!q->config.nr_filters)
		f.tf[0].type = WATCH_TYPE_META;
	if (wq_ioctl(s->fd[0], IOC_WATCH_QUEUE_SET_FILTER, &f))
		return -errno;
	return 0;
}

/*
 * Make the kernel's watches and filter those of q->config.  On failure the
 * kernel may be left between the two: the caller restores q->config and
 * calls this again, or stops the source.
 */
static int sync_kernel(struct blknotify_queue *q, struct wq_state *s)
{
	struct kwatch want[BN_WATCHES_MAX];
	bool fanout = !direct_watches(&q->config, want);
	unsigned int i, j;
	int err;

	if (fanout) {
		memset(want, 0, sizeof(want));
		want[0] = (struct kwatch){ .active = true, .id = 0, .dev = 0 };
	}
	err = set_kernel_filter(q, s, fanout);
	if (err)
		return err;

	/* Remove what is no longer wanted, then add what is new. */
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		bool keep = false;

		if (!s->kw[i].active)
			continue;
		for (j = 0; j < BN_WATCHES_MAX && !keep; j++)
			keep = same_kwatch(&s->kw[i], &want[j]);
		if (keep)
			continue;
		/* One the kernel ended is gone already: nothing to remove. */
		err = s->kw[i].ended ? 0 :
		      kwatch_ioctl(s, BLOCK_WATCH_REMOVE, s->kw[i].id, s->kw[i].dev);
		if (err && err != -ENOENT)
			return err;
		/*
		 * Either way a notice follows: ours, or (ENOENT) the kernel's
		 * for a disk removed meanwhile, which must not end a watch
		 * added later with this ID.
		 */
		if (!s->kw[i].ended && s->kw[i].id < WQ_IDS)
			s->own_removals[s->kw[i].id]++;
		s->kw[i] = (struct kwatch){ .active = false };
	}
	for (j = 0; j < BN_WATCHES_MAX; j++) {
		struct kwatch *slot = NULL;
		bool have = false;

		if (!want[j].active)
			continue;
		for (i = 0; i < BN_WATCHES_MAX; i++) {
			if (same_kwatch(&s->kw[i], &want[j]))
				have = true;
			else if (!s->kw[i].active && !slot)
				slot = &s->kw[i];
		}
		if (have)
			continue;
		/*
		 * An ended watch is "had": its library watch stays, and adding
		 * it again would fail (ENODEV) or follow its number to another
		 * disk, which the kernel never does for a watch.
		 */
		if (!slot)
			return -ENOSPC;		/* cannot happen: as many slots as watches */
		err = kwatch_ioctl(s, 0, want[j].id, want[j].dev);
		if (err)
			return err;
		*slot = want[j];
	}
	s->fanout = fanout;
	return 0;
}

static int explain(struct blknotify_queue *q, int err)
{
	switch (err) {
	case -ENOPKG:
		return queue_set_error(q, -err, "this kernel has no notification pipes "
				       "(CONFIG_WATCH_QUEUE); use the bpf or kmsg source");
	case -ENOTTY:
		return queue_set_error(q, -err, "this kernel has no block notifications "
				       "(CONFIG_BLK_NOTIFICATIONS, the patch series in kernel/); "
				       "use the bpf or kmsg source");
	case -EPERM:
		return queue_set_error(q, -err, "watching block devices needs CAP_SYS_ADMIN; "
				       "run as root or use the daemon source");
	case -ENODEV:
		return queue_set_error(q, -err, "the kernel knows no such block device");
	case -EAGAIN:
		return queue_set_error(q, -err, "too many watches for this user "
				       "(the kernel counts them against RLIMIT_NOFILE)");
	default:
		return queue_set_error(q, -err, "setting up the notification pipe failed: %s",
				       strerror(-err));
	}
}

static void watch_queue_stop(struct blknotify_queue *q)
{
	struct wq_state *s = q->priv;

	if (!s)
		return;
	/* Closing the pipe removes its watches in the kernel. */
	if (s->fd[0] >= 0)
		close(s->fd[0]);
	if (s->fd[1] >= 0)
		close(s->fd[1]);
	free(s);
	q->priv = NULL;
}

static int watch_queue_start(struct blknotify_queue *q)
{
	unsigned int notes = q->size < WQ_NOTES_MAX ? q->size : WQ_NOTES_MAX;
	struct wq_state *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return queue_set_error(q, ENOMEM, "out of memory");
	s->fd[0] = s->fd[1] = -1;
	q->priv = s;

	/* The write end stays open: without a writer, an empty pipe reads EOF. */
	if (wq_pipe2(s->fd, O_NOTIFICATION_PIPE | O_NONBLOCK | O_CLOEXEC))
		return explain(q, -errno);
	if (wq_ioctl(s->fd[0], IOC_WATCH_QUEUE_SET_SIZE, (void *)(uintptr_t)notes))
		return explain(q, -errno);
	/* The kernel holds at most WQ_NOTES_MAX: report the size in effect. */
	q->size = notes;

	err = sync_kernel(q, s);
	if (err)
		return explain(q, err);
	err = queue_watch_fd(q, s->fd[0]);
	if (err)
		return queue_set_error(q, -err, "epoll_ctl: %s", strerror(-err));
	return 0;
}

static int watch_queue_update(struct blknotify_queue *q)
{
	struct wq_state *s = q->priv;
	int err;

	if (!s)
		return -ENOTCONN;
	err = sync_kernel(q, s);
	return err ? explain(q, err) : 0;
}

/*
 * A removal notice (WATCH_META_REMOVAL_NOTIFICATION): one our own
 * BLOCK_WATCH_REMOVE caused, or the kernel ending a disk watch after its
 * disk's removal record.  Mark that kernel watch ended.  Not delivered:
 * the removal record before it is the end the consumer sees.
 */
static void note_removal(struct wq_state *s, const struct watch_notification *w, size_t rl)
{
	__u32 id = (w->info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;
	struct watch_notification_removal r;
	unsigned int i;

	if (id < WQ_IDS && s->own_removals[id]) {
		s->own_removals[id]--;
		return;
	}
	if (rl < sizeof(r))
		return;		/* 8 bytes: not a disk's; the kernel ends no other watch */
	memcpy(&r, w, sizeof(r));	/* the caller's buffer may be unaligned */
	for (i = 0; r.id && i < BN_WATCHES_MAX; i++)
		if (s->kw[i].active && !s->kw[i].ended && s->kw[i].id == id &&
		    s->kw[i].dev == r.id)
			s->kw[i].ended = true;
}

static bool is_removal(const struct watch_notification *w)
{
	return w->type == WATCH_TYPE_META && w->subtype == WATCH_META_REMOVAL_NOTIFICATION;
}

/*
 * Direct mode: the kernel's records are ours.  Drop the removal notes
 * (note_removal()) and any other META record but loss.
 */
static ssize_t read_direct(struct wq_state *s, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(s->fd[0], buf, len);
		size_t in = 0, out = 0;

		if (n < 0)
			return errno == EINTR ? -EAGAIN : -errno;
		if (n == 0)
			return -EAGAIN;
		while (in + sizeof(struct watch_notification) <= (size_t)n) {
			struct watch_notification *w = (void *)((char *)buf + in);
			size_t rl = w->info & WATCH_INFO_LENGTH;

			if (rl < sizeof(*w) || rl > (size_t)n - in)
				return -EPROTO;	/* the kernel never does this */
			if (is_removal(w)) {
				note_removal(s, w, rl);
			} else if (w->type != WATCH_TYPE_META || bn_is_loss(w)) {
				memmove((char *)buf + out, w, rl);
				out += rl;
			}
			in += rl;
		}
		if (out)
			return out;
	}
}

/* Fanout mode: queue an 8-byte (uncounted) loss note after what is pending. */
static void pending_note(struct blknotify_queue *q, const struct watch_notification *w)
{
	struct block_notification_loss l;

	if (q->pending_off == q->pending_len)
		q->pending_off = q->pending_len = 0;
	if (q->pending_loss && sizeof(l) + sizeof(*w) <= sizeof(q->pending) - q->pending_len) {
		bn_make_loss(&l, q->pending_loss);
		memcpy(q->pending + q->pending_len, &l, sizeof(l));
		q->pending_len += sizeof(l);
		q->pending_loss = 0;
	}
	if (sizeof(*w) <= sizeof(q->pending) - q->pending_len) {
		memcpy(q->pending + q->pending_len, w, sizeof(*w));
		q->pending_len += sizeof(*w);
	} else {
		q->pending_loss++;	/* at least one */
	}
}

static ssize_t read_fanout(struct blknotify_queue *q, struct wq_state *s, void *buf, size_t len)
{
	/* At most one record's worth at a time: its fanout fits in pending. */
	unsigned char kbuf[BLOCK_NOTIFICATION_MAX_SIZE];
	ssize_t n;

	for (;;) {
		size_t in = 0;

		n = queue_take_pending(q, buf, len);
		if (n != 0)
			return n;
		n = read(s->fd[0], kbuf, sizeof(kbuf));
		if (n < 0)
			return errno == EINTR ? -EAGAIN : -errno;
		if (n == 0)
			return -EAGAIN;
		while (in + sizeof(struct watch_notification) <= (size_t)n) {
			const struct watch_notification *w = (const void *)(kbuf + in);
			size_t rl = w->info & WATCH_INFO_LENGTH;

			if (rl < sizeof(*w) || rl > (size_t)n - in)
				return -EPROTO;
			if (w->type == WATCH_TYPE_BLOCK_NOTIFY && rl >= BLOCK_NOTIFICATION_SIZE_V0) {
				struct block_notification ev = { 0 };

				memcpy(&ev, w, rl < sizeof(ev) ? rl : sizeof(ev));
				ev.watch.info = (w->info & ~WATCH_INFO_LENGTH) |
						(rl < sizeof(ev) ? rl : sizeof(ev));
				queue_fanout(q, &ev);
			} else if (bn_is_loss(w) && rl >= BLOCK_NOTIFICATION_LOSS_SIZE) {
				const struct block_notification_loss *l = (const void *)w;

				queue_add_loss(q, l->nr_lost);
			} else if (bn_is_loss(w)) {
				pending_note(q, w);
			} else if (is_removal(w)) {
				note_removal(s, w, rl);
			}
			in += rl;
		}
	}
}

static ssize_t watch_queue_read(struct blknotify_queue *q, void *buf, size_t len)
{
	struct wq_state *s = q->priv;

	if (!s)
		return -ENOTCONN;
	if (s->fanout || q->pending_off < q->pending_len || q->pending_loss)
		return read_fanout(q, s, buf, len);
	return read_direct(s, buf, len);
}

const struct source_ops source_watch_queue_ops = {
	.start = watch_queue_start,
	.update = watch_queue_update,
	.read = watch_queue_read,
	.stop = watch_queue_stop,
};
