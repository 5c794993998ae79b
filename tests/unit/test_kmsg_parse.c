// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the kmsg line parser (lib/kmsg-parse.c).
 *
 * The corpus in data/kmsg/ holds real kernel log lines; the expected value
 * of every line is written out below, read off the line by hand (not taken
 * from running the parser).  KMSG_CORPUS in the environment names that
 * directory (meson sets it).  Output is TAP (tests/harness.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blknotify/block_notify.h>
#include "kmsg-parse.h"
#include "../harness.h"

static const char *ctx = "";	/* what is being checked, for messages */

#define EXPECT_U64(actual, expected, what) do {					\
	unsigned long long a_ = (unsigned long long)(actual);			\
	unsigned long long e_ = (unsigned long long)(expected);			\
	if (a_ != e_) {								\
		printf("# %s:%d: [%s] %s: got %llu (%#llx), expected %llu (%#llx)\n", \
			__FILE__, __LINE__, ctx, what, a_, a_, e_, e_);		\
		test_failed = true;						\
	}									\
} while (0)

#define EXPECT_S64(actual, expected, what) do {					\
	long long a_ = (long long)(actual), e_ = (long long)(expected);		\
	if (a_ != e_) {								\
		printf("# %s:%d: [%s] %s: got %lld, expected %lld\n",	\
			__FILE__, __LINE__, ctx, what, a_, e_);			\
		test_failed = true;						\
	}									\
} while (0)

#define EXPECT_STR(actual, expected, what) do {					\
	const char *a_ = (actual), *e_ = (expected);				\
	if (strcmp(a_, e_)) {							\
		printf("# %s:%d: [%s] %s: got \"%s\", expected \"%s\"\n", \
			__FILE__, __LINE__, ctx, what, a_, e_);			\
		test_failed = true;						\
	}									\
} while (0)

/* What one line must parse to. */
struct expect {
	enum kmsg_kind kind;
	const char *disk;
	__u64 sector;
	__u32 subtype;
	__s32 error;
	__u16 op;
	__u16 flags;
	__u64 nr;		/* KMSG_SUPPRESSED */
	__u64 seq;		/* records only */
};

#define OTHER(s)	{ .kind = KMSG_OTHER, .seq = (s) }
#define SUPP(s, n)	{ .kind = KMSG_SUPPRESSED, .nr = (n), .seq = (s) }
#define ERR(s, d, sec, sub, e, o, f) \
	{ .kind = KMSG_REQUEST_ERROR, .disk = (d), .sector = (sec), .subtype = (sub), \
	  .error = (e), .op = (o), .flags = (f), .seq = (s) }

/* Short names for the expectations. */
#define IO	NOTIFY_BLOCK_ERROR_IO
#define MEDIUM	NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM
#define TARGET	NOTIFY_BLOCK_ERROR_CRITICAL_TARGET
#define NOSPC	NOTIFY_BLOCK_ERROR_NO_SPACE
#define NOTSUP	NOTIFY_BLOCK_ERROR_NOT_SUPPORTED
#define TMO	NOTIFY_BLOCK_ERROR_TIMEOUT
#define PROT	NOTIFY_BLOCK_ERROR_PROTECTION
#define TRANSP	NOTIFY_BLOCK_ERROR_RECOVERABLE_TRANSPORT
#define RD	BLOCK_NOTIFY_OP_READ
#define WR	BLOCK_NOTIFY_OP_WRITE
#define DISC	BLOCK_NOTIFY_OP_DISCARD
#define WZ	BLOCK_NOTIFY_OP_WRITE_ZEROES
#define OOTHER	BLOCK_NOTIFY_OP_OTHER
#define SYNC	BLOCK_NOTIFY_F_SYNC
#define RAHEAD	BLOCK_NOTIFY_F_RAHEAD
#define META	BLOCK_NOTIFY_F_META

/* data/kmsg/host-6.18.kmsg, record by record. */
static const struct expect host_expect[] = {
	OTHER(194), OTHER(195), OTHER(196),		/* acpi, with dictionaries */
	OTHER(282), OTHER(283), OTHER(284), OTHER(344),
	OTHER(346),					/* our marker */
	ERR(347, "loop0", 2048, IO, -EIO, RD, SYNC),	/* flags 0x800 */
	ERR(348, "loop0", 2048, IO, -EIO, WR, SYNC),	/* 0x8800: SYNC|IDLE */
	ERR(349, "loop0", 2048, IO, -EIO, RD, SYNC),
	ERR(350, "loop0", 2048, IO, -EIO, RD, RAHEAD),	/* 0x80700: FAILFAST_*|RAHEAD */
	ERR(351, "loop0", 2048, IO, -EIO, RD, 0),
	OTHER(352),					/* Buffer I/O error: not a request */
	ERR(353, "loop0", 2048, IO, -EIO, RD, RAHEAD),
	ERR(354, "loop0", 2048, IO, -EIO, RD, 0),
	OTHER(355),
	ERR(356, "loop0", 0, IO, -EIO, WR, SYNC),
	OTHER(357),					/* capacity change */
	OTHER(358),
	ERR(359, "loop0", 0, NOTSUP, -EOPNOTSUPP, DISC, SYNC),
	ERR(360, "loop0", 0, NOTSUP, -EOPNOTSUPP, WZ, SYNC),	/* 0x20000800 */
	ERR(361, "loop0", 0, IO, -EIO, WR, SYNC),
	ERR(362, "loop0", 65536, IO, -EIO, RD, SYNC),
	ERR(363, "loop0", 65536, IO, -EIO, RD, SYNC),
	ERR(364, "loop0", 65536, IO, -EIO, RD, SYNC),
	ERR(365, "loop0", 65536, IO, -EIO, RD, SYNC),
	ERR(366, "loop0", 65536, IO, -EIO, RD, SYNC),
	ERR(367, "loop0", 65536, IO, -EIO, RD, SYNC),
	ERR(368, "loop0", 65536, IO, -EIO, RD, SYNC),
	SUPP(369, 23),
	ERR(370, "loop0", 65537, IO, -EIO, RD, SYNC),
	OTHER(374),
	ERR(375, "loop1", 6144, NOSPC, -ENOSPC, WR, SYNC),	/* 0xc800 */
	ERR(376, "loop1", 7168, NOSPC, -ENOSPC, WR, SYNC),
};

/* data/kmsg/public-reports.log, line by line (comments skipped). */
static const struct expect public_expect[] = {
	/* end_request */
	ERR(0, "fd0", 0, IO, -EIO, OOTHER, 0),
	ERR(0, "sr0", 631044, IO, -EIO, OOTHER, 0),
	ERR(0, "sda", 355963, IO, -EIO, OOTHER, 0),
	ERR(0, "hde", 58956, IO, -EIO, OOTHER, 0),	/* "dev 21:05 (hde)" */
	ERR(0, "hda", 170477055, IO, -EIO, OOTHER, 0),
	OTHER(0),					/* __ratelimit: not attributable */
	OTHER(0),					/* Buffer I/O error */
	/* blk_update_request */
	ERR(0, "sdc", 69141760, MEDIUM, -ENODATA, OOTHER, 0),
	/* print_req_error */
	ERR(0, "sda", 54732672, IO, -EIO, OOTHER, 0),
	ERR(0, "mmcblk1", 0, IO, -EIO, OOTHER, 0),
	ERR(0, "nbd0", 66264, IO, -EIO, RD, META),	/* flags 3000: op 0, META|PRIO */
	ERR(0, "nbd0", 5123224, IO, -EIO, WR, SYNC),	/* flags 8801: op 1, SYNC|IDLE */
	ERR(0, "loop5", 0, IO, -EIO, OOTHER, 0),
	/* blk_update_request with op */
	ERR(0, "sdf", 1677725432, MEDIUM, -ENODATA, RD, 0),
	ERR(0, "sdk", 130611915, MEDIUM, -ENODATA, WR, 0),
	ERR(0, "sda", 2641769448ULL, MEDIUM, -ENODATA, RD, RAHEAD),
	ERR(0, "sdj", 54126096, MEDIUM, -ENODATA, RD, RAHEAD),
	ERR(0, "sdv", 21493673360ULL, MEDIUM, -ENODATA, RD, META),	/* 0x1000 */
	SUPP(0, 134),
	ERR(0, "sdi", 11721044992ULL, IO, -EIO, RD, RAHEAD),
	SUPP(0, 118),
	ERR(0, "sda", 9748, IO, -EIO, WR, 0),		/* 0x100000: BACKGROUND only */
	SUPP(0, 174),
	ERR(0, "sdd", 18708864, IO, -EIO, WR, 0),
	/* blk_print_req_error */
	OTHER(0),
	SUPP(0, 74),
	ERR(0, "nullb0", 8, TMO, -ETIMEDOUT, RD, 0),
	OTHER(0),
	SUPP(0, 118),
	ERR(0, "ublkb1", 2018072, IO, -EIO, RD, 0),
	OTHER(0),					/* nvme_log_error's own limit */
	SUPP(0, 1),
	ERR(0, "nvme6c6n1", 2096384, IO, -EIO, RD, RAHEAD),	/* 0x2880700 */
	SUPP(0, 16),
	ERR(0, "sdd", 9830210432ULL, IO, -EIO, RD, RAHEAD),
	ERR(0, "sdb", 6284824, TARGET, -EREMOTEIO, RD, 0),
	ERR(0, "sda", 81609464, TARGET, -EREMOTEIO, DISC, SYNC),
	ERR(0, "sde", 396041272, TARGET, -EREMOTEIO, WR, SYNC),
	ERR(0, "sdb", 13960192, TARGET, -EREMOTEIO, RD, 0),	/* 0x4000: NOMERGE */
	ERR(0, "nvme2n1", 16, PROT, -EILSEQ, WR, SYNC),		/* 0x10800: SYNC|INTEGRITY */
	ERR(0, "nvme2n1", 62464, PROT, -EILSEQ, WR, SYNC),
	ERR(0, "nvme2n1", 1801032, TRANSP, -ENOLINK, RD, SYNC),
	OTHER(0),
	OTHER(0),
	OTHER(0),
	SUPP(0, 138),
	ERR(0, "loop0", 108, IO, -EIO, RD, RAHEAD),
};

/* data/kmsg/debian-6.1.log, line by line. */
static const struct expect debian61_expect[] = {
	OTHER(0), OTHER(0), OTHER(0), OTHER(0),		/* sd: FAILED, sense, CDB */
	ERR(0, "sda", 1000, MEDIUM, -ENODATA, RD, SYNC),
	OTHER(0), OTHER(0), OTHER(0), OTHER(0), OTHER(0), OTHER(0),
	ERR(0, "sda", 2048, IO, -EIO, RD, SYNC),	/* after a timeout offlined it */
	OTHER(0),					/* rejecting I/O to offline device */
	ERR(0, "sda", 4096, IO, -EIO, RD, SYNC),
	ERR(0, "nullb0", 2048, IO, -EIO, RD, SYNC),
	ERR(0, "nullb0", 2048, IO, -EIO, WR, SYNC),
	ERR(0, "nullb0", 2048, IO, -EIO, DISC, SYNC),
	OTHER(0),					/* null_blk: rq ... timed out */
	ERR(0, "nullb1", 64, TMO, -ETIMEDOUT, RD, SYNC),
	OTHER(0), OTHER(0), OTHER(0), OTHER(0), OTHER(0),
	ERR(0, "sda", 3000, PROT, -EILSEQ, RD, SYNC),
	ERR(0, "nullz0", 16384, NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE, -ETOOMANYREFS, WR, SYNC),
	ERR(0, "nullz1", 16384, NOTIFY_BLOCK_ERROR_ZONE_ACTIVE_RESOURCE, -EOVERFLOW, WR, SYNC),
	ERR(0, "nullb2", 512, IO, -EIO, RD, SYNC),
	ERR(0, "nullb2", 512, IO, -EIO, RD, SYNC),
	ERR(0, "nullb2", 512, IO, -EIO, RD, SYNC),
	ERR(0, "nullb2", 512, IO, -EIO, RD, SYNC),
};

/* data/kmsg/debian-6.12.log, line by line.  O5: the five sd lines around a failure. */
#define O5 OTHER(0), OTHER(0), OTHER(0), OTHER(0), OTHER(0)
static const struct expect debian612_expect[] = {
	OTHER(0), OTHER(0), OTHER(0), OTHER(0),
	ERR(0, "sda", 1000, MEDIUM, -ENODATA, RD, SYNC),
	OTHER(0), OTHER(0), OTHER(0), OTHER(0), OTHER(0), OTHER(0),
	ERR(0, "sda", 2048, IO, -EIO, RD, SYNC),
	OTHER(0),
	ERR(0, "sda", 4096, IO, -EIO, RD, SYNC),
	ERR(0, "nullb0", 2048, IO, -EIO, RD, SYNC),
	ERR(0, "nullb0", 2048, IO, -EIO, WR, SYNC),
	ERR(0, "nullb0", 2048, IO, -EIO, DISC, SYNC),
	OTHER(0),
	ERR(0, "nullb1", 64, TMO, -ETIMEDOUT, RD, SYNC),
	O5,
	ERR(0, "sda", 3000, PROT, -EILSEQ, RD, SYNC),
	O5, OTHER(0),					/* + "sd 0:0:0:0: reservation conflict" */
	ERR(0, "sda", 512, NOTIFY_BLOCK_ERROR_CRITICAL_NEXUS, -EBADE, RD, SYNC),
	O5,
	ERR(0, "sda", 1024, TRANSP, -ENOLINK, RD, SYNC),
	O5,
	ERR(0, "sda", 1536, TARGET, -EREMOTEIO, RD, SYNC),
	O5,
	ERR(0, "sda", 2048, NOSPC, -ENOSPC, RD, SYNC),
	O5,
	ERR(0, "sda", 2560, PROT, -EILSEQ, RD, SYNC),
	O5,
	ERR(0, "sda", 3072, NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE, -ETOOMANYREFS, RD, SYNC),
	O5,
	ERR(0, "sda", 3584, MEDIUM, -ENODATA, RD, SYNC),
	OTHER(0),					/* a "fail command" line alone */
	O5,
	ERR(0, "sda", 4608, MEDIUM, -ENODATA, RD, SYNC),
	ERR(0, "nullz0", 16384, NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE, -ETOOMANYREFS, WR, SYNC),
	ERR(0, "nullz1", 16384, NOTIFY_BLOCK_ERROR_ZONE_ACTIVE_RESOURCE, -EOVERFLOW, WR, SYNC),
	ERR(0, "nullb3", 512, IO, -EIO, RD, SYNC),
	SUPP(0, 190),
	ERR(0, "nullb3", 4096, IO, -EIO, RD, SYNC),
};

static void check_message(const char *msg, size_t len, const struct expect *e)
{
	struct kmsg_message m;
	enum kmsg_kind kind = kmsg_parse_message(msg, len, &m);

	EXPECT_U64(kind, e->kind, "kind");
	EXPECT_U64(m.kind, e->kind, "out->kind");
	if (kind != e->kind)
		return;
	switch (kind) {
	case KMSG_REQUEST_ERROR:
		EXPECT_STR(m.err.disk, e->disk, "disk");
		EXPECT_U64(m.err.sector, e->sector, "sector");
		EXPECT_U64(m.err.subtype, e->subtype, "subtype");
		EXPECT_S64(m.err.error, e->error, "error");
		EXPECT_U64(m.err.op, e->op, "op");
		EXPECT_U64(m.err.flags, e->flags, "flags");
		break;
	case KMSG_SUPPRESSED:
		EXPECT_U64(m.nr_suppressed, e->nr, "nr_suppressed");
		break;
	default:
		break;
	}
}

/* The corpus directory, from the environment. */
static const char *corpus_dir(void)
{
	const char *dir = getenv("KMSG_CORPUS");

	if (!dir)
		TEST_FAIL_(1, "%s", "KMSG_CORPUS is not set: it names tests/unit/data/kmsg");
	return dir;
}

static char *read_file(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f) {
		TEST_FAIL_(1, "cannot open %s: %s", path, strerror(errno));
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		TEST_FAIL_(1, "cannot read %s", path);
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Every record of the host capture, framing and message. */
static void test_host_corpus(const char *dir)
{
	size_t len, n = 0, nexp = sizeof(host_expect) / sizeof(host_expect[0]);
	char *buf = read_file(dir, "host-6.18.kmsg", &len), *p = buf, *end = buf + len;
	char label[64];

	while (p < end) {
		char *rec = p, *nl;
		struct kmsg_record r;

		/* A record: its line and the continuation lines after it. */
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
		if (*rec == '#')
			continue;
		while (p < end && *p == ' ') {
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		}
		snprintf(label, sizeof(label), "host record %zu", n);
		ctx = label;
		if (n >= nexp) {
			TEST_FAIL_(0, "[%s] more records than expectations", ctx);
			break;
		}
		EXPECT_S64(kmsg_parse_record(rec, (size_t)(p - rec), &r), 0, "kmsg_parse_record");
		EXPECT_U64(r.seq, host_expect[n].seq, "seq");
		check_message(r.msg, r.msg_len, &host_expect[n]);
		n++;
	}
	ctx = "host corpus";
	EXPECT_U64(n, nexp, "records");
	free(buf);
}

/* Strip "Mmm dd hh:mm:ss host kernel: " and "[...]" prefixes off a log line. */
static const char *strip_prefixes(const char *line)
{
	const char *k = strstr(line, " kernel: ");

	if (k)
		line = k + strlen(" kernel: ");
	while (*line == '[') {
		const char *close = strchr(line, ']');

		if (!close)
			break;
		line = close + 1;
		while (*line == ' ')
			line++;
	}
	return line;
}

/* A file of dmesg or syslog lines, each checked against exp[] in order. */
static void test_log_corpus(const char *dir, const char *name, const struct expect *exp,
			    size_t nexp)
{
	size_t len, n = 0;
	char *buf = read_file(dir, name, &len), *line, *save = NULL;
	char label[96];

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *msg;

		if (*line == '#')
			continue;
		snprintf(label, sizeof(label), "%s line %zu", name, n);
		ctx = label;
		if (n >= nexp) {
			TEST_FAIL_(0, "[%s] more lines than expectations", ctx);
			break;
		}
		msg = strip_prefixes(line);
		check_message(msg, strlen(msg), &exp[n]);
		n++;
	}
	ctx = name;
	EXPECT_U64(n, nexp, "lines");
	free(buf);
}

/* Every status name blk_errors[] has had, and names it never had. */
static void test_statuses(void)
{
	static const struct {
		const char *name;
		__s32 error;
		__u32 subtype;
	} t[] = {
		{ "I/O",			-EIO,		NOTIFY_BLOCK_ERROR_IO },
		{ "operation not supported",	-EOPNOTSUPP,	NOTIFY_BLOCK_ERROR_NOT_SUPPORTED },
		{ "timeout",			-ETIMEDOUT,	NOTIFY_BLOCK_ERROR_TIMEOUT },
		{ "critical space allocation",	-ENOSPC,	NOTIFY_BLOCK_ERROR_NO_SPACE },
		{ "recoverable transport",	-ENOLINK,	NOTIFY_BLOCK_ERROR_RECOVERABLE_TRANSPORT },
		{ "critical target",		-EREMOTEIO,	NOTIFY_BLOCK_ERROR_CRITICAL_TARGET },
		{ "critical nexus",		-EBADE,		NOTIFY_BLOCK_ERROR_CRITICAL_NEXUS },
		{ "reservation conflict",	-EBADE,		NOTIFY_BLOCK_ERROR_CRITICAL_NEXUS },
		{ "critical medium",		-ENODATA,	NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM },
		{ "protection",			-EILSEQ,	NOTIFY_BLOCK_ERROR_PROTECTION },
		{ "kernel resource",		-ENOMEM,	NOTIFY_BLOCK_ERROR_KERNEL_RESOURCE },
		{ "device resource",		-EBUSY,		NOTIFY_BLOCK_ERROR_DEVICE_RESOURCE },
		{ "nonblocking retry",		-EAGAIN,	NOTIFY_BLOCK_ERROR_AGAIN },
		{ "device offline",		-ENODEV,	NOTIFY_BLOCK_ERROR_OFFLINE },
		{ "open zones exceeded",	-ETOOMANYREFS,	NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE },
		{ "active zones exceeded",	-EOVERFLOW,	NOTIFY_BLOCK_ERROR_ZONE_ACTIVE_RESOURCE },
		{ "duration limit exceeded",	-ETIME,		NOTIFY_BLOCK_ERROR_DURATION_LIMIT },
		{ "invalid",			-EINVAL,	NOTIFY_BLOCK_ERROR_INVALID },
		/* BLK_STS_DM_REQUEUE: the kernel's errno, which no subtype names */
		{ "dm internal retry",		-EREMCHG,	NOTIFY_BLOCK_ERROR_IO },
		/* blk_status_to_str() of an out-of-range status, and the future */
		{ "<null>",			-EIO,		NOTIFY_BLOCK_ERROR_IO },
		{ "quantum decoherence",	-EIO,		NOTIFY_BLOCK_ERROR_IO },
		{ "Timeout",			-EIO,		NOTIFY_BLOCK_ERROR_IO },
	};
	/* Each generation's line around the status name: before, after. */
	static const char *const fmts[][2] = {
		{ "", " error, dev sdq, sector 77 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2" },
		{ "blk_update_request: ",
		  " error, dev sdq, sector 77 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0" },
		{ "print_req_error: ", " error, dev sdq, sector 77 flags 0" },
		{ "print_req_error: ", " error, dev sdq, sector 77" },
		{ "blk_update_request: ", " error, dev sdq, sector 77" },
		{ "end_request: ", " error, dev sdq, sector 77" },
	};
	char msg[256], label[96];
	size_t i, f;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
			struct expect e = ERR(0, "sdq", 77, t[i].subtype, t[i].error,
					      f < 3 ? RD : OOTHER, 0);

			snprintf(msg, sizeof(msg), "%s%s%s", fmts[f][0], t[i].name, fmts[f][1]);
			snprintf(label, sizeof(label), "status \"%s\" format %zu", t[i].name, f);
			ctx = label;
			check_message(msg, strlen(msg), &e);
		}
		ctx = t[i].name;
		EXPECT_S64(kmsg_status_errno(t[i].name, strlen(t[i].name)), t[i].error,
			   "kmsg_status_errno");
	}
}

/* Every blk_op_str() name, and op numbers without a name. */
static void test_ops(void)
{
	static const struct {
		const char *text;
		__u16 op;
	} t[] = {
		{ "op 0x0:(READ)",		BLOCK_NOTIFY_OP_READ },
		{ "op 0x1:(WRITE)",		BLOCK_NOTIFY_OP_WRITE },
		{ "op 0x2:(FLUSH)",		BLOCK_NOTIFY_OP_FLUSH },
		{ "op 0x3:(DISCARD)",		BLOCK_NOTIFY_OP_DISCARD },
		{ "op 0x5:(SECURE_ERASE)",	BLOCK_NOTIFY_OP_SECURE_ERASE },
		{ "op 0x7:(ZONE_APPEND)",	BLOCK_NOTIFY_OP_ZONE_APPEND },
		{ "op 0x9:(WRITE_ZEROES)",	BLOCK_NOTIFY_OP_WRITE_ZEROES },
		{ "op 0xa:(ZONE_OPEN)",		BLOCK_NOTIFY_OP_ZONE_OPEN },
		{ "op 0xb:(ZONE_CLOSE)",	BLOCK_NOTIFY_OP_ZONE_CLOSE },
		{ "op 0xc:(ZONE_FINISH)",	BLOCK_NOTIFY_OP_ZONE_FINISH },
		{ "op 0xd:(ZONE_RESET)",	BLOCK_NOTIFY_OP_ZONE_RESET },
		{ "op 0xf:(ZONE_RESET_ALL)",	BLOCK_NOTIFY_OP_ZONE_RESET_ALL },
		{ "op 0x22:(DRV_IN)",		BLOCK_NOTIFY_OP_DRV_IN },
		{ "op 0x23:(DRV_OUT)",		BLOCK_NOTIFY_OP_DRV_OUT },
		/* 5.x names with no record op, and blk_op_str()'s fallback */
		{ "op 0x7:(WRITE_SAME)",	BLOCK_NOTIFY_OP_OTHER },
		{ "op 0x20:(SCSI_IN)",		BLOCK_NOTIFY_OP_OTHER },
		{ "op 0x21:(SCSI_OUT)",		BLOCK_NOTIFY_OP_OTHER },
		{ "op 0x3f:(UNKNOWN)",		BLOCK_NOTIFY_OP_OTHER },
		/* the name wins over the number, which enum req_op renumbered */
		{ "op 0x6:(ZONE_RESET)",	BLOCK_NOTIFY_OP_ZONE_RESET },
		/* no name: only numbers stable since 4.10 are trusted */
		{ "op 0x1",			BLOCK_NOTIFY_OP_WRITE },
		{ "op 0x9",			BLOCK_NOTIFY_OP_WRITE_ZEROES },
		{ "op 0xd",			BLOCK_NOTIFY_OP_OTHER },
		{ "op 0x22",			BLOCK_NOTIFY_OP_DRV_IN },
	};
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct expect e = ERR(0, "nvme0n2", 4096, IO, -EIO, t[i].op, 0);

		snprintf(msg, sizeof(msg), "I/O error, dev nvme0n2, sector 4096 %s flags 0x0 "
			 "phys_seg 1 prio class 2", t[i].text);
		ctx = t[i].text;
		check_message(msg, strlen(msg), &e);
	}
}

/* Request flags: the bits we map, from both flag formats. */
static void test_flags(void)
{
	static const struct {
		const char *msg;
		__u16 op, flags;
	} t[] = {
		{ "I/O error, dev sda, sector 1 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 2",
		  WR, BLOCK_NOTIFY_F_SYNC },
		{ "I/O error, dev sda, sector 1 op 0x1:(WRITE) flags 0x1000 phys_seg 1 prio class 2",
		  WR, BLOCK_NOTIFY_F_META },
		{ "I/O error, dev sda, sector 1 op 0x1:(WRITE) flags 0x20000 phys_seg 1 prio class 2",
		  WR, BLOCK_NOTIFY_F_FUA },
		{ "I/O error, dev sda, sector 1 op 0x1:(WRITE) flags 0x40000 phys_seg 1 prio class 2",
		  WR, BLOCK_NOTIFY_F_PREFLUSH },
		{ "I/O error, dev sda, sector 1 op 0x0:(READ) flags 0x80000 phys_seg 1 prio class 2",
		  RD, BLOCK_NOTIFY_F_RAHEAD },
		{ "I/O error, dev sda, sector 1 op 0x1:(WRITE) flags 0x7f800 phys_seg 1 prio class 2",
		  WR, BLOCK_NOTIFY_F_SYNC | BLOCK_NOTIFY_F_META | BLOCK_NOTIFY_F_FUA |
		      BLOCK_NOTIFY_F_PREFLUSH },
		{ "I/O error, dev sda, sector 1 op 0x1:(WRITE) flags 0xfff00000 phys_seg 1 prio class 2",
		  WR, 0 },
		/* 4.18-5.2: the op is in the low 8 bits of flags */
		{ "print_req_error: I/O error, dev sda, sector 1 flags 60801",
		  WR, BLOCK_NOTIFY_F_SYNC | BLOCK_NOTIFY_F_FUA | BLOCK_NOTIFY_F_PREFLUSH },
		{ "print_req_error: I/O error, dev sda, sector 1 flags 3",
		  DISC, 0 },
		{ "print_req_error: I/O error, dev sda, sector 1 flags 80700",
		  RD, BLOCK_NOTIFY_F_RAHEAD },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct expect e = ERR(0, "sda", 1, IO, -EIO, t[i].op, t[i].flags);

		ctx = t[i].msg;
		check_message(t[i].msg, strlen(t[i].msg), &e);
	}
}

static void test_suppressed(void)
{
	static const struct {
		const char *msg;
		enum kmsg_kind kind;
		__u64 nr;
	} t[] = {
		{ "blk_print_req_error: 5 callbacks suppressed",	KMSG_SUPPRESSED, 5 },
		{ "print_req_error: 4294967295 callbacks suppressed",	KMSG_SUPPRESSED, 4294967295ULL },
		{ "blk_update_request: 2 callbacks suppressed",		KMSG_SUPPRESSED, 2 },
		/* other subsystems' limits are not request errors */
		{ "nvme_log_error: 1 callbacks suppressed",		KMSG_OTHER, 0 },
		{ "__ratelimit: 12 callbacks suppressed",		KMSG_OTHER, 0 },
		{ "EXT4-fs error: 3 callbacks suppressed",		KMSG_OTHER, 0 },
		/* malformed */
		{ "blk_print_req_error: 0 callbacks suppressed",	KMSG_OTHER, 0 },
		{ "blk_print_req_error: -3 callbacks suppressed",	KMSG_OTHER, 0 },
		{ "blk_print_req_error: callbacks suppressed",		KMSG_OTHER, 0 },
		{ "blk_print_req_error: 5 callbacks",			KMSG_OTHER, 0 },
		{ "blk_print_req_error: 5 callbacks suppressed!",	KMSG_OTHER, 0 },
		{ "blk_print_req_error:5 callbacks suppressed",		KMSG_OTHER, 0 },
		{ "blk_print_req_error: 99999999999999999999 callbacks suppressed", KMSG_OTHER, 0 },
		{ " blk_print_req_error: 5 callbacks suppressed",	KMSG_OTHER, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct expect e = { .kind = t[i].kind, .nr = t[i].nr };

		ctx = t[i].msg;
		check_message(t[i].msg, strlen(t[i].msg), &e);
	}
}

/* Lines that must not be taken for request errors. */
static void test_garbage(void)
{
	static const char *const t[] = {
		"",
		" ",
		"I/O error",
		"I/O error, dev ",
		"I/O error, dev sda",
		"I/O error, dev sda, sector",
		"I/O error, dev sda, sector ",
		"I/O error, dev sda, sector x",
		"I/O error, dev sda, sector -1",
		"I/O error, dev sda, sector 18446744073709551616",	/* 2^64 */
		"I/O error, dev sda, sector 12abc",
		"I/O error, dev , sector 1",
		"I/O error, dev s da, sector 1",
		"I/O error, dev 0123456789012345678901234567890123, sector 1",
		"I/O error, dev sda, sector 2048 op 0x",
		"I/O error, dev sda, sector 2048 op 0xq:(READ)",
		"I/O error, dev sda, sector 2048 op 0x0:(READ",
		"I/O error, dev sda, sector 2048 op 0x123456789:(READ)",
		"I/O error, dev sda, sector 2048 op 0x0:(READ) flags 0x",
		"I/O error, dev sda, sector 2048 op 0x0:(READ) flags zz",
		"I/O error, dev sda, sector 2048 op 0x0:(READ)flags 0x0",
		"error, dev sda, sector 1",
		" error, dev sda, sector 1",
		"md0: I/O error, dev sda, sector 1",
		"Buffer I/O error on dev sda1, logical block 0, async page read",
		"I/O error, dev 21:05 hde), sector 1",
		"I/O error, dev zz:05 (hde), sector 1",
		"I/O error, dev 21:05 (hde, sector 1",
		"I/O error, dev 21:05 (), sector 1",
		"EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0",
		"critical medium error on dev sda, sector 1",
		"blk_update_request: critical medium error dev sda sector 1",
		"I/O error, dev sda, sector 1\n",
	};
	struct expect other = { .kind = KMSG_OTHER };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ctx = t[i];
		check_message(t[i], strlen(t[i]), &other);
	}
	/* Bytes the kernel would have escaped, and a NUL inside the length. */
	ctx = "embedded NUL";
	check_message("I/O error, dev s\0a, sector 1", 28, &other);
	ctx = "high bytes";
	check_message("I/O error, dev s\xff\xfe, sector 1", 28, &other);
	ctx = "NULL";
	check_message(NULL, 0, &other);
}

/* Every truncation of real lines: never a different disk, never a crash. */
static void test_truncations(void)
{
	static const char *const lines[] = {
		"I/O error, dev loop0, sector 65537 op 0x0:(READ) flags 0x800 phys_seg 1 prio class 2",
		"blk_update_request: critical medium error, dev sdf, sector 1677725432 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0",
		"print_req_error: I/O error, dev nbd0, sector 5123224 flags 8801",
		"end_request: I/O error, dev 21:05 (hde), sector 58956",
		"blk_print_req_error: 23 callbacks suppressed",
	};
	size_t i, n;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t len = strlen(lines[i]);
		struct kmsg_message full;

		kmsg_parse_message(lines[i], len, &full);
		for (n = 0; n < len; n++) {
			/* A copy of exactly n bytes, so ASan sees any overread. */
			char *cut = malloc(n ? n : 1);
			struct kmsg_message m;

			memcpy(cut, lines[i], n);
			ctx = lines[i];
			kmsg_parse_message(cut, n, &m);
			if (m.kind == KMSG_REQUEST_ERROR)
				EXPECT_STR(m.err.disk, full.err.disk, "disk of a truncated line");
			if (m.kind == KMSG_SUPPRESSED)
				EXPECT_U64(m.nr_suppressed <= full.nr_suppressed, 1,
					   "count of a truncated line");
			free(cut);
		}
	}
	/* The truncations a reader would most plausibly see. */
	{
		struct expect other = { .kind = KMSG_OTHER };
		static const char *const t[] = {
			"I/O error, dev loop0, sector 65537 op 0x0:(REA",
			"I/O error, dev loop0, sector 65537 op 0x0:",
			"I/O error, dev loop0, sector 65537 op",
			"I/O error, dev loop0, sector 65537 op 0x0:(READ) flags 0x",
			"I/O error, dev loop0, sect",
			"I/O error, dev loo",
			"blk_print_req_error: 23 callbacks suppr",
		};

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			ctx = t[i];
			check_message(t[i], strlen(t[i]), &other);
		}
	}
}

/* Record framing and the dictionary. */
static void test_records(void)
{
	static const char dev_rec[] =
		"3,1200,5000123,-;I/O error, dev sdb, sector 8 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2\n"
		" SUBSYSTEM=block\n"
		" DEVICE=b8:16\n";
	/* Real (data/kmsg/host-6.18.kmsg, seq 194). */
	static const char acpi_rec[] =
		"6,194,298078,-;acpi PNP0A08:00: _OSC: OS supports [ExtendedConfig ASPM ClockPM Segments MSI HPX-Type3]\n"
		" SUBSYSTEM=acpi\n"
		" DEVICE=+acpi:PNP0A08:00\n";
	static const char *const bad[] = {
		"",
		";msg\n",
		"3;msg\n",
		"3,1;msg\n",
		"3,1,2;msg\n",
		"3,1,2,;msg\n",
		"3,1,2,--;msg\n",
		"3,1,2,-\nmsg;x\n",
		"x,1,2,-;msg\n",
		"3,18446744073709551616,2,-;msg\n",
		"4294967296,1,2,-;msg\n",
		"3,1,2,-",
	};
	struct kmsg_record r;
	const char *v;
	size_t vlen, i;
	__u32 maj, min;

	ctx = "record with DEVICE=b8:16";
	EXPECT_S64(kmsg_parse_record(dev_rec, strlen(dev_rec), &r), 0, "parse");
	EXPECT_U64(r.prio, 3, "prio");
	EXPECT_U64(r.seq, 1200, "seq");
	EXPECT_U64(r.usec, 5000123, "usec");
	EXPECT_U64(r.msg_len, strlen("I/O error, dev sdb, sector 8 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2"), "msg_len");
	v = kmsg_dict_get(&r, "DEVICE", &vlen);
	EXPECT_U64(v != NULL, 1, "DEVICE present");
	if (v) {
		EXPECT_U64(vlen, 5, "DEVICE length");
		EXPECT_S64(kmsg_parse_devnum(v + 1, vlen - 1, &maj, &min), 0, "devnum");
		EXPECT_U64(maj, 8, "major");
		EXPECT_U64(min, 16, "minor");
	}
	v = kmsg_dict_get(&r, "SUBSYSTEM", &vlen);
	EXPECT_U64(v && vlen == 5 && !memcmp(v, "block", 5), 1, "SUBSYSTEM=block");
	EXPECT_U64(kmsg_dict_get(&r, "DEV", &vlen) == NULL, 1, "no prefix match");
	EXPECT_U64(kmsg_dict_get(&r, "MAJOR", &vlen) == NULL, 1, "absent key");

	ctx = "facility";
	EXPECT_U64(kmsg_record_from_kernel(&r), 1, "prio 3 is the kernel's");
	{
		/* echo '<3>I/O error, ...' > /dev/kmsg: the kernel logs it as LOG_USER. */
		static const char forged[] = "11,1201,5000124,-;I/O error, dev loop7, sector 4242 "
					     "op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2\n";
		struct kmsg_message m;

		EXPECT_S64(kmsg_parse_record(forged, strlen(forged), &r), 0, "parse forged");
		EXPECT_U64(kmsg_record_from_kernel(&r), 0, "facility 1 is user space's");
		EXPECT_U64(kmsg_parse_message(r.msg, r.msg_len, &m), KMSG_REQUEST_ERROR,
			   "the text alone looks real");
		r.prio = 0;
		EXPECT_U64(kmsg_record_from_kernel(&r), 1, "prio 0 (KERN_EMERG)");
		r.prio = 8 << 3 | 3;
		EXPECT_U64(kmsg_record_from_kernel(&r), 0, "facility 8");
	}

	ctx = "real acpi record";
	EXPECT_S64(kmsg_parse_record(acpi_rec, strlen(acpi_rec), &r), 0, "parse");
	EXPECT_U64(r.seq, 194, "seq");
	EXPECT_U64(r.usec, 298078, "usec");
	v = kmsg_dict_get(&r, "DEVICE", &vlen);
	EXPECT_U64(v && vlen == 16 && !memcmp(v, "+acpi:PNP0A08:00", 16), 1, "DEVICE=+acpi:...");

	ctx = "caller field (CONFIG_PRINTK_CALLER)";
	{
		static const char rec[] =
			"4,77,12,-,caller=T1234;blk_print_req_error: 3 callbacks suppressed\n";

		EXPECT_S64(kmsg_parse_record(rec, strlen(rec), &r), 0, "parse");
	}
	EXPECT_U64(r.seq, 77, "seq");
	EXPECT_U64(r.msg_len, strlen("blk_print_req_error: 3 callbacks suppressed"), "msg_len");
	EXPECT_U64(r.dict == NULL, 1, "no dictionary");

	ctx = "continuation flag 'c' and a message with ';'";
	EXPECT_S64(kmsg_parse_record("6,5,1,c;a;b\n", 12, &r), 0, "parse");
	EXPECT_U64(r.msg_len, 3, "msg_len");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ctx = bad[i];
		EXPECT_S64(kmsg_parse_record(bad[i], strlen(bad[i]), &r), -EINVAL, "bad framing");
	}

	ctx = "kmsg_parse_devnum";
	EXPECT_S64(kmsg_parse_devnum("7:0\n", 4, &maj, &min), 0, "7:0\\n");
	EXPECT_U64(maj, 7, "major");
	EXPECT_U64(min, 0, "minor");
	EXPECT_S64(kmsg_parse_devnum("259:1048575", 11, &maj, &min), 0, "259:1048575");
	EXPECT_U64(min, 1048575, "minor");
	EXPECT_S64(kmsg_parse_devnum("7:", 2, &maj, &min), -EINVAL, "7:");
	EXPECT_S64(kmsg_parse_devnum(":0", 2, &maj, &min), -EINVAL, ":0");
	EXPECT_S64(kmsg_parse_devnum("7:0\n\n", 5, &maj, &min), -EINVAL, "two newlines");
	EXPECT_S64(kmsg_parse_devnum("7:0 ", 4, &maj, &min), -EINVAL, "trailing space");
	EXPECT_S64(kmsg_parse_devnum("4294967296:0", 12, &maj, &min), -EINVAL, "overflow");
	EXPECT_S64(kmsg_parse_devnum("", 0, &maj, &min), -EINVAL, "empty");
}

TEST(host_6_18_records)
{
	test_host_corpus(corpus_dir());
}

TEST(public_reports_of_older_kernels)
{
	test_log_corpus(corpus_dir(), "public-reports.log", public_expect,
			sizeof(public_expect) / sizeof(public_expect[0]));
}

TEST(debian_6_1_lines)
{
	test_log_corpus(corpus_dir(), "debian-6.1.log", debian61_expect,
			sizeof(debian61_expect) / sizeof(debian61_expect[0]));
}

TEST(debian_6_12_lines)
{
	test_log_corpus(corpus_dir(), "debian-6.12.log", debian612_expect,
			sizeof(debian612_expect) / sizeof(debian612_expect[0]));
}

TEST(every_status_name)
{
	test_statuses();
}

TEST(every_op_name)
{
	test_ops();
}

TEST(request_flags)
{
	test_flags();
}

TEST(suppression_lines)
{
	test_suppressed();
}

TEST(garbage_is_not_an_error)
{
	test_garbage();
}

TEST(truncated_lines)
{
	test_truncations();
}

TEST(record_framing_and_dictionary)
{
	test_records();
}
