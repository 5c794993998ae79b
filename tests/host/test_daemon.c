// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blknotifyd end to end, on real errors, with real users.
 *
 * The test starts blkfault (a loop device whose chosen sectors fail inside
 * the block layer) and blknotifyd on a private socket and configuration,
 * waits for its sd_notify READY=1, and runs monitors as separate non-root
 * users created here (useradd), each through the library's daemon source.
 * A raw-socket client speaks the protocol directly to send what no library
 * would: garbage, truncated, oversized and out-of-order messages.
 *
 * Every monitor watches only the test's device (or filters the rest out),
 * so errors elsewhere on the machine cannot disturb it.  Waits have
 * generous bounds that only decide when to give up, never what passes.
 *
 * Needs root, /dev/fuse, /dev/loop-control and a BPF-capable kernel.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <linux/blkpg.h>
#include <dirent.h>
#include <bpf/bpf.h>
#include <sys/un.h>

#include <blknotify/blknotify.h>
#include "protocol.h"
#include "faulty.h"

/* Names carry the test's pid: concurrent runs (other build directories) must not collide. */
static char PRIV_GROUP[32];	/* may watch every device */
static char READ_GROUP[32];	/* may read the test device */
static char USER_PRIV[32];	/* in PRIV_GROUP */
static char USER_READ1[32];	/* in READ_GROUP */
static char USER_READ2[32];
static char USER_DENIED[32];	/* in neither */
static char USER_DENIED2[32];
#define MAX_CLIENTS	6
#define PER_UID		3		/* max_clients_per_uid */
#define RESERVED	2		/* reserved_clients: 4 slots for unprivileged users */
#define HELLO_MS	1500		/* hello_timeout_ms */
#define IDLE_MS		3000		/* idle_timeout_ms */
#define MAX_QUEUE	4096
#define WAIT_MS		30000		/* give-up bound for anything we wait for */

static const char *const bad_ranges[] = { "1000+200", "5000+8:r", "6000+8:w", NULL };
static struct faulty dev;
static int setup_err;
static char tmpdir[32], sock_path[96], conf_path[96], notify_path[96], pin_path[96];
static int notify_fd = -1;
static pid_t daemon_pid;
static pid_t children[64];	/* monitors, ended at exit even when a test failed */
static int nr_children;

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void make_users(void)
{
	char cmd[1024];
	int r;

	snprintf(cmd, sizeof(cmd),
		 "groupadd --system %s && groupadd --system %s && "
		 "useradd --system --no-create-home --shell /usr/sbin/nologin -G %s %s && "
		 "useradd --system --no-create-home --shell /usr/sbin/nologin -G %s %s && "
		 "useradd --system --no-create-home --shell /usr/sbin/nologin -G %s %s && "
		 "useradd --system --no-create-home --shell /usr/sbin/nologin %s && "
		 "useradd --system --no-create-home --shell /usr/sbin/nologin %s",
		 PRIV_GROUP, READ_GROUP, PRIV_GROUP, USER_PRIV, READ_GROUP, USER_READ1,
		 READ_GROUP, USER_READ2, USER_DENIED, USER_DENIED2);
	r = run(cmd);
	if (r != 0) {
		fprintf(stderr, "# creating the test users failed (%d): %s\n", r, cmd);
		setup_err = -EIO;
	}
}

static void remove_users(void)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "for u in %s %s %s %s %s; do userdel $u; done 2>/dev/null; "
		 "groupdel %s 2>/dev/null; groupdel %s 2>/dev/null; true",
		 USER_PRIV, USER_READ1, USER_READ2, USER_DENIED, USER_DENIED2, PRIV_GROUP,
		 READ_GROUP);
	(void)!run(cmd);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(1);	/* meson's timeout: still remove the users, the device, the daemon */
}

/* Wait for the service manager message that contains want (READY=1). */
static int wait_notify(const char *want)
{
	struct pollfd pfd = { .fd = notify_fd, .events = POLLIN };
	char buf[512];
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, WAIT_MS) != 1)
			return -ETIMEDOUT;
		n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (strstr(buf, want))
			return 0;
	}
}

static int start_daemon(void)
{
	char notify_env[160];

	daemon_pid = fork();
	if (daemon_pid < 0)
		return -errno;
	if (daemon_pid == 0) {
		snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", notify_path);
		putenv(notify_env);
		execl(getenv("BLKNOTIFYD"), "blknotifyd", "-c", conf_path, "--source", "bpf",
		      (char *)NULL);
		_exit(127);
	}
	return wait_notify("READY=1");
}

/* SIGTERM; returns the exit status (0: clean). */
static int stop_daemon(void)
{
	int st;

	if (daemon_pid <= 0)
		return -1;
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, &st, 0);
	daemon_pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static pid_t test_pid;

/* Loop device nodes outlive the device: give them back their usual root:disk 0660. */
static void restore_node(const char *path)
{
	struct group *g = getgrnam("disk");

	if (chown(path, 0, g ? g->gr_gid : 0) || chmod(path, 0660))
		fprintf(stderr, "# cannot restore %s: %s\n", path, strerror(errno));
}

static void teardown(void)
{
	int i;

	if (getpid() != test_pid)
		return;		/* a forked monitor exiting */
	for (i = 0; i < nr_children; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
	}
	stop_daemon();
	if (dev.path[0])
		restore_node(dev.path);
	faulty_stop(&dev);
	if (notify_fd >= 0)
		close(notify_fd);
	unlink(notify_path);
	unlink(conf_path);
	if (pin_path[0]) {
		/* Unpinning detaches the program the daemon left attached. */
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", pin_path);
		(void)!run(cmd);
	}
	{
		char state[128];

		snprintf(state, sizeof(state), "%s/clients.state", tmpdir);
		unlink(state);
	}
	unlink(sock_path);
	rmdir(tmpdir);
	remove_users();
}

static void setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct group *g;
	FILE *f;

	if (geteuid() != 0) {
		setup_err = -EPERM;
		return;
	}
	if (!getenv("BLKNOTIFYD")) {
		setup_err = -ENOENT;
		return;
	}
	snprintf(PRIV_GROUP, sizeof(PRIV_GROUP), "bntd%d_priv", (int)getpid());
	snprintf(READ_GROUP, sizeof(READ_GROUP), "bntd%d_read", (int)getpid());
	snprintf(USER_PRIV, sizeof(USER_PRIV), "bntd%d_m1", (int)getpid());
	snprintf(USER_READ1, sizeof(USER_READ1), "bntd%d_m2", (int)getpid());
	snprintf(USER_READ2, sizeof(USER_READ2), "bntd%d_m3", (int)getpid());
	snprintf(USER_DENIED, sizeof(USER_DENIED), "bntd%d_deny", (int)getpid());
	snprintf(USER_DENIED2, sizeof(USER_DENIED2), "bntd%d_deny2", (int)getpid());
	test_pid = getpid();
	atexit(teardown);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	make_users();
	if (setup_err)
		return;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bntd-test.XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755)) {
		setup_err = -errno;
		return;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/blknotifyd.sock", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/blknotifyd.conf", tmpdir);
	snprintf(notify_path, sizeof(notify_path), "%s/notify", tmpdir);
	f = fopen(conf_path, "w");
	if (!f) {
		setup_err = -errno;
		return;
	}
	snprintf(pin_path, sizeof(pin_path), "/sys/fs/bpf/bntd-test-%d", (int)getpid());
	fprintf(f, "# test configuration\nsocket = %s\nsocket_mode = 0666\n"
		"privileged_groups = %s\nmax_clients = %d\nmax_queue_size = %d\n"
		"pin_path = %s\nstate_file = %s/clients.state\nrestart_grace_ms = %d\n"
		"max_clients_per_uid = %d\nreserved_clients = %d\nhello_timeout_ms = %d\n"
		"idle_timeout_ms = %d\n",
		sock_path, PRIV_GROUP, MAX_CLIENTS, MAX_QUEUE, pin_path, tmpdir, WAIT_MS,
		PER_UID, RESERVED, HELLO_MS, IDLE_MS);
	fclose(f);

	setup_err = faulty_start(&dev, bad_ranges);
	if (setup_err)
		return;
	/* The test device is readable by READ_GROUP only (besides root). */
	g = getgrnam(READ_GROUP);
	if (!g || chown(dev.path, 0, g->gr_gid) || chmod(dev.path, 0640)) {
		setup_err = -EIO;
		return;
	}

	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
	if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa))) {
		setup_err = -errno;
		return;
	}
	setup_err = start_daemon();
}
#define TEST_SETUP setup
#include "../harness.h"

static const struct bnd_client_stats *stats_for(const struct bnd_stats *s, pid_t pid);

/* Earlier tests' clients have gone; wait until the daemon has seen them go. */
static void wait_for_no_clients(void)
{
	char why[256];
	int i;

	for (i = 0; i < WAIT_MS / 50; i++) {
		struct bnd_stats *s = NULL;
		unsigned int total;
		int r = bnd_query_stats(sock_path, &s, why, sizeof(why));

		if (r == -EUSERS) {	/* the daemon has not seen them go yet */
			usleep(50 * 1000);
			continue;
		}
		if (r)
			TEST_FAIL_(1, "stats: %s", why);
		total = s->total_clients;
		free(s);
		if (total == 1)		/* the query's own connection */
			return;
		usleep(50 * 1000);
	}
	TEST_FAIL_(1, "clients of earlier tests are still connected after %d ms", WAIT_MS);
}

static void need_daemon(void)
{
	if (setup_err == -EPERM)
		SKIP("needs root");
	if (setup_err == -ENOENT)
		SKIP("BLKNOTIFYD is not set (run through meson test)");
	if (setup_err)
		TEST_FAIL_(1, "setup failed: %s", strerror(-setup_err));
	if (daemon_pid <= 0 || kill(daemon_pid, 0))
		TEST_FAIL_(1, "blknotifyd is not running (pid %d)", (int)daemon_pid);
	wait_for_no_clients();
}

/* ---- monitors: children running as other users, through the library ---- */

struct mon_spec {
	const char *user;
	dev_t dev;			/* 0: the test device */
	enum blknotify_source source;
	unsigned int size;		/* 0: default */
	unsigned int nr_watches;
	struct { bool all; unsigned int id; } watches[4];
	bool filter_id;			/* admit only records of watch filter_id_value */
	unsigned int filter_id_value;
};

struct mon_rec {
	__u32 id;
	__u32 op;
	__u64 sector;
	__s32 error;
	__u32 len;
};

struct mon_result {
	int err;			/* setup: 0 or -errno */
	char text[256];			/* setup: the library's explanation */
	int nr;				/* records of the test device */
	struct mon_rec recs[64];
	__u64 lost;			/* sum of counted loss */
	int nr_loss;			/* loss records */
	int nr_unknown_loss;		/* 8-byte loss records (count unknown) */
	int loss_before[64];		/* loss records seen before recs[i] */
	int extra;			/* records after the expected total */
	int nr_removed;			/* removal records: the daemon ended a watch */
	__u32 removed_id;
	__s32 removed_error;
	unsigned int size;		/* blknotify_queue_get_size() */
	int source;
};

struct monitor {
	pid_t pid;
	int to_child, from_child;
	struct mon_result res;
};

static int become(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return -ENOENT;
	if (initgroups(user, pw->pw_gid) || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid))
		return -errno;
	return 0;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n <= 0)
			_exit(3);
		p += n;
		len -= n;
	}
}

static int read_all(int fd, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *p = buf;
	ssize_t n;

	while (len) {
		if (poll(&pfd, 1, WAIT_MS) != 1)
			return -ETIMEDOUT;
		n = read(fd, p, len);
		if (n <= 0)
			return n ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/* Child: set the queue up, say so, wait for "read N", read, report, wait for EOF. */
static void monitor_child(const struct mon_spec *spec, int in, int out)
{
	static struct mon_result res;
	static unsigned char buf[64 * 1024];
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = spec->source,
		       .daemon_socket = sock_path);
	struct {
		struct watch_notification_filter f;
		struct watch_notification_type_filter t[1];
	} filt = {
		.f = { .nr_filters = 1 },
		.t = { { .type = WATCH_TYPE_BLOCK_NOTIFY, .subtype_filter = { ~0U },
			 .info_mask = WATCH_INFO_ID,
			 .info_filter = spec->filter_id_value << WATCH_INFO_ID__SHIFT } },
	};
	struct blknotify_queue *q = NULL;
	struct timespec t0;
	int expect, total = 0, r, fd;
	unsigned int i;

	/* Other monitors' pipe ends came along with fork(): without closing
	 * them, a monitor would never see its own pipe's end. */
	for (fd = 3; fd < 1024; fd++)
		if (fd != in && fd != out)
			close(fd);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	r = become(spec->user);
	if (!r)
		r = blknotify_queue_new(&q, &opts);
	if (!r && spec->size)
		r = blknotify_queue_set_size(q, spec->size);
	if (!r && spec->filter_id)
		r = blknotify_queue_set_filter(q, &filt.f);
	for (i = 0; !r && i < spec->nr_watches; i++)
		r = spec->watches[i].all ? blknotify_queue_watch_all(q, spec->watches[i].id) :
		    blknotify_queue_watch_device(q, spec->dev ? spec->dev : dev.rdev,
						 spec->watches[i].id);
	res.err = r;
	if (q && blknotify_queue_get_error(q))
		snprintf(res.text, sizeof(res.text), "%s", blknotify_queue_get_error(q));
	res.size = q ? blknotify_queue_get_size(q) : 0;
	res.source = q ? (int)blknotify_queue_get_source(q) : -1;
	write_all(out, &res, sizeof(res));
	if (r)
		_exit(0);
	if (read_all(in, &expect, sizeof(expect)))
		_exit(2);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (total < expect) {
		const struct watch_notification *n;
		struct timespec now;
		ssize_t len = blknotify_queue_read(q, buf, sizeof(buf), 1000);

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > WAIT_MS / 1000)
			break;
		if (len == -EAGAIN || len == -EINTR)
			continue;
		if (len < 0) {
			res.err = (int)len;
			snprintf(res.text, sizeof(res.text), "read: %s", blknotify_queue_get_error(q) ?: "");
			break;
		}
		for (n = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(n, len);
		     n = BLOCK_NOTIFY_RECORD_NEXT(n, len)) {
			const struct block_notification *b = (const void *)n;

			if (n->type == WATCH_TYPE_META &&
			    n->subtype == WATCH_META_REMOVAL_NOTIFICATION) {
				res.nr_removed++;
				res.removed_id = (n->info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT;
				if (BLOCK_NOTIFY_RECORD_LEN(n) >= BND_WATCH_REMOVAL_SIZE)
					res.removed_error = ((const struct bnd_watch_removal *)n)->error;
				total++;
				continue;
			}
			if (n->type == WATCH_TYPE_META) {
				res.nr_loss++;
				if (BLOCK_NOTIFY_RECORD_LEN(n) < BLOCK_NOTIFICATION_LOSS_SIZE) {
					res.nr_unknown_loss++;
				} else {
					res.lost += ((const struct block_notification_loss *)n)->nr_lost;
					total += ((const struct block_notification_loss *)n)->nr_lost;
				}
				continue;
			}
			if (b->dev != (spec->dev ? spec->dev : dev.rdev))
				continue;	/* another device on this machine */
			if (n->subtype >= NOTIFY_BLOCK_CLASS_LIFECYCLE_FIRST &&
			    n->subtype <= NOTIFY_BLOCK_CLASS_LIFECYCLE_LAST)
				continue;	/* attach, detach: test_lifecycle.c, daemon_lifecycle */
			if (total >= expect)
				res.extra++;
			if (res.nr < 64) {
				res.recs[res.nr] = (struct mon_rec){
					.id = (n->info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT,
					.op = b->op, .sector = b->sector, .error = b->error,
					.len = BLOCK_NOTIFY_RECORD_LEN(n) };
				res.loss_before[res.nr] = res.nr_loss;
			}
			res.nr++;
			total++;
		}
	}
	/* Nothing more may come: one short wait for records that should not exist. */
	for (;;) {
		const struct watch_notification *n;
		ssize_t len = blknotify_queue_read(q, buf, sizeof(buf), 200);

		if (len <= 0)
			break;
		for (n = (const void *)buf; BLOCK_NOTIFY_RECORD_OK(n, len);
		     n = BLOCK_NOTIFY_RECORD_NEXT(n, len))
			if (n->type != WATCH_TYPE_META &&
			    ((const struct block_notification *)n)->dev == (spec->dev ? spec->dev : dev.rdev))
				res.extra++;
	}
	write_all(out, &res, sizeof(res));
	/* Stay connected until the parent has looked at the statistics. */
	(void)!read(in, &expect, sizeof(expect));
	blknotify_queue_free(q);
	_exit(0);
}

/*
 * Fork a child running fn(arg, in, out) with a pipe each way; *to and *from
 * are the parent's ends.  The child is ended at exit if a test fails.
 */
static pid_t child_start(void (*fn)(const void *arg, int in, int out), const void *arg,
			 int *to, int *from)
{
	int down[2], up[2];
	pid_t pid;

	if (pipe2(down, O_CLOEXEC) || pipe2(up, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		fn(arg, down[0], up[1]);
		_exit(0);
	}
	if (pid > 0 && nr_children < 64)
		children[nr_children++] = pid;
	close(down[0]);
	close(up[1]);
	*to = down[1];
	*from = up[0];
	return pid;
}

static void monitor_child_fn(const void *arg, int in, int out)
{
	monitor_child(arg, in, out);
}

static void monitor_start(struct monitor *m, const struct mon_spec *spec)
{
	memset(m, 0, sizeof(*m));
	m->pid = child_start(monitor_child_fn, spec, &m->to_child, &m->from_child);
	ASSERT_GT(m->pid, 0);
	ASSERT_EQ(read_all(m->from_child, &m->res, sizeof(m->res)), 0);
}

static void monitor_go(struct monitor *m, int expect)
{
	ASSERT_EQ(write(m->to_child, &expect, sizeof(expect)), (ssize_t)sizeof(expect));
}

static void monitor_result(struct monitor *m)
{
	ASSERT_EQ(read_all(m->from_child, &m->res, sizeof(m->res)), 0);
}

static void monitor_end(struct monitor *m)
{
	int st;

	if (m->pid <= 0)
		return;
	close(m->to_child);
	close(m->from_child);
	waitpid(m->pid, &st, 0);
	for (int i = 0; i < nr_children; i++)
		if (children[i] == m->pid)
			children[i] = 0;
	m->pid = 0;
}

/* The errors every scenario causes: reads, writes, more reads (18 in all). */
struct io { __u64 sector; int write; };
static const struct io ios[] = {
	{ 1000, 0 }, { 1001, 0 }, { 1002, 0 }, { 1003, 0 }, { 1004, 0 },
	{ 1005, 0 }, { 1006, 0 }, { 1007, 0 }, { 1008, 0 }, { 1009, 0 },
	{ 6000, 1 }, { 6001, 1 }, { 6002, 1 }, { 6003, 1 }, { 6004, 1 },
	{ 5000, 0 }, { 5001, 0 }, { 5002, 0 },
};
#define NR_IOS ((int)(sizeof(ios) / sizeof(ios[0])))

static void cause_errors(int from, int to)
{
	int i;

	/* A good request first: it must produce nothing. */
	ASSERT_EQ(faulty_io(&dev, 0, 8, 0), 0);
	for (i = from; i < to; i++)
		ASSERT_EQ(faulty_io(&dev, ios[i].sector, 1, ios[i].write), -EIO);
}

static void expect_all(const struct monitor *m, unsigned int id, const char *who)
{
	int i;

	printf("# %s: %d records, %llu lost, %d extra\n", who, m->res.nr,
	       (unsigned long long)m->res.lost, m->res.extra);
	ASSERT_EQ(m->res.err, 0);
	ASSERT_EQ(m->res.nr, NR_IOS);
	ASSERT_EQ(m->res.nr_loss, 0);
	ASSERT_EQ(m->res.extra, 0);
	for (i = 0; i < NR_IOS; i++) {
		EXPECT_EQ(m->res.recs[i].sector, ios[i].sector);
		EXPECT_EQ(m->res.recs[i].op, ios[i].write ? BLOCK_NOTIFY_OP_WRITE : BLOCK_NOTIFY_OP_READ);
		EXPECT_EQ(m->res.recs[i].id, id);
		EXPECT_EQ(m->res.recs[i].error, -EIO);
		EXPECT_EQ(m->res.recs[i].len, BLOCK_NOTIFICATION_SIZE_V2);
	}
}

static const struct bnd_client_stats *stats_for(const struct bnd_stats *s, pid_t pid)
{
	__u32 i;

	for (i = 0; i < s->nr_clients; i++)
		if ((pid_t)s->clients[i].pid == pid)
			return &s->clients[i];
	return NULL;
}

/*
 * Three monitors, three users, three set-ups:
 *  1. privileged (by group), watch ID 1, no filter;
 *  2. group-readable device, two watches (IDs 2 and 3) on it, a filter
 *     admitting only watch 3's copies, source "auto" (cannot load BPF: the daemon);
 *  3. group-readable device, watch ID 200, a queue of 4, and not reading
 *     until the other two have everything.
 */
TEST(three_users_filters_sizes_and_a_stalled_reader)
{
	const struct mon_spec specs[3] = {
		{ .user = USER_PRIV, .source = BLKNOTIFY_SOURCE_DAEMON, .size = MAX_QUEUE,
		  .nr_watches = 1, .watches = { { .id = 1 } } },
		{ .user = USER_READ1, .source = BLKNOTIFY_SOURCE_AUTO, .size = 64,
		  .nr_watches = 2, .watches = { { .id = 2 }, { .id = 3 } },
		  .filter_id = true, .filter_id_value = 3 },
		{ .user = USER_READ2, .source = BLKNOTIFY_SOURCE_DAEMON, .size = 4,
		  .nr_watches = 1, .watches = { { .id = 200 } } },
	};
	struct monitor mons[3];
	struct bnd_stats *stats = NULL;
	const struct bnd_client_stats *cs;
	char why[256];
	int i;

	need_daemon();
	for (i = 0; i < 3; i++) {
		monitor_start(&mons[i], &specs[i]);
		if (mons[i].res.err)
			TEST_FAIL_(1, "monitor %d (%s): %s: %s", i + 1, specs[i].user,
				   strerror(-mons[i].res.err), mons[i].res.text);
	}
	ASSERT_EQ(mons[1].res.source, BLKNOTIFY_SOURCE_DAEMON);	/* auto, unprivileged */
	ASSERT_EQ(mons[2].res.size, 4);

	cause_errors(0, NR_IOS);
	/* Monitors 1 and 2 get everything while monitor 3 is not reading. */
	monitor_go(&mons[0], NR_IOS);
	monitor_go(&mons[1], NR_IOS);
	monitor_result(&mons[0]);
	monitor_result(&mons[1]);
	expect_all(&mons[0], 1, "privileged");
	expect_all(&mons[1], 3, "two watches, filter on watch 3");

	/* Monitor 3: the first four, then exactly the loss of the rest. */
	monitor_go(&mons[2], NR_IOS);
	monitor_result(&mons[2]);
	printf("# queue of 4: %d records, %llu lost in %d loss records, %d extra\n",
	       mons[2].res.nr, (unsigned long long)mons[2].res.lost, mons[2].res.nr_loss,
	       mons[2].res.extra);
	ASSERT_EQ(mons[2].res.err, 0);
	ASSERT_EQ(mons[2].res.nr, 4);
	ASSERT_EQ(mons[2].res.lost, NR_IOS - 4);
	ASSERT_EQ(mons[2].res.nr_unknown_loss, 0);
	ASSERT_EQ(mons[2].res.extra, 0);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(mons[2].res.recs[i].sector, ios[i].sector);
		EXPECT_EQ(mons[2].res.recs[i].id, 200);
		EXPECT_EQ(mons[2].res.loss_before[i], 0);	/* loss comes after them */
	}

	/* The operator's view (what blkwatch --stats shows). */
	ASSERT_EQ(bnd_query_stats(sock_path, &stats, why, sizeof(why)), 0);
	ASSERT_EQ(stats->source, BLKNOTIFY_SOURCE_BPF);
	ASSERT_GE(stats->upstream_records, NR_IOS);
	cs = stats_for(stats, mons[2].pid);
	if (!cs)
		TEST_FAIL_(1, "no statistics for monitor 3 (pid %d)", (int)mons[2].pid);
	EXPECT_EQ(cs->lost, NR_IOS - 4);
	EXPECT_EQ(cs->delivered, 4);
	EXPECT_EQ(cs->queue_size, 4);
	cs = stats_for(stats, mons[1].pid);
	if (!cs)
		TEST_FAIL_(1, "no statistics for monitor 2 (pid %d)", (int)mons[1].pid);
	/* Two watches match each error; the filter keeps one copy. */
	EXPECT_EQ(cs->delivered, NR_IOS);
	EXPECT_EQ(cs->lost, 0);
	EXPECT_EQ(cs->nr_watches, 2);
	free(stats);

	/* The same through blkwatch --stats, the operator's command. */
	{
		char cmd[512], line[256];
		unsigned int id, pid, uid, nw, size, held;
		unsigned long long delivered, lost;
		bool found = false;
		FILE *p;

		snprintf(cmd, sizeof(cmd), "'%s' --stats --socket '%s'", getenv("BLKWATCH"),
			 sock_path);
		p = popen(cmd, "r");
		ASSERT_TRUE(p != NULL);
		while (fgets(line, sizeof(line), p))
			if (sscanf(line, "%u %u %u %u %u %u %llu %llu", &id, &pid, &uid, &nw,
				   &size, &held, &delivered, &lost) == 8 &&
			    pid == (unsigned int)mons[2].pid) {
				found = true;
				EXPECT_EQ(delivered, 4);
				EXPECT_EQ(lost, NR_IOS - 4);
				EXPECT_EQ(size, 4);
			}
		ASSERT_EQ(pclose(p), 0);
		ASSERT_TRUE(found);
	}
	for (i = 0; i < 3; i++)
		monitor_end(&mons[i]);
}

/*
 * A storm: thousands of errors while one monitor reads and one does not.
 * The stalled one holds exactly its queue's worth and is told, exactly, of
 * the rest; the reader's records and loss add up to every error.
 */
TEST(storm_isolation_and_exact_loss)
{
	const struct mon_spec reader = {
		.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON, .size = MAX_QUEUE,
		.nr_watches = 1, .watches = { { .id = 31 } } };
	const struct mon_spec stalled = {
		.user = USER_READ2, .source = BLKNOTIFY_SOURCE_DAEMON, .size = 64,
		.nr_watches = 1, .watches = { { .id = 32 } } };
	enum { N = 5000 };
	struct monitor r, st;
	struct timespec t0, t1;
	double secs;
	int i;

	need_daemon();
	monitor_start(&r, &reader);
	monitor_start(&st, &stalled);
	ASSERT_EQ(r.res.err, 0);
	ASSERT_EQ(st.res.err, 0);
	monitor_go(&r, N);	/* reads while the storm runs */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N; i++)
		ASSERT_EQ(faulty_io(&dev, 1000 + i % 200, 1, 0), -EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	monitor_result(&r);
	monitor_go(&st, N);
	monitor_result(&st);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# %d errors in %.2f s (%.0f/s): reader %d records + %llu lost; "
	       "stalled (64) %d records + %llu lost in %d loss records\n", N, secs, N / secs,
	       r.res.nr, (unsigned long long)r.res.lost, st.res.nr,
	       (unsigned long long)st.res.lost, st.res.nr_loss);
	ASSERT_EQ(r.res.err, 0);
	ASSERT_EQ(r.res.nr + (int)r.res.lost, N);
	ASSERT_EQ(r.res.extra, 0);
	ASSERT_EQ(st.res.err, 0);
	ASSERT_EQ(st.res.nr, 64);
	ASSERT_EQ(st.res.lost, N - 64);
	ASSERT_EQ(st.res.extra, 0);
	for (i = 0; i < 64; i++)
		EXPECT_EQ(st.res.recs[i].sector, 1000 + i % 200);
	monitor_end(&r);
	monitor_end(&st);
}

TEST(policy_refusals_are_clear)
{
	const struct mon_spec denied = {
		.user = USER_DENIED, .source = BLKNOTIFY_SOURCE_DAEMON,
		.nr_watches = 1, .watches = { { .id = 5 } } };
	const struct mon_spec not_all = {
		.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON,
		.nr_watches = 1, .watches = { { .all = true, .id = 5 } } };
	const struct mon_spec all = {
		.user = USER_PRIV, .source = BLKNOTIFY_SOURCE_DAEMON, .size = MAX_QUEUE,
		.nr_watches = 1, .watches = { { .all = true, .id = 5 } } };
	struct monitor m;

	need_daemon();
	monitor_start(&m, &denied);
	printf("# %s: %s\n", USER_DENIED, m.res.text);
	EXPECT_EQ(m.res.err, -EACCES);
	EXPECT_TRUE(strstr(m.res.text, dev.path) != NULL);
	EXPECT_TRUE(strstr(m.res.text, "may not read") != NULL);
	monitor_end(&m);

	monitor_start(&m, &not_all);
	printf("# %s, every device: %s\n", USER_READ1, m.res.text);
	EXPECT_EQ(m.res.err, -EACCES);
	EXPECT_TRUE(strstr(m.res.text, "watching every device needs root or membership in "
				       "privileged_groups") != NULL);
	EXPECT_TRUE(strstr(m.res.text, PRIV_GROUP) != NULL);
	monitor_end(&m);

	/* A member of a privileged group may watch every device. */
	monitor_start(&m, &all);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(faulty_io(&dev, 1120, 1, 0), -EIO);
	monitor_go(&m, 1);
	monitor_result(&m);
	ASSERT_EQ(m.res.err, 0);
	if (m.res.nr_loss) {
		/* Errors elsewhere on the machine overflowed the queue: loss was reported. */
		printf("# every device: %llu lost to other devices' errors\n",
		       (unsigned long long)m.res.lost);
	} else {
		ASSERT_EQ(m.res.nr, 1);
		EXPECT_EQ(m.res.recs[0].sector, 1120);
		EXPECT_EQ(m.res.recs[0].id, 5);
	}
	monitor_end(&m);
}

/*
 * A loop device over a file, with two partitions [2048, 10240) and
 * [10240, 18432) added by BLKPG (this host's kernel parses no partition
 * tables; BLKPG works everywhere).
 */
static int make_partitioned(char *disk, size_t len, const char *image)
{
	static const long long parts[2][2] = { { 2048, 8192 }, { 10240, 8192 } };
	char cmd[256];
	FILE *p;
	int fd, i, r = 0;

	fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 16 << 20)) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "losetup --find --partscan --show %s", image);
	p = popen(cmd, "r");
	if (!p || !fgets(disk, len, p)) {
		if (p)
			pclose(p);
		return -EIO;
	}
	pclose(p);
	disk[strcspn(disk, "\n")] = '\0';
	fd = open(disk, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (i = 0; i < 2 && !r; i++) {
		struct blkpg_partition part = {
			.start = parts[i][0] * 512, .length = parts[i][1] * 512, .pno = i + 1,
		};
		struct blkpg_ioctl_arg arg = {
			.op = BLKPG_ADD_PARTITION, .datalen = sizeof(part), .data = &part,
		};

		if (ioctl(fd, BLKPG, &arg))
			r = -errno;
	}
	close(fd);
	return r;
}

/*
 * device_access = readable, with partitions: a user who may read a
 * partition's node (not the disk's) may watch that partition -- its range of
 * the disk -- and nothing else of the disk.
 */
TEST(readable_partition_but_not_its_disk)
{
	char disk[64] = "", p1[80], p2[80], image[128], cmd[160];
	struct stat st1, st2, std;
	struct group *g;
	struct monitor m;
	int i, r;

	need_daemon();
	snprintf(image, sizeof(image), "%s/parts.img", tmpdir);
	r = make_partitioned(disk, sizeof(disk), image);
	if (r) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null", disk);
		if (disk[0])
			(void)!run(cmd);
		unlink(image);
		TEST_FAIL_(1, "a partitioned loop device: %s", strerror(-r));
	}
	snprintf(p1, sizeof(p1), "%sp1", disk);
	snprintf(p2, sizeof(p2), "%sp2", disk);
	for (i = 0; i < WAIT_MS / 20 && (stat(p1, &st1) || stat(p2, &st2)); i++)
		usleep(20 * 1000);	/* devtmpfs makes the nodes as the kernel scans */
	g = getgrnam(READ_GROUP);
	r = stat(disk, &std) || stat(p1, &st1) || stat(p2, &st2) || !g ||
	    chown(p1, 0, g->gr_gid) || chmod(p1, 0640) || chmod(p2, 0600) || chmod(disk, 0600);
	if (!r) {
		const struct mon_spec part1 = {
			.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON, .dev = st1.st_rdev,
			.nr_watches = 1, .watches = { { .id = 1 } } };
		const struct mon_spec part2 = {
			.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON, .dev = st2.st_rdev,
			.nr_watches = 1, .watches = { { .id = 2 } } };
		const struct mon_spec whole = {
			.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON, .dev = std.st_rdev,
			.nr_watches = 1, .watches = { { .id = 3 } } };

		monitor_start(&m, &part1);
		printf("# %s, %s (readable): %s\n", USER_READ1, p1, m.res.err ? m.res.text : "watching");
		EXPECT_EQ(m.res.err, 0);
		monitor_end(&m);
		monitor_start(&m, &part2);
		printf("# %s, %s: %s\n", USER_READ1, p2, m.res.text);
		EXPECT_EQ(m.res.err, -EACCES);
		EXPECT_TRUE(strstr(m.res.text, "nor a partition holding sectors 10240..18431") != NULL);
		monitor_end(&m);
		monitor_start(&m, &whole);
		printf("# %s, %s: %s\n", USER_READ1, disk, m.res.text);
		EXPECT_EQ(m.res.err, -EACCES);
		monitor_end(&m);
	}
	restore_node(disk);
	restore_node(p1);
	restore_node(p2);
	snprintf(cmd, sizeof(cmd), "losetup -d %s", disk);
	(void)!run(cmd);
	unlink(image);
	ASSERT_EQ(r, 0);
}

/* ---- the raw client ---- */

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Receive one message; returns its length, 0 on EOF, -ETIMEDOUT. */
static ssize_t raw_recv(int fd, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, WAIT_MS) != 1)
		return -ETIMEDOUT;
	return recv(fd, buf, len, 0);
}

static size_t raw_msg(void *buf, unsigned int type, __u32 seq, const void *body, size_t body_len)
{
	memcpy(bnd_msg_init(buf, type, seq, body_len), body, body_len);
	return sizeof(struct bnd_hdr) + body_len;
}

static void raw_hello(int fd)
{
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	struct bnd_hello h = { .version = BND_VERSION };
	struct bnd_msg m;
	char why[256];
	ssize_t n;

	ASSERT_GT(send(fd, buf, raw_msg(buf, BND_HELLO, 1, &h, sizeof(h)), 0), 0);
	n = raw_recv(fd, buf, sizeof(buf));
	ASSERT_GT(n, 0);
	ASSERT_EQ(bnd_parse(buf, n, BND_TO_CLIENT, &m, why, sizeof(why)), 0);
	ASSERT_EQ(m.type, BND_HELLO_REPLY);
}

/*
 * Send msg (len bytes) and expect an ERROR with error, then (if hangup) the
 * end of the connection.
 */
static void expect_error(int fd, const void *msg, size_t len, int error, bool hangup,
			 const char *what)
{
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	struct bnd_msg m;
	char why[256];
	ssize_t n;

	ASSERT_EQ(send(fd, msg, len, MSG_NOSIGNAL), (ssize_t)len);
	n = raw_recv(fd, buf, sizeof(buf));
	if (n <= 0)
		TEST_FAIL_(1, "%s: no ERROR reply (%zd)", what, n);
	ASSERT_EQ(bnd_parse(buf, n, BND_TO_CLIENT, &m, why, sizeof(why)), 0);
	if (m.type != BND_ERROR)
		TEST_FAIL_(1, "%s: got %s, not ERROR", what, bnd_type_name(m.type));
	printf("# %s: %s (%s)\n", what, strerror(-m.error->error), m.error->text);
	EXPECT_EQ(m.error->error, error);
	if (hangup)
		EXPECT_EQ(raw_recv(fd, buf, sizeof(buf)), 0);
}

TEST(malformed_messages_leave_the_daemon_and_others_running)
{
	const struct mon_spec spec = {
		.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON,
		.nr_watches = 1, .watches = { { .id = 7 } } };
	unsigned char msg[4096] __attribute__((aligned(8)));
	struct bnd_add_watch w = { .id = 1, .dev = dev.rdev, .end = ~0ULL };
	struct bnd_set_size sz = { .nr_records = 8 };
	struct bnd_ack ack = { .nr_records = 1 };
	struct bnd_hello hello = { .version = BND_VERSION };
	struct monitor m;
	size_t len;
	int fd, i;

	need_daemon();
	monitor_start(&m, &spec);
	ASSERT_EQ(m.res.err, 0);

	/* Garbage: bad magic. */
	fd = raw_connect();
	ASSERT_GE(fd, 0);
	memset(msg, 0xa5, 64);
	expect_error(fd, msg, 64, -EBADMSG, true, "garbage");
	close(fd);
	/* Shorter than a header. */
	fd = raw_connect();
	len = raw_msg(msg, BND_HELLO, 1, &hello, sizeof(hello));
	expect_error(fd, msg, 8, -EBADMSG, true, "truncated header");
	close(fd);
	/* Header longer than the message (truncated body). */
	fd = raw_connect();
	expect_error(fd, msg, len - 4, -EBADMSG, true, "truncated body");
	close(fd);
	/* Over the request limit. */
	fd = raw_connect();
	memset(msg, 0, sizeof(msg));
	raw_msg(msg, BND_HELLO, 1, &hello, sizeof(hello));
	expect_error(fd, msg, 2000, -EMSGSIZE, true, "oversized");
	close(fd);
	/* Another protocol version. */
	fd = raw_connect();
	len = raw_msg(msg, BND_HELLO, 1, &hello, sizeof(hello));
	((struct bnd_hdr *)msg)->version = 99;
	expect_error(fd, msg, len, -EPROTONOSUPPORT, true, "version 99");
	close(fd);
	/* Out of order: a watch before HELLO. */
	fd = raw_connect();
	len = raw_msg(msg, BND_ADD_WATCH, 1, &w, sizeof(w));
	expect_error(fd, msg, len, -EPROTO, true, "ADD_WATCH before HELLO");
	close(fd);
	/* HELLO twice. */
	fd = raw_connect();
	raw_hello(fd);
	len = raw_msg(msg, BND_HELLO, 2, &hello, sizeof(hello));
	expect_error(fd, msg, len, -EPROTO, true, "second HELLO");
	close(fd);
	/* Acknowledging records never sent. */
	fd = raw_connect();
	raw_hello(fd);
	len = raw_msg(msg, BND_ACK, 2, &ack, sizeof(ack));
	expect_error(fd, msg, len, -EPROTO, true, "ACK of unsent records");
	close(fd);
	/* Recoverable: an unknown type, a size after a watch; the connection stays. */
	fd = raw_connect();
	raw_hello(fd);
	len = raw_msg(msg, 0x50, 2, "", 0);
	expect_error(fd, msg, len, -EOPNOTSUPP, false, "unknown type");
	len = raw_msg(msg, BND_ADD_WATCH, 3, &w, sizeof(w));
	ASSERT_EQ(send(fd, msg, len, 0), (ssize_t)len);
	ASSERT_GT(raw_recv(fd, msg, sizeof(msg)), 0);
	ASSERT_EQ(((struct bnd_hdr *)msg)->type, BND_OK);
	len = raw_msg(msg, BND_SET_SIZE, 4, &sz, sizeof(sz));
	expect_error(fd, msg, len, -EBUSY, false, "SET_SIZE after a watch");
	len = raw_msg(msg, BND_GET_STATS, 5, "", 0);
	ASSERT_EQ(send(fd, msg, len, 0), (ssize_t)len);
	ASSERT_GT(raw_recv(fd, msg, sizeof(msg)), 0);
	ASSERT_EQ(((struct bnd_hdr *)msg)->type, BND_STATS);
	close(fd);

	/* The daemon is still up and the monitor still gets new errors. */
	ASSERT_EQ(kill(daemon_pid, 0), 0);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(faulty_io(&dev, 1100 + i, 1, 0), -EIO);
	monitor_go(&m, 2);
	monitor_result(&m);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(m.res.nr, 2);
	EXPECT_EQ(m.res.recs[0].sector, 1100);
	EXPECT_EQ(m.res.recs[1].sector, 1101);
	EXPECT_EQ(m.res.recs[0].id, 7);
	EXPECT_EQ(m.res.nr_loss, 0);
	monitor_end(&m);
}

TEST(client_limit_is_refused_clearly)
{
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	int fds[MAX_CLIENTS + 1], i, nr = 0;
	struct bnd_msg m;
	char why[256];
	ssize_t n;

	need_daemon();
	/* Each connection is accepted in order; once HELLO is answered it counts. */
	for (i = 0; i < MAX_CLIENTS; i++) {
		fds[nr] = raw_connect();
		ASSERT_GE(fds[nr], 0);
		nr++;
		raw_hello(fds[i]);
	}
	/* One too many: the refusal comes unasked, as soon as it is accepted. */
	fds[nr] = raw_connect();
	ASSERT_GE(fds[nr], 0);
	n = raw_recv(fds[nr], buf, sizeof(buf));
	ASSERT_GT(n, 0);
	ASSERT_EQ(bnd_parse(buf, n, BND_TO_CLIENT, &m, why, sizeof(why)), 0);
	ASSERT_EQ(m.type, BND_ERROR);
	printf("# client %d: %s\n", MAX_CLIENTS + 1, m.error->text);
	EXPECT_EQ(m.error->error, -EUSERS);
	EXPECT_TRUE(strstr(m.error->text, "at most 6 clients") != NULL);
	EXPECT_TRUE(strstr(m.error->text, "set max_clients in ") != NULL);
	nr++;
	for (i = 0; i < nr; i++)
		close(fds[i]);
}

/* After a restart, wait until the monitor (pid) has reconnected and taken its queue back. */
static void wait_for_monitor(pid_t pid)
{
	char why[256];
	int i;

	for (i = 0; i < WAIT_MS / 50; i++) {
		struct bnd_stats *s = NULL;
		const struct bnd_client_stats *cs;
		bool back;

		if (bnd_query_stats(sock_path, &s, why, sizeof(why)))
			TEST_FAIL_(1, "stats: %s", why);
		cs = stats_for(s, pid);
		back = cs && cs->nr_watches == 1;
		free(s);
		if (back)
			return;
		usleep(50 * 1000);
	}
	TEST_FAIL_(1, "monitor %d did not come back within %d ms", (int)pid, WAIT_MS);
}

/*
 * The daemon stops (SIGTERM, as for an upgrade) and comes back while a
 * monitor runs.  Its BPF source stays pinned, attached and queueing; the
 * monitor's library reconnects by itself and takes its queue back.  Errors
 * from before, during and after the restart all arrive, in order, once,
 * with no loss.
 */
TEST(restart_delivers_what_happened_meanwhile)
{
	const struct mon_spec spec = {
		.user = USER_READ2, .source = BLKNOTIFY_SOURCE_DAEMON,
		.nr_watches = 1, .watches = { { .id = 9 } } };
	struct monitor m;
	int i;

	need_daemon();
	monitor_start(&m, &spec);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(faulty_io(&dev, 1150, 1, 0), -EIO);
	ASSERT_EQ(stop_daemon(), 0);		/* SIGTERM: a clean exit */
	ASSERT_EQ(access(sock_path, F_OK), -1);	/* and its socket removed */
	ASSERT_EQ(faulty_io(&dev, 1151, 1, 0), -EIO);
	ASSERT_EQ(faulty_io(&dev, 1152, 1, 1), -EIO);
	ASSERT_EQ(start_daemon(), 0);
	/* The monitor's first read after the restart reconnects; wait until it has. */
	monitor_go(&m, 4);
	wait_for_monitor(m.pid);
	ASSERT_EQ(faulty_io(&dev, 1153, 1, 0), -EIO);
	monitor_result(&m);
	printf("# across a restart: %d records, %d loss records (%d of unknown count)\n",
	       m.res.nr, m.res.nr_loss, m.res.nr_unknown_loss);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(m.res.nr, 4);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(m.res.recs[i].sector, 1150 + i);
		EXPECT_EQ(m.res.recs[i].id, 9);
	}
	EXPECT_EQ(m.res.recs[2].op, BLOCK_NOTIFY_OP_WRITE);
	EXPECT_EQ(m.res.nr_loss, 0);
	EXPECT_EQ(m.res.extra, 0);
	monitor_end(&m);
}

/*
 * The daemon is killed (SIGKILL: no state written at exit) and restarted.
 * What it had read but not sent died with it, so the monitor is told of a
 * gap (a loss record of unknown count) -- then gets the errors that happened
 * while no daemon ran, which waited in the pinned source, and the later ones.
 */
TEST(crash_is_a_reported_gap_then_everything)
{
	const struct mon_spec spec = {
		.user = USER_READ2, .source = BLKNOTIFY_SOURCE_DAEMON,
		.nr_watches = 1, .watches = { { .id = 11 } } };
	struct monitor m;
	int st;

	need_daemon();
	monitor_start(&m, &spec);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(faulty_io(&dev, 1170, 1, 0), -EIO);
	/* Let the daemon hand 1170 over before it dies: wait for its stats to show it. */
	for (int i = 0; i < WAIT_MS / 50; i++) {
		struct bnd_stats *s = NULL;
		char why[256];
		__u64 held = 0;

		if (bnd_query_stats(sock_path, &s, why, sizeof(why)))
			TEST_FAIL_(1, "stats: %s", why);
		if (stats_for(s, m.pid))
			held = stats_for(s, m.pid)->queued;
		free(s);
		if (held == 1)
			break;
		usleep(50 * 1000);
	}
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, &st, 0);
	daemon_pid = 0;
	unlink(sock_path);
	ASSERT_EQ(faulty_io(&dev, 1171, 1, 0), -EIO);
	ASSERT_EQ(start_daemon(), 0);
	monitor_go(&m, 3);
	wait_for_monitor(m.pid);
	ASSERT_EQ(faulty_io(&dev, 1172, 1, 0), -EIO);
	monitor_result(&m);
	printf("# across a crash: %d records, %d loss records (%d of unknown count)\n",
	       m.res.nr, m.res.nr_loss, m.res.nr_unknown_loss);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(m.res.nr, 3);
	EXPECT_EQ(m.res.recs[0].sector, 1170);
	EXPECT_EQ(m.res.recs[1].sector, 1171);
	EXPECT_EQ(m.res.recs[2].sector, 1172);
	EXPECT_EQ(m.res.loss_before[0], 0);
	EXPECT_EQ(m.res.loss_before[1], 1);	/* the gap, before what the pin kept */
	EXPECT_EQ(m.res.nr_unknown_loss, 1);
	EXPECT_EQ(m.res.extra, 0);
	monitor_end(&m);
}

/*
 * The daemon's source watches only the disks its clients watch, and every
 * device while someone watches every device.  Across those changes a
 * monitor gets each of its errors exactly once.
 */
TEST(source_follows_the_watches)
{
	const struct mon_spec spec = {
		.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON,
		.nr_watches = 1, .watches = { { .id = 4 } } };
	unsigned char msg[BND_MSG_MAX] __attribute__((aligned(8)));
	struct bnd_hello h = { .version = BND_VERSION };
	struct bnd_add_watch all = { .id = 1, .dev = 0, .start = 0, .end = ~0ULL };
	struct bnd_remove_watch rm = { .id = 1 };
	struct bnd_stats *s = NULL;
	char why[256];
	__u64 before;
	struct monitor m;
	size_t len;
	int fd, i;

	need_daemon();
	monitor_start(&m, &spec);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(bnd_query_stats(sock_path, &s, why, sizeof(why)), 0);
	before = s->upstream_records;
	free(s);

	fd = raw_connect();
	ASSERT_GE(fd, 0);
	len = raw_msg(msg, BND_HELLO, 1, &h, sizeof(h));
	ASSERT_EQ(send(fd, msg, len, 0), (ssize_t)len);
	ASSERT_GT(raw_recv(fd, msg, sizeof(msg)), 0);
	len = raw_msg(msg, BND_ADD_WATCH, 2, &all, sizeof(all));
	ASSERT_EQ(send(fd, msg, len, 0), (ssize_t)len);
	ASSERT_GT(raw_recv(fd, msg, sizeof(msg)), 0);
	ASSERT_EQ(((struct bnd_hdr *)msg)->type, BND_OK);
	ASSERT_EQ(faulty_io(&dev, 1160, 1, 0), -EIO);
	len = raw_msg(msg, BND_REMOVE_WATCH, 3, &rm, sizeof(rm));
	ASSERT_EQ(send(fd, msg, len, 0), (ssize_t)len);
	for (i = 0; i < 1000; i++) {	/* records may come before the OK */
		ASSERT_GT(raw_recv(fd, msg, sizeof(msg)), 0);
		if (((struct bnd_hdr *)msg)->type != BND_RECORDS)
			break;
	}
	ASSERT_EQ(((struct bnd_hdr *)msg)->type, BND_OK);
	close(fd);
	ASSERT_EQ(faulty_io(&dev, 1161, 1, 0), -EIO);

	monitor_go(&m, 2);
	monitor_result(&m);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(m.res.nr, 2);
	EXPECT_EQ(m.res.recs[0].sector, 1160);
	EXPECT_EQ(m.res.recs[1].sector, 1161);
	EXPECT_EQ(m.res.recs[0].id, 4);
	EXPECT_EQ(m.res.recs[1].id, 4);
	EXPECT_EQ(m.res.extra, 0);
	EXPECT_EQ(m.res.nr_loss, 0);
	monitor_end(&m);

	/* With only the test device watched, the daemon read our two and
	 * whatever else failed on it: nothing of other disks' storms. */
	ASSERT_EQ(bnd_query_stats(sock_path, &s, why, sizeof(why)), 0);
	printf("# source records while watching one disk (and briefly all): %llu\n",
	       (unsigned long long)(s->upstream_records - before));
	free(s);
}

/*
 * blkwatch as an unprivileged user with the default source: "auto" finds it
 * may not load BPF and goes through the daemon; it prints our errors with
 * the watch ID it asked for.
 */
TEST(blkwatch_through_the_daemon)
{
	const char *bin = getenv("BLKWATCH");
	char line[1024] = "", out[2][1024];
	int o[2], e[2], st, i;
	FILE *fo, *fe;
	pid_t pid;

	need_daemon();
	if (!bin)
		SKIP("BLKWATCH is not set (run through meson test)");
	ASSERT_EQ(pipe2(o, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(e, O_CLOEXEC), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		if (become(USER_READ1))
			_exit(126);
		execl(bin, "blkwatch", "--socket", sock_path, "--device", dev.path, "--id", "21",
		      "--count", "2", "--json", (char *)NULL);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	fo = fdopen(o[0], "r");
	fe = fdopen(e[0], "r");
	/* blkwatch says on stderr when its source is attached. */
	while (fgets(line, sizeof(line), fe) && !strstr(line, "watching"))
		printf("# blkwatch: %s", line);
	printf("# blkwatch: %s", line);
	ASSERT_TRUE(strstr(line, "through the daemon source") != NULL);
	ASSERT_EQ(faulty_io(&dev, 1180, 1, 0), -EIO);
	ASSERT_EQ(faulty_io(&dev, 1181, 1, 1), -EIO);
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(fgets(out[i], sizeof(out[i]), fo) != NULL);
		printf("# %s", out[i]);
	}
	EXPECT_TRUE(strstr(out[0], "\"sector\":1180,\"id\":21") != NULL);
	EXPECT_TRUE(strstr(out[1], "\"sector\":1181,\"id\":21") != NULL);
	EXPECT_TRUE(strstr(out[1], "\"op\":\"write\"") != NULL);
	waitpid(pid, &st, 0);
	fclose(fo);
	fclose(fe);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* Send one request and return the type of its reply (records before it are skipped). */
static unsigned int raw_request(int fd, unsigned int type, __u32 seq, const void *body,
				size_t body_len, int *error)
{
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	size_t len = raw_msg(buf, type, seq, body, body_len);
	struct bnd_msg m;
	char why[256];
	ssize_t n;

	*error = 0;
	if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		return 0;
	for (;;) {
		n = raw_recv(fd, buf, sizeof(buf));
		if (n <= 0 || bnd_parse(buf, n, BND_TO_CLIENT, &m, why, sizeof(why)))
			return 0;
		if (m.type == BND_RECORDS)
			continue;
		if (m.type == BND_ERROR) {
			*error = m.error->error;
			printf("# %s: %s\n", bnd_type_name(type), m.error->text);
		}
		return m.type;
	}
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * A state file that cannot be written (here its temporary name is a link to
 * /dev/full: every write fails with ENOSPC, as on a full /run) costs the
 * daemon nothing: no file descriptor stays open per failed save.
 */
TEST(failed_state_writes_leak_no_fd)
{
	struct bnd_hello h = { .version = BND_VERSION };
	struct bnd_add_watch w = { .id = 1, .dev = dev.rdev, .end = ~0ULL };
	struct bnd_remove_watch rm = { .id = 1 };
	char tmp[160];
	int fd, before, after, i, j, err;

	need_daemon();
	snprintf(tmp, sizeof(tmp), "%s/clients.state.tmp", tmpdir);
	before = count_fds(daemon_pid);
	ASSERT_GT(before, 0);
	fd = raw_connect();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(raw_request(fd, BND_HELLO, 1, &h, sizeof(h), &err), BND_HELLO_REPLY);
	for (i = 0; i < 10; i++) {
		struct stat st;

		unlink(tmp);
		ASSERT_EQ(symlink("/dev/full", tmp), 0);
		ASSERT_EQ(raw_request(fd, BND_ADD_WATCH, 2 + 2 * i, &w, sizeof(w), &err), BND_OK);
		ASSERT_EQ(raw_request(fd, BND_REMOVE_WATCH, 3 + 2 * i, &rm, sizeof(rm), &err), BND_OK);
		/* The daemon removes the temporary name after a failed write. */
		for (j = 0; j < WAIT_MS / 10 && lstat(tmp, &st) == 0; j++)
			usleep(10 * 1000);
		ASSERT_EQ(lstat(tmp, &st), -1);
	}
	close(fd);
	wait_for_no_clients();
	/* The last stats query's connection may still be open for a moment. */
	for (j = 0; j < 100 && (after = count_fds(daemon_pid)) > before; j++)
		usleep(10 * 1000);
	printf("# daemon fds: %d before, %d after 10 failed state writes\n", before, after);
	ASSERT_LE(after, before);
}

/*
 * ADD_WATCH is answered OK only when the source watches the disk.  Here the
 * source cannot change its watches (a second daemon whose pinned BPF config
 * map is frozen: every update from user space fails with EPERM), and the
 * client must hear so instead of waiting for records that never come.
 */
TEST(add_watch_reports_a_source_that_cannot_watch)
{
	char path[96], conf[128], pin[128], map[160], cmd[200];
	struct bnd_hello h = { .version = BND_VERSION };
	struct bnd_add_watch w = { .id = 1, .dev = dev.rdev, .end = ~0ULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int i, fd = -1, mfd, status, err = 0;
	unsigned int type;
	FILE *f;
	pid_t pid;

	need_daemon();
	snprintf(path, sizeof(path), "%s/frozen.sock", tmpdir);
	snprintf(conf, sizeof(conf), "%s/frozen.conf", tmpdir);
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/bntd-frozen-%d", (int)getpid());
	f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "socket = %s\npin_path = %s\nstate_file = %s/frozen.state\n", path, pin, tmpdir);
	fclose(f);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		execl(getenv("BLKNOTIFYD"), "blknotifyd", "-c", conf, "--source", "bpf", (char *)NULL);
		_exit(127);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (i = 0; i < WAIT_MS / 20; i++) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(fd);
		fd = -1;
		usleep(20 * 1000);
	}
	snprintf(map, sizeof(map), "%s/config", pin);
	mfd = bpf_obj_get(map);
	if (fd >= 0 && mfd >= 0 && bpf_map_freeze(mfd) == 0 &&
	    raw_request(fd, BND_HELLO, 1, &h, sizeof(h), &err) == BND_HELLO_REPLY)
		type = raw_request(fd, BND_ADD_WATCH, 2, &w, sizeof(w), &err);
	else
		type = 0;
	if (mfd >= 0)
		close(mfd);
	if (fd >= 0)
		close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", pin);
	(void)!run(cmd);
	unlink(conf);
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(type, BND_ERROR);
	EXPECT_EQ(err, -EPERM);
}

/* ---- hostile local users ---- */

/* A child keeps only its own pipe ends: others' would keep their readers from seeing EOF. */
static void close_other_fds(int in, int out)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != in && fd != out)
			close(fd);
}

struct hog_result {
	int accepted, refused;		/* at connect: kept, or an EUSERS refusal at once */
	char refusal[256];		/* the first refusal's text */
	int timed_out;			/* later closed by the daemon with ETIMEDOUT */
	char timeout_text[256];
};

/*
 * Child, as user: open n connections that never say HELLO; report which
 * were refused at once; on "go", wait for the daemon to close the rest.
 */
struct hog_spec {
	const char *user;
	int n;
};

static void hog_child(const void *arg, int in, int out)
{
	const char *user = ((const struct hog_spec *)arg)->user;
	int n = ((const struct hog_spec *)arg)->n;
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	static struct hog_result res;
	int fds[64], i, go;
	struct bnd_msg m;
	char why[256];

	close_other_fds(in, out);
	if (become(user))
		_exit(2);
	for (i = 0; i < n && i < 64; i++) {
		struct pollfd pfd;
		ssize_t len;

		fds[i] = raw_connect();
		pfd = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		/* A refusal comes at once; an accepted connection stays silent. */
		if (fds[i] >= 0 && poll(&pfd, 1, 300) == 1 &&
		    (len = recv(fds[i], buf, sizeof(buf), 0)) > 0 &&
		    bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)) == 0 &&
		    m.type == BND_ERROR && m.error->error == -EUSERS) {
			if (!res.refused++)
				snprintf(res.refusal, sizeof(res.refusal), "%s", m.error->text);
			close(fds[i]);
			fds[i] = -1;
		} else if (fds[i] >= 0) {
			res.accepted++;
		}
	}
	write_all(out, &res, sizeof(res));
	if (read_all(in, &go, sizeof(go)))
		_exit(0);
	for (i = 0; i < n && i < 64; i++) {
		ssize_t len;

		if (fds[i] < 0)
			continue;
		len = raw_recv(fds[i], buf, sizeof(buf));
		if (len > 0 && bnd_parse(buf, len, BND_TO_CLIENT, &m, why, sizeof(why)) == 0 &&
		    m.type == BND_ERROR && m.error->error == -ETIMEDOUT &&
		    raw_recv(fds[i], buf, sizeof(buf)) == 0) {
			if (!res.timed_out++)
				snprintf(res.timeout_text, sizeof(res.timeout_text), "%s", m.error->text);
		}
	}
	write_all(out, &res, sizeof(res));
	(void)!read(in, &go, sizeof(go));
	_exit(0);
}

struct hog {
	pid_t pid;
	int to, from;
	struct hog_result res;
};

static void hog_start(struct hog *h, const char *user, int n)
{
	const struct hog_spec spec = { .user = user, .n = n };

	memset(h, 0, sizeof(*h));
	h->pid = child_start(hog_child, &spec, &h->to, &h->from);
	ASSERT_GT(h->pid, 0);
	ASSERT_EQ(read_all(h->from, &h->res, sizeof(h->res)), 0);
	printf("# %s: %d connections kept, %d refused: %s\n", user, h->res.accepted,
	       h->res.refused, h->res.refusal);
}

static void hog_wait_closed(struct hog *h)
{
	int go = 1;

	ASSERT_EQ(write(h->to, &go, sizeof(go)), (ssize_t)sizeof(go));
	ASSERT_EQ(read_all(h->from, &h->res, sizeof(h->res)), 0);
	printf("# closed by the daemon: %d: %s\n", h->res.timed_out, h->res.timeout_text);
}

static void hog_end(struct hog *h)
{
	close(h->to);
	close(h->from);
	waitpid(h->pid, NULL, 0);
}

/*
 * Connections that never say HELLO, from one user and then from two, take
 * no slot root needs nor one an honest user needs; they are closed after
 * hello_timeout_ms, and the honest monitor's records are exact.
 */
TEST(idle_connections_lock_out_nobody)
{
	const struct mon_spec honest = {
		.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON,
		.nr_watches = 1, .watches = { { .id = 41 } } };
	struct bnd_stats *st = NULL;
	struct hog h1, h2;
	struct monitor m;
	char why[256];
	int i;

	need_daemon();
	/* One user: at most PER_UID connections. */
	hog_start(&h1, USER_DENIED, 10);
	EXPECT_EQ(h1.res.accepted, PER_UID);
	EXPECT_EQ(h1.res.refused, 10 - PER_UID);
	EXPECT_TRUE(strstr(h1.res.refusal, "set max_clients_per_uid in ") != NULL);
	/* An honest client still gets in, and gets everything. */
	monitor_start(&m, &honest);
	if (m.res.err)
		TEST_FAIL_(1, "honest monitor: %s: %s", strerror(-m.res.err), m.res.text);
	/* A second user finds the unprivileged slots taken (3 silent + the honest one)... */
	hog_start(&h2, USER_DENIED2, 10);
	EXPECT_EQ(h2.res.accepted, MAX_CLIENTS - RESERVED - PER_UID - 1);
	EXPECT_TRUE(strstr(h2.res.refusal, "reserved_clients") != NULL);
	/* ...and root (blkwatch --stats) is still served, from the reserved slots. */
	ASSERT_EQ(bnd_query_stats(sock_path, &st, why, sizeof(why)), 0);
	EXPECT_EQ(st->total_clients, MAX_CLIENTS - RESERVED + 1);
	free(st);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(faulty_io(&dev, 1190 + i, 1, 0), -EIO);
	monitor_go(&m, 5);
	monitor_result(&m);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(m.res.nr, 5);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(m.res.recs[i].sector, 1190 + i);
	EXPECT_EQ(m.res.nr_loss, 0);
	EXPECT_EQ(m.res.extra, 0);
	/* The silent connections are closed, told why. */
	hog_wait_closed(&h1);
	hog_wait_closed(&h2);
	EXPECT_EQ(h1.res.timed_out, PER_UID);
	EXPECT_EQ(h2.res.timed_out, MAX_CLIENTS - RESERVED - PER_UID - 1);
	EXPECT_TRUE(strstr(h1.res.timeout_text, "set hello_timeout_ms in ") != NULL);
	hog_end(&h1);
	hog_end(&h2);
	monitor_end(&m);
}

/* Root's STATS: the daemon's counters (flag GLOBAL). */
static struct bnd_stats *root_stats(void)
{
	struct bnd_stats *s = NULL;
	char why[256];

	if (bnd_query_stats(sock_path, &s, why, sizeof(why)))
		return NULL;
	return s;
}

/* Child, as user: flood watch and filter changes until the parent closes in; report the count. */
static void flood_child(const void *arg, int in, int out)
{
	const char *user = arg;
	unsigned char buf[BND_MSG_MAX] __attribute__((aligned(8)));
	struct {
		struct bnd_set_filter f;
		struct watch_notification_type_filter t[1];
	} filt = { .f = { .nr_filters = 1 }, .t = { { .type = WATCH_TYPE_BLOCK_NOTIFY } } };
	struct bnd_hello h = { .version = BND_VERSION };
	struct bnd_add_watch w = { .id = 1, .dev = dev.rdev, .end = ~0ULL };
	struct bnd_remove_watch rm = { .id = 1 };
	struct pollfd pfd = { .fd = in, .events = POLLIN };
	long requests = 0;
	__u32 seq = 1;
	int fd, err;

	close_other_fds(in, out);
	if (become(user))
		_exit(2);
	fd = raw_connect();
	if (fd < 0 || raw_request(fd, BND_HELLO, seq++, &h, sizeof(h), &err) != BND_HELLO_REPLY)
		_exit(3);
	write_all(out, &requests, sizeof(requests));	/* ready */
	while (poll(&pfd, 1, 0) == 0) {
		if (raw_request(fd, BND_ADD_WATCH, seq++, &w, sizeof(w), &err) != BND_OK ||
		    raw_request(fd, BND_SET_FILTER, seq++, &filt, sizeof(filt), &err) != BND_OK ||
		    raw_request(fd, BND_REMOVE_WATCH, seq++, &rm, sizeof(rm), &err) != BND_OK)
			break;
		requests += 3;
	}
	(void)buf;
	write_all(out, &requests, sizeof(requests));
	_exit(0);
}

/* Latency of one error, from before the failing read until a reader has its record. */
static double one_latency_us(struct blknotify_queue *q, __u64 sector)
{
	static unsigned char buf[BND_MSG_MAX];
	struct timespec t0, t1;
	ssize_t len;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (faulty_io(&dev, sector, 1, 0) != -EIO)
		return -1;
	do
		len = blknotify_queue_read(q, buf, sizeof(buf), WAIT_MS);
	while (len == -EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (len <= 0)
		return -1;
	return (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p50/p99 of n errors read by a root reader through the daemon (printed, never asserted). */
static void print_latency(const char *what, int n, __u64 first)
{
	BLKNOTIFY_OPTS(blknotify_queue_opts, opts, .source = BLKNOTIFY_SOURCE_DAEMON,
		       .daemon_socket = sock_path);
	struct blknotify_queue *q = NULL;
	double lat[200];
	int i, got = 0;

	if (n > 200 || blknotify_queue_new(&q, &opts) || blknotify_queue_watch_device(q, dev.rdev, 1)) {
		blknotify_queue_free(q);
		return;
	}
	for (i = 0; i < n; i++) {
		double us = one_latency_us(q, first + i % 200);

		if (us >= 0)
			lat[got++] = us;
	}
	blknotify_queue_free(q);
	if (!got)
		return;
	qsort(lat, got, sizeof(lat[0]), cmp_double);
	printf("# latency %s: p50 %.0f us, p99 %.0f us (%d errors)\n", what, lat[got / 2],
	       lat[(got * 99) / 100], got);
}

/*
 * One user floods ADD_WATCH / SET_FILTER / REMOVE_WATCH while another
 * reads: the reader gets every record, none lost, and the state file is
 * written a bounded number of times, not once per change.
 */
TEST(request_flood_costs_the_others_nothing)
{
	const struct mon_spec reader = {
		.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON, .size = MAX_QUEUE,
		.nr_watches = 1, .watches = { { .id = 42 } } };
	enum { N = 200 };
	struct bnd_stats *s;
	__u64 writes0, writes1, changes0, changes1;
	struct timespec t0, t1;
	int down[2], up[2], i;
	long requests = 0;
	double ms;
	struct monitor m;
	pid_t pid;

	need_daemon();
	print_latency("before the flood", 100, 1000);
	monitor_start(&m, &reader);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_TRUE((s = root_stats()) != NULL);
	writes0 = s->state_writes;
	changes0 = s->upstream_changes;
	free(s);
	pid = child_start(flood_child, USER_READ2, &down[1], &up[0]);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(read_all(up[0], &requests, sizeof(requests)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N; i++)
		ASSERT_EQ(faulty_io(&dev, 1000 + i % 200, 1, 0), -EIO);
	monitor_go(&m, N);
	monitor_result(&m);
	print_latency("during the flood", 100, 1000);
	/* Let the flood run a while longer (its length decides only the bound below). */
	do {
		usleep(100 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
	close(down[1]);
	ASSERT_EQ(read_all(up[0], &requests, sizeof(requests)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(up[0]);
	waitpid(pid, NULL, 0);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	ASSERT_TRUE((s = root_stats()) != NULL);
	writes1 = s->state_writes;
	changes1 = s->upstream_changes;
	ASSERT_EQ(s->flags & BND_STATS_GLOBAL, BND_STATS_GLOBAL);
	free(s);
	printf("# flood: %ld requests in %.0f ms; state file written %llu times, source watches "
	       "changed %llu times; reader %d records, %llu lost\n", requests, ms,
	       (unsigned long long)(writes1 - writes0), (unsigned long long)(changes1 - changes0),
	       m.res.nr, (unsigned long long)m.res.lost);
	ASSERT_EQ(m.res.err, 0);
	ASSERT_EQ(m.res.nr, N);
	ASSERT_EQ(m.res.nr_loss, 0);
	ASSERT_EQ(m.res.extra, 0);
	for (i = 0; i < N && i < 64; i++)
		EXPECT_EQ(m.res.recs[i].sector, 1000 + i % 200);
	ASSERT_GT(requests, 300);
	/* The burst, then one per 250 ms of the flood's duration (and one at its end). */
	ASSERT_LE(writes1 - writes0, 8 + ms / 250 + 2);
	/* The flooder's disk stays watched at the source: no change per request. */
	ASSERT_LE(changes1 - changes0, 2 + ms / 1000 * 2);
	monitor_end(&m);
}

/* Child, as user: STATS as that user sees it. */
static void stats_as(const char *user, struct bnd_stats *out_s)
{
	int p[2], st;
	pid_t pid;

	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct bnd_stats *s = NULL, none = { 0 };
		char why[256];

		close(p[0]);
		close_other_fds(-1, p[1]);
		if (become(user) || bnd_query_stats(sock_path, &s, why, sizeof(why)))
			s = NULL;
		write_all(p[1], s ? s : &none, sizeof(none));
		_exit(s ? 0 : 1);
	}
	close(p[1]);
	ASSERT_EQ(read_all(p[0], out_s, sizeof(*out_s)), 0);
	close(p[0]);
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The daemon's totals tell of errors on every watched disk: not for everybody. */
TEST(unprivileged_stats_show_no_global_counts)
{
	struct bnd_stats mine, *all;

	need_daemon();
	ASSERT_EQ(faulty_io(&dev, 1195, 1, 0), -EIO);
	stats_as(USER_DENIED, &mine);
	ASSERT_TRUE((all = root_stats()) != NULL);
	printf("# root sees %llu records read, uid %s sees %llu (flags %#x)\n",
	       (unsigned long long)all->upstream_records, USER_DENIED,
	       (unsigned long long)mine.upstream_records, mine.flags);
	EXPECT_TRUE(all->upstream_records > 0);
	EXPECT_EQ(all->flags, BND_STATS_GLOBAL);
	EXPECT_EQ(mine.upstream_records, 0);
	EXPECT_EQ(mine.upstream_lost, 0);
	EXPECT_EQ(mine.state_writes, 0);
	EXPECT_EQ(mine.flags, 0);
	EXPECT_EQ(mine.nr_clients, 1);		/* its own connection only */
	free(all);
}

/*
 * A client that asks for the largest queue and never reads holds exactly
 * that many records and is told of the rest; an honest reader meanwhile
 * gets every record.
 */
TEST(stalled_huge_queue_costs_the_reader_nothing)
{
	const struct mon_spec reader = {
		.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON, .size = MAX_QUEUE,
		.nr_watches = 1, .watches = { { .id = 43 } } };
	const struct mon_spec stalled = {
		.user = USER_READ2, .source = BLKNOTIFY_SOURCE_DAEMON, .size = MAX_QUEUE,
		.nr_watches = 1, .watches = { { .id = 44 } } };
	enum { N = 6000 };
	struct monitor r, st;
	int i;

	need_daemon();
	monitor_start(&r, &reader);
	monitor_start(&st, &stalled);
	ASSERT_EQ(r.res.err, 0);
	ASSERT_EQ(st.res.err, 0);
	ASSERT_EQ(st.res.size, MAX_QUEUE);
	monitor_go(&r, N);
	for (i = 0; i < N; i++)
		ASSERT_EQ(faulty_io(&dev, 1000 + i % 200, 1, 0), -EIO);
	monitor_result(&r);
	monitor_go(&st, N);
	monitor_result(&st);
	printf("# reader %d records + %llu lost; stalled (%d) %d records + %llu lost\n", r.res.nr,
	       (unsigned long long)r.res.lost, MAX_QUEUE, st.res.nr, (unsigned long long)st.res.lost);
	ASSERT_EQ(r.res.err, 0);
	ASSERT_EQ(r.res.nr + (int)r.res.lost, N);
	ASSERT_EQ(r.res.extra, 0);
	ASSERT_EQ(st.res.nr, MAX_QUEUE);
	ASSERT_EQ(st.res.lost, N - MAX_QUEUE);
	ASSERT_EQ(st.res.extra, 0);
	monitor_end(&r);
	monitor_end(&st);
}

/*
 * Access follows the disk, not its number.  A user may read a loop device
 * and watches it; the device is detached and its number attached to a file
 * only root may read (and its node given back to root:disk, as udev would).
 * The watch ends with a removal record (-ESTALE); the user's errors before
 * arrive exactly, nothing after, and watching the number again is refused.
 */
TEST(reused_device_number_ends_the_watch)
{
	static const char *const bad[] = { "2000+16", NULL };
	char secret[128], cmd[256];
	struct faulty f2 = { 0 };
	struct monitor m;
	struct mon_spec spec = {
		.user = USER_READ1, .source = BLKNOTIFY_SOURCE_DAEMON,
		.nr_watches = 1, .watches = { { .id = 45 } } };
	struct group *g = getgrnam(READ_GROUP);
	int i, fd;

	need_daemon();
	ASSERT_TRUE(g != NULL);
	ASSERT_EQ(faulty_start(&f2, bad), 0);
	ASSERT_EQ(chown(f2.path, 0, g->gr_gid), 0);
	ASSERT_EQ(chmod(f2.path, 0640), 0);
	spec.dev = f2.rdev;
	monitor_start(&m, &spec);
	if (m.res.err) {
		faulty_stop(&f2);
		TEST_FAIL_(1, "monitor: %s", m.res.text);
	}
	for (i = 0; i < 3; i++)
		ASSERT_EQ(faulty_io(&f2, 2000 + i, 1, 0), -EIO);
	/*
	 * Until the daemon has them: records it reads after the number changed
	 * could be the new disk's, and are not delivered to the ended watch.
	 */
	for (i = 0; i < WAIT_MS / 20; i++) {
		struct bnd_stats *s = root_stats();
		const struct bnd_client_stats *cs = s ? stats_for(s, m.pid) : NULL;
		bool have = cs && cs->queued == 3;

		free(s);
		if (have)
			break;
		usleep(20 * 1000);
	}
	/* The same number, another disk: a file only root may read. */
	snprintf(secret, sizeof(secret), "%s/secret.img", tmpdir);
	fd = open(secret, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
	close(fd);
	{
		char node[64];
		dev_t rdev = f2.rdev;

		snprintf(node, sizeof(node), "%s", f2.path);
		faulty_stop(&f2);
		snprintf(cmd, sizeof(cmd), "losetup '%s' '%s'", node, secret);
		ASSERT_EQ(run(cmd), 0);
		restore_node(node);	/* what udev does for a new disk */
		monitor_go(&m, 4);	/* 3 records, then the removal */
		monitor_result(&m);
		snprintf(cmd, sizeof(cmd), "losetup -d '%s'", node);
		(void)!run(cmd);
		unlink(secret);
		printf("# %d records, %d removal records (watch %u, %s), %d extra\n", m.res.nr,
		       m.res.nr_removed, m.res.removed_id, strerror(-m.res.removed_error), m.res.extra);
		ASSERT_EQ(m.res.err, 0);
		ASSERT_EQ(m.res.nr, 3);
		for (i = 0; i < 3; i++)
			EXPECT_EQ(m.res.recs[i].sector, 2000 + i);
		ASSERT_EQ(m.res.nr_removed, 1);
		EXPECT_EQ(m.res.removed_id, 45);
		EXPECT_EQ(m.res.removed_error, -ESTALE);
		EXPECT_EQ(m.res.extra, 0);
		EXPECT_EQ(m.res.nr_loss, 0);
		(void)rdev;
	}
	monitor_end(&m);
}

/* Run the daemon with args (no start: every case exits at once); its exit status. */
static int daemon_exit_status(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "'%s' %s >/dev/null 2>&1", getenv("BLKNOTIFYD"), args);
	return run(cmd);
}

/* The CLI convention (blkwatch, blknotifyd, blkfault): one meaning per letter, exit codes 0/1/2/3. */
TEST(cli_options_and_exit_codes)
{
	char args[256];

	need_daemon();
	EXPECT_EQ(daemon_exit_status("--help"), 0);
	EXPECT_EQ(daemon_exit_status("-h"), 0);
	EXPECT_EQ(daemon_exit_status("-V"), 0);
	EXPECT_EQ(daemon_exit_status("--version"), 0);
	snprintf(args, sizeof(args), "-c '%s' --check-config", conf_path);
	EXPECT_EQ(daemon_exit_status(args), 0);
	/* Old spellings are usage errors, not aliases. */
	EXPECT_EQ(daemon_exit_status("-s /run/x.sock"), 2);
	EXPECT_EQ(daemon_exit_status("-t"), 2);
	EXPECT_EQ(daemon_exit_status("--no-such-option"), 2);
	EXPECT_EQ(daemon_exit_status("--socket relative.sock --check-config"), 2);
	EXPECT_EQ(daemon_exit_status("--source daemon --check-config"), 2);
	EXPECT_EQ(daemon_exit_status("-c /nonexistent/blknotifyd.conf --check-config"), 2);
	/* Could not start: the socket is in use by the running daemon. */
	snprintf(args, sizeof(args), "-c '%s' --source kmsg", conf_path);
	EXPECT_EQ(daemon_exit_status(args), 1);
}

/*
 * Socket activation as systemd does it (systemd-socket-activate passes a
 * listening SOCK_SEQPACKET socket as fd 3 and starts the daemon on the first
 * connection): the first client's request is answered by the daemon it woke.
 */
TEST(socket_activation)
{
	static const char *const tool = "/usr/bin/systemd-socket-activate";
	char path[128], conf[128], why[256];
	FILE *f;
	struct bnd_stats *s = NULL;
	struct stat st;
	pid_t pid;
	int i, status, r;

	need_daemon();
	if (access(tool, X_OK))
		SKIP("no systemd-socket-activate (package systemd)");
	snprintf(path, sizeof(path), "%s/activated.sock", tmpdir);
	snprintf(conf, sizeof(conf), "%s/activated.conf", tmpdir);
	f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	/* A second daemon: its own socket, and no pinned source to share. */
	fprintf(f, "pin_path = none\nstate_file = %s/activated.state\n", tmpdir);
	fclose(f);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		execl(tool, tool, "--seqpacket", "-l", path, getenv("BLKNOTIFYD"), "-c", conf,
		      "--source", "bpf", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < WAIT_MS / 20 && stat(path, &st); i++)
		usleep(20 * 1000);
	ASSERT_TRUE(S_ISSOCK(st.st_mode));
	r = bnd_query_stats(path, &s, why, sizeof(why));
	if (r)
		TEST_FAIL_(0, "stats through the activated socket: %s", why);
	else
		EXPECT_EQ(s->source, BLKNOTIFY_SOURCE_BPF);
	free(s);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	unlink(path);
	unlink(conf);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST(sigterm_is_a_clean_exit)
{
	need_daemon();
	ASSERT_EQ(stop_daemon(), 0);
	ASSERT_EQ(access(sock_path, F_OK), -1);
}
