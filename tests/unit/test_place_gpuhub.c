/*
 * test_place_gpuhub.c — gpuhub's placement rules (src/sched/place_fgd.c)
 * on hand-made clusters with known answers: what a GPU is bound to end
 * with (ΔV, with and without CPU levels) and the later keys that break
 * ties between nodes (model pressure; free GPU left for fractions and
 * CPU-only tasks, free CPU left for GPU tasks).
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

static void test_gpuhub_sliver(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_result_t res;
	place_request_t shapes[4] = {req(1, 1000, 0), req(1, 470, 0), req(1, 320, 0),
				     req(1, 650, 0)};
	place_request_t r = req(1, 320, 0), rare = req(1, 160, 0);

	(void)state;
	mk(&c, 1, 64, 2, "T4", PLACE_SHARE_MPS);
	place_workload_init(&w);
	for (int i = 0; i < 4; i++) {
		shapes[i].memory_mib = 0;
		assert_int_equal(place_workload_add(&w, &c, &shapes[i], i == 0 ? 2 : 1), 0);
	}
	rare.memory_mib = 0;
	/* 0.5% of requests: not popular enough to count as a filler. */
	assert_int_equal(place_workload_add(&w, &c, &rare, 5.0 / 199), 0);
	assert_int_equal(place_workload_finish(&w, 1.0), 0);
	/* The table of place.c's example: fillers 320, 470, 650, all
	 * without CPU, so one level. */
	assert_int_equal(w.nsliver, 1);
	assert_int_equal(w.sliver_cpu[0], 0);
	assert_int_equal(w.sliver[0], 0);
	assert_int_equal(w.sliver[530], 60);
	assert_int_equal(w.sliver[210], 210);
	assert_int_equal(w.sliver[680], 30);
	assert_int_equal(w.sliver[360], 40);
	assert_int_equal(w.sliver[1000], 30);
	assert_int_equal(w.sliver[190], 190); /* a 160 would fit, but it is rare */
	place_workload_destroy(&w);
	place_workload_init(&w);
	for (int i = 0; i < 4; i++)
		assert_int_equal(place_workload_add(&w, &c, &shapes[i], i == 0 ? 2 : 1), 0);
	assert_int_equal(place_workload_finish(&w, 1.0), 0);
	assert_int_equal(w.sliver[530], 60);
	/* The second worked example of gpuhub_cost: a 0.32 next to a 0.47
	 * (530 free) or next to a 0.32 (680 free). FGD takes the 530 (ΔF
	 * −108 against +16); gpuhub takes the 680 (ΔV +10 against +150,
	 * and ΔV comes first), so
	 * the next 0.47 finds its 530. */
	used(&c, 0, 0, 530);
	used(&c, 0, 1, 680);
	picks(PLACE_FGD, &c, &w, r, 0, 0);
	res = picks(PLACE_GPUHUB, &c, &w, r, 0, 1);
	/* ΔV first: 10 · S (S = 2 · 16 · 1000 + 1) + ⌊ΔF⌋ of +16 (± rounding),
	 * plus the later keys (< 1) */
	assert_true(res.score >= 10 * 32001.0 + 15 && res.score < 10 * 32001.0 + 17);
	/* Without the table (an unfinished workload) gpuhub follows ΔF. */
	w.nsliver = 0;
	res = picks(PLACE_GPUHUB, &c, &w, r, 0, 0);
	assert_true(res.score >= -109 && res.score < -107);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

static void test_gpuhub_sliver_cpu(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_result_t res;
	place_request_t shapes[4] = {req(1, 1000, 0), req(1, 470, 8), req(1, 320, 4),
				     req(1, 650, 11)};
	place_request_t r = req(1, 320, 4);

	(void)state;
	/* place.c's example with CPU: a filler only counts on a node with
	 * the cores it needs. */
	mk(&c, 2, 12, 1, "T4", PLACE_SHARE_MPS);
	place_workload_init(&w);
	for (int i = 0; i < 4; i++) {
		shapes[i].memory_mib = 0;
		assert_int_equal(place_workload_add(&w, &c, &shapes[i], i == 0 ? 2 : 1), 0);
	}
	assert_int_equal(place_workload_finish(&w, 1.0), 0);
	assert_int_equal(w.nsliver, 3);
	assert_int_equal(w.sliver_cpu[0], 4000);
	assert_int_equal(w.sliver_cpu[1], 8000);
	assert_int_equal(w.sliver_cpu[2], 11000);
	assert_int_equal(w.sliver[2 * (PLACE_MILLI + 1) + 530], 60);  /* 11 cores: a 470 */
	assert_int_equal(w.sliver[1 * (PLACE_MILLI + 1) + 530], 60);  /* 8 cores: a 470 */
	assert_int_equal(w.sliver[0 * (PLACE_MILLI + 1) + 530], 210); /* 4 cores: a 320 */
	assert_int_equal(w.sliver[0 * (PLACE_MILLI + 1) + 680], 40);  /* two 320 */
	/* n0: GPU at 530 free (a 0.47 on it), 6 cores free: no 0.47 (8
	 * cores) can come, only a 0.32, so V(530) = 210 already and a 0.32
	 * (4 cores) there costs nothing more: ΔV = 210 - 210 = 0, ΔF = -214.
	 * n1: GPU at 680 free, 12 cores: ΔV = V(360) at 8 cores (40) - V(680)
	 * at 12 cores (30) = +10, ΔF = +16. gpuhub takes n0 at cost -214
	 * (without CPU levels ΔV there would be 210 - 60 = +150). */
	used(&c, 0, 0, 530);
	c.nodes[0].cpu_free_milli = 6000;
	used(&c, 1, 0, 680);
	res = picks(PLACE_GPUHUB, &c, &w, r, 0, -1);
	assert_true(res.score >= -215 && res.score < -213);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}


static void test_gpuhub_tie_gpu_task(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_request_t r = req(1, 1000, 4);

	(void)state;
	/* n0 (first) has 32 cores free, n1 16; both two idle GPUs. A whole
	 * GPU with 4 cores: ΔF is 0 on both (the workload needs no CPU), so
	 * fgd takes the first node; gpuhub's second key is the CPU left
	 * (28 against 12 cores): n1, where the cores run out first. */
	mk(&c, 2, 32, 2, "T4", PLACE_SHARE_MPS);
	half_workload(&c, &w);
	c.nodes[1].cpu_free_milli = 16000;
	picks(PLACE_FGD, &c, &w, r, 0, -1);
	picks(PLACE_GPUHUB, &c, &w, r, 1, -1);
	/* With n1's second GPU half used (500 free), a whole GPU on n1
	 * still changes nothing: F = ½·500 before and after (the 500 cannot
	 * host a whole GPU either way), ΔF 0 on both nodes, n1 wins on CPU
	 * and gets its idle GPU. */
	used(&c, 1, 1, 500);
	picks(PLACE_GPUHUB, &c, &w, r, 1, 0);
	/* Two GPUs at once: only n0 has two whole GPUs left. */
	r = req(2, 1000, 4);
	picks(PLACE_GPUHUB, &c, &w, r, 0, -1);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

static void test_gpuhub_tie_cpu_only(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_result_t res;
	place_request_t r = req(0, 0, 8);

	(void)state;
	/* n0 (first) has two idle GPUs, n1 none free; both 32 cores. A
	 * CPU-only task with 8 cores changes F on neither node (the workload
	 * needs no CPU), so fgd takes n0; gpuhub takes n1, which has no GPU
	 * left for those cores to serve. */
	mk(&c, 2, 32, 2, "T4", PLACE_SHARE_MPS);
	half_workload(&c, &w);
	for (int j = 0; j < 2; j++)
		used(&c, 1, j, 0);
	picks(PLACE_FGD, &c, &w, r, 0, -1);
	res = picks(PLACE_GPUHUB, &c, &w, r, 1, -1);
	assert_int_equal(res.slots[0].gpu, -1);
	assert_true(res.score >= 0 && res.score < 1e-9); /* ΔF 0, key 0 */
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

static void test_gpuhub_tie_fraction(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_result_t res;
	place_request_t r = req(1, 500, 1);

	(void)state;
	/* n0 (first): two idle GPUs; n1: one idle GPU and one full. A 0.5
	 * on an idle GPU: F goes 0 → ½·500 = 250 on either node, and V
	 * (fillers: 500) stays 0, so the first costs tie at 250. fgd takes
	 * n0; gpuhub's key is the free GPU left (1500 against 500): n1, so
	 * n0 keeps two whole GPUs for a 2-GPU task. */
	mk(&c, 2, 32, 2, "T4", PLACE_SHARE_MPS);
	half_workload(&c, &w);
	used(&c, 1, 0, 0);
	picks(PLACE_FGD, &c, &w, r, 0, -1);
	res = picks(PLACE_GPUHUB, &c, &w, r, 1, 1);
	assert_true(res.score >= 250 && res.score < 251);
	/* A better first cost still wins over the key: with n0's GPU 0 at
	 * 500 free, a 0.5 there completes it (ΔF −250) and n0 wins. */
	used(&c, 0, 0, 500);
	picks(PLACE_GPUHUB, &c, &w, r, 0, 0);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

static void test_gpuhub_model_pressure(void **state)
{
	place_cluster_t c;
	place_workload_t w;
	place_result_t res;
	place_request_t any = req(1, 1000, 0), r = req(1, 1000, 4);

	(void)state;
	/* n0 (first): one A100, 8 cores; n1: one T4, 32 cores. Workload
	 * {any 1 GPU: 0.8, 2 A100: 0.2}. The 2-A100 shape fits neither node,
	 * so a whole GPU changes F by −200 on both (ΔF ties, as do the
	 * buckets), and n0 would leave less CPU. But the A100 is the model
	 * the constrained shape needs: pressure on n0 = 2 GPUs · 0.2 · 2 / 1
	 * A100 = 0.8 (8 tenths), on n1 0. fgd takes n0; gpuhub takes n1. */
	a100_t4(&c, &w);
	picks(PLACE_FGD, &c, &w, r, 0, -1);
	res = picks(PLACE_GPUHUB, &c, &w, r, 1, -1);
	assert_true(res.score >= -1 && res.score < -0.99); /* ⌊−200/250⌋, pressure 0 */
	/* Without the constrained shape, CPU decides: n0. */
	place_workload_destroy(&w);
	place_workload_init(&w);
	any.memory_mib = 0;
	assert_int_equal(place_workload_add(&w, &c, &any, 1), 0);
	assert_int_equal(place_workload_finish(&w, 1.0), 0);
	picks(PLACE_GPUHUB, &c, &w, r, 0, -1);
	place_workload_destroy(&w);
	place_cluster_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpuhub_sliver),
		cmocka_unit_test(test_gpuhub_sliver_cpu),
		cmocka_unit_test(test_gpuhub_tie_gpu_task),
		cmocka_unit_test(test_gpuhub_tie_cpu_only),
		cmocka_unit_test(test_gpuhub_tie_fraction),
		cmocka_unit_test(test_gpuhub_model_pressure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
