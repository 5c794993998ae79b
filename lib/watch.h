/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The watches and filter of one queue (struct bn_config, lib/match.h): how
 * they are checked, changed and applied in user space.  One definition for
 * the library's queue (lib/queue.c, the kmsg and watch_queue sources) and
 * for blknotifyd's clients, which link libblknotify_static.  The BPF
 * program applies the same per-watch rule (bn_watch_takes()) in the kernel.
 *
 * Every function that can refuse explains why in why[] (may be NULL) with a
 * sentence for the user, and returns a negative errno.
 */
#ifndef BLKNOTIFY_WATCH_H
#define BLKNOTIFY_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include "match.h"

/* No watches, no filter. */
void bn_config_init(struct bn_config *c);

/*
 * A watch as a caller or a client asks for it: ID 0..255, a non-empty
 * sector range, and no range on a watch of every device (dev 0).
 * Returns 0 or -EINVAL.
 */
int bn_watch_check(__u32 id, __u64 dev, __u64 start, __u64 end, char *why, size_t why_len);

/*
 * Filters as IOC_WATCH_QUEUE_SET_FILTER takes them: at most BN_FILTERS_MAX,
 * info_filter within info_mask, no bits of WATCH_INFO_LENGTH in the mask.
 * Returns 0 or -EINVAL.
 */
int bn_filter_check(const struct watch_notification_type_filter *f, __u32 nr,
		    char *why, size_t why_len);

/*
 * A whole configuration read back from untrusted storage (blknotifyd's
 * state file): every watch and filter as above, IDs unique, flags 0 or 1.
 * Returns 0 or -EINVAL.
 */
int bn_config_check(const struct bn_config *c, char *why, size_t why_len);

/* The active watch with this ID, or NULL. */
struct bn_watch *bn_config_find_watch(struct bn_config *c, __u32 id);
unsigned int bn_config_nr_watches(const struct bn_config *c);

/*
 * Add a watch (checked by bn_watch_check()).  Returns its slot index, or
 * -EINVAL, -EEXIST (the ID is in use), -ENOSPC (BN_WATCHES_MAX already).
 */
int bn_config_add_watch(struct bn_config *c, __u32 id, __u64 dev, __u64 start, __u64 end,
			char *why, size_t why_len);

/* Remove the watch with this ID.  Returns 0 or -ENOENT. */
int bn_config_remove_watch(struct bn_config *c, __u32 id, char *why, size_t why_len);

/*
 * Set the filter (checked by bn_filter_check()); nr == 0: no filter,
 * everything passes.  As the kernel does, types this library does not know
 * are dropped, so a filter of only unknown types admits nothing.
 * Returns 0 or -EINVAL (and then c is unchanged).
 */
int bn_config_set_filter(struct bn_config *c, const struct watch_notification_type_filter *f,
			 __u32 nr, char *why, size_t why_len);

/*
 * Fan-out: give event ev (len bytes, BLOCK_NOTIFICATION_SIZE_V0 up to
 * sizeof(*ev)) to every watch of c that takes it (bn_watch_takes()), as a
 * copy of len bytes whose info carries the watch's ID and length len.
 * emit() returns whether it kept the record.  Returns how many it kept.
 */
typedef bool bn_emit_fn(void *ctx, const struct block_notification *rec, size_t len);
unsigned int bn_fanout(const struct bn_config *c, const struct block_notification *ev, size_t len,
		       bn_emit_fn *emit, void *ctx);

#endif /* BLKNOTIFY_WATCH_H */
