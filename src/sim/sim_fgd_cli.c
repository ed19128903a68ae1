/*
 * sim_fgd_cli.c — the command line of "gpuhub sim fgd": options, running
 * policies × seeds on worker threads, and the table, JSON, CSV and SVG
 * outputs.
 *
 * Runs are independent (each has its own copy of the cluster, cache and
 * random streams; the placement code has no globals), so they are spread
 * over one thread per CPU; results land in a fixed slot per run, so the
 * output does not depend on which thread finished first.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "sim/sim_int.h"

#define SEEDS_MAX 1000
#define DEFAULT_TRACE_DIR "../shared/traces/alibaba-gpu-v2023"

/* Published means (ATC'23, default trace) to compare against. */
static double published(place_policy_t p)
{
	switch (p) {
	case PLACE_RANDOM: return 13.70;
	case PLACE_DOTPROD: return 9.38;
	case PLACE_PACKING: return 8.22;
	case PLACE_BESTFIT: return 7.14;
	case PLACE_FGD: return 4.77;
	default: return NAN;
	}
}

typedef struct {
	const place_cluster_t *c;
	const sim_trace_t *t;
	const place_workload_t *w;       /* GPU and CPU only (built only if a run uses it) */
	const place_workload_t *wg;      /* with host memory (likewise): see uses_memory() */
	const sim_fgd_opts_t *o;
	const place_policy_t *pol;
	const int *seeds;
	int npol, nseeds;
	sim_run_t *runs;                 /* npol × nseeds, policy-major */
	int next, err;
	pthread_mutex_t mu;
} jobs_t;

/* Does policy p measure fragmentation against the shapes with host
 * memory? Its own choice, or every policy's with --workload-memory. */
static int uses_memory(const sim_fgd_opts_t *o, place_policy_t p)
{
	return o->workload_memory || place_policy_workload_memory(p);
}

static void *worker(void *arg)
{
	jobs_t *j = arg;

	for (;;) {
		int k, rc;

		pthread_mutex_lock(&j->mu);
		k = j->err ? -1 : j->next++;
		pthread_mutex_unlock(&j->mu);
		if (k < 0 || k >= j->npol * j->nseeds)
			return NULL;
		rc = sim_fgd_run(j->c, j->t, uses_memory(j->o, j->pol[k / j->nseeds]) ? j->wg : j->w,
				 j->o, j->pol[k / j->nseeds], j->seeds[k % j->nseeds], &j->runs[k]);
		if (rc) {
			pthread_mutex_lock(&j->mu);
			j->err = rc;
			pthread_mutex_unlock(&j->mu);
		}
	}
}

static int run_all(jobs_t *j, int nthreads)
{
	pthread_t th[64];
	int started = 0;

	if (nthreads > 64)
		nthreads = 64;
	if (nthreads > j->npol * j->nseeds)
		nthreads = j->npol * j->nseeds;
	pthread_mutex_init(&j->mu, NULL);
	for (int i = 0; i < nthreads - 1; i++) {
		if (pthread_create(&th[i], NULL, worker, j) != 0)
			break;
		started++;
	}
	worker(j);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j->mu);
	return j->err;
}

static double mean_of(const sim_run_t *r, int n, int point)
{
	double s = 0;
	int k = 0;

	for (int i = 0; i < n; i++) {
		double v = point < 0 ? r[i].unalloc_at_100 : r[i].curve[point];

		if (!isnan(v)) {
			s += v;
			k++;
		}
	}
	return k ? s / k : NAN;
}

static void print_table(const jobs_t *j, int step, double secs, int nthreads)
{
	int64_t cap;

	place_cluster_gpu_totals(j->c, &cap, NULL);
	printf("FGD experiment: %d nodes, %.0f GPUs, %d tasks topped up to %.2fx capacity, "
	       "%d seed(s) per policy\n\n",
	       j->c->nnodes, (double)cap / PLACE_MILLI, j->t->npods, j->o->ratio, j->nseeds);
	printf("Unallocated GPU %% at 100%% arrived (lower is better)\n");
	printf("%-10s %7s %9s", "policy", "mean", "published");
	for (int s = 0; s < j->nseeds; s++)
		printf(" %6d", j->seeds[s]);
	printf("\n");
	for (int p = 0; p < j->npol; p++) {
		const sim_run_t *r = &j->runs[p * j->nseeds];
		double pub = published(j->pol[p]);

		printf("%-10s %7.2f ", place_policy_name(j->pol[p]), mean_of(r, j->nseeds, -1));
		if (isnan(pub))
			printf("%9s", "-");
		else
			printf("%9.2f", pub);
		for (int s = 0; s < j->nseeds; s++)
			printf(" %6.2f", r[s].unalloc_at_100);
		printf("\n");
	}
	printf("\nUnallocated GPU %% by arrived GPU %% (mean over seeds)\n%-8s", "arrived");
	for (int p = 0; p < j->npol; p++)
		printf(" %9s", place_policy_name(j->pol[p]));
	printf("\n");
	for (int x = 0; x < SIM_CURVE_MAX; x += step) {
		printf("%7d%%", x);
		for (int p = 0; p < j->npol; p++)
			printf(" %9.2f", mean_of(&j->runs[p * j->nseeds], j->nseeds, x));
		printf("\n");
	}
	printf("\n%d runs in %.1f s on %d thread(s)\n", j->npol * j->nseeds, secs, nthreads);
}

static void print_json(const jobs_t *j)
{
	printf("[\n");
	for (int p = 0; p < j->npol; p++) {
		const sim_run_t *r = &j->runs[p * j->nseeds];
		double pub = published(j->pol[p]);

		printf("  {\"policy\": \"%s\", \"unallocated_pct_at_100\": %.4f, ",
		       place_policy_name(j->pol[p]), mean_of(r, j->nseeds, -1));
		if (!isnan(pub))
			printf("\"published\": %.2f, ", pub);
		printf("\"per_seed\": [");
		for (int s = 0; s < j->nseeds; s++)
			printf("%s{\"seed\": %d, \"unallocated_pct_at_100\": %.4f, \"placed\": %d, "
			       "\"failed\": %d}",
			       s ? ", " : "", r[s].seed, r[s].unalloc_at_100, r[s].placed,
			       r[s].failed);
		printf("], \"curve\": [");
		for (int x = 0, first = 1; x < SIM_CURVE_MAX; x++) {
			double v = mean_of(r, j->nseeds, x);

			if (isnan(v))
				continue;
			printf("%s[%d, %.4f]", first ? "" : ", ", x, v);
			first = 0;
		}
		printf("]}%s\n", p + 1 < j->npol ? "," : "");
	}
	printf("]\n");
}

static int write_csv(const jobs_t *j, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return GH_EIO;
	fprintf(f, "policy,seed,arrived_pct,unallocated_pct\n");
	for (int p = 0; p < j->npol; p++) {
		const sim_run_t *r = &j->runs[p * j->nseeds];
		const char *name = place_policy_name(j->pol[p]);

		for (int x = 0; x < SIM_CURVE_MAX; x++) {
			double m = mean_of(r, j->nseeds, x);

			for (int s = 0; s < j->nseeds; s++) {
				if (!isnan(r[s].curve[x]))
					fprintf(f, "%s,%d,%d,%.4f\n", name, r[s].seed, x,
						r[s].curve[x]);
			}
			if (!isnan(m))
				fprintf(f, "%s,mean,%d,%.4f\n", name, x, m);
		}
	}
	return fclose(f) == 0 ? 0 : GH_EIO;
}

static int write_plot(const jobs_t *j, const char *path)
{
	double curves[PLACE__COUNT][SIM_CURVE_MAX];
	sim_plot_t pl;
	FILE *f;
	int rc;

	memset(&pl, 0, sizeof(pl));
	pl.title = "Unallocated GPU vs arrived GPU (Alibaba GPU trace, mean over seeds)";
	pl.xlabel = "arrived GPU (% of capacity)";
	pl.ylabel = "unallocated GPU (% of capacity)";
	pl.npoints = SIM_CURVE_MAX;
	for (int p = 0; p < j->npol && p < PLACE__COUNT; p++) {
		for (int x = 0; x < SIM_CURVE_MAX; x++)
			curves[p][x] = mean_of(&j->runs[p * j->nseeds], j->nseeds, x);
		pl.names[p] = place_policy_name(j->pol[p]);
		pl.y[p] = curves[p];
		pl.nseries++;
	}
	f = fopen(path, "w");
	if (!f)
		return GH_EIO;
	rc = sim_plot_svg(&pl, f);
	if (fclose(f) != 0 && rc == 0)
		rc = GH_EIO;
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gpuhub sim fgd [--nodes FILE] [--pods FILE] [--policy NAME[,NAME...]]\n"
		"                      [--seeds 42-51] [-o table|json] [--plot FILE.svg] [--csv FILE]\n"
		"                      [--ratio 1.3] [--keep 0.95] [--step 5] [--jobs N]\n"
		"                      [--workload-memory]\n"
		"policies: random firstfit bestfit packing dotprod fgd gpuhub\n"
		"gpuhub measures fragmentation against task shapes with host memory;\n"
		"--workload-memory gives the other policies those shapes too\n"
		"default trace: %s/ (or $GPUHUB_TRACE_DIR)\n",
		DEFAULT_TRACE_DIR);
}

static int parse_policies(const char *s, place_policy_t *out, int max)
{
	char buf[256], *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		return GH_EINVAL;
	strcpy(buf, s);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n >= max || place_policy_parse(tok, &out[n]) != 0)
			return GH_EINVAL;
		n++;
	}
	return n > 0 ? n : GH_EINVAL;
}

int sim_fgd_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"nodes", required_argument, NULL, 'n'}, {"pods", required_argument, NULL, 'p'},
		{"policy", required_argument, NULL, 'P'}, {"seeds", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'}, {"plot", required_argument, NULL, 'g'},
		{"csv", required_argument, NULL, 'c'},   {"ratio", required_argument, NULL, 'r'},
		{"keep", required_argument, NULL, 'k'},  {"step", required_argument, NULL, 'S'},
		{"jobs", required_argument, NULL, 'j'},  {"workload-memory", no_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	const char *dir = getenv("GPUHUB_TRACE_DIR");
	char nodes_path[512], pods_path[512], err[SIM_ERR_MAX];
	const char *plot = NULL, *csvp = NULL, *fmt = "table";
	static int seeds[SEEDS_MAX];
	place_policy_t pol[PLACE__COUNT] = {PLACE_RANDOM, PLACE_DOTPROD, PLACE_PACKING,
					    PLACE_BESTFIT, PLACE_FGD, PLACE_GPUHUB};
	sim_fgd_opts_t o = {.ratio = 1.3, .keep = 0.95, .workload_memory = 0}, om;
	int npol = 6, nseeds, step = 5, nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN), ch, rc;
	int need_w = 0, need_wg = 0;
	place_cluster_t c;
	sim_trace_t t;
	place_workload_t w, wg;
	jobs_t j;
	struct timespec t0, t1;

	if (!dir || !dir[0])
		dir = DEFAULT_TRACE_DIR;
	snprintf(nodes_path, sizeof(nodes_path), "%s/openb_node_list_gpu_node.csv", dir);
	snprintf(pods_path, sizeof(pods_path), "%s/openb_pod_list_default.csv", dir);
	nseeds = sim_parse_seeds("42-51", seeds, SEEDS_MAX);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:j:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': snprintf(nodes_path, sizeof(nodes_path), "%s", optarg); break;
		case 'p': snprintf(pods_path, sizeof(pods_path), "%s", optarg); break;
		case 'P':
			npol = parse_policies(optarg, pol, PLACE__COUNT);
			if (npol < 0) {
				fprintf(stderr, "gpuhub sim fgd: bad --policy \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 's':
			nseeds = sim_parse_seeds(optarg, seeds, SEEDS_MAX);
			if (nseeds < 0) {
				fprintf(stderr, "gpuhub sim fgd: bad --seeds \"%s\" (want 42-51 or 1,2,3)\n",
					optarg);
				return 2;
			}
			break;
		case 'o': fmt = optarg; break;
		case 'g': plot = optarg; break;
		case 'c': csvp = optarg; break;
		case 'r': o.ratio = atof(optarg); break;
		case 'k': o.keep = atof(optarg); break;
		case 'S': step = atoi(optarg); break;
		case 'j': nthreads = atoi(optarg); break;
		case 'm': o.workload_memory = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || (strcmp(fmt, "table") && strcmp(fmt, "json")) || step < 1 ||
	    !(o.ratio > 0) || !(o.keep > 0) || o.keep > 1) {
		usage(stderr);
		return 2;
	}
	if (nthreads < 1)
		nthreads = 1;
	if ((rc = place_cluster_init(&c)) != 0) {
		fprintf(stderr, "gpuhub sim fgd: %s\n", gh_strerror(rc));
		return 1;
	}
	rc = sim_load_nodes(nodes_path, &c, err, sizeof(err));
	if (rc == 0)
		rc = sim_load_pods(pods_path, &t, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "gpuhub sim fgd: %s\n", err);
		place_cluster_destroy(&c);
		return 1;
	}
	/* gpuhub measures fragmentation against shapes with host memory: a
	 * node with free GPUs but too little memory left strands them. Each
	 * target workload takes a pass over the whole trace, so only the ones
	 * some policy of this command uses are built. Both start empty, so
	 * either can be destroyed whatever happened. */
	place_workload_init(&w);
	place_workload_init(&wg);
	for (int i = 0; i < npol; i++) {
		if (uses_memory(&o, pol[i]))
			need_wg = 1;
		else
			need_w = 1;
	}
	om = o;
	om.workload_memory = 1;
	if ((need_w && (rc = sim_fgd_workload(&c, &t, &o, &w)) != 0) ||
	    (need_wg && (rc = sim_fgd_workload(&c, &t, &om, &wg)) != 0)) {
		fprintf(stderr, "gpuhub sim fgd: target workload: %s\n", gh_strerror(rc));
		goto out_w;
	}
	memset(&j, 0, sizeof(j));
	j.c = &c;
	j.t = &t;
	j.w = &w;
	j.wg = &wg;
	j.o = &o;
	j.pol = pol;
	j.seeds = seeds;
	j.npol = npol;
	j.nseeds = nseeds;
	j.runs = calloc((size_t)npol * (size_t)nseeds, sizeof(*j.runs));
	if (!j.runs) {
		rc = GH_ENOMEM;
		goto out_w;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = run_all(&j, nthreads);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc) {
		fprintf(stderr, "gpuhub sim fgd: a run failed: %s\n", gh_strerror(rc));
		goto out_runs;
	}
	if (strcmp(fmt, "json") == 0)
		print_json(&j);
	else
		print_table(&j, step,
			    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
			    nthreads < npol * nseeds ? nthreads : npol * nseeds);
	if (csvp && (rc = write_csv(&j, csvp)) != 0)
		fprintf(stderr, "gpuhub sim fgd: cannot write %s\n", csvp);
	if (plot && rc == 0 && (rc = write_plot(&j, plot)) != 0)
		fprintf(stderr, "gpuhub sim fgd: cannot write %s\n", plot);
out_runs:
	free(j.runs);
out_w:
	place_workload_destroy(&wg);
	place_workload_destroy(&w);
	sim_trace_free(&t);
	place_cluster_destroy(&c);
	return rc ? 1 : 0;
}
