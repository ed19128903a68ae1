/*
 * metrics_int.h — the counters' layout, shared by metrics.c (updates) and
 * metrics_collect.c (rendering).
 *
 *   table        | key                   | bound
 *   -------------+-----------------------+--------------------------------
 *   http         | method, route, status | METRICS_HTTP_MAX series; more
 *                |                       | fold into route "other"
 *   http_lat     | method, route         | one per http route (same table)
 *   classes      | class name            | METRICS_CLASSES_MAX
 *   xid          | GPU index             | n_gpus (fixed at create)
 *   reclaimed    | reason                | the METRICS_RECLAIM_REASONS list
 *
 * Histogram bucket bounds are fixed per family (below) and in base units.
 */
#ifndef GH_METRICS_INT_H
#define GH_METRICS_INT_H

#include "metrics/metrics.h"
#include "common/model.h"

#define METRICS_HTTP_MAX     256
#define METRICS_ROUTES_MAX   64
#define METRICS_CLASSES_MAX  8
#define METRICS_REASONS      6
#define METRICS_LAT_BUCKETS  10
#define METRICS_WAIT_BUCKETS 10
#define METRICS_PASS_BUCKETS 8

extern const double metrics_lat_bounds[METRICS_LAT_BUCKETS];
extern const double metrics_wait_bounds[METRICS_WAIT_BUCKETS];
extern const double metrics_pass_bounds[METRICS_PASS_BUCKETS];
extern const char *const metrics_reasons[METRICS_REASONS];

typedef struct {
	const char *method;              /* static string */
	const char *route;               /* static string, owned by the caller's table */
	uint64_t lat[METRICS_LAT_BUCKETS + 1];
	double lat_sum;
	int statuses[8];                 /* HTTP status codes seen on this route */
	uint64_t counts[8];
	int nstatus;
} metrics_route_t;

typedef struct {
	const char *name;
	uint64_t admitted, preempted;
	uint64_t wait[METRICS_WAIT_BUCKETS + 1];
	double wait_sum;
} metrics_class_t;

struct metrics {
	metrics_route_t routes[METRICS_ROUTES_MAX];
	int nroutes;
	uint64_t proxy_in, proxy_out;
	uint64_t pass[METRICS_PASS_BUCKETS + 1];
	double pass_sum;
	metrics_class_t classes[METRICS_CLASSES_MAX];
	int nclasses;
	uint64_t *xid;                   /* [n_gpus], owned */
	int n_gpus;
	uint64_t transitions[GH_SESS__COUNT];
	double reclaimed[METRICS_REASONS];
	int64_t started_at_ms;
};

/* Adds v to the histogram counts of bounds[0..n-1] (+ overflow). */
void metrics_hist_add(uint64_t *counts, const double *bounds, int n, double v);

#endif
