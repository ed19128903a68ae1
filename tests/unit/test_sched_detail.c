/*
 * test_sched_detail.c — the scheduling policy's finer points: every reason
 * text, group fair share, hard caps on borrowing, ETAs past the plan
 * depth, arrivals' positions, the radix order against the reference sort,
 * taking running work out of a cluster, the helpers' edge cases.
 */
#include "test_sched_fx.h"
#include "sched/sched_int.h"

static void test_reason_texts(void **state)
{
	place_cluster_t c;
	char buf[GH_TEXT_MAX];
	int a100, t4;
	sched_wait_t w;

	(void)state;
	place_cluster_init(&c);
	place_cluster_model(&c, "A100", &a100);
	place_cluster_model(&c, "T4", &t4);
	memset(&w, 0, sizeof w);
	w.code = SCHED_WAIT_CAPACITY;
	w.num_gpu = 2;
	w.gpu_milli = 1000;
	w.model_mask = 1ULL << a100;
	w.eta_s = 14 * 60;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "no node with 2 free A100 — expected in about 14 min");
	w.model_mask = (1ULL << a100) | (1ULL << t4);
	w.eta_s = 3 * 3600;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "no node with 2 free A100 or T4 — expected in about 3 h");
	w.num_gpu = 1;
	w.gpu_milli = 250;
	w.model_mask = ~0ULL;
	w.eta_s = 20;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "no GPU with 0.25 free — expected shortly");
	w.model_mask = 1ULL << t4;
	w.eta_s = 3 * 86400;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "no GPU with 0.25 free (T4) — expected in about 3 days");

	w.code = SCHED_WAIT_NEVER;
	w.num_gpu = 16;
	w.gpu_milli = 1000;
	w.model_mask = 1ULL << a100;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf,
			    "no node can ever run this (16 A100 GPUs with the CPU and memory asked)");
	w.code = SCHED_WAIT_GROUP_GPUS;
	w.a = 7500;
	w.b = 8000;
	w.eta_s = -1;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "group quota 7.5/8 GPUs in use");
	w.code = SCHED_WAIT_GROUP_SESSIONS;
	w.a = 4;
	w.b = 4;
	w.eta_s = 65;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "group limit 4/4 sessions running — expected in about 1 min");
	w.code = SCHED_WAIT_GROUP_HOURS;
	w.a = 36000;
	w.b = 36000;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "group used 10.0 of 10 GPU-hours in the window");
	w.code = SCHED_WAIT_RELEASING;
	w.eta_s = 60;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "GPUs are being released by stopping sessions — expected in about 1 min");
	w.code = SCHED_WAIT_PREEMPTING;
	w.a = 2;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "2 sessions are being suspended or stopped to make room — "
				 "expected in about 1 min");
	w.code = SCHED_WAIT_INVALID;
	sched_wait_reason(&w, &c, buf, sizeof buf);
	assert_string_equal(buf, "the request is not valid (priority class or GPU shape)");

	/* truncation: the return value is the whole length, the buffer ends */
	char small[8];

	w.code = SCHED_WAIT_CAPACITY;
	size_t n = sched_wait_reason(&w, &c, small, sizeof small);

	assert_true(n > sizeof small);
	assert_int_equal(strlen(small), sizeof small - 1);
	/* no cluster: no model names */
	w.model_mask = 1ULL << a100;
	w.num_gpu = 2;
	w.eta_s = -1;
	sched_wait_reason(&w, NULL, buf, sizeof buf);
	assert_string_equal(buf, "no node with 2 free GPUs — no estimate yet");

	sched_preempt_t p = { .alloc_id = 5, .for_req_id = 42, .why = SCHED_WHY_IDLE, .suspend = 1 };

	sched_preempt_reason(&p, buf, sizeof buf);
	assert_string_equal(buf, "idle; suspended to make room for request 42");
	p.why = SCHED_WHY_PRIORITY;
	p.suspend = 0;
	sched_preempt_reason(&p, buf, sizeof buf);
	assert_string_equal(buf, "stopped for higher-priority request 42");
	place_cluster_destroy(&c);
}

static void test_group_fairshare(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 1, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_run(&f, 100, 99, 0, 0, 0, 1, 1000)->cls = 2;
	/* users 1 and 2 used nothing themselves; user 1's group 10 used four
	 * times what user 2's group 20 did (through other members) */
	f.use[f.nuse++] = (sched_usage_t){ 3, 10, f.now - 20 * HOUR, f.now - 10 * HOUR, 8000 };
	f.use[f.nuse++] = (sched_usage_t){ 4, 20, f.now - 20 * HOUR, f.now - 10 * HOUR, 2000 };
	fx_req(&f, 1, 1, 10, 1000)->enqueue_ms = f.now;
	fx_req(&f, 2, 2, 20, 1000)->enqueue_ms = f.now;
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(fx_wait(&f, 2)->position, 1);
	assert_int_equal(fx_wait(&f, 1)->position, 2);
	/* group 10 gets ten shares to group 20's one: 0.8 of the usage for
	 * 10/11 of the shares beats 0.2 for 1/11 */
	f.gl[0] = (sched_limit_entry_t){ 10, { -1, -1, -1, -1, 10.0 } };
	f.pol.ngroup_limits = 1;
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(fx_wait(&f, 1)->position, 1);
	fx_free(&f);
}

static void test_borrow_cap(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 8, "A100", PLACE_SHARE_EXCLUSIVE);
	f.gl[0] = (sched_limit_entry_t){ 1, { 2000, 3000, -1, -1, 1 } };
	f.pol.ngroup_limits = 1;
	fx_req(&f, 1, 11, 1, 2000);
	fx_req(&f, 2, 12, 1, 1000);   /* borrows the third */
	fx_req(&f, 3, 13, 1, 1000);   /* past the cap of 3 */
	assert_int_equal(fx_decide(&f), 0);
	assert_false(fx_admit(&f, 1)->borrowed);
	assert_true(fx_admit(&f, 2)->borrowed);
	assert_int_equal(fx_wait(&f, 3)->code, SCHED_WAIT_GROUP_GPUS);
	assert_int_equal(fx_wait(&f, 3)->b, 3000);
	/* borrowing off: the quota is the limit */
	f.pol.borrowing = 0;
	assert_int_equal(fx_decide(&f), 0);
	assert_null(fx_admit(&f, 2));
	assert_int_equal(fx_wait(&f, 2)->b, 2000);
	fx_free(&f);
}

static void test_eta_past_plan_depth(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_EXCLUSIVE);
	f.pol.plan_depth = 1;
	for (int i = 0; i < 4; i++)
		fx_run(&f, 100 + i, 50, 0, 0, i, 1, 1000)->end_ms = f.now + (i + 1) * 10 * MIN;
	for (int i = 1; i <= 4; i++)
		fx_req(&f, i, i, 0, 1000);
	assert_int_equal(fx_decide(&f), 0);
	/* planned: 10 min; then the aggregate: the 2nd, 3rd, 4th released GPU
	 * (the first is the planned one's) */
	assert_int_equal(fx_wait(&f, 1)->eta_s, 10 * 60);
	assert_int_equal(fx_wait(&f, 2)->eta_s, 20 * 60);
	assert_int_equal(fx_wait(&f, 3)->eta_s, 30 * 60);
	assert_int_equal(fx_wait(&f, 4)->eta_s, 40 * 60);
	fx_free(&f);
}

static void test_arrival_position_eta(void **state)
{
	fx_t f;
	sched_result_t r;
	sched_req_t x;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	f.pol.plan_depth = 2;
	fx_run(&f, 100, 50, 0, 0, 0, 1, 1000)->end_ms = f.now + 10 * MIN;
	fx_run(&f, 101, 51, 0, 0, 1, 1, 1000)->end_ms = f.now + 20 * MIN;
	for (int i = 1; i <= 4; i++) {
		sched_req_t *q = fx_req(&f, i, i, 0, 1000);

		q->kind = SCHED_BATCH;
		q->runtime_limit_ms = 30 * MIN;
	}
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(fx_wait(&f, 4)->position, 4);

	/* a high-priority arrival goes first: position 1, the plan's answer */
	sched_req_init(&x);
	x.id = 10;
	x.user = 10;
	x.cls = 2;
	x.enqueue_ms = f.now;
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.nadmits, 0);
	assert_int_equal(r.waits[0].position, 1);
	assert_true(r.waits[0].eta_s >= 0);
	/* a normal one joins the end: 5 + the one before = 6 */
	x.id = 11;
	x.user = 11;
	x.cls = 1;
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.waits[0].position, 6);
	/* an arrival that asks too much: never */
	x.id = 12;
	assert_int_equal(sched_req_set_gpu_milli(&x, 3000), 0);
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.waits[0].code, SCHED_WAIT_NEVER);
	/* a bad one: invalid, at the end */
	x.id = 13;
	x.cls = 9;
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.waits[0].code, SCHED_WAIT_INVALID);
	fx_free(&f);
}

static void test_arrival_quota(void **state)
{
	fx_t f;
	sched_result_t r;
	sched_req_t x;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_EXCLUSIVE);
	f.ul[0] = (sched_limit_entry_t){ 1, { 1000, 1000, -1, -1, 1 } };
	f.pol.nuser_limits = 1;
	fx_run(&f, 100, 1, 0, 0, 0, 1, 1000)->end_ms = f.now + 5 * MIN;
	assert_int_equal(fx_decide(&f), 0);
	sched_req_init(&x);
	x.id = 1;
	x.user = 1;
	x.enqueue_ms = f.now;
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.waits[0].code, SCHED_WAIT_USER_GPUS);
	assert_int_equal(r.waits[0].eta_s, 5 * 60);
	/* another user is free to go; a new user id is fine */
	x.id = 2;
	x.user = 77;
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), 0);
	assert_int_equal(r.nadmits, 1);
	fx_free(&f);
}

/* The worked example of eta.c and docs/scheduler.md. */
static void test_eta_worked_example(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 4, "A100", PLACE_SHARE_EXCLUSIVE);
	f.pol.reserve_min_gpus = 0;      /* no reservation: plan only */
	fx_run(&f, 100, 50, 0, 0, 0, 2, 1000)->end_ms = f.now + 30 * MIN;   /* a: g0, g1 */
	fx_run(&f, 101, 51, 0, 0, 2, 1, 1000)->end_ms = f.now + 60 * MIN;   /* b: g2 */
	fx_req(&f, 1, 1, 0, 2000);       /* only g3 is free: both wait */
	fx_req(&f, 2, 2, 0, 2000);
	assert_int_equal(fx_decide(&f), 0);
	/* max(g3 10:00, g0 10:30) = 10:30, then it holds g3 and g0;
	 * the next: max(g1 10:30, g2 11:00) = 11:00 */
	assert_int_equal(fx_wait(&f, 1)->eta_s, 30 * 60);
	assert_int_equal(fx_wait(&f, 2)->eta_s, 60 * 60);
	assert_string_equal(fx_reason(&f, 1), "no node with 2 free GPUs — expected in about 30 min");
	fx_free(&f);
}

/* The worked example of preempt.c and docs/scheduler.md. */
static void test_preempt_worked_example(void **state)
{
	fx_t f;

	(void)state;
	fx_init(&f);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	fx_node(&f, 2, "A100", PLACE_SHARE_EXCLUSIVE);
	f.gl[0] = (sched_limit_entry_t){ 5, { 0, -1, -1, -1, 1 } };   /* group 5: quota 0 */
	f.pol.ngroup_limits = 1;
	fx_run(&f, 10, 1, 0, 0, 0, 1, 1000)->idle = 1;                 /* i */
	fx_run(&f, 11, 2, 0, 0, 1, 1, 1000)->cls = 2;                  /* h */
	fx_run(&f, 12, 3, 5, 1, 0, 1, 1000);                           /* b1 */
	fx_run(&f, 13, 4, 5, 1, 1, 1, 1000);                           /* b2 */
	fx_run(&f, 14, 6, 0, 2, 0, 2, 1000)->cls = 0;                  /* l */
	fx_req(&f, 1, 7, 0, 2000);
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.npreempts, 2);
	assert_int_equal(fx_pre(&f, 12)->why, SCHED_WHY_RECLAIM);
	assert_int_equal(fx_pre(&f, 13)->why, SCHED_WHY_RECLAIM);
	assert_null(fx_pre(&f, 14));
	assert_null(fx_pre(&f, 10));
	assert_null(fx_pre(&f, 11));
	fx_free(&f);
}

static int cmp_ord(const void *a, const void *b)
{
	return sched_ord_cmp(a, b);
}

static void test_radix_order(void **state)
{
	enum { N = 5000 };
	sched_ord_t *a = calloc(N, sizeof *a), *b = calloc(N, sizeof *b), *t = calloc(N, sizeof *t);
	sched_t *s;
	uint64_t x = 12345;

	(void)state;
	assert_int_equal(sched_create(&s), 0);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < N; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			/* few distinct keys (ties), negative ones, and huge ones */
			double k = (double)((int)(x >> 40) % 37) - 10.5;

			if (i % 97 == 0)
				k = -1e300;
			if (i % 89 == 0)
				k = 1e12 + i;
			a[i] = (sched_ord_t){ k, 1000 + i / 3, i, i };
		}
		memcpy(b, a, N * sizeof *a);
		qsort(b, N, sizeof *b, cmp_ord);
		assert_int_equal(sched_ord_sort_keys(s, a, t, N), 0);
		for (int i = 0; i < N; i++)
			assert_int_equal(a[i].qi, b[i].qi);
		/* and the merge sort, from a shuffled start */
		for (int i = N - 1; i > 0; i--) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			int j = (int)((x >> 33) % (uint64_t)(i + 1));
			sched_ord_t tmp = a[i];

			a[i] = a[j];
			a[j] = tmp;
		}
		sched_ord_sort(a, t, N);
		for (int i = 0; i < N; i++)
			assert_int_equal(a[i].qi, b[i].qi);
	}
	sched_destroy(s);
	free(a);
	free(b);
	free(t);
}

static void test_big_queue_matches_reference(void **state)
{
	/* a queue past the radix threshold decides like the same queue
	 * shuffled (input order must not matter) */
	static fx_t f;
	static sched_req_t copy[FX_MAX];
	int64_t adm[FX_MAX];
	int nadm;

	(void)state;
	fx_init(&f);
	fx_node(&f, 8, "A100", PLACE_SHARE_MPS);
	for (int i = 0; i < 200; i++) {
		sched_req_t *r = fx_req(&f, 1 + i, 1 + i % 13, 0, (i % 3 + 1) * 250);

		r->cls = i % 3;
		r->enqueue_ms = f.now - (i % 17) * MIN;
	}
	assert_int_equal(fx_decide(&f), 0);
	nadm = f.res.nadmits;
	for (int i = 0; i < nadm; i++)
		adm[i] = f.res.admits[i].req_id;
	memcpy(copy, f.q, sizeof copy);
	for (int i = 0; i < f.nq; i++)
		f.q[i] = copy[(i * 7919) % f.nq];
	assert_int_equal(fx_decide(&f), 0);
	assert_int_equal(f.res.nadmits, nadm);
	for (int i = 0; i < nadm; i++)
		assert_int_equal(f.res.admits[i].req_id, adm[i]);
	fx_free(&f);
}

static void test_take_running(void **state)
{
	place_cluster_t c;
	place_slot_t sl[3] = {
		{ .node = 0, .gpu = 0, .milli = 500 },
		{ .node = 0, .gpu = 1, .milli = 1000 },
		{ .node = 0, .gpu = 1, .milli = 100 },  /* GPU 1 is full by then */
	};
	sched_running_t run[3] = {
		{ .id = 1, .slots = &sl[0], .nslots = 1 },
		{ .id = 2, .slots = &sl[1], .nslots = 1 },
		{ .id = 3, .slots = &sl[2], .nslots = 1 },
	};
	int64_t cap, free0, free1;

	(void)state;
	place_cluster_init(&c);
	place_cluster_add_node(&c, "n0", 1000, 1024, NULL);
	place_node_add_gpu(&c, 0, "A100", 40960, PLACE_SHARE_MPS, -1);
	place_node_add_gpu(&c, 0, "A100", 40960, PLACE_SHARE_MPS, -1);
	place_cluster_gpu_totals(&c, &cap, &free0);
	assert_int_equal(sched_cluster_take_running(&c, run, 3), GH_EINVAL);
	place_cluster_gpu_totals(&c, &cap, &free1);
	assert_true(free0 == free1);                /* unchanged after a failure */
	assert_int_equal(c.nodes[0].gpus[0].free_milli, 1000);
	assert_int_equal(sched_cluster_take_running(&c, run, 2), 0);
	assert_int_equal(c.nodes[0].gpus[0].free_milli, 500);
	assert_int_equal(c.nodes[0].gpus[1].free_milli, 0);
	place_cluster_destroy(&c);
}

static void test_policy_helpers(void **state)
{
	sched_policy_t p;
	int cls;

	(void)state;
	sched_policy_default(&p);
	assert_int_equal(sched_policy_check(&p), 0);
	assert_int_equal(sched_policy_class(&p, "high", &cls), 0);
	assert_int_equal(cls, 2);
	assert_int_equal(sched_policy_class(&p, "urgent", &cls), GH_ENOTFOUND);
	assert_false(p.classes[2].preemptible);
	p.user_default.share = 0;
	assert_int_equal(sched_policy_check(&p), GH_EINVAL);
	sched_policy_default(&p);
	p.default_class = 5;
	assert_int_equal(sched_policy_check(&p), GH_EINVAL);
	sched_policy_default(&p);
	p.nuser_limits = 1;   /* without the array */
	assert_int_equal(sched_policy_check(&p), GH_EINVAL);
	assert_int_equal(sched_policy_check(NULL), GH_EINVAL);
	sched_req_t r;

	sched_req_init(&r);
	assert_int_equal(r.cls, p.default_class);
	assert_int_equal(sched_req_set_gpu_milli(&r, 4000), 0);
	assert_int_equal(r.shape.num_gpu, 4);
	assert_true(r.shape.gang);
	assert_int_equal(sched_req_set_gpu_milli(&r, 999), 0);
	assert_int_equal(r.shape.num_gpu, 1);
	assert_int_equal(r.shape.gpu_milli, 999);
	assert_int_equal(sched_req_set_gpu_milli(&r, -1), GH_EINVAL);
	sched_destroy(NULL);
}

static void test_bad_input(void **state)
{
	fx_t f;
	sched_input_t in;
	sched_result_t r;

	(void)state;
	fx_init(&f);
	fx_node(&f, 1, "A100", PLACE_SHARE_MPS);
	memset(&in, 0, sizeof in);
	assert_int_equal(sched_decide(f.s, &in, &r), GH_EINVAL);     /* no cluster */
	assert_int_equal(sched_decide(f.s, NULL, &r), GH_EINVAL);
	in.cluster = &f.c;
	in.policy = &f.pol;
	in.nqueue = 1;                                                /* no array */
	assert_int_equal(sched_decide(f.s, &in, &r), GH_EINVAL);
	in.nqueue = 0;
	assert_int_equal(sched_decide(f.s, &in, &r), 0);             /* empty is fine */
	assert_int_equal(r.nadmits + r.nwaits + r.npreempts, 0);
	/* a running slot on a node that does not exist */
	place_slot_t bad = { .node = 3, .gpu = 0, .milli = 100 };
	sched_running_t run = { .id = 1, .user = 1, .slots = &bad, .nslots = 1 };

	in.running = &run;
	in.nrunning = 1;
	assert_int_equal(sched_decide(f.s, &in, &r), GH_EINVAL);
	/* after a failed pass, the arrival path refuses */
	sched_req_t x;

	sched_req_init(&x);
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &r), GH_ESTATE);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_texts),
		cmocka_unit_test(test_group_fairshare),
		cmocka_unit_test(test_borrow_cap),
		cmocka_unit_test(test_eta_past_plan_depth),
		cmocka_unit_test(test_arrival_position_eta),
		cmocka_unit_test(test_arrival_quota),
		cmocka_unit_test(test_eta_worked_example),
		cmocka_unit_test(test_preempt_worked_example),
		cmocka_unit_test(test_radix_order),
		cmocka_unit_test(test_big_queue_matches_reference),
		cmocka_unit_test(test_take_running),
		cmocka_unit_test(test_policy_helpers),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
