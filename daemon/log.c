// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "log.h"

static bool log_verbose, log_journal;

void log_setup(bool verbose, bool journal)
{
	log_verbose = verbose;
	log_journal = journal;
}

void log_msg(int prio, const char *fmt, ...)
{
	static const char *const level[] = { "emerg", "alert", "crit", "error", "warning",
					     "notice", "info", "debug" };
	char msg[1024];
	va_list ap;

	if (prio == 7 && !log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", prio, msg);
	else
		fprintf(stderr, "blknotifyd: %s%s%s\n", prio <= 4 ? level[prio] : "",
			prio <= 4 ? ": " : "", msg);
}

bool log_client_allowed(void)
{
	static time_t start;
	static unsigned int n, suppressed;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - start >= LOG_CLIENT_INTERVAL) {
		if (suppressed)
			log_msg(4, "%u messages about clients suppressed in the last %d s",
				suppressed, LOG_CLIENT_INTERVAL);
		start = now.tv_sec;
		n = suppressed = 0;
	}
	if (n < LOG_CLIENT_BURST) {
		n++;
		return true;
	}
	suppressed++;
	return false;
}
