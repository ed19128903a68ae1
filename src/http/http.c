/*
 * http.c — see http.h. One h2o context on one evloop; the listener is a
 * non-blocking socket wrapped as an h2o socket whose read callback accepts.
 * HTTP/2 upgrade is off; all requests go to one handler at "/".
 */
#include "http/http.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct watch {
	void (*cb)(void *ctx);
	void *ctx;
};

struct http_server {
	h2o_globalconf_t config;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	h2o_evloop_t *loop;
	h2o_socket_t *listener;
	h2o_socket_t *watched;
	struct watch watch;
	int fd;
	int port;
	size_t max_body;
	int drained;                     /* every connection closed */
	http_on_req_fn cb;
	void *cb_ctx;
	http_on_done_fn done;            /* called for every finished request */
	void *done_ctx;
};

struct done_logger {
	h2o_logger_t super;
	http_server_t *srv;
};

struct root_handler {
	h2o_handler_t super;
	http_server_t *srv;
};

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct root_handler *h = (struct root_handler *)self;
	return h->srv->cb(h->srv->cb_ctx, req);
}

static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
	struct done_logger *l = (struct done_logger *)self;
	if (l->srv->done)
		l->srv->done(l->srv->done_ctx, req);
}

void http_server_on_done(http_server_t *srv, http_on_done_fn fn, void *ctx)
{
	srv->done = fn;
	srv->done_ctx = ctx;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	http_server_t *srv = listener->data;
	h2o_socket_t *sock;

	if (err != NULL)
		return;
	while ((sock = h2o_evloop_socket_accept(listener)) != NULL)
		h2o_accept(&srv->accept_ctx, sock);
}

static int bind_listen(const char *host, int port, int *out_fd, int *out_port, char *errmsg, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char portstr[16];
	int fd = -1, one = 1, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(errmsg, errlen, "cannot resolve listen address '%s': %s", host, gai_strerror(rc));
		return GH_EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
			break;
		snprintf(errmsg, errlen, "cannot listen on %s:%d: %s", host[0] ? host : "*", port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return GH_EIO;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*out_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                           : ((struct sockaddr_in *)&ss)->sin_port);
	}
	*out_fd = fd;
	return 0;
}

int http_server_create(http_server_t **out, const char *host, int port, size_t max_body,
                       http_on_req_fn cb, void *ctx, char *errmsg, size_t errlen)
{
	http_server_t *srv;
	h2o_hostconf_t *hostconf;
	h2o_pathconf_t *pathconf;
	struct root_handler *h;
	int rc;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return GH_ENOMEM;
	srv->fd = -1;
	srv->cb = cb;
	srv->cb_ctx = ctx;
	rc = bind_listen(host, port, &srv->fd, &srv->port, errmsg, errlen);
	if (rc)
		goto fail;

	h2o_config_init(&srv->config);
	srv->config.http1.upgrade_to_http2 = 0;
	srv->config.server_name = h2o_iovec_init(H2O_STRLIT("gpuhub"));
	http_server_set_max_body(srv, max_body);
	hostconf = h2o_config_register_host(&srv->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	pathconf = h2o_config_register_path(hostconf, "/", 0);
	h = (struct root_handler *)h2o_create_handler(pathconf, sizeof(*h));
	h->super.on_req = on_req;
	h->srv = srv;
	{
		struct done_logger *l = (struct done_logger *)h2o_create_logger(pathconf, sizeof(*l));
		l->super.log_access = on_log_access;
		l->srv = srv;
	}

	srv->loop = h2o_evloop_create();
	h2o_context_init(&srv->ctx, srv->loop, &srv->config);
	srv->accept_ctx.ctx = &srv->ctx;
	srv->accept_ctx.hosts = srv->config.hosts;
	srv->listener = h2o_evloop_socket_create(srv->loop, srv->fd, H2O_SOCKET_FLAG_DONT_READ);
	srv->listener->data = srv;
	h2o_socket_read_start(srv->listener, on_accept);
	*out = srv;
	return 0;
fail:
	if (srv->fd >= 0)
		close(srv->fd);
	free(srv);
	return rc;
}

int http_server_shutdown(http_server_t *srv, int timeout_ms)
{
	int64_t deadline = gh_mono_ns() + (int64_t)timeout_ms * 1000000;

	if (srv->listener) {
		h2o_socket_read_stop(srv->listener);
		h2o_socket_close(srv->listener);
		srv->listener = NULL;
	}
	if (srv->watched) {
		h2o_socket_read_stop(srv->watched);
		h2o_socket_close(srv->watched); /* closes our dup, not the owner's fd */
		srv->watched = NULL;
	}
	/* idle keep-alive connections close now, busy ones after their response */
	h2o_context_request_shutdown(&srv->ctx);
	while (!h2o_linklist_is_empty(&srv->ctx.http1._conns) && gh_mono_ns() < deadline)
		h2o_evloop_run(srv->loop, 50);
	srv->drained = h2o_linklist_is_empty(&srv->ctx.http1._conns);
	/* request_shutdown arms HTTP/2's graceful-shutdown timer even though
	 * HTTP/2 is off; disarm it or disposing the context asserts */
	if (h2o_timeout_is_linked(&srv->ctx.http2._graceful_shutdown_timeout))
		h2o_timeout_unlink(&srv->ctx.http2._graceful_shutdown_timeout);
	return srv->drained ? 0 : GH_ETIMEOUT;
}

void http_server_destroy(http_server_t *srv)
{
	if (!srv)
		return;
	if (srv->listener)
		http_server_shutdown(srv, 0);
	if (!srv->drained) {
		/* h2o cannot dispose a context with live connections; the process
		 * is exiting, so leave them to the kernel */
		GH_WARN("HTTP connections still open at exit; closing them with the process");
		return;
	}
	h2o_context_dispose(&srv->ctx);
	/* run the loop once so closed sockets are released */
	h2o_evloop_run(srv->loop, 0);
	h2o_evloop_destroy(srv->loop);
	h2o_config_dispose(&srv->config);
	free(srv);
}

void http_server_run_once(http_server_t *srv, int32_t max_wait_ms)
{
	h2o_evloop_run(srv->loop, max_wait_ms);
}

h2o_evloop_t *http_server_loop(http_server_t *srv) { return srv->loop; }
h2o_context_t *http_server_context(http_server_t *srv) { return &srv->ctx; }
int http_server_port(http_server_t *srv) { return srv->port; }
size_t http_server_max_body(http_server_t *srv) { return srv->max_body; }
void http_server_set_callback_ctx(http_server_t *srv, void *ctx) { srv->cb_ctx = ctx; }

void http_server_set_max_body(http_server_t *srv, size_t max_body)
{
	srv->max_body = max_body;
	srv->config.max_request_entity_size = max_body * 4 + 4096;
}

static void on_watch(h2o_socket_t *sock, const char *err)
{
	http_server_t *srv = sock->data;
	if (err != NULL)
		return;
	h2o_buffer_consume(&sock->input, sock->input->size);
	srv->watch.cb(srv->watch.ctx);
}

int http_server_watch(http_server_t *srv, int fd, void (*cb)(void *ctx), void *ctx)
{
	if (srv->watched)
		return GH_EEXIST;
	srv->watch.cb = cb;
	srv->watch.ctx = ctx;
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* h2o closes what it watches */
	if (fd < 0)
		return GH_EIO;
	srv->watched = h2o_evloop_socket_create(srv->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	if (!srv->watched) {
		close(fd);
		return GH_EIO;
	}
	srv->watched->data = srv;
	h2o_socket_read_start(srv->watched, on_watch);
	return 0;
}

/* --- answers --- */

void http_add_header(h2o_req_t *req, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	h2o_iovec_t n = h2o_strdup(&req->pool, name, nl), v = h2o_strdup(&req->pool, value, vl);
	h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
}

static const char *reason_for(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
	}
}

void http_send_text(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len)
{
	req->res.status = status;
	req->res.reason = reason_for(status);
	if (ctype)
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
	h2o_send_inline(req, body, len);
}

void http_send_json(h2o_req_t *req, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!s) {
		http_send_text(req, 500, "application/json",
		               H2O_STRLIT("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}"));
		return;
	}
	http_send_text(req, status, "application/json", s, strlen(s));
	free(s);
}

void http_send_error(h2o_req_t *req, int status, const char *code, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *err;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err = json_pack("{s:s,s:s}", "code", code, "message", msg);
	if (field)
		json_object_set_new(err, "field", json_string(field));
	http_send_json(req, status, json_pack("{s:o}", "error", err));
}

void http_send_status(h2o_req_t *req, int status)
{
	req->res.status = status;
	req->res.reason = reason_for(status);
	h2o_send_inline(req, "", 0);
}

/* --- request readers --- */

const char *http_header(h2o_req_t *req, const char *name, size_t *len)
{
	size_t i, nl = strlen(name);
	for (i = 0; i != req->headers.size; i++) {
		h2o_header_t *hd = req->headers.entries + i;
		if (hd->name->len == nl && h2o_lcstris(hd->name->base, nl, name, nl)) {
			*len = hd->value.len;
			return hd->value.base;
		}
	}
	*len = 0;
	return NULL;
}

const char *http_path(h2o_req_t *req)
{
	size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	char *p = h2o_mem_alloc_pool(&req->pool, len + 1);
	memcpy(p, req->path.base, len);
	p[len] = '\0';
	return p;
}

int http_method_is(h2o_req_t *req, const char *m)
{
	return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* URL-decodes [s, s+len) into out; GH_ETOOBIG / GH_EINVAL. */
static int url_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return GH_EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return GH_EINVAL;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0)
			return GH_EINVAL;
		if (o + 1 >= outlen)
			return GH_ETOOBIG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int http_query(h2o_req_t *req, const char *key, char *out, size_t outlen)
{
	const char *q, *end, *p;
	size_t kl = strlen(key);

	if (req->query_at == SIZE_MAX)
		return 0;
	q = req->path.base + req->query_at + 1;
	end = req->path.base + req->path.len;
	for (p = q; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		const char *kend = eq ? eq : stop;
		if ((size_t)(kend - p) == kl && memcmp(p, key, kl) == 0) {
			const char *v = eq ? eq + 1 : stop;
			int rc = url_decode(v, (size_t)(stop - v), out, outlen);
			return rc ? rc : 1;
		}
		p = stop + 1;
	}
	return 0;
}

int http_cookie(h2o_req_t *req, const char *name, char *out, size_t outlen)
{
	size_t i, nl = strlen(name);
	for (i = 0; i != req->headers.size; i++) {
		h2o_header_t *hd = req->headers.entries + i;
		const char *p, *end;
		if (hd->name != &H2O_TOKEN_COOKIE->buf)
			continue;
		p = hd->value.base;
		end = p + hd->value.len;
		while (p < end) {
			const char *semi, *eq;
			while (p < end && (*p == ' ' || *p == ';'))
				p++;
			semi = memchr(p, ';', (size_t)(end - p));
			if (!semi)
				semi = end;
			eq = memchr(p, '=', (size_t)(semi - p));
			if (eq && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
				size_t vl = (size_t)(semi - eq - 1);
				if (vl + 1 > outlen)
					return 0;
				memcpy(out, eq + 1, vl);
				out[vl] = '\0';
				return 1;
			}
			p = semi;
		}
	}
	return 0;
}
