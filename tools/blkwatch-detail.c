// SPDX-License-Identifier: GPL-2.0-or-later
/* blkwatch: what the device said, from the library's decoders (lib/decode.c). */
#include "blkwatch-detail.h"

static void put_name(FILE *f, const char *key, const char *name)
{
	/* The decoders' names are plain ASCII without quotes or backslashes. */
	if (name)
		fprintf(f, ",\"%s\":\"%s\"", key, name);
	else
		fprintf(f, ",\"%s\":null", key);
}

static const char *transport_name(unsigned int t)
{
	switch (t) {
	case BLOCK_NOTIFY_TRANSPORT_NONE: return "none";
	case BLOCK_NOTIFY_TRANSPORT_SCSI: return "scsi";
	case BLOCK_NOTIFY_TRANSPORT_NVME: return "nvme";
	default: return "unknown";
	}
}

static void print_json(FILE *f, const struct block_notification *n)
{
	char text[256];

	fprintf(f, ",\"transport\":\"%s\",\"transport_nr\":%u,\"detail_bits\":%u",
		transport_name(n->transport), n->transport, n->detail);
	if (n->detail & BLOCK_NOTIFY_D_RETRIES)
		fprintf(f, ",\"retries\":%u", n->retries);
	else
		fputs(",\"retries\":null", f);
	if (n->detail & BLOCK_NOTIFY_D_STATUS) {
		fprintf(f, ",\"status\":%u,\"opcode\":%u", n->status, n->opcode);
		if (n->transport == BLOCK_NOTIFY_TRANSPORT_SCSI) {
			fprintf(f, ",\"scsi_status\":%u", n->status & 0xff);
			put_name(f, "scsi_status_name", blknotify_scsi_status_name(n->status & 0xff));
			fprintf(f, ",\"host_byte\":%u", n->status >> 8);
			put_name(f, "host_byte_name", blknotify_scsi_host_byte_name(n->status >> 8));
		} else if (n->transport == BLOCK_NOTIFY_TRANSPORT_NVME) {
			fprintf(f, ",\"nvme_sct\":%u,\"nvme_sc\":%u,\"dnr\":%s,\"more\":%s,"
				"\"command_id\":%u", (n->status >> 8) & 7, n->status & 0xff,
				n->status & BLKNOTIFY_NVME_DNR ? "true" : "false",
				n->status & BLKNOTIFY_NVME_MORE ? "true" : "false", n->command_id);
			put_name(f, "nvme_status_name", blknotify_nvme_status_name(n->status));
		}
	}
	if (n->detail & BLOCK_NOTIFY_D_SENSE) {
		fprintf(f, ",\"sense_key\":%u", n->sense_key);
		put_name(f, "sense_key_name", blknotify_scsi_sense_key_name(n->sense_key));
		fprintf(f, ",\"asc\":%u,\"ascq\":%u", n->asc, n->ascq);
		put_name(f, "asc_name", blknotify_scsi_asc_name(n->asc, n->ascq));
	}
	if (n->detail & BLOCK_NOTIFY_D_LBA)
		fprintf(f, ",\"device_lba\":%llu", (unsigned long long)n->device_lba);
	if (blknotify_detail_format(n, BLOCK_NOTIFICATION_SIZE_V2, text, sizeof(text)) > 0)
		put_name(f, "device_said", text);
}

void detail_print(FILE *f, const struct block_notification *n, size_t len, bool json)
{
	char text[256];

	if (len < BLOCK_NOTIFICATION_SIZE_V2)
		return;
	if (json)
		print_json(f, n);
	else if (blknotify_detail_format(n, len, text, sizeof(text)) > 0)
		fprintf(f, "  device: %s\n", text);
}
