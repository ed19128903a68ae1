/*
 * api_metrics.c — GET /metrics (also at /api/v1/metrics) and the HTTP
 * counters behind it.
 *
 * Every finished request (http_server_on_done) is counted under its route
 * pattern, never its raw path, so the number of series is bounded by the
 * route table whatever clients ask for:
 *
 *   request                          | route label
 *   ---------------------------------+-------------------------------------
 *   /api/v1/sessions/42 (a route)    | /api/v1/sessions/{id}
 *   /api/v1/nothing-here             | /api/v1/other
 *   /user/alice/thesis/lab/...       | /user/{user}/{session}
 *   /metrics                         | /metrics
 *   the web page and its files       | /
 *   anything else                    | other
 *
 * Proxied requests also add their body and answer sizes to
 * gpuhub_proxy_bytes_total. The scrape itself is answered from memory
 * (metrics_render), with the bearer token of metrics.token_file when one
 * is configured.
 */
#include "api/api_int.h"
#include "common/err.h"
#include "common/log.h"
#include "metrics/metrics_collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 96

/* "/api/v1" + each route's pattern, built once; metrics keep pointers. */
static char route_labels[64][LABEL_MAX];
static int nlabels = -1;

static void labels_init(void)
{
	int i;
	if (nlabels >= 0)
		return;
	for (i = 0; api_routes[i].method && i < 64; i++)
		snprintf(route_labels[i], LABEL_MAX, "/api/v1%s", api_routes[i].path);
	nlabels = i;
}

static const char *route_label(h2o_req_t *req, int *proxied)
{
	const char *p = req->input.path.base;
	size_t n = req->input.path.len;
	if (req->input.query_at != SIZE_MAX && req->input.query_at < n)
		n = req->input.query_at;
	*proxied = 0;
	if (n >= 6 && memcmp(p, "/user/", 6) == 0) {
		*proxied = 1;
		return "/user/{user}/{session}";
	}
	if (n == 8 && memcmp(p, "/metrics", 8) == 0)
		return "/metrics";
	if (n >= 7 && memcmp(p, "/api/v1", 7) == 0 && (n == 7 || p[7] == '/')) {
		labels_init();
		for (int i = 0; i < nlabels; i++)
			if (api_route_match(api_routes[i].path, p + 7, n - 7, NULL, NULL))
				return route_labels[i];
		return "/api/v1/other";
	}
	if (req->res.status != 404)
		return "/";
	return "other";
}

static void on_done(void *ctx, h2o_req_t *req)
{
	api_t *api = ctx;
	metrics_t *m = hub_metrics(api->hub);
	char method[16];
	int proxied;
	int64_t usec = 0;
	const char *route = route_label(req, &proxied);
	size_t ml = req->input.method.len < sizeof(method) - 1 ? req->input.method.len : sizeof(method) - 1;

	memcpy(method, req->input.method.base, ml);
	method[ml] = '\0';
	if (!h2o_time_compute_duration(req, &usec) || usec < 0)
		usec = 0;
	metrics_http_observe(m, method, route, req->res.status, usec / 1e6);
	if (proxied)
		metrics_proxy_bytes(m, req->entity.base ? req->entity.len : 0, req->bytes_sent);
}

void api_metrics_init(api_t *api)
{
	labels_init();
	http_server_on_done(api->srv, on_done, api);
}

void api_metrics(api_req_t *r)
{
	metrics_http_state_t st = {.websockets_open = proxy_websockets_open(r->api->proxy)};
	size_t len = 0, hl;
	const char *h = http_header(r->req, "authorization", &hl);
	char *text = NULL;
	int rc;

	if (!h || hl <= 7 || strncasecmp(h, "Bearer ", 7) != 0) {
		h = NULL;
		hl = 0;
	} else {
		h += 7;
		hl -= 7;
	}
	if (!hub_metrics_authorized(r->hub, h, hl)) {
		http_add_header(r->req, "www-authenticate", "Bearer realm=\"gpuhub metrics\"");
		http_send_error(r->req, 401, "unauthenticated", NULL,
		                h ? "the scrape token is wrong (see metrics.token_file)"
		                  : "this hub wants a scrape token: send 'Authorization: Bearer <token>' "
		                    "with the token of metrics.token_file");
		return;
	}
	rc = metrics_render(hub_metrics(r->hub), r->hub, &st, &text, &len);
	if (rc) {
		api_error_rc(r, rc, "cannot render the metrics");
		return;
	}
	http_send_text(r->req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}
