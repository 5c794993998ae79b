/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotifyd's manager: the state every part of the daemon shares, as
 * systemd-journald's Server is.  One file per responsibility works on it:
 *
 *   main.c      main() alone: options, then manager_start/run/stop
 *   cli.c       command line and --check-config
 *   manager.c   the event loop, signals, the service manager (sd_notify)
 *   log.c       logging, rate-limited for what clients cause
 *   listen.c    the listening socket (own, or socket-activated)
 *   clients.c   connections: accept, read, send, close
 *   requests.c  what a client asks (HELLO, watches, filter, STATS)
 *   upstream.c  the source: selection, pinning, its watch set, fan-out
 *   state.c     the clients' state across a restart
 *   impact.c    GET_IMPACT: the files on failed sectors, if the policy allows
 *   history.c   the history output: records and losses into SQLite (history.h)
 *
 * An output added later (metrics, journal, history, handlers) gets a file of
 * its own, a member here, and a call where records are fanned out
 * (upstream.c) and where the manager starts and stops (manager.c).
 */
#ifndef BLKNOTIFYD_MANAGER_H
#define BLKNOTIFYD_MANAGER_H

#include <stdbool.h>
#include <time.h>
#include <blknotify/blknotify.h>
#include "client-queue.h"
#include "config.h"
#include "match.h"
#include "policy.h"
#include "protocol.h"

#define REQUESTS_PER_WAKEUP	8	/* per client per loop turn: no client starves the rest */
/*
 * Requests other than ACK a client may make: REQUEST_BURST at once, then
 * REQUEST_RATE per second.  A client over it is not read for a while
 * (THROTTLE_MS): a flood costs the daemon a bounded share of its CPU.  The
 * library makes a handful at setup; ACKs are not counted.
 */
#define REQUEST_BURST		200
#define REQUEST_RATE		2000
#define THROTTLE_MS		10
#define UPSTREAM_READS_PER_WAKEUP 16	/* then serve the clients, then read more */
/* Kernel buffer per client connection: a few batches; the real queue is ours. */
#define CLIENT_SNDBUF		(2 * BND_RECORDS_BATCH)

/* epoll tags for the fds that are not clients (clients use their slot). */
enum {
	TAG_LISTEN = 0xffff, TAG_UPSTREAM = 0xfffe, TAG_SIGNAL = 0xfffd, TAG_GRACE = 0xfffc,
	TAG_SWEEP = 0xfffb, TAG_DEFER = 0xfffa,
};

/*
 * What a flood of requests may cost the others: the state file is written
 * at once for the first STATE_WRITE_BURST changes, then at most once per
 * STATE_WRITE_INTERVAL_MS with everything that changed meanwhile, and the source's watches are narrowed (watches nobody
 * needs removed) UPSTREAM_NARROW_DELAY_MS after the last change; widening
 * for a new watch is immediate, and a no-op while the disk is watched.
 */
#define STATE_WRITE_INTERVAL_MS	250
#define STATE_WRITE_BURST	8	/* writes at once before the interval applies */
#define UPSTREAM_NARROW_DELAY_MS 1000
/* Hello and idle timeouts and device re-checks run this often (at most). */
#define SWEEP_INTERVAL_MAX_MS	1000

struct client {
	int fd;
	unsigned int slot;
	__u32 gen;			/* with slot, names this connection in epoll events */
	__u32 id;
	struct peer peer;
	bool hello_done;
	bool ever_watched;		/* SET_SIZE only before the first watch */
	unsigned int nr_watches;
	struct bn_config cfg;		/* watches and filter, matched with lib/match.h */
	__u64 diskseq[BN_WATCHES_MAX];	/* of each watch's disk when it was allowed; 0: unknown */
	/* Watches the daemon ended by itself; their removal records wait for room. */
	struct { __u32 id; __s32 error; } ended[BN_WATCHES_MAX];
	unsigned int nr_ended;
	unsigned int queue_size;
	struct client_queue q;		/* allocated at the first watch */
	__u64 token;
	bool detached;			/* kept across a restart for a client to reconnect: fd is -1 */
	bool unclean;			/* detached after a crash: records may be missing */
	__u32 records_seq;
	__u32 events;			/* epoll events registered */
	bool dirty;			/* on the flush list */
	struct client *next_dirty;
	/*
	 * Replies are built here (BND_MSG_MAX bytes, allocated at HELLO: a
	 * connection that never says HELLO costs about 1.5 KiB).  One that did
	 * not fit in the socket waits here; no request is read until it is sent.
	 */
	size_t out_len;
	unsigned char *out;
	struct timespec connected;
	struct timespec last_request;	/* for idle_timeout_ms */
	unsigned int tokens;		/* requests it may make now (REQUEST_RATE) */
	struct timespec refilled;
	bool throttled;			/* not read until the deferred work runs */
	__u64 throttles;		/* times it was throttled, for the log */
};

/* The source's watch for one disk, or for every device. */
struct upstream_watch {
	bool active, all;
	__u64 dev;
	unsigned int id;
};

struct manager {
	struct daemon_config cfg;
	const char *config_path;
	bool verbose;
	bool journal;			/* stderr is the journal: prefix priorities */
	int epoll_fd;
	int signal_fd;
	bool stopping;
	bool failed;			/* stopping because the source failed: exit non-zero */
	struct timespec started;

	/* listen.c */
	int listen_fd;
	bool socket_activated;

	/* clients.c */
	struct client *clients[BND_CLIENTS_HARD_MAX];
	unsigned int nr_clients;
	__u32 next_id, next_gen;
	struct client *dirty;

	/* upstream.c */
	struct blknotify_queue *upstream;
	enum blknotify_source source;
	__u64 upstream_records, upstream_lost;
	/*
	 * The source's own watches: the disks some client watches (at most
	 * BN_WATCHES_MAX), or every device.  Errors on disks nobody watches
	 * never reach the daemon, so a storm there cannot fill its queue.
	 */
	struct upstream_watch up[BN_WATCHES_MAX];
	__u64 recent[8][5];		/* last records' contents, to drop duplicates */
	unsigned int recent_next;
	bool pinned;			/* the source is pinned: it outlives us */
	bool resumed;			/* and we took it over from our predecessor */
	int pin_lock_fd;		/* the pin directory, flock()ed: one daemon per pin */

	/* devices.c: disks' diskseq, read once per round (a batch from the source, a sweep) */
	struct { __u64 dev, seq; int err; } devcache[32];
	unsigned int nr_devcache;

	/* state.c */
	int grace_fd;			/* timerfd: detached clients expire */
	bool state_pending;		/* changed since the last write; written at defer_fd */
	struct timespec state_written;
	__u64 state_writes;
	unsigned int state_tokens;	/* writes allowed at once now (state_changed()) */

	/* manager.c: deferred work (state write, narrowing) and the periodic sweep */
	int defer_fd, sweep_fd;
	bool upstream_pending;		/* watches may be narrowed at defer_fd */
	__u64 state_due_ns, upstream_due_ns;	/* CLOCK_MONOTONIC: when each is due */
	bool sweep_armed;
	unsigned int nr_throttled;	/* clients not read until run_deferred() */
	__u64 upstream_changes;		/* watches added or removed at the source */

	/* impact.c: the daemon-wide lookup bound, and what was asked */
	unsigned int impact_tokens;
	__u64 impact_refilled_ns;
	__u64 impact_lookups, impact_refused, impact_limited;

	/* history-query.c: GET_HISTORY's reading connection, opened at the first; NULL before */
	struct history_query *history_query;

	/* outputs.c: metrics and journal; NULL when none is configured */
	struct outputs *outputs;
	__u64 clients_refused;
	__u64 closed_delivered, closed_lost;	/* of the clients gone, for the counters */
};

/* manager.c */
void manager_init(struct manager *m);
int manager_start(struct manager *m);
int manager_run(struct manager *m);
void manager_stop(struct manager *m);
void manager_free(struct manager *m);
int manager_epoll_add(struct manager *m, int fd, __u32 events, __u64 tag);
/* Run the deferred work (state write, narrowing) within ms, unless it is due sooner. */
void manager_defer(struct manager *m, unsigned int ms);
/* Now on CLOCK_MONOTONIC, and ms from now, in ns. */
__u64 now_ns(void);
/* A client may time out or watch a device that may change: sweep now and then. */
void manager_sweep_arm(struct manager *m);
__u64 ns_since(const struct timespec *t);

#endif /* BLKNOTIFYD_MANAGER_H */
