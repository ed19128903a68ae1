/*
 * api_shell.c — GET /api/v1/sessions/{id}/shell: a shell in the session's
 * workspace over a WebSocket (h2o's websocket API, wslay framing).
 *
 * Who: the owner; an admin only with "X-Gpuhub-Admin-Access: 1" (logged
 * and recorded as the session.shell event, like the proxy's admin access).
 * The hub starts the shell (hub_session_shell) on a terminal (?tty=1, the
 * default) or on a socket pair (?tty=0: for scripts, no echo, no prompt).
 *
 * Frames:
 *
 *   direction | frame  | meaning
 *   ----------+--------+-------------------------------------------------
 *   in        | binary | bytes for the shell's input
 *   in        | text   | {"type":"resize","cols":C,"rows":R}  terminal size
 *             |        | {"type":"eof"}  end of input (a socket: shutdown;
 *             |        |                 a terminal: the EOF character)
 *   out       | binary | the shell's output (stdout and stderr together)
 *   out       | text   | {"type":"exit","status":N} once, last: exit code,
 *             |        | or 128 + signal; then the server closes (1000)
 *
 * A client that goes away, or a session that stops running, hangs the
 * shell up (SIGHUP to its process group, SIGKILL a second later). Output is read only while less than
 * SHELL_MAX_QUEUED bytes wait to be sent, so a slow client slows the shell
 * down instead of growing the hub.
 */
#include "api/api_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "http/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define SHELL_TICK_MS 50
#define SHELL_MAX_QUEUED (256 * 1024)
#define SHELL_MAX_INPUT (1024 * 1024)

struct api_shell {
	struct api_shell *next;
	api_t *api;
	int64_t session_id;
	h2o_websocket_conn_t *ws;        /* NULL once closed */
	h2o_socket_t *io;                /* terminal master or socket; NULL once closed */
	int pid;                         /* the hub's child; 0 once reaped */
	int tty;
	int status;                      /* exit code, -1 while running */
	int out_done;                    /* the shell's output reached its end */
	int exit_sent;
	int reading;
	int eof_wanted;                  /* end of input once the queue is written */
	int64_t hangup_at;               /* ms: SIGKILL after the hang-up */
	char *wq;                        /* input not yet handed to the shell */
	size_t wq_len, wq_cap;
	char *inflight;                  /* input being written */
	h2o_timeout_entry_t tick;
};

/* One timer for all shells, made with the first. */
static h2o_timeout_t shell_timeout;
static int shell_timeout_ready;

static void shell_tick(h2o_timeout_entry_t *entry);
static void io_read(h2o_socket_t *sock, const char *err);

static h2o_loop_t *shell_loop(api_shell_t *sh) { return http_server_loop(sh->api->srv); }

static void schedule(api_shell_t *sh)
{
	if (!h2o_timeout_is_linked(&sh->tick))
		h2o_timeout_link(shell_loop(sh), &shell_timeout, &sh->tick);
}

static void ws_flush(api_shell_t *sh)
{
	if (sh->ws && sh->ws->sock)
		h2o_websocket_proceed(sh->ws);
}

static void queue_frame(api_shell_t *sh, int opcode, const void *p, size_t n)
{
	struct wslay_event_msg m = {.opcode = (uint8_t)opcode, .msg = p, .msg_length = n};
	if (sh->ws)
		wslay_event_queue_msg(sh->ws->ws_ctx, &m);
}

/* Closing a socket drops its write in flight without a callback. */
static void io_close(api_shell_t *sh)
{
	if (sh->io) {
		h2o_socket_close(sh->io);
		sh->io = NULL;
	}
	free(sh->inflight);
	sh->inflight = NULL;
	sh->reading = 0;
}

/* What the shell wrote before it ended and the loop has not read yet. */
static void drain(api_shell_t *sh)
{
	char buf[16384];
	ssize_t n;
	int fd;

	if (!sh->io)
		return;
	fd = h2o_socket_get_fd(sh->io);
	for (int i = 0; i < 64 && (n = read(fd, buf, sizeof(buf))) > 0; i++)
		queue_frame(sh, WSLAY_BINARY_FRAME, buf, (size_t)n);
	ws_flush(sh);
}

/* Frees sh once nothing refers to it: WebSocket closed and child reaped. */
static void maybe_free(api_shell_t *sh)
{
	api_shell_t **pp;

	if (sh->ws || sh->pid > 0)
		return;
	io_close(sh);
	if (h2o_timeout_is_linked(&sh->tick))
		h2o_timeout_unlink(&sh->tick);
	for (pp = &sh->api->shells; *pp; pp = &(*pp)->next)
		if (*pp == sh) {
			*pp = sh->next;
			break;
		}
	free(sh->wq);
	free(sh);
}

static void hang_up(api_shell_t *sh)
{
	if (sh->pid > 0 && !sh->hangup_at) {
		kill(-sh->pid, SIGHUP);
		kill(sh->pid, SIGHUP);
		sh->hangup_at = gh_now_ms() + 1000;
		schedule(sh);
	}
	io_close(sh);
}

/* --- input: WebSocket → shell --- */

static void io_written(h2o_socket_t *sock, const char *err);

static void write_more(api_shell_t *sh)
{
	h2o_iovec_t buf;

	if (sh->inflight || !sh->io)
		return;
	if (sh->wq_len == 0) {
		if (sh->eof_wanted) {
			sh->eof_wanted = 0;
			if (sh->tty) {
				char eof = 4; /* VEOF: ends the read of a line discipline in canonical mode */
				struct termios t;
				if (tcgetattr(h2o_socket_get_fd(sh->io), &t) == 0)
					eof = (char)t.c_cc[VEOF];
				sh->wq = sh->wq ? sh->wq : malloc(16);
				if (!sh->wq)
					return;
				if (sh->wq_cap < 1)
					sh->wq_cap = 16;
				sh->wq[0] = eof;
				sh->wq_len = 1;
				write_more(sh);
			} else {
				shutdown(h2o_socket_get_fd(sh->io), SHUT_WR);
			}
		}
		return;
	}
	sh->inflight = sh->wq;
	buf = h2o_iovec_init(sh->inflight, sh->wq_len);
	sh->wq = NULL;
	sh->wq_len = sh->wq_cap = 0;
	h2o_socket_write(sh->io, &buf, 1, io_written);
}

static void io_written(h2o_socket_t *sock, const char *err)
{
	api_shell_t *sh = sock->data;

	free(sh->inflight);
	sh->inflight = NULL;
	if (err) {
		/* the shell closed its input: drop what it will never read */
		sh->wq_len = 0;
		sh->eof_wanted = 0;
		maybe_free(sh);
		return;
	}
	write_more(sh);
	maybe_free(sh);
}

static int input_add(api_shell_t *sh, const uint8_t *p, size_t n)
{
	if (sh->wq_len + n > SHELL_MAX_INPUT)
		return -1;
	if (sh->wq_len + n > sh->wq_cap) {
		size_t cap = sh->wq_cap ? sh->wq_cap : 4096;
		char *nb;
		while (cap < sh->wq_len + n)
			cap *= 2;
		if (!(nb = realloc(sh->wq, cap)))
			return -1;
		sh->wq = nb;
		sh->wq_cap = cap;
	}
	memcpy(sh->wq + sh->wq_len, p, n);
	sh->wq_len += n;
	write_more(sh);
	return 0;
}

static void control(api_shell_t *sh, const uint8_t *p, size_t n)
{
	json_t *o = json_loadb((const char *)p, n, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));

	if (!type) {
		/* unknown control messages are ignored, so clients can grow */
	} else if (strcmp(type, "resize") == 0 && sh->tty && sh->io) {
		json_int_t cols = json_integer_value(json_object_get(o, "cols"));
		json_int_t rows = json_integer_value(json_object_get(o, "rows"));
		if (cols > 0 && cols <= 10000 && rows > 0 && rows <= 10000) {
			struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
			ioctl(h2o_socket_get_fd(sh->io), TIOCSWINSZ, &ws);
		}
	} else if (strcmp(type, "eof") == 0) {
		sh->eof_wanted = 1;
		write_more(sh);
	}
	json_decref(o);
}

static void on_ws_msg(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
	api_shell_t *sh = conn->data;

	if (!arg) {
		/* the client left (or the close handshake finished) */
		h2o_websocket_close(conn);
		sh->ws = NULL;
		if (!sh->exit_sent)
			hang_up(sh);
		maybe_free(sh);
		return;
	}
	if (arg->opcode == WSLAY_BINARY_FRAME) {
		if (sh->io && input_add(sh, arg->msg, arg->msg_length) != 0) {
			GH_WARN("session %lld: shell input over %d bytes behind; hanging up", (long long)sh->session_id,
			        SHELL_MAX_INPUT);
			hang_up(sh);
		}
	} else if (arg->opcode == WSLAY_TEXT_FRAME) {
		control(sh, arg->msg, arg->msg_length);
	}
}

/* --- output: shell → WebSocket --- */

static void send_exit(api_shell_t *sh)
{
	char buf[64];
	int n;

	if (sh->exit_sent || !sh->ws)
		return;
	sh->exit_sent = 1;
	n = snprintf(buf, sizeof(buf), "{\"type\":\"exit\",\"status\":%d}", sh->status);
	queue_frame(sh, WSLAY_TEXT_FRAME, buf, (size_t)n);
	ws_flush(sh);
}

/* wslay sends control frames ahead of queued messages: the close goes
 * out only once the output and the exit message have. 1 when queued. */
static int send_close(api_shell_t *sh)
{
	if (!sh->ws)
		return 1;
	if (wslay_event_get_queued_msg_count(sh->ws->ws_ctx) > 0)
		return 0;
	wslay_event_queue_close(sh->ws->ws_ctx, 1000, NULL, 0);
	ws_flush(sh);
	return 1;
}

static void io_read(h2o_socket_t *sock, const char *err)
{
	api_shell_t *sh = sock->data;

	if (sock->input->size > 0) {
		queue_frame(sh, WSLAY_BINARY_FRAME, sock->input->bytes, sock->input->size);
		h2o_buffer_consume(&sock->input, sock->input->size);
		ws_flush(sh);
	}
	if (err) {
		/* a terminal reads EIO once the shell and its children closed it */
		sh->out_done = 1;
		h2o_socket_read_stop(sock);
		sh->reading = 0;
		schedule(sh);
		return;
	}
	if (sh->ws && wslay_event_get_queued_msg_length(sh->ws->ws_ctx) > SHELL_MAX_QUEUED) {
		h2o_socket_read_stop(sock);
		sh->reading = 0;
		schedule(sh);
	}
}

static void reap(api_shell_t *sh)
{
	int st;
	pid_t r;

	if (sh->pid <= 0)
		return;
	r = waitpid(sh->pid, &st, WNOHANG);
	if (r == 0)
		return;
	if (r == sh->pid)
		sh->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
	else
		sh->status = 255;
	GH_INFO("session %lld: shell pid %d ended with status %d", (long long)sh->session_id, sh->pid, sh->status);
	sh->pid = 0;
}

static void shell_tick(h2o_timeout_entry_t *entry)
{
	api_shell_t *sh = H2O_STRUCT_FROM_MEMBER(api_shell_t, tick, entry);
	const hub_session_t *hs = hub_session_get(sh->api->hub, sh->session_id);

	/* the shell lives only as long as its session runs */
	if (sh->pid > 0 && !sh->hangup_at &&
	    (!hs || (hs->s.state != GH_SESS_RUNNING && hs->s.state != GH_SESS_IDLE_WARNED))) {
		GH_INFO("session %lld is %s: hanging up its shell pid %d", (long long)sh->session_id,
		        hs ? gh_sess_state_name(hs->s.state) : "deleted", sh->pid);
		hang_up(sh);
	}
	reap(sh);
	if (sh->pid > 0 && sh->hangup_at && gh_now_ms() >= sh->hangup_at) {
		kill(-sh->pid, SIGKILL);
		kill(sh->pid, SIGKILL);
	}
	if (sh->pid > 0 && sh->io && !sh->reading && !sh->out_done &&
	    (!sh->ws || wslay_event_get_queued_msg_length(sh->ws->ws_ctx) <= SHELL_MAX_QUEUED / 2)) {
		sh->reading = 1;
		h2o_socket_read_start(sh->io, io_read);
	}
	if (sh->pid == 0) {
		/* the shell ended: what it left running in the background must
		 * not hold the answer back */
		drain(sh);
		io_close(sh);
		send_exit(sh);
		if (send_close(sh)) {
			maybe_free(sh);
			return;
		}
	}
	schedule(sh);
}

/* --- the route --- */

static int query_tty(api_req_t *r, int *tty)
{
	char v[8];
	int rc = http_query(r->req, "tty", v, sizeof(v));

	*tty = 1;
	if (rc == 0)
		return 0;
	if (rc < 0 || (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)) {
		http_send_error(r->req, 400, "invalid", "tty", "tty must be 0 or 1");
		return -1;
	}
	*tty = v[0] == '1';
	return 0;
}

void api_session_shell(api_req_t *r)
{
	const char *key = NULL, *h;
	const hub_session_t *hs;
	api_shell_t *sh;
	char why[HUB_WHY] = "";
	size_t hl;
	int64_t id;
	int tty, fd, pid, rc;

	if (api_param_id(r, 0, &id))
		return;
	hs = hub_session_get(r->hub, id);
	if (hs && hs->s.user_id != r->user->id) {
		h = http_header(r->req, "x-gpuhub-admin-access", &hl);
		if (r->user->role != GH_ROLE_ADMIN || !h || hl != 1 || h[0] != '1')
			hs = NULL;
	}
	if (!hs) {
		http_send_error(r->req, 404, "not_found", NULL, "no session %lld", (long long)id);
		return;
	}
	if (query_tty(r, &tty))
		return;
	if (h2o_is_websocket_handshake(r->req, &key) != 0 || !key) {
		http_send_error(r->req, 400, "invalid", NULL,
		                "a shell is a WebSocket: send Connection: Upgrade, Upgrade: websocket and "
		                "Sec-WebSocket-Key/Version 13");
		return;
	}
	if (!(sh = calloc(1, sizeof(*sh)))) {
		api_error_rc(r, GH_ENOMEM, NULL);
		return;
	}
	if ((rc = hub_session_shell(r->hub, id, r->user, tty, &fd, &pid, why, sizeof(why))) != 0) {
		free(sh);
		api_error_rc(r, rc, why);
		return;
	}
	if (!shell_timeout_ready) {
		h2o_timeout_init(http_server_loop(r->api->srv), &shell_timeout, SHELL_TICK_MS);
		shell_timeout_ready = 1;
	}
	sh->api = r->api;
	sh->session_id = id;
	sh->pid = pid;
	sh->tty = tty;
	sh->status = -1;
	sh->tick.cb = shell_tick;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	sh->io = h2o_evloop_socket_create(http_server_loop(r->api->srv), fd, 0);
	sh->io->data = sh;
	sh->next = r->api->shells;
	r->api->shells = sh;
	sh->ws = h2o_upgrade_to_websocket(r->req, key, sh, on_ws_msg);
	sh->reading = 1;
	h2o_socket_read_start(sh->io, io_read);
	schedule(sh);
}

void api_shells_close(api_t *api)
{
	while (api->shells) {
		api_shell_t *sh = api->shells;
		int st;
		if (sh->ws) {
			h2o_websocket_close(sh->ws);
			sh->ws = NULL;
		}
		if (sh->pid > 0) {
			kill(-sh->pid, SIGKILL);
			kill(sh->pid, SIGKILL);
			while (waitpid(sh->pid, &st, 0) < 0 && errno == EINTR)
				;
			sh->pid = 0;
		}
		maybe_free(sh);
	}
	if (shell_timeout_ready) {
		h2o_timeout_dispose(http_server_loop(api->srv), &shell_timeout);
		shell_timeout_ready = 0;
	}
}
