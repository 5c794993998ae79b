/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libblknotify: who a record's device is, where its sector lands, and what
 * data sat there.  A record names a whole disk (dev, as st_rdev) and a
 * whole-disk sector; these calls turn that into
 *
 *	the disk		model, vendor, serial, WWN, /dev/disk/by-id and by-path
 *				links, transport, rotational, diskseq
 *				(udev's database through sd-device; sysfs where udev
 *				has no data: containers, initramfs, busybox)
 *	the partition		name, number, start, and the offset within it
 *	the filesystem		type, UUID, label (udev ID_FS_*, else libblkid),
 *				mount points, holders (dm/md stacked above)
 *	the data		blknotify_device_get_impact(): the files and byte ranges,
 *				or the metadata, or free space, on the failed range
 *
 * A struct blknotify_device is an immutable snapshot taken when it is made,
 * reference-counted (the counter is atomic, so a snapshot may be shared
 * between threads; everything else is read-only).  Getters return 0 or a
 * negative errno (-EINVAL for a NULL object, -ENOENT when the device has no
 * such property) and leave *ret alone on error; _ref/_unref accept NULL.
 *
 * A struct blknotify_device_cache keeps one snapshot per disk so that a storm
 * of records for one disk looks it up once.  Its hit path is a table lookup
 * and a read of /sys/dev/block/M:m/diskseq (kept open); /proc/self/mountinfo
 * is polled at most every 100 ms.  It is bounded and counts what it evicts.
 * It is not thread-safe.
 */
#ifndef _BLKNOTIFY_DEVICE_H
#define _BLKNOTIFY_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <blknotify/blknotify.h>	/* BLKNOTIFY_API, BLKNOTIFY_OPTS() */

#ifdef __cplusplus
extern "C" {
#endif

struct blknotify_device;

/*
 * Look up a block device (a whole disk or a partition) by its device number;
 * a partition carries its disk's identity (serial, WWN, diskseq, ...).
 * Reads udev's database (sd-device) and sysfs, probes the filesystem with
 * libblkid when udev does not know it (this opens the device node: root or
 * the disk group), reads the mount table.  Can take milliseconds: do it once
 * per device (blknotify_device_cache does), never per record.
 *   -ENODEV	no block device with this number
 *   -ENOMEM	out of memory
 */
BLKNOTIFY_API int blknotify_device_new_from_devnum(struct blknotify_device **ret, dev_t dev);
BLKNOTIFY_API struct blknotify_device *blknotify_device_ref(struct blknotify_device *d);
/* Drop a reference; frees on the last.  Returns NULL. */
BLKNOTIFY_API struct blknotify_device *blknotify_device_unref(struct blknotify_device *d);

BLKNOTIFY_API int blknotify_device_get_devnum(const struct blknotify_device *d, dev_t *ret);
/* Kernel name ("sda", "sda1", "loop3"). */
BLKNOTIFY_API int blknotify_device_get_sysname(const struct blknotify_device *d, const char **ret);
/* Device node ("/dev/sda1"). */
BLKNOTIFY_API int blknotify_device_get_devname(const struct blknotify_device *d, const char **ret);
/* True when udev's database had data for the device; false: sysfs only. */
BLKNOTIFY_API bool blknotify_device_has_udev_data(const struct blknotify_device *d);

/* Identity (udev ID_MODEL/ID_VENDOR/ID_SERIAL/ID_SERIAL_SHORT/ID_WWN; sysfs
 * device/model, device/vendor, device/serial, device/wwid or wwid). */
BLKNOTIFY_API int blknotify_device_get_model(const struct blknotify_device *d, const char **ret);
BLKNOTIFY_API int blknotify_device_get_vendor(const struct blknotify_device *d, const char **ret);
BLKNOTIFY_API int blknotify_device_get_serial(const struct blknotify_device *d, const char **ret);
BLKNOTIFY_API int blknotify_device_get_serial_short(const struct blknotify_device *d,
						    const char **ret);
BLKNOTIFY_API int blknotify_device_get_wwn(const struct blknotify_device *d, const char **ret);
/* Transport: udev ID_BUS ("ata", "scsi", "nvme", "usb") and ID_PATH. */
BLKNOTIFY_API int blknotify_device_get_bus(const struct blknotify_device *d, const char **ret);
BLKNOTIFY_API int blknotify_device_get_id_path(const struct blknotify_device *d, const char **ret);
/* The first /dev/disk/by-id/ and /dev/disk/by-path/ link (sorted by name). */
BLKNOTIFY_API int blknotify_device_get_by_id(const struct blknotify_device *d, const char **ret);
BLKNOTIFY_API int blknotify_device_get_by_path(const struct blknotify_device *d, const char **ret);
/* Every udev link of the device, idx from 0; -ENOENT past the last. */
BLKNOTIFY_API int blknotify_device_get_link(const struct blknotify_device *d, unsigned int idx,
					    const char **ret);
/* queue/rotational: 1 spinning, 0 not. */
BLKNOTIFY_API int blknotify_device_get_rotational(const struct blknotify_device *d, bool *ret);
/* The disk's sequence number (Linux 5.15+): a reused major:minor gets a new one. */
BLKNOTIFY_API int blknotify_device_get_diskseq(const struct blknotify_device *d, uint64_t *ret);
/* Size in 512-byte sectors. */
BLKNOTIFY_API int blknotify_device_get_size(const struct blknotify_device *d, uint64_t *ret);

/* Partitions (-ENOENT on a whole disk): number, first whole-disk sector. */
BLKNOTIFY_API int blknotify_device_get_partition_number(const struct blknotify_device *d,
							unsigned int *ret);
BLKNOTIFY_API int blknotify_device_get_partition_start(const struct blknotify_device *d,
						       uint64_t *ret);

/*
 * Where a whole-disk sector lands: *ret_dev is the partition that holds it
 * (a new reference), *ret_offset the sector's offset within it, in 512-byte
 * sectors.  A sector outside every partition, or on a disk without
 * partitions, gives the disk itself and the sector unchanged.
 * -EINVAL: d is a partition, or sector is past the end of the disk.
 */
BLKNOTIFY_API int blknotify_device_locate(const struct blknotify_device *d, uint64_t sector,
					  struct blknotify_device **ret_dev,
					  uint64_t *ret_offset);

/* The filesystem (or other content: "swap", "LVM2_member", ...) on the device. */
BLKNOTIFY_API int blknotify_device_get_fs_type(const struct blknotify_device *d, const char **ret);
BLKNOTIFY_API int blknotify_device_get_fs_uuid(const struct blknotify_device *d, const char **ret);
BLKNOTIFY_API int blknotify_device_get_fs_label(const struct blknotify_device *d, const char **ret);
/* Mount points of the device (this process's mount namespace), idx from 0. */
BLKNOTIFY_API int blknotify_device_get_mount(const struct blknotify_device *d, unsigned int idx,
					     const char **ret);
/* Devices stacked on this one (sysfs holders/: "dm-0", "md127"), idx from 0. */
BLKNOTIFY_API int blknotify_device_get_holder(const struct blknotify_device *d, unsigned int idx,
					      const char **ret);

/*
 * The cache: one snapshot per device number, made on first use and made
 * again when the disk's diskseq changes, when this process's mount table
 * changes (seen within 100 ms), or when the caller invalidates it (for example on a udev
 * "change" or "remove" event).  Partition tables that change without a
 * diskseq change (BLKPG, a repartitioned disk that was not reopened) need
 * an invalidate call.
 */
struct blknotify_device_cache;

#define BLKNOTIFY_DEVICE_CACHE_SIZE_DEFAULT	64
#define BLKNOTIFY_DEVICE_CACHE_SIZE_MAX		1024

struct blknotify_device_cache_opts {
	size_t sz;			/* sizeof(struct blknotify_device_cache_opts) */
	/* Devices kept (1 .. BLKNOTIFY_DEVICE_CACHE_SIZE_MAX; 0: the default).
	 * When full, the least recently used entry is evicted and counted. */
	unsigned int max_entries;
	unsigned int flags;		/* BLKNOTIFY_DEVICE_CACHE_* */
	size_t :0;
};
#define blknotify_device_cache_opts__last_field flags

/* blknotify_device_cache_opts.flags */
enum {
	/* Identity only: never open the device to ask libblkid about its content
	 * (fs_type, fs_uuid and fs_label then come from udev or not at all).  For
	 * a daemon on the path of a failing disk's errors: probing reads the disk,
	 * which may fail again or hang for the SCSI timeout. */
	BLKNOTIFY_DEVICE_CACHE_NO_PROBE	= 1U << 0,
};

struct blknotify_device_cache_stats {
	size_t sz;			/* set by the caller: sizeof(struct ...) */
	uint64_t lookups;		/* blknotify_device_cache_get() calls */
	uint64_t hits;			/* answered from the cache */
	uint64_t misses;		/* snapshots made: first use or after a refresh */
	uint64_t refreshes;		/* entries made again: diskseq, mounts, invalidate */
	uint64_t evictions;		/* entries dropped to stay within max_entries */
	uint64_t errors;		/* lookups that failed (not cached) */
	unsigned int entries;		/* in the cache now */
	unsigned int max_entries;
};

/* opts may be NULL (defaults).  -EINVAL: bad options; -ENOMEM. */
BLKNOTIFY_API int blknotify_device_cache_new(struct blknotify_device_cache **ret,
					     const struct blknotify_device_cache_opts *opts);
/* Free the cache (snapshots still referenced by the caller stay valid).  Returns NULL. */
BLKNOTIFY_API struct blknotify_device_cache *
blknotify_device_cache_free(struct blknotify_device_cache *c);
/* The snapshot for dev, a new reference (unref it); errors as
 * blknotify_device_new_from_devnum(). */
BLKNOTIFY_API int blknotify_device_cache_get(struct blknotify_device_cache *c, dev_t dev,
					     struct blknotify_device **ret);
/* Forget dev (0: every device); the next get looks it up again. */
BLKNOTIFY_API int blknotify_device_cache_invalidate(struct blknotify_device_cache *c, dev_t dev);
/* Counters; st->sz must be set.  -EINVAL: NULL or st->sz too small. */
BLKNOTIFY_API int blknotify_device_cache_get_stats(const struct blknotify_device_cache *c,
						   struct blknotify_device_cache_stats *st);

/*
 * The data on a range of a device: ask the filesystem mounted from it
 * (FS_IOC_GETFSMAP) who owns the bytes, and name the files.  This reads the
 * mount and may walk its directories: it is a separate call that a monitor
 * makes when it chooses, off the path of its records, within the budget in
 * its options.
 *
 * What can be named: on ext4, the fixed metadata (superblock, group
 * descriptors, bitmaps, inode tables, journal) and free space come from
 * GETFSMAP, and the file whose data sits there (regular files and
 * directories) from a walk of the mount that asks FIEMAP of each file;
 * extent-tree blocks, xattr blocks and orphaned inodes stay "unknown".  On
 * XFS with the reverse-mapping btree (mkfs.xfs -m rmapbt=1) GETFSMAP names
 * the inode and offset (data, attr fork or bmap btree block) and every AG
 * structure, and the walk only matches inode numbers; without rmapbt, or
 * for a caller without CAP_SYS_ADMIN (XFS then reads only its free-space
 * btrees), as ext4.  Files outside the mounted subtree (a bind mount of a directory),
 * unlinked but open files and files beyond the budget are reported by inode
 * number or as unresolved.  btrfs and other filesystems: -EOPNOTSUPP.
 */
enum blknotify_extent_kind {
	BLKNOTIFY_EXTENT_UNKNOWN	= 0,	/* in use, owner not found */
	BLKNOTIFY_EXTENT_FREE		= 1,	/* free space: no data lost */
	BLKNOTIFY_EXTENT_METADATA	= 2,	/* filesystem metadata; owner names it */
	BLKNOTIFY_EXTENT_FILE		= 3,	/* data (or attr/map) of inode; path if named */
};

/* blknotify_extent.flags */
enum {
	BLKNOTIFY_EXTENT_F_PREALLOC	= 1U << 0,	/* unwritten preallocation */
	BLKNOTIFY_EXTENT_F_ATTR		= 1U << 1,	/* extended attribute data */
	BLKNOTIFY_EXTENT_F_MAP		= 1U << 2,	/* the file's block map */
	BLKNOTIFY_EXTENT_F_SHARED	= 1U << 3,	/* shared with another file (reflink) */
};

/* One owner of part of the range.  Fields may be appended, never reordered. */
struct blknotify_extent {
	enum blknotify_extent_kind kind;
	unsigned int flags;		/* BLKNOTIFY_EXTENT_F_* */
	uint64_t dev_offset;		/* bytes from the start of the device (partition) */
	uint64_t length;		/* bytes, within the asked range */
	uint64_t inode;			/* FILE: inode number */
	uint64_t file_offset;		/* FILE: bytes from the start of the file */
	const char *owner;		/* "file", "free space", "journal", "inode table", ... */
	const char *path;		/* FILE: absolute path when named, else NULL */
};

/* blknotify_impact_opts.flags */
enum {
	BLKNOTIFY_IMPACT_NO_NAMES	= 1U << 0,	/* inode numbers only: no walk */
};

#define BLKNOTIFY_IMPACT_MAX_FILES_DEFAULT	100000
#define BLKNOTIFY_IMPACT_MAX_EXTENTS_DEFAULT	64

struct blknotify_impact_opts {
	size_t sz;
	unsigned int flags;		/* BLKNOTIFY_IMPACT_* */
	/* Directory entries the walk looks at, at most (0: default 100000). */
	unsigned int max_files;
	/* Extents reported, at most (0: default 64); the rest are counted. */
	unsigned int max_extents;
	size_t :0;
};
#define blknotify_impact_opts__last_field max_extents

struct blknotify_impact;

/*
 * Who owns nr_sectors 512-byte sectors from sector of d (offsets as
 * blknotify_device_locate() gives them).
 *   -ENOENT	d is not mounted in this mount namespace
 *   -EOPNOTSUPP the filesystem cannot say (btrfs, vfat, ...; see above)
 *   -EINVAL	bad options or range
 */
BLKNOTIFY_API int blknotify_device_get_impact(const struct blknotify_device *d, uint64_t sector,
					      uint32_t nr_sectors,
					      const struct blknotify_impact_opts *opts,
					      struct blknotify_impact **ret);
BLKNOTIFY_API struct blknotify_impact *blknotify_impact_free(struct blknotify_impact *im);
/* Extents in device order, idx from 0; -ENOENT past the last. */
BLKNOTIFY_API int blknotify_impact_get_extent(const struct blknotify_impact *im, unsigned int idx,
					      const struct blknotify_extent **ret);
BLKNOTIFY_API unsigned int blknotify_impact_get_count(const struct blknotify_impact *im);
/* Extents not reported (over max_extents). */
BLKNOTIFY_API unsigned int blknotify_impact_get_dropped(const struct blknotify_impact *im);
/* FILE extents whose path was not found (budget spent, outside the mount). */
BLKNOTIFY_API unsigned int blknotify_impact_get_unnamed(const struct blknotify_impact *im);
/* The mount point that was asked. */
BLKNOTIFY_API const char *blknotify_impact_get_mount(const struct blknotify_impact *im);

/*
 * The same question asked of a queue's source, for a record it delivered:
 * dev and sector as the record names them (whole disk).  With the daemon
 * source, blknotifyd looks the range up with its own privileges and a
 * bounded budget (blknotifyd(8), FILE NAMES) if its policy gives this
 * process file names; the answer is the same object.  Identity (the
 * blknotify_device_* getters) needs no privilege and is looked up locally.
 * Records that arrive while it waits for the answer are kept in the queue,
 * in order, where the fd no longer signals them: read until -EAGAIN before
 * polling again.
 *   -EOPNOTSUPP	the source cannot answer (bpf, kmsg, watch_queue: ask
 *			blknotify_device_get_impact() yourself)
 *   -EACCES		the daemon's policy gives this user no file names;
 *			blknotify_queue_get_error() names the setting
 *   -EAGAIN		the daemon's lookup rate bound: ask again later
 *   -ENOTCONN	the queue has no watch yet, or the daemon is away
 *   others		as blknotify_device_get_impact(), from the daemon
 */
BLKNOTIFY_API int blknotify_queue_get_impact(struct blknotify_queue *q, uint64_t dev,
					     uint64_t sector, uint32_t nr_sectors,
					     struct blknotify_impact **ret);

#ifdef __cplusplus
}
#endif

#endif /* _BLKNOTIFY_DEVICE_H */
