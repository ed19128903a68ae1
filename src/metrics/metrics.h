/*
 * metrics.h — the hub's own counters, and GET /metrics.
 *
 * Two kinds of figures end up in a scrape:
 *   - counters and histograms of things that happen (HTTP requests,
 *     admissions, preemptions, XID errors, reclaimed GPU-seconds): the
 *     code where it happens calls a metrics_* function below. Each is a
 *     few integer additions on the event-loop thread: no locks, no I/O.
 *   - gauges of state the hub already keeps (GPUs, sessions, the queue):
 *     read from the hub when a scrape renders (metrics_render in
 *     metrics_collect.c), so they can never drift from what the API shows.
 *
 * Every name, its type, unit and labels is listed in docs/monitoring.md.
 * Label values that come from users (user, session and environment names)
 * are escaped by the writer (expo.h).
 *
 * Threading: all calls on the event-loop thread, like the hub.
 */
#ifndef GH_METRICS_H
#define GH_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics_t;

/* Reasons for gpuhub_gpu_reclaimed_seconds_total. A reason string that is
 * not one of these is counted as "other". */
#define METRICS_RECLAIM_REASONS {"stopped", "preempted", "idle", "lifetime", "failed", "other"}

/* n_gpus: size of the per-GPU counters (XID errors). */
int metrics_create(metrics_t **out, int n_gpus);
void metrics_destroy(metrics_t *m);

/* --- HTTP (called once per finished request) ---
 * method: the request method (anything but the usual verbs counts as
 * "other"); route: a route pattern that lives as long as m, such as
 * "/api/v1/sessions/{id}" (never the raw path: it would make one series
 * per session); seconds: from the request's start to its end. */
void metrics_http_observe(metrics_t *m, const char *method, const char *route, int status, double seconds);
/* Bytes that went through the workspace proxy, both directions. */
void metrics_proxy_bytes(metrics_t *m, uint64_t from_client, uint64_t to_client);

/* --- scheduler --- */
/* One pass of the scheduler took seconds. */
void metrics_sched_pass(metrics_t *m, double seconds);
/* A session of priority class cls (a name that lives as long as m) was
 * admitted after waiting wait_seconds in the queue. */
void metrics_sched_admit(metrics_t *m, const char *cls, double wait_seconds);
void metrics_sched_preempt(metrics_t *m, const char *cls);

/* --- GPUs and sessions --- */
void metrics_gpu_xid(metrics_t *m, int gpu_index);
/* A session entered state (a gh_sess_state_t). */
void metrics_session_transition(metrics_t *m, int state);
/*
 * GPU-seconds the hub took back early: the GPUs a session held times the
 * time its allocation would still have held them (for example the rest
 * of its lifetime, or the configured metrics.reclaim_horizon_s where it
 * has no limit), counted when the hub ended or suspended it. reason: one
 * of METRICS_RECLAIM_REASONS. m may be NULL (no-op); gpu_seconds <= 0 is
 * ignored.
 */
void metrics_reclaimed_add(metrics_t *m, const char *reason, double gpu_seconds);
/* The METRICS_RECLAIM_REASONS label reason is booked under, as a static
 * string: itself where listed, "other" otherwise (and for NULL). */
const char *metrics_reason_label(const char *reason);

#endif
