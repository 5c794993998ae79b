/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotifyd's source: which one (auto: watch_queue, else bpf, else kmsg),
 * pinned across restarts (bpf), its watches narrowed to the disks the
 * clients watch, and every record it gives fanned out to the clients'
 * watches.
 */
#ifndef BLKNOTIFYD_UPSTREAM_H
#define BLKNOTIFYD_UPSTREAM_H

#include "manager.h"

/* Open the configured source; it watches every device until upstream_update(). */
int upstream_start(struct manager *m);
/*
 * Bring the source's watches to what the clients watch.  Returns 0, or a
 * negative errno when some client's watch is not covered at the source
 * (what was watched before stays watched).
 */
int upstream_update(struct manager *m);
/* Only add what a new watch needs (immediate, before ADD_WATCH is answered); same returns. */
int upstream_widen(struct manager *m);
/* Watches went away: narrow the source's watches once, UPSTREAM_NARROW_DELAY_MS later. */
void upstream_update_later(struct manager *m);
/*
 * Whether the source delivers lifecycle records from uevents (lib/lifecycle.c):
 * then a disk's removal record ends the watches on it (devices.h).
 */
bool upstream_lifecycle(const struct manager *m);
/*
 * Read what the source has.  Returns the number of reads that returned
 * records (so a caller can tell whether more may wait), or a negative errno
 * when the source failed for good.
 */
int upstream_readable(struct manager *m);

#endif /* BLKNOTIFYD_UPSTREAM_H */
