/*
 * cli.c — entry point of the command-line client: finds the verb in argv,
 * parses its flags together with the global ones, works out which server
 * and token to use, and runs the verb.
 *
 * Global flags (--url, --token, -o, -q, -h) may stand before or after the
 * verb, so the verb is found first: the first word that is neither a flag
 * nor the value of a global flag. For a group ("env", "users", "token")
 * the next such word is the sub-command. Everything else is then parsed
 * against the command's own flags plus the global ones:
 *
 *   gpuhub -o json users --url http://hub:8000 add bob --role admin
 *          ^^^^^^^ ^^^^^ ^^^^^^^^^^^^^^^^^^^^^ ^^^ ^^^ ^^^^^^^^^^^^
 *          global  group global                sub pos command flag
 *
 * The exit code is whatever the first printed error recorded (see
 * cli_int.h), so a verb only has to return a negative code.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/util.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- flags ---------------------------------------------------------- */

int cli_args_spec(cli_args_t *a, const char *spec)
{
	const char *p = spec;

	while (*p) {
		size_t len = strcspn(p, ",");
		const char *s = p;
		size_t l = len;
		cli_opt_t *o;

		p += len;
		if (*p == ',')
			p++;
		if (len == 0)
			continue;
		if (a->nopt >= CLI_MAX_OPTS)
			return GH_EINVAL;
		o = &a->opt[a->nopt];
		memset(o, 0, sizeof(*o));
		if (l >= 2 && s[1] == '|') {
			o->shortname = s[0];
			s += 2;
			l -= 2;
		}
		if (l > 0 && s[l - 1] == '=') {
			o->takes_value = 1;
			l--;
		}
		if (l == 0 || l >= sizeof(o->name))
			return GH_EINVAL;
		memcpy(o->name, s, l);
		o->name[l] = '\0';
		a->nopt++;
	}
	return 0;
}

static cli_opt_t *opt_long(cli_args_t *a, const char *name, size_t len)
{
	for (size_t i = 0; i < a->nopt; i++)
		if (strlen(a->opt[i].name) == len && strncmp(a->opt[i].name, name, len) == 0)
			return &a->opt[i];
	return NULL;
}

static cli_opt_t *opt_short(cli_args_t *a, char ch)
{
	for (size_t i = 0; i < a->nopt; i++)
		if (a->opt[i].shortname == ch)
			return &a->opt[i];
	return NULL;
}

int cli_args_parse(cli_args_t *a, int argc, char **argv, char *msg, size_t msglen)
{
	int only_pos = 0;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *inline_val = NULL;
		cli_opt_t *o;

		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			if (a->npos >= CLI_MAX_POS) {
				snprintf(msg, msglen, "too many arguments");
				return GH_EINVAL;
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (arg[1] == '-') {
			const char *name = arg + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			o = opt_long(a, name, len);
			if (eq)
				inline_val = eq + 1;
		} else {
			o = opt_short(a, arg[1]);
			if (arg[2] != '\0')
				inline_val = arg + 2;
			if (o && !o->takes_value && inline_val)
				o = NULL; /* "-qx": no bundling */
		}
		if (!o) {
			snprintf(msg, msglen, "unknown flag '%s'", arg);
			return GH_EINVAL;
		}
		if (o->takes_value) {
			if (!inline_val) {
				if (i + 1 >= argc) {
					snprintf(msg, msglen, "flag --%s needs a value", o->name);
					return GH_EINVAL;
				}
				inline_val = argv[++i];
			}
			o->value = inline_val;
		} else {
			if (inline_val) {
				snprintf(msg, msglen, "flag --%s takes no value", o->name);
				return GH_EINVAL;
			}
			o->value = "";
		}
	}
	return 0;
}

const char *cli_arg(const cli_args_t *a, const char *name)
{
	for (size_t i = 0; i < a->nopt; i++)
		if (strcmp(a->opt[i].name, name) == 0)
			return a->opt[i].value;
	return NULL;
}

int cli_flag(const cli_args_t *a, const char *name)
{
	return cli_arg(a, name) != NULL;
}

/* ---- errors --------------------------------------------------------- */

static int err_for_exit(int exit_code)
{
	switch (exit_code) {
	case CLI_EXIT_UNREACHABLE: return GH_EIO;
	case CLI_EXIT_AUTH:        return GH_EAUTH;
	case CLI_EXIT_NOTFOUND:    return GH_ENOTFOUND;
	default:                   return GH_EINVAL;
	}
}

static int exit_for_err(int err)
{
	switch (err) {
	case GH_EIO:       return CLI_EXIT_UNREACHABLE;
	case GH_EAUTH:
	case GH_EPERM:     return CLI_EXIT_AUTH;
	case GH_ENOTFOUND: return CLI_EXIT_NOTFOUND;
	default:           return CLI_EXIT_ERROR;
	}
}

int cli_fail(cli_ctx_t *c, int exit_code, const char *fmt, ...)
{
	va_list ap;

	fputs("gpuhub: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	if (!c->exit_code)
		c->exit_code = exit_code;
	return err_for_exit(exit_code);
}

int cli_usage(cli_ctx_t *c, const char *fmt, ...)
{
	va_list ap;

	fputs("gpuhub: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fprintf(c->err, "\nRun 'gpuhub help%s%s' for usage.\n", c->verb ? " " : "",
		c->verb ? c->verb : "");
	if (!c->exit_code)
		c->exit_code = CLI_EXIT_USAGE;
	return GH_EINVAL;
}

/* ---- dispatch ------------------------------------------------------- */

/* True for a global flag whose value is the next word. */
static int global_takes_next(const char *arg)
{
	return strcmp(arg, "--url") == 0 || strcmp(arg, "--token") == 0 ||
	       strcmp(arg, "--output") == 0 || strcmp(arg, "-o") == 0;
}

/* Index of the first command word at or after start, -1 if none. */
static int find_word(int argc, char **argv, int start)
{
	for (int i = start; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--") == 0)
			return -1;
		if (arg[0] == '-' && arg[1] != '\0') {
			if (global_takes_next(arg))
				i++;
			continue;
		}
		return i;
	}
	return -1;
}

static int any_help_flag(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Reads the config file and settles URL and token. */
static int setup_server(cli_ctx_t *c, const cli_args_t *a)
{
	cli_config_t cfg;
	char msg[256];
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	if (cli_config_path(c->config_path, sizeof(c->config_path)) == 0) {
		rc = cli_config_read(c->config_path, &cfg, msg, sizeof(msg));
		if (rc < 0)
			return cli_fail(c, CLI_EXIT_ERROR, "cannot use the config file %s: %s",
					c->config_path, msg);
		if (cfg.loose_mode && cfg.token[0])
			fprintf(c->err, "gpuhub: warning: %s holds a token but other users can "
				"read it; run 'chmod 600 %s'\n", c->config_path, c->config_path);
	}
	rc = cli_ctx_resolve(c, cli_arg(a, "url"), cli_arg(a, "token"),
			     env_nonempty("GPUHUB_URL"), env_nonempty("GPUHUB_TOKEN"), &cfg);
	explicit_bzero(&cfg, sizeof(cfg));
	return rc;
}

static int run_cmd(cli_ctx_t *c, const cli_cmd_t *cmd, int argc, char **argv)
{
	cli_args_t a;
	char msg[256];
	const char *o;
	int rc;

	memset(&a, 0, sizeof(a));
	if (cli_args_spec(&a, cmd->opts) < 0 || cli_args_spec(&a, CLI_GLOBAL_OPTS) < 0)
		return cli_fail(c, CLI_EXIT_ERROR, "internal error: bad flag table for '%s'", c->verb);
	if (cli_args_parse(&a, argc, argv, msg, sizeof(msg)) < 0)
		return cli_usage(c, "%s", msg);
	if (cli_flag(&a, "help")) {
		cli_help_cmd(c->out, cmd);
		return 0;
	}
	if (a.npos < cmd->min_pos)
		return cli_usage(c, "'%s' needs more arguments", c->verb);
	if (a.npos > cmd->max_pos)
		return cli_usage(c, "unexpected argument '%s'", a.pos[cmd->max_pos]);
	o = cli_arg(&a, "output");
	if (o && strcmp(o, "json") == 0)
		c->output = CLI_OUT_JSON;
	else if (o && strcmp(o, "table") != 0)
		return cli_usage(c, "-o must be 'table' or 'json', not '%s'", o);
	c->quiet = cli_flag(&a, "quiet");
	if (!cmd->local) {
		rc = setup_server(c, &a);
		if (rc < 0)
			return rc;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cli_fail(c, CLI_EXIT_ERROR, "cannot initialise libcurl");
	rc = cmd->run(c, &a);
	curl_global_cleanup();
	return rc;
}

/* Top level without a usable verb: overview or group list. */
static int no_verb(cli_ctx_t *c, const char *group, int help)
{
	FILE *f = help ? c->out : c->err;

	if (group)
		cli_help_group(f, group);
	else
		cli_help_overview(f);
	return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

int cli_run(int argc, char **argv, FILE *out, FILE *err)
{
	char verb[48];
	cli_ctx_t c;
	const cli_cmd_t *cmd;
	char **rest;
	int w1, w2 = -1, n = 0, rc;

	memset(&c, 0, sizeof(c));
	c.out = out;
	c.err = err;
	c.url_source = "the default";

	w1 = find_word(argc, argv, 1);
	if (w1 < 0)
		return no_verb(&c, NULL, any_help_flag(argc, argv));
	if (cli_is_group(argv[w1])) {
		w2 = find_word(argc, argv, w1 + 1);
		if (w2 < 0)
			return no_verb(&c, argv[w1], any_help_flag(argc, argv));
		cmd = cli_cmd_find(argv[w1], argv[w2]);
		snprintf(verb, sizeof(verb), "%s %s", argv[w1], argv[w2]);
	} else {
		cmd = cli_cmd_find(NULL, argv[w1]);
		snprintf(verb, sizeof(verb), "%s", argv[w1]);
	}
	if (!cmd) {
		fprintf(err, "gpuhub: unknown command '%s'\nRun 'gpuhub help%s%s' for a list.\n",
			verb, w2 >= 0 ? " " : "", w2 >= 0 ? argv[w1] : "");
		return CLI_EXIT_USAGE;
	}
	c.verb = verb;

	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest) {
		fputs("gpuhub: out of memory\n", err);
		return CLI_EXIT_ERROR;
	}
	for (int i = 1; i < argc; i++)
		if (i != w1 && i != w2)
			rest[n++] = argv[i];
	rc = run_cmd(&c, cmd, n, rest);
	free(rest);
	fflush(out);
	if (rc == 0)
		return c.exit_code;
	return c.exit_code ? c.exit_code : exit_for_err(rc);
}

int cli_main(int argc, char **argv)
{
	return cli_run(argc, argv, stdout, stderr);
}
