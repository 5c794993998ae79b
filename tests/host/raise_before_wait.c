// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * LD_PRELOAD for test_blkwatch.sh: make a stop signal arrive exactly in the
 * window a signal handler's flag cannot cover, after the program last looked
 * at its flag and before it blocks.  The first poll() or ppoll() that would
 * wait forever first raises RAISE_BEFORE_WAIT (a signal number) at the
 * calling process, then waits.  A program that checks a flag set by a
 * handler and then polls hangs; one that waits for the signal in the same
 * call (signalfd, or ppoll() unblocking it) returns.
 */
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int poll(struct pollfd *fds, nfds_t nfds, int timeout);
int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
	  const sigset_t *sigmask);

static void raise_once(void)
{
	static int done;
	const char *sig = getenv("RAISE_BEFORE_WAIT");
	char msg[64];
	int n;

	if (done || !sig)
		return;
	done = 1;
	/* On stderr, so the test knows the preload took effect. */
	n = snprintf(msg, sizeof(msg), "raise_before_wait: signal %d\n", atoi(sig));
	(void)!write(STDERR_FILENO, msg, n);
	raise(atoi(sig));
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	int (*real)(struct pollfd *, nfds_t, int) =
		(int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");

	if (timeout < 0)
		raise_once();
	return real(fds, nfds, timeout);
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
	  const sigset_t *sigmask)
{
	int (*real)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *) =
		(int (*)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *))
		dlsym(RTLD_NEXT, "ppoll");

	if (!timeout)
		raise_once();
	return real(fds, nfds, timeout, sigmask);
}
