/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blknotifyd's configuration: defaults, and the parser of blknotifyd.conf(5). */
#ifndef BLKNOTIFYD_CONFIG_H
#define BLKNOTIFYD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/un.h>
#include <blknotify/blknotify.h>
#include "outputs.h"

#define BLKNOTIFYD_CONFIG_FILE		"/etc/blknotify/blknotifyd.conf"
#define BLKNOTIFYD_STATE_FILE		"/run/blknotify/clients.state"
#define CONFIG_RESTART_GRACE_DEFAULT	60000	/* ms: libblknotify reconnects for 60 s */

#define CONFIG_MAX_CLIENTS_DEFAULT	64
#define CONFIG_PER_UID_DEFAULT		8	/* connections one unprivileged user may hold */
#define CONFIG_RESERVED_DEFAULT		4	/* of max_clients, for root and privileged_groups */
#define CONFIG_HELLO_TIMEOUT_DEFAULT	5000	/* ms from connect to HELLO */
#define CONFIG_IDLE_TIMEOUT_DEFAULT	60000	/* ms without a watch and without a request */
#define CONFIG_MAX_QUEUE_DEFAULT	16384	/* records; 56 bytes each in the daemon */
#define CONFIG_UPSTREAM_QUEUE_DEFAULT	65536
#define CONFIG_GROUPS_MAX		16
#define CONFIG_LINE_MAX			1024

enum device_access {
	DEVICE_ACCESS_READABLE,	/* a device whose node the client may read */
	DEVICE_ACCESS_NONE,	/* only root and the privileged groups watch anything */
};

/* Who the daemon names files for (GET_IMPACT): file names are sensitive. */
enum file_names {
	FILE_NAMES_PRIVILEGED,	/* root and privileged_groups only (the default) */
	FILE_NAMES_WATCHERS,	/* also every client that may watch the disk */
};

struct daemon_config {
	enum blknotify_source source;	/* AUTO: watch_queue, else bpf, else kmsg */
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	mode_t socket_mode;
	gid_t socket_gid;
	bool socket_gid_set;
	char socket_group[64];		/* for messages */
	unsigned int max_clients;	/* 1 .. BND_CLIENTS_HARD_MAX */
	unsigned int max_clients_per_uid; /* unprivileged connections per uid */
	unsigned int reserved_clients;	/* slots only root and privileged_groups may take */
	unsigned int hello_timeout_ms;	/* a connection that says no HELLO is closed */
	unsigned int idle_timeout_ms;	/* a client without watches that asks nothing is closed */
	unsigned int max_queue_size;	/* records, 1 .. BLKNOTIFY_QUEUE_SIZE_MAX */
	unsigned int upstream_queue_size;
	gid_t privileged_gids[CONFIG_GROUPS_MAX];
	unsigned int nr_privileged_gids;
	char privileged_groups[CONFIG_LINE_MAX];	/* as written, for messages */
	enum device_access device_access;
	enum file_names file_names;	/* who gets IMPACT answers (file names) */
	char pin_path[256];		/* bpf: pinned here across restarts; "" = not pinned */
	char state_file[256];		/* clients, for a restart */
	unsigned int restart_grace_ms;	/* how long a restarted daemon keeps queues for clients */
	struct outputs_config outputs;	/* metrics and journal (outputs.h) */
	bool bio_errors;		/* bpf: BLKNOTIFY_QUEUE_BPF_BIO (dm, md, ...) */
	unsigned int slow_io_threshold_ms; /* bpf: slow I/O records at this latency; 0 off */
	unsigned int slow_io_relative;	/* bpf: ... or this times the disk's median; 0 off */
};

/* A source the daemon may read (auto, bpf, kmsg, watch_queue), or -EINVAL. */
int config_source_from_name(const char *name);

/*
 * The one parser of the file's numbers: v in base (8 or 10), digits only,
 * within min..max, for key.  Returns 0, or -EINVAL with what is wrong and
 * what would be accepted in err[].
 */
int config_parse_uint(const char *key, const char *v, int base, unsigned long min,
		      unsigned long max, unsigned long *ret, char *err, size_t err_len);

/*
 * The file's "each key once" for a section's table of keys: where key
 * stands in keys[nr], -ENOENT when it is none of them, or -EINVAL with
 * err[] when seen[] (the line each was set on, 0: not yet) has it.  The
 * caller stores the line in seen[] once the value is taken.
 */
int config_key_once(const char *key, const char *const *keys, size_t nr,
		    const unsigned int *seen, char *err, size_t err_len);

/* Fill c with the built-in defaults (documented in blknotifyd.conf(5)). */
void config_defaults(struct daemon_config *c);

/*
 * Read settings from f over c.  name is the file's name for messages.
 * Returns 0, or -EINVAL with "NAME:LINE: what is wrong" in err[].
 */
int config_parse(struct daemon_config *c, FILE *f, const char *name, char *err, size_t err_len);

/*
 * Load path into c (defaults first).  A missing file is fine when
 * missing_ok (the built-in defaults apply).  Returns 0 or a negative errno
 * with a message in err[].
 */
int config_load(struct daemon_config *c, const char *path, bool missing_ok, char *err, size_t err_len);

#endif /* BLKNOTIFYD_CONFIG_H */
