/*
 * sim_cull.c — the culling replay of one session (see sim_cull.h).
 *
 * The clock jumps between the moments anything can change: an interval
 * of `active`, `busy` or `tab` starts or ends, or the culler looks (every
 * check_s from the session's start). Between two such moments every
 * signal is constant, so GPU-hours are exact sums of segment lengths.
 *
 * At each moment, in this order:
 *   1. a suspended session whose user is active resumes (GPUs back);
 *   2. at a check, the policy may suspend it: idle for the policy =
 *      now − the end of the last segment in which a signal it sees was on;
 *   3. the segment up to the next moment is accounted: held & busy →
 *      served, held & ¬busy → idle, ¬held & busy → lost (killed work).
 *
 * Worked example (proxy: timeout 600 s, checks every 300 s). A session
 * of 3600 s, GPUs 1, active [0,300), tab never, busy [300,2400) — a
 * training started as the user left. Idle since 300 (the last proxied
 * request); the check at 900 sees 600 s → suspend. busy is on at 900:
 * a wrong suspension; [900,2400) is lost work (1500 s = 0.42 GPU-h);
 * held [0,900) = 0.25 GPU-h, of which [300,900) busy. Under gpuhub the
 * GPU rule sees busy until 2400 and fires at 4200 > 3600: never; held
 * 1 GPU-h, idle [2400,3600) = 0.33 GPU-h, nothing lost.
 */
#include "sim/sim_cull.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[CULL__COUNT] = {"none", "kernel", "proxy", "gpuhub"};

const char *cull_policy_name(cull_policy_t p) { return p >= 0 && p < CULL__COUNT ? names[p] : "?"; }

int cull_policy_parse(const char *s, cull_policy_t *p)
{
	for (int i = 0; i < CULL__COUNT; i++) {
		if (strcmp(s, names[i]) == 0) {
			*p = (cull_policy_t)i;
			return 0;
		}
	}
	return GH_EINVAL;
}

void cull_defaults(cull_policy_t p, cull_params_t *o)
{
	memset(o, 0, sizeof(*o));
	o->policy = p;
	switch (p) {
	case CULL_KERNEL: /* Kubeflow: CULL_IDLE_TIME 1440 min, IDLENESS_CHECK_PERIOD 1 min */
		o->timeout_s = 1440 * 60;
		o->check_s = 60;
		break;
	case CULL_PROXY: /* jupyterhub-idle-culler: --timeout 600, --cull-every timeout/2 */
		o->timeout_s = 600;
		o->check_s = 300;
		break;
	case CULL_GPUHUB: /* the hub: idle.gpu_idle_s, idle.full_idle_s, idle.poll_interval_s */
		o->timeout_s = 1800;
		o->full_timeout_s = 3600;
		o->check_s = 10;
		break;
	default:
		o->check_s = 3600;
		break;
	}
}

/* Cursor over one interval list. */
typedef struct {
	const cull_iv_t *v;
	int n, i;
} cur_t;

/* Is t inside an interval (advancing past those that ended)? */
static int on_at(cur_t *c, int64_t t)
{
	while (c->i < c->n && c->v[c->i].e <= t)
		c->i++;
	return c->i < c->n && c->v[c->i].s <= t;
}

/* The next start or end after t (INT64_MAX when none). */
static int64_t next_edge(const cur_t *c, int64_t t)
{
	if (c->i >= c->n)
		return INT64_MAX;
	return c->v[c->i].s > t ? c->v[c->i].s : c->v[c->i].e;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

void cull_replay_session(const cull_params_t *par, const cull_sess_t *s, cull_result_t *res)
{
	cur_t ca = {s->active, s->nactive, 0}, cb = {s->busy, s->nbusy, 0}, ct = {s->tab, s->ntab, 0};
	int64_t t = 0, since = 0, last_sig = 0, last_busy = 0, last_full = 0;
	int held = 1, susp = 0;
	double g = s->gpus / 3600.0;

	while (t < s->dur_s) {
		int A = on_at(&ca, t), B = on_at(&cb, t), T = on_at(&ct, t);
		int64_t next, seg;

		if (susp && A) {
			susp = 0;
			held = 1;
			since = t;
			res->resumes++;
		}
		if (par->policy != CULL_NONE && !susp && t % par->check_s == 0) {
			int cut = 0;
			switch (par->policy) {
			case CULL_KERNEL:
				cut = !(A || B || T) && t - last_sig >= par->timeout_s;
				break;
			case CULL_PROXY:
				cut = !(A || T) && t - last_sig >= par->timeout_s;
				break;
			case CULL_GPUHUB:
				cut = (par->timeout_s > 0 && held && !B && t - max64(last_busy, since) >= par->timeout_s) ||
				      (par->full_timeout_s > 0 && !(A || B) &&
				       t - max64(last_full, since) >= par->full_timeout_s);
				break;
			default:
				break;
			}
			if (cut) {
				susp = 1;
				held = 0;
				res->suspensions++;
				if (A || B)
					res->wrong++;
			}
		}
		next = min64(s->dur_s, min64(next_edge(&ca, t), min64(next_edge(&cb, t), next_edge(&ct, t))));
		if (par->policy != CULL_NONE)
			next = min64(next, (t / par->check_s + 1) * par->check_s);
		seg = next - t;
		if (held) {
			res->alloc_gpu_h += seg * g;
			if (B)
				res->busy_gpu_h += seg * g;
			else
				res->idle_gpu_h += seg * g;
		} else if (B) {
			res->lost_gpu_h += seg * g;
		}
		if (par->policy == CULL_PROXY ? (A || T) : (A || B || T))
			last_sig = next;
		if (B)
			last_busy = next;
		if (A || B)
			last_full = next;
		t = next;
	}
}

void cull_replay(const cull_params_t *par, const cull_trace_t *t, cull_result_t *res)
{
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < t->n; i++)
		cull_replay_session(par, &t->s[i], res);
}

int cull_parse_ivs(const char *text, int64_t dur_s, cull_iv_t **out, int *n)
{
	cull_iv_t *v = NULL;
	int cap = 0, k = 0;
	const char *p = text;
	int64_t prev_e = 0;

	*out = NULL;
	*n = 0;
	while (*p) {
		char *end;
		long long s = strtoll(p, &end, 10), e;
		if (end == p || *end != '-' || s < 0)
			goto bad;
		p = end + 1;
		e = strtoll(p, &end, 10);
		if (end == p || e <= s || e > dur_s || s < prev_e)
			goto bad;
		p = end;
		if (*p == ';')
			p++;
		else if (*p)
			goto bad;
		if (k == cap) {
			cull_iv_t *nv = realloc(v, (size_t)(cap = cap ? cap * 2 : 8) * sizeof(*v));
			if (!nv)
				goto bad;
			v = nv;
		}
		v[k].s = s;
		v[k].e = e;
		prev_e = e;
		k++;
	}
	*out = v;
	*n = k;
	return 0;
bad:
	free(v);
	return GH_EINVAL;
}

void cull_trace_free(cull_trace_t *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->s[i].active);
		free(t->s[i].busy);
		free(t->s[i].tab);
	}
	free(t->s);
	memset(t, 0, sizeof(*t));
}
