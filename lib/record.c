// SPDX-License-Identifier: LGPL-2.1-or-later
/* Names for subtypes, operations and sources. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "queue.h"

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Short names for command lines and JSON; index = subtype. */
static const char *const subtype_names[] = {
	[NOTIFY_BLOCK_ERROR_TIMEOUT]			= "timeout",
	[NOTIFY_BLOCK_ERROR_NO_SPACE]			= "no_space",
	[NOTIFY_BLOCK_ERROR_RECOVERABLE_TRANSPORT]	= "transport",
	[NOTIFY_BLOCK_ERROR_CRITICAL_TARGET]		= "target",
	[NOTIFY_BLOCK_ERROR_CRITICAL_NEXUS]		= "nexus",
	[NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM]		= "medium",
	[NOTIFY_BLOCK_ERROR_PROTECTION]			= "protection",
	[NOTIFY_BLOCK_ERROR_KERNEL_RESOURCE]		= "kernel_resource",
	[NOTIFY_BLOCK_ERROR_DEVICE_RESOURCE]		= "device_resource",
	[NOTIFY_BLOCK_ERROR_IO]				= "io",
	[NOTIFY_BLOCK_ERROR_NOT_SUPPORTED]		= "not_supported",
	[NOTIFY_BLOCK_ERROR_AGAIN]			= "again",
	[NOTIFY_BLOCK_ERROR_OFFLINE]			= "offline",
	[NOTIFY_BLOCK_ERROR_ZONE_OPEN_RESOURCE]		= "zone_open_resource",
	[NOTIFY_BLOCK_ERROR_ZONE_ACTIVE_RESOURCE]	= "zone_active_resource",
	[NOTIFY_BLOCK_ERROR_DURATION_LIMIT]		= "duration_limit",
	[NOTIFY_BLOCK_ERROR_INVALID]			= "invalid",
	[NOTIFY_BLOCK_SOFT_RETRY]			= "retry",
	[NOTIFY_BLOCK_SOFT_RECOVERED]			= "recovered",
	[NOTIFY_BLOCK_SOFT_RETRY_SUCCEEDED]		= "retry_succeeded",
	[NOTIFY_BLOCK_DEVICE_ADDED]			= "added",
	[NOTIFY_BLOCK_DEVICE_REMOVED]			= "removed",
	[NOTIFY_BLOCK_DEVICE_DEAD]			= "dead",
	[NOTIFY_BLOCK_MEDIA_CHANGE]			= "media_change",
	[NOTIFY_BLOCK_CAPACITY_CHANGE]			= "capacity",
	[NOTIFY_BLOCK_READ_ONLY_SET]			= "read_only",
	[NOTIFY_BLOCK_READ_ONLY_CLEARED]		= "read_write",
	[NOTIFY_BLOCK_SLOW]				= "slow",
};

/* Class names, in the numbering plan's order (block_notify.h). */
static const struct {
	const char *name;
	unsigned int first, last;
} subtype_classes[] = {
	{ "error",	NOTIFY_BLOCK_CLASS_ERROR_FIRST,		NOTIFY_BLOCK_CLASS_ERROR_LAST },
	{ "soft",	NOTIFY_BLOCK_CLASS_SOFT_FIRST,		NOTIFY_BLOCK_CLASS_SOFT_LAST },
	{ "lifecycle",	NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST,	NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST },
	{ "perf",	NOTIFY_BLOCK_CLASS_PERF_FIRST,		NOTIFY_BLOCK_CLASS_PERF_LAST },
};

const char *blknotify_subtype_name(unsigned int subtype)
{
	if (subtype < ELEMENTSOF(subtype_names) && subtype_names[subtype])
		return subtype_names[subtype];
	return NULL;
}

int blknotify_subtype_from_name(const char *name)
{
	unsigned int i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < ELEMENTSOF(subtype_names); i++)
		if (subtype_names[i] && !strcasecmp(name, subtype_names[i]))
			return i;
	return -EINVAL;
}

const char *blknotify_subtype_class(unsigned int subtype)
{
	unsigned int i;

	for (i = 0; i < ELEMENTSOF(subtype_classes); i++)
		if (subtype >= subtype_classes[i].first && subtype <= subtype_classes[i].last)
			return subtype_classes[i].name;
	return NULL;
}

int blknotify_subtype_class_range(const char *name, unsigned int *first, unsigned int *last)
{
	unsigned int i;

	if (!name || !first || !last)
		return -EINVAL;
	for (i = 0; i < ELEMENTSOF(subtype_classes); i++)
		if (!strcasecmp(name, subtype_classes[i].name)) {
			*first = subtype_classes[i].first;
			*last = subtype_classes[i].last;
			return 0;
		}
	return -EINVAL;
}

unsigned int blknotify_subtype_from_errno(int error)
{
	return bn_subtype_from_errno(error);
}

const char *blknotify_op_name(unsigned int op)
{
	switch (op) {
	case BLOCK_NOTIFY_OP_READ:		return "read";
	case BLOCK_NOTIFY_OP_WRITE:		return "write";
	case BLOCK_NOTIFY_OP_FLUSH:		return "flush";
	case BLOCK_NOTIFY_OP_DISCARD:		return "discard";
	case BLOCK_NOTIFY_OP_SECURE_ERASE:	return "secure_erase";
	case BLOCK_NOTIFY_OP_ZONE_APPEND:	return "zone_append";
	case BLOCK_NOTIFY_OP_WRITE_ZEROES:	return "write_zeroes";
	case BLOCK_NOTIFY_OP_ZONE_OPEN:		return "zone_open";
	case BLOCK_NOTIFY_OP_ZONE_CLOSE:	return "zone_close";
	case BLOCK_NOTIFY_OP_ZONE_FINISH:	return "zone_finish";
	case BLOCK_NOTIFY_OP_ZONE_RESET:	return "zone_reset";
	case BLOCK_NOTIFY_OP_ZONE_RESET_ALL:	return "zone_reset_all";
	case BLOCK_NOTIFY_OP_DRV_IN:		return "drv_in";
	case BLOCK_NOTIFY_OP_DRV_OUT:		return "drv_out";
	case BLOCK_NOTIFY_OP_OTHER:		return "other";
	default:				return NULL;
	}
}

static const char *const source_names[] = {
	[BLKNOTIFY_SOURCE_AUTO]		= "auto",
	[BLKNOTIFY_SOURCE_BPF]		= "bpf",
	[BLKNOTIFY_SOURCE_KMSG]		= "kmsg",
	[BLKNOTIFY_SOURCE_WATCH_QUEUE]	= "watch_queue",
	[BLKNOTIFY_SOURCE_DAEMON]	= "daemon",
};

const char *blknotify_source_name(enum blknotify_source source)
{
	if ((unsigned int)source < ELEMENTSOF(source_names))
		return source_names[source];
	return NULL;
}

int blknotify_source_from_name(const char *name)
{
	unsigned int i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < ELEMENTSOF(source_names); i++)
		if (!strcmp(name, source_names[i]))
			return i;
	return -EINVAL;
}
