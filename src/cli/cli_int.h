/*
 * cli_int.h — what the files of the command-line client share.
 *
 * The client is split along these seams:
 *
 *   file            | holds
 *   ----------------+----------------------------------------------------
 *   cli.c           | cli_main: finds the verb, parses flags, dispatches
 *   cli_cmds.c      | the command table: names, flags, usage texts
 *   cli_config.c    | per-user config file; URL and token precedence
 *   cli_http.c      | libcurl requests, error reports, exit codes
 *   cli_sse.c       | server-sent-event line parser (no I/O)
 *   cli_stream.c    | following GET /sessions/{id}/events over SSE
 *   cli_table.c     | aligned tables and key/value listings
 *   cli_fmt.c       | ages, times, GPU counts, sizes, JSON field access
 *   cli_sessions.c  | launch, ls, show, stop, rm, events; SESSION names
 *   cli_shell.c     | shell: a WebSocket to a session's shell, raw terminal
 *   cli_admin.c     | env, users, gpus
 *   cli_snap.c      | snapshot create, ls, restore, rm, import
 *   cli_auth.c      | login, logout, whoami, token, version; passwords
 *   cli_usage.c     | usage (GPU-hours per user, day, ...)
 *
 * Conventions: functions return 0 or a negative gh_err_t. What the process
 * exits with is decided where an error is printed: the printing helper
 * (cli_fail, cli_usage, cli_report) records the exit code in the context,
 * and cli_main returns it. Output goes through ctx->out / ctx->err so the
 * unit tests can capture it.
 */
#ifndef GH_CLI_INT_H
#define GH_CLI_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/version.h"

/* Exit codes (see cli.h). */
enum {
	CLI_EXIT_OK          = 0,
	CLI_EXIT_ERROR       = 1, /* the server (or a local file) reported an error */
	CLI_EXIT_USAGE       = 2, /* bad command line */
	CLI_EXIT_UNREACHABLE = 3, /* no HTTP answer from the server */
	CLI_EXIT_AUTH        = 4, /* 401 or 403 */
	CLI_EXIT_NOTFOUND    = 5, /* 404 */
};

#define CLI_DEFAULT_URL "http://127.0.0.1:8000"
#define CLI_API_PREFIX  "/api/v1"
#define CLI_URL_MAX     1024
#define CLI_TOKEN_MAX   512
#define CLI_PATH_MAX    4096

typedef enum { CLI_OUT_TABLE = 0, CLI_OUT_JSON } cli_output_t;

/* ---- context: one per invocation ------------------------------------ */

typedef struct {
	FILE *out;                  /* results (stdout); borrowed */
	FILE *err;                  /* messages (stderr); borrowed */
	cli_output_t output;
	int quiet;                  /* -q: only ids/secrets, no chatter */
	char url[CLI_URL_MAX];      /* normalised base: no trailing '/' or /api/v1 */
	char token[CLI_TOKEN_MAX];  /* API token, "" = none */
	const char *url_source;     /* "--url", "GPUHUB_URL", "the config file", "the default"; static */
	char cookie[CLI_TOKEN_MAX]; /* login cookie value while signing in, "" = none */
	char config_path[CLI_PATH_MAX];
	const char *verb;           /* "launch", "users add"; for usage hints; static */
	int exit_code;              /* recorded by the first error printed, 0 = none yet */
} cli_ctx_t;

/* ---- arguments, dispatch, errors (cli.c) ------------------------------ */

#define CLI_MAX_OPTS 24
#define CLI_MAX_POS  8

typedef struct {
	char name[24];              /* long name without "--" */
	char shortname;             /* one-letter alias, 0 = none */
	int takes_value;
	const char *value;          /* parsed: the value, "" for a bare flag, NULL = absent */
} cli_opt_t;

typedef struct {
	cli_opt_t opt[CLI_MAX_OPTS];
	size_t nopt;
	const char *pos[CLI_MAX_POS];   /* positional arguments, borrowed from argv */
	int npos;
} cli_args_t;

/* Adds options from spec, a comma-separated list such as
 * "name=,wait,o|output=": '=' means the option takes a value, "x|" gives
 * a one-letter alias. 0 or GH_EINVAL (a malformed spec: a bug). */
int cli_args_spec(cli_args_t *a, const char *spec);
/* Parses argv[0..argc) against the spec: "--name V", "--name=V", "-x V",
 * "-xV", bare flags, "--" ending options. 0, or GH_EINVAL with a sentence
 * in msg. */
int cli_args_parse(cli_args_t *a, int argc, char **argv, char *msg, size_t msglen);
/* Value of an option, "" for a given flag, NULL when absent. */
const char *cli_arg(const cli_args_t *a, const char *name);
/* 1 when the option was given. */
int cli_flag(const cli_args_t *a, const char *name);

/* Runs the client with explicit streams (cli_main uses stdout/stderr). */
int cli_run(int argc, char **argv, FILE *out, FILE *err);
/* Prints "gpuhub: <fmt>" to c->err, records exit_code, returns a gh_err_t. */
int cli_fail(cli_ctx_t *c, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A usage error: message plus "Run 'gpuhub help VERB'"; exit code 2. */
int cli_usage(cli_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- command table (cli_cmds.c) ------------------------------------- */

typedef struct cli_cmd cli_cmd_t;
typedef int (*cli_cmd_fn)(cli_ctx_t *c, const cli_args_t *a);

struct cli_cmd {
	const char *group;          /* "users", or NULL for a top-level verb */
	const char *name;           /* "add", "launch" */
	cli_cmd_fn run;
	const char *opts;           /* cli_args_spec() string, "" = none */
	int min_pos, max_pos;       /* positional arguments allowed */
	int local;                  /* 1: needs no server (help, version's first line) */
	const char *summary;        /* one line for the overview */
	const char *usage;          /* full help text */
};

extern const cli_cmd_t cli_cmds[];
extern const size_t cli_ncmds;
#define CLI_GLOBAL_OPTS "url=,token=,o|output=,q|quiet,h|help"

/* True when word names a group of sub-commands ("env", "users", "token"). */
int cli_is_group(const char *word);
/* The command for (group, name) or (NULL, name); NULL when unknown. */
const cli_cmd_t *cli_cmd_find(const char *group, const char *name);
/* Prints the overview, a group's list or one command's help to f. */
void cli_help_overview(FILE *f);
void cli_help_group(FILE *f, const char *group);
void cli_help_cmd(FILE *f, const cli_cmd_t *cmd);

/* ---- config and precedence (cli_config.c) --------------------------- */

typedef struct {
	char url[CLI_URL_MAX];      /* "" = not set */
	char token[CLI_TOKEN_MAX];  /* "" = not set */
	int64_t token_id;           /* id of token on the server, 0 = unknown */
	int loose_mode;             /* 1: the file is readable by group/others */
} cli_config_t;

/* $XDG_CONFIG_HOME/gpuhub/config, else $HOME/.config/gpuhub/config.
 * 0 or GH_ENOTFOUND (no home) / GH_EINVAL (too long). */
int cli_config_path(char *out, size_t outlen);
/* Reads path; a missing file gives an empty config and 0. GH_EIO on a
 * read error, GH_EINVAL (line number in msg) on a malformed line. */
int cli_config_read(const char *path, cli_config_t *cfg, char *msg, size_t msglen);
/* Writes url, token and token_id (empty ones removed), keeping other
 * lines, atomically with mode 0600; makes the folder (0700) if needed. */
int cli_config_write(const char *path, const cli_config_t *cfg);
/* Normalises a server URL: adds "http://" when no scheme is given, drops
 * trailing '/' and a trailing "/api/v1". 0 or GH_EINVAL. */
int cli_url_normalize(const char *in, char *out, size_t outlen);
/* Fills c->url/token/url_source: flag > environment > config file >
 * default. The file's token is used only when the URL in force is the
 * file's URL, so it never goes to another server. NULL or "" = unset.
 * 0 or GH_EINVAL (bad URL, message printed). */
int cli_ctx_resolve(cli_ctx_t *c, const char *flag_url, const char *flag_token,
		    const char *env_url, const char *env_token, const cli_config_t *file);

/* ---- HTTP (cli_http.c) ---------------------------------------------- */

typedef struct {
	long status;                /* HTTP status, 0 = no answer */
	char *body;                 /* NUL-terminated body; owned */
	size_t len;
	json_t *json;               /* body parsed as JSON, NULL if it is not; owned */
	char content_type[128];
	char cookie[CLI_TOKEN_MAX]; /* gpuhub_session value from Set-Cookie, "" = none */
	char transport_err[256];    /* why there was no answer */
} cli_resp_t;

void cli_resp_free(cli_resp_t *r);
/* A libcurl handle for METHOD on path (relative to /api/v1) carrying the
 * context's credentials (the login cookie if set, else the token), the
 * Accept header and the common options. *hdrs receives the header list,
 * which the caller may extend, must install with CURLOPT_HTTPHEADER, and
 * frees after the transfer. NULL when out of memory. */
CURL *cli_curl_new(cli_ctx_t *c, const char *method, const char *path, const char *accept,
		   struct curl_slist **hdrs);
/* Sends METHOD url+/api/v1+path with body (NULL: none; POST without body
 * sends "{}"). 0 when any HTTP answer came (whatever its status), GH_EIO
 * when none did, GH_ENOMEM. r is always initialised. */
int cli_http(cli_ctx_t *c, const char *method, const char *path, const json_t *body,
	     cli_resp_t *r);
/* Sends data (len bytes, of Content-Type ctype) as the body; else as
 * cli_http. */
int cli_http_raw(cli_ctx_t *c, const char *method, const char *path, const char *ctype, const void *data,
		 size_t len, cli_resp_t *r);
/* cli_http, then cli_report unless the status is 2xx; a 2xx body that is
 * not JSON is an error too. 0 for 2xx. */
int cli_call(cli_ctx_t *c, const char *method, const char *path, const json_t *body,
	     cli_resp_t *r);
/* GET path of a {"items":[...]} list and handle the plain outputs: -o json
 * prints the answer, -q prints each item's quiet_key. Returns 1 when the
 * caller should print its table from *items, 0 when done, < 0 on error.
 * r is always initialised (free it). */
int cli_list(cli_ctx_t *c, const char *path, const char *quiet_key, cli_resp_t *r, const json_t **items);
/* Prints "gpuhub: <message>" (and a hint) for a failed answer or no
 * answer, records the exit code, returns the matching gh_err_t. */
int cli_report(cli_ctx_t *c, const cli_resp_t *r);
/* The process exit code for an HTTP status (0 = no answer). */
int cli_exit_for_status(long status);
/* The gh_err_t for an HTTP status (0 for 2xx). */
int cli_err_for_status(long status);
/* Prints j indented (the -o json form). */
void cli_print_json(cli_ctx_t *c, const json_t *j);
/* Appends "name=escaped(value)" to a query string being built in q. */
int cli_query_add(char *q, size_t qlen, const char *name, const char *value);

/* ---- SSE parser (cli_sse.c) ------------------------------------------ */

/* Called per complete event: type ("message" unless given), last event
 * id ("" if none), data (lines joined by '\n'). Returns 0 to go on, 1 to
 * stop, or a negative gh_err_t. */
typedef int (*cli_sse_fn)(void *arg, const char *type, const char *id, const char *data);

typedef struct {
	cli_sse_fn fn;
	void *arg;
	char *line;                 /* line being read; owned */
	size_t llen, lcap;
	char *data;                 /* data field of the event being built; owned */
	size_t dlen, dcap;
	int has_data;
	int saw_cr;                 /* last byte was CR: a following LF ends nothing */
	int started;                /* past a possible byte-order mark */
	char type[64];
	char id[128];               /* last event id; persists between events */
} cli_sse_t;

void cli_sse_init(cli_sse_t *p, cli_sse_fn fn, void *arg);
/* Feeds n bytes. 0, 1 when fn asked to stop, GH_ETOOBIG for a line over
 * 1 MiB, GH_ENOMEM, or fn's negative code. */
int cli_sse_feed(cli_sse_t *p, const char *buf, size_t n);
void cli_sse_free(cli_sse_t *p);

/* ---- event streams (cli_stream.c) ------------------------------------ */

/* Per event object: 0 go on, 1 stop, negative error. */
typedef int (*cli_event_fn)(cli_ctx_t *c, const json_t *event, void *arg);

/* Follows GET /sessions/{id}/events as SSE until fn says stop, resuming
 * with Last-Event-ID when the connection drops. timeout_s > 0 gives up
 * with GH_ETIMEOUT (nothing printed). */
int cli_stream_events(cli_ctx_t *c, int64_t session_id, long timeout_s,
		      cli_event_fn fn, void *arg);

/* ---- tables (cli_table.c) -------------------------------------------- */

#define CLI_TABLE_MAXCOLS 12

typedef struct {
	size_t ncols;
	const char *head[CLI_TABLE_MAXCOLS];  /* static strings */
	unsigned right;             /* bit i: column i aligned right */
	int no_header;              /* key/value listings */
	char **cells;               /* nrows * ncols, owned */
	size_t nrows, cap;
} cli_table_t;

/* Headers as a NULL-terminated list of static strings. */
int cli_table_init(cli_table_t *t, const char *first, ...);
/* Adds one row of exactly ncols strings (NULL prints as "-"). */
int cli_table_add(cli_table_t *t, ...);
/* Adds one row from an array of ncols strings. */
int cli_table_addv(cli_table_t *t, const char *const *cells);
void cli_table_print(const cli_table_t *t, FILE *f);
void cli_table_free(cli_table_t *t);
/* Terminal width of UTF-8 text (code points; a simplification). */
size_t cli_text_width(const char *s);
/* Copies s into out replacing control characters with spaces, so server
 * text can neither break alignment nor send escape sequences. */
void cli_text_clean(const char *s, char *out, size_t outlen);

/* ---- formatting (cli_fmt.c) ------------------------------------------- */

/* "45s", "4m5s", "12m", "3h12m", "2d5h", "40d"; negative counts as 0. */
void cli_fmt_age(int64_t seconds, char *out, size_t outlen);
/* Parses RFC 3339 ("2026-11-29T09:00:00Z", fractions, "+02:00") to Unix
 * ms. 0 or GH_EINVAL. */
int cli_parse_time(const char *s, int64_t *ms);
/* Age of an RFC 3339 time at now_ms, "-" for null/unparsable. */
void cli_fmt_since(const json_t *t, int64_t now_ms, char *out, size_t outlen);
/* Local "2026-11-29 10:00:00" for an RFC 3339 time, "-" when null. */
void cli_fmt_local(const json_t *t, char *out, size_t outlen);
/* "0.5", "1", "2.25" from milli-GPUs. */
void cli_fmt_milli(int64_t milli, char *out, size_t outlen);
/* "512 MiB", "40 GiB", "1.5 GiB". */
void cli_fmt_mib(int64_t mib, char *out, size_t outlen);
/* Parses a --gpus value: a count ("2") or a fraction ("0.5"); milli out.
 * 0 or GH_EINVAL. */
int cli_parse_gpus(const char *s, int64_t *milli);
/* Parses a non-negative decimal integer. 0 or GH_EINVAL. */
int cli_parse_uint(const char *s, int64_t *out);
/* Object member as a string: strings as they are, numbers/booleans
 * printed, null/missing as dflt. Points into buf or the JSON. */
const char *cli_jstr(const json_t *obj, const char *key, const char *dflt,
		     char *buf, size_t buflen);
/* Object member as an integer (reals truncated); dflt when absent. */
int64_t cli_jint(const json_t *obj, const char *key, int64_t dflt);
/* One progress line for an Event object: "10:00:01  starting   40%  msg". */
void cli_event_line(const json_t *ev, char *out, size_t outlen);

/* ---- sessions (cli_sessions.c) ---------------------------------------- */

/* Finds the session called name in a JSON array of Session objects;
 * owner, when not NULL, must match its "user". 0 with *id, GH_ENOTFOUND,
 * or GH_EEXIST when several match. */
int cli_session_match(const json_t *items, const char *name, const char *owner, int64_t *id);
/* Turns SESSION (an id, NAME, or USER/NAME) into an id, asking the
 * server for names. Errors are printed. */
int cli_session_resolve(cli_ctx_t *c, const char *arg, int64_t *id);

int cli_cmd_launch(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_ls(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_show(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_stop(cli_ctx_t *c, const cli_args_t *a);
/* cli_idle.c */
int cli_cmd_suspend(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_resume(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_rm(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_events(cli_ctx_t *c, const cli_args_t *a);

/* ---- snapshots (cli_snap.c) -------------------------------------------- */

int cli_cmd_snap_create(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_snap_ls(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_snap_restore(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_snap_rm(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_snap_import(cli_ctx_t *c, const cli_args_t *a);

/* ---- admin (cli_admin.c) ------------------------------------------------ */

int cli_cmd_env_ls(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_env_check(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_env_show(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_env_add(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_env_rm(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_gpus(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_alerts(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_unquarantine(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_queue(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_usage(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_logs(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_shell(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_users_ls(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_users_add(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_users_show(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_users_set(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_users_rm(cli_ctx_t *c, const cli_args_t *a);
/* One cell for a GPU's fault/health. */
void cli_fmt_health(const json_t *gpu, char *out, size_t outlen);

/* ---- identity (cli_auth.c) ---------------------------------------------- */

int cli_cmd_login(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_logout(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_whoami(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_token_create(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_token_ls(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_token_revoke(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_version(cli_ctx_t *c, const cli_args_t *a);
int cli_cmd_help(cli_ctx_t *c, const cli_args_t *a);
/* Reads a password: the first line of stdin when from_stdin, else from
 * the terminal without echo (asked twice when confirm). Errors printed. */
int cli_read_password(cli_ctx_t *c, const char *prompt, int from_stdin, int confirm,
		      char *out, size_t outlen);
/* Prints a User object as a key/value listing. */
void cli_print_user(cli_ctx_t *c, const json_t *u);

#endif
