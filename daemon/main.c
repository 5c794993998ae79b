// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotifyd: reads block-layer error records from one source and fans them
 * out to monitors connected over a Unix socket, each with its own bounded
 * queue, watches and filter (blknotifyd(8), docs/protocol.md).  The manager
 * and the file for each of its parts are described in manager.h.
 */
#include "cli.h"
#include "log.h"
#include "manager.h"

int main(int argc, char **argv)
{
	static struct manager m;
	int r;

	manager_init(&m);
	r = cli_parse(&m, argc, argv);
	if (r >= 0)
		return r;
	log_setup(m.verbose, m.journal);
	r = manager_start(&m);
	if (r == 0) {
		r = manager_run(&m);
		manager_stop(&m);
	}
	manager_free(&m);
	if (m.failed)
		return EXIT_SOURCE;	/* it had started: systemd restarts it */
	return r < 0 ? EXIT_START : EXIT_OK;
}
