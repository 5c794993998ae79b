// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Names for what a device said: SCSI sense keys, additional sense codes and
 * status bytes (T10 SPC-6), Linux's SCSI host bytes, NVMe status codes (NVM
 * Express Base Specification 2.0, Figures 100-106), and a record's device
 * detail as one line of text.
 *
 * The tables name the codes the storage stack actually reports for failing
 * media, paths and targets; a code not named here gets NULL and the callers
 * print the number (nothing is hidden for lack of a name).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "queue.h"

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* SPC-6 table 50 (sense key descriptions). */
static const char *const sense_keys[16] = {
	"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR",
	"ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK",
	"VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND", NULL /* 0Ch: reserved */,
	"VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
};

const char *blknotify_scsi_sense_key_name(unsigned int key)
{
	return key < ELEMENTSOF(sense_keys) ? sense_keys[key] : NULL;
}

/* SPC-6 Annex F (ASC and ASCQ assignments), sorted by ASC << 8 | ASCQ. */
static const struct { unsigned short code; const char *name; } ascs[] = {
	{ 0x0000, "no additional sense information" },
	{ 0x0006, "I/O process terminated" },
	{ 0x0016, "operation in progress" },
	{ 0x0017, "cleaning requested" },
	{ 0x001d, "ATA pass through information available" },
	{ 0x0200, "no seek complete" },
	{ 0x0300, "peripheral device write fault" },
	{ 0x0301, "no write current" },
	{ 0x0302, "excessive write errors" },
	{ 0x0400, "logical unit not ready, cause not reportable" },
	{ 0x0401, "logical unit is in process of becoming ready" },
	{ 0x0402, "logical unit not ready, initializing command required" },
	{ 0x0403, "logical unit not ready, manual intervention required" },
	{ 0x0404, "logical unit not ready, format in progress" },
	{ 0x0405, "logical unit not ready, rebuild in progress" },
	{ 0x0406, "logical unit not ready, recalculation in progress" },
	{ 0x0407, "logical unit not ready, operation in progress" },
	{ 0x0409, "logical unit not ready, self-test in progress" },
	{ 0x040a, "logical unit not accessible, asymmetric access state transition" },
	{ 0x040b, "logical unit not accessible, target port in standby state" },
	{ 0x040c, "logical unit not accessible, target port in unavailable state" },
	{ 0x0411, "logical unit not ready, notify (enable spinup) required" },
	{ 0x041b, "logical unit not ready, sanitize in progress" },
	{ 0x0422, "logical unit not ready, power cycle required" },
	{ 0x0500, "logical unit does not respond to selection" },
	{ 0x0800, "logical unit communication failure" },
	{ 0x0801, "logical unit communication time-out" },
	{ 0x0802, "logical unit communication parity error" },
	{ 0x0900, "track following error" },
	{ 0x0b00, "warning" },
	{ 0x0b01, "warning - specified temperature exceeded" },
	{ 0x0b02, "warning - enclosure degraded" },
	{ 0x0b03, "warning - background self-test failed" },
	{ 0x0b04, "warning - background pre-scan detected medium error" },
	{ 0x0b05, "warning - background medium scan detected medium error" },
	{ 0x0b06, "warning - non-volatile cache now volatile" },
	{ 0x0b07, "warning - degraded power to non-volatile cache" },
	{ 0x0b08, "warning - power loss expected" },
	{ 0x0c00, "write error" },
	{ 0x0c01, "write error - recovered with auto reallocation" },
	{ 0x0c02, "write error - auto reallocation failed" },
	{ 0x0c03, "write error - recommend reassignment" },
	{ 0x0c07, "write error - recovery needed" },
	{ 0x0c08, "write error - recovery failed" },
	{ 0x0c09, "write error - loss of streaming" },
	{ 0x0c0a, "write error - padding blocks added" },
	{ 0x0c0b, "auxiliary memory write error" },
	{ 0x0c0c, "write error - unexpected unsolicited data" },
	{ 0x0c0d, "write error - not enough unsolicited data" },
	{ 0x0c0f, "defects in error window" },
	{ 0x0c10, "incomplete multiple atomic write operations" },
	{ 0x0c11, "write error - recovery scan needed" },
	{ 0x0c12, "write error - insufficient zone resources" },
	{ 0x1000, "id CRC or ECC error" },
	{ 0x1001, "logical block guard check failed" },
	{ 0x1002, "logical block application tag check failed" },
	{ 0x1003, "logical block reference tag check failed" },
	{ 0x1004, "logical block protection error on recover buffered data" },
	{ 0x1005, "logical block protection method error" },
	{ 0x1100, "unrecovered read error" },
	{ 0x1101, "read retries exhausted" },
	{ 0x1102, "error too long to correct" },
	{ 0x1103, "multiple read errors" },
	{ 0x1104, "unrecovered read error - auto reallocate failed" },
	{ 0x1105, "L-EC uncorrectable error" },
	{ 0x1106, "CIRC unrecovered error" },
	{ 0x1107, "data re-synchronization error" },
	{ 0x1108, "incomplete block read" },
	{ 0x1109, "no gap found" },
	{ 0x110a, "miscorrected error" },
	{ 0x110b, "unrecovered read error - recommend reassignment" },
	{ 0x110c, "unrecovered read error - recommend rewrite the data" },
	{ 0x110d, "de-compression CRC error" },
	{ 0x110e, "cannot decompress using declared algorithm" },
	{ 0x1111, "read error - loss of streaming" },
	{ 0x1112, "auxiliary memory read error" },
	{ 0x1113, "read error - failed retransmission request" },
	{ 0x1114, "read error - LBA marked bad by application client" },
	{ 0x1115, "write after sanitize required" },
	{ 0x1200, "address mark not found for id field" },
	{ 0x1300, "address mark not found for data field" },
	{ 0x1400, "recorded entity not found" },
	{ 0x1401, "record not found" },
	{ 0x1402, "filemark or setmark not found" },
	{ 0x1403, "end-of-data not found" },
	{ 0x1404, "block sequence error" },
	{ 0x1405, "record not found - recommend reassignment" },
	{ 0x1406, "record not found - data auto-reallocated" },
	{ 0x1407, "locate operation failure" },
	{ 0x1500, "random positioning error" },
	{ 0x1501, "mechanical positioning error" },
	{ 0x1502, "positioning error detected by read of medium" },
	{ 0x1600, "data synchronization mark error" },
	{ 0x1601, "data sync error - data rewritten" },
	{ 0x1602, "data sync error - recommend rewrite" },
	{ 0x1603, "data sync error - data auto-reallocated" },
	{ 0x1604, "data sync error - recommend reassignment" },
	{ 0x1700, "recovered data with no error correction applied" },
	{ 0x1701, "recovered data with retries" },
	{ 0x1702, "recovered data with positive head offset" },
	{ 0x1703, "recovered data with negative head offset" },
	{ 0x1704, "recovered data with retries and/or CIRC applied" },
	{ 0x1705, "recovered data using previous sector id" },
	{ 0x1706, "recovered data without ECC - data auto-reallocated" },
	{ 0x1707, "recovered data without ECC - recommend reassignment" },
	{ 0x1708, "recovered data without ECC - recommend rewrite" },
	{ 0x1709, "recovered data without ECC - data rewritten" },
	{ 0x1800, "recovered data with error correction applied" },
	{ 0x1801, "recovered data with error corr. & retries applied" },
	{ 0x1802, "recovered data - data auto-reallocated" },
	{ 0x1803, "recovered data with CIRC" },
	{ 0x1804, "recovered data with L-EC" },
	{ 0x1805, "recovered data - recommend reassignment" },
	{ 0x1806, "recovered data - recommend rewrite" },
	{ 0x1807, "recovered data with ECC - data rewritten" },
	{ 0x1808, "recovered data with linking" },
	{ 0x1900, "defect list error" },
	{ 0x1a00, "parameter list length error" },
	{ 0x1b00, "synchronous data transfer error" },
	{ 0x1c00, "defect list not found" },
	{ 0x1d00, "miscompare during verify operation" },
	{ 0x1e00, "recovered id with ECC correction" },
	{ 0x1f00, "partial defect list transfer" },
	{ 0x2000, "invalid command operation code" },
	{ 0x2100, "logical block address out of range" },
	{ 0x2101, "invalid element address" },
	{ 0x2104, "unaligned write command" },
	{ 0x2105, "write boundary violation" },
	{ 0x2106, "attempt to read invalid data" },
	{ 0x2107, "read boundary violation" },
	{ 0x2400, "invalid field in CDB" },
	{ 0x2500, "logical unit not supported" },
	{ 0x2600, "invalid field in parameter list" },
	{ 0x2700, "write protected" },
	{ 0x2701, "hardware write protected" },
	{ 0x2702, "logical unit software write protected" },
	{ 0x2707, "space allocation failed write protect" },
	{ 0x2800, "not ready to ready change, medium may have changed" },
	{ 0x2900, "power on, reset, or bus device reset occurred" },
	{ 0x2901, "power on occurred" },
	{ 0x2902, "SCSI bus reset occurred" },
	{ 0x2903, "bus device reset function occurred" },
	{ 0x2904, "device internal reset" },
	{ 0x2905, "transceiver mode changed to single-ended" },
	{ 0x2906, "transceiver mode changed to LVD" },
	{ 0x2907, "I_T nexus loss occurred" },
	{ 0x2a00, "parameters changed" },
	{ 0x2a01, "mode parameters changed" },
	{ 0x2a09, "capacity data has changed" },
	{ 0x2c00, "command sequence error" },
	{ 0x2e00, "insufficient time for operation" },
	{ 0x2e01, "command timeout before processing" },
	{ 0x2e02, "command timeout during processing" },
	{ 0x2e03, "command timeout during processing due to error recovery" },
	{ 0x2f00, "commands cleared by another initiator" },
	{ 0x3100, "medium format corrupted" },
	{ 0x3101, "format command failed" },
	{ 0x3200, "no defect spare location available" },
	{ 0x3201, "defect list update failure" },
	{ 0x3807, "thin provisioning soft threshold reached" },
	{ 0x3a00, "medium not present" },
	{ 0x3f00, "target operating conditions have changed" },
	{ 0x3f01, "microcode has been changed" },
	{ 0x3f0e, "reported luns data has changed" },
	{ 0x4400, "internal target failure" },
	{ 0x4700, "SCSI parity error" },
	{ 0x4701, "data phase CRC error detected" },
	{ 0x4800, "initiator detected error message received" },
	{ 0x4b00, "data phase error" },
	{ 0x4e00, "overlapped commands attempted" },
	{ 0x5d00, "failure prediction threshold exceeded" },
	{ 0x5d01, "media failure prediction threshold exceeded" },
	{ 0x5d02, "logical unit failure prediction threshold exceeded" },
	{ 0x5d03, "spare area exhaustion prediction threshold exceeded" },
	{ 0x5d10, "hardware impending failure general hard drive failure" },
	{ 0x5d11, "hardware impending failure drive error rate too high" },
	{ 0x5d12, "hardware impending failure data error rate too high" },
	{ 0x5d13, "hardware impending failure seek error rate too high" },
	{ 0x5d14, "hardware impending failure too many block reassigns" },
	{ 0x5d15, "hardware impending failure access times too high" },
	{ 0x5d16, "hardware impending failure start unit times too high" },
	{ 0x5d17, "hardware impending failure channel parametrics" },
	{ 0x5d18, "hardware impending failure controller detected" },
	{ 0x5d19, "hardware impending failure throughput performance" },
	{ 0x5d1a, "hardware impending failure seek time performance" },
	{ 0x5d1b, "hardware impending failure spin-up retry count" },
	{ 0x5d1c, "hardware impending failure drive calibration retry count" },
	{ 0x5d73, "media impending failure endurance limit met" },
	{ 0x5dff, "failure prediction threshold exceeded (false)" },
	{ 0x5e00, "low power condition on" },
};

const char *blknotify_scsi_asc_name(unsigned int asc, unsigned int ascq)
{
	unsigned int code = (asc & 0xff) << 8 | (ascq & 0xff);
	size_t lo = 0, hi = ELEMENTSOF(ascs);

	if (asc > 0xff || ascq > 0xff)
		return NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ascs[mid].code == code)
			return ascs[mid].name;
		if (ascs[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* SAM-6 table 43 (status codes). */
const char *blknotify_scsi_status_name(unsigned int status)
{
	switch (status) {
	case 0x00: return "GOOD";
	case 0x02: return "CHECK CONDITION";
	case 0x04: return "CONDITION MET";
	case 0x08: return "BUSY";
	case 0x18: return "RESERVATION CONFLICT";
	case 0x28: return "TASK SET FULL";
	case 0x30: return "ACA ACTIVE";
	case 0x40: return "TASK ABORTED";
	default: return NULL;
	}
}

/* Linux's host bytes (include/scsi/scsi_status.h; SG_IO's host_status). */
static const char *const host_bytes[] = {
	"DID_OK", "DID_NO_CONNECT", "DID_BUS_BUSY", "DID_TIME_OUT", "DID_BAD_TARGET",
	"DID_ABORT", "DID_PARITY", "DID_ERROR", "DID_RESET", "DID_BAD_INTR",
	"DID_PASSTHROUGH", "DID_SOFT_ERROR", "DID_IMM_RETRY", "DID_REQUEUE",
	"DID_TRANSPORT_DISRUPTED", "DID_TRANSPORT_FAILFAST", "DID_TARGET_FAILURE",
	"DID_NEXUS_FAILURE", "DID_ALLOC_FAILURE", "DID_MEDIUM_ERROR", "DID_TRANSPORT_MARGINAL",
};

const char *blknotify_scsi_host_byte_name(unsigned int host)
{
	return host < ELEMENTSOF(host_bytes) ? host_bytes[host] : NULL;
}

/*
 * NVMe status codes by SCT << 8 | SC: generic (SCT 0, Figure 102),
 * command specific (1, Figure 103, the I/O command set's ones), media and
 * data integrity (2, Figure 105), path related (3, Figure 106).
 */
static const struct { unsigned short code; const char *name; } nvme_codes[] = {
	{ 0x000, "successful completion" },
	{ 0x001, "invalid command opcode" },
	{ 0x002, "invalid field in command" },
	{ 0x003, "command ID conflict" },
	{ 0x004, "data transfer error" },
	{ 0x005, "commands aborted due to power loss notification" },
	{ 0x006, "internal error" },
	{ 0x007, "command abort requested" },
	{ 0x008, "command aborted due to SQ deletion" },
	{ 0x009, "command aborted due to failed fused command" },
	{ 0x00a, "command aborted due to missing fused command" },
	{ 0x00b, "invalid namespace or format" },
	{ 0x00c, "command sequence error" },
	{ 0x00d, "invalid SGL segment descriptor" },
	{ 0x00e, "invalid number of SGL descriptors" },
	{ 0x00f, "data SGL length invalid" },
	{ 0x010, "metadata SGL length invalid" },
	{ 0x011, "SGL descriptor type invalid" },
	{ 0x012, "invalid use of controller memory buffer" },
	{ 0x013, "PRP offset invalid" },
	{ 0x014, "atomic write unit exceeded" },
	{ 0x015, "operation denied" },
	{ 0x016, "SGL offset invalid" },
	{ 0x018, "host identifier inconsistent format" },
	{ 0x019, "keep alive timer expired" },
	{ 0x01a, "keep alive timeout invalid" },
	{ 0x01b, "command aborted due to preempt and abort" },
	{ 0x01c, "sanitize failed" },
	{ 0x01d, "sanitize in progress" },
	{ 0x01e, "SGL data block granularity invalid" },
	{ 0x01f, "command not supported for queue in CMB" },
	{ 0x020, "namespace is write protected" },
	{ 0x021, "command interrupted" },
	{ 0x022, "transient transport error" },
	{ 0x080, "LBA out of range" },
	{ 0x081, "capacity exceeded" },
	{ 0x082, "namespace not ready" },
	{ 0x083, "reservation conflict" },
	{ 0x084, "format in progress" },
	{ 0x180, "conflicting attributes" },
	{ 0x181, "invalid protection information" },
	{ 0x182, "attempted write to read only range" },
	{ 0x1b8, "zoned boundary error" },
	{ 0x1b9, "zone is full" },
	{ 0x1ba, "zone is read only" },
	{ 0x1bb, "zone is offline" },
	{ 0x1bc, "zone invalid write" },
	{ 0x1bd, "too many active zones" },
	{ 0x1be, "too many open zones" },
	{ 0x1bf, "invalid zone state transition" },
	{ 0x280, "write fault" },
	{ 0x281, "unrecovered read error" },
	{ 0x282, "end-to-end guard check error" },
	{ 0x283, "end-to-end application tag check error" },
	{ 0x284, "end-to-end reference tag check error" },
	{ 0x285, "compare failure" },
	{ 0x286, "access denied" },
	{ 0x287, "deallocated or unwritten logical block" },
	{ 0x288, "end-to-end storage tag check error" },
	{ 0x300, "internal path error" },
	{ 0x301, "asymmetric access persistent loss" },
	{ 0x302, "asymmetric access inaccessible" },
	{ 0x303, "asymmetric access transition" },
	{ 0x360, "controller pathing error" },
	{ 0x370, "host pathing error" },
	{ 0x371, "command aborted by host" },
};

const char *blknotify_nvme_status_name(unsigned int status)
{
	unsigned int code = status & BLKNOTIFY_NVME_SCT_SC;
	size_t i;

	for (i = 0; i < ELEMENTSOF(nvme_codes); i++)
		if (nvme_codes[i].code == code)
			return nvme_codes[i].name;
	return NULL;
}

#define APPEND(...) do {							\
	/* No pointer arithmetic on a NULL buf (size 0: only the length). */	\
	int _n = snprintf(n < size ? buf + n : NULL, n < size ? size - n : 0, __VA_ARGS__); \
	if (_n > 0)								\
		n += (size_t)_n;						\
} while (0)

int blknotify_detail_format(const struct block_notification *r, size_t len, char *buf,
			    size_t size)
{
	size_t n = 0;
	const char *s;

	if (size)
		buf[0] = '\0';
	if (len < BLOCK_NOTIFICATION_SIZE_V2 || !r->detail)
		return 0;
	if (r->transport == BLOCK_NOTIFY_TRANSPORT_SCSI) {
		if (r->detail & BLOCK_NOTIFY_D_SENSE) {
			s = blknotify_scsi_sense_key_name(r->sense_key);
			if (s)
				APPEND("%s", s);
			else
				APPEND("sense key 0x%x", r->sense_key);
			s = blknotify_scsi_asc_name(r->asc, r->ascq);
			APPEND(" %02X/%02X%s%s", r->asc, r->ascq, s ? " " : "", s ? s : "");
		}
		if (r->detail & BLOCK_NOTIFY_D_STATUS) {
			unsigned int host = r->status >> 8, st = r->status & 0xff;

			/* The sense says it all for a plain CHECK CONDITION. */
			if (!(r->detail & BLOCK_NOTIFY_D_SENSE) || host || st != 0x02) {
				s = blknotify_scsi_status_name(st);
				APPEND("%sSCSI status 0x%02x", n ? ", " : "", st);
				if (s)
					APPEND(" %s", s);
				if (host) {
					s = blknotify_scsi_host_byte_name(host);
					APPEND(" host 0x%02x", host);
					if (s)
						APPEND(" %s", s);
				}
			}
			APPEND(" (opcode 0x%02x)", r->opcode);
		}
	} else if (r->transport == BLOCK_NOTIFY_TRANSPORT_NVME) {
		if (r->detail & BLOCK_NOTIFY_D_STATUS) {
			s = blknotify_nvme_status_name(r->status);
			APPEND("NVMe 0x%03x", r->status & BLKNOTIFY_NVME_SCT_SC);
			if (s)
				APPEND(" %s", s);
			if (r->status & BLKNOTIFY_NVME_MORE)
				APPEND(" MORE");
			if (r->status & BLKNOTIFY_NVME_DNR)
				APPEND(" DNR");
			APPEND(" (opcode 0x%02x, command id %u)", r->opcode, r->command_id);
		}
	} else if (r->detail & ~BLOCK_NOTIFY_D_RETRIES) {
		APPEND("transport %u", r->transport);
	}
	if (r->detail & BLOCK_NOTIFY_D_LBA)
		APPEND("%sdevice sector %llu", n ? ", " : "", (unsigned long long)r->device_lba);
	if ((r->detail & BLOCK_NOTIFY_D_RETRIES) && (n || r->retries))
		APPEND("%sretries %u", n ? ", " : "", r->retries);
	return n > (size_t)__INT_MAX__ ? -EOVERFLOW : (int)n;
}
