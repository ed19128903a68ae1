/*
 * metrics.c — the counters of metrics.h. Each update is a short search in
 * a small table and integer additions: a route table holds ~30 patterns,
 * a route sees a handful of distinct status codes, a hub has a few
 * priority classes. Tables are bounded; what does not fit is folded into
 * an "other" entry, so a scrape stays bounded whatever clients send.
 */
#include "metrics/metrics_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

/* request latency, seconds: 1 ms .. 10 s */
const double metrics_lat_bounds[METRICS_LAT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,  0.1,    0.25,  1,    10};
/* queue wait, seconds: 1 s .. 1 day */
const double metrics_wait_bounds[METRICS_WAIT_BUCKETS] = {1, 5, 15, 60, 300, 900, 1800, 3600, 14400, 86400};
/* scheduler pass, seconds: 100 µs .. 1 s */
const double metrics_pass_bounds[METRICS_PASS_BUCKETS] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 1};
const char *const metrics_reasons[METRICS_REASONS] = METRICS_RECLAIM_REASONS;

int metrics_create(metrics_t **out, int n_gpus)
{
	metrics_t *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (!m)
		return GH_ENOMEM;
	m->n_gpus = n_gpus > 0 ? n_gpus : 0;
	m->xid = calloc((size_t)(m->n_gpus ? m->n_gpus : 1), sizeof(*m->xid));
	if (!m->xid) {
		free(m);
		return GH_ENOMEM;
	}
	m->started_at_ms = gh_now_ms();
	*out = m;
	return 0;
}

void metrics_destroy(metrics_t *m)
{
	if (!m)
		return;
	free(m->xid);
	free(m);
}

void metrics_hist_add(uint64_t *counts, const double *bounds, int n, double v)
{
	int i = 0;
	while (i < n && v > bounds[i])
		i++;
	counts[i]++;
}

static const char *method_label(const char *method)
{
	static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};
	for (int i = 0; method && known[i]; i++)
		if (strcmp(method, known[i]) == 0)
			return known[i];
	return "other";
}

static metrics_route_t *route_slot(metrics_t *m, const char *method, const char *route)
{
	metrics_route_t *r;
	for (int i = 0; i < m->nroutes; i++) {
		r = &m->routes[i];
		if (r->method == method && (r->route == route || strcmp(r->route, route) == 0))
			return r;
	}
	if (m->nroutes == METRICS_ROUTES_MAX) {
		/* the last slot collects everything that does not fit */
		r = &m->routes[METRICS_ROUTES_MAX - 1];
		r->method = "other";
		r->route = "other";
		return r;
	}
	r = &m->routes[m->nroutes++];
	r->method = method;
	r->route = route;
	return r;
}

void metrics_http_observe(metrics_t *m, const char *method, const char *route, int status, double seconds)
{
	metrics_route_t *r;
	int i;
	if (!m)
		return;
	r = route_slot(m, method_label(method), route ? route : "other");
	metrics_hist_add(r->lat, metrics_lat_bounds, METRICS_LAT_BUCKETS, seconds);
	r->lat_sum += seconds;
	if (status < 100 || status > 599)
		status = 0;
	for (i = 0; i < r->nstatus && r->statuses[i] != status; i++)
		;
	if (i == r->nstatus) {
		if (r->nstatus == 8)
			i = 7; /* a ninth distinct status joins the eighth's count: rare */
		else
			r->statuses[r->nstatus++] = status;
	}
	r->counts[i]++;
}

void metrics_proxy_bytes(metrics_t *m, uint64_t from_client, uint64_t to_client)
{
	if (!m)
		return;
	m->proxy_in += from_client;
	m->proxy_out += to_client;
}

void metrics_sched_pass(metrics_t *m, double seconds)
{
	if (!m)
		return;
	metrics_hist_add(m->pass, metrics_pass_bounds, METRICS_PASS_BUCKETS, seconds);
	m->pass_sum += seconds;
}

static metrics_class_t *class_slot(metrics_t *m, const char *cls)
{
	if (!cls || !cls[0])
		cls = "other";
	for (int i = 0; i < m->nclasses; i++)
		if (m->classes[i].name == cls || strcmp(m->classes[i].name, cls) == 0)
			return &m->classes[i];
	if (m->nclasses == METRICS_CLASSES_MAX)
		return &m->classes[METRICS_CLASSES_MAX - 1];
	m->classes[m->nclasses].name = cls;
	return &m->classes[m->nclasses++];
}

void metrics_sched_admit(metrics_t *m, const char *cls, double wait_seconds)
{
	metrics_class_t *c;
	if (!m)
		return;
	c = class_slot(m, cls);
	c->admitted++;
	if (wait_seconds < 0)
		wait_seconds = 0;
	metrics_hist_add(c->wait, metrics_wait_bounds, METRICS_WAIT_BUCKETS, wait_seconds);
	c->wait_sum += wait_seconds;
}

void metrics_sched_preempt(metrics_t *m, const char *cls)
{
	if (m)
		class_slot(m, cls)->preempted++;
}

void metrics_gpu_xid(metrics_t *m, int gpu_index)
{
	if (m && gpu_index >= 0 && gpu_index < m->n_gpus)
		m->xid[gpu_index]++;
}

void metrics_session_transition(metrics_t *m, int state)
{
	if (m && state >= 0 && state < GH_SESS__COUNT)
		m->transitions[state]++;
}

/* The slot of reason in metrics_reasons; the last ("other") for any
 * reason not listed. */
static int reason_slot(const char *reason)
{
	int i;
	for (i = 0; i < METRICS_REASONS - 1; i++)
		if (reason && strcmp(reason, metrics_reasons[i]) == 0)
			break;
	return i;
}

const char *metrics_reason_label(const char *reason) { return metrics_reasons[reason_slot(reason)]; }

void metrics_reclaimed_add(metrics_t *m, const char *reason, double gpu_seconds)
{
	if (!m || !(gpu_seconds > 0))
		return;
	m->reclaimed[reason_slot(reason)] += gpu_seconds;
}
