/*
 * test_auth.c — password hashing, password policy, token format and
 * hashing, constant-time comparison and random hex strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "common/err.h"

static int setup(void **state)
{
	(void)state;
	return auth_init();
}

static void test_password_right_and_wrong(void **state)
{
	char hash[128];

	(void)state;
	assert_int_equal(auth_password_hash("correct horse battery", hash, sizeof hash), 0);
	assert_int_equal(auth_password_verify(hash, "correct horse battery"), 0);
	assert_int_equal(auth_password_verify(hash, "correct horse batterY"), GH_EAUTH);
	assert_int_equal(auth_password_verify(hash, "correct horse battery "), GH_EAUTH);
	assert_int_equal(auth_password_verify(hash, ""), GH_EAUTH);
	assert_int_equal(auth_password_verify(hash, NULL), GH_EAUTH);
	assert_int_equal(auth_password_verify(NULL, "correct horse battery"), GH_EAUTH);
	assert_int_equal(auth_password_verify("not a hash", "correct horse battery"), GH_EAUTH);
	assert_int_equal(auth_password_verify("", "correct horse battery"), GH_EAUTH);
}

static void test_password_argon2id_and_salted(void **state)
{
	char a[128], b[128];

	(void)state;
	assert_int_equal(auth_password_hash("same password", a, sizeof a), 0);
	assert_int_equal(auth_password_hash("same password", b, sizeof b), 0);
	assert_memory_equal(a, "$argon2id$", 10);
	assert_memory_equal(b, "$argon2id$", 10);
	assert_string_not_equal(a, b);
	assert_int_equal(auth_password_verify(a, "same password"), 0);
	assert_int_equal(auth_password_verify(b, "same password"), 0);
}

static void test_password_hash_bad_input(void **state)
{
	char hash[128], small[64];
	char *big = malloc(1026);

	(void)state;
	assert_non_null(big);
	assert_int_equal(auth_password_hash("", hash, sizeof hash), GH_EINVAL);
	assert_string_equal(hash, "");
	assert_int_equal(auth_password_hash(NULL, hash, sizeof hash), GH_EINVAL);
	assert_int_equal(auth_password_hash("long enough", small, sizeof small), GH_EINVAL);
	assert_string_equal(small, "");
	memset(big, 'x', 1025);
	big[1025] = '\0';
	assert_int_equal(auth_password_hash(big, hash, sizeof hash), GH_EINVAL);
	assert_int_equal(auth_password_verify("$argon2id$v=19$m=65536,t=2,p=1$x$y", big), GH_EAUTH);
	free(big);
}

static void test_password_policy(void **state)
{
	char why[128];
	char *s = malloc(1026);

	(void)state;
	assert_non_null(s);
	assert_int_equal(auth_password_policy("1234567", why, sizeof why), GH_EINVAL);
	assert_non_null(strstr(why, "at least 8"));
	assert_int_equal(auth_password_policy("", why, sizeof why), GH_EINVAL);
	assert_int_equal(auth_password_policy(NULL, why, sizeof why), GH_EINVAL);
	assert_int_equal(auth_password_policy("12345678", why, sizeof why), 0);
	assert_string_equal(why, "");
	/* Eight characters in UTF-8 that take 16 bytes; seven that take 14. */
	assert_int_equal(auth_password_policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
					      why, sizeof why), 0);
	assert_int_equal(auth_password_policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
					      why, sizeof why), GH_EINVAL);
	memset(s, 'a', 1024);
	s[1024] = '\0';
	assert_int_equal(auth_password_policy(s, why, sizeof why), 0);
	s[1024] = 'a';
	s[1025] = '\0';
	assert_int_equal(auth_password_policy(s, why, sizeof why), GH_EINVAL);
	assert_non_null(strstr(why, "at most 1024"));
	/* A small why buffer is truncated, never overrun. */
	assert_int_equal(auth_password_policy("short", why, 5), GH_EINVAL);
	assert_int_equal(strlen(why), 4);
	assert_int_equal(auth_password_policy("short", NULL, 0), GH_EINVAL);
	free(s);
}

static int is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
	       || c == '-' || c == '_';
}

static int cmp_token(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void test_token_format_and_unique(void **state)
{
	enum { N = 1000 };
	char (*tok)[AUTH_TOKEN_LEN + 1] = calloc(N, sizeof *tok);
	unsigned char h[32], h2[32];
	int i, j;

	(void)state;
	assert_non_null(tok);
	for (i = 0; i < N; i++) {
		assert_int_equal(auth_token_new(tok[i], sizeof tok[i], h), 0);
		assert_int_equal(strlen(tok[i]), AUTH_TOKEN_LEN);
		assert_memory_equal(tok[i], "gh_", 3);
		for (j = 3; j < AUTH_TOKEN_LEN; j++)
			assert_true(is_b64url(tok[i][j]));
		/* Hashing the presented token gives what creation stored. */
		assert_int_equal(auth_token_hash(tok[i], h2), 0);
		assert_memory_equal(h, h2, 32);
		assert_true(auth_hash_equal(h, h2));
	}
	qsort(tok, N, sizeof *tok, cmp_token);
	for (i = 1; i < N; i++)
		assert_string_not_equal(tok[i - 1], tok[i]);
	free(tok);
}

static void test_token_new_small_buffer(void **state)
{
	char out[AUTH_TOKEN_LEN];
	unsigned char h[32];

	(void)state;
	assert_int_equal(auth_token_new(out, sizeof out, h), GH_EINVAL);
	assert_string_equal(out, "");
}

static void test_token_hashes_differ(void **state)
{
	char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
	unsigned char ha[32], hb[32];

	(void)state;
	assert_int_equal(auth_token_new(a, sizeof a, ha), 0);
	assert_int_equal(auth_token_new(b, sizeof b, hb), 0);
	assert_false(auth_hash_equal(ha, hb));
	memcpy(hb, ha, 32);
	hb[31] ^= 1;
	assert_false(auth_hash_equal(ha, hb));
}

static void test_token_malformed(void **state)
{
	char good[AUTH_TOKEN_LEN + 1], bad[AUTH_TOKEN_LEN + 8];
	unsigned char h[32];

	(void)state;
	assert_int_equal(auth_token_new(good, sizeof good, h), 0);

	assert_int_equal(auth_token_hash(NULL, h), GH_EINVAL);
	assert_int_equal(auth_token_hash("", h), GH_EINVAL);
	assert_int_equal(auth_token_hash("gh_", h), GH_EINVAL);

	/* Wrong prefix. */
	strcpy(bad, good);
	bad[0] = 'x';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);
	strcpy(bad, good);
	bad[2] = '-';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);
	strcpy(bad, good);
	bad[0] = 'G';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);

	/* Wrong length: one short, one long. */
	strcpy(bad, good);
	bad[AUTH_TOKEN_LEN - 1] = '\0';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);
	strcpy(bad, good);
	strcat(bad, "A");
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);

	/* Characters outside base64url, including standard base64's + and /
	 * and padding. */
	strcpy(bad, good);
	bad[10] = '+';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);
	strcpy(bad, good);
	bad[20] = '/';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);
	strcpy(bad, good);
	bad[AUTH_TOKEN_LEN - 1] = '=';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);
	strcpy(bad, good);
	bad[5] = ' ';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);
	strcpy(bad, good);
	bad[30] = '\xc3';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);

	/* 43 characters carry 258 bits; the last two must be zero for the
	 * encoding of 32 bytes to be canonical. 'B' has its low bits set. */
	strcpy(bad, good);
	bad[AUTH_TOKEN_LEN - 1] = 'B';
	assert_int_equal(auth_token_hash(bad, h), GH_EINVAL);
	bad[AUTH_TOKEN_LEN - 1] = 'A';
	assert_int_equal(auth_token_hash(bad, h), 0);
}

static void test_random_hex(void **state)
{
	char a[65], b[65], small[8], big[2 * 200 + 1];
	size_t i;

	(void)state;
	assert_int_equal(auth_random_hex(a, sizeof a, 32), 0);
	assert_int_equal(auth_random_hex(b, sizeof b, 32), 0);
	assert_int_equal(strlen(a), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);

	/* More than one internal chunk. */
	assert_int_equal(auth_random_hex(big, sizeof big, 200), 0);
	assert_int_equal(strlen(big), 400);
	for (i = 0; i < 400; i++)
		assert_non_null(strchr("0123456789abcdef", big[i]));

	/* Exactly fits, one byte short, zero bytes asked. */
	assert_int_equal(auth_random_hex(small, sizeof small, 3), 0);
	assert_int_equal(strlen(small), 6);
	assert_int_equal(auth_random_hex(small, sizeof small, 4), GH_EINVAL);
	assert_string_equal(small, "");
	assert_int_equal(auth_random_hex(small, sizeof small, 0), GH_EINVAL);
	assert_int_equal(auth_random_hex(small, 0, 1), GH_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_right_and_wrong),
		cmocka_unit_test(test_password_argon2id_and_salted),
		cmocka_unit_test(test_password_hash_bad_input),
		cmocka_unit_test(test_password_policy),
		cmocka_unit_test(test_token_format_and_unique),
		cmocka_unit_test(test_token_new_small_buffer),
		cmocka_unit_test(test_token_hashes_differ),
		cmocka_unit_test(test_token_malformed),
		cmocka_unit_test(test_random_hex),
	};
	return cmocka_run_group_tests_name("auth", tests, setup, NULL);
}
