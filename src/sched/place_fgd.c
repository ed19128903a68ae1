/*
 * place_fgd.c — fragmentation-aware placement: FGD (fragmentation
 * gradient descent, Weng et al., ATC'23) and gpuhub's refinement of it.
 *
 * Fragmentation of a node is measured against the workload the cluster
 * expects (place_workload_t: request shapes m with popularity p_m, summing
 * to 1). For one shape m, the free GPU of node n that m could not use is
 *
 *   F_n(m) = all free GPU of n            if m cannot run on n at all
 *                                         (model, GPU count, CPU, memory),
 *                                         or m needs no GPU;
 *          = Σ free of the GPUs of n      otherwise: the GPUs too full
 *            that cannot host one share     (or of the wrong model) to
 *            of m                           host one share of m
 *
 * and the node's fragmentation is the expectation F_n = Σ_m p_m F_n(m).
 * FGD places a request on the node (and GPU) where F_n grows least, i.e.
 * it descends the gradient of the cluster's expected fragmentation.
 *
 * Worked example: workload = {1 GPU: p 0.5, 0.5 GPU: p 0.5}; node n has
 * two GPUs with 1000 and 600 milli free (plenty of CPU). Now
 *   F_n(1 GPU)   = 600 (the 600 cannot host a whole GPU)
 *   F_n(0.5 GPU) = 0   (both can host 500)          → F_n = 300.
 * A 0.3-GPU request: on the 600 GPU → free {1000, 300}:
 *   F(1 GPU) = 300, F(0.5) = 300 → F = 300, ΔF = 0;
 * on the 1000 GPU → free {700, 600}: F(1 GPU) = 1300, F(0.5) = 0 → F = 650,
 * ΔF = +350. FGD puts it on the 600 GPU, keeping the whole GPU whole.
 *
 * fgd scores like the published scheduler plugin: 100·sigmoid(−ΔF/1000)
 * rounded down to an integer, the best GPU of a node being the first with
 * the best score; among nodes with equal scores the first in cluster order
 * wins (place_choose.c).
 *
 * gpuhub keeps FGD's measure but compares it exactly for fractional
 * requests and in quarter-GPU steps for the rest, and breaks the ties
 * that leaves by what each request does to the node's spare GPU or CPU
 * (see gpuhub_cost below).
 */
#include <math.h>
#include <string.h>

#define PLACE_INTERNAL
#include "common/err.h"
#include "sched/place.h"

/* Can g host one share of a request of `milli` (ignoring memory)? */
static int gpu_hosts(const place_cluster_t *c, const place_gpu_t *g, int milli)
{
	switch (g->share) {
	case PLACE_SHARE_EXCLUSIVE:
		return g->ntasks == 0;
	case PLACE_SHARE_MPS:
		return g->free_milli >= milli;
	case PLACE_SHARE_MIG: {
		const place_mig_layout_t *l = &c->mig_layouts[g->mig_layout];

		for (int i = 0; i < l->nprofiles; i++) {
			const place_mig_profile_t *p = &l->profiles[i];

			if (place__mig_milli(l, (unsigned)p->slices) < milli)
				continue;
			for (int s = 0; s + p->slices <= l->slices; s++) {
				unsigned bits = ((1u << p->slices) - 1) << s;

				if ((p->starts & (1u << s)) && (g->mig_free & bits) == bits)
					return 1;
			}
		}
		return 0;
	}
	}
	return 0;
}

/* F_n(M) when every usable GPU of n is MPS-shared (the common case):
 * free amounts sorted high to low, so for a shape of share m the GPUs that
 * can host it are a prefix of the list. */
static double frag_mps(const place_node_t *n, const place_workload_t *w, const int *fr,
		       const int *model, int k, double total)
{
	double f = 0;

	for (int i = 0; i < w->n; i++) {
		const place_wclass_t *m = &w->cls[i];
		double usable = 0;
		int cnt = 0;

		if (m->num_gpu == 0 || m->num_gpu > k || n->cpu_free_milli < m->cpu_milli ||
		    n->memory_free_mib < m->memory_mib) {
			f += m->weight * total;
			continue;
		}
		for (int j = 0; j < k && fr[j] >= m->gpu_milli; j++) {
			if (m->model_mask && !((m->model_mask >> model[j]) & 1))
				continue;
			cnt++;
			usable += fr[j];
		}
		f += m->weight * (cnt >= m->num_gpu ? total - usable : total);
	}
	return f;
}

double place__frag(const place_cluster_t *c, const place_node_t *n, const place_workload_t *w)
{
	int fr[PLACE_NODE_GPUS_MAX], model[PLACE_NODE_GPUS_MAX], k = 0, mps = 1;
	double total = 0, f = 0;

	for (int j = 0; j < n->ngpus; j++) {
		const place_gpu_t *g = &n->gpus[j];
		int i = k;

		if (g->disabled)
			continue;
		total += g->free_milli;
		mps &= g->share == PLACE_SHARE_MPS;
		while (i > 0 && fr[i - 1] < g->free_milli) {
			fr[i] = fr[i - 1];
			model[i] = model[i - 1];
			i--;
		}
		fr[i] = g->free_milli;
		model[i] = g->model;
		k++;
	}
	if (total == 0 || !w)
		return 0;
	if (mps)
		return frag_mps(n, w, fr, model, k, total);
	for (int i = 0; i < w->n; i++) {
		const place_wclass_t *m = &w->cls[i];
		double usable = 0;
		int cnt = 0;

		if (m->num_gpu == 0 || n->cpu_free_milli < m->cpu_milli ||
		    n->memory_free_mib < m->memory_mib) {
			f += m->weight * total;
			continue;
		}
		for (int j = 0; j < n->ngpus; j++) {
			const place_gpu_t *g = &n->gpus[j];

			if (g->disabled || (m->model_mask && !((m->model_mask >> g->model) & 1)))
				continue;
			if (gpu_hosts(c, g, m->gpu_milli)) {
				cnt++;
				usable += g->free_milli;
			}
		}
		f += m->weight * (cnt >= m->num_gpu ? total - usable : total);
	}
	return f;
}

/* ΔF of placing r on n with the GPUs of pick. */
static double frag_delta(const place_cluster_t *c, const place_node_t *n,
			 const place_workload_t *w, const place__req_t *r, const place__pick_t *p,
			 double f0)
{
	place_node_t tmp = *n;

	place__node_take(c, &tmp, r, p);
	return place__frag(c, &tmp, w) - f0;
}

/* Is GPU j the same, for scoring, as an earlier GPU of n? Then it
 * scores the same and need not be tried (the earlier one wins ties). */
static int gpu_seen(const place_node_t *n, int j)
{
	const place_gpu_t *g = &n->gpus[j];

	for (int i = 0; i < j; i++) {
		const place_gpu_t *h = &n->gpus[i];

		if (h->free_milli == g->free_milli && h->memory_free_mib == g->memory_free_mib &&
		    h->memory_mib == g->memory_mib && h->model == g->model &&
		    h->share == g->share && h->mig_free == g->mig_free &&
		    h->ntasks == g->ntasks && h->disabled == g->disabled &&
		    h->mig_layout == g->mig_layout)
			return 1;
	}
	return 0;
}

/* F_n now: from *f0 when the caller remembers it, else computed (and
 * remembered). */
static double frag_now(const place_cluster_t *c, const place_node_t *n,
		       const place_workload_t *w, double *f0)
{
	if (f0 && !isnan(*f0))
		return *f0;
	double f = place__frag(c, n, w);

	if (f0)
		*f0 = f;
	return f;
}

/* The published plugin's integer score for a change ΔF (milli-GPU). */
static double fgd_score(double delta)
{
	return floor(100.0 / (1.0 + exp(delta / 1000.0)));
}

static double fgd_cost(const place_cluster_t *c, const place_node_t *n,
		       const place_workload_t *w, const place__req_t *r, place__pick_t *pick,
		       double *f0p)
{
	double f0 = frag_now(c, n, w, f0p);
	place__pick_t p;

	if (r->ngpu == 1 && r->milli < PLACE_MILLI) {
		double best = -1;

		/* Each GPU that fits; the first with the best score wins. */
		for (int j = 0; j < n->ngpus; j++) {
			place__pick_t one;
			double s;

			memset(&one, 0, sizeof(one));
			if (gpu_seen(n, j) || !place__gpu_take(c, &n->gpus[j], r, &one.take[0]))
				continue;
			one.n = 1;
			one.gpu[0] = j;
			s = fgd_score(frag_delta(c, n, w, r, &one, f0));
			if (s > best) {
				best = s;
				p = one;
			}
		}
		if (best < 0)
			return 0;
		if (pick)
			*pick = p;
		return -best;
	}
	if (place__pick(c, n, r, PLACE__SEL_BEST, NULL, &p) != 0)
		return 0;
	if (pick)
		*pick = p;
	return -fgd_score(frag_delta(c, n, w, r, &p, f0));
}

/*
 * gpuhub: FGD's measure, compared at two resolutions, plus, for a
 * fraction, what its GPU is bound to end with.
 *
 *   fractional (one GPU, share < 1000): ΔV first, then ⌊ΔF⌋ (cost =
 *     S·ΔV + ⌊ΔF⌋, S larger than any difference of ΔF), in milli-GPU, on
 *     the GPU of the node where it is lowest.
 *     ΔF to the milli-GPU: a fraction decides how much of a GPU is lost
 *     to slivers, so a difference of a few milli-GPU is real; FGD's
 *     integer sigmoid score cannot see differences below about 40.
 *     (Rounding matters: ΔF is F after minus F before, and two nodes in
 *     equivalent states differ in it only by floating-point rounding,
 *     which must not decide between them.)
 *     ΔV = V(free after) − V(free before), V = w->sliver: the least free
 *     milli that popular fractions can leave on the GPU, counting only the
 *     fractions the node has CPU for, before and after (place.c). F asks
 *     whether the next request can use a GPU's free share; V asks what
 *     the GPU will end with once the requests that fit it have come. F
 *     alone sends a 0.32 to a GPU with 0.53 free (leaving 0.21 nobody
 *     fits) rather than to one with 0.68 free, since 0.53 is the less
 *     usable now; V sees that 0.53 is exactly what the next 0.47 needs.
 *     ΔV comes first: a sliver is lost for good, while ΔF is about the
 *     next request only (weighing ΔV 2×, 10×, 30×, then ≥ 100×, which
 *     is this order, gave 4.07, 4.03, 3.95, 3.95 on the trace below).
 *   whole GPUs, several GPUs, CPU only: cost = ⌊ΔF / 250⌋. Differences of
 *     less than a quarter GPU of expected fragmentation come from the CPU
 *     thresholds of a few shapes; treating them as ties lets the first
 *     node in order win, so whole GPUs are taken from nodes already in
 *     use, one node after the other, and whole nodes stay free for the
 *     large requests.
 * Ties between nodes are then broken by two more keys, together worth
 * less than one unit of the first cost:
 *   model pressure (fractions and GPU tasks): how much of the workload
 *     can only run on GPUs of this node's model, per GPU of the models
 *     it allows, relative to the cluster's GPUs (model_pressure below),
 *     in tenths, least first: requests that may run anywhere go where
 *     no constrained shape is waiting for the GPUs. 0 everywhere when no
 *     shape names models;
 *   fraction, CPU only: the free GPU milli the node is left with, least
 *     first: fractions and CPU-only tasks go where GPUs are already in
 *     use, so nodes with whole GPUs keep their CPU for whole-GPU tasks;
 *   GPU tasks (whole or several GPUs): the free CPU the node is left
 *     with, least first (best fit on CPU): they fill the nodes whose
 *     cores are running out and leave the CPU-rich nodes to CPU-hungry
 *     shapes.
 * Remaining ties go to the first GPU, then to the first node
 * (place_choose.c).
 *
 * Worked examples (nodes in the order A, B).
 *  1 whole GPU, say ΔF = −131 on A and −136 on B:
 *    FGD:    ⌊100/(1+e^−0.131)⌋ = 53 and ⌊100/(1+e^−0.136)⌋ = 53 → tie → A
 *    exact:  −136 < −131 → B, and so on for every small CPU difference:
 *            whole GPUs spread over ever more nodes
 *    gpuhub: ⌊−131/250⌋ = ⌊−136/250⌋ = −1 → tie → A
 *  0.47 GPU, say ΔF = +31.0 on A and +12.4 on B, the same ΔV (B's best
 *    GPU is left with a sliver some popular shape still fits):
 *    FGD:    ⌊100/(1+e^0.031)⌋ = 49 and ⌊100/(1+e^0.0124)⌋ = 49 → tie → A
 *    gpuhub: 31 > 12 → B
 *  0.32 GPU; workload {1 GPU: 0.4, 0.47: 0.2, 0.32: 0.2, 0.65: 0.2}; one
 *    node, GPU 0 with 530 free, GPU 1 with 680 free (F = 484 + 106 = 590):
 *    GPU 0 → 210 free: F = 356 + 42 + 42 + 42 = 482, ΔF = −108;
 *                      V 60 → 210, ΔV = +150
 *    GPU 1 → 360 free: F = 356 + 72 + 0 + 178 = 606, ΔF = +16;
 *                      V 30 → 40,  ΔV = +10: less → GPU 1
 *    FGD: 52 and 49 → GPU 0; gpuhub → GPU 1, and the next 0.47 fills GPU 0
 *    to 60 free where it would have left 210 unused.
 *  Later keys: a whole GPU with ΔF −131 on A (12 cores left after) and
 *    −140 on B (4 cores left): both ⌊·/250⌋ = −1; B leaves less CPU → B.
 *    A CPU-only task with ΔF 0 on A (3 GPUs free) and on B (no GPU
 *    free) → B. A whole GPU on a cluster of 8 T4 and 8 A100 GPUs whose
 *    workload is {any 1 GPU: 0.8, 1 A100: 0.2}: pressure on A100 nodes
 *    16 · 0.2 / 8 = 0.4 (4 tenths), on T4 nodes 0 → a T4 node, even if
 *    an A100 node would leave less CPU.
 *
 * On the Alibaba trace (sim fgd, seeds 42-51, workload shapes with host
 * memory) this leaves 3.95% of GPU capacity unallocated at 100% arrived
 * against FGD's 4.75 (docs/scheduler.md has the steps and the variants).
 */
#define GPUHUB_BUCKET 250.0
/* S: ΔF of a fraction lies in [−free, +free] of its node, so two nodes'
 * ΔF differ by less than 2 · 16 GPUs; one milli of ΔV outweighs that. */
#define GPUHUB_SLIVER_FIRST (2.0 * PLACE_NODE_GPUS_MAX * PLACE_MILLI + 1)
/* Scale of the second key: key / (key + K) grows with key and stays
 * below 1, so it only orders nodes whose first costs are equal. */
#define GPUHUB_KEY_SCALE 1e6
/* Model pressure counts in tenths, up to this many. */
#define GPUHUB_PRESSURE_MAX 100

static double tie_key(double key)
{
	if (key < 0)
		key = 0;
	return key / (key + GPUHUB_KEY_SCALE);
}

/* Model pressure of n: N · Σ p_m g_m / G_m over the shapes m of w that
 * name models, allow n's model and need GPUs; g_m = GPUs of m (a share
 * counts as its part of one), G_m = GPUs in the cluster of the models m
 * allows, N = all GPUs (nm). 0 when no shape names models. */
static double model_pressure(const place_node_t *n, const place_workload_t *w,
			     const place__norm_t *nm)
{
	int md = -1;
	double p = 0;

	for (int j = 0; j < n->ngpus && md < 0; j++)
		if (!n->gpus[j].disabled)
			md = n->gpus[j].model;
	if (!w || !nm || md < 0 || md >= PLACE_MODELS_MAX || nm->gpus <= 0)
		return 0;
	for (int i = 0; i < w->n; i++) {
		const place_wclass_t *m = &w->cls[i];
		double cap = 0;

		if (!m->model_mask || m->num_gpu == 0 || !((m->model_mask >> md) & 1))
			continue;
		for (uint64_t b = m->model_mask; b; b &= b - 1)
			cap += nm->model_gpus[__builtin_ctzll(b)];
		if (cap > 0)
			p += m->weight * m->num_gpu * m->gpu_milli / PLACE_MILLI / cap;
	}
	return p * nm->gpus;
}

/* The keys after the first cost, as one number in [0, 1). */
static double later_keys(const place_node_t *n, const place_workload_t *w,
			 const place__norm_t *nm, const place__req_t *r, double key)
{
	double q = 0;

	if (r->ngpu > 0) {
		q = floor(model_pressure(n, w, nm) * 10);
		if (q > GPUHUB_PRESSURE_MAX)
			q = GPUHUB_PRESSURE_MAX;
	}
	return (q + tie_key(key)) / (GPUHUB_PRESSURE_MAX + 1);
}

/* ΔV of taking t (and r's CPU) from GPU g of node n: how much more the
 * GPU is bound to end with unused (w->sliver). 0 for other sharing
 * modes, where the rest of the GPU is not for other fractions. */
static double sliver_delta(const place_node_t *n, const place_gpu_t *g,
			   const place_workload_t *w, const place__req_t *r,
			   const place__take_t *t)
{
	if (!w || g->share != PLACE_SHARE_MPS || t->milli > g->free_milli)
		return 0;
	return place__sliver(w, n->cpu_free_milli - r->cpu, g->free_milli - t->milli) -
	       place__sliver(w, n->cpu_free_milli, g->free_milli);
}

static double gpuhub_cost(const place_cluster_t *c, const place_node_t *n,
			  const place_workload_t *w, const place__req_t *r, const place__norm_t *nm,
			  place__pick_t *pick, double *f0p)
{
	double f0 = frag_now(c, n, w, f0p);
	double best = 0;
	int found = 0;
	place__pick_t p;

	if (r->ngpu == 1 && r->milli < PLACE_MILLI) {
		for (int j = 0; j < n->ngpus; j++) {
			place__pick_t one;
			double cost;

			memset(&one, 0, sizeof(one));
			if (gpu_seen(n, j) || !place__gpu_take(c, &n->gpus[j], r, &one.take[0]))
				continue;
			one.n = 1;
			one.gpu[0] = j;
			cost = GPUHUB_SLIVER_FIRST *
				       sliver_delta(n, &n->gpus[j], w, r, &one.take[0]) +
			       floor(frag_delta(c, n, w, r, &one, f0));
			if (!found || cost < best) {
				best = cost;
				p = one;
				found = 1;
			}
		}
		if (!found)
			return 0;
		if (pick)
			*pick = p;
		/* The key: free GPU milli left after r (one share per GPU). */
		return best + later_keys(n, w, nm, r,
					 place__node_gpu_free(n) - (double)r->ngpu * r->milli);
	}
	if (place__pick(c, n, r, PLACE__SEL_BEST, NULL, &p) != 0)
		return 0;
	if (pick)
		*pick = p;
	return floor(frag_delta(c, n, w, r, &p, f0) / GPUHUB_BUCKET) +
	       later_keys(n, w, nm, r,
			  r->ngpu == 0 ? (double)place__node_gpu_free(n)
				       : (double)(n->cpu_free_milli - r->cpu));
}

double place__cost_frag(place_policy_t policy, const place_cluster_t *c, const place_node_t *n,
			const place_workload_t *w, const place__req_t *r, const place__norm_t *nm,
			place__pick_t *pick, double *f0)
{
	if (policy == PLACE_GPUHUB)
		return gpuhub_cost(c, n, w, r, nm, pick, f0);
	return fgd_cost(c, n, w, r, pick, f0);
}
