// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotifyd.conf: "key = value" lines, '#' comments, blank lines.  Every
 * mistake is reported with the file, the line and what would be accepted,
 * and stops the daemon: running with half a configuration (say, a policy
 * group silently ignored) is worse than not starting.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "protocol.h"

int config_source_from_name(const char *name)
{
	int r = blknotify_source_from_name(name);

	/* The daemon reads a kernel source; "daemon" would be itself. */
	return r == BLKNOTIFY_SOURCE_DAEMON ? -EINVAL : r;
}

void config_defaults(struct daemon_config *c)
{
	struct group gr, *res = NULL;
	char buf[4096];

	memset(c, 0, sizeof(*c));
	c->source = BLKNOTIFY_SOURCE_AUTO;
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", BLKNOTIFY_DAEMON_SOCKET);
	c->socket_mode = 0660;
	c->max_clients = CONFIG_MAX_CLIENTS_DEFAULT;
	c->max_clients_per_uid = CONFIG_PER_UID_DEFAULT;
	c->reserved_clients = CONFIG_RESERVED_DEFAULT;
	c->hello_timeout_ms = CONFIG_HELLO_TIMEOUT_DEFAULT;
	c->idle_timeout_ms = CONFIG_IDLE_TIMEOUT_DEFAULT;
	c->max_queue_size = CONFIG_MAX_QUEUE_DEFAULT;
	c->upstream_queue_size = CONFIG_UPSTREAM_QUEUE_DEFAULT;
	c->device_access = DEVICE_ACCESS_READABLE;
	c->file_names = FILE_NAMES_PRIVILEGED;
	snprintf(c->pin_path, sizeof(c->pin_path), "%s", BLKNOTIFY_BPF_PIN_PATH);
	snprintf(c->state_file, sizeof(c->state_file), "%s", BLKNOTIFYD_STATE_FILE);
	c->restart_grace_ms = CONFIG_RESTART_GRACE_DEFAULT;
	outputs_config_defaults(&c->outputs);

	/* Members of "disk" can read every disk already; they may watch every one. */
	if (getgrnam_r("disk", &gr, buf, sizeof(buf), &res) == 0 && res) {
		c->privileged_gids[c->nr_privileged_gids++] = res->gr_gid;
		snprintf(c->privileged_groups, sizeof(c->privileged_groups), "disk");
	}
	/* The socket belongs to group "blknotify" where it exists (sysusers.d creates it). */
	if (getgrnam_r("blknotify", &gr, buf, sizeof(buf), &res) == 0 && res) {
		c->socket_gid = res->gr_gid;
		c->socket_gid_set = true;
		snprintf(c->socket_group, sizeof(c->socket_group), "blknotify");
	}
}

struct parse_ctx {
	const char *name;
	unsigned int line;
	char *err;
	size_t err_len;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parse_ctx *p, const char *fmt, ...)
{
	char msg[1536];		/* the unknown key's message lists every key */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->err_len, "%s:%u: %s", p->name, p->line, msg);
	return -EINVAL;
}

int config_parse_uint(const char *key, const char *v, int base, unsigned long min,
		      unsigned long max, unsigned long *ret, char *err, size_t err_len)
{
	unsigned long n;
	char *end;

	/* strtoul accepts "-1" and leading blanks; neither is a count. */
	if (!isdigit((unsigned char)v[0])) {
		snprintf(err, err_len, "%s: \"%s\" is not a number (expected %lu..%lu)", key, v, min, max);
		return -EINVAL;
	}
	errno = 0;
	n = strtoul(v, &end, base);
	if (errno || *end) {
		snprintf(err, err_len, "%s: \"%s\" is not a%s number (expected %lu..%lu)", key, v,
			 base == 8 ? "n octal" : "", min, max);
		return -EINVAL;
	}
	if (n < min || n > max) {
		snprintf(err, err_len, "%s: %s is out of range (expected %lu..%lu)", key, v, min, max);
		return -EINVAL;
	}
	*ret = n;
	return 0;
}

int config_key_once(const char *key, const char *const *keys, size_t nr,
		    const unsigned int *seen, char *err, size_t err_len)
{
	size_t i;

	for (i = 0; i < nr && strcmp(key, keys[i]); i++)
		;
	if (i == nr)
		return -ENOENT;
	if (seen[i]) {
		snprintf(err, err_len, "%s is set twice (first on line %u)", key, seen[i]);
		return -EINVAL;
	}
	return (int)i;
}

static int parse_uint(struct parse_ctx *p, const char *key, const char *v, int base,
		      unsigned long min, unsigned long max, unsigned long *ret)
{
	char msg[512];

	if (config_parse_uint(key, v, base, min, max, ret, msg, sizeof(msg)))
		return fail(p, "%s", msg);
	return 0;
}

static int lookup_group(struct parse_ctx *p, const char *key, const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];
	unsigned long n;
	char *end;
	int r;

	if (isdigit((unsigned char)name[0])) {
		errno = 0;
		n = strtoul(name, &end, 10);
		if (errno || *end || n >= (gid_t)-1)
			return fail(p, "%s: \"%s\" is not a group name or number", key, name);
		*gid = n;
		return 0;
	}
	r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (r || !res)
		return fail(p, "%s: no group named \"%s\" (create it with \"groupadd --system %s\", or name another)",
			    key, name, name);
	*gid = res->gr_gid;
	return 0;
}

static int set_key(struct daemon_config *c, struct parse_ctx *p, const char *key, char *v)
{
	unsigned long n;
	int r;

	if (!strcmp(key, "source")) {
		r = config_source_from_name(v);
		if (r < 0)
			return fail(p, "source: \"%s\" is not one of auto, bpf, kmsg, watch_queue", v);
		c->source = r;
	} else if (!strcmp(key, "socket")) {
		if (v[0] != '/')
			return fail(p, "socket: \"%s\" is not an absolute path", v);
		if (strlen(v) >= sizeof(c->socket_path))
			return fail(p, "socket: path is longer than %zu bytes", sizeof(c->socket_path) - 1);
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", v);
	} else if (!strcmp(key, "socket_mode")) {
		if ((r = parse_uint(p, key, v, 8, 0, 0777, &n)))
			return r;
		c->socket_mode = n;
	} else if (!strcmp(key, "socket_group")) {
		if (strlen(v) >= sizeof(c->socket_group))
			return fail(p, "socket_group: name too long");
		if ((r = lookup_group(p, key, v, &c->socket_gid)))
			return r;
		c->socket_gid_set = true;
		snprintf(c->socket_group, sizeof(c->socket_group), "%s", v);
	} else if (!strcmp(key, "max_clients")) {
		if ((r = parse_uint(p, key, v, 10, 1, BND_CLIENTS_HARD_MAX, &n)))
			return r;
		c->max_clients = n;
	} else if (!strcmp(key, "max_clients_per_uid")) {
		if ((r = parse_uint(p, key, v, 10, 1, BND_CLIENTS_HARD_MAX, &n)))
			return r;
		c->max_clients_per_uid = n;
	} else if (!strcmp(key, "reserved_clients")) {
		if ((r = parse_uint(p, key, v, 10, 0, BND_CLIENTS_HARD_MAX - 1, &n)))
			return r;
		c->reserved_clients = n;
	} else if (!strcmp(key, "hello_timeout_ms")) {
		if ((r = parse_uint(p, key, v, 10, 100, 600000, &n)))
			return r;
		c->hello_timeout_ms = n;
	} else if (!strcmp(key, "idle_timeout_ms")) {
		if ((r = parse_uint(p, key, v, 10, 100, 3600000, &n)))
			return r;
		c->idle_timeout_ms = n;
	} else if (!strcmp(key, "max_queue_size")) {
		if ((r = parse_uint(p, key, v, 10, 1, BLKNOTIFY_QUEUE_SIZE_MAX, &n)))
			return r;
		c->max_queue_size = n;
	} else if (!strcmp(key, "upstream_queue_size")) {
		if ((r = parse_uint(p, key, v, 10, 1, BLKNOTIFY_QUEUE_SIZE_MAX, &n)))
			return r;
		c->upstream_queue_size = n;
	} else if (!strcmp(key, "pin_path")) {
		if (!strcmp(v, "none")) {
			c->pin_path[0] = '\0';
			return 0;
		}
		if (v[0] != '/' || strlen(v) >= sizeof(c->pin_path))
			return fail(p, "pin_path: \"%s\" is neither \"none\" nor an absolute path of at "
				    "most %zu bytes", v, sizeof(c->pin_path) - 1);
		snprintf(c->pin_path, sizeof(c->pin_path), "%s", v);
	} else if (!strcmp(key, "state_file")) {
		if (v[0] != '/' || strlen(v) >= sizeof(c->state_file))
			return fail(p, "state_file: \"%s\" is not an absolute path of at most %zu bytes",
				    v, sizeof(c->state_file) - 1);
		snprintf(c->state_file, sizeof(c->state_file), "%s", v);
	} else if (!strcmp(key, "restart_grace_ms")) {
		if ((r = parse_uint(p, key, v, 10, 0, 600000, &n)))
			return r;
		c->restart_grace_ms = n;
	} else if (!strcmp(key, "device_access")) {
		if (!strcmp(v, "readable"))
			c->device_access = DEVICE_ACCESS_READABLE;
		else if (!strcmp(v, "none"))
			c->device_access = DEVICE_ACCESS_NONE;
		else
			return fail(p, "device_access: \"%s\" is not one of readable, none", v);
	} else if (!strcmp(key, "file_names")) {
		if (!strcmp(v, "privileged"))
			c->file_names = FILE_NAMES_PRIVILEGED;
		else if (!strcmp(v, "watchers"))
			c->file_names = FILE_NAMES_WATCHERS;
		else
			return fail(p, "file_names: \"%s\" is not one of privileged, watchers", v);
	} else if (!strcmp(key, "bio_errors")) {
		if (!strcmp(v, "yes"))
			c->bio_errors = true;
		else if (!strcmp(v, "no"))
			c->bio_errors = false;
		else
			return fail(p, "bio_errors: \"%s\" is not one of yes, no", v);
	} else if (!strcmp(key, "privileged_groups")) {
		char *save = NULL, *tok;

		/* The line replaces the default list; an empty value means nobody but root. */
		c->nr_privileged_gids = 0;
		snprintf(c->privileged_groups, sizeof(c->privileged_groups), "%s", v);
		for (tok = strtok_r(v, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			if (c->nr_privileged_gids == CONFIG_GROUPS_MAX)
				return fail(p, "privileged_groups: more than %d groups", CONFIG_GROUPS_MAX);
			if ((r = lookup_group(p, key, tok, &c->privileged_gids[c->nr_privileged_gids])))
				return r;
			c->nr_privileged_gids++;
		}
	} else if (!strcmp(key, "slow_io_threshold_ms")) {
		if ((r = parse_uint(p, key, v, 10, 0, 86400000, &n)))
			return r;
		c->slow_io_threshold_ms = n;
	} else if (!strcmp(key, "slow_io_relative")) {
		if ((r = parse_uint(p, key, v, 10, 0, 1000000, &n)))
			return r;
		if (n == 1)
			return fail(p, "slow_io_relative: 1 would make half of all I/O slow "
				    "(expected 0 for off, or 2..1000000)");
		c->slow_io_relative = n;
	} else {
		char msg[512];

		r = outputs_config_set(&c->outputs, key, v, p->line, msg, sizeof(msg));
		if (r == -EINVAL)
			return fail(p, "%s", msg);
		if (r == 0)
			return 0;
		return fail(p, "unknown setting \"%s\" (known: source, socket, socket_mode, socket_group, "
			    "max_clients, max_clients_per_uid, reserved_clients, hello_timeout_ms, "
			    "idle_timeout_ms, max_queue_size, upstream_queue_size, privileged_groups, "
			    "device_access, file_names, pin_path, state_file, restart_grace_ms, bio_errors, "
			    "slow_io_threshold_ms, slow_io_relative, " OUTPUTS_CONFIG_KEYS ")", key);
	}
	return 0;
}

static char *strip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_parse(struct daemon_config *c, FILE *f, const char *name, char *err, size_t err_len)
{
	static const char *const keys[] = {
		"source", "socket", "socket_mode", "socket_group", "max_clients",
		"max_clients_per_uid", "reserved_clients", "hello_timeout_ms", "idle_timeout_ms",
		"max_queue_size", "upstream_queue_size", "privileged_groups",
		"device_access", "file_names", "pin_path", "state_file", "restart_grace_ms",
		"bio_errors",
		"slow_io_threshold_ms", "slow_io_relative",
	};
	unsigned int seen[sizeof(keys) / sizeof(keys[0])] = { 0 };
	struct parse_ctx p = { .name = name, .err = err, .err_len = err_len };
	char *buf = NULL;
	size_t cap = 0, i;
	ssize_t len;
	int r = 0;

	while ((len = getline(&buf, &cap, f)) >= 0) {
		char *line, *eq, *key, *value;

		p.line++;
		if (len > CONFIG_LINE_MAX) {
			r = fail(&p, "line longer than %d bytes", CONFIG_LINE_MAX);
			break;
		}
		if ((size_t)len != strlen(buf)) {
			r = fail(&p, "NUL byte in line");
			break;
		}
		line = strip(buf);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			r = fail(&p, "expected \"key = value\", got \"%.64s\"", line);
			break;
		}
		*eq = '\0';
		key = strip(line);
		value = strip(eq + 1);
		/* A comment may follow the value. */
		if ((eq = strchr(value, '#'))) {
			*eq = '\0';
			value = strip(value);
		}
		if (!*key) {
			r = fail(&p, "missing key before '='");
			break;
		}
		if (!*value && strcmp(key, "privileged_groups")) {
			r = fail(&p, "%s: missing value", key);
			break;
		}
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strcmp(key, keys[i]))
				continue;
			if (seen[i])
				r = fail(&p, "%s is set twice (first on line %u)", key, seen[i]);
			seen[i] = p.line;
		}
		if (r || (r = set_key(c, &p, key, value)))
			break;
	}
	free(buf);
	/* Settings that depend on each other, once all are known. */
	if (!r && !seen[6] && c->reserved_clients > c->max_clients / 2)
		c->reserved_clients = c->max_clients / 2;	/* the default shrinks with max_clients */
	if (!r && c->reserved_clients >= c->max_clients) {
		p.line = seen[6] > seen[4] ? seen[6] : seen[4];
		r = fail(&p, "reserved_clients (%u) must be less than max_clients (%u): "
			 "unprivileged clients would have no slot", c->reserved_clients, c->max_clients);
	}
	/* Slow I/O needs a per-request hook: only the bpf source has one. */
	if (!r && (c->slow_io_threshold_ms || c->slow_io_relative) &&
	    (c->source == BLKNOTIFY_SOURCE_KMSG || c->source == BLKNOTIFY_SOURCE_WATCH_QUEUE)) {
		/* The line of the later of the two keys (looked up: the list grows). */
		for (p.line = 0, i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strncmp(keys[i], "slow_io_", 8) && seen[i] > p.line)
				p.line = seen[i];
		r = fail(&p, "slow_io_threshold_ms and slow_io_relative need the bpf source "
			 "(source = %s has no per-request hook): set source = bpf or auto, or "
			 "turn them off", blknotify_source_name(c->source));
	}
	if (!r && ferror(f)) {
		snprintf(err, err_len, "%s: read error: %s", name, strerror(errno));
		r = -EIO;
	}
	return r;
}

int config_load(struct daemon_config *c, const char *path, bool missing_ok, char *err, size_t err_len)
{
	FILE *f;
	int r;

	config_defaults(c);
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		if (r == -ENOENT && missing_ok)
			return 0;
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	r = config_parse(c, f, path, err, err_len);
	fclose(f);
	return r;
}
