/*
 * api.h — the REST API under /api/v1 (docs/api.md, src/api/openapi.json).
 *
 * Thin by design: parse and validate the request, call the hub, turn the
 * answer into JSON. Every request to /api/v1 goes through api_handle().
 */
#ifndef GH_API_H
#define GH_API_H

#include "http/http.h"
#include "hub/hub.h"

typedef struct api api_t;

int api_create(api_t **out, hub_t *hub, http_server_t *srv);
/* Ends every open event stream (their responses complete normally). */
void api_streams_end(api_t *api);
/* Ends open event streams and frees the API state. */
void api_destroy(api_t *api);
/* The server's request callback: routes /api/v1/..., a small landing page
 * at /, and 404 elsewhere. Always answers; returns 0. */
int api_handle(void *api, h2o_req_t *req);

#endif
