/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may watch what (blknotifyd.conf(5), "ACCESS POLICY").  The socket's
 * mode and group decide who may connect; then, per watch:
 *  - root, and members of privileged_groups (default "disk"), may watch
 *    every device;
 *  - others, with device_access = readable (the default), may watch a disk
 *    whose device node they may read, or a sector range inside a partition
 *    whose node they may read; with device_access = none, nothing.
 * Credentials come from the kernel (SO_PEERCRED, SO_PEERGROUPS) at connect.
 */
#ifndef BLKNOTIFYD_POLICY_H
#define BLKNOTIFYD_POLICY_H

#include <stdbool.h>
#include <sys/types.h>
#include "config.h"
#include "protocol.h"

#define PEER_GROUPS_MAX	256	/* more supplementary groups are ignored: they only add rights */

struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	unsigned int nr_groups;
	gid_t groups[PEER_GROUPS_MAX];
	bool privileged;	/* root or a member of privileged_groups */
};

/* Read the connected peer's credentials and decide whether it is privileged. */
int peer_get(int fd, const struct daemon_config *c, struct peer *p);

/* Whether the peer has gid as its primary or a supplementary group. */
bool peer_in_group(const struct peer *p, gid_t gid);

/*
 * Whether the peer may add watch w.  Returns 0, or -EACCES (policy), -ENODEV
 * (no such block device) or -EINVAL (a partition named instead of its disk),
 * with a sentence for the client in why[].
 */
int policy_check_watch(const struct daemon_config *c, const struct peer *p,
		       const struct bnd_add_watch *w, char *why, size_t why_len);

/*
 * The permission test on a device node, as the kernel would make it for
 * the peer's credentials from the mode bits (POSIX ACLs are not consulted).
 * For tests.
 */
bool policy_mode_allows_read(const struct peer *p, uid_t owner, gid_t group, mode_t mode);

#endif /* BLKNOTIFYD_POLICY_H */
