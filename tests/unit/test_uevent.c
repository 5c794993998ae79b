// SPDX-License-Identifier: LGPL-2.1-or-later
/* The uevent parser (lib/uevent-parse.c) on messages as the kernel sends them, and broken ones. */
#include <errno.h>
#include "../harness.h"
#include "uevent-parse.h"

#define MSG(s) s, sizeof(s) - 1	/* the message without the string's own NUL */

TEST(add_of_a_disk)
{
	struct uevent ev;

	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/devices/virtual/block/loop200\0ACTION=add\0"
		"DEVPATH=/devices/virtual/block/loop200\0SUBSYSTEM=block\0MAJOR=7\0MINOR=200\0"
		"DEVNAME=loop200\0DEVTYPE=disk\0DISKSEQ=51\0SEQNUM=5000\0"), &ev), 0);
	ASSERT_EQ(ev.action, UEVENT_ADD);
	ASSERT_TRUE(ev.block_disk);
	ASSERT_TRUE(ev.have_devnum);
	ASSERT_EQ(ev.major, 7);
	ASSERT_EQ(ev.minor, 200);
	ASSERT_EQ(ev.disk_ro, -1);
	ASSERT_FALSE(ev.resize);
	ASSERT_EQ(ev.seqnum, 5000);
}

TEST(change_keys)
{
	struct uevent ev;

	ASSERT_EQ(lifecycle_parse_uevent(MSG("change@/block/sdb\0ACTION=change\0SUBSYSTEM=block\0"
		"DEVTYPE=disk\0MAJOR=8\0MINOR=16\0DISK_RO=0\0RESIZE=1\0DISK_MEDIA_CHANGE=1\0"), &ev), 0);
	ASSERT_EQ(ev.action, UEVENT_CHANGE);
	ASSERT_EQ(ev.disk_ro, 0);
	ASSERT_TRUE(ev.resize);
	ASSERT_TRUE(ev.media_change);
	ASSERT_EQ(lifecycle_parse_uevent(MSG("change@/block/sdb\0ACTION=change\0DISK_RO=1\0"), &ev), 0);
	ASSERT_EQ(ev.disk_ro, 1);
	ASSERT_FALSE(ev.block_disk);	/* no SUBSYSTEM, no DEVTYPE */
	ASSERT_EQ(lifecycle_parse_uevent(MSG("change@/block/sdb\0DISK_RO=yes\0"), &ev), 0);
	ASSERT_EQ(ev.disk_ro, -1);
}

/* A partition, another subsystem: parsed, but not a disk's. */
TEST(not_a_disk)
{
	struct uevent ev;

	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/block/sda/sda1\0ACTION=add\0SUBSYSTEM=block\0"
		"DEVTYPE=partition\0MAJOR=8\0MINOR=1\0"), &ev), 0);
	ASSERT_FALSE(ev.block_disk);
	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/net/eth0\0ACTION=add\0SUBSYSTEM=net\0"
		"DEVTYPE=disk\0"), &ev), 0);
	ASSERT_FALSE(ev.block_disk);
}

TEST(bad_messages)
{
	struct uevent ev;

	ASSERT_EQ(lifecycle_parse_uevent(MSG(""), &ev), -EINVAL);
	ASSERT_EQ(lifecycle_parse_uevent(MSG("libudev\0ACTION=add\0"), &ev), -EINVAL);	/* udev's group */
	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/x"), &ev), -EINVAL);	/* header without its NUL */
	ASSERT_FALSE(ev.have_devnum);
	/* Numbers out of range or not numbers: no device number. */
	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/x\0MAJOR=4096\0MINOR=1\0"), &ev), 0);
	ASSERT_FALSE(ev.have_devnum);
	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/x\0MAJOR=8\0MINOR=-1\0"), &ev), 0);
	ASSERT_FALSE(ev.have_devnum);
	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/x\0MAJOR=8\0MINOR=\0"), &ev), 0);
	ASSERT_FALSE(ev.have_devnum);
	/* The last value without its NUL is still read within len only. */
	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/x\0ACTION=add\0MAJOR=8\0MINOR=12"), &ev), 0);
	ASSERT_TRUE(ev.have_devnum);
	ASSERT_EQ(ev.minor, 12);
	ASSERT_EQ(lifecycle_parse_uevent("add@/x\0MINOR=123", 14, &ev), 0);	/* cut: "MINOR=1" */
	ASSERT_EQ(ev.minor, 1);
	/* "ACTIONX=add" is not ACTION. */
	ASSERT_EQ(lifecycle_parse_uevent(MSG("add@/x\0ACTIONX=add\0"), &ev), 0);
	ASSERT_EQ(ev.action, UEVENT_OTHER);
}
