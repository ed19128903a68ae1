/*
 * sim_fgd.c — "gpuhub sim fgd": the main experiment of "Beware of
 * Fragmentation" (Weng et al., USENIX ATC'23) on the Alibaba GPU trace,
 * run with gpuhub's own placement code.
 *
 * One run, for a policy and a seed (as the paper's simulator runs it):
 *   1. shuffle the trace's tasks with the seed (Fisher-Yates);
 *   2. append tasks drawn with replacement from the trace until one more
 *      would take the total GPU request past ratio × capacity (1.3);
 *   3. let the tasks arrive one by one, no departures; each is placed
 *      once, by the policy, or fails for good;
 *   4. after each arrival record arrived GPU (requested, placed or not)
 *      and used GPU (allocated milli-GPU), both as % of capacity.
 * The result at X% arrived is the mean used % over the arrivals whose
 * arrived % rounds to X (±1 when none does), and "unallocated" is 100
 * minus it. The headline number is unallocated at 100% arrived.
 *
 * The target workload that fgd and gpuhub measure fragmentation against
 * is the trace's own mix of task shapes (CPU, GPU count, GPU share,
 * models), most popular first, up to 95% of tasks — the paper's setting;
 * gpuhub's shapes also carry host memory (sim_fgd_cli.c).
 *
 * Worked example of the reading (capacity 10 GPUs): arrivals bring the
 * arrived total to 9.93, 9.98, 10.02, 10.06 GPUs with 9.50, 9.50, 9.60,
 * 9.60 used. Rounded arrived %: 99, 100, 100, 101 → used at 100% =
 * mean(95.0, 96.0) = 95.5 → unallocated 4.5%.
 *
 * The shuffle and top-up depend only on the seed, so every policy sees
 * the same tasks in the same order for a seed. The seed also orders the
 * nodes (policies give ties to the first node, as the paper's scheduler
 * gives them to the lowest node name, names carrying a random prefix),
 * and feeds a third stream for the random policy's draws.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "sim/sim_int.h"

int sim_fgd_workload(const place_cluster_t *c, const sim_trace_t *t, const sim_fgd_opts_t *o,
		     place_workload_t *w)
{
	int rc = 0;

	place_workload_init(w);
	for (int i = 0; i < t->npods && rc == 0; i++) {
		place_request_t r = t->pods[i].req;

		if (!o->workload_memory)
			r.memory_mib = 0;
		rc = place_workload_add(w, c, &r, 1.0);
	}
	if (rc == 0)
		rc = place_workload_finish(w, o->keep);
	if (rc)
		place_workload_destroy(w);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The order of tasks for a seed: shuffled trace, then the top-up. */
static int build_order(const sim_trace_t *t, int64_t cap_milli, double ratio, int seed,
		       int **order, int *n)
{
	uint64_t rng = (uint64_t)seed * 0x9e3779b97f4a7c15ULL + 1;
	int64_t total = 0, target = (int64_t)(ratio * (double)cap_milli);
	int len = t->npods, cap = t->npods * 2 + 16;
	int *o = malloc((size_t)cap * sizeof(*o));

	if (!o)
		return GH_ENOMEM;
	for (int i = 0; i < len; i++) {
		o[i] = i;
		total += t->pods[i].gpu_milli_total;
	}
	for (int i = len - 1; i > 0; i--) {
		int k = (int)place_rng_below(&rng, (uint64_t)i + 1), tmp = o[i];

		o[i] = o[k];
		o[k] = tmp;
	}
	/* A trace without GPU demand would never reach the target: no top-up. */
	while (t->npods > 0 && total > 0 && len < 64 * t->npods + 1024) {
		int k = (int)place_rng_below(&rng, (uint64_t)t->npods);

		if (total + t->pods[k].gpu_milli_total > target)
			break;
		if (len == cap) {
			int *no = realloc(o, (size_t)(cap *= 2) * sizeof(*o));

			if (!no) {
				free(o);
				return GH_ENOMEM;
			}
			o = no;
		}
		o[len++] = k;
		total += t->pods[k].gpu_milli_total;
	}
	*order = o;
	*n = len;
	return 0;
}

/* A seeded node order: policies give ties to the first node, so this
 * plays the part of the random node-name prefixes of the paper's runs. */
static void shuffle_nodes(place_cluster_t *c, int seed)
{
	uint64_t rng = ((uint64_t)seed << 20) ^ 0x2545f4914f6cdd1dULL;

	for (int i = c->nnodes - 1; i > 0; i--) {
		int k = (int)place_rng_below(&rng, (uint64_t)i + 1);
		place_node_t tmp = c->nodes[i];

		c->nodes[i] = c->nodes[k];
		c->nodes[k] = tmp;
	}
}

int sim_fgd_run(const place_cluster_t *c, const sim_trace_t *t, const place_workload_t *w,
		const sim_fgd_opts_t *o, place_policy_t policy, int seed, sim_run_t *out)
{
	double sum[SIM_CURVE_MAX] = {0}, t0 = now_s();
	int cnt[SIM_CURVE_MAX] = {0};
	place_cluster_t cl;
	place_cache_t *cache = NULL;
	int64_t cap_milli, arrived = 0, used = 0;
	uint64_t rng = ((uint64_t)seed << 32) ^ 0x5bd1e995u;
	int *order = NULL, n = 0, rc;

	memset(out, 0, sizeof(*out));
	out->policy = policy;
	out->seed = seed;
	place_cluster_gpu_totals(c, &cap_milli, NULL);
	if (cap_milli <= 0)
		return GH_EINVAL;
	rc = place_cluster_copy(&cl, c);
	if (rc)
		return rc;
	shuffle_nodes(&cl, seed);
	rc = place_cache_create(cl.nnodes, &cache);
	if (rc)
		goto out;
	rc = build_order(t, cap_milli, o->ratio, seed, &order, &n);
	if (rc)
		goto out;
	for (int i = 0; i < n; i++) {
		const sim_pod_t *p = &t->pods[order[i]];
		place_result_t res;
		double pct;
		int bucket;

		arrived += p->gpu_milli_total;
		rc = place_choose_cached(policy, &cl, w, &p->req, &rng, cache, &res);
		if (rc == 0) {
			rc = place_apply(&cl, &res);
			if (rc)
				goto out;
			for (int k = 0; k < res.nslots; k++)
				used += res.slots[k].milli;
			out->placed++;
		} else if (rc == GH_ENOCAP) {
			out->failed++;
		} else {
			goto out;
		}
		rc = 0;
		pct = 100.0 * (double)arrived / (double)cap_milli;
		bucket = (int)floor(pct + 0.5);
		if (bucket >= 0 && bucket < SIM_CURVE_MAX) {
			sum[bucket] += 100.0 * (double)used / (double)cap_milli;
			cnt[bucket]++;
		}
	}
	for (int b = 0; b < SIM_CURVE_MAX; b++) {
		double s = 0;
		int k = 0;

		if (cnt[b]) {
			s = sum[b];
			k = cnt[b];
		} else {
			for (int d = -1; d <= 1; d++) {
				if (b + d >= 0 && b + d < SIM_CURVE_MAX) {
					s += sum[b + d];
					k += cnt[b + d];
				}
			}
		}
		out->curve[b] = k ? 100.0 - s / k : NAN;
	}
	out->unalloc_at_100 = out->curve[100];
out:
	out->seconds = now_s() - t0;
	free(order);
	place_cache_destroy(cache);
	place_cluster_destroy(&cl);
	return rc;
}
