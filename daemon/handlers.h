/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotifyd's handlers output (docs/handlers.md): executables in
 * handlers_dir, named for what they want ("medium-notify.sh",
 * "error-log.sh", "threshold-replace.sh", "all-log.sh"), run by the daemon
 * for each record on the outputs' disks with the record and the disk's
 * identity in a clean environment, as handlers_user, stdin /dev/null,
 * stdout and stderr into the daemon's log (handlers_output_max bytes per
 * run, the rest counted), killed with their process group after
 * handlers_timeout_ms.
 *
 * Bounds, and what happens past them (never silence):
 *  - handlers_max_running runs at once, handlers_queue_size waiting; an
 *    event that finds both full stays counted in its rate-limit key and is
 *    reported by a later run (BLKNOTIFY_EVENTS_SINCE_LAST);
 *  - one run per (handler, disk, subtype) per handlers_interval_ms
 *    (handler-rate.h: handlers_rate_keys keys, evictions counted);
 *  - thresholds (threshold.h) fire `threshold` events.
 *
 * Event IDs are 64-bit and monotonic across restarts: a block of
 * HANDLERS_ID_BLOCK IDs is reserved in handlers_state_file before the first
 * is used, so a crash skips IDs but never reuses one.  The state file also
 * keeps the thresholds' counts, and at a clean stop the events not reported
 * yet (pending and queued runs), which run after the restart.
 *
 * Children are forked from the single-threaded loop and reaped through
 * pidfds on an epoll fd of the handlers' own, which is in the manager's
 * loop: nothing here waits.
 */
#ifndef BLKNOTIFYD_HANDLERS_H
#define BLKNOTIFYD_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <blknotify/block_notify.h>
#include "handlers-config.h"

#define HANDLERS_ID_BLOCK	65536	/* event IDs reserved per write of the state file */

struct handlers;
struct blknotify_device_cache;

struct handlers_stats {
	__u64 events;			/* records, threshold and loss events given to the handlers */
	__u64 runs;			/* started */
	__u64 coalesced;		/* events reported by a run for a later event */
	__u64 queue_full;		/* events that found the running slots and the queue full */
	__u64 failed;			/* runs that exited non-zero, died of a signal or could not start */
	__u64 timeouts;			/* runs killed at handlers_timeout_ms */
	__u64 lost;			/* events no run will report (counted, logged) */
	__u64 output_truncated;		/* bytes of output not logged */
	__u64 rate_evicted;		/* rate-limit keys forgotten to make room */
	__u64 thresholds_fired;
	__u64 source_lost;		/* records the source lost, told to the handlers */
	unsigned int handlers;		/* loaded now */
	unsigned int refused;		/* files refused at the last scan (security) */
};

/*
 * Start: resolve handlers_user, read the state file, scan the directory.
 * *fd is the epoll fd to watch (EPOLLIN: call handlers_dispatch()).
 * Returns 0 or a negative errno (logged).
 */
int handlers_new(struct handlers **ret, const struct handlers_config *c,
		 struct blknotify_device_cache *cache, int *fd);
/*
 * One record from the source, of the disk with this diskseq (0: unknown;
 * another diskseq under the same number is another disk).  hold: the daemon is stopping (the last
 * records are being read): count it, start nothing; the stop keeps it for
 * the next start.
 */
void handlers_record(struct handlers *h, const struct block_notification *b, size_t len,
		     __u64 diskseq, bool hold);
/* The source lost nr records (of any disk): a loss event for the loss- and all- handlers. */
void handlers_loss(struct handlers *h, __u64 nr, bool hold);
/* The epoll fd is readable: children, their output, the timer. */
void handlers_dispatch(struct handlers *h);
/* SIGHUP: scan the directory again. */
void handlers_reload(struct handlers *h);
void handlers_get_stats(const struct handlers *h, struct handlers_stats *s);
/* Stop: kill what runs, save what is pending, free.  Accepts NULL. */
void handlers_free(struct handlers *h);

#endif /* BLKNOTIFYD_HANDLERS_H */
