/*
 * proxy_ktun.h — WebSockets to workspaces relayed by the kernel.
 *
 * Once both sides of a WebSocket are set up, every byte one sends is for
 * the other, unchanged. Where the kernel allows it (Linux with BPF
 * sockmap, a hub with CAP_BPF and CAP_NET_ADMIN, in practice root), the
 * two sockets go into a BPF_MAP_TYPE_SOCKHASH whose stream verdict program
 * sends what arrives on one straight out of the other: no wake-up of the
 * hub, no copy to user space. The hub still does the handshake itself
 * (authentication and the rewrite are proxy.c's), and counts the bytes
 * each way in a BPF map, so user traffic keeps the session active and the
 * proxied-bytes metric stays whole. Where it is not allowed, proxy.c keeps
 * h2o's tunnel.
 */
#ifndef GH_PROXY_KTUN_H
#define GH_PROXY_KTUN_H

#include "http/http.h"
#include "hub/hub.h"

typedef struct ktun ktun_t;

/* Loads the BPF program and maps. GH_EUNSUPPORTED (why says what the
 * kernel refused) when the kernel path is not available here. A tunnel
 * whose sockets the kernel refuses is relayed by h2o under ws_timeout. */
int ktun_open(ktun_t **out, hub_t *hub, h2o_context_t *ctx, h2o_timeout_t *ws_timeout, char *why, size_t whylen);
void ktun_close(ktun_t *k);

/* Takes over req, a WebSocket upgrade proxy.c has authorized and
 * rewritten (Authorization, Origin, cookies), for the workspace on
 * 127.0.0.1:port at upstream path upath: shakes hands with the workspace,
 * answers the client with the workspace's 101 (or its refusal), then hands
 * both sockets to the kernel. */
void ktun_handle(ktun_t *k, h2o_req_t *req, int port, h2o_iovec_t upath);

/* Tunnels the kernel relays now. */
int ktun_open_count(const ktun_t *k);

#endif
