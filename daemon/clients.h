/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blknotifyd's connections: accepted, read (a few requests per turn), sent to
 * (a pending reply first, then records in batches until the socket is full),
 * closed.  The daemon never waits for a client.
 */
#ifndef BLKNOTIFYD_CLIENTS_H
#define BLKNOTIFYD_CLIENTS_H

#include "manager.h"

void clients_accept(struct manager *m);
void client_readable(struct manager *m, struct client *c);
void client_event(struct manager *m, struct client *c, __u32 events);

/* Returns false when the client was closed. */
bool client_flush(struct manager *m, struct client *c);
/* Queue a reply (len bytes in c->out were built by the caller) and try to send it. */
bool client_reply(struct manager *m, struct client *c, size_t len);
bool reply_error(struct manager *m, struct client *c, __u32 seq, int error, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
bool reply_ok(struct manager *m, struct client *c, __u32 seq, __u64 value);
/* A protocol violation: say what it was (best effort), then hang up. */
void client_abort(struct manager *m, struct client *c, __u32 seq, int error, const char *why);
void client_close(struct manager *m, struct client *c, const char *why);

/* Read the clients throttled for sending requests too fast again. */
void clients_unthrottle(struct manager *m);
/* Close connections past hello_timeout_ms, or idle_timeout_ms without a watch. */
void clients_sweep(struct manager *m);
/*
 * End watch j of c by the daemon's decision (its disk went away or was
 * replaced): the client gets a removal record with error, in order.
 */
void client_end_watch(struct manager *m, struct client *c, unsigned int j, int error,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Queue the removal records that wait, as far as the client's queue has room. */
void client_push_ended(struct manager *m, struct client *c);

/* Records wait for c: flush it at the end of this loop turn. */
void client_mark_dirty(struct manager *m, struct client *c);
void clients_flush_dirty(struct manager *m);

#endif /* BLKNOTIFYD_CLIENTS_H */
