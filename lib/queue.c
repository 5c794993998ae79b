// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The queue object: options, size, filter and watches, and the dispatch to
 * the source that fills it.  What a source has to do itself is in queue.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <blknotify/device.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "queue.h"
#include "sysfs.h"
#include "watch.h"

static const struct source_ops *source_ops_of(enum blknotify_source s)
{
	switch (s) {
	case BLKNOTIFY_SOURCE_BPF:		return &source_bpf_ops;
	case BLKNOTIFY_SOURCE_KMSG:		return &source_kmsg_ops;
	case BLKNOTIFY_SOURCE_WATCH_QUEUE:	return &source_watch_queue_ops;
	case BLKNOTIFY_SOURCE_DAEMON:		return &source_daemon_ops;
	default:				return NULL;
	}
}

int queue_set_error(struct blknotify_queue *q, int err_no, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->error, sizeof(q->error), fmt, ap);
	va_end(ap);
	return -err_no;
}

bool bpf_capable_process(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
	__u64 eff;

	if (syscall(SYS_capget, &hdr, data))
		return false;
	eff = (__u64)data[1].effective << 32 | data[0].effective;
#define CAP(c) (1ULL << (c))
	if (eff & CAP(CAP_SYS_ADMIN))
		return true;
	/* CAP_BPF and CAP_PERFMON exist since 5.8; older kernels need SYS_ADMIN. */
	return (eff & CAP(CAP_BPF)) && (eff & CAP(CAP_PERFMON));
#undef CAP
}

/*
 * Accept options structs from older callers (smaller sz) and reject bytes
 * past the fields this library knows, unless they are zero: a newer caller
 * asking for something we cannot do must not be silently ignored.
 */
bool opts_valid(const void *opts, size_t known)
{
	const unsigned char *p = opts;
	size_t sz = *(const size_t *)opts, i;

	if (sz < sizeof(size_t))
		return false;
	for (i = known; i < sz; i++)
		if (p[i])
			return false;
	return true;
}

#define OPTS_GET(opts, field, def) \
	((opts) && (opts)->sz >= OPTS_KNOWN(blknotify_queue_opts, field) ? (opts)->field : (def))

static enum blknotify_source auto_source(const char *daemon_socket)
{
	if (bpf_capable_process())
		return BLKNOTIFY_SOURCE_BPF;
	/* Not privileged: the daemon if it is there, else say why BPF fails. */
	if (access(daemon_socket, F_OK) == 0)
		return BLKNOTIFY_SOURCE_DAEMON;
	return BLKNOTIFY_SOURCE_BPF;
}

int blknotify_queue_new(struct blknotify_queue **ret, const struct blknotify_queue_opts *opts)
{
	struct blknotify_queue *q;
	enum blknotify_source source;
	const char *sock, *pin;
	unsigned int flags, slow_rel;
	__u64 slow_ns;

	if (!ret)
		return -EINVAL;
	*ret = NULL;
	if (opts && !opts_valid(opts, OPTS_KNOWN(blknotify_queue_opts,
						  blknotify_queue_opts__last_field)))
		return -EINVAL;

	source = OPTS_GET(opts, source, BLKNOTIFY_SOURCE_AUTO);
	flags = OPTS_GET(opts, flags, 0);
	sock = OPTS_GET(opts, daemon_socket, NULL);
	pin = OPTS_GET(opts, bpf_pin_path, NULL);
	if (!sock)
		sock = BLKNOTIFY_DAEMON_SOCKET;
	if (flags & ~(unsigned int)(BLKNOTIFY_QUEUE_BPF_COMPLETE | BLKNOTIFY_QUEUE_KMSG_REPLAY |
				    BLKNOTIFY_QUEUE_BPF_BIO | BLKNOTIFY_QUEUE_BPF_NVME_STATUS |
				    BLKNOTIFY_QUEUE_BPF_NO_RECONCILE))
		return -EINVAL;
	if (strlen(sock) >= 108)	/* sizeof(sockaddr_un.sun_path) */
		return -ENAMETOOLONG;
	if (source == BLKNOTIFY_SOURCE_AUTO)
		source = auto_source(sock);
	if (!source_ops_of(source))
		return -EINVAL;
	slow_ns = OPTS_GET(opts, slow_threshold_ns, 0);
	slow_rel = OPTS_GET(opts, slow_relative, 0);
	if (slow_rel == 1)
		return -EINVAL;
	/* No per-request hook there: refuse, never ignore it. */
	if ((slow_ns || slow_rel) && (source == BLKNOTIFY_SOURCE_KMSG ||
				      source == BLKNOTIFY_SOURCE_WATCH_QUEUE))
		return -EOPNOTSUPP;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->ops = source_ops_of(source);
	q->source = source;
	q->flags = flags;
	q->size = BLKNOTIFY_QUEUE_SIZE_DEFAULT;
	bn_config_init(&q->config);
	q->daemon_socket = strdup(sock);
	q->pin_path = pin ? strdup(pin) : NULL;
	q->slow_threshold_ns = slow_ns;
	q->slow_relative = slow_rel;
	q->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!q->daemon_socket || (pin && !q->pin_path) || q->epoll_fd < 0) {
		int err = q->epoll_fd < 0 ? -errno : -ENOMEM;

		blknotify_queue_free(q);
		return err;
	}
	*ret = q;
	return 0;
}

struct blknotify_queue *blknotify_queue_free(struct blknotify_queue *q)
{
	if (!q)
		return NULL;
	if (q->started || q->priv)
		q->ops->stop(q);
	if (q->epoll_fd >= 0)
		close(q->epoll_fd);
	free(q->daemon_socket);
	free(q->pin_path);
	free(q);
	return NULL;
}

int blknotify_queue_set_size(struct blknotify_queue *q, unsigned int nr_records)
{
	if (!q || nr_records < 1 || nr_records > BLKNOTIFY_QUEUE_SIZE_MAX)
		return -EINVAL;
	if (q->started)
		return -EBUSY;
	q->size = nr_records;
	return 0;
}

unsigned int blknotify_queue_get_size(const struct blknotify_queue *q)
{
	return q ? q->size : 0;
}

/*
 * Apply q->config at the started source; if that fails, go back to old,
 * at the source too: a change that failed half-way (a kernel watch
 * removed, the next not added) must not leave the source delivering less
 * than q->config says.  If even that fails, the source is stopped: reads
 * return -EPIPE and blknotify_queue_get_error() says why, never silence.
 */
static int update_or_restore(struct blknotify_queue *q, const struct bn_config *old)
{
	char why[sizeof(q->error)], why2[sizeof(q->error)];
	int err, err2;

	q->error[0] = '\0';
	err = q->ops->update(q);
	if (!err)
		return 0;
	snprintf(why, sizeof(why), "%s", q->error[0] ? q->error : strerror(-err));
	q->config = *old;
	q->error[0] = '\0';
	err2 = q->ops->update(q);
	if (err2) {
		snprintf(why2, sizeof(why2), "%s", q->error[0] ? q->error : strerror(-err2));
		q->broken = err2;
		queue_set_error(q, -err2, "%s; restoring the previous watches and filter at "
				"the source failed too (%s): the queue is stopped, open a new one",
				why, why2);
	} else {
		snprintf(q->error, sizeof(q->error), "%s", why);
	}
	return err;
}

int blknotify_queue_set_filter(struct blknotify_queue *q,
			       const struct watch_notification_filter *filter)
{
	struct bn_config old;
	int err;

	if (!q)
		return -EINVAL;
	if (filter && (filter->nr_filters == 0 || filter->__reserved))
		return -EINVAL;
	old = q->config;
	err = bn_config_set_filter(&q->config, filter ? filter->filters : NULL,
				   filter ? filter->nr_filters : 0, NULL, 0);
	if (err || !q->started)
		return err;
	return update_or_restore(q, &old);
}

static int add_watch(struct blknotify_queue *q, __u64 dev, __u64 start, __u64 end,
		     unsigned int id)
{
	struct bn_watch *w;
	int slot, err;

	slot = bn_config_add_watch(&q->config, id, dev, start, end, NULL, 0);
	if (slot < 0)
		return slot;
	w = &q->config.watches[slot];
	if (q->started) {
		struct bn_config old = q->config;

		old.watches[slot] = (struct bn_watch){ .end = UINT64_MAX };
		return update_or_restore(q, &old);
	} else {
		q->error[0] = '\0';
		err = q->ops->start(q);
		if (err)
			q->ops->stop(q);
		else
			q->started = true;
	}
	if (err)
		*w = (struct bn_watch){ .end = UINT64_MAX };
	return err;
}

int blknotify_queue_watch_all(struct blknotify_queue *q, unsigned int id)
{
	if (!q)
		return -EINVAL;
	return add_watch(q, 0, 0, UINT64_MAX, id);
}

int blknotify_queue_watch_device(struct blknotify_queue *q, dev_t dev, unsigned int id)
{
	__u64 start, end;
	dev_t disk;
	int err;

	if (!q || dev == 0)
		return -EINVAL;
	/* A partition is its disk's sectors [start, start + size). */
	err = bn_block_extent(dev, &disk, &start, &end);
	if (err)
		return err;
	return add_watch(q, disk, start, end, id);
}

int blknotify_queue_remove_watch(struct blknotify_queue *q, unsigned int id)
{
	struct bn_config old;
	int err;

	if (!q)
		return -EINVAL;
	old = q->config;
	err = bn_config_remove_watch(&q->config, id, NULL, 0);
	if (err || !q->started)
		return err;
	return update_or_restore(q, &old);
}

int blknotify_queue_get_fd(const struct blknotify_queue *q)
{
	return q ? q->epoll_fd : -EINVAL;
}

enum blknotify_source blknotify_queue_get_source(const struct blknotify_queue *q)
{
	return q ? q->source : BLKNOTIFY_SOURCE_AUTO;
}

int blknotify_queue_get_impact(struct blknotify_queue *q, uint64_t dev, uint64_t sector,
			       uint32_t nr_sectors, struct blknotify_impact **ret)
{
	if (!q || !ret || !dev || !nr_sectors)
		return -EINVAL;
	if (!q->ops || !q->ops->impact)
		return -EOPNOTSUPP;
	if (!q->started || q->broken)
		return -ENOTCONN;
	return q->ops->impact(q, dev, sector, nr_sectors, ret);
}

const char *blknotify_queue_get_error(const struct blknotify_queue *q)
{
	return q && q->error[0] ? q->error : NULL;
}

int queue_watch_fd(struct blknotify_queue *q, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(q->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

static __s64 monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__s64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ssize_t blknotify_queue_read(struct blknotify_queue *q, void *buf, size_t len, int timeout_ms)
{
	__s64 deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
	struct pollfd pfd;
	ssize_t n;

	if (!q || !buf || timeout_ms < -1)
		return -EINVAL;
	if (!q->started)
		return -ENOTCONN;
	if (q->broken)
		return -EPIPE;
	for (;;) {
		n = q->ops->read(q, buf, len);
		if (n != -EAGAIN || timeout_ms == 0)
			return n;
		/* A wake-up without a record (the batch timer, a discarded
		 * sample) waits again, for what is left of the timeout. */
		if (timeout_ms > 0) {
			__s64 left = deadline - monotonic_ms();

			if (left <= 0)
				return -EAGAIN;
			timeout_ms = (int)left;
		}
		pfd = (struct pollfd){ .fd = q->epoll_fd, .events = POLLIN };
		n = poll(&pfd, 1, timeout_ms);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EAGAIN;
	}
}

/* --- helpers for sources that filter in user space --- */

void queue_add_loss(struct blknotify_queue *q, __u64 nr_lost)
{
	q->pending_loss += nr_lost;
}

static bool pending_append(struct blknotify_queue *q, const void *rec, size_t len)
{
	if (q->pending_off == q->pending_len)
		q->pending_off = q->pending_len = 0;
	if (len > sizeof(q->pending) - q->pending_len)
		return false;
	memcpy(q->pending + q->pending_len, rec, len);
	q->pending_len += len;
	return true;
}

/* bn_fanout()'s emit for a queue: the pending loss first, then the record. */
static bool pending_emit(void *ctx, const struct block_notification *rec, size_t len)
{
	struct blknotify_queue *q = ctx;

	if (q->pending_loss) {
		struct block_notification_loss l;

		bn_make_loss(&l, q->pending_loss);
		if (!pending_append(q, &l, sizeof(l))) {
			q->pending_loss++;
			return false;
		}
		q->pending_loss = 0;
	}
	if (!pending_append(q, rec, len)) {
		q->pending_loss++;
		return false;
	}
	return true;
}

unsigned int queue_fanout(struct blknotify_queue *q, const struct block_notification *ev)
{
	return bn_fanout(&q->config, ev, ev->watch.info & WATCH_INFO_LENGTH, pending_emit, q);
}

ssize_t queue_take_pending(struct blknotify_queue *q, void *buf, size_t len)
{
	size_t done = 0;

	while (q->pending_off < q->pending_len) {
		const struct watch_notification *n = (const void *)(q->pending + q->pending_off);
		size_t rl = n->info & WATCH_INFO_LENGTH;

		if (rl > len - done)
			return done ? (ssize_t)done : -ENOBUFS;
		memcpy((char *)buf + done, n, rl);
		done += rl;
		q->pending_off += rl;
	}
	/* Loss at the source with no record after it yet: say so now. */
	if (q->pending_loss && q->pending_off == q->pending_len) {
		struct block_notification_loss l;

		if (sizeof(l) > len - done)
			return done ? (ssize_t)done : -ENOBUFS;
		bn_make_loss(&l, q->pending_loss);
		q->pending_loss = 0;
		memcpy((char *)buf + done, &l, sizeof(l));
		done += sizeof(l);
	}
	return done;
}
