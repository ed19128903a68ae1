/*
 * api_int.h — shared by api*.c: the per-request context, the route table
 * entry, and the validation helpers every handler uses.
 */
#ifndef GH_API_INT_H
#define GH_API_INT_H

#include "api/api.h"
#include "proxy/proxy.h"
#include <jansson.h>

#define API_MAX_PARAMS 3

typedef struct api_stream api_stream_t;
typedef struct api_shell api_shell_t;

struct api {
	hub_t *hub;
	http_server_t *srv;
	const char *openapi;             /* embedded document (api_openapi.c) */
	size_t openapi_len;
	api_stream_t *streams;           /* open SSE streams */
	proxy_t *proxy;                  /* /user/<user>/<session>/ */
	api_shell_t *shells;             /* open shells (api_shell.c) */
};

typedef struct {
	api_t *api;
	hub_t *hub;
	h2o_req_t *req;
	const gh_user_t *user;           /* NULL for anonymous routes */
	gh_token_kind_t token_kind;
	int64_t token_id;
	const char *params[API_MAX_PARAMS];
	json_t *body;                    /* parsed body, owned by the dispatcher */
} api_req_t;

typedef enum { AUTH_NONE, AUTH_USER, AUTH_ADMIN } api_auth_t;

/* wants_body: 0 none, 1 or 2 a JSON object, API_BODY_RAW the handler
 * reads the bytes itself (an uploaded archive). */
#define API_BODY_RAW 3

typedef struct {
	const char *method;
	const char *path;                /* "/sessions/{id}/stop" */
	api_auth_t auth;
	int wants_body;
	void (*fn)(api_req_t *r);
} api_route_t;

extern const api_route_t api_routes[];

/* --- validation (each answers 4xx itself and returns non-zero) --- */
int api_body_object(api_req_t *r);
/* Rejects any key of r->body not in the NULL-terminated list. */
int api_only_fields(api_req_t *r, const char *const *allowed);
/* Reads a string field: 1 present, 0 absent (and not required), -1 answered. */
int api_str(api_req_t *r, const char *key, int required, size_t maxlen, const char **out);
int api_int(api_req_t *r, const char *key, int required, long long lo, long long hi, long long *out);
int api_num(api_req_t *r, const char *key, int required, double lo, double hi, double *out);
int api_bool(api_req_t *r, const char *key, int required, int *out);
/* Path parameter as a positive id; -1 answered 404/400. */
int api_param_id(api_req_t *r, int i, int64_t *out);
void api_error_rc(api_req_t *r, int rc, const char *why);
/* The session named by path parameter 0 if r->user owns it (or, with
 * admins_too, is an admin); else answers 404 (or 400) and returns NULL. */
const hub_session_t *api_session_param(api_req_t *r, int admins_too);
/* 1 if the first plen bytes of path match the route pattern segment by
 * segment ("{x}" matches one non-empty segment); with params, those
 * segments are copied into pool and stored there in order. */
int api_route_match(const char *pattern, const char *path, size_t plen, h2o_mem_pool_t *pool, const char **params);
/* 1 if an API path is canonical (no dot segments, '//', escapes, controls). */
int api_path_canonical(const char *p);
/* Converts a "gpus" value (whole count or fraction < 1, step 0.001) to
 * milli-GPU; GH_EINVAL with a sentence in why. */
int api_gpus_to_milli(double gpus, int *milli, char *why, size_t whylen);
/* Reads the body's optional "gpus" field as milli-GPU (-1 when absent);
 * -1 when it answered 400. */
int api_gpus(api_req_t *r, int *milli);

/* --- JSON views (api_json.c) --- */
json_t *api_time(int64_t ms);
json_t *api_user_json(const gh_user_t *u);
json_t *api_token_json(const gh_token_t *t);
json_t *api_env_json(hub_t *hub, const gh_env_t *e);
/* api_envcheck.c: validates the body's python/requires/probe fields and
 * copies them into spec (-1: answered 400); POST /environments/{name}/check. */
int api_env_needs(api_req_t *r, json_t *spec);
void api_env_check(api_req_t *r);
json_t *api_session_json(hub_t *hub, const hub_session_t *hs);
/* The session's JSON text, rendered once per revision and cached by the
 * hub (lists of many sessions are mostly memcpy). NULL on no memory. */
const char *api_session_view(hub_t *hub, const hub_session_t *hs);
json_t *api_event_json(const gh_event_t *ev);
json_t *api_gpu_json(hub_t *hub, const hub_gpu_t *g, const gh_user_t *viewer);

/* --- alerts and quarantine (api_alerts.c) --- */
void api_h_alert_list(api_req_t *r);
void api_h_gpu_unquarantine(api_req_t *r);
/* --- suspend, resume, idle policies (api_idle.c) --- */
void api_session_suspend(api_req_t *r);
void api_session_resume(api_req_t *r);
void api_env_idle_get(api_req_t *r);
void api_env_idle_put(api_req_t *r);
void api_group_idle_get(api_req_t *r);
void api_group_idle_put(api_req_t *r);
void api_kernel_gpus_claim(api_req_t *r);
void api_kernel_gpus_release(api_req_t *r);

/* --- the web page (api_web.c): 1 if it answered path --- */
int api_web(h2o_req_t *req, const char *path);

/* --- snapshots (api_snap.c) --- */
void api_snap_list(api_req_t *r);
void api_snap_session_list(api_req_t *r);
void api_snap_create(api_req_t *r);
void api_snap_import(api_req_t *r);
void api_snap_get(api_req_t *r);
void api_snap_delete(api_req_t *r);
void api_snap_restore(api_req_t *r);
/* --- metrics (api_metrics.c) --- */
/* Starts counting finished requests. */
void api_metrics_init(api_t *api);
/* GET /metrics: the Prometheus exposition (scrape token checked here). */
void api_metrics(api_req_t *r);
/* --- usage accounting (api_usage.c): GET /usage --- */
void api_usage(api_req_t *r);

/* --- event streams (api_events.c) --- */
void api_session_events(api_req_t *r);
void api_streams_close(api_t *api);
/* GET /sessions/{id}/shell (a WebSocket) and closing every open shell. */
void api_session_shell(api_req_t *r);
void api_shells_close(api_t *api);

#endif
