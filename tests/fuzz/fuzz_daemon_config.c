// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for blknotifyd.conf(5) parsing (daemon/config.c): every
 * input either parses or is rejected with "NAME:LINE: ..." naming a line
 * that exists; the settings that come out are within their documented
 * ranges.  The same bytes are also a handler file's name
 * (handler_name_parse()): a name either asks for subtypes that have names
 * or is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <blknotify/blknotify.h>
#include "config.h"
#include "handlers-config.h"
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
	{
		char name[256];
		enum handler_kind k;
		unsigned int first, last;

		memcpy(name, data, size < sizeof(name) ? size : sizeof(name) - 1);
		name[size < sizeof(name) ? size : sizeof(name) - 1] = '\0';
		if (handler_name_parse(name, &k, &first, &last) == 0 && k == HANDLER_SUBTYPES &&
		    (first > last || first < 1 || !blknotify_subtype_class(first) ||
		     !strchr(name, '-')))
			abort();
	}
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
	{
		const struct handlers_config *h = &c.outputs.handlers;

		if (h->nr_rules > THRESHOLD_RULES_MAX || h->dir[0] != '/' || h->state_file[0] != '/' ||
		    h->max_running < 1 || h->max_running > HANDLERS_MAX_RUNNING_MAX ||
		    h->queue_size < 1 || h->queue_size > HANDLERS_QUEUE_MAX ||
		    h->rate_keys < 16 || h->rate_keys > HANDLERS_RATE_KEYS_MAX ||
		    h->output_max > HANDLERS_OUTPUT_MAX || h->timeout_ms < 100)
			abort();
		for (i = 0; i < h->nr_rules; i++)
			if (h->rules[i].n < 1 || h->rules[i].n > THRESHOLD_N_MAX || h->rules[i].t_s < 1 ||
			    h->rules[i].t_s > THRESHOLD_T_MAX || h->rules[i].first > h->rules[i].last)
				abort();
	}
	return 0;
}
