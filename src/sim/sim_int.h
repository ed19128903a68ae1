/*
 * sim_int.h — shared inside src/sim/: CSV reading, trace loading, the
 * experiments and their reports.
 *
 * Ownership: a sim_csv_t owns its text buffer (sim_csv_close frees it);
 * field pointers returned by sim_csv_next point into that buffer and stay
 * valid until the next call. A sim_trace_t owns its pods array.
 */
#ifndef GH_SIM_INT_H
#define GH_SIM_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sched/place.h"

#define SIM_CSV_FIELDS_MAX 32
#define SIM_ERR_MAX 256

/* ---- CSV: comma separated, first line is the header, "" quoting ---- */

typedef struct {
	char path[256];
	char *buf;                       /* owned: the whole file */
	size_t len, pos;
	int line;                        /* line number of the last record read */
	int ncols;
	char *cols[SIM_CSV_FIELDS_MAX];  /* header names, into buf */
	char *fields[SIM_CSV_FIELDS_MAX];
	int nfields;
} sim_csv_t;

/* Reads the file and its header. On error returns GH_EIO/GH_EINVAL with
 * "PATH:LINE: what" in err. */
int sim_csv_open(sim_csv_t *csv, const char *path, char *err, size_t errlen);
/* Same from text in memory (copied); name is used in messages. */
int sim_csv_open_text(sim_csv_t *csv, const char *name, const char *text, char *err,
		      size_t errlen);
void sim_csv_close(sim_csv_t *csv);
/* Next record: 1 when one was read, 0 at the end, GH_EINVAL (err set) on
 * a malformed line (wrong field count, unterminated quote). Blank lines
 * are skipped. */
int sim_csv_next(sim_csv_t *csv, char *err, size_t errlen);
/* Column index of a header name, or -1. */
int sim_csv_col(const sim_csv_t *csv, const char *name);
/* Parses field `col` of the current record as a non-negative integer;
 * GH_EINVAL with "PATH:LINE: column NAME: ..." in err. */
int sim_csv_int(const sim_csv_t *csv, int col, int64_t *out, char *err, size_t errlen);

/* ---- the Alibaba GPU trace (cluster-trace-gpu-v2023 format) ---- */

typedef struct {
	place_request_t req;
	int64_t gpu_milli_total;         /* num_gpu * gpu_milli */
	int line;                        /* in the pod file */
} sim_pod_t;

typedef struct {
	sim_pod_t *pods;                 /* owned */
	int npods;
} sim_trace_t;

/* Adds the nodes of a node list (sn,cpu_milli,memory_mib,gpu,model) to c
 * (every GPU shared by MPS). */
int sim_load_nodes(const char *path, place_cluster_t *c, char *err, size_t errlen);
/* Reads a pod list (cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec...). */
int sim_load_pods(const char *path, sim_trace_t *t, char *err, size_t errlen);
/* Same from an open CSV (for tests on text in memory). */
int sim_load_nodes_csv(sim_csv_t *csv, place_cluster_t *c, char *err, size_t errlen);
int sim_load_pods_csv(sim_csv_t *csv, sim_trace_t *t, char *err, size_t errlen);
void sim_trace_free(sim_trace_t *t);

/* ---- the FGD experiment ---- */

#define SIM_CURVE_MAX 131            /* arrived 0..130 % */

typedef struct {
	place_policy_t policy;
	int seed;
	double unalloc_at_100;           /* % of GPU capacity unallocated at 100% arrived */
	double curve[SIM_CURVE_MAX];     /* unallocated % at arrived = index %, NAN if none */
	int placed, failed;
	double seconds;
} sim_run_t;

typedef struct {
	double ratio;                    /* top-up target, × capacity (1.3) */
	double keep;                     /* target workload: most popular shapes up to this share */
	int workload_memory;             /* 1: workload shapes include host memory */
} sim_fgd_opts_t;

/* One run: a seeded order of tasks placed by one policy on a fresh copy
 * of c. Deterministic in (c, t, policy, seed, opts). */
int sim_fgd_run(const place_cluster_t *c, const sim_trace_t *t, const place_workload_t *w,
		const sim_fgd_opts_t *o, place_policy_t policy, int seed, sim_run_t *out);
/* The target workload of a trace (shapes of its tasks, by popularity). */
int sim_fgd_workload(const place_cluster_t *c, const sim_trace_t *t, const sim_fgd_opts_t *o,
		     place_workload_t *w);
int sim_fgd_main(int argc, char **argv);

/* ---- reports ---- */

typedef struct {
	const char *title;
	const char *xlabel, *ylabel;
	int nseries;
	const char *names[PLACE__COUNT];
	const double *y[PLACE__COUNT];   /* npoints values each, NAN = gap */
	int npoints;                     /* x = 0..npoints-1 */
} sim_plot_t;

/* Writes an SVG line chart; 0 or GH_EIO. */
int sim_plot_svg(const sim_plot_t *p, FILE *f);

/* ---- replay ---- */

typedef struct {
	int sessions, unplaceable;       /* unplaceable: fit no node even empty (not replayed) */
	int preempted, suspended;        /* stopped and requeued / suspended while idle */
	int nwaits;                      /* every start, first or resumed */
	double span_h;                   /* first arrival to last end */
	double util_pct, busy_pct;       /* allocated, busy GPU-time / capacity-time */
	double idle_gpu_h;               /* allocated while idle */
	double wait_p50, wait_p95, wait_p99, wait_mean; /* seconds */
	double jain;                     /* over users of held/wanted GPU-time */
} sim_replay_result_t;

/* Replays a session trace (docs/sim.md) on c: gpuhub = 1 schedules with
 * sched.h, 0 with the FIFO baseline. Deterministic in its inputs. On error
 * err says what and where ("FILE:LINE: ..."). */
int sim_replay_run(const place_cluster_t *c, const char *trace_path, int gpuhub,
		   place_policy_t placement, double tick_s, uint64_t seed,
		   sim_replay_result_t *out, char *err, size_t errlen);
int sim_replay_main(int argc, char **argv);
/* The culling replay (sim_cull_cli.c): replay with --cull/--activity. */
int sim_cull_main(int argc, char **argv);
int sim_gen_activity_main(int argc, char **argv);

/* Parses "42-51" or "1,2,5" into seeds (at most max); count or GH_EINVAL. */
int sim_parse_seeds(const char *s, int *seeds, int max);

#endif
