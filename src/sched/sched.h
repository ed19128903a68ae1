/*
 * sched.h — the scheduling policy: who gets GPUs, when, and why not yet.
 *
 * place.h answers "where does this one request go"; this module answers
 * "which waiting requests run now, which running ones make room, and what
 * does everyone else wait for". It is pure (no I/O, no clock, no globals):
 * the time is an argument and the same inputs give the same decisions, so
 * the daemon and `gpuhub sim` run the very same code.
 *
 * What one pass decides (sched_decide), in order:
 *   1. order the queue: priority class + fair share (decayed usage against
 *      share) + aging (wait time), see docs/scheduler.md for the formula;
 *   2. quota: per-user and per-group GPU quota, concurrent sessions and
 *      GPU-hours per window; a preemptible request over its GPU quota may
 *      borrow idle capacity (second phase) and is reclaimed later;
 *   3. place each admissible request with place_choose(); gang requests
 *      get all GPUs on one node or nothing;
 *   4. a request within quota that does not fit may preempt: idle sessions
 *      first (the hub suspends them), then borrowed (over-quota) work, then
 *      lower priority; a non-preemptible class is never a victim;
 *   5. the first large multi-GPU request that still does not fit gets a
 *      reservation; later requests may use the reserved GPUs only when
 *      their runtime limit ends before the reservation starts (backfill);
 *   6. every request left waiting gets a position, an ETA and a reason.
 *
 * sched_decide_one() decides a single arrival against the state the last
 * pass left (fast path for busy clusters); it never preempts.
 *
 * How the hub calls it (one node holding the local GPUs)
 * ------------------------------------------------------
 *     place_cluster_t c;                       // the GPUs, as place.h models them
 *     place_cluster_init(&c);
 *     place_cluster_add_node(&c, "local", cpu_milli, mem_mib, NULL);
 *     for each GPU g (in inventory order):
 *         place_node_add_gpu(&c, 0, g.model, g.memory_mib, share, -1);
 *             // share: PLACE_SHARE_EXCLUSIVE, or PLACE_SHARE_MPS where fractions share
 *         c.nodes[0].gpus[k].index = g.index;  // inventory index, read back below
 *
 *     sched_running_t run[m];                  // sessions holding GPUs
 *     place_slot_t slots[..];                  // one slot per held GPU:
 *         // {.node = 0, .gpu = position on node, .milli, .gpu_memory_mib}
 *     run[i] = (sched_running_t){ .id = session id, .user, .group, .cls,
 *                                 .idle, .start_ms, .slots = .., .nslots = .. };
 *         // .idle = 1 for idle-warned sessions, .releasing = 1 for suspending
 *         // and stopping ones, .end_ms when the end is known (batch limit)
 *     sched_cluster_take_running(&c, run, m);  // free amounts now exclude them
 *
 *     sched_req_t q[n];                        // queued sessions, oldest first
 *     sched_req_init(&q[i]);                  // class: policy default (normal)
 *     q[i].id = session id; q[i].user = ..; q[i].group = ..; q[i].cls = ..;
 *     q[i].enqueue_ms = ..;
 *     sched_req_set_gpu_milli(&q[i], session.gpu_milli); // 2000 = 2 GPUs, 500 = half
 *     gh_strlcpy(q[i].shape.models, session.gpu_model, sizeof q[i].shape.models);
 *         // "" = any; names must be the cluster's model names ("A|B" = either)
 *
 *     sched_policy_t pol;  sched_policy_default(&pol);
 *     sched_t *s;          sched_create(&s);              // keep it; reuse each pass
 *     sched_input_t in = { .cluster = &c, .queue = q, .nqueue = n,
 *                          .running = run, .nrunning = m, .policy = &pol,
 *                          .now_ms = gh_now_ms() };
 *     sched_result_t res;
 *     if (sched_decide(s, &in, &res) == 0) {
 *         for (i < res.nadmits)      // start these
 *             res.admits[i].req_id; for (k < res.admits[i].nslots) {
 *                 const place_slot_t *sl = &res.admits[i].slots[k];
 *                 if (sl->gpu < 0) continue;   // host CPU/memory only
 *                 gpu index = c.nodes[sl->node].gpus[sl->gpu].index;
 *                 sl->milli; sl->gpu_memory_mib; }
 *         for (i < res.npreempts)    // suspend (idle) or stop/requeue these
 *             res.preempts[i].alloc_id, .suspend, sched_preempt_reason(..)
 *         for (i < res.nwaits)       // everyone still queued, by position
 *             res.waits[i].req_id, .position, .eta_s (-1 = unknown),
 *             sched_wait_reason(&res.waits[i], &c, buf, sizeof buf);
 *     }
 *     place_cluster_destroy(&c);  ...  sched_destroy(s) at shutdown.
 *
 * Ownership: the caller owns every input (cluster, arrays, policy and its
 * limit arrays); nothing is kept after a call returns. A sched_result_t
 * points into memory owned by the sched_t and stays valid until the next
 * sched_decide/sched_decide_one on that sched_t or sched_destroy.
 *
 * Units: times are Unix milliseconds (any epoch works: only differences
 * matter); GPU amounts are milli-GPU (1000 = one whole GPU).
 */
#ifndef GH_SCHED_H
#define GH_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "common/model.h"
#include "sched/place.h"

#define SCHED_CLASSES_MAX 8
#define SCHED_UNLIMITED   (-1)

/* ---- policy ---- */

typedef struct {
	char name[GH_NAME_MAX];          /* "low", "normal", "high" */
	int priority;                    /* larger runs first and may preempt smaller */
	int preemptible;                 /* 0: never a victim, and never borrows */
} sched_class_t;

/* Limits of one user or group. Every amount may be SCHED_UNLIMITED. */
typedef struct {
	int64_t gpu_milli;               /* GPU quota held at once (guaranteed share) */
	int64_t gpu_milli_max;           /* hard cap, borrowing included */
	int sessions;                    /* concurrent allocations */
	double gpu_hours;                /* GPU-hours within policy.window_ms */
	double share;                    /* fair-share weight, > 0 (1 = a normal share) */
} sched_limit_t;

typedef struct {
	int64_t id;                      /* user or group id */
	sched_limit_t limit;
} sched_limit_entry_t;

typedef struct {
	int nclasses;
	sched_class_t classes[SCHED_CLASSES_MAX];
	int default_class;               /* what sched_req_init() picks */
	sched_limit_t user_default;      /* for users without an entry */
	sched_limit_t group_default;
	const sched_limit_entry_t *user_limits;  /* caller-owned, any order, ids unique */
	int nuser_limits;
	const sched_limit_entry_t *group_limits;
	int ngroup_limits;

	int64_t window_ms;               /* GPU-hours window (sliding), e.g. 7 days */
	int64_t half_life_ms;            /* fair-share usage decay half-life */
	double fairshare_weight;         /* points for a fair-share factor of 1 */
	double pending_charge_s;         /* each earlier queued GPU of the same user
					    counts as this many GPU-seconds of usage */
	double aging_per_hour;           /* points per hour waited */

	int borrowing;                   /* 1: preemptible work may exceed GPU quota */
	int preempt;                     /* 1: requests within quota may preempt */
	int preempt_tries;               /* preemption searches per pass */
	int reserve_min_gpus;            /* requests of >= this many GPUs get a reservation */
	int reservations;                /* reservations per pass */
	int plan_depth;                  /* waiting requests planned one by one for ETAs */
	int64_t release_ms;              /* how long a suspend/stop takes (ETA of the
					    request waiting for it) */

	place_policy_t placement;        /* place_choose policy */
	const place_workload_t *workload;/* for fgd/gpuhub scoring; caller-owned, may be NULL */
	uint64_t seed;                   /* random placement state at the start of a pass */
} sched_policy_t;

/* ---- inputs ---- */

typedef enum { SCHED_INTERACTIVE = 0, SCHED_BATCH = 1 } sched_kind_t;

typedef struct {
	int64_t id;                      /* the caller's id (session id) */
	int64_t user;                    /* user id */
	int64_t group;                   /* group id, 0 = none */
	int cls;                         /* index into policy->classes */
	sched_kind_t kind;
	place_request_t shape;           /* GPUs, GPU memory, models, MIG, CPU, memory, gang */
	int64_t runtime_limit_ms;        /* batch: runs at most this long; 0 = unknown */
	int64_t enqueue_ms;              /* when it (re)joined the queue */
} sched_req_t;

typedef struct {
	int64_t id;                      /* allocation / session id */
	int64_t user, group;
	int cls;                         /* index into policy->classes */
	sched_kind_t kind;
	int idle;                        /* 1: holds GPUs but does not use them */
	int nonpreemptible;              /* 1: never a victim, whatever its class */
	int releasing;                   /* 1: already suspending/stopping */
	int64_t start_ms;
	int64_t end_ms;                  /* expected end, 0 = unknown */
	const place_slot_t *slots;       /* caller-owned placement */
	int nslots;
} sched_running_t;

/* One past use of GPUs (finished sessions); running ones are counted from
 * sched_running_t. */
typedef struct {
	int64_t user, group;
	int64_t start_ms, end_ms;
	int gpu_milli;                   /* held during [start, end) */
} sched_usage_t;

typedef struct {
	const place_cluster_t *cluster;  /* free amounts exclude running allocations */
	const sched_req_t *queue;        /* waiting requests, any order, ids unique */
	int nqueue;
	const sched_running_t *running;
	int nrunning;
	const sched_usage_t *usage;      /* may be NULL */
	int nusage;
	const sched_policy_t *policy;
	int64_t now_ms;
} sched_input_t;

/* ---- outputs ---- */

typedef struct {
	int64_t req_id;
	int nslots;
	const place_slot_t *slots;       /* what place_apply() takes; node/gpu index the cluster */
	int borrowed;                    /* over quota: reclaimable by preemption later */
	int backfill;                    /* on GPUs reserved for a later start */
} sched_admit_t;

typedef enum {
	SCHED_WHY_IDLE = 1,              /* idle: the hub suspends it (state kept) */
	SCHED_WHY_RECLAIM,               /* borrowed capacity its owner now needs */
	SCHED_WHY_PRIORITY,              /* a higher priority class needs the GPUs */
} sched_why_t;

typedef struct {
	int64_t alloc_id;                /* sched_running_t.id */
	int64_t for_req_id;              /* the request it makes room for */
	sched_why_t why;
	int suspend;                     /* 1: suspend (idle, resumable), 0: stop and requeue */
	int64_t for_user, for_group;     /* owner of that request (for the reason) */
} sched_preempt_t;

typedef enum {
	SCHED_WAIT_CAPACITY = 1,         /* no node has the free GPUs now */
	SCHED_WAIT_NEVER,                /* no node could ever run it */
	SCHED_WAIT_INVALID,              /* malformed request (bad class, shape) */
	SCHED_WAIT_USER_GPUS,            /* a = held milli, b = limit milli */
	SCHED_WAIT_GROUP_GPUS,
	SCHED_WAIT_USER_SESSIONS,        /* a = sessions, b = limit */
	SCHED_WAIT_GROUP_SESSIONS,
	SCHED_WAIT_USER_HOURS,           /* a = used GPU-seconds, b = limit GPU-seconds */
	SCHED_WAIT_GROUP_HOURS,
	SCHED_WAIT_PREEMPTING,           /* a = sessions being preempted for it */
	SCHED_WAIT_RELEASING,            /* GPUs being released by stopping sessions */
	SCHED_WAIT_RESERVED,             /* a = GPUs of the request holding the reservation */
} sched_wait_code_t;

typedef struct {
	int64_t req_id;
	int position;                    /* 1 = next; counts only waiting requests */
	int64_t eta_s;                   /* seconds until it should start, -1 = unknown */
	sched_wait_code_t code;
	int64_t a, b;                    /* details, see sched_wait_code_t */
	int reserved;                    /* 1: holds the reservation (GPUs drain for it) */
	/* the request's shape, for the reason text */
	int num_gpu, gpu_milli;
	uint64_t model_mask;             /* allowed cluster model ids, ~0 = any (filled for
					    capacity, reserved and never; ~0 otherwise) */
} sched_wait_t;

typedef struct {
	const sched_admit_t *admits;
	int nadmits;
	const sched_preempt_t *preempts;
	int npreempts;
	const sched_wait_t *waits;       /* sorted by position */
	int nwaits;
	/* counters, for metrics and benchmarks */
	int placements_tried;            /* place_choose calls */
	int cache_hits;                  /* requests skipped as a known misfit */
} sched_result_t;

typedef struct sched sched_t;

/* ---- calls ---- */

/* Fills p with the defaults: classes low(0, preemptible) normal(100,
 * preemptible) high(200, not preemptible), default class normal, limits
 * unlimited with share 1, 7-day window, 7-day half-life, fair-share weight
 * 50, pending charge 1 GPU-hour, aging 4 points per hour, borrowing and
 * preemption on, reservation for >= 2 GPUs, plan depth 64, release 60 s,
 * placement gpuhub. */
void sched_policy_default(sched_policy_t *p);
/* Index of the class called name, or GH_ENOTFOUND. */
int sched_policy_class(const sched_policy_t *p, const char *name, int *cls);
/* Checks a policy; 0 or GH_EINVAL. */
int sched_policy_check(const sched_policy_t *p);

/* Zeroes r and sets the defaults (class = default of sched_policy_default,
 * 1 GPU of 1000 milli, interactive, not gang). */
void sched_req_init(sched_req_t *r);
/* Sets the GPU part from a total in milli: n*1000 = n whole GPUs (gang),
 * 1..999 = a fraction of one GPU, 0 = CPU only. GH_EINVAL for other values. */
int sched_req_set_gpu_milli(sched_req_t *r, int total_milli);

/* Takes the running allocations' slots from the cluster (place_apply each),
 * for callers that build the cluster empty. 0, or GH_EINVAL and the
 * cluster unchanged if one does not fit. */
int sched_cluster_take_running(place_cluster_t *c, const sched_running_t *run, int n);

int sched_create(sched_t **out);
void sched_destroy(sched_t *s);

/* One full pass. 0, GH_EINVAL (bad input: policy, duplicate...), GH_ENOMEM. */
int sched_decide(sched_t *s, const sched_input_t *in, sched_result_t *out);

/* Decides one arrival against the state the last sched_decide left, as if
 * every admission returned since then had been applied and nothing else had
 * changed (call sched_decide again after a departure, a release or a policy
 * change). The result holds at most one admission and no preemption; when
 * the request must wait, one wait entry. GH_ESTATE before any sched_decide. */
int sched_decide_one(sched_t *s, const sched_req_t *arrival, int64_t now_ms,
		     sched_result_t *out);

/* A sentence for a waiting request ("group quota 8/8 GPUs in use",
 * "no node with 2 free A100 — expected in about 14 min"). c names the
 * models (may be NULL). Returns strlen of the full sentence. */
size_t sched_wait_reason(const sched_wait_t *w, const place_cluster_t *c, char *buf,
			 size_t len);
/* A sentence for a preemption ("idle; suspended for request 42"). */
size_t sched_preempt_reason(const sched_preempt_t *p, char *buf, size_t len);

/* Fair-share helper: GPU-seconds of usage, decayed with half-life h, of a
 * use of milli during [start, end), seen at now. Exposed for tests and the
 * store's summaries. */
double sched_decayed_gpu_s(int64_t start_ms, int64_t end_ms, int milli, int64_t now_ms,
			   int64_t half_life_ms);

#endif
