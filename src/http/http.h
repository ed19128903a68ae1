/*
 * http.h — the HTTP/1.1 front door (libh2o-evloop): one listening socket,
 * one event loop thread, helpers to read requests and write JSON answers.
 *
 * The server hands every request to one callback (the router in api/);
 * that callback must answer (http_send_*) or start a streaming response
 * before it returns, or hold the request for a streaming generator.
 *
 * Ownership: json_t bodies passed to http_send_json are stolen (decref'd).
 * Strings returned by the readers point into the request or its pool and
 * live until the response is finished.
 */
#ifndef GH_HTTP_H
#define GH_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <h2o.h>

typedef struct http_server http_server_t;
typedef int (*http_on_req_fn)(void *ctx, h2o_req_t *req);

/* Binds host:port (host "" = all addresses) and prepares the loop. The h2o
 * hard cap on request bodies is 4 x max_body so bodies up to that size
 * reach the callback, which answers 413 in JSON (see http_body_ok). */
int http_server_create(http_server_t **out, const char *host, int port, size_t max_body,
                       http_on_req_fn cb, void *ctx, char *errmsg, size_t errlen);
/* Stops accepting, lets open connections finish (up to timeout_ms) while
 * the loop keeps running; 0 when all closed, GH_ETIMEOUT otherwise. */
int http_server_shutdown(http_server_t *srv, int timeout_ms);
void http_server_destroy(http_server_t *srv);
/* Runs the loop for at most max_wait_ms; returns early on a signal. */
void http_server_run_once(http_server_t *srv, int32_t max_wait_ms);
h2o_evloop_t *http_server_loop(http_server_t *srv);
h2o_context_t *http_server_context(http_server_t *srv);
/* Port actually bound (useful with port 0). */
int http_server_port(http_server_t *srv);
void http_server_set_max_body(http_server_t *srv, size_t max_body);
/* Calls cb(ctx) on the loop thread whenever fd becomes readable (the fd
 * is drained by h2o's read; cb must not read it). */
int http_server_watch(http_server_t *srv, int fd, void (*cb)(void *ctx), void *ctx);
/* Calls fn(ctx, req) when a request has been answered completely (status,
 * bytes sent and timestamps final), proxied and streamed ones included;
 * for metrics. fn must not answer or keep req. */
typedef void (*http_on_done_fn)(void *ctx, h2o_req_t *req);
void http_server_on_done(http_server_t *srv, http_on_done_fn fn, void *ctx);
/* Sets the ctx passed to the request callback. */
void http_server_set_callback_ctx(http_server_t *srv, void *ctx);
size_t http_server_max_body(http_server_t *srv);

/* --- answers --- */
void http_send_json(h2o_req_t *req, int status, json_t *body);
/* {"error":{"code","message"[,"field"]}}; field may be NULL. */
void http_send_error(h2o_req_t *req, int status, const char *code, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void http_send_status(h2o_req_t *req, int status);   /* empty body, e.g. 204 */
void http_send_text(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len);
void http_add_header(h2o_req_t *req, const char *name, const char *value);

/* --- request readers --- */
/* Header value (not NUL-terminated) or NULL; *len set. */
const char *http_header(h2o_req_t *req, const char *name, size_t *len);
/* Query parameter, URL-decoded, copied into out. 1 found, 0 absent,
 * GH_ETOOBIG if it does not fit. */
int http_query(h2o_req_t *req, const char *key, char *out, size_t outlen);
/* Cookie value by name into out. 1 found, 0 absent. */
int http_cookie(h2o_req_t *req, const char *name, char *out, size_t outlen);
/* The path without the query string, NUL-terminated in the pool. */
const char *http_path(h2o_req_t *req);
/* 1 if the method equals m. */
int http_method_is(h2o_req_t *req, const char *m);

#endif
