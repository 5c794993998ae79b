// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The bpf source: one instance of bpf/blknotify.bpf.c per queue.  The BPF
 * ring buffer is the queue; watches and filter live in a map the program
 * reads, so records the queue does not want are never queued.
 *
 * The ring is read here directly, not through ring_buffer__consume(), so that
 * a read copies only as many whole records as the caller's buffer holds and
 * leaves the rest queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "lifecycle.h"
#include "queue.h"
#include "source-bpf-bio.h"
#include "reconcile.h"
#include "blknotify.bpf.h"
#include "slow.h"
#include "source-bpf-slow.h"

#ifndef offsetofend
#define offsetofend(TYPE, FIELD) (offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))
#endif
#include "blknotify.skel.h"
#include "source-bpf-detail.h"

struct source_bpf {
	struct blknotify_bpf *skel;	/* NULL when resumed from pins */
	struct blknotify_bpf__bss *bss;	/* counters shared with the program */
	size_t bss_map_size;		/* mmap'ed by us (resumed), else 0 */
	int config_fd;
	int ring_fd;
	int timer_fd;
	__u64 timer_due;		/* when timer_fd expires; 0: not armed */
	int kick_fd;			/* eventfd: "read again", see arm_batch_timer() */
	bool kicked;
	unsigned long *consumer_pos;	/* mmap'ed, ours to write */
	const unsigned long *producer_pos;	/* mmap'ed, read-only */
	const unsigned char *data;	/* the ring, mapped twice in a row */
	size_t ring_size;
	size_t page_size;
	int prog_fd;			/* the attached program */
	struct blknotify_bpf *hooks;	/* resumed: the lifecycle hooks, loaded on the pinned maps */
	bool own_fds;			/* resumed: ring, config and prog fds are ours */
	struct bpf_slow slow;		/* slow I/O: source-bpf-slow.c */
	struct bpf_detail_progs detail;	/* their recursion misses: source-bpf-detail.c */
	bool pinned;			/* the program stays attached after us */
	struct reconcile *recon;	/* with ftrace (lib/reconcile.c); NULL: none */
};

#define TRACEFS		"/sys/kernel/tracing"
#define DEBUGFS_TRACING	"/sys/kernel/debug/tracing"

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/*
 * libbpf attaches tracepoints through tracefs.  systemd mounts it at boot;
 * minimal systems (containers, initramfs) may not.  We are privileged at
 * this point (loading BPF needs it), so mount it where libbpf looks first.
 */
static const char *tracing_dir(struct blknotify_queue *q)
{
	if (exists(TRACEFS "/events"))
		return TRACEFS;
	if (exists(DEBUGFS_TRACING "/events"))
		return DEBUGFS_TRACING;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) == 0 && exists(TRACEFS "/events"))
		return TRACEFS;
	queue_set_error(q, ENOENT,
			"tracefs is not mounted and could not be mounted (%s); "
			"mount it: mount -t tracefs tracefs " TRACEFS, strerror(errno));
	return NULL;
}

static bool tracepoint_exists(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/block/%s", dir, name);
	return exists(path);
}

static size_t roundup_pow2(size_t v)
{
	size_t r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

static int map_ring(struct blknotify_queue *q, struct source_bpf *s)
{
	void *p;

	s->consumer_pos = mmap(NULL, s->page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       s->ring_fd, 0);
	if (s->consumer_pos == MAP_FAILED) {
		s->consumer_pos = NULL;
		return queue_set_error(q, errno, "mapping the BPF ring buffer: %s", strerror(errno));
	}
	p = mmap(NULL, s->page_size + 2 * s->ring_size, PROT_READ, MAP_SHARED, s->ring_fd,
		 s->page_size);
	if (p == MAP_FAILED)
		return queue_set_error(q, errno, "mapping the BPF ring buffer: %s", strerror(errno));
	s->producer_pos = p;
	s->data = (const unsigned char *)p + s->page_size;
	return 0;
}

static int bpf_update(struct blknotify_queue *q)
{
	struct source_bpf *s = q->priv;
	__u32 zero = 0;
	int err = 0;

	reconcile_pause(s->recon);
	if (bpf_map_update_elem(s->config_fd, &zero, &q->config, BPF_ANY))
		err = -errno;
	reconcile_resume(s->recon, &q->config);
	return err;
}

/*
 * The lifecycle hooks (bpf/lifecycle.bpf.h): loaded where the running
 * kernel's BTF has their function, attached after the error program and
 * never a reason to fail: a kernel without them gives no "dead" records
 * (or none for BLKROSET), and says so once per process.  attach == false:
 * before load (autoload); true: after the error program is attached.
 */
static void lifecycle_hooks(struct blknotify_bpf *skel, bool attach)
{
	static bool said[2];
	struct {
		struct bpf_program *prog;
		struct bpf_link **link;
		const char *func, *what;
		unsigned int said;
	} h[] = {
		{ skel->progs.lc_disk_dead, &skel->links.lc_disk_dead, "blk_mark_disk_dead",
		  "disks marked dead (surprise removal)", 0 },
		{ skel->progs.lc_roset_entry, &skel->links.lc_roset_entry, "blkdev_ioctl",
		  "read-only set by BLKROSET (blockdev --setro)", 1 },
		{ skel->progs.lc_roset_exit, &skel->links.lc_roset_exit, "blkdev_ioctl",
		  "read-only set by BLKROSET (blockdev --setro)", 1 },
	};
	struct btf *vmlinux = attach ? NULL : btf__load_vmlinux_btf();
	size_t i;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		const char *why = NULL;

		if (!attach) {
			bpf_program__set_autoattach(h[i].prog, false);
			if (vmlinux && btf__find_by_name_kind(vmlinux, h[i].func, BTF_KIND_FUNC) > 0)
				continue;
			bpf_program__set_autoload(h[i].prog, false);
			why = "the kernel's BTF has no such function";
		} else if (bpf_program__autoload(h[i].prog)) {
			*h[i].link = bpf_program__attach(h[i].prog);
			if (*h[i].link)
				continue;
			why = strerror(errno);
		} else {
			continue;
		}
		if (!said[h[i].said]) {
			said[h[i].said] = true;
			fprintf(stderr, "blknotify: no records of %s on this kernel: cannot hook %s() "
				"(%s)\n", h[i].what, h[i].func, why);
		}
	}
	btf__free(vmlinux);
}

static void lifecycle_hooks_off(struct blknotify_bpf *skel)
{
	bpf_program__set_autoload(skel->progs.lc_disk_dead, false);
	bpf_program__set_autoload(skel->progs.lc_roset_entry, false);
	bpf_program__set_autoload(skel->progs.lc_roset_exit, false);
}

/* Load and attach a fresh instance of the program, sized for q. */
static int load_instance(struct blknotify_queue *q, struct source_bpf *s, bool use_complete,
			 bool hooks)
{
	size_t limit;
	/* A kernel that refused the detail programs once refuses them again. */
	static bool no_detail;
	int err, detail = !no_detail;

again:
	s->skel = blknotify_bpf__open();
	if (!s->skel) {
		err = errno;
		if (err == ENOSYS)
			return queue_set_error(q, err,
				"this kernel has no bpf() system call (CONFIG_BPF_SYSCALL): "
				"use the kmsg source (--source kmsg)");
		return queue_set_error(q, err, "opening the BPF program: %s", strerror(err));
	}

	/* The bound: q->size records; the ring holds that, rounded up to a
	 * power-of-two number of pages as the kernel requires. */
	limit = (size_t)q->size * BN_RECORD_SLOT + BN_LOSS_SLOT;
	s->ring_size = roundup_pow2(limit > s->page_size ? limit : s->page_size);
	s->skel->rodata->limit_bytes = limit;
	s->skel->rodata->wake_backlog = limit / 2 < 256 * BN_RECORD_SLOT ?
					limit / 2 : 256 * BN_RECORD_SLOT;
	s->skel->rodata->wake_interval_ns = BN_WAKE_INTERVAL_NS;
	bpf_map__set_max_entries(s->skel->maps.events, s->ring_size);
	bpf_program__set_autoload(s->skel->progs.block_rq_error, !use_complete);
	bpf_program__set_autoload(s->skel->progs.block_rq_complete, use_complete);
	err = source_bpf_bio_prepare(q, s->skel);
	if (err)
		return err;
	bpf_slow_prepare(q, s->skel, &s->slow);
	if (hooks)
		lifecycle_hooks(s->skel, false);
	else
		lifecycle_hooks_off(s->skel);
	detail = detail && source_bpf_detail_setup(s->skel, true,
						   q->flags & BLKNOTIFY_QUEUE_BPF_NVME_STATUS) > 0;
	if (!detail)
		source_bpf_detail_setup(s->skel, false, false);

	err = blknotify_bpf__load(s->skel);
	if (err && detail) {
		/* The records matter more than their detail: load without it. */
		fprintf(stderr, "blknotify: the transport-detail programs did not load (%s; "
			"libbpf said why above): records carry no device detail\n", strerror(-err));
		blknotify_bpf__destroy(s->skel);
		detail = 0;
		no_detail = true;
		goto again;
	}
	if (err) {
		err = -err;
		if (err == EPERM || err == EACCES)
			return queue_set_error(q, err,
				"the kernel refused to load the BPF program (%s): it needs "
				"root or CAP_BPF+CAP_PERFMON, and kernel.unprivileged_bpf_disabled "
				"or a security module may forbid it; use the daemon "
				"(--source daemon) or --source kmsg", strerror(err));
		return queue_set_error(q, err,
			"loading the BPF program failed: %s (libbpf said why above)", strerror(err));
	}
	s->bss = s->skel->bss;
	err = bpf_slow_loaded(q, s->skel, s->bss, &s->slow);
	if (err)
		return err;
	s->config_fd = bpf_map__fd(s->skel->maps.config);
	s->ring_fd = bpf_map__fd(s->skel->maps.events);
	s->prog_fd = bpf_program__fd(use_complete ? s->skel->progs.block_rq_complete :
						    s->skel->progs.block_rq_error);
	err = bpf_update(q);
	if (err)
		return queue_set_error(q, -err, "configuring the BPF program: %s", strerror(-err));
	err = blknotify_bpf__attach(s->skel);
	if (err)
		return queue_set_error(q, -err,
			"attaching to block:%s failed: %s", use_complete ?
			"block_rq_complete" : "block_rq_error", strerror(-err));
	if (hooks)
		lifecycle_hooks(s->skel, true);
	if (detail)
		source_bpf_detail_attach(s->skel);
	return 0;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/*
 * A kernel may refuse the lifecycle hooks where it loads the error program
 * (fentry not permitted: no ftrace, lockdown, a sandbox): then load without
 * them, and never try them again in this process.  The first try is quiet
 * (libbpf's print function is swapped for it); the second says why.
 */
static int load_fresh(struct blknotify_queue *q, struct source_bpf *s, bool use_complete)
{
	static bool no_hooks;
	libbpf_print_fn_t old;
	int err;

	if (!no_hooks) {
		old = libbpf_set_print(quiet);
		err = load_instance(q, s, use_complete, true);
		libbpf_set_print(old);
		if (!err)
			return 0;
		blknotify_bpf__destroy(s->skel);
		s->skel = NULL;
		bpf_slow_close(&s->slow);	/* its prepare runs again below */
		q->error[0] = '\0';
	}
	err = load_instance(q, s, use_complete, false);
	if (!err && !no_hooks)
		fprintf(stderr, "blknotify: this kernel does not load the lifecycle hooks "
			"(fentry on blk_mark_disk_dead, blkdev_ioctl): no records of disks "
			"marked dead or made read-only by BLKROSET\n");
	no_hooks = no_hooks || !err;
	return err;
}

/* --- pinning: the queue outlives its process (blknotifyd restarts) --- */

#define BPFFS		"/sys/fs/bpf"
#define BPF_FS_MAGIC_	0xcafe4a11

static int pin_file(char *buf, size_t len, const char *dir, const char *name)
{
	return (size_t)snprintf(buf, len, "%s/%s", dir, name) >= len ? -ENAMETOOLONG : 0;
}

/*
 * What a pinned queue is made of.  The link is pinned last and removed
 * first: a directory with a link is complete, one without is not.
 */
static const char *const pin_names[] = { "events", "config", "bss", "link" };
#define NR_PINS	(sizeof(pin_names) / sizeof(pin_names[0]))

int source_bpf_unpin(const char *dir)
{
	char path[PATH_MAX];
	int err = 0, bio_err, slow_err;
	struct bpf_link_info link = {};
	__u32 len = sizeof(link);
	size_t i;
	int fd;

	source_bpf_detail_unpin(dir);
	/* The reconciliation's instance is named after the program. */
	if (!pin_file(path, sizeof(path), dir, "link") && (fd = bpf_obj_get(path)) >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &link, &len))
			link.prog_id = 0;
		close(fd);
	}
	for (i = NR_PINS; i-- > 0;) {
		if (pin_file(path, sizeof(path), dir, pin_names[i]))
			return -ENAMETOOLONG;
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	bio_err = source_bpf_bio_unpin(dir);	/* after the link: see pin() */
	if (!err)
		err = bio_err;
	slow_err = bpf_slow_unpin(dir);	/* the slow programs' links, if any */
	if (slow_err && !err)
		err = slow_err;
	if (link.prog_id)
		reconcile_remove(link.prog_id);
	/* Not ours to remove if something else is in it. */
	if (rmdir(dir) && errno != ENOENT && errno != ENOTEMPTY && !err)
		err = -errno;
	return err;
}

static int ensure_bpffs(struct blknotify_queue *q, const char *dir)
{
	struct statfs st;

	if (statfs(BPFFS, &st) == 0 && st.f_type == BPF_FS_MAGIC_)
		return 0;
	if (strncmp(dir, BPFFS "/", strlen(BPFFS "/")))
		return 0;	/* elsewhere: the caller mounted it, or mkdir says */
	if (mount("bpf", BPFFS, "bpf", 0, NULL))
		return queue_set_error(q, errno, "bpffs is not mounted at " BPFFS " and could "
				       "not be mounted (%s): mount -t bpf bpf " BPFFS,
				       strerror(errno));
	return 0;
}

/*
 * Pin maps and link under q->pin_path, and leave the program attached at
 * exit.  The link is pinned last: its presence says the directory is
 * complete (one without it is stale, see bpf_start()).  Whatever a failure
 * leaves is removed again.  Failing to pin is no reason to give up BPF (a
 * kernel before 5.15 cannot pin a tracepoint link, bpffs may be read-only):
 * the queue then runs unpinned, and the next start reports the time in
 * between as loss.  Never fails.
 */
static void pin(struct blknotify_queue *q, struct source_bpf *s, bool use_complete)
{
	struct bpf_link *link = use_complete ? s->skel->links.block_rq_complete :
					       s->skel->links.block_rq_error;
	struct bpf_map *maps[] = { s->skel->maps.events, s->skel->maps.config, s->skel->maps.bss };
	char path[PATH_MAX];
	size_t i;
	int err = 0;

	if (mkdir(q->pin_path, 0700) && errno != EEXIST) {
		err = -errno;
		snprintf(path, sizeof(path), "%s", q->pin_path);
	}
	if (!err && (err = source_bpf_bio_pin(s->skel, q->pin_path)))
		snprintf(path, sizeof(path), "%s/bio_link", q->pin_path);
	if (!err && (err = bpf_slow_pin(s->skel, &s->slow, q->pin_path)))
		snprintf(path, sizeof(path), "%s/slow_*", q->pin_path);
	if (!err)
		source_bpf_detail_pin(s->skel, q->pin_path);
	for (i = 0; i < NR_PINS && !err; i++) {
		err = pin_file(path, sizeof(path), q->pin_path, pin_names[i]);
		if (!err)
			err = i < NR_PINS - 1 ? bpf_map__pin(maps[i], path) : bpf_link__pin(link, path);
	}
	if (!err) {
		bpf_link__disconnect(link);	/* destroy must not detach it */
		source_bpf_bio_disconnect(s->skel);
		bpf_slow_disconnect(s->skel, &s->slow);
		s->pinned = true;
		return;
	}
	source_bpf_unpin(q->pin_path);
	fprintf(stderr, "blknotify: cannot pin the BPF queue at %s (%s; tracepoint links pin "
		"since Linux 5.15): running unpinned, so the next start reports the time in "
		"between as loss\n", path, strerror(-err));
}

static int pinned_fd(struct blknotify_queue *q, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (pin_file(path, sizeof(path), q->pin_path, name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/*
 * The lifecycle hooks' links die with the process that loaded them (only
 * the error program's link is pinned): a queue taken over from pins gets
 * them again, a second instance of the object with only the hooks, on the
 * pinned ring, config and counters.  Never fails the queue (as at a fresh
 * load, the kernel may refuse them; then it says so once).
 */
static void lifecycle_hooks_resume(struct blknotify_queue *q, struct source_bpf *s, int bss_fd)
{
	static bool said;
	struct blknotify_bpf *h = blknotify_bpf__open();
	size_t limit = (size_t)q->size * BN_RECORD_SLOT + BN_LOSS_SLOT;
	struct bpf_program *prog;
	libbpf_print_fn_t old;
	int err;

	if (!h)
		return;
	limit = limit < s->ring_size ? limit : s->ring_size;
	h->rodata->limit_bytes = limit;
	h->rodata->wake_backlog = limit / 2 < 256 * BN_RECORD_SLOT ? limit / 2 : 256 * BN_RECORD_SLOT;
	bpf_map__set_max_entries(h->maps.events, s->ring_size);
	err = bpf_map__reuse_fd(h->maps.events, s->ring_fd) ?:
	      bpf_map__reuse_fd(h->maps.config, s->config_fd) ?:
	      bpf_map__reuse_fd(h->maps.bss, bss_fd);
	bpf_object__for_each_program(prog, h->obj)
		bpf_program__set_autoload(prog, false);
	bpf_program__set_autoload(h->progs.lc_disk_dead, true);
	bpf_program__set_autoload(h->progs.lc_roset_entry, true);
	bpf_program__set_autoload(h->progs.lc_roset_exit, true);
	lifecycle_hooks(h, false);
	old = libbpf_set_print(quiet);
	err = err ?: blknotify_bpf__load(h);
	libbpf_set_print(old);
	if (err) {
		if (!said)
			fprintf(stderr, "blknotify: the queue pinned at %s runs without the lifecycle "
				"hooks (%s): no records of disks marked dead or made read-only by "
				"BLKROSET\n", q->pin_path, strerror(-err));
		said = true;
		blknotify_bpf__destroy(h);
		return;
	}
	lifecycle_hooks(h, true);
	s->hooks = h;
}

/* Take over a queue pinned by an earlier process (it may have records). */
static int resume(struct blknotify_queue *q, struct source_bpf *s)
{
	struct bpf_map_info ring = {}, config = {}, bss = {};
	struct bpf_link_info link = {};
	__u32 len;
	int link_fd, bss_fd, err;

	s->own_fds = true;
	s->ring_fd = pinned_fd(q, "events");
	s->config_fd = pinned_fd(q, "config");
	bss_fd = pinned_fd(q, "bss");
	link_fd = pinned_fd(q, "link");
	err = s->ring_fd < 0 ? s->ring_fd : s->config_fd < 0 ? s->config_fd :
	      bss_fd < 0 ? bss_fd : link_fd < 0 ? link_fd : 0;
	if (!err) {
		len = sizeof(ring);
		err = bpf_obj_get_info_by_fd(s->ring_fd, &ring, &len);
		len = sizeof(config);
		err = err ?: bpf_obj_get_info_by_fd(s->config_fd, &config, &len);
		len = sizeof(bss);
		err = err ?: bpf_obj_get_info_by_fd(bss_fd, &bss, &len);
		len = sizeof(link);
		err = err ?: bpf_obj_get_info_by_fd(link_fd, &link, &len);
		err = err ? -errno : 0;
	}
	if (!err && (ring.type != BPF_MAP_TYPE_RINGBUF ||
		     config.value_size != sizeof(struct bn_config) ||
		     bss.value_size != sizeof(struct blknotify_bpf__bss)))
		err = -ESTALE;
	if (!err) {
		s->ring_size = ring.max_entries;
		s->bss_map_size = (bss.value_size + s->page_size - 1) & ~(s->page_size - 1);
		s->bss = mmap(NULL, s->bss_map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			      bss_fd, 0);
		if (s->bss == MAP_FAILED) {
			s->bss = NULL;
			err = -errno;
		}
	}
	if (!err) {
		s->prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
		err = s->prog_fd < 0 ? -errno : bpf_update(q);
	}
	if (!err)
		lifecycle_hooks_resume(q, s, bss_fd);
	if (bss_fd >= 0)
		close(bss_fd);
	if (link_fd >= 0)
		close(link_fd);	/* the pin keeps it attached */
	if (err == -ESTALE)
		return queue_set_error(q, ESTALE,
			"the BPF queue pinned at %s was made by an incompatible version "
			"of blknotify: remove it (rm -r %s) to start afresh; the records "
			"still queued in it are then lost", q->pin_path, q->pin_path);
	if (err)
		return queue_set_error(q, -err, "taking over the BPF queue pinned at %s: %s",
				       q->pin_path, strerror(-err));
	s->pinned = true;
	return 0;
}

/* Close what resume() opened (also after it failed, so that a fresh load can follow). */
static void forget_resumed(struct source_bpf *s)
{
	if (s->bss)
		munmap(s->bss, s->bss_map_size);
	if (s->ring_fd >= 0)
		close(s->ring_fd);
	if (s->config_fd >= 0)
		close(s->config_fd);
	if (s->prog_fd >= 0)
		close(s->prog_fd);
	s->bss = NULL;
	s->bss_map_size = 0;
	s->ring_fd = s->config_fd = s->prog_fd = -1;
	s->own_fds = false;
	s->pinned = false;
}

/* Whether any of a queue's pins is in directory dir. */
static bool has_pins(const char *dir)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < NR_PINS; i++)
		if (!pin_file(path, sizeof(path), dir, pin_names[i]) && exists(path))
			return true;
	return false;
}

/*
 * Take over the queue pinned at q->pin_path, or load one and pin it there.
 * A directory with some pins but not all is what a failed or killed start
 * left: removed (its records, if any, cannot be read) and loaded afresh.
 */
static int start_pinned(struct blknotify_queue *q, struct source_bpf *s, bool use_complete)
{
	char link_path[PATH_MAX];
	int err;

	if (pin_file(link_path, sizeof(link_path), q->pin_path, "link"))
		return queue_set_error(q, ENAMETOOLONG, "pin path too long: %s", q->pin_path);
	if (ensure_bpffs(q, q->pin_path)) {
		/* Nothing can be pinned there, so nothing was: run unpinned. */
		fprintf(stderr, "blknotify: %s; running unpinned\n", q->error);
		q->error[0] = '\0';
		return load_fresh(q, s, use_complete);
	}
	if (exists(link_path) && (err = source_bpf_bio_match_pinned(q)))
		return err;
	if (exists(link_path)) {
		err = resume(q, s);
		if (!err)
			err = bpf_slow_resume(q, s->bss, &s->slow);
		if (err != -ENOENT)
			return err;
		forget_resumed(s);	/* a pin beside the link is missing */
		q->error[0] = '\0';
	}
	if (has_pins(q->pin_path)) {
		fprintf(stderr, "blknotify: %s holds an incomplete BPF queue (an earlier start "
			"failed or was killed while pinning): removing it and starting afresh\n",
			q->pin_path);
		err = source_bpf_unpin(q->pin_path);
		if (err)
			return queue_set_error(q, -err, "removing the incomplete BPF queue at %s: "
					       "%s; remove it by hand (rm -r %s)", q->pin_path,
					       strerror(-err), q->pin_path);
	}
	err = load_fresh(q, s, use_complete);
	if (!err)
		pin(q, s, use_complete);
	return err;
}

/*
 * Count the errors the kernel traces for our watches but runs no program
 * for (lib/reconcile.c).  Only on block_rq_error: on the fallback, ftrace
 * would cost every completion.  Without tracefs instances, without.
 */
static int start_reconcile(struct blknotify_queue *q, struct source_bpf *s, const char *tdir)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if ((q->flags & BLKNOTIFY_QUEUE_BPF_NO_RECONCILE) ||
	    bpf_obj_get_info_by_fd(s->prog_fd, &info, &len) ||
	    strncmp(info.name, "block_rq_error", sizeof(info.name)))
		return 0;
	s->recon = reconcile_open(tdir, info.id, &q->config, &s->bss->reconcile,
				  &s->bss->counters.watched);
	return s->recon ? queue_watch_fd(q, reconcile_fd(s->recon)) : 0;
}

static int bpf_start(struct blknotify_queue *q)
{
	bool use_complete = q->flags & BLKNOTIFY_QUEUE_BPF_COMPLETE;
	struct source_bpf *s;
	const char *tdir;
	int err;

	if (!bpf_capable_process())
		return queue_set_error(q, EPERM,
			"loading BPF needs root, or CAP_BPF and CAP_PERFMON "
			"(CAP_SYS_ADMIN before Linux 5.8): run as root, or read through "
			"the daemon (start blknotifyd; use --source daemon)");
	if (!exists("/sys/kernel/btf/vmlinux"))
		return queue_set_error(q, EOPNOTSUPP,
			"this kernel has no BTF (/sys/kernel/btf/vmlinux is missing; it "
			"needs CONFIG_DEBUG_INFO_BTF=y), so the BPF program cannot be "
			"relocated here: use the kmsg source (--source kmsg)");
	tdir = tracing_dir(q);
	if (!tdir)
		return -ENOENT;
	if (!tracepoint_exists(tdir, "block_rq_error"))
		use_complete = true;
	if (use_complete && !tracepoint_exists(tdir, "block_rq_complete"))
		return queue_set_error(q, ENOENT,
			"this kernel has neither block:block_rq_error nor "
			"block:block_rq_complete under %s/events/block (block layer "
			"tracing is off: CONFIG_BLK_DEV_IO_TRACE / CONFIG_TRACEPOINTS): "
			"use the kmsg source (--source kmsg)", tdir);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ring_fd = s->config_fd = s->timer_fd = s->kick_fd = s->prog_fd = -1;
	s->page_size = sysconf(_SC_PAGESIZE);
	bpf_slow_init(&s->slow);
	source_bpf_detail_progs_init(&s->detail);
	q->priv = s;

	err = q->pin_path ? start_pinned(q, s, use_complete) : load_fresh(q, s, use_complete);
	if (err)
		return err;
	if (s->skel)
		source_bpf_detail_progs_from_skel(&s->detail, s->skel);
	else
		source_bpf_detail_progs_from_pins(&s->detail, q->pin_path);

	err = map_ring(q, s);
	if (err)
		return err;
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timer_fd < 0)
		return queue_set_error(q, errno, "timerfd_create: %s", strerror(errno));
	s->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->kick_fd < 0)
		return queue_set_error(q, errno, "eventfd: %s", strerror(errno));
	err = queue_watch_fd(q, s->ring_fd);
	if (!err)
		err = queue_watch_fd(q, s->timer_fd);
	if (!err)
		err = queue_watch_fd(q, s->kick_fd);
	if (!err)
		err = start_reconcile(q, s, tdir);
	if (err)
		return queue_set_error(q, -err, "epoll: %s", strerror(-err));
	lifecycle_start(q);
	return 0;
}

static __u64 monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
}

/*
 * The program queues records without a wake-up while it is within
 * wake_interval_ns of its last wake-up (a storm, see submit_flags()).  After
 * a read, if that window is still open, a timer makes sure the reader looks
 * again once it has closed: whatever the program deferred in the window is
 * then read, and anything after the window wakes the reader itself.  This
 * covers a record that was still being written when the read looked at it,
 * too.
 *
 * Arming the timer costs the reader about 10 µs on a virtual machine (the
 * clock event device is reprogrammed), so a read that returns records does
 * not arm it on the way out: it makes the queue's fd readable at once with
 * the eventfd instead (cheap), and the next read, which the caller makes
 * right away or after its next poll, arms the timer.  The records are the
 * caller's before the timer costs anything.
 */
static void arm_batch_timer(struct source_bpf *s, bool returned_records)
{
	__u64 last = __atomic_load_n(&s->bss->last_wake_ns, __ATOMIC_ACQUIRE);
	__u64 when = last + BN_WAKE_INTERVAL_NS + BN_WAKE_INTERVAL_NS / 4;
	struct itimerspec its = {};

	if (monotonic_ns() >= last + BN_WAKE_INTERVAL_NS || s->timer_due == when)
		return;
	if (returned_records) {
		if (!s->kicked && eventfd_write(s->kick_fd, 1) == 0)
			s->kicked = true;
		if (s->kicked)
			return;
	}
	its.it_value.tv_sec = when / 1000000000ULL;
	its.it_value.tv_nsec = when % 1000000000ULL;
	if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		s->timer_due = when;
}

/* Clear the readiness of the timer (once expired) and of the eventfd. */
static int clear_wakeups(struct source_bpf *s)
{
	eventfd_t v;

	if (s->kicked) {
		if (eventfd_read(s->kick_fd, &v) < 0 && errno != EAGAIN)
			return -errno;
		s->kicked = false;
	}
	if (s->timer_due && monotonic_ns() >= s->timer_due) {
		if (read(s->timer_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -errno;
		s->timer_due = 0;
	}
	return 0;
}

/*
 * Errors the program never saw.  The kernel runs at most one tracing BPF
 * program per CPU at a time: a completion that interrupts a BPF program (an
 * I/O completed in softirq context while a program runs in task context on
 * that CPU) skips every program on its tracepoint and only counts it in
 * each program's recursion_misses.  Those are errors this queue lost, so
 * they are reported as loss, like a full queue.
 */
static __u64 new_misses(struct source_bpf *s)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	__u64 n;

	if (bpf_obj_get_info_by_fd(s->prog_fd, &info, &len) ||
	    len < offsetofend(struct bpf_prog_info, recursion_misses))
		return 0;	/* kernels before 5.12 do not count them */
	/* The baseline lives in the queue (pinned with it): a new owner
	 * must not report what the old one did. */
	n = info.recursion_misses - s->bss->reported_misses;
	s->bss->reported_misses = info.recursion_misses;
	return n;
}

/*
 * Lifecycle records from uevents (lifecycle.c) go out before the ring
 * record n when they were received before n's error completed (n NULL: the
 * ring is empty, all of them), with the loss the program counted so far
 * reported before them.  Copies into buf at *done; returns true when some
 * are still due before n (buf is full), so that n waits.
 */
static bool lifecycle_before(struct blknotify_queue *q, struct source_bpf *s,
			     const struct watch_notification *n, void *buf, size_t len,
			     size_t *done)
{
	__u64 t = UINT64_MAX;
	ssize_t r;

	if (n && n->type == WATCH_TYPE_BLOCK_NOTIFY &&
	    (n->info & WATCH_INFO_LENGTH) >= BLOCK_NOTIFICATION_SIZE_V1)
		t = ((const struct block_notification *)n)->time_ns;
	else if (n)
		return false;	/* a loss record: it belongs before what follows it */
	if (!lifecycle_due(q, t) && q->pending_off == q->pending_len)
		return false;
	q->pending_loss += __atomic_exchange_n(&s->bss->counters.pending_loss, 0,
					       __ATOMIC_SEQ_CST);
	r = lifecycle_read_before(q, t, (char *)buf + *done, len - *done);
	if (r > 0)
		*done += (size_t)r;
	return lifecycle_due(q, t) || q->pending_off < q->pending_len;
}

static ssize_t bpf_read(struct blknotify_queue *q, void *buf, size_t len)
{
	struct source_bpf *s = q->priv;
	unsigned long cons, prod;
	size_t done = 0;
	int err;

	/* The ring is what we read; the other fds only woke us. */
	err = clear_wakeups(s);
	if (err)
		return err;

	/* Lifecycle records merge with the ring's by time (lifecycle_before()). */
	lifecycle_poll(q);
	cons = *s->consumer_pos;
	prod = __atomic_load_n(s->producer_pos, __ATOMIC_ACQUIRE);
	while (cons < prod) {
		const __u32 *hdr = (const __u32 *)(s->data + (cons & (s->ring_size - 1)));
		__u32 hlen = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		__u32 rlen = hlen & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);

		if (hlen & BPF_RINGBUF_BUSY_BIT)
			break;		/* reserved, not yet submitted */
		if (!(hlen & BPF_RINGBUF_DISCARD_BIT)) {
			const struct watch_notification *n = (const void *)(hdr + 2);
			size_t ll;

			if (lifecycle_before(q, s, n, buf, len, &done)) {
				if (!done)
					return -ENOBUFS;
				break;
			}
			ll = q->pending_loss ? sizeof(struct block_notification_loss) : 0;
			/* Our own program wrote it; trust, but never copy a
			 * record whose header disagrees with its sample: it
			 * is lost, and counted, in order. */
			if ((n->info & WATCH_INFO_LENGTH) != rlen) {
				q->pending_loss++;
			} else if (ll + rlen > len - done) {
				if (!done)
					return -ENOBUFS;
				break;
			} else {
				if (ll)
					bn_make_loss((void *)((char *)buf + done), q->pending_loss);
				q->pending_loss = 0;
				lifecycle_note(q, n);
				memcpy((char *)buf + done + ll, n, rlen);
				done += ll + rlen;
			}
		}
		cons += (rlen + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
		__atomic_store_n(s->consumer_pos, cons, __ATOMIC_RELEASE);
	}

	if (cons == prod && lifecycle_before(q, s, NULL, buf, len, &done) && !done)
		return -ENOBUFS;
	if (!done && cons == prod) {
		/*
		 * The ring is empty.  Loss the program counted but could not
		 * report in order (no record followed it), and errors it never
		 * saw, are reported now, after every queued record.  (Not while
		 * a record is still being written at the head: it came first.)
		 */
		__u64 n = __atomic_exchange_n(&s->bss->counters.pending_loss, 0,
					      __ATOMIC_SEQ_CST);

		__u64 misses = new_misses(s);

		/* With the reconciliation, misses on our watches are in its
		 * count (and those on other devices are not our loss). */
		n += q->pending_loss + (s->recon ? reconcile_check(s->recon) : misses) +
		     bpf_slow_new_misses(&s->slow, s->bss) +
		     source_bpf_detail_new_misses(&s->detail, (struct bpf_detail_baseline){
				&s->bss->detail_reported_misses, &s->bss->detail_only_misses });
		q->pending_loss = 0;
		if (n) {
			if (len < sizeof(struct block_notification_loss)) {
				q->pending_loss = n;
				return -ENOBUFS;
			}
			bn_make_loss(buf, n);
			done = sizeof(struct block_notification_loss);
		}
	}
	arm_batch_timer(s, done > 0);
	return done ? (ssize_t)done : -EAGAIN;
}

static void bpf_stop(struct blknotify_queue *q)
{
	struct source_bpf *s = q->priv;

	if (!s)
		return;
	if (s->producer_pos)
		munmap((void *)s->producer_pos, s->page_size + 2 * s->ring_size);
	if (s->consumer_pos)
		munmap(s->consumer_pos, s->page_size);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->kick_fd >= 0)
		close(s->kick_fd);
	reconcile_close(s->recon, !s->pinned);
	if (s->own_fds)
		forget_resumed(s);
	bpf_slow_close(&s->slow);
	source_bpf_detail_progs_close(&s->detail);
	lifecycle_stop(q);
	blknotify_bpf__destroy(s->hooks);
	/* Detaches the program unless it was pinned (pin() disconnected it). */
	blknotify_bpf__destroy(s->skel);
	free(s);
	q->priv = NULL;
}

bool source_bpf_lifecycle_hooks(const struct blknotify_queue *q)
{
	const struct source_bpf *s = q->priv;

	const struct blknotify_bpf *k = s ? (s->skel ? s->skel : s->hooks) : NULL;

	return q->ops == &source_bpf_ops && k && k->links.lc_disk_dead && k->links.lc_roset_exit;
}

int source_bpf_prog_fd(const struct blknotify_queue *q)
{
	const struct source_bpf *s = q->priv;

	return q->ops == &source_bpf_ops && s ? s->prog_fd : -1;
}

int source_bpf_bio_prog_fd(const struct blknotify_queue *q)
{
	const struct source_bpf *s = q->priv;

	return q->ops == &source_bpf_ops && s && s->skel &&
	       s->skel->links.block_bio_complete ?
	       bpf_program__fd(s->skel->progs.block_bio_complete) : -1;
}

int source_bpf_slow_prog_fd(const struct blknotify_queue *q, int which)
{
	const struct source_bpf *s = q->priv;

	return q->ops == &source_bpf_ops && s && which >= 0 && which < 2 ?
	       s->slow.prog_fd[which] : -1;
}

int source_bpf_detail_fds(const struct blknotify_queue *q, int *fds, int max)
{
	const struct source_bpf *s = q->priv;

	return q->ops == &source_bpf_ops && s ? source_bpf_detail_prog_fds(s->skel, fds, max) : 0;
}

__u64 source_bpf_detail_misses_of(const struct blknotify_queue *q)
{
	const struct source_bpf *s = q->priv;

	return q->ops == &source_bpf_ops && s ? source_bpf_detail_misses(&s->detail) : 0;
}

const struct source_ops source_bpf_ops = {
	.start = bpf_start,
	.update = bpf_update,
	.read = bpf_read,
	.stop = bpf_stop,
};
