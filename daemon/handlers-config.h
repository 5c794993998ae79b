/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handlers' configuration keys (blknotifyd.conf(5), "HANDLERS") and the
 * names of handler files (docs/handlers.md): parsed here, without I/O, so
 * that the unit tests and the fuzzer see exactly what the daemon sees.
 */
#ifndef BLKNOTIFYD_HANDLERS_CONFIG_H
#define BLKNOTIFYD_HANDLERS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define HANDLERS_DIR_DEFAULT		"/etc/blknotify/handlers.d"
#define HANDLERS_USER_DEFAULT		"_blknotify-handlers"	/* else "nobody" */
#define HANDLERS_STATE_FILE_DEFAULT	"/var/lib/blknotify/handlers.state"
#define HANDLERS_TIMEOUT_DEFAULT	30000	/* ms a run may take, then SIGKILL */
#define HANDLERS_MAX_RUNNING_DEFAULT	4	/* runs at once */
#define HANDLERS_MAX_RUNNING_MAX	64
#define HANDLERS_QUEUE_DEFAULT		64	/* runs waiting for a free slot */
#define HANDLERS_QUEUE_MAX		4096
#define HANDLERS_INTERVAL_DEFAULT	60000	/* ms between runs for one (handler, disk, subtype) */
#define HANDLERS_OUTPUT_DEFAULT		4096	/* bytes of a run's output logged */
#define HANDLERS_OUTPUT_MAX		(1 << 20)
#define HANDLERS_RATE_KEYS_DEFAULT	1024	/* (handler, disk, subtype) entries */
#define HANDLERS_RATE_KEYS_MAX		65536
#define HANDLERS_MAX			64	/* handler files in the directory */
#define THRESHOLD_RULES_MAX		16
#define THRESHOLD_N_MAX			1000	/* errors a rule counts */
#define THRESHOLD_T_MAX			(7 * 86400)	/* seconds */

/* What a handler's name (the part before its first '-') asks for. */
enum handler_kind {
	HANDLER_SUBTYPES,	/* subtypes first..last: one subtype, or a class */
	HANDLER_THRESHOLD,	/* "threshold": every threshold event */
	HANDLER_ALL,		/* "all": every record, threshold event and loss event */
	HANDLER_LOSS,		/* "loss": the source lost records */
};

/* "N errors of these subtypes on one disk in T seconds": threshold_NAME = N/T. */
struct threshold_rule {
	char name[32];			/* a subtype's or a class's name */
	unsigned int first, last;	/* its subtypes */
	unsigned int n, t_s;
};

struct handlers_config {
	bool enabled;			/* handlers = yes */
	char dir[256];
	char user[64];			/* "" = the default (HANDLERS_USER_DEFAULT, else nobody) */
	char state_file[256];
	unsigned int timeout_ms;
	unsigned int max_running;
	unsigned int queue_size;
	unsigned int interval_ms;
	unsigned int output_max;
	unsigned int rate_keys;
	struct threshold_rule rules[THRESHOLD_RULES_MAX];
	unsigned int nr_rules;
	unsigned int rule_line[THRESHOLD_RULES_MAX];	/* line each rule was set on */
	unsigned int seen[10];		/* line each key was set on */
};

void handlers_config_defaults(struct handlers_config *c);
/*
 * One "key = value" at line.  Returns 0, -ENOENT when key is not a
 * handlers' key, or -EINVAL with what is wrong in err[].
 */
int handlers_config_set(struct handlers_config *c, const char *key, const char *value,
			unsigned int line, char *err, size_t err_len);
void handlers_config_print(const struct handlers_config *c, FILE *f);
#define HANDLERS_CONFIG_KEYS "handlers, handlers_dir, handlers_user, handlers_state_file, " \
	"handlers_timeout_ms, handlers_max_running, handlers_queue_size, handlers_interval_ms, " \
	"handlers_output_max, handlers_rate_keys, threshold_SUBTYPE, threshold_CLASS"

/*
 * What a handler file's name asks for: "PREFIX-ANYTHING", where PREFIX is a
 * subtype's name ("medium"), a class's ("error", "soft", "lifecycle",
 * "perf"), "threshold", "loss" or "all".  Returns 0, or -EINVAL when the name has no
 * such prefix (the file is not a handler).
 */
int handler_name_parse(const char *name, enum handler_kind *kind, unsigned int *first,
		       unsigned int *last);
/* Whether a file in the directory is skipped without a word: hidden, a backup, a package's leftover. */
bool handler_name_ignored(const char *name);

#endif /* BLKNOTIFYD_HANDLERS_CONFIG_H */
