/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bpf source's opt-in bio program (bpf/bio.bpf.h): failed bios of
 * bio-based devices (device-mapper, md, ...).  Loader side, used by
 * source-bpf.c.
 */
#ifndef BLKNOTIFY_SOURCE_BPF_BIO_H
#define BLKNOTIFY_SOURCE_BPF_BIO_H

#include <stdbool.h>

struct blknotify_queue;
struct blknotify_bpf;

/*
 * Before load: turn the bio program on (the queue asked for
 * BLKNOTIFY_QUEUE_BPF_BIO) or off, and give it the kernel's status table.
 * A kernel that cannot take the program (checked in its BTF) gets the queue
 * without it, and stderr says why, once.  Returns 0 (a negative errno
 * explained with queue_set_error() is reserved for what may fail later).
 */
int source_bpf_bio_prepare(struct blknotify_queue *q, struct blknotify_bpf *skel);

/*
 * Pinning beside the queue's other pins: "bio_link" in dir, pinned before
 * the queue's "link" (which says the directory is complete) and removed
 * after it.  pin: 0 or -errno (nothing to pin is 0); disconnect after the
 * whole queue is pinned, so that destroying the skeleton keeps it attached.
 */
int source_bpf_bio_pin(struct blknotify_bpf *skel, const char *dir);
void source_bpf_bio_disconnect(struct blknotify_bpf *skel);
int source_bpf_bio_unpin(const char *dir);

/*
 * A queue pinned at q->pin_path made with the other setting of
 * BLKNOTIFY_QUEUE_BPF_BIO than q asks for is removed (the caller then loads
 * afresh), with a message on stderr.  Returns 0, or a negative errno
 * explained with queue_set_error().
 */
int source_bpf_bio_match_pinned(struct blknotify_queue *q);

#endif /* BLKNOTIFY_SOURCE_BPF_BIO_H */
