/*
 * test_place_fx.h — what the placement tests (test_place.c,
 * test_place_gpuhub.c) build their hand-made clusters and requests with,
 * and check a choice with.
 * Include after cmocka.h.
 */
#ifndef GH_TEST_PLACE_FX_H
#define GH_TEST_PLACE_FX_H

#include <stdio.h>
#include <string.h>

#include "sched/place.h"

/* A cluster of n nodes, each with cpu cores, 256 GiB and g GPUs of model. */
static void mk(place_cluster_t *c, int n, int cores, int g, const char *model,
	       place_share_t share)
{
	assert_int_equal(place_cluster_init(c), 0);
	for (int i = 0; i < n; i++) {
		char name[16];
		int node;

		snprintf(name, sizeof name, "n%d", i);
		assert_int_equal(place_cluster_add_node(c, name, cores * 1000LL, 256 * 1024, &node), 0);
		for (int j = 0; j < g; j++)
			assert_int_equal(place_node_add_gpu(c, node, model, 16384, share, -1), 0);
	}
}

/* ngpu GPUs of milli each (a gang), cores CPU cores, 1 GiB of memory. */
static place_request_t req(int ngpu, int milli, int cores)
{
	place_request_t r;

	memset(&r, 0, sizeof(r));
	r.num_gpu = ngpu;
	r.gpu_milli = milli;
	r.cpu_milli = cores * 1000LL;
	r.memory_mib = 1024;
	r.gang = 1;
	return r;
}

/* GPU `gpu` of node `node` in use by one task, free_milli left free. */
static void used(place_cluster_t *c, int node, int gpu, int free_milli)
{
	c->nodes[node].gpus[gpu].free_milli = free_milli;
	c->nodes[node].gpus[gpu].ntasks = 1;
}

/* place_choose(p) (no random state) succeeds and puts r's first slot on
 * node, and on GPU gpu unless gpu is -1; returns the result (for the
 * score and other slots). */
static place_result_t picks(place_policy_t p, const place_cluster_t *c, const place_workload_t *w,
			    place_request_t r, int node, int gpu)
{
	place_result_t res;

	assert_int_equal(place_choose(p, c, w, &r, NULL, &res), 0);
	assert_int_equal(res.slots[0].node, node);
	if (gpu != -1)
		assert_int_equal(res.slots[0].gpu, gpu);
	return res;
}

/* Workload {1 GPU: ½, 0.5 GPU: ½}, no CPU or memory (place_fgd.c's worked
 * example). */
static void half_workload(place_cluster_t *c, place_workload_t *w)
{
	place_request_t a = req(1, 1000, 0), b = req(1, 500, 0);

	a.memory_mib = b.memory_mib = 0;
	place_workload_init(w);
	assert_int_equal(place_workload_add(w, c, &a, 1), 0);
	assert_int_equal(place_workload_add(w, c, &b, 1), 0);
	assert_int_equal(place_workload_finish(w, 1.0), 0);
}

/* n0: one A100, 8 cores; n1: one T4, 32 cores. Workload {any 1 GPU:
 * 0.8, 2 A100: 0.2}, no CPU or memory (place_fgd.c's model pressure). */
static void a100_t4(place_cluster_t *c, place_workload_t *w)
{
	place_request_t any = req(1, 1000, 0), a100 = req(2, 1000, 0);
	int node;

	assert_int_equal(place_cluster_init(c), 0);
	assert_int_equal(place_cluster_add_node(c, "n0", 8000, 256 * 1024, &node), 0);
	assert_int_equal(place_node_add_gpu(c, node, "A100", 16384, PLACE_SHARE_MPS, -1), 0);
	assert_int_equal(place_cluster_add_node(c, "n1", 32000, 256 * 1024, &node), 0);
	assert_int_equal(place_node_add_gpu(c, node, "T4", 16384, PLACE_SHARE_MPS, -1), 0);
	any.memory_mib = a100.memory_mib = 0;
	snprintf(a100.models, sizeof(a100.models), "A100");
	place_workload_init(w);
	assert_int_equal(place_workload_add(w, c, &any, 0.8), 0);
	assert_int_equal(place_workload_add(w, c, &a100, 0.2), 0);
	assert_int_equal(place_workload_finish(w, 1.0), 0);
}

#endif
