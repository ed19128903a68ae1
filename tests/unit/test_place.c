/*
 * test_place.c — placement (src/sched/place*.c): hand-made clusters with
 * known answers for every rule (fraction packing, model constraints, MIG,
 * gang, CPU-only, each policy's choice), apply/release invariants, and a
 * property test of 10,000 random cases. gpuhub's own rules (ΔV, the
 * second key) are in test_place_gpuhub.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sched/place.h"
#include "test_place_fx.h"

/* ---- helpers ---- */

/* Chooses and applies; returns the result (asserting success). */
static place_result_t put(place_cluster_t *c, place_policy_t p, const place_workload_t *w,
			  place_request_t r)
{
	place_result_t res;
	uint64_t rng = 1;

	assert_int_equal(place_choose(p, c, w, &r, &rng, &res), 0);
	assert_int_equal(place_apply(c, &res), 0);
	return res;
}

static int64_t gpu_free(const place_cluster_t *c)
{
	int64_t f;

	place_cluster_gpu_totals(c, NULL, &f);
	return f;
}

/* ---- names, requests ---- */

static void test_policy_names(void **state)
{
	place_policy_t p;

	(void)state;
	for (int i = 0; i < PLACE__COUNT; i++) {
		assert_non_null(place_policy_name((place_policy_t)i));
		assert_int_equal(place_policy_parse(place_policy_name((place_policy_t)i), &p), 0);
		assert_int_equal(p, i);
	}
	assert_string_equal(place_policy_name(PLACE_FGD), "fgd");
	assert_string_equal(place_policy_name(PLACE_GPUHUB), "gpuhub");
	assert_null(place_policy_name(PLACE__COUNT));
	assert_int_equal(place_policy_parse("best-fit", &p), GH_EINVAL);
	assert_int_equal(place_policy_parse(NULL, &p), GH_EINVAL);
	/* only gpuhub measures fragmentation against shapes with host memory */
	for (int i = 0; i < PLACE__COUNT; i++)
		assert_int_equal(place_policy_workload_memory((place_policy_t)i), i == PLACE_GPUHUB);
}

static void test_request_check(void **state)
{
	place_request_t r = req(1, 500, 1);

	(void)state;
	assert_int_equal(place_request_check(&r), 0);
	r.gpu_milli = 0;
	assert_int_equal(place_request_check(&r), GH_EINVAL);
	r.gpu_milli = 1001;
	assert_int_equal(place_request_check(&r), GH_EINVAL);
	r = req(0, 0, 4); /* CPU only: gpu_milli ignored */
	assert_int_equal(place_request_check(&r), 0);
	r = req(17, 1000, 1); /* gang larger than any node can be */
	assert_int_equal(place_request_check(&r), GH_EINVAL);
	r.gang = 0;
	assert_int_equal(place_request_check(&r), 0);
	r = req(1, 1000, 1);
	strcpy(r.models, "A100||T4");
	assert_int_equal(place_request_check(&r), GH_EINVAL);
	strcpy(r.models, "A100|T4");
	assert_int_equal(place_request_check(&r), 0);
	r.cpu_milli = -1;
	assert_int_equal(place_request_check(&r), GH_EINVAL);
}

static void test_cluster_build(void **state)
{
	place_cluster_t c, d;
	int64_t cap, fr;
	int id;

	(void)state;
	mk(&c, 3, 8, 2, "T4", PLACE_SHARE_MPS);
	assert_int_equal(c.nnodes, 3);
	assert_int_equal(c.nmodels, 1);
	place_cluster_gpu_totals(&c, &cap, &fr);
	assert_int_equal(cap, 6000);
	assert_int_equal(fr, 6000);
	assert_int_equal(place_cluster_model_find(&c, "T4", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(place_cluster_model_find(&c, "A100", &id), GH_ENOTFOUND);
	assert_int_equal(place_node_add_gpu(&c, 7, "T4", 1, PLACE_SHARE_MPS, -1), GH_EINVAL);
	assert_int_equal(place_node_add_gpu(&c, 0, "T4", 1, PLACE_SHARE_MIG, -1), GH_EINVAL);
	assert_int_equal(place_cluster_copy(&d, &c), 0);
	assert_int_equal(d.nnodes, 3);
	assert_memory_equal(d.nodes, c.nodes, 3 * sizeof(place_node_t));
	place_cluster_destroy(&d);
	place_cluster_destroy(&c);
}

/* ---- rules ---- */

static void test_fraction_packing(void **state)
{
	place_cluster_t c;
	place_result_t a, b, d;

	(void)state;
	mk(&c, 1, 32, 2, "T4", PLACE_SHARE_MPS);
	a = put(&c, PLACE_BESTFIT, NULL, req(1, 500, 1));
	b = put(&c, PLACE_BESTFIT, NULL, req(1, 300, 1));
	/* The second fraction goes on the partly used GPU. */
	assert_int_equal(a.nslots, 1);
	assert_int_equal(b.slots[0].gpu, a.slots[0].gpu);
	assert_int_equal(c.nodes[0].gpus[a.slots[0].gpu].free_milli, 200);
	assert_int_equal(c.nodes[0].gpus[a.slots[0].gpu].ntasks, 2);
	/* A whole GPU still fits on the other one; a 0.3 does not fit in 0.2. */
	d = put(&c, PLACE_BESTFIT, NULL, req(1, 1000, 1));
	assert_int_not_equal(d.slots[0].gpu, a.slots[0].gpu);
	{
		place_request_t r = req(1, 300, 1);
		place_result_t res;

		assert_int_equal(place_choose(PLACE_BESTFIT, &c, NULL, &r, NULL, &res), GH_ENOCAP);
		assert_int_equal(res.reject.gpu_milli, 1);
	}
	/* Proportional GPU memory for an MPS share without a memory ask. */
	assert_int_equal(a.slots[0].gpu_memory_mib, 16384 / 2);
	place_cluster_destroy(&c);
}

static void test_model_constraints(void **state)
{
	place_cluster_t c;
	place_request_t r = req(1, 1000, 1);
	place_result_t res;
	int node;

	(void)state;
	mk(&c, 2, 16, 2, "T4", PLACE_SHARE_MPS);
	assert_int_equal(place_cluster_add_node(&c, "big", 64000, 512 * 1024, &node), 0);
	assert_int_equal(place_node_add_gpu(&c, node, "A100", 81920, PLACE_SHARE_MPS, -1), 0);
	strcpy(r.models, "A100");
	for (int p = 0; p < PLACE__COUNT; p++) {
		uint64_t rng = 3;

		assert_int_equal(place_choose((place_policy_t)p, &c, NULL, &r, &rng, &res), 0);
		assert_int_equal(res.slots[0].node, node);
	}
	strcpy(r.models, "V100|P100");
	assert_int_equal(place_choose(PLACE_FGD, &c, NULL, &r, NULL, &res), GH_ENOCAP);
	assert_int_equal(res.reject.model, 3);
	assert_int_equal(place_fits_empty(&c, &r), 0);
	strcpy(r.models, "V100|T4");
	picks(PLACE_FIRSTFIT, &c, NULL, r, 0, -1);
	/* GPU memory: 20 GB does not fit a 16 GB T4. */
	r = req(1, 500, 1);
	r.gpu_memory_mib = 20000;
	res = picks(PLACE_FIRSTFIT, &c, NULL, r, node, -1);
	assert_int_equal(res.slots[0].gpu_memory_mib, 20000);
	place_cluster_destroy(&c);
}

static void test_mig_fit(void **state)
{
	place_cluster_t c;
	place_mig_layout_t l;
	place_request_t r;
	place_result_t a, b, res;
	int lay, node;

	(void)state;
	assert_int_equal(place_cluster_init(&c), 0);
	place_mig_layout_a100_40gb(&l);
	assert_int_equal(place_cluster_add_mig_layout(&c, &l, &lay), 0);
	assert_int_equal(place_cluster_add_node(&c, "m", 32000, 256 * 1024, &node), 0);
	assert_int_equal(place_node_add_gpu(&c, node, "A100-40GB", 40960, PLACE_SHARE_MIG, lay), 0);
	assert_int_equal(c.nodes[0].gpus[0].mig_free, 0x7f);
	/* The worked example of place_fit.c. */
	a = put(&c, PLACE_BESTFIT, NULL, req(1, 100, 1));
	assert_int_equal(a.slots[0].mig_slices, 1);
	assert_int_equal(a.slots[0].mig_start, 6);
	assert_int_equal(a.slots[0].milli, 142);
	b = put(&c, PLACE_BESTFIT, NULL, req(1, 400, 1));
	assert_int_equal(b.slots[0].mig_slices, 3);
	assert_int_equal(b.slots[0].mig_start, 0);
	assert_int_equal(c.nodes[0].gpus[0].mig_free, 0x38); /* slices 3, 4, 5 */
	assert_int_equal(c.nodes[0].gpus[0].free_milli, 428);
	/* 300 milli needs a 3g (428): 428 milli are free, but no 3g start
	 * (0 or 4) has three free slices. 500 needs a 4g: not enough free. */
	r = req(1, 300, 1);
	assert_int_equal(place_choose(PLACE_BESTFIT, &c, NULL, &r, NULL, &res), GH_ENOCAP);
	assert_int_equal(res.reject.mig, 1);
	r = req(1, 500, 1);
	assert_int_equal(place_choose(PLACE_BESTFIT, &c, NULL, &r, NULL, &res), GH_ENOCAP);
	assert_int_equal(res.reject.gpu_milli, 1);
	r = req(1, 1000, 1);
	assert_int_equal(place_choose(PLACE_BESTFIT, &c, NULL, &r, NULL, &res), GH_ENOCAP);
	/* A named profile: 2g goes to start 4. */
	r = req(1, 1, 1);
	strcpy(r.mig_profile, "2g.10gb");
	res = put(&c, PLACE_BESTFIT, NULL, r);
	assert_int_equal(res.slots[0].mig_start, 4);
	assert_int_equal(res.slots[0].mig_slices, 2);
	assert_int_equal(res.slots[0].gpu_memory_mib, 9728);
	/* Giving everything back makes the GPU whole again. */
	assert_int_equal(place_release(&c, &res), 0);
	assert_int_equal(place_release(&c, &b), 0);
	assert_int_equal(place_release(&c, &a), 0);
	assert_int_equal(c.nodes[0].gpus[0].mig_free, 0x7f);
	assert_int_equal(c.nodes[0].gpus[0].free_milli, 1000);
	assert_int_equal(c.nodes[0].gpus[0].memory_free_mib, 40960);
	/* A released slot cannot be released twice. */
	assert_int_equal(place_release(&c, &a), GH_EINVAL);
	place_cluster_destroy(&c);
}

static void test_gang_all_or_nothing(void **state)
{
	place_cluster_t c, before;
	place_request_t r = req(3, 1000, 3);
	place_result_t res;
	int used[2][2] = {{0}};

	(void)state;
	mk(&c, 2, 32, 2, "T4", PLACE_SHARE_MPS);
	assert_int_equal(place_cluster_copy(&before, &c), 0);
	/* Three GPUs on one node: no node has three → nothing is taken. */
	for (int p = 0; p < PLACE__COUNT; p++) {
		uint64_t rng = 9;

		assert_int_equal(place_choose((place_policy_t)p, &c, NULL, &r, &rng, &res), GH_ENOCAP);
		assert_int_equal(res.nslots, 0);
		assert_int_equal(res.reject.gpu_count, 2);
	}
	assert_memory_equal(c.nodes, before.nodes, 2 * sizeof(place_node_t));
	assert_int_equal(place_fits_empty(&c, &r), 0);
	/* Not a gang: one GPU at a time, three distinct GPUs, CPU split 1+1+1. */
	r.gang = 0;
	assert_int_equal(place_fits_empty(&c, &r), 1);
	res = put(&c, PLACE_BESTFIT, NULL, r);
	assert_int_equal(res.nslots, 3);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(res.slots[k].cpu_milli, 1000);
		assert_int_equal(used[res.slots[k].node][res.slots[k].gpu], 0);
		used[res.slots[k].node][res.slots[k].gpu] = 1;
	}
	assert_int_equal(gpu_free(&c), 1000);
	place_cluster_destroy(&before);
	place_cluster_destroy(&c);
}

static void test_exclusive_and_cpu_only(void **state)
{
	place_cluster_t c;
	place_request_t r;
	place_result_t a, res;

	(void)state;
	mk(&c, 1, 8, 1, "V100", PLACE_SHARE_EXCLUSIVE);
	/* A fraction on an exclusive GPU takes all of it. */
	a = put(&c, PLACE_BESTFIT, NULL, req(1, 250, 1));
	assert_int_equal(a.slots[0].milli, 1000);
	assert_int_equal(c.nodes[0].gpus[0].free_milli, 0);
	r = req(1, 100, 1);
	assert_int_equal(place_choose(PLACE_BESTFIT, &c, NULL, &r, NULL, &res), GH_ENOCAP);
	/* CPU only: one slot without a GPU; CPU and memory taken. */
	res = put(&c, PLACE_FGD, NULL, req(0, 0, 6));
	assert_int_equal(res.nslots, 1);
	assert_int_equal(res.slots[0].gpu, -1);
	assert_int_equal(c.nodes[0].cpu_free_milli, 8000 - 1000 - 6000);
	r = req(0, 0, 2);
	assert_int_equal(place_choose(PLACE_BESTFIT, &c, NULL, &r, NULL, &res), GH_ENOCAP);
	assert_int_equal(res.reject.cpu, 1);
	place_cluster_destroy(&c);
}

/* ---- each policy's choice ---- */

static void test_firstfit_and_random(void **state)
{
	place_cluster_t c;
	place_request_t r = req(1, 1000, 1);
	place_result_t res;
	int seen[4] = {0};
	uint64_t rng = 5;

	(void)state;
	mk(&c, 4, 8, 1, "T4", PLACE_SHARE_MPS);
	c.nodes[0].disabled = 1;
	picks(PLACE_FIRSTFIT, &c, NULL, r, 1, -1);
	/* random: every fitting node, never the disabled one. */
	for (int i = 0; i < 400; i++) {
		assert_int_equal(place_choose(PLACE_RANDOM, &c, NULL, &r, &rng, &res), 0);
		seen[res.slots[0].node]++;
	}
	assert_int_equal(seen[0], 0);
	for (int k = 1; k < 4; k++)
		assert_true(seen[k] > 80);
	place_cluster_destroy(&c);
}

static void test_bestfit_example(void **state)
{
	place_cluster_t c;
	place_result_t res;

	(void)state;
	/* The worked example of place_score.c: C = 128 cores, G = 8 GPUs. */
	mk(&c, 1, 128, 8, "G2", PLACE_SHARE_MPS);  /* n0: the 128-core, 8-GPU node */
	c.nodes[0].cpu_free_milli = 100000;        /* A: 100 cores, 6 GPUs free */
	c.nodes[0].gpus[0].free_milli = 0;
	c.nodes[0].gpus[1].free_milli = 0;
	{
		int node;

		assert_int_equal(place_cluster_add_node(&c, "B", 128000, 256 * 1024, &node), 0);
		assert_int_equal(place_node_add_gpu(&c, node, "G2", 16384, PLACE_SHARE_MPS, -1), 0);
		c.nodes[node].cpu_free_milli = 20000; /* B: 20 cores, 1 GPU */
	}
	res = put(&c, PLACE_BESTFIT, NULL, req(1, 1000, 4));
	assert_int_equal(res.slots[0].node, 1);
	assert_true(res.score == -93);
	/* dotprod agrees here: B's free vector is the least aligned. */
	place_cluster_destroy(&c);
}

static void test_packing_and_dotprod(void **state)
{
	place_cluster_t c;
	place_result_t res;

	(void)state;
	mk(&c, 3, 32, 2, "T4", PLACE_SHARE_MPS);
	/* n1: one GPU partly used; n2: one GPU fully used. */
	put(&c, PLACE_FIRSTFIT, NULL, req(1, 1000, 1)); /* → n0 gpu0 */
	c.nodes[0].gpus[0].free_milli = 1000;
	c.nodes[0].gpus[0].ntasks = 0;
	c.nodes[0].cpu_free_milli = 32000;
	c.nodes[1].gpus[1].free_milli = 600;
	c.nodes[2].gpus[0].free_milli = 0;
	/* packing: a fraction goes to the used GPU (n1), a whole GPU to the
	 * busy node (n2) rather than the idle node n0. */
	res = put(&c, PLACE_PACKING, NULL, req(1, 500, 1));
	assert_int_equal(res.slots[0].node, 1);
	assert_int_equal(res.slots[0].gpu, 1);
	res = put(&c, PLACE_PACKING, NULL, req(1, 1000, 1));
	assert_int_not_equal(res.slots[0].node, 0);
	/* dotprod: with CPU equal, the node with the least free GPU wins. */
	res = put(&c, PLACE_DOTPROD, NULL, req(1, 1000, 1));
	assert_int_not_equal(res.slots[0].node, 0);
	place_cluster_destroy(&c);
}

static void test_fgd_example(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_result_t res;

	(void)state;
	/* The worked example of place_fgd.c. */
	mk(&c, 1, 64, 2, "T4", PLACE_SHARE_MPS);
	half_workload(&c, &w);
	assert_int_equal(w.n, 2);
	assert_true(fabs(w.cls[0].weight - 0.5) < 1e-12);
	used(&c, 0, 1, 600);
	res = put(&c, PLACE_FGD, &w, req(1, 300, 1));
	assert_int_equal(res.slots[0].gpu, 1);
	assert_int_equal(c.nodes[0].gpus[0].free_milli, 1000);
	assert_int_equal(c.nodes[0].gpus[1].free_milli, 300);
	/* gpuhub makes the same choice, and bestfit too. */
	c.nodes[0].gpus[1].free_milli = 600;
	res = put(&c, PLACE_GPUHUB, &w, req(1, 300, 1));
	assert_int_equal(res.slots[0].gpu, 1);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

static void test_fgd_keeps_whole_gpus(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_result_t res;

	(void)state;
	/* Two nodes in order: n0 idle, n1 with one GPU at 550 free. A 0.5
	 * request: bestfit-like policies and fgd/gpuhub all take n1's sliver,
	 * leaving n0's GPUs whole for whole-GPU work. */
	mk(&c, 2, 64, 2, "T4", PLACE_SHARE_MPS);
	half_workload(&c, &w);
	used(&c, 1, 0, 550);
	for (int p = PLACE_BESTFIT; p <= PLACE_GPUHUB; p++) {
		place_request_t r = req(1, 500, 1);

		assert_int_equal(place_choose((place_policy_t)p, &c, &w, &r, NULL, &res), 0);
		if (p != PLACE_DOTPROD) {
			assert_int_equal(res.slots[0].node, 1);
			assert_int_equal(res.slots[0].gpu, 0);
		}
	}
	/* A whole GPU: ΔF is 0 on both nodes (n1's sliver stays what it
	 * was), so fgd and gpuhub take the first node. */
	for (int p = PLACE_FGD; p <= PLACE_GPUHUB; p++)
		picks((place_policy_t)p, &c, &w, req(1, 1000, 1), 0, -1);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

/* ---- the cache ---- */

/* A cached choice is the uncached one; returns it. */
static place_result_t same_cached(place_policy_t p, const place_cluster_t *c,
				  const place_workload_t *w, place_request_t r, place_cache_t *cache)
{
	place_result_t a, b;

	assert_int_equal(place_choose(p, c, w, &r, NULL, &a), 0);
	assert_int_equal(place_choose_cached(p, c, w, &r, NULL, cache, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	return b;
}

static void test_cache_new_totals(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_cache_t *cache;
	place_result_t res;
	place_request_t r = req(1, 1000, 4);
	int node;

	(void)state;
	/* bestfit scales by the largest node's CPU: n0 and n1 (32 cores, 2
	 * GPUs each) score ⌊100·(1 − ½·28/32 − ½·1000/2000)⌋ = 31 alone, and
	 * ⌊100·(1 − ½·28/128 − ¼)⌋ = 64 once a 128-core node joins, though
	 * neither node changed. */
	mk(&c, 2, 32, 2, "T4", PLACE_SHARE_MPS);
	assert_int_equal(place_cache_create(3, &cache), 0);
	res = same_cached(PLACE_BESTFIT, &c, NULL, r, cache);
	assert_true(res.score == -31);
	assert_int_equal(place_cluster_add_node(&c, "big", 128000, 256 * 1024, &node), 0);
	place_cache_totals_changed(cache);
	res = same_cached(PLACE_BESTFIT, &c, NULL, r, cache);
	assert_int_equal(res.slots[0].node, 0);
	assert_true(res.score == -64);
	place_cache_destroy(cache);
	place_cluster_destroy(&c);

	/* gpuhub's model pressure counts the cluster's GPUs: n0's one A100
	 * is all the 2-A100 shape could use, pressure 2 · 0.2 · 2 / 1 = 0.8.
	 * A second A100 node (n2, the same as n0) lowers it to 3 · 0.4 / 2
	 * = 0.6 on both; n0 and n2 then tie and n0, the first, wins. A cost
	 * of n0 kept from before would lose to n2. */
	a100_t4(&c, &w);
	assert_int_equal(place_cache_create(3, &cache), 0);
	snprintf(r.models, sizeof(r.models), "A100");
	res = same_cached(PLACE_GPUHUB, &c, &w, r, cache);
	assert_int_equal(res.slots[0].node, 0);
	assert_int_equal(place_cluster_add_node(&c, "n2", 8000, 256 * 1024, &node), 0);
	assert_int_equal(place_node_add_gpu(&c, node, "A100", 16384, PLACE_SHARE_MPS, -1), 0);
	place_cache_totals_changed(cache);
	res = same_cached(PLACE_GPUHUB, &c, &w, r, cache);
	assert_int_equal(res.slots[0].node, 0);
	place_cache_destroy(cache);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

static void test_workload(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_request_t a = req(1, 1000, 1), b = req(1, 500, 1), d = req(0, 0, 4);

	(void)state;
	mk(&c, 1, 8, 1, "T4", PLACE_SHARE_MPS);
	place_workload_init(&w);
	for (int i = 0; i < 6; i++)
		assert_int_equal(place_workload_add(&w, &c, &a, 1), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(place_workload_add(&w, &c, &b, 1), 0);
	assert_int_equal(place_workload_add(&w, &c, &d, 1), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(place_workload_add(&w, &c, &d, 0), GH_EINVAL);
	/* Keep 85%: the 60% class alone is not enough, 60+30 is. */
	assert_int_equal(place_workload_finish(&w, 0.85), 0);
	assert_int_equal(w.n, 2);
	assert_true(fabs(w.cls[0].weight - 6.0 / 9) < 1e-12);
	assert_true(fabs(w.cls[1].weight - 3.0 / 9) < 1e-12);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

/* ---- apply/release invariants ---- */

static void test_apply_release_invariants(void **state)
{
	place_cluster_t c, before;
	place_result_t a, bad;

	(void)state;
	mk(&c, 2, 16, 2, "T4", PLACE_SHARE_MPS);
	assert_int_equal(place_cluster_copy(&before, &c), 0);
	a = put(&c, PLACE_BESTFIT, NULL, req(2, 1000, 4));
	assert_int_equal(gpu_free(&c), 2000);
	assert_int_equal(place_release(&c, &a), 0);
	assert_memory_equal(c.nodes, before.nodes, 2 * sizeof(place_node_t));
	/* Over-allocation is refused and nothing changes (all or nothing). */
	bad = a;
	bad.slots[1].milli = 1001;
	assert_int_equal(place_apply(&c, &bad), GH_EINVAL);
	assert_memory_equal(c.nodes, before.nodes, 2 * sizeof(place_node_t));
	bad = a;
	bad.slots[0].cpu_milli = 17000;
	assert_int_equal(place_apply(&c, &bad), GH_EINVAL);
	assert_memory_equal(c.nodes, before.nodes, 2 * sizeof(place_node_t));
	bad = a;
	bad.slots[0].node = 5;
	assert_int_equal(place_apply(&c, &bad), GH_EINVAL);
	/* Releasing what was never taken would push free above total. */
	assert_int_equal(place_release(&c, &a), GH_EINVAL);
	assert_memory_equal(c.nodes, before.nodes, 2 * sizeof(place_node_t));
	/* The same GPU twice in one result: the second slot overflows. */
	assert_int_equal(place_apply(&c, &a), 0);
	assert_int_equal(place_apply(&c, &a), GH_EINVAL);
	place_cluster_destroy(&before);
	place_cluster_destroy(&c);
}

/* ---- property test ---- */

typedef struct {
	place_result_t res;
	int live;
} held_t;

static uint64_t prop_rng;

static int draw(int n)
{
	return (int)place_rng_below(&prop_rng, (uint64_t)n);
}

static void random_cluster(place_cluster_t *c)
{
	static const char *const models[] = {"T4", "A100", "V100"};
	place_mig_layout_t l;
	int lay, nn = 1 + draw(4);

	assert_int_equal(place_cluster_init(c), 0);
	place_mig_layout_a100_40gb(&l);
	assert_int_equal(place_cluster_add_mig_layout(c, &l, &lay), 0);
	for (int i = 0; i < nn; i++) {
		int node, ng = draw(9);
		const char *m = models[draw(3)];

		assert_int_equal(place_cluster_add_node(c, "n", 1000LL * (2 + draw(64)),
							1024LL * (4 + draw(256)), &node), 0);
		for (int j = 0; j < ng; j++) {
			int k = draw(4);

			if (k == 3)
				assert_int_equal(place_node_add_gpu(c, node, "A100-40GB", 40960,
								    PLACE_SHARE_MIG, lay), 0);
			else
				assert_int_equal(place_node_add_gpu(c, node, m, 16384,
								    k == 2 ? PLACE_SHARE_EXCLUSIVE
									   : PLACE_SHARE_MPS, -1), 0);
		}
	}
}

static place_request_t random_request(void)
{
	static const char *const specs[] = {"", "", "", "T4", "A100|V100", "A100-40GB"};
	place_request_t r;
	int k = draw(10);

	memset(&r, 0, sizeof(r));
	r.num_gpu = k < 1 ? 0 : k < 6 ? 1 : 1 + draw(4);
	r.gpu_milli = k < 4 ? 1 + draw(999) : 1000;
	r.cpu_milli = 500LL * draw(12);
	r.memory_mib = 512LL * draw(16);
	r.gang = draw(4) != 0;
	if (draw(10) == 0)
		r.gpu_memory_mib = 1024LL * draw(24);
	strcpy(r.models, specs[draw(6)]);
	return r;
}

/* Checks every constraint of one result against the cluster before apply. */
static void check_result(const place_cluster_t *c, const place_request_t *r,
			 const place_result_t *res)
{
	uint64_t mask = place_request_model_mask(c, r);
	int64_t cpu = 0, mem = 0;
	int ngpu = 0;

	assert_true(res->nslots >= 1);
	for (int k = 0; k < res->nslots; k++) {
		const place_slot_t *s = &res->slots[k];
		const place_node_t *n;

		assert_true(s->node >= 0 && s->node < c->nnodes);
		n = &c->nodes[s->node];
		assert_false(n->disabled);
		cpu += s->cpu_milli;
		mem += s->memory_mib;
		if (r->gang)
			assert_int_equal(s->node, res->slots[0].node);
		if (s->gpu < 0)
			continue;
		ngpu++;
		assert_true(s->gpu < n->ngpus);
		assert_true((mask >> n->gpus[s->gpu].model) & 1);
		assert_true(s->milli >= (r->gpu_milli < 1000 ? 1 : 1000));
		if (n->gpus[s->gpu].share == PLACE_SHARE_MPS)
			assert_int_equal(s->milli, r->gpu_milli);
		if (r->gpu_memory_mib)
			assert_true(s->gpu_memory_mib >= r->gpu_memory_mib);
		/* No GPU twice in one result. */
		for (int q = 0; q < k; q++)
			assert_false(res->slots[q].node == s->node && res->slots[q].gpu == s->gpu);
	}
	assert_int_equal(ngpu, r->num_gpu);
	assert_int_equal(cpu, r->cpu_milli);
	assert_int_equal(mem, r->memory_mib);
}

/* Free amounts never negative nor above totals; MPS free + held = capacity. */
static void check_cluster(const place_cluster_t *c, const held_t *h, int nh)
{
	for (int i = 0; i < c->nnodes; i++) {
		const place_node_t *n = &c->nodes[i];
		int64_t cpu = 0, mem = 0;

		assert_true(n->cpu_free_milli >= 0 && n->cpu_free_milli <= n->cpu_milli);
		assert_true(n->memory_free_mib >= 0 && n->memory_free_mib <= n->memory_mib);
		for (int k = 0; k < nh; k++) {
			for (int s = 0; h[k].live && s < h[k].res.nslots; s++) {
				if (h[k].res.slots[s].node == i) {
					cpu += h[k].res.slots[s].cpu_milli;
					mem += h[k].res.slots[s].memory_mib;
				}
			}
		}
		assert_int_equal(n->cpu_milli - n->cpu_free_milli, cpu);
		assert_int_equal(n->memory_mib - n->memory_free_mib, mem);
		for (int j = 0; j < n->ngpus; j++) {
			const place_gpu_t *g = &n->gpus[j];
			int64_t milli = 0, gm = 0;
			int tasks = 0;

			assert_true(g->free_milli >= 0 && g->free_milli <= g->capacity_milli);
			assert_true(g->memory_free_mib >= 0 && g->memory_free_mib <= g->memory_mib);
			for (int k = 0; k < nh; k++) {
				for (int s = 0; h[k].live && s < h[k].res.nslots; s++) {
					const place_slot_t *sl = &h[k].res.slots[s];

					if (sl->node == i && sl->gpu == j) {
						milli += sl->milli;
						gm += sl->gpu_memory_mib;
						tasks++;
					}
				}
			}
			assert_int_equal(g->ntasks, tasks);
			assert_int_equal(g->memory_mib - g->memory_free_mib, gm);
			if (g->share == PLACE_SHARE_MPS)
				assert_int_equal(g->capacity_milli - g->free_milli, milli);
			if (g->share == PLACE_SHARE_EXCLUSIVE)
				assert_true(tasks <= 1);
		}
	}
}

static void test_property_random(void **state)
{
	int cases = 0, placed = 0;

	(void)state;
	prop_rng = 20231129;
	while (cases < 10000) {
		place_cluster_t c;
		place_workload_t w;
		place_cache_t *cache;
		held_t held[48];
		int nh = 0;
		place_policy_t pol = (place_policy_t)draw(PLACE__COUNT);

		memset(held, 0, sizeof(held));
		random_cluster(&c);
		place_workload_init(&w);
		for (int i = 0; i < 6; i++) {
			place_request_t r = random_request();

			assert_int_equal(place_workload_add(&w, &c, &r, 1 + draw(5)), 0);
		}
		assert_int_equal(place_workload_finish(&w, 1.0), 0);
		assert_int_equal(place_cache_create(c.nnodes, &cache), 0);
		for (int step = 0; step < 40 && cases < 10000; step++) {
			if (nh > 0 && draw(4) == 0) {
				int k = draw(nh);

				if (held[k].live) {
					assert_int_equal(place_release(&c, &held[k].res), 0);
					held[k].live = 0;
				}
			} else {
				place_request_t r = random_request();
				place_result_t a, b, d;
				uint64_t s1 = (uint64_t)cases, s2 = s1, s3 = s1;
				int rc1, rc2, rc3;

				rc1 = place_choose(pol, &c, &w, &r, &s1, &a);
				rc2 = place_choose(pol, &c, &w, &r, &s2, &b);
				rc3 = place_choose_cached(pol, &c, &w, &r, &s3, cache, &d);
				/* Deterministic, and the cache changes nothing. */
				assert_int_equal(rc1, rc2);
				assert_int_equal(rc1, rc3);
				assert_int_equal(s1, s2);
				assert_int_equal(s1, s3);
				assert_memory_equal(&a, &b, sizeof(a));
				assert_memory_equal(&a, &d, sizeof(a));
				cases++;
				if (rc1 == GH_ENOCAP) {
					assert_int_equal(a.nslots, 0);
					continue;
				}
				assert_int_equal(rc1, 0);
				check_result(&c, &r, &a);
				assert_int_equal(place_apply(&c, &a), 0);
				placed++;
				if (nh < 48) {
					held[nh].res = a;
					held[nh].live = 1;
					nh++;
				}
			}
			/* Held results that could not be recorded are forgotten,
			 * so only check when every placement is recorded. */
			if (nh < 48)
				check_cluster(&c, held, nh);
		}
		place_cache_destroy(cache);
		place_workload_destroy(&w);
		place_cluster_destroy(&c);
	}
	/* The generator is not degenerate: a good share gets placed. */
	assert_true(placed > 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_names),
		cmocka_unit_test(test_request_check),
		cmocka_unit_test(test_cluster_build),
		cmocka_unit_test(test_fraction_packing),
		cmocka_unit_test(test_model_constraints),
		cmocka_unit_test(test_mig_fit),
		cmocka_unit_test(test_gang_all_or_nothing),
		cmocka_unit_test(test_exclusive_and_cpu_only),
		cmocka_unit_test(test_firstfit_and_random),
		cmocka_unit_test(test_bestfit_example),
		cmocka_unit_test(test_packing_and_dotprod),
		cmocka_unit_test(test_fgd_example),
		cmocka_unit_test(test_fgd_keeps_whole_gpus),
		cmocka_unit_test(test_cache_new_totals),
		cmocka_unit_test(test_workload),
		cmocka_unit_test(test_apply_release_invariants),
		cmocka_unit_test(test_property_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
