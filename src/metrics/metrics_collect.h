/*
 * metrics_collect.h — renders a whole scrape: the counters of metrics.h and
 * gauges read from the hub at this moment (GPUs, sessions, the queue).
 */
#ifndef GH_METRICS_COLLECT_H
#define GH_METRICS_COLLECT_H

#include <stddef.h>

#include "hub/hub.h"
#include "metrics/metrics.h"

/* What the hub does not know itself, from the HTTP side. */
typedef struct {
	int websockets_open;             /* proxied WebSocket tunnels now open */
} metrics_http_state_t;

/* *out receives the text (malloc'd, the caller frees), *len its length.
 * 0 or GH_ENOMEM. */
int metrics_render(metrics_t *m, hub_t *hub, const metrics_http_state_t *hs, char **out, size_t *len);

#endif
