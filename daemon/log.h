/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blknotifyd's log: stderr, with <N> priority prefixes when it is the journal. */
#ifndef BLKNOTIFYD_LOG_H
#define BLKNOTIFYD_LOG_H

#include <stdbool.h>

/* Set once at start: verbose logs debug messages; journal adds "<N>" prefixes. */
void log_setup(bool verbose, bool journal);

__attribute__((format(printf, 2, 3)))
void log_msg(int prio, const char *fmt, ...);
#define log_err(...)	log_msg(3, __VA_ARGS__)
#define log_warn(...)	log_msg(4, __VA_ARGS__)
#define log_info(...)	log_msg(6, __VA_ARGS__)
#define log_debug(...)	log_msg(7, __VA_ARGS__)

/*
 * What clients cause (connections, refusals, protocol errors) is logged at
 * most LOG_CLIENT_BURST times per LOG_CLIENT_INTERVAL seconds, then counted:
 * a local user looping on connect() must not flood the journal.
 */
#define LOG_CLIENT_BURST	20
#define LOG_CLIENT_INTERVAL	5
bool log_client_allowed(void);
#define log_client(prio, ...) do {					\
	if (log_client_allowed())					\
		log_msg(prio, __VA_ARGS__);				\
} while (0)

#endif /* BLKNOTIFYD_LOG_H */
