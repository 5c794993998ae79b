/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reconciliation of the bpf source with ftrace (lib/reconcile.c): the errors
 * the kernel traced on block:block_rq_error for a queue's watched devices
 * but ran no BPF program for are reported as loss.  Private to the library.
 */
#ifndef BLKNOTIFY_RECONCILE_H
#define BLKNOTIFY_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "match.h"
#include "blknotify.bpf.h"

struct reconcile;

/*
 * Start reconciling the queue whose attached program has ID prog_id:
 * tracefs instance "blknotify-<prog_id>" under tracing_dir (created, or taken
 * over with a pinned queue), block_rq_error enabled in it and filtered to
 * cfg's watches.  state is the program's pinned .bss baseline, watched its
 * count of events that matched a watch.  NULL when tracefs instances cannot
 * be made here (said once per process): the queue then runs without.
 */
struct reconcile *reconcile_open(const char *tracing_dir, __u32 prog_id,
				 const struct bn_config *cfg, struct bn_reconcile *state,
				 const __u64 *watched);

/* The timer fd to poll (readable when a check is due). */
int reconcile_fd(const struct reconcile *r);

/*
 * The queue's watches change: call reconcile_pause() before the program's
 * configuration is written and reconcile_resume() after, so that neither
 * side counts under a filter the other does not have yet.
 */
void reconcile_pause(struct reconcile *r);
void reconcile_resume(struct reconcile *r, const struct bn_config *cfg);

/*
 * Called by a read that found the ring empty: the errors traced and not
 * counted by the program since the last check, once both counts have been
 * still for a while (0 otherwise, and when r is NULL).
 */
__u64 reconcile_check(struct reconcile *r);

/* Stop; remove_instance: the queue is gone (not pinned), so is its instance. */
void reconcile_close(struct reconcile *r, bool remove_instance);

/* Remove the instance of a pinned queue whose program had ID prog_id. */
void reconcile_remove(__u32 prog_id);

/*
 * The ftrace filter that admits what cfg's watches take (by device and
 * sector; subtype filters are the program's): "" for every device.
 * Returns 1 when nothing is watched, 0, or -ENAMETOOLONG.
 */
int reconcile_filter(const struct bn_config *cfg, char *buf, size_t len);

/* The events one per_cpu/cpuN/stats text counts: entries + overrun + commit
 * overrun + dropped + read.  -EINVAL when entries or overrun is missing. */
int reconcile_parse_stats(const char *buf, size_t len, __u64 *traced);

#endif /* BLKNOTIFY_RECONCILE_H */
