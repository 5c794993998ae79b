// SPDX-License-Identifier: LGPL-2.1-or-later
/* GET_HISTORY: pages of the history, filtered by the watch policy (history-query.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sqlite3.h>
#include "clients.h"
#include "devices.h"
#include "history-query.h"
#include "log.h"

/* Every column of events (in this order) and of its disk; rows after ?1, at most ?2. */
static const char page_sql[] =
	"SELECT e.id, e.time, e.kind, e.disk, e.dev, e.source, e.watch, e.subtype, e.op, e.flags,"
	" e.sector, e.nr_sectors, e.error, e.mono, e.retries, e.transport, e.detail, e.status,"
	" e.command_id, e.sense_key, e.asc, e.ascq, e.opcode, e.device_lba, e.value, e.lost,"
	" e.reason, d.dev, d.diskseq, d.first_time, d.name, d.serial, d.wwn, d.by_id, d.model"
	" FROM events e LEFT JOIN disks d ON d.id = e.disk WHERE e.id > ?1 ORDER BY e.id LIMIT ?2";
enum { COL_ID, COL_TIME, COL_KIND, COL_FIRST_NULLABLE /* e.disk: BND_HCOL_DISK */,
       COL_D_DEV = COL_FIRST_NULLABLE + BND_HCOL_COUNT, COL_D_DISKSEQ, COL_D_FIRST, COL_D_NAME };

/* A page token from the daemon-wide bucket; false over the rate bound. */
static bool page_token(struct history_query *q)
{
	__u64 now = now_ns(), add;

	add = (now - q->refilled_ns) / (1000000000ULL / HISTORY_QUERY_RATE);
	if (add) {
		q->tokens = q->tokens + add > HISTORY_QUERY_BURST ? HISTORY_QUERY_BURST :
			    q->tokens + (unsigned int)add;
		q->refilled_ns = now;
	}
	if (!q->tokens)
		return false;
	q->tokens--;
	return true;
}

static int open_reader(struct manager *m, struct history_query *q, char *why, size_t why_len)
{
	const char *path = m->cfg.outputs.history_path;

	if (q->db)
		return 0;
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(q->db, page_sql, -1, SQLITE_PREPARE_PERSISTENT, &q->page,
			       NULL) != SQLITE_OK) {
		snprintf(why, why_len, "blknotifyd cannot read its history %.80s: %.100s; see its log", path,
			 q->db ? sqlite3_errmsg(q->db) : "no memory");
		log_warn("history %s: a reading connection: %s", path,
			 q->db ? sqlite3_errmsg(q->db) : "no memory");
		sqlite3_close(q->db);
		q->db = NULL;
		return -EIO;
	}
	sqlite3_busy_timeout(q->db, 0);	/* (a WAL reader waits for nobody) */
	return 0;
}

/* The page's policy answers, one per (disk, diskseq). */
struct verdicts {
	struct { __u64 dev, diskseq; bool ok; } v[HISTORY_QUERY_POLICY_CACHED];
	unsigned int nr;
};

static bool may_see(struct manager *m, struct client *c, struct verdicts *vs, __u64 dev,
		    __u64 diskseq)
{
	struct bnd_add_watch w = { .dev = dev, .end = ~0ULL };
	char why[BND_ERROR_TEXT_MAX];
	__u64 now = 0;
	unsigned int i;
	bool ok;

	if (c->peer.privileged)
		return true;
	for (i = 0; i < vs->nr; i++)
		if (vs->v[i].dev == dev && vs->v[i].diskseq == diskseq)
			return vs->v[i].ok;
	/* May watch that number now, and it names the disk the rows were written of. */
	ok = dev && policy_check_watch(&m->cfg, &c->peer, &w, why, sizeof(why)) == 0 &&
	     (!diskseq || (device_diskseq(dev, &now) == 0 && (!now || now == diskseq)));
	if (vs->nr < HISTORY_QUERY_POLICY_CACHED) {
		vs->v[vs->nr].dev = dev;
		vs->v[vs->nr].diskseq = diskseq;
		vs->v[vs->nr++].ok = ok;
	}
	return ok;
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	if (t)
		snprintf(dst, size, "%s", (const char *)t);	/* the buffer is zeroed: padding is */
}

/* The reply's slot for the row's disk; NULL when BND_HISTORY_DISKS_MAX are taken. */
static struct bnd_history_disk *disk_of(struct bnd_history *h, sqlite3_stmt *s, __u64 id)
{
	struct bnd_history_disk *d = (struct bnd_history_disk *)bnd_history_disks(h);
	__u32 i;

	for (i = 0; i < h->nr_disks; i++)
		if (d[i].id == id)
			return &d[i];
	if (h->nr_disks == BND_HISTORY_DISKS_MAX)
		return NULL;
	d += h->nr_disks++;
	d->id = id;
	d->dev = sqlite3_column_int64(s, COL_D_DEV);
	d->diskseq = sqlite3_column_int64(s, COL_D_DISKSEQ);
	d->first_time = sqlite3_column_int64(s, COL_D_FIRST);
	copy_text(d->name, sizeof(d->name), s, COL_D_NAME);
	copy_text(d->serial, sizeof(d->serial), s, COL_D_NAME + 1);
	copy_text(d->wwn, sizeof(d->wwn), s, COL_D_NAME + 2);
	copy_text(d->by_id, sizeof(d->by_id), s, COL_D_NAME + 3);
	copy_text(d->model, sizeof(d->model), s, COL_D_NAME + 4);
	return d;
}

static void fill_row(struct bnd_history_row *r, sqlite3_stmt *s)
{
	__u64 v[BND_HCOL_COUNT];
	unsigned int i;

	r->id = sqlite3_column_int64(s, COL_ID);
	r->time = sqlite3_column_int64(s, COL_TIME);
	r->kind = sqlite3_column_int(s, COL_KIND) ? 1 : 0;
	for (i = 0; i < BND_HCOL_COUNT; i++) {
		if (sqlite3_column_type(s, COL_FIRST_NULLABLE + i) == SQLITE_NULL) {
			r->nulls |= 1U << i;
			v[i] = 0;
		} else {
			v[i] = sqlite3_column_int64(s, COL_FIRST_NULLABLE + i);
		}
	}
	r->disk = v[BND_HCOL_DISK];
	if (!r->disk)
		r->nulls |= 1U << BND_HCOL_DISK;
	r->dev = v[BND_HCOL_DEV];
	r->source = v[BND_HCOL_SOURCE];
	r->watch = v[BND_HCOL_WATCH];
	r->subtype = v[BND_HCOL_SUBTYPE];
	r->op = v[BND_HCOL_OP];
	r->flags = v[BND_HCOL_FLAGS];
	r->sector = v[BND_HCOL_SECTOR];
	r->nr_sectors = v[BND_HCOL_NR_SECTORS];
	r->error = (__s32)v[BND_HCOL_ERROR];
	r->mono = v[BND_HCOL_MONO];
	r->retries = v[BND_HCOL_RETRIES];
	r->transport = v[BND_HCOL_TRANSPORT];
	r->detail = v[BND_HCOL_DETAIL];
	r->status = v[BND_HCOL_STATUS];
	r->command_id = v[BND_HCOL_COMMAND_ID];
	r->sense_key = v[BND_HCOL_SENSE_KEY];
	r->asc = v[BND_HCOL_ASC];
	r->ascq = v[BND_HCOL_ASCQ];
	r->opcode = v[BND_HCOL_OPCODE];
	r->device_lba = v[BND_HCOL_DEVICE_LBA];
	r->value = v[BND_HCOL_VALUE];
	r->lost = v[BND_HCOL_LOST];
	r->reason = v[BND_HCOL_REASON];
}

bool history_query_handle(struct manager *m, struct client *c, const struct bnd_msg *msg)
{
	const struct bnd_get_history *g = msg->get_history;
	struct history_query *q = m->history_query;
	struct bnd_history_row *rows;
	char why[BND_ERROR_TEXT_MAX];
	struct verdicts vs = { .nr = 0 };
	struct bnd_history *h;
	unsigned int examined = 0;
	__u64 last = g->after, t0;
	int rc = SQLITE_DONE;

	if (!m->cfg.outputs.history_path[0])
		return reply_error(m, c, msg->seq, -ENOENT, "blknotifyd keeps no history: history_path "
				   "is not set in %s", m->config_path);
	if (!q) {
		q = m->history_query = calloc(1, sizeof(*q));
		if (!q)
			return reply_error(m, c, msg->seq, -ENOMEM, "blknotifyd is out of memory");
		q->tokens = HISTORY_QUERY_BURST;
		q->refilled_ns = now_ns();
	}
	if (!page_token(q)) {
		q->limited++;
		return reply_error(m, c, msg->seq, -EAGAIN, "history pages are bounded to %d a "
				   "second; ask again later", HISTORY_QUERY_RATE);
	}
	if (open_reader(m, q, why, sizeof(why)) < 0)
		return reply_error(m, c, msg->seq, -EIO, "%s", why);
	t0 = now_ns();
	h = bnd_msg_init(c->out, BND_HISTORY, msg->seq, sizeof(*h) +
			 BND_HISTORY_DISKS_MAX * sizeof(struct bnd_history_disk) +
			 g->limit * sizeof(struct bnd_history_row));
	/* Rows are built after the largest disks area, then moved down to follow the disks. */
	rows = (struct bnd_history_row *)((struct bnd_history_disk *)(h + 1) + BND_HISTORY_DISKS_MAX);
	sqlite3_bind_int64(q->page, 1, (sqlite3_int64)g->after);
	sqlite3_bind_int(q->page, 2, HISTORY_QUERY_SCAN);
	while (h->nr_rows < g->limit && (rc = sqlite3_step(q->page)) == SQLITE_ROW) {
		bool loss = sqlite3_column_int(q->page, COL_KIND) == 1;
		__u64 id = sqlite3_column_int64(q->page, COL_ID);
		__s64 t = sqlite3_column_int64(q->page, COL_TIME);
		__u64 dev = sqlite3_column_int64(q->page, COL_FIRST_NULLABLE + BND_HCOL_DEV);
		unsigned int sub = sqlite3_column_int(q->page, COL_FIRST_NULLABLE + BND_HCOL_SUBTYPE);
		__u64 disk = sqlite3_column_int64(q->page, COL_FIRST_NULLABLE + BND_HCOL_DISK);

		examined++;
		if (t < g->since_ns || t > g->until_ns ||
		    (!loss && ((g->dev && dev != g->dev) || sub < g->sub_lo || sub > g->sub_hi))) {
			last = id;
			continue;
		}
		if (!loss && !may_see(m, c, &vs, dev,
				      sqlite3_column_int64(q->page, COL_D_DISKSEQ))) {
			h->withheld++;
			last = id;
			continue;
		}
		if (disk && !disk_of(h, q->page, disk)) {
			rc = SQLITE_ROW;	/* a 17th disk: this row starts the next page */
			break;
		}
		fill_row(&rows[h->nr_rows++], q->page);
		last = id;
	}
	if (h->nr_rows == g->limit && rc == SQLITE_ROW && examined < HISTORY_QUERY_SCAN)
		rc = sqlite3_step(q->page) == SQLITE_DONE ? SQLITE_DONE : SQLITE_ROW;
	sqlite3_reset(q->page);	/* the read transaction ends here */
	if ((rc & 0xff) == SQLITE_BUSY)	/* (a WAL reader only while the WAL is recovered) */
		return reply_error(m, c, msg->seq, -EAGAIN, "the history is busy; ask again later");
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warn("history %s: reading for client %u: %s", m->cfg.outputs.history_path, c->id,
			 sqlite3_errstr(rc));
		return reply_error(m, c, msg->seq, -EIO, "blknotifyd cannot read its history: %s",
				   sqlite3_errstr(rc));
	}
	/* END: the statement ran out before its bound, so nothing lies after last. */
	if (rc == SQLITE_DONE && examined < HISTORY_QUERY_SCAN)
		h->flags = BND_HISTORY_END;
	else if (rc == SQLITE_DONE && examined == HISTORY_QUERY_SCAN)
		h->flags = 0;	/* the bound was reached: there may be more */
	h->last = last;
	memmove((struct bnd_history_disk *)(h + 1) + h->nr_disks, rows,
		h->nr_rows * sizeof(*rows));
	q->pages++;
	if (now_ns() - t0 > q->page_ns_max)
		q->page_ns_max = now_ns() - t0;
	q->rows += h->nr_rows;
	q->withheld += h->withheld;
	((struct bnd_hdr *)c->out)->len = sizeof(struct bnd_hdr) + sizeof(*h) +
		h->nr_disks * sizeof(struct bnd_history_disk) + h->nr_rows * sizeof(*rows);
	return client_reply(m, c, ((struct bnd_hdr *)c->out)->len);
}

void history_query_free(struct manager *m)
{
	struct history_query *q = m->history_query;

	if (!q)
		return;
	if (q->pages || q->limited)
		log_info("history queries: %llu pages (the longest %llu us), %llu rows given, %llu "
			 "withheld by the policy; %llu pages refused over %d a second",
			 (unsigned long long)q->pages, (unsigned long long)q->page_ns_max / 1000,
			 (unsigned long long)q->rows, (unsigned long long)q->withheld,
			 (unsigned long long)q->limited, HISTORY_QUERY_RATE);
	sqlite3_finalize(q->page);
	sqlite3_close(q->db);
	free(q);
	m->history_query = NULL;
}
