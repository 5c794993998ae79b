/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blknotifyd's listening socket: the one systemd passed, or its own. */
#ifndef BLKNOTIFYD_LISTEN_H
#define BLKNOTIFYD_LISTEN_H

#include "manager.h"

/* Set m->listen_fd up.  Returns 0 or a negative errno (logged). */
int listen_open(struct manager *m);
void listen_close(struct manager *m);

#endif /* BLKNOTIFYD_LISTEN_H */
