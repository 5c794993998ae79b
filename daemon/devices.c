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

int device_diskseq(__u64 dev, __u64 *seq)
{
	char path[64], buf[32], *end;
	ssize_t n;
	int fd;

	*seq = 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	if (access(path, F_OK))
		return -ENODEV;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/diskseq", major(dev), minor(dev));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;	/* before Linux 5.15: none */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	errno = 0;
	*seq = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n')) {
		*seq = 0;
		return -EIO;
	}
	return 0;
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
