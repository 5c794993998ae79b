/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bpf source's slow-I/O programs (bpf/slow.bpf.h): loaded, attached
 * and pinned only when the queue asks for slow detection.  Called from
 * lib/source-bpf.c at each step of its own lifecycle.
 */
#ifndef BLKNOTIFY_SOURCE_BPF_SLOW_H
#define BLKNOTIFY_SOURCE_BPF_SLOW_H

#include <stdbool.h>
#include "queue.h"

struct blknotify_bpf;
struct blknotify_bpf__bss;

struct bpf_slow {
	bool on;		/* the queue asked for it */
	bool raw_tp;		/* the raw_tp twins, not tp_btf */
	int prog_fd[2];		/* issue, complete (ours: dup'ed); -1 */
};

/* Tests: use the raw_tp twins even where tp_btf works. */
extern bool source_bpf_slow_force_raw_tp;
/* Tests: a smaller in-flight table than BN_SLOW_INFLIGHT_MAX (0: that). */
extern unsigned int source_bpf_slow_inflight_max;

void bpf_slow_init(struct bpf_slow *sl);
/* Before load: which programs load, and the tables' sizes (1 entry when off). */
int bpf_slow_prepare(struct blknotify_queue *q, struct blknotify_bpf *skel, struct bpf_slow *sl);
/* After load: thresholds into the program's .bss, and the programs' fds. */
int bpf_slow_loaded(struct blknotify_queue *q, struct blknotify_bpf *skel,
		    struct blknotify_bpf__bss *bss, struct bpf_slow *sl);
/* Pin the slow links in dir (before the queue's "link"), and keep them attached. */
int bpf_slow_pin(struct blknotify_bpf *skel, const struct bpf_slow *sl, const char *dir);
void bpf_slow_disconnect(struct blknotify_bpf *skel, const struct bpf_slow *sl);
/*
 * After taking over a pinned queue: apply q's slow configuration to it.
 * Pinned slow programs that q does not want are detached; -ESTALE (with
 * the reason set) when q wants them and the pinned queue has none.
 */
int bpf_slow_resume(struct blknotify_queue *q, struct blknotify_bpf__bss *bss,
		    struct bpf_slow *sl);
/* Remove the slow pins from dir (detaching them). */
int bpf_slow_unpin(const char *dir);
/* Recursion misses of the slow programs not yet reported (requests never judged). */
__u64 bpf_slow_new_misses(const struct bpf_slow *sl, struct blknotify_bpf__bss *bss);
void bpf_slow_close(struct bpf_slow *sl);
/* Tests and benchmarks: the attached issue (0) and complete (1) programs; -1 when off. */
int source_bpf_slow_prog_fd(const struct blknotify_queue *q, int which);

#endif /* BLKNOTIFY_SOURCE_BPF_SLOW_H */
