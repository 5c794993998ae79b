/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bpf source's transport-detail programs (lib/source-bpf-detail.c). */
#ifndef BLKNOTIFY_SOURCE_BPF_DETAIL_H
#define BLKNOTIFY_SOURCE_BPF_DETAIL_H

#include <stdbool.h>
#include <linux/types.h>

struct blknotify_bpf;

/*
 * Before load: turn on the programs whose function this kernel's BTF has
 * (none when !enable; the per-completion ones only with per_completion),
 * log once which are missing.  Returns how many are on.
 */
int source_bpf_detail_setup(struct blknotify_bpf *skel, bool enable, bool per_completion);
/* After load: attach them; one that fails is logged and left out.  Returns how many. */
int source_bpf_detail_attach(struct blknotify_bpf *skel);
/* Pin their links in dir (best effort, logged), and remove such pins. */
void source_bpf_detail_pin(struct blknotify_bpf *skel, const char *dir);
void source_bpf_detail_unpin(const char *dir);
/* The fds of the loaded ones (tests count their runs). */
int source_bpf_detail_prog_fds(struct blknotify_bpf *skel, int *fds, int max);


/*
 * Recursion misses (bpf_prog_info.recursion_misses) of the detail programs:
 * runs the kernel skipped because another tracing program ran on that CPU.
 * A skipped run of a hook that makes soft records (the retry hooks,
 * scsi_check_sense: RECOVERED) may be a soft record lost: counted as loss.
 * A skipped run of a hook that only fills the table (scsi_timeout,
 * nvme_complete_rq) costs a record its detail, not the record: counted
 * apart (source_bpf_detail_misses()), said once on stderr.
 */
#define SOURCE_BPF_DETAIL_PROGS	6

struct bpf_detail_progs {
	int fd[SOURCE_BPF_DETAIL_PROGS];	/* ours (dup'ed or opened), -1: not loaded */
	__u64 detail_only;			/* detail-only misses seen (this process) */
	bool said;				/* detail-only misses said on stderr */
};

/* The baselines, in the queue's pinned .bss (bpf/detail.bpf.h). */
struct bpf_detail_baseline {
	__u64 *lost;		/* misses of the soft-record hooks already reported as loss */
	__u64 *detail_only;	/* misses of the detail-only hooks already counted */
};

void source_bpf_detail_progs_init(struct bpf_detail_progs *d);
/* The loaded programs of a fresh instance, or those behind the pinned detail links in dir. */
void source_bpf_detail_progs_from_skel(struct bpf_detail_progs *d, struct blknotify_bpf *skel);
void source_bpf_detail_progs_from_pins(struct bpf_detail_progs *d, const char *dir);
void source_bpf_detail_progs_close(struct bpf_detail_progs *d);
/* New loss: misses of the soft-record hooks not yet reported (the baseline moves). */
__u64 source_bpf_detail_new_misses(struct bpf_detail_progs *d, struct bpf_detail_baseline b);
/* Detail-only misses counted by this queue so far. */
__u64 source_bpf_detail_misses(const struct bpf_detail_progs *d);

/*
 * Tests (tests/host/test_bpf_source.c): recursion misses that no kernel can
 * be made to produce on demand, added to the sums of the soft-record hooks
 * [0] and of the detail-only hooks [1] as if a loaded program had them.
 */
extern __u64 source_bpf_detail_fake_misses[2];

/*
 * The accounting step, pure (tests/unit/test_detail_misses.c): total is the
 * programs' sum now, *baseline what was reported; returns what is new and
 * moves the baseline.  A total below the baseline (a program gone: its
 * count with it) reports nothing and rebases.
 */
__u64 source_bpf_detail_misses_step(__u64 *baseline, __u64 total);

#endif
