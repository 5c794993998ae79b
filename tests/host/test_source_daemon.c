// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon source (lib/source-daemon.c) against the real blknotifyd
 * (BLKNOTIFYD) and real errors from blkfault (BLKFAULT): flow-control
 * credit when the client's inbox overflows, and the order of the loss
 * record a reconnection leaves.  The client is this (root) process.
 *
 * Needs root, /dev/fuse, /dev/loop-control, BPF.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <time.h>

#include <blknotify/blknotify.h>
#include "daemon-run.h"
#include "faulty.h"
#include "protocol.h"
#include "queue.h"

#define QUEUE		30000	/* records: more than the client's 1 MiB inbox holds */
#define WAIT_MS		30000	/* give-up bound for anything we wait for */

static const char *const bad_ranges[] = { "1000+200", NULL };
static struct faulty dev;
static int setup_err;
static char tmpdir[40], sock_path[96], conf_path[96], notify_path[96], state_path[96];
static struct daemon_run bnd;
static char pin_path[64];
static pid_t test_pid;

static void teardown(void)
{
	if (getpid() != test_pid)
		return;
	daemon_run_fini(&bnd);
	if (pin_path[0])
		source_bpf_unpin(pin_path);	/* detaches the program the daemon left */
	unlink(conf_path);
	unlink(state_path);
	unlink(sock_path);
	rmdir(tmpdir);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(1);	/* meson's timeout: still stop the daemon */
}

static void setup(void)
{
	FILE *f;

	if (!getenv("BLKNOTIFYD")) {
		setup_err = -ENOENT;
		return;
	}
	setup_err = faulty_start_for_program(&dev, bad_ranges);
	if (setup_err)
		return;
	test_pid = getpid();
	atexit(teardown);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bnsd-test.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		setup_err = -errno;
		return;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/sock", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/conf", tmpdir);
	snprintf(notify_path, sizeof(notify_path), "%s/notify", tmpdir);
	snprintf(state_path, sizeof(state_path), "%s/clients.state", tmpdir);
	/* Pinned: a restarted daemon takes over the queue and its clients' state. */
	snprintf(pin_path, sizeof(pin_path), "/sys/fs/bpf/bnsd-test-%d", (int)getpid());
	f = fopen(conf_path, "w");
	if (!f) {
		setup_err = -errno;
		return;
	}
	fprintf(f, "socket = %s\nsocket_mode = 0600\nmax_queue_size = 65536\n"
		"upstream_queue_size = 65536\npin_path = %s\nstate_file = %s\n"
		"restart_grace_ms = %d\n",
		sock_path, pin_path, state_path, WAIT_MS);
	fclose(f);
	setup_err = daemon_run_init(&bnd, notify_path, conf_path, WAIT_MS);
	if (!setup_err)
		setup_err = daemon_run_start(&bnd, "bpf");
}
#define TEST_SETUP setup
#include "../harness.h"
#include "host-test.h"

static void need_daemon(void)
{
	if (setup_err == -EPERM)
		SKIP("needs root");
	if (setup_err == -ENOENT)
		SKIP("BLKNOTIFYD is not set (run through meson)");
	if (setup_err)
		TEST_FAIL_(1, "setup: %s", strerror(-setup_err));
}

static struct blknotify_queue *daemon_queue(unsigned int size, unsigned int nr_watches)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_DAEMON,
		       .daemon_socket = sock_path);
	struct blknotify_queue *q = NULL;
	unsigned int i;
	int err;

	ASSERT_EQ(blknotify_queue_new(&q, &opts), 0);
	ASSERT_EQ(blknotify_queue_set_size(q, size), 0);
	for (i = 0; i < nr_watches; i++) {
		err = blknotify_queue_watch_device(q, dev.rdev, i + 1);
		if (err)
			TEST_FAIL_(1, "watch: %s (%s)", strerror(-err),
				   blknotify_queue_get_error(q) ?: "");
	}
	return q;
}

/*
 * This process's queue at the daemon (or the one restored for it after a
 * restart): records queued plus in flight, or -1.
 */
static long long held_at_daemon(void)
{
	struct bnd_stats *s = NULL;
	long long held = -1;
	char why[256];
	__u32 i;

	if (bnd_query_stats(sock_path, &s, why, sizeof(why)))
		TEST_FAIL_(1, "stats: %s", why);
	for (i = 0; i < s->nr_clients; i++)
		if (((pid_t)s->clients[i].pid == getpid() ||
		     (s->clients[i].flags & BND_CLIENT_DETACHED)) &&
		    !(s->clients[i].flags & BND_CLIENT_SELF))
			held = s->clients[i].queued;
	free(s);
	return held;
}

/* What the daemon read from its source so far, and what its source lost. */
struct upstream { __u64 records, lost; };

static struct upstream upstream_now(void)
{
	struct bnd_stats *s = NULL;
	struct upstream u;
	char why[256];

	if (bnd_query_stats(sock_path, &s, why, sizeof(why)))
		TEST_FAIL_(1, "stats: %s", why);
	u = (struct upstream){ s->upstream_records, s->upstream_lost };
	free(s);
	return u;
}

/*
 * Wait (bounded) until the daemon has read n more records or losses than
 * at base, or nothing changed for a second; returns what it read since.
 * The source's loss is its own (the BPF program's recursion misses: other
 * BPF programs run on the same tracepoint on this machine, and a miss can
 * be another's device's error too) and is reported only when the source
 * is next read, so a few may still be missing here.
 */
static struct upstream wait_upstream(const struct upstream *base, __u64 n)
{
	struct upstream u = *base, last = { ~0ULL, ~0ULL };
	int i, still = 0;

	for (i = 0; i < WAIT_MS / 20 && still < 50; i++) {
		u = upstream_now();
		if (u.records - base->records + u.lost - base->lost >= n)
			break;
		still = u.records == last.records && u.lost == last.lost ? still + 1 : 0;
		last = u;
		usleep(20 * 1000);
	}
	return (struct upstream){ u.records - base->records, u.lost - base->lost };
}

/* Wait (bounded) until the daemon holds want records for us; returns what it holds. */
static long long wait_held(long long want)
{
	long long held = -1;
	int i;

	for (i = 0; i < WAIT_MS / 20; i++) {
		held = held_at_daemon();
		if (held == want)
			break;
		usleep(20 * 1000);
	}
	return held;
}

static void cause_errors(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		ASSERT_EQ(faulty_io(&dev, 1000 + i % 200, 1, 0), -EIO);
}

struct tally {
	unsigned int records, counted_losses, unknown_losses;
	__u64 lost;
	int first_unknown_loss;		/* records before the first 8-byte loss record; -1 */
	unsigned int late_before_gap;	/* records newer than `late` before that loss record */
	unsigned int late_after_gap;
	__u64 late;			/* CLOCK_MONOTONIC ns */
};

static void tally_buf(struct tally *t, const void *buf, ssize_t len)
{
	const struct watch_notification *w;

	for (w = buf; BLOCK_NOTIFY_RECORD_OK(w, len); w = BLOCK_NOTIFY_RECORD_NEXT(w, len)) {
		if (w->type == WATCH_TYPE_META) {
			ASSERT_EQ(w->subtype, WATCH_META_LOSS_NOTIFICATION);
			if (BLOCK_NOTIFY_RECORD_LEN(w) == sizeof(*w)) {
				if (t->first_unknown_loss < 0)
					t->first_unknown_loss = (int)t->records;
				t->unknown_losses++;
			} else {
				t->counted_losses++;
				t->lost += ((const struct block_notification_loss *)w)->nr_lost;
			}
			continue;
		}
		ASSERT_EQ(w->type, WATCH_TYPE_BLOCK_NOTIFY);
		if (w->subtype >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST &&
		    w->subtype <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST)
			continue;	/* disks coming and going: test_lifecycle.c */
		if (t->late && ((const struct block_notification *)w)->time_ns >= t->late) {
			if (t->first_unknown_loss < 0)
				t->late_before_gap++;
			else
				t->late_after_gap++;
		}
		t->records++;
	}
	ASSERT_EQ(len, 0);
}

/* Read until nothing comes for idle_ms. */
static void drain(struct blknotify_queue *q, struct tally *t, int idle_ms)
{
	static unsigned char buf[256 * 1024];

	for (;;) {
		ssize_t len = blknotify_queue_read(q, buf, sizeof(buf), idle_ms);

		if (len == -EAGAIN)
			return;
		if (len < 0)
			TEST_FAIL_(1, "read: %s (%s)", strerror((int)-len),
				   blknotify_queue_get_error(q) ?: "");
		tally_buf(t, buf, len);
	}
}

/*
 * Records that arrive while the client waits for replies go to its inbox
 * (1 MiB).  Requests made without reading, with a full queue at the
 * daemon, overflow it: what it drops is reported as loss, and must be
 * ACKed, or the daemon counts it in flight for good and the client's
 * usable queue shrinks.
 */
TEST(inbox_overflow_gives_the_credit_back)
{
	struct watch_notification_filter_1 {
		struct watch_notification_filter f;
		struct watch_notification_type_filter t[1];
	} all = {
		.f.nr_filters = 1,
		.t[0] = { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype_filter = { ~0U } },
	};
	struct blknotify_queue *q;
	struct tally t = { .first_unknown_loss = -1 };
	struct upstream base, up;
	int i;

	need_daemon();
	q = daemon_queue(QUEUE, 1);
	base = upstream_now();
	cause_errors(QUEUE);
	wait_upstream(&base, QUEUE);
	for (i = 0; i < 40; i++)	/* each pulls a socket's worth into the inbox */
		ASSERT_EQ(blknotify_queue_set_filter(q, i % 2 ? NULL : &all.f), 0);
	drain(q, &t, 1000);
	up = wait_upstream(&base, QUEUE);
	printf("# %u records, %llu reported lost; the source: %llu read, %llu lost; of %d\n",
	       t.records, (unsigned long long)t.lost, (unsigned long long)up.records,
	       (unsigned long long)up.lost, QUEUE);
	ASSERT_GT(t.lost, up.lost);		/* the inbox did overflow */
	ASSERT_EQ(t.records + t.lost - up.lost, up.records);	/* each record once */
	ASSERT_EQ(t.unknown_losses, 0);
	/* Every record handed out, kept or dropped, was ACKed. */
	ASSERT_EQ(wait_held(0), 0);

	/* And the whole queue is usable again: no loss but the source's. */
	t = (struct tally){ .first_unknown_loss = -1 };
	base = upstream_now();
	cause_errors(QUEUE);
	wait_upstream(&base, QUEUE);
	drain(q, &t, 1000);
	up = wait_upstream(&base, QUEUE);
	printf("# then %u records, %llu reported lost; the source: %llu read, %llu lost\n",
	       t.records, (unsigned long long)t.lost, (unsigned long long)up.records,
	       (unsigned long long)up.lost);
	ASSERT_EQ(t.records, up.records);
	ASSERT_LE(t.lost, up.lost);
	ASSERT_GE(up.records + up.lost + 100, QUEUE);	/* a few misses may be unreported */
	blknotify_queue_free(q);
}

/*
 * A crash, a restart that restores the client's queue (a gap the daemon
 * reports: BND_HELLO_GAP), errors queued for it meanwhile, and a watch the
 * client added while disconnected: on reconnecting, the client sends
 * ADD_WATCH and the resumed queue's records arrive while it waits for the
 * reply.  They are newer than the gap, so its loss record comes first.
 */
TEST(gap_loss_comes_before_the_new_connections_records)
{
	struct tally t = { .first_unknown_loss = -1 };
	struct blknotify_queue *q;
	unsigned char buf[256];
	int i;

	need_daemon();
	q = daemon_queue(4096, 1);
	cause_errors(3);
	drain(q, &t, 1000);
	ASSERT_EQ(t.records, 3);

	daemon_run_stop(&bnd, SIGKILL);
	/* The client notices, and cannot reconnect yet. */
	for (i = 0; i < 20; i++)
		ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 10), -EAGAIN);
	/* Applied when it reconnects. */
	ASSERT_EQ(blknotify_queue_watch_device(q, dev.rdev, 9), 0);
	t.late = now_ns();	/* anything newer was queued by the new daemon */
	ASSERT_EQ(daemon_run_start(&bnd, "bpf"), 0);
	cause_errors(5);	/* queued for the restored client, watch 1 */
	ASSERT_EQ(wait_held(5), 5);
	drain(q, &t, 1000);
	printf("# %u records; the gap's loss after %d; newer than the restart: %u before "
	       "it, %u after\n", t.records, t.first_unknown_loss, t.late_before_gap,
	       t.late_after_gap);
	ASSERT_EQ(t.unknown_losses, 1);
	ASSERT_EQ(t.first_unknown_loss, 3);
	ASSERT_EQ(t.late_before_gap, 0);
	ASSERT_EQ(t.late_after_gap, 5);
	/* Both watches deliver now. */
	t = (struct tally){ .first_unknown_loss = -1 };
	cause_errors(1);
	drain(q, &t, 1000);
	ASSERT_EQ(t.records, 2);
	blknotify_queue_free(q);
}

/*
 * The ACK for what a read returned is sent by the next read, off the
 * records' way to the caller; the read leaves the queue's fd readable so
 * that a caller who reads once per poll makes that next read at once.
 * With a queue of one record at the daemon, an ACK that never went would
 * make the daemon drop the next error's record.
 */
TEST(reading_once_per_poll_gives_the_credit_back)
{
	struct pollfd pfd;
	struct blknotify_queue *q;
	unsigned char buf[4096];
	int round;

	need_daemon();
	q = daemon_queue(1, 1);
	pfd = (struct pollfd){ .fd = blknotify_queue_get_fd(q), .events = POLLIN };
	for (round = 0; round < 3; round++) {
		const struct watch_notification *w = (const void *)buf;

		cause_errors(1);
		ASSERT_EQ(poll(&pfd, 1, WAIT_MS), 1);
		ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), BLOCK_NOTIFICATION_SIZE_V2);
		ASSERT_EQ(w->type, WATCH_TYPE_BLOCK_NOTIFY);	/* a record, no loss */
		/* Readable again at once: the read that sends the ACK. */
		ASSERT_EQ(poll(&pfd, 1, 0), 1);
		ASSERT_EQ(blknotify_queue_read(q, buf, sizeof(buf), 0), -EAGAIN);
		ASSERT_EQ(wait_held(0), 0);
		ASSERT_EQ(poll(&pfd, 1, 0), 0);	/* and then quiet */
	}
	blknotify_queue_free(q);
}
