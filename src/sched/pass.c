/*
 * pass.c — the full pass (sched_decide) and the one-arrival fast path
 * (sched_decide_one). sched.c holds the views and outputs they share; the
 * phases are described there.
 *
 * Cost of a pass with Q waiting requests, R running allocations, G GPUs:
 * O(Q log Q) to order, O(G) to copy the cluster into the views, and one
 * place_choose per request that is neither blocked by quota nor a known
 * misfit — in a full cluster nearly every request is a known misfit after
 * the first few, so the pass stays near O(Q log Q). Preemption searches
 * (O(R) each) and one-by-one ETA planning (O(G) each) are capped by
 * policy.preempt_tries and policy.plan_depth.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sched/sched_int.h"

/* ---- setup ---- */

static int copy_limits(sched_t *s, const sched_policy_t *p)
{
	if (SCHED_GROW(s->ulim, s->ulimcap, p->nuser_limits) ||
	    SCHED_GROW(s->glim, s->glimcap, p->ngroup_limits))
		return GH_ENOMEM;
	if (p->nuser_limits)
		memcpy(s->ulim, p->user_limits, (size_t)p->nuser_limits * sizeof *s->ulim);
	if (p->ngroup_limits)
		memcpy(s->glim, p->group_limits, (size_t)p->ngroup_limits * sizeof *s->glim);
	s->pol = *p;
	s->pol.user_limits = s->ulim;
	s->pol.group_limits = s->glim;
	return 0;
}

static int ent_user(sched_t *s, int64_t id, int *idx)
{
	int i = sched_etab_find(&s->users, id);

	if (i >= 0) {
		*idx = i;
		return 0;
	}
	return sched_etab_get(&s->users, id,
			      sched_limit_lookup(s->ulim, s->pol.nuser_limits, id,
						 &s->pol.user_default),
			      idx);
}

static int ent_group(sched_t *s, int64_t id, int *idx)
{
	if (id == 0) {
		*idx = -1;
		return 0;
	}
	int i = sched_etab_find(&s->groups, id);

	if (i >= 0) {
		*idx = i;
		return 0;
	}
	return sched_etab_get(&s->groups, id,
			      sched_limit_lookup(s->glim, s->pol.ngroup_limits, id,
						 &s->pol.group_default),
			      idx);
}

static int setup_cluster(sched_t *s, const place_cluster_t *c)
{
	int g = 0, rc;

	if (SCHED_GROW(s->node_off, s->nodecap, c->nnodes + 1))
		return GH_ENOMEM;
	s->max_cpu = s->max_mem = 0;
	for (int i = 0; i < c->nnodes; i++) {
		s->node_off[i] = g;
		g += c->nodes[i].ngpus;
		if (c->nodes[i].cpu_milli > s->max_cpu)
			s->max_cpu = c->nodes[i].cpu_milli;
		if (c->nodes[i].memory_mib > s->max_mem)
			s->max_mem = c->nodes[i].memory_mib;
	}
	s->node_off[c->nnodes] = g;
	s->nnodes = c->nnodes;
	s->ngpus = g;
	if (SCHED_GROW(s->gnode, s->gpucap, g > 0 ? g : 1))
		return GH_ENOMEM;
	free(s->frozen);
	free(s->reserved);
	s->frozen = calloc((size_t)g + 1, 1);
	s->reserved = calloc((size_t)g + 1, 1);
	if (!s->frozen || !s->reserved)
		return GH_ENOMEM;
	for (int i = 0; i < c->nnodes; i++)
		for (int k = 0; k < c->nodes[i].ngpus; k++)
			s->gnode[s->node_off[i] + k] = i;
	s->nresv = 0;
	s->resv_k = -1;
	s->resv_start = SCHED_INF;
	s->never_live = 0;
	s->nmmemo = 0;
	if ((rc = sched_view_load(&s->v[SCHED_V_BASE], c)) ||
	    (rc = sched_view_load(&s->v[SCHED_V_CUR], c)) ||
	    (rc = sched_view_cache(s, &s->v[SCHED_V_CUR])))
		return rc;
	s->v[SCHED_V_NORES].live = 0;
	s->v[SCHED_V_REL].live = 0;
	return 0;
}

/* The "rel" view: cur as if sessions already releasing were gone. */
static int setup_rel(sched_t *s, const sched_input_t *in)
{
	place_result_t *tmp = s->res + 1;
	int rc;

	for (int i = 0; i < in->nrunning; i++) {
		const sched_running_t *r = &in->running[i];

		if (!r->releasing || r->nslots == 0)
			continue;
		if (!s->v[SCHED_V_REL].live) {
			if ((rc = sched_view_load(&s->v[SCHED_V_REL], &s->v[SCHED_V_CUR].c)) ||
			    (rc = sched_view_cache(s, &s->v[SCHED_V_REL])))
				return rc;
		}
		tmp->nslots = r->nslots;
		memcpy(tmp->slots, r->slots, (size_t)r->nslots * sizeof *r->slots);
		if (place_release(&s->v[SCHED_V_REL].c, tmp))
			return GH_EINVAL;
	}
	return 0;
}

static int valid_req(const sched_t *s, const sched_req_t *r)
{
	return r->cls >= 0 && r->cls < s->pol.nclasses && place_request_check(&r->shape) == 0 &&
	       r->shape.num_gpu <= PLACE_REQ_SLOTS_MAX - 1;
}

static int setup(sched_t *s, const sched_input_t *in)
{
	int n = in->nqueue, m = in->nrunning, rc, idx;

	if (!in->cluster || !in->policy || n < 0 || m < 0 || in->nusage < 0 ||
	    (n && !in->queue) || (m && !in->running) || (in->nusage && !in->usage))
		return GH_EINVAL;
	for (int i = 0; i < m; i++)
		if (in->running[i].nslots < 0 || in->running[i].nslots > PLACE_REQ_SLOTS_MAX ||
		    (in->running[i].nslots && !in->running[i].slots))
			return GH_EINVAL;
	if ((rc = sched_policy_check(in->policy)) || (rc = copy_limits(s, in->policy)))
		return rc;
	s->now = s->epoch = in->now_ms;
	s->rng = s->pol.seed;
	s->pass_no++;
	s->ready = 0;
	s->nadmits = s->npreempts = s->nwaits = s->nslots = s->nclaims = 0;
	s->tried = s->hits = 0;
	s->narr = 0;
	if (!s->res && !(s->res = malloc(2 * sizeof *s->res)))
		return GH_ENOMEM;
	if (SCHED_GROW(s->qhot, s->qhcap, n) || SCHED_GROW(s->rank, s->rankcap, n) ||
	    SCHED_GROW(s->qdec, s->qdcap, n) || SCHED_GROW(s->qw, s->qwcap, n) ||
	    SCHED_GROW(s->rborrowed, s->rbcap, m) || SCHED_GROW(s->rvictim, s->rvcap, m))
		return GH_ENOMEM;
	if (n) {
		memset(s->qdec, 0, (size_t)n);
		memset(s->qw, 0, (size_t)n * sizeof *s->qw);
	}
	if (m)
		memset(s->rvictim, 0, (size_t)m);
	if ((rc = setup_cluster(s, in->cluster)))   /* first: shapes resolve models on it */
		return rc;
	sched_etab_reset(&s->users);
	sched_etab_reset(&s->groups);
	for (int i = 0; i < n; i++) {
		const sched_req_t *r = &in->queue[i];
		sched_qhot_t *h = &s->qhot[i];
		int gidx;

		if ((rc = ent_user(s, r->user, &idx)) || (rc = ent_group(s, r->group, &gidx)))
			return rc;
		*h = (sched_qhot_t){ .demand = sched_req_demand(r), .id = r->id,
				     .enq = r->enqueue_ms, .limit = r->runtime_limit_ms, .qi = i,
				     .ui = idx, .gi = gidx, .cls = r->cls,
				     .valid = valid_req(s, r) };
		sched_shape_of(s, &r->shape, &h->sh);
	}
	for (int i = 0; i < m; i++)
		if ((rc = ent_user(s, in->running[i].user, &idx)) ||
		    (rc = ent_group(s, in->running[i].group, &idx)))
			return rc;
	for (int i = 0; i < in->nusage; i++)
		if ((rc = ent_user(s, in->usage[i].user, &idx)) ||
		    (rc = ent_group(s, in->usage[i].group, &idx)))
			return rc;
	sched_fs_usage(s, in);
	for (int i = 0; i < m; i++) {
		const sched_running_t *r = &in->running[i];
		int u = sched_etab_find(&s->users, r->user);
		int g = r->group ? sched_etab_find(&s->groups, r->group) : -1;
		int64_t milli = 0;

		for (int k = 0; k < r->nslots; k++)
			if (r->slots[k].gpu >= 0)
				milli += r->slots[k].milli;
		s->users.ent[u].held += milli;
		s->users.ent[u].sessions++;
		if (g >= 0) {
			s->groups.ent[g].held += milli;
			s->groups.ent[g].sessions++;
		}
	}
	if ((rc = sched_mark_borrowed(s, in)))
		return rc;
	for (int i = 0; i < m; i++)
		for (int k = 0; k < in->running[i].nslots; k++) {
			const place_slot_t *sl = &in->running[i].slots[k];

			if (sl->node < 0 || sl->node >= s->nnodes ||
			    sl->gpu >= in->cluster->nodes[sl->node].ngpus)
				return GH_EINVAL;
		}
	return setup_rel(s, in);
}

/* ---- ordering ---- */

static int order(sched_t *s, const sched_input_t *in)
{
	int n = in->nqueue, sorted = 1;

	if (SCHED_GROW(s->ord, s->ordcap, n) || SCHED_GROW(s->ordtmp, s->ordtmpcap, n))
		return GH_ENOMEM;
	for (int i = 0; i < n; i++) {
		s->ord[i] = (sched_ord_t){ 0.0, s->qhot[i].enq, s->qhot[i].id, i };
		if (i && sched_ord_cmp(&s->ord[i - 1], &s->ord[i]) > 0)
			sorted = 0;
	}
	if (!sorted)
		sched_ord_sort(s->ord, s->ordtmp, n);
	/* keys in enqueue order, so each user's pending charge counts only
	 * their earlier requests */
	for (int k = 0; k < n; k++) {
		const sched_qhot_t *h = &s->qhot[s->ord[k].qi];

		if (!h->valid) {
			s->ord[k].key = -1e300;
			continue;
		}
		sched_ent_t *u = &s->users.ent[h->ui];
		const sched_ent_t *g = h->gi >= 0 ? &s->groups.ent[h->gi] : NULL;

		s->ord[k].key = sched_fs_key(s, h->cls, h->enq, u, g);
		u->pending_gpus += h->demand / 1000.0;
	}
	int rc = sched_ord_sort_keys(s, s->ord, s->ordtmp, n);

	if (rc)
		return rc;
	/* from here on, by rank */
	for (int k = 0; k < n; k++) {
		s->rank[k] = s->qhot[s->ord[k].qi];
		s->qdec[k] = s->rank[k].valid ? SCHED_D_NONE : SCHED_D_INVALID;
	}
	return 0;
}

/* ---- phases ---- */

static int reserve(sched_t *s, const sched_input_t *in, int k, uint64_t mask)
{
	const sched_req_t *r = &in->queue[s->rank[k].qi];
	int gpus[PLACE_REQ_SLOTS_MAX], found, rc;
	int64_t dur = r->runtime_limit_ms > 0 ? r->runtime_limit_ms : SCHED_INF;

	if ((rc = sched_plan_init(s, in)))
		return rc;
	int64_t t = sched_plan_earliest(s, &r->shape, mask, s->now, dur, 0, gpus, &found);

	if (!found)
		return 0;
	if (!s->v[SCHED_V_NORES].live) {
		if ((rc = sched_view_load(&s->v[SCHED_V_NORES], &s->v[SCHED_V_CUR].c)) ||
		    (rc = sched_view_cache(s, &s->v[SCHED_V_NORES])))
			return rc;
	}
	for (int i = 0; i < found; i++) {
		int gi = gpus[i], ni = s->gnode[gi];

		s->reserved[gi] = 1;
		s->v[SCHED_V_NORES].c.nodes[ni].gpus[gi - s->node_off[ni]].disabled = 1;
	}
	s->resv_start = t;
	s->resv_dur = dur;
	s->resv_k = k;
	s->resv_milli = r->shape.gpu_milli;
	s->resv_gpus = r->shape.num_gpu;
	s->nresv++;
	s->qw[k].reserved = 1;
	return 0;
}

/* Phase A for the request of rank k, within quota, that did not fit view vi. */
static int blocked(sched_t *s, const sched_input_t *in, int k, int vi, int *tries)
{
	int qi = s->rank[k].qi;
	const sched_req_t *r = &in->queue[qi];
	place_result_t *res = s->res;
	int rc;

	if (s->v[SCHED_V_REL].live) {
		rc = sched_view_fits(s, SCHED_V_REL, &r->shape, &s->rank[k].sh, res);
		if (rc == 0 && (vi == SCHED_V_CUR || !sched_touches_reserved(s, res))) {
			if ((rc = sched_promise(s, k, res)))
				return rc;
			sched_set_wait(s, k, SCHED_WAIT_RELEASING, 0, 0);
			return 0;
		}
		if (rc && rc != GH_ENOCAP)
			return rc;
	}
	if (s->pol.preempt && *tries < s->pol.preempt_tries) {
		(*tries)++;
		int nv = sched_preempt_find(s, in, qi, vi, res);

		if (nv < 0)
			return nv;
		if (nv > 0) {
			if ((rc = sched_promise(s, k, res)))
				return rc;
			sched_set_wait(s, k, SCHED_WAIT_PREEMPTING, nv, 0);
			return 0;
		}
	}
	if (s->nresv < s->pol.reservations && r->shape.num_gpu >= s->pol.reserve_min_gpus &&
	    s->pol.reserve_min_gpus > 0) {
		if ((rc = reserve(s, in, k, s->rank[k].sh.mask)))
			return rc;
	}
	sched_set_wait(s, k, SCHED_WAIT_CAPACITY, 0, 0);
	return 0;
}

/* Places the request of rank k (phase A: within quota; phase B: borrowing). */
static int place_entry(sched_t *s, const sched_input_t *in, int k, int phase, int *tries)
{
	const sched_qhot_t *h = &s->rank[k];
	int ui = h->ui, gi = h->gi;
	sched_wait_code_t code = 0;
	int64_t a = 0, b = 0;
	int q = sched_quota_check(s, &s->users.ent[ui], gi >= 0 ? &s->groups.ent[gi] : NULL,
				  h->demand, s->pol.classes[h->cls].preemptible, &code, &a, &b);

	if (q < 0) {
		sched_set_wait(s, k, code, a, b);
		return 0;
	}
	if (q > 0 && phase == 0) {
		s->qdec[k] = SCHED_D_BORROW;
		return 0;
	}
	const sched_req_t *r = &in->queue[h->qi];   /* read only to place */
	int vi = sched_view_for(s, h->limit, s->now);
	int rc = sched_view_fits(s, vi, &r->shape, &h->sh, s->res);

	if (rc == 0) {
		s->qdec[k] = SCHED_D_ADMIT;
		return sched_admit_rec(s, r, ui, gi, s->res, q > 0);
	}
	if (rc == GH_EINVAL) {
		sched_set_wait(s, k, SCHED_WAIT_INVALID, 0, 0);
		return 0;
	}
	if (rc != GH_ENOCAP)
		return rc;
	if (phase == 0 && (rc = blocked(s, in, k, vi, tries)))
		return rc;
	if (phase == 1)
		sched_set_wait(s, k, SCHED_WAIT_CAPACITY, 0, 0);
	/* would it fit but for the reservation? say so */
	if (vi == SCHED_V_NORES && s->qw[k].code == SCHED_WAIT_CAPACITY && !s->qw[k].reserved) {
		rc = sched_view_fits(s, SCHED_V_CUR, &r->shape, &h->sh, s->res);
		if (rc == 0)
			sched_set_wait(s, k, SCHED_WAIT_RESERVED, s->resv_gpus, 0);
		else if (rc != GH_ENOCAP)
			return rc;
	}
	return 0;
}

static int phases(sched_t *s, const sched_input_t *in)
{
	int tries = 0, rc;

	for (int phase = 0; phase < 2; phase++)
		for (int k = 0; k < in->nqueue; k++) {
			uint8_t d = s->qdec[k];

			if (d == SCHED_D_INVALID) {
				if (phase == 0)
					sched_set_wait(s, k, SCHED_WAIT_INVALID, 0, 0);
				continue;
			}
			if ((phase == 0 && d != SCHED_D_NONE) ||
			    (phase == 1 && d != SCHED_D_BORROW))
				continue;
			if ((rc = place_entry(s, in, k, phase, &tries)))
				return rc;
		}
	return 0;
}


int sched_pass_run(sched_t *s, const sched_input_t *in)
{
	int rc;

	if ((rc = setup(s, in)) || (rc = order(s, in)))
		return rc;
	return phases(s, in);
}

int sched_pass_valid(const sched_t *s, const sched_req_t *r)
{
	return valid_req(s, r);
}

int sched_pass_ent(sched_t *s, const sched_req_t *r, int *ui, int *gi)
{
	int rc = ent_user(s, r->user, ui);

	return rc ? rc : ent_group(s, r->group, gi);
}
