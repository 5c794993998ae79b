// SPDX-License-Identifier: GPL-2.0-only
/*
 * bnvm-progs: the loaded BPF programs' run counts, for the VM tier's cost
 * checks (the guest has no bpftool).  One line per program:
 *
 *   prog NAME RUN_CNT RUN_TIME_NS
 *
 * NAME is the kernel's (15 characters at most).  The counts need
 * kernel.bpf_stats_enabled=1 (the caller sets it).  Raw bpf(2) calls, so
 * that it links statically without libbpf.  Built by tests/vm/run.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int main(void)
{
	union bpf_attr attr;
	__u32 id = 0;

	for (;;) {
		struct bpf_prog_info info;
		int fd;

		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (sys_bpf(BPF_PROG_GET_NEXT_ID, &attr)) {
			if (errno == ENOENT)
				return 0;
			perror("bnvm-progs: BPF_PROG_GET_NEXT_ID");
			return 1;
		}
		id = attr.next_id;
		memset(&attr, 0, sizeof(attr));
		attr.prog_id = id;
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
		if (fd < 0)
			continue;	/* gone meanwhile */
		memset(&info, 0, sizeof(info));
		memset(&attr, 0, sizeof(attr));
		attr.info.bpf_fd = fd;
		attr.info.info_len = sizeof(info);
		attr.info.info = (__u64)(unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0)
			printf("prog %s %llu %llu\n", info.name[0] ? info.name : "-",
			       (unsigned long long)info.run_cnt,
			       (unsigned long long)info.run_time_ns);
		close(fd);
	}
}
