/*
 * api.c — routing, authentication and request validation for /api/v1.
 *
 * Order of checks for every request, each answering with the error JSON:
 *   1. the raw path is canonical (no "..", ".", "//", percent-escapes)  400
 *   2. a route matches the path                                         404
 *   3. the method is one the path accepts                               405
 *   4. credentials: bearer token or login cookie                        401
 *   5. role (admin routes)                                              403
 *   6. body: size, content type, JSON syntax, an object       413/415/400
 * Only then does a handler run, so bad input never reaches the hub.
 */
#include "api/api_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/api/v1"

extern const char gh_openapi_start[], gh_openapi_end[];

int api_create(api_t **out, hub_t *hub, http_server_t *srv)
{
	api_t *api = calloc(1, sizeof(*api));
	if (!api)
		return GH_ENOMEM;
	api->hub = hub;
	api->srv = srv;
	if (proxy_create(&api->proxy, hub, http_server_context(srv)) != 0) {
		free(api);
		return GH_ENOMEM;
	}
	api->openapi = gh_openapi_start;
	api->openapi_len = (size_t)(gh_openapi_end - gh_openapi_start);
	api_metrics_init(api);
	*out = api;
	return 0;
}

void api_destroy(api_t *api)
{
	if (!api)
		return;
	api_streams_close(api);
	api_shells_close(api);
	proxy_destroy(api->proxy);
	free(api);
}

/* --- errors --- */

void api_error_rc(api_req_t *r, int rc, const char *why)
{
	http_send_error(r->req, gh_err_http(rc), gh_errcode(rc), NULL, "%s", why && why[0] ? why : gh_strerror(rc));
}

/* --- validation helpers --- */

int api_body_object(api_req_t *r)
{
	h2o_req_t *req = r->req;
	size_t ctl;
	const char *ct = http_header(req, "content-type", &ctl);
	json_error_t jerr;

	if (req->entity.base == NULL || req->entity.len == 0) {
		http_send_error(req, 400, "invalid", NULL, "a JSON object body is required");
		return -1;
	}
	if (req->entity.len > http_server_max_body(r->api->srv)) {
		http_send_error(req, 413, "too_large", NULL, "request body of %zu bytes exceeds the limit of %zu bytes",
		                req->entity.len, http_server_max_body(r->api->srv));
		return -1;
	}
	if (!ct || !(ctl >= 16 && strncasecmp(ct, "application/json", 16) == 0 &&
	             (ctl == 16 || ct[16] == ';' || ct[16] == ' '))) {
		http_send_error(req, 415, "unsupported_media_type", NULL, "Content-Type must be application/json");
		return -1;
	}
	r->body = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r->body) {
		http_send_error(req, 400, "invalid", NULL, "malformed JSON at line %d, column %d: %s", jerr.line,
		                jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(r->body)) {
		http_send_error(req, 400, "invalid", NULL, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

int api_only_fields(api_req_t *r, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(r->body, key, v) {
		int ok = 0;
		for (int i = 0; allowed[i]; i++)
			ok |= strcmp(key, allowed[i]) == 0;
		if (!ok) {
			http_send_error(r->req, 400, "invalid", key, "unknown field '%s'", key);
			return -1;
		}
	}
	return 0;
}

static json_t *field(api_req_t *r, const char *key, int required, int null_ok, int *rc)
{
	json_t *v = json_object_get(r->body, key);
	*rc = 0;
	if (!v || (json_is_null(v) && null_ok)) {
		if (required) {
			http_send_error(r->req, 400, "invalid", key, "field '%s' is required", key);
			*rc = -1;
		}
		return NULL;
	}
	*rc = 1;
	return v;
}

int api_str(api_req_t *r, const char *key, int required, size_t maxlen, const char **out)
{
	int rc;
	json_t *v = field(r, key, required, 1, &rc);
	if (rc <= 0)
		return rc;
	if (!json_is_string(v)) {
		http_send_error(r->req, 400, "invalid", key, "field '%s' must be a string", key);
		return -1;
	}
	if (json_string_length(v) > maxlen || strlen(json_string_value(v)) != json_string_length(v)) {
		http_send_error(r->req, 400, "invalid", key, "field '%s' must be at most %zu characters, without NUL",
		                key, maxlen);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

int api_int(api_req_t *r, const char *key, int required, long long lo, long long hi, long long *out)
{
	int rc;
	json_t *v = field(r, key, required, 0, &rc);
	if (rc <= 0)
		return rc;
	if (!json_is_integer(v)) {
		http_send_error(r->req, 400, "invalid", key, "field '%s' must be an integer", key);
		return -1;
	}
	if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
		http_send_error(r->req, 400, "invalid", key, "field '%s' must be between %lld and %lld", key, lo, hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 1;
}

int api_num(api_req_t *r, const char *key, int required, double lo, double hi, double *out)
{
	int rc;
	json_t *v = field(r, key, required, 0, &rc);
	if (rc <= 0)
		return rc;
	if (!json_is_number(v)) {
		http_send_error(r->req, 400, "invalid", key, "field '%s' must be a number", key);
		return -1;
	}
	if (json_number_value(v) < lo || json_number_value(v) > hi) {
		http_send_error(r->req, 400, "invalid", key, "field '%s' must be between %g and %g", key, lo, hi);
		return -1;
	}
	*out = json_number_value(v);
	return 1;
}

int api_bool(api_req_t *r, const char *key, int required, int *out)
{
	int rc;
	json_t *v = field(r, key, required, 0, &rc);
	if (rc <= 0)
		return rc;
	if (!json_is_boolean(v)) {
		http_send_error(r->req, 400, "invalid", key, "field '%s' must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

int api_param_id(api_req_t *r, int i, int64_t *out)
{
	const char *s = r->params[i];
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s < '1' || *s > '9' || *end != '\0' || v <= 0) {
		http_send_error(r->req, 404, "not_found", NULL, "'%s' is not a valid id", s);
		return -1;
	}
	*out = v;
	return 0;
}

const hub_session_t *api_session_param(api_req_t *r, int admins_too)
{
	int64_t id;
	const hub_session_t *hs;
	if (api_param_id(r, 0, &id))
		return NULL;
	hs = hub_session_get(r->hub, id);
	if (!hs || (hs->s.user_id != r->user->id && !(admins_too && r->user->role == GH_ROLE_ADMIN))) {
		http_send_error(r->req, 404, "not_found", NULL, "no session %lld", (long long)id);
		return NULL;
	}
	return hs;
}

/* --- routing --- */

int api_route_match(const char *pattern, const char *path, size_t plen, h2o_mem_pool_t *pool, const char **params)
{
	const char *end = path + plen;
	int np = 0;
	while (*pattern && path < end) {
		if (*pattern != '/' || *path != '/')
			return 0;
		pattern++;
		path++;
		if (*pattern == '{') {
			const char *pe = strchr(pattern, '}');
			size_t len = 0;
			while (path + len < end && path[len] != '/')
				len++;
			if (len == 0 || !pe || (params && np >= API_MAX_PARAMS))
				return 0;
			if (params) {
				char *p = h2o_mem_alloc_pool(pool, len + 1);
				memcpy(p, path, len);
				p[len] = '\0';
				params[np++] = p;
			}
			pattern = pe + 1;
			path += len;
		} else {
			size_t len = strcspn(pattern, "/");
			if ((size_t)(end - path) < len || strncmp(pattern, path, len) != 0 ||
			    (path + len < end && path[len] != '/'))
				return 0;
			pattern += len;
			path += len;
		}
	}
	return *pattern == '\0' && path == end;
}

int api_path_canonical(const char *p)
{
	if (strchr(p, '%') || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
		return 0;
	size_t n = strlen(p);
	if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return 0;
	return 1;
}

static const gh_user_t *authenticate(api_req_t *r)
{
	size_t len;
	const char *h = http_header(r->req, "authorization", &len);
	char secret[600];

	if (h) {
		if (len <= 7 || strncasecmp(h, "Bearer ", 7) != 0 || len - 7 >= sizeof(secret))
			return NULL;
		memcpy(secret, h + 7, len - 7);
		secret[len - 7] = '\0';
	} else if (http_cookie(r->req, "gpuhub_session", secret, sizeof(secret)) != 1) {
		return NULL;
	}
	return hub_authenticate(r->hub, secret, &r->token_kind, &r->token_id);
}

/* True for a body that is only "{}" with optional whitespace: clients
 * that always send a JSON object may send it to routes that take none. */
static int empty_object(h2o_iovec_t b)
{
	size_t i = 0, n = b.len;
	while (i < n && strchr(" \t\r\n", b.base[i]))
		i++;
	while (n > i && strchr(" \t\r\n", b.base[n - 1]))
		n--;
	return n - i == 2 && b.base[i] == '{' && b.base[i + 1] == '}';
}

int api_handle(void *ctx, h2o_req_t *req)
{
	api_t *api = ctx;
	api_req_t r = {.api = api, .hub = api->hub, .req = req};
	const char *path = http_path(req), *sub;
	size_t sublen;
	const api_route_t *rt, *found = NULL;
	int path_matched = 0;
	char allow[64] = "";

	if (strncmp(path, "/user/", 6) == 0) {
		if (strstr(path, "/../") || strstr(path, "/./") || strstr(path, "//")) {
			http_send_error(req, 400, "invalid", NULL, "the path must not contain '.', '..' or '//' segments");
			return 0;
		}
		proxy_handle(api->proxy, req, authenticate(&r));
		return 0;
	}
	if (strcmp(path, "/metrics") == 0)
		path = sub = API_PREFIX "/metrics"; /* where Prometheus looks by default */
	if (strncmp(path, API_PREFIX, sizeof(API_PREFIX) - 1) != 0 ||
	    (path[sizeof(API_PREFIX) - 1] != '/' && path[sizeof(API_PREFIX) - 1] != '\0')) {
		if (!api_web(req, path))
			http_send_error(req, 404, "not_found", NULL, "nothing at %s", path);
		return 0;
	}
	sub = path + sizeof(API_PREFIX) - 1;
	if (!api_path_canonical(path)) {
		http_send_error(req, 400, "invalid", NULL,
		                "the path must be canonical: no '.', '..', '//', percent-escapes or control characters");
		return 0;
	}
	sublen = strlen(sub);
	for (rt = api_routes; rt->method; rt++) {
		const char *params[API_MAX_PARAMS] = {0};
		if (!api_route_match(rt->path, sub, sublen, &req->pool, params))
			continue;
		path_matched = 1;
		if (strlen(allow) + strlen(rt->method) + 3 < sizeof(allow)) {
			if (allow[0])
				strcat(allow, ", ");
			strcat(allow, rt->method);
		}
		if (http_method_is(req, rt->method) ||
		    (http_method_is(req, "HEAD") && strcmp(rt->method, "GET") == 0)) {
			found = rt;
			memcpy(r.params, params, sizeof(params));
			break;
		}
	}
	if (!found) {
		if (path_matched) {
			http_add_header(req, "allow", allow);
			http_send_error(req, 405, "method_not_allowed", NULL, "%.*s is not allowed on %s (allowed: %s)",
			                (int)req->method.len, req->method.base, path, allow);
		} else {
			http_send_error(req, 404, "not_found", NULL, "no such route: %.*s %s", (int)req->method.len,
			                req->method.base, path);
		}
		return 0;
	}
	if (found->auth != AUTH_NONE) {
		r.user = authenticate(&r);
		if (!r.user) {
			http_add_header(req, "www-authenticate", "Bearer realm=\"gpuhub\"");
			http_send_error(req, 401, "unauthenticated", NULL,
			                "sign in first: send 'Authorization: Bearer <token>' or the login cookie");
			return 0;
		}
		if (found->auth == AUTH_ADMIN && r.user->role != GH_ROLE_ADMIN) {
			http_send_error(req, 403, "forbidden", NULL, "this needs the admin role");
			return 0;
		}
	}
	if (found->wants_body && found->wants_body != API_BODY_RAW && api_body_object(&r) != 0) {
		json_decref(r.body);
		return 0;
	}
	if (!found->wants_body && req->entity.base && req->entity.len > 0 && !empty_object(req->entity)) {
		http_send_error(req, 400, "invalid", NULL, "%s %s takes no request body", found->method, path);
		return 0;
	}
	found->fn(&r);
	json_decref(r.body);
	return 0;
}
