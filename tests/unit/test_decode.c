// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/decode.c: the names of what a device said, and a record's detail as
 * text.  The names themselves are checked against independent tables
 * (sg3-utils' and libnvme's) by test_decode_tables.py; here: the codes the
 * records of the VM tier carry, the bounds, and the formatter.
 */
#include <errno.h>
#include <string.h>
#include <blknotify/blknotify.h>

#include "../harness.h"

TEST(sense_keys_by_spc_number)
{
	ASSERT_STREQ(blknotify_scsi_sense_key_name(0x0), "NO SENSE");
	ASSERT_STREQ(blknotify_scsi_sense_key_name(0x1), "RECOVERED ERROR");
	ASSERT_STREQ(blknotify_scsi_sense_key_name(0x3), "MEDIUM ERROR");
	ASSERT_STREQ(blknotify_scsi_sense_key_name(0x4), "HARDWARE ERROR");
	ASSERT_STREQ(blknotify_scsi_sense_key_name(0xb), "ABORTED COMMAND");
	ASSERT_STREQ(blknotify_scsi_sense_key_name(0xf), "COMPLETED");
	ASSERT_TRUE(blknotify_scsi_sense_key_name(0xc) == NULL);	/* reserved */
	ASSERT_TRUE(blknotify_scsi_sense_key_name(0x10) == NULL);
}

TEST(asc_names_and_what_is_not_named)
{
	ASSERT_STREQ(blknotify_scsi_asc_name(0x11, 0x00), "unrecovered read error");
	ASSERT_STREQ(blknotify_scsi_asc_name(0x03, 0x00), "peripheral device write fault");
	ASSERT_STREQ(blknotify_scsi_asc_name(0x0c, 0x00), "write error");
	ASSERT_STREQ(blknotify_scsi_asc_name(0x18, 0x01),
		     "recovered data with error corr. & retries applied");
	ASSERT_STREQ(blknotify_scsi_asc_name(0x5d, 0x00), "failure prediction threshold exceeded");
	ASSERT_STREQ(blknotify_scsi_asc_name(0x00, 0x00), "no additional sense information");
	ASSERT_STREQ(blknotify_scsi_asc_name(0x5e, 0x00), "low power condition on");	/* the last */
	ASSERT_TRUE(blknotify_scsi_asc_name(0x11, 0xff) == NULL);
	ASSERT_TRUE(blknotify_scsi_asc_name(0x80, 0x00) == NULL);	/* vendor specific */
	ASSERT_TRUE(blknotify_scsi_asc_name(0x111, 0x00) == NULL);	/* not a byte */
	ASSERT_TRUE(blknotify_scsi_asc_name(0x11, 0x100) == NULL);
}

TEST(status_and_host_bytes)
{
	ASSERT_STREQ(blknotify_scsi_status_name(0x02), "CHECK CONDITION");
	ASSERT_STREQ(blknotify_scsi_status_name(0x18), "RESERVATION CONFLICT");
	ASSERT_TRUE(blknotify_scsi_status_name(0x01) == NULL);
	ASSERT_STREQ(blknotify_scsi_host_byte_name(0x03), "DID_TIME_OUT");
	ASSERT_STREQ(blknotify_scsi_host_byte_name(0x14), "DID_TRANSPORT_MARGINAL");
	ASSERT_TRUE(blknotify_scsi_host_byte_name(0x15) == NULL);
}

TEST(nvme_status_ignores_the_retry_bits)
{
	ASSERT_STREQ(blknotify_nvme_status_name(0x281), "unrecovered read error");
	ASSERT_STREQ(blknotify_nvme_status_name(0x281 | BLKNOTIFY_NVME_DNR | BLKNOTIFY_NVME_MORE |
						BLKNOTIFY_NVME_CRD), "unrecovered read error");
	ASSERT_STREQ(blknotify_nvme_status_name(0x280), "write fault");
	ASSERT_STREQ(blknotify_nvme_status_name(0x370), "host pathing error");
	ASSERT_STREQ(blknotify_nvme_status_name(0x006), "internal error");
	ASSERT_TRUE(blknotify_nvme_status_name(0x2ff) == NULL);
	ASSERT_TRUE(blknotify_nvme_status_name(0x700) == NULL);	/* vendor specific SCT */
}

static struct block_notification scsi_rec(void)
{
	struct block_notification r = {};

	r.watch.info = BLOCK_NOTIFICATION_SIZE_V2;
	r.transport = BLOCK_NOTIFY_TRANSPORT_SCSI;
	r.detail = BLOCK_NOTIFY_D_STATUS | BLOCK_NOTIFY_D_SENSE | BLOCK_NOTIFY_D_LBA |
		   BLOCK_NOTIFY_D_RETRIES;
	r.status = 0x02;
	r.opcode = 0x28;
	r.sense_key = 3;
	r.asc = 0x11;
	r.device_lba = 1004;
	return r;
}

TEST(format_scsi_medium_error)
{
	struct block_notification r = scsi_rec();
	char buf[256];
	int n;

	n = blknotify_detail_format(&r, sizeof(r), buf, sizeof(buf));
	ASSERT_STREQ(buf, "MEDIUM ERROR 11/00 unrecovered read error (opcode 0x28), "
		     "device sector 1004, retries 0");
	ASSERT_EQ(n, (int)strlen(buf));
	/* A host byte and no sense: the status is named instead. */
	r.detail = BLOCK_NOTIFY_D_STATUS | BLOCK_NOTIFY_D_RETRIES;
	r.status = 0x03 << 8;
	r.retries = 5;
	blknotify_detail_format(&r, sizeof(r), buf, sizeof(buf));
	ASSERT_STREQ(buf, "SCSI status 0x00 GOOD host 0x03 DID_TIME_OUT (opcode 0x28), retries 5");
	/* Codes without a name are printed as numbers. */
	r = scsi_rec();
	r.sense_key = 0xc;
	r.asc = 0x80;
	r.ascq = 0x01;
	r.detail = BLOCK_NOTIFY_D_SENSE;
	blknotify_detail_format(&r, sizeof(r), buf, sizeof(buf));
	ASSERT_STREQ(buf, "sense key 0xc 80/01");
}

TEST(format_nvme_status)
{
	struct block_notification r = {};
	char buf[256];

	r.transport = BLOCK_NOTIFY_TRANSPORT_NVME;
	r.detail = BLOCK_NOTIFY_D_STATUS | BLOCK_NOTIFY_D_RETRIES;
	r.status = 0x281 | BLKNOTIFY_NVME_DNR;
	r.opcode = 0x02;
	r.command_id = 12;
	blknotify_detail_format(&r, sizeof(r), buf, sizeof(buf));
	ASSERT_STREQ(buf, "NVMe 0x281 unrecovered read error DNR (opcode 0x02, command id 12), "
		     "retries 0");
}

TEST(format_says_nothing_without_detail_and_never_overruns)
{
	struct block_notification r = scsi_rec();
	char buf[16], big[256];
	int n;

	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(blknotify_detail_format(&r, BLOCK_NOTIFICATION_SIZE_V1, buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "");
	r.detail = 0;
	ASSERT_EQ(blknotify_detail_format(&r, sizeof(r), buf, sizeof(buf)), 0);
	/* Retries known to be 0, nothing else: nothing worth saying. */
	r.detail = BLOCK_NOTIFY_D_RETRIES;
	ASSERT_EQ(blknotify_detail_format(&r, sizeof(r), buf, sizeof(buf)), 0);
	r = scsi_rec();
	n = blknotify_detail_format(&r, sizeof(r), big, sizeof(big));
	ASSERT_EQ(blknotify_detail_format(&r, sizeof(r), buf, sizeof(buf)), n);
	ASSERT_EQ(strlen(buf), sizeof(buf) - 1);
	ASSERT_EQ(strncmp(buf, big, sizeof(buf) - 1), 0);
	ASSERT_EQ(blknotify_detail_format(&r, sizeof(r), NULL, 0), n);
}
