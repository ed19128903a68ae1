/*
 * test_sched_fx.h — a small fixture for the scheduling-policy tests: a
 * hand-made cluster, a queue, running work, a policy, and lookups into the
 * result. Header-only so each test_sched*.c stays one program.
 */
#ifndef TEST_SCHED_FX_H
#define TEST_SCHED_FX_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "common/util.h"
#include "sched/sched.h"

#define FX_MAX 256
#define FX_T0  1800000000000LL           /* a Unix time in ms */
#define MIN    60000LL
#define HOUR   3600000LL

typedef struct {
	place_cluster_t c;
	sched_req_t q[FX_MAX];
	int nq;
	sched_running_t run[FX_MAX];
	place_slot_t rslots[FX_MAX][8];
	int nrun;
	sched_usage_t use[FX_MAX];
	int nuse;
	sched_limit_entry_t ul[16], gl[16];
	sched_policy_t pol;
	sched_t *s;
	sched_result_t res;
	int64_t now;
} fx_t;

static inline void fx_init(fx_t *f)
{
	memset(f, 0, sizeof *f);
	assert_int_equal(place_cluster_init(&f->c), 0);
	sched_policy_default(&f->pol);
	f->pol.placement = PLACE_BESTFIT;
	f->pol.user_limits = f->ul;
	f->pol.group_limits = f->gl;
	assert_int_equal(sched_create(&f->s), 0);
	f->now = FX_T0;
}

static inline void fx_free(fx_t *f)
{
	place_cluster_destroy(&f->c);
	sched_destroy(f->s);
}

/* A node of n GPUs of model, 64 cores, 256 GiB; returns its index. */
static inline int fx_node(fx_t *f, int n, const char *model, place_share_t share)
{
	char name[32];
	int idx, lay = -1;

	snprintf(name, sizeof name, "n%d", f->c.nnodes);
	assert_int_equal(place_cluster_add_node(&f->c, name, 64000, 262144, &idx), 0);
	if (share == PLACE_SHARE_MIG) {
		place_mig_layout_t l;

		place_mig_layout_a100_40gb(&l);
		if (f->c.nmig_layouts == 0)
			assert_int_equal(place_cluster_add_mig_layout(&f->c, &l, &lay), 0);
		else
			lay = 0;
	}
	for (int i = 0; i < n; i++) {
		assert_int_equal(place_node_add_gpu(&f->c, idx, model, 40960, share, lay), 0);
		f->c.nodes[idx].gpus[i].index = idx * 100 + i;
	}
	return idx;
}

/* Queues request id for user/group asking total milli (2000 = 2 GPUs). */
static inline sched_req_t *fx_req(fx_t *f, int64_t id, int64_t user, int64_t group, int milli)
{
	sched_req_t *r = &f->q[f->nq++];

	sched_req_init(r);
	r->id = id;
	r->user = user;
	r->group = group;
	r->enqueue_ms = f->now - (FX_MAX - f->nq) * 1000;  /* queued in call order */
	assert_int_equal(sched_req_set_gpu_milli(r, milli), 0);
	return r;
}

/* Running allocation id on node: ngpu GPUs from position first, milli
 * each; taken from the cluster. */
static inline sched_running_t *fx_run(fx_t *f, int64_t id, int64_t user, int64_t group,
				      int node, int first, int ngpu, int milli)
{
	int i = f->nrun++;
	sched_running_t *r = &f->run[i];
	place_result_t *res = calloc(1, sizeof *res);

	memset(r, 0, sizeof *r);
	r->id = id;
	r->user = user;
	r->group = group;
	r->cls = 1;
	r->start_ms = f->now - HOUR + i * 1000;
	r->slots = f->rslots[i];
	r->nslots = ngpu;
	for (int k = 0; k < ngpu; k++) {
		place_slot_t *sl = &f->rslots[i][k];

		memset(sl, 0, sizeof *sl);
		sl->node = node;
		sl->gpu = first + k;
		sl->milli = milli;
	}
	res->nslots = ngpu;
	memcpy(res->slots, f->rslots[i], sizeof(place_slot_t) * (size_t)ngpu);
	assert_int_equal(place_apply(&f->c, res), 0);
	free(res);
	return r;
}

static inline int fx_decide(fx_t *f)
{
	sched_input_t in = {
		.cluster = &f->c, .queue = f->q, .nqueue = f->nq, .running = f->run,
		.nrunning = f->nrun, .usage = f->use, .nusage = f->nuse, .policy = &f->pol,
		.now_ms = f->now,
	};

	return sched_decide(f->s, &in, &f->res);
}

static inline const sched_admit_t *fx_admit(const fx_t *f, int64_t id)
{
	for (int i = 0; i < f->res.nadmits; i++)
		if (f->res.admits[i].req_id == id)
			return &f->res.admits[i];
	return NULL;
}

static inline const sched_wait_t *fx_wait(const fx_t *f, int64_t id)
{
	for (int i = 0; i < f->res.nwaits; i++)
		if (f->res.waits[i].req_id == id)
			return &f->res.waits[i];
	return NULL;
}

static inline const sched_preempt_t *fx_pre(const fx_t *f, int64_t alloc)
{
	for (int i = 0; i < f->res.npreempts; i++)
		if (f->res.preempts[i].alloc_id == alloc)
			return &f->res.preempts[i];
	return NULL;
}

/* Index of request id in admission order, -1 if not admitted. */
static inline int fx_admit_rank(const fx_t *f, int64_t id)
{
	for (int i = 0; i < f->res.nadmits; i++)
		if (f->res.admits[i].req_id == id)
			return i;
	return -1;
}

static inline const char *fx_reason(const fx_t *f, int64_t id)
{
	static char buf[GH_TEXT_MAX];
	const sched_wait_t *w = fx_wait(f, id);

	if (!w)
		return "(not waiting)";
	sched_wait_reason(w, &f->c, buf, sizeof buf);
	return buf;
}

/* Applies an admission to the fixture: the request becomes running. */
static inline void fx_start(fx_t *f, int64_t id, int64_t end_ms)
{
	const sched_admit_t *a = fx_admit(f, id);
	int qi = -1;

	assert_non_null(a);
	for (int i = 0; i < f->nq; i++)
		if (f->q[i].id == id)
			qi = i;
	assert_true(qi >= 0);
	int i = f->nrun++;
	sched_running_t *r = &f->run[i];
	place_result_t *res = calloc(1, sizeof *res);

	memset(r, 0, sizeof *r);
	r->id = id;
	r->user = f->q[qi].user;
	r->group = f->q[qi].group;
	r->cls = f->q[qi].cls;
	r->kind = f->q[qi].kind;
	r->start_ms = f->now;
	r->end_ms = end_ms;
	assert_true(a->nslots <= 8);
	memcpy(f->rslots[i], a->slots, sizeof(place_slot_t) * (size_t)a->nslots);
	r->slots = f->rslots[i];
	r->nslots = a->nslots;
	res->nslots = a->nslots;
	memcpy(res->slots, a->slots, sizeof(place_slot_t) * (size_t)a->nslots);
	assert_int_equal(place_apply(&f->c, res), 0);
	free(res);
	memmove(&f->q[qi], &f->q[qi + 1], sizeof(sched_req_t) * (size_t)(f->nq - qi - 1));
	f->nq--;
}

/* Ends running allocation id (gives its GPUs back). */
static inline void fx_end(fx_t *f, int64_t id)
{
	for (int i = 0; i < f->nrun; i++) {
		if (f->run[i].id != id)
			continue;
		place_result_t *res = calloc(1, sizeof *res);

		res->nslots = f->run[i].nslots;
		memcpy(res->slots, f->run[i].slots, sizeof(place_slot_t) * (size_t)res->nslots);
		assert_int_equal(place_release(&f->c, res), 0);
		free(res);
		for (int k = i; k < f->nrun - 1; k++) {
			f->run[k] = f->run[k + 1];
			memcpy(f->rslots[k], f->rslots[k + 1], sizeof f->rslots[k]);
			f->run[k].slots = f->rslots[k];
		}
		f->nrun--;
		return;
	}
	fail_msg("no running allocation %lld", (long long)id);
}

#endif
