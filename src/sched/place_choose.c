/*
 * place_choose.c — the choice itself: filter every node, score the ones
 * that fit under the policy, take the lowest cost, break ties uniformly
 * at random, then pick the GPUs on the winner.
 *
 * Ties go to the node that comes first in cluster order. A caller that
 * wants ties spread evenly can order its nodes at random once; a fixed
 * order makes equal nodes fill up one after the other instead of all a
 * little, which is what keeps whole nodes free for large requests (the
 * scheduler the published FGD results come from does the same: equal
 * scores go to the lowest node name, and node names carry a random
 * prefix). Only "random" draws from *rng: one uniform draw among the
 * nodes that fit, made by reservoir sampling (the k-th fitting node
 * replaces the choice with probability 1/k).
 *
 * A request that is not a gang (num_gpu > 1, gang = 0) is placed one GPU
 * at a time on a scratch copy of the cluster, each share asking for its
 * part of the host CPU and memory, and no GPU taking two shares.
 *
 * The cache (place_cache_t) remembers, per node, the node's exact state
 * and the cost of recent request shapes on it. A node whose state differs
 * from the remembered one (it took or gave back something) forgets its
 * costs, and every node forgets them when the cluster's totals (which
 * some costs normalise by) come out different. Only costs are cached;
 * the winner's GPUs are always recomputed, so a cached and an uncached
 * choice are the same choice.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLACE_INTERNAL
#include "common/err.h"
#include "sched/place.h"

#define CACHE_SLOTS 64

struct centry {
	uint32_t epoch;
	int used;
	place__req_t key;
	double cost;
};

struct cnode {
	uint32_t epoch;
	int known;
	double f0;                       /* fragmentation of `state`, NAN = not yet */
	place_node_t state;              /* the node as it was when costs were cached */
	struct centry e[CACHE_SLOTS];
};

struct place_cache {
	int nnodes;
	int policy;
	const place_workload_t *w;
	int wn;
	struct cnode *nodes;
	const place_cluster_t *norm_c;   /* the cluster `norm` was computed for */
	int norm_n;
	place__norm_t norm;
};

int place_cache_create(int nnodes, place_cache_t **out)
{
	place_cache_t *pc;

	if (!out || nnodes < 0)
		return GH_EINVAL;
	*out = NULL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return GH_ENOMEM;
	pc->nodes = calloc(nnodes > 0 ? (size_t)nnodes : 1, sizeof(*pc->nodes));
	if (!pc->nodes) {
		free(pc);
		return GH_ENOMEM;
	}
	pc->nnodes = nnodes;
	pc->policy = -1;
	*out = pc;
	return 0;
}

void place_cache_destroy(place_cache_t *cache)
{
	if (!cache)
		return;
	free(cache->nodes);
	free(cache);
}

void place_cache_totals_changed(place_cache_t *cache)
{
	if (cache)
		cache->norm_c = NULL;
}

static void cache_bind(place_cache_t *pc, place_policy_t policy, const place_workload_t *w)
{
	int wn = w ? w->n : 0;

	if (pc->policy == (int)policy && pc->w == w && pc->wn == wn)
		return;
	for (int i = 0; i < pc->nnodes; i++)
		pc->nodes[i].known = 0;
	pc->policy = (int)policy;
	pc->w = w;
	pc->wn = wn;
}

/* The parts of a node a cost may depend on. The GPUs are compared
 * byte for byte: a difference in a field no cost reads (or in padding)
 * only costs a recomputation, never a wrong answer. */
static int node_same(const place_node_t *a, const place_node_t *b)
{
	if (a->cpu_free_milli != b->cpu_free_milli || a->memory_free_mib != b->memory_free_mib ||
	    a->cpu_milli != b->cpu_milli || a->memory_mib != b->memory_mib ||
	    a->disabled != b->disabled || a->ngpus != b->ngpus)
		return 0;
	return memcmp(a->gpus, b->gpus, (size_t)a->ngpus * sizeof(a->gpus[0])) == 0;
}

static unsigned key_slot(const place__req_t *r)
{
	uint64_t h = 1469598103934665603ULL;
	uint64_t v[6] = {(uint64_t)r->ngpu, (uint64_t)r->milli, (uint64_t)r->cpu,
			 (uint64_t)r->mem, (uint64_t)r->gmem, r->models};

	for (int i = 0; i < 6; i++) {
		h ^= v[i];
		h *= 1099511628211ULL;
	}
	return (unsigned)(h >> 17) % CACHE_SLOTS;
}

static double raw_cost(place_policy_t policy, const place_cluster_t *c, int idx,
		       const place_node_t *n, const place_workload_t *w, const place__req_t *r,
		       const place__norm_t *nm, double *f0)
{
	if (policy == PLACE_FGD || policy == PLACE_GPUHUB)
		return place__cost_frag(policy, c, n, w, r, nm, NULL, f0);
	return place__cost_basic(policy, c, idx, n, r, nm);
}

static double node_cost(place_policy_t policy, const place_cluster_t *c, int idx,
			const place_node_t *n, const place_workload_t *w, const place__req_t *r,
			const place__norm_t *nm, place_cache_t *pc)
{
	struct cnode *cn;
	struct centry *e;

	if (!pc || policy == PLACE_RANDOM || policy == PLACE_FIRSTFIT || idx >= pc->nnodes ||
	    n != &c->nodes[idx])
		return raw_cost(policy, c, idx, n, w, r, nm, NULL);
	cn = &pc->nodes[idx];
	if (!cn->known || !node_same(&cn->state, n)) {
		memcpy(&cn->state, n, sizeof(*n));
		cn->known = 1;
		cn->epoch++;
		cn->f0 = NAN;
	}
	e = &cn->e[key_slot(r)];
	if (e->used && e->epoch == cn->epoch && memcmp(&e->key, r, sizeof(*r)) == 0)
		return e->cost;
	e->used = 1;
	e->epoch = cn->epoch;
	e->key = *r;
	e->cost = raw_cost(policy, c, idx, n, w, r, nm, &cn->f0);
	return e->cost;
}

static void norm_init(const place_cluster_t *c, place__norm_t *nm)
{
	memset(nm, 0, sizeof(*nm));
	for (int i = 0; i < c->nnodes; i++) {
		double g = 0;

		if ((double)c->nodes[i].cpu_milli > nm->max_cpu)
			nm->max_cpu = (double)c->nodes[i].cpu_milli;
		for (int j = 0; j < c->nodes[i].ngpus; j++) {
			const place_gpu_t *gp = &c->nodes[i].gpus[j];

			g += gp->capacity_milli;
			nm->gpus += 1;
			if (gp->model >= 0 && gp->model < PLACE_MODELS_MAX)
				nm->model_gpus[gp->model] += 1;
		}
		if (g > nm->max_gpu)
			nm->max_gpu = g;
	}
}

/* Places a gang request (or one share of a split one); appends slots. */
static int choose_one(place_policy_t policy, const place_cluster_t *c, const place_workload_t *w,
		      const place__req_t *r, uint64_t *rng, place_cache_t *pc,
		      const place__norm_t *nm, place_result_t *out)
{
	double best = 0;
	int best_i = -1, ties = 0;
	place__pick_t pick;
	const place_node_t *n;
	place_slot_t *s;

	memset(&out->reject, 0, sizeof(out->reject));
	for (int i = 0; i < c->nnodes; i++) {
		const place_node_t *cand = &c->nodes[i];
		double cost;

		/* Reasons are only wanted when nothing fits: counted below. */
		if (!place__node_fits(c, cand, r, NULL))
			continue;
		cost = node_cost(policy, c, i, cand, w, r, nm, pc);
		if (best_i < 0 || cost < best) {
			best = cost;
			best_i = i;
			ties = 1;
		} else if (cost == best && policy == PLACE_RANDOM) {
			ties++;
			if (place_rng_below(rng, (uint64_t)ties) == 0)
				best_i = i;
		}
	}
	if (best_i < 0) {
		for (int i = 0; i < c->nnodes; i++)
			place__node_fits(c, &c->nodes[i], r, &out->reject);
		return GH_ENOCAP;
	}
	n = &c->nodes[best_i];
	if (policy == PLACE_FGD || policy == PLACE_GPUHUB) {
		place__cost_frag(policy, c, n, w, r, nm, &pick, NULL);
	} else if (place__pick(c, n, r, place__sel_basic(policy), rng, &pick) != 0) {
		return GH_EINTERNAL; /* the filter said it fits */
	}
	if (out->nslots + (pick.n > 0 ? pick.n : 1) > PLACE_REQ_SLOTS_MAX)
		return GH_EINTERNAL;
	for (int k = 0; k < (pick.n > 0 ? pick.n : 1); k++) {
		s = &out->slots[out->nslots++];
		memset(s, 0, sizeof(*s));
		s->node = best_i;
		s->gpu = -1;
		if (pick.n > 0) {
			s->gpu = pick.gpu[k];
			s->milli = pick.take[k].milli;
			s->gpu_memory_mib = pick.take[k].gmem;
			s->mig_start = pick.take[k].mig_start;
			s->mig_slices = pick.take[k].mig_slices;
		}
		if (k == 0) {
			s->cpu_milli = r->cpu;
			s->memory_mib = r->mem;
		}
	}
	out->score = best;
	return 0;
}

/* A split request: one GPU at a time on a scratch copy. */
static int choose_split(place_policy_t policy, const place_cluster_t *c, const place_workload_t *w,
			const place__req_t *r, uint64_t *rng, place_cache_t *pc,
			const place__norm_t *nm, place_result_t *out)
{
	place_cluster_t tmp;
	int rc;

	rc = place_cluster_copy(&tmp, c);
	if (rc)
		return rc;
	for (int k = 0; k < r->ngpu; k++) {
		place__req_t one = *r;
		place_result_t part;
		int first = out->nslots;

		one.ngpu = 1;
		one.gang = 1;
		one.cpu = r->cpu / r->ngpu + (k == 0 ? r->cpu % r->ngpu : 0);
		one.mem = r->mem / r->ngpu + (k == 0 ? r->mem % r->ngpu : 0);
		memset(&part, 0, sizeof(part));
		rc = choose_one(policy, &tmp, w, &one, rng, pc, nm, &part);
		if (rc) {
			out->reject = part.reject;
			break;
		}
		rc = place_apply(&tmp, &part);
		if (rc)
			break;
		/* No GPU takes two shares of one request. */
		tmp.nodes[part.slots[0].node].gpus[part.slots[0].gpu].disabled = 1;
		out->slots[first] = part.slots[0];
		out->nslots++;
		out->score += part.score;
	}
	place_cluster_destroy(&tmp);
	if (rc)
		out->nslots = 0;
	return rc;
}

int place_choose_cached(place_policy_t policy, const place_cluster_t *c,
			const place_workload_t *w, const place_request_t *req, uint64_t *rng,
			place_cache_t *cache, place_result_t *out)
{
	place__req_t r;
	place__norm_t nm;
	uint64_t local_rng = 0;
	int rc;

	if (!out)
		return GH_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!c || !req || (int)policy < 0 || policy >= PLACE__COUNT)
		return GH_EINVAL;
	rc = place__req_init(c, req, &r);
	if (rc)
		return rc;
	if (cache && cache->nnodes < c->nnodes)
		return GH_EINVAL;
	if (cache)
		cache_bind(cache, policy, w);
	if (!rng)
		rng = &local_rng;
	if (cache && cache->norm_c == c && cache->norm_n == c->nnodes) {
		nm = cache->norm;
	} else {
		norm_init(c, &nm);
		if (cache) {
			/* Costs depend on these figures too (bestfit's and
			 * dotprod's scale, gpuhub's model pressure): costs
			 * cached against other totals are stale even on a node
			 * whose own state did not change. norm_init clears the
			 * padding, so memcmp compares the figures alone. */
			if (memcmp(&cache->norm, &nm, sizeof(nm)) != 0)
				for (int i = 0; i < cache->nnodes; i++)
					cache->nodes[i].known = 0;
			cache->norm = nm;
			cache->norm_c = c;
			cache->norm_n = c->nnodes;
		}
	}
	if (r.gang)
		return choose_one(policy, c, w, &r, rng, cache, &nm, out);
	return choose_split(policy, c, w, &r, rng, cache, &nm, out);
}

int place_choose(place_policy_t policy, const place_cluster_t *c, const place_workload_t *w,
		 const place_request_t *req, uint64_t *rng, place_result_t *out)
{
	return place_choose_cached(policy, c, w, req, rng, NULL, out);
}
