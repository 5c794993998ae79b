// SPDX-License-Identifier: LGPL-2.1-or-later
/* The outputs' glue to the manager: start, records, their fds, stop (outputs.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <blknotify/device.h>
#include "handlers.h"
#include "history.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "metrics-serve.h"
#include "outputs.h"

#define EXPIRE_INTERVAL_S	60	/* how often gone disks are looked for */

struct outputs {
	bool metrics_on, http_on, journal_on, journal_armed;
	struct metrics metrics;
	struct metrics_server http;
	struct journal journal;
	int textfile_fd, expire_fd, journal_fd;
	int journal_sock;		/* to journald, opened at the first entry */
	bool textfile_failing;
	__u64 textfile_failed;
	struct blknotify_device_cache *cache;	/* the disks' identity */
	__u64 devs[OUTPUTS_DEVICES_MAX];	/* outputs_devices, resolved; none: all */
	unsigned int nr_devs;
	struct handlers *handlers;		/* NULL: handlers = no */
	bool history_on, history_armed;
	struct history history;
	int history_fd;			/* commit timer: history_commit_ms after the first row */
};

/* (now_ns(), the manager's, is CLOCK_MONOTONIC.) */
static __u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void stats(struct manager *m, struct metrics_daemon_stats *s)
{
	const struct outputs *o = m->outputs;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->source = blknotify_source_name(m->source);
	s->upstream_records = m->upstream_records;
	s->upstream_lost = m->upstream_lost;
	s->delivered = m->closed_delivered;
	s->client_queue_lost = m->closed_lost;
	for (i = 0; i < BND_CLIENTS_HARD_MAX; i++) {
		const struct client *c = m->clients[i];

		if (!c)
			continue;
		s->delivered += c->q.total_acked;
		s->client_queue_lost += c->q.total_lost;
	}
	s->clients_connected = m->nr_clients;
	s->clients_refused = m->clients_refused;
	s->journal_entries = o->journal.entries;
	s->journal_lifecycle = o->journal.lifecycle_entries;
	s->journal_summaries = o->journal.summaries;
	s->journal_summarised = o->journal.summarised;
	s->journal_failed = o->journal.failed;
	s->textfile_failed = o->textfile_failed;
	if (o->handlers) {
		static struct handlers_stats hs;

		handlers_get_stats(o->handlers, &hs);
		s->handlers = &hs;
	}
	if (o->history_on) {
		s->history_on = true;
		s->history_rows = o->history.stats.rows;
		s->history_loss_rows = o->history.stats.loss_rows;
		s->history_dropped = o->history.stats.dropped;
		s->history_trimmed = o->history.stats.trimmed;
		s->history_commits = o->history.stats.commits;
		s->history_commit_failed = o->history.stats.commit_failed;
	}
}

static char *render(void *userdata, size_t *len)
{
	struct manager *m = userdata;
	struct metrics_daemon_stats s;

	stats(m, &s);
	return metrics_format(&m->outputs->metrics, &s, len);
}

static void write_textfile(struct manager *m)
{
	struct outputs *o = m->outputs;
	size_t len;
	char *buf = render(m, &len);
	int r = buf ? metrics_textfile_write(m->cfg.outputs.metrics_textfile_dir, buf, len) : -ENOMEM;

	free(buf);
	if (r < 0) {
		o->textfile_failed++;
		if (!o->textfile_failing)
			log_err("cannot write %s/%s: %s (counted in blknotify_textfile_failed_total)",
				m->cfg.outputs.metrics_textfile_dir, METRICS_TEXTFILE_NAME, strerror(-r));
	} else if (o->textfile_failing) {
		log_info("%s/%s written again", m->cfg.outputs.metrics_textfile_dir, METRICS_TEXTFILE_NAME);
	}
	o->textfile_failing = r < 0;
}

/* A timerfd in the loop, every interval_ms (0: one-shot, armed later). */
static int add_timer(struct manager *m, unsigned int interval_ms, unsigned int tag)
{
	struct itimerspec its = {
		.it_value = { interval_ms / 1000, interval_ms % 1000 * 1000000 },
		.it_interval = { interval_ms / 1000, interval_ms % 1000 * 1000000 },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	if ((interval_ms && timerfd_settime(fd, 0, &its, NULL) < 0) ||
	    (r = manager_epoll_add(m, fd, EPOLLIN, tag)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int start_metrics(struct manager *m)
{
	const struct outputs_config *c = &m->cfg.outputs;
	struct outputs *o = m->outputs;
	char err[512];
	int r;

	r = metrics_init(&o->metrics, c->metrics_max_devices, c->metrics_device_expiry_s);
	if (r < 0)
		return r;
	o->metrics_on = true;
	if ((r = o->expire_fd = add_timer(m, EXPIRE_INTERVAL_S * 1000, TAG_OUTPUT_EXPIRE)) < 0)
		return r;
	if (c->metrics_listen[0]) {
		r = metrics_server_start(&o->http, c->metrics_listen, render, m, err, sizeof(err));
		if (r < 0) {
			log_err("%s", err);
			return r;
		}
		o->http_on = true;
		if ((r = manager_epoll_add(m, o->http.mhd_fd, EPOLLIN, TAG_OUTPUT_HTTP)) < 0 ||
		    (r = manager_epoll_add(m, o->http.timer_fd, EPOLLIN, TAG_OUTPUT_HTTP_TIMER)) < 0)
			return r;
		log_info("serving metrics on http://%s/metrics", c->metrics_listen);
	}
	if (c->metrics_textfile_dir[0]) {
		o->textfile_fd = add_timer(m, c->metrics_textfile_interval_ms, TAG_OUTPUT_TEXTFILE);
		if (o->textfile_fd < 0)
			return o->textfile_fd;
		write_textfile(m);
	}
	return 0;
}

/* outputs_devices: each word names a disk now, or the daemon does not start. */
static int resolve_devices(struct manager *m)
{
	struct outputs *o = m->outputs;
	char copy[sizeof(m->cfg.outputs.devices)], *save = NULL, *w;
	unsigned int i;
	__u64 dev;
	int r;

	snprintf(copy, sizeof(copy), "%s", m->cfg.outputs.devices);
	for (w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		r = outputs_device_resolve(w, &dev);
		if (r < 0) {
			log_err("outputs_devices: %s: %s (name a disk that exists, or set outputs_devices = all)",
				w, r == -ENODEV ? "no such block device" : "not a disk's name");
			return r;
		}
		for (i = 0; i < o->nr_devs && o->devs[i] != dev; i++)
			;
		if (i == o->nr_devs)
			o->devs[o->nr_devs++] = dev;
	}
	return 0;
}

bool outputs_wanted(const struct manager *m, __u64 *devs, unsigned int *nr, unsigned int max)
{
	const struct outputs *o = m->outputs;
	unsigned int i, k;

	if (!o)
		return false;
	if (!o->nr_devs)
		return true;
	for (i = 0; i < o->nr_devs; i++) {
		for (k = 0; k < *nr && devs[k] != o->devs[i]; k++)
			;
		if (k < *nr)
			continue;
		if (*nr == max)
			return true;
		devs[(*nr)++] = o->devs[i];
	}
	return false;
}

static bool counted(const struct outputs *o, __u64 dev)
{
	unsigned int i;

	for (i = 0; i < o->nr_devs; i++)
		if (o->devs[i] == dev)
			return true;
	return !o->nr_devs;
}

static bool current(void *userdata, __u64 dev, __u64 diskseq)
{
	return disk_identity_current(userdata, dev, diskseq);
}

static void history_kick(struct manager *m);

int outputs_start(struct manager *m)
{
	const struct outputs_config *c = &m->cfg.outputs;
	struct outputs *o;
	int r;

	if (!outputs_config_any(c))
		return 0;
	o = m->outputs = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->textfile_fd = o->expire_fd = o->journal_fd = o->journal_sock = o->history_fd = -1;
	if ((r = resolve_devices(m)) < 0)
		return r;
	r = blknotify_device_cache_new(&o->cache, &(struct blknotify_device_cache_opts){
		.sz = sizeof(struct blknotify_device_cache_opts),
		.flags = BLKNOTIFY_DEVICE_CACHE_NO_PROBE,	/* never read a failing disk */
		.max_entries = c->metrics_max_devices < BLKNOTIFY_DEVICE_CACHE_SIZE_MAX ?
			       c->metrics_max_devices : BLKNOTIFY_DEVICE_CACHE_SIZE_MAX });
	if (r < 0)
		return r;
	if (c->metrics_listen[0] || c->metrics_textfile_dir[0]) {
		r = start_metrics(m);
		if (r < 0)
			return r;
	}
	if (c->journal) {
		r = journal_init(&o->journal, c->journal_window_ms, c->journal_burst,
				 c->journal_max_devices, journal_send_native, &o->journal_sock);
		if (r < 0)
			return r;
		o->journal_on = true;
		if ((o->journal_fd = add_timer(m, 0, TAG_OUTPUT_JOURNAL)) < 0)
			return o->journal_fd;
	}
	if (c->handlers.enabled) {
		int fd;

		if ((r = handlers_new(&o->handlers, &c->handlers, o->cache, &fd)) < 0 ||
		    (r = manager_epoll_add(m, fd, EPOLLIN, TAG_OUTPUT_HANDLERS)) < 0)
			return r;
	}
	if (c->history_path[0]) {
		char err[1024];

		r = history_open(&o->history, c->history_path, m->source, c->history_max_age_s,
				 c->history_max_bytes, c->history_batch, c->history_queue, err, sizeof(err));
		if (r < 0) {
			log_err("%s", err);
			history_close(&o->history);
			return r;
		}
		o->history_on = true;
		if ((o->history_fd = add_timer(m, 0, TAG_OUTPUT_HISTORY)) < 0)
			return o->history_fd;
		log_info("storing the history in %s", c->history_path);
		history_kick(m);	/* retention, for what aged while no daemon ran */
	}
	return 0;
}

/* Commit when a batch is full, else history_commit_ms after the first row that waits. */
static void history_kick(struct manager *m)
{
	struct outputs *o = m->outputs;
	unsigned int ms = m->cfg.outputs.history_commit_ms;
	struct itimerspec its = { .it_value = { ms / 1000, ms % 1000 * 1000000 } };

	if (history_full(&o->history))
		history_commit(&o->history, false);
	if (!o->history_armed && history_pending(&o->history)) {
		o->history_armed = true;
		timerfd_settime(o->history_fd, 0, &its, NULL);
	}
}

static void journal_arm(struct outputs *o, __u64 deadline)
{
	struct itimerspec its = {
		.it_value = { deadline / 1000000000ULL, deadline % 1000000000ULL },
	};

	o->journal_armed = deadline != 0;
	timerfd_settime(o->journal_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void outputs_record(struct manager *m, const struct block_notification *b, size_t len)
{
	struct outputs *o = m->outputs;
	struct disk_identity id;
	__u64 mono;

	/* Other disks come when a client watches them: the outputs leave them alone. */
	if (!o || !counted(o, b->dev))
		return;
	mono = now_ns();
	disk_identity_get(o->cache, b->dev, &id);	/* a cache hit but for a disk's first */
	if (b->watch.subtype >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST &&
	    b->watch.subtype <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST) {
		/* Not errors: a counter each, and a journal entry each. */
		if (o->metrics_on)
			metrics_lifecycle(&o->metrics, b->watch.subtype);
		if (o->journal_on)
			journal_lifecycle(&o->journal, b, len, &id);
		disk_identity_put(&id);
		return;
	}
	if (o->metrics_on)
		metrics_count(&o->metrics, b, len, &id, mono, realtime_ns());
	/* The journal is for errors; slow I/O is counted in the metrics. */
	if (o->journal_on && b->watch.subtype != NOTIFY_BLOCK_SLOW) {
		journal_record(&o->journal, b, len, &id, mono);
		if (!o->journal_armed)
			journal_arm(o, journal_flush(&o->journal, mono, false));
	}
	handlers_record(o->handlers, b, len, id.diskseq, m->stopping);	/* stopping: kept for the next start */
	if (o->history_on) {
		history_record(&o->history, b, len, &id, realtime_ns());
		history_kick(m);
	}
	disk_identity_put(&id);
}

void outputs_loss(struct manager *m, __u64 nr)
{
	struct outputs *o = m->outputs;

	if (!o)
		return;
	handlers_loss(o->handlers, nr, m->stopping);
	if (o->history_on) {
		history_loss(&o->history, nr, realtime_ns());
		history_kick(m);
	}
}

void outputs_dispatch(struct manager *m, unsigned int tag)
{
	struct outputs *o = m->outputs;
	uint64_t n;

	if (!o)
		return;
	switch (tag) {
	case TAG_OUTPUT_HTTP:
	case TAG_OUTPUT_HTTP_TIMER:
		metrics_server_run(&o->http);
		return;
	case TAG_OUTPUT_TEXTFILE:
		(void)!read(o->textfile_fd, &n, sizeof(n));
		write_textfile(m);
		return;
	case TAG_OUTPUT_EXPIRE:
		(void)!read(o->expire_fd, &n, sizeof(n));
		metrics_expire(&o->metrics, now_ns(), current, o->cache);
		return;
	case TAG_OUTPUT_JOURNAL:
		(void)!read(o->journal_fd, &n, sizeof(n));
		journal_arm(o, journal_flush(&o->journal, now_ns(), false));
		return;
	case TAG_OUTPUT_HANDLERS:
		handlers_dispatch(o->handlers);
		return;
	case TAG_OUTPUT_HISTORY: {
		unsigned int i;

		(void)!read(o->history_fd, &n, sizeof(n));
		o->history_armed = false;
		/* A backlog (after a busy spell) goes a few batches per turn of the loop. */
		for (i = 0; i < HISTORY_TICK_BATCHES; i++)
			if (history_commit(&o->history, false) < 0 ||
			    !(o->history.nr || o->history.dropped_pending))
				break;
		history_kick(m);	/* what is left, or could not be committed: again later */
		return;
	}
	}
}

void outputs_reload(struct manager *m)
{
	if (m->outputs)
		handlers_reload(m->outputs->handlers);
}

void outputs_stop(struct manager *m)
{
	struct outputs *o = m->outputs;

	if (!o)
		return;
	if (o->journal_on) {
		/* Stopping may wait a little for journald: the last summaries are not retried. */
		if (o->journal_sock >= 0) {
			struct timeval tv = { .tv_sec = JOURNAL_STOP_TIMEOUT_S };

			fcntl(o->journal_sock, F_SETFL, 0);
			setsockopt(o->journal_sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		journal_flush(&o->journal, now_ns(), true);
	}
	if (o->history_on)
		history_close(&o->history);	/* before the textfile: its last counts */
	if (m->cfg.outputs.metrics_textfile_dir[0] && o->textfile_fd >= 0)
		write_textfile(m);
	if (o->http_on)
		metrics_server_stop(&o->http);
	if (o->textfile_fd >= 0)
		close(o->textfile_fd);
	if (o->expire_fd >= 0)
		close(o->expire_fd);
	if (o->journal_fd >= 0)
		close(o->journal_fd);
	if (o->journal_sock >= 0)
		close(o->journal_sock);
	handlers_free(o->handlers);	/* saves what is pending for the next start */
	if (o->history_fd >= 0)
		close(o->history_fd);
	metrics_free(&o->metrics);
	journal_free(&o->journal);
	blknotify_device_cache_free(o->cache);
	free(o);
	m->outputs = NULL;
}
