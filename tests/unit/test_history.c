// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotifyd's history batcher (daemon/history.c) on a real SQLite database
 * in a temporary directory: rows and identity as stored, a busy database
 * (another connection holds the write lock) makes rows wait and a full
 * queue drops with a count that becomes a loss row, a crash (a child that
 * exits without closing) leaves a loss row for the next start, retention
 * by size and age, and files that are not ours refused, their bytes kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "harness.h"
#include "history.h"

static char dir[64], path[128];

static void fresh(void)
{
	char cmd[200];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
	}
	snprintf(dir, sizeof(dir), "/tmp/test_history.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/h.db", dir);
}

static __u64 realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static const struct disk_identity disk = {
	.dev = (8ULL << 8) | 16, .diskseq = 7, .name = "sdb", .serial = "SER1\"x", .wwn = "wwn-1",
	.model = "M", .by_id = "/dev/disk/by-id/ata-M_SER1",
};

static void record(struct history *h, __u64 sector, __u64 when)
{
	struct block_notification b = {
		.watch = { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype = 6,
			   .info = BLOCK_NOTIFICATION_SIZE_V2 | 3 << WATCH_INFO_ID__SHIFT },
		.dev = disk.dev, .sector = sector, .nr_sectors = 8, .error = -ENODATA, .op = 0,
		.status = 2, .sense_key = 3, .asc = 0x11, .ascq = 4, .device_lba = sector + 1,
	};

	history_record(h, &b, sizeof(b), &disk, when);
}

static long long q(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -3 : sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

static int open_h(struct history *h, unsigned int batch, unsigned int queue, __u64 max_bytes,
		  unsigned int max_age_s)
{
	char err[1024];
	int r = history_open(h, path, 1, max_age_s, max_bytes, batch, queue, err, sizeof(err));

	if (r < 0)
		printf("# %s\n", err);
	return r;
}

TEST(rows_hold_the_record_and_the_disk)
{
	struct history h;
	int i;

	fresh();
	ASSERT_EQ(open_h(&h, 100, 1000, 1ULL << 30, 0), 0);
	for (i = 0; i < 10; i++)
		record(&h, 1000 + i, realtime());
	ASSERT_EQ(h.nr, 10);
	ASSERT_EQ(history_commit(&h, true), 0);
	ASSERT_EQ(h.nr, 0);
	EXPECT_EQ(q("SELECT count(*) FROM events WHERE kind = 0"), 10);
	EXPECT_EQ(q("SELECT count(*) FROM disks WHERE serial = 'SER1\"x' AND name = 'sdb' AND "
		    "wwn = 'wwn-1' AND diskseq = 7 AND dev = 2064"), 1);
	EXPECT_EQ(q("SELECT count(*) FROM events e JOIN disks d ON d.id = e.disk WHERE "
		    "e.subtype = 6 AND e.sense_key = 3 AND e.asc = 17 AND e.ascq = 4 AND e.status = 2 "
		    "AND e.device_lba = e.sector + 1 AND e.error = -61 AND e.watch = 3 AND e.source = 1"),
		  10);
	EXPECT_EQ(q("SELECT value FROM meta WHERE key = 'clean'"), 0);	/* running */
	history_close(&h);
	EXPECT_EQ(q("SELECT value FROM meta WHERE key = 'clean'"), 1);
	EXPECT_EQ(q("PRAGMA user_version"), HISTORY_SCHEMA_VERSION);
	EXPECT_EQ(q("PRAGMA application_id"), HISTORY_APPLICATION_ID);
	{
		unsigned char hdr[20];
		int fd = open(path, O_RDONLY);

		ASSERT_EQ(read(fd, hdr, sizeof(hdr)), 20);
		close(fd);
		EXPECT_EQ(hdr[18], 2);	/* WAL (the file format's read/write versions) */
		EXPECT_EQ(hdr[19], 2);
	}
}

TEST(busy_rows_wait_full_queue_drops_into_a_loss_row)
{
	struct history h;
	sqlite3 *other;
	int i;

	fresh();
	ASSERT_EQ(open_h(&h, 4, 4, 1ULL << 30, 0), 0);
	ASSERT_EQ(sqlite3_open(path, &other), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < 4; i++)
		record(&h, i, realtime());
	ASSERT_EQ(history_commit(&h, true), -EBUSY);	/* at once: no busy wait */
	EXPECT_EQ(h.nr, 4);
	ASSERT_FALSE(history_full(&h));			/* the timer retries, not each record */
	for (i = 0; i < 3; i++)
		record(&h, 100 + i, realtime());
	history_loss(&h, 5, realtime());		/* no room either: counted */
	EXPECT_EQ(h.stats.dropped, 3);
	EXPECT_EQ(h.dropped_pending, 8);
	ASSERT_EQ(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	ASSERT_EQ(history_commit(&h, true), 0);
	EXPECT_EQ(q("SELECT count(*) FROM events WHERE kind = 0"), 4);
	/* The disk was new while the database was busy: its identity is still in its rows. */
	EXPECT_EQ(q("SELECT count(*) FROM events e JOIN disks d ON d.id = e.disk WHERE "
		    "d.serial = 'SER1\"x' AND e.kind = 0"), 4);
	EXPECT_EQ(q("SELECT count(*) FROM disks"), 1);
	EXPECT_EQ(q("SELECT sum(lost) FROM events WHERE kind = 1 AND reason = 2"), 8);
	EXPECT_EQ(h.stats.commit_failed, 1);
	/* With room, a loss the source reports is a row of its own, with its count. */
	history_loss(&h, 42, realtime());
	ASSERT_EQ(history_commit(&h, true), 0);
	EXPECT_EQ(q("SELECT lost FROM events WHERE kind = 1 AND reason = 1"), 42);
	history_close(&h);
}

TEST(a_crash_is_a_loss_row_at_the_next_start)
{
	struct history h;
	pid_t pid;
	int st;

	fresh();
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int i;

		if (open_h(&h, 100, 1000, 1ULL << 30, 0))
			_exit(1);
		for (i = 0; i < 5; i++)
			record(&h, i, realtime());
		history_commit(&h, true);
		for (i = 0; i < 3; i++)
			record(&h, 10 + i, realtime());	/* the open batch */
		_exit(0);				/* as after SIGKILL: no close */
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_EQ(st, 0);
	ASSERT_EQ(open_h(&h, 100, 1000, 1ULL << 30, 0), 0);
	EXPECT_EQ(q("SELECT count(*) FROM events WHERE kind = 0"), 5);
	EXPECT_EQ(q("SELECT count(*) FROM events WHERE kind = 1 AND reason = 3 AND lost IS NULL"), 1);
	history_close(&h);
	/* A clean stop: no loss row the next time. */
	ASSERT_EQ(open_h(&h, 100, 1000, 1ULL << 30, 0), 0);
	history_close(&h);
	EXPECT_EQ(q("SELECT count(*) FROM events WHERE kind = 1"), 1);
}

TEST(retention_by_size_keeps_the_newest)
{
	struct history h;
	long long used;
	int i;

	fresh();
	ASSERT_EQ(open_h(&h, 512, 4096, 1ULL << 20, 0), 0);
	for (i = 0; i < 40000; i++) {
		record(&h, i, realtime());
		if (history_full(&h))
			ASSERT_EQ(history_commit(&h, false), 0);
	}
	ASSERT_EQ(history_commit(&h, true), 0);
	used = q("SELECT (SELECT page_count FROM pragma_page_count) - "
		 "(SELECT freelist_count FROM pragma_freelist_count)") *
	       q("PRAGMA page_size");
	printf("# %lld bytes in use, %llu rows trimmed\n", used, (unsigned long long)h.stats.trimmed);
	EXPECT_EQ(h.stats.rows, 40000);
	ASSERT_GE((long long)h.stats.trimmed, 20000);
	ASSERT_LE(used, (1 << 20) + 512 * 100);
	EXPECT_EQ(q("SELECT max(sector) FROM events"), 39999);
	EXPECT_EQ(q("SELECT count(*) FROM events") + (long long)h.stats.trimmed, 40000);
	history_close(&h);
	/* The WAL filled past HISTORY_WAL_PAGES: the thread checkpointed, the writer never did. */
	printf("# %llu checkpoints, %llu frames, %.2f ms at most\n", (unsigned long long)h.ck.done,
	       (unsigned long long)h.ck.frames, h.ck.ns_max / 1e6);
	ASSERT_GT((long long)h.ck.done, 0);
	ASSERT_GE((long long)h.ck.frames, HISTORY_WAL_PAGES);
	EXPECT_EQ(h.ck.failed, 0);
}

TEST(retention_by_age)
{
	struct history h;
	__u64 now = realtime();
	int i;

	fresh();
	ASSERT_EQ(open_h(&h, 100, 1000, 1ULL << 30, 60), 0);
	for (i = 0; i < 50; i++)
		record(&h, i, now - 120 * 1000000000ULL);	/* two minutes old */
	for (i = 0; i < 50; i++)
		record(&h, 100 + i, now);
	ASSERT_EQ(history_commit(&h, true), 0);
	EXPECT_EQ(q("SELECT count(*) FROM events"), 50);
	EXPECT_EQ(q("SELECT min(sector) FROM events"), 100);
	history_close(&h);
}

static char *slurp(const char *p, size_t *len)
{
	static char buf[1 << 16];
	int fd = open(p, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (fd >= 0)
		close(fd);
	*len = n < 0 ? 0 : n;
	return buf;
}

static void expect_refused(const char *what)
{
	char before[1 << 16], err[1024];
	size_t len = 0, len2;
	struct history h;
	char *after = slurp(path, &len);

	memcpy(before, after, len);
	EXPECT_EQ(history_open(&h, path, 1, 0, 1ULL << 30, 10, 10, err, sizeof(err)), -EINVAL);
	history_close(&h);
	printf("# %s\n", err);
	EXPECT_TRUE(strstr(err, what) && strstr(err, path) && strstr(err, "move it away"));
	after = slurp(path, &len2);
	EXPECT_EQ(len2, len);
	EXPECT_EQ(memcmp(before, after, len), 0);
}

TEST(files_that_are_not_ours_are_refused_and_kept)
{
	struct history h;
	sqlite3 *db;
	int fd;

	fresh();
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE mail(body TEXT); INSERT INTO mail VALUES('keep')",
			       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_refused("an SQLite database of another program");

	fresh();
	ASSERT_EQ(open_h(&h, 10, 10, 1ULL << 30, 0), 0);
	history_close(&h);
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_refused("written by a newer blknotifyd");

	fresh();
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ASSERT_EQ(write(fd, "not a database, but somebody's file\n", 36), 36);
	close(fd);
	expect_refused("not an SQLite database");
}

TEST(disk_slots_are_bounded_and_reused_once_written)
{
	struct disk_identity id = disk;
	struct block_notification b = {
		.watch = { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype = 10,
			   .info = BLOCK_NOTIFICATION_SIZE_V1 },
		.nr_sectors = 1, .error = -EIO,
	};
	struct history h;
	unsigned int i;

	fresh();
	ASSERT_EQ(open_h(&h, 1000, 1000, 1ULL << 30, 0), 0);
	for (i = 0; i <= HISTORY_DISKS_CACHED; i++) {	/* one more disk than slots, all waiting */
		b.dev = id.dev = (8ULL << 8) | i;
		history_record(&h, &b, BLOCK_NOTIFICATION_SIZE_V1, &id, realtime());
	}
	ASSERT_EQ(history_commit(&h, true), 0);
	EXPECT_EQ(q("SELECT count(*) FROM disks"), HISTORY_DISKS_CACHED);
	EXPECT_EQ(q("SELECT count(*) FROM events WHERE disk IS NULL AND dev = 2112"), 1);
	/* Written: the slots may serve other disks now. */
	b.dev = id.dev = (9ULL << 8) | 1;
	history_record(&h, &b, BLOCK_NOTIFICATION_SIZE_V1, &id, realtime());
	ASSERT_EQ(history_commit(&h, true), 0);
	EXPECT_EQ(q("SELECT count(*) FROM events e JOIN disks d ON d.id = e.disk WHERE e.dev = 2305"), 1);
	history_close(&h);
}
