// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blkfault's control channel: command lines from stdin (--control) change
 * the bad-range list that every FUSE request is checked against.
 *
 * Input: command lines separated by '\n'.  Besides memory safety, checks the
 * meaning of each command on a small device, sector by sector: a successful
 * "bad" makes exactly its sectors bad for its mode and leaves the others
 * alone; a successful "clear" makes exactly its sectors good; a failed
 * command changes nothing; the list stays within its bound and the device.
 */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#define BLKFAULT_FUZZ
#include "../../tools/blkfault.c"

#include <assert.h>

#define FUZZ_SECTORS 64

static struct blkfault bf = { .bad = { .lock = PTHREAD_MUTEX_INITIALIZER } };

static void snapshot(unsigned char *state)
{
	uint64_t s;

	for (s = 0; s < FUZZ_SECTORS; s++)
		state[s] = (bad_hit(&bf.bad, s * SECTOR_SIZE, SECTOR_SIZE, BAD_READ) ? BAD_READ : 0) |
			   (bad_hit(&bf.bad, s * SECTOR_SIZE, SECTOR_SIZE, BAD_WRITE) ? BAD_WRITE : 0);
}

/* What a successful command must have done, from our own reading of the line. */
static void expect(char *line, unsigned char *state)
{
	char *save = NULL, *cmd = strtok_r(line, " \t\r", &save);
	char *spec = strtok_r(NULL, " \t\r", &save), *mode = strtok_r(NULL, " \t\r", &save);
	struct range r = { 0, FUZZ_SECTORS, 0 };
	unsigned int m;
	uint64_t s;

	if (!cmd || (strcmp(cmd, "bad") && strcmp(cmd, "clear")))
		return;
	if (spec)
		assert(!parse_range(spec, !strcmp(cmd, "bad"), &r));
	if (mode) {
		assert(!parse_mode(mode, &m));
		r.mode = m;
	}
	for (s = r.start; s < FUZZ_SECTORS && s - r.start < r.count; s++)
		state[s] = !strcmp(cmd, "bad") ? state[s] | r.mode : 0;
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
	static unsigned char before[FUZZ_SECTORS], after[FUZZ_SECTORS];
	char line[MAX_LINE + 1], copy[MAX_LINE + 1];
	size_t pos = 0;

	bf.size = FUZZ_SECTORS * SECTOR_SIZE;
	bf.bad.n = 0;
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
			for (i = 0; i < bf.bad.n; i++)
				assert(bf.bad.r[i].count >= 1 && bf.bad.r[i].mode &&
				       !check_range(&bf.bad.r[i], bf.size));
		}
		pos += len + 1;
	}
	return 0;
}
