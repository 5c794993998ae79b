/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside a queue: the state every source shares, and the operations a source
 * implements.  Private to the library (and its tests).
 */
#ifndef BLKNOTIFY_QUEUE_H
#define BLKNOTIFY_QUEUE_H

#include <stdbool.h>
#include <stdarg.h>
#include <linux/ioctl.h>
#include <blknotify/blknotify.h>
#include "match.h"

struct blknotify_queue;

struct blknotify_impact;
struct lifecycle;

struct source_ops {
	/*
	 * Start delivering (called at the first watch, with q->config holding
	 * it): load, attach or connect, and add the source's fds to
	 * q->epoll_fd.  On failure, explain with queue_set_error().
	 */
	int (*start)(struct blknotify_queue *q);
	/* q->config changed (watch added or removed, filter set) after start. */
	int (*update)(struct blknotify_queue *q);
	/*
	 * Copy whole records into buf without waiting.  Returns bytes copied,
	 * -EAGAIN when none is ready, -ENOBUFS when the next one does not fit.
	 */
	ssize_t (*read)(struct blknotify_queue *q, void *buf, size_t len);
	/* Undo start (also after a failed start).  Must accept partial state. */
	void (*stop)(struct blknotify_queue *q);
	/* blknotify_queue_get_impact(), for a source that can answer it (daemon); may be NULL. */
	int (*impact)(struct blknotify_queue *q, __u64 dev, __u64 sector, __u32 nr_sectors,
		      struct blknotify_impact **ret);
};

/*
 * Records a userspace source has produced but not yet handed out: one event
 * fanned out to every matching watch can be more than the caller's buffer
 * holds.  Bounded: one event makes at most BN_WATCHES_MAX records, plus a
 * loss record.
 */
#define QUEUE_PENDING_MAX	((BN_WATCHES_MAX + 1) * BLOCK_NOTIFICATION_MAX_SIZE)

struct blknotify_queue {
	const struct source_ops *ops;
	enum blknotify_source source;
	unsigned int flags;		/* BLKNOTIFY_QUEUE_* */
	char *daemon_socket;
	char *pin_path;			/* bpf: pinned at this bpffs directory */
	__u64 slow_threshold_ns;	/* slow I/O (opts): 0 off */
	unsigned int slow_relative;	/* slow I/O (opts): 0 off */
	unsigned int size;		/* records */
	bool started;
	int broken;			/* the source is stopped (update_or_restore()) */
	struct bn_config config;	/* watches and filter */
	int epoll_fd;			/* what blknotify_queue_get_fd() returns */
	void *priv;			/* the source's state */

	unsigned char pending[QUEUE_PENDING_MAX];
	size_t pending_len, pending_off;
	__u64 pending_loss;		/* lost, not yet reported */
	struct lifecycle *lifecycle;	/* lifecycle.c: uevents (bpf, kmsg); NULL: none */

	char error[512];
};

/* Explain a failure (printf-style); returns -err_no so callers can "return". */
int queue_set_error(struct blknotify_queue *q, int err_no, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * For sources that deliver every event unfiltered (kmsg, daemon client
 * tests): stamp ev with the ID of every watch that matches it, keep the
 * copies the filter admits, and append them to the pending records.  A
 * pending loss count is emitted first.  ev->watch.info's length must be set.
 * Returns the number of records queued.
 */
unsigned int queue_fanout(struct blknotify_queue *q, const struct block_notification *ev);

/* Count records lost at the source; reported before the next record. */
void queue_add_loss(struct blknotify_queue *q, __u64 nr_lost);

/*
 * Move pending records (and a pending loss record) into buf.  Returns bytes
 * copied, 0 when nothing is pending, -ENOBUFS when the next does not fit.
 */
ssize_t queue_take_pending(struct blknotify_queue *q, void *buf, size_t len);

/* Add fd to the queue's epoll set (EPOLLIN). */
int queue_watch_fd(struct blknotify_queue *q, int fd);

/* Whether this process may load BPF (CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN). */
bool bpf_capable_process(void);

/* An options struct (first field size_t sz) from an older or newer caller:
 * false when sz is too small or bytes past the known fields are not zero. */
bool opts_valid(const void *opts, size_t known);
#define OPTS_KNOWN(type, field) \
	(offsetof(struct type, field) + sizeof(((struct type *)0)->field))

/*
 * Remove a BPF queue pinned at dir (bpf_pin_path): its pins, the link first
 * (that detaches the program), and the directory.  Records still queued in
 * it are lost.  Returns 0, or -errno of the first pin that could not be
 * removed (a missing one is not an error).
 */
int source_bpf_unpin(const char *dir);

/* Block lines the kmsg source refused: written by user space, not the kernel. */
__u64 source_kmsg_refused(const struct blknotify_queue *q);

#ifndef IOC_WATCH_QUEUE_WATCH_BLOCK
/* <linux/block_notify.h> of the patched kernel (kernel/): one block watch. */
struct block_watch {
	__u32	flags;
	__u32	watch_id;
	__u64	dev;
};
#define BLOCK_WATCH_REMOVE		(1U << 0)
#define IOC_WATCH_QUEUE_WATCH_BLOCK	_IOW('W', 0x62, struct block_watch)
#endif

/*
 * Fault injection for tests: when set, the watch_queue source makes its
 * notification pipe and its ioctls (SET_SIZE, SET_FILTER, WATCH_BLOCK)
 * through these instead of the kernel's, so that a kernel without the
 * series (or without CONFIG_WATCH_QUEUE) can run it.  NULL: the kernel.
 */
struct source_watch_queue_kernel {
	int (*pipe2)(int fd[2], int flags);
	int (*ioctl)(int fd, unsigned long req, void *arg);
};
extern const struct source_watch_queue_kernel *source_watch_queue_kernel;

/* Whether the bpf source's lifecycle hooks (dead, BLKROSET) are attached (tests). */
bool source_bpf_lifecycle_hooks(const struct blknotify_queue *q);

/* The bpf source's attached program (tests and benchmarks); -1 otherwise. */
int source_bpf_prog_fd(const struct blknotify_queue *q);
/* Its bio program (BLKNOTIFY_QUEUE_BPF_BIO) when loaded here; -1 otherwise. */
int source_bpf_bio_prog_fd(const struct blknotify_queue *q);
/* The transport-detail programs' fds (lib/source-bpf-detail.c); how many. */
int source_bpf_detail_fds(const struct blknotify_queue *q, int *fds, int max);
/* Their recursion misses that cost records their detail only (counted, not loss). */
__u64 source_bpf_detail_misses_of(const struct blknotify_queue *q);

extern const struct source_ops source_bpf_ops;
extern const struct source_ops source_kmsg_ops;
extern const struct source_ops source_watch_queue_ops;
extern const struct source_ops source_daemon_ops;

#endif /* BLKNOTIFY_QUEUE_H */
