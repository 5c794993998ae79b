/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Between device.c and fsmap.c (and their tests): not exported. */
#ifndef BLKNOTIFY_DEVICE_INTERNAL_H
#define BLKNOTIFY_DEVICE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Call fn(target, arg) for each mount of dev (or of devname: btrfs mounts
 * carry an anonymous device number) in this mount namespace, in mount table
 * order; root_only: only mounts of the filesystem's root, not of a
 * subdirectory.  A negative return of fn stops the walk and is returned; a
 * positive one stops it and 0 is returned.
 */
int device_find_mounts(dev_t dev, const char *devname, bool root_only,
		       int (*fn)(const char *target, void *arg), void *arg);

/*
 * An impact made from another process's answer (the daemon's IMPACT
 * reply): impact_new() an empty one for mount with room for max extents,
 * impact_append() copies x (its path too; owner is matched to the names
 * this library uses, anything else becomes "metadata").  -ENOMEM, -ENOSPC.
 */
struct blknotify_impact;
struct blknotify_extent;
int impact_new(struct blknotify_impact **ret, const char *mount, unsigned int max,
	       unsigned int dropped, unsigned int unnamed);
int impact_append(struct blknotify_impact *im, const struct blknotify_extent *x);

#endif
