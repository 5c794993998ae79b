/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lifecycle records the kernel sends no uevent for, posted from the kernel
 * into the same ring as the errors (included at the end of blknotify.bpf.c,
 * whose config map, bound and loss accounting they share).  The rest of
 * the lifecycle records come from uevents (lib/lifecycle.c).
 *
 * - NOTIFY_BLOCK_DEVICE_DEAD: fentry on blk_mark_disk_dead(), which drivers
 *   call on surprise removal (NVMe controller gone, SCSI device deleted or
 *   unplugged with I/O outstanding, virtio/xen/mtd going away), never on an
 *   orderly del_gendisk() (that calls the internal __blk_mark_disk_dead()).
 *   Posted when it is called, so in order with the errors of the I/O it
 *   fails from then on.
 * - NOTIFY_BLOCK_READ_ONLY_SET / _CLEARED from BLKROSET (blockdev --setro,
 *   --setrw) on a whole disk: fentry and fexit on blkdev_ioctl() (the ioctl
 *   path, never the I/O path), posted when the ioctl succeeded and changed
 *   what /sys/block/X/ro says.  set_disk_ro() (a driver, loop -r) sends a
 *   DISK_RO uevent instead.
 *
 * Each program is loaded only when the running kernel's BTF has its
 * function (lib/source-bpf.c, lifecycle_hooks()); otherwise that record is
 * not available and the library says so once.
 */
#ifndef BLKNOTIFY_LIFECYCLE_BPF_H
#define BLKNOTIFY_LIFECYCLE_BPF_H

#define LC_RECORD_SIZE	BLOCK_NOTIFICATION_SIZE_V2
#define LC_RECORD_SLOT	(8 + LC_RECORD_SIZE)
#define LC_BLKROSET	0x125d	/* _IO(0x12, 93), <linux/fs.h> */
#define LC_GD_READ_ONLY	1	/* bit of gendisk.state, <linux/blkdev.h> since 5.12 */
#define LC_BD_READ_ONLY	(1U << 8)	/* bit of block_device.__bd_flags since 6.11 */

struct block_device {
	__u32 bd_dev;
	struct gendisk *bd_disk;
} __attribute__((preserve_access_index));

struct gendisk {
	struct block_device *part0;
	unsigned long state;
} __attribute__((preserve_access_index));

/* Before 6.11: a bool of its own. */
struct block_device___old {
	_Bool bd_read_only;
} __attribute__((preserve_access_index));

/* Since 6.11 (commit 01e198f01d55, "bdev: move ->bd_read_only to ->__bd_flags"). */
struct block_device___new {
	struct { int counter; } __bd_flags;
} __attribute__((preserve_access_index));

struct bdev_inode___lc {
	struct inode___lc { int __x; } vfs_inode;
} __attribute__((preserve_access_index));

struct address_space___lc {
	struct inode___lc *host;
} __attribute__((preserve_access_index));

struct file___lc {
	struct address_space___lc *f_mapping;
} __attribute__((preserve_access_index));

/* BLKROSET in progress: the disk's read-only state before it, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u32);
} lc_roset SEC(".maps");

/* A lifecycle record for every watch that takes it, as handle() does for errors. */
static __always_inline void lc_post(__u32 subtype, __u32 kdev)
{
	struct block_notification ev = {};
	const struct bn_config *cfg;
	__u32 zero = 0, i;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return;
	ev.watch.type = WATCH_TYPE_BLOCK_NOTIFY;
	ev.watch.subtype = subtype;
	ev.dev = bn_dev_from_kernel(kdev);
	ev.time_ns = bpf_ktime_get_ns();
	for (i = 0; i < BN_WATCHES_MAX; i++) {
		struct block_notification *r;
		__u32 info;

		ev.watch.info = LC_RECORD_SIZE;
		if (!bn_watch_takes(cfg, i, &ev, &info))
			continue;
		ev.watch.info = info;
		if (flush_loss() || !have_room(LC_RECORD_SLOT)) {
			lose();
			continue;
		}
		r = bpf_ringbuf_reserve(&events, LC_RECORD_SIZE, 0);
		if (!r) {
			lose();
			continue;
		}
		__builtin_memcpy(r, &ev, LC_RECORD_SIZE);
		bpf_ringbuf_submit(r, submit_flags());
		__sync_fetch_and_add(&counters.queued, 1);
	}
}

SEC("fentry/blk_mark_disk_dead")
int lc_disk_dead(unsigned long long *ctx)
{
	struct gendisk *disk = (void *)ctx[0];

	lc_post(NOTIFY_BLOCK_DEVICE_DEAD, BPF_CORE_READ(disk, part0, bd_dev));
	return 0;
}

static __always_inline struct block_device *lc_file_bdev(unsigned long long *ctx)
{
	struct file___lc *file = (void *)ctx[0];
	void *inode = BPF_CORE_READ(file, f_mapping, host);

	/* I_BDEV(): the block device is the first member of its bdev_inode. */
	return inode ? (void *)((char *)inode - bpf_core_field_offset(struct bdev_inode___lc,
								      vfs_inode)) : NULL;
}

/* What /sys/block/X/ro says of the disk bdev is the whole of; -1: not a whole disk. */
static __always_inline int lc_disk_ro(struct block_device *bdev)
{
	struct gendisk *disk = BPF_CORE_READ(bdev, bd_disk);
	int ro;

	if (!disk || BPF_CORE_READ(disk, part0) != bdev)
		return -1;
	if (bpf_core_field_exists(struct block_device___new, __bd_flags)) {
		struct block_device___new *b = (void *)bdev;

		ro = !!(BPF_CORE_READ(b, __bd_flags.counter) & LC_BD_READ_ONLY);
	} else {
		struct block_device___old *b = (void *)bdev;

		ro = BPF_CORE_READ(b, bd_read_only);
	}
	return ro || (BPF_CORE_READ(disk, state) >> LC_GD_READ_ONLY & 1);
}

SEC("fentry/blkdev_ioctl")
int lc_roset_entry(unsigned long long *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct block_device *bdev;
	__u32 ro;
	int r;

	if ((__u32)ctx[1] != LC_BLKROSET)
		return 0;
	bdev = lc_file_bdev(ctx);
	r = bdev ? lc_disk_ro(bdev) : -1;
	if (r < 0)
		return 0;
	ro = r;
	if (bpf_map_update_elem(&lc_roset, &tid, &ro, BPF_ANY))
		lose();		/* 64 BLKROSETs at once: this one's change is not known */
	return 0;
}

SEC("fexit/blkdev_ioctl")
int lc_roset_exit(unsigned long long *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct block_device *bdev;
	__u32 *was;
	int now;

	if ((__u32)ctx[1] != LC_BLKROSET)
		return 0;
	was = bpf_map_lookup_elem(&lc_roset, &tid);
	if (!was)
		return 0;
	bdev = lc_file_bdev(ctx);
	now = bdev && (long)ctx[3] == 0 ? lc_disk_ro(bdev) : -1;
	if (now >= 0 && (__u32)now != *was)
		lc_post(now ? NOTIFY_BLOCK_READ_ONLY_SET : NOTIFY_BLOCK_READ_ONLY_CLEARED,
			BPF_CORE_READ(bdev, bd_dev));
	bpf_map_delete_elem(&lc_roset, &tid);
	return 0;
}

#endif /* BLKNOTIFY_LIFECYCLE_BPF_H */
