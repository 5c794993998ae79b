// SPDX-License-Identifier: LGPL-2.1-or-later
/* blknotify-history through blknotifyd (history-daemon.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <blknotify/blknotify.h>
#include "history-daemon.h"
#include "history-schema.h"
#include "protocol.h"

#define REPLY_TIMEOUT_MS	10000
#define AGAIN_MAX		1000	/* -EAGAIN answers in a row (10 ms apart) before giving up */

static int send_msg(int fd, const void *buf, size_t len, char *why, size_t why_len)
{
	if (send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len)
		return 0;
	snprintf(why, why_len, "sending to blknotifyd: %s", strerror(errno));
	return -errno;
}

/* The reply to seq, validated; an ERROR reply is returned as its errno with its text. */
static int recv_reply(int fd, void *buf, __u32 seq, unsigned int type, struct bnd_msg *m,
		      char *why, size_t why_len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	for (;;) {
		r = poll(&pfd, 1, REPLY_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, why_len, "blknotifyd did not answer within %d ms", REPLY_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		n = recv(fd, buf, BND_MSG_MAX, MSG_TRUNC);
		if (n < 0) {
			snprintf(why, why_len, "blknotifyd connection: %s", strerror(errno));
			return -errno;
		}
		if (n == 0) {
			snprintf(why, why_len, "blknotifyd closed the connection");
			return -EPIPE;
		}
		if (n > BND_MSG_MAX) {
			snprintf(why, why_len, "blknotifyd sent a message longer than %d bytes", BND_MSG_MAX);
			return -EBADMSG;
		}
		r = bnd_parse(buf, n, BND_TO_CLIENT, m, why, why_len);
		if (r < 0)
			return r;
		if (m->type == BND_ERROR) {
			snprintf(why, why_len, "%s", m->error->text);
			return m->error->error;
		}
		if (m->seq == seq && m->type == type)
			return 0;
		if (m->type != BND_RECORDS) {	/* (none come: nothing is watched) */
			snprintf(why, why_len, "blknotifyd answered %s to request %u", bnd_type_name(m->type),
				 seq);
			return -EPROTO;
		}
	}
}

static int connect_daemon(const char *path, char *why, size_t why_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		snprintf(why, why_len, "cannot connect to blknotifyd at %s: %s%s", path, strerror(err),
			 err == ENOENT || err == ECONNREFUSED ? " (is it running?)" :
			 err == EACCES ? " (its socket admits its group only)" : "");
		if (fd >= 0)
			close(fd);
		return -err;
	}
	return fd;
}

static int db_error(sqlite3 *db, char *why, size_t why_len)
{
	snprintf(why, why_len, "an in-memory database: %s", db ? sqlite3_errmsg(db) : "no memory");
	return -ENOMEM;
}

#define INSERT_EVENT "INSERT INTO events(id, time, kind, disk, dev, source, watch, subtype, op," \
	" flags, sector, nr_sectors, error, mono, retries, transport, detail, status, command_id," \
	" sense_key, asc, ascq, opcode, device_lba, value, lost, reason) VALUES(?1, ?2, ?3, ?4, ?5," \
	" ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24," \
	" ?25, ?26, ?27)"
#define INSERT_DISK "INSERT OR IGNORE INTO disks(id, dev, diskseq, first_time, name, serial, wwn," \
	" by_id, model) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v[0])
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static int load_page(sqlite3_stmt *ev, sqlite3_stmt *dk, const struct bnd_history *h)
{
	const struct bnd_history_disk *d = bnd_history_disks(h);
	const struct bnd_history_row *r = bnd_history_rows(h);
	__u32 i;

	for (i = 0; i < h->nr_disks; i++) {
		sqlite3_reset(dk);
		sqlite3_bind_int64(dk, 1, d[i].id);
		sqlite3_bind_int64(dk, 2, d[i].dev);
		sqlite3_bind_int64(dk, 3, d[i].diskseq);
		sqlite3_bind_int64(dk, 4, d[i].first_time);
		bind_text(dk, 5, d[i].name);
		bind_text(dk, 6, d[i].serial);
		bind_text(dk, 7, d[i].wwn);
		bind_text(dk, 8, d[i].by_id);
		bind_text(dk, 9, d[i].model);
		if (sqlite3_step(dk) != SQLITE_DONE)
			return -1;
	}
	for (i = 0; i < h->nr_rows; i++, r++) {
		const __s64 v[BND_HCOL_COUNT] = {
			[BND_HCOL_DISK] = r->disk, [BND_HCOL_DEV] = r->dev,
			[BND_HCOL_SOURCE] = r->source, [BND_HCOL_WATCH] = r->watch,
			[BND_HCOL_SUBTYPE] = r->subtype, [BND_HCOL_OP] = r->op,
			[BND_HCOL_FLAGS] = r->flags, [BND_HCOL_SECTOR] = r->sector,
			[BND_HCOL_NR_SECTORS] = r->nr_sectors, [BND_HCOL_ERROR] = r->error,
			[BND_HCOL_MONO] = r->mono, [BND_HCOL_RETRIES] = r->retries,
			[BND_HCOL_TRANSPORT] = r->transport, [BND_HCOL_DETAIL] = r->detail,
			[BND_HCOL_STATUS] = r->status, [BND_HCOL_COMMAND_ID] = r->command_id,
			[BND_HCOL_SENSE_KEY] = r->sense_key, [BND_HCOL_ASC] = r->asc,
			[BND_HCOL_ASCQ] = r->ascq, [BND_HCOL_OPCODE] = r->opcode,
			[BND_HCOL_DEVICE_LBA] = r->device_lba, [BND_HCOL_VALUE] = r->value,
			[BND_HCOL_LOST] = r->lost, [BND_HCOL_REASON] = r->reason,
		};
		int k;

		sqlite3_reset(ev);
		sqlite3_bind_int64(ev, 1, r->id);
		sqlite3_bind_int64(ev, 2, r->time);
		sqlite3_bind_int(ev, 3, r->kind);
		for (k = 0; k < BND_HCOL_COUNT; k++) {
			if (r->nulls & 1U << k)
				sqlite3_bind_null(ev, 4 + k);
			else
				sqlite3_bind_int64(ev, 4 + k, v[k]);
		}
		if (sqlite3_step(ev) != SQLITE_DONE)
			return -1;
	}
	return 0;
}

int history_daemon_load(const struct history_daemon_query *q, sqlite3 **ret, __u64 *withheld,
			char *why, size_t why_len)
{
	const char *path = q->socket ? q->socket : BLKNOTIFY_DAEMON_SOCKET;
	unsigned char req[64] __attribute__((aligned(8)));
	sqlite3_stmt *ev = NULL, *dk = NULL;
	unsigned int again = 0;
	__u64 after = 0;
	struct bnd_msg m;
	sqlite3 *db = NULL;
	__u32 seq = 0;
	void *buf;
	int fd, r;

	*ret = NULL;
	*withheld = 0;
	buf = aligned_alloc(8, BND_MSG_MAX);
	if (!buf) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	fd = connect_daemon(path, why, why_len);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	{
		struct bnd_hello *h = bnd_msg_init(req, BND_HELLO, ++seq, sizeof(*h));

		h->version = BND_VERSION;
	}
	r = send_msg(fd, req, sizeof(struct bnd_hdr) + sizeof(struct bnd_hello), why, why_len);
	if (!r)
		r = recv_reply(fd, buf, seq, BND_HELLO_REPLY, &m, why, why_len);
	if (r < 0)
		goto out;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) ||
	    sqlite3_exec(db, HISTORY_SCHEMA_V1_TABLES "BEGIN", NULL, NULL, NULL) ||
	    sqlite3_prepare_v2(db, INSERT_EVENT, -1, &ev, NULL) ||
	    sqlite3_prepare_v2(db, INSERT_DISK, -1, &dk, NULL)) {
		r = db_error(db, why, why_len);
		goto out;
	}
	for (;;) {
		struct bnd_get_history *g = bnd_msg_init(req, BND_GET_HISTORY, ++seq, sizeof(*g));

		*g = (struct bnd_get_history){ .after = after, .since_ns = q->since_ns,
					       .until_ns = q->until_ns, .dev = q->dev,
					       .sub_lo = q->sub_lo, .sub_hi = q->sub_hi,
					       .limit = BND_HISTORY_ROWS_MAX };
		r = send_msg(fd, req, sizeof(struct bnd_hdr) + sizeof(*g), why, why_len);
		if (!r)
			r = recv_reply(fd, buf, seq, BND_HISTORY, &m, why, why_len);
		if (r == -EAGAIN && ++again < AGAIN_MAX) {
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
			continue;
		}
		if (r < 0)
			goto out;
		again = 0;
		if (m.history->last < after) {
			snprintf(why, why_len, "blknotifyd's cursor went back (%llu after %llu)",
				 (unsigned long long)m.history->last, (unsigned long long)after);
			r = -EPROTO;
			goto out;
		}
		if (load_page(ev, dk, m.history) < 0) {
			r = db_error(db, why, why_len);
			goto out;
		}
		*withheld += m.history->withheld;
		if (m.history->flags & BND_HISTORY_END)
			break;
		if (m.history->last == after && !m.history->nr_rows) {
			snprintf(why, why_len, "blknotifyd's cursor did not move (%llu)",
				 (unsigned long long)after);
			r = -EPROTO;
			goto out;
		}
		after = m.history->last;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) {
		r = db_error(db, why, why_len);
		goto out;
	}
	*ret = db;
	db = NULL;
	r = 0;
out:
	sqlite3_finalize(ev);
	sqlite3_finalize(dk);
	sqlite3_close(db);
	close(fd);
	free(buf);
	return r;
}
