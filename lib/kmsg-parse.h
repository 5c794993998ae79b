/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parser for what the kmsg source reads from /dev/kmsg: the record framing,
 * its dictionary, and the block layer's request-error and "callbacks
 * suppressed" lines of every kernel generation (see docs/kmsg-source.md for
 * the formats and where each comes from).
 *
 * Pure: no I/O, no allocation, no global state.  Every input is untrusted,
 * bounded by its length and need not be NUL-terminated.  Fuzzed by
 * tests/fuzz/fuzz_kmsg_parse.c.
 */
#ifndef BLKNOTIFY_KMSG_PARSE_H
#define BLKNOTIFY_KMSG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* The kernel's DISK_NAME_LEN: a disk name has at most 31 characters. */
#define KMSG_DISK_NAME_MAX	32

/* One /dev/kmsg record, split.  The pointers point into the caller's buffer. */
struct kmsg_record {
	__u32		prio;		/* syslog facility << 3 | level: see kmsg_record_from_kernel() */
	__u64		seq;		/* the kernel's record sequence number */
	__u64		usec;		/* printk clock (local_clock()), microseconds */
	const char	*msg;		/* message text, without its newline; \xNN escapes kept */
	size_t		msg_len;
	const char	*dict;		/* continuation lines (" KEY=VALUE\n"...), or NULL */
	size_t		dict_len;
};

/*
 * Split one record: "PRIO,SEQ,USEC,FLAGS[,FIELD...];MESSAGE\n[ KEY=VALUE\n]...".
 * Returns 0, or -EINVAL when the framing is not that.
 */
int kmsg_parse_record(const char *buf, size_t len, struct kmsg_record *rec);

/*
 * Whether the kernel itself logged this record: syslog facility 0 (LOG_KERN).
 * A process writing to /dev/kmsg cannot forge that: the kernel gives its
 * lines LOG_USER when they name no facility or facility 0
 * (devkmsg_write()).  Anything else is not the block layer's.
 */
bool kmsg_record_from_kernel(const struct kmsg_record *rec);

/* The value of dictionary key (e.g. "DEVICE") and its length, or NULL. */
const char *kmsg_dict_get(const struct kmsg_record *rec, const char *key, size_t *value_len);

/*
 * "MAJOR:MINOR", optionally followed by one newline (the format of sysfs
 * "dev" files and of DEVICE=b... after the 'b').  Returns 0 or -EINVAL.
 */
int kmsg_parse_devnum(const char *s, size_t len, __u32 *major, __u32 *minor);

enum kmsg_kind {
	KMSG_OTHER = 0,		/* not a block request-error line */
	KMSG_REQUEST_ERROR,	/* a failed block request */
	KMSG_SUPPRESSED,	/* the printk rate limit dropped request-error lines */
};

/* A request-error line, decoded. */
struct kmsg_request_error {
	char	disk[KMSG_DISK_NAME_MAX];	/* NUL-terminated; "?" when the kernel had none */
	__u64	sector;		/* first failed 512-byte sector, whole disk */
	__s32	error;		/* the negative errno of the status the line names */
	__u32	subtype;	/* enum block_notification_type */
	__u16	op;		/* enum block_notification_op; OTHER when the line has none */
	__u16	flags;		/* BLOCK_NOTIFY_F_*, from the line's request flags */
};

struct kmsg_message {
	enum kmsg_kind			kind;
	struct kmsg_request_error	err;		/* KMSG_REQUEST_ERROR */
	__u64				nr_suppressed;	/* KMSG_SUPPRESSED: lines dropped */
};

/*
 * Classify and decode one message (kmsg_record.msg).  Anything that is not
 * exactly a request-error or block suppression line is KMSG_OTHER, and
 * out->kind says the same.
 */
enum kmsg_kind kmsg_parse_message(const char *msg, size_t len, struct kmsg_message *out);

/*
 * The errno of a status name from the kernel's blk_errors[] ("critical
 * medium" -> -ENODATA).  Unknown names, "<null>" included, are -EIO: an
 * error is never dropped for its name.
 */
__s32 kmsg_status_errno(const char *status, size_t len);

#endif /* BLKNOTIFY_KMSG_PARSE_H */
