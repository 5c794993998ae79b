// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The bpf source's transport-detail programs (bpf/detail.bpf.h, scsi.bpf.h,
 * nvme.bpf.h): which of them this kernel can run, attaching them, pinning
 * their links beside the queue's.
 *
 * Each program is an fentry on a function of the SCSI or NVMe core that runs
 * only for a failed command.  Whether the function is there is read from the
 * running kernel's BTF (vmlinux, or the module's, /sys/kernel/btf/MODULE),
 * never from the version: a function that a kernel renamed or inlined has no
 * BTF entry, and its program is not loaded.  The block-layer record then
 * comes without the detail (transport NONE), and the reason is logged once,
 * when the queue starts, if the transport's module is loaded at all.
 *
 * A module loaded after the queue started (scsi_mod, nvme_core) is not seen:
 * fentry needs its BTF at load time.  Disks are normally probed before the
 * daemon starts; otherwise restart it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "queue.h"
#include "blknotify.bpf.h"
#include "blknotify.skel.h"
#include "source-bpf-detail.h"

struct detail_prog {
	const char *transport;	/* for the log */
	const char *module;	/* where the function is when not built in */
	const char *func;	/* the fentry target */
	const char *alt_of;	/* attach only if this other func is missing */
	bool per_completion;	/* runs for every completion: only with BLKNOTIFY_QUEUE_BPF_NVME_STATUS */
	size_t prog_off;	/* offsetof(struct blknotify_bpf, progs.X) */
	size_t link_off;	/* offsetof(struct blknotify_bpf, links.X) */
};

#define P(tr, mod, fn, alt, name) PC(tr, mod, fn, alt, false, name)
#define PC(tr, mod, fn, alt, pc, name) { tr, mod, fn, alt, pc,				\
	offsetof(struct blknotify_bpf, progs.name), offsetof(struct blknotify_bpf, links.name) }

static const struct detail_prog detail_progs[] = {
	P("SCSI", "scsi_mod", "scsi_check_sense", NULL, bn_scsi_check_sense),
	P("SCSI", "scsi_mod", "__scsi_queue_insert", NULL, bn_scsi_queue_insert),
	P("SCSI", "scsi_mod", "scsi_queue_insert", "__scsi_queue_insert",
	  bn_scsi_queue_insert_exported),
	P("SCSI", "scsi_mod", "scsi_timeout", NULL, bn_scsi_timeout),
	P("NVMe", "nvme_core", "nvme_retry_req", NULL, bn_nvme_retry_req),
	PC("NVMe", "nvme_core", "nvme_complete_rq", NULL, true, bn_nvme_complete_rq),
};
#define NR_DETAIL_PROGS	(sizeof(detail_progs) / sizeof(detail_progs[0]))

static struct bpf_program *prog_of(struct blknotify_bpf *skel, const struct detail_prog *p)
{
	return *(struct bpf_program **)((char *)skel + p->prog_off);
}

static struct bpf_link **link_of(struct blknotify_bpf *skel, const struct detail_prog *p)
{
	return (struct bpf_link **)((char *)skel + p->link_off);
}

/* Whether FUNC is a function in the BTF of vmlinux or of MODULE. */
static bool btf_has_func(struct btf *vmlinux, const char *module, const char *func,
			 bool *module_loaded)
{
	struct btf *mod;
	bool found;

	if (vmlinux && btf__find_by_name_kind(vmlinux, func, BTF_KIND_FUNC) > 0)
		return true;
	if (!vmlinux || !module)
		return false;
	mod = btf__load_module_btf(module, vmlinux);
	if (!mod)
		return false;
	*module_loaded = true;
	found = btf__find_by_name_kind(mod, func, BTF_KIND_FUNC) > 0;
	btf__free(mod);
	return found;
}

static bool func_present(struct btf *vmlinux, const char *module, const char *func,
			 bool *module_loaded)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	if (access(path, F_OK) == 0)
		*module_loaded = true;
	return btf_has_func(vmlinux, module, func, module_loaded);
}

int source_bpf_detail_setup(struct blknotify_bpf *skel, bool enable, bool per_completion)
{
	struct btf *vmlinux = enable ? btf__load_vmlinux_btf() : NULL;
	bool present[NR_DETAIL_PROGS] = {}, loaded[NR_DETAIL_PROGS] = {};
	char missing[256] = "";
	size_t i, j, n = 0;

	for (i = 0; i < NR_DETAIL_PROGS; i++)
		present[i] = vmlinux && (per_completion || !detail_progs[i].per_completion) &&
			     func_present(vmlinux, detail_progs[i].module,
						     detail_progs[i].func, &loaded[i]);
	for (i = 0; i < NR_DETAIL_PROGS; i++) {
		const struct detail_prog *p = &detail_progs[i];
		bool on = present[i];
		struct bpf_program *prog = prog_of(skel, p);

		if (on && p->alt_of)
			for (j = 0; j < NR_DETAIL_PROGS; j++)
				if (!strcmp(detail_progs[j].func, p->alt_of) && present[j])
					on = false;
		bpf_program__set_autoload(prog, on);
		bpf_program__set_autoattach(prog, false);	/* source_bpf_detail_attach() */
		n += on;
		if (!present[i] && loaded[i] && !p->alt_of && (per_completion || !p->per_completion)) {
			bool alt = false;

			for (j = 0; j < NR_DETAIL_PROGS; j++)
				if (detail_progs[j].alt_of && !strcmp(detail_progs[j].alt_of, p->func))
					alt = present[j];
			if (!alt)
				snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
					 "%s%s %s()", missing[0] ? ", " : "", p->transport, p->func);
		}
	}
	skel->rodata->detail_on = n > 0;
	if (missing[0])
		fprintf(stderr, "blknotify: this kernel's BTF has no %s (renamed or inlined): "
			"records of those errors carry no device detail\n", missing);
	btf__free(vmlinux);
	return (int)n;
}

int source_bpf_detail_attach(struct blknotify_bpf *skel)
{
	size_t i;
	int n = 0;

	for (i = 0; i < NR_DETAIL_PROGS; i++) {
		const struct detail_prog *p = &detail_progs[i];
		struct bpf_program *prog = prog_of(skel, p);
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			fprintf(stderr, "blknotify: cannot attach to %s() (%s): records of %s "
				"errors it sees carry no device detail\n", p->func, strerror(errno),
				p->transport);
			continue;
		}
		*link_of(skel, p) = link;
		n++;
	}
	return n;
}

/* Pin names: "detail-" + the function. */
static int detail_pin_path(char *buf, size_t len, const char *dir, const struct detail_prog *p)
{
	return (size_t)snprintf(buf, len, "%s/detail-%s", dir, p->func) >= len ? -ENAMETOOLONG : 0;
}

void source_bpf_detail_pin(struct blknotify_bpf *skel, const char *dir)
{
	char path[4096];
	size_t i;

	for (i = 0; i < NR_DETAIL_PROGS; i++) {
		struct bpf_link *link = *link_of(skel, &detail_progs[i]);

		if (!link || detail_pin_path(path, sizeof(path), dir, &detail_progs[i]))
			continue;
		if (bpf_link__pin(link, path)) {
			fprintf(stderr, "blknotify: cannot pin %s (%s): the next start of this "
				"queue has no device detail from %s()\n", path, strerror(errno),
				detail_progs[i].func);
			continue;
		}
		bpf_link__disconnect(link);
	}
}

void source_bpf_detail_unpin(const char *dir)
{
	char path[4096];
	size_t i;

	for (i = 0; i < NR_DETAIL_PROGS; i++)
		if (!detail_pin_path(path, sizeof(path), dir, &detail_progs[i]))
			unlink(path);
}

int source_bpf_detail_prog_fds(struct blknotify_bpf *skel, int *fds, int max)
{
	size_t i;
	int n = 0;

	for (i = 0; skel && i < NR_DETAIL_PROGS && n < max; i++) {
		struct bpf_program *prog = prog_of(skel, &detail_progs[i]);

		if (bpf_program__autoload(prog) && bpf_program__fd(prog) >= 0)
			fds[n++] = bpf_program__fd(prog);
	}
	return n;
}

/* --- recursion misses, as loss (see source-bpf-detail.h) --- */

_Static_assert(NR_DETAIL_PROGS == SOURCE_BPF_DETAIL_PROGS, "SOURCE_BPF_DETAIL_PROGS");

__u64 source_bpf_detail_fake_misses[2];

/* Hooks that make no record of their own: a skipped run costs detail only. */
static bool detail_only(const struct detail_prog *p)
{
	return !strcmp(p->func, "scsi_timeout") || !strcmp(p->func, "nvme_complete_rq");
}

void source_bpf_detail_progs_init(struct bpf_detail_progs *d)
{
	size_t i;

	for (i = 0; i < NR_DETAIL_PROGS; i++)
		d->fd[i] = -1;
	d->detail_only = 0;
	d->said = false;
}

void source_bpf_detail_progs_from_skel(struct bpf_detail_progs *d, struct blknotify_bpf *skel)
{
	size_t i;

	for (i = 0; skel && i < NR_DETAIL_PROGS; i++) {
		struct bpf_program *prog = prog_of(skel, &detail_progs[i]);

		if (d->fd[i] < 0 && bpf_program__autoload(prog) && bpf_program__fd(prog) >= 0)
			d->fd[i] = fcntl(bpf_program__fd(prog), F_DUPFD_CLOEXEC, 3);
	}
}

void source_bpf_detail_progs_from_pins(struct bpf_detail_progs *d, const char *dir)
{
	char path[4096];
	size_t i;

	for (i = 0; i < NR_DETAIL_PROGS; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int link;

		if (d->fd[i] >= 0 || detail_pin_path(path, sizeof(path), dir, &detail_progs[i]))
			continue;
		link = bpf_obj_get(path);
		if (link < 0)
			continue;	/* not loaded by the first owner, or its pin failed (logged then) */
		if (!bpf_obj_get_info_by_fd(link, &info, &len))
			d->fd[i] = bpf_prog_get_fd_by_id(info.prog_id);
		if (d->fd[i] < 0) {
			d->fd[i] = -1;
			fprintf(stderr, "blknotify: cannot open the program behind %s (%s): its "
				"recursion misses are not counted\n", path, strerror(errno));
		}
		close(link);
	}
}

void source_bpf_detail_progs_close(struct bpf_detail_progs *d)
{
	size_t i;

	for (i = 0; i < NR_DETAIL_PROGS; i++)
		if (d->fd[i] >= 0)
			close(d->fd[i]);
	source_bpf_detail_progs_init(d);
}

__u64 source_bpf_detail_misses_step(__u64 *baseline, __u64 total)
{
	__u64 n = total >= *baseline ? total - *baseline : 0;

	*baseline = total;
	return n;
}

__u64 source_bpf_detail_new_misses(struct bpf_detail_progs *d, struct bpf_detail_baseline b)
{
	__u64 lost = 0, only = 0, n;
	size_t i, open = 0;

	for (i = 0; i < NR_DETAIL_PROGS; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (d->fd[i] < 0)
			continue;
		open++;
		if (bpf_obj_get_info_by_fd(d->fd[i], &info, &len) ||
		    len < offsetof(struct bpf_prog_info, recursion_misses) +
			  sizeof(info.recursion_misses))
			return 0;	/* kernels before 5.12 do not count them */
		if (detail_only(&detail_progs[i]))
			only += info.recursion_misses;
		else
			lost += info.recursion_misses;
	}
	/* Tests: counts added as if a loaded program had them. */
	lost += source_bpf_detail_fake_misses[0];
	only += source_bpf_detail_fake_misses[1];
	open += source_bpf_detail_fake_misses[0] || source_bpf_detail_fake_misses[1];
	if (!open)
		return 0;	/* none loaded: the baselines stay as they are */
	n = source_bpf_detail_misses_step(b.detail_only, only);
	d->detail_only += n;
	if (n && !d->said) {
		fprintf(stderr, "blknotify: the kernel skipped %llu run(s) of the transport-detail "
			"hooks scsi_timeout()/nvme_complete_rq() (another BPF program ran on that "
			"CPU): as many error records may carry no device detail (said once per "
			"queue; the records themselves are not lost)\n", (unsigned long long)n);
		d->said = true;
	}
	return source_bpf_detail_misses_step(b.lost, lost);
}

__u64 source_bpf_detail_misses(const struct bpf_detail_progs *d)
{
	return d->detail_only;
}
