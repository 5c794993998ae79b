/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a client asks: one handler per request type (docs/protocol.md). */
#ifndef BLKNOTIFYD_REQUESTS_H
#define BLKNOTIFYD_REQUESTS_H

#include "manager.h"

/* Parse and answer one request.  Returns false when the client was closed. */
bool request_handle(struct manager *m, struct client *c, const void *buf, size_t len);

#endif /* BLKNOTIFYD_REQUESTS_H */
