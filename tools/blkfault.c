// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blkfault: a block device whose chosen sectors fail with EIO.
 *
 * The device is a loop device backed by a one-file FUSE file system served
 * by this process.  The image lives in anonymous memory (never-written
 * sectors read as zeros and cost nothing); reads and writes that touch a
 * bad range are answered with EIO, so the loop driver completes the block
 * request with BLK_STS_IOERR: a real block-layer error, with the kernel's
 * request-error line and the block:block_rq_error tracepoint.
 *
 *   application ─► /dev/loopN ─► loop worker ─► FUSE file ─► this process
 *
 * Threads: the main thread owns setup, signals, the control channel on
 * stdin and teardown; one thread answers FUSE requests.  It must be a
 * separate thread because LOOP_CONFIGURE and the final close of the loop
 * device wait for FUSE requests that only this process can answer.
 *
 * Chosen sectors can also be slow (--delay): a request touching them is
 * answered only after a delay, so the block request completes late but
 * successfully (slow I/O).  The FUSE thread sleeps for it: requests behind
 * a delayed one wait too.
 *
 * User documentation: docs/blkfault.1.
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/loop.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef BLKFAULT_VERSION
#define BLKFAULT_VERSION "unknown"
#endif

/* Exit status, the same in blkwatch, blknotifyd and blkfault. */
enum {
	EXIT_OK		= 0,	/* a requested stop, --help, --version */
	EXIT_START	= 1,	/* the device could not be created */
	EXIT_USAGE	= 2,	/* bad option or value */
	EXIT_GONE	= 3,	/* the device failed after it was ready */
};

#define SECTOR_SIZE		UINT64_C(512)
#define DEFAULT_SIZE		(UINT64_C(64) << 20)
/* The image is sparse, but every written byte costs a byte of RAM. */
#define MAX_SIZE		(UINT64_C(16) << 30)
/* Each request scans the whole list, so keep it short enough to be cheap. */
#define MAX_RANGES		1024
/* Slow ranges (--delay), and the longest delay one may have. */
#define MAX_DELAYS		64
#define MAX_DELAY_MS		UINT64_C(60000)
/* Control commands are short; a longer line is rejected, not truncated. */
#define MAX_LINE		256
/*
 * Largest block request the loop device may send us, in KiB.  The kernel
 * splits a FUSE direct write that needs more pages than the connection's
 * max_pages (256 with libfuse's 1 MiB buffer) into several FUSE requests;
 * when a later one fails, the write returns short, and the loop driver
 * (since Linux 6.14, in buffered mode) completes the block request as
 * successful.  512 KiB in at most 128 segments (loop's limit) needs at
 * most 128 + 128 pages, so one block request stays one FUSE request and a
 * bad sector always fails it.
 */
#define LOOP_MAX_SECTORS_KB	512
/* How long teardown waits for the kernel to let go of the loop device. */
#define DETACH_WAIT_MS		5000

#define IMAGE_NAME		"image"
#define IMAGE_INO		2

enum { BAD_READ = 1, BAD_WRITE = 2 };

struct range {
	uint64_t start;		/* first sector */
	uint64_t count;		/* sectors, >= 1 */
	unsigned int mode;	/* BAD_READ | BAD_WRITE */
	int error;		/* errno the FUSE request fails with */
};

/*
 * The errors a range can fail with.  The loop driver hands the errno to the
 * block layer, which turns it into the request's status (errno_to_blk_status):
 * one for each block-layer error class a monitor distinguishes.  Left out on
 * purpose: EAGAIN (BLK_STS_AGAIN means "retry without REQ_NOWAIT", not a
 * failed device), ENOSYS (FUSE reads it as "not implemented") and EINTR.
 */
static const struct {
	const char *name;
	int error;
} error_names[] = {
	{ "EIO",	EIO },		/* BLK_STS_IOERR: the default */
	{ "ETIMEDOUT",	ETIMEDOUT },	/* BLK_STS_TIMEOUT */
	{ "ENOSPC",	ENOSPC },	/* BLK_STS_NOSPC */
	{ "ENOLINK",	ENOLINK },	/* BLK_STS_TRANSPORT */
	{ "EREMOTEIO",	EREMOTEIO },	/* BLK_STS_TARGET */
	{ "EBADE",	EBADE },	/* BLK_STS_NEXUS / BLK_STS_RESV_CONFLICT */
	{ "ENODATA",	ENODATA },	/* BLK_STS_MEDIUM */
	{ "EILSEQ",	EILSEQ },	/* BLK_STS_PROTECTION */
	{ "ENOMEM",	ENOMEM },	/* BLK_STS_RESOURCE */
	{ "EBUSY",	EBUSY },	/* BLK_STS_DEV_RESOURCE */
	{ "EOPNOTSUPP",	EOPNOTSUPP },	/* BLK_STS_NOTSUPP */
};

struct bad_list {
	pthread_mutex_t lock;	/* the FUSE thread reads, the control channel writes */
	unsigned int n;
	struct range r[MAX_RANGES];
	struct range scratch[MAX_RANGES];	/* bad_clear() builds the new list here */
};

struct counters {
	atomic_uint_least64_t reads, writes, read_errors, write_errors, delayed;
};

struct delay {
	uint64_t start, count;	/* sectors */
	uint64_t ms;		/* answered after this long */
};

struct delay_list {
	pthread_mutex_t lock;	/* the FUSE thread reads, the control channel writes */
	unsigned int n;
	struct delay d[MAX_DELAYS];
};

struct blkfault {
	uint64_t size;		/* bytes, a multiple of SECTOR_SIZE */
	char *mem;		/* the image: anonymous, lazily populated */
	struct bad_list bad;
	struct delay_list delays;
	struct counters stats;

	struct fuse_session *se;
	pthread_t fuse_thread;
	bool fuse_thread_started;
	int stop_fd;		/* eventfd: tells the FUSE thread to return */

	char mnt[PATH_MAX];	/* private temporary mount point, "" if none */
	bool mounted;
	int loop_fd;
	int loop_nr;
};

static void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("blkfault: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------------------------------------------------------------------- */
/* Parsing: sizes and sector ranges (options and control channel share it). */

/*
 * Decimal digits only: strtoull would accept signs and spaces.  Too large a
 * number saturates to UINT64_MAX, which every caller's range check rejects.
 */
static const char *parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*ret = v;
	return s;
}

/* "64M" -> bytes.  Returns an error text, or NULL. */
static const char *parse_size(const char *s, uint64_t *ret)
{
	uint64_t v, mult = 1;
	const char *end = parse_u64(s, &v);

	if (!end)
		return "not a number";
	switch (*end) {
	case '\0':	break;
	case 'k': case 'K': mult = UINT64_C(1) << 10; end++; break;
	case 'm': case 'M': mult = UINT64_C(1) << 20; end++; break;
	case 'g': case 'G': mult = UINT64_C(1) << 30; end++; break;
	default:	return "unknown suffix (use K, M or G)";
	}
	if (*end)
		return "trailing characters (use a number with an optional K, M or G)";
	if (v > MAX_SIZE / mult)
		return "too large (at most 16G)";
	v *= mult;
	if (v == 0)
		return "must not be zero";
	if (v % SECTOR_SIZE)
		return "not a multiple of 512 bytes";
	*ret = v;
	return NULL;
}

static const char *error_name(int error)
{
	size_t i;

	for (i = 0; i < sizeof(error_names) / sizeof(error_names[0]); i++)
		if (error_names[i].error == error)
			return error_names[i].name;
	return "?";
}

/* Case-insensitive: "ENODATA" or "enodata". */
static bool parse_error(const char *s, int *ret)
{
	size_t i;

	for (i = 0; i < sizeof(error_names) / sizeof(error_names[0]); i++)
		if (!strcasecmp(s, error_names[i].name)) {
			*ret = error_names[i].error;
			return true;
		}
	return false;
}

static const char *parse_mode(const char *s, unsigned int *ret)
{
	if (!strcmp(s, "r"))
		*ret = BAD_READ;
	else if (!strcmp(s, "w"))
		*ret = BAD_WRITE;
	else if (!strcmp(s, "rw") || !strcmp(s, "wr"))
		*ret = BAD_READ | BAD_WRITE;
	else
		return "mode must be r, w or rw";
	return NULL;
}

/*
 * An optional word after a range: a mode or an error name, each at most
 * once.  @seen tracks which of the two a range already has.
 */
enum { SEEN_MODE = 1, SEEN_ERROR = 2 };
#define ATTR_HELP "mode must be r, w or rw, error one of EIO, ETIMEDOUT, ENOSPC, ENOLINK, " \
	"EREMOTEIO, EBADE, ENODATA, EILSEQ, ENOMEM, EBUSY, EOPNOTSUPP"

static const char *parse_attr(const char *s, struct range *r, unsigned int *seen)
{
	if (parse_error(s, &r->error)) {
		if (*seen & SEEN_ERROR)
			return "give the error once";
		*seen |= SEEN_ERROR;
		return NULL;
	}
	if (*seen & SEEN_MODE)
		return "give the mode once";
	*seen |= SEEN_MODE;
	return parse_mode(s, &r->mode) ? ATTR_HELP : NULL;
}

/*
 * "START[+COUNT][:MODE][:ERROR]" in 512-byte sectors (the mode and the
 * error in either order).  with_attrs=false takes START[+COUNT] only (for
 * "clear").  Range checks against the device size are the caller's: --bad
 * may come before --size.  *seen says which attributes were given.
 */
static const char *parse_range(const char *s, bool with_attrs, struct range *ret,
			       unsigned int *seen)
{
	struct range r = { .count = 1, .mode = BAD_READ | BAD_WRITE, .error = EIO };
	const char *p = parse_u64(s, &r.start);
	char attr[16];

	*seen = 0;
	if (!p)
		return "START must be a sector number";
	if (*p == '+') {
		p = parse_u64(p + 1, &r.count);
		if (!p)
			return "COUNT must be a number of sectors";
		if (r.count == 0)
			return "COUNT must be at least 1";
	}
	while (*p == ':' && with_attrs) {
		size_t len = strcspn(p + 1, ":");
		const char *e;

		if (len >= sizeof(attr))
			return ATTR_HELP;
		memcpy(attr, p + 1, len);
		attr[len] = '\0';
		e = parse_attr(attr, &r, seen);
		if (e)
			return e;
		p += 1 + len;
	}
	if (*p)
		return with_attrs ? "expected START[+COUNT][:MODE][:ERROR]" : "expected START[+COUNT]";
	if (r.count > UINT64_MAX - r.start)
		return "range wraps around";
	*ret = r;
	return NULL;
}

static const char *check_range(const struct range *r, uint64_t size)
{
	uint64_t sectors = size / SECTOR_SIZE;

	if (r->start >= sectors || r->count > sectors - r->start)
		return "range goes past the end of the device";
	return NULL;
}

static void format_range(const struct range *r, char *buf, size_t len)
{
	static const char *const modes[] = { "", "r", "w", "rw" };

	snprintf(buf, len, "%" PRIu64 "+%" PRIu64 ":%s%s%s", r->start, r->count,
		 modes[r->mode & 3], r->error == EIO ? "" : ":", r->error == EIO ? "" : error_name(r->error));
}

/* ---------------------------------------------------------------------- */
/* Bad ranges. */

static const char *bad_add(struct bad_list *b, const struct range *r)
{
	const char *e = NULL;

	pthread_mutex_lock(&b->lock);
	if (b->n == MAX_RANGES)
		e = "too many bad ranges (at most 1024)";
	else
		b->r[b->n++] = *r;
	pthread_mutex_unlock(&b->lock);
	return e;
}

/* Make the sectors of @c good again, splitting ranges that straddle it. */
static const char *bad_clear(struct bad_list *b, const struct range *c)
{
	uint64_t cend = c->start + c->count;
	unsigned int i, n = 0;
	const char *e = NULL;

	pthread_mutex_lock(&b->lock);
	for (i = 0; i < b->n; i++) {
		const struct range *r = &b->r[i];
		uint64_t rend = r->start + r->count;
		struct range piece[2];
		unsigned int k, np = 0;

		if (rend <= c->start || r->start >= cend) {
			piece[np++] = *r;
		} else {
			if (r->start < c->start)
				piece[np++] = (struct range){ r->start, c->start - r->start, r->mode, r->error };
			if (rend > cend)
				piece[np++] = (struct range){ cend, rend - cend, r->mode, r->error };
		}
		for (k = 0; k < np; k++) {
			if (n == MAX_RANGES) {
				e = "clearing that would split too many ranges (at most 1024)";
				goto out;
			}
			b->scratch[n++] = piece[k];
		}
	}
	memcpy(b->r, b->scratch, n * sizeof(b->r[0]));
	b->n = n;
out:
	pthread_mutex_unlock(&b->lock);
	return e;
}

/* The errno for a request touching [off, off + len), 0 if it succeeds. */
static int bad_hit(struct bad_list *b, uint64_t off, uint64_t len, unsigned int mode)
{
	uint64_t first = off / SECTOR_SIZE, last = (off + len - 1) / SECTOR_SIZE;
	unsigned int i;
	int error = 0;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&b->lock);
	/* Ranges never pass the end of the device, so start + count cannot wrap. */
	for (i = 0; i < b->n && !error; i++) {
		const struct range *r = &b->r[i];

		/* Overlapping ranges: the one added first decides. */
		if ((r->mode & mode) && r->start <= last && first < r->start + r->count)
			error = r->error;
	}
	pthread_mutex_unlock(&b->lock);
	return error;
}

/* ---------------------------------------------------------------------- */
/* Slow ranges: requests touching them are answered late. */

static const char *parse_delay(const char *spec, const char *ms, struct delay *ret)
{
	struct range r;
	unsigned int seen;
	const char *e = parse_range(spec, false, &r, &seen), *end;

	if (e)
		return e;
	end = parse_u64(ms, &ret->ms);
	if (!end || *end)
		return "MS must be a number of milliseconds";
	if (ret->ms > MAX_DELAY_MS)
		return "MS must be at most 60000";
	ret->start = r.start;
	ret->count = r.count;
	return NULL;
}

/* --delay START[+COUNT]:MS */
static const char *parse_delay_opt(const char *arg, struct delay *ret)
{
	const char *colon = strrchr(arg, ':');
	char spec[64];

	if (!colon || (size_t)(colon - arg) >= sizeof(spec))
		return "expected START[+COUNT]:MS";
	memcpy(spec, arg, (size_t)(colon - arg));
	spec[colon - arg] = '\0';
	return parse_delay(spec, colon + 1, ret);
}

static const char *check_delay(const struct delay *d, uint64_t size)
{
	struct range r = { .start = d->start, .count = d->count };

	return check_range(&r, size);
}

static const char *delay_add(struct delay_list *l, const struct delay *d)
{
	const char *e = NULL;

	pthread_mutex_lock(&l->lock);
	if (l->n == MAX_DELAYS)
		e = "too many slow ranges (at most 64)";
	else
		l->d[l->n++] = *d;
	pthread_mutex_unlock(&l->lock);
	return e;
}

static void delay_clear(struct delay_list *l)
{
	pthread_mutex_lock(&l->lock);
	l->n = 0;
	pthread_mutex_unlock(&l->lock);
}

/* The delay of a request touching [off, off + len): the longest that applies. */
static uint64_t delay_for(struct delay_list *l, uint64_t off, uint64_t len)
{
	uint64_t first = off / SECTOR_SIZE, last = (off + len - 1) / SECTOR_SIZE, ms = 0;
	unsigned int i;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->n; i++) {
		const struct delay *d = &l->d[i];

		if (d->start <= last && first < d->start + d->count && d->ms > ms)
			ms = d->ms;
	}
	pthread_mutex_unlock(&l->lock);
	return ms;
}

static void delay_request(struct blkfault *bf, uint64_t off, uint64_t len)
{
	uint64_t ms = delay_for(&bf->delays, off, len);
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	if (!ms)
		return;
	atomic_fetch_add(&bf->stats.delayed, 1);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---------------------------------------------------------------------- */
/* The image: zeroing gives whole pages back to the kernel. */

static void image_zero(struct blkfault *bf, uint64_t off, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t a = (off + page - 1) & ~(page - 1), z = (off + len) & ~(page - 1);

	if (a >= z) {
		memset(bf->mem + off, 0, len);
		return;
	}
	memset(bf->mem + off, 0, a - off);
	/* Anonymous private memory reads back as zeros after MADV_DONTNEED. */
	if (madvise(bf->mem + a, z - a, MADV_DONTNEED))
		memset(bf->mem + a, 0, z - a);
	memset(bf->mem + z, 0, off + len - z);
}

/* ---------------------------------------------------------------------- */
/* FUSE: a root directory holding one file, IMAGE_NAME. */

static void fill_attr(const struct blkfault *bf, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = (off_t)bf->size;
		st->st_blocks = (blkcnt_t)(bf->size / 512);
	}
	st->st_blksize = 4096;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct blkfault *bf = fuse_req_userdata(req);
	struct fuse_entry_param e = { .ino = IMAGE_INO, .attr_timeout = 3600, .entry_timeout = 3600 };

	if (parent != FUSE_ROOT_ID || strcmp(name, IMAGE_NAME)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(bf, IMAGE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct blkfault *bf = fuse_req_userdata(req);
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != IMAGE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(bf, ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != IMAGE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	/* No page cache: every read and write must reach fs_read/fs_write. */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct blkfault *bf = fuse_req_userdata(req);
	uint64_t o = (uint64_t)off;
	int error;

	(void)ino; (void)fi;
	atomic_fetch_add(&bf->stats.reads, 1);
	if (off < 0 || o >= bf->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > bf->size - o)
		size = bf->size - o;
	delay_request(bf, o, size);
	if ((error = bad_hit(&bf->bad, o, size, BAD_READ))) {
		atomic_fetch_add(&bf->stats.read_errors, 1);
		fuse_reply_err(req, error);
		return;
	}
	fuse_reply_buf(req, bf->mem + o, size);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	struct blkfault *bf = fuse_req_userdata(req);
	uint64_t o = (uint64_t)off;
	int error;

	(void)ino; (void)fi;
	atomic_fetch_add(&bf->stats.writes, 1);
	if (off < 0 || o > bf->size || size > bf->size - o) {
		fuse_reply_err(req, ENOSPC);	/* the image never grows */
		return;
	}
	delay_request(bf, o, size);
	if ((error = bad_hit(&bf->bad, o, size, BAD_WRITE))) {
		atomic_fetch_add(&bf->stats.write_errors, 1);
		fuse_reply_err(req, error);
		return;
	}
	memcpy(bf->mem + o, buf, size);
	fuse_reply_write(req, size);
}

/* Discard and write-zeroes on the loop device arrive here; both count as writes. */
static void fs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	struct blkfault *bf = fuse_req_userdata(req);
	uint64_t o = (uint64_t)off, l = (uint64_t)len;
	int error;

	(void)ino; (void)fi;
	if (off < 0 || len <= 0 || (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
					      FALLOC_FL_ZERO_RANGE))) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (o >= bf->size) {
		fuse_reply_err(req, (mode & FALLOC_FL_KEEP_SIZE) ? 0 : ENOSPC);
		return;
	}
	if (l > bf->size - o) {
		if (!(mode & FALLOC_FL_KEEP_SIZE)) {
			fuse_reply_err(req, ENOSPC);
			return;
		}
		l = bf->size - o;
	}
	if (!(mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))) {
		fuse_reply_err(req, 0);	/* plain allocation: memory is allocated on write */
		return;
	}
	atomic_fetch_add(&bf->stats.writes, 1);
	delay_request(bf, o, l);
	if ((error = bad_hit(&bf->bad, o, l, BAD_WRITE))) {
		atomic_fetch_add(&bf->stats.write_errors, 1);
		fuse_reply_err(req, error);
		return;
	}
	image_zero(bf, o, l);
	fuse_reply_err(req, 0);
}

static void fs_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino; (void)fi;
	fuse_reply_err(req, 0);
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	fs_ok(req, ino, fi);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.lookup		= fs_lookup,
	.getattr	= fs_getattr,
	.open		= fs_open,
	.read		= fs_read,
	.write		= fs_write,
	.fallocate	= fs_fallocate,
	.flush		= fs_ok,
	.release	= fs_ok,
	.fsync		= fs_fsync,
};

static void *fuse_thread_main(void *arg)
{
	struct blkfault *bf = arg;
	struct fuse_buf buf = { .mem = NULL };
	struct pollfd pfd[2] = {
		{ .fd = fuse_session_fd(bf->se), .events = POLLIN },
		{ .fd = bf->stop_fd, .events = POLLIN },
	};

	while (!fuse_session_exited(bf->se)) {
		int res = poll(pfd, 2, -1);

		if (res < 0 && errno != EINTR) {
			err_msg("poll on /dev/fuse: %s", strerror(errno));
			break;
		}
		if (res <= 0)
			continue;
		if (pfd[1].revents)
			break;
		res = fuse_session_receive_buf(bf->se, &buf);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0)	/* 0: the kernel ended the connection (unmounted) */
			break;
		fuse_session_process_buf(bf->se, &buf);
	}
	free(buf.mem);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Setup and teardown. */

/*
 * Mount the FUSE file system on a fresh directory, in a private mount
 * namespace when possible so that nobody else ever sees it, and open the
 * image.  The mount is detached as soon as the loop device holds the file.
 */
static int fuse_start(struct blkfault *bf, int *fuse_fd, int *img_fd)
{
	char opts[128], fdpath[32], path[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");
	char *argv[] = { (char *)"blkfault", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	int err;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(bf->mnt, sizeof(bf->mnt), "%s/blkfault.XXXXXX", tmp) >= sizeof(bf->mnt)) {
		bf->mnt[0] = '\0';
		err_msg("TMPDIR is too long");
		return -ENAMETOOLONG;
	}
	if (!mkdtemp(bf->mnt)) {
		err = -errno;
		err_msg("cannot create a mount point in %s: %s (set TMPDIR to a writable directory)",
			tmp, strerror(errno));
		bf->mnt[0] = '\0';
		return err;
	}

	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", *fuse_fd);
	if (mount("blkfault", bf->mnt, "fuse.blkfault", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts)) {
		err = -errno;
		if (errno == ENODEV)
			err_msg("the kernel has no FUSE file system: load it with 'modprobe fuse'");
		else
			err_msg("cannot mount FUSE on %s: %s", bf->mnt, strerror(errno));
		return err;
	}
	bf->mounted = true;

	bf->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), bf);
	fuse_opt_free_args(&args);
	if (!bf->se) {
		err_msg("cannot create the FUSE session");
		return -ENOMEM;
	}
	/* "/dev/fd/N": libfuse adopts the already mounted descriptor. */
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", *fuse_fd);
	if (fuse_session_mount(bf->se, fdpath)) {
		err_msg("libfuse refused the FUSE descriptor");
		return -EINVAL;
	}
	*fuse_fd = -1;	/* the session owns it now, and closes it */

	bf->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (bf->stop_fd < 0) {
		err = -errno;
		err_msg("eventfd: %s", strerror(errno));
		return err;
	}
	err = -pthread_create(&bf->fuse_thread, NULL, fuse_thread_main, bf);
	if (err) {
		err_msg("cannot start the FUSE thread: %s", strerror(-err));
		return err;
	}
	bf->fuse_thread_started = true;

	snprintf(path, sizeof(path), "%s/" IMAGE_NAME, bf->mnt);
	*img_fd = open(path, O_RDWR | O_CLOEXEC);
	if (*img_fd < 0) {
		err = -errno;
		err_msg("cannot open the image %s: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

static void fuse_stop(struct blkfault *bf)
{
	if (bf->fuse_thread_started) {
		uint64_t one = 1;

		if (write(bf->stop_fd, &one, sizeof(one)) != sizeof(one))
			err_msg("cannot stop the FUSE thread: %s", strerror(errno));
		else
			pthread_join(bf->fuse_thread, NULL);
		bf->fuse_thread_started = false;
	}
	if (bf->mounted) {
		/* Lazy: the loop device may still hold the file (see teardown). */
		if (umount2(bf->mnt, MNT_DETACH))
			err_msg("cannot unmount %s: %s", bf->mnt, strerror(errno));
		bf->mounted = false;
	}
	if (bf->se) {
		/* Closes /dev/fuse: any request still pending fails with ENOTCONN. */
		fuse_session_destroy(bf->se);
		bf->se = NULL;
	}
	if (bf->mnt[0]) {
		if (rmdir(bf->mnt))
			err_msg("cannot remove %s: %s", bf->mnt, strerror(errno));
		bf->mnt[0] = '\0';
	}
	if (bf->stop_fd >= 0)
		close(bf->stop_fd);
	bf->stop_fd = -1;
}

/*
 * Direct I/O makes the loop driver submit to FUSE asynchronously, and our
 * reply completes the block request without waking its worker: twice the
 * requests per second of buffered mode here.  Either mode sees every
 * request, since the FUSE file itself bypasses the page cache.
 */
static int loop_configure(int loop_fd, int img_fd)
{
	struct loop_config cfg = {
		.fd = (__u32)img_fd,
		.block_size = SECTOR_SIZE,
		/* Autoclear: detach by itself when the last opener, normally us, closes it. */
		.info = { .lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO },
	};

	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name),
		 "blkfault:%d", (int)getpid());
	if (!ioctl(loop_fd, LOOP_CONFIGURE, &cfg))
		return 0;
	/* A kernel that cannot do direct I/O on this file may refuse the flag. */
	cfg.info.lo_flags &= ~LO_FLAGS_DIRECT_IO;
	if (errno == EINVAL && !ioctl(loop_fd, LOOP_CONFIGURE, &cfg))
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;

	/* Before Linux 5.8: the same in steps; direct I/O where it works. */
	if (ioctl(loop_fd, LOOP_SET_FD, img_fd))
		return -errno;
	if (ioctl(loop_fd, LOOP_SET_STATUS64, &cfg.info) ||
	    (ioctl(loop_fd, LOOP_SET_BLOCK_SIZE, (unsigned long)SECTOR_SIZE) && errno != EINVAL)) {
		int err = -errno;

		ioctl(loop_fd, LOOP_CLR_FD, 0);
		return err;
	}
	ioctl(loop_fd, LOOP_SET_DIRECT_IO, 1UL);
	return 0;
}

static int loop_attach(struct blkfault *bf, int ctl_fd, int img_fd)
{
	char path[64];
	int tries, err = -EBUSY;

	/* Another process may take the free device first: ask again. */
	for (tries = 0; tries < 32 && err == -EBUSY; tries++) {
		int nr = ioctl(ctl_fd, LOOP_CTL_GET_FREE);

		if (nr < 0) {
			err = -errno;
			err_msg("no free loop device (LOOP_CTL_GET_FREE): %s", strerror(errno));
			return err;
		}
		snprintf(path, sizeof(path), "/dev/loop%d", nr);
		bf->loop_fd = open(path, O_RDWR | O_CLOEXEC);
		if (bf->loop_fd < 0) {
			err = -errno;
			err_msg("cannot open %s: %s", path, strerror(errno));
			return err;
		}
		err = loop_configure(bf->loop_fd, img_fd);
		if (!err) {
			bf->loop_nr = nr;
			return 0;
		}
		close(bf->loop_fd);
		bf->loop_fd = -1;
	}
	err_msg("cannot attach the image to a loop device: %s", strerror(-err));
	return err;
}

static void loop_limit_request_size(int nr)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/sys/block/loop%d/queue/max_sectors_kb", nr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || dprintf(fd, "%d\n", LOOP_MAX_SECTORS_KB) < 0)
		err_msg("warning: cannot limit requests to %d KiB in %s (%s); a write larger than "
			"that covering a bad sector may not fail", LOOP_MAX_SECTORS_KB, path,
			strerror(errno));
	if (fd >= 0)
		close(fd);
}

static bool loop_bound(int nr)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/block/loop%d/loop", nr);
	return access(path, F_OK) == 0;
}

/*
 * Detach while the FUSE thread still answers: the loop driver flushes and
 * releases the file on the way out.  With autoclear, our close is what
 * detaches; if another process still has the device open, the kernel
 * detaches it when that process closes it, and I/O fails until then.
 */
static void loop_detach(struct blkfault *bf)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int waited;

	if (bf->loop_fd < 0)
		return;
	if (ioctl(bf->loop_fd, LOOP_CLR_FD, 0) && errno != ENXIO)
		err_msg("LOOP_CLR_FD on /dev/loop%d: %s", bf->loop_nr, strerror(errno));
	close(bf->loop_fd);
	bf->loop_fd = -1;
	for (waited = 0; loop_bound(bf->loop_nr) && waited < DETACH_WAIT_MS; waited += 10)
		nanosleep(&ts, NULL);
	if (loop_bound(bf->loop_nr))
		err_msg("warning: /dev/loop%d is still open by another process; the kernel "
			"detaches it when that process closes it, and its I/O fails until then",
			bf->loop_nr);
}

/* ---------------------------------------------------------------------- */
/* Control channel: one command per line on stdin, one reply line on stdout. */

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void reply_list(struct blkfault *bf)
{
	/* Print from a copy: a slow reader must not stall the FUSE thread. */
	static struct range copy[MAX_RANGES];
	unsigned int i, n;
	char item[64];

	pthread_mutex_lock(&bf->bad.lock);
	n = bf->bad.n;
	memcpy(copy, bf->bad.r, n * sizeof(copy[0]));
	pthread_mutex_unlock(&bf->bad.lock);
	fputs("ok", stdout);
	for (i = 0; i < n; i++) {
		format_range(&copy[i], item, sizeof(item));
		printf(" %s", item);
	}
	pthread_mutex_lock(&bf->delays.lock);
	for (i = 0; i < bf->delays.n; i++)
		printf(" delay=%" PRIu64 "+%" PRIu64 ":%" PRIu64, bf->delays.d[i].start,
		       bf->delays.d[i].count, bf->delays.d[i].ms);
	pthread_mutex_unlock(&bf->delays.lock);
	reply("%s", "");
}

/*
 * Run one command line and print its reply line (none for an empty line).
 * Returns NULL on success or the error text, so the fuzzer can check the
 * effect; sets *quit when the command asks blkfault to stop.
 */
static const char *control_command(struct blkfault *bf, char *line, bool *quit)
{
	char *words[5], *save = NULL, *w;
	unsigned int n = 0, i, seen;
	struct range r;
	const char *e = NULL;

	for (w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (n == 5)
			break;	/* no command takes that many: rejected below */
		words[n++] = w;
	}
	if (n == 0)
		return NULL;

	if (!strcmp(words[0], "bad") && n >= 2 && n <= 4) {
		e = parse_range(words[1], true, &r, &seen);
		for (i = 2; i < n && !e; i++)
			e = parse_attr(words[i], &r, &seen);
		e = e ? e : check_range(&r, bf->size);
		e = e ? e : bad_add(&bf->bad, &r);
	} else if (!strcmp(words[0], "clear") && n <= 2) {
		r = (struct range){ .start = 0, .count = UINT64_MAX };
		e = n == 2 ? parse_range(words[1], false, &r, &seen) : NULL;
		e = e ? e : bad_clear(&bf->bad, &r);
	} else if (!strcmp(words[0], "delay") && n == 3) {
		struct delay d;

		e = parse_delay(words[1], words[2], &d);
		e = e ? e : check_delay(&d, bf->size);
		e = e ? e : delay_add(&bf->delays, &d);
	} else if (!strcmp(words[0], "nodelay") && n == 1) {
		delay_clear(&bf->delays);
	} else if (!strcmp(words[0], "list") && n == 1) {
		reply_list(bf);
		return NULL;
	} else if (!strcmp(words[0], "stats") && n == 1) {
		reply("ok reads=%" PRIu64 " read_errors=%" PRIu64 " writes=%" PRIu64
		      " write_errors=%" PRIu64 " delayed=%" PRIu64,
		      (uint64_t)atomic_load(&bf->stats.reads),
		      (uint64_t)atomic_load(&bf->stats.read_errors),
		      (uint64_t)atomic_load(&bf->stats.writes),
		      (uint64_t)atomic_load(&bf->stats.write_errors),
		      (uint64_t)atomic_load(&bf->stats.delayed));
		return NULL;
	} else if (!strcmp(words[0], "quit") && n == 1) {
		*quit = true;
	} else {
		e = "unknown command or wrong arguments (bad SPEC [MODE] [ERROR], clear [SPEC], "
		    "delay SPEC MS, nodelay, list, stats, quit)";
	}
	if (e)
		reply("error: %s", e);
	else
		reply("ok");
	return e;
}

struct line_reader {
	char buf[MAX_LINE + 1];
	size_t len;
	bool overlong;		/* discarding the rest of a too-long line */
};

/* Returns false when stdin ended or a command asked to stop. */
static bool control_input(struct blkfault *bf, struct line_reader *lr, bool commands)
{
	char chunk[4096];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
	bool quit = false;
	ssize_t i;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n < 0)
		err_msg("reading stdin: %s", strerror(errno));
	if (n <= 0)
		return false;
	if (!commands)
		return true;
	for (i = 0; i < n; i++) {
		if (chunk[i] != '\n') {
			if (lr->len < MAX_LINE)
				lr->buf[lr->len++] = chunk[i];
			else
				lr->overlong = true;
			continue;
		}
		lr->buf[lr->len] = '\0';
		if (lr->overlong)
			reply("error: line longer than %d bytes", MAX_LINE);
		else
			control_command(bf, lr->buf, &quit);
		lr->len = 0;
		lr->overlong = false;
		if (quit)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: blkfault [OPTIONS]\n"
"Create a loop block device whose chosen sectors fail with I/O errors.\n"
"\n"
"  -s, --size SIZE            device size, bytes with optional K, M or G suffix\n"
"                             (default 64M, at most 16G; memory is used only\n"
"                             for sectors written)\n"
"  -b, --bad START[+COUNT][:MODE][:ERROR]\n"
"                             make COUNT 512-byte sectors from START fail on\n"
"                             read (MODE r), write (w) or both (rw), with\n"
"                             ERROR: EIO, ETIMEDOUT, ENOSPC, ENOLINK, EREMOTEIO,\n"
"                             EBADE, ENODATA, EILSEQ, ENOMEM, EBUSY, EOPNOTSUPP\n"
"                             (default COUNT 1, MODE rw, ERROR EIO);\n"
"                             repeatable, at most %d ranges\n"
"  -d, --delay START[+COUNT]:MS\n"
"                             answer reads and writes of COUNT sectors from\n"
"                             START only after MS milliseconds (at most 60000):\n"
"                             slow I/O that succeeds; repeatable, at most 64\n"
"      --until-stdin-eof      also stop when standard input reaches end of file\n"
"      --control              read commands from standard input, one per line:\n"
"                             bad SPEC [MODE] [ERROR], clear [SPEC],\n"
"                             delay SPEC MS, nodelay, list, stats, quit;\n"
"                             one reply line each, \"ok ...\" or \"error: ...\";\n"
"                             end of input stops blkfault\n"
"  -h, --help                 show this help\n"
"  -V, --version              show the version\n"
"\n"
"When the device is ready, prints \"/dev/loopN MAJOR:MINOR\" on standard output.\n"
"Runs until SIGINT, SIGTERM or SIGHUP, then detaches the device.  Needs root,\n"
"/dev/fuse and /dev/loop-control.\n"
"\n"
"Exit status: 0 after a requested stop, 1 when the device cannot be created,\n"
"2 on bad usage, 3 when the device failed after it was ready.  See blkfault(1).\n",
		MAX_RANGES);
}

#ifndef BLKFAULT_FUZZ	/* tests/fuzz/fuzz_blkfault_control.c brings its own entry point */

static int open_dev(const char *path, const char *module)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
		err_msg("%s is missing: load the %s module with 'modprobe %s'", path, module, module);
	else
		err_msg("cannot open %s: %s", path, strerror(errno));
	return -1;
}

enum { OPT_UNTIL_EOF = 256, OPT_CONTROL };

/* The command line into bf; returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct blkfault *bf, bool *until_eof,
			 bool *control)
{
	static const struct option longopts[] = {
		{ "size",		required_argument,	NULL, 's' },
		{ "bad",		required_argument,	NULL, 'b' },
		{ "delay",		required_argument,	NULL, 'd' },
		{ "until-stdin-eof",	no_argument,		NULL, OPT_UNTIL_EOF },
		{ "control",		no_argument,		NULL, OPT_CONTROL },
		{ "help",		no_argument,		NULL, 'h' },
		{ "version",		no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int i, seen;
	struct range r;
	struct delay d;
	const char *e;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:b:d:chV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if ((e = parse_size(optarg, &bf->size))) {
				err_msg("invalid --size '%s': %s", optarg, e);
				return EXIT_USAGE;
			}
			break;
		case 'b':
			if ((e = parse_range(optarg, true, &r, &seen)) || (e = bad_add(&bf->bad, &r))) {
				err_msg("invalid --bad '%s': %s", optarg, e);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			if ((e = parse_delay_opt(optarg, &d)) || (e = delay_add(&bf->delays, &d))) {
				err_msg("invalid --delay '%s': %s", optarg, e);
				return EXIT_USAGE;
			}
			break;
		case OPT_UNTIL_EOF:
			*until_eof = true;
			break;
		case OPT_CONTROL:
			*control = true;
			break;
		case 'c':	/* one letter, one meaning: -c is blknotifyd's --config */
			err_msg("-c is gone: use --control");
			return EXIT_USAGE;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("blkfault %s\n", BLKFAULT_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'blkfault --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		err_msg("unexpected argument '%s' (see blkfault --help)", argv[optind]);
		return EXIT_USAGE;
	}
	for (i = 0; i < bf->bad.n; i++) {
		char item[64];

		if ((e = check_range(&bf->bad.r[i], bf->size))) {
			format_range(&bf->bad.r[i], item, sizeof(item));
			err_msg("invalid --bad %s: %s (%" PRIu64 " sectors; raise --size)", item, e,
				bf->size / SECTOR_SIZE);
			return EXIT_USAGE;
		}
	}
	for (i = 0; i < bf->delays.n; i++) {
		if ((e = check_delay(&bf->delays.d[i], bf->size))) {
			err_msg("invalid --delay %" PRIu64 "+%" PRIu64 ":%" PRIu64 ": %s (%" PRIu64
				" sectors; raise --size)", bf->delays.d[i].start, bf->delays.d[i].count,
				bf->delays.d[i].ms, e, bf->size / SECTOR_SIZE);
			return EXIT_USAGE;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct blkfault bf = {
		.bad = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.delays = { .lock = PTHREAD_MUTEX_INITIALIZER },
		.stop_fd = -1,
		.loop_fd = -1,
		.size = DEFAULT_SIZE,
	};
	static struct line_reader lr;
	bool until_eof = false, control = false, watch_stdin;
	int fuse_fd = -1, ctl_fd = -1, img_fd = -1, sig_fd = -1, ret;
	struct stat st;
	sigset_t sigs;

	ret = parse_options(argc, argv, &bf, &until_eof, &control);
	if (ret >= 0)
		return ret;
	ret = EXIT_START;
	watch_stdin = until_eof || control;

	if (geteuid() != 0) {
		err_msg("must run as root: it mounts a FUSE file system and configures a loop "
			"device (try sudo)");
		return EXIT_START;
	}

	/* Signals wait in the signalfd until the main loop: setup is never cut short. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) ||
	    (sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		err_msg("cannot set up signal handling: %s", strerror(errno));
		return EXIT_START;
	}
	/* A reader that went away must not kill us before the loop device is detached. */
	signal(SIGPIPE, SIG_IGN);

	fuse_fd = open_dev("/dev/fuse", "fuse");
	if (fuse_fd < 0)
		goto out;
	ctl_fd = open_dev("/dev/loop-control", "loop");
	if (ctl_fd < 0)
		goto out;

	bf.mem = mmap(NULL, bf.size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (bf.mem == MAP_FAILED) {
		bf.mem = NULL;
		err_msg("cannot reserve %" PRIu64 " bytes of address space for the image: %s",
			bf.size, strerror(errno));
		goto out;
	}

	/*
	 * A private mount namespace keeps the mount invisible to everyone else
	 * and makes the kernel remove it if we die.  Must precede any thread.
	 * Not fatal: the mount is detached within milliseconds anyway.
	 */
	if (!unshare(CLONE_NEWNS))
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);

	if (fuse_start(&bf, &fuse_fd, &img_fd))
		goto out;
	if (loop_attach(&bf, ctl_fd, img_fd))
		goto out;
	loop_limit_request_size(bf.loop_nr);
	close(img_fd);	/* the loop device holds its own reference */
	img_fd = -1;

	/* Nobody needs the path any more; detach the mount and remove the directory. */
	if (umount2(bf.mnt, MNT_DETACH))
		err_msg("warning: cannot detach the mount %s: %s", bf.mnt, strerror(errno));
	else
		bf.mounted = false;
	if (!bf.mounted && !rmdir(bf.mnt))
		bf.mnt[0] = '\0';

	if (fstat(bf.loop_fd, &st)) {
		err_msg("fstat /dev/loop%d: %s", bf.loop_nr, strerror(errno));
		goto out;
	}
	printf("/dev/loop%d %u:%u\n", bf.loop_nr, major(st.st_rdev), minor(st.st_rdev));
	if (fflush(stdout) || ferror(stdout)) {
		err_msg("cannot write to standard output: %s", strerror(errno));
		goto out;
	}

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};

		if (poll(pfd, watch_stdin ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			err_msg("poll: %s", strerror(errno));
			ret = EXIT_GONE;
			goto out;
		}
		if (pfd[0].revents)
			break;
		if (watch_stdin && pfd[1].revents && !control_input(&bf, &lr, control))
			break;
	}
	ret = EXIT_OK;
out:
	/* Reverse order of setup; every step copes with never having happened. */
	if (img_fd >= 0)
		close(img_fd);
	loop_detach(&bf);
	fuse_stop(&bf);
	if (fuse_fd >= 0)
		close(fuse_fd);
	if (ctl_fd >= 0)
		close(ctl_fd);
	if (bf.mem)
		munmap(bf.mem, bf.size);
	if (sig_fd >= 0)
		close(sig_fd);
	return ret;
}

#endif /* BLKFAULT_FUZZ */
