/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bpf source's transport-detail programs (lib/source-bpf-detail.c). */
#ifndef BLKNOTIFY_SOURCE_BPF_DETAIL_H
#define BLKNOTIFY_SOURCE_BPF_DETAIL_H

#include <stdbool.h>

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

#endif
