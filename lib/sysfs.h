/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading block devices' sysfs attributes, with one validation for all:
 * the library (a partition's disk and sector range for a watch, a disk's
 * number for a kmsg line) and blknotifyd's access policy.  sysfs content
 * crosses a trust boundary (a value may be cut short, or a device may go
 * away between two reads): a value that is not exactly what the kernel
 * writes is refused, never half-used.
 */
#ifndef BLKNOTIFY_SYSFS_H
#define BLKNOTIFY_SYSFS_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/*
 * The whole value of the attribute at path, NUL-terminated, its trailing
 * newline removed.  Returns 0, -errno from open()/read(), -EIO for an
 * empty value, -EFBIG when it does not fit in len - 1 bytes.
 */
int bn_sysfs_read(const char *path, char *buf, size_t len);

/* A decimal number ("4096\n"); -EINVAL for anything else. */
int bn_sysfs_read_u64(const char *path, __u64 *val);

/* A decimal number, digits only (no sign, blank or newline); -EINVAL for
 * anything else, an empty string and a value past UINT64_MAX included. */
int bn_parse_u64(const char *s, __u64 *val);

/*
 * The unit serial number in a SCSI VPD page 0x80 as sysfs shows it
 * (device/vpd_pg80: a 4-byte header, the page code 0x80, a big-endian
 * length, then the serial in ASCII, padded with blanks), without its
 * padding, NUL-terminated in out.  Returns 0; -EINVAL for another page, a
 * length past the data, a byte that is not printable ASCII or an empty
 * serial; -EFBIG when it does not fit in outlen - 1 bytes.
 */
int bn_parse_vpd80(const unsigned char *page, size_t len, char *out, size_t outlen);

/* A device number ("MAJOR:MINOR\n", as in "dev"); -EINVAL for anything else. */
int bn_sysfs_read_devnum(const char *path, dev_t *dev);

/*
 * "/sys/dev/block/MAJOR:MINOR" of dev, with "/attr" appended when attr is
 * not NULL.  Returns 0 or -ENAMETOOLONG.
 */
int bn_sysfs_dev_path(char *buf, size_t len, dev_t dev, const char *attr);

/*
 * Where block device dev's sectors are: a whole disk is itself, sectors
 * [0, UINT64_MAX); a partition is [start, start + size) of its disk.
 * Returns 0, -ENODEV when there is no such block device (or it went away
 * while being read).
 */
int bn_block_extent(dev_t dev, dev_t *disk, __u64 *start, __u64 *end);

#endif /* BLKNOTIFY_SYSFS_H */
