// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kmsg source: block request errors read back from the kernel log, for
 * machines where BPF cannot be used.  It needs nothing but read access to
 * /dev/kmsg, and it is lossy by nature: the kernel rate-limits its
 * request-error lines (10 per 5 s per call site).  What the kernel says it
 * dropped ("N callbacks suppressed") and what we miss when the log buffer
 * overruns us are reported as loss, never hidden.
 *
 * The source keeps no queue of its own: the kernel's log buffer is the
 * queue, each read() of /dev/kmsg returns one record, and every record is
 * turned into records for the queue's watches and filter (queue_fanout())
 * as the caller reads.  docs/kmsg-source.md has the details.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "kmsg-parse.h"
#include "lifecycle.h"
#include "queue.h"
#include "sysfs.h"

#define KMSG_PATH	"/dev/kmsg"

/*
 * One /dev/kmsg read returns one whole record or fails with EINVAL (and
 * does not advance) if the buffer is too small.  The kernel formats a
 * record into CONSOLE_EXT_LOG_MAX (8 KiB) at most; twice that is room to
 * spare.
 */
#define KMSG_RECORD_MAX		16384

/*
 * Records examined per blknotify_queue_read() call.  The read goes on until
 * /dev/kmsg has nothing more, so that "no record" (-EAGAIN) means none is
 * ready, also for a replay of a large log full of other lines; this only
 * stops a log that grows as fast as we read it from keeping the caller in
 * the library.  (It then returns -EAGAIN with the fd still readable.)  The
 * largest log (log_buf_len=32M) holds fewer records than this.
 */
#define KMSG_RECORDS_PER_READ	(1U << 21)

struct kmsg_source {
	int	fd;
	bool	have_seq;	/* next_seq is known */
	bool	overrun;	/* the kernel said EPIPE; count the gap */
	__u64	next_seq;	/* sequence number of the record we expect */
	__u64	refused;	/* block lines not logged by the kernel */
	size_t	held;		/* buf holds a record read but not handled (lifecycle first) */
	char	buf[KMSG_RECORD_MAX];
};

/* "/sys/class/block/NAME/dev" for a disk name as the kernel prints it. */
static int sysfs_dev_path(char *path, size_t size, const char *disk)
{
	size_t i, n;

	/* Nothing else may become a path component of ours. */
	if (!strcmp(disk, "?") || !strcmp(disk, ".") || !strcmp(disk, ".."))
		return -EINVAL;
	n = (size_t)snprintf(path, size, "/sys/class/block/%s/dev", disk);
	if (n >= size)
		return -ENAMETOOLONG;
	/* The kernel names "cciss/c0d0" "cciss!c0d0" in sysfs. */
	for (i = strlen("/sys/class/block/"); i < n - strlen("/dev"); i++)
		if (path[i] == '/')
			path[i] = '!';
	return 0;
}

/*
 * The device number of the disk a line names: DEVICE=bMAJ:MIN when the
 * record carries it, else the disk's sysfs "dev" attribute.  0 when the
 * disk is unknown or gone: the record is still delivered (to watch_all).
 *
 * No cache: printk's rate limit keeps request-error lines to a few per
 * second, and names are reused (an NVMe namespace that comes back may get
 * another minor), so looking each one up is both cheap and right.
 */
static __u64 resolve_dev(const struct kmsg_record *rec, const char *disk)
{
	char path[96];
	const char *v;
	size_t vlen;
	__u32 maj, min;
	dev_t dev;

	v = kmsg_dict_get(rec, "DEVICE", &vlen);
	if (v && vlen > 1 && v[0] == 'b' && !kmsg_parse_devnum(v + 1, vlen - 1, &maj, &min))
		return makedev(maj, min);

	if (sysfs_dev_path(path, sizeof(path), disk) || bn_sysfs_read_devnum(path, &dev))
		return 0;
	return dev;
}

/* Account for records the kernel log dropped before this one. */
static void note_sequence(struct blknotify_queue *q, struct kmsg_source *s, __u64 seq)
{
	__u64 lost = 0;

	if (s->have_seq && seq > s->next_seq)
		lost = seq - s->next_seq;
	/*
	 * EPIPE: the log wrapped over records we had not read.  The gap in
	 * sequence numbers counts every kind of log record, so it is an
	 * upper bound on the request errors lost; without a gap (the first
	 * read), at least one.
	 */
	if (s->overrun && !lost)
		lost = 1;
	if (lost)
		queue_add_loss(q, lost);
	s->overrun = false;
	s->have_seq = true;
	s->next_seq = seq + 1;
}

/*
 * A request-error or suppression line that user space wrote to /dev/kmsg
 * (echo '<3>I/O error, dev ...' > /dev/kmsg): not the kernel's, so neither
 * a record nor loss.  Counted (source_kmsg_refused()), and logged on
 * stderr when BLKNOTIFY_DEBUG is set in the environment.
 */
static void refuse(struct kmsg_source *s, const struct kmsg_record *rec)
{
	s->refused++;
	if (secure_getenv("BLKNOTIFY_DEBUG"))
		fprintf(stderr, "blknotify: kmsg: refused record %llu, written by user space "
			"(facility %u, not the kernel's): %.*s\n", (unsigned long long)rec->seq,
			rec->prio >> 3, (int)(rec->msg_len > 200 ? 200 : rec->msg_len), rec->msg);
}

static void handle_record(struct blknotify_queue *q, struct kmsg_source *s, size_t len)
{
	struct block_notification ev;
	struct kmsg_record rec;
	struct kmsg_message m;
	enum kmsg_kind kind;

	if (kmsg_parse_record(s->buf, len, &rec))
		return;		/* not /dev/kmsg framing: nothing to learn from it */
	note_sequence(q, s, rec.seq);

	kind = kmsg_parse_message(rec.msg, rec.msg_len, &m);
	if (kind != KMSG_OTHER && !kmsg_record_from_kernel(&rec)) {
		refuse(s, &rec);
		return;
	}
	switch (kind) {
	case KMSG_SUPPRESSED:
		queue_add_loss(q, m.nr_suppressed);
		return;
	case KMSG_REQUEST_ERROR:
		break;
	default:
		return;
	}

	memset(&ev, 0, sizeof(ev));
	ev.watch.type = WATCH_TYPE_BLOCK_NOTIFY;
	ev.watch.subtype = m.err.subtype;
	ev.watch.info = BLOCK_NOTIFICATION_SIZE_V1;
	ev.dev = resolve_dev(&rec, m.err.disk);
	ev.sector = m.err.sector;
	/* The printk clock: local_clock(), close to CLOCK_MONOTONIC. */
	ev.time_ns = rec.usec > UINT64_MAX / 1000 ? UINT64_MAX : rec.usec * 1000;
	ev.nr_sectors = 0;	/* the line does not say */
	ev.error = m.err.error;
	ev.op = m.err.op;
	ev.flags = m.err.flags;
	queue_fanout(q, &ev);
}

/*
 * Lifecycle records (lifecycle.c) received before the kernel logged the
 * record in s->buf (len bytes) go out first: returns what was copied into
 * buf (or -ENOBUFS), with the record held for the next read if any are
 * left.  The log's clock is local_clock(), close to CLOCK_MONOTONIC.
 */
static ssize_t lifecycle_first(struct blknotify_queue *q, struct kmsg_source *s, size_t len,
			       void *buf, size_t buflen)
{
	struct kmsg_record rec;
	__u64 t;
	ssize_t n;

	if (kmsg_parse_record(s->buf, len, &rec))
		return 0;
	t = rec.usec > UINT64_MAX / 1000 ? UINT64_MAX : rec.usec * 1000;
	if (!lifecycle_due(q, t))
		return 0;
	n = lifecycle_read_before(q, t, buf, buflen);
	if (n < 0 || lifecycle_due(q, t) || q->pending_off < q->pending_len)
		s->held = len;	/* the caller's buffer is full */
	return n;
}

static ssize_t kmsg_read(struct blknotify_queue *q, void *buf, size_t len)
{
	struct kmsg_source *s = q->priv;
	unsigned int i;
	ssize_t n;

	n = queue_take_pending(q, buf, len);
	if (n)
		return n;
	lifecycle_poll(q);
	for (i = 0; i < KMSG_RECORDS_PER_READ; i++) {
		ssize_t r = s->held ? (ssize_t)s->held : read(s->fd, s->buf, sizeof(s->buf));

		s->held = 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == EPIPE) {
				/* Overrun: the next read returns the oldest
				 * record left; its sequence number says how
				 * many we missed. */
				s->overrun = true;
				continue;
			}
			return -errno;
		}
		if (r == 0)
			break;
		n = lifecycle_first(q, s, (size_t)r, buf, len);
		if (n < 0 || s->held)
			return n;
		handle_record(q, s, (size_t)r);
		r = queue_take_pending(q, (char *)buf + n, len - (size_t)n);
		if (r < 0 && n)
			return n;
		if (r || n)
			return r + n;
	}
	n = lifecycle_read_before(q, UINT64_MAX, buf, len);
	return n ? n : -EAGAIN;
}

static int open_error(struct blknotify_queue *q, int err)
{
	char restrict_val[8] = "?";
	int fd;

	if (err == EPERM || err == EACCES) {
		fd = open("/proc/sys/kernel/dmesg_restrict", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, restrict_val, sizeof(restrict_val) - 1);

			restrict_val[n > 0 ? n : 0] = '\0';
			restrict_val[strcspn(restrict_val, "\n")] = '\0';
			close(fd);
		}
		return queue_set_error(q, err,
			"cannot read " KMSG_PATH ": %s; the kernel log needs CAP_SYSLOG while "
			"kernel.dmesg_restrict is 1 (it is %s here) and read permission on "
			KMSG_PATH ": run as root or with CAP_SYSLOG, or use the bpf source or "
			"blknotifyd", strerror(err), restrict_val[0] ? restrict_val : "?");
	}
	if (err == ENOENT)
		return queue_set_error(q, err,
			"no " KMSG_PATH " here (a container without it?): make it "
			"available, or use blknotifyd");
	return queue_set_error(q, err, "cannot open " KMSG_PATH ": %s", strerror(err));
}

static int kmsg_start(struct blknotify_queue *q)
{
	struct kmsg_source *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return queue_set_error(q, ENOMEM, "out of memory for the kmsg source");
	s->fd = -1;
	q->priv = s;

	s->fd = open(KMSG_PATH, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0)
		return open_error(q, errno);
	/* New errors only, unless asked to replay what the log still holds. */
	if (lseek(s->fd, 0, q->flags & BLKNOTIFY_QUEUE_KMSG_REPLAY ? SEEK_SET : SEEK_END) < 0) {
		err = errno;
		return queue_set_error(q, err, "cannot seek " KMSG_PATH ": %s", strerror(err));
	}
	err = queue_watch_fd(q, s->fd);
	if (err)
		return queue_set_error(q, -err, "cannot poll " KMSG_PATH ": %s", strerror(-err));
	lifecycle_start(q);
	return 0;
}

/* Watches and filter are applied by queue_fanout() as records are read. */
static int kmsg_update(struct blknotify_queue *q)
{
	(void)q;
	return 0;
}

static void kmsg_stop(struct blknotify_queue *q)
{
	struct kmsg_source *s = q->priv;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);	/* also leaves the epoll set */
	lifecycle_stop(q);
	free(s);
	q->priv = NULL;
}

__u64 source_kmsg_refused(const struct blknotify_queue *q)
{
	const struct kmsg_source *s = q->priv;

	return q->ops == &source_kmsg_ops && s ? s->refused : 0;
}

const struct source_ops source_kmsg_ops = {
	.start = kmsg_start,
	.update = kmsg_update,
	.read = kmsg_read,
	.stop = kmsg_stop,
};
