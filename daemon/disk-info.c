// SPDX-License-Identifier: LGPL-2.1-or-later
/* Disks' names and sequence numbers for the outputs (disk-info.h), read with lib/sysfs.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "disk-info.h"
#include "sysfs.h"

static int attr_path(char *buf, size_t len, const char *sysfs, __u64 dev, const char *attr)
{
	int n = snprintf(buf, len, "%s/dev/block/%u:%u/%s", sysfs, major(dev), minor(dev), attr);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int disk_attr(const char *sysfs, __u64 dev, const char *attr, char *buf, size_t len)
{
	char path[256];

	return attr_path(path, sizeof(path), sysfs, dev, attr) ?: bn_sysfs_read(path, buf, len);
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
	char path[256];
	__u64 seq;

	if (attr_path(path, sizeof(path), sysfs, dev, "diskseq") || bn_sysfs_read_u64(path, &seq))
		return 0;
	return seq;
}

const char *name_or_number(const char *name, unsigned int value, char *buf, size_t len)
{
	if (name)
		return name;
	snprintf(buf, len, "%u", value);
	return buf;
}

bool disk_present(const char *sysfs, __u64 dev)
{
	char path[256];
	dev_t d;

	return !attr_path(path, sizeof(path), sysfs, dev, "dev") && !bn_sysfs_read_devnum(path, &d) &&
	       d == (dev_t)dev;
}
