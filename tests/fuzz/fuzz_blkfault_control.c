// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blkfault's control channel: command lines from stdin (--control) change
 * the bad-range list that every FUSE request is checked against.
 *
 * Input: command lines separated by '\n'.  Besides memory safety, checks the
 * meaning of each command on a small device, sector by sector: a successful
 * "bad" makes exactly its sectors bad for its mode and leaves the others
 * alone, with its error where no earlier range already fails them; a
 * successful "clear" makes exactly its sectors good; a failed
 * command changes nothing; the list stays within its bound and the device.
 * The same for slow ranges: a successful "delay SPEC MS" makes exactly its
 * sectors at least MS slow, "nodelay" makes every sector fast.
 */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#define BLKFAULT_FUZZ
#include "../../tools/blkfault.c"

#include <assert.h>

#define FUZZ_SECTORS 64

static struct blkfault bf = { .bad = { .lock = PTHREAD_MUTEX_INITIALIZER } };

/* Per sector: the errno a read and a write of it fail with, 0 for none; its delay. */
struct sector_state {
	int read, write;
	uint64_t delay_ms;
};

static void snapshot(struct sector_state *state)
{
	uint64_t s;

	for (s = 0; s < FUZZ_SECTORS; s++) {
		state[s].read = bad_hit(&bf.bad, s * SECTOR_SIZE, SECTOR_SIZE, BAD_READ);
		state[s].write = bad_hit(&bf.bad, s * SECTOR_SIZE, SECTOR_SIZE, BAD_WRITE);
		state[s].delay_ms = delay_for(&bf.delays, s * SECTOR_SIZE, SECTOR_SIZE);
	}
}

/* What a successful command must have done, from our own reading of the line. */
static void expect(char *line, struct sector_state *state)
{
	char *save = NULL, *cmd = strtok_r(line, " \t\r", &save), *w;
	struct range r = { 0, FUZZ_SECTORS, 0, 0 };
	unsigned int seen = 0;
	uint64_t s;
	bool bad;

	if (cmd && !strcmp(cmd, "nodelay")) {
		for (s = 0; s < FUZZ_SECTORS; s++)
			state[s].delay_ms = 0;
		return;
	}
	if (cmd && !strcmp(cmd, "delay")) {
		struct delay d;
		char *spec = strtok_r(NULL, " \t\r", &save), *ms = strtok_r(NULL, " \t\r", &save);

		assert(spec && ms && !parse_delay(spec, ms, &d));
		for (s = d.start; s < FUZZ_SECTORS && s - d.start < d.count; s++)
			if (d.ms > state[s].delay_ms)
				state[s].delay_ms = d.ms;
		return;
	}
	if (!cmd || (strcmp(cmd, "bad") && strcmp(cmd, "clear")))
		return;
	bad = !strcmp(cmd, "bad");
	if ((w = strtok_r(NULL, " \t\r", &save)))
		assert(!parse_range(w, bad, &r, &seen));
	while ((w = strtok_r(NULL, " \t\r", &save)))
		assert(!parse_attr(w, &r, &seen));
	for (s = r.start; s < FUZZ_SECTORS && s - r.start < r.count; s++) {
		if (!bad) {
			state[s].read = state[s].write = 0;
			continue;
		}
		/* Overlapping ranges: the one added first decides. */
		if ((r.mode & BAD_READ) && !state[s].read)
			state[s].read = r.error;
		if ((r.mode & BAD_WRITE) && !state[s].write)
			state[s].write = r.error;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	/* Replies go to stdout: keep the fuzzer's output readable. */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sector_state before[FUZZ_SECTORS], after[FUZZ_SECTORS];
	char line[MAX_LINE + 1], copy[MAX_LINE + 1];
	size_t pos = 0;

	bf.size = FUZZ_SECTORS * SECTOR_SIZE;
	bf.bad.n = 0;
	bf.delays.n = 0;
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - data) - pos : size - pos;
		bool quit = false;
		const char *e;
		unsigned int i;

		/* As control_input(): longer lines never reach control_command(). */
		if (len <= MAX_LINE) {
			memcpy(line, data + pos, len);
			line[len] = '\0';
			memcpy(copy, line, len + 1);
			snapshot(before);
			e = control_command(&bf, line, &quit);
			snapshot(after);
			if (!e)
				expect(copy, before);
			assert(!memcmp(before, after, sizeof(after)));
			assert(bf.bad.n <= MAX_RANGES);
			assert(bf.delays.n <= MAX_DELAYS);
			for (i = 0; i < bf.delays.n; i++)
				assert(bf.delays.d[i].count >= 1 && bf.delays.d[i].ms <= MAX_DELAY_MS &&
				       !check_delay(&bf.delays.d[i], bf.size));
			for (i = 0; i < bf.bad.n; i++)
				assert(bf.bad.r[i].count >= 1 && bf.bad.r[i].mode &&
				       strcmp(error_name(bf.bad.r[i].error), "?") &&
				       !check_range(&bf.bad.r[i], bf.size));
		}
		pos += len + 1;
	}
	return 0;
}
