/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NVMe transport detail (nvme_core).  The status of a failed command is in
 * the request's nvme_request (the driver's part of the request, right after
 * it): status is the completion queue entry's status field without the
 * phase bit (SC, SCT, CRD, More, DNR), as the record's status holds it.
 *
 *   nvme_retry_req(req)   the kernel retries the command (the status had no
 *                         DNR, retries were left): a NOTIFY_BLOCK_SOFT_RETRY
 *                         record.  Error-only.  A function of its own in
 *                         6.12's BTF; inlined into nvme_complete_rq() on 6.1,
 *                         so 6.1 has no NVMe retry records (logged).
 *   nvme_complete_rq(req) every NVMe completion: so opt-in
 *                         (BLKNOTIFY_QUEUE_BPF_NVME_STATUS).  Returns at once
 *                         for a successful one; for a failed one it notes the
 *                         status for the block_rq_error record.  (Not
 *                         nvme_end_req(): 6.1 declares it inline, which the
 *                         kernel makes notrace, so fentry cannot attach.)
 *                         NVMe has no error-only point for the final error on
 *                         these kernels: nvme_log_error() is inlined (6.1,
 *                         6.12), and the block layer's hooks have no status.
 *
 * NVMe has no "recovered error" status (the spec's error log and SMART
 * counters carry that, not a completion): no NOTIFY_BLOCK_SOFT_RECOVERED.
 */
#ifndef BLKNOTIFY_NVME_BPF_H
#define BLKNOTIFY_NVME_BPF_H

struct nvme_request___x {
	void *cmd;		/* struct nvme_command: opcode at byte 0, command_id at 2 (the spec's layout) */
	__u8 retries;
	__u16 status;
} __attribute__((preserve_access_index));

static __always_inline const struct nvme_request___x *nvme_pdu(const struct request___x *rq)
{
	return (const void *)((const char *)rq + bpf_core_type_size(struct request___x));
}

/* The request's NVMe status into its entry; NULL if it succeeded. */
static __always_inline struct bn_detail *nvme_note(const struct request___x *rq, int retrying)
{
	const struct nvme_request___x *nr = nvme_pdu(rq);
	__u16 status = BPF_CORE_READ(nr, status);
	__u8 cmd[4] = {};
	struct bn_detail *d;

	if (!status)
		return NULL;
	d = detail_entry(rq, BLOCK_NOTIFY_TRANSPORT_NVME);
	if (!d)
		return NULL;
	bpf_probe_read_kernel(cmd, sizeof(cmd), BPF_CORE_READ(nr, cmd));
	d->status = status;
	d->opcode = cmd[0];
	d->command_id = cmd[2] | cmd[3] << 8;	/* little endian */
	/* nvme_retry_req() counts the retry after this runs. */
	d->retries = BPF_CORE_READ(nr, retries) + (retrying ? 1 : 0);
	d->detail |= BLOCK_NOTIFY_D_STATUS | BLOCK_NOTIFY_D_RETRIES;
	return d;
}

SEC("fentry/nvme_retry_req")
int bn_nvme_retry_req(__u64 *ctx)
{
	const struct request___x *rq = (const void *)ctx[0];
	struct bn_detail *d = nvme_note(rq, 1), copy;

	if (!d)
		return 0;
	copy = *d;
	detail_soft(rq, &copy, NOTIFY_BLOCK_SOFT_RETRY);
	return 0;
}

SEC("fentry/nvme_complete_rq")
int bn_nvme_complete_rq(__u64 *ctx)
{
	nvme_note((const void *)ctx[0], 0);
	return 0;
}

#endif /* BLKNOTIFY_NVME_BPF_H */
