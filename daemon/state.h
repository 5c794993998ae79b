/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Across a restart.  With its source pinned (bpf), errors keep queueing in
 * the kernel while the daemon is away.  So that they reach the clients they
 * were for, the daemon keeps each watching client's token, size, watches,
 * filter and uncounted loss in a state file; its successor restores them as
 * detached clients whose queues fill from the pinned source at once, and a
 * client that reconnects with its token (libblknotify does, by itself) takes
 * its queue back: nothing missing, loss counted.  After a crash the file is
 * the one written at the last change, and the client is told of a gap.
 */
#ifndef BLKNOTIFYD_STATE_H
#define BLKNOTIFYD_STATE_H

#include "manager.h"

/* Write the state file (clean: at a clean stop; queued records count as lost). */
void state_save(struct manager *m, bool clean);
/*
 * What the file holds changed: written now if it was not written in the
 * last STATE_WRITE_INTERVAL_MS, else once when that is over.  A client
 * flooding changes costs one write per interval.
 */
void state_changed(struct manager *m);
/* Restore the predecessor's clients, detached, from the state file. */
void state_load(struct manager *m);
/* The grace period is over: queues nobody came back for go. */
void state_expire_detached(struct manager *m);
/*
 * A reconnecting client presented token: give it its detached queue back if
 * it is the same user and the policy still lets it watch what it watched.
 * Returns the HELLO_REPLY flags.
 */
__u32 state_adopt(struct manager *m, struct client *c, __u64 token);

#endif /* BLKNOTIFYD_STATE_H */
