/*
 * place_fit.c — what fits where: whether one GPU can give one share of a
 * request, whether a node can take a whole request, and which GPUs of a
 * node a request gets.
 *
 * Every policy filters nodes and picks GPUs through these functions, so
 * constraints (models, memory, sharing modes, MIG geometry, host CPU and
 * memory) are enforced in exactly one place; policies only rank nodes
 * that already fit.
 *
 * MIG: a request of gpu_milli m (or a named profile) gets the smallest
 * profile whose share of the GPU is at least m and whose memory is enough;
 * it starts at the highest allowed start whose slices are free, so the
 * low starts that the big profiles need stay free as long as possible.
 * Worked example (A100 layout: 7 slices; 1g may start anywhere, 2g at 0,
 * 2 or 4, 3g at 0 or 4, 7g at 0 only), all slices free:
 *   ask 100 milli → smallest profile with at least 100 is 1g (142 milli);
 *                   starts tried from 6 down: slice 6 is free → slice 6.
 *   ask 400 milli → 3g (428 milli); start 4 needs 4-6, 6 is taken; start 0
 *                   needs 0-2, free → slices 0-2.
 *   left free: 3, 4, 5 — three more 1g, or a 2g at 4 and a 1g at 3.
 */
#include <string.h>

#define PLACE_INTERNAL
#include "common/err.h"
#include "sched/place.h"

int place__mig_milli(const place_mig_layout_t *l, unsigned slices)
{
	if ((int)slices >= l->slices)
		return PLACE_MILLI;
	return (int)(slices * PLACE_MILLI / (unsigned)l->slices);
}

/* The MIG instance of g for r: profile and start; 1 when one is free. */
static int mig_take(const place_cluster_t *c, const place_gpu_t *g, const place__req_t *r,
		    place__take_t *t)
{
	const place_mig_layout_t *l = &c->mig_layouts[g->mig_layout];
	int best = -1;

	for (int i = 0; i < l->nprofiles; i++) {
		const place_mig_profile_t *p = &l->profiles[i];

		if (r->mig[0] ? strcmp(r->mig, p->name) != 0
			      : (place__mig_milli(l, (unsigned)p->slices) < r->milli ||
				 p->memory_mib < r->gmem))
			continue;
		if (p->memory_mib > g->memory_free_mib)
			continue;
		for (int s = l->slices - p->slices; s >= 0; s--) {
			unsigned bits = ((1u << p->slices) - 1) << s;

			if (!(p->starts & (1u << s)) || (g->mig_free & bits) != bits)
				continue;
			/* Smallest profile wins; among equal sizes, the first listed. */
			if (best < 0 || p->slices < l->profiles[best].slices) {
				best = i;
				t->mig_start = s;
				t->mig_slices = p->slices;
				t->milli = place__mig_milli(l, (unsigned)p->slices);
				t->gmem = p->memory_mib;
			}
			break;
		}
	}
	return best >= 0;
}

int place__gpu_take(const place_cluster_t *c, const place_gpu_t *g, const place__req_t *r,
		    place__take_t *t)
{
	memset(t, 0, sizeof(*t));
	if (g->disabled || !((r->models >> g->model) & 1))
		return 0;
	switch (g->share) {
	case PLACE_SHARE_EXCLUSIVE:
		if (r->mig[0] || g->ntasks != 0 || g->free_milli < g->capacity_milli ||
		    g->memory_free_mib < r->gmem)
			return 0;
		t->milli = g->capacity_milli;
		t->gmem = g->memory_free_mib;
		return 1;
	case PLACE_SHARE_MPS: {
		int64_t want = r->gmem ? r->gmem : g->memory_mib * r->milli / PLACE_MILLI;

		if (r->mig[0] || g->free_milli < r->milli || g->memory_free_mib < want)
			return 0;
		t->milli = r->milli;
		t->gmem = want;
		return 1;
	}
	case PLACE_SHARE_MIG:
		return mig_take(c, g, r, t);
	}
	return 0;
}

/* Counts a rejection reason (rej may be NULL) and returns 0. */
static int reject(int *counter)
{
	if (counter)
		(*counter)++;
	return 0;
}

int place__node_fits(const place_cluster_t *c, const place_node_t *n, const place__req_t *r,
		     place_reject_t *rej)
{
	int allowed = 0, milli_ok = 0, takeable = 0;

	if (n->disabled)
		return reject(rej ? &rej->disabled : NULL);
	/* Without reasons to count, the host check comes first: it is the
	 * cheapest and the answer is the same. */
	if (!rej && (n->cpu_free_milli < r->cpu || n->memory_free_mib < r->mem))
		return 0;
	if (r->ngpu > 0) {
		/* The cheap counts first; the exact take (MIG geometry, GPU
		 * memory) only while it can still change the answer. */
		for (int j = 0; j < n->ngpus; j++) {
			const place_gpu_t *g = &n->gpus[j];

			if (g->disabled || !((r->models >> g->model) & 1))
				continue;
			allowed++;
			if (g->share == PLACE_SHARE_EXCLUSIVE ? g->ntasks == 0 : g->free_milli >= r->milli)
				milli_ok++;
		}
		if (allowed == 0)
			return reject(rej ? &rej->model : NULL);
		if (allowed < r->ngpu)
			return reject(rej ? &rej->gpu_count : NULL);
		if (milli_ok < r->ngpu)
			return reject(rej ? &rej->gpu_milli : NULL);
		for (int j = 0; j < n->ngpus && takeable < r->ngpu; j++) {
			const place_gpu_t *g = &n->gpus[j];
			place__take_t t;

			/* Whole and MPS GPUs take nothing that failed the count. */
			if (g->share != PLACE_SHARE_MIG &&
			    (g->share == PLACE_SHARE_EXCLUSIVE ? g->ntasks != 0 : g->free_milli < r->milli))
				continue;
			if (place__gpu_take(c, g, r, &t))
				takeable++;
		}
		if (takeable < r->ngpu) {
			int mig = 0;

			for (int j = 0; j < n->ngpus; j++)
				mig |= n->gpus[j].share == PLACE_SHARE_MIG;
			return reject(rej ? (mig ? &rej->mig : &rej->gpu_memory) : NULL);
		}
	}
	if (n->cpu_free_milli < r->cpu)
		return reject(rej ? &rej->cpu : NULL);
	if (n->memory_free_mib < r->mem)
		return reject(rej ? &rej->memory : NULL);
	return 1;
}

int place__pick(const place_cluster_t *c, const place_node_t *n, const place__req_t *r,
		place__sel_t sel, uint64_t *rng, place__pick_t *out)
{
	int cand[PLACE_NODE_GPUS_MAX];
	place__take_t take[PLACE_NODE_GPUS_MAX];
	int ncand = 0;

	memset(out, 0, sizeof(*out));
	if (r->ngpu == 0)
		return 0;
	for (int j = 0; j < n->ngpus; j++) {
		if (place__gpu_take(c, &n->gpus[j], r, &take[ncand]))
			cand[ncand++] = j;
	}
	if (ncand < r->ngpu)
		return GH_ENOCAP;
	if (sel == PLACE__SEL_RANDOM && r->milli < PLACE_MILLI && rng) {
		/* A uniformly random subset: partial Fisher-Yates. */
		for (int i = 0; i < r->ngpu; i++) {
			int k = i + (int)place_rng_below(rng, (uint64_t)(ncand - i));
			int tc = cand[i];
			place__take_t tt = take[i];

			cand[i] = cand[k];
			take[i] = take[k];
			cand[k] = tc;
			take[k] = tt;
		}
	} else if (sel != PLACE__SEL_FIRST) {
		/* Best fit: least free milli first, then lowest position
		 * (insertion sort keeps equal ones in position order). */
		for (int i = 1; i < ncand; i++) {
			int tc = cand[i];
			place__take_t tt = take[i];
			int k = i;

			while (k > 0 && n->gpus[cand[k - 1]].free_milli > n->gpus[tc].free_milli) {
				cand[k] = cand[k - 1];
				take[k] = take[k - 1];
				k--;
			}
			cand[k] = tc;
			take[k] = tt;
		}
	}
	out->n = r->ngpu;
	for (int i = 0; i < r->ngpu; i++) {
		out->gpu[i] = cand[i];
		out->take[i] = take[i];
	}
	return 0;
}

void place__node_take(const place_cluster_t *c, place_node_t *n, const place__req_t *r,
		      const place__pick_t *p)
{
	n->cpu_free_milli -= r->cpu;
	n->memory_free_mib -= r->mem;
	for (int i = 0; i < p->n; i++) {
		place_gpu_t *g = &n->gpus[p->gpu[i]];
		const place__take_t *t = &p->take[i];

		if (g->share == PLACE_SHARE_MIG) {
			g->mig_free &= ~(((1u << t->mig_slices) - 1) << t->mig_start);
			g->free_milli = place__mig_milli(&c->mig_layouts[g->mig_layout],
							 (unsigned)__builtin_popcount(g->mig_free));
		} else {
			g->free_milli -= t->milli;
		}
		g->memory_free_mib -= t->gmem;
		g->ntasks++;
	}
}
