// SPDX-License-Identifier: GPL-2.0-only
/*
 * bnvm-io: issue exactly the block I/O a VM scenario asks for and say how it
 * ended.  busybox dd cannot be used for this: after a failed O_DIRECT read it
 * retries through the page cache, which makes a second, different request.
 *
 *   bnvm-io OP DEVICE SECTOR COUNT [REPEAT]
 *
 * OP is read or write (O_DIRECT, one request of COUNT 512-byte sectors),
 * discard (BLKDISCARD), zeroout (BLKZEROOUT), flush (fsync), or a zone
 * operation on the zones that the range covers: zone-open, zone-close,
 * zone-finish, zone-reset (BLK*ZONE ioctls).  REPEAT issues
 * the same I/O that many times (a burst of errors); with BNVM_STRIDE=N in
 * the environment each repeat starts N sectors after the one before (a
 * burst of errors of distinct requests).  DEVICE "-" is standard
 * input, opened by the caller beforehand: a SCSI disk set offline can no
 * longer be opened, but I/O through an open descriptor still reaches it.  Prints one line per
 * distinct outcome: "result OK|ERRNO_NAME N".  Exit status 0 whatever the I/O
 * did, 2 on bad usage or when DEVICE cannot be opened.
 *
 * Built statically by tests/vm/run; runs inside the guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/blkzoned.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_SECTORS	2048		/* 1 MiB: one request on every guest device */
#define MAX_REPEAT	1000000

static const char *errno_name(int e)
{
	switch (e) {
	case 0:		return "OK";
	case EIO:	return "EIO";
	case ENODATA:	return "ENODATA";
	case ETIMEDOUT:	return "ETIMEDOUT";
	case ENOSPC:	return "ENOSPC";
	case ENOLINK:	return "ENOLINK";
	case EREMOTEIO:	return "EREMOTEIO";
	case EBADE:	return "EBADE";
	case EILSEQ:	return "EILSEQ";
	case ENOMEM:	return "ENOMEM";
	case EBUSY:	return "EBUSY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EAGAIN:	return "EAGAIN";
	case ENODEV:	return "ENODEV";
	case ETOOMANYREFS: return "ETOOMANYREFS";
	case EOVERFLOW:	return "EOVERFLOW";
	case ETIME:	return "ETIME";
	case EINVAL:	return "EINVAL";
	default:	return strerror(e);
	}
}

static unsigned long parse(const char *what, const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "bnvm-io: %s '%s' is not a number in 0..%lu\n", what, s, max);
		exit(2);
	}
	return v;
}

static const struct {
	const char *name;
	unsigned long ioctl;
} zone_ops[] = {
	{ "zone-open",	 BLKOPENZONE },
	{ "zone-close",	 BLKCLOSEZONE },
	{ "zone-finish", BLKFINISHZONE },
	{ "zone-reset",	 BLKRESETZONE },
};

static long zone_op(const char *op)
{
	size_t i;

	for (i = 0; i < sizeof(zone_ops) / sizeof(zone_ops[0]); i++)
		if (!strcmp(op, zone_ops[i].name))
			return (long)zone_ops[i].ioctl;
	return -1;
}

static int do_io(const char *op, int fd, void *buf, uint64_t sector, uint64_t count)
{
	uint64_t range[2] = { sector << 9, count << 9 };
	struct blk_zone_range zr = { .sector = sector, .nr_sectors = count };
	ssize_t n;

	if (zone_op(op) >= 0) {
		n = ioctl(fd, (unsigned long)zone_op(op), &zr);
		return n < 0 ? errno : 0;
	}

	if (!strcmp(op, "read"))
		n = pread(fd, buf, count << 9, sector << 9);
	else if (!strcmp(op, "write"))
		n = pwrite(fd, buf, count << 9, sector << 9);
	else if (!strcmp(op, "discard"))
		n = ioctl(fd, BLKDISCARD, range);
	else if (!strcmp(op, "zeroout"))
		n = ioctl(fd, BLKZEROOUT, range);
	else
		n = fsync(fd);
	if (n < 0)
		return errno;
	if ((!strcmp(op, "read") || !strcmp(op, "write")) && (uint64_t)n != count << 9)
		return EIO;	/* short transfer: treat as the error it hides */
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long sector, count, repeat = 1, stride = 0, i, same = 0;
	int fd, flags, err, last = -1;
	const char *op;
	void *buf;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: bnvm-io read|write|discard|zeroout|flush|zone-open|zone-close|"
			"zone-finish|zone-reset DEVICE SECTOR COUNT [REPEAT]\n");
		return 2;
	}
	op = argv[1];
	if (strcmp(op, "read") && strcmp(op, "write") && strcmp(op, "discard") &&
	    strcmp(op, "zeroout") && strcmp(op, "flush") && zone_op(op) < 0) {
		fprintf(stderr, "bnvm-io: unknown operation '%s'\n", op);
		return 2;
	}
	sector = parse("sector", argv[3], 1UL << 40);
	/* Zone operations take whole zones, which are larger than one request. */
	count = parse("count", argv[4], zone_op(op) >= 0 ? 1UL << 40 : MAX_SECTORS);
	if (argc == 6)
		repeat = parse("repeat", argv[5], MAX_REPEAT);
	if (getenv("BNVM_STRIDE"))
		stride = parse("BNVM_STRIDE", getenv("BNVM_STRIDE"), MAX_SECTORS);

	flags = !strcmp(op, "read") ? O_RDONLY : O_WRONLY;
	if (!strcmp(op, "read") || !strcmp(op, "write"))
		flags |= O_DIRECT;
	if (!strcmp(argv[2], "-")) {
		fd = 0;
		if ((flags & O_DIRECT) &&
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_DIRECT) < 0) {
			fprintf(stderr, "bnvm-io: cannot set O_DIRECT on standard input: %s\n",
				strerror(errno));
			return 2;
		}
	} else {
		fd = open(argv[2], flags);
	}
	if (fd < 0) {
		fprintf(stderr, "bnvm-io: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	/* O_DIRECT needs an aligned buffer; 4096 covers every logical block size here. */
	if (posix_memalign(&buf, 4096, MAX_SECTORS << 9)) {
		fprintf(stderr, "bnvm-io: out of memory\n");
		return 2;
	}
	memset(buf, 0xa5, MAX_SECTORS << 9);

	for (i = 0; i < repeat; i++) {
		err = do_io(op, fd, buf, sector + i * stride, count);
		if (err != last && same) {
			printf("result %s %lu\n", errno_name(last), same);
			same = 0;
		}
		last = err;
		same++;
	}
	if (same)
		printf("result %s %lu\n", errno_name(last), same);
	close(fd);
	free(buf);
	return 0;
}
