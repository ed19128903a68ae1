/*
 * fairshare.c — the order of the queue: priority class, fair share and
 * aging folded into one number per waiting request.
 *
 * Why one number: the queue is sorted once per pass (100,000 requests in a
 * few milliseconds) and an arrival finds its place by binary search. Aging
 * grows at the same rate for everyone, so the order of two waiting
 * requests never changes with time alone; keys are computed relative to
 * the pass' "now" (the epoch) and stay comparable until the next pass.
 *
 *   key = P(class) + W * F + A * (epoch - enqueued) / 1 h
 *
 *   P  priority of the request's class (defaults: low 0, normal 100, high 200)
 *   W  fair-share weight (default 50: fair share moves a request by at most
 *      half a class)
 *   A  aging, points per hour waited (default 4: a normal request that has
 *      waited 25 h ties a fresh high one — nobody waits forever)
 *   F  fair-share factor in (0, 1]: 1 for someone who used nothing,
 *      1/2 for someone who used exactly their share, → 0 for heavy users
 *
 * Fair-share factor (Slurm's classic formula, decayed usage):
 *
 *   U    = Σ over uses of GPUs · ∫ 2^(-(now - t)/H) dt    (GPU-seconds)
 *          a use of g GPUs during [t0, t1) contributes in closed form
 *          g · H/ln2 · (2^(-(now - t1)/H) − 2^(-(now - t0)/H))
 *   U'   = U + c · (GPUs of this user's earlier requests still queued)
 *   u    = U' / (ΣU of all users + c)           normalised usage
 *   s    = share / Σ shares of all users seen   normalised share
 *   F    = 2^(-(u/s + u_g/s_g) / 2)   for a user in a group (u_g, s_g the
 *          group's, computed the same way over groups), 2^(-u/s) otherwise
 *
 * H is the half-life and c the pending charge (default one GPU-hour): the
 * charge makes a user's second queued request rank after everyone's
 * first, so users with many requests do not take every free GPU in turn.
 *
 * Worked example (H = 7 days, c = 3600 s, no groups, shares 1 each, W = 50,
 * A = 4, now = day 14 00:00). Alice used 4 GPUs for 10 h ending on day 7
 * 00:00 (one half-life ago); Bob used 1 GPU for 10 h ending now; Carol
 * used nothing. H/ln2 = 872,542 s.
 *   Alice: 4 · 872542 · (2^(-1) − 2^(-(7d+10h)/7d)) = 70,535 GPU-s
 *          (144,000 raw: about half is left after one half-life)
 *   Bob:   1 · 872542 · (1 − 2^(-10h/7d)) = 35,267 GPU-s   (36,000 raw)
 *   ΣU + c = 70,535 + 35,267 + 0 + 3,600 = 109,402;  s = 1/3 each
 *   Alice u/s = 3 · 0.6447 = 1.934 → F = 0.262 → 13.1 points
 *   Bob   u/s = 3 · 0.3224 = 0.967 → F = 0.512 → 25.6 points
 *   Carol u/s = 0                   → F = 1     → 50.0 points; her second
 *          queued 1-GPU request: U' = 3600, u/s = 0.099 → F = 0.934 → 46.7
 * All in class normal (100) and queued at the same moment, the order is
 * Carol (150.0), Carol's second (146.7), Bob (125.6), Alice (113.1). Had
 * Alice queued 4 hours earlier she would get 16 aging points (129.1) and
 * pass Bob, but not Carol: waiting and fair share trade at A points an hour.
 */
#include <math.h>
#include <string.h>

#include "common/err.h"
#include "sched/sched_int.h"

#define LN2 0.69314718055994530942

double sched_decayed_gpu_s(int64_t start_ms, int64_t end_ms, int milli, int64_t now_ms,
			   int64_t half_life_ms)
{
	if (end_ms > now_ms)
		end_ms = now_ms;
	if (start_ms >= end_ms || milli <= 0)
		return 0.0;
	double g = milli / 1000.0;

	if (half_life_ms <= 0)
		return g * (double)(end_ms - start_ms) / 1000.0;
	double h = (double)half_life_ms;
	double e1 = exp2(-(double)(now_ms - end_ms) / h);
	double e0 = exp2(-(double)(now_ms - start_ms) / h);

	return g * (h / 1000.0) / LN2 * (e1 - e0);
}

/* GPU-seconds of [start, end) inside the window [now - w, now). */
static double window_gpu_s(int64_t start, int64_t end, int milli, int64_t now, int64_t w)
{
	int64_t lo = now - w;

	if (end > now)
		end = now;
	if (start < lo)
		start = lo;
	if (start >= end || milli <= 0)
		return 0.0;
	return milli / 1000.0 * (double)(end - start) / 1000.0;
}

static void add_use(sched_t *s, int64_t user, int64_t group, int64_t start, int64_t end,
		    int milli)
{
	double d = sched_decayed_gpu_s(start, end, milli, s->now, s->pol.half_life_ms);
	double w = s->pol.window_ms > 0 ? window_gpu_s(start, end, milli, s->now, s->pol.window_ms)
					: 0.0;
	int u = sched_etab_find(&s->users, user);

	if (u >= 0) {
		s->users.ent[u].usage_s += d;
		s->users.ent[u].window_s += w;
	}
	if (group != 0) {
		int g = sched_etab_find(&s->groups, group);

		if (g >= 0) {
			s->groups.ent[g].usage_s += d;
			s->groups.ent[g].window_s += w;
		}
	}
}

static double share_of(const sched_ent_t *e)
{
	return e->lim.share > 0 ? e->lim.share : 1.0;
}

static void finish_tab(const sched_etab_t *t, double charge, double *den, double *ssum)
{
	double u = 0, sh = 0;

	for (int i = 0; i < t->n; i++) {
		u += t->ent[i].usage_s;
		sh += share_of(&t->ent[i]);
	}
	*den = u + (charge > 0 ? charge : 1.0);
	*ssum = sh > 0 ? sh : 1.0;
	for (int i = 0; i < t->n; i++) {
		sched_ent_t *e = &t->ent[i];

		e->fs_exp = (e->usage_s / *den) * (*ssum / share_of(e));
	}
}

void sched_fs_usage(sched_t *s, const sched_input_t *in)
{
	for (int i = 0; i < in->nusage; i++) {
		const sched_usage_t *u = &in->usage[i];

		add_use(s, u->user, u->group, u->start_ms, u->end_ms, u->gpu_milli);
	}
	for (int i = 0; i < in->nrunning; i++) {
		const sched_running_t *r = &in->running[i];
		int milli = 0;

		for (int k = 0; k < r->nslots; k++)
			if (r->slots[k].gpu >= 0)
				milli += r->slots[k].milli;
		add_use(s, r->user, r->group, r->start_ms, s->now, milli);
	}
	finish_tab(&s->users, s->pol.pending_charge_s, &s->usage_den_user, &s->share_sum_user);
	finish_tab(&s->groups, s->pol.pending_charge_s, &s->usage_den_group, &s->share_sum_group);
}

double sched_fs_key(const sched_t *s, int cls, int64_t enqueue_ms, const sched_ent_t *u,
		    const sched_ent_t *g)
{
	const sched_policy_t *p = &s->pol;
	double uu = u->usage_s + u->pending_gpus * p->pending_charge_s;
	double ex = uu / s->usage_den_user * (s->share_sum_user / share_of(u));
	double f;

	if (g)
		f = exp2(-(ex + g->fs_exp) / 2.0);
	else
		f = exp2(-ex);
	return (double)p->classes[cls].priority + p->fairshare_weight * f +
	       p->aging_per_hour * (double)(s->epoch - enqueue_ms) / 3600000.0;
}

/* A double as an unsigned integer in the same order, then reversed (the
 * queue wants larger keys first). */
static uint64_t desc_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof u);
	u = (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
	return ~u;
}

typedef struct {
	uint64_t k;
	uint32_t i, pad;
} rkey_t;

int sched_ord_sort_keys(sched_t *s, sched_ord_t *o, sched_ord_t *tmp, int n)
{
	size_t cnt[8][256];
	rkey_t *a, *b;

	if (n < 64) {
		sched_ord_sort(o, tmp, n);
		return 0;
	}
	if (sched_grow(&s->rsort, &s->rsortcap, 2 * n, sizeof(rkey_t)))
		return GH_ENOMEM;
	a = s->rsort;
	b = a + n;
	memset(cnt, 0, sizeof cnt);
	for (int i = 0; i < n; i++) {
		uint64_t k = desc_bits(o[i].key);

		a[i] = (rkey_t){ k, (uint32_t)i, 0 };
		for (int d = 0; d < 8; d++)
			cnt[d][(k >> (8 * d)) & 0xff]++;
	}
	/* least significant byte first; a byte that is the same everywhere
	 * changes nothing and is skipped; each pass is stable */
	for (int d = 0; d < 8; d++) {
		size_t pos[256], sum = 0;

		if (cnt[d][(a[0].k >> (8 * d)) & 0xff] == (size_t)n)
			continue;
		for (int v = 0; v < 256; v++) {
			pos[v] = sum;
			sum += cnt[d][v];
		}
		for (int i = 0; i < n; i++)
			b[pos[(a[i].k >> (8 * d)) & 0xff]++] = a[i];
		rkey_t *t = a;

		a = b;
		b = t;
	}
	for (int i = 0; i < n; i++)
		tmp[i] = o[a[i].i];
	memcpy(o, tmp, (size_t)n * sizeof *o);
	return 0;
}

int sched_ord_cmp(const void *pa, const void *pb)
{
	const sched_ord_t *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key > b->key ? -1 : 1;
	if (a->enq != b->enq)
		return a->enq < b->enq ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return 0;
}

static inline int ord_le(const sched_ord_t *a, const sched_ord_t *b)
{
	return sched_ord_cmp(a, b) <= 0;
}

/* Bottom-up merge sort: stable, no recursion, n log n worst case. */
void sched_ord_sort(sched_ord_t *o, sched_ord_t *tmp, int n)
{
	sched_ord_t *src = o, *dst = tmp;

	/* runs of 16 by insertion sort */
	for (int lo = 0; lo < n; lo += 16) {
		int hi = lo + 16 < n ? lo + 16 : n;

		for (int i = lo + 1; i < hi; i++) {
			sched_ord_t x = o[i];
			int j = i - 1;

			while (j >= lo && !ord_le(&o[j], &x)) {
				o[j + 1] = o[j];
				j--;
			}
			o[j + 1] = x;
		}
	}
	for (int w = 16; w < n; w *= 2) {
		for (int lo = 0; lo < n; lo += 2 * w) {
			int mid = lo + w < n ? lo + w : n;
			int hi = lo + 2 * w < n ? lo + 2 * w : n;
			int i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				dst[k++] = ord_le(&src[i], &src[j]) ? src[i++] : src[j++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		sched_ord_t *t = src;

		src = dst;
		dst = t;
	}
	if (src != o)
		memcpy(o, src, (size_t)n * sizeof *o);
}
