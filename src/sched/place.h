/*
 * place.h — GPU placement: which node and which GPUs a request gets.
 *
 * Placement is the "where" half of scheduling (sched.h is the "who and
 * when" half). It is pure: no I/O, no clock, no globals; every call takes
 * the cluster, the request, an optional target workload and the caller's
 * random state, and gives the same answer for the same inputs.
 *
 * Model
 * -----
 *   cluster  ─┬─ nodes[]   name, CPU (milli-cores) and memory (MiB): total and free
 *             │   └─ gpus[]  model (id into cluster->models), memory MiB total/free,
 *             │              capacity 1000 milli, free milli, sharing mode
 *             ├─ models[]  GPU model names ("A100", "T4", ...), ids 0..nmodels-1
 *             └─ mig_layouts[]  MIG geometries (slices, profiles) GPUs refer to
 *
 *   sharing mode | who may use a GPU                  | unit of allocation
 *   -------------+------------------------------------+---------------------------
 *   exclusive    | one request at a time              | the whole GPU (1000 milli;
 *                |                                    | a fraction is rounded up)
 *   mps          | several requests, by milli and MiB | gpu_milli and gpu_memory_mib
 *   mig          | one request per MIG instance       | a profile: a run of slices
 *                |                                    | at an allowed start
 *
 * A request asks for num_gpu GPUs with gpu_milli of each (1000 = whole
 * GPU; a fraction < 1000 normally goes with num_gpu == 1), optionally a
 * minimum GPU memory, a set of allowed models, host CPU and memory, and
 * whether all GPUs must share one node (gang). num_gpu == 0 is a CPU-only
 * request. A placement result is a list of slots, each one (node, GPU,
 * milli, GPU memory, MIG instance, host CPU and memory): exactly what
 * place_apply() takes from the cluster and place_release() gives back.
 *
 * Files: place.c (model, apply/release, workload), place_fit.c (what fits
 * where), place_choose.c (the loop over nodes, ties, the cache),
 * place_score.c (random, firstfit, bestfit, packing, dotprod), place_fgd.c
 * (fragmentation: fgd, gpuhub). The policies are compared, with worked
 * examples and results, in docs/scheduler.md ("Placement").
 *
 * Ownership: a place_cluster_t owns its nodes array (place_cluster_destroy
 * frees it). A place_workload_t owns its class array. Requests and results
 * are plain values with no pointers: copy them with '='.
 */
#ifndef GH_PLACE_H
#define GH_PLACE_H

#include <stdint.h>

#include "common/model.h"

#define PLACE_MILLI            1000 /* capacity of one GPU in milli-GPU */
#define PLACE_NODE_GPUS_MAX    16   /* GPUs on one node */
#define PLACE_REQ_SLOTS_MAX    64   /* slots in one result (GPUs of a request, +1 for CPU-only) */
#define PLACE_MODELS_MAX       64   /* distinct GPU models in one cluster (a uint64_t mask) */
#define PLACE_MODELS_STR_MAX   128  /* "A100|H100" */
#define PLACE_MIG_NAME_MAX     16   /* "3g.40gb" */
#define PLACE_MIG_PROFILES_MAX 8    /* profiles of one MIG layout */
#define PLACE_MIG_LAYOUTS_MAX  8    /* MIG layouts in one cluster */
#define PLACE_MIG_SLICES_MAX   8    /* compute slices of one MIG GPU */

typedef enum {
	PLACE_SHARE_EXCLUSIVE = 0,
	PLACE_SHARE_MPS       = 1,
	PLACE_SHARE_MIG       = 2,
} place_share_t;

/* A MIG profile: `slices` consecutive compute slices starting at any slice
 * i with bit i set in `starts`, giving `memory_mib` of GPU memory. */
typedef struct {
	char name[PLACE_MIG_NAME_MAX];   /* "1g.10gb" */
	int slices;
	int64_t memory_mib;
	unsigned starts;                 /* bit i: may start at slice i */
} place_mig_profile_t;

typedef struct {
	char name[GH_MODEL_MAX];         /* "A100-80GB" */
	int slices;                      /* compute slices, <= PLACE_MIG_SLICES_MAX (7 on A100) */
	int nprofiles;
	place_mig_profile_t profiles[PLACE_MIG_PROFILES_MAX]; /* smallest first */
} place_mig_layout_t;

typedef struct {
	int index;                       /* device index as the inventory names it */
	int model;                       /* id into cluster->models */
	int64_t memory_mib;              /* total GPU memory */
	int64_t memory_free_mib;
	int capacity_milli;              /* PLACE_MILLI */
	int free_milli;                  /* 0..capacity_milli */
	place_share_t share;
	int mig_layout;                  /* id into cluster->mig_layouts, -1 unless share == MIG */
	unsigned mig_free;               /* MIG: bit i set = slice i free */
	int ntasks;                      /* slots currently placed on this GPU */
	int disabled;                    /* unhealthy / drained: never chosen */
} place_gpu_t;

typedef struct {
	/* What every placement reads comes first, in as few cache lines as
	 * possible: a choice scans every node. */
	int64_t cpu_milli;               /* total */
	int64_t cpu_free_milli;
	int64_t memory_mib;              /* total host memory */
	int64_t memory_free_mib;
	int ngpus;
	int disabled;                    /* cordoned: never chosen */
	place_gpu_t gpus[PLACE_NODE_GPUS_MAX];
	char name[GH_NAME_MAX];
} place_node_t;

typedef struct {
	place_node_t *nodes;             /* owned; nnodes used of cap */
	int nnodes, cap;
	int nmodels;
	char models[PLACE_MODELS_MAX][GH_MODEL_MAX];
	int nmig_layouts;
	place_mig_layout_t mig_layouts[PLACE_MIG_LAYOUTS_MAX];
} place_cluster_t;

typedef struct {
	int num_gpu;                     /* GPUs wanted; 0 = CPU only */
	int gpu_milli;                   /* of each GPU, 1..1000 (ignored when num_gpu == 0) */
	int64_t gpu_memory_mib;          /* of each GPU, 0 = no minimum */
	char models[PLACE_MODELS_STR_MAX]; /* allowed models "A|B", "" = any */
	char mig_profile[PLACE_MIG_NAME_MAX]; /* "" = any instance that fits (or no MIG) */
	int64_t cpu_milli;               /* host CPU, whole request */
	int64_t memory_mib;              /* host memory, whole request */
	int gang;                        /* 1: all GPUs on one node (or nothing) */
} place_request_t;

typedef struct {
	int node;                        /* index in cluster->nodes */
	int gpu;                         /* position in node->gpus, -1 for CPU/memory only */
	int milli;                       /* milli-GPU taken (1000 for an exclusive GPU) */
	int64_t gpu_memory_mib;          /* GPU memory taken */
	int mig_start, mig_slices;       /* MIG instance; 0, 0 when not MIG */
	int64_t cpu_milli;               /* host CPU taken on `node` by this slot */
	int64_t memory_mib;              /* host memory taken on `node` by this slot */
} place_slot_t;

/* Why nodes were turned down when nothing fit: each node counts once,
 * under the first test it failed, in this order. */
typedef struct {
	int disabled, model, gpu_count, gpu_milli, gpu_memory, mig, cpu, memory;
} place_reject_t;

typedef struct {
	int nslots;
	place_slot_t slots[PLACE_REQ_SLOTS_MAX];
	double score;                    /* the policy's score of the chosen option (lower = better) */
	place_reject_t reject;           /* filled when place_choose returns GH_ENOCAP */
} place_result_t;

typedef enum {
	PLACE_RANDOM = 0,  /* any node that fits, uniformly */
	PLACE_FIRSTFIT,    /* the first node (in cluster order) that fits */
	PLACE_BESTFIT,     /* the node left with the least free resources */
	PLACE_PACKING,     /* used GPUs first, then idle GPUs on busy nodes, then idle nodes */
	PLACE_DOTPROD,     /* best alignment of free resources with the demand */
	PLACE_FGD,         /* fragmentation gradient descent (ATC'23) */
	PLACE_GPUHUB,      /* ours: FGD refined (see place_fgd.c) */
	PLACE__COUNT
} place_policy_t;

/* One request shape of the target workload and how common it is. */
typedef struct {
	int num_gpu;
	int gpu_milli;
	int64_t cpu_milli;
	int64_t memory_mib;
	uint64_t model_mask;             /* allowed model ids (bit = cluster model id), 0 = any */
	double weight;                   /* popularity; place_workload_finish normalises to sum 1 */
} place_wclass_t;

/* Fillers (see place_workload_t.sliver): a fractional size counts when
 * its requests are at least this share of the workload, among those that
 * need no more CPU than its level; at most this many CPU levels. */
#define PLACE_FILLER_MIN    0.01
#define PLACE_SLIVER_LEVELS 8

/* The workload the cluster expects, used by fgd and gpuhub to measure
 * fragmentation ("free GPU that these requests could not use"). */
typedef struct {
	place_wclass_t *cls;             /* owned */
	int n, cap;
	/* What a GPU is bound to end with (gpuhub's ΔV), computed by
	 * place_workload_finish. A filler is a fractional size f whose
	 * requests needing at most c milli-CPU make PLACE_FILLER_MIN of the
	 * workload; the least such c is its CPU level. For a node with at
	 * least sliver_cpu[k] milli-CPU free, sliver[k * (PLACE_MILLI + 1) + r]
	 * is the least free milli that fillers of level <= sliver_cpu[k] can
	 * leave on a GPU with r free (r when none fits). nsliver == 0: no
	 * table yet (gpuhub then reads no difference). */
	int *sliver;                     /* owned: nsliver × (PLACE_MILLI + 1) */
	int64_t sliver_cpu[PLACE_SLIVER_LEVELS]; /* ascending */
	int nsliver;
} place_workload_t;

/* ---- policies ---- */

/* "random", "firstfit", "bestfit", "packing", "dotprod", "fgd", "gpuhub";
 * NULL when out of range. */
const char *place_policy_name(place_policy_t p);
/* Parses a policy name; 0 or GH_EINVAL. */
int place_policy_parse(const char *s, place_policy_t *out);
/* 1 when p measures fragmentation against shapes that carry host memory
 * (gpuhub: a node with free GPUs and too little memory strands them); the
 * others use the shapes of the FGD paper (GPU and CPU only). */
int place_policy_workload_memory(place_policy_t p);

/* ---- cluster ---- */

/* An empty cluster; 0 or GH_ENOMEM. */
int place_cluster_init(place_cluster_t *c);
void place_cluster_destroy(place_cluster_t *c);
/* Deep copy of src into dst (dst must not be initialised); 0 or GH_ENOMEM. */
int place_cluster_copy(place_cluster_t *dst, const place_cluster_t *src);
/* Id of a model name, registering it if new; GH_ETOOBIG past PLACE_MODELS_MAX. */
int place_cluster_model(place_cluster_t *c, const char *model, int *id);
/* Id of a model name, or GH_ENOTFOUND. */
int place_cluster_model_find(const place_cluster_t *c, const char *model, int *id);
/* Registers a MIG layout (copied); its id goes to *id. */
int place_cluster_add_mig_layout(place_cluster_t *c, const place_mig_layout_t *l, int *id);
/* The A100 40 GB layout: 7 slices, 1g.5gb .. 7g.40gb with NVIDIA's start rules. */
void place_mig_layout_a100_40gb(place_mig_layout_t *out);
/* Adds a node with everything free; *node gets its index (may be NULL). */
int place_cluster_add_node(place_cluster_t *c, const char *name, int64_t cpu_milli,
			   int64_t memory_mib, int *node);
/* Adds a GPU (all free) to node; index = position on the node. mig_layout
 * is -1 unless share == PLACE_SHARE_MIG. GH_ETOOBIG past PLACE_NODE_GPUS_MAX. */
int place_node_add_gpu(place_cluster_t *c, int node, const char *model, int64_t memory_mib,
		       place_share_t share, int mig_layout);
/* Whole free GPUs, in milli, summed over the cluster (and the capacity). */
void place_cluster_gpu_totals(const place_cluster_t *c, int64_t *capacity_milli,
			      int64_t *free_milli);

/* ---- requests ---- */

/* Checks a request's shape (counts, milli range, models string syntax);
 * 0 or GH_EINVAL. */
int place_request_check(const place_request_t *r);
/* Mask of cluster model ids the request allows (all ones for "any");
 * models the cluster lacks are ignored, so the mask may be 0. */
uint64_t place_request_model_mask(const place_cluster_t *c, const place_request_t *r);

/* ---- choosing, applying, releasing ---- */

/* Chooses where req goes under policy. w is the target workload fgd and
 * gpuhub measure fragmentation against (NULL: every node measures 0, so
 * they place like firstfit). Among nodes of equal score the first in
 * cluster order wins. *rng is the caller's random state (any value; only
 * "random" draws from it; NULL = a fixed state). Returns 0 with *out
 * filled, GH_ENOCAP when no node fits now (out->reject says why),
 * GH_EINVAL for a malformed request. The cluster is not changed: call
 * place_apply() to commit. */
int place_choose(place_policy_t policy, const place_cluster_t *c, const place_workload_t *w,
		 const place_request_t *req, uint64_t *rng, place_result_t *out);
/* Takes what res describes from the cluster. All or nothing: GH_EINVAL
 * (and no change) if any slot does not fit or names a bad node/GPU. */
int place_apply(place_cluster_t *c, const place_result_t *res);
/* Gives back what res took. GH_EINVAL (and no change) if that would push
 * any free amount above its total. */
int place_release(place_cluster_t *c, const place_result_t *res);
/* Would req fit on an empty copy of this cluster (ignoring current use)?
 * 1 yes, 0 never (so a queue can say "no node can ever run this"). For a
 * split request it counts GPUs that could take one share each. */
int place_fits_empty(const place_cluster_t *c, const place_request_t *req);

/* ---- repeated choices (optional) ---- */

/* A memo of per-node scores, keyed by each node's exact state and the
 * request's shape, so that a caller placing many requests on a large
 * cluster (the simulator, the hub's queue pass) re-scores only the nodes
 * that changed. It never changes an answer: place_choose_cached() returns
 * exactly what place_choose() would. Owned by the caller; one cache per
 * cluster, policy and workload (a change of policy or workload empties it). */
typedef struct place_cache place_cache_t;

/* A cache for clusters of up to nnodes nodes; 0 or GH_ENOMEM. */
int place_cache_create(int nnodes, place_cache_t **out);
void place_cache_destroy(place_cache_t *cache);
/* The cache also keeps the cluster's scale (largest node's CPU and GPU
 * totals, GPUs of each model, which some policies normalise by), computed
 * on first use for a cluster. Call this when node totals (not free
 * amounts) may have changed, e.g. after reloading the cluster from a new
 * inventory; if the scale then comes out different, every cached score
 * is dropped. */
void place_cache_totals_changed(place_cache_t *cache);
/* place_choose() with a cache (NULL cache = place_choose()). */
int place_choose_cached(place_policy_t policy, const place_cluster_t *c,
			const place_workload_t *w, const place_request_t *req, uint64_t *rng,
			place_cache_t *cache, place_result_t *out);


/* ---- target workload ---- */

void place_workload_init(place_workload_t *w);
void place_workload_destroy(place_workload_t *w);
/* Adds weight to the class of req's shape (merged with an equal shape). */
int place_workload_add(place_workload_t *w, const place_cluster_t *c, const place_request_t *req,
		       double weight);
/* Normalises weights to sum 1, most popular first; keeps the most popular
 * classes until their share reaches `keep` (0 < keep <= 1; 1 keeps all);
 * then computes w->sliver from the kept classes. 0 or GH_ENOMEM. */
int place_workload_finish(place_workload_t *w, double keep);

/* ---- random numbers (splitmix64; the state is the caller's) ---- */

uint64_t place_rng_next(uint64_t *state);
/* Uniform in [0, n), n > 0. */
uint64_t place_rng_below(uint64_t *state, uint64_t n);

/* ---- shared by the place*.c files only (not an API) ----
 * Define PLACE_INTERNAL before including this header to see it. */
#ifdef PLACE_INTERNAL

/* A request resolved against a cluster, once per choice. */
typedef struct {
	int ngpu;                        /* GPUs wanted */
	int milli;                       /* of each GPU */
	int64_t gmem;                    /* min GPU memory of each, 0 = none */
	int64_t cpu, mem;                /* host CPU and memory, whole request */
	uint64_t models;                 /* allowed model ids */
	char mig[PLACE_MIG_NAME_MAX];    /* wanted MIG profile, "" = any */
	int gang;
} place__req_t;

/* What one GPU gives to one share of a request. */
typedef struct {
	int milli;
	int64_t gmem;
	int mig_start, mig_slices;
} place__take_t;

/* The GPUs of one node chosen for a request. */
typedef struct {
	int n;
	int gpu[PLACE_NODE_GPUS_MAX];
	place__take_t take[PLACE_NODE_GPUS_MAX];
} place__pick_t;

typedef enum {
	PLACE__SEL_FIRST = 0,            /* lowest GPU position */
	PLACE__SEL_BEST,                 /* least free milli that fits, then lowest position */
	PLACE__SEL_RANDOM,               /* uniformly among GPUs that fit */
} place__sel_t;

/* Cluster-wide figures some scores normalise by (computed per choice, or
 * kept by the cache until place_cache_totals_changed). */
typedef struct {
	double max_cpu;                  /* largest node CPU, milli */
	double max_gpu;                  /* largest node GPU capacity, milli */
	double gpus;                     /* GPUs in the cluster */
	double model_gpus[PLACE_MODELS_MAX]; /* GPUs of each model id */
} place__norm_t;

int place__req_init(const place_cluster_t *c, const place_request_t *r, place__req_t *out);
/* milli-GPU that `slices` slices of layout l stand for (all slices = 1000). */
int place__mig_milli(const place_mig_layout_t *l, unsigned slices);
/* Can GPU g give one share of r? 1 and *t filled, or 0. */
int place__gpu_take(const place_cluster_t *c, const place_gpu_t *g, const place__req_t *r,
		    place__take_t *t);
/* Node filter: 1 when r fits on n now; else 0 and one reason counted in rej (may be NULL). */
int place__node_fits(const place_cluster_t *c, const place_node_t *n, const place__req_t *r,
		     place_reject_t *rej);
/* Chooses r->ngpu GPUs of n by rule sel; 0 or GH_ENOCAP. */
int place__pick(const place_cluster_t *c, const place_node_t *n, const place__req_t *r,
		place__sel_t sel, uint64_t *rng, place__pick_t *out);
/* Applies a pick to a copy of a node (for what-if scoring). */
void place__node_take(const place_cluster_t *c, place_node_t *n, const place__req_t *r,
		      const place__pick_t *p);

/* Baseline scores (place_score.c): cost of putting r on n, lower is better. */
double place__cost_basic(place_policy_t policy, const place_cluster_t *c, int idx,
			 const place_node_t *n, const place__req_t *r, const place__norm_t *nm);
/* How the baselines choose GPUs on the chosen node. */
place__sel_t place__sel_basic(place_policy_t policy);
/* Free milli-GPU of n, over the GPUs that are not disabled (bestfit's
 * and dotprod's Fgpu, one of gpuhub's tie keys). */
int64_t place__node_gpu_free(const place_node_t *n);

/* w->sliver for a GPU with r milli free on a node with cpu_free milli-CPU
 * free (place.c); r itself when no filler fits that CPU, 0 without a table. */
int place__sliver(const place_workload_t *w, int64_t cpu_free, int r);

/* Fragmentation policies (place_fgd.c). */
/* F_n(M): expected free milli-GPU of n that a request drawn from w could not use. */
double place__frag(const place_cluster_t *c, const place_node_t *n, const place_workload_t *w);
/* Cost of n for r under fgd or gpuhub (nm: the cluster's figures, may be
 * NULL); *pick (may be NULL) gets the GPUs.
 * f0 (may be NULL) remembers F_n of the node as it is: NAN = not known yet. */
double place__cost_frag(place_policy_t policy, const place_cluster_t *c, const place_node_t *n,
			const place_workload_t *w, const place__req_t *r, const place__norm_t *nm,
			place__pick_t *pick, double *f0);

#endif /* PLACE_INTERNAL */

#endif
