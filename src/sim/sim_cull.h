/*
 * sim_cull.h — idle culling replayed over notebook activity traces
 * ("gpuhub sim replay --cull", "gpuhub sim gen-activity"; docs/sim.md).
 *
 * A session holds `gpus` GPUs for `dur_s` seconds of wall time. Three
 * lists of [start, end) intervals (seconds from its start, sorted, not
 * overlapping) say what happened in it:
 *
 *   list    | meaning
 *   --------+---------------------------------------------------------------
 *   active  | the user works in it (edits, runs cells: real requests)
 *   busy    | its processes compute on the GPU (cells, trainings)
 *   tab     | a browser tab is open on it (polls the server, no user)
 *
 * A culling policy watches some of these signals and suspends the session
 * (its GPUs go back) after a timeout without them; the user coming back
 * (active) resumes it with its GPUs. Computation that falls into a
 * suspension is lost: the culler killed it.
 *
 *   policy  | activity it sees            | timeout     | checked every
 *   --------+-----------------------------+-------------+---------------
 *   none    | —  (Kubeflow's default: culling disabled)  |
 *   kernel  | busy, active, tab           | 1440 min    | 1 min  (Kubeflow notebook controller)
 *   proxy   | active, tab                 | 600 s       | 300 s  (jupyterhub-idle-culler)
 *   gpuhub  | GPU rule: busy              | 1800 s      | 10 s   (the hub's idle.* defaults)
 *           | full rule: busy, active     | 3600 s      |
 *
 * gpuhub's rules count from no earlier than the session (re)started, as
 * the hub's idle monitor does. Pure: no I/O, no clock, no globals.
 */
#ifndef GH_SIM_CULL_H
#define GH_SIM_CULL_H

#include <stdint.h>

typedef struct {
	int64_t s, e;                    /* seconds from the session's start */
} cull_iv_t;

typedef struct {
	int64_t id;
	int gpus;
	int64_t start_s;                 /* arrival, informational */
	int64_t dur_s;
	cull_iv_t *active, *busy, *tab;  /* owned by the trace */
	int nactive, nbusy, ntab;
} cull_sess_t;

typedef struct {
	cull_sess_t *s;
	int n, cap;
} cull_trace_t;

typedef enum { CULL_NONE = 0, CULL_KERNEL, CULL_PROXY, CULL_GPUHUB, CULL__COUNT } cull_policy_t;

typedef struct {
	cull_policy_t policy;
	int64_t timeout_s;               /* kernel/proxy; gpuhub: the GPU rule */
	int64_t full_timeout_s;          /* gpuhub: the full-idle rule (0 = off) */
	int64_t check_s;                 /* how often the culler looks */
} cull_params_t;

typedef struct {
	double alloc_gpu_h;              /* GPUs held */
	double idle_gpu_h;               /* held while not busy */
	double busy_gpu_h;               /* held while busy (work served) */
	double lost_gpu_h;               /* busy while suspended (work killed) */
	int64_t suspensions;
	int64_t wrong;                   /* suspended while active or busy */
	int64_t resumes;
} cull_result_t;

/* Defaults of each policy (the table above). */
void cull_defaults(cull_policy_t p, cull_params_t *out);
const char *cull_policy_name(cull_policy_t p);
/* 0, or GH_EINVAL for an unknown name. */
int cull_policy_parse(const char *s, cull_policy_t *p);

/* Replays one session under par; adds to *res. */
void cull_replay_session(const cull_params_t *par, const cull_sess_t *s, cull_result_t *res);
/* Replays every session (res zeroed first). */
void cull_replay(const cull_params_t *par, const cull_trace_t *t, cull_result_t *res);

/* Parses "s-e;s-e" into a new array (*out owned by the caller, NULL when
 * empty). 0 or GH_EINVAL (unsorted, overlapping, past dur, malformed). */
int cull_parse_ivs(const char *text, int64_t dur_s, cull_iv_t **out, int *n);
void cull_trace_free(cull_trace_t *t);

/* The synthetic generator (sim_cull_gen.c, documented in docs/sim.md). */
typedef struct {
	int sessions;                    /* default 200 */
	uint64_t seed;                   /* default 1 */
	int max_days;                    /* session lifetimes 1..max_days, default 7 */
} cull_gen_params_t;

void cull_gen_defaults(cull_gen_params_t *g);
/* Fills t (freed with cull_trace_free). 0 or GH_ENOMEM. Same params →
 * same trace. */
int cull_generate(const cull_gen_params_t *g, cull_trace_t *t);

#endif
