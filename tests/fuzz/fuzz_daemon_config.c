// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for blknotifyd.conf(5) parsing (daemon/config.c): every
 * input either parses or is rejected with "NAME:LINE: ..." naming a line
 * that exists; the settings that come out are within their documented
 * ranges.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_config c;
	char err[1024] = "";
	unsigned int line, lines = 1;
	size_t i;
	FILE *f;
	int r;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	config_defaults(&c);
	r = config_parse(&c, f, "fuzz.conf", err, sizeof(err));
	fclose(f);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (r) {
		/* A rejection names the file and a line that is there. */
		if (sscanf(err, "fuzz.conf:%u:", &line) != 1 || line < 1 || line > lines)
			abort();
		return 0;
	}
	if (c.max_clients < 1 || c.max_clients > BND_CLIENTS_HARD_MAX ||
	    c.max_queue_size < 1 || c.max_queue_size > BLKNOTIFY_QUEUE_SIZE_MAX ||
	    c.upstream_queue_size < 1 || c.upstream_queue_size > BLKNOTIFY_QUEUE_SIZE_MAX ||
	    c.socket_mode > 0777 || c.socket_path[0] != '/' ||
	    c.nr_privileged_gids > CONFIG_GROUPS_MAX || c.restart_grace_ms > 600000 ||
	    (c.pin_path[0] && c.pin_path[0] != '/') || c.state_file[0] != '/')
		abort();
	return 0;
}
