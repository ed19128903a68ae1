/*
 * place_score.c — the simple placement scores: random, first fit, best
 * fit, GPU packing and dot product.
 *
 * These are the baselines of "Beware of Fragmentation" (ATC'23), scored
 * the way a Kubernetes scheduler plugin scores them: an integer 0..100 per
 * node (higher is better); among equal scores the first node in cluster
 * order wins (place_choose.c).
 * The integer rounding is kept on purpose: it is part of how these
 * policies behave on a real cluster (many nodes tie), and keeping it is
 * what makes the simulator's numbers match the published ones. Here a
 * score s is returned as the cost -s (lower is better).
 *
 *   policy   | score of node n for request r (F = free, R = requested,
 *            | C = largest node CPU, G = largest node GPU capacity)
 *   ---------+-------------------------------------------------------------
 *   random   | a uniform draw among the nodes that fit
 *   firstfit | cluster order: the first node that fits
 *   bestfit  | ⌊100·(1 − ½(Fcpu−Rcpu)/C − ½(Fgpu−Rgpu)/G)⌋: least left over
 *   packing  | 50..100 if r fits on partly used GPUs (less free = better),
 *            | 33..50 if it needs idle GPUs of a busy node (fewer = better),
 *            | 0..33 on an idle node; CPU-only requests: 0 everywhere
 *   dotprod  | ⌊100·(1 − ½(Fcpu·Rcpu/C² + Fgpu·Rgpu/G²))⌋: the free vector
 *            | least aligned with the demand (Tetris' dot product, inverted)
 *
 * Worked example (bestfit): C = 128 cores, G = 8 GPUs. Request: 4 cores,
 * 1 GPU. Node A has 100 cores and 6 GPUs free, node B 20 cores and 1 GPU.
 *   A: 1 − ½·96/128 − ½·5000/8000 = 1 − 0.375 − 0.3125 = 0.3125 → 31
 *   B: 1 − ½·16/128 − ½·0/8000    = 1 − 0.0625         = 0.9375 → 93
 * B wins: it is left with the least.
 */
#include <math.h>

#define PLACE_INTERNAL
#include "common/err.h"
#include "sched/place.h"

int64_t place__node_gpu_free(const place_node_t *n)
{
	int64_t f = 0;

	for (int j = 0; j < n->ngpus; j++) {
		if (!n->gpus[j].disabled)
			f += n->gpus[j].free_milli;
	}
	return f;
}

static double bestfit_score(const place_node_t *n, const place__req_t *r, const place__norm_t *nm)
{
	double rest = 0;

	if (nm->max_cpu > 0)
		rest += 0.5 * (double)(n->cpu_free_milli - r->cpu) / nm->max_cpu;
	if (nm->max_gpu > 0)
		rest += 0.5 * (double)(place__node_gpu_free(n) - (int64_t)r->ngpu * r->milli) /
			nm->max_gpu;
	return floor((1.0 - rest) * 100.0);
}

static double dotprod_score(const place_node_t *n, const place__req_t *r, const place__norm_t *nm)
{
	double dot = 0;

	if (nm->max_cpu > 0)
		dot += (double)n->cpu_free_milli / nm->max_cpu * (double)r->cpu / nm->max_cpu;
	if (nm->max_gpu > 0)
		dot += (double)place__node_gpu_free(n) / nm->max_gpu *
		       (double)((int64_t)r->ngpu * r->milli) / nm->max_gpu;
	return floor((1.0 - dot / 2) * 100.0);
}

static double packing_score(const place_cluster_t *c, const place_node_t *n,
			    const place__req_t *r)
{
	int ngpu = 0, idle = 0, idle_used = 0, used_free_pct = 0, need = r->ngpu;
	int order[PLACE_NODE_GPUS_MAX], norder = 0;

	if (r->ngpu == 0)
		return 0;
	for (int j = 0; j < n->ngpus; j++) {
		if (n->gpus[j].disabled)
			continue;
		ngpu++;
		if (n->gpus[j].free_milli == n->gpus[j].capacity_milli)
			idle++;
	}
	if (idle == ngpu) {
		double s = 100 / 3 - idle;

		return s > idle ? s : idle;
	}
	/* GPUs that can take a share, least free first (stable by position). */
	for (int j = 0; j < n->ngpus; j++) {
		place__take_t t;
		int k = norder;

		if (!place__gpu_take(c, &n->gpus[j], r, &t))
			continue;
		while (k > 0 && n->gpus[order[k - 1]].free_milli > n->gpus[j].free_milli) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = j;
		norder++;
	}
	for (int i = 0; i < norder && need > 0; i++, need--) {
		const place_gpu_t *g = &n->gpus[order[i]];

		if (g->free_milli == g->capacity_milli)
			idle_used++;
		else
			used_free_pct += g->free_milli * 100 / PLACE_MILLI;
	}
	if (idle_used > 0) {
		double s = 100 / 2 - idle_used;

		return s > 100 / 3 ? s : 100 / 3;
	}
	double s = 100 - used_free_pct / 10;

	return s > 100 / 2 ? s : 100 / 2;
}

double place__cost_basic(place_policy_t policy, const place_cluster_t *c, int idx,
			 const place_node_t *n, const place__req_t *r, const place__norm_t *nm)
{
	switch (policy) {
	case PLACE_FIRSTFIT:
		return idx;
	case PLACE_BESTFIT:
		return -bestfit_score(n, r, nm);
	case PLACE_PACKING:
		return -packing_score(c, n, r);
	case PLACE_DOTPROD:
		return -dotprod_score(n, r, nm);
	default:
		return 0;
	}
}

place__sel_t place__sel_basic(place_policy_t policy)
{
	return policy == PLACE_RANDOM ? PLACE__SEL_RANDOM : PLACE__SEL_BEST;
}
