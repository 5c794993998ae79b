// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Loader side of the bpf source's opt-in bio program (bpf/bio.bpf.h): errors
 * that bio-based devices (device-mapper, md, ...) complete without a failed
 * request.  The program runs on block:block_bio_complete, that is on every
 * bio, so it is loaded only for queues opened with BLKNOTIFY_QUEUE_BPF_BIO.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "queue.h"
#include "source-bpf-bio.h"
#include "blknotify.bpf.h"
#include "blknotify.skel.h"

#define KALLSYMS	"/proc/kallsyms"
#define STATUS_TABLE	"blk_errors"
#define STATUS_MAX	256		/* blk_status_t is a u8 */
#define BIO_LINK_PIN	"bio_link"

/*
 * The kernel's blk_errors[] (what blk_status_to_errno() reads): its
 * address, and how many entries fit before the next symbol.  Static data is
 * in kallsyms only with CONFIG_KALLSYMS_ALL (Debian, Fedora and Ubuntu set
 * it); addresses read as 0 without the privilege to see them.  Returns
 * false when it is not there.
 */
static bool find_status_table(unsigned long long *addr, unsigned int *nr, unsigned int *stride)
{
	unsigned long long a, next = 0;
	char line[512], name[128], type;
	bool found = false;
	FILE *f;

	f = fopen(KALLSYMS, "re");
	if (!f)
		return false;
	*addr = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %127s", &a, &type, name) != 3)
			continue;
		if (found) {
			if (a > *addr) {
				next = a;
				break;
			}
			continue;
		}
		if (!strcmp(name, STATUS_TABLE) && !strchr(line, '[')) {
			found = true;
			*addr = a;
		}
	}
	fclose(f);
	if (!found || !*addr)
		return false;
	/* struct { int errno; const char *name; }: two words of the kernel's. */
	*stride = *addr > 0xffffffffULL ? 16 : 8;
	*nr = next ? (next - *addr) / *stride : STATUS_MAX;
	if (*nr > STATUS_MAX)
		*nr = STATUS_MAX;
	return *nr > 0;
}

/*
 * Whether the running kernel can take the program, checked in its BTF; if
 * not, why, in why.
 */
static bool kernel_can(char *why, size_t len)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_member *m;
	bool bdev = false;
	int id, i;

	if (!btf) {
		snprintf(why, len, "the kernel's BTF cannot be read (%s)", strerror(errno));
		return false;
	}
	if (btf__find_by_name_kind(btf, "btf_trace_block_bio_complete", BTF_KIND_TYPEDEF) < 0) {
		snprintf(why, len, "this kernel has no block:block_bio_complete tracepoint in its "
			 "BTF (CONFIG_BLK_DEV_IO_TRACE off?)");
		btf__free(btf);
		return false;
	}
	id = btf__find_by_name_kind(btf, "bio", BTF_KIND_STRUCT);
	if (id >= 0) {
		t = btf__type_by_id(btf, id);
		m = btf_members(t);
		for (i = 0; i < btf_vlen(t); i++, m++)
			if (!strcmp(btf__name_by_offset(btf, m->name_off), "bi_bdev"))
				bdev = true;
	}
	btf__free(btf);
	if (!bdev)
		snprintf(why, len, "this kernel's struct bio has no bi_bdev (it came in Linux 5.12)");
	return bdev;
}

static bool told_no_table, told_no_kernel;

int source_bpf_bio_prepare(struct blknotify_queue *q, struct blknotify_bpf *skel)
{
	bool on = q->flags & BLKNOTIFY_QUEUE_BPF_BIO;
	unsigned long long addr;
	unsigned int nr, stride;

	char why[160];

	if (on && !kernel_can(why, sizeof(why))) {
		/* The request records do not depend on it: go on without. */
		if (!__atomic_test_and_set(&told_no_kernel, __ATOMIC_RELAXED))
			fprintf(stderr, "blknotify: bio errors are not reported: %s; the "
				"request records are\n", why);
		on = false;
	}
	bpf_program__set_autoload(skel->progs.block_bio_complete, on);
	if (!on)
		return 0;
	if (find_status_table(&addr, &nr, &stride)) {
		skel->rodata->bio_status_table = addr;
		skel->rodata->bio_status_nr = nr;
		skel->rodata->bio_status_stride = stride;
	} else if (!__atomic_test_and_set(&told_no_table, __ATOMIC_RELAXED)) {
		/* Once per process: the kernel does not change underneath us. */
		fprintf(stderr, "blknotify: bio errors: the kernel's block status table ("
			STATUS_TABLE ") is not in " KALLSYMS " (CONFIG_KALLSYMS_ALL is off, or "
			"kernel.kptr_restrict hides it): their errno comes from blknotify's copy "
			"of the table, which matches Linux 4.13 to 6.18\n");
	}
	return 0;
}

static int pin_path(char *buf, size_t len, const char *dir)
{
	return (size_t)snprintf(buf, len, "%s/" BIO_LINK_PIN, dir) >= len ? -ENAMETOOLONG : 0;
}

int source_bpf_bio_pin(struct blknotify_bpf *skel, const char *dir)
{
	char path[4096];
	int err;

	if (!skel->links.block_bio_complete)
		return 0;
	err = pin_path(path, sizeof(path), dir);
	if (err)
		return err;
	unlink(path);		/* a stale one, left alone by an interrupted start */
	return bpf_link__pin(skel->links.block_bio_complete, path);
}

void source_bpf_bio_disconnect(struct blknotify_bpf *skel)
{
	if (skel->links.block_bio_complete)
		bpf_link__disconnect(skel->links.block_bio_complete);
}

int source_bpf_bio_unpin(const char *dir)
{
	char path[4096];
	int err = pin_path(path, sizeof(path), dir);

	if (err)
		return err;
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

int source_bpf_bio_match_pinned(struct blknotify_queue *q)
{
	bool want = q->flags & BLKNOTIFY_QUEUE_BPF_BIO, have;
	char path[4096], why[160];
	int err;

	if (pin_path(path, sizeof(path), q->pin_path))
		return 0;	/* start_pinned() reports the long path */
	have = access(path, F_OK) == 0;
	if (want && !have && !kernel_can(why, sizeof(why)))
		return 0;	/* made without it because this kernel cannot */
	if (have == want)
		return 0;
	fprintf(stderr, "blknotify: the BPF queue pinned at %s was made %s bio errors and this "
		"one is asked %s: starting it afresh (records still queued in it are lost)\n",
		q->pin_path, have ? "with" : "without", want ? "with" : "without");
	err = source_bpf_unpin(q->pin_path);
	if (err)
		return queue_set_error(q, -err, "removing the BPF queue pinned at %s: %s; remove "
				       "it by hand (rm -r %s)", q->pin_path, strerror(-err),
				       q->pin_path);
	return 0;
}
