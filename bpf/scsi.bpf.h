/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SCSI transport detail.  Three functions of scsi_mod that run only for a
 * command that did not simply succeed (read in Debian's 6.1 and 6.12, whose
 * module BTF has all three as functions of their own):
 *
 *   scsi_check_sense(scmd)            the command ended in CHECK CONDITION
 *                                     (or GOOD with sense data): the sense
 *                                     data is there to read.  A RECOVERED
 *                                     ERROR sense key gives a
 *                                     NOTIFY_BLOCK_SOFT_RECOVERED record.
 *   __scsi_queue_insert(cmd, ...)     the kernel retries the command
 *                                     (disposition NEEDS_RETRY or
 *                                     ADD_TO_MLQUEUE, the retry actions of
 *                                     scsi_io_completion_action(), the error
 *                                     handler's retries): a
 *                                     NOTIFY_BLOCK_SOFT_RETRY record.
 *                                     (scsi_queue_insert() where the
 *                                     double-underscore one is inlined.)
 *   scsi_timeout(req)                 the block layer's timer fired for it.
 *
 * Each fills the request's entry in `details` (detail.bpf.h): status = host
 * byte << 8 | SCSI status byte, the CDB's opcode, sense key/ASC/ASCQ and the
 * INFORMATION field (the failing LBA, in 512-byte sectors) when the sense
 * data has them, and the number of retries so far.  The user side attaches
 * each only if the running kernel's BTF has it (lib/source-bpf-detail.c).
 */
#ifndef BLKNOTIFY_SCSI_BPF_H
#define BLKNOTIFY_SCSI_BPF_H

struct scsi_device___x {
	unsigned int sector_size;
} __attribute__((preserve_access_index));

struct scsi_cmnd___x {
	struct scsi_device___x *device;
	int retries;
	unsigned char cmnd[32];
	unsigned char *sense_buffer;
	int result;
} __attribute__((preserve_access_index));

/*
 * Older kernels (before commit ce70fd9a551a, "scsi: core: Remove the cmd
 * field from struct scsi_request", 5.19) point at the CDB instead.
 */
struct scsi_cmnd___ptr {
	unsigned char *cmnd;
} __attribute__((preserve_access_index));

#define BN_SAM_STAT_CHECK_CONDITION	0x02
#define BN_SENSE_LEN			32	/* read of the 96-byte buffer: fixed format and the first descriptors */
#define BN_DID_TIME_OUT			0x03

static __always_inline const struct request___x *scsi_rq(const struct scsi_cmnd___x *cmd)
{
	/* blk_mq_rq_from_pdu(): the command lives right after its request. */
	return (const void *)((const char *)cmd - bpf_core_type_size(struct request___x));
}

static __always_inline __u8 scsi_opcode(const struct scsi_cmnd___x *cmd)
{
	if (bpf_core_field_exists(struct scsi_cmnd___ptr, cmnd) &&
	    bpf_core_field_size(struct scsi_cmnd___ptr, cmnd) == sizeof(void *)) {
		const unsigned char *p = BPF_CORE_READ((const struct scsi_cmnd___ptr *)cmd, cmnd);
		__u8 op = 0;

		bpf_probe_read_kernel(&op, 1, p);
		return op;
	}
	return BPF_CORE_READ(cmd, cmnd[0]);
}

static __always_inline __u64 be_bytes(const __u8 *p, int n)
{
	__u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		if (i < n)
			v = v << 8 | p[i];
	return v;
}

/* Sense key, ASC, ASCQ and INFORMATION (SPC-6 4.4) from the sense buffer. */
static __always_inline void scsi_read_sense(const struct scsi_cmnd___x *cmd, struct bn_detail *d)
{
	const unsigned char *sb = BPF_CORE_READ(cmd, sense_buffer);
	__u8 s[BN_SENSE_LEN] = {};
	__u32 block;
	__u64 info = 0;
	int have_info = 0;
	int i, next = 8;

	if (!sb || bpf_probe_read_kernel(s, sizeof(s), sb))
		return;
	switch (s[0] & 0x7f) {
	case 0x70:	/* fixed format, current / deferred */
	case 0x71:
		d->sense_key = s[2] & 0x0f;
		d->asc = s[12];
		d->ascq = s[13];
		if (s[0] & 0x80) {	/* VALID: INFORMATION holds the LBA */
			info = be_bytes(&s[3], 4);
			have_info = 1;
		}
		break;
	case 0x72:	/* descriptor format */
	case 0x73:
		d->sense_key = s[1] & 0x0f;
		d->asc = s[2];
		d->ascq = s[3];
		/* The information descriptor (type 0, 12 bytes); sd looks for it the same way. */
		/* Constant offsets only: older verifiers (6.1) refuse a
		 * variable-offset read of the stack. */
#pragma unroll
		for (i = 8; i + 12 <= BN_SENSE_LEN; i++) {
			__u8 dlen = s[i + 1];

			if (i != next)
				continue;
			if (i >= 8 + s[7])
				break;
			if (s[i] == 0x00 && dlen == 0x0a && (s[i + 2] & 0x80)) {
				info = be_bytes(&s[i + 4], 8);
				have_info = 1;
				break;
			}
			if (!dlen)	/* malformed: would not advance */
				break;
			next = i + 2 + dlen;
		}
		break;
	default:
		return;
	}
	d->detail |= BLOCK_NOTIFY_D_SENSE;
	if (have_info) {
		block = BPF_CORE_READ(cmd, device, sector_size);
		d->device_lba = block >= 512 ? info * (block >> 9) : info;
		d->detail |= BLOCK_NOTIFY_D_LBA;
	}
}

/*
 * The error handler borrows a failed command to send TEST UNIT READY,
 * REQUEST SENSE or START STOP UNIT (scsi_eh_prep_cmnd()); what the device
 * answers to those is not what it said about the I/O.  No block I/O
 * request is made of these commands (passthrough ones are not I/O here).
 */
static __always_inline int scsi_eh_borrowed(__u8 opcode)
{
	return opcode == 0x00 || opcode == 0x03 || opcode == 0x1b;
}

/* What the command's result and sense say, into its request's entry. */
static __always_inline struct bn_detail *scsi_note(const struct scsi_cmnd___x *cmd, int host_override)
{
	const struct request___x *rq = scsi_rq(cmd);
	__u8 opcode = scsi_opcode(cmd);
	struct bn_detail *d;
	int result;
	__u8 host;

	if (scsi_eh_borrowed(opcode))
		return NULL;
	d = detail_entry(rq, BLOCK_NOTIFY_TRANSPORT_SCSI);
	if (!d)
		return NULL;
	result = BPF_CORE_READ(cmd, result);
	host = host_override >= 0 ? host_override : (result >> 16) & 0xff;
	d->status = (__u16)host << 8 | (result & 0xff);
	d->opcode = opcode;
	d->detail |= BLOCK_NOTIFY_D_STATUS;
	if ((result & 0xff) == BN_SAM_STAT_CHECK_CONDITION) {
		d->detail &= ~(BLOCK_NOTIFY_D_SENSE | BLOCK_NOTIFY_D_LBA);
		d->sense_key = d->asc = d->ascq = 0;
		d->device_lba = 0;
		scsi_read_sense(cmd, d);
	}
	return d;
}

SEC("fentry/scsi_check_sense")
int bn_scsi_check_sense(__u64 *ctx)
{
	const struct scsi_cmnd___x *cmd = (const void *)ctx[0];
	const struct request___x *rq = scsi_rq(cmd);
	struct bn_detail *d, copy;

	d = scsi_note(cmd, -1);
	if (!d)
		return 0;
	/* scsi_check_sense() also runs for GOOD with sense: read it anyway. */
	if (!(d->detail & BLOCK_NOTIFY_D_SENSE))
		scsi_read_sense(cmd, d);
	if ((d->detail & BLOCK_NOTIFY_D_SENSE) && d->sense_key == 0x01) {	/* RECOVERED ERROR */
		copy = *d;
		detail_soft(rq, &copy, NOTIFY_BLOCK_SOFT_RECOVERED);
	}
	return 0;
}

static __always_inline int scsi_retry(const struct scsi_cmnd___x *cmd)
{
	const struct request___x *rq = scsi_rq(cmd);
	struct bn_detail *d, copy;

	d = scsi_note(cmd, -1);
	if (!d)
		return 0;
	d->retries++;
	copy = *d;
	detail_soft(rq, &copy, NOTIFY_BLOCK_SOFT_RETRY);
	return 0;
}

SEC("fentry/__scsi_queue_insert")
int bn_scsi_queue_insert(__u64 *ctx)
{
	return scsi_retry((const void *)ctx[0]);
}

SEC("fentry/scsi_queue_insert")
int bn_scsi_queue_insert_exported(__u64 *ctx)
{
	return scsi_retry((const void *)ctx[0]);
}

SEC("fentry/scsi_timeout")
int bn_scsi_timeout(__u64 *ctx)
{
	const struct request___x *rq = (const void *)ctx[0];
	const struct scsi_cmnd___x *cmd =
		(const void *)((const char *)rq + bpf_core_type_size(struct request___x));

	scsi_note(cmd, BN_DID_TIME_OUT);
	return 0;
}

#endif /* BLKNOTIFY_SCSI_BPF_H */
