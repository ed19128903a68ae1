/*
 * proxy.h — /user/<user>/<session>/...: HTTP and WebSocket traffic to a
 * session's workspace, which listens on 127.0.0.1:<port> and accepts only
 * the token the hub injects.
 *
 * The caller (api/) has authenticated the request; the proxy authorizes
 * it (the owner; an admin only with the audited "X-GPUHub-Admin-Access: 1"
 * header), rewrites it for the workspace and hands it to h2o's proxy.
 */
#ifndef GH_PROXY_H
#define GH_PROXY_H

#include "http/http.h"
#include "hub/hub.h"

typedef struct proxy proxy_t;

int proxy_create(proxy_t **out, hub_t *hub, h2o_context_t *ctx);
void proxy_destroy(proxy_t *p);
/* WebSocket tunnels to workspaces open now. */
int proxy_websockets_open(const proxy_t *p);
/* Answers req (path starts with "/user/"); user may be NULL (anonymous). */
void proxy_handle(proxy_t *p, h2o_req_t *req, const gh_user_t *user);

/* proxy_wake.c: answers a browser (Accept: text/html) at the URL of a
 * session that is not running with a live page, waking it when it is
 * suspended. 0 when it did not answer (not a browser, or a state with
 * nothing to wait for). */
int proxy_wake_page(hub_t *hub, h2o_req_t *req, const hub_session_t *hs, const gh_user_t *user);

#endif
