/*
 * test_idle.c — the idle decision (monitor/idle.c): a pure function of a
 * policy, the signals and the time, checked on hand-made timelines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "monitor/idle.h"

#define S(x) ((int64_t)(x) * 1000)

static idle_policy_t full_only(int full_s, int warn_s)
{
	idle_policy_t p = {0, 10, full_s, 0, warn_s};
	return p;
}

/* The worked example of idle.c, step by step. */
static void test_worked_example(void **state)
{
	idle_policy_t p = full_only(600, 60);
	idle_signals_t s = {0, S(100), 0, 0, 0};
	idle_verdict_t v;
	(void)state;

	v = idle_decide(&p, &s, 0, S(639));
	assert_int_equal(v.action, IDLE_KEEP);
	assert_int_equal(v.rule, IDLE_RULE_FULL);
	v = idle_decide(&p, &s, 0, S(640));
	assert_int_equal(v.action, IDLE_WARN);
	assert_int_equal(v.due, S(700));
	/* the user comes back: the warning is cleared */
	s.user_at = S(650);
	v = idle_decide(&p, &s, S(640), S(651));
	assert_int_equal(v.action, IDLE_CLEAR);
	v = idle_decide(&p, &s, 0, S(1190));
	assert_int_equal(v.action, IDLE_WARN);
	v = idle_decide(&p, &s, S(1190), S(1249));
	assert_int_equal(v.action, IDLE_KEEP);
	v = idle_decide(&p, &s, S(1190), S(1250));
	assert_int_equal(v.action, IDLE_ACT);
	assert_int_equal(v.rule, IDLE_RULE_FULL);
}

/* A late warning still gives the whole warning period. */
static void test_late_warning_waits(void **state)
{
	idle_policy_t p = full_only(600, 60);
	idle_signals_t s = {0, S(100), 0, 0, 0};
	(void)state;
	assert_int_equal(idle_decide(&p, &s, S(1230), S(1250)).action, IDLE_KEEP);
	assert_int_equal(idle_decide(&p, &s, S(1230), S(1289)).action, IDLE_KEEP);
	assert_int_equal(idle_decide(&p, &s, S(1230), S(1290)).action, IDLE_ACT);
}

/* Compute without a user (a long training run, no browser) is not idle. */
static void test_compute_is_not_idle(void **state)
{
	idle_policy_t p = full_only(60, 10);
	idle_signals_t s = {0, 0, S(500), S(500), 1};
	(void)state;
	assert_int_equal(idle_decide(&p, &s, 0, S(510)).action, IDLE_KEEP);
	assert_int_equal(idle_decide(&p, &s, 0, S(550)).action, IDLE_WARN);
}

/* No rule on: never acts; a standing warning is cleared. */
static void test_policy_off(void **state)
{
	idle_policy_t p = {0, 10, 0, 0, 60};
	idle_signals_t s = {0, 0, 0, 0, 1};
	(void)state;
	assert_true(idle_policy_off(&p));
	assert_int_equal(idle_decide(&p, &s, 0, S(1000000)).action, IDLE_KEEP);
	assert_int_equal(idle_decide(&p, &s, S(5), S(1000000)).action, IDLE_CLEAR);
}

/* The GPU rule counts only GPU use and only for a session holding GPUs. */
static void test_gpu_rule(void **state)
{
	idle_policy_t p = {120, 10, 0, 0, 0};
	idle_signals_t s = {0, S(1000), S(1000), S(100), 1};
	idle_verdict_t v;
	(void)state;
	v = idle_decide(&p, &s, 0, S(219));
	assert_int_equal(v.action, IDLE_KEEP);
	v = idle_decide(&p, &s, 0, S(220)); /* warn_s 0: act at once */
	assert_int_equal(v.action, IDLE_ACT);
	assert_int_equal(v.rule, IDLE_RULE_GPU);
	assert_string_equal(idle_rule_name(v.rule), "gpu-idle");
	s.holds_gpus = 0;
	assert_int_equal(idle_decide(&p, &s, 0, S(10000)).action, IDLE_KEEP);
}

/* Rules count from the start of this run (a resumed session gets its
 * whole allowance), and the earliest rule decides. */
static void test_running_since_and_earliest(void **state)
{
	idle_policy_t p = {0, 10, 300, 200, 0};
	idle_signals_t s = {S(5000), S(10), 0, 0, 1};
	idle_verdict_t v;
	(void)state;
	v = idle_decide(&p, &s, 0, S(5199));
	assert_int_equal(v.action, IDLE_KEEP);
	assert_int_equal(v.rule, IDLE_RULE_LIFETIME);
	v = idle_decide(&p, &s, 0, S(5200));
	assert_int_equal(v.action, IDLE_ACT);
	assert_string_equal(idle_rule_name(v.rule), "max-lifetime");
}

static void test_merge(void **state)
{
	idle_policy_t base = {0, 10, 3600, 0, 300}, over;
	(void)state;
	idle_policy_unset(&over);
	over.gpu_idle_s = 900;
	over.warn_s = 0;
	idle_policy_merge(&base, &over);
	assert_int_equal(base.gpu_idle_s, 900);
	assert_int_equal(base.gpu_util_pct, 10);
	assert_int_equal(base.full_idle_s, 3600);
	assert_int_equal(base.warn_s, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_late_warning_waits),
		cmocka_unit_test(test_compute_is_not_idle),
		cmocka_unit_test(test_policy_off),
		cmocka_unit_test(test_gpu_rule),
		cmocka_unit_test(test_running_since_and_earliest),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
