/*
 * test_sched.c — the scheduling policy on small hand-made clusters with
 * known answers: one test per rule (order, quota, borrowing, preemption,
 * gang, MIG, fractions, models, reservation, ETAs, the arrival fast path).
 * Random property tests live in test_sched_prop.c.
 */
#include "test_sched_fx.h"

/* ---- the hub's use: one node, FIFO, whole and fractional GPUs ---- */

static void test_hub_basic(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_MPS);
	fx_req(&f, 1, 10, 0, 2000);
	fx_req(&f, 2, 11, 0, 500);
	fx_req(&f, 3, 12, 0, 3000);
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.nadmits, 2);
	const sched_admit_t *a = fx_admit(&f, 1);

	assert_non_null(a);
	assert_int_equal(a->nslots, 2);
	assert_int_equal(a->slots[0].milli, 1000);
	assert_int_equal(a->slots[0].node, 0);
	assert_non_null(fx_admit(&f, 2));
	assert_int_equal(fx_admit(&f, 2)->slots[0].milli, 500);
	const sched_wait_t *w = fx_wait(&f, 3);

	assert_non_null(w);
	assert_int_equal(w->position, 1);
	assert_int_equal(w->code, SCHED_WAIT_CAPACITY);
	assert_int_equal(w->eta_s, -1); /* running work with unknown end */
	/* 3 GPUs >= policy.reserve_min_gpus: the node drains for it */
	assert_true(w->reserved);
	assert_string_equal(fx_reason(&f, 3),
			    "no node with 3 free GPUs — GPUs are being kept free for it, no estimate yet");
	assert_int_equal(f.res.npreempts, 0);
	fx_free(&f);
}

static void test_fifo_order(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "T4", PLACE_SHARE_EXCLUSIVE);
	for (int i = 1; i <= 5; i++)
		fx_req(&f, i, 100 + i, 0, 1000);
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(fx_admit_rank(&f, 1), 0);
	assert_int_equal(fx_admit_rank(&f, 2), 1);
	for (int i = 3; i <= 5; i++) {
		assert_null(fx_admit(&f, i));
		assert_int_equal(fx_wait(&f, i)->position, i - 2);
	}
	/* waits come sorted by position */
	for (int i = 0; i < f.res.nwaits; i++)
		assert_int_equal(f.res.waits[i].position, i + 1);
	fx_free(&f);
}

/* ---- quota ---- */

static void test_quota_user_gpus(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_EXCLUSIVE);
	f.ul[0] = (sched_limit_entry_t){ 7, { 1000, -1, -1, -1, 1 } };
	f.pol.nuser_limits = 1;
	f.pol.borrowing = 0;
	fx_req(&f, 1, 7, 0, 1000);
	fx_req(&f, 2, 7, 0, 1000);
	fx_req(&f, 3, 8, 0, 1000);
	assert_int_equal(fx_decide(&f), 0);
	assert_non_null(fx_admit(&f, 1));
	assert_non_null(fx_admit(&f, 3));
	assert_int_equal(fx_wait(&f, 2)->code, SCHED_WAIT_USER_GPUS);
	assert_string_equal(fx_reason(&f, 2), "user quota 1/1 GPUs in use");
	fx_free(&f);
}

static void test_quota_group_gpus_eta(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 8, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 8, "A100", PLACE_SHARE_EXCLUSIVE);
	f.gl[0] = (sched_limit_entry_t){ 5, { 8000, -1, -1, -1, 1 } };
	f.pol.ngroup_limits = 1;
	f.pol.borrowing = 0;
	for (int i = 0; i < 8; i++)
		fx_run(&f, 100 + i, 1 + i, 5, 0, i, 1, 1000)->end_ms = f.now + (10 + i) * MIN;
	fx_req(&f, 1, 1, 5, 1000);
	fx_req(&f, 2, 2, 5, 2000);
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.nadmits, 0);
	assert_int_equal(fx_wait(&f, 1)->code, SCHED_WAIT_GROUP_GPUS);
	assert_string_equal(fx_reason(&f, 1), "group quota 8/8 GPUs in use — expected in about 10 min");
	/* two GPUs must end for the second: the 11-min one */
	assert_int_equal(fx_wait(&f, 2)->eta_s, 11 * 60);
	fx_free(&f);
}

static void test_quota_sessions_hours(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_MPS);
	f.ul[0] = (sched_limit_entry_t){ 1, { -1, -1, 1, -1, 1 } };
	f.ul[1] = (sched_limit_entry_t){ 2, { -1, -1, -1, 10.0, 1 } };
	f.pol.nuser_limits = 2;
	fx_run(&f, 100, 1, 0, 0, 0, 1, 250);
	/* user 2 used 2 GPUs for 6 hours yesterday: 12 GPU-hours >= 10 */
	f.use[f.nuse++] = (sched_usage_t){ 2, 0, f.now - 30 * HOUR, f.now - 24 * HOUR, 2000 };
	fx_req(&f, 1, 1, 0, 250);
	fx_req(&f, 2, 2, 0, 250);
	fx_req(&f, 3, 3, 0, 250);
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(fx_wait(&f, 1)->code, SCHED_WAIT_USER_SESSIONS);
	assert_string_equal(fx_reason(&f, 1), "user limit 1/1 sessions running");
	assert_int_equal(fx_wait(&f, 2)->code, SCHED_WAIT_USER_HOURS);
	assert_string_equal(fx_reason(&f, 2), "user used 12.0 of 10 GPU-hours in the window");
	assert_non_null(fx_admit(&f, 3));
	fx_free(&f);
}

/* ---- borrowing, then reclaim ---- */

static void test_borrow_then_reclaim(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	f.gl[0] = (sched_limit_entry_t){ 1, { 2000, -1, -1, -1, 1 } };
	f.gl[1] = (sched_limit_entry_t){ 2, { 2000, -1, -1, -1, 1 } };
	f.pol.ngroup_limits = 2;
	fx_run(&f, 100, 11, 1, 0, 0, 2, 1000);       /* group 1 at its quota */
	fx_req(&f, 1, 11, 1, 2000);                  /* over quota: borrows */
	assert_int_equal(fx_decide(&f), 0);
	assert_non_null(fx_admit(&f, 1));
	assert_true(fx_admit(&f, 1)->borrowed);
	fx_start(&f, 1, 0);

	/* group 2 (nothing running, quota 2) now asks for 2 GPUs */
	f.now += MIN;
	fx_req(&f, 2, 21, 2, 2000);
	assert_int_equal(fx_decide(&f), 0);
	assert_null(fx_admit(&f, 2));
	assert_int_equal(f.res.npreempts, 1);
	const sched_preempt_t *p = fx_pre(&f, 1);

	assert_non_null(p);                          /* the borrowed one, not 100 */
	assert_int_equal(p->why, SCHED_WHY_RECLAIM);
	assert_int_equal(p->for_req_id, 2);
	assert_null(fx_pre(&f, 100));
	assert_int_equal(fx_wait(&f, 2)->code, SCHED_WAIT_PREEMPTING);
	assert_int_equal(fx_wait(&f, 2)->eta_s, 60);
	char buf[256];

	sched_preempt_reason(p, buf, sizeof buf);
	assert_non_null(strstr(buf, "borrowed"));

	/* the hub marks it releasing: the next pass waits, preempts nothing more */
	f.run[1].releasing = 1;
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.npreempts, 0);
	assert_int_equal(fx_wait(&f, 2)->code, SCHED_WAIT_RELEASING);
	/* once released, it is admitted */
	fx_end(&f, 1);
	assert_int_equal(fx_decide(&f), 0);
	assert_non_null(fx_admit(&f, 2));
	assert_false(fx_admit(&f, 2)->borrowed);
	fx_free(&f);
}

static void test_nonpreemptible_never_borrows(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_EXCLUSIVE);
	f.ul[0] = (sched_limit_entry_t){ 1, { 1000, -1, -1, -1, 1 } };
	f.pol.nuser_limits = 1;
	fx_req(&f, 1, 1, 0, 1000)->cls = 2;          /* high: not preemptible */
	fx_req(&f, 2, 1, 0, 1000)->cls = 2;
	assert_int_equal(fx_decide(&f), 0);
	assert_non_null(fx_admit(&f, 1));
	assert_int_equal(fx_wait(&f, 2)->code, SCHED_WAIT_USER_GPUS);
	fx_free(&f);
}

/* ---- fair share ---- */

static void test_decay_formula(void **state)
{
	int64_t h = 7 * 24 * HOUR, now = 14 * 24 * HOUR;

	(void)state;
	/* the worked example of fairshare.c */
	double alice = sched_decayed_gpu_s(now - h - 10 * HOUR, now - h, 4000, now, h);
	double bob = sched_decayed_gpu_s(now - 10 * HOUR, now, 1000, now, h);

	assert_true(alice > 70534 && alice < 70536);
	assert_true(bob > 35267 && bob < 35268);
	/* no decay: plain GPU-seconds; use after now is not counted */
	assert_true(sched_decayed_gpu_s(0, 3600000, 2000, 3600000, 0) == 7200.0);
	assert_true(sched_decayed_gpu_s(now, now + HOUR, 1000, now, h) == 0.0);
}

static void test_fairshare_order(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 1, "A100", PLACE_SHARE_EXCLUSIVE);
	/* the worked example: Alice 4 GPUs x 10 h a half-life ago, Bob 1 x 10 h
	 * just now, Carol nothing; all queue at the same moment */
	f.use[f.nuse++] = (sched_usage_t){ 1, 0, f.now - 178 * HOUR, f.now - 168 * HOUR, 4000 };
	f.use[f.nuse++] = (sched_usage_t){ 2, 0, f.now - 10 * HOUR, f.now, 1000 };
	for (int i = 0; i < 3; i++) {
		sched_req_t *r = fx_req(&f, 1 + i, 1 + i, 0, 1000);

		r->enqueue_ms = f.now;
	}
	fx_req(&f, 4, 3, 0, 1000)->enqueue_ms = f.now;   /* Carol's second */
	assert_int_equal(fx_decide(&f), 0);
	assert_non_null(fx_admit(&f, 3));                /* Carol first */
	assert_int_equal(fx_wait(&f, 4)->position, 1);   /* then her second */
	assert_int_equal(fx_wait(&f, 2)->position, 2);   /* Bob */
	assert_int_equal(fx_wait(&f, 1)->position, 3);   /* Alice */

	/* decay: had Alice's use been 5 half-lives ago she would pass Bob */
	f.use[0].start_ms = f.now - 5 * 168 * HOUR - 10 * HOUR;
	f.use[0].end_ms = f.now - 5 * 168 * HOUR;
	assert_int_equal(fx_decide(&f), 0);
	assert_true(fx_wait(&f, 1)->position < fx_wait(&f, 2)->position);

	/* aging: Alice queued 4 h earlier (16 points) passes Bob too */
	f.use[0].start_ms = f.now - 178 * HOUR;
	f.use[0].end_ms = f.now - 168 * HOUR;
	f.q[0].enqueue_ms = f.now - 4 * HOUR;
	assert_int_equal(fx_decide(&f), 0);
	assert_true(fx_wait(&f, 1)->position < fx_wait(&f, 2)->position);
	assert_true(fx_wait(&f, 4)->position < fx_wait(&f, 1)->position);
	fx_free(&f);
}

static void test_priority_and_aging(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 1, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_run(&f, 100, 9, 0, 0, 0, 1, 1000)->cls = 2;
	fx_req(&f, 1, 1, 0, 1000)->cls = 0;              /* low, waiting 30 h */
	f.q[0].enqueue_ms = f.now - 30 * HOUR;
	fx_req(&f, 2, 2, 0, 1000)->cls = 1;              /* normal, fresh */
	fx_req(&f, 3, 3, 0, 1000)->cls = 2;              /* high, fresh */
	assert_int_equal(fx_decide(&f), 0);
	/* 0 + 50 + 120 = 170 > normal 150; high 250 first */
	assert_int_equal(fx_wait(&f, 3)->position, 1);
	assert_int_equal(fx_wait(&f, 1)->position, 2);
	assert_int_equal(fx_wait(&f, 2)->position, 3);
	fx_free(&f);
}

/* ---- preemption ---- */

static void test_priority_preemption(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_run(&f, 100, 1, 0, 0, 0, 1, 1000)->cls = 2;  /* high: not preemptible */
	fx_run(&f, 101, 2, 0, 0, 1, 1, 1000)->cls = 0;  /* low */
	fx_run(&f, 102, 3, 0, 1, 0, 2, 1000)->cls = 1;  /* normal */
	fx_req(&f, 1, 4, 0, 1000)->cls = 1;             /* normal wants 1 */
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.npreempts, 1);
	assert_non_null(fx_pre(&f, 101));
	assert_int_equal(fx_pre(&f, 101)->why, SCHED_WHY_PRIORITY);
	assert_string_equal(fx_reason(&f, 1),
			    "1 session is being suspended or stopped to make room — expected in about 1 min");

	/* a high request for 2 GPUs: only 102 (normal) can go; never 100 */
	fx_free(&f);
	fx_init(&f);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_run(&f, 100, 1, 0, 0, 0, 1, 1000)->cls = 2;
	fx_run(&f, 101, 2, 0, 0, 1, 1, 1000)->cls = 0;
	fx_run(&f, 102, 3, 0, 1, 0, 2, 1000)->cls = 1;
	fx_req(&f, 1, 4, 0, 2000)->cls = 2;
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.npreempts, 1);
	assert_non_null(fx_pre(&f, 102));
	assert_null(fx_pre(&f, 100));

	/* only non-preemptible work: nothing is preempted */
	f.run[1].cls = 2;
	f.run[2].cls = 2;
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.npreempts, 0);
	assert_int_equal(fx_wait(&f, 1)->code, SCHED_WAIT_CAPACITY);
	/* nor work marked nonpreemptible, whatever its class */
	f.run[2].cls = 0;
	f.run[2].nonpreemptible = 1;
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.npreempts, 0);
	fx_free(&f);
}

static void test_idle_first(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 1, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 1, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_run(&f, 100, 1, 0, 0, 0, 1, 1000)->cls = 0;  /* low, busy */
	fx_run(&f, 101, 2, 0, 1, 0, 1, 1000)->idle = 1; /* normal, idle */
	fx_req(&f, 1, 3, 0, 1000);
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.npreempts, 1);
	const sched_preempt_t *p = fx_pre(&f, 101);

	assert_non_null(p);
	assert_int_equal(p->why, SCHED_WHY_IDLE);
	assert_true(p->suspend);
	/* an idle session of a higher class is not suspended for a lower one */
	f.run[1].cls = 2;
	f.run[1].nonpreemptible = 0;
	f.pol.classes[2].preemptible = 1;
	assert_int_equal(fx_decide(&f), 0);
	assert_non_null(fx_pre(&f, 100));
	assert_null(fx_pre(&f, 101));
	fx_free(&f);
}

/* ---- placement rules ---- */

static void test_gang(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	f.pol.preempt = 0;
	fx_req(&f, 1, 1, 0, 3000);                       /* gang: never split */
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.nadmits, 0);
	assert_int_equal(fx_wait(&f, 1)->code, SCHED_WAIT_NEVER);
	/* the same request without gang spreads over both nodes */
	f.q[0].shape.gang = 0;
	assert_int_equal(fx_decide(&f), 0);
	const sched_admit_t *a = fx_admit(&f, 1);

	assert_non_null(a);
	assert_int_equal(a->nslots, 3);
	/* a 2-GPU gang lands on one node */
	f.q[0].shape.gang = 1;
	f.q[0].shape.num_gpu = 2;
	assert_int_equal(fx_decide(&f), 0);
	a = fx_admit(&f, 1);
	assert_non_null(a);
	assert_int_equal(a->slots[0].node, a->slots[1].node);
	/* all or nothing: one GPU busy on each node, a gang of 2 waits */
	fx_run(&f, 100, 9, 0, 0, 0, 1, 1000);
	fx_run(&f, 101, 9, 0, 1, 0, 1, 1000);
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.nadmits, 0);
	assert_int_equal(fx_wait(&f, 1)->code, SCHED_WAIT_CAPACITY);
	fx_free(&f);
}

static void test_mig_fit(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 1, "A100-40GB", PLACE_SHARE_MIG);
	gh_strlcpy(fx_req(&f, 1, 1, 0, 500)->shape.mig_profile, "3g.20gb", PLACE_MIG_NAME_MAX);
	gh_strlcpy(fx_req(&f, 2, 2, 0, 500)->shape.mig_profile, "3g.20gb", PLACE_MIG_NAME_MAX);
	gh_strlcpy(fx_req(&f, 3, 3, 0, 500)->shape.mig_profile, "3g.20gb", PLACE_MIG_NAME_MAX);
	gh_strlcpy(fx_req(&f, 4, 4, 0, 100)->shape.mig_profile, "1g.5gb", PLACE_MIG_NAME_MAX);
	assert_int_equal(fx_decide(&f), 0);
	const sched_admit_t *a = fx_admit(&f, 1), *b = fx_admit(&f, 2);

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->slots[0].mig_slices, 3);
	assert_int_equal(b->slots[0].mig_slices, 3);
	assert_true(a->slots[0].mig_start != b->slots[0].mig_start);
	/* two 3g.20gb take all the memory: neither a third nor a 1g fits */
	assert_int_equal(fx_wait(&f, 3)->code, SCHED_WAIT_CAPACITY);
	assert_int_equal(fx_wait(&f, 4)->code, SCHED_WAIT_CAPACITY);
	fx_free(&f);

	/* 2g + 2g + 2g + 1g fill all seven slices; an eighth request waits */
	fx_init(&f);
	fx_node(&f, 1, "A100-40GB", PLACE_SHARE_MIG);
	for (int i = 1; i <= 3; i++)
		gh_strlcpy(fx_req(&f, i, i, 0, 250)->shape.mig_profile, "2g.10gb",
			   PLACE_MIG_NAME_MAX);
	gh_strlcpy(fx_req(&f, 4, 4, 0, 100)->shape.mig_profile, "1g.5gb", PLACE_MIG_NAME_MAX);
	gh_strlcpy(fx_req(&f, 5, 5, 0, 100)->shape.mig_profile, "1g.5gb", PLACE_MIG_NAME_MAX);
	assert_int_equal(fx_decide(&f), 0);
	unsigned used = 0;

	for (int i = 1; i <= 4; i++) {
		a = fx_admit(&f, i);
		assert_non_null(a);
		unsigned bits = ((1u << a->slots[0].mig_slices) - 1) << a->slots[0].mig_start;

		assert_int_equal(used & bits, 0);       /* no slice given twice */
		used |= bits;
	}
	assert_int_equal(used, 0x7f);
	assert_int_equal(fx_wait(&f, 5)->code, SCHED_WAIT_CAPACITY);
	fx_free(&f);
}

static void test_fraction_packing(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_MPS);
	for (int i = 1; i <= 4; i++)
		fx_req(&f, i, i, 0, 250);
	fx_req(&f, 5, 5, 0, 3000);
	assert_int_equal(fx_decide(&f), 0);
	int gpu = fx_admit(&f, 1)->slots[0].gpu;

	for (int i = 2; i <= 4; i++)
		assert_int_equal(fx_admit(&f, i)->slots[0].gpu, gpu);  /* packed on one GPU */
	assert_non_null(fx_admit(&f, 5));                              /* 3 whole GPUs left */
	fx_free(&f);
}

static void test_model_constraints(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "T4", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	gh_strlcpy(fx_req(&f, 1, 1, 0, 2000)->shape.models, "A100", PLACE_MODELS_STR_MAX);
	gh_strlcpy(fx_req(&f, 2, 2, 0, 1000)->shape.models, "A100", PLACE_MODELS_STR_MAX);
	gh_strlcpy(fx_req(&f, 3, 3, 0, 1000)->shape.models, "V100", PLACE_MODELS_STR_MAX);
	gh_strlcpy(fx_req(&f, 4, 4, 0, 1000)->shape.models, "T4|A100", PLACE_MODELS_STR_MAX);
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(fx_admit(&f, 1)->slots[0].node, 1);
	assert_int_equal(fx_wait(&f, 2)->code, SCHED_WAIT_CAPACITY);
	assert_string_equal(fx_reason(&f, 2), "no node with 1 free A100 — no estimate yet");
	assert_int_equal(fx_wait(&f, 3)->code, SCHED_WAIT_NEVER);
	assert_non_null(fx_admit(&f, 4));
	assert_int_equal(fx_admit(&f, 4)->slots[0].node, 0);
	fx_free(&f);
}

/* ---- reservation and backfill ---- */

static void test_reservation_backfill(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_EXCLUSIVE);
	f.pol.preempt = 0;
	fx_run(&f, 100, 9, 0, 0, 0, 2, 1000)->end_ms = f.now + 30 * MIN;
	sched_req_t *big = fx_req(&f, 1, 1, 0, 4000);     /* big: waits, reserves */

	big->kind = SCHED_BATCH;
	big->runtime_limit_ms = 50 * MIN;
	sched_req_t *b = fx_req(&f, 2, 2, 0, 1000);       /* batch, 10 min: backfills */
	b->kind = SCHED_BATCH;
	b->runtime_limit_ms = 10 * MIN;
	fx_req(&f, 3, 3, 0, 1000);                        /* interactive: must not */
	sched_req_t *l = fx_req(&f, 4, 4, 0, 1000);       /* batch, 2 h: must not */
	l->kind = SCHED_BATCH;
	l->runtime_limit_ms = 2 * HOUR;
	assert_int_equal(fx_decide(&f), 0);
	const sched_wait_t *w = fx_wait(&f, 1);

	assert_non_null(w);
	assert_true(w->reserved);
	assert_int_equal(w->eta_s, 30 * 60);
	assert_non_null(fx_admit(&f, 2));
	assert_true(fx_admit(&f, 2)->backfill);
	assert_int_equal(fx_wait(&f, 3)->code, SCHED_WAIT_RESERVED);
	assert_string_equal(fx_reason(&f, 3),
			    "the free GPUs are kept for an earlier 4-GPU request — expected in about 80 min");
	assert_int_equal(fx_wait(&f, 4)->code, SCHED_WAIT_RESERVED);
	assert_non_null(strstr(fx_reason(&f, 1), "kept free for it, expected in about 30 min"));
	fx_free(&f);
}

/* ---- ETAs ---- */

static void test_eta_monotone(void **state)
{
	fx_t f;
	int64_t start[8];

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_EXCLUSIVE);
	for (int i = 0; i < 4; i++)
		fx_run(&f, 100 + i, 50 + i, 0, 0, i, 1, 1000)->end_ms = f.now + (i + 1) * 10 * MIN;
	for (int i = 1; i <= 6; i++) {
		sched_req_t *r = fx_req(&f, i, i, 0, 1000);

		r->kind = SCHED_BATCH;
		r->runtime_limit_ms = 25 * MIN;
	}
	assert_int_equal(fx_decide(&f), 0);
	for (int i = 1; i <= 6; i++) {
		const sched_wait_t *w = fx_wait(&f, i);

		assert_non_null(w);
		assert_true(w->eta_s >= 0);
		start[i] = f.now + w->eta_s * 1000;
		if (i > 1)
			assert_true(start[i] >= start[i - 1]);
	}
	assert_int_equal(fx_wait(&f, 1)->eta_s, 10 * 60);
	assert_int_equal(fx_wait(&f, 4)->eta_s, 35 * 60);  /* after request 1's 25 min */
	assert_int_equal(fx_wait(&f, 5)->eta_s, 40 * 60);
	/* drain: work ends when it said it would, the head starts; nobody's
	 * start moves later and nobody starts later than promised */
	for (int step = 0; step < 16 && f.nrun > 0; step++) {
		int64_t next = INT64_MAX;

		for (int i = 0; i < f.nrun; i++)
			if (f.run[i].end_ms < next)
				next = f.run[i].end_ms;
		f.now = next;
		for (int i = f.nrun - 1; i >= 0; i--)
			if (f.run[i].end_ms == next)
				fx_end(&f, f.run[i].id);
		assert_int_equal(fx_decide(&f), 0);
		for (int i = 1; i <= 6; i++) {
			const sched_admit_t *a = fx_admit(&f, i);

			if (a) {
				assert_true(f.now <= start[i]);
				fx_start(&f, i, f.now + 25 * MIN);
				start[i] = 0;
				continue;
			}
			const sched_wait_t *w = fx_wait(&f, i);

			if (!w)
				continue;
			assert_true(w->eta_s >= 0);
			assert_true(f.now + w->eta_s * 1000 <= start[i]);
			start[i] = f.now + w->eta_s * 1000;
		}
	}
	for (int i = 1; i <= 6; i++)
		assert_int_equal(start[i], 0);   /* everyone ran */
	fx_free(&f);
}

/* ---- the arrival fast path ---- */

static void test_decide_one(void **state)
{
	fx_t f;
	sched_result_t r;
	sched_req_t x;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "A100", PLACE_SHARE_MPS);
	sched_req_init(&x);
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), GH_ESTATE);
	fx_req(&f, 1, 1, 0, 2000);
	fx_req(&f, 2, 2, 0, 2000);
	assert_int_equal(fx_decide(&f), 0);
	assert_non_null(fx_admit(&f, 1));
	assert_int_equal(fx_wait(&f, 2)->position, 1);

	/* a fraction arrives: no room (request 1 holds both GPUs) */
	x.id = 3;
	x.user = 3;
	x.enqueue_ms = f.now;
	assert_int_equal(sched_req_set_gpu_milli(&x, 500), 0);
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.nadmits, 0);
	assert_int_equal(r.nwaits, 1);
	assert_int_equal(r.waits[0].code, SCHED_WAIT_CAPACITY);
	/* users 2 and 3 have no usage: request 2 queued earlier, so it is first */
	assert_int_equal(r.waits[0].position, 2);

	/* same inputs, same answers */
	fx_t g;

	fx_init(&g);
	fx_node(&g, 2, "A100", PLACE_SHARE_MPS);
	fx_req(&g, 1, 1, 0, 2000);
	fx_req(&g, 2, 2, 0, 2000);
	assert_int_equal(fx_decide(&g), 0);
	sched_result_t r2;

	assert_int_equal(sched_decide_one(g.s, &x, f.now, &r2), 0);
	assert_int_equal(r2.waits[0].position, r.waits[0].position);
	fx_free(&g);
	fx_free(&f);
}

static void test_decide_one_admits(void **state)
{
	fx_t f;
	sched_result_t r;
	sched_req_t x;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "A100", PLACE_SHARE_MPS);
	fx_req(&f, 1, 1, 0, 1000);
	assert_int_equal(fx_decide(&f), 0);
	sched_req_init(&x);
	x.id = 2;
	x.user = 2;
	x.enqueue_ms = f.now;
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.nadmits, 1);
	assert_int_equal(r.admits[0].req_id, 2);
	/* the first pass' admission holds GPU a; this one must be the other */
	x.id = 3;
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.nadmits, 0);
	assert_int_equal(r.waits[0].code, SCHED_WAIT_CAPACITY);
	fx_free(&f);
}

static void test_invalid_inputs(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 1, "A100", PLACE_SHARE_MPS);
	fx_req(&f, 1, 1, 0, 1000)->cls = 7;
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(fx_wait(&f, 1)->code, SCHED_WAIT_INVALID);
	f.pol.nclasses = 0;
	assert_int_equal(fx_decide(&f), GH_EINVAL);
	sched_req_t r;

	sched_req_init(&r);
	assert_int_equal(sched_req_set_gpu_milli(&r, 1500), GH_EINVAL);
	assert_int_equal(sched_req_set_gpu_milli(&r, 0), 0);
	assert_int_equal(r.shape.num_gpu, 0);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hub_basic),
		cmocka_unit_test(test_fifo_order),
		cmocka_unit_test(test_quota_user_gpus),
		cmocka_unit_test(test_quota_group_gpus_eta),
		cmocka_unit_test(test_quota_sessions_hours),
		cmocka_unit_test(test_borrow_then_reclaim),
		cmocka_unit_test(test_nonpreemptible_never_borrows),
		cmocka_unit_test(test_decay_formula),
		cmocka_unit_test(test_fairshare_order),
		cmocka_unit_test(test_priority_and_aging),
		cmocka_unit_test(test_priority_preemption),
		cmocka_unit_test(test_idle_first),
		cmocka_unit_test(test_gang),
		cmocka_unit_test(test_mig_fit),
		cmocka_unit_test(test_fraction_packing),
		cmocka_unit_test(test_model_constraints),
		cmocka_unit_test(test_reservation_backfill),
		cmocka_unit_test(test_eta_monotone),
		cmocka_unit_test(test_decide_one),
		cmocka_unit_test(test_decide_one_admits),
		cmocka_unit_test(test_invalid_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
