/*
 * sched.c — one scheduling pass: order, quota, place, preempt, reserve,
 * and say why everyone else waits.
 *
 * The pass works on copies of the cluster ("views") so that it can try
 * placements without touching the caller's data:
 *
 *   view  | what it shows                              | who places on it
 *   ------+--------------------------------------------+------------------------
 *   base  | the input, untouched                       | nobody ("could it ever fit?")
 *   cur   | free capacity now, minus what this pass    | backfill candidates, and
 *         | decided                                    | everyone while no reservation
 *   nores | cur with the reserved GPUs disabled        | everyone else
 *   rel   | cur as if sessions already suspending or   | "wait for the release"
 *         | stopping were gone                         | checks only
 *
 * A GPU promised to a request that waits for a preemption or a release is
 * "frozen" (disabled in every view) until the next pass, so nobody else
 * takes it meanwhile. Capacity in a view only shrinks during a pass, so a
 * request shape that did not fit stays a misfit: each view remembers its
 * misfits and skips later requests that ask for as much or more (this is
 * what keeps a 100,000-request pass in tens of milliseconds).
 *
 * Phases, in queue order (see fairshare.c for the order):
 *   A. requests within quota: place; else wait for a release; else preempt;
 *      else, for the first large request, reserve GPUs;
 *   B. requests over GPU quota that may borrow: place on what is left,
 *      never preempting and never on reserved GPUs unless they backfill;
 *   C. ETAs and positions for everyone left (eta.c).
 *
 * Worked example (2 nodes of 2 GPUs, n1 busy with a until 10:30, n2 free;
 * queue in order: x 2 GPUs gang, y 1 GPU batch 20 min, z 1 GPU interactive;
 * now 10:00): x fits n2 and is admitted. y and z do not fit (n1 holds a):
 * y waits ("no node with 1 free GPU — expected in about 30 min"), z too,
 * 30 min, positions 1 and 2. Had x asked for 4 GPUs on a node of 4 that a
 * occupies, x would hold a reservation from 10:30 and y (ends by 10:20)
 * could backfill a free GPU of that node while z could not.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sched/sched_int.h"

/* ---- small helpers ---- */

int sched_grow(void **p, int *cap, int need, size_t size)
{
	if (need <= *cap && *p)
		return 0;   /* never NULL after a grow, even for 0 elements */
	int nc = *cap ? *cap : 16;

	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, (size_t)nc * size);

	if (!np)
		return GH_ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

#define GROW SCHED_GROW

static int cls_ok(const sched_policy_t *p, int cls)
{
	return cls >= 0 && cls < p->nclasses;
}

/* ---- policy and request defaults ---- */

void sched_policy_default(sched_policy_t *p)
{
	static const sched_class_t cls[] = {
		{ "low", 0, 1 }, { "normal", 100, 1 }, { "high", 200, 0 },
	};
	sched_limit_t unl = { SCHED_UNLIMITED, SCHED_UNLIMITED, SCHED_UNLIMITED, -1.0, 1.0 };

	memset(p, 0, sizeof *p);
	p->nclasses = 3;
	memcpy(p->classes, cls, sizeof cls);
	p->default_class = 1;
	p->user_default = unl;
	p->group_default = unl;
	p->window_ms = 7LL * 86400 * 1000;
	p->half_life_ms = 7LL * 86400 * 1000;
	p->fairshare_weight = 50.0;
	p->pending_charge_s = 3600.0;
	p->aging_per_hour = 4.0;
	p->borrowing = 1;
	p->preempt = 1;
	p->preempt_tries = 64;
	p->reserve_min_gpus = 2;
	p->reservations = 1;
	p->plan_depth = 64;
	p->release_ms = 60 * 1000;
	p->placement = PLACE_GPUHUB;
	p->workload = NULL;
	p->seed = 42;
}

int sched_policy_class(const sched_policy_t *p, const char *name, int *cls)
{
	for (int i = 0; i < p->nclasses; i++)
		if (strcmp(p->classes[i].name, name) == 0) {
			*cls = i;
			return 0;
		}
	return GH_ENOTFOUND;
}

static int limit_ok(const sched_limit_t *l)
{
	return l->share > 0 && l->gpu_milli >= -1 && l->gpu_milli_max >= -1 && l->sessions >= -1;
}

int sched_policy_check(const sched_policy_t *p)
{
	if (!p || p->nclasses < 1 || p->nclasses > SCHED_CLASSES_MAX ||
	    !cls_ok(p, p->default_class))
		return GH_EINVAL;
	if (!limit_ok(&p->user_default) || !limit_ok(&p->group_default))
		return GH_EINVAL;
	if (p->nuser_limits < 0 || p->ngroup_limits < 0 || (p->nuser_limits && !p->user_limits) ||
	    (p->ngroup_limits && !p->group_limits))
		return GH_EINVAL;
	for (int i = 0; i < p->nuser_limits; i++)
		if (!limit_ok(&p->user_limits[i].limit))
			return GH_EINVAL;
	for (int i = 0; i < p->ngroup_limits; i++)
		if (!limit_ok(&p->group_limits[i].limit))
			return GH_EINVAL;
	if (p->window_ms < 0 || p->half_life_ms < 0 || p->fairshare_weight < 0 ||
	    p->pending_charge_s < 0 || p->aging_per_hour < 0 || p->preempt_tries < 0 ||
	    p->reservations < 0 || p->plan_depth < 0 || p->release_ms < 0)
		return GH_EINVAL;
	if ((int)p->placement < 0 || p->placement >= PLACE__COUNT)
		return GH_EINVAL;
	return 0;
}

void sched_req_init(sched_req_t *r)
{
	memset(r, 0, sizeof *r);
	r->cls = 1;
	r->kind = SCHED_INTERACTIVE;
	r->shape.num_gpu = 1;
	r->shape.gpu_milli = PLACE_MILLI;
}

int sched_req_set_gpu_milli(sched_req_t *r, int total)
{
	if (total < 0 || (total > PLACE_MILLI && total % PLACE_MILLI))
		return GH_EINVAL;
	if (total == 0) {
		r->shape.num_gpu = 0;
		r->shape.gpu_milli = 0;
	} else if (total < PLACE_MILLI) {
		r->shape.num_gpu = 1;
		r->shape.gpu_milli = total;
	} else {
		r->shape.num_gpu = total / PLACE_MILLI;
		r->shape.gpu_milli = PLACE_MILLI;
		r->shape.gang = 1;
	}
	return 0;
}

static void slots_to_result(const place_slot_t *sl, int n, place_result_t *res)
{
	res->nslots = n;
	if (n > 0)
		memcpy(res->slots, sl, (size_t)n * sizeof *sl);
}

int sched_cluster_take_running(place_cluster_t *c, const sched_running_t *run, int n)
{
	place_result_t *res = malloc(sizeof *res);
	int i, rc = 0;

	if (!res)
		return GH_ENOMEM;
	for (i = 0; i < n; i++) {
		if (run[i].nslots < 0 || run[i].nslots > PLACE_REQ_SLOTS_MAX ||
		    (run[i].nslots && !run[i].slots)) {
			rc = GH_EINVAL;
			break;
		}
		slots_to_result(run[i].slots, run[i].nslots, res);
		if ((rc = place_apply(c, res)))
			break;
	}
	/* on failure give back what was taken (run[0..i)), so the cluster
	 * is unchanged */
	for (int k = rc ? i - 1 : -1; k >= 0; k--) {
		slots_to_result(run[k].slots, run[k].nslots, res);
		place_release(c, res);
	}
	free(res);
	return rc;
}

/* ---- lifecycle ---- */

int sched_create(sched_t **out)
{
	sched_t *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s)
		return GH_ENOMEM;
	*out = s;
	return 0;
}

static void view_free(sched_view_t *v)
{
	free(v->c.nodes);
	memset(v, 0, sizeof *v);
}

void sched_destroy(sched_t *s)
{
	if (!s)
		return;
	for (int i = 0; i < SCHED_V__COUNT; i++) {
		place_cache_destroy(s->v[i].cache);
		view_free(&s->v[i]);
	}
	sched_etab_free(&s->users);
	sched_etab_free(&s->groups);
	free(s->ulim);
	free(s->glim);
	free(s->node_off);
	free(s->frozen);
	free(s->reserved);
	free(s->ord);
	free(s->ordtmp);
	free(s->rank);
	free(s->rsort);
	free(s->qdec);
	free(s->qw);
	free(s->qhot);
	free(s->rborrowed);
	free(s->rvictim);
	free(s->admits);
	free(s->admoff);
	free(s->admend);
	free(s->gnode);
	free(s->uends);
	free(s->uoff);
	free(s->goff);
	free(s->gends);
	free(s->slots);
	free(s->preempts);
	free(s->waits);
	free(s->claims);
	free(s->holds);
	free(s->ghead);
	free(s->gfree);
	free(s->rel_t);
	free(s->rel_cum);
	free(s->wkeys);
	free(s->wcum);
	free(s->arr);
	free(s->ebuf);
	for (int i = 0; i < SCHED_CLASSES_MAX; i++)
		free(s->vlist[i].v);
	free(s->res);
	free(s);
}

/* ---- views ---- */

/* Copies src into view v, reusing v's node array. */
int sched_view_load(sched_view_t *v, const place_cluster_t *src)
{
	if (v->c.cap < src->nnodes || !v->c.nodes) {
		int nc = src->nnodes > 0 ? src->nnodes : 1;
		place_node_t *nn = realloc(v->c.nodes, (size_t)nc * sizeof *nn);

		if (!nn)
			return GH_ENOMEM;
		v->c.nodes = nn;
		v->c.cap = nc;
	}
	place_node_t *keep = v->c.nodes;
	int cap = v->c.cap;

	v->c = *src;
	v->c.nodes = keep;
	v->c.cap = cap;
	if (src->nnodes)
		memcpy(v->c.nodes, src->nodes, (size_t)src->nnodes * sizeof *keep);
	place_cache_totals_changed(v->cache);
	v->live = 1;
	v->nmiss = 0;
	v->miss_next = 0;
	return 0;
}

int sched_view_cache(sched_t *s, sched_view_t *v)
{
	if (v->cache && v->cache_nodes >= v->c.nnodes && v->cache_pol == s->pol.placement &&
	    v->cache_w == s->pol.workload)
		return 0;
	place_cache_destroy(v->cache);
	v->cache = NULL;
	int rc = place_cache_create(v->c.nnodes, &v->cache);

	if (rc)
		return rc;
	v->cache_nodes = v->c.nnodes;
	v->cache_pol = s->pol.placement;
	v->cache_w = s->pol.workload;
	return 0;
}

static int dominates(const sched_miss_t *m, const sched_shape_t *r, const place_request_t *req)
{
	const sched_shape_t *a = &m->sh;

	return r->num_gpu >= a->num_gpu && r->gpu_milli >= a->gpu_milli &&
	       r->gpu_mem >= a->gpu_mem && (r->mask & ~a->mask) == 0 && r->gang >= a->gang &&
	       r->has_mig == a->has_mig &&
	       (!a->has_mig || strcmp(req->mig_profile, m->mig) == 0);
}

/* Is r known not to fit view v? A hit moves one step towards the front,
 * so the shapes that catch most requests are checked first. */
static int miss_hit(sched_view_t *v, const sched_shape_t *r, const place_request_t *req)
{
	if (r->num_gpu <= 0)
		return 0;
	for (int i = 0; i < v->nmiss; i++) {
		const sched_miss_t *m = &v->miss[i];

		if (!dominates(m, r, req))
			continue;
		if (m->gpu_only || (r->cpu >= m->sh.cpu && r->mem >= m->sh.mem)) {
			if (i > 0) {
				sched_miss_t t = v->miss[i - 1];

				v->miss[i - 1] = v->miss[i];
				v->miss[i] = t;
			}
			return 1;
		}
	}
	return 0;
}

static void miss_add(sched_view_t *v, const sched_shape_t *r, const place_request_t *req,
		     const place_reject_t *rej)
{
	if (r->num_gpu <= 0)
		return;
	sched_miss_t *m = v->nmiss < SCHED_MISS_MAX ? &v->miss[v->nmiss++]
						    : &v->miss[v->miss_next++ % SCHED_MISS_MAX];

	memset(m, 0, sizeof *m);
	m->sh = *r;
	/* No node was turned down for host CPU or memory first: the GPUs
	 * alone make it a misfit, whatever CPU and memory a request asks. */
	m->gpu_only = rej->cpu == 0 && rej->memory == 0;
	memcpy(m->mig, req->mig_profile, sizeof m->mig);
}

int sched_view_fits(sched_t *s, int vi, const place_request_t *req, const sched_shape_t *sh,
		    place_result_t *res)
{
	sched_view_t *v = &s->v[vi];

	if (miss_hit(v, sh, req)) {
		s->hits++;
		return GH_ENOCAP;
	}
	s->tried++;
	int rc = place_choose_cached(s->pol.placement, &v->c, s->pol.workload, req, &s->rng,
				     v->cache, res);

	if (rc == GH_ENOCAP)
		miss_add(v, sh, req, &res->reject);
	return rc;
}

void sched_shape_of(sched_t *s, const place_request_t *r, sched_shape_t *out)
{
	out->num_gpu = r->num_gpu;
	out->gpu_milli = r->gpu_milli;
	out->gpu_mem = r->gpu_memory_mib;
	out->cpu = r->cpu_milli;
	out->mem = r->memory_mib;
	out->mask = sched_model_mask(s, r);
	out->gang = r->gang || r->num_gpu <= 1;
	out->has_mig = r->mig_profile[0] != 0;
}

uint64_t sched_model_mask(sched_t *s, const place_request_t *r)
{
	if (!r->models[0])
		return ~0ULL;
	for (int i = 0; i < s->nmmemo; i++)
		if (strcmp(s->mmemo[i].models, r->models) == 0)
			return s->mmemo[i].mask;
	uint64_t m = place_request_model_mask(&s->v[SCHED_V_BASE].c, r);
	sched_mmemo_t *e = &s->mmemo[s->nmmemo < SCHED_MMEMO_MAX ? s->nmmemo++
								  : SCHED_MMEMO_MAX - 1];

	memcpy(e->models, r->models, sizeof e->models);
	e->mask = m;
	return m;
}

int sched_flat(const sched_t *s, int node, int gpu)
{
	return s->node_off[node] + gpu;
}

/* Commits res to every live placing view. */
static int views_apply(sched_t *s, const place_result_t *res)
{
	for (int vi = SCHED_V_CUR; vi < SCHED_V_BASE; vi++) {
		if (!s->v[vi].live)
			continue;
		int rc = place_apply(&s->v[vi].c, res);

		if (rc)
			return GH_EINTERNAL;
	}
	return 0;
}

void sched_freeze(sched_t *s, const place_result_t *res)
{
	for (int vi = SCHED_V_CUR; vi < SCHED_V_BASE; vi++) {
		if (!s->v[vi].live)
			continue;
		for (int k = 0; k < res->nslots; k++) {
			const place_slot_t *sl = &res->slots[k];
			place_node_t *n = &s->v[vi].c.nodes[sl->node];

			n->cpu_free_milli -= sl->cpu_milli < n->cpu_free_milli ? sl->cpu_milli
									   : n->cpu_free_milli;
			n->memory_free_mib -= sl->memory_mib < n->memory_free_mib
						      ? sl->memory_mib
						      : n->memory_free_mib;
			if (sl->gpu >= 0)
				n->gpus[sl->gpu].disabled = 1;
		}
	}
	for (int k = 0; k < res->nslots; k++)
		if (res->slots[k].gpu >= 0)
			s->frozen[sched_flat(s, res->slots[k].node, res->slots[k].gpu)] = 1;
}

int sched_touches_reserved(const sched_t *s, const place_result_t *res)
{
	for (int k = 0; k < res->nslots; k++)
		if (res->slots[k].gpu >= 0 &&
		    s->reserved[sched_flat(s, res->slots[k].node, res->slots[k].gpu)])
			return 1;
	return 0;
}

/* The view request r places on: cur when it may backfill (or no
 * reservation exists), nores otherwise. */
int sched_view_for(const sched_t *s, int64_t limit_ms, int64_t now)
{
	if (!s->v[SCHED_V_NORES].live)
		return SCHED_V_CUR;
	if (limit_ms > 0 && s->resv_start != SCHED_INF && now + limit_ms <= s->resv_start)
		return SCHED_V_CUR;
	return SCHED_V_NORES;
}

/* ---- outputs ---- */

static int push_slots(sched_t *s, const place_result_t *res, int *off)
{
	if (GROW(s->slots, s->slotcap, s->nslots + res->nslots))
		return GH_ENOMEM;
	memcpy(s->slots + s->nslots, res->slots, (size_t)res->nslots * sizeof *res->slots);
	*off = s->nslots;
	s->nslots += res->nslots;
	return 0;
}

int sched_push_preempt(sched_t *s, const sched_preempt_t *p)
{
	if (GROW(s->preempts, s->precap, s->npreempts + 1))
		return GH_ENOMEM;
	s->preempts[s->npreempts++] = *p;
	return 0;
}

/* Records what request r will hold (admitted or promised) in the tallies. */
void sched_tally_take(sched_t *s, int ui, int gi, const place_result_t *res)
{
	int64_t m = 0;

	for (int k = 0; k < res->nslots; k++)
		if (res->slots[k].gpu >= 0)
			m += res->slots[k].milli;
	s->users.ent[ui].held += m;
	s->users.ent[ui].sessions++;
	if (gi >= 0) {
		s->groups.ent[gi].held += m;
		s->groups.ent[gi].sessions++;
	}
}

int sched_admit_rec(sched_t *s, const sched_req_t *r, int ui, int gi, place_result_t *res,
		    int borrowed)
{
	int off, rc;

	rc = views_apply(s, res);
	if (rc)
		return rc;
	rc = push_slots(s, res, &off);
	if (rc)
		return rc;
	if (GROW(s->admits, s->admcap, s->nadmits + 1) ||
	    GROW(s->admoff, s->admoffcap, s->nadmits + 1) ||
	    GROW(s->admend, s->admendcap, s->nadmits + 1))
		return GH_ENOMEM;
	s->admoff[s->nadmits] = off;
	s->admend[s->nadmits] = r->runtime_limit_ms > 0 ? s->now + r->runtime_limit_ms
							: SCHED_INF;
	sched_admit_t *a = &s->admits[s->nadmits++];

	a->req_id = r->id;
	a->nslots = res->nslots;
	a->slots = NULL;                 /* set when the pass ends: s->slots may move */
	a->borrowed = borrowed;
	a->backfill = s->nresv > 0 && sched_touches_reserved(s, res);
	sched_tally_take(s, ui, gi, res);
	return 0;
}

/* A request that waits for GPUs it has been promised (a release or a
 * preemption): freeze them and remember the claim for the plan. */
int sched_promise(sched_t *s, int k, const place_result_t *res)
{
	int off, rc = push_slots(s, res, &off);

	if (rc)
		return rc;
	if (GROW(s->claims, s->claimcap, s->nclaims + 1))
		return GH_ENOMEM;
	s->claims[s->nclaims++] = (sched_claim_t){ k, off, res->nslots };
	sched_freeze(s, res);
	sched_tally_take(s, s->rank[k].ui, s->rank[k].gi, res);
	return 0;
}

void sched_set_wait(sched_t *s, int k, sched_wait_code_t code, int64_t a, int64_t b)
{
	sched_wait_t *w = &s->qw[k];

	s->qdec[k] = SCHED_D_WAIT;
	w->code = code;
	w->a = a;
	w->b = b;
}

