/*
 * sched_bench.c — how fast the scheduling policy decides at scale.
 *
 * Scene: 10,000 GPUs on 1,250 nodes (8 GPUs each; A100, H100, L4 and T4,
 * most shared by milli-GPU, a tenth exclusive), filled to about 90% by
 * running work, and 100,000 waiting requests from 2,000 users in 50 groups
 * (fractions, single GPUs and 2/4/8-GPU gangs, a mix of classes, batch
 * jobs with runtime limits, waits spread over two days), 20,000 usage
 * records, default policy with the gpuhub placement.
 *
 * Measured in the same run:
 *   full pass      sched_decide on the whole scene (median of 5)
 *   arrival        sched_decide_one for 2,000 random arrivals (median, p99)
 *                  on the state the full pass left (most must wait: the
 *                  answer is a position, an ETA and a reason)
 *   placing arrival the same on the cluster with an empty queue, 500
 *                  arrivals, most of which are placed (place_choose on
 *                  1,250 nodes each)
 *   peak RSS       of the process, and what the scheduler added to it
 *   baseline       a naive FIFO scheduler on the same scene: sort the whole
 *                  queue by arrival, then try place_choose for every request
 *                  in order (no misfit memo, no per-node cache); for an
 *                  arrival, the naive way is to re-sort and re-run the pass,
 *                  measured here as the re-sort plus one placement attempt
 *                  plus a linear scan for the position (a lower bound on it)
 *
 * Usage: sched_bench [--quick] [--no-baseline] [--placement NAME]
 *   --quick: 10x smaller, for a smoke run; --no-baseline: skip the naive runs;
 *   --placement: the place_choose policy (default gpuhub)
 * Prints a table and one line "RESULT key=value ..." for scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/err.h"
#include "sched/sched.h"

static uint64_t rs = 0x5ced5eedULL;

static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int below(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

/* CPU time of this thread: on a shared machine, wall time also counts the
 * time other processes held the CPU; the scheduler is single-threaded. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static const char *const models[] = { "A100", "H100", "L4", "T4" };

static void random_shape(place_request_t *s)
{
	int k = below(100);

	memset(s, 0, sizeof *s);
	if (k < 40) {
		static const int fr[] = { 100, 200, 250, 300, 500, 700 };

		s->num_gpu = 1;
		s->gpu_milli = fr[below(6)];
	} else if (k < 75) {
		s->num_gpu = 1;
		s->gpu_milli = 1000;
	} else {
		static const int gg[] = { 2, 2, 2, 4, 4, 8 };

		s->num_gpu = gg[below(6)];
		s->gpu_milli = 1000;
		s->gang = 1;
	}
	if (below(4) == 0)
		snprintf(s->models, sizeof s->models, "%s", models[below(4)]);
	s->cpu_milli = 1000 * (1 + below(16));
	s->memory_mib = 4096 * (1 + below(16));
}

typedef struct {
	int nodes, gpus, queue, users, groups, usage, arrivals;
} scale_t;

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_enq(const void *a, const void *b)
{
	const sched_req_t *x = a, *y = b;

	if (x->enqueue_ms != y->enqueue_ms)
		return x->enqueue_ms < y->enqueue_ms ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The naive FIFO pass: sort everything, try everything. */
static int naive_pass(const place_cluster_t *c0, const sched_req_t *q, int n, int *admitted)
{
	place_cluster_t c;
	sched_req_t *s = malloc((size_t)n * sizeof *s);
	place_result_t *res = malloc(sizeof *res);
	uint64_t rng = 42;

	if (!s || !res || place_cluster_copy(&c, c0))
		return GH_ENOMEM;
	memcpy(s, q, (size_t)n * sizeof *s);
	qsort(s, (size_t)n, sizeof *s, cmp_enq);
	*admitted = 0;
	for (int i = 0; i < n; i++)
		if (place_choose(PLACE_FIRSTFIT, &c, NULL, &s[i].shape, &rng, res) == 0) {
			place_apply(&c, res);
			(*admitted)++;
		}
	place_cluster_destroy(&c);
	free(s);
	free(res);
	return 0;
}

int main(int argc, char **argv)
{
	scale_t sc = { 1250, 8, 100000, 2000, 50, 20000, 2000 };
	int quick = 0, nobase = 0;
	place_policy_t placement = PLACE_GPUHUB;

	for (int i = 1; i < argc; i++) {
		quick |= strcmp(argv[i], "--quick") == 0;
		nobase |= strcmp(argv[i], "--no-baseline") == 0;
		if (strcmp(argv[i], "--placement") == 0 && i + 1 < argc &&
		    place_policy_parse(argv[++i], &placement)) {
			fprintf(stderr, "unknown placement %s\n", argv[i]);
			return 2;
		}
	}

	if (quick) {
		sc.nodes /= 10;
		sc.queue /= 10;
		sc.arrivals /= 10;
	}
	long rss0 = rss_kb();
	int64_t now = 1800000000000LL;
	place_cluster_t c;
	place_result_t *res = malloc(sizeof *res);

	place_cluster_init(&c);
	for (int i = 0; i < sc.nodes; i++) {
		char name[32];
		const char *m = models[i % 4];
		place_share_t sh = i % 10 == 9 ? PLACE_SHARE_EXCLUSIVE : PLACE_SHARE_MPS;

		snprintf(name, sizeof name, "node%04d", i);
		place_cluster_add_node(&c, name, 128000, 1048576, NULL);
		for (int k = 0; k < sc.gpus; k++)
			place_node_add_gpu(&c, i, m, 81920, sh, -1);
	}

	/* running work up to ~90% of the GPUs */
	int64_t cap, freem;
	int nrun = 0, runcap = sc.nodes * sc.gpus * 4;
	sched_running_t *run = calloc((size_t)runcap, sizeof *run);
	place_slot_t *slots = calloc((size_t)runcap * 8, sizeof *slots);
	uint64_t rng = 7;
	int nslots = 0;

	place_cluster_gpu_totals(&c, &cap, &freem);
	for (int tries = 0; nrun < runcap && tries < runcap * 4; tries++) {
		int64_t used = 0;

		for (int i = 0; i < c.nnodes; i++)
			for (int k = 0; k < c.nodes[i].ngpus; k++)
				used += c.nodes[i].gpus[k].capacity_milli - c.nodes[i].gpus[k].free_milli;
		if (used >= cap * 9 / 10)
			break;
		place_request_t s;

		random_shape(&s);
		if (place_choose(PLACE_FIRSTFIT, &c, NULL, &s, &rng, res) || res->nslots > 8)
			continue;
		place_apply(&c, res);
		sched_running_t *r = &run[nrun];

		r->id = 10000000 + nrun;
		r->user = 1 + below(sc.users);
		r->group = 1 + (int)(r->user % sc.groups);
		r->cls = below(10) == 0 ? 2 : below(3) == 0 ? 0 : 1;
		r->kind = below(2) ? SCHED_BATCH : SCHED_INTERACTIVE;
		r->idle = below(10) == 0;
		r->start_ms = now - below(48) * 3600000LL - 1;
		r->end_ms = r->kind == SCHED_BATCH ? now + (1 + below(600)) * 60000LL : 0;
		memcpy(slots + nslots, res->slots, sizeof *slots * (size_t)res->nslots);
		r->slots = slots + nslots;
		r->nslots = res->nslots;
		nslots += res->nslots;
		nrun++;
	}
	/* the 90% loop above rescans the cluster each time; cheap enough once */

	sched_req_t *q = calloc((size_t)sc.queue, sizeof *q);

	for (int i = 0; i < sc.queue; i++) {
		sched_req_init(&q[i]);
		q[i].id = 1 + i;
		q[i].user = 1 + below(sc.users);
		q[i].group = 1 + (int)(q[i].user % sc.groups);
		q[i].cls = below(10) == 0 ? 2 : below(3) == 0 ? 0 : 1;
		random_shape(&q[i].shape);
		if (below(2)) {
			q[i].kind = SCHED_BATCH;
			q[i].runtime_limit_ms = (1 + below(600)) * 60000LL;
		}
		q[i].enqueue_ms = now - (int64_t)(sc.queue - i) * 1700;
	}
	sched_usage_t *use = calloc((size_t)sc.usage, sizeof *use);

	for (int i = 0; i < sc.usage; i++) {
		int64_t end = now - below(24 * 30) * 3600000LL;

		use[i] = (sched_usage_t){ 1 + below(sc.users), 0, end - (1 + below(20)) * 3600000LL,
					  end, 1000 * (1 + below(8)) };
		use[i].group = 1 + (int)(use[i].user % sc.groups);
	}
	sched_limit_entry_t gl[50];

	for (int i = 0; i < sc.groups && i < 50; i++)
		gl[i] = (sched_limit_entry_t){ 1 + i,
					       { (int64_t)sc.nodes * sc.gpus * 1000 / sc.groups, -1,
						 -1, -1.0, 1.0 } };
	sched_policy_t pol;

	sched_policy_default(&pol);
	pol.placement = placement;
	pol.group_limits = gl;
	pol.ngroup_limits = sc.groups;

	long rss_in = rss_kb();
	sched_t *s;
	sched_result_t out;
	sched_input_t in = { &c, q, sc.queue, run, nrun, use, sc.usage, &pol, now };
	double t[5], tw[5];

	sched_create(&s);
	for (int k = 0; k < 5; k++) {
		double t0 = now_s(), w0 = wall_s();
		int rc = sched_decide(s, &in, &out);

		t[k] = now_s() - t0;
		tw[k] = wall_s() - w0;
		if (rc) {
			fprintf(stderr, "sched_decide: %s\n", gh_strerror(rc));
			return 1;
		}
	}
	qsort(t, 5, sizeof *t, cmp_d);
	qsort(tw, 5, sizeof *tw, cmp_d);
	double full = t[2], full_wall = tw[2];
	int nadm = out.nadmits, npre = out.npreempts, nwait = out.nwaits;
	int tried = out.placements_tried, hits = out.cache_hits;
	int eta_known = 0;

	for (int i = 0; i < out.nwaits; i++)
		eta_known += out.waits[i].eta_s >= 0;

	/* arrivals against the state the pass left */
	double *ta = malloc((size_t)sc.arrivals * sizeof *ta);
	int arr_adm = 0;

	for (int i = 0; i < sc.arrivals; i++) {
		sched_req_t x;

		sched_req_init(&x);
		x.id = 50000000 + i;
		x.user = 1 + below(sc.users);
		x.group = 1 + (int)(x.user % sc.groups);
		x.cls = below(3);
		random_shape(&x.shape);
		x.enqueue_ms = now + i;
		double t0 = now_s();
		int rc = sched_decide_one(s, &x, now + i, &out);

		ta[i] = now_s() - t0;
		if (rc) {
			fprintf(stderr, "sched_decide_one: %s\n", gh_strerror(rc));
			return 1;
		}
		arr_adm += out.nadmits;
	}
	qsort(ta, (size_t)sc.arrivals, sizeof *ta, cmp_d);
	double one_med = ta[sc.arrivals / 2], one_p99 = ta[sc.arrivals * 99 / 100];
	/* arrivals that get placed: an empty queue, then arrivals */
	sched_input_t in0 = in;
	int nplace = sc.arrivals / 4, place_adm = 0;
	double *tp = malloc((size_t)nplace * sizeof *tp);
	double *tc = malloc((size_t)nplace * sizeof *tc);
	place_cache_t *pc;

	place_cache_create(c.nnodes, &pc);

	in0.nqueue = 0;
	if (sched_decide(s, &in0, &out))
		return 1;
	for (int i = 0; i < nplace; i++) {
		sched_req_t x;

		sched_req_init(&x);
		x.id = 60000000 + i;
		x.user = 1 + below(sc.users);
		x.group = 1 + (int)(x.user % sc.groups);
		x.cls = 1;
		random_shape(&x.shape);
		x.enqueue_ms = now + i;
		/* the placement call alone, same shape, on the input cluster */
		uint64_t r2 = 1;
		double t0 = now_s();

		place_choose_cached(pol.placement, &c, NULL, &x.shape, &r2, pc, res);
		tc[i] = now_s() - t0;
		t0 = now_s();
		int rc = sched_decide_one(s, &x, now + i, &out);

		tp[i] = now_s() - t0;
		if (rc)
			return 1;
		place_adm += out.nadmits;
	}
	qsort(tp, (size_t)nplace, sizeof *tp, cmp_d);
	qsort(tc, (size_t)nplace, sizeof *tc, cmp_d);
	double pl_med = tp[nplace / 2], pl_p99 = tp[nplace * 99 / 100], pc_med = tc[nplace / 2];

	place_cache_destroy(pc);
	long rss_sched = rss_kb();

	/* baseline, same scene */
	int naive_adm = 0;
	double t0 = now_s();

	if (!nobase && naive_pass(&c, q, sc.queue, &naive_adm))
		return 1;
	double naive = now_s() - t0;
	double *tb = malloc(20 * sizeof *tb);

	for (int i = 0; i < 20; i++) {
		if (nobase) {
			tb[i] = 0;
			continue;
		}
		sched_req_t *cp = malloc((size_t)sc.queue * sizeof *cp);
		place_request_t x;

		random_shape(&x);
		t0 = now_s();
		memcpy(cp, q, (size_t)sc.queue * sizeof *cp);
		qsort(cp, (size_t)sc.queue, sizeof *cp, cmp_enq);
		int pos = 0;

		for (int k = 0; k < sc.queue; k++)
			pos += cp[k].enqueue_ms <= now;
		place_choose(PLACE_FIRSTFIT, &c, NULL, &x, &rng, res);
		tb[i] = now_s() - t0;
		free(cp);
		(void)pos;
	}
	qsort(tb, 20, sizeof *tb, cmp_d);
	double naive_one = tb[10];

	printf("scene: %d nodes, %d GPUs, %d running, %d waiting, %d usage records\n",
	       sc.nodes, sc.nodes * sc.gpus, nrun, sc.queue, sc.usage);
	printf("times are CPU time of the thread (wall time shown for the full pass)\n");
	printf("full pass (median of 5)   %9.2f ms   (wall %.2f ms) admitted %d, preempted %d, "
	       "waiting %d (%d with an ETA); %d placements tried, %d known misfits skipped\n",
	       full * 1e3, full_wall * 1e3, nadm, npre, nwait, eta_known, tried, hits);
	printf("naive FIFO pass           %9.2f ms   admitted %d   ratio %.1fx\n", naive * 1e3,
	       naive_adm, naive / full);
	printf("arrival (decide_one)      %9.2f us median, %.2f us p99, %d of %d admitted\n",
	       one_med * 1e6, one_p99 * 1e6, arr_adm, sc.arrivals);
	printf("placing arrival           %9.2f us median, %.2f us p99, %d of %d admitted "
	       "(place_choose alone: %.2f us median)\n",
	       pl_med * 1e6, pl_p99 * 1e6, place_adm, nplace, pc_med * 1e6);
	printf("naive arrival (lower bd)  %9.2f us median   ratio %.1fx (vs placing: %.1fx)\n",
	       naive_one * 1e6, naive_one / one_med, naive_one / pl_med);
	printf("peak RSS                  %9.1f MB (inputs %.1f MB, scheduler added %.1f MB)\n",
	       rss_sched / 1024.0, (rss_in - rss0) / 1024.0, (rss_sched - rss_in) / 1024.0);
	printf("RESULT full_ms=%.2f full_wall_ms=%.2f naive_ms=%.2f full_ratio=%.1f one_us=%.2f one_p99_us=%.2f "
	       "place_one_us=%.2f place_choose_us=%.2f naive_one_us=%.2f one_ratio=%.1f rss_mb=%.1f sched_mb=%.1f\n",
	       full * 1e3, full_wall * 1e3, naive * 1e3, naive / full, one_med * 1e6, one_p99 * 1e6,
	       pl_med * 1e6, pc_med * 1e6, naive_one * 1e6, naive_one / one_med, rss_sched / 1024.0,
	       (rss_sched - rss_in) / 1024.0);
	sched_destroy(s);
	place_cluster_destroy(&c);
	free(run);
	free(slots);
	free(q);
	free(use);
	free(ta);
	free(tb);
	free(tp);
	free(tc);
	free(res);
	return 0;
}
