// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * GET_IMPACT (docs/protocol.md).  Identity needs no privilege (sysfs and
 * udev's database are world-readable, so a client looks it up itself); the
 * names of the files on a disk do: the daemon's walk runs as root and sees
 * every directory.  So only this is asked of the daemon, and it answers
 * only a client that may watch the range (the watch policy) and that the
 * file_names setting gives file names.
 */
#include <errno.h>
#include <sys/sysmacros.h>
#include <blknotify/device.h>
#include "clients.h"
#include "impact.h"
#include "log.h"

/* A lookup token from the daemon-wide bucket; false over the rate bound. */
static bool impact_token(struct manager *m)
{
	__u64 now = now_ns(), add;

	add = (now - m->impact_refilled_ns) / (1000000000ULL / IMPACT_RATE);
	if (add) {
		m->impact_tokens = m->impact_tokens + add > IMPACT_BURST ? IMPACT_BURST :
				   m->impact_tokens + (unsigned int)add;
		m->impact_refilled_ns = now;
	}
	if (!m->impact_tokens)
		return false;
	m->impact_tokens--;
	return true;
}

/* The partition (or disk) holding the whole-disk sector, and the answer for it. */
static int lookup(const struct bnd_get_impact *g, struct blknotify_impact **ret)
{
	BLKNOTIFY_OPTS(blknotify_impact_opts, opts, .max_files = IMPACT_WALK_ENTRIES,
		       .max_extents = IMPACT_EXTENTS);
	struct blknotify_device *disk = NULL, *part = NULL;
	uint64_t off;
	int r;

	r = blknotify_device_new_from_devnum(&disk, (dev_t)g->dev);
	if (!r)
		r = blknotify_device_locate(disk, g->sector, &part, &off);
	if (!r)
		r = blknotify_device_get_impact(part, off, g->nr_sectors, &opts, ret);
	blknotify_device_unref(part);
	blknotify_device_unref(disk);
	return r;
}

bool impact_handle(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	const struct bnd_get_impact *g = msg->get_impact;
	const struct bnd_add_watch range = { .dev = g->dev, .start = g->sector,
					     .end = g->sector + g->nr_sectors };
	unsigned int maj = major(g->dev), min = minor(g->dev);
	struct blknotify_impact *im = NULL;
	const struct blknotify_extent *x;
	char why[BND_ERROR_TEXT_MAX];
	int r;

	/* First who may see the disk at all, so a refusal tells nothing of others' disks. */
	r = policy_check_watch(&m->cfg, &c->peer, &range, why, sizeof(why));
	if (r < 0)
		return reply_error(m, c, msg->seq, r, "%s", why);
	if (!c->peer.privileged && m->cfg.file_names != FILE_NAMES_WATCHERS) {
		m->impact_refused++;
		return reply_error(m, c, msg->seq, -EACCES, "file names are for root and "
				   "privileged_groups (%s); set file_names = watchers in %s to give "
				   "them to every client that may watch the disk",
				   m->cfg.nr_privileged_gids ? m->cfg.privileged_groups : "none",
				   m->config_path);
	}
	if (!impact_token(m)) {
		m->impact_limited++;
		return reply_error(m, c, msg->seq, -EAGAIN, "file lookups are bounded to %d a "
				   "second; ask again later", IMPACT_RATE);
	}
	m->impact_lookups++;
	r = lookup(g, &im);
	if (r < 0) {
		log_client(7, "client %u: impact of %u:%u sector %llu: %s", c->id, maj, min,
			   (unsigned long long)g->sector, strerror(-r));
		return reply_error(m, c, msg->seq, r, "%u:%u sector %llu: %s", maj, min,
				   (unsigned long long)g->sector,
				   r == -ENOENT ? "not mounted where blknotifyd runs" :
				   r == -EOPNOTSUPP ? "the filesystem cannot say who owns it" :
				   strerror(-r));
	}
	bnd_msg_impact_init(c->out, msg->seq, blknotify_impact_get_mount(im) ?: "/",
			    blknotify_impact_get_dropped(im), blknotify_impact_get_unnamed(im));
	for (unsigned int i = 0; !blknotify_impact_get_extent(im, i, &x); i++)
		bnd_msg_impact_add(c->out, x);
	blknotify_impact_free(im);
	return client_reply(m, c, ((struct bnd_hdr *)c->out)->len);
}
