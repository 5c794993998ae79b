// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of blknotifyd's outputs: the metrics' counters, bounds, expiry
 * and exposition; the journal's coalescing arithmetic (every error an entry
 * or counted in a summary) with the entries captured as the iovecs
 * sd_journal_sendv() would get; the outputs' configuration keys; the
 * textfile's atomic replacement.  Disks are made up (identities as the
 * library's device cache gives them), so they can appear, be replaced and go.  Real journald and
 * Prometheus are in the host tests (test_outputs.sh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>
#include <blknotify/blknotify.h>

#include "journal.h"
#include "metrics.h"
#include "metrics-serve.h"
#include "outputs.h"

#define SEC	1000000000ULL

static char tmpdir[] = "/tmp/test_outputs.XXXXXX";

/* The disks the test makes up, as the library's cache would give them. */
static struct test_disk {
	__u64 dev, diskseq;
	const char *name, *serial, *wwn, *model, *by_id;
	bool present;
} disks[8];

static struct test_disk *disk_find(__u64 dev)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		if (disks[i].present && disks[i].dev == dev)
			return &disks[i];
	return NULL;
}

static struct test_disk *disk_add(__u64 dev, const char *name, unsigned int diskseq)
{
	struct test_disk *d = disk_find(dev);
	unsigned int i;

	for (i = 0; !d && i < 8; i++)
		if (!disks[i].present)
			d = &disks[i];
	if (!d)
		abort();
	*d = (struct test_disk){ .dev = dev, .diskseq = diskseq, .name = name, .serial = "",
				 .wwn = "", .model = "", .by_id = "", .present = true };
	return d;
}

static void disk_remove(__u64 dev)
{
	struct test_disk *d = disk_find(dev);

	if (d)
		d->present = false;
}

/* What disk_identity_get() gives: a disk that is not there has its number only. */
static const struct disk_identity *ident(__u64 dev)
{
	static struct disk_identity id;
	const struct test_disk *d = disk_find(dev);

	id = (struct disk_identity){ .dev = dev, .serial = "", .wwn = "", .model = "", .by_id = "" };
	if (d)
		id = (struct disk_identity){ .dev = dev, .diskseq = d->diskseq, .name = d->name,
					     .serial = d->serial, .wwn = d->wwn, .model = d->model,
					     .by_id = d->by_id };
	return &id;
}

static bool test_current(void *userdata, __u64 dev, __u64 diskseq)
{
	const struct test_disk *d = disk_find(dev);

	(void)userdata;
	return d && (!diskseq || d->diskseq == diskseq);
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)!system(cmd);
}

#define TEST_SETUP() do {						\
	if (!mkdtemp(tmpdir))						\
		abort();						\
	atexit(remove_tmpdir);						\
} while (0)

#include "../harness.h"

static struct block_notification rec(__u64 dev, unsigned int subtype, unsigned int op,
				     __u64 sector, __u32 nr)
{
	struct block_notification b = {
		.watch = { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype = subtype,
			   .info = BLOCK_NOTIFICATION_SIZE_V1 },
		.dev = dev, .sector = sector, .time_ns = 5 * SEC, .nr_sectors = nr,
		.error = -EIO, .op = op,
	};
	return b;
}

static char *exposition(struct metrics *m)
{
	struct metrics_daemon_stats s = { .source = "bpf", .upstream_lost = 7, .clients_refused = 2 };
	size_t len;
	char *t = metrics_format(m, &s, &len);

	if (!t)
		abort();
	if (strlen(t) != len)
		abort();
	return t;
}

#define ASSERT_CONTAINS(text, line) do {				\
	if (!strstr(text, line))					\
		TEST_FAIL_(1, "exposition lacks \"%s\":\n%s", line, text);	\
} while (0)
#define ASSERT_LACKS(text, line) do {					\
	if (strstr(text, line))						\
		TEST_FAIL_(1, "exposition has \"%s\"", line);		\
} while (0)

TEST(metrics_count_by_disk_subtype_and_op)
{
	struct metrics m;
	struct block_notification b;
	char *t;
	int i;

	disk_add(makedev(7, 0), "loop0", 11);
	ASSERT_EQ(metrics_init(&m, 4, 60), 0);
	for (i = 0; i < 3; i++) {
		b = rec(makedev(7, 0), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_READ, i, 8);
		metrics_count(&m, &b, sizeof(b), ident(b.dev), 10 * SEC, 1000 * SEC);
	}
	b = rec(makedev(7, 0), NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM, BLOCK_NOTIFY_OP_WRITE, 9, 8);
	/* A 24-byte record has no op ("other") and no time (now, 900 s). */
	metrics_count(&m, &b, BLOCK_NOTIFICATION_SIZE_V0, ident(b.dev), 10 * SEC, 900 * SEC);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), 10 * SEC, 1000 * SEC);
	t = exposition(&m);
	ASSERT_CONTAINS(t, "# TYPE blknotify_errors_total counter\n");
	ASSERT_CONTAINS(t, "blknotify_errors_total{device=\"loop0\",devnum=\"7:0\",diskseq=\"11\","
			"serial=\"\",wwn=\"\",model=\"\",subtype=\"io\",op=\"read\"} 3\n");
	ASSERT_CONTAINS(t, "blknotify_errors_total{device=\"loop0\",devnum=\"7:0\",diskseq=\"11\","
			"serial=\"\",wwn=\"\",model=\"\",subtype=\"medium\",op=\"write\"} 1\n");
	ASSERT_CONTAINS(t, "subtype=\"medium\",op=\"other\"} 1\n");
	/* The record's time was 5 s (monotonic) when the clocks said 10 s and 1000 s. */
	ASSERT_CONTAINS(t, "blknotify_last_error_timestamp_seconds{device=\"loop0\",devnum=\"7:0\","
			"diskseq=\"11\",serial=\"\",wwn=\"\",model=\"\"} 995.000\n");
	ASSERT_CONTAINS(t, "blknotify_records_lost_total{reason=\"upstream\"} 7\n");
	ASSERT_CONTAINS(t, "blknotify_clients_refused_total 2\n");
	ASSERT_CONTAINS(t, "blknotify_source_info{source=\"bpf\"} 1\n");
	ASSERT_CONTAINS(t, "blknotify_build_info{version=\"");
	ASSERT_EQ(m.errors, 5);
	free(t);
	metrics_free(&m);
}

/* Slow I/O is not an error: a family of its own, no error series, no error time. */
TEST(metrics_count_slow_io_apart_from_errors)
{
	struct metrics m;
	struct block_notification b;
	char *t;

	disk_add(makedev(7, 5), "loop5", 3);
	ASSERT_EQ(metrics_init(&m, 4, 60), 0);
	b = rec(makedev(7, 5), NOTIFY_BLOCK_SLOW, BLOCK_NOTIFY_OP_READ, 100, 8);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), 10 * SEC, 1000 * SEC);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), 10 * SEC, 1000 * SEC);
	t = exposition(&m);
	ASSERT_CONTAINS(t, "# TYPE blknotify_slow_io_total counter\n");
	ASSERT_CONTAINS(t, "blknotify_slow_io_total{device=\"loop5\",devnum=\"7:5\",diskseq=\"3\","
			"serial=\"\",wwn=\"\",model=\"\",op=\"read\"} 2\n");
	ASSERT_TRUE(strstr(t, "subtype=\"slow\"") == NULL);
	ASSERT_TRUE(strstr(t, "blknotify_last_error_timestamp_seconds{device=\"loop5\"") == NULL);
	ASSERT_EQ(m.errors, 0);
	ASSERT_EQ(m.slow, 2);
	/* An error on the same disk is an error as before. */
	b = rec(makedev(7, 5), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_READ, 100, 8);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), 10 * SEC, 1000 * SEC);
	free(t);
	t = exposition(&m);
	ASSERT_CONTAINS(t, "model=\"\",subtype=\"io\",op=\"read\"} 1\n");
	ASSERT_CONTAINS(t, "blknotify_last_error_timestamp_seconds{device=\"loop5\"");
	ASSERT_EQ(m.errors, 1);
	free(t);
	metrics_free(&m);
}

TEST(metrics_bounded_labels_count_the_rest_unlabelled)
{
	struct metrics m;
	struct block_notification b;
	unsigned int i;
	char *t;

	ASSERT_EQ(metrics_init(&m, 2, 60), 0);
	/* Three disks for two slots: the third one's errors are unlabelled. */
	for (i = 0; i < 3; i++) {
		b = rec(makedev(8, 16 * i), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_READ, 0, 1);
		metrics_count(&m, &b, sizeof(b), ident(b.dev), SEC, SEC);
	}
	ASSERT_EQ(m.nr_devices, 2);
	ASSERT_EQ(m.unlabelled, 1);
	/* A disk's pairs are bounded too. */
	for (i = 0; i <= METRICS_SERIES_PER_DEVICE; i++) {
		b = rec(makedev(8, 0), i % 17 + 1, i / 17, 0, 1);
		metrics_count(&m, &b, sizeof(b), ident(b.dev), SEC, SEC);
	}
	ASSERT_EQ(m.devices[0].nr_series, METRICS_SERIES_PER_DEVICE);
	/* (io, read) was there already: 33 records, 31 new pairs fit, one does not. */
	ASSERT_EQ(m.unlabelled, 2);
	ASSERT_EQ(m.errors, 3 + METRICS_SERIES_PER_DEVICE + 1);
	t = exposition(&m);
	ASSERT_CONTAINS(t, "blknotify_errors_unlabelled_total 2\n");
	/* Unknown to the library: named by number. */
	ASSERT_CONTAINS(t, "device=\"8:16\",devnum=\"8:16\",diskseq=\"0\"");
	free(t);
	metrics_free(&m);
}

TEST(metrics_gone_or_replaced_disks_expire)
{
	struct metrics m;
	struct block_notification b = rec(makedev(7, 1), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_READ, 0, 1);
	char *t;

	disk_add(makedev(7, 1), "loop1", 20);
	ASSERT_EQ(metrics_init(&m, 4, 60), 0);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), 100 * SEC, 100 * SEC);
	/* Present and unchanged: kept however old. */
	ASSERT_EQ(metrics_expire(&m, 1000 * SEC, test_current, NULL), 0);
	/* Reattached (a new diskseq): the old series stay until they expire, new errors are apart. */
	disk_add(makedev(7, 1), "loop1", 21);
	ASSERT_EQ(metrics_expire(&m, 101 * SEC, test_current, NULL), 0);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), 102 * SEC, 102 * SEC);
	ASSERT_EQ(m.nr_devices, 2);
	t = exposition(&m);
	ASSERT_CONTAINS(t, "device=\"loop1\",devnum=\"7:1\",diskseq=\"20\",serial=\"\",wwn=\"\",model=\"\",subtype=\"io\",op=\"read\"} 1\n");
	ASSERT_CONTAINS(t, "device=\"loop1\",devnum=\"7:1\",diskseq=\"21\",serial=\"\",wwn=\"\",model=\"\",subtype=\"io\",op=\"read\"} 1\n");
	free(t);
	ASSERT_EQ(metrics_expire(&m, 159 * SEC, test_current, NULL), 0);	/* 59 s after its last error */
	ASSERT_EQ(metrics_expire(&m, 160 * SEC, test_current, NULL), 1);
	ASSERT_EQ(m.nr_devices, 1);
	ASSERT_EQ(m.devices[0].diskseq, 21);
	/* Gone: expires expiry_s after its last error. */
	disk_remove(makedev(7, 1));
	ASSERT_EQ(metrics_expire(&m, 161 * SEC, test_current, NULL), 0);
	ASSERT_EQ(metrics_expire(&m, 162 * SEC, test_current, NULL), 1);
	ASSERT_EQ(m.expired, 2);
	t = exposition(&m);
	ASSERT_LACKS(t, "blknotify_errors_total{");
	ASSERT_CONTAINS(t, "blknotify_metrics_devices_expired_total 2\n");
	free(t);
	metrics_free(&m);
}

TEST(metrics_label_values_are_escaped)
{
	struct metrics m;
	struct block_notification b = rec(makedev(7, 2), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_READ, 0, 1);
	char *t;

	disk_add(makedev(7, 2), "we\\ird\"disk", 1);
	ASSERT_EQ(metrics_init(&m, 4, 60), 0);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), SEC, SEC);
	t = exposition(&m);
	ASSERT_CONTAINS(t, "device=\"we\\\\ird\\\"disk\"");
	free(t);
	metrics_free(&m);
}

TEST(metrics_identity_labels_escaped)
{
	struct metrics m;
	struct block_notification b = rec(makedev(8, 32), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_READ, 0, 1);
	struct test_disk *d = disk_add(makedev(8, 32), "sdc", 5);
	char *t;

	d->serial = "WD-\"odd\\one\"\nX";
	d->wwn = "0x5000c500a1b2c3d4";
	d->model = "WDC WD40";
	ASSERT_EQ(metrics_init(&m, 4, 60), 0);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), SEC, SEC);
	t = exposition(&m);
	/* A quote and a backslash escaped, a control character made harmless. */
	ASSERT_CONTAINS(t, "blknotify_errors_total{device=\"sdc\",devnum=\"8:32\",diskseq=\"5\","
			"serial=\"WD-\\\"odd\\\\one\\\"?X\",wwn=\"0x5000c500a1b2c3d4\","
			"model=\"WDC WD40\",subtype=\"io\",op=\"read\"} 1\n");
	ASSERT_CONTAINS(t, "blknotify_last_error_timestamp_seconds{device=\"sdc\",devnum=\"8:32\","
			"diskseq=\"5\",serial=\"WD-\\\"odd\\\\one\\\"?X\",wwn=\"0x5000c500a1b2c3d4\","
			"model=\"WDC WD40\"} ");
	free(t);
	metrics_free(&m);
	disk_remove(makedev(8, 32));
}

TEST(metrics_a_disk_with_a_wwn_keeps_its_series_under_another_name)
{
	struct metrics m;
	struct block_notification b = rec(makedev(8, 48), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_READ, 0, 1);
	struct test_disk *d = disk_add(makedev(8, 48), "sdd", 6);
	char *t;

	d->wwn = "naa.5000c500a1b2c3d5";
	d->serial = "S1";
	ASSERT_EQ(metrics_init(&m, 4, 60), 0);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), SEC, SEC);
	/* Unplugged, found again as sde with another number and diskseq. */
	disk_remove(makedev(8, 48));
	d = disk_add(makedev(8, 64), "sde", 7);
	d->wwn = "naa.5000c500a1b2c3d5";
	d->serial = "S1";
	ASSERT_EQ(metrics_expire(&m, 2 * SEC, test_current, NULL), 0);
	b.dev = makedev(8, 64);
	metrics_count(&m, &b, sizeof(b), ident(b.dev), 3 * SEC, 3 * SEC);
	ASSERT_EQ(m.nr_devices, 1);
	t = exposition(&m);
	/* One series, labelled as the disk was first seen. */
	ASSERT_CONTAINS(t, "device=\"sdd\",devnum=\"8:48\",diskseq=\"6\",serial=\"S1\","
			"wwn=\"naa.5000c500a1b2c3d5\",model=\"\",subtype=\"io\",op=\"read\"} 2\n");
	ASSERT_LACKS(t, "sde");
	free(t);
	metrics_free(&m);
	disk_remove(makedev(8, 64));
}

/* What journald would get: the entries' fields, as strings. */
static struct sent {
	unsigned int nr, fail_next, fail_summaries;
	char fields[64][JOURNAL_FIELDS_MAX + 1][256];
	unsigned int nr_fields[64];
} sent;

static int capture(void *userdata, const struct iovec *iov, int n)
{
	struct sent *s = userdata;
	bool summary = false;
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(iov[i].iov_base, "MESSAGE_ID=" JOURNAL_MESSAGE_ID_SUMMARY))
			summary = true;
	if (s->fail_next || (summary && s->fail_summaries)) {
		if (s->fail_next)
			s->fail_next--;
		return -EAGAIN;
	}
	if (s->nr == 64)
		return 0;
	for (i = 0; i < n && i <= JOURNAL_FIELDS_MAX; i++)
		snprintf(s->fields[s->nr][i], 256, "%.*s", (int)iov[i].iov_len, (char *)iov[i].iov_base);
	s->nr_fields[s->nr++] = n;
	return 0;
}

/* The value of FIELD in entry e, or NULL. */
static const char *field_of(unsigned int e, const char *name)
{
	size_t len = strlen(name);
	unsigned int i;

	for (i = 0; i < sent.nr_fields[e]; i++)
		if (!strncmp(sent.fields[e][i], name, len) && sent.fields[e][i][len] == '=')
			return sent.fields[e][i] + len + 1;
	return NULL;
}

static __u64 summarised_in(unsigned int from)
{
	__u64 n = 0;
	unsigned int e;

	for (e = from; e < sent.nr; e++)
		if (field_of(e, "BLKNOTIFY_SUMMARY_COUNT"))
			n += strtoull(field_of(e, "BLKNOTIFY_SUMMARY_COUNT"), NULL, 10);
	return n;
}

TEST(journal_entry_has_the_documented_fields)
{
	struct journal j;
	struct block_notification b = rec(makedev(8, 0), NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM,
					  BLOCK_NOTIFY_OP_READ, 2048, 8);

	memset(&sent, 0, sizeof(sent));
	disk_add(makedev(8, 0), "sda", 3);
	ASSERT_EQ(journal_init(&j, 1000, 5, 4, capture, &sent), 0);
	b.error = -ENODATA;
	journal_record(&j, &b, sizeof(b), ident(b.dev), SEC);
	ASSERT_EQ(sent.nr, 1);
	ASSERT_STREQ(field_of(0, "MESSAGE_ID"), JOURNAL_MESSAGE_ID_ERROR);
	ASSERT_STREQ(field_of(0, "PRIORITY"), "2");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_DEVICE"), "sda");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_DEVNUM"), "8:0");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_KERNEL_DEVICE"), "b8:0");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_SUBTYPE"), "medium");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_OP"), "read");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_SECTOR"), "2048");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_NR_SECTORS"), "8");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_ERRNO"), "61");
	ASSERT_STREQ(field_of(0, "MESSAGE"), "sda: medium error on read, sector 2048 (+8), ENODATA");
	ASSERT_EQ(j.entries, 1);
	journal_free(&j);
}

TEST(journal_identity_fields_when_the_disk_has_them)
{
	struct journal j;
	struct block_notification b = rec(makedev(8, 80), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_READ, 1, 1);
	struct test_disk *d = disk_add(makedev(8, 80), "sdf", 9);

	memset(&sent, 0, sizeof(sent));
	d->serial = "ST4000\nPRIORITY=0";	/* a device's own string: no field injection */
	d->wwn = "0x5000c500a1b2c3d6";
	d->by_id = "/dev/disk/by-id/ata-ST4000_Z1";
	ASSERT_EQ(journal_init(&j, 1000, 5, 4, capture, &sent), 0);
	journal_record(&j, &b, sizeof(b), ident(b.dev), SEC);
	ASSERT_EQ(sent.nr, 1);
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_SERIAL"), "ST4000?PRIORITY=0");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_WWN"), "0x5000c500a1b2c3d6");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_BY_ID"), "/dev/disk/by-id/ata-ST4000_Z1");
	ASSERT_STREQ(field_of(0, "PRIORITY"), "3");
	/* A loop device has none: no empty fields. */
	disk_add(makedev(7, 9), "loop9", 10);
	b.dev = makedev(7, 9);
	journal_record(&j, &b, sizeof(b), ident(b.dev), SEC);
	ASSERT_EQ(sent.nr, 2);
	ASSERT_STREQ(field_of(1, "BLKNOTIFY_DEVICE"), "loop9");
	ASSERT_TRUE(field_of(1, "BLKNOTIFY_SERIAL") == NULL);
	ASSERT_TRUE(field_of(1, "BLKNOTIFY_WWN") == NULL);
	ASSERT_TRUE(field_of(1, "BLKNOTIFY_BY_ID") == NULL);
	journal_free(&j);
	disk_remove(makedev(8, 80));
	disk_remove(makedev(7, 9));
}

TEST(journal_priority_by_subtype)
{
	ASSERT_EQ(journal_priority(NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM), LOG_CRIT);
	ASSERT_EQ(journal_priority(NOTIFY_BLOCK_ERROR_CRITICAL_TARGET), LOG_ERR);
	ASSERT_EQ(journal_priority(NOTIFY_BLOCK_ERROR_PROTECTION), LOG_ERR);
	ASSERT_EQ(journal_priority(NOTIFY_BLOCK_ERROR_IO), LOG_ERR);
	ASSERT_EQ(journal_priority(NOTIFY_BLOCK_ERROR_TIMEOUT), LOG_WARNING);
	ASSERT_EQ(journal_priority(NOTIFY_BLOCK_ERROR_DEVICE_RESOURCE), LOG_WARNING);
	ASSERT_EQ(journal_priority(200), LOG_ERR);
}

TEST(journal_storm_is_entries_plus_an_exact_summary)
{
	struct journal j;
	struct block_notification b;
	unsigned int i;

	memset(&sent, 0, sizeof(sent));
	ASSERT_EQ(journal_init(&j, 1000, 3, 4, capture, &sent), 0);
	/* 1000 errors within one window: 3 entries, 997 counted. */
	for (i = 0; i < 1000; i++) {
		b = rec(makedev(8, 0), i % 2 ? NOTIFY_BLOCK_ERROR_IO : NOTIFY_BLOCK_ERROR_CRITICAL_MEDIUM,
			BLOCK_NOTIFY_OP_READ, 1000 + i, 8);
		journal_record(&j, &b, sizeof(b), ident(b.dev), SEC + i * 1000);
	}
	ASSERT_EQ(sent.nr, 3);
	/* Not yet: the window is open, and its end is when to come back. */
	ASSERT_EQ(journal_flush(&j, SEC + 999000, false), 2 * SEC);
	ASSERT_EQ(sent.nr, 3);
	ASSERT_EQ(journal_flush(&j, 2 * SEC, false), 0);
	ASSERT_EQ(sent.nr, 4);
	ASSERT_STREQ(field_of(3, "MESSAGE_ID"), JOURNAL_MESSAGE_ID_SUMMARY);
	ASSERT_STREQ(field_of(3, "BLKNOTIFY_SUMMARY_COUNT"), "997");
	/* Errors 3..999: even ones medium (498), odd ones io (499). */
	ASSERT_STREQ(field_of(3, "BLKNOTIFY_COUNT_MEDIUM_READ"), "498");
	ASSERT_STREQ(field_of(3, "BLKNOTIFY_COUNT_IO_READ"), "499");
	ASSERT_STREQ(field_of(3, "BLKNOTIFY_SECTOR_MIN"), "1003");
	ASSERT_STREQ(field_of(3, "BLKNOTIFY_SECTOR_MAX"), "2006");
	ASSERT_STREQ(field_of(3, "PRIORITY"), "2");	/* the worst in it: medium */
	ASSERT_STREQ(field_of(3, "MESSAGE"), "sda: 997 more errors in 1 s: 499 io read sectors "
		     "1003-2006, 498 medium read sectors 1004-2005");
	ASSERT_EQ(j.entries + j.summarised, 1000);
	ASSERT_EQ(j.summaries, 1);
	/* A new window: entries again. */
	journal_record(&j, &b, sizeof(b), ident(b.dev), 3 * SEC);
	ASSERT_EQ(sent.nr, 5);
	ASSERT_STREQ(field_of(4, "MESSAGE_ID"), JOURNAL_MESSAGE_ID_ERROR);
	journal_free(&j);
}

TEST(journal_many_pairs_and_disks_still_count_every_error)
{
	struct journal j;
	struct block_notification b;
	unsigned int i, n = 0;

	memset(&sent, 0, sizeof(sent));
	/* One disk slot for three disks, no entries at all: everything in summaries. */
	ASSERT_EQ(journal_init(&j, 1000, 0, 1, capture, &sent), 0);
	for (i = 0; i < 3 * 17 * 3; i++, n++) {
		b = rec(makedev(8, 16 * (i % 3)), i / 3 % 17 + 1, i / 51, i, 1);
		journal_record(&j, &b, sizeof(b), ident(b.dev), SEC);
	}
	journal_flush(&j, SEC, true);
	ASSERT_EQ(sent.nr, 2);	/* the disk with a slot, and "other disks" */
	ASSERT_EQ(summarised_in(0), n);
	ASSERT_EQ(j.summarised, n);
	ASSERT_STREQ(field_of(1, "BLKNOTIFY_DEVICE"), "other disks");
	/* 51 pairs on the first disk: 16 of their own, the rest together. */
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_COUNT_OTHER_OTHER"), "35");
	journal_free(&j);
}

TEST(journal_refused_entries_go_to_the_summary)
{
	struct journal j;
	struct block_notification b = rec(makedev(8, 0), NOTIFY_BLOCK_ERROR_IO, BLOCK_NOTIFY_OP_WRITE, 1, 1);
	unsigned int i;

	memset(&sent, 0, sizeof(sent));
	ASSERT_EQ(journal_init(&j, 1000, 5, 4, capture, &sent), 0);
	sent.fail_next = 2;
	for (i = 0; i < 5; i++)
		journal_record(&j, &b, sizeof(b), ident(b.dev), SEC);
	ASSERT_EQ(j.entries, 3);
	journal_flush(&j, 2 * SEC, false);
	ASSERT_EQ(j.summarised, 2);
	/* A summary journald refuses is tried again; its window goes on meanwhile. */
	sent.fail_summaries = 1;
	for (i = 0; i < 10; i++)
		journal_record(&j, &b, sizeof(b), ident(b.dev), 3 * SEC);
	ASSERT_EQ(j.entries, 8);
	ASSERT_EQ(journal_flush(&j, 4 * SEC, false), 4 * SEC + JOURNAL_RETRY_NS);
	journal_record(&j, &b, sizeof(b), ident(b.dev), 4 * SEC + 1);	/* no entry: the window went on */
	ASSERT_EQ(j.entries, 8);
	ASSERT_EQ(j.failed, 0);
	sent.fail_summaries = 0;
	ASSERT_EQ(journal_flush(&j, 4 * SEC + JOURNAL_RETRY_NS, false), 0);
	ASSERT_EQ(j.summarised, 2 + 6);
	ASSERT_STREQ(field_of(sent.nr - 1, "BLKNOTIFY_SUMMARY_COUNT"), "6");
	ASSERT_STREQ(field_of(sent.nr - 1, "BLKNOTIFY_WINDOW_USEC"), "1500000");
	/* Refused at the final flush: counted as failed, the metric tells. */
	sent.fail_summaries = 1;
	for (i = 0; i < 10; i++)
		journal_record(&j, &b, sizeof(b), ident(b.dev), 6 * SEC);
	journal_flush(&j, 6 * SEC, true);
	ASSERT_EQ(j.failed, 5);
	ASSERT_EQ(j.entries + j.summarised + j.failed, 26);
	journal_free(&j);
}

TEST(outputs_config_keys)
{
	struct outputs_config c;
	struct sockaddr_storage ss;
	socklen_t len;
	char err[512];

	outputs_config_defaults(&c);
	ASSERT_FALSE(outputs_config_any(&c));
	ASSERT_EQ(outputs_config_set(&c, "socket", "/x", 1, err, sizeof(err)), -ENOENT);
	ASSERT_EQ(outputs_config_set(&c, "metrics_listen", "127.0.0.1:9713", 1, err, sizeof(err)), 0);
	ASSERT_STREQ(c.metrics_listen, "127.0.0.1:9713");
	ASSERT_TRUE(outputs_config_any(&c));
	ASSERT_EQ(outputs_config_set(&c, "metrics_listen", "[::1]:1", 2, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "metrics_listen is set twice (first on line 1)");
	ASSERT_EQ(outputs_config_set(&c, "journal_burst", "-1", 3, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "journal_burst: \"-1\" is not a number (expected 0..100000)");
	ASSERT_EQ(outputs_config_set(&c, "journal_window_ms", "99", 3, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "journal_window_ms: 99 is out of range (expected 100..3600000)");
	ASSERT_EQ(outputs_config_set(&c, "journal", "maybe", 4, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "metrics_textfile_dir", "rel/dir", 5, err, sizeof(err)), -EINVAL);

	/* One number parser for the whole file: the same words as config.c's keys. */
	ASSERT_EQ(outputs_config_set(&c, "metrics_max_devices", "4x", 6, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "metrics_max_devices: \"4x\" is not a number (expected 1..4096)");

	ASSERT_EQ(outputs_config_set(&c, "outputs_devices", "sda 8:16,/dev/disk/by-id/ata-X nvme0n1",
				     7, err, sizeof(err)), 0);
	ASSERT_STREQ(c.devices, "sda 8:16,/dev/disk/by-id/ata-X nvme0n1");
	outputs_config_defaults(&c);
	ASSERT_EQ(outputs_config_set(&c, "outputs_devices", "sda ../x", 1, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "outputs_devices: \"../x\" is not a disk (expected a kernel name like sda, "
		     "MAJ:MIN like 8:16, or a path under /dev/; or \"all\")");
	ASSERT_EQ(outputs_config_set(&c, "outputs_devices", "8:16x", 2, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "outputs_devices", "/etc/passwd", 3, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "outputs_devices", "a b c d e f g h i", 4, err, sizeof(err)),
		  -EINVAL);
	ASSERT_STREQ(err, "outputs_devices: more than 8 disks (name at most 8, or \"all\")");
	ASSERT_EQ(outputs_config_set(&c, "outputs_devices", "all", 5, err, sizeof(err)), 0);
	ASSERT_STREQ(c.devices, "");
	{
		__u64 dev;

		ASSERT_EQ(outputs_device_resolve("4095:1048575", &dev), -ENODEV);
		ASSERT_EQ(outputs_device_resolve("no-such-disk", &dev), -ENODEV);
		ASSERT_EQ(outputs_device_resolve("/dev/null", &dev), -ENODEV);
		ASSERT_EQ(outputs_device_resolve("x/y", &dev), -EINVAL);
	}

	ASSERT_EQ(outputs_parse_listen("[::1]:9713", &ss, &len), 0);
	ASSERT_EQ(ss.ss_family, AF_INET6);
	ASSERT_EQ(outputs_parse_listen("0.0.0.0:80", &ss, &len), 0);
	ASSERT_EQ(ss.ss_family, AF_INET);
	ASSERT_EQ(outputs_parse_listen("localhost:9713", &ss, &len), -EINVAL);
	ASSERT_EQ(outputs_parse_listen("127.0.0.1:0", &ss, &len), -EINVAL);
	ASSERT_EQ(outputs_parse_listen("127.0.0.1:65536", &ss, &len), -EINVAL);
	ASSERT_EQ(outputs_parse_listen("127.0.0.1:+80", &ss, &len), -EINVAL);
	ASSERT_EQ(outputs_parse_listen("::1:9713", &ss, &len), -EINVAL);
	ASSERT_EQ(outputs_parse_listen("[::1:9713", &ss, &len), -EINVAL);
	ASSERT_EQ(outputs_parse_listen(":9713", &ss, &len), -EINVAL);
}

TEST(textfile_is_replaced_whole)
{
	char path[512], buf[64];
	FILE *f;
	size_t n;

	ASSERT_EQ(metrics_textfile_write(tmpdir, "a 1\n", 4), 0);
	ASSERT_EQ(metrics_textfile_write(tmpdir, "b 2\n", 4), 0);
	snprintf(path, sizeof(path), "%s/" METRICS_TEXTFILE_NAME, tmpdir);
	f = fopen(path, "r");
	ASSERT_TRUE(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	ASSERT_STREQ(buf, "b 2\n");
	snprintf(path, sizeof(path), "%s/." METRICS_TEXTFILE_NAME ".tmp", tmpdir);
	ASSERT_EQ(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/nonexistent", tmpdir);
	ASSERT_EQ(metrics_textfile_write(path, "x", 1), -ENOENT);
}

/* Lifecycle records are not errors: a counter per subtype, a journal entry each. */
TEST(lifecycle_records_are_counted_apart_from_errors)
{
	struct block_notification b = rec(makedev(8, 16), NOTIFY_BLOCK_CAPACITY_CHANGE, 0, 1 << 21, 0);
	struct metrics m;
	struct journal j;
	char *t;

	b.watch.info = BLOCK_NOTIFICATION_SIZE_V2;
	b.error = 0;
	b.old_capacity = 32768;
	ASSERT_EQ(metrics_init(&m, 4, 3600), 0);
	metrics_lifecycle(&m, NOTIFY_BLOCK_CAPACITY_CHANGE);
	metrics_lifecycle(&m, NOTIFY_BLOCK_DEVICE_REMOVED);
	metrics_lifecycle(&m, NOTIFY_BLOCK_DEVICE_REMOVED);
	metrics_lifecycle(&m, NOTIFY_BLOCK_ERROR_IO);	/* not one: ignored */
	t = exposition(&m);
	ASSERT_CONTAINS(t, "blknotify_lifecycle_events_total{subtype=\"capacity\"} 1\n");
	ASSERT_CONTAINS(t, "blknotify_lifecycle_events_total{subtype=\"removed\"} 2\n");
	ASSERT_CONTAINS(t, "blknotify_lifecycle_events_total{subtype=\"added\"} 0\n");
	ASSERT_LACKS(t, "blknotify_errors_total{");
	ASSERT_EQ(m.errors, 0);
	free(t);
	metrics_free(&m);

	memset(&sent, 0, sizeof(sent));
	disk_add(makedev(8, 16), "sdb", 4);
	ASSERT_EQ(journal_init(&j, 1000, 5, 4, capture, &sent), 0);
	journal_lifecycle(&j, &b, sizeof(b), ident(b.dev));
	ASSERT_EQ(sent.nr, 1);
	ASSERT_STREQ(field_of(0, "MESSAGE_ID"), JOURNAL_MESSAGE_ID_LIFECYCLE);
	ASSERT_STREQ(field_of(0, "PRIORITY"), "5");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_DEVICE"), "sdb");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_SUBTYPE"), "capacity");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_CAPACITY"), "2097152");
	ASSERT_STREQ(field_of(0, "BLKNOTIFY_OLD_CAPACITY"), "32768");
	ASSERT_STREQ(field_of(0, "MESSAGE"), "sdb: capacity 16777216 -> 1073741824 bytes");
	ASSERT_EQ(j.entries, 0);		/* not an error entry */
	ASSERT_EQ(j.lifecycle_entries, 1);
	b.watch.subtype = NOTIFY_BLOCK_DEVICE_DEAD;
	journal_lifecycle(&j, &b, sizeof(b), ident(b.dev));
	ASSERT_STREQ(field_of(1, "PRIORITY"), "2");
	ASSERT_STREQ(field_of(1, "MESSAGE"), "sdb: dead");
	ASSERT_TRUE(field_of(1, "BLKNOTIFY_CAPACITY") == NULL);
	journal_free(&j);
}

TEST(history_config_keys)
{
	struct outputs_config c;
	char err[512];

	outputs_config_defaults(&c);
	ASSERT_EQ(c.history_max_bytes, 256ULL << 20);
	ASSERT_EQ(c.history_batch, 1024);
	ASSERT_EQ(outputs_config_set(&c, "history_path", "none", 1, err, sizeof(err)), 0);
	ASSERT_FALSE(outputs_config_any(&c));
	outputs_config_defaults(&c);
	ASSERT_EQ(outputs_config_set(&c, "history_path", "rel.db", 1, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "history_path", "/var/lib/blknotify/history.db", 1, err,
				     sizeof(err)), 0);
	ASSERT_TRUE(outputs_config_any(&c));
	ASSERT_EQ(outputs_config_set(&c, "history_max_bytes", "1G", 2, err, sizeof(err)), 0);
	ASSERT_EQ(c.history_max_bytes, 1ULL << 30);
	outputs_config_defaults(&c);
	ASSERT_EQ(outputs_config_set(&c, "history_max_bytes", "1048576", 2, err, sizeof(err)), 0);
	ASSERT_EQ(c.history_max_bytes, 1048576);
	outputs_config_defaults(&c);
	ASSERT_EQ(outputs_config_set(&c, "history_max_bytes", "1025T", 2, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "history_max_bytes: \"1025T\" is not a size from 1M to 1024T (bytes, or a "
		     "number with K, M, G or T)");
	ASSERT_EQ(outputs_config_set(&c, "history_max_bytes", "1023K", 2, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "history_max_bytes", "1MB", 2, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "history_max_bytes", "-1M", 2, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "history_max_bytes", "99999999999999999999", 2, err,
				     sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "history_max_bytes", "17592186044416K", 2, err,
				     sizeof(err)), -EINVAL);	/* 2^44 K: past 1024T */
	ASSERT_EQ(outputs_config_set(&c, "history_batch", "0", 3, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "history_batch: 0 is out of range (expected 1..65536)");
	ASSERT_EQ(outputs_config_set(&c, "history_commit_ms", "9", 3, err, sizeof(err)), -EINVAL);
	ASSERT_EQ(outputs_config_set(&c, "history_max_age_s", "0", 4, err, sizeof(err)), 0);
	ASSERT_EQ(outputs_config_set(&c, "history_max_age_s", "1", 5, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "history_max_age_s is set twice (first on line 4)");
	ASSERT_EQ(outputs_config_set(&c, "history_queue", "65536", 6, err, sizeof(err)), 0);
}
