// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Error counters and their text exposition (metrics.h).  Prometheus's
 * conventions: counters end in _total, every family has HELP and TYPE, label
 * values are escaped, families are written whole and in a fixed order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <blknotify/blknotify.h>
#include "disk-info.h"
#include "handlers.h"
#include "metrics.h"

#ifndef BLKNOTIFYD_VERSION
#define BLKNOTIFYD_VERSION "unknown"
#endif

int metrics_init(struct metrics *m, unsigned int max_devices, unsigned int expiry_s)
{
	memset(m, 0, sizeof(*m));
	m->devices = calloc(max_devices, sizeof(*m->devices));
	if (!m->devices)
		return -ENOMEM;
	m->max_devices = max_devices;
	m->expiry_s = expiry_s;
	return 0;
}

void metrics_free(struct metrics *m)
{
	free(m->devices);
	m->devices = NULL;
	m->nr_devices = 0;
}

/* The disk's entry: by WWN when it has one, else by number and diskseq. */
static struct metrics_device *device_get(struct metrics *m, const struct disk_identity *id)
{
	struct metrics_device *d;
	unsigned int i;
	char buf[16];

	for (i = 0; i < m->nr_devices; i++) {
		d = &m->devices[i];
		if (id->wwn[0] ? !strcmp(d->wwn, id->wwn) :
		    !d->wwn[0] && d->dev == id->dev && d->diskseq == id->diskseq && !d->stale) {
			d->stale = false;	/* a disk with a WWN may come back */
			return d;
		}
	}
	if (m->nr_devices == m->max_devices)
		return NULL;
	d = &m->devices[m->nr_devices++];
	memset(d, 0, sizeof(*d));
	d->dev = id->dev;
	d->diskseq = id->diskseq;
	disk_identity_copy(d->name, sizeof(d->name), disk_identity_name(id, buf, sizeof(buf)));
	disk_identity_copy(d->serial, sizeof(d->serial), id->serial);
	disk_identity_copy(d->wwn, sizeof(d->wwn), id->wwn);
	disk_identity_copy(d->model, sizeof(d->model), id->model);
	return d;
}

void metrics_count(struct metrics *m, const struct block_notification *b, size_t len,
		   const struct disk_identity *id, __u64 now_mono, __u64 now_real)
{
	__u16 op = len >= BLOCK_NOTIFICATION_SIZE_V1 ? b->op : BLOCK_NOTIFY_OP_OTHER;
	bool slow = b->watch.subtype == NOTIFY_BLOCK_SLOW;	/* not an error */
	struct metrics_device *d;
	unsigned int i;

	if (slow)
		m->slow++;
	else
		m->errors++;
	d = device_get(m, id);
	if (!d) {
		m->unlabelled++;
		return;
	}
	d->last_seen_ns = now_mono;
	if (!slow)
		d->last_error_ns = now_real;
	/* A record's time is CLOCK_MONOTONIC: shift it by the clocks' difference. */
	if (!slow && len >= BLOCK_NOTIFICATION_SIZE_V1 && b->time_ns && b->time_ns <= now_mono)
		d->last_error_ns = now_real - (now_mono - b->time_ns);
	for (i = 0; i < d->nr_series; i++)
		if (d->series[i].subtype == b->watch.subtype && d->series[i].op == op)
			break;
	if (i == d->nr_series) {
		if (i == METRICS_SERIES_PER_DEVICE) {
			m->unlabelled++;
			return;
		}
		d->series[i].subtype = b->watch.subtype;
		d->series[i].op = op;
		d->nr_series++;
	}
	d->series[i].count++;
}

unsigned int metrics_expire(struct metrics *m, __u64 now_mono, metrics_current_fn current,
			    void *userdata)
{
	unsigned int i = 0, n = 0;

	while (i < m->nr_devices) {
		struct metrics_device *d = &m->devices[i];

		/* Gone, or another disk under the same number: new errors go to a new entry. */
		if (!current(userdata, d->dev, d->diskseq))
			d->stale = true;
		if (d->stale && now_mono - d->last_seen_ns >= (__u64)m->expiry_s * 1000000000ULL) {
			*d = m->devices[--m->nr_devices];
			m->expired++;
			n++;
			continue;
		}
		i++;
	}
	return n;
}

/* A label value, escaped as the exposition format wants (\\, \", \n). */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void device_labels(FILE *f, const struct metrics_device *d)
{
	fputs("device=\"", f);
	put_label(f, d->name);
	fprintf(f, "\",devnum=\"%u:%u\",diskseq=\"%llu\",serial=\"", major(d->dev), minor(d->dev),
		(unsigned long long)d->diskseq);
	put_label(f, d->serial);
	fputs("\",wwn=\"", f);
	put_label(f, d->wwn);
	fputs("\",model=\"", f);
	put_label(f, d->model);
	fputc('"', f);
}

static void write_errors(const struct metrics *m, FILE *f)
{
	unsigned int i, j;
	char subtype[16], op[16];

	family(f, "blknotify_errors_total", "counter",
	       "Block-layer I/O errors, by disk, subtype and operation.");
	for (i = 0; i < m->nr_devices; i++) {
		const struct metrics_device *d = &m->devices[i];

		for (j = 0; j < d->nr_series; j++) {
			const struct metrics_series *s = &d->series[j];

			if (s->subtype == NOTIFY_BLOCK_SLOW)
				continue;	/* write_slow() */
			fputs("blknotify_errors_total{", f);
			device_labels(f, d);
			fprintf(f, ",subtype=\"%s\",op=\"%s\"} %llu\n",
				name_or_number(blknotify_subtype_name(s->subtype), s->subtype,
					       subtype, sizeof(subtype)),
				name_or_number(blknotify_op_name(s->op), s->op, op, sizeof(op)),
				(unsigned long long)s->count);
		}
	}
	family(f, "blknotify_errors_unlabelled_total", "counter",
	       "Errors counted without device labels: the device table or a device's series were full.");
	fprintf(f, "blknotify_errors_unlabelled_total %llu\n", (unsigned long long)m->unlabelled);
	family(f, "blknotify_last_error_timestamp_seconds", "gauge",
	       "Time of the last error on the disk, seconds since the epoch.");
	for (i = 0; i < m->nr_devices; i++) {
		const struct metrics_device *d = &m->devices[i];

		if (!d->last_error_ns)
			continue;	/* only slow I/O so far */
		fputs("blknotify_last_error_timestamp_seconds{", f);
		device_labels(f, d);
		fprintf(f, "} %llu.%03llu\n", (unsigned long long)(d->last_error_ns / 1000000000ULL),
			(unsigned long long)(d->last_error_ns % 1000000000ULL / 1000000));
	}
	family(f, "blknotify_metrics_devices", "gauge", "Disks with error series now.");
	fprintf(f, "blknotify_metrics_devices %u\n", m->nr_devices);
	family(f, "blknotify_metrics_devices_expired_total", "counter",
	       "Disks whose series were dropped: gone or replaced, and no error for the expiry time.");
	fprintf(f, "blknotify_metrics_devices_expired_total %llu\n", (unsigned long long)m->expired);
}

/* Slow I/O records (slow_io_threshold_ms, slow_io_relative): kept as series of their own. */
static void write_slow(const struct metrics *m, FILE *f)
{
	unsigned int i, j;
	char op[16];

	family(f, "blknotify_slow_io_total", "counter",
	       "Requests that completed without error but late (slow_io_threshold_ms, "
	       "slow_io_relative), by disk and operation.");
	for (i = 0; i < m->nr_devices; i++) {
		const struct metrics_device *d = &m->devices[i];

		for (j = 0; j < d->nr_series; j++) {
			const struct metrics_series *s = &d->series[j];

			if (s->subtype != NOTIFY_BLOCK_SLOW)
				continue;
			fputs("blknotify_slow_io_total{", f);
			device_labels(f, d);
			fprintf(f, ",op=\"%s\"} %llu\n",
				name_or_number(blknotify_op_name(s->op), s->op, op, sizeof(op)),
				(unsigned long long)s->count);
		}
	}
}

static void counter(FILE *f, const char *name, const char *help, __u64 v)
{
	family(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* The handlers' counters (handlers.h, docs/handlers.md). */
static void write_handlers(const struct handlers_stats *h, FILE *f)
{
	counter(f, "blknotify_handler_events_total",
		"Records, threshold and loss events given to the handlers.", h->events);
	counter(f, "blknotify_handler_runs_total", "Handler runs started.", h->runs);
	counter(f, "blknotify_handler_events_coalesced_total",
		"Events a handler run reported for a later event (rate limit, full queue).",
		h->coalesced);
	counter(f, "blknotify_handler_queue_full_total",
		"Events that found the running handlers and their queue full (reported later).",
		h->queue_full);
	counter(f, "blknotify_handler_failed_total",
		"Handler runs that failed: non-zero exit, a signal, a timeout, or no start.", h->failed);
	counter(f, "blknotify_handler_timeouts_total", "Handler runs killed at their timeout.",
		h->timeouts);
	counter(f, "blknotify_handler_events_lost_total", "Events no handler run will report.",
		h->lost);
	counter(f, "blknotify_handler_output_truncated_bytes_total",
		"Bytes of handler output not logged (handlers_output_max).", h->output_truncated);
	counter(f, "blknotify_handler_rate_keys_evicted_total",
		"Rate-limit keys forgotten to make room (handlers_rate_keys).", h->rate_evicted);
	counter(f, "blknotify_thresholds_fired_total", "Thresholds reached.", h->thresholds_fired);
}

static void write_daemon(const struct metrics_daemon_stats *s, FILE *f)
{
	family(f, "blknotify_build_info", "gauge", "blknotifyd's version; always 1.");
	fprintf(f, "blknotify_build_info{version=\"%s\"} 1\n", BLKNOTIFYD_VERSION);
	family(f, "blknotify_source_info", "gauge", "The source blknotifyd reads; always 1.");
	fputs("blknotify_source_info{source=\"", f);
	put_label(f, s->source ?: "none");
	fputs("\"} 1\n", f);
	counter(f, "blknotify_records_total", "Error records the source delivered.", s->upstream_records);
	family(f, "blknotify_records_lost_total", "counter",
	       "Records lost, by where: the source's queue, or a client's queue that was full.");
	fprintf(f, "blknotify_records_lost_total{reason=\"upstream\"} %llu\n"
		"blknotify_records_lost_total{reason=\"client_queue\"} %llu\n",
		(unsigned long long)s->upstream_lost, (unsigned long long)s->client_queue_lost);
	counter(f, "blknotify_records_delivered_total", "Records sent to clients.", s->delivered);
	family(f, "blknotify_clients_connected", "gauge", "Clients connected now.");
	fprintf(f, "blknotify_clients_connected %u\n", s->clients_connected);
	counter(f, "blknotify_clients_refused_total", "Connections refused (max_clients reached).",
		s->clients_refused);
	family(f, "blknotify_journal_entries_total", "counter",
	       "Journal entries written: one per error, or one summary of many.");
	fprintf(f, "blknotify_journal_entries_total{kind=\"error\"} %llu\n"
		"blknotify_journal_entries_total{kind=\"summary\"} %llu\n"
		"blknotify_journal_entries_total{kind=\"lifecycle\"} %llu\n",
		(unsigned long long)s->journal_entries, (unsigned long long)s->journal_summaries,
		(unsigned long long)s->journal_lifecycle);
	counter(f, "blknotify_journal_errors_summarised_total",
		"Errors counted in a journal summary rather than an entry of their own.",
		s->journal_summarised);
	counter(f, "blknotify_journal_failed_total", "Journal entries journald did not take.",
		s->journal_failed);
	counter(f, "blknotify_textfile_failed_total", "Textfile writes that failed.", s->textfile_failed);
	if (s->handlers)
		write_handlers(s->handlers, f);
	if (s->history_on) {
		family(f, "blknotify_history_rows_total", "counter",
		       "Rows committed to the history, records and losses.");
		fprintf(f, "blknotify_history_rows_total{kind=\"record\"} %llu\n"
			"blknotify_history_rows_total{kind=\"loss\"} %llu\n",
			(unsigned long long)s->history_rows, (unsigned long long)s->history_loss_rows);
		counter(f, "blknotify_history_dropped_total",
			"Records the history's queue had no room for (SQLite busy or slow); "
			"each drop is also a loss row.", s->history_dropped);
		counter(f, "blknotify_history_trimmed_total", "History rows deleted by retention.",
			s->history_trimmed);
		counter(f, "blknotify_history_commits_total", "History transactions committed.",
			s->history_commits);
		counter(f, "blknotify_history_commit_failed_total",
			"History transactions that failed (rows wait for the next).",
			s->history_commit_failed);
	}
}

void metrics_lifecycle(struct metrics *m, unsigned int subtype)
{
	if (subtype >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST && subtype <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST)
		m->lifecycle[subtype - NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST]++;
}

/* Every named lifecycle subtype, 0 included, so that rate() works from the first one. */
static void write_lifecycle(const struct metrics *m, FILE *f)
{
	unsigned int i;

	family(f, "blknotify_lifecycle_events_total", "counter",
	       "Disks added, removed, marked dead, media and capacity changes, read-only set or "
	       "cleared, on the disks the outputs count.");
	for (i = 0; i < sizeof(m->lifecycle) / sizeof(m->lifecycle[0]); i++) {
		const char *name = blknotify_subtype_name(NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST + i);

		if (name)
			fprintf(f, "blknotify_lifecycle_events_total{subtype=\"%s\"} %llu\n", name,
				(unsigned long long)m->lifecycle[i]);
	}
}

int metrics_write(const struct metrics *m, const struct metrics_daemon_stats *s, FILE *f)
{
	write_errors(m, f);
	write_slow(m, f);
	write_lifecycle(m, f);
	write_daemon(s, f);
	return ferror(f) ? -EIO : 0;
}

char *metrics_format(const struct metrics *m, const struct metrics_daemon_stats *s, size_t *len)
{
	char *buf = NULL;
	FILE *f;
	int r;

	f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	r = metrics_write(m, s, f);
	if (fclose(f) || r < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
