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
		"      --socket PATH   listen here (default from the configuration: %s)\n"
		"      --source NAME   auto, bpf, kmsg or watch_queue (overrides the configuration)\n"
		"      --check-config  validate the configuration, print it and exit\n"
		"  -v, --verbose       log every request and refusal\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n\n"
		"Exit status: 0 stopped by SIGTERM/SIGINT, 1 could not start, 2 usage or\n"
		"configuration error, 3 the source failed after it had started.\n"
		"Runs in the foreground; see blknotifyd(8) and blknotifyd.conf(5).\n",
		BLKNOTIFYD_CONFIG_FILE, BLKNOTIFY_DAEMON_SOCKET);
}

static void print_config(const struct daemon_config *c)
{
	printf("source = %s\nsocket = %s\nsocket_mode = %04o\nsocket_group = %s\n"
	       "max_clients = %u\nmax_clients_per_uid = %u\nreserved_clients = %u\n"
	       "hello_timeout_ms = %u\nidle_timeout_ms = %u\n"
	       "max_queue_size = %u\nupstream_queue_size = %u\n"
	       "privileged_groups = %s\ndevice_access = %s\nfile_names = %s\npin_path = %s\nstate_file = %s\n"
	       "restart_grace_ms = %u\nslow_io_threshold_ms = %u\nslow_io_relative = %u\n",
	       c->source == BLKNOTIFY_SOURCE_AUTO ? "auto" : blknotify_source_name(c->source),
	       c->socket_path, c->socket_mode,
	       c->socket_gid_set ? c->socket_group : "(root's)",
	       c->max_clients, c->max_clients_per_uid, c->reserved_clients,
	       c->hello_timeout_ms, c->idle_timeout_ms, c->max_queue_size, c->upstream_queue_size,
	       c->privileged_groups,
	       c->device_access == DEVICE_ACCESS_READABLE ? "readable" : "none",
	       c->file_names == FILE_NAMES_WATCHERS ? "watchers" : "privileged",
	       c->pin_path[0] ? c->pin_path : "none", c->state_file,
	       c->restart_grace_ms, c->slow_io_threshold_ms, c->slow_io_relative);
	printf("bio_errors = %s\n", c->bio_errors ? "yes" : "no");
}

/* --socket and --source over the configuration. */
static int apply_overrides(struct daemon_config *c, const char *socket_arg, const char *source_arg)
{
	int r;

	if (socket_arg) {
		if (socket_arg[0] != '/' || strlen(socket_arg) >= sizeof(c->socket_path)) {
			fprintf(stderr, "blknotifyd: --socket: \"%s\" is not an absolute path of at most %zu bytes\n",
				socket_arg, sizeof(c->socket_path) - 1);
			return EXIT_USAGE;
		}
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", socket_arg);
	}
	if (source_arg) {
		r = config_source_from_name(source_arg);
		if (r < 0) {
			fprintf(stderr, "blknotifyd: --source: \"%s\" is not one of auto, bpf, kmsg, watch_queue\n",
				source_arg);
			return EXIT_USAGE;
		}
		c->source = r;
	}
	return -1;
}

/* Old spellings are removed, not aliased: say what replaced them. */
static int old_option(int opt)
{
	fprintf(stderr, "blknotifyd: -%c is no longer an option: use %s\n", opt,
		opt == 's' ? "--socket PATH" : "--check-config");
	return EXIT_USAGE;
}

int cli_parse(struct manager *m, int argc, char **argv)
{
	enum { OPT_SOCKET = 0x100, OPT_SOURCE, OPT_CHECK_CONFIG };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *socket_arg = NULL, *source_arg = NULL;
	bool check_only = false, config_given = false;
	char err[2048];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "c:vhVst", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': m->config_path = optarg; config_given = true; break;
		case OPT_SOCKET: socket_arg = optarg; break;
		case OPT_SOURCE: source_arg = optarg; break;
		case OPT_CHECK_CONFIG: check_only = true; break;
		case 'v': m->verbose = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("blknotifyd %s\n", BLKNOTIFYD_VERSION); return EXIT_OK;
		case 's': case 't': return old_option(opt);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "blknotifyd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	/* The default file may be absent; one named on the command line may not. */
	r = config_load(&m->cfg, m->config_path, !config_given, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "blknotifyd: %s\n", err);
		return EXIT_USAGE;
	}
	r = apply_overrides(&m->cfg, socket_arg, source_arg);
	if (r >= 0)
		return r;
	if (check_only) {
		print_config(&m->cfg);
		outputs_config_print(&m->cfg.outputs, stdout);
		return EXIT_OK;
	}
	return -1;
}
