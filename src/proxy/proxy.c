/*
 * proxy.c — see proxy.h. What happens to a request, in order:
 *
 *   step                        | answer on failure
 *   ----------------------------+---------------------------------------------
 *   parse /user/<u>/<s>/rest    | 404
 *   signed in                   | 401 (JSON; the sign-in page comes later)
 *   owner, or audited admin     | 404 (as if the session did not exist)
 *   session running             | 503 page naming its state; a browser
 *                               | (Accept: text/html) gets the live page
 *                               | of proxy_wake.c, which wakes a suspended one
 *   rewrite                     | -
 *   h2o proxy to 127.0.0.1:port | 502 from h2o when the workspace is down
 *   (a WebSocket: proxy_ktun.c  | 502/504, or the workspace's refusal
 *   when the kernel relays)     |
 *
 * Rewrite: the hub's credentials never reach the workspace (Authorization
 * and the gpuhub_session cookie are removed) and the workspace's own token
 * is added as "Authorization: token <secret>". Origin is set to the
 * upstream's origin, so Jupyter's and code-server's same-origin checks
 * for WebSockets pass; Host becomes 127.0.0.1:<port>. Jupyter keeps the
 * /user/<u>/<s>/ prefix (it serves under that base_url); code-server gets
 * it stripped. Upstream connections are kept in one socket pool per port.
 *
 * Activity: every request counts as user traffic except status polling
 * (paths ending in /api/status, /api/kernels, /api/sessions, /api/terminals,
 * /api/metrics, /healthz, contents checkpoints, and heartbeat requests) —
 * see docs/idle.md.
 */
#include "proxy/proxy.h"
#include "proxy/proxy_ktun.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROXY_POOL_CAP 64

typedef struct {
	int port;
	h2o_socketpool_t pool;
} upstream_t;

struct proxy {
	hub_t *hub;
	h2o_context_t *ctx;
	h2o_http1client_ctx_t client;
	h2o_timeout_t io_timeout, ws_timeout;
	upstream_t **ups;                /* each pool stays where it was made */
	int nups, cap;
	ktun_t *ktun;                    /* WebSockets relayed by the kernel; NULL = by h2o's tunnel */
};

int proxy_create(proxy_t **out, hub_t *hub, h2o_context_t *ctx)
{
	proxy_t *p = calloc(1, sizeof(*p));
	if (!p)
		return GH_ENOMEM;
	p->hub = hub;
	p->ctx = ctx;
	h2o_timeout_init(ctx->loop, &p->io_timeout, 300 * 1000);
	h2o_timeout_init(ctx->loop, &p->ws_timeout, 3600 * 1000);
	p->client = ctx->proxy.client_ctx;
	p->client.io_timeout = &p->io_timeout;
	p->client.websocket_timeout = &p->ws_timeout; /* allows Upgrade */
	if (strcmp(hub_config(hub)->websocket_relay, "hub") != 0) {
		char why[512];
		if (ktun_open(&p->ktun, hub, ctx, &p->ws_timeout, why, sizeof(why)) == 0)
			GH_INFO("WebSockets to workspaces are relayed by the kernel (BPF sockmap)");
		else
			GH_INFO("WebSockets to workspaces are relayed by the hub: the kernel refused a BPF sockmap "
			        "program (%.300s)", why);
	}
	*out = p;
	return 0;
}

void proxy_destroy(proxy_t *p)
{
	if (!p)
		return;
	ktun_close(p->ktun);
	for (int i = 0; i < p->nups; i++) {
		h2o_socketpool_dispose(&p->ups[i]->pool);
		free(p->ups[i]);
	}
	free(p->ups);
	h2o_timeout_dispose(p->ctx->loop, &p->io_timeout);
	h2o_timeout_dispose(p->ctx->loop, &p->ws_timeout);
	free(p);
}

/* Every WebSocket tunnel h2o opens for the proxy links one entry into
 * the websocket timeout (which no other connection uses) and unlinks it
 * when the tunnel closes: the list's length is the number open. */
int proxy_websockets_open(const proxy_t *p)
{
	int n = 0;
	const h2o_linklist_t *anchor = &p->ws_timeout._entries, *l;
	for (l = anchor->next; l && l != anchor; l = l->next)
		n++;
	return n + (p->ktun ? ktun_open_count(p->ktun) : 0);
}

static h2o_socketpool_t *pool_for(proxy_t *p, int port)
{
	struct sockaddr_in sa;
	upstream_t *u;

	for (int i = 0; i < p->nups; i++)
		if (p->ups[i]->port == port)
			return &p->ups[i]->pool;
	if (p->nups == p->cap) {
		int cap = p->cap ? p->cap * 2 : 16;
		upstream_t **n = realloc(p->ups, (size_t)cap * sizeof(*n));
		if (!n)
			return NULL;
		p->ups = n;
		p->cap = cap;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	p->ups[p->nups++] = u;
	u->port = port;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h2o_socketpool_init_by_address(&u->pool, (struct sockaddr *)&sa, sizeof(sa), 0, PROXY_POOL_CAP);
	h2o_socketpool_set_timeout(&u->pool, p->ctx->loop, 2000);
	return &u->pool;
}

static int is_polling(const char *rest)
{
	static const char *const tails[] = {"/api/status", "/api/kernels", "/api/sessions", "/api/terminals",
	                                    "/api/metrics", "/healthz", "/heartbeat", "/checkpoints", NULL};
	size_t n = strcspn(rest, "?");
	for (int i = 0; tails[i]; i++) {
		size_t tl = strlen(tails[i]);
		if (n >= tl && strncmp(rest + n - tl, tails[i], tl) == 0)
			return 1;
	}
	return 0;
}

/* Removes the gpuhub_session cookie from the Cookie headers. */
static void strip_cookie(h2o_req_t *req)
{
	ssize_t i = -1;
	while ((i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1) {
		h2o_header_t *h = req->headers.entries + i;
		char *out = h2o_mem_alloc_pool(&req->pool, h->value.len + 1);
		size_t o = 0, k = 0;
		while (k < h->value.len) {
			size_t start = k, end;
			while (k < h->value.len && h->value.base[k] != ';')
				k++;
			end = k;
			k++; /* skip ';' */
			while (start < end && h->value.base[start] == ' ')
				start++;
			if (end - start >= 15 && memcmp(h->value.base + start, "gpuhub_session=", 15) == 0)
				continue;
			if (end > start) {
				if (o)
					out[o++] = ';', out[o++] = ' ';
				memcpy(out + o, h->value.base + start, end - start);
				o += end - start;
			}
		}
		h->value = h2o_iovec_init(out, o);
	}
}

static void state_page(h2o_req_t *req, int status, const char *fmt, const char *a, const char *b)
{
	char body[768];
	int n = snprintf(body, sizeof(body),
	                 "<!doctype html><html><head><meta charset=utf-8><title>gpuhub</title></head><body>"
	                 "<h1>Session %s</h1><p>", a);
	n += snprintf(body + n, sizeof(body) - (size_t)n, fmt, a, b);
	n += snprintf(body + n, sizeof(body) - (size_t)n, "</p></body></html>");
	http_send_text(req, status, "text/html; charset=utf-8", body, (size_t)n);
}

void proxy_handle(proxy_t *p, h2o_req_t *req, const gh_user_t *user)
{
	const char *path = http_path(req), *rest, *slash;
	char uname[GH_NAME_MAX], sname[GH_NAME_MAX], tok[33], auth[64], origin[64], authority[32];
	const gh_user_t *owner;
	const hub_session_t *hs;
	size_t ul, sl, hl;
	h2o_req_overrides_t *ov;
	h2o_iovec_t upath;
	int admin_access = 0;

	/* /user/<u>/<s>[/rest] */
	rest = path + 6;
	slash = strchr(rest, '/');
	ul = slash ? (size_t)(slash - rest) : strlen(rest);
	if (!slash || ul == 0 || ul >= sizeof(uname)) {
		http_send_error(req, 404, "not_found", NULL, "nothing at %s", path);
		return;
	}
	memcpy(uname, rest, ul);
	uname[ul] = '\0';
	rest = slash + 1;
	slash = strchr(rest, '/');
	sl = slash ? (size_t)(slash - rest) : strlen(rest);
	if (sl == 0 || sl >= sizeof(sname)) {
		http_send_error(req, 404, "not_found", NULL, "nothing at %s", path);
		return;
	}
	memcpy(sname, rest, sl);
	sname[sl] = '\0';
	rest = slash ? slash : "";
	if (!user) {
		http_add_header(req, "www-authenticate", "Bearer realm=\"gpuhub\"");
		http_send_error(req, 401, "unauthenticated", NULL, "sign in to open this workspace");
		return;
	}
	owner = hub_user_find(p->hub, uname);
	hs = owner ? hub_session_find(p->hub, owner->id, sname) : NULL;
	if (hs && owner->id != user->id) {
		const char *h = http_header(req, "x-gpuhub-admin-access", &hl);
		admin_access = user->role == GH_ROLE_ADMIN && h && hl == 1 && h[0] == '1';
		if (!admin_access)
			hs = NULL;
	}
	if (!hs) {
		http_send_error(req, 404, "not_found", NULL, "no session %s of user %s", sname, uname);
		return;
	}
	if (!slash && !hs->strip_prefix) {
		/* /user/u/s → /user/u/s/ so relative links resolve */
		char loc[GH_NAME_MAX * 2 + 16];
		snprintf(loc, sizeof(loc), "/user/%s/%s/", uname, sname);
		http_add_header(req, "location", loc);
		http_send_text(req, 302, "text/plain", "", 0);
		return;
	}
	if (hs->s.state != GH_SESS_RUNNING && hs->s.state != GH_SESS_IDLE_WARNED) {
		char st[64];
		if (proxy_wake_page(p->hub, req, hs, user))
			return;
		if (hs->s.state == GH_SESS_QUEUED)
			snprintf(st, sizeof(st), "queued, position %d", hs->queue_position);
		else
			snprintf(st, sizeof(st), "%s", gh_sess_state_name(hs->s.state));
		http_add_header(req, "retry-after", "2");
		state_page(req, 503, "is %2$s; this page works once it is running.", sname, st);
		return;
	}
	if (admin_access)
		GH_INFO("admin %s opened session %lld (%s) of user %s", user->name, (long long)hs->s.id, sname, uname);
	if (!is_polling(rest))
		hub_session_activity(p->hub, hs->s.id, gh_now_ms());

	/* rewrite for the workspace */
	hub_workspace_token(p->hub, hs->s.id, tok);
	snprintf(auth, sizeof(auth), "token %s", tok);
	snprintf(authority, sizeof(authority), "127.0.0.1:%d", hs->s.port);
	snprintf(origin, sizeof(origin), "http://%s", authority);
	h2o_set_header(&req->pool, &req->headers, H2O_TOKEN_AUTHORIZATION, h2o_strdup(&req->pool, auth, SIZE_MAX).base,
	               strlen(auth), 1);
	if (http_header(req, "origin", &hl))
		h2o_set_header_by_str(&req->pool, &req->headers, H2O_STRLIT("origin"), 0,
		                      h2o_strdup(&req->pool, origin, SIZE_MAX).base, strlen(origin), 1);
	strip_cookie(req);
	/* the hub's own request header is not the workspace's business (h2o's
	 * relay and the kernel's both send what is left) */
	for (ssize_t i; (i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-gpuhub-admin-access"), -1)) != -1;)
		h2o_delete_header(&req->headers, i);

	if (hs->strip_prefix) {
		const char *full = req->path.base + (rest - path);
		size_t len = req->path.len - (size_t)(rest - path);
		upath = len ? h2o_iovec_init(full, len) : h2o_iovec_init(H2O_STRLIT("/"));
		if (len && full[0] == '?') {
			char *q = h2o_mem_alloc_pool(&req->pool, len + 2);
			q[0] = '/';
			memcpy(q + 1, full, len);
			upath = h2o_iovec_init(q, len + 1);
		}
	} else {
		upath = req->path;
	}
	if (p->ktun && req->version < 0x200 && req->upgrade.base &&
	    h2o_lcstris(req->upgrade.base, req->upgrade.len, H2O_STRLIT("websocket"))) {
		ktun_handle(p->ktun, req, hs->s.port, upath);
		return;
	}
	ov = h2o_mem_alloc_pool(&req->pool, sizeof(*ov));
	memset(ov, 0, sizeof(*ov));
	ov->client_ctx = &p->client;
	ov->socketpool = pool_for(p, hs->s.port);
	if (!ov->socketpool) {
		http_send_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	h2o_reprocess_request(req, req->method, &H2O_URL_SCHEME_HTTP,
	                      h2o_strdup(&req->pool, authority, SIZE_MAX), upath, ov, 0);
}
