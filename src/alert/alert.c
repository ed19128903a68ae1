/*
 * alert.c — see alert.h. The alerts live in one array ordered by id (new
 * alerts are appended; forgetting one shifts the tail), so listing them is
 * in order of first firing and lookup by id is a binary search. Lookup by
 * fingerprint goes through an open-addressing hash index of positions
 * (linear probing, at most half full), rebuilt after a removal shifts the
 * array; bench/alert_bench.c measures a round of 1000 alerts.
 *
 * Worked example of one alert and the Slack sink, with repeat_ms = 4 h,
 * retry_base_ms = 1 s, retry_max_ms = 5 min, retry_attempts = 8:
 *
 *   t        what happens                          slack delivery state
 *   10:00:00 XID on GPU 2: observed, new alert     firing due (never sent)
 *   10:00:00 alert_due → in flight; 502 answer     attempts 1, next 10:00:01
 *   10:00:01 due again → 200                       last_sent 10:00:01
 *   10:00:05 observed again (same fingerprint)     nothing due (dedup)
 *   14:00:01 4 h since last_sent                   firing due (repeat)
 *   14:10:00 admin lifts quarantine: not observed  resolved due → 200, done
 */
#include "alert/alert.h"
#include "common/err.h"
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alert_engine {
	alert_policy_t pol;
	alert_t *a;                      /* owned; ordered by id */
	int n, cap;
	int *slot;                       /* owned; position + 1 in a, 0 = empty */
	int nslot;                       /* a power of two >= 2 n, or 0 */
	int index_stale;                 /* a removal shifted positions */
	uint64_t next_id;
	alert_stats_t stats;
};

static const char *const sink_names[ALERT_SINK__COUNT] = { "slack", "webhook", "email", "alertmanager" };

const char *alert_sink_name(alert_sink_kind_t k)
{
	return k >= 0 && k < ALERT_SINK__COUNT ? sink_names[k] : "unknown";
}

int alert_engine_create(alert_engine_t **out, const alert_policy_t *p)
{
	alert_engine_t *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (!e)
		return GH_ENOMEM;
	e->pol = *p;
	if (e->pol.retry_attempts < 1)
		e->pol.retry_attempts = 1;
	if (e->pol.retry_base_ms < 1)
		e->pol.retry_base_ms = 1;
	if (e->pol.retry_max_ms < e->pol.retry_base_ms)
		e->pol.retry_max_ms = e->pol.retry_base_ms;
	if (e->pol.keep_resolved < 0)
		e->pol.keep_resolved = 0;
	e->next_id = 1;
	*out = e;
	return 0;
}

void alert_engine_destroy(alert_engine_t *e)
{
	if (!e)
		return;
	free(e->a);
	free(e->slot);
	free(e);
}

int64_t alert_backoff_ms(const alert_policy_t *p, int attempt)
{
	int64_t d = p->retry_base_ms;

	for (int i = 1; i < attempt && d < p->retry_max_ms; i++)
		d *= 2;
	return d < p->retry_max_ms ? d : p->retry_max_ms;
}

static void fnv(uint64_t *h, const char *s)
{
	for (; *s; s++) {
		*h ^= (unsigned char)*s;
		*h *= 1099511628211ULL;
	}
	*h ^= 0xff; /* field separator: "ab","c" differs from "a","bc" */
	*h *= 1099511628211ULL;
}

static uint64_t fingerprint64(const alert_spec_t *spec)
{
	uint64_t h = 14695981039346656037ULL;
	int order[ALERT_LABELS_MAX], n = spec->n_labels, i, j;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 1; i < n; i++) /* insertion sort by key: at most six labels */
		for (j = i; j > 0 && strcmp(spec->label_key[order[j - 1]], spec->label_key[order[j]]) > 0; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	fnv(&h, spec->name);
	for (i = 0; i < n; i++) {
		fnv(&h, spec->label_key[order[i]]);
		fnv(&h, spec->label_val[order[i]]);
	}
	return h;
}

void alert_fingerprint(const alert_spec_t *spec, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)fingerprint64(spec));
}

void alert_spec_label(alert_spec_t *spec, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (spec->n_labels >= ALERT_LABELS_MAX)
		return;
	gh_strlcpy(spec->label_key[spec->n_labels], key, sizeof(spec->label_key[0]));
	va_start(ap, fmt);
	vsnprintf(spec->label_val[spec->n_labels], sizeof(spec->label_val[0]), fmt, ap);
	va_end(ap);
	spec->n_labels++;
}

static void index_put(alert_engine_t *e, int pos)
{
	unsigned mask = (unsigned)e->nslot - 1, h = (unsigned)(e->a[pos].fp ^ (e->a[pos].fp >> 32)) & mask;
	while (e->slot[h])
		h = (h + 1) & mask;
	e->slot[h] = pos + 1;
}

/* Rebuilds the index for at least `want` alerts; GH_ENOMEM leaves it stale. */
static int index_rebuild(alert_engine_t *e, int want)
{
	int n = 16, *s;

	while (n < 2 * want)
		n *= 2;
	if (n != e->nslot) {
		if (!(s = calloc((size_t)n, sizeof(*s))))
			return GH_ENOMEM;
		free(e->slot);
		e->slot = s;
		e->nslot = n;
	} else {
		memset(e->slot, 0, (size_t)n * sizeof(*e->slot));
	}
	for (int i = 0; i < e->n; i++)
		index_put(e, i);
	e->index_stale = 0;
	return 0;
}

static alert_t *find_fp(alert_engine_t *e, uint64_t fp)
{
	unsigned mask, h;

	if (e->index_stale || e->nslot < 2 * e->n) {
		if (index_rebuild(e, e->n) != 0) { /* no memory: look the slow way */
			for (int i = 0; i < e->n; i++)
				if (e->a[i].fp == fp)
					return &e->a[i];
			return NULL;
		}
	}
	if (!e->nslot)
		return NULL;
	mask = (unsigned)e->nslot - 1;
	for (h = (unsigned)(fp ^ (fp >> 32)) & mask; e->slot[h]; h = (h + 1) & mask)
		if (e->a[e->slot[h] - 1].fp == fp)
			return &e->a[e->slot[h] - 1];
	return NULL;
}

const alert_t *alert_find(const alert_engine_t *e, uint64_t id)
{
	int lo = 0, hi = e->n - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (e->a[mid].id == id)
			return &e->a[mid];
		if (e->a[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static void remove_at(alert_engine_t *e, int i)
{
	memmove(&e->a[i], &e->a[i + 1], (size_t)(e->n - i - 1) * sizeof(e->a[0]));
	e->n--;
	e->index_stale = 1;
}

void alert_round_begin(alert_engine_t *e)
{
	for (int i = 0; i < e->n; i++)
		e->a[i].seen = 0;
}

const alert_t *alert_observe(alert_engine_t *e, const alert_spec_t *spec, int64_t now)
{
	uint64_t fp = fingerprint64(spec);
	alert_t *a;

	a = find_fp(e, fp);
	if (a && !a->firing) {
		/* the condition came back: a fresh alert under the same
		 * fingerprint, unless a notice about the old one is in flight */
		int busy = 0;
		for (int k = 0; k < ALERT_SINK__COUNT; k++)
			busy |= a->dlv[k].in_flight;
		if (!busy) {
			remove_at(e, (int)(a - e->a));
			a = NULL;
		}
	}
	if (!a) {
		if (e->n == e->cap) {
			int cap = e->cap ? e->cap * 2 : 16;
			alert_t *na = realloc(e->a, (size_t)cap * sizeof(*na));
			if (!na)
				return NULL;
			e->a = na;
			e->cap = cap;
		}
		a = &e->a[e->n++];
		memset(a, 0, sizeof(*a));
		a->id = e->next_id++;
		a->fp = fp;
		snprintf(a->fingerprint, sizeof(a->fingerprint), "%016llx", (unsigned long long)fp);
		a->starts_at = now;
		if (!e->index_stale && e->nslot >= 2 * e->n)
			index_put(e, e->n - 1);
		else
			e->index_stale = 1; /* rebuilt, larger, at the next lookup */
	}
	a->spec = *spec; /* summary and description may change (counts, times) */
	a->firing = 1;
	a->ends_at = 0;
	a->seen = 1;
	a->last_seen = now;
	return a;
}

static int notices_done(const alert_engine_t *e, const alert_t *a)
{
	for (int k = 0; k < ALERT_SINK__COUNT; k++) {
		const alert_dlv_t *d = &a->dlv[k];
		if (!(e->pol.sinks & (1u << k)))
			continue;
		if (d->in_flight || (d->last_sent && !d->resolved_sent))
			return 0;
	}
	return 1;
}

int alert_round_end(alert_engine_t *e, int64_t now)
{
	int i, resolved = 0, n_resolved = 0;

	for (i = 0; i < e->n; i++) {
		alert_t *a = &e->a[i];
		if (a->firing && !a->seen) {
			a->firing = 0;
			a->ends_at = now;
			for (int k = 0; k < ALERT_SINK__COUNT; k++) {
				/* a retry of the firing notice is moot now */
				if (!a->dlv[k].in_flight) {
					a->dlv[k].attempts = 0;
					a->dlv[k].next_try = 0;
				}
			}
			resolved++;
		}
		if (!a->firing)
			n_resolved++;
	}
	/* forget the oldest resolved alerts beyond what the API shows */
	for (i = 0; i < e->n && n_resolved > e->pol.keep_resolved;) {
		if (!e->a[i].firing && notices_done(e, &e->a[i])) {
			remove_at(e, i);
			n_resolved--;
		} else {
			i++;
		}
	}
	return resolved;
}

/* Whether sink k owes a notice about a at now; *resolved says which. */
static int owed(const alert_engine_t *e, const alert_t *a, int k, int64_t now, int *resolved, int64_t *when)
{
	const alert_dlv_t *d = &a->dlv[k];
	int64_t repeat = k == ALERT_SINK_ALERTMANAGER && e->pol.am_resend_ms > 0 &&
	                 e->pol.am_resend_ms < e->pol.repeat_ms ? e->pol.am_resend_ms : e->pol.repeat_ms;
	int64_t t;

	if (!(e->pol.sinks & (1u << k)) || d->in_flight)
		return 0;
	if (a->firing) {
		*resolved = 0;
		t = d->last_sent ? d->last_sent + repeat : 0;
	} else {
		if (!d->last_sent || d->resolved_sent)
			return 0;
		*resolved = 1;
		t = 0;
	}
	if (d->next_try > t)
		t = d->next_try;
	*when = t;
	(void)now;
	return 1;
}

int alert_due(alert_engine_t *e, int64_t now, alert_notice_t *out, int max)
{
	int n = 0;

	for (int i = 0; i < e->n && n < max; i++) {
		alert_t *a = &e->a[i];
		for (int k = 0; k < ALERT_SINK__COUNT && n < max; k++) {
			int resolved;
			int64_t when;
			if (!owed(e, a, k, now, &resolved, &when) || when > now)
				continue;
			a->dlv[k].in_flight = 1;
			out[n].alert_id = a->id;
			out[n].sink = (alert_sink_kind_t)k;
			out[n].resolved = resolved;
			n++;
		}
	}
	return n;
}

int64_t alert_next_due(const alert_engine_t *e, int64_t now)
{
	int64_t best = -1;

	for (int i = 0; i < e->n; i++) {
		for (int k = 0; k < ALERT_SINK__COUNT; k++) {
			int resolved;
			int64_t when, d;
			if (!owed(e, &e->a[i], k, now, &resolved, &when))
				continue;
			d = when > now ? when - now : 0;
			if (best < 0 || d < best)
				best = d;
		}
	}
	return best;
}

int64_t alert_result(alert_engine_t *e, const alert_notice_t *n, int ok, const char *why, int64_t now)
{
	alert_t *a = (alert_t *)alert_find(e, n->alert_id);
	alert_dlv_t *d;
	int k = n->sink;
	int64_t delay;

	if (k < 0 || k >= ALERT_SINK__COUNT)
		return -1;
	if (ok)
		e->stats.sent[k]++;
	else
		e->stats.failed[k]++;
	if (!a)
		return -1;
	d = &a->dlv[k];
	d->in_flight = 0;
	if (ok) {
		d->attempts = 0;
		d->next_try = 0;
		if (n->resolved)
			d->resolved_sent = 1;
		else
			d->last_sent = now;
		return 0;
	}
	d->last_error_at = now;
	gh_strlcpy(d->last_error, why ? why : "failed", sizeof(d->last_error));
	d->attempts++;
	if (d->attempts >= e->pol.retry_attempts) {
		e->stats.dropped[k]++;
		d->attempts = 0;
		if (n->resolved) {
			d->resolved_sent = 1;
			d->next_try = 0;
		} else {
			/* try the firing notice again at the next repeat */
			d->next_try = now + e->pol.repeat_ms;
		}
		return -1;
	}
	delay = alert_backoff_ms(&e->pol, d->attempts);
	d->next_try = now + delay;
	return delay;
}

int alert_count(const alert_engine_t *e) { return e->n; }
const alert_t *alert_at(const alert_engine_t *e, int i) { return i >= 0 && i < e->n ? &e->a[i] : NULL; }
const alert_stats_t *alert_stats(const alert_engine_t *e) { return &e->stats; }
const alert_policy_t *alert_policy(const alert_engine_t *e) { return &e->pol; }
