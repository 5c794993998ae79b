// SPDX-License-Identifier: LGPL-2.1-or-later
/* Parsing the kernel's uevent messages: see uevent-parse.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sysfs.h"
#include "uevent-parse.h"

static bool key_is(const char *s, size_t n, const char *key, const char **val, size_t *vlen)
{
	size_t k = strlen(key);

	if (n <= k || memcmp(s, key, k) || s[k] != '=')
		return false;
	*val = s + k + 1;
	*vlen = n - k - 1;
	return true;
}

static bool val_is(const char *v, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(v, want, n);
}

static int val_u64(const char *v, size_t n, __u64 max, __u64 *out)
{
	char tmp[24];

	if (!n || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (bn_parse_u64(tmp, out) || *out > max)
		return -EINVAL;
	return 0;
}

int lifecycle_parse_uevent(const char *buf, size_t len, struct uevent *ev)
{
	bool have_major = false, have_minor = false, subsys_block = false, type_disk = false;
	const char *p = buf, *end = buf + len, *v;
	size_t n, vlen;
	__u64 x;

	memset(ev, 0, sizeof(*ev));
	ev->disk_ro = -1;
	/* The header: "ACTION@DEVPATH". */
	n = strnlen(p, len);
	if (!n || n == len || !memchr(p, '@', n))
		return -EINVAL;
	for (p += n + 1; p < end; p += n + 1) {
		n = strnlen(p, (size_t)(end - p));
		if (key_is(p, n, "ACTION", &v, &vlen)) {
			ev->action = val_is(v, vlen, "add") ? UEVENT_ADD :
				     val_is(v, vlen, "remove") ? UEVENT_REMOVE :
				     val_is(v, vlen, "change") ? UEVENT_CHANGE : UEVENT_OTHER;
		} else if (key_is(p, n, "SUBSYSTEM", &v, &vlen)) {
			subsys_block = val_is(v, vlen, "block");
		} else if (key_is(p, n, "DEVTYPE", &v, &vlen)) {
			type_disk = val_is(v, vlen, "disk");
		} else if (key_is(p, n, "MAJOR", &v, &vlen)) {
			have_major = !val_u64(v, vlen, 0xfff, &x);
			ev->major = have_major ? (__u32)x : 0;
		} else if (key_is(p, n, "MINOR", &v, &vlen)) {
			have_minor = !val_u64(v, vlen, 0xfffff, &x);
			ev->minor = have_minor ? (__u32)x : 0;
		} else if (key_is(p, n, "DISK_RO", &v, &vlen)) {
			ev->disk_ro = val_is(v, vlen, "1") ? 1 : val_is(v, vlen, "0") ? 0 : -1;
		} else if (key_is(p, n, "RESIZE", &v, &vlen)) {
			ev->resize = val_is(v, vlen, "1");
		} else if (key_is(p, n, "DISK_MEDIA_CHANGE", &v, &vlen)) {
			ev->media_change = val_is(v, vlen, "1");
		} else if (key_is(p, n, "SEQNUM", &v, &vlen)) {
			if (val_u64(v, vlen, UINT64_MAX, &ev->seqnum))
				ev->seqnum = 0;
		}
	}
	ev->block_disk = subsys_block && type_disk;
	ev->have_devnum = have_major && have_minor;
	return 0;
}

