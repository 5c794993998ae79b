/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small test harness in the manner of the kselftest harness: TEST()
 * registers a test, ASSERT_*() ends it on failure and EXPECT_*() records the
 * failure and goes on; both print the expression and both values.  Output is
 * TAP, which meson reads (protocol : 'tap').  SKIP() ends a test that cannot
 * run here, with the reason.
 *
 * Include it in exactly one file per test program.
 */
#ifndef BLKNOTIFY_TEST_HARNESS_H
#define BLKNOTIFY_TEST_HARNESS_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

static struct test_case *test_list, **test_tail = &test_list;
static jmp_buf test_abort;
static bool test_failed;
static const char *test_skip_reason;

#define TEST(name)							\
	static void test_##name(void);					\
	static struct test_case tc_##name = { #name, test_##name, NULL }; \
	__attribute__((constructor)) static void register_##name(void)	\
	{								\
		*test_tail = &tc_##name;				\
		test_tail = &tc_##name.next;				\
	}								\
	static void test_##name(void)

#define TEST_FAIL_(fatal, fmt, ...) do {				\
	printf("# %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);	\
	test_failed = true;						\
	if (fatal)							\
		longjmp(test_abort, 1);					\
} while (0)

#define CMP_(fatal, a, op, b) do {					\
	int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);			\
	if (!(a_ op b_))						\
		TEST_FAIL_(fatal, "expected %s %s %s: %" PRId64 " vs %" PRId64, \
			   #a, #op, #b, a_, b_);			\
} while (0)

#define ASSERT_EQ(a, b)	CMP_(1, a, ==, b)
#define ASSERT_NE(a, b)	CMP_(1, a, !=, b)
#define ASSERT_GE(a, b)	CMP_(1, a, >=, b)
#define ASSERT_GT(a, b)	CMP_(1, a, >, b)
#define ASSERT_LE(a, b)	CMP_(1, a, <=, b)
#define ASSERT_LT(a, b)	CMP_(1, a, <, b)
#define ASSERT_TRUE(c)	CMP_(1, !!(c), ==, 1)
#define ASSERT_FALSE(c)	CMP_(1, !!(c), ==, 0)
#define EXPECT_EQ(a, b)	CMP_(0, a, ==, b)
#define EXPECT_TRUE(c)	CMP_(0, !!(c), ==, 1)
#define ASSERT_STREQ(a, b) do {						\
	const char *a_ = (a), *b_ = (b);				\
	if (!a_ || !b_ || strcmp(a_, b_))				\
		TEST_FAIL_(1, "expected %s == %s: \"%s\" vs \"%s\"", #a, #b, \
			   a_ ? a_ : "(null)", b_ ? b_ : "(null)");	\
} while (0)

#define SKIP(reason) do {						\
	test_skip_reason = (reason);					\
	longjmp(test_abort, 1);						\
} while (0)

/* Optional per-program hooks: define TEST_SETUP/TEST_TEARDOWN before including. */
#ifndef TEST_SETUP
#define TEST_SETUP() do { } while (0)
#endif

/* Run one test; setjmp lives here so main()'s locals are never clobbered. */
static void test_run_one(struct test_case *t)
{
	test_failed = false;
	test_skip_reason = NULL;
	if (!setjmp(test_abort))
		t->fn();
}

int main(void)
{
	struct test_case *t;
	int n = 0, i = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = test_list; t; t = t->next)
		n++;
	printf("TAP version 13\n1..%d\n", n);
	TEST_SETUP();
	for (t = test_list; t; t = t->next) {
		i++;
		test_run_one(t);
		if (test_skip_reason && getenv("BLKNOTIFY_TEST_NO_SKIP")) {
			/* CI has every precondition: a skip there is a failure. */
			printf("# skipped where skips are not allowed: %s\n", test_skip_reason);
			printf("not ok %d %s\n", i, t->name);
			failed++;
		} else if (test_skip_reason) {
			printf("ok %d %s # SKIP %s\n", i, t->name, test_skip_reason);
			skipped++;
		} else if (test_failed) {
			printf("not ok %d %s\n", i, t->name);
			failed++;
		} else {
			printf("ok %d %s\n", i, t->name);
		}
	}
	printf("# %d passed, %d failed, %d skipped\n", n - failed - skipped, failed, skipped);
	return failed ? 1 : 0;
}

#endif /* BLKNOTIFY_TEST_HARNESS_H */
