/*
 * cli_shell.c — gpuhub shell SESSION: a shell in a running session over
 * the API's WebSocket (GET /api/v1/sessions/{id}/shell; frames in
 * src/api/api_shell.c).
 *
 * libcurl opens the connection (CURLOPT_CONNECT_ONLY, so https and the
 * proxy settings work as for every other verb) and this file writes the
 * upgrade request itself: Debian's libcurl is built without WebSocket
 * support. Framing is wslay's client context over curl_easy_send/recv.
 *
 * With a terminal on both stdin and stdout the remote shell gets one: the
 * local terminal goes raw (restored on every exit path), the window size
 * is sent first and again on SIGWINCH. Otherwise (a pipe, a file, --no-tty)
 * input goes to the shell as a script and its end is sent as end of input.
 * The command exits with the remote shell's status; 255 when the
 * connection ends without one (as ssh does).
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "http/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define SHELL_LOST 255

typedef struct {
	CURL *e;
	curl_socket_t sock;
	char *pre;                  /* bytes read with the response head */
	size_t pre_len, pre_off;
	int status;                 /* remote exit status, -1 = none yet */
	int closed;
	FILE *out;
} shell_conn_t;

static struct termios saved_tio;
static int raw_on;
static int winch_pipe[2] = {-1, -1};

static void raw_off(void)
{
	if (raw_on) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
		raw_on = 0;
	}
}

static void on_winch(int sig)
{
	char b = 1;
	int e = errno;
	(void)sig;
	if (write(winch_pipe[1], &b, 1) < 0) {
		/* a resize is already pending */
	}
	errno = e;
}

/* --- wslay callbacks over libcurl's connection --- */

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
	shell_conn_t *s = ud;
	size_t n = 0;
	CURLcode rc;
	(void)flags;

	if (s->pre_off < s->pre_len) {
		n = s->pre_len - s->pre_off < len ? s->pre_len - s->pre_off : len;
		memcpy(buf, s->pre + s->pre_off, n);
		s->pre_off += n;
		return (ssize_t)n;
	}
	rc = curl_easy_recv(s->e, buf, len, &n);
	if (rc == CURLE_AGAIN) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (rc != CURLE_OK || n == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *ud)
{
	shell_conn_t *s = ud;
	size_t n = 0;
	CURLcode rc = curl_easy_send(s->e, data, len, &n);
	(void)flags;

	if (rc == CURLE_AGAIN) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (rc != CURLE_OK) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)n;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
	(void)ctx;
	(void)ud;
	return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *ud)
{
	shell_conn_t *s = ud;
	(void)ctx;

	if (arg->opcode == WSLAY_BINARY_FRAME) {
		fwrite(arg->msg, 1, arg->msg_length, s->out);
		fflush(s->out);
	} else if (arg->opcode == WSLAY_TEXT_FRAME) {
		json_t *o = json_loadb((const char *)arg->msg, arg->msg_length, 0, NULL);
		const char *type = json_string_value(json_object_get(o, "type"));
		if (type && strcmp(type, "exit") == 0 && json_is_integer(json_object_get(o, "status")))
			s->status = (int)json_integer_value(json_object_get(o, "status"));
		json_decref(o);
	} else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		s->closed = 1;
	}
}

/* --- the upgrade --- */

static int send_all(shell_conn_t *s, const char *p, size_t len)
{
	while (len > 0) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(s->e, p, len, &n);
		if (rc == CURLE_AGAIN) {
			struct pollfd pf = {.fd = s->sock, .events = POLLOUT};
			poll(&pf, 1, 10000);
			continue;
		}
		if (rc != CURLE_OK)
			return GH_EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Reads the response head (and whatever follows it) into s->pre. */
static int read_head(shell_conn_t *s, size_t *head_len)
{
	size_t cap = 8192;
	char *end;

	if (!(s->pre = malloc(cap + 1)))
		return GH_ENOMEM;
	for (;;) {
		size_t n = 0;
		CURLcode rc;
		if (s->pre_len == cap)
			return GH_ETOOBIG;
		rc = curl_easy_recv(s->e, s->pre + s->pre_len, cap - s->pre_len, &n);
		if (rc == CURLE_AGAIN) {
			struct pollfd pf = {.fd = s->sock, .events = POLLIN};
			if (poll(&pf, 1, 30000) == 0)
				return GH_ETIMEOUT;
			continue;
		}
		if (rc != CURLE_OK || n == 0)
			return GH_EIO;
		s->pre_len += n;
		s->pre[s->pre_len] = '\0';
		if ((end = strstr(s->pre, "\r\n\r\n"))) {
			*head_len = (size_t)(end - s->pre) + 4;
			return 0;
		}
	}
}

/* Value of header name in the head, copied into out; 1 found. */
static int head_value(const char *head, size_t hlen, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p && (size_t)(p - head) + 2 < hlen) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e = strstr(v, "\r\n");
			size_t n;
			while (*v == ' ' || *v == '\t')
				v++;
			n = e ? (size_t)(e - v) : strlen(v);
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
		p = strstr(p, "\r\n");
	}
	return 0;
}

static void accept_key(const char *key, char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[128];

	snprintf(buf, sizeof(buf), "%s" WS_GUID, key);
	EVP_Digest(buf, strlen(buf), md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/* Answer that is not 101: report it as every other verb does. */
static int report_refusal(cli_ctx_t *c, shell_conn_t *s, size_t head_len)
{
	cli_resp_t r;
	char clen[32] = "";
	size_t want = 0;

	memset(&r, 0, sizeof(r));
	r.status = strtol(s->pre + 9, NULL, 10);
	if (head_value(s->pre, head_len, "content-length", clen, sizeof(clen)))
		want = (size_t)strtoul(clen, NULL, 10);
	if (want > 65536)
		want = 65536;
	while (s->pre_len - head_len < want) {
		size_t n = 0;
		char *nb = realloc(s->pre, head_len + want + 1);
		CURLcode rc;
		if (!nb)
			break;
		s->pre = nb;
		rc = curl_easy_recv(s->e, s->pre + s->pre_len, head_len + want - s->pre_len, &n);
		if (rc == CURLE_AGAIN) {
			struct pollfd pf = {.fd = s->sock, .events = POLLIN};
			if (poll(&pf, 1, 10000) == 0)
				break;
			continue;
		}
		if (rc != CURLE_OK || n == 0)
			break;
		s->pre_len += n;
	}
	s->pre[s->pre_len] = '\0';
	r.body = s->pre + head_len;
	r.len = s->pre_len - head_len;
	r.json = json_loadb(r.body, r.len, 0, NULL);
	cli_report(c, &r);
	json_decref(r.json);
	return cli_err_for_status(r.status);
}

static int upgrade(cli_ctx_t *c, shell_conn_t *s, int64_t id, int tty, int admin)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *path = NULL, *req = NULL;
	unsigned char nonce[16];
	char key[32], want[64], got[64] = "", auth[CLI_TOKEN_MAX + 64];
	size_t head_len = 0;
	int rc = GH_EIO, n;

	if (!u || curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		rc = cli_fail(c, CLI_EXIT_USAGE, "cannot use the server URL %s", c->url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL; /* the scheme's own */
	if (getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce)) {
		rc = cli_fail(c, CLI_EXIT_ERROR, "no random bytes for the WebSocket key");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
	if (c->cookie[0])
		snprintf(auth, sizeof(auth), "Cookie: gpuhub_session=%s\r\n", c->cookie);
	else if (c->token[0])
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", c->token);
	else
		auth[0] = '\0';
	n = asprintf(&req,
	             "GET %s" CLI_API_PREFIX "/sessions/%lld/shell?tty=%d HTTP/1.1\r\n"
	             "Host: %s%s%s\r\n"
	             "User-Agent: gpuhub-cli/" GH_VERSION "\r\n"
	             "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
	             "%s%s\r\n",
	             strcmp(path, "/") == 0 ? "" : path, (long long)id, tty, host, port ? ":" : "", port ? port : "",
	             key, auth, admin ? "X-Gpuhub-Admin-Access: 1\r\n" : "");
	explicit_bzero(auth, sizeof(auth));
	if (n < 0) {
		rc = GH_ENOMEM;
		goto out;
	}
	rc = send_all(s, req, (size_t)n);
	explicit_bzero(req, (size_t)n);
	if (rc == 0)
		rc = read_head(s, &head_len);
	if (rc != 0) {
		rc = cli_fail(c, CLI_EXIT_UNREACHABLE, "the server at %s did not answer the shell request: %s", c->url,
		              gh_strerror(rc));
		goto out;
	}
	if (strncmp(s->pre, "HTTP/1.1 101", 12) != 0) {
		rc = report_refusal(c, s, head_len);
		goto out;
	}
	accept_key(key, want);
	if (!head_value(s->pre, head_len, "sec-websocket-accept", got, sizeof(got)) || strcmp(got, want) != 0) {
		rc = cli_fail(c, CLI_EXIT_ERROR, "the server at %s answered the shell request with a bad WebSocket key",
		              c->url);
		goto out;
	}
	s->pre_off = head_len;
	rc = 0;
out:
	free(req);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* --- the relay --- */

static void queue(wslay_event_context_ptr ws, int opcode, const void *p, size_t n)
{
	struct wslay_event_msg m = {.opcode = (uint8_t)opcode, .msg = p, .msg_length = n};
	wslay_event_queue_msg(ws, &m);
}

static void send_size(wslay_event_context_ptr ws)
{
	struct winsize w;
	char buf[80];
	int n;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) != 0 || w.ws_col == 0)
		return;
	n = snprintf(buf, sizeof(buf), "{\"type\":\"resize\",\"cols\":%u,\"rows\":%u}", w.ws_col, w.ws_row);
	queue(ws, WSLAY_TEXT_FRAME, buf, (size_t)n);
}

static int relay(shell_conn_t *s, wslay_event_context_ptr ws, int tty)
{
	int in_open = 1;
	char buf[16384];

	if (tty)
		send_size(ws);
	while (!s->closed && (wslay_event_want_read(ws) || wslay_event_want_write(ws))) {
		struct pollfd pf[3] = {{.fd = s->sock, .events = POLLIN}, {.fd = STDIN_FILENO}, {.fd = winch_pipe[0]}};
		int ready;

		if (wslay_event_want_write(ws))
			pf[0].events |= POLLOUT;
		/* read input only while little waits to be sent */
		pf[1].events = in_open && wslay_event_get_queued_msg_length(ws) < (1 << 20) ? POLLIN : 0;
		pf[2].events = winch_pipe[0] >= 0 ? POLLIN : 0;
		if (pf[1].events == 0)
			pf[1].fd = -1;
		if (pf[2].events == 0)
			pf[2].fd = -1;
		ready = poll(pf, 3, s->pre_off < s->pre_len ? 0 : -1);
		if (ready < 0 && errno != EINTR)
			return GH_EIO;
		if (ready < 0)
			continue;
		if (pf[2].revents & POLLIN) {
			char drainbuf[16];
			if (read(winch_pipe[0], drainbuf, sizeof(drainbuf)) > 0)
				send_size(ws);
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0) {
				queue(ws, WSLAY_BINARY_FRAME, buf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				static const char eof[] = "{\"type\":\"eof\"}";
				in_open = 0;
				queue(ws, WSLAY_TEXT_FRAME, eof, sizeof(eof) - 1);
			}
		}
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) || s->pre_off < s->pre_len) {
			if (wslay_event_recv(ws) != 0)
				return GH_EIO;
		}
		if (wslay_event_want_write(ws) && wslay_event_send(ws) != 0)
			return GH_EIO;
	}
	return 0;
}

int cli_cmd_shell(cli_ctx_t *c, const cli_args_t *a)
{
	struct wslay_event_callbacks cb = {.recv_callback = ws_recv, .send_callback = ws_send,
	                                   .genmask_callback = ws_genmask, .on_msg_recv_callback = ws_msg};
	shell_conn_t s = {.status = -1, .out = c->out};
	wslay_event_context_ptr ws = NULL;
	struct sigaction sa, old_winch;
	struct curl_slist *hdrs = NULL;
	int64_t id;
	int rc, tty;
	curl_socket_t sock = CURL_SOCKET_BAD;

	if (cli_flag(a, "tty") && cli_flag(a, "no-tty"))
		return cli_usage(c, "--tty and --no-tty exclude each other");
	tty = cli_flag(a, "tty") || (!cli_flag(a, "no-tty") && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
	if ((rc = cli_session_resolve(c, a->pos[0], &id)) < 0)
		return rc;
	/* libcurl connects (and does TLS); the request is written by hand */
	s.e = cli_curl_new(c, "GET", "/health", "*/*", &hdrs);
	curl_slist_free_all(hdrs);
	if (!s.e)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	curl_easy_setopt(s.e, CURLOPT_URL, c->url);
	curl_easy_setopt(s.e, CURLOPT_CONNECT_ONLY, 1L);
	if (curl_easy_perform(s.e) != CURLE_OK || curl_easy_getinfo(s.e, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
	    sock == CURL_SOCKET_BAD) {
		curl_easy_cleanup(s.e);
		return cli_fail(c, CLI_EXIT_UNREACHABLE, "cannot reach the gpuhub server at %s (from %s)", c->url,
		                c->url_source);
	}
	s.sock = sock;
	if ((rc = upgrade(c, &s, id, tty, cli_flag(a, "admin"))) != 0)
		goto out;
	if (wslay_event_context_client_init(&ws, &cb, &s) != 0) {
		rc = cli_fail(c, CLI_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (tty && pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_winch;
		sigaction(SIGWINCH, &sa, &old_winch);
	}
	if (tty && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		struct termios raw = saved_tio;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0) {
			raw_on = 1;
			atexit(raw_off);
		}
	}
	rc = relay(&s, ws, tty);
	raw_off();
	if (winch_pipe[0] >= 0) {
		sigaction(SIGWINCH, &old_winch, NULL);
		close(winch_pipe[0]);
		close(winch_pipe[1]);
		winch_pipe[0] = winch_pipe[1] = -1;
	}
	fflush(c->out);
	if (s.status < 0) {
		rc = cli_fail(c, SHELL_LOST, "the connection to the shell of session %lld ended without its exit status",
		              (long long)id);
	} else {
		c->exit_code = s.status;
		rc = 0;
	}
out:
	if (ws)
		wslay_event_context_free(ws);
	free(s.pre);
	curl_easy_cleanup(s.e);
	return rc;
}
