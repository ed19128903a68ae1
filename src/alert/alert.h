/*
 * alert.h — the alert engine: which anomalies are firing, and which notices
 * about them each sink still owes.
 *
 * The engine knows nothing of GPUs or sessions. Rules (hub/hub_alert.c)
 * evaluate the hub's state on its tick and report each condition that holds
 * with alert_observe() between alert_round_begin() and alert_round_end();
 * a firing alert not observed in a round is resolved. Alerts are identified
 * by a fingerprint of their name and labels, so the same condition seen
 * again and again is one alert (deduplication).
 *
 * Per alert and per sink the engine keeps a small delivery state:
 *
 *   notice     | due when                                      | after success
 *   -----------+-----------------------------------------------+--------------
 *   firing     | never delivered, or repeat_ms since the last  | last_sent=now
 *   resolved   | alert resolved and its firing was delivered    | done
 *   (failure)  | next_try = now + backoff(attempt)             | attempts=0
 *
 * backoff(n) = min(retry_max_ms, retry_base_ms * 2^(n-1)); after
 * retry_attempts failures in a row the notice is dropped (counted) and a
 * firing one is tried again at the next repeat.
 *
 * alert_due() hands out notices to send and marks them in flight; the
 * caller sends them (off the loop thread) and reports with alert_result().
 * No clock is read here: every call takes `now` in Unix ms, so the unit
 * tests drive it with a fake one. One thread only.
 */
#ifndef GH_ALERT_H
#define GH_ALERT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	ALERT_SINK_SLACK = 0,
	ALERT_SINK_WEBHOOK,
	ALERT_SINK_EMAIL,
	ALERT_SINK_ALERTMANAGER,
	ALERT_SINK__COUNT
} alert_sink_kind_t;

#define ALERT_LABELS_MAX 6
#define ALERT_NAME_MAX 48
#define ALERT_LABEL_MAX 64
#define ALERT_TEXT_MAX 384

typedef struct {
	char name[ALERT_NAME_MAX];               /* "GpuXidError": the alertname */
	char severity[16];                       /* "critical" | "warning" | "info" */
	char summary[ALERT_TEXT_MAX];            /* one sentence */
	char description[ALERT_TEXT_MAX];       /* what to do, who is affected */
	int n_labels;
	char label_key[ALERT_LABELS_MAX][24];    /* besides alertname and severity */
	char label_val[ALERT_LABELS_MAX][ALERT_LABEL_MAX];
} alert_spec_t;

typedef struct {
	int in_flight;
	int attempts;                    /* failures in a row of the current notice */
	int64_t next_try;                /* ms; 0 = now */
	int64_t last_sent;               /* last firing notice delivered, 0 = never */
	int resolved_sent;               /* the resolved notice went out (or was dropped) */
	int64_t last_error_at;
	char last_error[96];             /* never holds a URL or a secret */
} alert_dlv_t;

typedef struct {
	uint64_t id;                     /* grows with every new alert */
	char fingerprint[17];            /* 16 hex digits of name + sorted labels */
	uint64_t fp;                     /* the same as a number (the index's key) */
	alert_spec_t spec;
	int firing;
	int64_t starts_at, ends_at;      /* ends_at 0 while firing */
	int64_t last_seen;
	int seen;                        /* observed in the current round */
	alert_dlv_t dlv[ALERT_SINK__COUNT];
} alert_t;

typedef struct {
	unsigned sinks;                  /* bit (1 << kind) per configured sink */
	int64_t repeat_ms;               /* firing notices repeat after this */
	int64_t am_resend_ms;            /* Alertmanager is re-sent firing alerts this often */
	int64_t retry_base_ms, retry_max_ms;
	int retry_attempts;
	int keep_resolved;               /* resolved alerts kept for the API */
} alert_policy_t;

typedef struct {
	uint64_t sent[ALERT_SINK__COUNT];     /* notices delivered */
	uint64_t failed[ALERT_SINK__COUNT];   /* attempts that failed */
	uint64_t dropped[ALERT_SINK__COUNT];  /* notices given up after all retries */
} alert_stats_t;

/* A notice to send: which alert (by id, it may be gone by the time the
 * result comes), which sink, firing or resolved. */
typedef struct {
	uint64_t alert_id;
	alert_sink_kind_t sink;
	int resolved;
} alert_notice_t;

typedef struct alert_engine alert_engine_t;

int alert_engine_create(alert_engine_t **out, const alert_policy_t *p);
void alert_engine_destroy(alert_engine_t *e);

void alert_round_begin(alert_engine_t *e);
/* The condition of spec holds at now. Returns the alert (new or the one
 * with the same fingerprint), or NULL without memory. The pointer is valid
 * until the next call that changes the engine. */
const alert_t *alert_observe(alert_engine_t *e, const alert_spec_t *spec, int64_t now);
/* Resolves firing alerts not observed since alert_round_begin(); returns
 * how many. Forgets the oldest resolved ones beyond keep_resolved whose
 * notices are all done. */
int alert_round_end(alert_engine_t *e, int64_t now);

/* Fills up to max notices due at now and marks them in flight; returns
 * how many. */
int alert_due(alert_engine_t *e, int64_t now, alert_notice_t *out, int max);
/* The outcome of a notice from alert_due(). why (may be NULL) says what
 * failed. Returns the delay in ms before the next try after a failure
 * (0 on success, -1 when the notice was dropped or the alert is gone). */
int64_t alert_result(alert_engine_t *e, const alert_notice_t *n, int ok, const char *why, int64_t now);
/* Milliseconds until alert_due() would hand out something (0 = now,
 * -1 = nothing pending). */
int64_t alert_next_due(const alert_engine_t *e, int64_t now);

int alert_count(const alert_engine_t *e);
/* In order of id (oldest first). */
const alert_t *alert_at(const alert_engine_t *e, int i);
const alert_t *alert_find(const alert_engine_t *e, uint64_t id);
const alert_stats_t *alert_stats(const alert_engine_t *e);
const alert_policy_t *alert_policy(const alert_engine_t *e);

/* Pure helpers, public for tests. */
int64_t alert_backoff_ms(const alert_policy_t *p, int attempt);
/* 16 lower-case hex digits (FNV-1a 64) of name and labels, sorted by key. */
void alert_fingerprint(const alert_spec_t *spec, char out[17]);
/* Adds a label; silently ignores more than ALERT_LABELS_MAX. */
void alert_spec_label(alert_spec_t *spec, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "slack", "webhook", "email", "alertmanager". */
const char *alert_sink_name(alert_sink_kind_t k);

#endif
