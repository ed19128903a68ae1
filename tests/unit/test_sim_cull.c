/*
 * test_sim_cull.c — the culling replay on hand-made sessions whose answers
 * are worked out in the comments, and the generator's determinism.
 */
#include <stddef.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/sim_cull.h"
#include "common/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define H(x) ((x) / 3600.0)

static cull_sess_t sess(int gpus, int64_t dur, const char *active, const char *busy, const char *tab)
{
	cull_sess_t s;
	memset(&s, 0, sizeof(s));
	s.id = 1;
	s.gpus = gpus;
	s.dur_s = dur;
	assert_int_equal(cull_parse_ivs(active, dur, &s.active, &s.nactive), 0);
	assert_int_equal(cull_parse_ivs(busy, dur, &s.busy, &s.nbusy), 0);
	assert_int_equal(cull_parse_ivs(tab, dur, &s.tab, &s.ntab), 0);
	return s;
}

static void sess_free(cull_sess_t *s)
{
	free(s->active);
	free(s->busy);
	free(s->tab);
}

static cull_result_t run(cull_policy_t p, const cull_sess_t *s)
{
	cull_params_t par;
	cull_result_t r;
	memset(&r, 0, sizeof(r));
	cull_defaults(p, &par);
	cull_replay_session(&par, s, &r);
	return r;
}

static void near(double a, double b) { assert_true(fabs(a - b) < 1e-9); }

/* The worked example of sim_cull.c: a training started as the user left,
 * no tab. */
static void test_training_without_tab(void **state)
{
	cull_sess_t s = sess(1, 3600, "0-300", "300-2400", "");
	cull_result_t r;
	(void)state;

	r = run(CULL_NONE, &s);
	near(r.alloc_gpu_h, 1.0);
	near(r.idle_gpu_h, H(300 + 1200));
	near(r.busy_gpu_h, H(2100));
	assert_int_equal(r.suspensions, 0);

	/* kernel: busy counts; 1440 min never pass */
	r = run(CULL_KERNEL, &s);
	near(r.alloc_gpu_h, 1.0);
	assert_int_equal(r.suspensions, 0);

	/* proxy: last request at 300, check at 900 → suspended mid-training */
	r = run(CULL_PROXY, &s);
	assert_int_equal(r.suspensions, 1);
	assert_int_equal(r.wrong, 1);
	near(r.alloc_gpu_h, H(900));
	near(r.busy_gpu_h, H(600));
	near(r.idle_gpu_h, H(300));
	near(r.lost_gpu_h, H(1500));

	/* gpuhub: the GPU is busy until 2400, 1800 s more would be 4200 */
	r = run(CULL_GPUHUB, &s);
	assert_int_equal(r.suspensions, 0);
	near(r.alloc_gpu_h, 1.0);
	near(r.lost_gpu_h, 0);
	sess_free(&s);
}

/* A tab left open all day polls: proxy and kernel see activity, gpuhub
 * does not. 2 GPUs, 8 h; user works [0,3600) with cells [600,900). */
static void test_open_tab(void **state)
{
	cull_sess_t s = sess(2, 8 * 3600, "0-3600", "600-900", "0-28800");
	cull_result_t r;
	(void)state;

	r = run(CULL_PROXY, &s);
	assert_int_equal(r.suspensions, 0);
	near(r.alloc_gpu_h, 16.0);
	near(r.idle_gpu_h, 16.0 - 2 * H(300));

	r = run(CULL_KERNEL, &s);
	assert_int_equal(r.suspensions, 0);

	/* gpuhub: GPU rule from max(last busy 900, since 0) → 2700 (a check,
	 * every 10 s); the user is still active then: a wrong suspension,
	 * resumed at the next moment (2710) as the user is there; the GPU rule
	 * counts again from 2710 → 4510 (user gone at 3600): suspended, right.
	 * Held [0,2700) + [2710,4510) = 4500 s × 2 GPUs. */
	r = run(CULL_GPUHUB, &s);
	assert_int_equal(r.suspensions, 2);
	assert_int_equal(r.wrong, 1);
	assert_int_equal(r.resumes, 1);
	near(r.alloc_gpu_h, 2 * H(4500));
	near(r.busy_gpu_h, 2 * H(300));
	near(r.lost_gpu_h, 0);
	sess_free(&s);
}

/* Nobody there at all after a short visit, tab closed: each culler's
 * timeout and check period decide. 1 GPU, 10 h; active [0,600). */
static void test_timeouts_and_checks(void **state)
{
	cull_sess_t s = sess(1, 36000, "0-600", "", "0-600");
	cull_result_t r;
	(void)state;

	/* proxy: idle since 600, checks at 0,300,...: 1200 is the first with
	 * 600 s idle */
	r = run(CULL_PROXY, &s);
	near(r.alloc_gpu_h, H(1200));
	assert_int_equal(r.wrong, 0);

	/* gpuhub: the GPU rule (never busy, since 0) → 1800 */
	r = run(CULL_GPUHUB, &s);
	near(r.alloc_gpu_h, H(1800));
	assert_int_equal(r.suspensions, 1);

	/* kernel: 1440 min are 24 h > 10 h: never */
	r = run(CULL_KERNEL, &s);
	near(r.alloc_gpu_h, 10.0);
	sess_free(&s);
}

/* gpuhub's full rule: the GPU rule off, compute counts, polling does not.
 * 1 GPU, 4 h, active [0,600), busy [600,1200), tab always. */
static void test_gpuhub_full_rule(void **state)
{
	cull_sess_t s = sess(1, 4 * 3600, "0-600", "600-1200", "0-14400");
	cull_params_t par;
	cull_result_t r;
	(void)state;

	cull_defaults(CULL_GPUHUB, &par);
	par.timeout_s = 0;
	memset(&r, 0, sizeof(r));
	cull_replay_session(&par, &s, &r);
	/* idle since 1200 (compute), 3600 s → 4800 */
	near(r.alloc_gpu_h, H(4800));
	assert_int_equal(r.suspensions, 1);
	assert_int_equal(r.wrong, 0);
	sess_free(&s);
}

/* A returning user resumes a culled session (proxy): 1 GPU, 3 h, active
 * [0,60) and [7200,7260), no tab. Culled at 900 (60 + 600 → first check
 * at or after 660 is 900), resumed at 7200, culled again at 8100. */
static void test_resume(void **state)
{
	cull_sess_t s = sess(1, 3 * 3600, "0-60;7200-7260", "", "");
	cull_result_t r;
	(void)state;

	r = run(CULL_PROXY, &s);
	assert_int_equal(r.suspensions, 2);
	assert_int_equal(r.resumes, 1);
	near(r.alloc_gpu_h, H(900 + 900));
	sess_free(&s);
}

static void test_parse(void **state)
{
	cull_iv_t *v;
	int n;
	(void)state;
	assert_int_equal(cull_parse_ivs("", 10, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cull_parse_ivs("0-5;5-10", 10, &v, &n), 0);
	assert_int_equal(n, 2);
	free(v);
	assert_int_equal(cull_parse_ivs("0-5;4-8", 10, &v, &n), GH_EINVAL);  /* overlap */
	assert_int_equal(cull_parse_ivs("5-4", 10, &v, &n), GH_EINVAL);      /* empty */
	assert_int_equal(cull_parse_ivs("0-11", 10, &v, &n), GH_EINVAL);     /* past the end */
	assert_int_equal(cull_parse_ivs("0-5,6-7", 10, &v, &n), GH_EINVAL);  /* separator */
	assert_int_equal(cull_parse_ivs("-1-5", 10, &v, &n), GH_EINVAL);
	cull_policy_t p;
	assert_int_equal(cull_policy_parse("gpuhub", &p), 0);
	assert_int_equal(p, CULL_GPUHUB);
	assert_int_equal(cull_policy_parse("jupyterhub", &p), GH_EINVAL);
}

static int same_ivs(const cull_iv_t *a, int na, const cull_iv_t *b, int nb)
{
	return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof(*a)) == 0);
}

/* Same seed → the same trace and results; another seed → another trace;
 * every list sorted, disjoint and inside the session. */
static void test_generator(void **state)
{
	cull_gen_params_t g;
	cull_trace_t a, b, c;
	cull_params_t par;
	cull_result_t ra, rb;
	int differ = 0;
	(void)state;

	cull_gen_defaults(&g);
	g.sessions = 50;
	assert_int_equal(cull_generate(&g, &a), 0);
	assert_int_equal(cull_generate(&g, &b), 0);
	g.seed = 2;
	assert_int_equal(cull_generate(&g, &c), 0);
	assert_int_equal(a.n, 50);
	for (int i = 0; i < a.n; i++) {
		const cull_sess_t *x = &a.s[i], *y = &b.s[i];
		assert_int_equal(x->dur_s, y->dur_s);
		assert_int_equal(x->gpus, y->gpus);
		assert_true(same_ivs(x->active, x->nactive, y->active, y->nactive));
		assert_true(same_ivs(x->busy, x->nbusy, y->busy, y->nbusy));
		assert_true(same_ivs(x->tab, x->ntab, y->tab, y->ntab));
		differ |= x->dur_s != c.s[i].dur_s || !same_ivs(x->busy, x->nbusy, c.s[i].busy, c.s[i].nbusy);
		const cull_iv_t *lists[3] = {x->active, x->busy, x->tab};
		int ns[3] = {x->nactive, x->nbusy, x->ntab};
		for (int l = 0; l < 3; l++) {
			for (int k = 0; k < ns[l]; k++) {
				assert_true(lists[l][k].s < lists[l][k].e);
				assert_true(lists[l][k].e <= x->dur_s);
				if (k > 0)
					assert_true(lists[l][k - 1].e < lists[l][k].s);
			}
		}
		assert_true(x->nactive >= 1); /* every session starts with a visit */
	}
	assert_true(differ);
	cull_defaults(CULL_GPUHUB, &par);
	cull_replay(&par, &a, &ra);
	cull_replay(&par, &b, &rb);
	assert_memory_equal(&ra, &rb, sizeof(ra));
	cull_trace_free(&a);
	cull_trace_free(&b);
	cull_trace_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_training_without_tab),
		cmocka_unit_test(test_open_tab),
		cmocka_unit_test(test_timeouts_and_checks),
		cmocka_unit_test(test_gpuhub_full_rule),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_generator),
	};
	return cmocka_run_group_tests_name("sim_cull", tests, NULL, NULL);
}
