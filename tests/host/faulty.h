/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real I/O errors for host tests: start tools/blkfault (a loop device over a
 * FUSE image whose chosen sectors fail), and read or write sectors of it
 * with O_DIRECT so that every access is one block request.
 *
 * BLKFAULT in the environment names the blkfault binary (meson sets it).
 */
#ifndef BLKNOTIFY_TEST_FAULTY_H
#define BLKNOTIFY_TEST_FAULTY_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

struct faulty {
	pid_t pid;
	int ctl;		/* blkfault's stdin: closing it ends blkfault */
	char path[64];		/* /dev/loopN */
	dev_t rdev;
	int fd;			/* O_DIRECT, read-write */
	FILE *out;		/* with control: blkfault's replies */
};

/*
 * Start blkfault of the given size with the given --bad arguments
 * (NULL-terminated); control: with --control, for faulty_command().
 */
static inline int faulty_start_opts(struct faulty *f, const char *size, int control,
				    const char *const *bad)
{
	const char *bin = getenv("BLKFAULT");
	const char *argv[64] = { "blkfault", "--size", size,
				 control ? "--control" : "--until-stdin-eof" };
	int in[2], out[2], argc = 4;
	char line[128];
	FILE *fp;
	struct stat st;
	unsigned int maj, min;

	memset(f, 0, sizeof(*f));
	f->fd = f->ctl = -1;
	if (!bin)
		return -ENOENT;
	for (; *bad && argc < 60; bad++) {
		argv[argc++] = "--bad";
		argv[argc++] = *bad;
	}
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	f->pid = fork();
	if (f->pid < 0)
		return -errno;
	if (f->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f->ctl = in[1];
	fp = fdopen(out[0], "r");
	if (!fp || !fgets(line, sizeof(line), fp)) {
		if (fp)
			fclose(fp);
		return -EIO;
	}
	if (control)
		f->out = fp;
	else
		fclose(fp);
	if (sscanf(line, "%63s %u:%u", f->path, &maj, &min) != 3)
		return -EIO;
	if (stat(f->path, &st) || st.st_rdev != makedev(maj, min))
		return -EIO;
	f->rdev = st.st_rdev;
	f->fd = open(f->path, O_RDWR | O_DIRECT | O_CLOEXEC);
	return f->fd < 0 ? -errno : 0;
}

static inline int faulty_start(struct faulty *f, const char *const *bad)
{
	return faulty_start_opts(f, "64M", 0, bad);
}

/* One control command (as blkfault --control reads it); 0 when the reply is "ok...". */
static inline int faulty_command(struct faulty *f, const char *cmd)
{
	char reply[512];

	if (!f->out || dprintf(f->ctl, "%s\n", cmd) < 0 || !fgets(reply, sizeof(reply), f->out))
		return -EIO;
	return strncmp(reply, "ok", 2) ? -EINVAL : 0;
}

static inline void faulty_stop(struct faulty *f)
{
	int status;

	if (f->fd >= 0)
		close(f->fd);
	if (f->ctl >= 0)
		close(f->ctl);
	if (f->out)
		fclose(f->out);
	f->out = NULL;
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, &status, 0);
	}
	f->fd = f->ctl = -1;
	f->pid = 0;
}

static inline struct faulty **faulty_exit_slot(void)
{
	static struct faulty *f;

	return &f;
}

static inline void faulty_stop_at_exit(void)
{
	faulty_stop(*faulty_exit_slot());
}

/*
 * For a test program's setup: one device for all its tests, removed when
 * the program exits.  -EPERM (test it to skip) when not root.
 */
static inline int faulty_start_for_program_opts(struct faulty *f, const char *size, int control,
						 const char *const *bad)
{
	if (geteuid() != 0)
		return -EPERM;
	*faulty_exit_slot() = f;
	atexit(faulty_stop_at_exit);
	return faulty_start_opts(f, size, control, bad);
}

static inline int faulty_start_for_program(struct faulty *f, const char *const *bad)
{
	return faulty_start_for_program_opts(f, "64M", 0, bad);
}

/* One O_DIRECT request of count sectors at sector; 0 or -errno. */
static inline int faulty_io(struct faulty *f, unsigned long long sector, unsigned int count,
			    int write)
{
	static unsigned char buf[64 * 1024] __attribute__((aligned(4096)));
	size_t len = (size_t)count * 512;
	ssize_t n;

	if (len > sizeof(buf))
		return -EINVAL;
	n = write ? pwrite(f->fd, buf, len, sector * 512) : pread(f->fd, buf, len, sector * 512);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

#endif /* BLKNOTIFY_TEST_FAULTY_H */
