// SPDX-License-Identifier: LGPL-2.1-or-later
/* Lifecycle records from the kernel's uevents: see lifecycle.h. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <linux/netlink.h>

#include "lifecycle.h"
#include "uevent-parse.h"
#include "queue.h"
#include "sysfs.h"

#define UEVENT_MSG_MAX	8192	/* the kernel's are at most UEVENT_BUFFER_SIZE (2048) */

struct lc_disk {
	__u64 dev;
	__u64 size;		/* 512-byte sectors */
	__u64 diskseq;		/* 0: the kernel has none */
	bool ro;		/* /sys/block/X/ro */
	bool seen;
	bool resynced;		/* reported added by resync(): its own add uevent may follow */		/* resync(): still there */
};

struct lifecycle {
	int fd;
	int kick_fd;		/* eventfd: readable while records wait in the backlog */
	bool kicked;
	/* Events taken from the socket, not yet read: a ring of records. */
	struct block_notification backlog[LIFECYCLE_BACKLOG_MAX];
	unsigned int head, count;
	struct lc_disk disks[LIFECYCLE_DISKS_MAX];
	unsigned int nr_disks;
	__u64 uncached;		/* disks past LIFECYCLE_DISKS_MAX */
	bool need_resync;	/* the socket overflowed: compare with sysfs */
	char msg[UEVENT_MSG_MAX];
};

/* --- the disk cache --- */

static struct lc_disk *find_disk(struct lifecycle *l, __u64 dev)
{
	unsigned int i;

	for (i = 0; i < l->nr_disks; i++)
		if (l->disks[i].dev == dev)
			return &l->disks[i];
	return NULL;
}

static void forget_disk(struct lifecycle *l, struct lc_disk *d)
{
	*d = l->disks[--l->nr_disks];
}

static int read_attr(__u64 dev, const char *attr, __u64 *val)
{
	char path[96];

	if (bn_sysfs_dev_path(path, sizeof(path), (dev_t)dev, attr))
		return -ENAMETOOLONG;
	return bn_sysfs_read_u64(path, val);
}

/* Cache dev's size and diskseq as sysfs says now; NULL when it is full. */
static struct lc_disk *cache_disk(struct lifecycle *l, __u64 dev)
{
	struct lc_disk *d = find_disk(l, dev);
	__u64 ro;

	if (!d) {
		if (l->nr_disks == LIFECYCLE_DISKS_MAX) {
			if (!l->uncached++)
				fprintf(stderr, "blknotify: more than %d disks: capacity changes "
					"of the others are reported without their old size\n",
					LIFECYCLE_DISKS_MAX);
			return NULL;
		}
		d = &l->disks[l->nr_disks++];
		d->dev = dev;
	}
	if (read_attr(dev, "size", &d->size))
		d->size = 0;
	if (read_attr(dev, "diskseq", &d->diskseq))
		d->diskseq = 0;
	d->ro = read_attr(dev, "ro", &ro) == 0 && ro;
	return d;
}

/* --- the backlog --- */

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void post(struct blknotify_queue *q, __u32 subtype, __u64 dev, __u64 sector, __u64 old)
{
	struct lifecycle *l = q->lifecycle;
	struct block_notification *r;

	if (l->count == LIFECYCLE_BACKLOG_MAX) {
		queue_add_loss(q, 1);	/* resync() only: the socket is not read while full */
		return;
	}
	r = &l->backlog[(l->head + l->count++) % LIFECYCLE_BACKLOG_MAX];
	memset(r, 0, sizeof(*r));
	r->watch.type = WATCH_TYPE_BLOCK_NOTIFY;
	r->watch.subtype = subtype;
	r->watch.info = BLOCK_NOTIFICATION_SIZE_V2;
	r->dev = dev;
	r->sector = sector;
	r->time_ns = monotonic_ns();
	r->old_capacity = old;
}

static void capacity_now(struct blknotify_queue *q, __u64 dev)
{
	struct lc_disk *d = find_disk(q->lifecycle, dev);
	__u64 old = d ? d->size : BLOCK_NOTIFY_CAPACITY_UNKNOWN, size;

	if (read_attr(dev, "size", &size))
		return;		/* gone meanwhile: its removal follows */
	if (d && size == old)
		return;
	d = cache_disk(q->lifecycle, dev);
	post(q, NOTIFY_BLOCK_CAPACITY_CHANGE, dev, size, old);
}

/*
 * DISK_RO= says it (set_disk_ro()); a driver that changed it while its
 * uevents were suppressed (loop while it is configured: losetup -r) sends a
 * plain change after, and the cached state says whether it changed.
 */
static void ro_now(struct blknotify_queue *q, __u64 dev, int disk_ro)
{
	struct lc_disk *d = find_disk(q->lifecycle, dev);
	__u64 v;
	int ro = disk_ro;

	if (ro < 0 && (!d || read_attr(dev, "ro", &v)))
		return;
	if (ro < 0)
		ro = v != 0;
	if (d && d->ro == (bool)ro && disk_ro < 0)
		return;
	if (d)
		d->ro = ro;
	post(q, ro ? NOTIFY_BLOCK_READ_ONLY_SET : NOTIFY_BLOCK_READ_ONLY_CLEARED, dev, 0, 0);
}

void lifecycle_note(struct blknotify_queue *q, const struct watch_notification *n)
{
	const struct block_notification *b = (const void *)n;
	struct lc_disk *d;

	if (!q->lifecycle || n->type != WATCH_TYPE_BLOCK_NOTIFY ||
	    (n->subtype != NOTIFY_BLOCK_READ_ONLY_SET && n->subtype != NOTIFY_BLOCK_READ_ONLY_CLEARED))
		return;
	d = find_disk(q->lifecycle, b->dev);
	if (d)
		d->ro = n->subtype == NOTIFY_BLOCK_READ_ONLY_SET;
}

static void handle_uevent(struct blknotify_queue *q, const struct uevent *ev)
{
	struct lifecycle *l = q->lifecycle;
	__u64 dev = makedev(ev->major, ev->minor);
	struct lc_disk *d;

	if (!ev->block_disk || !ev->have_devnum || !dev)
		return;
	switch (ev->action) {
	case UEVENT_ADD:
		d = find_disk(l, dev);
		if (d && d->resynced) {
			__u64 seq = 0;

			/* The same disk resync() reported: not twice. */
			d->resynced = false;
			if (read_attr(dev, "diskseq", &seq) || seq == d->diskseq)
				break;
		}
		cache_disk(l, dev);
		post(q, NOTIFY_BLOCK_DEVICE_ADDED, dev, 0, 0);
		break;
	case UEVENT_REMOVE:
		d = find_disk(l, dev);
		if (d)
			forget_disk(l, d);
		post(q, NOTIFY_BLOCK_DEVICE_REMOVED, dev, 0, 0);
		break;
	case UEVENT_CHANGE:
		ro_now(q, dev, ev->disk_ro);
		if (ev->media_change)
			post(q, NOTIFY_BLOCK_MEDIA_CHANGE, dev, 0, 0);
		/* RESIZE=1 says so; loop and others change size with a plain change. */
		capacity_now(q, dev);
		break;
	default:
		break;
	}
}

/*
 * The socket overflowed: some uevents are lost.  Once what it held from
 * before the overflow is read (and the backlog is empty), compare the cache
 * with the disks sysfs lists now and report the difference (a disk replaced
 * under the same number has another diskseq: removed, then added).  A disk
 * it reports added may still send its add uevent (sent before, delivered
 * after): that one is dropped.  Read-only changes and media changes cannot
 * be recovered this way.
 */
static void resync(struct blknotify_queue *q)
{
	struct lifecycle *l = q->lifecycle;
	struct dirent *de;
	unsigned int i;
	DIR *dir;

	l->need_resync = false;
	dir = opendir("/sys/block");
	if (!dir)
		return;
	for (i = 0; i < l->nr_disks; i++)
		l->disks[i].seen = false;
	while ((de = readdir(dir))) {
		char path[300];
		struct lc_disk *d;
		__u64 seq = 0, size = 0;
		dev_t dev;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dev", de->d_name);
		if (bn_sysfs_read_devnum(path, &dev))
			continue;
		read_attr(dev, "diskseq", &seq);
		read_attr(dev, "size", &size);
		d = find_disk(l, dev);
		if (d && d->diskseq != seq) {
			post(q, NOTIFY_BLOCK_DEVICE_REMOVED, dev, 0, 0);
			forget_disk(l, d);
			d = NULL;
		}
		if (!d) {
			d = cache_disk(l, dev);
			if (d)
				d->resynced = true;
			post(q, NOTIFY_BLOCK_DEVICE_ADDED, dev, 0, 0);
		} else if (d->size != size) {
			post(q, NOTIFY_BLOCK_CAPACITY_CHANGE, dev, size, d->size);
			d->size = size;
		}
		if (d)
			d->seen = true;
	}
	closedir(dir);
	for (i = 0; i < l->nr_disks;) {
		if (l->disks[i].seen) {
			i++;
			continue;
		}
		post(q, NOTIFY_BLOCK_DEVICE_REMOVED, l->disks[i].dev, 0, 0);
		forget_disk(l, &l->disks[i]);
	}
}

/* One message from the kernel: 1; none left: 0; the socket overflowed: -ENOBUFS. */
static int receive(struct lifecycle *l, struct uevent *ev)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct sockaddr_nl from;
	struct iovec iov = { l->msg, sizeof(l->msg) };
	struct msghdr mh = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = &ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;
	const struct ucred *cred = NULL;
	ssize_t n;

	for (;;) {
		n = recvmsg(l->fd, &mh, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ENOBUFS ? -ENOBUFS : 0;
		break;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred)))
			cred = (const void *)CMSG_DATA(c);
	/* Only the kernel's own: port 0, uid 0, whole (a message cut short is not one). */
	if ((mh.msg_flags & MSG_TRUNC) || from.nl_pid != 0 || !cred || cred->uid != 0 ||
	    lifecycle_parse_uevent(l->msg, (size_t)n, ev))
		memset(ev, 0, sizeof(*ev));
	return 1;
}

void lifecycle_poll(struct blknotify_queue *q)
{
	struct lifecycle *l = q->lifecycle;
	struct uevent ev;
	int r;

	if (!l)
		return;
	if (l->kicked) {
		eventfd_t v;

		eventfd_read(l->kick_fd, &v);
		l->kicked = false;
	}
	/* Not while the backlog is full: the socket's buffer is the rest of the bound. */
	while (l->count + 4 <= LIFECYCLE_BACKLOG_MAX) {
		r = receive(l, &ev);
		if (r == 0 && l->need_resync && !l->count) {
			/* What the socket still held before the overflow is in: now sysfs. */
			resync(q);
			continue;
		}
		if (r == 0)
			return;
		if (r == -ENOBUFS) {
			/* The kernel does not say how many: at least one. */
			queue_add_loss(q, 1);
			l->need_resync = true;
			continue;
		}
		handle_uevent(q, &ev);
	}
}

bool lifecycle_due(const struct blknotify_queue *q, __u64 t_ns)
{
	const struct lifecycle *l = q->lifecycle;

	return l && l->count && l->backlog[l->head].time_ns <= t_ns;
}

ssize_t lifecycle_read_before(struct blknotify_queue *q, __u64 t_ns, void *buf, size_t len)
{
	struct lifecycle *l = q->lifecycle;
	size_t done = 0;
	ssize_t n;

	for (;;) {
		n = queue_take_pending(q, (char *)buf + done, len - done);
		if (n < 0 || q->pending_off < q->pending_len || !lifecycle_due(q, t_ns))
			break;
		done += (size_t)n;
		queue_fanout(q, &l->backlog[l->head]);
		l->head = (l->head + 1) % LIFECYCLE_BACKLOG_MAX;
		l->count--;
	}
	if (n > 0)
		done += (size_t)n;
	/*
	 * What is left waits for the next read: keep the queue's fd readable
	 * for it (the socket may have nothing more to say, and a record that
	 * waits in pending is not in any fd).
	 */
	if (l && (l->count || q->pending_off < q->pending_len) && !l->kicked &&
	    eventfd_write(l->kick_fd, 1) == 0)
		l->kicked = true;
	if (!done && n < 0)
		return n;
	return (ssize_t)done;
}

static int open_monitor(struct lifecycle *l, const char **what)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 /* the kernel's */ };
	int on = 1, size = LIFECYCLE_RCVBUF;

	*what = "socket(NETLINK_KOBJECT_UEVENT)";
	l->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       NETLINK_KOBJECT_UEVENT);
	if (l->fd < 0)
		return -errno;
	/* FORCE past net.core.rmem_max where we may (root); else what the limit allows. */
	if (setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	*what = "SO_PASSCRED";
	if (setsockopt(l->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)))
		return -errno;
	*what = "bind to the kernel's uevent group";
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

void lifecycle_start(struct blknotify_queue *q)
{
	struct lifecycle *l;
	struct dirent *de;
	const char *what;
	DIR *dir;
	int err;

	l = calloc(1, sizeof(*l));
	if (!l) {
		fprintf(stderr, "blknotify: no memory for the uevent monitor: no lifecycle records\n");
		return;
	}
	l->kick_fd = -1;
	err = open_monitor(l, &what);
	if (!err) {
		what = "eventfd";
		l->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		err = l->kick_fd < 0 ? -errno : 0;
	}
	if (!err) {
		what = "epoll";
		err = queue_watch_fd(q, l->fd);
	}
	if (!err)
		err = queue_watch_fd(q, l->kick_fd);
	if (err) {
		fprintf(stderr, "blknotify: %s: %s: this queue gets no lifecycle records "
			"(disk added, removed, capacity, read-only)\n", what, strerror(-err));
		if (l->fd >= 0)
			close(l->fd);
		if (l->kick_fd >= 0)
			close(l->kick_fd);
		free(l);
		return;
	}
	q->lifecycle = l;
	/* The sizes now, for the old size of a capacity change; after the socket is open. */
	dir = opendir("/sys/block");
	while (dir && (de = readdir(dir))) {
		char path[300];
		dev_t dev;

		snprintf(path, sizeof(path), "/sys/block/%s/dev", de->d_name);
		if (de->d_name[0] != '.' && !bn_sysfs_read_devnum(path, &dev))
			cache_disk(l, dev);
	}
	if (dir)
		closedir(dir);
}

int lifecycle_set_rcvbuf(struct blknotify_queue *q, int bytes)
{
	if (!q->lifecycle)
		return -ENOENT;
	if (setsockopt(q->lifecycle->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)))
		return -errno;
	return 0;
}

void lifecycle_stop(struct blknotify_queue *q)
{
	struct lifecycle *l = q->lifecycle;

	if (!l)
		return;
	close(l->fd);	/* also leaves the epoll set */
	close(l->kick_fd);
	free(l);
	q->lifecycle = NULL;
}
