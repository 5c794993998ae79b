// SPDX-License-Identifier: LGPL-2.1-or-later
/* The handlers' configuration keys and file names (handlers-config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <blknotify/blknotify.h>
#include "config.h"
#include "handlers-config.h"

void handlers_config_defaults(struct handlers_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", HANDLERS_DIR_DEFAULT);
	snprintf(c->state_file, sizeof(c->state_file), "%s", HANDLERS_STATE_FILE_DEFAULT);
	c->timeout_ms = HANDLERS_TIMEOUT_DEFAULT;
	c->max_running = HANDLERS_MAX_RUNNING_DEFAULT;
	c->queue_size = HANDLERS_QUEUE_DEFAULT;
	c->interval_ms = HANDLERS_INTERVAL_DEFAULT;
	c->output_max = HANDLERS_OUTPUT_DEFAULT;
	c->rate_keys = HANDLERS_RATE_KEYS_DEFAULT;
}

static const struct uint_key {
	const char *name;
	size_t offset;
	unsigned long min, max;
} uint_keys[] = {
	{ "handlers_timeout_ms", offsetof(struct handlers_config, timeout_ms), 100, 3600000 },
	{ "handlers_max_running", offsetof(struct handlers_config, max_running),
	  1, HANDLERS_MAX_RUNNING_MAX },
	{ "handlers_queue_size", offsetof(struct handlers_config, queue_size), 1, HANDLERS_QUEUE_MAX },
	{ "handlers_interval_ms", offsetof(struct handlers_config, interval_ms), 0, 86400000 },
	{ "handlers_output_max", offsetof(struct handlers_config, output_max), 0, HANDLERS_OUTPUT_MAX },
	{ "handlers_rate_keys", offsetof(struct handlers_config, rate_keys), 16, HANDLERS_RATE_KEYS_MAX },
};

/* A subtype's or a class's name: the subtypes it covers. */
static int subtypes_named(const char *name, unsigned int *first, unsigned int *last)
{
	int s = blknotify_subtype_from_name(name);

	if (s > 0) {
		*first = *last = s;
		return 0;
	}
	return blknotify_subtype_class_range(name, first, last);
}

/* "N/T": N errors in T seconds; T may end in s, m, h or d. */
static int set_rule(struct handlers_config *c, const char *key, const char *v, unsigned int line,
		    char *err, size_t err_len)
{
	const char *name = key + strlen("threshold_");
	struct threshold_rule r = { 0 };
	unsigned long n, t, mult = 1;
	char num[32], *slash, *end;
	unsigned int i;
	size_t len;

	if (!*name || strlen(name) >= sizeof(r.name) || subtypes_named(name, &r.first, &r.last)) {
		snprintf(err, err_len, "%s: \"%s\" is neither a subtype (medium, io, timeout, ...) nor "
			 "a class (error, soft, lifecycle, perf)", key, name);
		return -EINVAL;
	}
	for (i = 0; i < c->nr_rules; i++)
		if (!strcmp(c->rules[i].name, name)) {
			snprintf(err, err_len, "%s is set twice (first on line %u)", key, c->rule_line[i]);
			return -EINVAL;
		}
	if (c->nr_rules == THRESHOLD_RULES_MAX) {
		snprintf(err, err_len, "%s: more than %d threshold rules", key, THRESHOLD_RULES_MAX);
		return -EINVAL;
	}
	snprintf(num, sizeof(num), "%s", v);
	slash = strchr(num, '/');
	if (strlen(v) >= sizeof(num) || !slash) {
		snprintf(err, err_len, "%s: \"%s\" is not N/T (N errors in T seconds, for example 10/600 "
			 "or 10/10m)", key, v);
		return -EINVAL;
	}
	*slash++ = '\0';
	len = strlen(slash);
	if (len && strchr("smhd", slash[len - 1])) {
		mult = slash[len - 1] == 's' ? 1 : slash[len - 1] == 'm' ? 60 :
		       slash[len - 1] == 'h' ? 3600 : 86400;
		slash[len - 1] = '\0';
	}
	if (config_parse_uint(key, num, 10, 1, THRESHOLD_N_MAX, &n, err, err_len))
		return -EINVAL;
	if (!isdigit((unsigned char)slash[0]) || (errno = 0, t = strtoul(slash, &end, 10), errno) ||
	    *end || t == 0 || t > THRESHOLD_T_MAX / mult) {
		snprintf(err, err_len, "%s: the time in \"%s\" is not 1..%d seconds (a number, with "
			 "s, m, h or d after it if you like)", key, v, THRESHOLD_T_MAX);
		return -EINVAL;
	}
	snprintf(r.name, sizeof(r.name), "%s", name);
	r.n = n;
	r.t_s = t * mult;
	c->rule_line[c->nr_rules] = line;
	c->rules[c->nr_rules++] = r;
	return 0;
}

static int set_path(const char *key, char *dst, size_t size, const char *v, char *err, size_t err_len)
{
	if (v[0] != '/' || strlen(v) + sizeof(".tmp") > size) {
		snprintf(err, err_len, "%s: \"%s\" is not an absolute path of at most %zu bytes",
			 key, v, size - sizeof(".tmp"));
		return -EINVAL;
	}
	snprintf(dst, size, "%s", v);
	return 0;
}

static int set_key(struct handlers_config *c, const char *key, const char *v, char *err, size_t err_len)
{
	unsigned long n;
	size_t i;

	if (!strcmp(key, "handlers")) {
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1")) {
			c->enabled = true;
		} else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0")) {
			c->enabled = false;
		} else {
			snprintf(err, err_len, "handlers: \"%s\" is not one of yes, no", v);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "handlers_dir"))
		return set_path(key, c->dir, sizeof(c->dir), v, err, err_len);
	if (!strcmp(key, "handlers_state_file"))
		return set_path(key, c->state_file, sizeof(c->state_file), v, err, err_len);
	if (!strcmp(key, "handlers_user")) {
		/* A name as useradd(8) takes it, or a number; looked up when the daemon starts. */
		if (strlen(v) >= sizeof(c->user) ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(v) || v[0] == '-') {
			snprintf(err, err_len, "handlers_user: \"%s\" is not a user name or number", v);
			return -EINVAL;
		}
		snprintf(c->user, sizeof(c->user), "%s", v);
		return 0;
	}
	for (i = 0; i < sizeof(uint_keys) / sizeof(uint_keys[0]); i++) {
		if (strcmp(key, uint_keys[i].name))
			continue;
		if (config_parse_uint(key, v, 10, uint_keys[i].min, uint_keys[i].max, &n, err, err_len))
			return -EINVAL;
		*(unsigned int *)((char *)c + uint_keys[i].offset) = n;
		return 0;
	}
	return -ENOENT;
}

int handlers_config_set(struct handlers_config *c, const char *key, const char *value,
			unsigned int line, char *err, size_t err_len)
{
	static const char *const order[] = {
		"handlers", "handlers_dir", "handlers_user", "handlers_state_file",
		"handlers_timeout_ms", "handlers_max_running", "handlers_queue_size",
		"handlers_interval_ms", "handlers_output_max", "handlers_rate_keys",
	};
	int i, r;

	if (!strncmp(key, "threshold_", strlen("threshold_")))
		return set_rule(c, key, value, line, err, err_len);
	i = config_key_once(key, order, sizeof(order) / sizeof(order[0]), c->seen, err, err_len);
	if (i < 0)
		return i;
	r = set_key(c, key, value, err, err_len);
	if (r == 0)
		c->seen[i] = line;
	return r;
}

void handlers_config_print(const struct handlers_config *c, FILE *f)
{
	unsigned int i;

	fprintf(f, "handlers = %s\nhandlers_dir = %s\nhandlers_user = %s\nhandlers_state_file = %s\n"
		"handlers_timeout_ms = %u\nhandlers_max_running = %u\nhandlers_queue_size = %u\n"
		"handlers_interval_ms = %u\nhandlers_output_max = %u\nhandlers_rate_keys = %u\n",
		c->enabled ? "yes" : "no", c->dir, c->user[0] ? c->user : HANDLERS_USER_DEFAULT,
		c->state_file, c->timeout_ms, c->max_running, c->queue_size, c->interval_ms,
		c->output_max, c->rate_keys);
	for (i = 0; i < c->nr_rules; i++)
		fprintf(f, "threshold_%s = %u/%u\n", c->rules[i].name, c->rules[i].n, c->rules[i].t_s);
}

int handler_name_parse(const char *name, enum handler_kind *kind, unsigned int *first,
		       unsigned int *last)
{
	const char *dash = strchr(name, '-');
	char prefix[32];
	size_t len;

	if (!dash || dash == name || !dash[1])
		return -EINVAL;
	len = dash - name;
	if (len >= sizeof(prefix))
		return -EINVAL;
	memcpy(prefix, name, len);
	prefix[len] = '\0';
	*first = *last = 0;
	if (!strcmp(prefix, "all")) {
		*kind = HANDLER_ALL;
		return 0;
	}
	if (!strcmp(prefix, "threshold")) {
		*kind = HANDLER_THRESHOLD;
		return 0;
	}
	if (!strcmp(prefix, "loss")) {
		*kind = HANDLER_LOSS;
		return 0;
	}
	*kind = HANDLER_SUBTYPES;
	return subtypes_named(prefix, first, last) ? -EINVAL : 0;
}

bool handler_name_ignored(const char *name)
{
	static const char *const suffixes[] = {
		"~", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-tmp", ".ucf-old", ".ucf-new",
		".ucf-dist", ".swp", ".bak", ".orig", ".rej",
	};
	size_t len = strlen(name), i;

	if (name[0] == '.')
		return true;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len >= sl && !strcmp(name + len - sl, suffixes[i]))
			return true;
	}
	return false;
}
