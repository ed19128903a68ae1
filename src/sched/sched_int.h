/*
 * sched_int.h — the layout of a sched_t, shared by the files of the
 * scheduling policy (sched.c, fairshare.c, quota.c, preempt.c, eta.c,
 * reason.c). Not for use outside src/sched.
 *
 *   piece          | file         | what it holds
 *   ---------------+--------------+---------------------------------------------
 *   entity tables  | quota.c      | users and groups: limits, usage, what they hold
 *   ordering       | fairshare.c  | one key per waiting request (priority, fair
 *                  |              | share, aging); sorted once per pass
 *   views          | sched.c      | working copies of the cluster: cur (all
 *                  |              | free capacity), nores (reserved GPUs taken
 *                  |              | out), rel (as if releasing sessions were gone)
 *   misfit cache   | sched.c      | request shapes already known not to fit a
 *                  |              | view; capacity only shrinks during a pass
 *   victims        | preempt.c    | which running allocations make room
 *   plan           | eta.c        | per-GPU holdings over time, for ETAs and the
 *                  |              | reservation
 */
#ifndef GH_SCHED_INT_H
#define GH_SCHED_INT_H

#include <stdint.h>

#include "sched/sched.h"

#define SCHED_INF        INT64_MAX
#define SCHED_MISS_MAX   64   /* misfit shapes remembered per view */
#define SCHED_NEVER_MAX  512  /* "could it ever fit" answers per pass (hash slots) */

/* Views: the placing ones first (cur, nores, rel), then the input as is. */
enum { SCHED_V_CUR = 0, SCHED_V_NORES, SCHED_V_REL, SCHED_V_BASE, SCHED_V__COUNT };

/* A user or a group. */
typedef struct {
	int64_t id;
	sched_limit_t lim;
	double usage_s;                  /* decayed GPU-seconds (history + running) */
	double window_s;                 /* GPU-seconds inside the window */
	double fs_exp;                   /* u/s: the exponent of its fair-share factor */
	int64_t held;                    /* milli held: running + decided this pass */
	int sessions;                    /* running + decided this pass */
	double pending_gpus;             /* GPUs of its queued requests seen so far */
} sched_ent_t;

/* id -> entity, open addressing on a power-of-two table. */
typedef struct {
	sched_ent_t *ent;
	int n, cap;
	int64_t *hkey;
	int32_t *hval;                   /* -1 = empty */
	int hcap;
} sched_etab_t;

/* One waiting request in queue order. */
typedef struct {
	double key;                      /* larger first */
	int64_t enq;
	int64_t id;
	int32_t qi;                      /* index into the input queue, -1 for an arrival */
} sched_ord_t;

/* The numbers of a request's shape, resolved once (the model string to a
 * mask), so that checks against known misfits need not read the request. */
typedef struct {
	int32_t num_gpu, gpu_milli;
	int64_t gpu_mem, cpu, mem;
	uint64_t mask;                   /* allowed cluster model ids, ~0 = any */
	int8_t gang;                     /* 1 also for a single GPU */
	int8_t has_mig;                  /* a MIG profile is named (read the request) */
} sched_shape_t;

/* A shape that did not fit a view. */
typedef struct {
	sched_shape_t sh;
	int gpu_only;
	char mig[PLACE_MIG_NAME_MAX];
} sched_miss_t;

typedef struct {
	place_cluster_t c;               /* nodes owned by the view (not by place.c) */
	int live;
	sched_miss_t miss[SCHED_MISS_MAX];
	int nmiss, miss_next;
	place_cache_t *cache;            /* place_choose memo, kept across passes */
	int cache_nodes;
	place_policy_t cache_pol;
	const place_workload_t *cache_w;
} sched_view_t;

/* One interval during which a GPU is (or will be) held, for planning. */
typedef struct {
	int64_t start, end;              /* end SCHED_INF = unknown */
	int32_t milli;
	int32_t next;                    /* next holding of the same GPU, -1 = none */
} sched_hold_t;

/* GPUs promised to a waiting request (release or preemption). */
typedef struct {
	int32_t k;                       /* rank of the waiting request */
	int32_t off, n;                  /* slots in s->slots */
} sched_claim_t;

/* A finite end of a running allocation, per user or group (quota ETAs). */
typedef struct {
	int32_t ent;
	int32_t milli;
	int64_t end;
	int64_t cum_milli;               /* of this entity's ends up to this one */
	int32_t cum_n;
} sched_end_t;

/* "Could this GPU shape ever fit?" (ok: 0 never, 1 yes, -1 empty slot) */
typedef struct {
	int num_gpu, gpu_milli, gang, ok;
	int64_t gpu_mem;
	uint64_t mask;
	char mig[PLACE_MIG_NAME_MAX];
} sched_never_t;

/* What the pass reads of a queued request most often, kept dense so the
 * loops in queue order do not walk the (large) input records. */
typedef struct {
	int64_t demand;                  /* milli: num_gpu * gpu_milli */
	int64_t id;
	int64_t enq;
	int64_t limit;                   /* runtime limit, ms (0 = none) */
	int32_t qi;                      /* index into the input queue */
	int32_t ui, gi;                  /* user and group entity (gi -1 = none) */
	int32_t cls;
	int32_t valid;                   /* class and shape are well formed */
	sched_shape_t sh;
} sched_qhot_t;

/* Preemption candidates for one request class, sorted (preempt.c). */
typedef struct {
	void *v;
	int n, cap;
	unsigned pass;                   /* pass_no it was built in */
} sched_vlist_t;

/* A models string already resolved to a mask (most queues name few). */
typedef struct {
	char models[PLACE_MODELS_STR_MAX];
	uint64_t mask;
} sched_mmemo_t;

#define SCHED_MMEMO_MAX 8

/* What the pass decided for one request (indexed like the input queue). */
enum {
	SCHED_D_NONE = 0, SCHED_D_ADMIT, SCHED_D_WAIT, SCHED_D_BORROW, SCHED_D_INVALID
};

struct sched {
	sched_policy_t pol;              /* copy of the last pass' policy */
	sched_limit_entry_t *ulim, *glim;/* copies of its limit arrays */
	int ulimcap, glimcap;
	int64_t epoch;                   /* now of the last pass: ordering keys are relative to it */
	int64_t now;
	uint64_t rng;
	int ready;                       /* a pass has run */
	unsigned pass_no;                /* counts passes (candidate lists' freshness) */
	sched_vlist_t vlist[SCHED_CLASSES_MAX];

	sched_etab_t users, groups;
	double usage_den_user, usage_den_group; /* fair-share normalisation */
	double share_sum_user, share_sum_group;

	/* cluster shape (flat GPU index = node_off[node] + position) */
	int nnodes, ngpus;
	int *node_off;
	int *gnode;                      /* node of each flat GPU */
	int nodecap, gpucap;
	uint8_t *frozen;                 /* GPU promised to a request waiting on a release */
	uint8_t *reserved;               /* GPU reserved for the head large request */
	int64_t resv_start;              /* start of the reservation, SCHED_INF = unknown */
	int64_t resv_dur;
	int nresv;
	int resv_k;                      /* rank of the request holding it, -1 = none */
	int resv_milli;
	int resv_gpus;                   /* GPUs the holder asks for */
	int64_t max_cpu, max_mem;        /* largest node, for "never fits" */
	sched_never_t never[SCHED_NEVER_MAX];
	int never_live;                  /* the table holds this pass' answers */
	sched_mmemo_t mmemo[SCHED_MMEMO_MAX];
	int nmmemo;

	sched_view_t v[SCHED_V__COUNT];

	/* Per queue entry. After ordering, everything is indexed by rank k
	 * (position in queue order), so the loops in queue order read memory
	 * in sequence; rank[k].qi leads back to the input. */
	sched_ord_t *ord, *ordtmp;
	int ordcap, ordtmpcap;
	sched_qhot_t *qhot;              /* by input index, filled in setup */
	sched_qhot_t *rank;              /* by rank */
	int qhcap, rankcap;
	void *rsort;                     /* radix sort buffers (fairshare.c) */
	int rsortcap;
	uint8_t *qdec;                   /* SCHED_D_* by rank */
	sched_wait_t *qw;                /* wait details by rank */
	int qdcap, qwcap;

	/* per running allocation */
	uint8_t *rborrowed, *rvictim;
	int rbcap, rvcap;

	/* outputs */
	sched_admit_t *admits;
	int nadmits, admcap;
	int *admoff;                     /* slot offset of each admission */
	int64_t *admend;                 /* expected end of each admission (plan) */
	int admoffcap, admendcap;
	place_slot_t *slots;
	int nslots, slotcap;
	sched_preempt_t *preempts;
	int npreempts, precap;
	sched_wait_t *waits;
	int nwaits, waitcap;
	sched_claim_t *claims;
	int nclaims, claimcap;

	/* plan (eta.c) */
	sched_hold_t *holds;
	int nholds, holdcap;
	int32_t *ghead;                  /* first holding per GPU */
	int64_t *gfree;                  /* per GPU: wholly free from (max end) */
	int gheadcap, gfreecap;
	int64_t *rel_t;                  /* aggregate ETA: release times, ascending */
	double *rel_cum;                 /* cumulative GPUs released by rel_t[i] */
	int nrel, reltcap, relccap;
	double agg_base;                 /* GPUs the planned requests claim */
	int planned;                     /* requests planned one by one this pass */
	int plan_last;                   /* waits up to this position were planned */
	sched_end_t *uends, *gends;      /* finite ends of running work, by entity */
	int nuends, ngends, uendcap, gendcap;
	int32_t *uoff, *goff;            /* entity e's ends: [off[e], off[e + 1]) */
	int uoffcap, goffcap;
	int nuoff, ngoff;                /* entities covered (later ones have none) */

	/* waiting keys after the pass (positions of arrivals) */
	sched_ord_t *wkeys;
	double *wcum;                    /* cumulative GPUs waiting for capacity, by position */
	int nwkeys, wkcap, wcumcap;
	sched_ord_t *arr;                /* arrivals queued since the pass, sorted */
	int narr, arrcap;

	/* scratch */
	place_result_t *res;             /* two results */
	void *ebuf;                      /* preempt.c candidates */
	int ebufcap;

	/* counters */
	int tried, hits;
};

/* ---- quota.c ---- */
void sched_etab_reset(sched_etab_t *t);
void sched_etab_free(sched_etab_t *t);
/* Finds or adds id; *idx = its index. New entities get lim. */
int sched_etab_get(sched_etab_t *t, int64_t id, const sched_limit_t *lim, int *idx);
int sched_etab_find(const sched_etab_t *t, int64_t id);
const sched_limit_t *sched_limit_lookup(const sched_limit_entry_t *e, int n, int64_t id,
					const sched_limit_t *dflt);
/* Quota check of a request against its user (u) and group (g, NULL for
 * none): 0 = within quota, 1 = over GPU quota but may borrow, or a negative
 * value when blocked, with code, a and b filled. */
int sched_quota_check(const sched_t *s, const sched_ent_t *u, const sched_ent_t *g,
		      int64_t demand, int preemptible, sched_wait_code_t *code, int64_t *a,
		      int64_t *b);
/* Marks running allocations beyond their user's or group's GPU quota
 * (latest started first) in s->rborrowed. */
int sched_mark_borrowed(sched_t *s, const sched_input_t *in);

/* ---- fairshare.c ---- */
/* Fills usage_s/window_s of the entities, shares, denominators. */
void sched_fs_usage(sched_t *s, const sched_input_t *in);
/* Ordering key of a request of user u / group g (pending state of u as it
 * is now: call in enqueue order). */
double sched_fs_key(const sched_t *s, int cls, int64_t enqueue_ms, const sched_ent_t *u,
		    const sched_ent_t *g);
int sched_ord_cmp(const void *a, const void *b);
/* Sorts n entries by sched_ord_cmp (stable merge sort; tmp holds n). */
void sched_ord_sort(sched_ord_t *o, sched_ord_t *tmp, int n);
/* The same order for entries already in (enqueue, id) order: a stable
 * radix sort on the key alone. 0 or GH_ENOMEM. */
int sched_ord_sort_keys(sched_t *s, sched_ord_t *o, sched_ord_t *tmp, int n);

/* ---- preempt.c ---- */
/* Looks for victims that make room for input queue entry qi in view vi. On
 * success, fills *res with where it would go, records the preemptions and
 * returns the number of victims (> 0); 0 when nothing helps; < 0 on error. */
int sched_preempt_find(sched_t *s, const sched_input_t *in, int qi, int vi,
		       place_result_t *res);

/* ---- eta.c ---- */
/* Plans every GPU's holdings: disabled GPUs, running work, this pass'
 * admissions and promises. */
int sched_plan_init(sched_t *s, const sched_input_t *in);
int sched_plan_hold_slots(sched_t *s, const place_slot_t *sl, int n, int64_t start,
			  int64_t end);
/* Earliest start >= t0 of req for dur (SCHED_INF = unknown end) on the
 * planned GPUs; with claim (and a known start), holds the GPUs it picked.
 * Returns the time, SCHED_INF when unknown. *found = GPUs picked (0 when
 * no set of GPUs could ever do); gpus_out (may be NULL, room for
 * req->num_gpu) gets their flat indexes — also when the time is unknown,
 * then the set that has the most GPUs with a known time. */
int64_t sched_plan_earliest(sched_t *s, const place_request_t *req, uint64_t mask,
			    int64_t t0, int64_t dur, int claim, int *gpus_out, int *found);
/* Aggregate estimate for requests past the plan depth. */
int sched_plan_agg_build(sched_t *s);
int64_t sched_plan_agg_eta(const sched_t *s, double cum_gpus);
/* Finite ends of running work per user and group, for quota ETAs. */
int sched_ends_build(sched_t *s, const sched_input_t *in);
int64_t sched_quota_eta(const sched_t *s, const sched_wait_t *w, int ui, int gi,
			int64_t demand);

/* ---- pass.c ---- */
/* Setup, order and phases A and B of a full pass. */
int sched_pass_run(sched_t *s, const sched_input_t *in);
int sched_pass_valid(const sched_t *s, const sched_req_t *r);
/* Entities of r (added with their limits when new); *gi = -1 for no group. */
int sched_pass_ent(sched_t *s, const sched_req_t *r, int *ui, int *gi);

/* ---- sched.c (used by the others) ---- */
int sched_grow(void **p, int *cap, int need, size_t size);
#define SCHED_GROW(arr, cap, need) sched_grow((void **)&(arr), &(cap), (need), sizeof *(arr))
/* GPUs a request asks for, in milli (num_gpu * gpu_milli). */
static inline int64_t sched_req_demand(const sched_req_t *r)
{
	return r->shape.num_gpu > 0 ? (int64_t)r->shape.num_gpu * r->shape.gpu_milli : 0;
}
int sched_view_load(sched_view_t *v, const place_cluster_t *src);
int sched_view_cache(sched_t *s, sched_view_t *v);
/* Resolves r's shape (models through the memo). */
void sched_shape_of(sched_t *s, const place_request_t *r, sched_shape_t *out);
/* 0 and *res filled when req (shape sh) fits view vi; GH_ENOCAP when not.
 * req is read only when the misfit memo cannot answer. */
int sched_view_fits(sched_t *s, int vi, const place_request_t *req, const sched_shape_t *sh,
		    place_result_t *res);
/* The view a request with this runtime limit places on. */
int sched_view_for(const sched_t *s, int64_t limit_ms, int64_t now);
int sched_flat(const sched_t *s, int node, int gpu);
/* place_request_model_mask against the input cluster, memoised. */
uint64_t sched_model_mask(sched_t *s, const place_request_t *r);
void sched_freeze(sched_t *s, const place_result_t *res);
int sched_touches_reserved(const sched_t *s, const place_result_t *res);
int sched_push_preempt(sched_t *s, const sched_preempt_t *p);
void sched_tally_take(sched_t *s, int ui, int gi, const place_result_t *res);
int sched_admit_rec(sched_t *s, const sched_req_t *r, int ui, int gi, place_result_t *res,
		    int borrowed);
int sched_promise(sched_t *s, int k, const place_result_t *res);
void sched_set_wait(sched_t *s, int k, sched_wait_code_t code, int64_t a, int64_t b);

#endif
