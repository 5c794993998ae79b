// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "disk-info.h"

int disk_attr(const char *sysfs, __u64 dev, const char *attr, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/%s", sysfs, major(dev), minor(dev), attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

void disk_name(const char *sysfs, __u64 dev, char *buf, size_t len)
{
	char uevent[512], *p, *e;

	snprintf(buf, len, "%u:%u", major(dev), minor(dev));
	if (disk_attr(sysfs, dev, "uevent", uevent, sizeof(uevent)))
		return;
	p = strstr(uevent, "DEVNAME=");
	if (!p)
		return;
	p += strlen("DEVNAME=");
	e = strchrnul(p, '\n');
	if (e > p && (size_t)(e - p) < len)
		snprintf(buf, len, "%.*s", (int)(e - p), p);
}

__u64 disk_diskseq(const char *sysfs, __u64 dev)
{
	char buf[32];

	return disk_attr(sysfs, dev, "diskseq", buf, sizeof(buf)) ? 0 : strtoull(buf, NULL, 10);
}

bool disk_present(const char *sysfs, __u64 dev)
{
	char buf[32];

	return disk_attr(sysfs, dev, "dev", buf, sizeof(buf)) == 0;
}
