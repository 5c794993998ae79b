// SPDX-License-Identifier: LGPL-2.1-or-later
/* The outputs' configuration keys (outputs.h, blknotifyd.conf(5) "OUTPUTS"). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <arpa/inet.h>
#include "config.h"
#include "history.h"
#include "journal.h"
#include "metrics.h"
#include "metrics-serve.h"
#include "outputs.h"
#include "sysfs.h"

void outputs_config_defaults(struct outputs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->metrics_textfile_interval_ms = OUTPUTS_TEXTFILE_INTERVAL_DEFAULT;
	c->metrics_max_devices = METRICS_MAX_DEVICES_DEFAULT;
	c->metrics_device_expiry_s = METRICS_DEVICE_EXPIRY_DEFAULT;
	c->journal_window_ms = JOURNAL_WINDOW_DEFAULT;
	c->journal_burst = JOURNAL_BURST_DEFAULT;
	c->journal_max_devices = JOURNAL_MAX_DEVICES_DEFAULT;
	handlers_config_defaults(&c->handlers);
	c->history_max_age_s = HISTORY_MAX_AGE_DEFAULT;
	c->history_max_bytes = HISTORY_MAX_BYTES_DEFAULT;
	c->history_batch = HISTORY_BATCH_DEFAULT;
	c->history_commit_ms = HISTORY_COMMIT_DEFAULT;
	c->history_queue = HISTORY_QUEUE_DEFAULT;
}

bool outputs_config_any(const struct outputs_config *c)
{
	return c->metrics_listen[0] || c->metrics_textfile_dir[0] || c->journal || c->handlers.enabled ||
	       c->history_path[0];
}

static const struct uint_key {
	const char *name;
	size_t offset;
	unsigned long min, max;
} uint_keys[] = {
	{ "metrics_textfile_interval_ms", offsetof(struct outputs_config, metrics_textfile_interval_ms),
	  1000, 3600000 },
	{ "metrics_max_devices", offsetof(struct outputs_config, metrics_max_devices),
	  1, METRICS_MAX_DEVICES_MAX },
	{ "metrics_device_expiry_s", offsetof(struct outputs_config, metrics_device_expiry_s),
	  0, 30 * 86400 },
	{ "journal_window_ms", offsetof(struct outputs_config, journal_window_ms), 100, 3600000 },
	{ "journal_burst", offsetof(struct outputs_config, journal_burst), 0, 100000 },
	{ "journal_max_devices", offsetof(struct outputs_config, journal_max_devices),
	  1, METRICS_MAX_DEVICES_MAX },
	{ "history_max_age_s", offsetof(struct outputs_config, history_max_age_s), 0, 10 * 366 * 86400 },
	{ "history_batch", offsetof(struct outputs_config, history_batch), 1, HISTORY_BATCH_MAX },
	{ "history_commit_ms", offsetof(struct outputs_config, history_commit_ms), 10, 60000 },
	{ "history_queue", offsetof(struct outputs_config, history_queue), 1, HISTORY_QUEUE_MAX },
};

static int set_uint(const struct uint_key *k, struct outputs_config *c, const char *v,
		    char *err, size_t err_len)
{
	unsigned long n;
	int r = config_parse_uint(k->name, v, 10, k->min, k->max, &n, err, err_len);

	if (r == 0)
		*(unsigned int *)((char *)c + k->offset) = n;
	return r;
}

int outputs_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon, *h = s;
	size_t hlen;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(s, ':');
	if (!colon || !colon[1])
		return -EINVAL;
	hlen = colon - s;
	if (s[0] == '[') {
		if (hlen < 2 || s[hlen - 1] != ']')
			return -EINVAL;
		h = s + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] < '0' || colon[1] > '9' || port == 0 || port > 65535)
		return -EINVAL;
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof(*a);
	}
	return 0;
}

/* A word of outputs_devices that could name a disk: its syntax only, the disk may come later. */
static bool device_word_valid(const char *w)
{
	unsigned int maj, min;
	int n = -1;

	if (w[0] == '/')
		return !strncmp(w, "/dev/", 5) && w[5];
	if (isdigit((unsigned char)w[0]))
		return sscanf(w, "%u:%u%n", &maj, &min, &n) == 2 && n == (int)strlen(w);
	/* A kernel name: what /sys/class/block holds ("sda", "nvme0n1", "cciss!c0d0"). */
	return strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.!-") ==
	       strlen(w) && strcmp(w, ".") && strcmp(w, "..");
}

int outputs_device_resolve(const char *w, __u64 *dev)
{
	unsigned int maj, min;
	char path[300];
	struct stat st;
	dev_t d, disk;
	__u64 start, end;

	if (!device_word_valid(w))
		return -EINVAL;
	if (w[0] == '/') {
		if (stat(w, &st) < 0 || !S_ISBLK(st.st_mode))
			return -ENODEV;
		d = st.st_rdev;
	} else if (isdigit((unsigned char)w[0])) {
		sscanf(w, "%u:%u", &maj, &min);
		d = makedev(maj, min);
	} else {
		snprintf(path, sizeof(path), "/sys/class/block/%s/dev", w);
		if (bn_sysfs_read_devnum(path, &d))
			return -ENODEV;
	}
	if (bn_block_extent(d, &disk, &start, &end))
		return -ENODEV;
	*dev = disk;
	return 0;
}

static int set_devices(struct outputs_config *c, const char *v, char *err, size_t err_len)
{
	char copy[sizeof(c->devices)], *save = NULL, *w;
	unsigned int n = 0;

	if (!strcmp(v, "all")) {
		c->devices[0] = '\0';
		return 0;
	}
	if (strlen(v) >= sizeof(copy)) {
		snprintf(err, err_len, "outputs_devices: longer than %zu bytes", sizeof(copy) - 1);
		return -EINVAL;
	}
	snprintf(copy, sizeof(copy), "%s", v);
	for (w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		if (++n > OUTPUTS_DEVICES_MAX) {
			snprintf(err, err_len, "outputs_devices: more than %d disks (name at most %d, "
				 "or \"all\")", OUTPUTS_DEVICES_MAX, OUTPUTS_DEVICES_MAX);
			return -EINVAL;
		}
		if (!device_word_valid(w)) {
			snprintf(err, err_len, "outputs_devices: \"%s\" is not a disk (expected a kernel "
				 "name like sda, MAJ:MIN like 8:16, or a path under /dev/; or \"all\")", w);
			return -EINVAL;
		}
	}
	snprintf(c->devices, sizeof(c->devices), "%s", v);
	return 0;
}

/* history_max_bytes: bytes, or with a K, M, G or T suffix (powers of 1024). */
static int set_max_bytes(struct outputs_config *c, const char *v, char *err, size_t err_len)
{
	static const char units[] = "KMGT";
	unsigned long long n = 0, max = 1ULL << 50;
	unsigned int shift = 0;
	const char *u;
	char *end = NULL;
	bool ok = isdigit((unsigned char)v[0]);

	if (ok) {
		errno = 0;
		n = strtoull(v, &end, 10);
		ok = !errno;
	}
	if (ok && end[0]) {
		ok = !end[1] && (u = strchr(units, end[0]));
		if (ok)
			shift = 10 * (u - units + 1);
	}
	if (ok && n > max >> shift)
		ok = false;
	n <<= shift;
	if (!ok || n < HISTORY_MAX_BYTES_MIN) {
		snprintf(err, err_len, "history_max_bytes: \"%s\" is not a size from 1M to 1024T "
			 "(bytes, or a number with K, M, G or T)", v);
		return -EINVAL;
	}
	c->history_max_bytes = n;
	return 0;
}

static int set_key(struct outputs_config *c, const char *key, const char *v, char *err, size_t err_len)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	if (!strcmp(key, "metrics_listen")) {
		if (!strcmp(v, "none")) {
			c->metrics_listen[0] = '\0';
		} else if (strlen(v) >= sizeof(c->metrics_listen) || outputs_parse_listen(v, &ss, &len)) {
			snprintf(err, err_len, "metrics_listen: \"%s\" is neither \"none\" nor ADDRESS:PORT "
				 "(for example 127.0.0.1:9713 or [::1]:9713)", v);
			return -EINVAL;
		} else {
			snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", v);
		}
	} else if (!strcmp(key, "metrics_textfile_dir")) {
		if (!strcmp(v, "none")) {
			c->metrics_textfile_dir[0] = '\0';
		} else if (v[0] != '/' || strlen(v) + sizeof("/." METRICS_TEXTFILE_NAME ".tmp") >
			   sizeof(c->metrics_textfile_dir)) {
			snprintf(err, err_len, "metrics_textfile_dir: \"%s\" is neither \"none\" nor an "
				 "absolute path of at most %zu bytes (node_exporter's "
				 "--collector.textfile.directory)", v,
				 sizeof(c->metrics_textfile_dir) - sizeof("/." METRICS_TEXTFILE_NAME ".tmp"));
			return -EINVAL;
		} else {
			snprintf(c->metrics_textfile_dir, sizeof(c->metrics_textfile_dir), "%s", v);
		}
	} else if (!strcmp(key, "journal")) {
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1")) {
			c->journal = true;
		} else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0")) {
			c->journal = false;
		} else {
			snprintf(err, err_len, "journal: \"%s\" is not one of yes, no", v);
			return -EINVAL;
		}
	} else if (!strcmp(key, "outputs_devices")) {
		return set_devices(c, v, err, err_len);
	} else if (!strcmp(key, "history_path")) {
		if (!strcmp(v, "none")) {
			c->history_path[0] = '\0';
		} else if (v[0] != '/' || strlen(v) >= sizeof(c->history_path) - sizeof("-wal")) {
			snprintf(err, err_len, "history_path: \"%s\" is neither \"none\" nor an absolute "
				 "path of at most %zu bytes", v, sizeof(c->history_path) - sizeof("-wal") - 1);
			return -EINVAL;
		} else {
			snprintf(c->history_path, sizeof(c->history_path), "%s", v);
		}
	} else if (!strcmp(key, "history_max_bytes")) {
		return set_max_bytes(c, v, err, err_len);
	} else {
		for (i = 0; i < sizeof(uint_keys) / sizeof(uint_keys[0]); i++)
			if (!strcmp(key, uint_keys[i].name))
				return set_uint(&uint_keys[i], c, v, err, err_len);
		return -ENOENT;
	}
	return 0;
}

int outputs_config_set(struct outputs_config *c, const char *key, const char *value,
		       unsigned int line, char *err, size_t err_len)
{
	static const char *const order[] = {
		"metrics_listen", "metrics_textfile_dir", "journal", "metrics_textfile_interval_ms",
		"metrics_max_devices", "metrics_device_expiry_s", "journal_window_ms",
		"journal_burst", "journal_max_devices", "outputs_devices",
		"history_path", "history_max_age_s", "history_max_bytes", "history_batch",
		"history_commit_ms", "history_queue",
	};
	int i, r;

	if ((r = handlers_config_set(&c->handlers, key, value, line, err, err_len)) != -ENOENT)
		return r;
	i = config_key_once(key, order, sizeof(order) / sizeof(order[0]), c->seen, err, err_len);
	if (i < 0)
		return i;
	r = set_key(c, key, value, err, err_len);
	if (r == 0)
		c->seen[i] = line;
	return r;
}

void outputs_config_print(const struct outputs_config *c, FILE *f)
{
	fprintf(f, "metrics_listen = %s\nmetrics_textfile_dir = %s\nmetrics_textfile_interval_ms = %u\n"
		"metrics_max_devices = %u\nmetrics_device_expiry_s = %u\njournal = %s\n"
		"journal_window_ms = %u\njournal_burst = %u\njournal_max_devices = %u\n"
		"outputs_devices = %s\n",
		c->metrics_listen[0] ? c->metrics_listen : "none",
		c->metrics_textfile_dir[0] ? c->metrics_textfile_dir : "none",
		c->metrics_textfile_interval_ms, c->metrics_max_devices, c->metrics_device_expiry_s,
		c->journal ? "yes" : "no", c->journal_window_ms, c->journal_burst,
		c->journal_max_devices, c->devices[0] ? c->devices : "all");
	handlers_config_print(&c->handlers, f);
	fprintf(f, "history_path = %s\nhistory_max_age_s = %u\nhistory_max_bytes = %llu\n"
		"history_batch = %u\nhistory_commit_ms = %u\nhistory_queue = %u\n",
		c->history_path[0] ? c->history_path : "none", c->history_max_age_s,
		c->history_max_bytes, c->history_batch, c->history_commit_ms, c->history_queue);
}
