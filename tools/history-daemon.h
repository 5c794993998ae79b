/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotify-history through blknotifyd (GET_HISTORY, docs/protocol.md): the
 * rows the daemon's policy lets this user see, loaded into an in-memory
 * database with the history's schema, so the tool's own queries format them
 * exactly as they format the file.
 */
#ifndef BLKNOTIFY_HISTORY_DAEMON_H
#define BLKNOTIFY_HISTORY_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

struct sqlite3;

struct history_daemon_query {
	const char *socket;		/* NULL: BLKNOTIFY_DAEMON_SOCKET */
	int64_t since_ns, until_ns;
	__u64 dev;			/* 0: every disk */
	unsigned int sub_lo, sub_hi;
};

/*
 * Fetch every page into a new in-memory database (*ret).  *withheld: error
 * rows the policy withheld.  Returns 0, or a negative errno with a sentence
 * in why[].
 */
int history_daemon_load(const struct history_daemon_query *q, struct sqlite3 **ret,
			__u64 *withheld, char *why, size_t why_len);

#endif /* BLKNOTIFY_HISTORY_DAEMON_H */
