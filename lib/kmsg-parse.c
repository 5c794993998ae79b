// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsing /dev/kmsg records and the block layer's request-error lines.
 *
 * The lines, by kernel generation (about; printk formats from the sources):
 *
 *   2.4       end_request: I/O error, dev %02x:%02x (%s), sector %llu
 *   2.6-3.x   end_request: %s error, dev %s, sector %llu
 *   3.x-4.12  blk_update_request: %s error, dev %s, sector %llu
 *   4.13-5.2  print_req_error: %s error, dev %s, sector %llu[ flags %x]
 *             (flags is the whole cmd_flags: the op in its low 8 bits)
 *   5.3-5.13  blk_update_request: %s error, dev %s, sector %llu op 0x%x:(%s)
 *             flags 0x%x phys_seg %u prio class %u
 *   5.14-6.18 %s error, dev %s, sector %llu op 0x%x:(%s) flags 0x%x
 *             phys_seg %u prio class %u      (blk_print_req_error() today)
 *
 * and the rate limiter's "%s: %d callbacks suppressed" (lib/ratelimit.c),
 * where %s is the function holding the printk_ratelimited(): block's are
 * blk_print_req_error, print_req_error and blk_update_request.
 *
 * Nothing here trusts its input: every read is bounded by the cursor's end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <blknotify/block_notify.h>
#include "kmsg-parse.h"
#include "match.h"

/* A bounded read position: [p, end). */
struct cur {
	const char *p, *end;
};

static size_t cur_left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

/* Advance past literal s if the input starts with it. */
static bool eat(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if (cur_left(c) < n || memcmp(c->p, s, n))
		return false;
	c->p += n;
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* One or more decimal digits that fit in a __u64. */
static bool parse_u64(struct cur *c, __u64 *ret)
{
	__u64 v = 0;
	const char *start = c->p;

	while (c->p < c->end && is_digit(*c->p)) {
		unsigned int d = (unsigned int)(*c->p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		c->p++;
	}
	*ret = v;
	return c->p > start;
}

static bool parse_u32(struct cur *c, __u32 *ret)
{
	__u64 v;

	if (!parse_u64(c, &v) || v > UINT32_MAX)
		return false;
	*ret = (__u32)v;
	return true;
}

/* One to eight hex digits (printk's %x of a 32-bit value). */
static bool parse_hex32(struct cur *c, __u32 *ret)
{
	__u32 v = 0;
	int n = 0, d;

	while (c->p < c->end && (d = hex_value(*c->p)) >= 0) {
		if (++n > 8)
			return false;
		v = v << 4 | (__u32)d;
		c->p++;
	}
	*ret = v;
	return n > 0;
}

/* Find needle in the first max bytes of c; NULL if absent. */
static const char *find(const struct cur *c, size_t max, const char *needle)
{
	size_t n = strlen(needle), left = cur_left(c);

	if (max > left)
		max = left;
	return memmem(c->p, max, needle, n);
}

/* --- records --- */

bool kmsg_record_from_kernel(const struct kmsg_record *rec)
{
	return (rec->prio >> 3) == 0;	/* LOG_FAC(prio) == LOG_KERN */
}

/* Longest "PRIO,SEQ,USEC,FLAGS[,caller=...]" prefix accepted. */
#define KMSG_HEADER_MAX	128

int kmsg_parse_record(const char *buf, size_t len, struct kmsg_record *rec)
{
	const char *semi, *nl;
	struct cur c;

	memset(rec, 0, sizeof(*rec));
	if (!buf)
		return -EINVAL;
	c = (struct cur){ buf, buf + len };
	if (!parse_u32(&c, &rec->prio) || !eat(&c, ",") ||
	    !parse_u64(&c, &rec->seq) || !eat(&c, ",") ||
	    !parse_u64(&c, &rec->usec) || !eat(&c, ","))
		return -EINVAL;
	/* A flag character, then fields newer kernels add (",caller=T12"). */
	semi = find(&c, KMSG_HEADER_MAX, ";");
	if (!semi || semi == c.p || memchr(c.p, '\n', (size_t)(semi - c.p)))
		return -EINVAL;
	if (semi - c.p > 1 && c.p[1] != ',')
		return -EINVAL;
	c.p = semi + 1;

	rec->msg = c.p;
	nl = memchr(c.p, '\n', cur_left(&c));
	if (!nl) {
		/* The kernel ends every record with a newline; accept its
		 * absence (a short buffer in tests) but no dictionary then. */
		rec->msg_len = cur_left(&c);
		return 0;
	}
	rec->msg_len = (size_t)(nl - c.p);
	if (nl + 1 < c.end) {
		rec->dict = nl + 1;
		rec->dict_len = (size_t)(c.end - (nl + 1));
	}
	return 0;
}

const char *kmsg_dict_get(const struct kmsg_record *rec, const char *key, size_t *value_len)
{
	size_t klen = strlen(key);
	struct cur c;

	if (!rec->dict || !klen)
		return NULL;
	c = (struct cur){ rec->dict, rec->dict + rec->dict_len };
	while (c.p < c.end) {
		const char *nl = memchr(c.p, '\n', cur_left(&c));
		const char *eol = nl ? nl : c.end;
		size_t line = (size_t)(eol - c.p);

		/* " KEY=VALUE": a continuation line starts with a space. */
		if (line > klen + 1 && c.p[0] == ' ' && !memcmp(c.p + 1, key, klen) &&
		    c.p[1 + klen] == '=') {
			if (value_len)
				*value_len = line - klen - 2;
			return c.p + klen + 2;
		}
		c.p = nl ? nl + 1 : c.end;
	}
	return NULL;
}

int kmsg_parse_devnum(const char *s, size_t len, __u32 *major, __u32 *minor)
{
	struct cur c;

	if (!s)
		return -EINVAL;
	c = (struct cur){ s, s + len };
	if (!parse_u32(&c, major) || !eat(&c, ":") || !parse_u32(&c, minor))
		return -EINVAL;
	eat(&c, "\n");
	return c.p == c.end ? 0 : -EINVAL;
}

/* --- request-error lines --- */

/* blk_errors[] of block/blk-core.c, every name it has had (2.6 to 6.18). */
static const struct {
	const char *name;
	__s32 error;
} statuses[] = {
	{ "I/O",			-EIO },
	{ "operation not supported",	-EOPNOTSUPP },
	{ "timeout",			-ETIMEDOUT },
	{ "critical space allocation",	-ENOSPC },
	{ "recoverable transport",	-ENOLINK },
	{ "critical target",		-EREMOTEIO },
	{ "critical nexus",		-EBADE },	/* BLK_STS_NEXUS, until 6.5 */
	{ "reservation conflict",	-EBADE },	/* BLK_STS_RESV_CONFLICT */
	{ "critical medium",		-ENODATA },
	{ "protection",			-EILSEQ },
	{ "kernel resource",		-ENOMEM },
	{ "device resource",		-EBUSY },
	{ "nonblocking retry",		-EAGAIN },
	{ "device offline",		-ENODEV },
	{ "dm internal retry",		-EREMCHG },	/* BLK_STS_DM_REQUEUE */
	{ "open zones exceeded",	-ETOOMANYREFS },
	{ "active zones exceeded",	-EOVERFLOW },
	{ "duration limit exceeded",	-ETIME },
	{ "invalid",			-EINVAL },
};

__s32 kmsg_status_errno(const char *status, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strlen(statuses[i].name) == len && !memcmp(statuses[i].name, status, len))
			return statuses[i].error;
	return -EIO;	/* "<null>" (an out-of-range status) and names yet to come */
}

/* blk_op_str() names (blk_op_name[]); those without a record op are OTHER. */
static const struct {
	const char *name;
	__u16 op;
} op_names[] = {
	{ "READ",		BLOCK_NOTIFY_OP_READ },
	{ "WRITE",		BLOCK_NOTIFY_OP_WRITE },
	{ "FLUSH",		BLOCK_NOTIFY_OP_FLUSH },
	{ "DISCARD",		BLOCK_NOTIFY_OP_DISCARD },
	{ "SECURE_ERASE",	BLOCK_NOTIFY_OP_SECURE_ERASE },
	{ "ZONE_APPEND",	BLOCK_NOTIFY_OP_ZONE_APPEND },
	{ "WRITE_ZEROES",	BLOCK_NOTIFY_OP_WRITE_ZEROES },
	{ "ZONE_OPEN",		BLOCK_NOTIFY_OP_ZONE_OPEN },
	{ "ZONE_CLOSE",		BLOCK_NOTIFY_OP_ZONE_CLOSE },
	{ "ZONE_FINISH",	BLOCK_NOTIFY_OP_ZONE_FINISH },
	{ "ZONE_RESET",		BLOCK_NOTIFY_OP_ZONE_RESET },
	{ "ZONE_RESET_ALL",	BLOCK_NOTIFY_OP_ZONE_RESET_ALL },
	{ "DRV_IN",		BLOCK_NOTIFY_OP_DRV_IN },
	{ "DRV_OUT",		BLOCK_NOTIFY_OP_DRV_OUT },
	/* WRITE_SAME, SCSI_IN, SCSI_OUT (5.x) and "UNKNOWN": OTHER */
};

static __u16 op_from_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strlen(op_names[i].name) == len && !memcmp(op_names[i].name, name, len))
			return op_names[i].op;
	return BLOCK_NOTIFY_OP_OTHER;
}

/*
 * An op printed only as a number.  enum req_op renumbered the zone
 * operations over time; these values have meant the same since 4.10.
 */
static __u16 op_from_number(__u32 op)
{
	switch (op) {
	case 0:  return BLOCK_NOTIFY_OP_READ;
	case 1:  return BLOCK_NOTIFY_OP_WRITE;
	case 2:  return BLOCK_NOTIFY_OP_FLUSH;
	case 3:  return BLOCK_NOTIFY_OP_DISCARD;
	case 5:  return BLOCK_NOTIFY_OP_SECURE_ERASE;
	case 9:  return BLOCK_NOTIFY_OP_WRITE_ZEROES;
	case 34: return BLOCK_NOTIFY_OP_DRV_IN;
	case 35: return BLOCK_NOTIFY_OP_DRV_OUT;
	default: return BLOCK_NOTIFY_OP_OTHER;
	}
}

/*
 * enum req_flag_bits: REQ_OP_BITS is 8 and these positions have not moved
 * from 4.10 (before any line printed flags) to 6.18.
 */
#define KREQ_SYNC	(1U << 11)
#define KREQ_META	(1U << 12)
#define KREQ_FUA	(1U << 17)
#define KREQ_PREFLUSH	(1U << 18)
#define KREQ_RAHEAD	(1U << 19)

static __u16 flags_from_kernel(__u32 f)
{
	return (f & KREQ_PREFLUSH ? BLOCK_NOTIFY_F_PREFLUSH : 0) |
	       (f & KREQ_FUA ? BLOCK_NOTIFY_F_FUA : 0) |
	       (f & KREQ_RAHEAD ? BLOCK_NOTIFY_F_RAHEAD : 0) |
	       (f & KREQ_SYNC ? BLOCK_NOTIFY_F_SYNC : 0) |
	       (f & KREQ_META ? BLOCK_NOTIFY_F_META : 0);
}

/* Longest status name accepted ("duration limit exceeded" is 23). */
#define STATUS_MAX	48
/* Longest "dev" field: a name, or "21:05 (hde)". */
#define DEVSPEC_MAX	(KMSG_DISK_NAME_MAX + 16)
/* Longest op name in "op 0x%x:(%s)" ("ZONE_RESET_ALL" is 14). */
#define OPNAME_MAX	32

static bool status_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
	       ch == ' ' || ch == '/' || ch == '<' || ch == '>' || ch == '-' || ch == '_';
}

/*
 * A disk name as printed: printable, no space or comma (the field ends at
 * ", sector").  '/' is legal (cciss/c0d0); whoever looks the name up in
 * sysfs must translate it.
 */
static bool copy_disk(const char *s, size_t len, char disk[KMSG_DISK_NAME_MAX])
{
	size_t i;

	if (len == 0 || len >= KMSG_DISK_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ',')
			return false;
	memcpy(disk, s, len);
	disk[len] = '\0';
	return true;
}

/* "sda", or the 2.4-era "21:05 (hde)" (kdevname, then the name). */
static bool parse_devspec(const char *s, size_t len, char disk[KMSG_DISK_NAME_MAX])
{
	const char *open = len ? memchr(s, '(', len) : NULL;
	struct cur c = { s, s + len };
	__u32 v;

	if (!open)
		return copy_disk(s, len, disk);
	if (!parse_hex32(&c, &v) || !eat(&c, ":") || !parse_hex32(&c, &v) ||
	    !eat(&c, " (") || c.p != open + 1 || s[len - 1] != ')')
		return false;
	return copy_disk(open + 1, (size_t)(s + len - 1 - (open + 1)), disk);
}

/* After "sector N ": "op 0x%x[:(%s)]", "flags [0x]%x", and fields we skip. */
static bool parse_tail(struct cur *c, struct kmsg_request_error *err)
{
	bool have_op = false, have_flags = false, legacy_flags = false;
	__u32 v, kflags = 0;

	while (c->p < c->end) {
		if (eat(c, "op 0x")) {
			if (!parse_hex32(c, &v))
				return false;
			if (eat(c, ":(")) {
				const char *close = find(c, OPNAME_MAX, ")");

				if (!close)
					return false;
				err->op = op_from_name(c->p, (size_t)(close - c->p));
				c->p = close + 1;
			} else {
				err->op = op_from_number(v);
			}
			have_op = true;
		} else if (eat(c, "flags ")) {
			/* 4.18-5.2 printed the whole cmd_flags as "%x". */
			legacy_flags = !eat(c, "0x");
			if (!parse_hex32(c, &kflags))
				return false;
			have_flags = true;
		} else {
			/* A field we do not use ("phys_seg 1 prio class 2")
			 * or one a later kernel adds: skip the word.  Ours
			 * without a value means the line was cut short. */
			const char *word = c->p;

			while (c->p < c->end && *c->p != ' ')
				c->p++;
			if ((c->p - word == 2 && !memcmp(word, "op", 2)) ||
			    (c->p - word == 5 && !memcmp(word, "flags", 5)))
				return false;
		}
		if (c->p < c->end && !eat(c, " "))
			return false;
	}
	if (have_flags) {
		err->flags = flags_from_kernel(kflags);
		if (legacy_flags && !have_op)
			err->op = op_from_number(kflags & 0xff);
	}
	return true;
}

static bool parse_request_error(struct cur c, struct kmsg_request_error *err)
{
	static const char *const callers[] = {
		"end_request: ", "blk_update_request: ", "print_req_error: ",
	};
	const char *status, *e, *sector;
	size_t i;

	for (i = 0; i < sizeof(callers) / sizeof(callers[0]); i++)
		if (eat(&c, callers[i]))
			break;

	status = c.p;
	e = find(&c, STATUS_MAX + sizeof(" error, dev "), " error, dev ");
	if (!e || e == status || e - status > STATUS_MAX)
		return false;
	for (i = 0; i < (size_t)(e - status); i++)
		if (!status_char(status[i]))
			return false;
	err->error = kmsg_status_errno(status, (size_t)(e - status));
	err->subtype = bn_subtype_from_errno(err->error);
	c.p = e + strlen(" error, dev ");

	sector = find(&c, DEVSPEC_MAX + sizeof(", sector "), ", sector ");
	if (!sector || !parse_devspec(c.p, (size_t)(sector - c.p), err->disk))
		return false;
	c.p = sector + strlen(", sector ");
	if (!parse_u64(&c, &err->sector))
		return false;

	err->op = BLOCK_NOTIFY_OP_OTHER;
	if (c.p == c.end)
		return true;
	return eat(&c, " ") && parse_tail(&c, err);
}

/* "FUNC: N callbacks suppressed" for the functions that print request errors. */
static bool parse_suppressed(struct cur c, __u64 *nr)
{
	static const char *const funcs[] = {
		"blk_print_req_error: ", "print_req_error: ", "blk_update_request: ",
	};
	size_t i;

	for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (eat(&c, funcs[i]))
			break;
	if (i == sizeof(funcs) / sizeof(funcs[0]))
		return false;
	return parse_u64(&c, nr) && *nr > 0 && eat(&c, " callbacks suppressed") &&
	       c.p == c.end;
}

enum kmsg_kind kmsg_parse_message(const char *msg, size_t len, struct kmsg_message *out)
{
	struct cur c;

	memset(out, 0, sizeof(*out));
	if (!msg)
		return KMSG_OTHER;
	c = (struct cur){ msg, msg + len };
	if (parse_suppressed(c, &out->nr_suppressed))
		return out->kind = KMSG_SUPPRESSED;
	out->nr_suppressed = 0;
	if (parse_request_error(c, &out->err))
		return out->kind = KMSG_REQUEST_ERROR;
	memset(out, 0, sizeof(*out));
	return KMSG_OTHER;
}
