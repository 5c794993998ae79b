/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotifyd's history output: every error record the source gives on the
 * outputs' disks, and every loss with its count, stored in an SQLite
 * database (history_path) that survives restarts and crashes, for
 * blknotify-history(1) to query.
 *
 * Writing.  A record becomes a row in memory (history_record()); rows are
 * written in one transaction when history_batch of them wait, or
 * history_commit_ms after the first of them, on the manager's loop.  The
 * database is in WAL mode with synchronous=NORMAL: a commit appends to the
 * WAL without an fsync, so a storm costs a few inserts per error, not a
 * disk flush.  The only fsync, the checkpoint that copies the WAL into the
 * database, runs in a thread of its own on a connection of its own
 * (PASSIVE: it never waits for, nor blocks, the writer), asked for when
 * the WAL holds HISTORY_WAL_PAGES pages: the manager's loop never waits for
 * the disk.  A
 * commit that finds the database busy (another writer, a reader holding a
 * checkpoint back) is given up at once (no busy wait) and tried again at
 * the next timer; meanwhile rows wait in a queue of history_queue rows, and
 * what does not fit is dropped, counted (HISTORY_REASON_QUEUE) and written
 * as a loss row with the next commit that succeeds.
 *
 * Crashes.  The meta table says whether the daemon that wrote last stopped
 * cleanly.  If not (SIGKILL, a crash, power loss), the rows it had not yet
 * committed are gone, at most one batch plus what waited: the next start
 * writes a loss row for them, with the count unknown (HISTORY_REASON_CRASH).
 * Losses the source reports (its ring buffer overran) are loss rows with
 * their count (HISTORY_REASON_SOURCE).
 *
 * Retention.  Each commit deletes at most HISTORY_TRIM_FACTOR times the rows
 * it added (at least history_batch), oldest first, among those older than
 * history_max_age_s and while the database's pages in use exceed
 * history_max_bytes: trimming keeps up with a storm and never stalls one.
 * When a commit stopped at that limit, and at start (what aged while no
 * daemon ran), the timer runs again to trim more.  While no error comes,
 * rows that age past history_max_age_s are trimmed with the next commit.  Freed pages are reused, so
 * the file stays near history_max_bytes (plus the WAL, kept to
 * HISTORY_WAL_LIMIT bytes once checkpointed).
 *
 * The schema is versioned (PRAGMA user_version = HISTORY_SCHEMA_VERSION,
 * application_id = HISTORY_APPLICATION_ID) and older versions are migrated
 * in a transaction.  A file that is not an SQLite database, another
 * program's database or one written by a newer blknotifyd is refused with
 * a message saying what to do, and never written to: the daemon does not
 * start (history_open() fails), because an operator who configured a
 * history would otherwise believe errors are kept that are not.  A
 * database found corrupted while running turns the history off, loudly;
 * the daemon goes on serving its clients.
 *
 * Bounds: history_queue rows in memory (HISTORY_ROW_SIZE, 96 bytes each),
 * HISTORY_DISKS_CACHED disks' identities (456 bytes each), written to the
 * disks table in the transaction of their first row: a record's path runs
 * no SQL.
 */
#ifndef BLKNOTIFYD_HISTORY_H
#define BLKNOTIFYD_HISTORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <blknotify/block_notify.h>
#include "disk-info.h"

#define HISTORY_APPLICATION_ID		0x626c6b68	/* "blkh" */
#define HISTORY_SCHEMA_VERSION		1
#define HISTORY_MAX_AGE_DEFAULT		(90 * 86400)	/* s */
#define HISTORY_MAX_BYTES_DEFAULT	(256ULL << 20)
#define HISTORY_MAX_BYTES_MIN		(1ULL << 20)
#define HISTORY_BATCH_DEFAULT		1024
#define HISTORY_BATCH_MAX		65536
#define HISTORY_COMMIT_DEFAULT		200		/* ms */
#define HISTORY_QUEUE_DEFAULT		65536		/* rows */
#define HISTORY_QUEUE_MAX		(1U << 22)
#define HISTORY_TRIM_FACTOR		2
#define HISTORY_WAL_PAGES		1000		/* a checkpoint is asked for at this many */
#define HISTORY_WAL_LIMIT		(16LL << 20)	/* journal_size_limit */
#define HISTORY_DISKS_CACHED		64
#define HISTORY_TICK_BATCHES		8	/* transactions per timer tick, at most */
#define HISTORY_STOP_TIMEOUT_MS		2000	/* opening and the last commit wait this long for a lock */

/* A loss row's reason column. */
enum history_reason {
	HISTORY_REASON_SOURCE = 1,	/* the source's buffer overran: count given */
	HISTORY_REASON_QUEUE = 2,	/* the history's queue was full (SQLite busy or slow) */
	HISTORY_REASON_CRASH = 3,	/* the last daemon did not stop cleanly: count unknown */
};

struct history_row {
	__u64 realtime_ns;		/* CLOCK_REALTIME: of the error (its time_ns), else when read */
	__u64 lost;			/* a loss row: the count (0: unknown) */
	__u32 len;			/* of rec; 0: a loss row */
	__u16 disk;			/* 1 + its slot in history.disks; 0: none (a loss, or no slot) */
	__u8 reason;			/* a loss row's enum history_reason */
	struct block_notification rec;
};
#define HISTORY_ROW_SIZE	sizeof(struct history_row)
#define HISTORY_NO_SLOT		0

/*
 * A disk's identity as its first row found it, kept until its disks row is
 * written, which is done in the transaction of that row (never on the path
 * of a record: a busy database costs no identity).  A slot is reused only
 * when no waiting row refers to it; with HISTORY_DISKS_CACHED disks all
 * waiting, a further new disk's rows have its number only (dev).
 */
struct history_disk {
	__u64 dev, diskseq;
	__s64 id;			/* disks.id; 0: not written yet */
	bool new_id;			/* id given by the transaction being made */
	unsigned int waiting;		/* rows in the queue that refer to it */
	__u64 first_ns;
	char name[32], serial[96], wwn[64], by_id[160], model[64];
};

struct history_stats {
	__u64 rows;			/* record rows committed */
	__u64 loss_rows;		/* loss rows committed */
	__u64 dropped;			/* records the queue had no room for */
	__u64 trimmed;			/* rows deleted by retention */
	__u64 commits, commit_failed;
	__u64 commit_ns, commit_ns_max;	/* time spent committing */
	__u64 commit_cpu_ns_max;	/* of it on the CPU (the rest: preempted, or the disk) */
};

struct sqlite3;
struct sqlite3_stmt;

/* The checkpoint thread's state; counters read with __atomic loads. */
struct history_checkpointer {
	struct sqlite3 *db;		/* its own connection */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool wanted, stop;		/* under lock */
	__u64 done, failed, ns, ns_max;
	__u64 frames;			/* WAL frames copied into the database */
};

struct history {
	struct sqlite3 *db;
	struct sqlite3_stmt *insert, *trim_age, *trim_size, *disk_insert, *disk_find;
	char path[256];
	int lock_fd;			/* flock()ed: one daemon per history */
	long long page_size;
	unsigned int source;		/* enum blknotify_source, for each row */
	unsigned int batch, queue_max;
	__u64 max_age_ns, max_bytes;
	bool opened;			/* ours, checked: it may be written */
	bool failed;			/* corrupted while running: off */
	bool waiting;			/* the last commit failed: the timer retries */
	bool trim_more;			/* retention stopped at its limit: go on at the next tick */
	unsigned int trimmed_now;	/* by the transaction being made */
	struct history_row *rows;	/* queue_max of them, a ring */
	unsigned int head, nr;
	__u64 dropped_pending;		/* dropped, not yet written as a loss row */
	struct history_disk disks[HISTORY_DISKS_CACHED];
	unsigned int nr_disks, next_disk;
	struct history_stats stats;
	struct history_checkpointer ck;
};

/*
 * Open (or create) the database at path with these bounds.  Refuses, with
 * the reason in err[], a file that is not ours; writes the crash loss row
 * when the last daemon did not stop cleanly.  Returns 0 or a negative errno.
 */
int history_open(struct history *h, const char *path, unsigned int source,
		 unsigned int max_age_s, unsigned long long max_bytes, unsigned int batch,
		 unsigned int queue, char *err, size_t err_len);
/* One record of the disk id (looked up by the caller), read at realtime_ns. */
void history_record(struct history *h, const struct block_notification *b, size_t len,
		    const struct disk_identity *id, __u64 realtime_ns);
/* The source lost nr records. */
void history_loss(struct history *h, __u64 nr, __u64 realtime_ns);
/*
 * Whether to commit now: history_batch rows wait, and the last commit did
 * not fail (then the timer tries again, not every record).
 */
static inline bool history_full(const struct history *h)
{
	return h->nr >= h->batch && !h->waiting;
}
/* Whether rows wait to be committed, or retention has more to trim: then the timer runs. */
static inline bool history_pending(const struct history *h)
{
	return h->nr || h->dropped_pending || h->trim_more;
}
/* Commit what waits (at most history_batch rows per transaction, all of them when all). */
int history_commit(struct history *h, bool all);
/* Commit everything, mark the stop clean and close. */
void history_close(struct history *h);

#endif /* BLKNOTIFYD_HISTORY_H */
