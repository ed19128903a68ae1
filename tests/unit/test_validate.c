/*
 * test_validate.c — request validation pieces that need no server: names,
 * GPU amounts, canonical API paths, listen addresses, error mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/api_int.h"
#include "common/err.h"
#include "common/util.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(gh_name_valid("alice"));
	assert_true(gh_name_valid("a.b_c-9"));
	assert_true(gh_name_valid("0abc"));
	assert_false(gh_name_valid(""));
	assert_false(gh_name_valid("Alice"));
	assert_false(gh_name_valid("-x"));
	assert_false(gh_name_valid(".hidden"));
	assert_false(gh_name_valid("a/b"));
	assert_false(gh_name_valid("a b"));
	assert_false(gh_name_valid("x\xc3\xa9"));
	char longname[80];
	memset(longname, 'a', 64);
	longname[64] = '\0';
	assert_false(gh_name_valid(longname));
	longname[63] = '\0';
	assert_true(gh_name_valid(longname));
}

static void test_gpus(void **state)
{
	int m = -1;
	char why[128];
	(void)state;
	assert_int_equal(api_gpus_to_milli(1, &m, why, sizeof(why)), 0);
	assert_int_equal(m, 1000);
	assert_int_equal(api_gpus_to_milli(0.5, &m, why, sizeof(why)), 0);
	assert_int_equal(m, 500);
	assert_int_equal(api_gpus_to_milli(0.25, &m, why, sizeof(why)), 0);
	assert_int_equal(m, 250);
	assert_int_equal(api_gpus_to_milli(0, &m, why, sizeof(why)), 0);
	assert_int_equal(m, 0);
	assert_int_equal(api_gpus_to_milli(4, &m, why, sizeof(why)), 0);
	assert_int_equal(m, 4000);
	assert_int_equal(api_gpus_to_milli(1.5, &m, why, sizeof(why)), GH_EINVAL);
	assert_non_null(strstr(why, "whole"));
	assert_int_equal(api_gpus_to_milli(-1, &m, why, sizeof(why)), GH_EINVAL);
	assert_int_equal(api_gpus_to_milli(65, &m, why, sizeof(why)), GH_EINVAL);
	assert_int_equal(api_gpus_to_milli(0.0001, &m, why, sizeof(why)), GH_EINVAL);
	assert_int_equal(api_gpus_to_milli(0.3333, &m, why, sizeof(why)), GH_EINVAL);
}

static void test_paths(void **state)
{
	(void)state;
	assert_true(api_path_canonical("/api/v1/sessions"));
	assert_true(api_path_canonical("/api/v1/sessions/12/stop"));
	assert_false(api_path_canonical("/api/v1/sessions/../users"));
	assert_false(api_path_canonical("/api/v1/sessions/%2e%2e/users"));
	assert_false(api_path_canonical("/api/v1//sessions"));
	assert_false(api_path_canonical("/api/v1/./sessions"));
	assert_false(api_path_canonical("/api/v1/sessions/.."));
	assert_false(api_path_canonical("/api/v1/sessions/."));
	assert_false(api_path_canonical("/api/v1/se ssions"));
	assert_false(api_path_canonical("/api/v1/s\x01"));
}

static void test_listen(void **state)
{
	char host[64];
	int port;
	(void)state;
	assert_int_equal(gh_parse_listen("127.0.0.1:8000", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8000);
	assert_int_equal(gh_parse_listen("[::1]:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(gh_parse_listen(":9000", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(gh_parse_listen("localhost", host, sizeof(host), &port), GH_EINVAL);
	assert_int_equal(gh_parse_listen("1.2.3.4:70000", host, sizeof(host), &port), GH_EINVAL);
	assert_int_equal(gh_parse_listen("1.2.3.4:", host, sizeof(host), &port), GH_EINVAL);
	assert_int_equal(gh_parse_listen("[::1:80", host, sizeof(host), &port), GH_EINVAL);
}

static void test_error_mapping(void **state)
{
	(void)state;
	assert_int_equal(gh_err_http(GH_EINVAL), 400);
	assert_int_equal(gh_err_http(GH_EAUTH), 401);
	assert_int_equal(gh_err_http(GH_EPERM), 403);
	assert_int_equal(gh_err_http(GH_ENOTFOUND), 404);
	assert_int_equal(gh_err_http(GH_EEXIST), 409);
	assert_int_equal(gh_err_http(GH_ETOOBIG), 413);
	assert_string_equal(gh_errcode(GH_ENOTFOUND), "not_found");
	assert_string_equal(gh_errcode(-999), "internal");
	assert_string_equal(gh_strerror(0), "success");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_gpus),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_error_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
