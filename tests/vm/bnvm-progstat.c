// SPDX-License-Identifier: GPL-2.0-only
/*
 * bnvm-progstat: how often the loaded BPF programs called NAME ran, and for
 * how long, so that a VM scenario can assert which I/O runs a program at all
 * (the guest has no bpftool).
 *
 *   bnvm-progstat NAME...
 *
 * Prints "prog NAME RUN_CNT RUN_TIME_NS" per NAME, summed over every loaded
 * program of that name (the kernel keeps 15 characters of a name: give
 * those).  run_time_ns counts only while kernel.bpf_stats_enabled is 1.  Exit
 * status 0, or 2 on bad usage or when the programs cannot be listed.
 *
 * Raw bpf(2) calls, no libbpf: built statically by tests/vm/run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int main(int argc, char **argv)
{
	unsigned long long runs[16] = { 0 }, ns[16] = { 0 };
	union bpf_attr attr;
	__u32 id = 0;
	int i, fd;

	if (argc < 2 || argc > 17) {
		fprintf(stderr, "usage: bnvm-progstat NAME... (at most 16)\n");
		return 2;
	}
	for (;;) {
		struct bpf_prog_info info;

		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (sys_bpf(BPF_PROG_GET_NEXT_ID, &attr)) {
			if (errno == ENOENT)
				break;
			fprintf(stderr, "bnvm-progstat: BPF_PROG_GET_NEXT_ID: %s\n", strerror(errno));
			return 2;
		}
		id = attr.next_id;
		memset(&attr, 0, sizeof(attr));
		attr.prog_id = id;
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
		if (fd < 0)
			continue;	/* unloaded meanwhile */
		memset(&info, 0, sizeof(info));
		memset(&attr, 0, sizeof(attr));
		attr.info.bpf_fd = fd;
		attr.info.info_len = sizeof(info);
		attr.info.info = (__u64)(unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0)
			for (i = 1; i < argc; i++)
				if (!strncmp(info.name, argv[i], sizeof(info.name) - 1)) {
					runs[i - 1] += info.run_cnt;
					ns[i - 1] += info.run_time_ns;
				}
		close(fd);
	}
	for (i = 1; i < argc; i++)
		printf("prog %s %llu %llu\n", argv[i], runs[i - 1], ns[i - 1]);
	return 0;
}
