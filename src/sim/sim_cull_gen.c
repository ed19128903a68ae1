/*
 * sim_cull_gen.c — a synthetic activity trace of notebook sessions that
 * sit idle most of their lifetime ("gpuhub sim gen-activity").
 *
 * Deterministic: one splitmix64 stream from the seed, drawn in a fixed
 * order, so the same parameters always give the same trace. The model
 * (every number below is documented in docs/sim.md):
 *
 *   session            | share | what happens
 *   -------------------+-------+-------------------------------------------
 *   interactive        | 70 %  | visits: the first at its start, then 0/1/2
 *                      |       | a day (20/50/30 %); 30-180 min of work
 *   training, no tab   | 15 %  | a 10-30 min visit starts a 4-24 h training,
 *                      |       | the tab is closed; one 10-30 min look back
 *                      |       | 0-12 h after it ended
 *   forgotten          | 15 %  | one 20-90 min visit, then nothing
 *
 * Lifetime: 1..max_days whole days (sessions are left running). GPUs: 1
 * (80 %), 2 (15 %), 4 (5 %). In a visit, cells run on the GPU for 10-240 s
 * with exponential gaps of mean 4 min; 15 % of visits hold a 20-50 min
 * stretch of editing without running anything. 25 % of interactive visits
 * end by starting a 1-6 h training. After a visit the tab stays open (and
 * keeps polling) until the next visit with probability 0.6 (0.5 for a
 * forgotten session).
 */
#include "sim/sim_cull.h"
#include "common/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

typedef struct {
	uint64_t x;
} rng_t;

static uint64_t next64(rng_t *r)
{
	uint64_t z = (r->x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double unif(rng_t *r) { return (next64(r) >> 11) * (1.0 / 9007199254740992.0); }
static int64_t between(rng_t *r, int64_t a, int64_t b) { return a + (int64_t)(unif(r) * (double)(b - a + 1)); }
static int64_t expo(rng_t *r, double mean) { return (int64_t)(-mean * log(1.0 - unif(r))) + 1; }

typedef struct {
	cull_iv_t *v;
	int n, cap;
} ivs_t;

static int add(ivs_t *l, int64_t s, int64_t e, int64_t dur)
{
	if (e > dur)
		e = dur;
	if (s >= e)
		return 0;
	if (l->n == l->cap) {
		cull_iv_t *nv = realloc(l->v, (size_t)(l->cap = l->cap ? l->cap * 2 : 16) * sizeof(*nv));
		if (!nv)
			return GH_ENOMEM;
		l->v = nv;
	}
	l->v[l->n].s = s;
	l->v[l->n].e = e;
	l->n++;
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const cull_iv_t *x = a, *y = b;
	return x->s < y->s ? -1 : x->s > y->s;
}

/* Sorts and merges overlapping or touching intervals. */
static void normalize(ivs_t *l)
{
	int k = 0;
	if (l->n == 0)
		return;
	qsort(l->v, (size_t)l->n, sizeof(*l->v), by_start);
	for (int i = 1; i < l->n; i++) {
		if (l->v[i].s <= l->v[k].e) {
			if (l->v[i].e > l->v[k].e)
				l->v[k].e = l->v[i].e;
		} else {
			l->v[++k] = l->v[i];
		}
	}
	l->n = k + 1;
}

typedef struct {
	ivs_t active, busy, tab;
	int64_t dur;
	int64_t tab_open_since;          /* -1 = closed */
} build_t;

/* One visit [vs, vs+len): work, cells, maybe an editing stretch. Returns
 * its end. */
static int64_t visit(rng_t *r, build_t *b, int64_t vs, int64_t len)
{
	int64_t ve = vs + len, t, ed_s = -1, ed_e = -1;

	if (b->tab_open_since >= 0) {
		add(&b->tab, b->tab_open_since, vs, b->dur);
		b->tab_open_since = -1;
	}
	add(&b->active, vs, ve, b->dur);
	add(&b->tab, vs, ve, b->dur);
	if (unif(r) < 0.15) {
		int64_t ed = between(r, 20 * 60, 50 * 60);
		ed_s = vs + between(r, 0, len > ed ? len - ed : 0);
		ed_e = ed_s + ed;
	}
	for (t = vs + expo(r, 240); t < ve;) {
		int64_t c = between(r, 10, 240);
		if (t >= ed_s && t < ed_e) {
			t = ed_e;
			continue;
		}
		add(&b->busy, t, t + c < ve ? t + c : ve, b->dur);
		t += c + expo(r, 240);
	}
	return ve;
}

static void leave(rng_t *r, build_t *b, int64_t ve, double p_tab)
{
	if (unif(r) < p_tab)
		b->tab_open_since = ve;
}

static void interactive(rng_t *r, build_t *b, int days)
{
	int64_t last_end = 0;
	for (int d = 0; d < days; d++) {
		int nv = d == 0 ? 1 : 0;
		double u = unif(r);
		if (d > 0)
			nv = u < 0.2 ? 0 : u < 0.7 ? 1 : 2;
		for (int k = 0; k < nv; k++) {
			int64_t vs = d == 0 && k == 0 ? 0
			                              : (int64_t)d * DAY + (k == 0 ? between(r, 9 * 3600, 17 * 3600)
			                                                           : between(r, 13 * 3600, 19 * 3600));
			int64_t len = between(r, 30 * 60, 180 * 60), ve;
			if (vs < last_end || vs >= b->dur)
				continue;
			ve = visit(r, b, vs, len);
			if (unif(r) < 0.25)
				add(&b->busy, ve, ve + between(r, 3600, 6 * 3600), b->dur);
			leave(r, b, ve, 0.6);
			last_end = ve;
		}
	}
}

static void training(rng_t *r, build_t *b)
{
	int64_t ve = visit(r, b, 0, between(r, 10 * 60, 30 * 60));
	int64_t te = ve + between(r, 4 * 3600, 24 * 3600);
	add(&b->busy, ve, te, b->dur);
	ve = visit(r, b, te + between(r, 0, 12 * 3600), between(r, 10 * 60, 30 * 60));
	(void)ve;
}

static void forgotten(rng_t *r, build_t *b)
{
	int64_t ve = visit(r, b, 0, between(r, 20 * 60, 90 * 60));
	leave(r, b, ve, 0.5);
}

void cull_gen_defaults(cull_gen_params_t *g)
{
	g->sessions = 200;
	g->seed = 1;
	g->max_days = 7;
}

int cull_generate(const cull_gen_params_t *g, cull_trace_t *t)
{
	rng_t r = {g->seed};

	memset(t, 0, sizeof(*t));
	if (!(t->s = calloc((size_t)(g->sessions > 0 ? g->sessions : 1), sizeof(*t->s))))
		return GH_ENOMEM;
	t->cap = g->sessions;
	for (int i = 0; i < g->sessions; i++) {
		cull_sess_t *s = &t->s[i];
		build_t b = {.tab_open_since = -1};
		double u = unif(&r), kind = unif(&r);
		int days = (int)between(&r, 1, g->max_days > 0 ? g->max_days : 1);

		s->id = i + 1;
		s->gpus = u < 0.80 ? 1 : u < 0.95 ? 2 : 4;
		s->start_s = between(&r, 0, 7 * DAY);
		s->dur_s = b.dur = (int64_t)days * DAY;
		if (kind < 0.70)
			interactive(&r, &b, days);
		else if (kind < 0.85)
			training(&r, &b);
		else
			forgotten(&r, &b);
		if (b.tab_open_since >= 0)
			add(&b.tab, b.tab_open_since, b.dur, b.dur);
		normalize(&b.active);
		normalize(&b.busy);
		normalize(&b.tab);
		s->active = b.active.v;
		s->nactive = b.active.n;
		s->busy = b.busy.v;
		s->nbusy = b.busy.n;
		s->tab = b.tab.v;
		s->ntab = b.tab.n;
		t->n++;
	}
	return 0;
}
