/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotifyd's outputs for fleets: Prometheus metrics (metrics.h, served by
 * metrics-serve.h) and journal entries (journal.h), fed from the same
 * records as the clients.  Each is off unless configured
 * (blknotifyd.conf(5), "OUTPUTS"): turning one on makes the source watch
 * every device, so that every error on the node is counted whether or not
 * a client watches its disk.
 *
 * Here: their configuration keys, and the glue to the manager (start, one
 * call per record, their fds in the epoll loop, stop).
 */
#ifndef BLKNOTIFYD_OUTPUTS_H
#define BLKNOTIFYD_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <blknotify/block_notify.h>
#include "handlers-config.h"

#define OUTPUTS_TEXTFILE_INTERVAL_DEFAULT	15000	/* ms */
#define OUTPUTS_DEVICES_MAX			8	/* disks outputs_devices may name */

struct outputs_config {
	char metrics_listen[64];		/* "" = none */
	char metrics_textfile_dir[256];		/* "" = none */
	unsigned int metrics_textfile_interval_ms;
	unsigned int metrics_max_devices;
	unsigned int metrics_device_expiry_s;
	bool journal;
	unsigned int journal_window_ms;
	unsigned int journal_burst;
	unsigned int journal_max_devices;
	/* The disks the outputs count, as written ("sda 8:16 /dev/disk/by-id/..."); "" = all. */
	char devices[512];
	struct handlers_config handlers;	/* handlers-config.h */
	/* history (history.h): "" = off */
	char history_path[256];
	unsigned int history_max_age_s;		/* 0: no age limit */
	unsigned long long history_max_bytes;
	unsigned int history_batch;		/* rows per transaction, at most */
	unsigned int history_commit_ms;		/* a row waits at most this long */
	unsigned int history_queue;		/* rows held while SQLite is busy */
	unsigned int seen[16];			/* line each key was set on */
};

void outputs_config_defaults(struct outputs_config *c);
/*
 * One "key = value" of blknotifyd.conf, at line.  Returns 0, -ENOENT when
 * key is not an output's, or -EINVAL with what is wrong in err[].
 */
int outputs_config_set(struct outputs_config *c, const char *key, const char *value,
		       unsigned int line, char *err, size_t err_len);
void outputs_config_print(const struct outputs_config *c, FILE *f);
/* The keys, for the message about an unknown one. */
#define OUTPUTS_CONFIG_KEYS "metrics_listen, metrics_textfile_dir, metrics_textfile_interval_ms, " \
	"metrics_max_devices, metrics_device_expiry_s, journal, journal_window_ms, journal_burst, " \
	"journal_max_devices, outputs_devices, history_path, history_max_age_s, history_max_bytes, " \
	"history_batch, history_commit_ms, history_queue, " HANDLERS_CONFIG_KEYS
/*
 * "ADDRESS:PORT" (IPv4) or "[ADDRESS]:PORT" (IPv6), numeric, into *ss.
 * Returns 0 or -EINVAL.
 */
int outputs_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* Whether any output is on: then the source watches every device (or those outputs_devices names). */
bool outputs_config_any(const struct outputs_config *c);
/*
 * The disk one word of outputs_devices names, now: "MAJ:MIN", a kernel
 * name ("sda", looked up in /sys/class/block) or a device node path (a
 * /dev/disk/by-id link); a partition names its disk.  Returns 0, -EINVAL
 * for a word that is none of these, -ENODEV when no such block device
 * exists now.
 */
int outputs_device_resolve(const char *word, __u64 *dev);

struct manager;

/* epoll tags of the outputs' fds (below the manager's own). */
enum {
	TAG_OUTPUT_HTTP = 0xfff0, TAG_OUTPUT_HTTP_TIMER = 0xfff1,
	TAG_OUTPUT_TEXTFILE = 0xfff2, TAG_OUTPUT_JOURNAL = 0xfff3,
	TAG_OUTPUT_EXPIRE = 0xfff4,
	TAG_OUTPUT_HANDLERS = 0xfff9,	/* handlers.c: its own epoll fd */
	TAG_OUTPUT_HISTORY = 0xffef,	/* history.c: the commit timer */
};
#define TAG_OUTPUT_FIRST	TAG_OUTPUT_HISTORY
#define TAG_OUTPUT_LAST		TAG_OUTPUT_HANDLERS

/* Resolves outputs_devices: -ENODEV, logged, when one of them does not exist. */
int outputs_start(struct manager *m);
/*
 * What the outputs need the source to watch: true for every device, or
 * false with their disks appended to devs (*nr of at most max; true when
 * they do not fit).  False with nothing when no output is on.
 */
bool outputs_wanted(const struct manager *m, __u64 *devs, unsigned int *nr, unsigned int max);
/* One error record the source gave (after duplicates are dropped). */
void outputs_record(struct manager *m, const struct block_notification *b, size_t len);
/* The source lost nr records (whose, nobody knows): the history and the handlers are told. */
void outputs_loss(struct manager *m, __u64 nr);
/* An fd with a TAG_OUTPUT_* tag was readable. */
void outputs_dispatch(struct manager *m, unsigned int tag);
/* SIGHUP: what can be read again (the handlers' directory). */
void outputs_reload(struct manager *m);
/* Write what is pending (summaries, the textfile) and stop. */
void outputs_stop(struct manager *m);

#endif /* BLKNOTIFYD_OUTPUTS_H */
