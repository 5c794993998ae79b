// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "clients.h"
#include "devices.h"
#include "log.h"
#include "sysfs.h"
#include "upstream.h"

int device_diskseq(__u64 dev, __u64 *seq)
{
	char path[64];
	int r;

	*seq = 0;
	if (bn_sysfs_dev_path(path, sizeof(path), dev, NULL) || access(path, F_OK))
		return -ENODEV;
	if (bn_sysfs_dev_path(path, sizeof(path), dev, "diskseq"))
		return -ENODEV;
	r = bn_sysfs_read_u64(path, seq);
	if (r == -ENOENT)
		return 0;	/* before Linux 5.15: none */
	if (r < 0)
		*seq = 0;
	return r;
}

void devices_forget(struct manager *m)
{
	m->nr_devcache = 0;
}

static int cached_diskseq(struct manager *m, __u64 dev, __u64 *seq)
{
	unsigned int i;
	int r;

	for (i = 0; i < m->nr_devcache; i++) {
		if (m->devcache[i].dev == dev) {
			*seq = m->devcache[i].seq;
			return m->devcache[i].err;
		}
	}
	r = device_diskseq(dev, seq);
	if (m->nr_devcache < sizeof(m->devcache) / sizeof(m->devcache[0])) {
		m->devcache[m->nr_devcache].dev = dev;
		m->devcache[m->nr_devcache].seq = *seq;
		m->devcache[m->nr_devcache++].err = r;
	}
	return r;
}

bool device_watch_valid(struct manager *m, struct client *c, unsigned int j)
{
	const struct bn_watch *w = &c->cfg.watches[j];
	unsigned int maj = major(w->dev), min = minor(w->dev);
	__u64 seq;
	int r;

	/* Root and privileged_groups may watch any disk; every-device watches have none. */
	if (c->peer.privileged || !w->dev)
		return true;
	r = cached_diskseq(m, w->dev, &seq);
	if (r == -ENODEV && upstream_lifecycle(m))
		return true;	/* its records, then its removal record, which ends it */
	if (r == -ENODEV) {
		client_end_watch(m, c, j, -ENODEV, "disk %u:%u went away", maj, min);
		return false;
	}
	if (r < 0 || !c->diskseq[j] || seq == c->diskseq[j])
		return true;	/* unreadable (already checked at ADD_WATCH), or the same disk */
	client_end_watch(m, c, j, -ESTALE, "%u:%u is another disk now (diskseq %llu, was %llu)",
			 maj, min, (unsigned long long)seq, (unsigned long long)c->diskseq[j]);
	return false;
}

void devices_check(struct manager *m)
{
	unsigned int i, j;

	devices_forget(m);
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		struct client *c = m->clients[i];

		for (j = 0; c && j < BN_WATCHES_MAX; j++)
			if (c->cfg.watches[j].active)
				device_watch_valid(m, c, j);
	}
}
