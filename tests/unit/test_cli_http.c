/*
 * test_cli_http.c — whole client commands against a scripted HTTP server
 * on a loopback port: the server answers each connection with the next
 * canned response and records the request, so the tests check both what
 * the client sends (method, path, headers, body) and what it prints and
 * exits with. The real daemon is exercised by the integration tests.
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EXCH 8

/* ---- scripted server ------------------------------------------------- */

struct server {
	int lfd;
	int port;
	char url[64];
	pthread_t th;
	char *resp[MAX_EXCH];      /* raw responses, one per connection; owned */
	int nresp;
	char req[MAX_EXCH][8192];  /* requests as received */
	int nreq;
};

static void read_request(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	long want = -1;

	while (n + 1 < cap) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;
		char *end;

		if (poll(&p, 1, 5000) <= 0)
			break;
		r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		if (want < 0) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");
			want = (long)(end + 4 - buf) + (cl && cl < end ? strtol(cl + 17, NULL, 10) : 0);
		}
		if ((long)n >= want)
			break;
	}
	buf[n] = '\0';
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < s->nresp; i++) {
		struct pollfd p = { s->lfd, POLLIN, 0 };
		int fd;

		if (poll(&p, 1, 5000) <= 0)
			break;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			break;
		read_request(fd, s->req[i], sizeof(s->req[i]));
		s->nreq = i + 1;
		(void)!send(fd, s->resp[i], strlen(s->resp[i]), MSG_NOSIGNAL);
		shutdown(fd, SHUT_RDWR);
		close(fd);
	}
	return NULL;
}

/* A full response with Content-Length; ctype NULL means no body. */
static char *response(const char *status, const char *ctype, const char *extra,
		      const char *body)
{
	char *r = NULL;
	int n;

	if (ctype)
		n = asprintf(&r, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			     "Connection: close\r\n\r\n%s", status, ctype, strlen(body),
			     extra ? extra : "", body);
	else
		n = asprintf(&r, "HTTP/1.1 %s\r\nContent-Length: 0\r\n%sConnection: close\r\n\r\n",
			     status, extra ? extra : "");
	assert_true(n > 0);
	return r;
}

static char *json_resp(const char *status, const char *body)
{
	return response(status, "application/json", NULL, body);
}

/* An event stream that ends when the server closes the connection. */
static char *sse_resp(const char *events)
{
	char *r = NULL;
	assert_true(asprintf(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			     "Cache-Control: no-cache\r\nConnection: close\r\n\r\n%s", events) > 0);
	return r;
}

/* Listens on port (0: any free one) and serves n scripted responses. */
static void server_start(struct server *s, int port, int n, ...)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	va_list ap;

	memset(s, 0, sizeof(*s));
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s->resp[i] = va_arg(ap, char *);
	va_end(ap);
	s->nresp = n;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
	for (int i = 0; i < s->nresp; i++)
		free(s->resp[i]);
}

/* ---- running the client: run_cli() (test_cli_fx.h) ---------------------- */

static char tmpdir[256];

static int setup_env(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cli_http.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	unsetenv("GPUHUB_URL");
	unsetenv("GPUHUB_TOKEN");
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	setenv("TZ", "UTC", 1);
	return 0;
}

static int teardown_env(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- error answers → messages and exit codes --------------------------- */

static void test_errors_by_status(void **state)
{
	static const struct {
		const char *status, *body;
		int want_rc;
		const char *want_err;
	} cases[] = {
		{ "404 Not Found", "{\"error\":{\"code\":\"not_found\",\"message\":"
		  "\"session 99 not found\"}}", CLI_EXIT_NOTFOUND, "gpuhub: session 99 not found\n" },
		{ "401 Unauthorized", "{\"error\":{\"code\":\"unauthenticated\",\"message\":"
		  "\"token expired\"}}", CLI_EXIT_AUTH, "gpuhub login" },
		{ "403 Forbidden", "{\"error\":{\"code\":\"forbidden\",\"message\":"
		  "\"admins only\"}}", CLI_EXIT_AUTH, "administrator" },
		{ "409 Conflict", "{\"error\":{\"code\":\"no_capacity\",\"message\":"
		  "\"no A100 has room\"}}", CLI_EXIT_ERROR, "gpuhub: no A100 has room" },
		{ "400 Bad Request", "{\"error\":{\"code\":\"invalid\",\"message\":"
		  "\"must be below 1\",\"field\":\"gpus\"}}", CLI_EXIT_ERROR,
		  "must be below 1 (field 'gpus')" },
		{ "502 Bad Gateway", "<html>\x1b[2Jproxy</html>", CLI_EXIT_ERROR,
		  "gpuhub: the server answered HTTP 502" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct server s;
		struct run r;

		server_start(&s, 0, 1, json_resp(cases[i].status, cases[i].body));
		r = run_cli("show", "99", "--url", s.url, "--token", "gh_test", NULL);
		server_stop(&s);
		assert_int_equal(r.rc, cases[i].want_rc);
		assert_non_null(strstr(r.err, cases[i].want_err));
		assert_null(strchr(r.err, '\x1b'));
		assert_string_equal(r.out, "");
		assert_true(strncmp(s.req[0], "GET /api/v1/sessions/99 HTTP/1.1\r\n", 34) == 0);
		assert_non_null(strstr(s.req[0], "\r\nAuthorization: Bearer gh_test\r\n"));
		assert_non_null(strstr(s.req[0], "\r\nAccept: application/json\r\n"));
		run_free(&r);
	}
}

static void test_no_token_hint(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, json_resp("401 Unauthorized",
				      "{\"error\":{\"code\":\"unauthenticated\",\"message\":\"sign in\"}}"));
	r = run_cli("whoami", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, CLI_EXIT_AUTH);
	assert_non_null(strstr(r.err, "You are not signed in"));
	assert_null(strstr(s.req[0], "Authorization:"));
	run_free(&r);
}

/* ---- listings ------------------------------------------------------------ */

static const char sessions_body[] =
	"{\"items\":[{\"id\":12,\"name\":\"train\",\"user\":\"alice\",\"env\":\"jupyter-pytorch\","
	"\"state\":\"running\",\"gpus\":0.5,\"gpu_milli\":500,\"gpu_model\":null,"
	"\"created_at\":null,\"queue\":null},"
	"{\"id\":3,\"name\":\"big\",\"user\":\"alice\",\"env\":\"vscode\",\"state\":\"queued\","
	"\"gpus\":2,\"gpu_milli\":2000,\"gpu_model\":\"A100-80GB\",\"created_at\":null,"
	"\"queue\":{\"position\":2,\"reason\":\"busy\",\"eta_seconds\":null}}],"
	"\"total\":5,\"limit\":2,\"offset\":0}";

static void test_ls_table(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, json_resp("200 OK", sessions_body));
	r = run_cli("ls", "--url", s.url, "--state", "running", "--limit", "2", NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
			    "ID   NAME    ENV               STATE       GPUS            AGE\n"
			    "12   train   jupyter-pytorch   running     0.5             -\n"
			    "3    big     vscode            queued #2   2 (A100-80GB)   -\n");
	assert_non_null(strstr(r.err, "2 of 5 sessions shown"));
	assert_true(strncmp(s.req[0], "GET /api/v1/sessions?state=running&limit=2 ", 43) == 0);
	run_free(&r);
}

static void test_ls_json_and_quiet(void **state)
{
	json_t *want = json_loads(sessions_body, 0, NULL), *got;
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 2, json_resp("200 OK", sessions_body), json_resp("200 OK", sessions_body));
	r = run_cli("-o", "json", "ls", "--all", "--url", s.url, NULL);
	got = json_loads(r.out, 0, NULL);
	assert_non_null(got);
	assert_true(json_equal(want, got));
	assert_non_null(strstr(r.out, "\n  \"items\": ["));  /* pretty */
	assert_true(strncmp(s.req[0], "GET /api/v1/sessions?all=true ", 30) == 0);
	json_decref(got);
	run_free(&r);
	r = run_cli("ls", "-q", "--url", s.url, NULL);
	server_stop(&s);
	assert_string_equal(r.out, "12\n3\n");
	run_free(&r);
	json_decref(want);
}

static void test_gpus_simulated(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, json_resp("200 OK",
		"{\"source\":\"sim\",\"simulated\":true,\"items\":[{\"index\":0,\"uuid\":\"GPU-0\","
		"\"model\":\"A100-80GB\",\"memory_mib\":81920,\"capacity_milli\":1000,"
		"\"allocated_milli\":500,\"sharing\":\"exclusive\",\"healthy\":true,\"fault\":null,"
		"\"util_pct\":37,\"memory_used_mib\":1024,\"temperature_c\":45,\"power_w\":80,"
		"\"allocations\":[]}]}"));
	r = run_cli("gpus", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "(simulated)"));
	assert_non_null(strstr(r.out,
		"INDEX   MODEL       MEMORY           ALLOCATED   UTIL   TEMP   HEALTH\n"
		"0       A100-80GB   1 GiB / 80 GiB   0.5/1       37%    45C    ok\n"));
	run_free(&r);
}

/* A name is looked up page by page in the caller's sessions. */
static void test_resolve_name_across_pages(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 3,
		json_resp("200 OK", "{\"items\":[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":\"b\"}],"
			  "\"total\":3,\"limit\":2,\"offset\":0}"),
		json_resp("200 OK", "{\"items\":[{\"id\":77,\"name\":\"train\"}],"
			  "\"total\":3,\"limit\":2,\"offset\":2}"),
		json_resp("200 OK", "{\"id\":77,\"name\":\"train\",\"state\":\"stopped\"}"));
	r = run_cli("stop", "train", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "Session train is stopped.\n");
	assert_true(strncmp(s.req[0], "GET /api/v1/sessions?offset=0&limit=50 ", 39) == 0);
	assert_true(strncmp(s.req[1], "GET /api/v1/sessions?offset=2&limit=50 ", 39) == 0);
	assert_true(strncmp(s.req[2], "POST /api/v1/sessions/77/stop ", 30) == 0);
	assert_non_null(strstr(s.req[2], "\r\n\r\n{}"));
	assert_non_null(strstr(s.req[2], "Content-Type: application/json"));
	run_free(&r);
}

static void test_rm_conflict_hint(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, json_resp("409 Conflict", "{\"error\":{\"code\":\"conflict\","
				      "\"message\":\"session 5 is running\"}}"));
	r = run_cli("rm", "5", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, CLI_EXIT_ERROR);
	assert_non_null(strstr(r.err, "session 5 is running"));
	assert_non_null(strstr(r.err, "--force"));
	assert_true(strncmp(s.req[0], "DELETE /api/v1/sessions/5 ", 26) == 0);
	run_free(&r);

	server_start(&s, 0, 1, response("204 No Content", NULL, NULL, NULL));
	r = run_cli("rm", "--force", "5", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_true(strncmp(s.req[0], "DELETE /api/v1/sessions/5?force=true ", 37) == 0);
	run_free(&r);
}

/* ---- launch --wait and events over SSE -------------------------------------- */

static void test_launch_wait(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 3,
		json_resp("201 Created", "{\"id\":12,\"name\":\"train\",\"state\":\"queued\"}"),
		sse_resp(": hi\n\nid: 1\nevent: session.queued\ndata: {\"id\":1,\"state\":\"queued\","
			 "\"percent\":0,\"message\":\"waiting\",\"ts\":\"2026-11-29T09:00:00Z\"}\n\n"
			 "id: 2\r\ndata: {\"id\":2,\"state\":\"running\",\"percent\":100,"
			 "\r\ndata: \"message\":\"ready\",\"ts\":\"2026-11-29T09:00:05Z\"}\r\n\r\n"
			 "id: 3\ndata: {\"id\":3,\"state\":\"stopped\"}\n\n"),
		json_resp("200 OK", "{\"id\":12,\"name\":\"train\",\"state\":\"running\","
			  "\"url\":\"/user/alice/train/\"}"));
	r = run_cli("launch", "jupyter", "--name", "train", "--gpus", "0.5", "--wait",
		    "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "  09:00:00  queued        0%  waiting\n"
				      "  09:00:05  running     100%  ready\n"));
	assert_null(strstr(r.out, "stopped"));
	assert_non_null(strstr(r.out, "Session train is running: http://127.0.0.1:"));
	assert_non_null(strstr(r.out, "/user/alice/train/\n"));
	assert_true(strncmp(s.req[0], "POST /api/v1/sessions ", 22) == 0);
	assert_non_null(strstr(s.req[0], "\r\n\r\n{\"env\":\"jupyter\",\"name\":\"train\",\"gpus\":0.5}"));
	assert_true(strncmp(s.req[1], "GET /api/v1/sessions/12/events ", 31) == 0);
	assert_non_null(strstr(s.req[1], "Accept: text/event-stream"));
	assert_null(strstr(s.req[1], "Last-Event-ID"));
	run_free(&r);
}

/* The stream drops after the first event; the client resumes from the
 * last id, and a failed session ends with its reason and exit 1. */
static void test_launch_wait_resume_and_fail(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 4,
		json_resp("201 Created", "{\"id\":12,\"name\":\"x\",\"state\":\"queued\"}"),
		sse_resp("id: 41\ndata: {\"state\":\"queued\",\"message\":\"waiting\"}\n\n"),
		sse_resp("id: 42\ndata: {\"state\":\"failed\",\"message\":\"image missing\"}\n\n"),
		json_resp("200 OK", "{\"id\":12,\"name\":\"x\",\"state\":\"failed\","
			  "\"reason\":\"image jupyter:2 is missing\"}"));
	r = run_cli("launch", "jupyter", "--name", "x", "--gpus", "1", "--wait", "-q",
		    "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, CLI_EXIT_ERROR);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "gpuhub: session x is failed: image jupyter:2 is missing"));
	assert_non_null(strstr(s.req[0], "\"gpus\":1}"));
	assert_non_null(strstr(s.req[2], "\r\nLast-Event-ID: 41\r\n"));
	run_free(&r);
}

static void test_events_follow_json(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1,
		sse_resp("id: 1\ndata: {\"id\":1,\"state\":\"running\"}\n\n"
			 "id: 2\ndata: {\"id\":2,\"state\":\"stopped\"}\n\n"
			 "id: 3\ndata: {\"id\":3,\"state\":\"never-read\"}\n\n"));
	r = run_cli("events", "7", "-f", "-o", "json", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "{\"id\":1,\"state\":\"running\"}\n{\"id\":2,\"state\":\"stopped\"}\n");
	run_free(&r);
}

static void test_events_http_error(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, json_resp("404 Not Found", "{\"error\":{\"code\":\"not_found\","
				      "\"message\":\"session 7 not found\"}}"));
	r = run_cli("events", "7", "--follow", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, CLI_EXIT_NOTFOUND);
	assert_non_null(strstr(r.err, "session 7 not found"));
	run_free(&r);
}

/* A 200 that is not JSON (a web server that is not gpuhub) is an error. */
static void test_not_json(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, response("200 OK", "text/html", NULL, "<html>hello</html>"));
	r = run_cli("ls", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, CLI_EXIT_ERROR);
	assert_non_null(strstr(r.err, "is not JSON"));
	assert_string_equal(r.out, "");
	run_free(&r);
}

/* An error status without a body still ends a stream with its exit code. */
static void test_events_follow_bodyless_error(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, response("401 Unauthorized", NULL, NULL, NULL));
	r = run_cli("events", "7", "--follow", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, CLI_EXIT_AUTH);
	assert_non_null(strstr(r.err, "HTTP 401"));
	run_free(&r);
}

/* ---- login / logout ------------------------------------------------------ */

/* Runs the client with text on standard input. */
static struct run run_with_stdin(const char *input, const char *first, ...)
{
	int saved = dup(0), p[2];
	va_list ap;
	struct run r;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], input, strlen(input)), (ssize_t)strlen(input));
	close(p[1]);
	dup2(p[0], 0);
	close(p[0]);
	va_start(ap, first);
	r = run_cli_v(first, ap);
	va_end(ap);
	dup2(saved, 0);
	close(saved);
	return r;
}

static void test_login_logout(void **state)
{
	char path[CLI_PATH_MAX], msg[128];
	cli_config_t cfg;
	struct server s;
	struct stat st;
	struct run r;
	int port;
	(void)state;

	snprintf(path, sizeof(path), "%s/gpuhub/config", tmpdir);
	server_start(&s, 0, 3,
		response("200 OK", "application/json",
			 "Set-Cookie: gpuhub_session=c00kie; HttpOnly; SameSite=Lax; Path=/\r\n",
			 "{\"user\":{\"name\":\"alice\",\"role\":\"user\"},\"expires_at\":null}"),
		json_resp("201 Created", "{\"id\":5,\"note\":\"cli@h\",\"prefix\":\"gh_Zzzz\","
			  "\"token\":\"gh_Zzzzsecret\",\"expires_at\":null}"),
		response("204 No Content", NULL, NULL, NULL));
	r = run_with_stdin("s3cret pass\n", "login", "--user", "alice", "--password-stdin",
			   "--url", s.url, "--token", "gh_old", NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Signed in to http://127.0.0.1:"));
	assert_non_null(strstr(r.out, " as alice (role user)"));
	/* 1: password login, no old token sent */
	assert_true(strncmp(s.req[0], "POST /api/v1/login ", 19) == 0);
	assert_non_null(strstr(s.req[0], "{\"username\":\"alice\",\"password\":\"s3cret pass\"}"));
	assert_null(strstr(s.req[0], "Authorization"));
	/* 2: token through the cookie */
	assert_true(strncmp(s.req[1], "POST /api/v1/tokens ", 20) == 0);
	assert_non_null(strstr(s.req[1], "\r\nCookie: gpuhub_session=c00kie\r\n"));
	assert_non_null(strstr(s.req[1], "{\"note\":\"cli@"));
	assert_null(strstr(s.req[1], "Authorization"));
	/* 3: the cookie is given back */
	assert_true(strncmp(s.req[2], "POST /api/v1/logout ", 20) == 0);
	/* saved with mode 0600 */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cli_config_read(path, &cfg, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.url, s.url);
	assert_string_equal(cfg.token, "gh_Zzzzsecret");
	assert_int_equal(cfg.token_id, 5);
	run_free(&r);

	/* The saved token is used by the next command (same server URL). */
	port = s.port;
	server_start(&s, port, 1, json_resp("200 OK", "{\"name\":\"alice\",\"role\":\"user\"}"));
	r = run_cli("whoami", NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "alice (role user) on http://127.0.0.1:"));
	assert_non_null(strstr(s.req[0], "Authorization: Bearer gh_Zzzzsecret\r\n"));
	run_free(&r);

	/* logout revokes it by id and forgets it */
	server_start(&s, port, 1, response("204 No Content", NULL, NULL, NULL));
	r = run_cli("logout", NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_true(strncmp(s.req[0], "DELETE /api/v1/tokens/5 ", 24) == 0);
	assert_non_null(strstr(s.req[0], "Authorization: Bearer gh_Zzzzsecret\r\n"));
	assert_int_equal(cli_config_read(path, &cfg, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.token, "");
	assert_int_equal(cfg.token_id, 0);
	assert_string_equal(cfg.url, s.url);
	run_free(&r);
}

static void test_login_bad_password(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, json_resp("401 Unauthorized", "{\"error\":{\"code\":"
				      "\"unauthenticated\",\"message\":\"bad username or password\"}}"));
	r = run_with_stdin("wrong\n", "login", "--user", "alice", "--password-stdin",
			   "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, CLI_EXIT_AUTH);
	assert_non_null(strstr(r.err, "sign-in failed: bad username or password"));
	run_free(&r);

	r = run_with_stdin("", "login", "--user", "alice", "--password-stdin",
			   "--url", "http://127.0.0.1:1", NULL);
	assert_int_equal(r.rc, CLI_EXIT_ERROR);
	assert_non_null(strstr(r.err, "no password on standard input"));
	run_free(&r);
}

static void test_users_add_and_set(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 2,
		json_resp("201 Created", "{\"name\":\"bob\",\"role\":\"admin\",\"disabled\":false}"),
		json_resp("200 OK", "{\"name\":\"bob\",\"role\":\"user\",\"disabled\":true}"));
	r = run_with_stdin("pw-of-bob\n", "users", "add", "bob", "--role", "admin",
			   "--password-stdin", "--group", "vision", "--url", s.url, NULL);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "User bob created (role admin).\n");
	assert_true(strncmp(s.req[0], "POST /api/v1/users ", 19) == 0);
	assert_non_null(strstr(s.req[0], "{\"name\":\"bob\",\"role\":\"admin\",\"group\":\"vision\","
				       "\"password\":\"pw-of-bob\"}"));
	run_free(&r);
	r = run_cli("users", "set", "bob", "--disable", "--role", "user", "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_true(strncmp(s.req[1], "PATCH /api/v1/users/bob ", 24) == 0);
	assert_non_null(strstr(s.req[1], "{\"role\":\"user\",\"disabled\":true}"));
	assert_string_equal(r.out, "User bob updated (role user, disabled).\n");
	run_free(&r);
}

static void test_token_create_quiet(void **state)
{
	struct server s;
	struct run r;
	(void)state;

	server_start(&s, 0, 1, json_resp("201 Created", "{\"id\":9,\"note\":\"ci\","
				      "\"token\":\"gh_abc\",\"expires_at\":null}"));
	r = run_cli("token", "create", "--note", "ci", "--expires-in-days", "0", "-q",
		    "--url", s.url, NULL);
	server_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "gh_abc\n");
	assert_non_null(strstr(s.req[0], "{\"note\":\"ci\",\"expires_in_days\":0}"));
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_by_status),
		cmocka_unit_test(test_no_token_hint),
		cmocka_unit_test(test_ls_table),
		cmocka_unit_test(test_ls_json_and_quiet),
		cmocka_unit_test(test_gpus_simulated),
		cmocka_unit_test(test_resolve_name_across_pages),
		cmocka_unit_test(test_rm_conflict_hint),
		cmocka_unit_test(test_launch_wait),
		cmocka_unit_test(test_launch_wait_resume_and_fail),
		cmocka_unit_test(test_events_follow_json),
		cmocka_unit_test(test_events_http_error),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_events_follow_bodyless_error),
		cmocka_unit_test(test_login_logout),
		cmocka_unit_test(test_login_bad_password),
		cmocka_unit_test(test_users_add_and_set),
		cmocka_unit_test(test_token_create_quiet),
	};
	return cmocka_run_group_tests(tests, setup_env, teardown_env);
}
