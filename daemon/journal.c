// SPDX-License-Identifier: LGPL-2.1-or-later
/* Journal entries for errors, coalesced per disk and window (journal.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <blknotify/blknotify.h>
#include "disk-info.h"
#include "journal.h"

#define FIELD_MAX	256

int journal_init(struct journal *j, unsigned int window_ms, unsigned int burst,
		 unsigned int max_devices, journal_send_fn send, void *userdata)
{
	memset(j, 0, sizeof(*j));
	j->devices = calloc(max_devices + 1, sizeof(*j->devices));
	if (!j->devices)
		return -ENOMEM;
	j->window_ns = (__u64)window_ms * 1000000;
	j->burst = burst;
	j->max_devices = max_devices;
	j->send = send;
	j->userdata = userdata;
	snprintf(j->devices[max_devices].name, sizeof(j->devices[0].name), "other disks");
	return 0;
}

void journal_free(struct journal *j)
{
	free(j->devices);
	j->devices = NULL;
}

int journal_priority(unsigned int subtype)
{
	switch (subtype) {
	case NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM:
		return LOG_CRIT;
	case NOTIFY_BLOCK_ERROR_TIMEOUT:
	case NOTIFY_BLOCK_ERROR_NO_SPACE:
	case NOTIFY_BLOCK_ERROR_KERNEL_RESOURCE:
	case NOTIFY_BLOCK_ERROR_DEVICE_RESOURCE:
	case NOTIFY_BLOCK_ERROR_NOT_SUPPORTED:
	case NOTIFY_BLOCK_ERROR_AGAIN:
	case NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE:
	case NOTIFY_BLOCK_ERROR_ZONE_ACTIVE_RESOURCE:
		return LOG_WARNING;
	default:
		return LOG_ERR;	/* target, nexus, protection, transport, io, offline, ... */
	}
}

/*
 * journald's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL): one
 * datagram of "FIELD=value\n" lines, on a socket of our own that never
 * blocks.  sd_journal_sendv() would block the daemon's only thread while
 * journald's socket queue is full; here that is -EAGAIN, and the error is
 * counted in the summary instead.  Our values never hold a newline (numbers,
 * and names and identity that disk_identity_copy() cleaned of control
 * characters), so the simple form of a field serves.
 */
int journal_send_native(void *userdata, const struct iovec *iov, int n)
{
	static const struct sockaddr_un sa = { .sun_family = AF_UNIX,
					       .sun_path = JOURNAL_SOCKET };
	struct iovec v[2 * JOURNAL_FIELDS_MAX + 2];
	struct msghdr mh = { .msg_iov = v, .msg_name = (void *)&sa, .msg_namelen = sizeof(sa) };
	int *fd = userdata, i;

	if (n > JOURNAL_FIELDS_MAX + 1)
		return -E2BIG;
	if (*fd < 0) {
		*fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (*fd < 0)
			return -errno;
	}
	for (i = 0; i < n; i++) {
		v[2 * i] = iov[i];
		v[2 * i + 1].iov_base = (void *)"\n";
		v[2 * i + 1].iov_len = 1;
	}
	mh.msg_iovlen = 2 * n;
	return sendmsg(*fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Fields are built in one buffer per entry: FIELD_MAX bytes each. */
struct fields {
	struct iovec iov[JOURNAL_FIELDS_MAX];
	char buf[JOURNAL_FIELDS_MAX][FIELD_MAX];
	char message[2048];
	int n;
};

__attribute__((format(printf, 2, 3)))
static void field(struct fields *f, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (f->n == JOURNAL_FIELDS_MAX)
		return;
	va_start(ap, fmt);
	len = vsnprintf(f->buf[f->n], FIELD_MAX, fmt, ap);
	va_end(ap);
	f->iov[f->n].iov_base = f->buf[f->n];
	f->iov[f->n].iov_len = len < FIELD_MAX ? (size_t)len : FIELD_MAX - 1;
	f->n++;
}

static void device_fields(struct fields *f, const struct journal_device *d, const char *id, int prio)
{
	field(f, "MESSAGE_ID=%s", id);
	field(f, "PRIORITY=%d", prio);
	field(f, "SYSLOG_IDENTIFIER=blknotifyd");
	field(f, "BLKNOTIFY_DEVICE=%s", d->name);
	if (d->dev) {
		field(f, "BLKNOTIFY_DEVNUM=%u:%u", major(d->dev), minor(d->dev));
		/* _KERNEL_DEVICE is journald's to set; this is its value for the disk. */
		field(f, "BLKNOTIFY_KERNEL_DEVICE=b%u:%u", major(d->dev), minor(d->dev));
	}
	/* Only what the disk has: journalctl BLKNOTIFY_SERIAL=... finds its entries. */
	if (d->serial[0])
		field(f, "BLKNOTIFY_SERIAL=%s", d->serial);
	if (d->wwn[0])
		field(f, "BLKNOTIFY_WWN=%s", d->wwn);
	if (d->by_id[0])
		field(f, "BLKNOTIFY_BY_ID=%s", d->by_id);
}

/* The slot's name and identity, from id. */
static void set_identity(struct journal_device *d, const struct disk_identity *id)
{
	char buf[16];

	d->dev = id->dev;
	disk_identity_copy(d->name, sizeof(d->name), disk_identity_name(id, buf, sizeof(buf)));
	disk_identity_copy(d->serial, sizeof(d->serial), id->serial);
	disk_identity_copy(d->wwn, sizeof(d->wwn), id->wwn);
	disk_identity_copy(d->by_id, sizeof(d->by_id), id->by_id);
}

static const char *subtype_str(unsigned int subtype, char *buf, size_t len)
{
	return name_or_number(blknotify_subtype_name(subtype), subtype, buf, len);
}

static const char *op_str(unsigned int op, char *buf, size_t len)
{
	return name_or_number(blknotify_op_name(op), op, buf, len);
}

static int send_entry(struct journal *j, const struct journal_device *d,
		      const struct block_notification *b, size_t len)
{
	bool v1 = len >= BLOCK_NOTIFICATION_SIZE_V1;
	unsigned int op = v1 ? b->op : BLOCK_NOTIFY_OP_OTHER;
	char sb[16], ob[16];
	const char *sn = subtype_str(b->watch.subtype, sb, sizeof(sb));
	const char *on = op_str(op, ob, sizeof(ob));
	struct fields f;
	int len_msg;

	f.n = 0;
	device_fields(&f, d, JOURNAL_MESSAGE_ID_ERROR, journal_priority(b->watch.subtype));
	field(&f, "BLKNOTIFY_SUBTYPE=%s", sn);
	field(&f, "BLKNOTIFY_OP=%s", on);
	field(&f, "BLKNOTIFY_SECTOR=%llu", (unsigned long long)b->sector);
	if (v1) {
		field(&f, "BLKNOTIFY_NR_SECTORS=%u", b->nr_sectors);
		field(&f, "BLKNOTIFY_ERRNO=%d", -b->error);
		field(&f, "BLKNOTIFY_TIME_NS=%llu", (unsigned long long)b->time_ns);
	}
	len_msg = snprintf(f.message, sizeof(f.message), "MESSAGE=%s: %s error on %s, sector %llu",
			   d->name, sn, on, (unsigned long long)b->sector);
	if (v1 && b->nr_sectors)
		len_msg += snprintf(f.message + len_msg, sizeof(f.message) - len_msg, " (+%u)",
				    b->nr_sectors);
	if (v1 && b->error)
		snprintf(f.message + len_msg, sizeof(f.message) - len_msg, ", %s",
			 strerrorname_np(-b->error) ?: "unknown errno");
	f.iov[f.n].iov_base = f.message;
	f.iov[f.n].iov_len = strlen(f.message);
	f.n++;
	return j->send(j->userdata, f.iov, f.n);
}

/*
 * One summary of what the disk's window counted; then the window is empty.
 * When journald does not take it, the counts stay and go into the next
 * summary (the caller retries); only a final flush counts them as failed.
 */
static int send_summary(struct journal *j, struct journal_device *d, __u64 now, bool final)
{
	int prio = LOG_WARNING, p, r;
	size_t off;
	unsigned int i;
	struct fields f;
	char sb[16], ob[16];
	__u64 lo = ~0ULL, hi = 0;

	f.n = 0;
	for (i = 0; i < d->nr_pairs; i++)
		if (!d->pairs[i].other && (p = journal_priority(d->pairs[i].subtype)) < prio)
			prio = p;
	device_fields(&f, d, JOURNAL_MESSAGE_ID_SUMMARY, prio);
	field(&f, "BLKNOTIFY_SUMMARY_COUNT=%llu", (unsigned long long)d->suppressed);
	field(&f, "BLKNOTIFY_WINDOW_USEC=%llu", (unsigned long long)((now - d->window_start) / 1000));
	off = snprintf(f.message, sizeof(f.message), "MESSAGE=%s: %llu more errors in %llu s:",
		       d->name, (unsigned long long)d->suppressed,
		       (unsigned long long)((now - d->window_start + 500000000ULL) / 1000000000ULL));
	for (i = 0; i < d->nr_pairs; i++) {
		const struct journal_pair *q = &d->pairs[i];
		const char *sn = q->other ? "other" : subtype_str(q->subtype, sb, sizeof(sb));
		const char *on = q->other ? "other" : op_str(q->op, ob, sizeof(ob));

		lo = q->sector_min < lo ? q->sector_min : lo;
		hi = q->sector_max > hi ? q->sector_max : hi;
		field(&f, "BLKNOTIFY_COUNT_%s_%s=%llu", sn, on, (unsigned long long)q->count);
		if (off < sizeof(f.message))
			off += snprintf(f.message + off, sizeof(f.message) - off,
					"%s %llu %s %s sectors %llu-%llu", i ? "," : "",
					(unsigned long long)q->count, sn, on,
					(unsigned long long)q->sector_min, (unsigned long long)q->sector_max);
	}
	field(&f, "BLKNOTIFY_SECTOR_MIN=%llu", (unsigned long long)lo);
	field(&f, "BLKNOTIFY_SECTOR_MAX=%llu", (unsigned long long)hi);
	/* Journal field names are upper case. */
	for (i = 0; i < (unsigned int)f.n; i++)
		if (!strncmp(f.buf[i], "BLKNOTIFY_COUNT_", 16)) {
			char *c;

			for (c = f.buf[i]; *c != '='; c++)
				*c = *c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c;
		}
	f.iov[f.n].iov_base = f.message;
	f.iov[f.n].iov_len = strlen(f.message);
	f.n++;
	r = j->send(j->userdata, f.iov, f.n);
	if (r < 0 && !final)
		return r;
	if (r < 0) {
		j->failed += d->suppressed;
	} else {
		j->summaries++;
		j->summarised += d->suppressed;
	}
	d->suppressed = 0;
	d->nr_pairs = 0;
	return r;
}

static bool window_ended(const struct journal *j, const struct journal_device *d, __u64 now)
{
	return d->window_start && now - d->window_start >= j->window_ns;
}

static struct journal_device *device_get(struct journal *j, const struct disk_identity *id,
					 __u64 now)
{
	struct journal_device *d, *free_slot = NULL;
	unsigned int i;

	for (i = 0; i < j->nr_devices; i++) {
		d = &j->devices[i];
		if (d->dev == id->dev)
			return d;
		if (!free_slot && !d->suppressed && (!d->window_start || window_ended(j, d, now)))
			free_slot = d;
	}
	if (!free_slot && j->nr_devices < j->max_devices)
		free_slot = &j->devices[j->nr_devices++];
	if (!free_slot)
		return &j->devices[j->max_devices];	/* the shared slot */
	memset(free_slot, 0, sizeof(*free_slot));
	set_identity(free_slot, id);
	return free_slot;
}

static void count(struct journal_device *d, const struct block_notification *b, size_t len)
{
	__u16 op = len >= BLOCK_NOTIFICATION_SIZE_V1 ? b->op : BLOCK_NOTIFY_OP_OTHER;
	__u64 last = b->sector + (len >= BLOCK_NOTIFICATION_SIZE_V1 && b->nr_sectors ?
				  b->nr_sectors - 1 : 0);
	struct journal_pair *q;
	unsigned int i;

	for (i = 0; i < d->nr_pairs; i++)
		if (!d->pairs[i].other && d->pairs[i].subtype == b->watch.subtype && d->pairs[i].op == op)
			break;
	if (i == d->nr_pairs && i >= JOURNAL_PAIRS_MAX) {
		/* Full: the "other" pair, the last one, takes the rest. */
		for (i = 0; i < d->nr_pairs && !d->pairs[i].other; i++)
			;
	}
	q = &d->pairs[i];
	if (i == d->nr_pairs) {
		d->nr_pairs++;
		q->subtype = b->watch.subtype;
		q->op = op;
		q->other = i == JOURNAL_PAIRS_MAX;
		q->count = 0;
		q->sector_min = b->sector;
		q->sector_max = last;
	}
	q->count++;
	q->sector_min = b->sector < q->sector_min ? b->sector : q->sector_min;
	q->sector_max = last > q->sector_max ? last : q->sector_max;
	d->suppressed++;
}

void journal_record(struct journal *j, const struct block_notification *b, size_t len,
		    const struct disk_identity *id, __u64 now)
{
	struct journal_device *d = device_get(j, id, now), *shared = &j->devices[j->max_devices];

	/* A window whose summary journald did not take goes on, counting. */
	if (window_ended(j, d, now) && (!d->suppressed || send_summary(j, d, now, false) == 0))
		d->window_start = 0;
	if (!d->window_start) {
		d->window_start = now ?: 1;
		d->entries = 0;
		if (d != shared)
			set_identity(d, id);	/* the number may name another disk now */
	}
	if (d->entries < j->burst) {
		struct journal_device named;

		d->entries++;
		/* The shared slot's entries name their own disk. */
		if (d == shared)
			set_identity(&named, id);
		if (send_entry(j, d == shared ? &named : d, b, len) == 0) {
			j->entries++;
			return;
		}
	}
	count(d, b, len);
}

void journal_lifecycle(struct journal *j, const struct block_notification *b, size_t len,
		       const struct disk_identity *id)
{
	unsigned int st = b->watch.subtype;
	struct journal_device d = { 0 };
	char sb[16];
	const char *sn = subtype_str(st, sb, sizeof(sb));
	struct fields f;
	int prio = st == NOTIFY_BLOCK_DEVICE_DEAD ? LOG_CRIT :
		   st == NOTIFY_BLOCK_READ_ONLY_SET ? LOG_WARNING : LOG_NOTICE;
	bool cap = st == NOTIFY_BLOCK_CAPACITY_CHANGE && len >= BLOCK_NOTIFICATION_SIZE_V2;

	set_identity(&d, id);
	f.n = 0;
	device_fields(&f, &d, JOURNAL_MESSAGE_ID_LIFECYCLE, prio);
	field(&f, "BLKNOTIFY_SUBTYPE=%s", sn);
	if (len >= BLOCK_NOTIFICATION_SIZE_V1)
		field(&f, "BLKNOTIFY_TIME_NS=%llu", (unsigned long long)b->time_ns);
	if (cap) {
		field(&f, "BLKNOTIFY_CAPACITY=%llu", (unsigned long long)b->sector);
		if (b->old_capacity != BLOCK_NOTIFY_CAPACITY_UNKNOWN)
			field(&f, "BLKNOTIFY_OLD_CAPACITY=%llu", (unsigned long long)b->old_capacity);
		snprintf(f.message, sizeof(f.message), "MESSAGE=%s: capacity %llu -> %llu bytes",
			 d.name, b->old_capacity == BLOCK_NOTIFY_CAPACITY_UNKNOWN ? 0ULL :
			 (unsigned long long)b->old_capacity * 512,
			 (unsigned long long)b->sector * 512);
	} else {
		snprintf(f.message, sizeof(f.message), "MESSAGE=%s: %s", d.name, sn);
	}
	f.iov[f.n].iov_base = f.message;
	f.iov[f.n].iov_len = strlen(f.message);
	f.n++;
	if (j->send(j->userdata, f.iov, f.n) == 0)
		j->lifecycle_entries++;
	else
		j->failed++;
}

__u64 journal_flush(struct journal *j, __u64 now, bool all)
{
	__u64 next = 0;
	unsigned int i;

	for (i = 0; i <= j->max_devices; i++) {
		struct journal_device *d = &j->devices[i];
		__u64 end;

		if (i >= j->nr_devices && i != j->max_devices)
			continue;
		if (!d->suppressed)
			continue;
		if (all || window_ended(j, d, now)) {
			if (send_summary(j, d, now, all) == 0 || all) {
				d->window_start = 0;
				continue;
			}
			end = now + JOURNAL_RETRY_NS;
		} else {
			end = d->window_start + j->window_ns;
		}
		if (!next || end < next)
			next = end;
	}
	return next;
}
