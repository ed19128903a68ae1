/*
 * preempt.c — choosing victims to make room for a request within quota.
 *
 * Who may be a victim of request r (all must hold):
 *   - its class is preemptible and the allocation is not marked
 *     nonpreemptible; it is not already suspending/stopping;
 *   - its GPUs are not promised to another request of this pass;
 *   - and one of, in the order victims are taken (the "tier"):
 *       0 idle:      it holds GPUs without using them, and its class is not
 *                    above r's — the hub suspends it, state is kept;
 *       1 borrowed:  it runs over its user's or group's GPU quota (see
 *                    quota.c) — reclaiming it gives the owner back their
 *                    guarantee;
 *       2 priority:  its class priority is lower than r's.
 *   Within a tier: lower class first, then the most recently started (it
 *   loses the least work), then the lower id.
 *
 * Which victims: for a request on one node (a gang, or one GPU) every node
 * with candidates is tried: its candidates are released one by one in the
 * order above until r fits on that node; the node whose victims are
 * cheapest wins — lowest worst tier, then fewest victims, then lowest node
 * index. A request spread over several nodes releases candidates across
 * the cluster in order until it fits, then keeps only those it needs.
 *
 * Worked example: r (normal, 2 GPUs, gang) finds no free pair. Node n1 has
 * i (idle, normal, 1 GPU) and h (high, not preemptible, 1 GPU); n2 has
 * b1, b2 (borrowed, 1 GPU each); n3 has l (low, 2 GPUs). n1 cannot help
 * (h is never a victim). n2 frees 2 GPUs with worst tier 1 and 2 victims;
 * n3 frees 2 GPUs with worst tier 2 and 1 victim. Tier wins: b1 and b2
 * are preempted (reason "reclaim"), l keeps running.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sched/sched_int.h"

typedef struct {
	int tier, prio;
	int64_t start, id;
	int ri;
} victim_t;

static int victim_cmp(const void *pa, const void *pb)
{
	const victim_t *a = pa, *b = pb;

	if (a->tier != b->tier)
		return a->tier - b->tier;
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	if (a->start != b->start)
		return a->start > b->start ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return 0;
}

/* Tier of running allocation i as a victim for a request of priority rp,
 * from what does not change during a pass; -1 when it may never be one. */
static int static_tier(const sched_t *s, const sched_input_t *in, int i, int rp)
{
	const sched_running_t *a = &in->running[i];
	const sched_policy_t *p = &s->pol;
	int gpus = 0;

	if (a->releasing || a->nonpreemptible)
		return -1;
	if (a->cls < 0 || a->cls >= p->nclasses || !p->classes[a->cls].preemptible)
		return -1;
	for (int k = 0; k < a->nslots; k++)
		gpus += a->slots[k].gpu >= 0;
	if (!gpus)
		return -1;
	int ap = p->classes[a->cls].priority;

	if (a->idle && ap <= rp)
		return 0;
	if (s->rborrowed[i])
		return 1;
	if (ap < rp)
		return 2;
	return -1;
}

/* Still a candidate now: not taken by an earlier request of this pass, and
 * none of its GPUs promised or (on the nores view) reserved. */
static int still_free(const sched_t *s, const sched_input_t *in, int i, int vi)
{
	const sched_running_t *a = &in->running[i];

	if (s->rvictim[i])
		return 0;
	for (int k = 0; k < a->nslots; k++) {
		const place_slot_t *sl = &a->slots[k];

		if (sl->gpu < 0)
			continue;
		int f = sched_flat(s, sl->node, sl->gpu);

		if (s->frozen[f] || (vi == SCHED_V_NORES && s->reserved[f]))
			return 0;
	}
	return 1;
}

/* The sorted candidates for requests of class cls, built once per pass. */
static int candidates(sched_t *s, const sched_input_t *in, int cls, victim_t **out, int *n)
{
	sched_vlist_t *l = &s->vlist[cls];

	if (l->pass != s->pass_no) {
		int rp = s->pol.classes[cls].priority, m = 0;

		if (SCHED_GROW(*(victim_t **)&l->v, l->cap, in->nrunning))
			return GH_ENOMEM;
		victim_t *v = l->v;

		for (int i = 0; i < in->nrunning; i++) {
			int t = static_tier(s, in, i, rp);

			if (t < 0)
				continue;
			const sched_running_t *a = &in->running[i];

			v[m++] = (victim_t){ t, s->pol.classes[a->cls].priority, a->start_ms, a->id,
					     i };
		}
		qsort(v, (size_t)m, sizeof *v, victim_cmp);
		l->n = m;
		l->pass = s->pass_no;
	}
	*out = l->v;
	*n = l->n;
	return 0;
}

/* Releases the slots of running allocation ri that lie on `node` from a
 * one-node cluster (node index 0). */
static int release_on_node(place_cluster_t *one, const sched_running_t *a, int node,
			   place_result_t *tmp)
{
	tmp->nslots = 0;
	for (int k = 0; k < a->nslots; k++)
		if (a->slots[k].node == node) {
			tmp->slots[tmp->nslots] = a->slots[k];
			tmp->slots[tmp->nslots++].node = 0;
		}
	return tmp->nslots ? place_release(one, tmp) : GH_EINVAL;
}

static int on_node(const sched_running_t *a, int node)
{
	for (int k = 0; k < a->nslots; k++)
		if (a->slots[k].node == node && a->slots[k].gpu >= 0)
			return 1;
	return 0;
}

typedef struct {
	int node, worst, n;
	int vic[PLACE_REQ_SLOTS_MAX];
} choice_t;

static int better(const choice_t *a, const choice_t *b)
{
	if (b->n == 0)
		return 1;
	if (a->worst != b->worst)
		return a->worst < b->worst;
	if (a->n != b->n)
		return a->n < b->n;
	return a->node < b->node;
}

/* Per-node search for a request that must sit on one node. */
static int find_one_node(sched_t *s, const sched_input_t *in, const sched_req_t *r, int vi,
			 const victim_t *v, int nv, place_result_t *res, choice_t *best)
{
	const place_cluster_t *vc = &s->v[vi].c;
	place_cluster_t *one = malloc(sizeof *one);
	place_result_t *tmp = malloc(sizeof *tmp), *try = malloc(sizeof *try);
	place_node_t node;
	uint8_t *seen = calloc((size_t)vc->nnodes, 1);
	int rc = 0;

	if (!one || !tmp || !try || !seen) {
		rc = GH_ENOMEM;
		goto out;
	}
	*one = *vc;
	one->nodes = &node;
	one->nnodes = 1;
	one->cap = 1;
	best->n = 0;
	/* nodes in the order their cheapest candidate appears, then by index */
	for (int first = 0; first < nv; first++) {
		for (int k = 0; k < in->running[v[first].ri].nslots; k++) {
			int ni = in->running[v[first].ri].slots[k].node;
			choice_t cur = { ni, 0, 0, { 0 } };

			if (seen[ni] || vc->nodes[ni].disabled)
				continue;
			seen[ni] = 1;
			node = vc->nodes[ni];
			for (int j = first; j < nv && cur.n < PLACE_REQ_SLOTS_MAX; j++) {
				const sched_running_t *a = &in->running[v[j].ri];

				if (!on_node(a, ni) || release_on_node(one, a, ni, tmp))
					continue;
				cur.vic[cur.n++] = j;
				cur.worst = v[j].tier;
				if (best->n && !better(&cur, best))
					break;
				if (place_choose(s->pol.placement, one, s->pol.workload, &r->shape,
						 &s->rng, try) == 0) {
					*best = cur;
					*res = *try;
					for (int q = 0; q < res->nslots; q++)
						res->slots[q].node = ni;
					break;
				}
			}
		}
		if (best->n == 1 && best->worst == 0)
			break;   /* one idle victim: nothing is cheaper */
	}
out:
	free(one);
	free(tmp);
	free(try);
	free(seen);
	return rc;
}

static void slots_of(const sched_running_t *a, place_result_t *tmp)
{
	tmp->nslots = a->nslots;
	memcpy(tmp->slots, a->slots, (size_t)a->nslots * sizeof *a->slots);
}

/* Cluster-wide search for a request that may spread over nodes. */
static int find_spread(sched_t *s, const sched_input_t *in, const sched_req_t *r, int vi,
		       const victim_t *v, int nv, place_result_t *res, choice_t *best)
{
	sched_view_t scratch;
	place_result_t *tmp = malloc(sizeof *tmp);
	int rc, ok = 0;
	choice_t cur = { -1, 0, 0, { 0 } };

	best->n = 0;
	memset(&scratch, 0, sizeof scratch);
	if (!tmp)
		return GH_ENOMEM;
	rc = sched_view_load(&scratch, &s->v[vi].c);
	if (rc)
		goto out;
	for (int j = 0; j < nv && cur.n < PLACE_REQ_SLOTS_MAX && !ok; j++) {
		slots_of(&in->running[v[j].ri], tmp);
		if (place_release(&scratch.c, tmp))
			continue;
		cur.vic[cur.n++] = j;
		ok = place_choose(s->pol.placement, &scratch.c, s->pol.workload, &r->shape,
				  &s->rng, res) == 0;
	}
	if (!ok)
		goto out;
	/* keep only the victims it needs: give back the costliest first */
	for (int q = cur.n - 1; q >= 0 && cur.n > 1; q--) {
		slots_of(&in->running[v[cur.vic[q]].ri], tmp);
		if (place_apply(&scratch.c, tmp))
			continue;
		place_result_t *try = malloc(sizeof *try);

		if (!try) {
			rc = GH_ENOMEM;
			goto out;
		}
		if (place_choose(s->pol.placement, &scratch.c, s->pol.workload, &r->shape,
				 &s->rng, try) == 0) {
			*res = *try;
			memmove(&cur.vic[q], &cur.vic[q + 1], (size_t)(cur.n - q - 1) * sizeof(int));
			cur.n--;
		} else {
			place_release(&scratch.c, tmp);
		}
		free(try);
	}
	cur.worst = 0;
	for (int q = 0; q < cur.n; q++)
		if (v[cur.vic[q]].tier > cur.worst)
			cur.worst = v[cur.vic[q]].tier;
	*best = cur;
out:
	free(scratch.c.nodes);
	free(tmp);
	return rc;
}

int sched_preempt_find(sched_t *s, const sched_input_t *in, int qi, int vi,
		       place_result_t *res)
{
	const sched_req_t *r = &in->queue[qi];
	int nall, nv = 0, rc;
	victim_t *all, *v;
	choice_t best;

	if ((rc = candidates(s, in, r->cls, &all, &nall)))
		return rc;
	if (SCHED_GROW(*(victim_t **)&s->ebuf, s->ebufcap, nall))
		return GH_ENOMEM;
	v = s->ebuf;
	for (int i = 0; i < nall; i++)
		if (still_free(s, in, all[i].ri, vi))
			v[nv++] = all[i];
	if (nv == 0)
		return 0;
	if (r->shape.gang || r->shape.num_gpu <= 1)
		rc = find_one_node(s, in, r, vi, v, nv, res, &best);
	else
		rc = find_spread(s, in, r, vi, v, nv, res, &best);
	if (rc)
		return rc;
	for (int q = 0; q < best.n; q++) {
		const victim_t *x = &v[best.vic[q]];
		const sched_running_t *a = &in->running[x->ri];
		sched_preempt_t p = {
			.alloc_id = a->id,
			.for_req_id = r->id,
			.why = x->tier == 0 ? SCHED_WHY_IDLE
					    : x->tier == 1 ? SCHED_WHY_RECLAIM : SCHED_WHY_PRIORITY,
			.suspend = a->idle || a->kind == SCHED_INTERACTIVE,
			.for_user = r->user,
			.for_group = r->group,
		};

		rc = sched_push_preempt(s, &p);
		if (rc)
			return rc;
		s->rvictim[x->ri] = 1;
	}
	return best.n;
}
