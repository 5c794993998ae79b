/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GET_HISTORY: the history (history.h) for clients, a page at a time, each
 * error row given only if the watch policy (policy.h) lets the client watch
 * its disk, and only while its number still names that disk (diskseq);
 * what is withheld is counted in the reply.  Loss rows go to everyone: they
 * name no disk, and without them a client would take a history with holes
 * for a whole one.
 *
 * It reads on a connection of its own, read-only, opened at the first
 * request: a WAL reader never blocks the writer, and each page is one
 * statement, ended before the reply, so no snapshot outlives a page.
 *
 * Bounds: a page examines at most HISTORY_QUERY_SCAN rows (in id order, on
 * the rowid: no index needed) and answers at most the request's limit and
 * BND_HISTORY_DISKS_MAX disks; the policy is asked once per (disk, diskseq)
 * per page, for HISTORY_QUERY_POLICY_CACHED of them (more are asked again);
 * daemon-wide, HISTORY_QUERY_BURST pages at once, then HISTORY_QUERY_RATE a
 * second (beside each client's REQUEST_RATE): more are answered -EAGAIN.
 */
#ifndef BLKNOTIFYD_HISTORY_QUERY_H
#define BLKNOTIFYD_HISTORY_QUERY_H

#include "manager.h"

#define HISTORY_QUERY_SCAN		1024
#define HISTORY_QUERY_POLICY_CACHED	64
#define HISTORY_QUERY_BURST		32
#define HISTORY_QUERY_RATE		200

struct history_query {
	struct sqlite3 *db;
	struct sqlite3_stmt *page;
	unsigned int tokens;
	__u64 refilled_ns;
	__u64 pages, rows, withheld, limited;	/* logged at stop */
	__u64 page_ns_max;			/* the longest page, on the loop */
};

/* Answer one GET_HISTORY.  Returns false when the client was closed. */
bool history_query_handle(struct manager *m, struct client *c, const struct bnd_msg *msg);
/* Close the reading connection. */
void history_query_free(struct manager *m);

#endif /* BLKNOTIFYD_HISTORY_QUERY_H */
