/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blknotifyd's command line (blknotifyd(8)) and --check-config. */
#ifndef BLKNOTIFYD_CLI_H
#define BLKNOTIFYD_CLI_H

#include "manager.h"

/* Exit codes, the same in blkwatch, blknotifyd and blkfault. */
enum {
	EXIT_OK		= 0,
	EXIT_START	= 1,	/* could not start: source, privilege, resource, socket */
	EXIT_USAGE	= 2,	/* bad option, bad value, bad configuration file */
	EXIT_SOURCE	= 3,	/* the source went away after it had started */
};

/*
 * Parse argv and load the configuration into m.  Returns -1 to go on and
 * start, or an exit code (after --help, --version, --check-config or an error).
 */
int cli_parse(struct manager *m, int argc, char **argv);

#endif /* BLKNOTIFYD_CLI_H */
