/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's uevent messages (NETLINK_KOBJECT_UEVENT, the kernel's group),
 * as lib/lifecycle.c reads them.  A parser of its own, with no state, so
 * that tests/fuzz/fuzz_uevent_parse.c can run it alone.
 */
#ifndef BLKNOTIFY_UEVENT_PARSE_H
#define BLKNOTIFY_UEVENT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* One uevent, as lifecycle_parse_uevent() reads it. */
enum uevent_action { UEVENT_OTHER, UEVENT_ADD, UEVENT_REMOVE, UEVENT_CHANGE };

struct uevent {
	enum uevent_action action;
	bool	block_disk;	/* SUBSYSTEM=block, DEVTYPE=disk */
	bool	have_devnum;	/* MAJOR= and MINOR= */
	__u32	major, minor;
	int	disk_ro;	/* DISK_RO=: 0, 1; -1 when absent */
	bool	resize;		/* RESIZE=1 */
	bool	media_change;	/* DISK_MEDIA_CHANGE=1 */
	__u64	seqnum;		/* SEQNUM= (0: absent) */
};

/*
 * Parse a kernel uevent message ("ACTION@DEVPATH\0KEY=VALUE\0..."), len
 * bytes, not necessarily NUL-terminated.  Returns 0, or -EINVAL when it is
 * not one (then ev says nothing).  Fuzzed: tests/fuzz/fuzz_uevent_parse.c.
 */
int lifecycle_parse_uevent(const char *buf, size_t len, struct uevent *ev);

#endif /* BLKNOTIFY_UEVENT_PARSE_H */
