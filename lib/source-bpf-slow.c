// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The bpf source's slow-I/O programs: off unless the queue asks (nothing is
 * loaded or attached then, and the tables shrink to one entry), tp_btf or
 * their raw_tp twins chosen at run time, thresholds in the program's .bss
 * so that a pinned queue taken over by a new process gets the new ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "queue.h"
#include "blknotify.bpf.h"
#include "slow.h"
#include "source-bpf-slow.h"
#include "blknotify.skel.h"

_Static_assert(BN_SLOW_WARMUP == BLKNOTIFY_SLOW_WARMUP, "one warm-up");

bool source_bpf_slow_force_raw_tp;
unsigned int source_bpf_slow_inflight_max;

/* Pinned before the queue's "link", removed before it (see pin() in source-bpf.c). */
static const char *const slow_pins[] = { "slow_issue", "slow_complete" };

void bpf_slow_init(struct bpf_slow *sl)
{
	sl->on = sl->raw_tp = false;
	sl->prog_fd[0] = sl->prog_fd[1] = -1;
}

static bool wanted(const struct blknotify_queue *q)
{
	return q->slow_threshold_ns || q->slow_relative;
}

/* A tracepoint with BTF (btf_trace_NAME in vmlinux): tp_btf can attach to it. */
static bool btf_tracepoint(const char *name)
{
	return libbpf_find_vmlinux_btf_id(name, BPF_TRACE_RAW_TP) > 0;
}

int bpf_slow_prepare(struct blknotify_queue *q, struct blknotify_bpf *skel, struct bpf_slow *sl)
{
	bool raw;

	sl->on = wanted(q);
	raw = source_bpf_slow_force_raw_tp || !btf_tracepoint("block_rq_issue") ||
	      !btf_tracepoint("block_rq_complete");
	sl->raw_tp = raw;
	bpf_program__set_autoload(skel->progs.slow_issue_btf, sl->on && !raw);
	bpf_program__set_autoload(skel->progs.slow_complete_btf, sl->on && !raw);
	bpf_program__set_autoload(skel->progs.slow_issue_raw, sl->on && raw);
	bpf_program__set_autoload(skel->progs.slow_complete_raw, sl->on && raw);
	if (sl->on && source_bpf_slow_inflight_max)
		bpf_map__set_max_entries(skel->maps.slow_inflight, source_bpf_slow_inflight_max);
	if (!sl->on) {
		/* The maps exist anyway; off, they cost nothing worth naming. */
		bpf_map__set_max_entries(skel->maps.slow_inflight, 1);
		bpf_map__set_max_entries(skel->maps.slow_devices, 1);
	}
	return 0;
}

static void configure(const struct blknotify_queue *q, struct blknotify_bpf__bss *bss)
{
	bss->slow_config.threshold_ns = q->slow_threshold_ns;
	bss->slow_config.relative = q->slow_relative;
	bss->slow_config.warmup = BN_SLOW_WARMUP;
}

static int dup_fd(int fd)
{
	int r = fd < 0 ? -EBADF : fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return r < 0 ? -errno : r;
}

int bpf_slow_loaded(struct blknotify_queue *q, struct blknotify_bpf *skel,
		    struct blknotify_bpf__bss *bss, struct bpf_slow *sl)
{
	struct bpf_program *p[2] = {
		sl->raw_tp ? skel->progs.slow_issue_raw : skel->progs.slow_issue_btf,
		sl->raw_tp ? skel->progs.slow_complete_raw : skel->progs.slow_complete_btf,
	};
	int i;

	memset(&bss->slow_config, 0, sizeof(bss->slow_config));
	if (!sl->on)
		return 0;
	configure(q, bss);
	for (i = 0; i < 2; i++) {
		sl->prog_fd[i] = dup_fd(bpf_program__fd(p[i]));
		if (sl->prog_fd[i] < 0)
			return queue_set_error(q, -sl->prog_fd[i], "the slow-I/O program: %s",
					       strerror(-sl->prog_fd[i]));
	}
	return 0;
}

static void links(struct blknotify_bpf *skel, const struct bpf_slow *sl, struct bpf_link *l[2])
{
	l[0] = sl->raw_tp ? skel->links.slow_issue_raw : skel->links.slow_issue_btf;
	l[1] = sl->raw_tp ? skel->links.slow_complete_raw : skel->links.slow_complete_btf;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, len, "%s/%s", dir, name) >= len ? -ENAMETOOLONG : 0;
}

int bpf_slow_pin(struct blknotify_bpf *skel, const struct bpf_slow *sl, const char *dir)
{
	struct bpf_link *l[2];
	char path[PATH_MAX];
	int i, err;

	if (!sl->on)
		return 0;
	links(skel, sl, l);
	for (i = 0; i < 2; i++) {
		err = pin_path(path, sizeof(path), dir, slow_pins[i]);
		if (!err && l[i])
			err = bpf_link__pin(l[i], path);
		if (err)
			return err;
	}
	return 0;
}

void bpf_slow_disconnect(struct blknotify_bpf *skel, const struct bpf_slow *sl)
{
	struct bpf_link *l[2];
	int i;

	if (!sl->on)
		return;
	links(skel, sl, l);
	for (i = 0; i < 2; i++)
		if (l[i])
			bpf_link__disconnect(l[i]);
}

int bpf_slow_unpin(const char *dir)
{
	char path[PATH_MAX];
	int i, err = 0;

	for (i = 0; i < 2; i++) {
		if (pin_path(path, sizeof(path), dir, slow_pins[i]))
			return -ENAMETOOLONG;
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	return err;
}

/* The program behind a pinned link, as a fd of ours. */
static int pinned_prog(const char *dir, const char *name)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int link, fd;

	if (pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	link = bpf_obj_get(path);
	if (link < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(link, &info, &len)) {
		fd = -errno;
	} else {
		fd = bpf_prog_get_fd_by_id(info.prog_id);
		fd = fd < 0 ? -errno : fd;
	}
	close(link);
	return fd;
}

int bpf_slow_resume(struct blknotify_queue *q, struct blknotify_bpf__bss *bss,
		    struct bpf_slow *sl)
{
	int i, err;

	if (!wanted(q)) {
		/* Started with slow detection, taken over without: detach it. */
		memset(&bss->slow_config, 0, sizeof(bss->slow_config));
		err = bpf_slow_unpin(q->pin_path);
		if (err)
			return queue_set_error(q, -err, "detaching the pinned slow-I/O programs at "
					       "%s: %s", q->pin_path, strerror(-err));
		return 0;
	}
	for (i = 0; i < 2; i++) {
		sl->prog_fd[i] = pinned_prog(q->pin_path, slow_pins[i]);
		if (sl->prog_fd[i] == -ENOENT)
			return queue_set_error(q, ESTALE,
				"the BPF queue pinned at %s was started without slow-I/O "
				"detection, which this queue asks for: remove it (rm -r %s) to "
				"start afresh; the records still queued in it are then lost",
				q->pin_path, q->pin_path);
		if (sl->prog_fd[i] < 0)
			return queue_set_error(q, -sl->prog_fd[i], "taking over the slow-I/O "
					       "programs pinned at %s: %s", q->pin_path,
					       strerror(-sl->prog_fd[i]));
	}
	sl->on = true;
	configure(q, bss);
	return 0;
}

__u64 bpf_slow_new_misses(const struct bpf_slow *sl, struct blknotify_bpf__bss *bss)
{
	__u64 total = 0, n;
	int i;

	if (!sl->on)
		return 0;
	for (i = 0; i < 2; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(sl->prog_fd[i], &info, &len) ||
		    len < offsetof(struct bpf_prog_info, recursion_misses) +
			  sizeof(info.recursion_misses))
			return 0;	/* kernels before 5.12 do not count them */
		total += info.recursion_misses;
	}
	n = total - bss->slow_reported_misses;
	bss->slow_reported_misses = total;
	return n;
}

void bpf_slow_close(struct bpf_slow *sl)
{
	int i;

	for (i = 0; i < 2; i++)
		if (sl->prog_fd[i] >= 0)
			close(sl->prog_fd[i]);
	bpf_slow_init(sl);
}
