/*
 * sim_cull_cli.c — the command lines of the culling replay:
 *
 *   gpuhub sim gen-activity [--sessions N] [--seed N] [--days N] [--out FILE]
 *   gpuhub sim replay --cull none,kernel,proxy,gpuhub|all --activity FILE
 *                     [--gpu-idle-s N] [--full-idle-s N] [-o table|json]
 *
 * Activity CSV (docs/sim.md): id,gpus,start_s,duration_s,active,busy,tab
 * where the last three are "start-end;start-end" in seconds from the
 * session's start.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sim/sim_cull.h"
#include "sim/sim_int.h"

static void write_ivs(FILE *f, const cull_iv_t *v, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%lld-%lld", i ? ";" : "", (long long)v[i].s, (long long)v[i].e);
}

static void write_trace(FILE *f, const cull_trace_t *t)
{
	fprintf(f, "id,gpus,start_s,duration_s,active,busy,tab\n");
	for (int i = 0; i < t->n; i++) {
		const cull_sess_t *s = &t->s[i];
		fprintf(f, "%lld,%d,%lld,%lld,", (long long)s->id, s->gpus, (long long)s->start_s, (long long)s->dur_s);
		write_ivs(f, s->active, s->nactive);
		fputc(',', f);
		write_ivs(f, s->busy, s->nbusy);
		fputc(',', f);
		write_ivs(f, s->tab, s->ntab);
		fputc('\n', f);
	}
}

int sim_gen_activity_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"sessions", required_argument, NULL, 'n'}, {"seed", required_argument, NULL, 's'},
		{"days", required_argument, NULL, 'd'},     {"out", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	const char *usage = "usage: gpuhub sim gen-activity [--sessions N] [--seed N] [--days N] [--out FILE]\n"
	                    "  a synthetic notebook activity trace (docs/sim.md); defaults 200 sessions,\n"
	                    "  seed 1, lifetimes of 1 to 7 days\n";
	cull_gen_params_t g;
	cull_trace_t t;
	const char *out = NULL;
	FILE *f = stdout;
	int ch;

	cull_gen_defaults(&g);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': g.sessions = atoi(optarg); break;
		case 's': g.seed = strtoull(optarg, NULL, 10); break;
		case 'd': g.max_days = atoi(optarg); break;
		case 'O': out = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc || g.sessions < 1 || g.sessions > 100000 || g.max_days < 1 || g.max_days > 60) {
		fprintf(stderr, "gpuhub sim gen-activity: --sessions must be 1..100000 and --days 1..60\n%s", usage);
		return 2;
	}
	if (cull_generate(&g, &t) != 0)
		return 1;
	if (out && !(f = fopen(out, "w"))) {
		fprintf(stderr, "gpuhub sim gen-activity: cannot write %s\n", out);
		cull_trace_free(&t);
		return 1;
	}
	write_trace(f, &t);
	if (out)
		fclose(f);
	cull_trace_free(&t);
	return 0;
}

static int load(const char *path, cull_trace_t *t, char *err, size_t errlen)
{
	static const char *const need[] = {"id", "gpus", "duration_s", "active", "busy", "tab"};
	sim_csv_t csv;
	int col[6], rc, cstart;

	memset(t, 0, sizeof(*t));
	if ((rc = sim_csv_open(&csv, path, err, errlen)))
		return rc;
	for (int i = 0; i < 6; i++) {
		if ((col[i] = sim_csv_col(&csv, need[i])) < 0) {
			snprintf(err, errlen, "%s: no column %s (need id,gpus,duration_s,active,busy,tab)", path, need[i]);
			sim_csv_close(&csv);
			return GH_EINVAL;
		}
	}
	cstart = sim_csv_col(&csv, "start_s");
	while ((rc = sim_csv_next(&csv, err, errlen)) == 1) {
		cull_sess_t s;
		int64_t v;
		memset(&s, 0, sizeof(s));
		if ((rc = sim_csv_int(&csv, col[0], &s.id, err, errlen)) || (rc = sim_csv_int(&csv, col[1], &v, err, errlen)))
			break;
		s.gpus = (int)v;
		if ((rc = sim_csv_int(&csv, col[2], &s.dur_s, err, errlen)) ||
		    (cstart >= 0 && (rc = sim_csv_int(&csv, cstart, &s.start_s, err, errlen))))
			break;
		if (s.gpus < 1 || s.gpus > 64 || s.dur_s < 1) {
			snprintf(err, errlen, "%s:%d: gpus must be 1..64 and duration_s positive", path, csv.line);
			rc = GH_EINVAL;
			break;
		}
		if (cull_parse_ivs(csv.fields[col[3]], s.dur_s, &s.active, &s.nactive) ||
		    cull_parse_ivs(csv.fields[col[4]], s.dur_s, &s.busy, &s.nbusy) ||
		    cull_parse_ivs(csv.fields[col[5]], s.dur_s, &s.tab, &s.ntab)) {
			snprintf(err, errlen, "%s:%d: intervals must be \"start-end;...\" in seconds, sorted, not "
			         "overlapping, within duration_s", path, csv.line);
			free(s.active);
			free(s.busy);
			rc = GH_EINVAL;
			break;
		}
		if (t->n == t->cap) {
			cull_sess_t *ns = realloc(t->s, (size_t)(t->cap = t->cap ? t->cap * 2 : 64) * sizeof(*ns));
			if (!ns) {
				rc = GH_ENOMEM;
				break;
			}
			t->s = ns;
		}
		t->s[t->n++] = s;
	}
	sim_csv_close(&csv);
	if (rc < 0)
		cull_trace_free(t);
	return rc < 0 ? rc : 0;
}

static double pct_less(double x, double base) { return base > 0 ? 100.0 * (1.0 - x / base) : 0; }

static void report(const int *run, const cull_result_t *r, int json)
{
	const cull_result_t *none = &r[CULL_NONE], *proxy = &r[CULL_PROXY];
	int first = 1;

	if (json)
		printf("{\"policies\":[");
	else
		printf("%-7s %12s %11s %11s %11s %10s %6s %16s %13s %14s\n", "policy", "alloc GPU-h", "idle GPU-h",
		       "busy GPU-h", "lost GPU-h", "suspended", "wrong", "reclaimed GPU-h", "idle vs none",
		       "idle vs proxy");
	for (int p = 0; p < CULL__COUNT; p++) {
		const cull_result_t *x = &r[p];
		if (!run[p])
			continue;
		if (json) {
			printf("%s{\"policy\":\"%s\",\"alloc_gpu_h\":%.2f,\"idle_gpu_h\":%.2f,\"busy_gpu_h\":%.2f,"
			       "\"lost_gpu_h\":%.2f,\"suspensions\":%lld,\"wrongly_suspended\":%lld,\"resumes\":%lld",
			       first ? "" : ",", cull_policy_name((cull_policy_t)p), x->alloc_gpu_h, x->idle_gpu_h,
			       x->busy_gpu_h, x->lost_gpu_h, (long long)x->suspensions, (long long)x->wrong,
			       (long long)x->resumes);
			if (run[CULL_NONE])
				printf(",\"reclaimed_gpu_h\":%.2f,\"idle_less_than_none_pct\":%.1f",
				       none->alloc_gpu_h - x->alloc_gpu_h, pct_less(x->idle_gpu_h, none->idle_gpu_h));
			if (run[CULL_PROXY])
				printf(",\"idle_less_than_proxy_pct\":%.1f", pct_less(x->idle_gpu_h, proxy->idle_gpu_h));
			printf("}");
		} else {
			char rec[32] = "-", vn[32] = "-", vp[32] = "-";
			if (run[CULL_NONE]) {
				snprintf(rec, sizeof(rec), "%.1f", none->alloc_gpu_h - x->alloc_gpu_h);
				snprintf(vn, sizeof(vn), "%+.1f%%", 0.0 - pct_less(x->idle_gpu_h, none->idle_gpu_h));
			}
			if (run[CULL_PROXY])
				snprintf(vp, sizeof(vp), "%+.1f%%", 0.0 - pct_less(x->idle_gpu_h, proxy->idle_gpu_h));
			printf("%-7s %12.1f %11.1f %11.1f %11.1f %10lld %6lld %16s %13s %14s\n",
			       cull_policy_name((cull_policy_t)p), x->alloc_gpu_h, x->idle_gpu_h, x->busy_gpu_h,
			       x->lost_gpu_h, (long long)x->suspensions, (long long)x->wrong, rec, vn, vp);
		}
		first = 0;
	}
	if (run[CULL_GPUHUB] && run[CULL_NONE] && run[CULL_PROXY]) {
		const cull_result_t *g = &r[CULL_GPUHUB];
		double vn = pct_less(g->idle_gpu_h, none->idle_gpu_h), vp = pct_less(g->idle_gpu_h, proxy->idle_gpu_h);
		int met = vn >= 90 && vp >= 50 && g->wrong <= proxy->wrong;
		if (json)
			printf("],\"targets_met\":%s}\n", met ? "true" : "false");
		else
			printf("targets (gpuhub idle >= 90%% below none, >= 50%% below proxy, wrong <= proxy's): "
			       "%.1f%%, %.1f%%, %lld <= %lld: %s\n",
			       vn, vp, (long long)g->wrong, (long long)proxy->wrong, met ? "met" : "NOT met");
	} else if (json) {
		printf("]}\n");
	}
}

static void cull_usage(FILE *f)
{
	fprintf(f, "usage: gpuhub sim replay --cull POLICIES --activity FILE [--gpu-idle-s N] [--full-idle-s N]\n"
	           "                         [-o table|json]\n"
	           "  POLICIES: all, or a comma-separated list of none, kernel, proxy, gpuhub\n"
	           "  FILE: an activity trace (gpuhub sim gen-activity; format in docs/sim.md)\n");
}

int sim_cull_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cull", required_argument, NULL, 'c'},        {"activity", required_argument, NULL, 'a'},
		{"gpu-idle-s", required_argument, NULL, 'g'},  {"full-idle-s", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},      {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pols = "all", *path = NULL, *fmt = "table";
	long gpu_idle = -1, full_idle = -1;
	int run[CULL__COUNT] = {0}, ch, rc;
	cull_result_t res[CULL__COUNT];
	char err[SIM_ERR_MAX], buf[128], *save = NULL;
	cull_trace_t t;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': pols = optarg; break;
		case 'a': path = optarg; break;
		case 'g': gpu_idle = atol(optarg); break;
		case 'f': full_idle = atol(optarg); break;
		case 'o': fmt = optarg; break;
		case 'h': cull_usage(stdout); return 0;
		default: cull_usage(stderr); return 2;
		}
	}
	if (!path || optind < argc || (strcmp(fmt, "table") && strcmp(fmt, "json")) || strlen(pols) >= sizeof(buf)) {
		cull_usage(stderr);
		return 2;
	}
	strcpy(buf, pols);
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		cull_policy_t cp;
		if (strcmp(p, "all") == 0) {
			for (int i = 0; i < CULL__COUNT; i++)
				run[i] = 1;
		} else if (cull_policy_parse(p, &cp) == 0) {
			run[cp] = 1;
		} else {
			fprintf(stderr, "gpuhub sim replay: unknown culling policy \"%s\" (none, kernel, proxy, gpuhub)\n", p);
			return 2;
		}
	}
	if ((rc = load(path, &t, err, sizeof(err)))) {
		fprintf(stderr, "gpuhub sim replay: %s\n", err);
		return 1;
	}
	for (int p = 0; p < CULL__COUNT; p++) {
		cull_params_t par;
		if (!run[p])
			continue;
		cull_defaults((cull_policy_t)p, &par);
		if (p == CULL_GPUHUB && gpu_idle >= 0)
			par.timeout_s = gpu_idle;
		if (p == CULL_GPUHUB && full_idle >= 0)
			par.full_timeout_s = full_idle;
		cull_replay(&par, &t, &res[p]);
	}
	if (strcmp(fmt, "table") == 0) {
		double days = 0;
		for (int i = 0; i < t.n; i++)
			days += t.s[i].dur_s / 86400.0;
		printf("%d sessions, %.1f session-days\n", t.n, days);
	}
	report(run, res, strcmp(fmt, "json") == 0);
	cull_trace_free(&t);
	return 0;
}
