/*
 * test_cli.c — unit tests of the command-line client's logic that needs
 * no server: flag parsing and dispatch, URL/token precedence, the config
 * file, tables, time and size formatting, the SSE parser, session name
 * matching and the HTTP status → exit code mapping.
 * (test_cli_http.c drives whole commands against a scripted server.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "cli/cli_int.h"
#include "common/err.h"
#include "test_cli_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

static int setup_env(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cli.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	unsetenv("GPUHUB_URL");
	unsetenv("GPUHUB_TOKEN");
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static int teardown_env(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}


/* ---- flags ---------------------------------------------------------- */

static void test_args_forms(void **state)
{
	cli_args_t a;
	char msg[128];
	char *argv[] = { "ENV", "--name", "train", "--gpus=0.5", "-ojson", "-q", "--wait",
			 "--", "--not-a-flag", NULL };
	(void)state;

	memset(&a, 0, sizeof(a));
	assert_int_equal(cli_args_spec(&a, "name=,gpus=,wait"), 0);
	assert_int_equal(cli_args_spec(&a, CLI_GLOBAL_OPTS), 0);
	assert_int_equal(cli_args_parse(&a, 9, argv, msg, sizeof(msg)), 0);
	assert_string_equal(cli_arg(&a, "name"), "train");
	assert_string_equal(cli_arg(&a, "gpus"), "0.5");
	assert_string_equal(cli_arg(&a, "output"), "json");
	assert_true(cli_flag(&a, "quiet"));
	assert_true(cli_flag(&a, "wait"));
	assert_false(cli_flag(&a, "help"));
	assert_null(cli_arg(&a, "url"));
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "ENV");
	assert_string_equal(a.pos[1], "--not-a-flag");
}

static void test_args_errors(void **state)
{
	char msg[128];
	char *unknown[] = { "--bogus" }, *missing[] = { "--name" }, *extra[] = { "--wait=1" };
	char *bundle[] = { "-qx" }, *dash[] = { "-" };
	cli_args_t a;
	(void)state;

	memset(&a, 0, sizeof(a));
	cli_args_spec(&a, "name=,wait,q|quiet");
	assert_int_equal(cli_args_parse(&a, 1, unknown, msg, sizeof(msg)), GH_EINVAL);
	assert_non_null(strstr(msg, "--bogus"));
	assert_int_equal(cli_args_parse(&a, 1, missing, msg, sizeof(msg)), GH_EINVAL);
	assert_non_null(strstr(msg, "needs a value"));
	assert_int_equal(cli_args_parse(&a, 1, extra, msg, sizeof(msg)), GH_EINVAL);
	assert_non_null(strstr(msg, "takes no value"));
	assert_int_equal(cli_args_parse(&a, 1, bundle, msg, sizeof(msg)), GH_EINVAL);
	/* "-" alone is an argument (standard input). */
	assert_int_equal(cli_args_parse(&a, 1, dash, msg, sizeof(msg)), 0);
	assert_string_equal(a.pos[0], "-");
	/* A malformed spec is refused. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(cli_args_spec(&a, "x|="), GH_EINVAL);
}

static void test_args_too_many(void **state)
{
	char *argv[CLI_MAX_POS + 1];
	char msg[64];
	cli_args_t a;
	(void)state;

	for (int i = 0; i <= CLI_MAX_POS; i++)
		argv[i] = "x";
	memset(&a, 0, sizeof(a));
	assert_int_equal(cli_args_parse(&a, CLI_MAX_POS + 1, argv, msg, sizeof(msg)), GH_EINVAL);
}

/* ---- dispatch and usage (nothing reaches a server) -------------------- */

static void test_dispatch_help(void **state)
{
	struct run r;
	(void)state;

	r = run_cli(NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	assert_non_null(strstr(r.err, "Usage: gpuhub COMMAND"));
	run_free(&r);

	r = run_cli("--help", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "launch"));
	assert_non_null(strstr(r.out, "Exit codes"));
	run_free(&r);

	r = run_cli("help", "users", "add", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Usage: gpuhub users add NAME"));
	run_free(&r);

	r = run_cli("users", "--help", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Usage: gpuhub users COMMAND"));
	run_free(&r);

	r = run_cli("users", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	run_free(&r);

	r = run_cli("help", "nosuch", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	run_free(&r);
}

/* Every command answers --help (before or after the verb) with its usage
 * and an example, and exits 0 without touching the network. */
static void test_every_verb_has_help(void **state)
{
	(void)state;
	for (size_t i = 0; i < cli_ncmds; i++) {
		const cli_cmd_t *cmd = &cli_cmds[i];
		char want[64];
		struct run r;

		if (cmd->group)
			r = run_cli(cmd->group, cmd->name, "--help", NULL);
		else
			r = run_cli("-h", cmd->name, NULL);
		assert_int_equal(r.rc, 0);
		snprintf(want, sizeof(want), "Usage: gpuhub %s%s%s", cmd->group ? cmd->group : "",
			 cmd->group ? " " : "", cmd->name);
		assert_non_null(strstr(r.out, want));
		assert_true(strstr(r.out, "Example") != NULL);
		assert_non_null(strstr(r.out, "--url URL"));
		run_free(&r);
	}
}

static void test_dispatch_usage_errors(void **state)
{
	struct run r;
	(void)state;

	r = run_cli("frobnicate", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
	run_free(&r);

	r = run_cli("users", "frob", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	assert_non_null(strstr(r.err, "'users frob'"));
	run_free(&r);

	r = run_cli("launch", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	assert_non_null(strstr(r.err, "gpuhub help launch"));
	run_free(&r);

	r = run_cli("show", "a", "b", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	run_free(&r);

	r = run_cli("-o", "yaml", "ls", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	assert_non_null(strstr(r.err, "-o must be"));
	run_free(&r);

	r = run_cli("ls", "--state", "sleeping", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	run_free(&r);

	r = run_cli("launch", "env", "--gpus", "1.5", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	run_free(&r);

	r = run_cli("--url", "ftp://x", "ls", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	assert_non_null(strstr(r.err, "from --url"));
	run_free(&r);

	r = run_cli("users", "set", "bob", "--enable", "--disable", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	run_free(&r);

	r = run_cli("token", "revoke", "abc", NULL);
	assert_int_equal(r.rc, CLI_EXIT_USAGE);
	run_free(&r);
}

/* Global flags are found on either side of the verb; the verb is not
 * mistaken for the value of --url. */
static void test_dispatch_global_positions(void **state)
{
	struct run r;
	(void)state;

	r = run_cli("--url", "http://127.0.0.1:1", "-q", "ls", NULL);
	assert_int_equal(r.rc, CLI_EXIT_UNREACHABLE);
	assert_non_null(strstr(r.err, "http://127.0.0.1:1"));
	assert_non_null(strstr(r.err, "gpuhub serve"));
	run_free(&r);

	r = run_cli("users", "--url", "http://127.0.0.1:1", "ls", "-o", "json", NULL);
	assert_int_equal(r.rc, CLI_EXIT_UNREACHABLE);
	run_free(&r);

	/* version works without a server. */
	r = run_cli("version", "--url=http://127.0.0.1:1", NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "client: gpuhub " GH_VERSION));
	assert_non_null(strstr(r.out, "not reachable at http://127.0.0.1:1"));
	run_free(&r);
}

/* ---- URL and token precedence ----------------------------------------- */

static void test_url_normalize(void **state)
{
	char out[CLI_URL_MAX];
	(void)state;

	assert_int_equal(cli_url_normalize("http://hub:8000/", out, sizeof(out)), 0);
	assert_string_equal(out, "http://hub:8000");
	assert_int_equal(cli_url_normalize("hub:8000", out, sizeof(out)), 0);
	assert_string_equal(out, "http://hub:8000");
	assert_int_equal(cli_url_normalize("https://hub.lab/api/v1/", out, sizeof(out)), 0);
	assert_string_equal(out, "https://hub.lab");
	assert_int_equal(cli_url_normalize("HTTP://h/prefix", out, sizeof(out)), 0);
	assert_string_equal(out, "HTTP://h/prefix");
	assert_int_equal(cli_url_normalize("ftp://hub", out, sizeof(out)), GH_EINVAL);
	assert_int_equal(cli_url_normalize("http://", out, sizeof(out)), GH_EINVAL);
	assert_int_equal(cli_url_normalize("", out, sizeof(out)), GH_EINVAL);
	assert_int_equal(cli_url_normalize("http://a b", out, sizeof(out)), GH_EINVAL);
}

static void ctx_init(cli_ctx_t *c)
{
	memset(c, 0, sizeof(*c));
	c->out = stdout;
	c->err = stderr;
}

static void test_precedence(void **state)
{
	cli_config_t file;
	cli_ctx_t c;
	(void)state;

	memset(&file, 0, sizeof(file));
	strcpy(file.url, "http://file:1");
	strcpy(file.token, "gh_file");

	/* flag beats everything */
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, "http://flag:1", "gh_flag", "http://env:1",
					 "gh_env", &file), 0);
	assert_string_equal(c.url, "http://flag:1");
	assert_string_equal(c.token, "gh_flag");
	assert_string_equal(c.url_source, "--url");

	/* environment beats the file */
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, NULL, NULL, "http://env:1", "gh_env", &file), 0);
	assert_string_equal(c.url, "http://env:1");
	assert_string_equal(c.token, "gh_env");
	assert_string_equal(c.url_source, "GPUHUB_URL");

	/* the file, when nothing else is given */
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, NULL, NULL, NULL, NULL, &file), 0);
	assert_string_equal(c.url, "http://file:1");
	assert_string_equal(c.token, "gh_file");

	/* empty values count as unset */
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, "", "", "", "", &file), 0);
	assert_string_equal(c.url, "http://file:1");
	assert_string_equal(c.token, "gh_file");

	/* the default */
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, NULL, NULL, NULL, NULL, NULL), 0);
	assert_string_equal(c.url, CLI_DEFAULT_URL);
	assert_string_equal(c.token, "");
	assert_string_equal(c.url_source, "the default");

	/* the file's token never goes to another server ... */
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, "http://other:1", NULL, NULL, NULL, &file), 0);
	assert_string_equal(c.token, "");
	/* ... but does to the same one spelled differently */
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, NULL, NULL, "file:1/api/v1", NULL, &file), 0);
	assert_string_equal(c.token, "gh_file");
	/* an environment token goes wherever the URL points */
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, "http://other:1", NULL, NULL, "gh_env", &file), 0);
	assert_string_equal(c.token, "gh_env");
	/* a file without url holds a token for the default server */
	file.url[0] = '\0';
	ctx_init(&c);
	assert_int_equal(cli_ctx_resolve(&c, NULL, NULL, NULL, NULL, &file), 0);
	assert_string_equal(c.url, CLI_DEFAULT_URL);
	assert_string_equal(c.token, "gh_file");
}

static void test_precedence_errors(void **state)
{
	FILE *devnull = fopen("/dev/null", "w");
	cli_ctx_t c;
	(void)state;

	ctx_init(&c);
	c.err = devnull;
	assert_int_equal(cli_ctx_resolve(&c, "gopher://x", NULL, NULL, NULL, NULL), GH_EINVAL);
	assert_int_equal(c.exit_code, CLI_EXIT_USAGE);
	ctx_init(&c);
	c.err = devnull;
	assert_true(cli_ctx_resolve(&c, NULL, "gh_a b", NULL, NULL, NULL) < 0);
	assert_string_equal(c.token, "");
	fclose(devnull);
}

/* ---- config file -------------------------------------------------------- */

static void test_config_path(void **state)
{
	char path[CLI_PATH_MAX], want[CLI_PATH_MAX];
	(void)state;

	assert_int_equal(cli_config_path(path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/gpuhub/config", tmpdir);
	assert_string_equal(path, want);

	setenv("XDG_CONFIG_HOME", "relative/ignored", 1);
	setenv("HOME", "/home/someone", 1);
	assert_int_equal(cli_config_path(path, sizeof(path)), 0);
	assert_string_equal(path, "/home/someone/.config/gpuhub/config");
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
}

static void test_config_roundtrip(void **state)
{
	char path[CLI_PATH_MAX], msg[128];
	cli_config_t w, r;
	struct stat st;
	(void)state;

	snprintf(path, sizeof(path), "%s/rt/gpuhub/config", tmpdir);
	/* missing file: empty config, no error */
	assert_int_equal(cli_config_read(path, &r, msg, sizeof(msg)), 0);
	assert_string_equal(r.url, "");

	memset(&w, 0, sizeof(w));
	strcpy(w.url, "http://hub:8000");
	strcpy(w.token, "gh_secret");
	w.token_id = 42;
	assert_int_equal(cli_config_write(path, &w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/rt/gpuhub", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	snprintf(path, sizeof(path), "%s/rt/gpuhub/config", tmpdir);
	assert_int_equal(cli_config_read(path, &r, msg, sizeof(msg)), 0);
	assert_string_equal(r.url, "http://hub:8000");
	assert_string_equal(r.token, "gh_secret");
	assert_int_equal(r.token_id, 42);
	assert_int_equal(r.loose_mode, 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char *read_all(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Rewriting keeps comments and unknown keys, replaces managed keys in
 * place and drops the ones being cleared; it also tightens the mode. */
static void test_config_rewrite(void **state)
{
	char path[CLI_PATH_MAX], msg[128];
	cli_config_t c;
	char *text;
	struct stat st;
	(void)state;

	snprintf(path, sizeof(path), "%s/rw-config", tmpdir);
	write_file(path, "# mine\nurl = http://old:1\ncolor = yes\n  token=\"gh_old\"\n"
		   "token_id = 3\n", 0644);
	assert_int_equal(cli_config_read(path, &c, msg, sizeof(msg)), 0);
	assert_string_equal(c.token, "gh_old");
	assert_string_equal(c.url, "http://old:1");
	assert_int_equal(c.loose_mode, 1);

	memset(&c, 0, sizeof(c));
	strcpy(c.url, "http://new:2");
	assert_int_equal(cli_config_write(path, &c), 0);
	text = read_all(path);
	assert_string_equal(text, "# mine\nurl = http://new:2\ncolor = yes\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	strcpy(c.token, "gh_new");
	c.token_id = 9;
	assert_int_equal(cli_config_write(path, &c), 0);
	text = read_all(path);
	assert_string_equal(text, "# mine\nurl = http://new:2\ncolor = yes\ntoken = gh_new\n"
			    "token_id = 9\n");

	/* a value with a line break could inject keys: refused */
	strcpy(c.token, "gh_x\nurl = http://evil");
	assert_int_equal(cli_config_write(path, &c), GH_EINVAL);
}

static void test_config_malformed(void **state)
{
	char path[CLI_PATH_MAX], msg[128];
	cli_config_t c;
	(void)state;

	snprintf(path, sizeof(path), "%s/bad-config", tmpdir);
	write_file(path, "url = http://x\njust words\n", 0600);
	assert_int_equal(cli_config_read(path, &c, msg, sizeof(msg)), GH_EINVAL);
	assert_non_null(strstr(msg, "line 2"));
	assert_string_equal(c.url, "");
	write_file(path, "token_id = seven\n", 0600);
	assert_int_equal(cli_config_read(path, &c, msg, sizeof(msg)), GH_EINVAL);
}

/* The config file is what a command uses when nothing else is given. */
static void test_config_used_by_commands(void **state)
{
	char path[CLI_PATH_MAX];
	struct run r;
	(void)state;

	snprintf(path, sizeof(path), "%s/gpuhub", tmpdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/gpuhub/config", tmpdir);
	write_file(path, "url = http://127.0.0.1:1\n", 0600);
	r = run_cli("ls", NULL);
	assert_int_equal(r.rc, CLI_EXIT_UNREACHABLE);
	assert_non_null(strstr(r.err, "127.0.0.1:1 (from the config file)"));
	run_free(&r);

	setenv("GPUHUB_URL", "http://127.0.0.1:2", 1);
	r = run_cli("ls", NULL);
	assert_non_null(strstr(r.err, "127.0.0.1:2 (from GPUHUB_URL)"));
	run_free(&r);
	unsetenv("GPUHUB_URL");

	write_file(path, "nonsense\n", 0600);
	r = run_cli("ls", NULL);
	assert_int_equal(r.rc, CLI_EXIT_ERROR);
	assert_non_null(strstr(r.err, "line 1"));
	run_free(&r);
	unlink(path);
}

/* ---- tables --------------------------------------------------------------- */

static char *table_text(const cli_table_t *t)
{
	static char *buf;
	size_t len;
	FILE *f;

	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	cli_table_print(t, f);
	fclose(f);
	return buf;
}

static void test_table_alignment(void **state)
{
	cli_table_t t;
	(void)state;

	assert_int_equal(cli_table_init(&t, "ID", "NAME", "STATE", NULL), 0);
	assert_int_equal(cli_table_add(&t, "12", "train", "running"), 0);
	assert_int_equal(cli_table_add(&t, "7", "a-much-longer-name", NULL), 0);
	assert_string_equal(table_text(&t),
			    "ID   NAME                 STATE\n"
			    "12   train                running\n"
			    "7    a-much-longer-name   -\n");
	t.right = 1u << 0;
	assert_string_equal(table_text(&t),
			    "ID   NAME                 STATE\n"
			    "12   train                running\n"
			    " 7   a-much-longer-name   -\n");
	cli_table_free(&t);
}

static void test_table_utf8_and_control(void **state)
{
	cli_table_t t;
	(void)state;

	cli_table_init(&t, "NAME", "DISPLAY", "X", NULL);
	cli_table_add(&t, "zoë", "a\tb\x1b[31m", "1");
	cli_table_add(&t, "al", "", "");
	/* "zoë" is 3 columns wide; tab and ESC become spaces; no trailing
	 * blanks after empty last cells. */
	assert_string_equal(table_text(&t),
			    "NAME   DISPLAY    X\n"
			    "zoë    a b [31m   1\n"
			    "al\n");
	cli_table_free(&t);

	cli_table_init(&t, "K", "V", NULL);
	t.no_header = 1;
	cli_table_add(&t, "Name:", "x");
	cli_table_add(&t, "Environment:", "y");
	assert_string_equal(table_text(&t), "Name:          x\nEnvironment:   y\n");
	cli_table_free(&t);
	assert_int_equal(cli_text_width("ñandú"), 5);
}

static void test_text_clean_truncation(void **state)
{
	char out[5];
	(void)state;

	/* "abcü" into 5 bytes: the cut must not split the two bytes of ü */
	cli_text_clean("abcü", out, sizeof(out));
	assert_string_equal(out, "abc");
	cli_text_clean("ab\n", out, sizeof(out));
	assert_string_equal(out, "ab ");
}

/* ---- formatting ---------------------------------------------------------- */

static void test_fmt_age(void **state)
{
	static const struct { int64_t s; const char *want; } cases[] = {
		{ -5, "0s" }, { 0, "0s" }, { 45, "45s" }, { 59, "59s" }, { 60, "1m" },
		{ 245, "4m5s" }, { 600, "10m" }, { 720, "12m" }, { 3599, "59m" },
		{ 3600, "1h" }, { 11520, "3h12m" }, { 36000, "10h" }, { 86399, "23h" },
		{ 86400, "1d" }, { 190800, "2d5h" }, { 7 * 86400, "7d" }, { 3456000, "40d" },
	};
	char out[32];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_fmt_age(cases[i].s, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
}

static void test_parse_time(void **state)
{
	int64_t ms;
	(void)state;

	assert_int_equal(cli_parse_time("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(cli_parse_time("2026-11-29T09:00:00Z", &ms), 0);
	assert_int_equal(ms, 1795942800000LL);
	assert_int_equal(cli_parse_time("2026-11-29T09:00:00.25Z", &ms), 0);
	assert_int_equal(ms, 1795942800250LL);
	assert_int_equal(cli_parse_time("2026-11-29T11:00:00+02:00", &ms), 0);
	assert_int_equal(ms, 1795942800000LL);
	assert_int_equal(cli_parse_time("2026-11-29T04:30:00.123456-04:30", &ms), 0);
	assert_int_equal(ms, 1795942800123LL);
	assert_int_equal(cli_parse_time("2000-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 951782400000LL);
	assert_int_equal(cli_parse_time("2026-11-29T09:00:00", &ms), GH_EINVAL);
	assert_int_equal(cli_parse_time("2026-13-29T09:00:00Z", &ms), GH_EINVAL);
	assert_int_equal(cli_parse_time("2026-11-29T09:00:00Zjunk", &ms), GH_EINVAL);
	assert_int_equal(cli_parse_time("yesterday", &ms), GH_EINVAL);
	assert_int_equal(cli_parse_time("2026-11-29T09:00:00.Z", &ms), GH_EINVAL);
}

static void test_fmt_since_and_local(void **state)
{
	json_t *t = json_string("2026-11-29T09:00:00Z");
	char out[64];
	(void)state;

	cli_fmt_since(t, 1795942800000LL + 11520 * 1000LL, out, sizeof(out));
	assert_string_equal(out, "3h12m");
	cli_fmt_since(json_null(), 0, out, sizeof(out));
	assert_string_equal(out, "-");
	cli_fmt_local(t, out, sizeof(out)); /* TZ=UTC in these tests */
	assert_string_equal(out, "2026-11-29 09:00:00");
	cli_fmt_local(NULL, out, sizeof(out));
	assert_string_equal(out, "-");
	json_decref(t);
}

static void test_fmt_numbers(void **state)
{
	char out[32];
	int64_t v;
	(void)state;

	cli_fmt_milli(500, out, sizeof(out));
	assert_string_equal(out, "0.5");
	cli_fmt_milli(250, out, sizeof(out));
	assert_string_equal(out, "0.25");
	cli_fmt_milli(2000, out, sizeof(out));
	assert_string_equal(out, "2");
	cli_fmt_milli(1125, out, sizeof(out));
	assert_string_equal(out, "1.125");
	cli_fmt_milli(0, out, sizeof(out));
	assert_string_equal(out, "0");
	cli_fmt_mib(512, out, sizeof(out));
	assert_string_equal(out, "512 MiB");
	cli_fmt_mib(81920, out, sizeof(out));
	assert_string_equal(out, "80 GiB");
	cli_fmt_mib(1536, out, sizeof(out));
	assert_string_equal(out, "1.5 GiB");

	assert_int_equal(cli_parse_gpus("1", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(cli_parse_gpus("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_gpus("0.5", &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(cli_parse_gpus("0.125", &v), 0);
	assert_int_equal(v, 125);
	assert_int_equal(cli_parse_gpus("2.000", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(cli_parse_gpus("1.5", &v), GH_EINVAL);
	assert_int_equal(cli_parse_gpus("0.0001", &v), GH_EINVAL);
	assert_int_equal(cli_parse_gpus("-1", &v), GH_EINVAL);
	assert_int_equal(cli_parse_gpus(".5", &v), GH_EINVAL);
	assert_int_equal(cli_parse_gpus("1.", &v), GH_EINVAL);
	assert_int_equal(cli_parse_gpus("1e3", &v), GH_EINVAL);
	assert_int_equal(cli_parse_gpus("", &v), GH_EINVAL);

	assert_int_equal(cli_parse_uint("90", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(cli_parse_uint("9x", &v), GH_EINVAL);
	assert_int_equal(cli_parse_uint("", &v), GH_EINVAL);
	assert_int_equal(cli_parse_uint("99999999999999999999", &v), GH_EINVAL);
}

static void test_json_access(void **state)
{
	json_t *o = json_pack("{s:s, s:i, s:f, s:b, s:n, s:{s:i}}", "s", "text", "i", 7,
			      "r", 0.5, "b", 1, "n", "o", "k", 1);
	char buf[64];
	(void)state;

	assert_string_equal(cli_jstr(o, "s", "d", buf, sizeof(buf)), "text");
	assert_string_equal(cli_jstr(o, "i", "d", buf, sizeof(buf)), "7");
	assert_string_equal(cli_jstr(o, "r", "d", buf, sizeof(buf)), "0.5");
	assert_string_equal(cli_jstr(o, "b", "d", buf, sizeof(buf)), "true");
	assert_string_equal(cli_jstr(o, "n", "d", buf, sizeof(buf)), "d");
	assert_string_equal(cli_jstr(o, "missing", "d", buf, sizeof(buf)), "d");
	assert_string_equal(cli_jstr(o, "o", "d", buf, sizeof(buf)), "{\"k\":1}");
	assert_null(cli_jstr(NULL, "s", NULL, buf, sizeof(buf)));
	assert_int_equal(cli_jint(o, "i", -1), 7);
	assert_int_equal(cli_jint(o, "r", -1), 0);
	assert_int_equal(cli_jint(o, "s", -1), -1);
	json_decref(o);
}

static void test_event_line(void **state)
{
	json_t *ev = json_pack("{s:i, s:s, s:s, s:i, s:s, s:s}", "id", 40, "type",
			       "session.starting", "state", "starting", "percent", 40,
			       "message", "pulling\nimage", "ts", "2026-11-29T09:00:03Z");
	char out[256];
	(void)state;

	cli_event_line(ev, out, sizeof(out));
	assert_string_equal(out, "09:00:03  starting     40%  pulling image");
	json_object_set_new(ev, "percent", json_integer(-1));
	json_object_set_new(ev, "message", json_string(""));
	cli_event_line(ev, out, sizeof(out));
	assert_string_equal(out, "09:00:03  starting          session.starting");
	json_decref(ev);
}

static void test_health_cell(void **state)
{
	json_t *g = json_pack("{s:b, s:n}", "healthy", 1, "fault");
	char out[64];
	(void)state;

	cli_fmt_health(g, out, sizeof(out));
	assert_string_equal(out, "ok");
	json_object_set_new(g, "fault", json_pack("{s:s, s:i}", "type", "xid", "xid", 79));
	cli_fmt_health(g, out, sizeof(out));
	assert_string_equal(out, "xid 79");
	json_object_set_new(g, "fault", json_pack("{s:s}", "type", "lost"));
	cli_fmt_health(g, out, sizeof(out));
	assert_string_equal(out, "lost");
	json_object_set_new(g, "fault", json_null());
	json_object_set_new(g, "healthy", json_false());
	cli_fmt_health(g, out, sizeof(out));
	assert_string_equal(out, "unhealthy");
	json_decref(g);
}

/* ---- SSE ------------------------------------------------------------------- */

struct sse_log {
	char buf[2048];
	int n;
	int stop_after;
};

static int sse_rec(void *arg, const char *type, const char *id, const char *data)
{
	struct sse_log *l = arg;
	size_t len = strlen(l->buf);

	snprintf(l->buf + len, sizeof(l->buf) - len, "[%s|%s|%s]", type, id, data);
	l->n++;
	return l->stop_after && l->n >= l->stop_after ? 1 : 0;
}

static const char sse_stream[] =
	"\xEF\xBB\xBF: keep-alive comment\n"
	"retry: 3000\n"
	"id: 1\n"
	"event: session.queued\n"
	"data: {\"state\":\"queued\"}\n"
	"\n"
	"data:first\r\n"
	"data:  two spaces\r\n"
	"\r\n"
	"id: 3\r"
	"data\r"
	"\r"
	"event: ignored-without-data\n"
	"\n"
	"id: 4\n"
	"data: tail\n"
	"\n"
	"data: never dispatched (no blank line)\n";

static const char sse_want[] =
	"[session.queued|1|{\"state\":\"queued\"}]"
	"[message|1|first\n two spaces]"
	"[message|3|]"
	"[message|4|tail]";

static void test_sse_whole(void **state)
{
	struct sse_log l = { "", 0, 0 };
	cli_sse_t p;
	(void)state;

	cli_sse_init(&p, sse_rec, &l);
	assert_int_equal(cli_sse_feed(&p, sse_stream, sizeof(sse_stream) - 1), 0);
	assert_string_equal(l.buf, sse_want);
	assert_string_equal(p.id, "4");
	cli_sse_free(&p);
}

/* Any split of the stream into chunks parses the same (CRLF across a
 * chunk boundary included). */
static void test_sse_any_split(void **state)
{
	size_t n = sizeof(sse_stream) - 1;
	(void)state;

	for (size_t cut = 0; cut <= n; cut++) {
		struct sse_log l = { "", 0, 0 };
		cli_sse_t p;
		cli_sse_init(&p, sse_rec, &l);
		assert_int_equal(cli_sse_feed(&p, sse_stream, cut), 0);
		assert_int_equal(cli_sse_feed(&p, sse_stream + cut, n - cut), 0);
		assert_string_equal(l.buf, sse_want);
		cli_sse_free(&p);
	}
	{
		struct sse_log l = { "", 0, 0 };
		cli_sse_t p;
		cli_sse_init(&p, sse_rec, &l);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(cli_sse_feed(&p, sse_stream + i, 1), 0);
		assert_string_equal(l.buf, sse_want);
		cli_sse_free(&p);
	}
}

static void test_sse_stop(void **state)
{
	struct sse_log l = { "", 0, 2 };
	cli_sse_t p;
	(void)state;

	cli_sse_init(&p, sse_rec, &l);
	assert_int_equal(cli_sse_feed(&p, sse_stream, sizeof(sse_stream) - 1), 1);
	assert_int_equal(l.n, 2);
	cli_sse_free(&p);
}

static void test_sse_too_long(void **state)
{
	struct sse_log l = { "", 0, 0 };
	size_t n = (1u << 20) + 10;
	char *big = malloc(n);
	cli_sse_t p;
	(void)state;

	memset(big, 'x', n);
	cli_sse_init(&p, sse_rec, &l);
	assert_int_equal(cli_sse_feed(&p, big, n), GH_ETOOBIG);
	cli_sse_free(&p);
	free(big);
}

/* ---- sessions by name ----------------------------------------------------- */

static void test_session_match(void **state)
{
	json_error_t e;
	json_t *items = json_loads(
		"[{\"id\":12,\"name\":\"train\",\"user\":\"alice\"},"
		" {\"id\":13,\"name\":\"eval\",\"user\":\"alice\"},"
		" {\"id\":20,\"name\":\"train\",\"user\":\"bob\"},"
		" {\"id\":\"x\",\"name\":\"odd\"},"
		" {\"name\":\"noid\"}, 5, null]", 0, &e);
	int64_t id = 0;
	(void)state;

	assert_non_null(items);
	assert_int_equal(cli_session_match(items, "eval", NULL, &id), 0);
	assert_int_equal(id, 13);
	assert_int_equal(cli_session_match(items, "train", NULL, &id), GH_EEXIST);
	assert_int_equal(cli_session_match(items, "train", "bob", &id), 0);
	assert_int_equal(id, 20);
	assert_int_equal(cli_session_match(items, "train", "carol", &id), GH_ENOTFOUND);
	assert_int_equal(cli_session_match(items, "odd", NULL, &id), GH_ENOTFOUND);
	assert_int_equal(cli_session_match(items, "noid", NULL, &id), GH_ENOTFOUND);
	assert_int_equal(cli_session_match(items, "tra", NULL, &id), GH_ENOTFOUND);
	assert_int_equal(cli_session_match(NULL, "train", NULL, &id), GH_ENOTFOUND);
	json_decref(items);
}

/* Ids need no server; malformed names are usage errors before any request. */
static void test_session_resolve_local(void **state)
{
	FILE *devnull = fopen("/dev/null", "w");
	cli_ctx_t c;
	int64_t id = 0;
	(void)state;

	ctx_init(&c);
	c.err = devnull;
	strcpy(c.url, "http://127.0.0.1:1");
	assert_int_equal(cli_session_resolve(&c, "42", &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(cli_session_resolve(&c, "Bad Name", &id), GH_EINVAL);
	assert_int_equal(c.exit_code, CLI_EXIT_USAGE);
	c.exit_code = 0;
	assert_int_equal(cli_session_resolve(&c, "alice/Bad", &id), GH_EINVAL);
	c.exit_code = 0;
	/* a name needs the server, which is not there */
	assert_int_equal(cli_session_resolve(&c, "alice/train", &id), GH_EIO);
	assert_int_equal(c.exit_code, CLI_EXIT_UNREACHABLE);
	fclose(devnull);
}

/* ---- status → exit code ---------------------------------------------------- */

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(cli_exit_for_status(200), CLI_EXIT_OK);
	assert_int_equal(cli_exit_for_status(201), CLI_EXIT_OK);
	assert_int_equal(cli_exit_for_status(204), CLI_EXIT_OK);
	assert_int_equal(cli_exit_for_status(0), CLI_EXIT_UNREACHABLE);
	assert_int_equal(cli_exit_for_status(400), CLI_EXIT_ERROR);
	assert_int_equal(cli_exit_for_status(401), CLI_EXIT_AUTH);
	assert_int_equal(cli_exit_for_status(403), CLI_EXIT_AUTH);
	assert_int_equal(cli_exit_for_status(404), CLI_EXIT_NOTFOUND);
	assert_int_equal(cli_exit_for_status(405), CLI_EXIT_ERROR);
	assert_int_equal(cli_exit_for_status(409), CLI_EXIT_ERROR);
	assert_int_equal(cli_exit_for_status(413), CLI_EXIT_ERROR);
	assert_int_equal(cli_exit_for_status(500), CLI_EXIT_ERROR);
	assert_int_equal(cli_exit_for_status(502), CLI_EXIT_ERROR);

	assert_int_equal(cli_err_for_status(204), 0);
	assert_int_equal(cli_err_for_status(0), GH_EIO);
	assert_int_equal(cli_err_for_status(400), GH_EINVAL);
	assert_int_equal(cli_err_for_status(401), GH_EAUTH);
	assert_int_equal(cli_err_for_status(403), GH_EPERM);
	assert_int_equal(cli_err_for_status(404), GH_ENOTFOUND);
	assert_int_equal(cli_err_for_status(409), GH_ESTATE);
	assert_int_equal(cli_err_for_status(413), GH_ETOOBIG);
	assert_int_equal(cli_err_for_status(503), GH_EINTERNAL);
}

static void test_query_add(void **state)
{
	char q[64] = "";
	char small[12] = "";
	(void)state;

	assert_int_equal(cli_query_add(q, sizeof(q), "state", "running"), 0);
	assert_int_equal(cli_query_add(q, sizeof(q), "user", "a b&c=d/é"), 0);
	assert_string_equal(q, "?state=running&user=a%20b%26c%3Dd%2F%C3%A9");
	assert_int_equal(cli_query_add(small, sizeof(small), "user", "0123456789"), GH_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_forms),
		cmocka_unit_test(test_args_errors),
		cmocka_unit_test(test_args_too_many),
		cmocka_unit_test(test_dispatch_help),
		cmocka_unit_test(test_every_verb_has_help),
		cmocka_unit_test(test_dispatch_usage_errors),
		cmocka_unit_test(test_dispatch_global_positions),
		cmocka_unit_test(test_url_normalize),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_precedence_errors),
		cmocka_unit_test(test_config_path),
		cmocka_unit_test(test_config_roundtrip),
		cmocka_unit_test(test_config_rewrite),
		cmocka_unit_test(test_config_malformed),
		cmocka_unit_test(test_config_used_by_commands),
		cmocka_unit_test(test_table_alignment),
		cmocka_unit_test(test_table_utf8_and_control),
		cmocka_unit_test(test_text_clean_truncation),
		cmocka_unit_test(test_fmt_age),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_fmt_since_and_local),
		cmocka_unit_test(test_fmt_numbers),
		cmocka_unit_test(test_json_access),
		cmocka_unit_test(test_event_line),
		cmocka_unit_test(test_health_cell),
		cmocka_unit_test(test_sse_whole),
		cmocka_unit_test(test_sse_any_split),
		cmocka_unit_test(test_sse_stop),
		cmocka_unit_test(test_sse_too_long),
		cmocka_unit_test(test_session_match),
		cmocka_unit_test(test_session_resolve_local),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_query_add),
	};
	return cmocka_run_group_tests(tests, setup_env, teardown_env);
}
