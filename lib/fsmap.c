// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The data on failed sectors: FS_IOC_GETFSMAP on the filesystem mounted
 * from the device says who owns each byte (an inode and offset on XFS with
 * rmapbt; metadata, free space or "unknown" in use on ext4), then a bounded
 * walk of the mount names the files: it matches directory entries' inode
 * numbers, and asks FIEMAP of each file where GETFSMAP could only say
 * "unknown".  See blknotify_device_get_impact() in <blknotify/device.h>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/fsmap.h>
#include <linux/magic.h>

#include <blknotify/device.h>
#include "device-internal.h"
#include "queue.h"

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif
#define WALK_DEPTH_MAX	64
#define FSMAP_BATCH	128
#define FIEMAP_BATCH	64

struct blknotify_impact {
	char *mount;
	struct blknotify_extent *ext;
	unsigned int n, max, dropped, unnamed;
	bool xfs;
	uint64_t start, end;	/* asked range, bytes */
	/* walk */
	dev_t st_dev;
	unsigned int budget;
	unsigned int unknown;	/* UNKNOWN extents left to find by FIEMAP */
	unsigned int nameless;	/* FILE extents without a path */
};

static const char *owner_name(__u64 owner, bool xfs)
{
	switch (owner) {
	case FMR_OWN_FREE:		return "free space";
	case FMR_OWN_UNKNOWN:		return "unknown";
	case FMR_OWNER('X', 1):		return xfs ? "AG headers" : "superblock";
	case FMR_OWNER('X', 2):		return "journal";
	case FMR_OWNER('X', 3):		return "free-space btree";
	case FMR_OWNER('X', 4):		return "inode btree";
	case FMR_OWNER('X', 5):		return xfs ? "inodes" : "inode table";
	case FMR_OWNER('X', 6):		return "refcount btree";
	case FMR_OWNER('X', 7):		return "copy-on-write staging";
	case FMR_OWNER('X', 8):		return "bad blocks";
	case FMR_OWNER('f', 1):		return "group descriptors";
	case FMR_OWNER('f', 2):		return "reserved group descriptors";
	case FMR_OWNER('f', 3):		return "block bitmap";
	case FMR_OWNER('f', 4):		return "inode bitmap";
	default:			return "metadata";
	}
}

/* One of the names above (so an extent's owner outlives its source), else "metadata". */
static const char *owner_intern(const char *name)
{
	static const char *const extra[] = { "file", "free space", "unknown", "AG headers" };
	static const __u64 owners[] = {
		FMR_OWNER('X', 1), FMR_OWNER('X', 2), FMR_OWNER('X', 3), FMR_OWNER('X', 4),
		FMR_OWNER('X', 5), FMR_OWNER('X', 6), FMR_OWNER('X', 7), FMR_OWNER('X', 8),
		FMR_OWNER('f', 1), FMR_OWNER('f', 2), FMR_OWNER('f', 3), FMR_OWNER('f', 4),
	};
	unsigned int i;

	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (!strcmp(name, extra[i]))
			return extra[i];
	for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++)
		if (!strcmp(name, owner_name(owners[i], false)))
			return owner_name(owners[i], false);
	return "metadata";
}

/* Append an extent; false (and counted) when the table is full. */
static bool add_extent(struct blknotify_impact *im, const struct blknotify_extent *x)
{
	if (im->n == im->max) {
		im->dropped++;
		return false;
	}
	im->ext[im->n++] = *x;
	if (x->kind == BLKNOTIFY_EXTENT_UNKNOWN)
		im->unknown++;
	else if (x->kind == BLKNOTIFY_EXTENT_FILE && !x->path)
		im->nameless++;
	return true;
}

static void add_fsmap_rec(struct blknotify_impact *im, const struct fsmap *r)
{
	uint64_t lo = r->fmr_physical, hi = r->fmr_physical + r->fmr_length;
	struct blknotify_extent x = { 0 };

	lo = lo > im->start ? lo : im->start;
	hi = hi < im->end ? hi : im->end;
	if (lo >= hi)
		return;
	x.dev_offset = lo;
	x.length = hi - lo;
	if (r->fmr_flags & FMR_OF_SPECIAL_OWNER) {
		x.owner = owner_name(r->fmr_owner, im->xfs);
		x.kind = r->fmr_owner == FMR_OWN_FREE ? BLKNOTIFY_EXTENT_FREE :
			 r->fmr_owner == FMR_OWN_UNKNOWN ? BLKNOTIFY_EXTENT_UNKNOWN :
			 BLKNOTIFY_EXTENT_METADATA;
	} else {
		x.kind = BLKNOTIFY_EXTENT_FILE;
		x.owner = "file";
		x.inode = r->fmr_owner;
		x.file_offset = r->fmr_offset + (lo - r->fmr_physical);
		x.flags = (r->fmr_flags & FMR_OF_PREALLOC ? BLKNOTIFY_EXTENT_F_PREALLOC : 0) |
			  (r->fmr_flags & FMR_OF_ATTR_FORK ? BLKNOTIFY_EXTENT_F_ATTR : 0) |
			  (r->fmr_flags & FMR_OF_EXTENT_MAP ? BLKNOTIFY_EXTENT_F_MAP : 0) |
			  (r->fmr_flags & FMR_OF_SHARED ? BLKNOTIFY_EXTENT_F_SHARED : 0);
	}
	add_extent(im, &x);
}

static int cmp_ext(const void *a, const void *b)
{
	const struct blknotify_extent *x = a, *y = b;

	return x->dev_offset < y->dev_offset ? -1 : x->dev_offset > y->dev_offset;
}

/*
 * What GETFSMAP left out of the asked range is UNKNOWN, for the FIEMAP walk
 * to name.  ext4 reports in-use blocks only as the gaps between its free and
 * fixed-metadata records, and (seen on 6.18, in block group 1) leaves out
 * the gap just before a free extent that ends a group: a file's data there
 * is in no record at all.
 */
static void add_gaps(struct blknotify_impact *im)
{
	struct blknotify_extent x = { .kind = BLKNOTIFY_EXTENT_UNKNOWN,
				      .owner = owner_name(FMR_OWN_UNKNOWN, false) };
	uint64_t pos = im->start;
	unsigned int n = im->n;

	if (im->dropped)	/* a full table: the gaps are ours, not the filesystem's */
		return;
	qsort(im->ext, n, sizeof(*im->ext), cmp_ext);
	for (unsigned int i = 0; i <= n; i++) {
		uint64_t lo = i < n ? im->ext[i].dev_offset : im->end;

		if (lo > pos) {
			x.dev_offset = pos;
			x.length = lo - pos;
			add_extent(im, &x);
		}
		if (i < n && im->ext[i].dev_offset + im->ext[i].length > pos)
			pos = im->ext[i].dev_offset + im->ext[i].length;
	}
}

static int getfsmap(struct blknotify_impact *im, int fd, dev_t dev)
{
	struct fsmap_head *h = calloc(1, sizeof(*h) + FSMAP_BATCH * sizeof(struct fsmap));

	if (!h)
		return -ENOMEM;
	h->fmh_count = FSMAP_BATCH;
	h->fmh_keys[0].fmr_physical = im->start;
	h->fmh_keys[1].fmr_device = UINT32_MAX;
	h->fmh_keys[1].fmr_physical = im->end - 1;
	h->fmh_keys[1].fmr_owner = UINT64_MAX;
	h->fmh_keys[1].fmr_offset = UINT64_MAX;
	h->fmh_keys[1].fmr_flags = UINT32_MAX;
	for (;;) {
		if (ioctl(fd, FS_IOC_GETFSMAP, h)) {
			int err = errno == ENOTTY ? -EOPNOTSUPP : -errno;

			free(h);
			return err;
		}
		if (!h->fmh_entries)
			break;
		for (unsigned int i = 0; i < h->fmh_entries; i++)
			if (h->fmh_recs[i].fmr_device == (__u32)dev)	/* not the log device */
				add_fsmap_rec(im, &h->fmh_recs[i]);
		if (h->fmh_recs[h->fmh_entries - 1].fmr_flags & FMR_OF_LAST)
			break;
		fsmap_advance(h);
	}
	free(h);
	add_gaps(im);
	return 0;
}

/* Give a path to every nameless FILE extent of inode ino. */
static int name_inode(struct blknotify_impact *im, uint64_t ino, const char *path)
{
	for (unsigned int i = 0; i < im->n; i++) {
		struct blknotify_extent *x = &im->ext[i];

		if (x->kind != BLKNOTIFY_EXTENT_FILE || x->path || x->inode != ino)
			continue;
		if (!(x->path = strdup(path)))
			return -ENOMEM;
		im->nameless--;
	}
	return 0;
}

/*
 * The part of UNKNOWN extent i that file ino's extent fe covers becomes a
 * FILE extent; what is left on either side stays UNKNOWN.
 */
static int claim(struct blknotify_impact *im, unsigned int i, const struct fiemap_extent *fe,
		 uint64_t ino, const char *path)
{
	struct blknotify_extent *x = &im->ext[i], file, before, after;
	uint64_t lo = fe->fe_physical, hi = fe->fe_physical + fe->fe_length;

	lo = lo > x->dev_offset ? lo : x->dev_offset;
	hi = hi < x->dev_offset + x->length ? hi : x->dev_offset + x->length;
	if (lo >= hi)
		return 0;
	before = after = *x;
	before.length = lo - x->dev_offset;
	after.dev_offset = hi;
	after.length = x->dev_offset + x->length - hi;
	if (im->n + !!before.length + !!after.length - 1 > im->max) {
		im->dropped++;	/* no room to split: leave it unknown */
		return 0;
	}
	file = (struct blknotify_extent){
		.kind = BLKNOTIFY_EXTENT_FILE, .owner = "file", .dev_offset = lo,
		.length = hi - lo, .inode = ino,
		.file_offset = fe->fe_logical + (lo - fe->fe_physical),
		.flags = fe->fe_flags & FIEMAP_EXTENT_UNWRITTEN ? BLKNOTIFY_EXTENT_F_PREALLOC :
			 fe->fe_flags & FIEMAP_EXTENT_SHARED ? BLKNOTIFY_EXTENT_F_SHARED : 0,
	};
	if (path && !(file.path = strdup(path)))
		return -ENOMEM;
	*x = file;
	im->unknown--;
	if (!file.path)
		im->nameless++;
	if (before.length)
		add_extent(im, &before);
	if (after.length)
		add_extent(im, &after);
	return 0;
}

/* Match file fd's extents (FIEMAP) against the UNKNOWN extents. */
static int fiemap_match(struct blknotify_impact *im, int fd, uint64_t ino, const char *path)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent fe[FIEMAP_BATCH];
	} b;
	uint64_t start = 0;
	int err;

	for (;;) {
		memset(&b.fm, 0, sizeof(b.fm));
		b.fm.fm_start = start;
		b.fm.fm_length = FIEMAP_MAX_OFFSET - start;
		b.fm.fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, &b.fm) || !b.fm.fm_mapped_extents)
			return 0;
		for (unsigned int e = 0; e < b.fm.fm_mapped_extents && im->unknown; e++) {
			const struct fiemap_extent *fe = &b.fe[e];

			if (fe->fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC |
					    FIEMAP_EXTENT_DATA_INLINE))
				continue;
			if (fe->fe_physical >= im->end || fe->fe_physical + fe->fe_length <= im->start)
				continue;
			for (unsigned int i = 0; i < im->n; i++)
				if (im->ext[i].kind == BLKNOTIFY_EXTENT_UNKNOWN &&
				    (err = claim(im, i, fe, ino, path)))
					return err;
		}
		if (!im->unknown || b.fe[b.fm.fm_mapped_extents - 1].fe_flags & FIEMAP_EXTENT_LAST)
			return 0;
		start = b.fe[b.fm.fm_mapped_extents - 1].fe_logical +
			b.fe[b.fm.fm_mapped_extents - 1].fe_length;
	}
}

static bool walk_done(const struct blknotify_impact *im)
{
	return !im->budget || (!im->unknown && !im->nameless);
}

/* One directory of the walk: path holds its name (len bytes), dfd is open on it. */
static int walk_dir(struct blknotify_impact *im, int dfd, char *path, size_t len, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int err = 0;

	if (!(dir = fdopendir(dfd))) {
		close(dfd);
		return 0;
	}
	while (!err && !walk_done(im) && (de = readdir(dir))) {
		size_t nlen = strlen(de->d_name);
		unsigned char type = de->d_type;
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		im->budget--;
		if (len + 1 + nlen >= PATH_MAX)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, nlen + 1);
		if (im->nameless && (err = name_inode(im, de->d_ino, path)))
			break;
		if (type == DT_UNKNOWN) {
			if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
		}
		if (type != DT_DIR && (type != DT_REG || !im->unknown))
			continue;
		fd = openat(dirfd(dir), de->d_name,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			continue;
		if (im->unknown)
			err = fiemap_match(im, fd, de->d_ino, path);
		if (!err && type == DT_DIR && depth < WALK_DEPTH_MAX &&
		    !fstat(fd, &st) && st.st_dev == im->st_dev) {	/* not into other mounts */
			err = walk_dir(im, fd, path, len + 1 + nlen, depth + 1);
			continue;	/* walk_dir closed fd */
		}
		close(fd);
	}
	path[len] = '\0';
	closedir(dir);
	return err;
}

static int walk_mount(struct blknotify_impact *im, int rootfd)
{
	char *path = malloc(PATH_MAX);
	size_t len = strlen(im->mount);
	struct stat st;
	int fd, err;

	if (!path)
		return -ENOMEM;
	if (fstat(rootfd, &st) || (fd = dup(rootfd)) < 0) {
		free(path);
		return -errno;
	}
	im->st_dev = st.st_dev;
	len = len == 1 ? 0 : len;	/* "/" + "/name" would be "//name" */
	memcpy(path, im->mount, len);
	path[len] = '\0';
	if (im->unknown && (err = fiemap_match(im, rootfd, st.st_ino, len ? path : "/")))
		goto out;
	err = walk_dir(im, fd, path, len, 0);
out:
	free(path);
	return err;
}

static int first_mount(const char *target, void *arg)
{
	char **dst = arg;

	return (*dst = strdup(target)) ? 1 : -ENOMEM;
}

/* A mount of the filesystem's root if there is one, else of any subtree. */
static int find_mount(const struct blknotify_device *d, char **ret)
{
	const char *devname = NULL;
	dev_t dev;
	int err;

	blknotify_device_get_devnum(d, &dev);
	blknotify_device_get_devname(d, &devname);
	*ret = NULL;
	err = device_find_mounts(dev, devname, true, first_mount, ret);
	if (!err && !*ret)
		err = device_find_mounts(dev, devname, false, first_mount, ret);
	return err ?: *ret ? 0 : -ENOENT;
}

static int impact_fill(struct blknotify_impact *im, const struct blknotify_device *d,
		       unsigned int flags)
{
	struct statfs sfs;
	dev_t dev;
	int fd, err;

	if ((err = find_mount(d, &im->mount)))
		return err;
	fd = open(im->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs)) {
		err = -errno;
		goto out;
	}
	im->xfs = sfs.f_type == XFS_SUPER_MAGIC;
	if (sfs.f_type != EXT4_SUPER_MAGIC && !im->xfs) {
		err = -EOPNOTSUPP;	/* btrfs' FIEMAP gives logical addresses, not the device's */
		goto out;
	}
	blknotify_device_get_devnum(d, &dev);
	if ((err = getfsmap(im, fd, dev)))
		goto out;
	if (!(flags & BLKNOTIFY_IMPACT_NO_NAMES) && (im->unknown || im->nameless))
		err = walk_mount(im, fd);
	qsort(im->ext, im->n, sizeof(*im->ext), cmp_ext);
	im->unnamed = im->nameless;
out:
	close(fd);
	return err;
}

int blknotify_device_get_impact(const struct blknotify_device *d, uint64_t sector,
				uint32_t nr_sectors, const struct blknotify_impact_opts *opts,
				struct blknotify_impact **ret)
{
	unsigned int flags = 0, max_files = BLKNOTIFY_IMPACT_MAX_FILES_DEFAULT;
	unsigned int max_ext = BLKNOTIFY_IMPACT_MAX_EXTENTS_DEFAULT;
	struct blknotify_impact *im;
	uint64_t size;
	int err;

	if (!d || !ret || !nr_sectors || blknotify_device_get_size(d, &size) ||
	    sector >= size || nr_sectors > size - sector)
		return -EINVAL;
	if (opts) {
		if (!opts_valid(opts, OPTS_KNOWN(blknotify_impact_opts,
						  blknotify_impact_opts__last_field)))
			return -EINVAL;
		if (opts->sz >= OPTS_KNOWN(blknotify_impact_opts, flags))
			flags = opts->flags;
		if (opts->sz >= OPTS_KNOWN(blknotify_impact_opts, max_files) && opts->max_files)
			max_files = opts->max_files;
		if (opts->sz >= OPTS_KNOWN(blknotify_impact_opts, max_extents) && opts->max_extents)
			max_ext = opts->max_extents;
		if (flags & ~BLKNOTIFY_IMPACT_NO_NAMES)
			return -EINVAL;
	}
	if (!(im = calloc(1, sizeof(*im))) || !(im->ext = calloc(max_ext, sizeof(*im->ext)))) {
		free(im);
		return -ENOMEM;
	}
	im->max = max_ext;
	im->budget = max_files;
	im->start = sector * 512;
	im->end = (sector + nr_sectors) * 512;
	if ((err = impact_fill(im, d, flags))) {
		blknotify_impact_free(im);
		return err;
	}
	*ret = im;
	return 0;
}

int impact_new(struct blknotify_impact **ret, const char *mount, unsigned int max,
	       unsigned int dropped, unsigned int unnamed)
{
	struct blknotify_impact *im = calloc(1, sizeof(*im));

	if (!im || !(im->ext = calloc(max ? max : 1, sizeof(*im->ext))) ||
	    !(im->mount = strdup(mount))) {
		blknotify_impact_free(im);
		return -ENOMEM;
	}
	im->max = max;
	im->dropped = dropped;
	im->unnamed = unnamed;
	*ret = im;
	return 0;
}

int impact_append(struct blknotify_impact *im, const struct blknotify_extent *x)
{
	struct blknotify_extent c = *x;

	if (im->n == im->max)
		return -ENOSPC;
	c.owner = owner_intern(x->owner ? x->owner : "unknown");
	if (x->path && !(c.path = strdup(x->path)))
		return -ENOMEM;
	im->ext[im->n++] = c;
	return 0;
}

struct blknotify_impact *blknotify_impact_free(struct blknotify_impact *im)
{
	if (!im)
		return NULL;
	for (unsigned int i = 0; i < im->n; i++)
		free((char *)im->ext[i].path);
	free(im->ext);
	free(im->mount);
	free(im);
	return NULL;
}

int blknotify_impact_get_extent(const struct blknotify_impact *im, unsigned int idx,
				const struct blknotify_extent **ret)
{
	if (!im || !ret)
		return -EINVAL;
	if (idx >= im->n)
		return -ENOENT;
	*ret = &im->ext[idx];
	return 0;
}

unsigned int blknotify_impact_get_count(const struct blknotify_impact *im)
{
	return im ? im->n : 0;
}

unsigned int blknotify_impact_get_dropped(const struct blknotify_impact *im)
{
	return im ? im->dropped : 0;
}

unsigned int blknotify_impact_get_unnamed(const struct blknotify_impact *im)
{
	return im ? im->unnamed : 0;
}

const char *blknotify_impact_get_mount(const struct blknotify_impact *im)
{
	return im ? im->mount : NULL;
}
