/*
 * test_sched_prop.c — property tests of the scheduling policy on random
 * clusters, queues and policies (a seeded generator of our own, so a run is
 * the same everywhere). For each case:
 *   - every admission fits: applying them all to the cluster succeeds, so
 *     no GPU is over-allocated and no device (or MIG slice) is given twice;
 *   - every admission meets its request: GPU count, models, memory, gang,
 *     fraction or whole GPU, MIG profile, host CPU and memory;
 *   - no admission passes a hard limit (sessions, GPU cap), and nothing
 *     over GPU quota is admitted unless it may borrow;
 *   - victims are never of a non-preemptible class, never marked
 *     nonpreemptible, never already releasing, each named once, and each
 *     makes room for a request that is shown as waiting for it;
 *   - every request is either admitted or waiting, once; positions run 1..n;
 *   - the same inputs give the same decisions (a fresh sched_t and a
 *     reused one), for the pass and for an arrival.
 * Set SCHED_PROP_CASES to change the number of cases (default 10,000).
 */
#include "test_sched_fx.h"

typedef struct {
	uint64_t s;
} prng_t;

static uint64_t rnd(prng_t *p)
{
	uint64_t z = (p->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int below(prng_t *p, int n)
{
	return (int)(rnd(p) % (uint64_t)n);
}

static const char *const models[] = { "A100", "T4", "H100" };
static const char *const migp[] = { "1g.5gb", "2g.10gb", "3g.20gb", "7g.40gb" };

static void random_cluster(fx_t *f, prng_t *p)
{
	int nn = 1 + below(p, 5);

	for (int i = 0; i < nn; i++) {
		int share = below(p, 10);
		place_share_t sh = share < 4 ? PLACE_SHARE_EXCLUSIVE
				   : share < 9 ? PLACE_SHARE_MPS : PLACE_SHARE_MIG;
		int node = fx_node(f, 1 + below(p, 8), sh == PLACE_SHARE_MIG ? "A100-40GB"
									     : models[below(p, 3)],
				   sh);

		if (below(p, 20) == 0)
			f->c.nodes[node].gpus[0].disabled = 1;
	}
}

static void random_shape(prng_t *p, place_request_t *s)
{
	int k = below(p, 10);

	memset(s, 0, sizeof *s);
	if (k < 4) {
		s->num_gpu = 1;
		s->gpu_milli = 100 * (1 + below(p, 9));
	} else if (k < 9) {
		s->num_gpu = 1 + below(p, 4);
		s->gpu_milli = 1000;
		s->gang = below(p, 4) != 0;
	} else {
		s->num_gpu = 0;
	}
	if (below(p, 4) == 0)
		snprintf(s->models, sizeof s->models, "%s", models[below(p, 3)]);
	else if (below(p, 8) == 0)
		snprintf(s->models, sizeof s->models, "A100|A100-40GB");
	if (s->num_gpu == 1 && s->gpu_milli < 1000 && below(p, 6) == 0)
		snprintf(s->mig_profile, sizeof s->mig_profile, "%s", migp[below(p, 4)]);
	/* a named MIG profile fixes the memory; do not ask for more beside it */
	if (below(p, 3) == 0 && !s->mig_profile[0])
		s->gpu_memory_mib = 1024 * below(p, 24);
	s->cpu_milli = 1000 * below(p, 20);
	s->memory_mib = 1024 * below(p, 64);
}

static void random_running(fx_t *f, prng_t *p)
{
	int n = below(p, 16);
	place_result_t *res = malloc(sizeof *res);
	uint64_t rng = rnd(p);

	for (int i = 0; i < n && f->nrun < FX_MAX; i++) {
		place_request_t s;

		random_shape(p, &s);
		if (s.num_gpu > 8)
			continue;
		if (place_choose(PLACE_FIRSTFIT, &f->c, NULL, &s, &rng, res) != 0 ||
		    res->nslots > 8)
			continue;
		assert_int_equal(place_apply(&f->c, res), 0);
		int k = f->nrun++;
		sched_running_t *r = &f->run[k];

		memset(r, 0, sizeof *r);
		memcpy(f->rslots[k], res->slots, sizeof(place_slot_t) * (size_t)res->nslots);
		r->id = 1000 + k;
		r->user = 1 + below(p, 6);
		r->group = below(p, 3);
		r->cls = below(p, 3);
		r->kind = below(p, 2) ? SCHED_BATCH : SCHED_INTERACTIVE;
		r->idle = below(p, 4) == 0;
		r->nonpreemptible = below(p, 8) == 0;
		r->releasing = below(p, 10) == 0;
		r->start_ms = f->now - below(p, 10) * HOUR - 1;
		r->end_ms = below(p, 2) ? f->now + below(p, 120) * MIN : 0;
		r->slots = f->rslots[k];
		r->nslots = res->nslots;
	}
	free(res);
}

static void random_queue(fx_t *f, prng_t *p)
{
	/* mostly short queues; one in 20 long enough for the radix order */
	int n = below(p, 20) == 0 ? 64 + below(p, 150) : below(p, 24);

	for (int i = 0; i < n; i++) {
		sched_req_t *r = &f->q[f->nq++];

		sched_req_init(r);
		r->id = 1 + i;
		r->user = 1 + below(p, 6);
		r->group = below(p, 3);
		r->cls = below(p, 3);
		random_shape(p, &r->shape);
		if (below(p, 2)) {
			r->kind = SCHED_BATCH;
			r->runtime_limit_ms = (1 + below(p, 90)) * MIN;
		}
		r->enqueue_ms = f->now - below(p, 48) * HOUR;
	}
}

static void random_policy(fx_t *f, prng_t *p)
{
	f->pol.placement = (place_policy_t)below(p, PLACE__COUNT);
	f->pol.borrowing = below(p, 2);
	f->pol.preempt = below(p, 4) != 0;
	f->pol.reserve_min_gpus = 1 + below(p, 3);
	f->pol.plan_depth = below(p, 3) == 0 ? 2 : 64;
	f->pol.seed = rnd(p);
	f->pol.nuser_limits = below(p, 4);
	for (int i = 0; i < f->pol.nuser_limits; i++)
		f->ul[i] = (sched_limit_entry_t){
			1 + i,
			{ below(p, 2) ? 1000 * below(p, 4) : -1,
			  below(p, 2) ? 1000 * (1 + below(p, 6)) : -1,
			  below(p, 2) ? below(p, 4) : -1, below(p, 4) == 0 ? 2.0 : -1.0,
			  1.0 + below(p, 3) },
		};
	f->pol.ngroup_limits = below(p, 3);
	for (int i = 0; i < f->pol.ngroup_limits; i++)
		f->gl[i] = (sched_limit_entry_t){
			1 + i,
			{ below(p, 2) ? 1000 * below(p, 6) : -1, -1, below(p, 2) ? below(p, 6) : -1,
			  -1.0, 1.0 },
		};
	f->nuse = below(p, 6);
	for (int i = 0; i < f->nuse; i++) {
		int64_t end = f->now - below(p, 200) * HOUR;

		f->use[i] = (sched_usage_t){ 1 + below(p, 6), below(p, 3),
					     end - (1 + below(p, 10)) * HOUR, end,
					     1000 * (1 + below(p, 4)) };
	}
}

static const sched_req_t *req_by_id(const fx_t *f, int64_t id)
{
	for (int i = 0; i < f->nq; i++)
		if (f->q[i].id == id)
			return &f->q[i];
	return NULL;
}

static const sched_running_t *run_by_id(const fx_t *f, int64_t id)
{
	for (int i = 0; i < f->nrun; i++)
		if (f->run[i].id == id)
			return &f->run[i];
	return NULL;
}

/* Does admission a meet request r on cluster c? */
static void check_fit(const place_cluster_t *c, const sched_req_t *r, const sched_admit_t *a)
{
	uint64_t mask = place_request_model_mask(c, &r->shape);
	int gpus = 0;
	int64_t cpu = 0, mem = 0;

	for (int k = 0; k < a->nslots; k++) {
		const place_slot_t *s = &a->slots[k];

		assert_true(s->node >= 0 && s->node < c->nnodes);
		assert_false(c->nodes[s->node].disabled);
		cpu += s->cpu_milli;
		mem += s->memory_mib;
		if (r->shape.gang || r->shape.num_gpu <= 1)
			assert_int_equal(s->node, a->slots[0].node);
		if (s->gpu < 0)
			continue;
		const place_gpu_t *g = &c->nodes[s->node].gpus[s->gpu];

		gpus++;
		assert_false(g->disabled);
		assert_true((mask >> g->model) & 1);
		if (r->shape.gpu_memory_mib && s->gpu_memory_mib < r->shape.gpu_memory_mib)
			fail_msg("request %lld: GPU memory %lld < %lld (share %d, mig '%s')",
				 (long long)r->id, (long long)s->gpu_memory_mib,
				 (long long)r->shape.gpu_memory_mib, g->share, r->shape.mig_profile);
		switch (g->share) {
		case PLACE_SHARE_EXCLUSIVE:
			assert_int_equal(s->milli, 1000);
			break;
		case PLACE_SHARE_MPS:
			assert_int_equal(s->milli, r->shape.gpu_milli);
			break;
		case PLACE_SHARE_MIG:
			assert_true(s->mig_slices > 0);
			assert_true(s->milli >= r->shape.gpu_milli || r->shape.mig_profile[0]);
			break;
		}
		if (r->shape.mig_profile[0])
			assert_int_equal(g->share, PLACE_SHARE_MIG);
		/* no two slots of one admission on the same GPU */
		for (int j = 0; j < k; j++)
			assert_false(a->slots[j].node == s->node && a->slots[j].gpu == s->gpu);
	}
	assert_int_equal(gpus, r->shape.num_gpu);
	assert_true(cpu == r->shape.cpu_milli);
	assert_true(mem == r->shape.memory_mib);
}

static int64_t held_of(const fx_t *f, int64_t id, int group, int *sessions)
{
	int64_t m = 0;

	*sessions = 0;
	for (int i = 0; i < f->nrun; i++) {
		const sched_running_t *r = &f->run[i];

		if ((group ? r->group : r->user) != id)
			continue;
		(*sessions)++;
		for (int k = 0; k < r->nslots; k++)
			if (r->slots[k].gpu >= 0)
				m += r->slots[k].milli;
	}
	return m;
}

/* Replays the admissions in decision order against each limit: every
 * admission must have been within the hard cap and sessions, and within
 * GPU quota unless it is marked borrowed. (Promises to requests waiting on
 * a preemption count too in the scheduler, so it is stricter than this.) */
static void check_limits(const fx_t *f)
{
	for (int grp = 0; grp < 2; grp++) {
		int n = grp ? f->pol.ngroup_limits : f->pol.nuser_limits;
		const sched_limit_entry_t *e = grp ? f->gl : f->ul;

		for (int i = 0; i < n; i++) {
			int sess;
			int64_t held = held_of(f, e[i].id, grp, &sess);
			const sched_limit_t *l = &e[i].limit;

			for (int k = 0; k < f->res.nadmits; k++) {
				const sched_admit_t *a = &f->res.admits[k];
				const sched_req_t *r = req_by_id(f, a->req_id);
				int64_t d = (int64_t)r->shape.num_gpu * r->shape.gpu_milli;

				if ((grp ? r->group : r->user) != e[i].id)
					continue;
				if (l->sessions >= 0)
					assert_true(sess + 1 <= l->sessions);
				if (l->gpu_milli_max >= 0)
					assert_true(held + d <= l->gpu_milli_max);
				if (l->gpu_milli >= 0 && !a->borrowed)
					assert_true(held + d <= l->gpu_milli);
				if (a->borrowed) {
					assert_true(f->pol.borrowing);
					assert_true(f->pol.classes[r->cls].preemptible);
				}
				sess++;
				for (int j2 = 0; j2 < a->nslots; j2++)
					if (a->slots[j2].gpu >= 0)
						held += a->slots[j2].milli;
			}
		}
	}
}

static void check_preempts(const fx_t *f)
{
	for (int i = 0; i < f->res.npreempts; i++) {
		const sched_preempt_t *p = &f->res.preempts[i];
		const sched_running_t *r = run_by_id(f, p->alloc_id);

		assert_non_null(r);
		assert_false(r->nonpreemptible);
		assert_false(r->releasing);
		assert_true(f->pol.classes[r->cls].preemptible);
		for (int j = 0; j < i; j++)
			assert_true(f->res.preempts[j].alloc_id != p->alloc_id);
		const sched_wait_t *w = fx_wait(f, p->for_req_id);

		assert_non_null(w);
		assert_int_equal(w->code, SCHED_WAIT_PREEMPTING);
		const sched_req_t *q = req_by_id(f, p->for_req_id);

		if (p->why == SCHED_WHY_PRIORITY)
			assert_true(f->pol.classes[r->cls].priority <
				    f->pol.classes[q->cls].priority);
		if (p->why == SCHED_WHY_IDLE)
			assert_true(r->idle);
	}
}

static void check_cover(const fx_t *f)
{
	for (int i = 0; i < f->nq; i++) {
		int n = (fx_admit(f, f->q[i].id) != NULL) + (fx_wait(f, f->q[i].id) != NULL);

		assert_int_equal(n, 1);
	}
	assert_int_equal(f->res.nadmits + f->res.nwaits, f->nq);
	for (int i = 0; i < f->res.nwaits; i++) {
		char buf[GH_TEXT_MAX];

		assert_int_equal(f->res.waits[i].position, i + 1);
		assert_true(f->res.waits[i].eta_s >= -1);
		assert_true(sched_wait_reason(&f->res.waits[i], &f->c, buf, sizeof buf) > 0);
	}
}

static void check_apply_all(const fx_t *f)
{
	place_cluster_t c;
	place_result_t *res = malloc(sizeof *res);

	assert_int_equal(place_cluster_copy(&c, &f->c), 0);
	for (int i = 0; i < f->res.nadmits; i++) {
		const sched_admit_t *a = &f->res.admits[i];

		check_fit(&f->c, req_by_id(f, a->req_id), a);
		res->nslots = a->nslots;
		memcpy(res->slots, a->slots, sizeof(place_slot_t) * (size_t)a->nslots);
		assert_int_equal(place_apply(&c, res), 0);
	}
	place_cluster_destroy(&c);
	free(res);
}

static void same_result(const sched_result_t *a, const sched_result_t *b)
{
	assert_int_equal(a->nadmits, b->nadmits);
	assert_int_equal(a->npreempts, b->npreempts);
	assert_int_equal(a->nwaits, b->nwaits);
	for (int i = 0; i < a->nadmits; i++) {
		assert_int_equal(a->admits[i].req_id, b->admits[i].req_id);
		assert_int_equal(a->admits[i].nslots, b->admits[i].nslots);
		assert_memory_equal(a->admits[i].slots, b->admits[i].slots,
				    sizeof(place_slot_t) * (size_t)a->admits[i].nslots);
		assert_int_equal(a->admits[i].borrowed, b->admits[i].borrowed);
	}
	for (int i = 0; i < a->npreempts; i++)
		assert_memory_equal(&a->preempts[i], &b->preempts[i], sizeof(sched_preempt_t));
	for (int i = 0; i < a->nwaits; i++)
		assert_memory_equal(&a->waits[i], &b->waits[i], sizeof(sched_wait_t));
}

static sched_result_t copy_result(const sched_result_t *r, sched_admit_t *ad, place_slot_t *sl,
				  sched_preempt_t *pr, sched_wait_t *wa)
{
	sched_result_t o = *r;
	int ns = 0;

	for (int i = 0; i < r->nadmits; i++) {
		ad[i] = r->admits[i];
		memcpy(sl + ns, r->admits[i].slots, sizeof(place_slot_t) * (size_t)ad[i].nslots);
		ad[i].slots = sl + ns;
		ns += ad[i].nslots;
	}
	if (r->npreempts)
		memcpy(pr, r->preempts, sizeof *pr * (size_t)r->npreempts);
	if (r->nwaits)
		memcpy(wa, r->waits, sizeof *wa * (size_t)r->nwaits);
	o.admits = ad;
	o.preempts = pr;
	o.waits = wa;
	return o;
}

static struct {
	long admits, borrowed, backfill, preempts, waits, reserved, arrivals_admitted;
} st;

static void count(const fx_t *f)
{
	st.admits += f->res.nadmits;
	st.preempts += f->res.npreempts;
	st.waits += f->res.nwaits;
	for (int i = 0; i < f->res.nadmits; i++) {
		st.borrowed += f->res.admits[i].borrowed;
		st.backfill += f->res.admits[i].backfill;
	}
	for (int i = 0; i < f->res.nwaits; i++)
		st.reserved += f->res.waits[i].reserved;
}

static void one_case(uint64_t seed, sched_t *reused)
{
	static fx_t f;
	static sched_admit_t ad[FX_MAX];
	static place_slot_t sl[FX_MAX * 8];
	static sched_preempt_t pr[FX_MAX];
	static sched_wait_t wa[FX_MAX];
	prng_t p = { seed };

	fx_init(&f);
	random_cluster(&f, &p);
	random_policy(&f, &p);
	random_running(&f, &p);
	random_queue(&f, &p);
	assert_int_equal(fx_decide(&f), 0);
	check_cover(&f);
	check_apply_all(&f);
	check_limits(&f);
	check_preempts(&f);
	count(&f);

	/* the same inputs on a sched_t that decided other things before */
	sched_result_t first = copy_result(&f.res, ad, sl, pr, wa), again;
	sched_input_t in = {
		.cluster = &f.c, .queue = f.q, .nqueue = f.nq, .running = f.run,
		.nrunning = f.nrun, .usage = f.use, .nusage = f.nuse, .policy = &f.pol,
		.now_ms = f.now,
	};

	assert_int_equal(sched_decide(reused, &in, &again), 0);
	same_result(&first, &again);

	/* an arrival: same answer on both, and a valid one */
	sched_req_t x;
	sched_result_t o1, o2;

	sched_req_init(&x);
	x.id = 999;
	x.user = 1 + below(&p, 7);
	x.group = below(&p, 3);
	x.cls = below(&p, 3);
	x.enqueue_ms = f.now;
	random_shape(&p, &x.shape);
	assert_int_equal(sched_decide_one(f.s, &x, f.now, &o1), 0);
	assert_int_equal(sched_decide_one(reused, &x, f.now, &o2), 0);
	assert_int_equal(o1.nadmits + o1.nwaits, 1);
	assert_int_equal(o1.npreempts, 0);
	same_result(&o1, &o2);
	st.arrivals_admitted += o1.nadmits;
	if (o1.nadmits) {
		/* it fits next to everything the pass admitted */
		place_cluster_t c;
		place_result_t *res = malloc(sizeof *res);

		assert_int_equal(place_cluster_copy(&c, &f.c), 0);
		for (int i = 0; i < first.nadmits; i++) {
			res->nslots = first.admits[i].nslots;
			memcpy(res->slots, first.admits[i].slots,
			       sizeof(place_slot_t) * (size_t)res->nslots);
			assert_int_equal(place_apply(&c, res), 0);
		}
		check_fit(&f.c, &x, &o1.admits[0]);
		res->nslots = o1.admits[0].nslots;
		memcpy(res->slots, o1.admits[0].slots, sizeof(place_slot_t) * (size_t)res->nslots);
		assert_int_equal(place_apply(&c, res), 0);
		place_cluster_destroy(&c);
		free(res);
	} else {
		assert_true(o1.waits[0].position >= 1 && o1.waits[0].position <= f.res.nwaits + 1);
	}
	fx_free(&f);
}

static void test_properties(void **state)
{
	const char *env = getenv("SCHED_PROP_CASES");
	int n = env ? atoi(env) : 10000;
	sched_t *reused;

	(void)state;
	assert_int_equal(sched_create(&reused), 0);
	for (int i = 0; i < n; i++)
		one_case(0x5eed0000ULL + (uint64_t)i, reused);
	sched_destroy(reused);
	printf("# %d random cases checked: %ld admitted (%ld borrowed, %ld backfill), "
	       "%ld preempted, %ld waiting (%ld holding a reservation), %ld arrivals admitted\n",
	       n, st.admits, st.borrowed, st.backfill, st.preempts, st.waits, st.reserved,
	       st.arrivals_admitted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_properties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
