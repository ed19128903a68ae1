/*
 * test_config.c — loading gpuhub.yaml over defaults, the error messages a
 * person sees for a bad file (file:line:column and the key), validation
 * of values, and which changes need a restart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "config/config.h"

/* A temporary directory per test holds gpuhub.yaml. */
typedef struct {
	char dir[64];
	char path[128];
	char err[512];
} fx_t;

static int fx_setup(void **state)
{
	fx_t *fx = calloc(1, sizeof *fx);

	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/gh-test-config-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof fx->path, "%s/gpuhub.yaml", fx->dir);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void write_file(const fx_t *fx, const char *text)
{
	FILE *f = fopen(fx->path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Loads text over the defaults into *cfg; returns config_load's code. */
static int load_text(fx_t *fx, gh_config_t *cfg, const char *text)
{
	config_defaults(cfg);
	write_file(fx, text);
	return config_load(cfg, fx->path, fx->err, sizeof fx->err);
}

/* errmsg must contain "gpuhub.yaml:<where>: <what>". */
static void assert_error_at(const fx_t *fx, const char *where, const char *what)
{
	char want[256];

	snprintf(want, sizeof want, "gpuhub.yaml:%s: %s", where, what);
	if (!strstr(fx->err, want))
		fail_msg("error '%s' does not contain '%s'", fx->err, want);
	/* The whole path is named, so the file can be found. */
	assert_non_null(strstr(fx->err, fx->path));
}

static void test_defaults(void **state)
{
	gh_config_t c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:8000");
	assert_string_equal(c.public_url, "");
	assert_string_equal(c.log_format, "text");
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.gpus, "auto");
	assert_string_equal(c.gpus_sim_default, "4xA100-80GB");
	assert_int_equal(c.gpu_poll_ms, 1000);
	assert_string_equal(c.store_driver, "sqlite");
	assert_string_equal(c.store_url, "");
	assert_string_equal(c.runtime, "local");
	assert_int_equal(c.stop_grace_s, 10);
	assert_int_equal(c.max_body_bytes, 1048576);
	assert_int_equal(c.cookie_secure, 0);
	assert_int_equal(c.login_ttl_hours, 12);
	assert_int_equal(c.token_ttl_days, 90);
	assert_int_equal(c.max_sessions_per_user, 10);
	assert_true(c.data_dir[0] != '\0');
	assert_int_equal(config_validate(&c, err, sizeof err), 0);
	assert_string_equal(err, "");
}

static void test_data_dir_env(void **state)
{
	char *saved_env = getenv("GPUHUB_DATA_DIR"), *saved_home = getenv("HOME");
	char env_copy[512] = "", home_copy[512] = "";
	gh_config_t c;

	(void)state;
	if (saved_env)
		snprintf(env_copy, sizeof env_copy, "%s", saved_env);
	if (saved_home)
		snprintf(home_copy, sizeof home_copy, "%s", saved_home);

	setenv("GPUHUB_DATA_DIR", "/srv/gpuhub-test", 1);
	config_defaults(&c);
	assert_string_equal(c.data_dir, "/srv/gpuhub-test");

	/* Without it: root gets /var/lib/gpuhub, others their home's. */
	unsetenv("GPUHUB_DATA_DIR");
	setenv("HOME", "/home/ada", 1);
	config_defaults(&c);
	if (geteuid() == 0)
		assert_string_equal(c.data_dir, "/var/lib/gpuhub");
	else
		assert_string_equal(c.data_dir, "/home/ada/.local/share/gpuhub");

	/* An empty variable counts as unset. */
	setenv("GPUHUB_DATA_DIR", "", 1);
	config_defaults(&c);
	assert_string_not_equal(c.data_dir, "");

	if (saved_env)
		setenv("GPUHUB_DATA_DIR", env_copy, 1);
	else
		unsetenv("GPUHUB_DATA_DIR");
	if (saved_home)
		setenv("HOME", home_copy, 1);
	else
		unsetenv("HOME");
}

static void test_full_file(void **state)
{
	fx_t *fx = *state;
	gh_config_t c;

	assert_int_equal(load_text(fx, &c,
		"# every key\n"
		"listen: \"[::1]:9090\"\n"
		"data_dir: /srv/gpuhub\n"
		"public_url: https://gpu.example.org\n"
		"log:\n"
		"  format: json\n"
		"  level: debug\n"
		"gpus:\n"
		"  source: sim:8xH100\n"
		"  sim_default: 2xT4\n"
		"  poll_interval_ms: 250\n"
		"store:\n"
		"  driver: postgres\n"
		"  url: postgresql://gpuhub@db/gpuhub\n"
		"runtime:\n"
		"  engine: local\n"
		"  stop_grace_s: 30\n"
		"http:\n"
		"  max_body_bytes: 4194304\n"
		"  cookie_secure: true\n"
		"auth:\n"
		"  login_ttl_hours: 8\n"
		"  token_ttl_days: 0\n"
		"sessions:\n"
		"  max_per_user: 3\n"), 0);
	assert_string_equal(fx->err, "");
	assert_string_equal(c.listen, "[::1]:9090");
	assert_string_equal(c.data_dir, "/srv/gpuhub");
	assert_string_equal(c.public_url, "https://gpu.example.org");
	assert_string_equal(c.log_format, "json");
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.gpus, "sim:8xH100");
	assert_string_equal(c.gpus_sim_default, "2xT4");
	assert_int_equal(c.gpu_poll_ms, 250);
	assert_string_equal(c.store_driver, "postgres");
	assert_string_equal(c.store_url, "postgresql://gpuhub@db/gpuhub");
	assert_string_equal(c.runtime, "local");
	assert_int_equal(c.stop_grace_s, 30);
	assert_int_equal(c.max_body_bytes, 4194304);
	assert_int_equal(c.cookie_secure, 1);
	assert_int_equal(c.login_ttl_hours, 8);
	assert_int_equal(c.token_ttl_days, 0);
	assert_int_equal(c.max_sessions_per_user, 3);
	assert_int_equal(config_validate(&c, fx->err, sizeof fx->err), 0);
}

static void test_flow_style_and_bools(void **state)
{
	fx_t *fx = *state;
	gh_config_t c;

	assert_int_equal(load_text(fx, &c,
		"{log: {level: warn}, http: {cookie_secure: Yes, max_body_bytes: 2048}}\n"), 0);
	assert_string_equal(c.log_level, "warn");
	assert_int_equal(c.cookie_secure, 1);
	assert_int_equal(c.max_body_bytes, 2048);
	assert_int_equal(load_text(fx, &c, "http:\n  cookie_secure: off\n"), 0);
	assert_int_equal(c.cookie_secure, 0);
}

static void test_partial_keeps_current(void **state)
{
	fx_t *fx = *state;
	gh_config_t c, d;

	config_defaults(&d);
	assert_int_equal(load_text(fx, &c, "log:\n  level: warn\ngpus:\n  poll_interval_ms: 500\n"), 0);
	assert_string_equal(c.log_level, "warn");
	assert_int_equal(c.gpu_poll_ms, 500);
	/* Keys next to the ones given keep their defaults... */
	assert_string_equal(c.log_format, "text");
	assert_string_equal(c.gpus, "auto");
	assert_string_equal(c.listen, d.listen);
	assert_string_equal(c.data_dir, d.data_dir);
	assert_int_equal(c.max_sessions_per_user, 10);

	/* ...and a second file only changes what it names: a missing key
	 * keeps the current value, not the built-in default. */
	write_file(fx, "sessions:\n  max_per_user: 2\nlog:\n");
	assert_int_equal(config_load(&c, fx->path, fx->err, sizeof fx->err), 0);
	assert_int_equal(c.max_sessions_per_user, 2);
	assert_string_equal(c.log_level, "warn");
	assert_int_equal(c.gpu_poll_ms, 500);
}

static void test_empty_file(void **state)
{
	fx_t *fx = *state;
	gh_config_t c, d;

	config_defaults(&d);
	assert_int_equal(load_text(fx, &c, ""), 0);
	assert_memory_equal(&c, &d, sizeof c);
	assert_int_equal(load_text(fx, &c, "# nothing set yet\n\n   # indented comment\n"), 0);
	assert_memory_equal(&c, &d, sizeof c);
	assert_int_equal(load_text(fx, &c, "---\n"), 0);
	assert_memory_equal(&c, &d, sizeof c);
	assert_int_equal(config_validate(&c, fx->err, sizeof fx->err), 0);
}

static void test_unknown_key(void **state)
{
	fx_t *fx = *state;
	gh_config_t c, d;

	config_defaults(&d);
	assert_int_equal(load_text(fx, &c,
		"listen: 127.0.0.1:9999\n"
		"# typo below\n"
		"lisen: \":9000\"\n"), GH_ECONFIG);
	assert_error_at(fx, "3:1", "unknown key 'lisen'");
	assert_non_null(strstr(fx->err, "did you mean 'listen'?"));
	/* Nothing is applied from a file that fails, not even its good keys. */
	assert_string_equal(c.listen, d.listen);

	/* A key that belongs in a section, given at the top. */
	assert_int_equal(load_text(fx, &c, "level: debug\n"), GH_ECONFIG);
	assert_error_at(fx, "1:1", "unknown key 'level'");
	assert_non_null(strstr(fx->err, "did you mean 'log.level'?"));

	/* Nothing close: no suggestion. */
	assert_int_equal(load_text(fx, &c, "log:\n  format: text\ncolour: blue\n"), GH_ECONFIG);
	assert_error_at(fx, "3:1", "unknown key 'colour'");
	assert_null(strstr(fx->err, "did you mean"));
}

static void test_nested_unknown_key(void **state)
{
	fx_t *fx = *state;
	gh_config_t c;

	assert_int_equal(load_text(fx, &c,
		"log:\n"
		"  level: debug\n"
		"gpus:\n"
		"    source: auto\n"
		"    sourse: sim:2\n"), GH_ECONFIG);
	assert_error_at(fx, "5:5", "unknown key 'gpus.sourse'");
	assert_non_null(strstr(fx->err, "did you mean 'gpus.source'?"));

	/* Flow style: the column points at the key inside the braces. */
	assert_int_equal(load_text(fx, &c, "log: {format: text, levl: debug}\n"), GH_ECONFIG);
	assert_error_at(fx, "1:21", "unknown key 'log.levl'");
}

static void test_wrong_types(void **state)
{
	fx_t *fx = *state;
	gh_config_t c, d;

	config_defaults(&d);
	assert_int_equal(load_text(fx, &c, "gpus:\n  poll_interval_ms: fast\n"), GH_ECONFIG);
	assert_error_at(fx, "2:21", "gpus.poll_interval_ms: expected an integer, got 'fast'");
	assert_int_equal(c.gpu_poll_ms, d.gpu_poll_ms);

	/* libcyaml alone would read 1.5 as 1. */
	assert_int_equal(load_text(fx, &c, "runtime:\n  stop_grace_s: 1.5\n"), GH_ECONFIG);
	assert_error_at(fx, "2:17", "runtime.stop_grace_s: expected an integer, got '1.5'");

	assert_int_equal(load_text(fx, &c, "auth:\n  token_ttl_days: 99999999999\n"), GH_ECONFIG);
	assert_error_at(fx, "2:19", "auth.token_ttl_days: integer out of range");

	/* ...and any word as true. */
	assert_int_equal(load_text(fx, &c, "http:\n  cookie_secure: maybe\n"), GH_ECONFIG);
	assert_error_at(fx, "2:18", "http.cookie_secure: expected true or false, got 'maybe'");

	assert_int_equal(load_text(fx, &c, "listen: [a, b]\n"), GH_ECONFIG);
	assert_error_at(fx, "1:9", "listen: expected a string, got a list");

	assert_int_equal(load_text(fx, &c, "log: {format: {a: 1}}\n"), GH_ECONFIG);
	assert_error_at(fx, "1:15", "log.format: expected a string, got a mapping");

	assert_int_equal(load_text(fx, &c, "\nstore: sqlite\n"), GH_ECONFIG);
	assert_error_at(fx, "2:8", "store: expected a mapping of keys, got 'sqlite'");

	assert_int_equal(load_text(fx, &c, "- listen\n- data_dir\n"), GH_ECONFIG);
	assert_error_at(fx, "1:1", "the top level must be a mapping of keys, got a list");

	assert_int_equal(load_text(fx, &c, "? [a, b]\n: c\n"), GH_ECONFIG);
	assert_error_at(fx, "1:3", "a key must be a plain name");
}

static void test_other_load_errors(void **state)
{
	fx_t *fx = *state;
	gh_config_t c;
	char big[300], text[400];

	assert_int_equal(load_text(fx, &c, "log:\n  level: info\n  level: debug\n"), GH_ECONFIG);
	assert_error_at(fx, "3:3", "duplicate key 'log.level'");

	assert_int_equal(load_text(fx, &c, "listen: a\n  bad: : x\n"), GH_ECONFIG);
	assert_error_at(fx, "2:6", "YAML syntax error");

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	snprintf(text, sizeof text, "data_dir: /%s\n", big);
	assert_int_equal(load_text(fx, &c, text), GH_ECONFIG);
	assert_error_at(fx, "1:11", "data_dir: longer than 255 bytes");

	assert_int_equal(load_text(fx, &c, "log: &l\n  level: warn\nauth: *l\n"), GH_ECONFIG);
	assert_error_at(fx, "3:1", "auth: YAML aliases");

	assert_int_equal(load_text(fx, &c, "listen: :1\n---\nlisten: :2\n"), GH_ECONFIG);
	assert_error_at(fx, "3:1", "a second YAML document");

	/* A value with a line break still gives a one-line message. */
	assert_int_equal(load_text(fx, &c, "gpus:\n  poll_interval_ms: \"1\\n2\"\n"), GH_ECONFIG);
	assert_error_at(fx, "2:21", "gpus.poll_interval_ms: expected an integer, got '1?2'");
	assert_null(strchr(fx->err, '\n'));

	/* Missing file: an I/O error naming the file. */
	config_defaults(&c);
	assert_int_equal(config_load(&c, "/nonexistent/gpuhub.yaml", fx->err, sizeof fx->err),
			 GH_EIO);
	assert_non_null(strstr(fx->err, "/nonexistent/gpuhub.yaml: cannot open"));

	/* No errmsg buffer at all is fine. */
	assert_int_equal(load_text(fx, &c, "lisen: x\n"), GH_ECONFIG);
	assert_int_equal(config_load(&c, fx->path, NULL, 0), GH_ECONFIG);
}

/* Sets one field on a valid config, expects validation to name key. */
#define EXPECT_INVALID(field_assign, key)                                           \
	do {                                                                        \
		config_defaults(&c);                                                \
		field_assign;                                                       \
		err[0] = '\0';                                                      \
		assert_int_equal(config_validate(&c, err, sizeof err), GH_ECONFIG); \
		if (strncmp(err, key ": ", strlen(key ": ")) != 0)                  \
			fail_msg("'%s' does not start with '%s: '", err, key);      \
	} while (0)

#define EXPECT_VALID(field_assign)                                                 \
	do {                                                                       \
		config_defaults(&c);                                               \
		field_assign;                                                      \
		if (config_validate(&c, err, sizeof err) != 0)                     \
			fail_msg("unexpected: %s", err);                           \
	} while (0)

static void test_validate(void **state)
{
	gh_config_t c;
	char err[256];

	(void)state;
	EXPECT_INVALID(strcpy(c.listen, "localhost"), "listen");
	EXPECT_INVALID(strcpy(c.listen, "127.0.0.1:99999"), "listen");
	EXPECT_INVALID(strcpy(c.listen, ""), "listen");
	EXPECT_VALID(strcpy(c.listen, ":8000"));
	EXPECT_VALID(strcpy(c.listen, "[::1]:80"));
	EXPECT_INVALID(strcpy(c.data_dir, ""), "data_dir");
	EXPECT_INVALID(strcpy(c.public_url, "gpu.example.org"), "public_url");
	EXPECT_INVALID(strcpy(c.public_url, "https://"), "public_url");
	EXPECT_VALID(strcpy(c.public_url, "http://10.0.0.5:8000/hub"));
	EXPECT_INVALID(strcpy(c.log_format, "xml"), "log.format");
	EXPECT_VALID(strcpy(c.log_format, "json"));
	EXPECT_INVALID(strcpy(c.log_level, "verbose"), "log.level");
	EXPECT_INVALID(strcpy(c.log_level, "INFO"), "log.level");
	EXPECT_VALID(strcpy(c.log_level, "error"));
	EXPECT_INVALID(strcpy(c.idle_checkpoint, "on"), "idle.checkpoint");
	EXPECT_VALID(strcpy(c.idle_checkpoint, "off"));
	EXPECT_INVALID(strcpy(c.idle_criu, ""), "idle.criu");
	EXPECT_INVALID(strcpy(c.idle_criu, "sbin/criu"), "idle.criu");
	EXPECT_VALID(strcpy(c.idle_criu, "/usr/sbin/criu"));
	EXPECT_INVALID(strcpy(c.idle_cuda_checkpoint, "cuda checkpoint"), "idle.cuda_checkpoint");

	EXPECT_VALID(strcpy(c.gpus, "nvml"));
	EXPECT_VALID(strcpy(c.gpus, "sim:1"));
	EXPECT_VALID(strcpy(c.gpus, "sim:64"));
	EXPECT_VALID(strcpy(c.gpus, "sim:8xH100-SXM"));
	EXPECT_INVALID(strcpy(c.gpus, "sim:0"), "gpus.source");
	EXPECT_INVALID(strcpy(c.gpus, "sim:65"), "gpus.source");
	EXPECT_INVALID(strcpy(c.gpus, "sim:"), "gpus.source");
	EXPECT_INVALID(strcpy(c.gpus, "sim:4x"), "gpus.source");
	EXPECT_INVALID(strcpy(c.gpus, "sim:4xA 100"), "gpus.source");
	EXPECT_INVALID(strcpy(c.gpus, "sim:-4"), "gpus.source");
	EXPECT_INVALID(strcpy(c.gpus, "cuda"), "gpus.source");
	EXPECT_INVALID(strcpy(c.gpus_sim_default, "sim:4"), "gpus.sim_default");
	EXPECT_VALID(strcpy(c.gpus_sim_default, "16"));

	EXPECT_INVALID(c.gpu_poll_ms = 99, "gpus.poll_interval_ms");
	EXPECT_INVALID(c.gpu_poll_ms = 60001, "gpus.poll_interval_ms");
	EXPECT_VALID(c.gpu_poll_ms = 100);
	EXPECT_VALID(c.gpu_poll_ms = 60000);
	EXPECT_INVALID(strcpy(c.store_driver, "mysql"), "store.driver");
	EXPECT_VALID(strcpy(c.store_driver, "postgres"));
	EXPECT_INVALID(strcpy(c.store_url, "postgres://db/gpuhub"), "store.url");
	EXPECT_INVALID(strcpy(c.runtime, "docker"), "runtime.engine");
	EXPECT_INVALID(c.stop_grace_s = -1, "runtime.stop_grace_s");
	EXPECT_INVALID(c.stop_grace_s = 3601, "runtime.stop_grace_s");
	EXPECT_VALID(c.stop_grace_s = 0);
	EXPECT_INVALID(c.max_body_bytes = 1023, "http.max_body_bytes");
	EXPECT_INVALID(c.max_body_bytes = 1073741825L, "http.max_body_bytes");
	EXPECT_VALID(c.max_body_bytes = 1073741824L);
	EXPECT_INVALID(c.login_ttl_hours = 0, "auth.login_ttl_hours");
	EXPECT_INVALID(c.login_ttl_hours = 8761, "auth.login_ttl_hours");
	EXPECT_INVALID(c.token_ttl_days = -1, "auth.token_ttl_days");
	EXPECT_INVALID(c.token_ttl_days = 3651, "auth.token_ttl_days");
	EXPECT_VALID(c.token_ttl_days = 0);
	EXPECT_INVALID(c.max_sessions_per_user = 0, "sessions.max_per_user");
	EXPECT_INVALID(c.max_sessions_per_user = 1001, "sessions.max_per_user");
	EXPECT_VALID(c.max_sessions_per_user = 1000);
	EXPECT_INVALID(strcpy(c.websocket_relay, "kernel"), "http.websocket_relay");
	EXPECT_VALID(strcpy(c.websocket_relay, "hub"));
	/* borrowing needs a quota to borrow beyond, and a ceiling above it */
	EXPECT_INVALID(c.sched_user_gpus_max = 2, "sched.user_gpus_max");
	EXPECT_INVALID((c.sched_user_gpus = 4, c.sched_user_gpus_max = 2), "sched.user_gpus_max");
	EXPECT_VALID((c.sched_user_gpus = 2, c.sched_user_gpus_max = 4));
	EXPECT_VALID((c.sched_user_gpus = 2, c.sched_user_gpus_max = 2));
	EXPECT_INVALID(c.sched_group_gpus_max = 8, "sched.group_gpus_max");
	EXPECT_INVALID((c.sched_group_gpus = 8, c.sched_group_gpus_max = 4), "sched.group_gpus_max");
	EXPECT_VALID((c.sched_group_gpus = 8, c.sched_group_gpus_max = 16));
	EXPECT_INVALID((c.sched_user_gpus = 1, c.sched_user_gpus_max = 4097), "sched.user_gpus_max");

	/* A NULL errmsg is allowed. */
	config_defaults(&c);
	c.gpu_poll_ms = 1;
	assert_int_equal(config_validate(&c, NULL, 0), GH_ECONFIG);
}

static void test_validate_after_load(void **state)
{
	fx_t *fx = *state;
	gh_config_t c;

	/* Load checks shape; validate checks values. */
	assert_int_equal(load_text(fx, &c, "log:\n  level: loud\n"), 0);
	assert_int_equal(config_validate(&c, fx->err, sizeof fx->err), GH_ECONFIG);
	assert_non_null(strstr(fx->err, "log.level: 'loud'"));
}

static void test_diff_restart(void **state)
{
	gh_config_t a, b;

	(void)state;
	config_defaults(&a);
	b = a;
	assert_null(config_diff_restart(&a, &b));

	/* Reloadable: log.*, auth.*, http.max_body_bytes, sessions.max_per_user. */
	strcpy(b.log_level, "debug");
	strcpy(b.log_format, "json");
	b.login_ttl_hours = 1;
	b.token_ttl_days = 7;
	b.max_body_bytes = 4096;
	b.max_sessions_per_user = 99;
	assert_null(config_diff_restart(&a, &b));

	b = a;
	strcpy(b.listen, ":9000");
	assert_string_equal(config_diff_restart(&a, &b), "listen");
	b = a;
	strcpy(b.data_dir, "/elsewhere");
	assert_string_equal(config_diff_restart(&a, &b), "data_dir");
	b = a;
	strcpy(b.public_url, "https://x.example");
	assert_string_equal(config_diff_restart(&a, &b), "public_url");
	b = a;
	strcpy(b.gpus, "sim:2");
	assert_string_equal(config_diff_restart(&a, &b), "gpus.source");
	b = a;
	b.gpu_poll_ms = 2000;
	assert_string_equal(config_diff_restart(&a, &b), "gpus.poll_interval_ms");
	b = a;
	strcpy(b.store_url, "/tmp/x.db");
	assert_string_equal(config_diff_restart(&a, &b), "store.url");
	b = a;
	b.stop_grace_s = 1;
	assert_string_equal(config_diff_restart(&a, &b), "runtime.stop_grace_s");
	b = a;
	b.cookie_secure = 1;
	assert_string_equal(config_diff_restart(&a, &b), "http.cookie_secure");

	/* Several changes: the first in file order is named. */
	b = a;
	strcpy(b.log_level, "debug");
	strcpy(b.runtime, "other");
	strcpy(b.store_driver, "postgres");
	assert_string_equal(config_diff_restart(&a, &b), "store.driver");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_data_dir_env),
		cmocka_unit_test_setup_teardown(test_full_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_flow_style_and_bools, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_partial_keeps_current, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_nested_unknown_key, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_types, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_other_load_errors, fx_setup, fx_teardown),
		cmocka_unit_test(test_validate),
		cmocka_unit_test_setup_teardown(test_validate_after_load, fx_setup, fx_teardown),
		cmocka_unit_test(test_diff_restart),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
