/*
 * place.c — the placement model: clusters, requests, committing and
 * giving back placements, the target workload, and the random numbers
 * the policies draw.
 *
 * Everything here is bookkeeping that every policy shares; the choosing
 * itself lives in place_choose.c (the loop over nodes), place_fit.c (what
 * fits where), place_score.c (the simple scores) and place_fgd.c
 * (fragmentation). Keeping apply/release here, apart from the policies,
 * means one piece of code decides what "taking" a GPU share means, so a
 * policy can never over-allocate: place_apply() re-checks every slot.
 *
 * Accounting per GPU, by sharing mode:
 *
 *   mode      | take one slot                          | give it back
 *   ----------+----------------------------------------+------------------------------
 *   exclusive | needs ntasks == 0; free_milli = 0      | ntasks = 0; free_milli = 1000
 *   mps       | free_milli -= milli; memory -= gmem    | the reverse, never above total
 *   mig       | clear the slot's slice bits; memory -= | set the bits back (they must be
 *             | gmem; free_milli from the free bits    | taken); free_milli from the bits
 *
 * Host CPU and memory are taken on the slot's node in every mode.
 */
#include <stdlib.h>
#include <string.h>

#define PLACE_INTERNAL
#include "common/err.h"
#include "common/util.h"
#include "sched/place.h"

static const char *const policy_names[PLACE__COUNT] = {
	[PLACE_RANDOM] = "random",   [PLACE_FIRSTFIT] = "firstfit",
	[PLACE_BESTFIT] = "bestfit", [PLACE_PACKING] = "packing",
	[PLACE_DOTPROD] = "dotprod", [PLACE_FGD] = "fgd",
	[PLACE_GPUHUB] = "gpuhub",
};

const char *place_policy_name(place_policy_t p)
{
	if ((int)p < 0 || p >= PLACE__COUNT)
		return NULL;
	return policy_names[p];
}

int place_policy_parse(const char *s, place_policy_t *out)
{
	if (!s || !out)
		return GH_EINVAL;
	for (int i = 0; i < PLACE__COUNT; i++) {
		if (strcmp(s, policy_names[i]) == 0) {
			*out = (place_policy_t)i;
			return 0;
		}
	}
	return GH_EINVAL;
}

int place_policy_workload_memory(place_policy_t p) { return p == PLACE_GPUHUB; }

/* ---- random numbers ---- */

uint64_t place_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t place_rng_below(uint64_t *state, uint64_t n)
{
	/* Rejection keeps the draw exactly uniform. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;

	do {
		x = place_rng_next(state);
	} while (x >= limit);
	return x % n;
}

/* ---- cluster ---- */

int place_cluster_init(place_cluster_t *c)
{
	if (!c)
		return GH_EINVAL;
	memset(c, 0, sizeof(*c));
	c->cap = 16;
	c->nodes = calloc((size_t)c->cap, sizeof(*c->nodes));
	if (!c->nodes) {
		c->cap = 0;
		return GH_ENOMEM;
	}
	return 0;
}

void place_cluster_destroy(place_cluster_t *c)
{
	if (!c)
		return;
	free(c->nodes);
	memset(c, 0, sizeof(*c));
}

int place_cluster_copy(place_cluster_t *dst, const place_cluster_t *src)
{
	if (!dst || !src)
		return GH_EINVAL;
	*dst = *src;
	dst->cap = src->nnodes > 0 ? src->nnodes : 1;
	dst->nodes = malloc((size_t)dst->cap * sizeof(*dst->nodes));
	if (!dst->nodes) {
		memset(dst, 0, sizeof(*dst));
		return GH_ENOMEM;
	}
	if (src->nnodes > 0)
		memcpy(dst->nodes, src->nodes, (size_t)src->nnodes * sizeof(*src->nodes));
	return 0;
}

int place_cluster_model_find(const place_cluster_t *c, const char *model, int *id)
{
	if (!c || !model)
		return GH_EINVAL;
	for (int i = 0; i < c->nmodels; i++) {
		if (strcmp(c->models[i], model) == 0) {
			if (id)
				*id = i;
			return 0;
		}
	}
	return GH_ENOTFOUND;
}

int place_cluster_model(place_cluster_t *c, const char *model, int *id)
{
	if (!c || !model || !model[0] || strlen(model) >= GH_MODEL_MAX || strchr(model, '|'))
		return GH_EINVAL;
	if (place_cluster_model_find(c, model, id) == 0)
		return 0;
	if (c->nmodels >= PLACE_MODELS_MAX)
		return GH_ETOOBIG;
	gh_strlcpy(c->models[c->nmodels], model, GH_MODEL_MAX);
	if (id)
		*id = c->nmodels;
	c->nmodels++;
	return 0;
}

int place_cluster_add_mig_layout(place_cluster_t *c, const place_mig_layout_t *l, int *id)
{
	if (!c || !l || l->slices < 1 || l->slices > PLACE_MIG_SLICES_MAX || l->nprofiles < 1 ||
	    l->nprofiles > PLACE_MIG_PROFILES_MAX)
		return GH_EINVAL;
	for (int i = 0; i < l->nprofiles; i++) {
		const place_mig_profile_t *p = &l->profiles[i];

		if (p->slices < 1 || p->slices > l->slices || p->memory_mib < 0 || !p->starts ||
		    (p->starts >> (l->slices - p->slices + 1)) != 0)
			return GH_EINVAL;
	}
	if (c->nmig_layouts >= PLACE_MIG_LAYOUTS_MAX)
		return GH_ETOOBIG;
	c->mig_layouts[c->nmig_layouts] = *l;
	if (id)
		*id = c->nmig_layouts;
	c->nmig_layouts++;
	return 0;
}

void place_mig_layout_a100_40gb(place_mig_layout_t *out)
{
	/* NVIDIA's placement rules for A100 40 GB: slices 0..6. */
	static const place_mig_profile_t p[] = {
		{"1g.5gb", 1, 4864, 0x7f},      /* any slice */
		{"2g.10gb", 2, 9728, 0x15},     /* 0, 2, 4 */
		{"3g.20gb", 3, 19968, 0x11},    /* 0, 4 */
		{"4g.20gb", 4, 19968, 0x01},    /* 0 */
		{"7g.40gb", 7, 40192, 0x01},    /* 0 */
	};

	memset(out, 0, sizeof(*out));
	gh_strlcpy(out->name, "A100-40GB", sizeof(out->name));
	out->slices = 7;
	out->nprofiles = (int)(sizeof(p) / sizeof(p[0]));
	memcpy(out->profiles, p, sizeof(p));
}

int place_cluster_add_node(place_cluster_t *c, const char *name, int64_t cpu_milli,
			   int64_t memory_mib, int *node)
{
	place_node_t *n;

	if (!c || !name || cpu_milli < 0 || memory_mib < 0 || strlen(name) >= GH_NAME_MAX)
		return GH_EINVAL;
	if (c->nnodes == c->cap) {
		int ncap = c->cap ? c->cap * 2 : 16;
		place_node_t *nn = realloc(c->nodes, (size_t)ncap * sizeof(*nn));

		if (!nn)
			return GH_ENOMEM;
		c->nodes = nn;
		c->cap = ncap;
	}
	n = &c->nodes[c->nnodes];
	memset(n, 0, sizeof(*n));
	gh_strlcpy(n->name, name, sizeof(n->name));
	n->cpu_milli = n->cpu_free_milli = cpu_milli;
	n->memory_mib = n->memory_free_mib = memory_mib;
	if (node)
		*node = c->nnodes;
	c->nnodes++;
	return 0;
}

int place_node_add_gpu(place_cluster_t *c, int node, const char *model, int64_t memory_mib,
		       place_share_t share, int mig_layout)
{
	place_node_t *n;
	place_gpu_t *g;
	int model_id, rc;

	if (!c || node < 0 || node >= c->nnodes || memory_mib < 0)
		return GH_EINVAL;
	if (share != PLACE_SHARE_EXCLUSIVE && share != PLACE_SHARE_MPS && share != PLACE_SHARE_MIG)
		return GH_EINVAL;
	if ((share == PLACE_SHARE_MIG) != (mig_layout >= 0))
		return GH_EINVAL;
	if (mig_layout >= c->nmig_layouts)
		return GH_EINVAL;
	n = &c->nodes[node];
	if (n->ngpus >= PLACE_NODE_GPUS_MAX)
		return GH_ETOOBIG;
	rc = place_cluster_model(c, model, &model_id);
	if (rc)
		return rc;
	g = &n->gpus[n->ngpus];
	memset(g, 0, sizeof(*g));
	g->index = n->ngpus;
	g->model = model_id;
	g->memory_mib = g->memory_free_mib = memory_mib;
	g->capacity_milli = g->free_milli = PLACE_MILLI;
	g->share = share;
	g->mig_layout = mig_layout;
	if (share == PLACE_SHARE_MIG)
		g->mig_free = (1u << c->mig_layouts[mig_layout].slices) - 1;
	n->ngpus++;
	return 0;
}

void place_cluster_gpu_totals(const place_cluster_t *c, int64_t *capacity_milli,
			      int64_t *free_milli)
{
	int64_t cap = 0, fr = 0;

	for (int i = 0; c && i < c->nnodes; i++) {
		for (int j = 0; j < c->nodes[i].ngpus; j++) {
			cap += c->nodes[i].gpus[j].capacity_milli;
			fr += c->nodes[i].gpus[j].free_milli;
		}
	}
	if (capacity_milli)
		*capacity_milli = cap;
	if (free_milli)
		*free_milli = fr;
}

/* ---- requests ---- */

/* Calls fn for each "|"-separated model name of s; returns fn's first
 * non-zero value, GH_EINVAL for an empty or over-long name. */
static int each_model(const char *s, int (*fn)(const char *name, void *arg), void *arg)
{
	char name[GH_MODEL_MAX];

	if (!s[0])
		return 0;
	for (;;) {
		const char *bar = strchr(s, '|');
		size_t len = bar ? (size_t)(bar - s) : strlen(s);
		int rc;

		if (len == 0 || len >= sizeof(name))
			return GH_EINVAL;
		memcpy(name, s, len);
		name[len] = '\0';
		rc = fn(name, arg);
		if (rc)
			return rc;
		if (!bar)
			return 0;
		s = bar + 1;
	}
}

static int model_nop(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return 0;
}

int place_request_check(const place_request_t *r)
{
	if (!r)
		return GH_EINVAL;
	if (!memchr(r->models, '\0', sizeof(r->models)) ||
	    !memchr(r->mig_profile, '\0', sizeof(r->mig_profile)))
		return GH_EINVAL;
	if (r->num_gpu < 0 || r->cpu_milli < 0 || r->memory_mib < 0 || r->gpu_memory_mib < 0)
		return GH_EINVAL;
	if (r->num_gpu > (r->gang ? PLACE_NODE_GPUS_MAX : PLACE_REQ_SLOTS_MAX))
		return GH_EINVAL;
	if (r->num_gpu > 0 && (r->gpu_milli < 1 || r->gpu_milli > PLACE_MILLI))
		return GH_EINVAL;
	return each_model(r->models, model_nop, NULL);
}

struct mask_arg {
	const place_cluster_t *c;
	uint64_t mask;
};

static int model_mask_one(const char *name, void *arg)
{
	struct mask_arg *a = arg;
	int id;

	if (place_cluster_model_find(a->c, name, &id) == 0)
		a->mask |= 1ULL << id;
	return 0;
}

uint64_t place_request_model_mask(const place_cluster_t *c, const place_request_t *r)
{
	struct mask_arg a = {c, 0};

	if (!r->models[0])
		return ~0ULL;
	each_model(r->models, model_mask_one, &a);
	return a.mask;
}

int place__req_init(const place_cluster_t *c, const place_request_t *r, place__req_t *out)
{
	int rc = place_request_check(r);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->ngpu = r->num_gpu;
	out->milli = r->num_gpu > 0 ? r->gpu_milli : 0;
	out->gmem = r->num_gpu > 0 ? r->gpu_memory_mib : 0;
	out->cpu = r->cpu_milli;
	out->mem = r->memory_mib;
	out->models = place_request_model_mask(c, r);
	gh_strlcpy(out->mig, r->mig_profile, sizeof(out->mig));
	/* One GPU (or none) is always "on one node". */
	out->gang = r->gang || r->num_gpu <= 1;
	return 0;
}

/* ---- applying and releasing ---- */

static void mig_refresh(const place_cluster_t *c, place_gpu_t *g)
{
	g->free_milli = place__mig_milli(&c->mig_layouts[g->mig_layout],
				  (unsigned)__builtin_popcount(g->mig_free));
}

/* Takes one slot from a (scratch) node; 0 or GH_EINVAL. */
static int slot_take(const place_cluster_t *c, place_node_t *n, const place_slot_t *s)
{
	if (s->cpu_milli < 0 || s->memory_mib < 0 || s->cpu_milli > n->cpu_free_milli ||
	    s->memory_mib > n->memory_free_mib)
		return GH_EINVAL;
	n->cpu_free_milli -= s->cpu_milli;
	n->memory_free_mib -= s->memory_mib;
	if (s->gpu < 0)
		return s->milli == 0 && s->gpu_memory_mib == 0 ? 0 : GH_EINVAL;
	if (s->gpu >= n->ngpus || s->milli < 1 || s->gpu_memory_mib < 0)
		return GH_EINVAL;

	place_gpu_t *g = &n->gpus[s->gpu];

	if (s->gpu_memory_mib > g->memory_free_mib)
		return GH_EINVAL;
	switch (g->share) {
	case PLACE_SHARE_EXCLUSIVE:
		if (g->ntasks != 0 || s->milli != g->capacity_milli || s->mig_slices)
			return GH_EINVAL;
		g->free_milli = 0;
		break;
	case PLACE_SHARE_MPS:
		if (s->milli > g->free_milli || s->mig_slices)
			return GH_EINVAL;
		g->free_milli -= s->milli;
		break;
	case PLACE_SHARE_MIG: {
		const place_mig_layout_t *l = &c->mig_layouts[g->mig_layout];
		unsigned bits;

		if (s->mig_slices < 1 || s->mig_start < 0 ||
		    s->mig_start + s->mig_slices > l->slices)
			return GH_EINVAL;
		bits = ((1u << s->mig_slices) - 1) << s->mig_start;
		if ((g->mig_free & bits) != bits)
			return GH_EINVAL;
		g->mig_free &= ~bits;
		mig_refresh(c, g);
		break;
	}
	}
	g->memory_free_mib -= s->gpu_memory_mib;
	g->ntasks++;
	return 0;
}

/* Gives one slot back to a (scratch) node; 0 or GH_EINVAL. */
static int slot_give(const place_cluster_t *c, place_node_t *n, const place_slot_t *s)
{
	if (s->cpu_milli < 0 || s->memory_mib < 0 ||
	    n->cpu_free_milli + s->cpu_milli > n->cpu_milli ||
	    n->memory_free_mib + s->memory_mib > n->memory_mib)
		return GH_EINVAL;
	n->cpu_free_milli += s->cpu_milli;
	n->memory_free_mib += s->memory_mib;
	if (s->gpu < 0)
		return s->milli == 0 && s->gpu_memory_mib == 0 ? 0 : GH_EINVAL;
	if (s->gpu >= n->ngpus || s->milli < 1 || s->gpu_memory_mib < 0)
		return GH_EINVAL;

	place_gpu_t *g = &n->gpus[s->gpu];

	if (g->ntasks < 1 || g->memory_free_mib + s->gpu_memory_mib > g->memory_mib)
		return GH_EINVAL;
	switch (g->share) {
	case PLACE_SHARE_EXCLUSIVE:
		if (s->milli != g->capacity_milli)
			return GH_EINVAL;
		g->free_milli = g->capacity_milli;
		break;
	case PLACE_SHARE_MPS:
		if (g->free_milli + s->milli > g->capacity_milli)
			return GH_EINVAL;
		g->free_milli += s->milli;
		break;
	case PLACE_SHARE_MIG: {
		const place_mig_layout_t *l = &c->mig_layouts[g->mig_layout];
		unsigned bits;

		if (s->mig_slices < 1 || s->mig_start < 0 ||
		    s->mig_start + s->mig_slices > l->slices)
			return GH_EINVAL;
		bits = ((1u << s->mig_slices) - 1) << s->mig_start;
		if (g->mig_free & bits)
			return GH_EINVAL;
		g->mig_free |= bits;
		mig_refresh(c, g);
		break;
	}
	}
	g->memory_free_mib += s->gpu_memory_mib;
	g->ntasks--;
	return 0;
}

/* Runs every slot of res through op on scratch copies of the nodes it
 * names, and commits the copies only when all succeed. */
static int apply_all(place_cluster_t *c, const place_result_t *res,
		     int (*op)(const place_cluster_t *, place_node_t *, const place_slot_t *))
{
	int idx[PLACE_REQ_SLOTS_MAX];
	place_node_t *scratch;
	int nidx = 0, rc = 0;

	if (!c || !res || res->nslots < 0 || res->nslots > PLACE_REQ_SLOTS_MAX)
		return GH_EINVAL;
	for (int i = 0; i < res->nslots; i++) {
		int k, node = res->slots[i].node;

		if (node < 0 || node >= c->nnodes)
			return GH_EINVAL;
		for (k = 0; k < nidx && idx[k] != node; k++)
			;
		if (k == nidx)
			idx[nidx++] = node;
	}
	if (nidx == 0)
		return 0;
	scratch = malloc((size_t)nidx * sizeof(*scratch));
	if (!scratch)
		return GH_ENOMEM;
	for (int k = 0; k < nidx; k++)
		scratch[k] = c->nodes[idx[k]];
	for (int i = 0; i < res->nslots && rc == 0; i++) {
		int k;

		for (k = 0; idx[k] != res->slots[i].node; k++)
			;
		rc = op(c, &scratch[k], &res->slots[i]);
	}
	if (rc == 0) {
		for (int k = 0; k < nidx; k++)
			c->nodes[idx[k]] = scratch[k];
	}
	free(scratch);
	return rc;
}

int place_apply(place_cluster_t *c, const place_result_t *res)
{
	return apply_all(c, res, slot_take);
}

int place_release(place_cluster_t *c, const place_result_t *res)
{
	return apply_all(c, res, slot_give);
}

int place_fits_empty(const place_cluster_t *c, const place_request_t *req)
{
	place__req_t r;
	int need, have = 0;

	if (!c || place__req_init(c, req, &r) != 0)
		return 0;
	need = r.gang ? 1 : r.ngpu;
	for (int i = 0; i < c->nnodes; i++) {
		place_node_t n = c->nodes[i];

		if (n.disabled)
			continue;
		n.cpu_free_milli = n.cpu_milli;
		n.memory_free_mib = n.memory_mib;
		for (int j = 0; j < n.ngpus; j++) {
			place_gpu_t *g = &n.gpus[j];

			g->free_milli = g->capacity_milli;
			g->memory_free_mib = g->memory_mib;
			g->ntasks = 0;
			if (g->share == PLACE_SHARE_MIG)
				g->mig_free = (1u << c->mig_layouts[g->mig_layout].slices) - 1;
		}
		if (r.gang) {
			if (place__node_fits(c, &n, &r, NULL))
				return 1;
		} else {
			/* Split requests: count GPUs that could take one share. */
			for (int j = 0; j < n.ngpus; j++) {
				place__take_t t;

				if (!n.gpus[j].disabled && place__gpu_take(c, &n.gpus[j], &r, &t))
					have++;
			}
			if (have >= need)
				return 1;
		}
	}
	return 0;
}

/* ---- target workload ---- */

void place_workload_init(place_workload_t *w)
{
	memset(w, 0, sizeof(*w));
}

void place_workload_destroy(place_workload_t *w)
{
	if (!w)
		return;
	free(w->cls);
	free(w->sliver);
	memset(w, 0, sizeof(*w));
}

int place_workload_add(place_workload_t *w, const place_cluster_t *c, const place_request_t *req,
		       double weight)
{
	place_wclass_t k;
	int rc;

	if (!w || !c || !(weight > 0))
		return GH_EINVAL;
	rc = place_request_check(req);
	if (rc)
		return rc;
	memset(&k, 0, sizeof(k));
	k.num_gpu = req->num_gpu;
	k.gpu_milli = req->num_gpu > 0 ? req->gpu_milli : 0;
	k.cpu_milli = req->cpu_milli;
	k.memory_mib = req->memory_mib;
	k.model_mask = req->models[0] ? place_request_model_mask(c, req) : 0;
	for (int i = 0; i < w->n; i++) {
		place_wclass_t *o = &w->cls[i];

		if (o->num_gpu == k.num_gpu && o->gpu_milli == k.gpu_milli &&
		    o->cpu_milli == k.cpu_milli && o->memory_mib == k.memory_mib &&
		    o->model_mask == k.model_mask) {
			o->weight += weight;
			return 0;
		}
	}
	if (w->n == w->cap) {
		int ncap = w->cap ? w->cap * 2 : 32;
		place_wclass_t *nc = realloc(w->cls, (size_t)ncap * sizeof(*nc));

		if (!nc)
			return GH_ENOMEM;
		w->cls = nc;
		w->cap = ncap;
	}
	k.weight = weight;
	w->cls[w->n++] = k;
	return 0;
}

/* Most popular first; equal weights by larger shape first so the order
 * (and so the cut) never depends on insertion order. */
static int wclass_cmp(const void *pa, const void *pb)
{
	const place_wclass_t *a = pa, *b = pb;

	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	if (a->cpu_milli != b->cpu_milli)
		return a->cpu_milli > b->cpu_milli ? -1 : 1;
	if (a->gpu_milli != b->gpu_milli)
		return a->gpu_milli > b->gpu_milli ? -1 : 1;
	if (a->num_gpu != b->num_gpu)
		return a->num_gpu > b->num_gpu ? -1 : 1;
	if (a->memory_mib != b->memory_mib)
		return a->memory_mib > b->memory_mib ? -1 : 1;
	if (a->model_mask != b->model_mask)
		return a->model_mask > b->model_mask ? -1 : 1;
	return 0;
}

/* The CPU level of fractional size f: the least c such that the requests
 * of size f needing at most c milli-CPU make PLACE_FILLER_MIN of w; -1
 * when even all of them do not. */
static int64_t filler_level(const place_workload_t *w, int f)
{
	int64_t best = -1;

	for (int i = 0; i < w->n; i++) {
		const place_wclass_t *k = &w->cls[i];
		double share = 0;

		if (k->num_gpu != 1 || k->gpu_milli != f || (best >= 0 && k->cpu_milli >= best))
			continue;
		for (int j = 0; j < w->n; j++) {
			const place_wclass_t *o = &w->cls[j];

			if (o->num_gpu == 1 && o->gpu_milli == f && o->cpu_milli <= k->cpu_milli)
				share += o->weight;
		}
		if (share >= PLACE_FILLER_MIN)
			best = k->cpu_milli;
	}
	return best;
}

/*
 * For each CPU level L: sliver[r] = min(r, min over fillers f <= r of
 * level <= L of sliver[r - f]), the smallest free amount that sums of
 * popular fractions the node still has CPU for can leave on a GPU with r
 * free. Example, fillers 320 (4 cores), 470 (8 cores), 650 (11 cores);
 * with 11 cores free or more: sliver[530] = 60 (a 470), sliver[210] = 210
 * (nothing fits), sliver[680] = 30 (a 650), sliver[360] = 40 (a 320),
 * sliver[1000] = 30 (650 + 320); with 4 to 7 cores free only the 320
 * counts: sliver[530] = 210, sliver[680] = 40.
 */
static int workload_slivers(place_workload_t *w)
{
	int64_t level[PLACE_MILLI];
	int fill[PLACE_MILLI], nfill = 0, nlev = 0;

	free(w->sliver);
	w->sliver = NULL;
	w->nsliver = 0;
	for (int f = 1; f < PLACE_MILLI; f++) {
		level[f] = filler_level(w, f);
		if (level[f] < 0)
			continue;
		fill[nfill++] = f;
		/* Distinct levels, ascending; past PLACE_SLIVER_LEVELS the
		 * highest are dropped (their fillers then never count). */
		int k = 0;

		while (k < nlev && w->sliver_cpu[k] < level[f])
			k++;
		if (k < nlev && w->sliver_cpu[k] == level[f])
			continue;
		if (k >= PLACE_SLIVER_LEVELS)
			continue;
		for (int m = (nlev < PLACE_SLIVER_LEVELS ? nlev : PLACE_SLIVER_LEVELS - 1); m > k; m--)
			w->sliver_cpu[m] = w->sliver_cpu[m - 1];
		w->sliver_cpu[k] = level[f];
		if (nlev < PLACE_SLIVER_LEVELS)
			nlev++;
	}
	if (nlev == 0)
		return 0;
	w->sliver = malloc((size_t)nlev * (PLACE_MILLI + 1) * sizeof(*w->sliver));
	if (!w->sliver)
		return GH_ENOMEM;
	w->nsliver = nlev;
	for (int k = 0; k < nlev; k++) {
		int *v = &w->sliver[k * (PLACE_MILLI + 1)];

		for (int r = 0; r <= PLACE_MILLI; r++) {
			v[r] = r;
			for (int i = 0; i < nfill && fill[i] <= r; i++) {
				if (level[fill[i]] <= w->sliver_cpu[k] && v[r - fill[i]] < v[r])
					v[r] = v[r - fill[i]];
			}
		}
	}
	return 0;
}

int place__sliver(const place_workload_t *w, int64_t cpu_free, int r)
{
	int k = -1;

	if (!w || w->nsliver == 0 || r < 0 || r > PLACE_MILLI)
		return 0;
	while (k + 1 < w->nsliver && w->sliver_cpu[k + 1] <= cpu_free)
		k++;
	return k < 0 ? r : w->sliver[k * (PLACE_MILLI + 1) + r];
}

int place_workload_finish(place_workload_t *w, double keep)
{
	double total = 0, cum = 0;
	int n = 0;

	if (!w || !(keep > 0) || keep > 1)
		return GH_EINVAL;
	if (w->n == 0)
		return 0;
	qsort(w->cls, (size_t)w->n, sizeof(*w->cls), wclass_cmp);
	for (int i = 0; i < w->n; i++)
		total += w->cls[i].weight;
	/* Keep classes while the kept share is still below `keep`. */
	while (n < w->n && cum < keep * total * (1 - 1e-12))
		cum += w->cls[n++].weight;
	w->n = n;
	for (int i = 0; i < n; i++)
		w->cls[i].weight /= cum;
	return workload_slivers(w);
}
