/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GET_IMPACT: the files on a client's failed sectors, named with the
 * daemon's privileges when the policy gives that client file names
 * (file_names in blknotifyd.conf(5)), within a bounded budget.
 */
#ifndef BLKNOTIFYD_IMPACT_H
#define BLKNOTIFYD_IMPACT_H

#include "manager.h"

/*
 * The budget of one lookup, run on the daemon's loop: a walk of at most
 * IMPACT_WALK_ENTRIES directory entries (an fstatat each, a FIEMAP per
 * regular file while an owner is missing), IMPACT_EXTENTS extents.  And
 * daemon-wide, IMPACT_BURST lookups at once, then IMPACT_RATE a second:
 * more are answered -EAGAIN, so a storm of requests costs the loop a
 * bounded share of its time.
 */
#define IMPACT_WALK_ENTRIES	10000
#define IMPACT_EXTENTS		32
#define IMPACT_BURST		4
#define IMPACT_RATE		4

/* Answer one GET_IMPACT.  Returns false when the client was closed. */
bool impact_handle(struct manager *m, struct client *c, const struct bnd_msg *msg);

#endif /* BLKNOTIFYD_IMPACT_H */
