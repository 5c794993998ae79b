// SPDX-License-Identifier: LGPL-2.1-or-later
/* Disks' identity for the outputs (disk-info.h), from libblknotify's device cache. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <blknotify/device.h>
#include "disk-info.h"

static const char *str_or_empty(int r, const char *s)
{
	return r == 0 && s ? s : "";
}

int disk_identity_get(struct blknotify_device_cache *c, __u64 dev, struct disk_identity *id)
{
	struct blknotify_device *d = NULL;
	const char *s = NULL;
	uint64_t seq = 0;

	*id = (struct disk_identity){ .dev = dev, .serial = "", .wwn = "", .model = "", .by_id = "" };
	if (blknotify_device_cache_get(c, (dev_t)dev, &d) < 0)
		return -ENODEV;
	id->ref = d;
	if (blknotify_device_get_sysname(d, &s) == 0)
		id->name = s;
	if (blknotify_device_get_diskseq(d, &seq) == 0)
		id->diskseq = seq;
	id->serial = str_or_empty(blknotify_device_get_serial(d, &s), s);
	id->wwn = str_or_empty(blknotify_device_get_wwn(d, &s), s);
	id->model = str_or_empty(blknotify_device_get_model(d, &s), s);
	id->by_id = str_or_empty(blknotify_device_get_by_id(d, &s), s);
	return 0;
}

void disk_identity_put(struct disk_identity *id)
{
	id->ref = blknotify_device_unref(id->ref);
}

bool disk_identity_current(struct blknotify_device_cache *c, __u64 dev, __u64 diskseq)
{
	struct disk_identity id;
	bool r = disk_identity_get(c, dev, &id) == 0 && (!diskseq || id.diskseq == diskseq);

	disk_identity_put(&id);
	return r;
}

const char *disk_identity_name(const struct disk_identity *id, char *buf, size_t len)
{
	if (id->name && *id->name)
		return id->name;
	snprintf(buf, len, "%u:%u", major(id->dev), minor(id->dev));
	return buf;
}

void disk_identity_copy(char *buf, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
}

const char *name_or_number(const char *name, unsigned int value, char *buf, size_t len)
{
	if (name)
		return name;
	snprintf(buf, len, "%u", value);
	return buf;
}
