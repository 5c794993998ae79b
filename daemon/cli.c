// SPDX-License-Identifier: LGPL-2.1-or-later
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: blknotifyd [OPTIONS]\n"
		"Serve block-layer error records to monitors over a Unix socket.\n\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -s, --socket PATH   listen here (default from the configuration: %s)\n"
		"      --source NAME   auto, bpf, kmsg or watch_queue (overrides the configuration)\n"
		"  -t, --check-config  validate the configuration, print it and exit\n"
		"  -v, --verbose       log every request and refusal\n"
		"  -h, --help          this text\n"
		"      --version       print the version\n\n"
		"Runs in the foreground; under systemd see blknotifyd.service(8).\n",
		BLKNOTIFYD_CONFIG_FILE, BLKNOTIFY_DAEMON_SOCKET);
}

static void print_config(const struct daemon_config *c)
{
	printf("source = %s\nsocket = %s\nsocket_mode = %04o\nsocket_group = %s\n"
	       "max_clients = %u\nmax_queue_size = %u\nupstream_queue_size = %u\n"
	       "privileged_groups = %s\ndevice_access = %s\npin_path = %s\nstate_file = %s\n"
	       "restart_grace_ms = %u\n",
	       c->source == BLKNOTIFY_SOURCE_AUTO ? "auto" : blknotify_source_name(c->source),
	       c->socket_path, c->socket_mode,
	       c->socket_gid_set ? c->socket_group : "(root's)",
	       c->max_clients, c->max_queue_size, c->upstream_queue_size,
	       c->privileged_groups,
	       c->device_access == DEVICE_ACCESS_READABLE ? "readable" : "none",
	       c->pin_path[0] ? c->pin_path : "none", c->state_file,
	       c->restart_grace_ms);
}

/* --socket and --source over the configuration. */
static int apply_overrides(struct daemon_config *c, const char *socket_arg, const char *source_arg)
{
	int r;

	if (socket_arg) {
		if (socket_arg[0] != '/' || strlen(socket_arg) >= sizeof(c->socket_path)) {
			fprintf(stderr, "blknotifyd: --socket: \"%s\" is not an absolute path of at most %zu bytes\n",
				socket_arg, sizeof(c->socket_path) - 1);
			return 2;
		}
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", socket_arg);
	}
	if (source_arg) {
		if (!strcmp(source_arg, "auto")) {
			c->source = BLKNOTIFY_SOURCE_AUTO;
		} else {
			r = blknotify_source_from_name(source_arg);
			if (r < 0 || r == BLKNOTIFY_SOURCE_DAEMON || r == BLKNOTIFY_SOURCE_AUTO) {
				fprintf(stderr, "blknotifyd: --source: \"%s\" is not one of auto, bpf, kmsg, watch_queue\n",
					source_arg);
				return 2;
			}
			c->source = r;
		}
	}
	return -1;
}

int cli_parse(struct manager *m, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "source", required_argument, NULL, 'S' },
		{ "check-config", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *socket_arg = NULL, *source_arg = NULL;
	bool check_only = false, config_given = false;
	char err[1024];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "c:s:tvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': m->config_path = optarg; config_given = true; break;
		case 's': socket_arg = optarg; break;
		case 'S': source_arg = optarg; break;
		case 't': check_only = true; break;
		case 'v': m->verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("blknotifyd %s\n", BLKNOTIFYD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "blknotifyd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	/* The default file may be absent; one named on the command line may not. */
	r = config_load(&m->cfg, m->config_path, !config_given, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "blknotifyd: %s\n", err);
		return 1;
	}
	r = apply_overrides(&m->cfg, socket_arg, source_arg);
	if (r >= 0)
		return r;
	if (check_only) {
		print_config(&m->cfg);
		outputs_config_print(&m->cfg.outputs, stdout);
		return 0;
	}
	return -1;
}
