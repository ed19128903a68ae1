/*
 * test_hub_ckpt.c — the pure parts of the process checkpoint
 * (hub/hub_ckpt.c): the runtime handle a restored leader is adopted with,
 * the GPU-index condition for a restore, and reading a start time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "hub/hub_ckpt.h"

static void test_adopt_ref(void **state)
{
	char out[64];
	(void)state;

	assert_int_equal(hub_ckpt_adopt_ref("1234:5678", 4321, 99, out, sizeof(out)), 0);
	assert_string_equal(out, "4321:99");
	/* the cgroup part of the old handle stays */
	assert_int_equal(hub_ckpt_adopt_ref("1234:5678:gpuhub/s7", 4321, 99, out, sizeof(out)), 0);
	assert_string_equal(out, "4321:99:gpuhub/s7");
	/* not a handle of the local runtime */
	assert_int_equal(hub_ckpt_adopt_ref("", 4321, 99, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(hub_ckpt_adopt_ref("1234", 4321, 99, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(hub_ckpt_adopt_ref("1234:", 4321, 99, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(hub_ckpt_adopt_ref("1234:56:", 4321, 99, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(hub_ckpt_adopt_ref("pod/abc", 4321, 99, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(hub_ckpt_adopt_ref(NULL, 4321, 99, out, sizeof(out)), GH_EINVAL);
	/* no pid, or no room */
	assert_int_equal(hub_ckpt_adopt_ref("1234:5678", 0, 99, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(hub_ckpt_adopt_ref("1234:5678:cg", 4321, 99, out, 8), GH_EINVAL);
	assert_string_equal(out, "");
}

static void test_same_gpus(void **state)
{
	int a[] = {2, 0}, b[] = {0, 2}, c[] = {0, 1}, d[] = {0};
	(void)state;

	assert_true(hub_ckpt_same_gpus(a, 2, b, 2));  /* order does not matter */
	assert_true(hub_ckpt_same_gpus(d, 1, d, 1));
	assert_true(hub_ckpt_same_gpus(NULL, 0, NULL, 0)); /* no GPUs then, none now */
	assert_false(hub_ckpt_same_gpus(a, 2, c, 2));
	assert_false(hub_ckpt_same_gpus(a, 2, d, 1));
	assert_false(hub_ckpt_same_gpus(d, 1, NULL, 0));
}

static void test_gpus_text(void **state)
{
	int a[] = {0, 3};
	char out[32];
	(void)state;

	hub_ckpt_gpus_text(a, 2, out, sizeof(out));
	assert_string_equal(out, "0,3");
	hub_ckpt_gpus_text(a, 0, out, sizeof(out));
	assert_string_equal(out, "none");
	hub_ckpt_gpus_text(a, 2, out, 3);
	assert_string_equal(out, "0,");
}

static void test_proc_start(void **state)
{
	unsigned long long a = 0, b = 0;
	(void)state;

	assert_int_equal(hub_ckpt_proc_start(getpid(), &a), 0);
	assert_true(a > 0);
	assert_int_equal(hub_ckpt_proc_start(getpid(), &b), 0);
	assert_true(a == b);
	assert_int_equal(hub_ckpt_proc_start(0x7ffffff0, &a), GH_ENOTFOUND);
	assert_true(a == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adopt_ref),
		cmocka_unit_test(test_same_gpus),
		cmocka_unit_test(test_gpus_text),
		cmocka_unit_test(test_proc_start),
	};
	return cmocka_run_group_tests_name("hub_ckpt", tests, NULL, NULL);
}
