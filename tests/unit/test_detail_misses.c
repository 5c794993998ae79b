// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The accounting of the transport-detail programs' recursion misses
 * (lib/source-bpf-detail.c): what the queue reports as loss from the
 * programs' counts and the baseline kept in the pinned .bss.  Recursion
 * misses cannot be provoked deterministically, so the kernel's counts are
 * stood in for by the totals given to the accounting step.
 */
#include <stdint.h>

#include "source-bpf-detail.h"
#include "../harness.h"

TEST(new_misses_are_reported_once)
{
	__u64 base = 0;

	ASSERT_EQ(source_bpf_detail_misses_step(&base, 0), 0);
	ASSERT_EQ(source_bpf_detail_misses_step(&base, 3), 3);
	ASSERT_EQ(base, 3);
	/* Read again with nothing new: nothing reported twice. */
	ASSERT_EQ(source_bpf_detail_misses_step(&base, 3), 0);
	ASSERT_EQ(source_bpf_detail_misses_step(&base, 10), 7);
	ASSERT_EQ(base, 10);
}

TEST(a_new_owner_of_the_pinned_queue_does_not_report_them_again)
{
	/* The baseline lives in the queue's .bss: the second owner reads the
	 * same variable the first one moved. */
	__u64 pinned_bss = 0, reported = 0;

	reported += source_bpf_detail_misses_step(&pinned_bss, 5);	/* first owner */
	reported += source_bpf_detail_misses_step(&pinned_bss, 5);	/* taken over */
	ASSERT_EQ(reported, 5);
	reported += source_bpf_detail_misses_step(&pinned_bss, 6);	/* one more after */
	ASSERT_EQ(reported, 6);
}

TEST(a_count_below_the_baseline_reports_nothing_and_rebases)
{
	/* A program gone (its pin removed): the sum drops; no wrapped-around loss. */
	__u64 base = 9;

	ASSERT_EQ(source_bpf_detail_misses_step(&base, 4), 0);
	ASSERT_EQ(base, 4);
	ASSERT_EQ(source_bpf_detail_misses_step(&base, 6), 2);
}

TEST(no_detail_programs_no_loss_and_the_baselines_stay)
{
	struct bpf_detail_progs d;
	__u64 lost = 7, only = 2;

	source_bpf_detail_progs_init(&d);
	ASSERT_EQ(source_bpf_detail_new_misses(&d, (struct bpf_detail_baseline){ &lost, &only }), 0);
	/* No program read: the baselines are not moved (a later owner that
	 * can read the programs must not report their misses again). */
	ASSERT_EQ(lost, 7);
	ASSERT_EQ(only, 2);
	ASSERT_EQ(source_bpf_detail_misses(&d), 0);
	source_bpf_detail_progs_close(&d);
}
