/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The blknotifyd wire protocol: what a monitor and the daemon say to each
 * other over the daemon's SOCK_SEQPACKET Unix socket.  docs/protocol.md is
 * the specification; this header is its C form, shared by the daemon and the
 * library's daemon source (lib/source-daemon.c).
 *
 * One message per datagram: a 16-byte header, then a body whose layout the
 * type decides.  Fields are fixed-width, naturally aligned and in host byte
 * order (the socket never leaves the machine).  Reserved fields and flags a
 * version does not define must be zero; a receiver rejects them, so they can
 * be given a meaning later.
 *
 * Both sides parse every message they receive with bnd_parse() before using
 * any of it.  It checks the header, the exact body length for the type, and
 * the value ranges, and explains a rejection in words.
 */
#ifndef BLKNOTIFY_PROTOCOL_H
#define BLKNOTIFY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include <blknotify/block_notify.h>

#define BND_MAGIC	0x644e4c42U	/* "BLNd" in little-endian memory */
#define BND_VERSION	1

/*
 * Bounds.  A request is small: the largest (a full filter) is 728 bytes.
 * A reply or a batch of records may be up to BND_MSG_MAX bytes; the daemon
 * keeps batches of records to BND_RECORDS_BATCH bytes so one slow send costs
 * little latency, and a receiver needs a BND_MSG_MAX buffer.
 */
#define BND_REQUEST_MAX		1024
#define BND_MSG_MAX		65536
#define BND_RECORDS_BATCH	16384
#define BND_ERROR_TEXT_MAX	256	/* including the terminating NUL */
#define BND_CLIENTS_HARD_MAX	512	/* so a full STATS reply fits BND_MSG_MAX */

struct bnd_hdr {
	__u32	magic;		/* BND_MAGIC */
	__u16	version;	/* BND_VERSION */
	__u16	type;		/* enum bnd_type */
	__u32	len;		/* bytes, this header included */
	__u32	seq;		/* request: the client's; reply: the request's; else a counter */
};

enum bnd_type {
	/* Client to daemon. */
	BND_HELLO		= 0x01,	/* struct bnd_hello; must come first */
	BND_SET_SIZE		= 0x02,	/* struct bnd_set_size; before the first watch */
	BND_SET_FILTER		= 0x03,	/* struct bnd_set_filter + filters */
	BND_ADD_WATCH		= 0x04,	/* struct bnd_add_watch */
	BND_REMOVE_WATCH	= 0x05,	/* struct bnd_remove_watch */
	BND_GET_STATS		= 0x06,	/* no body */
	BND_ACK			= 0x07,	/* struct bnd_ack; no reply */
	BND_GET_IMPACT		= 0x08,	/* struct bnd_get_impact */
	BND_GET_HISTORY		= 0x09,	/* struct bnd_get_history */
	/* Daemon to client. */
	BND_HELLO_REPLY		= 0x81,	/* struct bnd_hello_reply */
	BND_OK			= 0x82,	/* struct bnd_ok */
	BND_ERROR		= 0x83,	/* struct bnd_error + text */
	BND_RECORDS		= 0x84,	/* records, back to back */
	BND_STATS		= 0x85,	/* struct bnd_stats + clients */
	BND_IMPACT		= 0x86,	/* struct bnd_impact + mount + extents */
	BND_HISTORY		= 0x87,	/* struct bnd_history + disks + rows */
};
#define BND_TYPE_TO_DAEMON_LAST	BND_GET_HISTORY
#define BND_TYPE_TO_CLIENT_LAST	BND_HISTORY

struct bnd_hello {
	__u32	version;	/* the protocol version the client speaks: BND_VERSION */
	__u32	flags;		/* zero */
	__u64	token;		/* 0, or the token of a previous connection to resume */
};

/* bnd_hello_reply.flags */
#define BND_HELLO_PRIVILEGED	(1U << 0)	/* may watch every device */
#define BND_HELLO_RESUMED	(1U << 1)	/* token known: the daemon kept this client's queue,
						 * watches and filter across its restart */
#define BND_HELLO_GAP		(1U << 2)	/* with RESUMED: the daemon did not stop cleanly;
						 * records may be missing (count unknown) */

struct bnd_hello_reply {
	__u32	version;	/* BND_VERSION */
	__u32	flags;		/* BND_HELLO_* */
	__u32	queue_size;	/* records; the size in effect until SET_SIZE */
	__u32	max_queue_size;	/* the daemon's cap on SET_SIZE */
	__u32	source;		/* enum blknotify_source the daemon reads */
	__u32	client_id;	/* as listed in STATS */
	__u64	token;		/* present it in a later HELLO to resume this client */
};

struct bnd_set_size {
	__u32	nr_records;	/* 1 .. BLKNOTIFY_QUEUE_SIZE_MAX; the daemon caps it */
	__u32	__reserved;
};

struct bnd_set_filter {
	__u32	nr_filters;	/* 0: remove the filter; else 1 .. BN_FILTERS_MAX */
	__u32	__reserved;
	struct watch_notification_type_filter filters[];
};

struct bnd_add_watch {
	__u32	id;		/* 0 .. BLOCK_NOTIFY_WATCH_ID_MAX */
	__u32	__reserved;
	__u64	dev;		/* whole disk, st_rdev encoding; 0: every device */
	__u64	start;		/* first sector watched */
	__u64	end;		/* one past the last; ~0: to the end of the disk */
};

struct bnd_remove_watch {
	__u32	id;
	__u32	__reserved;
};

/*
 * Flow control: the client's queue is the records the daemon holds for it
 * plus those it has sent and the client has not yet handed to its caller.
 * The client acknowledges records (not loss records) as it hands them out;
 * the daemon never has more than the queue size outstanding.
 */
struct bnd_ack {
	__u32	nr_records;	/* records handed out since the last ACK; at most those sent */
	__u32	__reserved;
};

struct bnd_ok {
	__u64	value;		/* SET_SIZE: the size in effect; else 0 */
};

struct bnd_error {
	__s32	error;		/* negative errno */
	__u32	__reserved;
	char	text[];		/* NUL-terminated, at most BND_ERROR_TEXT_MAX bytes */
};

/* bnd_client_stats.flags */
#define BND_CLIENT_PRIVILEGED	(1U << 0)
#define BND_CLIENT_SELF		(1U << 1)	/* the connection that asked */
#define BND_CLIENT_DETACHED	(1U << 2)	/* kept across a restart, not yet reconnected */

struct bnd_client_stats {
	__u32	id;
	__u32	pid;
	__u32	uid;
	__u32	gid;
	__u32	queue_size;	/* records */
	__u32	queued;		/* records held for it now: in the daemon or unread in its socket */
	__u32	nr_watches;
	__u32	flags;		/* BND_CLIENT_* */
	__u64	delivered;	/* records the client has read (acknowledged) */
	__u64	lost;		/* records the client did not get (its queue was full, or upstream loss) */
	__u64	connected_ns;	/* how long ago it connected */
};

/* bnd_stats.flags */
#define BND_STATS_GLOBAL	(1U << 0)	/* the daemon-wide counters are filled in: the
						 * asker is root or in privileged_groups */

struct bnd_stats {
	__u32	nr_clients;	/* entries that follow: all, or only the asker's uid's */
	__u32	total_clients;	/* connected now */
	__u32	max_clients;
	__u32	source;		/* enum blknotify_source */
	/* With BND_STATS_GLOBAL only (else zero: they tell of disks the asker may not read). */
	__u64	upstream_records; /* records the daemon read from its source */
	__u64	upstream_lost;	/* records its source reported lost */
	__u64	uptime_ns;
	__u32	flags;		/* BND_STATS_* */
	__u32	__reserved;
	__u64	state_writes;	/* GLOBAL: times the state file was written */
	__u64	upstream_changes; /* GLOBAL: watches added or removed at the source */
	struct bnd_client_stats clients[];
};

/*
 * A record the daemon puts in a client's queue when it ends one of the
 * client's watches by itself: the watched disk went away, or its number now
 * names another disk (its diskseq changed) that the client was not allowed
 * to watch.  As the kernel's watch queue does for a removed watched object:
 * type WATCH_TYPE_META, subtype WATCH_META_REMOVAL_NOTIFICATION, the watch
 * ID in info; no record of that watch follows.
 */
struct bnd_watch_removal {
	struct watch_notification watch;
	__s32	error;		/* -ENODEV: gone; -ESTALE: the number names another disk now */
	__u32	__reserved;
};
#define BND_WATCH_REMOVAL_SIZE	16

/*
 * GET_IMPACT: who owns nr_sectors from sector (whole-disk, as a record
 * names them) of disk dev: the daemon runs blknotify_device_get_impact()
 * with its own privileges and a bounded budget, if its policy lets the
 * client have file names (docs/protocol.md).
 */
struct bnd_get_impact {
	__u64	dev;		/* whole disk, st_rdev encoding */
	__u64	sector;
	__u32	nr_sectors;	/* 1 .. BND_IMPACT_SECTORS_MAX */
	__u32	__reserved;
};
#define BND_IMPACT_SECTORS_MAX	(1U << 16)	/* 32 MiB: more than one request covers */

/*
 * IMPACT: struct bnd_impact, the mount point (mount_len bytes with its NUL,
 * padded with zeros to 8), then nr_extents entries, each a struct
 * bnd_extent followed by its owner name (owner_len bytes with the NUL), its
 * path (path_len bytes with the NUL, or none: path_len 0) and zeros to 8.
 * Strings hold no NUL but their last byte.
 */
#define BND_IMPACT_EXTENTS_MAX	64
#define BND_OWNER_MAX		64	/* owner_len, NUL included */
#define BND_PATH_MAX		4096	/* path_len and mount_len, NUL included */

struct bnd_impact {
	__u32	nr_extents;	/* 0 .. BND_IMPACT_EXTENTS_MAX */
	__u32	dropped;	/* extents not sent (over the daemon's limit or the message) */
	__u32	unnamed;	/* FILE extents without a path */
	__u32	mount_len;	/* 2 .. BND_PATH_MAX */
};

struct bnd_extent {
	__u32	kind;		/* enum blknotify_extent_kind */
	__u32	flags;		/* BLKNOTIFY_EXTENT_F_* */
	__u64	dev_offset;	/* bytes from the start of the partition */
	__u64	length;
	__u64	inode;		/* FILE, else 0 */
	__u64	file_offset;	/* FILE, else 0 */
	__u16	owner_len;	/* 2 .. BND_OWNER_MAX */
	__u16	path_len;	/* 0, or with kind FILE 2 .. BND_PATH_MAX */
	__u32	__reserved;
};

/* Walking a validated IMPACT body. */
const char *bnd_impact_mount(const struct bnd_impact *im);
const struct bnd_extent *bnd_impact_first(const struct bnd_impact *im);
const struct bnd_extent *bnd_extent_next(const struct bnd_extent *x);
const char *bnd_extent_owner(const struct bnd_extent *x);
const char *bnd_extent_path(const struct bnd_extent *x);	/* NULL: none */

/*
 * Build an IMPACT reply to seq in buf (BND_MSG_MAX bytes, 8-byte aligned):
 * init, then add each extent.  An extent beyond BND_IMPACT_EXTENTS_MAX or
 * the message is not added but counted in dropped (false).  The length is
 * in the header.
 */
struct blknotify_extent;
struct bnd_impact *bnd_msg_impact_init(void *buf, __u32 seq, const char *mount,
				       __u32 dropped, __u32 unnamed);
bool bnd_msg_impact_add(void *buf, const struct blknotify_extent *x);

/*
 * GET_HISTORY: one page of the daemon's history (history_path), rows after
 * the cursor `after` (a row id; 0: from the first), in id order.  The daemon
 * examines at most its own bound of rows per page (docs/protocol.md), so a
 * page may hold fewer than limit rows, none at all, and still not be the
 * end: ask again after the reply's `last` until BND_HISTORY_END.  Error rows
 * must match dev and the subtype range; loss rows (kind 1) are sent whatever
 * the filter.  Error rows on disks the policy does not let the client watch
 * are withheld and counted.
 */
struct bnd_get_history {
	__u64	after;		/* rows with a greater id */
	__s64	since_ns;	/* CLOCK_REALTIME, inclusive; 0 .. until_ns */
	__s64	until_ns;	/* inclusive */
	__u64	dev;		/* whole disk, st_rdev encoding; 0: every disk */
	__u16	sub_lo;		/* error rows of subtypes sub_lo .. sub_hi (<= 255) */
	__u16	sub_hi;
	__u16	limit;		/* 1 .. BND_HISTORY_ROWS_MAX rows in the reply */
	__u16	flags;		/* zero */
};
#define BND_HISTORY_ROWS_MAX	256
#define BND_HISTORY_DISKS_MAX	16	/* distinct disks in one reply */
#define BND_HISTORY_NAME_MAX	32	/* the string fields, NUL included (daemon/history.h's) */
#define BND_HISTORY_SERIAL_MAX	96
#define BND_HISTORY_WWN_MAX	64
#define BND_HISTORY_BY_ID_MAX	160
#define BND_HISTORY_MODEL_MAX	64

/* bnd_history.flags */
#define BND_HISTORY_END		(1U << 0)	/* no row after `last`: the query is done */

/*
 * HISTORY: struct bnd_history, nr_disks struct bnd_history_disk (the disks
 * the rows name), then nr_rows struct bnd_history_row, ids increasing.
 */
struct bnd_history {
	__u32	nr_rows;	/* 0 .. BND_HISTORY_ROWS_MAX */
	__u32	nr_disks;	/* 0 .. BND_HISTORY_DISKS_MAX */
	__u64	last;		/* the cursor: the last row id examined (>= every row's id) */
	__u64	withheld;	/* rows examined that matched but the policy withheld */
	__u32	flags;		/* BND_HISTORY_* */
	__u32	__reserved;
};

/* A disks row.  Strings: NUL-terminated, zero-padded; "" is SQL NULL. */
struct bnd_history_disk {
	__u64	id;		/* >= 1, as rows' disk name it; distinct in a reply */
	__u64	dev;
	__u64	diskseq;
	__s64	first_time;
	char	name[BND_HISTORY_NAME_MAX];
	char	serial[BND_HISTORY_SERIAL_MAX];
	char	wwn[BND_HISTORY_WWN_MAX];
	char	by_id[BND_HISTORY_BY_ID_MAX];
	char	model[BND_HISTORY_MODEL_MAX];
};

/* Columns of an events row that may be NULL: bit (1 << BND_HCOL_x) of nulls. */
enum bnd_history_col {
	BND_HCOL_DISK, BND_HCOL_DEV, BND_HCOL_SOURCE, BND_HCOL_WATCH, BND_HCOL_SUBTYPE,
	BND_HCOL_OP, BND_HCOL_FLAGS, BND_HCOL_SECTOR, BND_HCOL_NR_SECTORS, BND_HCOL_ERROR,
	BND_HCOL_MONO, BND_HCOL_RETRIES, BND_HCOL_TRANSPORT, BND_HCOL_DETAIL, BND_HCOL_STATUS,
	BND_HCOL_COMMAND_ID, BND_HCOL_SENSE_KEY, BND_HCOL_ASC, BND_HCOL_ASCQ, BND_HCOL_OPCODE,
	BND_HCOL_DEVICE_LBA, BND_HCOL_VALUE, BND_HCOL_LOST, BND_HCOL_REASON,
	BND_HCOL_COUNT
};

/* An events row, every column; a NULL column is zero here and its bit set in nulls. */
struct bnd_history_row {
	__u64	id;		/* >= 1 */
	__s64	time;		/* CLOCK_REALTIME ns */
	__u64	disk;		/* a bnd_history_disk id of this reply */
	__u64	dev;
	__u64	sector;
	__s64	mono;
	__u64	device_lba;
	__u64	value;
	__u64	lost;
	__u32	nulls;		/* 1 << BND_HCOL_* */
	__u32	nr_sectors;
	__s32	error;
	__u16	op, flags, retries, status, command_id;
	__u8	kind;		/* 0 a record, 1 a loss */
	__u8	subtype, source, watch, transport, detail, sense_key, asc, ascq, opcode, reason;
	__u8	__reserved[7];
};

/* Walking a validated HISTORY body. */
const struct bnd_history_disk *bnd_history_disks(const struct bnd_history *h);
const struct bnd_history_row *bnd_history_rows(const struct bnd_history *h);

/* A parsed, validated message: pointers into the buffer that was parsed. */
struct bnd_msg {
	const struct bnd_hdr *hdr;
	unsigned int type;
	__u32 seq;
	union {
		const struct bnd_hello *hello;
		const struct bnd_hello_reply *hello_reply;
		const struct bnd_set_size *set_size;
		const struct bnd_set_filter *set_filter;
		const struct bnd_add_watch *add_watch;
		const struct bnd_remove_watch *remove_watch;
		const struct bnd_ack *ack;
		const struct bnd_ok *ok;
		const struct bnd_error *error;
		const struct bnd_stats *stats;
		const struct bnd_get_impact *get_impact;
		const struct bnd_impact *impact;
		const struct bnd_get_history *get_history;
		const struct bnd_history *history;
		const void *records;
	};
	size_t body_len;	/* RECORDS: bytes of records */
};

enum bnd_direction {
	BND_TO_DAEMON,		/* accept only client requests */
	BND_TO_CLIENT,		/* accept only daemon messages */
};

/*
 * Validate the message in buf[0 .. len) and fill *m.  Returns 0, or a
 * negative errno with a sentence in why[]:
 *   -EBADMSG	bad magic, length, body size, reserved bits or values
 *   -EPROTONOSUPPORT	another protocol version
 *   -EOPNOTSUPP	a type this version does not define (or the wrong direction)
 * buf must stay valid while *m is used.  Alignment: buf must be 8-byte aligned.
 */
int bnd_parse(const void *buf, size_t len, enum bnd_direction dir, struct bnd_msg *m,
	      char *why, size_t why_len);

/* Whether the buffer of records (a RECORDS body) is well formed; why[] says what is not. */
bool bnd_records_valid(const void *buf, size_t len, char *why, size_t why_len);

/*
 * Start a message in buf (BND_MSG_MAX bytes, 8-byte aligned): header with
 * len = header + body_len.  Returns a pointer to the body.
 */
void *bnd_msg_init(void *buf, unsigned int type, __u32 seq, size_t body_len);

/* Build an ERROR message in buf (BND_REQUEST_MAX bytes is enough); returns its length. */
size_t bnd_msg_error(void *buf, __u32 seq, int error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Name of a message type, for logs ("HELLO", ...; "unknown"). */
const char *bnd_type_name(unsigned int type);

/*
 * Ask the daemon at path (NULL: BLKNOTIFY_DAEMON_SOCKET) for its statistics.
 * On success *ret is a malloc'ed STATS body (free() it).  Returns 0 or a
 * negative errno; why[] explains a failure.  For `blkwatch --stats`.
 */
int bnd_query_stats(const char *path, struct bnd_stats **ret, char *why, size_t why_len);

/*
 * Print statistics for an operator: the daemon's source and totals, then one
 * line per client (pid, uid, watches, queue size, held, delivered, lost).
 */
void bnd_print_stats(FILE *f, const struct bnd_stats *s);

#endif /* BLKNOTIFY_PROTOCOL_H */
