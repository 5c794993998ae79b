// SPDX-License-Identifier: LGPL-2.1-or-later
/* sysfs attributes of block devices: see sysfs.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "kmsg-parse.h"
#include "sysfs.h"

int bn_sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	if (len < 2)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* sysfs returns an attribute in one read; a second says it was all. */
	n = read(fd, buf, len);
	err = errno;
	if (n == (ssize_t)len) {
		char more;

		if (buf[len - 1] != '\n' || read(fd, &more, 1) != 0) {
			n = -1;
			err = EFBIG;
		}
	}
	close(fd);
	if (n < 0)
		return -err;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n == 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

int bn_parse_vpd80(const unsigned char *page, size_t len, char *out, size_t outlen)
{
	size_t n, i;

	if (len < 4 || page[1] != 0x80 || !outlen)
		return -EINVAL;
	n = (size_t)page[2] << 8 | page[3];
	if (n > len - 4)
		return -EINVAL;
	page += 4;
	/* SPC: left-aligned ASCII, blank-padded; some devices pad with NULs. */
	while (n && (page[n - 1] == ' ' || page[n - 1] == '\0'))
		n--;
	while (n && *page == ' ') {
		page++;
		n--;
	}
	if (!n)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (page[i] < 0x20 || page[i] > 0x7e)
			return -EINVAL;
	if (n >= outlen)
		return -EFBIG;
	memcpy(out, page, n);
	out[n] = '\0';
	return 0;
}

int bn_parse_u64(const char *s, __u64 *val)
{
	__u64 v = 0;
	size_t i;

	if (!s || !*s)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		unsigned int d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*val = v;
	return 0;
}

int bn_sysfs_read_u64(const char *path, __u64 *val)
{
	char buf[32];
	int err = bn_sysfs_read(path, buf, sizeof(buf));

	return err ? err : bn_parse_u64(buf, val);
}

int bn_sysfs_read_devnum(const char *path, dev_t *dev)
{
	char buf[32];
	__u32 maj, min;
	int err = bn_sysfs_read(path, buf, sizeof(buf));

	if (err)
		return err;
	if (kmsg_parse_devnum(buf, strlen(buf), &maj, &min))
		return -EINVAL;
	*dev = makedev(maj, min);
	return 0;
}

int bn_sysfs_dev_path(char *buf, size_t len, dev_t dev, const char *attr)
{
	int n = snprintf(buf, len, "/sys/dev/block/%u:%u%s%s", major(dev), minor(dev),
			 attr ? "/" : "", attr ? attr : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int bn_block_extent(dev_t dev, dev_t *disk, __u64 *start, __u64 *end)
{
	char path[96];
	__u64 size;

	if (bn_sysfs_dev_path(path, sizeof(path), dev, NULL) || access(path, F_OK))
		return -ENODEV;
	bn_sysfs_dev_path(path, sizeof(path), dev, "partition");
	if (access(path, F_OK)) {
		*disk = dev;
		*start = 0;
		*end = UINT64_MAX;
		return 0;
	}
	/* A partition: its disk is its sysfs parent. */
	bn_sysfs_dev_path(path, sizeof(path), dev, "start");
	if (bn_sysfs_read_u64(path, start))
		return -ENODEV;
	bn_sysfs_dev_path(path, sizeof(path), dev, "size");
	if (bn_sysfs_read_u64(path, &size) || size > UINT64_MAX - *start)
		return -ENODEV;
	bn_sysfs_dev_path(path, sizeof(path), dev, "../dev");
	if (bn_sysfs_read_devnum(path, disk))
		return -ENODEV;
	*end = *start + size;
	return 0;
}
