// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device identity: a snapshot of what udev (through sd-device) and sysfs
 * say about a disk and its partitions, what libblkid finds on them when
 * udev has not probed them, and where they are mounted (libmount).  The
 * snapshot is immutable once made; the cache below keeps one per disk and
 * makes it again when the disk's diskseq or this process's mount table
 * changes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include <blkid/blkid.h>
#include <libmount/libmount.h>
#include <systemd/sd-device.h>

#include <blknotify/device.h>
#include "device-internal.h"
#include "queue.h"
#include "sysfs.h"

enum dev_str {
	S_SYSNAME, S_DEVNAME, S_MODEL, S_VENDOR, S_SERIAL, S_SERIAL_SHORT, S_WWN, S_BUS,
	S_ID_PATH, S_BY_ID, S_BY_PATH, S_FS_TYPE, S_FS_UUID, S_FS_LABEL, S__MAX
};

struct strv {
	char **v;
	size_t n;
};

struct blknotify_device {
	unsigned int n_ref;
	dev_t devnum;
	bool udev;
	bool has_diskseq, has_rotational, rotational;
	unsigned int partno;		/* 0: a whole disk */
	uint64_t diskseq, start, size;
	char *str[S__MAX];
	struct strv links, mounts, holders;
	struct blknotify_device **parts;	/* a disk's partitions, by start */
	size_t n_parts;
};

static int strv_push(struct strv *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	if (!(v[l->n] = strdup(s)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static void strv_done(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* A sysfs string without its padding (SCSI pads model and vendor with spaces). */
static int set_trimmed(char **dst, const char *s)
{
	size_t len;

	while (is_blank(*s))
		s++;
	len = strlen(s);
	while (len && is_blank(s[len - 1]))
		len--;
	if (!len || *dst)
		return 0;
	return (*dst = strndup(s, len)) ? 0 : -ENOMEM;
}

/* The first of a udev property and the sysfs attributes that has a value. */
static int set_prop(sd_device *sd, char **dst, const char *prop, const char *const *attrs)
{
	const char *v;

	if (prop && sd_device_get_property_value(sd, prop, &v) >= 0 && *v)
		return set_trimmed(dst, v);
	for (; attrs && *attrs; attrs++)
		if (sd_device_get_sysattr_value(sd, *attrs, &v) >= 0 && *v)
			return set_trimmed(dst, v);
	return 0;
}

/* A number attribute (sd-device strips the newline). */
static int attr_u64(sd_device *sd, const char *attr, uint64_t *ret)
{
	const char *v;
	__u64 n;
	int err;

	if (sd_device_get_sysattr_value(sd, attr, &v) < 0)
		return -ENOENT;
	if ((err = bn_parse_u64(v, &n)))
		return err;
	*ret = n;
	return 0;
}

static int read_links(struct blknotify_device *d, sd_device *sd)
{
	const char *l;
	int err;

	for (l = sd_device_get_devlink_first(sd); l; l = sd_device_get_devlink_next(sd))
		if ((err = strv_push(&d->links, l)))
			return err;
	if (d->links.n)
		qsort(d->links.v, d->links.n, sizeof(char *), cmp_str);
	for (size_t i = d->links.n; i-- > 0;) {
		if (!strncmp(d->links.v[i], "/dev/disk/by-id/", 16))
			d->str[S_BY_ID] = d->links.v[i];
		else if (!strncmp(d->links.v[i], "/dev/disk/by-path/", 18))
			d->str[S_BY_PATH] = d->links.v[i];
	}
	return 0;
}

static int read_holders(struct blknotify_device *d, sd_device *sd)
{
	const char *syspath;
	struct dirent *de;
	char path[4096];
	DIR *dir;
	int err = 0;

	if (sd_device_get_syspath(sd, &syspath) < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/holders", syspath);
	if (!(dir = opendir(path)))
		return 0;
	while (!err && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			err = strv_push(&d->holders, de->d_name);
	closedir(dir);
	if (d->holders.n)
		qsort(d->holders.v, d->holders.n, sizeof(char *), cmp_str);
	return err;
}

/* What is on the device, from libblkid, when udev did not say. */
static int probe_fs(struct blknotify_device *d)
{
	static const struct { const char *key; enum dev_str s; } keys[] = {
		{ "TYPE", S_FS_TYPE }, { "UUID", S_FS_UUID }, { "LABEL", S_FS_LABEL },
	};
	blkid_probe pr;
	const char *v;
	int err = 0;

	if (d->str[S_FS_TYPE] || !d->str[S_DEVNAME])
		return 0;
	if (!(pr = blkid_new_probe_from_filename(d->str[S_DEVNAME])))
		return 0;	/* no node or no permission: identity without content */
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID |
					      BLKID_SUBLKS_LABEL);
	if (blkid_do_safeprobe(pr) == 0)
		for (size_t i = 0; !err && i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!blkid_probe_lookup_value(pr, keys[i].key, &v, NULL))
				err = set_trimmed(&d->str[keys[i].s], v);
	blkid_free_probe(pr);
	return err;
}

int device_find_mounts(dev_t dev, const char *devname, bool root_only,
		       int (*fn)(const char *target, void *arg), void *arg)
{
	struct libmnt_table *tb;
	struct libmnt_iter *it;
	struct libmnt_fs *fs;
	int err = 0;

	if (!(tb = mnt_new_table_from_file("/proc/self/mountinfo")))
		return -errno ?: -ENOENT;
	if (!(it = mnt_new_iter(MNT_ITER_FORWARD))) {
		mnt_unref_table(tb);
		return -ENOMEM;
	}
	while (!err && mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *src = mnt_fs_get_srcpath(fs), *root = mnt_fs_get_root(fs);

		/* btrfs mounts carry an anonymous device number: match the source too. */
		if (mnt_fs_get_devno(fs) != dev && !(devname && src && !strcmp(src, devname)))
			continue;
		if (root_only && (!root || strcmp(root, "/")))
			continue;
		err = fn(mnt_fs_get_target(fs), arg);
	}
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return err < 0 ? err : 0;
}

static int push_mount(const char *target, void *arg)
{
	return target ? strv_push(arg, target) : 0;
}

/*
 * Without udev, a SCSI disk's serial is the unit serial number page its
 * device exposes in sysfs (what udev's ID_SERIAL_SHORT is made from).
 */
static int read_vpd_serial(struct blknotify_device *d, sd_device *sd)
{
	unsigned char page[4 + 256];
	char serial[256], path[4096];
	const char *syspath;
	ssize_t n;
	int fd;

	if (d->str[S_SERIAL] || sd_device_get_syspath(sd, &syspath) < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/device/vpd_pg80", syspath);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, page, sizeof(page));
	close(fd);
	if (n <= 0 || bn_parse_vpd80(page, n, serial, sizeof(serial)))
		return 0;	/* no page, or not one to trust: no serial */
	if (!(d->str[S_SERIAL] = strdup(serial)) || !(d->str[S_SERIAL_SHORT] = strdup(serial)))
		return -ENOMEM;
	return 0;
}

static int fill_identity(struct blknotify_device *d, sd_device *sd)
{
	static const char *const model[] = { "device/model", NULL };
	static const char *const vendor[] = { "device/vendor", NULL };
	static const char *const serial[] = { "device/serial", "serial", NULL };
	static const char *const wwn[] = { "wwid", "device/wwid", NULL };
	uint64_t v;
	int err;

	if ((err = set_prop(sd, &d->str[S_MODEL], "ID_MODEL", model)) ||
	    (err = set_prop(sd, &d->str[S_VENDOR], "ID_VENDOR", vendor)) ||
	    (err = set_prop(sd, &d->str[S_SERIAL], "ID_SERIAL", serial)) ||
	    (err = set_prop(sd, &d->str[S_SERIAL_SHORT], "ID_SERIAL_SHORT", serial)) ||
	    (err = read_vpd_serial(d, sd)) ||
	    (err = set_prop(sd, &d->str[S_WWN], "ID_WWN", wwn)) ||
	    (err = set_prop(sd, &d->str[S_BUS], "ID_BUS", NULL)) ||
	    (err = set_prop(sd, &d->str[S_ID_PATH], "ID_PATH", NULL)))
		return err;
	if (!attr_u64(sd, "queue/rotational", &v)) {
		d->has_rotational = true;
		d->rotational = v != 0;
	}
	if (!attr_u64(sd, "diskseq", &d->diskseq))
		d->has_diskseq = true;
	return 0;
}

static struct blknotify_device *snapshot(sd_device *sd, const struct blknotify_device *disk,
					 bool probe);

static int cmp_part(const void *a, const void *b)
{
	const struct blknotify_device *x = *(struct blknotify_device *const *)a;
	const struct blknotify_device *y = *(struct blknotify_device *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int read_partitions(struct blknotify_device *d, sd_device *sd, bool probe)
{
	sd_device_enumerator *e = NULL;
	sd_device *child;
	int err;

	if ((err = sd_device_enumerator_new(&e)) < 0)
		return err;
	/* Without udev running nothing is "initialized": take sysfs as it is. */
	if ((err = sd_device_enumerator_allow_uninitialized(e)) < 0 ||
	    (err = sd_device_enumerator_add_match_parent(e, sd)) < 0 ||
	    (err = sd_device_enumerator_add_match_subsystem(e, "block", true)) < 0)
		goto out;
	for (child = sd_device_enumerator_get_device_first(e); child;
	     child = sd_device_enumerator_get_device_next(e)) {
		struct blknotify_device **parts, *p;
		const char *type;

		if (sd_device_get_devtype(child, &type) < 0 || strcmp(type, "partition"))
			continue;
		if (!(p = snapshot(child, d, probe))) {
			err = -errno;
			goto out;
		}
		if (!(parts = realloc(d->parts, (d->n_parts + 1) * sizeof(*parts)))) {
			blknotify_device_unref(p);
			err = -ENOMEM;
			goto out;
		}
		d->parts = parts;
		d->parts[d->n_parts++] = p;
	}
	if (d->n_parts)
		qsort(d->parts, d->n_parts, sizeof(*d->parts), cmp_part);
	err = 0;
out:
	sd_device_enumerator_unref(e);
	return err;
}

/*
 * Make a snapshot of sd; disk is the whole disk when sd is one of its
 * partitions.  probe: ask libblkid what udev did not say (reads the device).
 */
static struct blknotify_device *snapshot(sd_device *sd, const struct blknotify_device *disk,
					 bool probe)
{
	struct blknotify_device *d = calloc(1, sizeof(*d));
	sd_device *parent = NULL;
	const char *v;
	bool part;
	uint64_t n;
	int err;

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->n_ref = 1;
	d->udev = sd_device_get_is_initialized(sd) > 0;
	if ((err = sd_device_get_devnum(sd, &d->devnum)) < 0)
		goto fail;
	err = -ENOMEM;
	if (sd_device_get_sysname(sd, &v) >= 0 && !(d->str[S_SYSNAME] = strdup(v)))
		goto fail;
	if (sd_device_get_devname(sd, &v) >= 0 && !(d->str[S_DEVNAME] = strdup(v)))
		goto fail;
	if (!attr_u64(sd, "size", &n))
		d->size = n;
	part = sd_device_get_devtype(sd, &v) >= 0 && !strcmp(v, "partition");
	if (part) {
		if (attr_u64(sd, "partition", &n) || !n || n > UINT32_MAX ||
		    attr_u64(sd, "start", &d->start)) {
			err = -EIO;	/* sysfs without a partition's attributes */
			goto fail;
		}
		d->partno = (unsigned int)n;
	}
	if (part && disk) {
		d->diskseq = disk->diskseq;
		d->has_diskseq = disk->has_diskseq;
		d->rotational = disk->rotational;
		d->has_rotational = disk->has_rotational;
	} else if ((err = fill_identity(d, part && sd_device_get_parent(sd, &parent) >= 0 ?
					   parent : sd))) {
		goto fail;	/* a partition asked for itself: its disk's identity */
	}
	if ((err = set_prop(sd, &d->str[S_FS_TYPE], "ID_FS_TYPE", NULL)) ||
	    (err = set_prop(sd, &d->str[S_FS_UUID], "ID_FS_UUID", NULL)) ||
	    (err = set_prop(sd, &d->str[S_FS_LABEL], "ID_FS_LABEL", NULL)) ||
	    (err = read_links(d, sd)) || (err = read_holders(d, sd)) ||
	    (!part && (err = read_partitions(d, sd, probe))) ||
	    (probe && (err = probe_fs(d))) ||
	    (err = device_find_mounts(d->devnum, d->str[S_DEVNAME], false, push_mount, &d->mounts)))
		goto fail;
	return d;
fail:
	blknotify_device_unref(d);
	errno = -err;
	return NULL;
}

static int device_new(struct blknotify_device **ret, dev_t dev, bool probe)
{
	sd_device *sd = NULL;
	struct blknotify_device *d;
	int err;

	if (!ret)
		return -EINVAL;
	err = sd_device_new_from_devnum(&sd, 'b', dev);
	if (err < 0)
		return err == -ENOMEM ? err : -ENODEV;
	d = snapshot(sd, NULL, probe);
	sd_device_unref(sd);
	if (!d)
		return -errno;
	*ret = d;
	return 0;
}

int blknotify_device_new_from_devnum(struct blknotify_device **ret, dev_t dev)
{
	return device_new(ret, dev, true);
}

struct blknotify_device *blknotify_device_ref(struct blknotify_device *d)
{
	if (d)
		__atomic_add_fetch(&d->n_ref, 1, __ATOMIC_RELAXED);
	return d;
}

struct blknotify_device *blknotify_device_unref(struct blknotify_device *d)
{
	if (!d || __atomic_sub_fetch(&d->n_ref, 1, __ATOMIC_ACQ_REL))
		return NULL;
	for (size_t i = 0; i < d->n_parts; i++)
		blknotify_device_unref(d->parts[i]);
	free(d->parts);
	d->str[S_BY_ID] = d->str[S_BY_PATH] = NULL;	/* point into links */
	for (int i = 0; i < S__MAX; i++)
		free(d->str[i]);
	strv_done(&d->links);
	strv_done(&d->mounts);
	strv_done(&d->holders);
	free(d);
	return NULL;
}

static int get_str(const struct blknotify_device *d, enum dev_str s, const char **ret)
{
	if (!d || !ret)
		return -EINVAL;
	if (!d->str[s])
		return -ENOENT;
	*ret = d->str[s];
	return 0;
}

static int get_idx(const struct blknotify_device *d, const struct strv *l, unsigned int idx,
		   const char **ret)
{
	if (!d || !ret)
		return -EINVAL;
	if (idx >= l->n)
		return -ENOENT;
	*ret = l->v[idx];
	return 0;
}

#define STR_GETTER(name, s)							\
	int blknotify_device_get_##name(const struct blknotify_device *d, const char **ret) \
	{ return get_str(d, s, ret); }
STR_GETTER(sysname, S_SYSNAME)
STR_GETTER(devname, S_DEVNAME)
STR_GETTER(model, S_MODEL)
STR_GETTER(vendor, S_VENDOR)
STR_GETTER(serial, S_SERIAL)
STR_GETTER(serial_short, S_SERIAL_SHORT)
STR_GETTER(wwn, S_WWN)
STR_GETTER(bus, S_BUS)
STR_GETTER(id_path, S_ID_PATH)
STR_GETTER(by_id, S_BY_ID)
STR_GETTER(by_path, S_BY_PATH)
STR_GETTER(fs_type, S_FS_TYPE)
STR_GETTER(fs_uuid, S_FS_UUID)
STR_GETTER(fs_label, S_FS_LABEL)

int blknotify_device_get_link(const struct blknotify_device *d, unsigned int idx, const char **ret)
{
	return get_idx(d, d ? &d->links : NULL, idx, ret);
}

int blknotify_device_get_mount(const struct blknotify_device *d, unsigned int idx, const char **ret)
{
	return get_idx(d, d ? &d->mounts : NULL, idx, ret);
}

int blknotify_device_get_holder(const struct blknotify_device *d, unsigned int idx,
				const char **ret)
{
	return get_idx(d, d ? &d->holders : NULL, idx, ret);
}

bool blknotify_device_has_udev_data(const struct blknotify_device *d)
{
	return d && d->udev;
}

/* A value getter: -EINVAL for NULL, -ENOENT when present is false. */
#define VALUE_GETTER(name, type, present, value)				\
	int blknotify_device_get_##name(const struct blknotify_device *d, type *ret) \
	{									\
		if (!d || !ret)							\
			return -EINVAL;						\
		if (!(present))							\
			return -ENOENT;						\
		*ret = (value);							\
		return 0;							\
	}
VALUE_GETTER(devnum, dev_t, true, d->devnum)
VALUE_GETTER(rotational, bool, d->has_rotational, d->rotational)
VALUE_GETTER(diskseq, uint64_t, d->has_diskseq, d->diskseq)
VALUE_GETTER(size, uint64_t, true, d->size)
VALUE_GETTER(partition_number, unsigned int, d->partno, d->partno)
VALUE_GETTER(partition_start, uint64_t, d->partno, d->start)

int blknotify_device_locate(const struct blknotify_device *d, uint64_t sector,
			    struct blknotify_device **ret_dev, uint64_t *ret_offset)
{
	size_t lo = 0, hi;

	if (!d || !ret_dev || !ret_offset || d->partno || (d->size && sector >= d->size))
		return -EINVAL;
	/* Partitions do not overlap: the last one starting at or before sector. */
	for (hi = d->n_parts; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->parts[mid]->start <= sector)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && sector - d->parts[lo - 1]->start < d->parts[lo - 1]->size) {
		*ret_dev = blknotify_device_ref(d->parts[lo - 1]);
		*ret_offset = sector - d->parts[lo - 1]->start;
	} else {
		*ret_dev = blknotify_device_ref((struct blknotify_device *)d);
		*ret_offset = sector;
	}
	return 0;
}

/*
 * The cache.  Entries live in a small array searched linearly (the bound
 * is at most BLKNOTIFY_DEVICE_CACHE_SIZE_MAX; a storm hits one or a few
 * devices); the least recently used one is evicted when it is full.
 */
struct cache_entry {
	dev_t dev;
	int seq_fd;		/* /sys/dev/block/M:m/diskseq of the disk snapshotted, or -1 */
	struct blknotify_device *d;
	uint64_t used;		/* tick of the last get */
	uint64_t mount_gen;	/* the cache's mount generation when made */
};

struct blknotify_device_cache {
	struct cache_entry *e;
	unsigned int n, max;
	uint64_t tick, mount_gen;
	uint64_t mounts_checked_ns;	/* CLOCK_MONOTONIC_COARSE of the last poll() */
	int mountinfo_fd;	/* POLLPRI when this namespace's mount table changes */
	bool probe;		/* not BLKNOTIFY_DEVICE_CACHE_NO_PROBE */
	struct blknotify_device_cache_stats st;
};

int blknotify_device_cache_new(struct blknotify_device_cache **ret,
			       const struct blknotify_device_cache_opts *opts)
{
	struct blknotify_device_cache *c;
	unsigned int max = BLKNOTIFY_DEVICE_CACHE_SIZE_DEFAULT;

	if (!ret)
		return -EINVAL;
	if (opts && !opts_valid(opts, OPTS_KNOWN(blknotify_device_cache_opts,
						  blknotify_device_cache_opts__last_field)))
		return -EINVAL;
	if (opts && opts->sz >= OPTS_KNOWN(blknotify_device_cache_opts, max_entries) &&
	    opts->max_entries) {
		if (opts->max_entries > BLKNOTIFY_DEVICE_CACHE_SIZE_MAX)
			return -EINVAL;
		max = opts->max_entries;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->e = calloc(max, sizeof(*c->e)))) {
		free(c);
		return -ENOMEM;
	}
	c->max = c->st.max_entries = max;
	c->probe = !(opts && opts->sz >= OPTS_KNOWN(blknotify_device_cache_opts, flags) &&
		     (opts->flags & BLKNOTIFY_DEVICE_CACHE_NO_PROBE));
	c->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	*ret = c;
	return 0;
}

static void cache_drop(struct blknotify_device_cache *c, unsigned int i)
{
	blknotify_device_unref(c->e[i].d);
	if (c->e[i].seq_fd >= 0)
		close(c->e[i].seq_fd);
	c->e[i] = c->e[--c->n];
}

struct blknotify_device_cache *blknotify_device_cache_free(struct blknotify_device_cache *c)
{
	if (!c)
		return NULL;
	while (c->n)
		cache_drop(c, c->n - 1);
	if (c->mountinfo_fd >= 0)
		close(c->mountinfo_fd);
	free(c->e);
	free(c);
	return NULL;
}


/* The number in a sysfs attribute kept open: read again from its start. */
static int read_u64_fd(int fd, uint64_t *ret)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	__u64 v;
	int err;

	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	if (buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	if ((err = bn_parse_u64(buf, &v)))
		return err;
	*ret = v;
	return 0;
}

static int open_diskseq(dev_t dev)
{
	char path[64];

	if (bn_sysfs_dev_path(path, sizeof(path), dev, "diskseq"))
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

/*
 * Is the cached snapshot still the device that has this number?  The entry
 * keeps the disk's diskseq attribute open: one pread() per hit, and a disk
 * that went away (even if its number came back) fails the read with ENODEV
 * because the attribute belongs to the old disk.
 */
static bool entry_current(const struct blknotify_device_cache *c, const struct cache_entry *e)
{
	uint64_t seq = 0;

	if (e->mount_gen != c->mount_gen)
		return false;
	if (!e->d->has_diskseq)
		return true;	/* before 5.15: only invalidate calls refresh it */
	return e->seq_fd >= 0 && read_u64_fd(e->seq_fd, &seq) == 0 && seq == e->d->diskseq;
}

/*
 * Has this namespace's mount table changed?  Asked at most every
 * MOUNT_CHECK_NS, so that a storm's hits cost only the diskseq read (the
 * coarse clock is read in the vDSO, without a system call).
 */
#define MOUNT_CHECK_NS	(100ULL * 1000000ULL)
static void cache_check_mounts(struct blknotify_device_cache *c)
{
	struct pollfd pfd = { .fd = c->mountinfo_fd, .events = POLLPRI };
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (c->mountinfo_fd < 0 || now - c->mounts_checked_ns < MOUNT_CHECK_NS)
		return;
	c->mounts_checked_ns = now;
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLPRI | POLLERR)))
		c->mount_gen++;
}

int blknotify_device_cache_get(struct blknotify_device_cache *c, dev_t dev,
			       struct blknotify_device **ret)
{
	struct blknotify_device *d;
	unsigned int i, lru = 0;
	bool refresh = false;
	int err, seq_fd;

	if (!c || !ret)
		return -EINVAL;
	c->st.lookups++;
	c->tick++;
	cache_check_mounts(c);
	for (i = 0; i < c->n && c->e[i].dev != dev; i++)
		;
	if (i < c->n) {
		if (entry_current(c, &c->e[i])) {
			c->st.hits++;
			c->e[i].used = c->tick;
			*ret = blknotify_device_ref(c->e[i].d);
			return 0;
		}
		cache_drop(c, i);
		refresh = true;
	}
	/* The attribute first: a disk replaced after it was opened is seen at the next get. */
	seq_fd = open_diskseq(dev);
	err = device_new(&d, dev, c->probe);
	if (err) {
		if (seq_fd >= 0)
			close(seq_fd);
		c->st.errors++;
		return err;
	}
	c->st.misses++;
	c->st.refreshes += refresh;
	if (c->n == c->max) {
		for (i = 1; i < c->n; i++)
			if (c->e[i].used < c->e[lru].used)
				lru = i;
		cache_drop(c, lru);
		c->st.evictions++;
	}
	c->e[c->n++] = (struct cache_entry){ .dev = dev, .seq_fd = seq_fd, .d = d,
					     .used = c->tick, .mount_gen = c->mount_gen };
	*ret = blknotify_device_ref(d);
	return 0;
}

int blknotify_device_cache_invalidate(struct blknotify_device_cache *c, dev_t dev)
{
	if (!c)
		return -EINVAL;
	for (unsigned int i = c->n; i-- > 0;)
		if (!dev || c->e[i].dev == dev) {
			cache_drop(c, i);
			c->st.refreshes++;
		}
	return 0;
}

int blknotify_device_cache_get_stats(const struct blknotify_device_cache *c,
				     struct blknotify_device_cache_stats *st)
{
	struct blknotify_device_cache_stats s;
	size_t sz;

	if (!c || !st || st->sz < sizeof(size_t))
		return -EINVAL;
	sz = st->sz < sizeof(s) ? st->sz : sizeof(s);
	s = c->st;
	s.entries = c->n;
	s.sz = sz;
	memcpy(st, &s, sz);
	return 0;
}
