/*
 * cli_auth.c — identity verbs: login, logout, whoami, token, plus version
 * and help, and reading passwords without echo.
 *
 * "gpuhub login" signs in once with a password and trades the login
 * cookie for a long-lived API token, which is what the other commands
 * send; a password is never stored. Step by step:
 *
 *   1. POST /login {"username","password"}    → Set-Cookie gpuhub_session
 *   2. POST /tokens {"note":"cli@HOST"}  (cookie) → {"id","token",...}
 *   3. POST /logout                      (cookie) → the cookie is revoked
 *   4. config file: url, token, token_id  (mode 0600)
 *
 * "gpuhub logout" revokes that token (DELETE /tokens/{token_id}) and
 * removes it from the file.
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/model.h"
#include "common/util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* ---- passwords ------------------------------------------------------- */

static int tty_fd = -1;
static struct termios tty_saved;

static void restore_tty(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads one line from fd into out (without the line end). 0, or
 * GH_ETOOBIG / GH_EIO. */
static int read_line_fd(int fd, char *out, size_t outlen)
{
	size_t n = 0;
	char ch;

	for (;;) {
		ssize_t r = read(fd, &ch, 1);
		if (r <= 0) {
			if (n == 0)
				return GH_EIO;
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 >= outlen) {
			explicit_bzero(out, outlen);
			return GH_ETOOBIG;
		}
		out[n++] = ch;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return 0;
}

/* Asks on the terminal; echo off when secret. */
static int ask_tty(cli_ctx_t *c, const char *prompt, int secret, char *out, size_t outlen)
{
	struct termios quiet;
	void (*old_int)(int) = SIG_DFL, (*old_term)(int) = SIG_DFL;
	int fd, rc;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return cli_usage(c, "no terminal to ask on; use --password-stdin%s",
				 secret ? "" : " and --user");
	if (write(fd, prompt, strlen(prompt)) < 0) {
		close(fd);
		return cli_fail(c, CLI_EXIT_ERROR, "cannot write to the terminal");
	}
	if (secret && tcgetattr(fd, &tty_saved) == 0) {
		quiet = tty_saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		tty_fd = fd;
		old_int = signal(SIGINT, restore_tty);
		old_term = signal(SIGTERM, restore_tty);
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	rc = read_line_fd(fd, out, outlen);
	if (tty_fd >= 0) {
		tcsetattr(fd, TCSAFLUSH, &tty_saved);
		tty_fd = -1;
		signal(SIGINT, old_int);
		signal(SIGTERM, old_term);
		if (write(fd, "\n", 1) < 0)
			rc = rc ? rc : GH_EIO;
	}
	close(fd);
	if (rc == GH_ETOOBIG)
		return cli_fail(c, CLI_EXIT_ERROR, "that is too long");
	if (rc < 0)
		return cli_fail(c, CLI_EXIT_ERROR, "no answer on the terminal");
	return 0;
}

int cli_read_password(cli_ctx_t *c, const char *prompt, int from_stdin, int confirm,
		      char *out, size_t outlen)
{
	char again[1100];
	int rc;

	if (from_stdin) {
		rc = read_line_fd(STDIN_FILENO, out, outlen);
		if (rc == GH_ETOOBIG)
			return cli_fail(c, CLI_EXIT_ERROR, "the password on standard input is too long");
		if (rc < 0 || !out[0])
			return cli_fail(c, CLI_EXIT_ERROR, "no password on standard input");
		return 0;
	}
	rc = ask_tty(c, prompt, 1, out, outlen);
	if (rc < 0)
		return rc;
	if (!out[0])
		return cli_fail(c, CLI_EXIT_ERROR, "the password is empty");
	if (!confirm)
		return 0;
	rc = ask_tty(c, "Again: ", 1, again, sizeof(again));
	if (rc == 0 && strcmp(again, out) != 0)
		rc = cli_fail(c, CLI_EXIT_ERROR, "the passwords do not match");
	explicit_bzero(again, sizeof(again));
	if (rc < 0)
		explicit_bzero(out, outlen);
	return rc;
}

/* ---- users and who am I ----------------------------------------------- */

/* A member as text, "-" when missing, null or empty. */
static const char *or_dash(const json_t *o, const char *key, char *buf, size_t n)
{
	const char *v = cli_jstr(o, key, "", buf, n);
	return v[0] ? v : "-";
}

void cli_print_user(cli_ctx_t *c, const json_t *u)
{
	char b[6][GH_TEXT_MAX], when[64];
	cli_table_t t;

	cli_table_init(&t, "KEY", "VALUE", NULL);
	t.no_header = 1;
	cli_table_add(&t, "Name:", or_dash(u, "name", b[0], sizeof(b[0])));
	cli_table_add(&t, "Display name:", or_dash(u, "display_name", b[1], sizeof(b[1])));
	cli_table_add(&t, "Role:", or_dash(u, "role", b[2], sizeof(b[2])));
	cli_table_add(&t, "Group:", or_dash(u, "group", b[3], sizeof(b[3])));
	cli_table_add(&t, "E-mail:", or_dash(u, "email", b[4], sizeof(b[4])));
	cli_table_add(&t, "Status:", json_is_true(json_object_get(u, "disabled")) ?
		      "disabled" : "active");
	cli_fmt_local(json_object_get(u, "created_at"), when, sizeof(when));
	cli_table_add(&t, "Created:", when);
	cli_table_print(&t, c->out);
	cli_table_free(&t);
}

int cli_cmd_whoami(cli_ctx_t *c, const cli_args_t *a)
{
	char nb[GH_NAME_MAX], rb[16];
	cli_resp_t r;
	int rc;

	(void)a;
	rc = cli_call(c, "GET", "/me", NULL, &r);
	if (rc == 0) {
		const char *name = cli_jstr(r.json, "name", "?", nb, sizeof(nb));
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else if (c->quiet)
			fprintf(c->out, "%s\n", name);
		else
			fprintf(c->out, "%s (role %s) on %s\n", name,
				cli_jstr(r.json, "role", "?", rb, sizeof(rb)), c->url);
	}
	cli_resp_free(&r);
	return rc;
}

/* ---- login, logout ------------------------------------------------------ */

static int login_user(cli_ctx_t *c, const cli_args_t *a, char *user, size_t n)
{
	const char *flag = cli_arg(a, "user"), *env = getenv("USER");
	char prompt[128];
	int rc;

	if (flag) {
		gh_strlcpy(user, flag, n);
	} else {
		snprintf(prompt, sizeof(prompt), "Username%s%s%s: ", env ? " [" : "",
			 env ? env : "", env ? "]" : "");
		rc = ask_tty(c, prompt, 0, user, n);
		if (rc < 0)
			return rc;
		if (!user[0] && env)
			gh_strlcpy(user, env, n);
	}
	if (!gh_name_valid(user))
		return cli_usage(c, "'%s' is not a user name", user);
	return 0;
}

/* Step 2 of login: an API token through the login cookie. */
static int login_token(cli_ctx_t *c, cli_config_t *cfg, char *expires, size_t explen)
{
	char host[256] = "localhost", note[300];
	json_t *body;
	cli_resp_t r;
	int rc;

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(note, sizeof(note), "cli@%s", host);
	body = json_pack("{s:s}", "note", note);
	if (!body)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	rc = cli_call(c, "POST", "/tokens", body, &r);
	json_decref(body);
	if (rc == 0) {
		const char *tok = json_string_value(json_object_get(r.json, "token"));
		if (!tok || gh_strlcpy(cfg->token, tok, sizeof(cfg->token)) >= sizeof(cfg->token))
			rc = cli_fail(c, CLI_EXIT_ERROR, "the server's answer holds no usable token");
		cfg->token_id = cli_jint(r.json, "id", 0);
		cli_fmt_local(json_object_get(r.json, "expires_at"), expires, explen);
	}
	cli_resp_free(&r);
	return rc;
}

static int login_save(cli_ctx_t *c, cli_config_t *cfg)
{
	cli_config_t old;
	char msg[128];

	if (!c->config_path[0])
		return cli_fail(c, CLI_EXIT_ERROR, "no home folder to keep the config file in; "
				"use GPUHUB_TOKEN instead (token id %lld)", (long long)cfg->token_id);
	if (cli_config_read(c->config_path, &old, msg, sizeof(msg)) == 0 && old.token[0] &&
	    old.token_id > 0 && strcmp(old.token, cfg->token) != 0)
		fprintf(c->err, "gpuhub: note: this replaces token %lld saved for %s; if it is "
			"still valid, revoke it with 'gpuhub token revoke %lld' there.\n",
			(long long)old.token_id, old.url[0] ? old.url : CLI_DEFAULT_URL,
			(long long)old.token_id);
	explicit_bzero(&old, sizeof(old));
	gh_strlcpy(cfg->url, c->url, sizeof(cfg->url));
	if (cli_config_write(c->config_path, cfg) < 0)
		return cli_fail(c, CLI_EXIT_ERROR, "cannot write %s; the new token (id %lld) was "
				"not saved: revoke it with 'gpuhub token revoke %lld'",
				c->config_path, (long long)cfg->token_id, (long long)cfg->token_id);
	return 0;
}

int cli_cmd_login(cli_ctx_t *c, const cli_args_t *a)
{
	char user[GH_NAME_MAX + 64], pw[1100], expires[64] = "-", nb[GH_NAME_MAX], rb[16];
	cli_config_t cfg;
	cli_resp_t r, out;
	json_t *body;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = login_user(c, a, user, sizeof(user));
	if (rc < 0)
		return rc;
	rc = cli_read_password(c, "Password: ", cli_flag(a, "password-stdin"), 0, pw, sizeof(pw));
	if (rc < 0)
		return rc;
	body = json_pack("{s:s, s:s}", "username", user, "password", pw);
	explicit_bzero(pw, sizeof(pw));
	if (!body)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	c->token[0] = '\0'; /* sign in afresh, whatever token is configured */
	rc = cli_http(c, "POST", "/login", body, &r);
	json_decref(body);
	if (rc == 0 && r.status == 401) {
		const char *m = json_string_value(json_object_get(json_object_get(r.json, "error"),
								  "message"));
		rc = cli_fail(c, CLI_EXIT_AUTH, "sign-in failed: %s", m ? m : "bad credentials");
		goto out;
	}
	if (rc < 0 || r.status < 200 || r.status > 299) {
		rc = rc == GH_ENOMEM ? cli_fail(c, CLI_EXIT_ERROR, "out of memory") : cli_report(c, &r);
		goto out;
	}
	if (!r.cookie[0]) {
		rc = cli_fail(c, CLI_EXIT_ERROR, "the server signed you in but set no "
			      "gpuhub_session cookie");
		goto out;
	}
	gh_strlcpy(c->cookie, r.cookie, sizeof(c->cookie));
	rc = login_token(c, &cfg, expires, sizeof(expires));
	cli_http(c, "POST", "/logout", NULL, &out); /* best effort */
	cli_resp_free(&out);
	explicit_bzero(c->cookie, sizeof(c->cookie));
	if (rc == 0)
		rc = login_save(c, &cfg);
	if (rc == 0) {
		const json_t *u = json_object_get(r.json, "user");
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else if (!c->quiet)
			fprintf(c->out, "Signed in to %s as %s (role %s).\nToken %lld saved in %s "
				"(expires %s).\n", c->url, cli_jstr(u, "name", user, nb, sizeof(nb)),
				cli_jstr(u, "role", "?", rb, sizeof(rb)), (long long)cfg.token_id,
				c->config_path, strcmp(expires, "-") ? expires : "never");
	}
out:
	explicit_bzero(&cfg, sizeof(cfg));
	cli_resp_free(&r);
	return rc;
}

/* The id of the token a listing shows with a prefix of tok; 0 unless
 * exactly one matches. */
static int64_t token_id_by_prefix(const json_t *items, const char *tok)
{
	const json_t *t;
	int64_t id = 0;
	int n = 0;
	size_t i;

	json_array_foreach(items, i, t) {
		const char *p = json_string_value(json_object_get(t, "prefix"));
		if (p && *p && strncmp(tok, p, strlen(p)) == 0) {
			id = cli_jint(t, "id", 0);
			n++;
		}
	}
	return n == 1 ? id : 0;
}

int cli_cmd_logout(cli_ctx_t *c, const cli_args_t *a)
{
	cli_config_t cfg;
	cli_resp_t r;
	char path[64], msg[128];
	int rc, revoked = 0;

	(void)a;
	if (!c->config_path[0] || cli_config_read(c->config_path, &cfg, msg, sizeof(msg)) < 0 ||
	    !cfg.token[0]) {
		if (!c->quiet)
			fprintf(c->out, "Not signed in: no token saved%s%s.\n",
				c->config_path[0] ? " in " : "", c->config_path);
		return 0;
	}
	/* The token is revoked where it is valid: the file's server. */
	if (cli_url_normalize(cfg.url[0] ? cfg.url : CLI_DEFAULT_URL, c->url, sizeof(c->url)) < 0)
		gh_strlcpy(c->url, CLI_DEFAULT_URL, sizeof(c->url));
	c->url_source = "the config file";
	gh_strlcpy(c->token, cfg.token, sizeof(c->token));
	if (cfg.token_id <= 0) {
		rc = cli_http(c, "GET", "/tokens", NULL, &r);
		if (rc == 0 && r.status == 200)
			cfg.token_id = token_id_by_prefix(json_object_get(r.json, "items"), cfg.token);
		cli_resp_free(&r);
	}
	snprintf(path, sizeof(path), "/tokens/%lld", (long long)cfg.token_id);
	rc = cli_http(c, "DELETE", path, NULL, &r);
	if (rc == 0 && ((r.status >= 200 && r.status <= 299) || r.status == 401 || r.status == 404))
		revoked = 1; /* 401/404: it was no longer valid anyway */
	else
		rc = cli_report(c, &r);
	cli_resp_free(&r);
	if (!revoked)
		fprintf(c->err, "The token could not be revoked on the server and stays valid "
			"until it expires; it is removed here anyway.\n");
	cfg.token[0] = '\0';
	cfg.token_id = 0;
	if (cli_config_write(c->config_path, &cfg) < 0)
		rc = cli_fail(c, CLI_EXIT_ERROR, "cannot rewrite %s; remove its token line by hand",
			      c->config_path);
	else if (!c->quiet && c->output == CLI_OUT_TABLE)
		fprintf(c->out, "Signed out of %s; the token was %s and removed from %s.\n", c->url,
			revoked ? "revoked" : "not revoked", c->config_path);
	explicit_bzero(&cfg, sizeof(cfg));
	return revoked ? 0 : rc;
}

/* ---- tokens ------------------------------------------------------------- */

int cli_cmd_token_create(cli_ctx_t *c, const cli_args_t *a)
{
	const char *note = cli_arg(a, "note"), *days = cli_arg(a, "expires-in-days");
	char expires[64], nb[GH_TEXT_MAX];
	const char *tok;
	json_t *body;
	cli_resp_t r;
	int64_t d = 0;
	int rc;

	if (days && cli_parse_uint(days, &d) < 0)
		return cli_usage(c, "--expires-in-days must be a number of days, not '%s'", days);
	body = json_object();
	if (!body)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	if (note)
		json_object_set_new(body, "note", json_string(note));
	if (days)
		json_object_set_new(body, "expires_in_days", json_integer(d));
	rc = cli_call(c, "POST", "/tokens", body, &r);
	json_decref(body);
	if (rc < 0)
		goto out;
	tok = json_string_value(json_object_get(r.json, "token"));
	if (c->output == CLI_OUT_JSON) {
		cli_print_json(c, r.json);
	} else if (c->quiet) {
		fprintf(c->out, "%s\n", tok ? tok : "");
	} else {
		cli_fmt_local(json_object_get(r.json, "expires_at"), expires, sizeof(expires));
		fprintf(c->out, "Token %lld created (note '%s', expires %s).\n"
			"It is shown only this once:\n\n  %s\n\n",
			(long long)cli_jint(r.json, "id", 0), cli_jstr(r.json, "note", "", nb,
			sizeof(nb)), strcmp(expires, "-") ? expires : "never", tok ? tok : "?");
	}
out:
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_token_ls(cli_ctx_t *c, const cli_args_t *a)
{
	const json_t *items, *t;
	int64_t now = gh_now_ms();
	cli_table_t tab;
	cli_resp_t r;
	size_t i;
	int rc;

	(void)a;
	rc = cli_list(c, "/tokens", "id", &r, &items);
	if (rc <= 0)
		goto out;
	rc = 0;
	if (json_array_size(items) == 0) {
		fputs("No tokens.\n", c->out);
		goto out;
	}
	cli_table_init(&tab, "ID", "PREFIX", "NOTE", "AGE", "EXPIRES", "LAST USED", NULL);
	json_array_foreach(items, i, t) {
		char id[32], age[32], exp[64], used[40], b1[32], b2[GH_TEXT_MAX];
		const json_t *lu = json_object_get(t, "last_used_at");
		snprintf(id, sizeof(id), "%lld", (long long)cli_jint(t, "id", 0));
		cli_fmt_since(json_object_get(t, "created_at"), now, age, sizeof(age));
		cli_fmt_local(json_object_get(t, "expires_at"), exp, sizeof(exp));
		if (json_is_string(lu)) {
			char ago[32];
			cli_fmt_since(lu, now, ago, sizeof(ago));
			snprintf(used, sizeof(used), "%s ago", ago);
		} else {
			snprintf(used, sizeof(used), "never");
		}
		cli_table_add(&tab, id, cli_jstr(t, "prefix", NULL, b1, sizeof(b1)),
			      cli_jstr(t, "note", "", b2, sizeof(b2)), age,
			      strcmp(exp, "-") ? exp : "never", used);
	}
	cli_table_print(&tab, c->out);
	cli_table_free(&tab);
out:
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_token_revoke(cli_ctx_t *c, const cli_args_t *a)
{
	char path[64];
	cli_resp_t r;
	int64_t id;
	int rc;

	if (cli_parse_uint(a->pos[0], &id) < 0 || id == 0)
		return cli_usage(c, "a token is named by its id (see 'gpuhub token ls'), not '%s'",
				 a->pos[0]);
	snprintf(path, sizeof(path), "/tokens/%lld", (long long)id);
	rc = cli_call(c, "DELETE", path, NULL, &r);
	if (rc == 0 && !c->quiet && c->output == CLI_OUT_TABLE)
		fprintf(c->out, "Token %lld revoked.\n", (long long)id);
	cli_resp_free(&r);
	return rc;
}

/* ---- version, help ------------------------------------------------------ */

int cli_cmd_version(cli_ctx_t *c, const cli_args_t *a)
{
	cli_resp_t r;
	int up;

	(void)a;
	up = cli_http(c, "GET", "/health", NULL, &r) == 0 && r.status == 200 && r.json;
	if (c->output == CLI_OUT_JSON) {
		json_t *j = json_pack("{s:s, s:O?}", "client", GH_VERSION, "server",
				      up ? r.json : NULL);
		if (j)
			cli_print_json(c, j);
		json_decref(j);
	} else if (c->quiet) {
		fprintf(c->out, "%s\n", GH_VERSION);
	} else {
		char vb[64];
		fprintf(c->out, "client: gpuhub %s\n", GH_VERSION);
		if (up)
			fprintf(c->out, "server: gpuhub %s at %s%s\n",
				cli_jstr(r.json, "version", "?", vb, sizeof(vb)), c->url,
				json_is_true(json_object_get(r.json, "gpus_simulated")) ?
				" (simulated GPUs)" : "");
		else
			fprintf(c->out, "server: not reachable at %s\n", c->url);
	}
	cli_resp_free(&r);
	return 0;
}

int cli_cmd_help(cli_ctx_t *c, const cli_args_t *a)
{
	const cli_cmd_t *cmd;

	if (a->npos == 0) {
		cli_help_overview(c->out);
		return 0;
	}
	if (a->npos == 1 && cli_is_group(a->pos[0])) {
		cli_help_group(c->out, a->pos[0]);
		return 0;
	}
	if (a->npos == 2 && cli_is_group(a->pos[0]))
		cmd = cli_cmd_find(a->pos[0], a->pos[1]);
	else
		cmd = a->npos == 1 ? cli_cmd_find(NULL, a->pos[0]) : NULL;
	if (!cmd) {
		c->verb = NULL;
		return cli_usage(c, "no such command: %s%s%s", a->pos[0], a->npos > 1 ? " " : "",
				 a->npos > 1 ? a->pos[1] : "");
	}
	cli_help_cmd(c->out, cmd);
	return 0;
}
