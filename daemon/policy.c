// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "policy.h"
#include "sysfs.h"

bool peer_in_group(const struct peer *p, gid_t gid)
{
	unsigned int i;

	if (p->gid == gid)
		return true;
	for (i = 0; i < p->nr_groups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

int peer_get(int fd, const struct daemon_config *c, struct peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	unsigned int i;

	memset(p, 0, sizeof(*p));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	p->pid = uc.pid;
	p->uid = uc.uid;
	p->gid = uc.gid;
	/* Supplementary groups as they were at connect (Linux 4.13+). */
	len = sizeof(p->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == 0)
		p->nr_groups = len / sizeof(gid_t);
	else if (errno == ERANGE)
		p->nr_groups = 0;	/* over PEER_GROUPS_MAX: fewer rights, never more */
	else if (errno != ENOPROTOOPT)
		return -errno;
	p->privileged = p->uid == 0;
	for (i = 0; i < c->nr_privileged_gids && !p->privileged; i++)
		p->privileged = peer_in_group(p, c->privileged_gids[i]);
	return 0;
}

bool policy_mode_allows_read(const struct peer *p, uid_t owner, gid_t group, mode_t mode)
{
	/* The first class that applies decides, as in the kernel's generic_permission(). */
	if (p->uid == owner)
		return mode & S_IRUSR;
	if (peer_in_group(p, group))
		return mode & S_IRGRP;
	return mode & S_IROTH;
}

/*
 * The device node of a block device, from the kernel's DEVNAME in sysfs
 * (devtmpfs names nodes that way); it must be a block node of that number.
 */
static int find_node(const char *sysdir, dev_t dev, char *node, size_t len, struct stat *st)
{
	char path[PATH_MAX], buf[4096], *p, *save = NULL;

	snprintf(path, sizeof(path), "%s/uevent", sysdir);
	if (bn_sysfs_read(path, buf, sizeof(buf)) == 0) {
		for (p = strtok_r(buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
			if (strncmp(p, "DEVNAME=", 8) || strstr(p + 8, ".."))
				continue;
			snprintf(node, len, "/dev/%s", p + 8);
			if (stat(node, st) == 0 && S_ISBLK(st->st_mode) && st->st_rdev == dev)
				return 0;
		}
	}
	snprintf(node, len, "/dev/block/%u:%u", major(dev), minor(dev));
	if (stat(node, st) == 0 && S_ISBLK(st->st_mode) && st->st_rdev == dev)
		return 0;
	return -ENOENT;
}

static bool node_readable(const struct peer *p, const char *sysdir, dev_t dev,
			  char *node, size_t node_len, struct stat *st)
{
	if (find_node(sysdir, dev, node, node_len, st) < 0) {
		memset(st, 0, sizeof(*st));
		snprintf(node, node_len, "(no device node for %u:%u)", major(dev), minor(dev));
		return false;
	}
	return policy_mode_allows_read(p, st->st_uid, st->st_gid, st->st_mode);
}

/* A partition of the disk at sysdir, readable by the peer, that contains [start, end). */
static bool partition_allows(const struct peer *p, const char *sysdir, __u64 start, __u64 end)
{
	char path[PATH_MAX], node[PATH_MAX];
	__u64 pstart, psize;
	dev_t pdev;
	struct dirent *de;
	bool ok = false;
	struct stat st;
	DIR *d;

	d = opendir(sysdir);
	if (!d)
		return false;
	while (!ok && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > NAME_MAX)
			continue;
		snprintf(path, sizeof(path), "%s/%s/partition", sysdir, de->d_name);
		if (access(path, F_OK))
			continue;
		snprintf(path, sizeof(path), "%s/%s/start", sysdir, de->d_name);
		if (bn_sysfs_read_u64(path, &pstart))
			continue;
		snprintf(path, sizeof(path), "%s/%s/size", sysdir, de->d_name);
		if (bn_sysfs_read_u64(path, &psize))
			continue;
		if (start < pstart || end > pstart + psize)
			continue;
		snprintf(path, sizeof(path), "%s/%s/dev", sysdir, de->d_name);
		if (bn_sysfs_read_devnum(path, &pdev))
			continue;
		snprintf(path, sizeof(path), "%s/%s", sysdir, de->d_name);
		ok = node_readable(p, path, pdev, node, sizeof(node), &st);
	}
	closedir(d);
	return ok;
}

int policy_check_watch(const struct daemon_config *c, const struct peer *p,
		       const struct bnd_add_watch *w, char *why, size_t why_len)
{
	char sysdir[64], path[PATH_MAX], node[PATH_MAX];
	unsigned int maj = major(w->dev), min = minor(w->dev);
	const char *groups = c->nr_privileged_gids ? c->privileged_groups : "(none configured)";
	struct stat st = { 0 };

	if (!w->dev) {
		if (p->privileged)
			return 0;
		snprintf(why, why_len,
			 "watching every device needs root or membership in privileged_groups (%s); "
			 "watch a device whose node you can read instead", groups);
		return -EACCES;
	}
	snprintf(sysdir, sizeof(sysdir), "/sys/dev/block/%u:%u", maj, min);
	if (access(sysdir, F_OK)) {
		snprintf(why, why_len, "no block device %u:%u", maj, min);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "%s/partition", sysdir);
	if (!access(path, F_OK)) {
		snprintf(why, why_len, "%u:%u is a partition; watch its disk with the partition's sector range",
			 maj, min);
		return -EINVAL;
	}
	if (p->privileged)
		return 0;
	if (c->device_access == DEVICE_ACCESS_NONE) {
		snprintf(why, why_len, "device_access is \"none\": only root and members of "
			 "privileged_groups (%s) may watch devices", groups);
		return -EACCES;
	}
	if (node_readable(p, sysdir, w->dev, node, sizeof(node), &st))
		return 0;
	if ((w->start || w->end != ~0ULL) && partition_allows(p, sysdir, w->start, w->end))
		return 0;
	if (S_ISBLK(st.st_mode) && !w->start && w->end == ~0ULL)
		snprintf(why, why_len,
			 "uid %u may not read %s (mode %04o, owner %u, group %u); get read access "
			 "to it, or membership in %s", p->uid, node, st.st_mode & 07777, st.st_uid,
			 st.st_gid, groups);
	else if (S_ISBLK(st.st_mode))
		snprintf(why, why_len,
			 "uid %u may not read %s (mode %04o, owner %u, group %u) nor a partition "
			 "holding sectors %llu..%llu; get read access to one, or membership in %s",
			 p->uid, node, st.st_mode & 07777, st.st_uid, st.st_gid,
			 (unsigned long long)w->start, (unsigned long long)w->end - 1, groups);
	else
		snprintf(why, why_len, "%s; only root and members of %s may watch %u:%u",
			 node, groups, maj, min);
	return -EACCES;
}
