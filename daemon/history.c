// SPDX-License-Identifier: LGPL-2.1-or-later
/* The history output: records and losses into SQLite, batched (history.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "history.h"
#include "history-schema.h"
#include "log.h"

/* Version 1 (history-schema.h). */
static const char schema_v1[] =
	HISTORY_SCHEMA_V1_TABLES
	"INSERT INTO meta VALUES('clean', 1);";

/*
 * migrations[v] takes a database from version v to v + 1, in the same
 * transaction as the new user_version.  Version 0 is an empty database.
 */
static const char *const migrations[HISTORY_SCHEMA_VERSION] = {
	schema_v1,
};

#define INSERT_SQL "INSERT INTO events(time, kind, disk, dev, source, watch, subtype, op, flags," \
	" sector, nr_sectors, error, mono, retries, transport, detail, status, command_id," \
	" sense_key, asc, ascq, opcode, device_lba, value, lost, reason)" \
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18," \
	" ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)"

static int exec(struct history *h, const char *sql)
{
	return sqlite3_exec(h->db, sql, NULL, NULL, NULL);
}

/* One integer from sql, or -1 with the SQLite error in *rc. */
static long long query_int(sqlite3 *db, const char *sql, int *rc)
{
	sqlite3_stmt *s;
	long long v = -1;

	*rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (*rc != SQLITE_OK)
		return -1;
	*rc = sqlite3_step(s);
	if (*rc == SQLITE_ROW) {
		v = sqlite3_column_int64(s, 0);
		*rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return v;
}

static const char what_to_do[] =
	"blknotifyd leaves it as it is: move it away (keep it if it matters) and restart to "
	"start a new history there, or set history_path to another file";

/* Whether the file starts as every SQLite 3 database does (or is empty or absent). */
static int check_header(const char *path, bool *exists, char *err, size_t err_len)
{
	unsigned char hdr[16];
	struct stat st;
	ssize_t n;
	int fd;

	*exists = false;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, err_len, "history_path %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "history_path %s: not a regular file (a symbolic link or "
			 "something else); %s", path, what_to_do);
		return -EINVAL;
	}
	if (st.st_size == 0)
		return 0;	/* SQLite makes an empty file a database too */
	*exists = true;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, err_len, "history_path %s: %s", path, strerror(errno));
		return -errno;
	}
	n = read(fd, hdr, sizeof(hdr));
	close(fd);
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, "SQLite format 3", 16)) {
		snprintf(err, err_len, "history_path %s: not an SQLite database (damaged, or another "
			 "program's file); %s", path, what_to_do);
		return -EINVAL;
	}
	return 0;
}

/* Ours, at a version we know (migrated if older), or refused. */
static int check_schema(struct history *h, char *err, size_t err_len)
{
	long long objects, app, version;
	unsigned int v;
	int rc;

	objects = query_int(h->db, "SELECT count(*) FROM sqlite_master", &rc);
	if (rc == SQLITE_OK)
		app = query_int(h->db, "PRAGMA application_id", &rc);
	if (rc == SQLITE_OK)
		version = query_int(h->db, "PRAGMA user_version", &rc);
	if ((rc & 0xff) == SQLITE_BUSY) {
		snprintf(err, err_len, "history_path %s: another program holds it locked: stop it, or "
			 "set history_path to another file", h->path);
		return -EBUSY;
	}
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "history_path %s: SQLite cannot read it (%s): the file is "
			 "damaged or not a database; %s", h->path, sqlite3_errstr(rc), what_to_do);
		return -EINVAL;
	}
	if (objects == 0 && app == 0 && version == 0) {
		/* New (or empty): ours from now on. */
	} else if (app != HISTORY_APPLICATION_ID) {
		snprintf(err, err_len, "history_path %s: an SQLite database of another program "
			 "(application_id %#llx, not blknotify's %#x); %s", h->path,
			 (unsigned long long)app, HISTORY_APPLICATION_ID, what_to_do);
		return -EINVAL;
	} else if (version > HISTORY_SCHEMA_VERSION || version < 0) {
		snprintf(err, err_len, "history_path %s: written by a newer blknotifyd (schema version "
			 "%lld; this one knows up to %d): run that version, or %s", h->path, version,
			 HISTORY_SCHEMA_VERSION, what_to_do + sizeof("blknotifyd leaves it as it is: ") - 1);
		return -EINVAL;
	} else if (version == HISTORY_SCHEMA_VERSION) {
		return 0;
	}
	if (exec(h, "BEGIN IMMEDIATE") != SQLITE_OK)
		goto fail;
	for (v = version; v < HISTORY_SCHEMA_VERSION; v++) {
		char sql[96];

		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %u",
			 HISTORY_APPLICATION_ID, v + 1);
		if (exec(h, migrations[v]) != SQLITE_OK || exec(h, sql) != SQLITE_OK) {
			exec(h, "ROLLBACK");
			goto fail;
		}
	}
	if (exec(h, "COMMIT") != SQLITE_OK) {
		exec(h, "ROLLBACK");
		goto fail;
	}
	if (version)
		log_info("history %s: schema version %lld migrated to %d", h->path, version,
			 HISTORY_SCHEMA_VERSION);
	return 0;
fail:
	snprintf(err, err_len, "history_path %s: cannot %s the schema: %s", h->path,
		 version ? "migrate" : "create", sqlite3_errmsg(h->db));
	return -EIO;
}

static int prepare(struct history *h, char *err, size_t err_len)
{
	static const struct { size_t offset; const char *sql; } stmts[] = {
		{ offsetof(struct history, insert), INSERT_SQL },
		/* Oldest first, at most ?1 of them: the subquery reads ?1 rows, no more. */
		{ offsetof(struct history, trim_age), "DELETE FROM events WHERE id IN "
		  "(SELECT id FROM events ORDER BY id LIMIT ?1) AND time < ?2" },
		{ offsetof(struct history, trim_size), "DELETE FROM events WHERE id IN "
		  "(SELECT id FROM events ORDER BY id LIMIT ?1)" },
		{ offsetof(struct history, disk_find), "SELECT id FROM disks WHERE dev = ?1 AND "
		  "diskseq = ?2 AND name IS ?3 AND serial IS ?4 AND wwn IS ?5 AND by_id IS ?6" },
		{ offsetof(struct history, disk_insert), "INSERT INTO disks(dev, diskseq, name, serial, "
		  "wwn, by_id, model, first_time) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	};
	size_t i;

	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_stmt **s = (sqlite3_stmt **)((char *)h + stmts[i].offset);

		if (sqlite3_prepare_v3(h->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, s,
				       NULL) != SQLITE_OK) {
			snprintf(err, err_len, "history_path %s: not the tables blknotifyd made (%s); %s",
				 h->path, sqlite3_errmsg(h->db), what_to_do);
			return -EINVAL;
		}
	}
	return 0;
}

static void push(struct history *h, const struct history_row *row)
{
	h->rows[(h->head + h->nr) % h->queue_max] = *row;
	h->nr++;
}

static void push_loss(struct history *h, __u64 nr, enum history_reason reason, __u64 realtime_ns)
{
	if (h->nr == h->queue_max) {
		h->dropped_pending += nr;	/* written with the next commit */
		return;
	}
	push(h, &(struct history_row){ .realtime_ns = realtime_ns, .lost = nr, .reason = reason });
}

static __u64 mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static __u64 thread_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static __u64 realtime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The checkpoint thread: copies the WAL into the database (and syncs) when asked. */
static void *checkpointer(void *arg)
{
	struct history_checkpointer *ck = arg;

	pthread_mutex_lock(&ck->lock);
	for (;;) {
		int rc, log = 0, done = 0;
		__u64 t0, dt;

		while (!ck->wanted && !ck->stop)
			pthread_cond_wait(&ck->cond, &ck->lock);
		if (ck->stop)
			break;
		ck->wanted = false;
		pthread_mutex_unlock(&ck->lock);
		t0 = mono_now();
		rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		dt = mono_now() - t0;
		__atomic_add_fetch(&ck->frames, done > 0 ? done : 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(rc == SQLITE_OK ? &ck->done : &ck->failed, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&ck->ns, dt, __ATOMIC_RELAXED);
		if (dt > __atomic_load_n(&ck->ns_max, __ATOMIC_RELAXED))
			__atomic_store_n(&ck->ns_max, dt, __ATOMIC_RELAXED);
		pthread_mutex_lock(&ck->lock);
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

/* After each commit (SQLite's WAL hook, the writer's thread): a checkpoint when the WAL is long. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct history_checkpointer *ck = arg;

	(void)db;
	(void)name;
	if (pages >= HISTORY_WAL_PAGES) {
		pthread_mutex_lock(&ck->lock);
		ck->wanted = true;
		pthread_cond_signal(&ck->cond);
		pthread_mutex_unlock(&ck->lock);
	}
	return SQLITE_OK;
}

static int checkpointer_start(struct history *h, char *err, size_t err_len)
{
	struct history_checkpointer *ck = &h->ck;
	sigset_t all, old;
	int r;

	if (sqlite3_open_v2(h->path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, err_len, "history_path %s: a second connection: %s", h->path,
			 ck->db ? sqlite3_errmsg(ck->db) : "no memory");
		return -EIO;
	}
	/* A first read: the connection then knows the database is in WAL mode. */
	{
		int rc;

		query_int(ck->db, "SELECT count(*) FROM sqlite_master", &rc);
		if (rc != SQLITE_OK) {
			snprintf(err, err_len, "history_path %s: a second connection: %s", h->path,
				 sqlite3_errmsg(ck->db));
			return -EIO;
		}
	}
	pthread_mutex_init(&ck->lock, NULL);
	pthread_cond_init(&ck->cond, NULL);
	/* Signals stay the manager's (its signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&ck->thread, NULL, checkpointer, ck);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		snprintf(err, err_len, "history: cannot start the checkpoint thread: %s", strerror(r));
		pthread_mutex_destroy(&ck->lock);
		pthread_cond_destroy(&ck->cond);
		return -r;
	}
	ck->running = true;
	sqlite3_wal_hook(h->db, wal_hook, ck);	/* instead of wal_autocheckpoint's */
	return 0;
}

static void checkpointer_stop(struct history *h)
{
	struct history_checkpointer *ck = &h->ck;

	if (ck->running) {
		pthread_mutex_lock(&ck->lock);
		ck->stop = true;
		pthread_cond_signal(&ck->cond);
		pthread_mutex_unlock(&ck->lock);
		pthread_join(ck->thread, NULL);
		pthread_mutex_destroy(&ck->lock);
		pthread_cond_destroy(&ck->cond);
		ck->running = false;
		sqlite3_wal_hook(h->db, NULL, NULL);
	}
	sqlite3_close(ck->db);	/* before the writer's: its close checkpoints and removes the WAL */
	ck->db = NULL;
}

int history_open(struct history *h, const char *path, unsigned int source,
		 unsigned int max_age_s, unsigned long long max_bytes, unsigned int batch,
		 unsigned int queue, char *err, size_t err_len)
{
	bool exists;	/* (an empty file is a new database too) */
	long long clean;
	int rc, r, fd;

	memset(h, 0, sizeof(*h));
	h->lock_fd = -1;
	snprintf(h->path, sizeof(h->path), "%s", path);
	h->source = source;
	h->max_age_ns = max_age_s * 1000000000ULL;
	h->max_bytes = max_bytes;
	h->batch = batch;
	h->queue_max = queue < batch ? batch : queue;
	if ((r = check_header(path, &exists, err, err_len)) < 0)
		return r;
	if (!exists)
		log_info("history %s: a new history", path);
	/* Created here so that it is root's alone, whatever the umask (-wal and -shm follow). */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_len, "history_path %s: cannot open it: %s", path, strerror(errno));
		return r;
	}
	/* One daemon per history (flock is not SQLite's POSIX locks; this fd stays open). */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, err_len, "history_path %s: another blknotifyd writes it: give this one "
			 "its own history_path", path);
		close(fd);
		return -EBUSY;
	}
	h->lock_fd = fd;
	rc = sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "history_path %s: %s", path,
			 h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
		return -EIO;
	}
	/* Opening may wait a little for a lock another program holds; records never do (below). */
	sqlite3_busy_timeout(h->db, HISTORY_STOP_TIMEOUT_MS);
	if ((r = check_schema(h, err, err_len)) < 0)
		return r;
	/* Ours: from here on it may be written. */
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
			 "PRAGMA journal_size_limit = %lld", (long long)HISTORY_WAL_LIMIT);
		if (exec(h, sql) != SQLITE_OK) {
			snprintf(err, err_len, "history_path %s: cannot use WAL mode: %s", path,
				 sqlite3_errmsg(h->db));
			return -EIO;
		}
	}
	h->page_size = query_int(h->db, "PRAGMA page_size", &rc);
	if ((r = prepare(h, err, err_len)) < 0 || (r = checkpointer_start(h, err, err_len)) < 0)
		return r;
	clean = query_int(h->db, "SELECT value FROM meta WHERE key = 'clean'", &rc);
	h->rows = calloc(h->queue_max, sizeof(*h->rows));
	if (!h->rows) {
		snprintf(err, err_len, "history: no memory for %u rows", h->queue_max);
		return -ENOMEM;
	}
	if (clean == 0) {
		log_warn("history %s: the last blknotifyd did not stop cleanly: the records it had "
			 "not yet committed (at most one batch and its queue) are lost; a loss row "
			 "with an unknown count says so", path);
		push_loss(h, 0, HISTORY_REASON_CRASH, realtime_now());
	}
	if (exec(h, "INSERT OR REPLACE INTO meta VALUES('clean', 0)") != SQLITE_OK) {
		snprintf(err, err_len, "history_path %s: cannot write it: %s", path,
			 sqlite3_errmsg(h->db));
		return -EIO;
	}
	sqlite3_busy_timeout(h->db, 0);	/* busy: give up now, try at the next timer */
	h->opened = true;
	h->trim_more = true;	/* what aged while no daemon ran: trimmed at the first tick */
	if (h->nr)
		history_commit(h, true);
	return 0;
}

/* An identity string for a column: NULL when the disk has none. */
static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v && v[0])
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* The slot of this identity (a copy of it), found or made: 1 + index, or HISTORY_NO_SLOT. */
static __u16 disk_slot(struct history *h, const struct disk_identity *id, __u64 realtime_ns)
{
	struct history_disk *d = NULL;
	unsigned int i, k;
	char buf[32], serial[sizeof(d->serial)];

	disk_identity_copy(serial, sizeof(serial), id->serial);	/* as the slot holds it */
	for (i = 0; i < h->nr_disks; i++) {
		d = &h->disks[i];
		if (d->dev == id->dev && d->diskseq == id->diskseq && !strcmp(d->serial, serial))
			return i + 1;
	}
	if (h->nr_disks < HISTORY_DISKS_CACHED) {
		i = h->nr_disks++;
	} else {
		for (k = 0; k < HISTORY_DISKS_CACHED; k++) {
			i = h->next_disk++ % HISTORY_DISKS_CACHED;
			if (!h->disks[i].waiting)
				break;
		}
		if (k == HISTORY_DISKS_CACHED)
			return HISTORY_NO_SLOT;
	}
	d = &h->disks[i];
	memset(d, 0, sizeof(*d));
	d->dev = id->dev;
	d->diskseq = id->diskseq;
	d->first_ns = realtime_ns;
	disk_identity_copy(d->name, sizeof(d->name), disk_identity_name(id, buf, sizeof(buf)));
	memcpy(d->serial, serial, sizeof(serial));
	disk_identity_copy(d->wwn, sizeof(d->wwn), id->wwn);
	disk_identity_copy(d->by_id, sizeof(d->by_id), id->by_id);
	disk_identity_copy(d->model, sizeof(d->model), id->model);
	return i + 1;
}

/* ?1..?6 of disk_find and disk_insert: the columns that tell one disk from another. */
static void bind_disk(sqlite3_stmt *s, const struct history_disk *d)
{
	sqlite3_bind_int64(s, 1, d->dev);
	sqlite3_bind_int64(s, 2, d->diskseq);
	bind_text(s, 3, d->name);
	bind_text(s, 4, d->serial);
	bind_text(s, 5, d->wwn);
	bind_text(s, 6, d->by_id);
}

/* In the transaction: the disks row of a slot, found or written.  Returns an SQLite code. */
static int disk_resolve(struct history *h, struct history_disk *d)
{
	int rc;

	if (d->id)
		return SQLITE_OK;
	bind_disk(h->disk_find, d);
	rc = sqlite3_step(h->disk_find);
	if (rc == SQLITE_ROW)
		d->id = sqlite3_column_int64(h->disk_find, 0);
	sqlite3_reset(h->disk_find);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	if (!d->id) {
		bind_disk(h->disk_insert, d);
		bind_text(h->disk_insert, 7, d->model);
		sqlite3_bind_int64(h->disk_insert, 8, d->first_ns);
		rc = sqlite3_step(h->disk_insert);
		sqlite3_reset(h->disk_insert);
		sqlite3_clear_bindings(h->disk_insert);
		if (rc != SQLITE_DONE)
			return rc;
		d->id = sqlite3_last_insert_rowid(h->db);
	}
	d->new_id = true;	/* undone if the transaction is */
	return SQLITE_OK;
}

void history_record(struct history *h, const struct block_notification *b, size_t len,
		    const struct disk_identity *id, __u64 realtime_ns)
{
	struct history_row row = { .realtime_ns = realtime_ns, .len = len };
	__u64 mono;

	if (h->failed)
		return;
	/* The error's own time, on CLOCK_REALTIME: now less how long ago it was. */
	if (len >= BLOCK_NOTIFICATION_SIZE_V1 && b->time_ns && (mono = mono_now()) >= b->time_ns &&
	    mono - b->time_ns < realtime_ns)
		row.realtime_ns = realtime_ns - (mono - b->time_ns);
	if (h->nr == h->queue_max) {
		h->stats.dropped++;
		h->dropped_pending++;
		return;
	}
	if (len > sizeof(row.rec))
		row.len = len = sizeof(row.rec);
	memcpy(&row.rec, b, len);
	row.disk = disk_slot(h, id, realtime_ns);	/* a table lookup: no SQL on this path */
	if (row.disk != HISTORY_NO_SLOT)
		h->disks[row.disk - 1].waiting++;
	push(h, &row);
}

void history_loss(struct history *h, __u64 nr, __u64 realtime_ns)
{
	if (!h->failed)
		push_loss(h, nr, HISTORY_REASON_SOURCE, realtime_ns);
}

static int insert(struct history *h, const struct history_row *row)
{
	const struct block_notification *b = &row->rec;
	sqlite3_stmt *s = h->insert;
	int rc;

	if (row->len && row->disk != HISTORY_NO_SLOT) {
		rc = disk_resolve(h, &h->disks[row->disk - 1]);
		if (rc != SQLITE_OK)
			return rc;
	}
	sqlite3_bind_int64(s, 1, row->realtime_ns);
	sqlite3_bind_int(s, 2, row->len ? 0 : 1);
	if (row->len) {
		if (row->disk != HISTORY_NO_SLOT)
			sqlite3_bind_int64(s, 3, h->disks[row->disk - 1].id);
		sqlite3_bind_int64(s, 4, b->dev);
		sqlite3_bind_int(s, 5, h->source);
		sqlite3_bind_int(s, 6, (b->watch.info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT);
		sqlite3_bind_int(s, 7, b->watch.subtype);
		sqlite3_bind_int64(s, 10, b->sector);
		if (row->len >= BLOCK_NOTIFICATION_SIZE_V1) {
			sqlite3_bind_int(s, 8, b->op);
			sqlite3_bind_int(s, 9, b->flags);
			sqlite3_bind_int64(s, 11, b->nr_sectors);
			sqlite3_bind_int(s, 12, b->error);
			sqlite3_bind_int64(s, 13, b->time_ns);
			sqlite3_bind_int(s, 14, b->retries);
			sqlite3_bind_int(s, 15, b->transport);
			sqlite3_bind_int(s, 16, b->detail);
		}
		if (row->len >= BLOCK_NOTIFICATION_SIZE_V2) {
			sqlite3_bind_int(s, 17, b->status);
			sqlite3_bind_int(s, 18, b->command_id);
			sqlite3_bind_int(s, 19, b->sense_key);
			sqlite3_bind_int(s, 20, b->asc);
			sqlite3_bind_int(s, 21, b->ascq);
			sqlite3_bind_int(s, 22, b->opcode);
			sqlite3_bind_int64(s, 23, b->device_lba);
			sqlite3_bind_int64(s, 24, b->value);
		}
	} else {
		sqlite3_bind_int(s, 5, h->source);
		if (row->lost)
			sqlite3_bind_int64(s, 25, row->lost);
		sqlite3_bind_int(s, 26, row->reason);
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Delete at most limit of the oldest rows that retention says must go;
 * trim_more says whether it stopped at the limit (then the timer goes on).
 */
static int trim(struct history *h, unsigned int limit)
{
	int rc = SQLITE_OK;
	long long used;
	unsigned int age = 0, size = 0;

	if (h->max_age_ns) {
		__u64 now = realtime_now();

		sqlite3_bind_int(h->trim_age, 1, limit);
		sqlite3_bind_int64(h->trim_age, 2, now > h->max_age_ns ? now - h->max_age_ns : 0);
		rc = sqlite3_step(h->trim_age);
		sqlite3_reset(h->trim_age);
		if (rc != SQLITE_DONE)
			return rc;
		age = sqlite3_changes(h->db);
		limit -= age;
	}
	used = query_int(h->db, "SELECT p.page_count - f.freelist_count FROM pragma_page_count() p, "
			 "pragma_freelist_count() f", &rc);
	if (rc != SQLITE_OK)
		return rc;
	if (limit && used * h->page_size > (long long)h->max_bytes) {
		sqlite3_bind_int(h->trim_size, 1, limit);
		rc = sqlite3_step(h->trim_size);
		sqlite3_reset(h->trim_size);
		if (rc != SQLITE_DONE)
			return rc;
		size = sqlite3_changes(h->db);
	}
	h->trimmed_now = age + size;
	h->trim_more = !limit || (size && size == limit);
	return SQLITE_OK;
}

static bool fatal(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || rc == SQLITE_READONLY;
}

/* One transaction of at most h->batch rows (and the drops' loss row). */
static int commit_one(struct history *h)
{
	unsigned int n = h->nr < h->batch ? h->nr : h->batch, i;
	__u64 t0 = mono_now(), c0 = thread_cpu_now(), dt, dropped = h->dropped_pending;
	__u64 rows = 0, losses = 0;
	int rc;

	rc = exec(h, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		return rc;
	if (dropped) {
		rc = insert(h, &(struct history_row){ .realtime_ns = realtime_now(), .lost = dropped,
						      .reason = HISTORY_REASON_QUEUE });
		losses++;
	}
	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		const struct history_row *row = &h->rows[(h->head + i) % h->queue_max];

		rc = insert(h, row);
		if (row->len)
			rows++;
		else
			losses++;
	}
	/* At least a batch: a backlog (after a restart, a smaller limit) goes at one per tick. */
	if (rc == SQLITE_OK)
		rc = trim(h, n * HISTORY_TRIM_FACTOR > h->batch ? n * HISTORY_TRIM_FACTOR : h->batch);
	if (rc == SQLITE_OK)
		rc = exec(h, "COMMIT");
	if (rc != SQLITE_OK) {
		exec(h, "ROLLBACK");
		for (i = 0; i < h->nr_disks; i++)
			if (h->disks[i].new_id)
				h->disks[i].id = 0, h->disks[i].new_id = false;
		return rc;
	}
	for (i = 0; i < h->nr_disks; i++)
		h->disks[i].new_id = false;
	for (i = 0; i < n; i++) {
		const struct history_row *row = &h->rows[(h->head + i) % h->queue_max];

		if (row->len && row->disk != HISTORY_NO_SLOT)
			h->disks[row->disk - 1].waiting--;
	}
	h->head = (h->head + n) % h->queue_max;
	h->nr -= n;
	h->dropped_pending -= dropped;
	h->stats.trimmed += h->trimmed_now;
	h->stats.rows += rows;
	h->stats.loss_rows += losses;
	h->stats.commits++;
	dt = mono_now() - t0;
	h->stats.commit_ns += dt;
	if (dt > h->stats.commit_ns_max)
		h->stats.commit_ns_max = dt;
	dt = thread_cpu_now() - c0;	/* less than the time above: the CPU was elsewhere, or the disk */
	if (dt > h->stats.commit_cpu_ns_max)
		h->stats.commit_cpu_ns_max = dt;
	return SQLITE_OK;
}

int history_commit(struct history *h, bool all)
{
	int rc;

	if (h->failed)
		return -EIO;
	do {
		rc = commit_one(h);
		h->waiting = rc != SQLITE_OK;
		if (rc != SQLITE_OK) {
			h->stats.commit_failed++;
			if (fatal(rc)) {
				log_err("history %s: %s: the history is off until blknotifyd restarts "
					"(what it stored stays; %s)", h->path, sqlite3_errstr(rc),
					what_to_do + sizeof("blknotifyd leaves it as it is: ") - 1);
				h->failed = true;
				return -EIO;
			}
			/* Busy, disk full, ...: the rows wait (the queue is the bound). */
			if (h->stats.commit_failed == 1 || h->stats.commit_failed % 1000 == 0)
				log_warn("history %s: commit failed (%s), %llu time(s) so far: rows wait, "
					 "up to history_queue = %u of them", h->path, sqlite3_errstr(rc),
					 (unsigned long long)h->stats.commit_failed, h->queue_max);
			return rc == SQLITE_BUSY ? -EBUSY : -EIO;
		}
	} while (all && (h->nr || h->dropped_pending));
	return 0;
}

void history_close(struct history *h)
{
	/* Not opened: not ours, or not sure it is, so nothing is written. */
	if (h->db && h->opened) {
		/* Stopping may wait a little for a lock another program holds, not forever. */
		sqlite3_busy_timeout(h->db, HISTORY_STOP_TIMEOUT_MS);
		if (h->rows && !h->failed && (h->nr || h->dropped_pending))
			history_commit(h, true);
		if (!h->failed && !h->nr && !h->dropped_pending &&
		    exec(h, "INSERT OR REPLACE INTO meta VALUES('clean', 1)") != SQLITE_OK)
			log_warn("history %s: cannot mark the stop clean: %s", h->path,
				 sqlite3_errmsg(h->db));
		if (h->nr || h->dropped_pending)
			log_warn("history %s: %u rows and %llu dropped records not written at stop",
				 h->path, h->nr, (unsigned long long)h->dropped_pending);
		checkpointer_stop(h);
		log_info("history %s: %llu records and %llu losses stored in %llu commits "
			 "(%.2f ms each on average, %.2f ms at most, %.2f ms of CPU at most), "
			 "%llu rows trimmed, "
			 "%llu records dropped (queue full); %llu checkpoints in their thread "
			 "(%.2f ms at most), %llu failed", h->path,
			 (unsigned long long)h->stats.rows, (unsigned long long)h->stats.loss_rows,
			 (unsigned long long)h->stats.commits,
			 h->stats.commits ? h->stats.commit_ns / 1e6 / h->stats.commits : 0.0,
			 h->stats.commit_ns_max / 1e6, h->stats.commit_cpu_ns_max / 1e6,
			 (unsigned long long)h->stats.trimmed,
			 (unsigned long long)h->stats.dropped, (unsigned long long)h->ck.done,
			 h->ck.ns_max / 1e6, (unsigned long long)h->ck.failed);
	}
	checkpointer_stop(h);
	sqlite3_finalize(h->insert);
	sqlite3_finalize(h->trim_age);
	sqlite3_finalize(h->trim_size);
	sqlite3_finalize(h->disk_find);
	sqlite3_finalize(h->disk_insert);
	sqlite3_close(h->db);
	if (h->lock_fd >= 0)
		close(h->lock_fd);
	free(h->rows);
	h->db = NULL;
	h->rows = NULL;
	h->lock_fd = -1;
}
