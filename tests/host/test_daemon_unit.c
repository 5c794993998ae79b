// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotifyd's pieces without a daemon: the per-client queue's bound, loss
 * and flow-control arithmetic (synthetic records), the configuration parser's
 * messages, and the wire protocol's validation.  No privilege needed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/watch_queue.h>

#include "client-queue.h"
#include "config.h"
#include "policy.h"
#include "protocol.h"
#include <blknotify/device.h>
#include "../harness.h"

static struct block_notification rec(__u64 sector, unsigned int id)
{
	struct block_notification r = {
		.watch = { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype = NOTIFY_BLOCK_ERROR_IO,
			   .info = BLOCK_NOTIFICATION_SIZE_V1 | id << WATCH_INFO_ID__SHIFT },
		.dev = 7 << 8, .sector = sector, .error = -EIO,
	};
	return r;
}

/* Walk a serialized batch: records' sectors into sectors[], loss counts summed. */
static int walk(const void *buf, size_t len, __u64 *sectors, int max, __u64 *lost, int *nr_loss)
{
	const struct watch_notification *n;
	int nr = 0;

	*lost = 0;
	*nr_loss = 0;
	for (n = buf; BLOCK_NOTIFY_RECORD_OK(n, len); n = BLOCK_NOTIFY_RECORD_NEXT(n, len)) {
		if (n->type == WATCH_TYPE_META) {
			*lost += ((const struct block_notification_loss *)n)->nr_lost;
			(*nr_loss)++;
		} else if (nr < max) {
			sectors[nr++] = ((const struct block_notification *)n)->sector;
		}
	}
	return nr;
}

TEST(queue_bound_and_exact_loss)
{
	struct client_queue q;
	unsigned char buf[BND_RECORDS_BATCH] __attribute__((aligned(8)));
	__u64 sectors[64], lost;
	unsigned int slots, i, pushed = 0;
	bool trailing;
	int nr, nr_loss;
	size_t len;

	ASSERT_EQ(cq_init(&q, 8), 0);
	for (i = 0; i < 20; i++) {
		struct block_notification r = rec(i, 1);

		pushed += cq_push(&q, &r.watch);
	}
	ASSERT_EQ(pushed, 8);
	ASSERT_EQ(q.count, 8);
	ASSERT_EQ(q.total_lost, 12);
	len = cq_peek(&q, buf, sizeof(buf), &slots, &trailing);
	nr = walk(buf, len, sectors, 64, &lost, &nr_loss);
	/* The first eight made it, then the loss of the twelve after them. */
	ASSERT_EQ(nr, 8);
	ASSERT_EQ(sectors[0], 0);
	ASSERT_EQ(sectors[7], 7);
	ASSERT_EQ(lost, 12);
	ASSERT_EQ(nr_loss, 1);
	ASSERT_TRUE(trailing);
	cq_consume(&q, slots, trailing);
	ASSERT_EQ(q.in_flight, 8);
	ASSERT_FALSE(cq_pending(&q));
	cq_free(&q);
}

TEST(queue_in_flight_counts_against_the_bound)
{
	struct client_queue q;
	unsigned char buf[BND_RECORDS_BATCH] __attribute__((aligned(8)));
	struct block_notification r;
	__u64 sectors[64], lost;
	unsigned int slots;
	bool trailing;
	int nr, nr_loss;
	size_t len;

	ASSERT_EQ(cq_init(&q, 4), 0);
	for (int i = 0; i < 4; i++) {
		r = rec(i, 2);
		ASSERT_TRUE(cq_push(&q, &r.watch));
	}
	len = cq_peek(&q, buf, sizeof(buf), &slots, &trailing);
	cq_consume(&q, slots, trailing);
	ASSERT_EQ(slots, 4);
	/* Sent but not read: the queue is still full. */
	r = rec(100, 2);
	ASSERT_FALSE(cq_push(&q, &r.watch));
	r = rec(101, 2);
	ASSERT_FALSE(cq_push(&q, &r.watch));
	/* A loss with nothing after it waits until the client has read. */
	ASSERT_FALSE(cq_pending(&q));
	ASSERT_EQ(cq_ack(&q, 5), -EINVAL);
	ASSERT_EQ(cq_ack(&q, 3), 0);
	ASSERT_FALSE(cq_pending(&q));
	r = rec(102, 2);
	ASSERT_TRUE(cq_push(&q, &r.watch));
	/* The loss is reported before the record that made it. */
	len = cq_peek(&q, buf, sizeof(buf), &slots, &trailing);
	ASSERT_EQ(len, BLOCK_NOTIFICATION_LOSS_SIZE + BLOCK_NOTIFICATION_SIZE_V1);
	ASSERT_EQ(((struct watch_notification *)buf)->type, WATCH_TYPE_META);
	nr = walk(buf, len, sectors, 64, &lost, &nr_loss);
	ASSERT_EQ(nr, 1);
	ASSERT_EQ(sectors[0], 102);
	ASSERT_EQ(lost, 2);
	ASSERT_FALSE(trailing);
	cq_consume(&q, slots, trailing);
	ASSERT_EQ(cq_ack(&q, 2), 0);
	ASSERT_EQ(q.total_acked, 5);
	ASSERT_EQ(q.total_lost, 2);
	cq_free(&q);
}

TEST(queue_batches_split_on_buffer_size)
{
	struct client_queue q;
	unsigned char buf[256] __attribute__((aligned(8)));
	unsigned int slots, total = 0, rounds = 0;
	bool trailing;
	__u64 expect = 0, sectors[16], lost;
	int nr, nr_loss, i;
	size_t len;

	ASSERT_EQ(cq_init(&q, 100), 0);
	for (i = 0; i < 100; i++) {
		struct block_notification r = rec(i, 3);

		ASSERT_TRUE(cq_push(&q, &r.watch));
	}
	while (cq_pending(&q)) {
		len = cq_peek(&q, buf, sizeof(buf), &slots, &trailing);
		ASSERT_EQ(slots, 256 / BLOCK_NOTIFICATION_SIZE_V1 < 100 - total ?
			  256 / BLOCK_NOTIFICATION_SIZE_V1 : 100 - total);
		nr = walk(buf, len, sectors, 16, &lost, &nr_loss);
		for (i = 0; i < nr; i++)
			ASSERT_EQ(sectors[i], expect++);
		cq_consume(&q, slots, trailing);
		ASSERT_EQ(cq_ack(&q, slots), 0);
		total += slots;
		ASSERT_LT(++rounds, 100);
	}
	ASSERT_EQ(total, 100);
	ASSERT_EQ(q.total_lost, 0);
	cq_free(&q);
}

TEST(queue_upstream_loss)
{
	struct client_queue q;
	unsigned char buf[512] __attribute__((aligned(8)));
	struct block_notification r = rec(1, 0);
	unsigned int slots;
	bool trailing;
	__u64 sectors[4], lost;
	int nr_loss;
	size_t len;

	ASSERT_EQ(cq_init(&q, 4), 0);
	cq_add_loss(&q, 1000);
	ASSERT_TRUE(cq_pending(&q));
	ASSERT_TRUE(cq_push(&q, &r.watch));
	len = cq_peek(&q, buf, sizeof(buf), &slots, &trailing);
	ASSERT_EQ(walk(buf, len, sectors, 4, &lost, &nr_loss), 1);
	ASSERT_EQ(lost, 1000);
	ASSERT_EQ(((struct watch_notification *)buf)->type, WATCH_TYPE_META);
	cq_free(&q);
}

static int parse_str(struct daemon_config *c, const char *text, char *err, size_t err_len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	config_defaults(c);
	r = config_parse(c, f, "test.conf", err, err_len);
	fclose(f);
	return r;
}

TEST(config_valid)
{
	struct daemon_config c;
	char err[512] = "";

	ASSERT_EQ(parse_str(&c, "# comment\n\n source = kmsg  # trailing\nmax_clients=3\n"
			     "socket_mode = 0600\nsocket_group = root\nmax_queue_size = 10\n"
			     "privileged_groups = root, 0\ndevice_access = none\n", err, sizeof(err)), 0);
	ASSERT_EQ(c.source, BLKNOTIFY_SOURCE_KMSG);
	ASSERT_EQ(c.max_clients, 3);
	ASSERT_EQ(c.socket_mode, 0600);
	ASSERT_EQ(c.socket_gid, 0);
	ASSERT_EQ(c.max_queue_size, 10);
	ASSERT_EQ(c.nr_privileged_gids, 2);
	ASSERT_EQ(c.device_access, DEVICE_ACCESS_NONE);
	ASSERT_EQ(c.file_names, FILE_NAMES_PRIVILEGED);	/* the default */
	ASSERT_EQ(parse_str(&c, "file_names = watchers\n", err, sizeof(err)), 0);
	ASSERT_EQ(c.file_names, FILE_NAMES_WATCHERS);
	ASSERT_EQ(parse_str(&c, "pin_path = none\nrestart_grace_ms = 0\nstate_file = /x/y\n",
			     err, sizeof(err)), 0);
	ASSERT_EQ(c.pin_path[0], 0);
	ASSERT_EQ(c.restart_grace_ms, 0);
	ASSERT_STREQ(c.state_file, "/x/y");
	ASSERT_FALSE(c.bio_errors);			/* the default */
	ASSERT_EQ(parse_str(&c, "bio_errors = yes\n", err, sizeof(err)), 0);
	ASSERT_TRUE(c.bio_errors);
	/* The limits on hostile clients; reserved_clients shrinks with max_clients unless set. */
	ASSERT_EQ(parse_str(&c, "max_clients = 10\nmax_clients_per_uid = 2\nhello_timeout_ms = 100\n"
			     "idle_timeout_ms = 3600000\n", err, sizeof(err)), 0);
	ASSERT_EQ(c.max_clients_per_uid, 2);
	ASSERT_EQ(c.reserved_clients, 4);
	ASSERT_EQ(c.hello_timeout_ms, 100);
	ASSERT_EQ(c.idle_timeout_ms, 3600000);
	ASSERT_EQ(parse_str(&c, "max_clients = 3\n", err, sizeof(err)), 0);
	ASSERT_EQ(c.reserved_clients, 1);
	ASSERT_EQ(parse_str(&c, "max_clients = 3\nreserved_clients = 0\n", err, sizeof(err)), 0);
	ASSERT_EQ(c.reserved_clients, 0);
	/* An empty list: nobody but root is privileged. */
	ASSERT_EQ(parse_str(&c, "privileged_groups =\n", err, sizeof(err)), 0);
	ASSERT_EQ(c.nr_privileged_gids, 0);
}

TEST(config_errors_name_the_line)
{
	static const struct { const char *text, *msg; } cases[] = {
		{ "source = bpf\nsourse = kmsg\n", "test.conf:2: unknown setting \"sourse\"" },
		{ "max_clients = 0\n", "test.conf:1: max_clients: 0 is out of range (expected 1..512)" },
		{ "\n\nmax_clients = 99999\n", "test.conf:3: max_clients: 99999 is out of range" },
		{ "max_clients = -1\n", "test.conf:1: max_clients: \"-1\" is not a number" },
		{ "max_clients = 12abc\n", "test.conf:1: max_clients: \"12abc\" is not a number" },
		{ "socket_mode = 0999\n", "test.conf:1: socket_mode: \"0999\" is not an octal number" },
		{ "source = ebpf\n", "test.conf:1: source: \"ebpf\" is not one of auto, bpf, kmsg, watch_queue" },
		{ "socket = relative/path\n", "test.conf:1: socket: \"relative/path\" is not an absolute path" },
		{ "socket_group = no-such-group-xyz\n", "test.conf:1: socket_group: no group named \"no-such-group-xyz\"" },
		{ "max_clients = 4\nmax_clients = 5\n", "test.conf:2: max_clients is set twice (first on line 1)" },
		{ "just words\n", "test.conf:1: expected \"key = value\"" },
		{ "source =\n", "test.conf:1: source: missing value" },
		{ "= kmsg\n", "test.conf:1: missing key before '='" },
		{ "source = daemon\n", "test.conf:1: source: \"daemon\" is not one of" },
		{ "max_clients = 4\nreserved_clients = 4\n",
		  "test.conf:2: reserved_clients (4) must be less than max_clients (4)" },
		{ "reserved_clients = 70\n", "test.conf:1: reserved_clients (70) must be less than max_clients (64)" },
		{ "hello_timeout_ms = 99\n", "test.conf:1: hello_timeout_ms: 99 is out of range (expected 100..600000)" },
		{ "max_clients_per_uid = 0\n", "test.conf:1: max_clients_per_uid: 0 is out of range" },
		{ "device_access = everyone\n", "test.conf:1: device_access: \"everyone\" is not one of readable, none" },
		{ "file_names = all\n", "test.conf:1: file_names: \"all\" is not one of privileged, watchers" },
		{ "pin_path = bpf/x\n", "test.conf:1: pin_path: \"bpf/x\" is neither \"none\" nor an absolute path" },
		{ "restart_grace_ms = 600001\n", "test.conf:1: restart_grace_ms: 600001 is out of range (expected 0..600000)" },
		{ "bio_errors = maybe\n", "test.conf:1: bio_errors: \"maybe\" is not one of yes, no" },
	};
	struct daemon_config c;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(parse_str(&c, cases[i].text, err, sizeof(err)), -EINVAL);
		if (strncmp(err, cases[i].msg, strlen(cases[i].msg)))
			TEST_FAIL_(0, "case %zu: got \"%s\", expected it to start with \"%s\"", i, err,
				   cases[i].msg);
	}
}

/* Slow I/O: off by default, both keys, and only where a per-request hook exists. */
TEST(config_slow_io_keys)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "slow_io_relative = 1\n", "test.conf:1: slow_io_relative: 1 would make half" },
		{ "slow_io_threshold_ms = 86400001\n",
		  "test.conf:1: slow_io_threshold_ms: 86400001 is out of range (expected 0..86400000)" },
		{ "slow_io_relative = -5\n", "test.conf:1: slow_io_relative: \"-5\" is not a number" },
		{ "source = kmsg\n\nslow_io_threshold_ms = 500\n",
		  "test.conf:3: slow_io_threshold_ms and slow_io_relative need the bpf source "
		  "(source = kmsg has no per-request hook)" },
		{ "slow_io_relative = 50\nsource = watch_queue\n",
		  "test.conf:1: slow_io_threshold_ms and slow_io_relative need the bpf source "
		  "(source = watch_queue" },
		{ "slow_io_relative = 5\nslow_io_relative = 6\n",
		  "test.conf:2: slow_io_relative is set twice (first on line 1)" },
	};
	struct daemon_config c;
	char err[512];
	size_t i;

	config_defaults(&c);
	ASSERT_EQ(c.slow_io_threshold_ms, 0);
	ASSERT_EQ(c.slow_io_relative, 0);
	ASSERT_EQ(parse_str(&c, "slow_io_threshold_ms = 500\nslow_io_relative = 50\n", err,
			    sizeof(err)), 0);
	ASSERT_EQ(c.slow_io_threshold_ms, 500);
	ASSERT_EQ(c.slow_io_relative, 50);
	ASSERT_EQ(parse_str(&c, "source = bpf\nslow_io_threshold_ms = 0\nslow_io_relative = 0\n",
			    err, sizeof(err)), 0);
	ASSERT_EQ(parse_str(&c, "source = kmsg\nslow_io_threshold_ms = 0\n", err, sizeof(err)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(parse_str(&c, bad[i].text, err, sizeof(err)), -EINVAL);
		if (strncmp(err, bad[i].msg, strlen(bad[i].msg)))
			TEST_FAIL_(0, "case %zu: got \"%s\", expected it to start with \"%s\"", i, err,
				   bad[i].msg);
	}
}

TEST(config_long_line_and_nul)
{
	static char text[CONFIG_LINE_MAX + 64];
	struct daemon_config c;
	char err[512] = "";
	FILE *f;
	int r;

	memset(text, '#', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	ASSERT_EQ(parse_str(&c, text, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strstr(err, "test.conf:1: line longer than") != NULL);

	f = fmemopen((void *)"source = bpf\nsocket = /a\0b\n", 26, "r");
	config_defaults(&c);
	r = config_parse(&c, f, "test.conf", err, sizeof(err));
	fclose(f);
	ASSERT_EQ(r, -EINVAL);
	ASSERT_STREQ(err, "test.conf:2: NUL byte in line");
}

TEST(policy_mode_bits)
{
	struct peer p = { .uid = 1000, .gid = 1000, .nr_groups = 1, .groups = { 6 } };

	ASSERT_TRUE(policy_mode_allows_read(&p, 1000, 0, 0400));
	ASSERT_FALSE(policy_mode_allows_read(&p, 1000, 6, 0040));	/* owner class decides */
	ASSERT_TRUE(policy_mode_allows_read(&p, 0, 6, 0640));		/* supplementary group */
	ASSERT_FALSE(policy_mode_allows_read(&p, 0, 7, 0640));
	ASSERT_TRUE(policy_mode_allows_read(&p, 0, 7, 0604));
	ASSERT_FALSE(policy_mode_allows_read(&p, 0, 6, 0604));		/* group class decides */
}

static size_t build(void *buf, unsigned int type, const void *body, size_t body_len)
{
	void *b = bnd_msg_init(buf, type, 42, body_len);

	memcpy(b, body, body_len);
	return sizeof(struct bnd_hdr) + body_len;
}

TEST(protocol_valid_messages)
{
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	struct bnd_hello hello = { .version = BND_VERSION };
	struct bnd_add_watch w = { .id = 255, .dev = 0, .start = 0, .end = ~0ULL };
	struct {
		struct bnd_set_filter f;
		struct watch_notification_type_filter t[2];
	} filt = { .f = { .nr_filters = 2 },
		   .t = { { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype_filter = { 1 << 6 } },
			  { .type = 1, .info_mask = WATCH_INFO_ID, .info_filter = 3 << 8 } } };
	char why[256];
	struct bnd_msg m;
	size_t len;

	len = build(buf, BND_HELLO, &hello, sizeof(hello));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), 0);
	ASSERT_EQ(m.type, BND_HELLO);
	ASSERT_EQ(m.seq, 42);
	len = build(buf, BND_ADD_WATCH, &w, sizeof(w));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), 0);
	ASSERT_EQ(m.add_watch->id, 255);
	len = build(buf, BND_SET_FILTER, &filt, sizeof(filt));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), 0);
	ASSERT_EQ(m.set_filter->nr_filters, 2);
	len = bnd_msg_error(buf, 9, -EACCES, "no %s", "way");
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)), 0);
	ASSERT_EQ(m.error->error, -EACCES);
	ASSERT_STREQ(m.error->text, "no way");
}

TEST(protocol_rejects)
{
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	struct bnd_hello hello = { .version = BND_VERSION };
	struct bnd_add_watch w = { .id = 1, .dev = 0x800, .start = 0, .end = ~0ULL };
	struct bnd_set_size sz = { .nr_records = 10 };
	char why[256];
	struct bnd_msg m;
	size_t len;

	/* Short, bad magic, bad version, length mismatch. */
	memset(buf, 0, 64);
	ASSERT_EQ(bnd_parse(buf, 8, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	len = build(buf, BND_HELLO, &hello, sizeof(hello));
	((struct bnd_hdr *)buf)->magic ^= 1;
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	ASSERT_TRUE(strstr(why, "bad magic") != NULL);
	len = build(buf, BND_HELLO, &hello, sizeof(hello));
	((struct bnd_hdr *)buf)->version = 2;
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EPROTONOSUPPORT);
	len = build(buf, BND_HELLO, &hello, sizeof(hello));
	ASSERT_EQ(bnd_parse(buf, len - 1, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	ASSERT_TRUE(strstr(why, "header says 32 bytes, message has 31") != NULL);
	/* Truncated body with a matching header. */
	len = build(buf, BND_HELLO, &hello, sizeof(hello) - 8);
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	/* Oversized request. */
	memset(buf + 2048, 0, BND_REQUEST_MAX);
	len = build(buf, BND_GET_STATS, buf + 2048, BND_REQUEST_MAX);
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	/* Wrong direction, unknown type. */
	len = build(buf, BND_RECORDS, "", 0);
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EOPNOTSUPP);
	len = build(buf, 0x42, "", 0);
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EOPNOTSUPP);
	/* Values. */
	hello.version = 7;
	len = build(buf, BND_HELLO, &hello, sizeof(hello));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EPROTONOSUPPORT);
	w.id = 256;
	len = build(buf, BND_ADD_WATCH, &w, sizeof(w));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	w.id = 1;
	w.start = 10;
	w.end = 10;
	len = build(buf, BND_ADD_WATCH, &w, sizeof(w));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	w.dev = 0;
	w.end = 20;
	len = build(buf, BND_ADD_WATCH, &w, sizeof(w));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	w.__reserved = 1;
	len = build(buf, BND_ADD_WATCH, &w, sizeof(w));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	sz.nr_records = 0;
	len = build(buf, BND_SET_SIZE, &sz, sizeof(sz));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	sz.nr_records = BLKNOTIFY_QUEUE_SIZE_MAX + 1;
	len = build(buf, BND_SET_SIZE, &sz, sizeof(sz));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
}

TEST(protocol_filter_and_records_validation)
{
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	struct {
		struct bnd_set_filter f;
		struct watch_notification_type_filter t[1];
	} filt = { .f = { .nr_filters = 1 }, .t = { { .type = 2, .info_filter = 1, .info_mask = 0 } } };
	struct {
		struct watch_notification a;
		__u64 pad;
	} recs = { .a = { .type = WATCH_TYPE_BLOCK_NOTIFY, .info = 16 } };
	char why[256];
	struct bnd_msg m;
	size_t len;

	len = build(buf, BND_SET_FILTER, &filt, sizeof(filt));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	filt.t[0].info_filter = 0;
	filt.t[0].info_mask = WATCH_INFO_LENGTH;
	len = build(buf, BND_SET_FILTER, &filt, sizeof(filt));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	filt.t[0].info_mask = 0;
	filt.f.nr_filters = 2;		/* says two, carries one */
	len = build(buf, BND_SET_FILTER, &filt, sizeof(filt));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	filt.f.nr_filters = 17;
	len = build(buf, BND_SET_FILTER, &filt, sizeof(filt));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);

	/* A block record shorter than the original 24 bytes; a zero length; a stray tail. */
	len = build(buf, BND_RECORDS, &recs, sizeof(recs));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)), -EBADMSG);
	recs.a.info = 0;
	len = build(buf, BND_RECORDS, &recs, sizeof(recs));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)), -EBADMSG);
	recs.a.type = WATCH_TYPE_META;
	recs.a.info = 8;
	len = build(buf, BND_RECORDS, &recs, 12);
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)), -EBADMSG);
	len = build(buf, BND_RECORDS, &recs, 8);
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)), 0);
}

/* An IMPACT reply as the daemon builds it, parsed and walked as the library does. */
TEST(protocol_impact_round_trip)
{
	static unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	static char long_path[BND_PATH_MAX + 8];
	const struct blknotify_extent file = {
		.kind = BLKNOTIFY_EXTENT_FILE, .flags = BLKNOTIFY_EXTENT_F_SHARED,
		.dev_offset = 8192, .length = 4096, .inode = 13, .file_offset = 20480,
		.owner = "file", .path = "/mnt/private/data.db" };
	const struct blknotify_extent free_space = {
		.kind = BLKNOTIFY_EXTENT_FREE, .dev_offset = 12288, .length = 512,
		.owner = "free space" };
	struct blknotify_extent nameless = file;
	const struct bnd_extent *x;
	char why[256];
	struct bnd_msg m;
	int i;

	bnd_msg_impact_init(buf, 9, "/mnt", 2, 1);
	ASSERT_TRUE(bnd_msg_impact_add(buf, &file));
	ASSERT_TRUE(bnd_msg_impact_add(buf, &free_space));
	ASSERT_EQ(bnd_parse(buf, ((struct bnd_hdr *)buf)->len, BND_TO_CLIENT, &m, why,
			    sizeof(why)), 0);
	ASSERT_EQ(m.type, BND_IMPACT);
	ASSERT_EQ(m.impact->nr_extents, 2);
	ASSERT_EQ(m.impact->dropped, 2);
	ASSERT_EQ(m.impact->unnamed, 1);
	ASSERT_STREQ(bnd_impact_mount(m.impact), "/mnt");
	x = bnd_impact_first(m.impact);
	ASSERT_EQ(x->kind, BLKNOTIFY_EXTENT_FILE);
	ASSERT_EQ(x->flags, BLKNOTIFY_EXTENT_F_SHARED);
	ASSERT_EQ(x->inode, 13);
	ASSERT_EQ(x->file_offset, 20480);
	ASSERT_STREQ(bnd_extent_owner(x), "file");
	ASSERT_STREQ(bnd_extent_path(x), "/mnt/private/data.db");
	x = bnd_extent_next(x);
	ASSERT_EQ(x->kind, BLKNOTIFY_EXTENT_FREE);
	ASSERT_EQ(x->length, 512);
	ASSERT_STREQ(bnd_extent_owner(x), "free space");
	ASSERT_TRUE(bnd_extent_path(x) == NULL);
	/* Only one direction. */
	ASSERT_EQ(bnd_parse(buf, ((struct bnd_hdr *)buf)->len, BND_TO_DAEMON, &m, why,
			    sizeof(why)), -EOPNOTSUPP);

	/* The encoder's bounds: at most BND_IMPACT_EXTENTS_MAX, a path too long is no path. */
	bnd_msg_impact_init(buf, 9, "/mnt", 0, 0);
	for (i = 0; i < BND_IMPACT_EXTENTS_MAX + 3; i++)
		bnd_msg_impact_add(buf, &free_space);
	ASSERT_EQ(bnd_parse(buf, ((struct bnd_hdr *)buf)->len, BND_TO_CLIENT, &m, why,
			    sizeof(why)), 0);
	ASSERT_EQ(m.impact->nr_extents, BND_IMPACT_EXTENTS_MAX);
	ASSERT_EQ(m.impact->dropped, 3);
	memset(long_path, 'a', sizeof(long_path) - 1);
	nameless.path = long_path;
	bnd_msg_impact_init(buf, 9, "/mnt", 0, 0);
	ASSERT_TRUE(bnd_msg_impact_add(buf, &nameless));
	ASSERT_EQ(bnd_parse(buf, ((struct bnd_hdr *)buf)->len, BND_TO_CLIENT, &m, why,
			    sizeof(why)), 0);
	ASSERT_EQ(m.impact->unnamed, 1);
	ASSERT_TRUE(bnd_extent_path(bnd_impact_first(m.impact)) == NULL);
}

/* What a hostile or broken daemon could send instead. */
TEST(protocol_impact_rejects)
{
	static unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	const struct blknotify_extent file = {
		.kind = BLKNOTIFY_EXTENT_FILE, .dev_offset = 0, .length = 4096, .inode = 12,
		.owner = "file", .path = "/m/f" };
	struct bnd_hdr *h = (void *)buf;
	struct bnd_impact *im;
	struct bnd_extent *x;
	char why[256];
	struct bnd_msg m;

#define REPARSE(want) ASSERT_EQ(bnd_parse(buf, h->len, BND_TO_CLIENT, &m, why, sizeof(why)), want)
	im = bnd_msg_impact_init(buf, 1, "/m", 0, 0);
	bnd_msg_impact_add(buf, &file);
	x = (void *)((char *)(im + 1) + 8);
	REPARSE(0);
	x->path_len++;			/* past the string's NUL */
	REPARSE(-EBADMSG);
	x->path_len--;
	x->kind = BLKNOTIFY_EXTENT_FREE;	/* a path on free space */
	REPARSE(-EBADMSG);
	x->kind = 4;
	REPARSE(-EBADMSG);
	x->kind = BLKNOTIFY_EXTENT_FILE;
	x->__reserved = 1;
	REPARSE(-EBADMSG);
	x->__reserved = 0;
	((char *)(x + 1))[x->owner_len + x->path_len] = 'x';	/* padding */
	REPARSE(-EBADMSG);
	ASSERT_TRUE(strstr(why, "padding") != NULL);
	((char *)(x + 1))[x->owner_len + x->path_len] = 0;
	((char *)(x + 1))[1] = 0;		/* a NUL inside the owner */
	REPARSE(-EBADMSG);
	((char *)(x + 1))[1] = 'i';
	((char *)(im + 1))[2] = 'x';		/* the mount point's NUL */
	REPARSE(-EBADMSG);
	((char *)(im + 1))[2] = 0;
	im->nr_extents = 2;			/* says two, carries one */
	REPARSE(-EBADMSG);
	im->nr_extents = BND_IMPACT_EXTENTS_MAX + 1;
	REPARSE(-EBADMSG);
	im->nr_extents = 1;
	h->len += 8;				/* a stray tail */
	REPARSE(-EBADMSG);
	ASSERT_TRUE(strstr(why, "after the last extent") != NULL);
	h->len -= 8;
	im->mount_len = 60000;
	REPARSE(-EBADMSG);
	im->mount_len = 3;
	REPARSE(0);
#undef REPARSE
}

TEST(protocol_get_impact)
{
	unsigned char buf[128] __attribute__((aligned(8)));
	struct bnd_get_impact g = { .dev = 0x703, .sector = 16568, .nr_sectors = 8 };
	char why[256];
	struct bnd_msg m;
	size_t len;

	len = build(buf, BND_GET_IMPACT, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), 0);
	ASSERT_EQ(m.get_impact->sector, 16568);
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)), -EOPNOTSUPP);
	g.nr_sectors = 0;
	len = build(buf, BND_GET_IMPACT, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	g.nr_sectors = BND_IMPACT_SECTORS_MAX + 1;
	len = build(buf, BND_GET_IMPACT, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	g.nr_sectors = 8;
	g.sector = ~0ULL - 4;			/* the range wraps */
	len = build(buf, BND_GET_IMPACT, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	g.sector = 0;
	g.__reserved = 1;
	len = build(buf, BND_GET_IMPACT, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	g.__reserved = 0;
	g.dev = 0;
	len = build(buf, BND_GET_IMPACT, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	len = build(buf, BND_GET_IMPACT, &g, sizeof(g) - 8);
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
}

/* The message about an unknown key lists every key, the outputs' last one too, uncut. */
TEST(config_unknown_key_lists_every_key)
{
	struct daemon_config c;
	char err[2048];

	ASSERT_EQ(parse_str(&c, "histroy_path = /x\n", err, sizeof(err)), -EINVAL);
	/* Every output's keys are in it, and it ends with the last one's closing parenthesis. */
	if (!strstr(err, "history_commit_ms, history_queue, ") ||
	    !strstr(err, "handlers_rate_keys, ") || err[strlen(err) - 1] != ')')
		TEST_FAIL_(0, "the list of keys is cut: \"%s\"", err);
}

/* GET_HISTORY and HISTORY (docs/protocol.md): what is accepted, and each malformation refused. */
TEST(protocol_history_validation)
{
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	struct bnd_get_history g = { .until_ns = 1, .sub_hi = 255, .limit = 256 };
	struct {
		struct bnd_history h;
		struct bnd_history_disk d;
		struct bnd_history_row r[2];
	} p, good;
	char why[256];
	struct bnd_msg m;
	size_t len;

	len = build(buf, BND_GET_HISTORY, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), 0);
	ASSERT_EQ(m.get_history->limit, 256);
	g.limit = 257;
	len = build(buf, BND_GET_HISTORY, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	ASSERT_TRUE(strstr(why, "limit 257") != NULL);
	g.limit = 1;
	g.sub_hi = 256;
	len = build(buf, BND_GET_HISTORY, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);
	g.sub_hi = 255;
	g.since_ns = -1;
	len = build(buf, BND_GET_HISTORY, &g, sizeof(g));
	ASSERT_EQ(bnd_parse(buf, len, BND_TO_DAEMON, &m, why, sizeof(why)), -EBADMSG);

	memset(&good, 0, sizeof(good));
	good.h = (struct bnd_history){ .nr_rows = 2, .nr_disks = 1, .last = 9, .withheld = 3,
				       .flags = BND_HISTORY_END };
	good.d.id = 4;
	strcpy(good.d.name, "loop0");
	good.r[0] = (struct bnd_history_row){ .id = 5, .disk = 4, .subtype = 10, .sector = 8,
					      .nulls = 1U << BND_HCOL_LOST | 1U << BND_HCOL_REASON };
	good.r[1] = (struct bnd_history_row){ .id = 9, .kind = 1, .lost = 17, .reason = 1,
					      .nulls = 1U << BND_HCOL_DISK | 1U << BND_HCOL_DEV };
#define HISTORY_PARSE(want) do {							\
		len = build(buf, BND_HISTORY, &p, sizeof(p));				\
		ASSERT_EQ(bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)), want);	\
	} while (0)
	p = good;
	HISTORY_PARSE(0);
	ASSERT_EQ(bnd_history_rows(m.history)[1].lost, 17);
	ASSERT_STREQ(bnd_history_disks(m.history)[0].name, "loop0");
	p = good, p.r[0].disk = 7;			/* a disk the reply does not hold */
	HISTORY_PARSE(-EBADMSG);
	ASSERT_TRUE(strstr(why, "names disk 7") != NULL);
	p = good, p.r[1].id = 5;			/* not increasing */
	HISTORY_PARSE(-EBADMSG);
	p = good, p.h.last = 8;				/* a row past the cursor */
	HISTORY_PARSE(-EBADMSG);
	p = good, p.r[0].lost = 1;			/* a NULL column that is not zero */
	HISTORY_PARSE(-EBADMSG);
	p = good, p.r[0].nulls |= 1U << BND_HCOL_COUNT;	/* an unknown column */
	HISTORY_PARSE(-EBADMSG);
	p = good, p.r[0].__reserved[6] = 1;
	HISTORY_PARSE(-EBADMSG);
	p = good, p.r[0].kind = 2;
	HISTORY_PARSE(-EBADMSG);
	p = good, memset(p.d.model, 'x', sizeof(p.d.model));	/* no NUL */
	HISTORY_PARSE(-EBADMSG);
	p = good, p.d.serial[sizeof(p.d.serial) - 1] = 'x';	/* padding not zero */
	HISTORY_PARSE(-EBADMSG);
	p = good, p.d.id = 0;
	HISTORY_PARSE(-EBADMSG);
	p = good, p.h.flags = 2;
	HISTORY_PARSE(-EBADMSG);
	p = good, p.h.nr_rows = 1;			/* the length says two */
	HISTORY_PARSE(-EBADMSG);
#undef HISTORY_PARSE
}
