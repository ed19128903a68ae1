/*
 * hub_int.h — the hub's private layout, shared by hub*.c only.
 *
 *   array      | order       | lookup
 *   -----------+-------------+---------------------------------------
 *   users      | id          | linear by name, binary search by id
 *   tokens     | id          | linear by SHA-256 (constant-time compare)
 *   envs       | id          | linear by name (a catalog is small)
 *   sessions   | id          | binary search by id; by (user, name) and
 *              |             | the live ones through hub_index.c
 *   gpus       | index       | direct
 *
 * Ids grow monotonically, so appending keeps every array sorted by id.
 */
#ifndef GH_HUB_INT_H
#define GH_HUB_INT_H

#include "hub/hub.h"
#include "hub/worker.h"
#include "runtime/runtime.h"
#include "sched/sched.h"
#include "monitor/idle.h"

#include <jansson.h>

#define HUB_PENDING_MAX 32

struct hub_sub {
	struct hub_sub *next;
	int64_t session_id;
	hub_event_fn fn;
	void *ctx;
};

/* An idle policy override of a group (fields -1 = inherited). */
typedef struct {
	gh_group_t row;                  /* its record in the store (groups table) */
	idle_policy_t policy;            /* row.idle, parsed */
} hub_group_idle_t;

struct hub {
	gh_config_t cfg;
	gh_store_t *store;
	gh_gpu_src_t *gpu;
	gh_rt_t *rt;
	int lock_fd;
	unsigned char secret[32];            /* <data_dir>/secret: workspace tokens */
	char report_dir[CONFIG_STR + 32];

	gh_user_t *users;
	int n_users, cap_users;
	gh_token_t *tokens;
	int n_tokens, cap_tokens;
	gh_env_t *envs;
	struct hub_env_info *env_info;       /* envs[i] parsed for this runtime (parallel) */
	int n_envs, cap_envs;
	hub_session_t *sessions;
	int n_sessions, cap_sessions;
	int64_t *live;                       /* ids of sessions not ended, ascending (hub_index.c) */
	int n_live, cap_live;
	int64_t *live_walk;                  /* hub_live_each's copy of live, as large */
	int cap_live_walk, live_walking;
	int64_t *names;                      /* ids hashed by (user, name); 0 = empty */
	size_t names_cap;                    /* a power of two, >= 2 x sessions */
	hub_gpu_t *gpus;
	int n_gpus;

	struct hub_sub *subs;
	gh_event_t pending[HUB_PENDING_MAX]; /* emitted inside the open transaction */
	int n_pending;
	int in_txn;

	gh_worker_t *worker;                 /* blocking work (workspace starts, alert notices) */
	struct hub_snaps *snaps;             /* snapshots (hub_snap.c) */
	struct hub_alerts *alerts;           /* hub_alert.c; NULL when alerts are off */
	sched_t *sched;                      /* scheduler state, reused each pass */
	sched_policy_t policy;
	metrics_t *metrics;                  /* counters for GET /metrics (owned) */
	char metrics_token[256];             /* "" = scrapes need no token */

	int64_t next_gpu_poll;               /* ms */
	int64_t next_probe;                  /* ms */
	int64_t next_usage;                  /* ms: next booking of held sessions */
	int in_use_usage;                    /* usage marks were loaded: book at close */
	int sched_dirty;                     /* a scheduling pass is due */
	int work_due;                        /* sessions need runtime work now */
	int probe_soon;                      /* a workspace is starting: probe often */
	struct hub_mps *mps;                 /* MPS daemons (hub_mps.c) */

	hub_group_idle_t *group_idle;        /* idle overrides per group (hub_idle_groups.c) */
	int n_group_idle, cap_group_idle;
	int ckpt_ok;                         /* process checkpoint usable (hub_ckpt.c) */
};

/* Transactions that flush their events to subscribers on commit. */
int hub_txn_begin(hub_t *hub);
int hub_txn_commit(hub_t *hub);
void hub_txn_rollback(hub_t *hub);
/* Records an event (inside the open transaction, or its own). */
int hub_emit(hub_t *hub, int64_t session_id, int64_t user_id, const char *type, gh_sess_state_t state,
             int percent, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* An event about no session that carries data (a JSON object text). */
int hub_emit_data(hub_t *hub, int64_t user_id, const char *type, const char *data, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* hub_sess.c */
hub_session_t *hub_session_mut(hub_t *hub, int64_t id);
int hub_session_load_state(hub_t *hub);
void hub_reconcile(hub_t *hub);
void hub_sessions_work(hub_t *hub, int64_t now);
void hub_schedule(hub_t *hub, int64_t now);
/* Frees allocations and moves the session to `to` in one transaction. */
int hub_session_finish(hub_t *hub, hub_session_t *hs, gh_sess_state_t to, const char *type, const char *reason);
void hub_gpu_poll(hub_t *hub, int64_t now);
/* hub_session_stop, counting the GPUs it frees early as reclaimed for
 * reclaim ("stopped", "preempted", ... see metrics.h). */
int hub_session_stop_for(hub_t *hub, int64_t id, const char *reason, const char *reclaim);
/* Stops every session of user_id hard and forgets them (user deletion). */
void hub_sessions_drop_user(hub_t *hub, int64_t user_id);

/* Records an admission: allocations + starting, one transaction. */
int hub_admit(hub_t *hub, hub_session_t *hs, const int *picks, const int *millis, int n);
/* Sets a queued session's position, ETA and reason (an event when the
 * reason or position changes). */
void hub_queue_update(hub_t *hub, hub_session_t *hs, int position, int64_t eta_s, const char *why);

/* hub_usage.c (usage accounting) */
/* Marks of held sessions from the store; starts one now for a hold
 * without. Sets in_use_usage. */
int hub_usage_load(hub_t *hub);
/* Inside the open transaction: the session's mark starts at `at`. The
 * caller sets hs->usage_mark = at after the commit. */
int hub_usage_begin(hub_t *hub, hub_session_t *hs, int64_t at);
/* Inside the open transaction: books hs's hold from its mark up to `to`;
 * end = 1 deletes the mark (the allocation is freed), else moves it to
 * `to`. The caller updates hs->usage_mark after the commit. */
int hub_usage_book(hub_t *hub, hub_session_t *hs, int64_t to, int end);
/* Books every held session when usage.interval_s has passed; prunes rows
 * older than usage.retention_days. */
void hub_usage_tick(hub_t *hub, int64_t now);
/* Books every held session up to now (clean shutdown). */
void hub_usage_flush(hub_t *hub);
/* Books the held sessions of user_id up to now and ends their marks
 * (before the user and their sessions are deleted). */
void hub_usage_book_user(hub_t *hub, int64_t user_id);
/* hub_mps.c: one CUDA MPS daemon per GPU shared by fractions */
int hub_mps_open(hub_t *hub);
void hub_mps_close(hub_t *hub);
/* Starts and stops daemons to match the sessions (work on a worker). */
void hub_mps_tick(hub_t *hub);
/* Moves hs to `to` with its event, in a transaction of its own. */
int hub_session_transition(hub_t *hub, hub_session_t *hs, gh_sess_state_t to, const char *type, int percent,
                           const char *msg);

/* hub_idle.c */
/* Gathers activity signals and applies the idle policies (every tick). */
void hub_idle_tick(hub_t *hub, int64_t now);
/* Loads the groups' overrides (hub_idle_policy.c). */
int hub_idle_groups_load(hub_t *hub);
/* An "idle" object (environment spec, group override) onto p: any of
 * gpu_idle_s, gpu_util_percent, full_idle_s, max_lifetime_s, warn_s; every
 * other field unset (v may be NULL or not an object). hub_idle_policy.c */
void hub_idle_policy_from_json(const json_t *v, idle_policy_t *p);
/* Records that hs gave back its GPUs (an event "session.gpus_reclaimed"
 * naming how many milli-GPUs and why), for usage accounting. */
void hub_record_reclaimed(hub_t *hub, const hub_session_t *hs, int gpu_milli, const char *label, const char *reason);
/* hub_session_suspend with the label its reclaimed GPU-seconds are booked
 * under: "idle", "lifetime", "preempted" (METRICS_RECLAIM_REASONS); a user's
 * or an admin's own suspend is "stopped". */
int hub_session_suspend_for(hub_t *hub, int64_t id, int64_t actor_id, const char *reclaim, const char *reason,
                            char *why, size_t whylen);

/* hub_suspend.c */
/* Moves a suspending session whose processes are gone to suspended. */
void hub_suspend_finish(hub_t *hub, hub_session_t *hs);
/* A starting session with a checkpoint: restores it on a worker when its
 * GPUs are the ones it had (1: the restore took over the start), else
 * says why not and drops it (0: start it fresh). */
int hub_ckpt_resume_start(hub_t *hub, hub_session_t *hs);
/* Reopens the notebooks of a woken session once it runs (every tick). */
void hub_resume_work(hub_t *hub, hub_session_t *hs);
/* After loading: sessions with a suspend record that are waking again. */
void hub_suspend_load(hub_t *hub);
/* Removes the suspend record of a deleted session. */
void hub_suspend_forget(hub_t *hub, int64_t id);
/* Path of the suspend record of session id. */
void hub_suspend_record_path(const hub_t *hub, int64_t id, char *out, size_t outlen);

/* hub_sess.c: allocation bookkeeping of the live model (after the store) */
int hub_alloc_add(hub_t *hub, hub_session_t *hs, const gh_alloc_t *a);
void hub_allocs_release(hub_t *hub, hub_session_t *hs);

/* hub_kgpu.c */
/* 2 when hs's environment gives GPUs to kernels (gpu_mode "kernel"), else 1. */
int hub_kgpu_mode(hub_t *hub, hub_session_t *hs);
/* The milli-GPUs a scheduling pass should ask for hs now: the session's
 * own request, 0 for a kernel-mode session, and for a running kernel-mode
 * session with a kernel waiting and no GPUs yet its request (else -1). */
int hub_kgpu_request(hub_t *hub, hub_session_t *hs);
/* Adds the launcher's environment for a kernel-mode workspace and writes
 * its kernelspec into the home; returns the new count of env entries. */
int hub_kgpu_env(hub_t *hub, hub_session_t *hs, char (*env)[CONFIG_STR + 128], int k, size_t envsz);
/* Records GPUs for a running session's kernels (no state change). */
int hub_kgpu_admit(hub_t *hub, hub_session_t *hs, const int *picks, const int *millis, int n);
/* Drops claims whose launcher is no longer among pids (the session's
 * processes) and frees the GPUs when none is left. */
void hub_kgpu_check(hub_t *hub, hub_session_t *hs, const int *pids, int npids);
/* Forgets the claims of a session that leaves running (hub_sess.c's
 * transition); its launchers claim again when it runs once more. */
void hub_kgpu_forget(hub_session_t *hs);

/* hub_sched.c */
int hub_sched_open(hub_t *hub);
/* (Re)builds the policy from the configuration's sched.* keys. */
void hub_sched_configure(hub_t *hub);
void hub_sched_close(hub_t *hub);

/* hub_alert.c */
int hub_alert_open(hub_t *hub, char *errmsg, size_t errlen);
/* After the worker pool is gone (its done callbacks use the alerts). */
void hub_alert_close(hub_t *hub);
/* Runs the rules when due and hands due notices to the worker pool;
 * returns the ms until it wants to run again. */
int hub_alert_tick(hub_t *hub, int64_t now);
/* Marks GPU index quarantined after XID xid and tells its sessions. */
void hub_gpu_quarantine(hub_t *hub, int index, int xid);
/* A CLEARED event from the GPU source lifts a quarantine too. */
void hub_gpu_quarantine_cleared(hub_t *hub, int index);
/* Quarantines survive a restart: replays the gpu.quarantined and
 * gpu.unquarantined events of the store (GPUs matched by UUID). */
void hub_quarantine_restore(hub_t *hub);

/* hub_ident.c */
int hub_ident_load(hub_t *hub);
int hub_ident_bootstrap(hub_t *hub);
void hub_tokens_drop_user(hub_t *hub, int64_t user_id);

/* hub_metrics.c */
/* GPUs hs holds now, in milli-GPU. */
int hub_session_milli(const hub_session_t *hs);
/* Counts the GPUs hs holds now as reclaimed for reason (call before its
 * allocations are released). */
void hub_reclaim_session(hub_t *hub, const hub_session_t *hs, const char *reason);
/* Reads the scrape token from path ("" = none). */
int hub_metrics_token_load(hub_t *hub, const char *path, char *errmsg, size_t errlen);
/* Fills each session's gpu_util_pct / gpu_mem_mib from its processes. */
void hub_gpu_attribute(hub_t *hub);

/* hub_env.c */
int hub_env_load(hub_t *hub);
int hub_env_seed(hub_t *hub);
/* Reads numeric and command fields of an environment spec. */
typedef struct hub_env_info {
	int ok;                              /* 0: the spec has no command for this runtime */
	int default_milli, max_milli;
	int cpu_milli;
	int64_t memory_mib;
	char interface[16];
	int gpu_kernel;                      /* gpu_mode "kernel": GPUs follow the kernels (hub_kgpu.c) */
	idle_policy_t idle;                  /* its "idle" override (fields -1 = inherited) */
	const char *argv[33];                /* points into argv_buf */
	char argv_buf[2048];
	int ready_http;                      /* 1: ready when GET ready_path answers 200 */
	char ready_path[256];                /* relative to the session URL, e.g. "api/status" */
	/* what the environment needs (hub_envcheck.c) */
	char python[128];                    /* its interpreter, default "python3" */
	char requires[8][64];                /* Python modules it cannot work without */
	int n_requires;
	int available;                       /* 1: every required module is installed */
	char unavailable[200];               /* why not, a sentence */
	const char *probe[17];               /* `env check` command, points into probe_buf */
	char probe_buf[2048];
} hub_env_info_t;
int hub_env_info(const gh_env_t *e, const char *runtime, hub_env_info_t *out);
/* hub_envcheck.c: sets info->available by asking info->python whether each
 * required module is installed (a short child process; blocking). */
void hub_env_availability(hub_env_info_t *info);
/* e parsed once, when it was loaded or created (argv points into the
 * returned struct); NULL when it cannot run on this hub's runtime. */
const hub_env_info_t *hub_env_spec(const hub_t *hub, const gh_env_t *e);

/* hub_spec.c: a session's runtime spec, self-contained (spec's strings
 * point into the struct, so a copy for a worker needs no hub state). */
typedef struct {
	hub_env_info_t info;
	char workdir[CONFIG_STR + 64], logp[CONFIG_STR + 80];
	char user[GH_NAME_MAX], name[GH_NAME_MAX], env_name[GH_NAME_MAX];
	char account[64], home[CONFIG_STR + 80], hide[CONFIG_STR];
	char env[RT_MAX_ENV][CONFIG_STR + 128];
	int n_env;
	rt_spec_t spec;
} hub_rtspec_t;
/* Fills rs for hs (creates the user's home when missing); a sentence in
 * why on failure. rs is not movable: spec points into it. */
int hub_rtspec_fill(hub_t *hub, const hub_session_t *hs, hub_rtspec_t *rs, char *why, size_t whylen);
/* Adds a "KEY=value" entry to the spec's environment. */
int hub_rtspec_setenv(hub_rtspec_t *rs, const char *kv);
/* The parts of a start's spec that bound a workspace (session id, sandbox,
 * memory, CPU, processes); hub_rtspec_fill sets them with it. */
void hub_rtspec_limits(const hub_t *hub, const hub_session_t *hs, rt_spec_t *spec);

/* hub_wsreq.c: a workspace's own HTTP API, from a worker. hub_ws_base
 * gives "http://127.0.0.1:<port>/<prefix>/" and the "Authorization: token"
 * header line for hs. hub_ws_request sends one GET (or, with post, a POST of
 * that JSON text) and returns the HTTP status, 0 when there was no answer;
 * *out (when out is given) is the parsed body, or NULL when it does not
 * parse or passes max_body bytes; the caller owns it. */
void hub_ws_base(const hub_t *hub, const hub_session_t *hs, char *base, size_t baselen, char *auth,
                 size_t authlen);
long hub_ws_request(const char *url, const char *auth, const char *post, long timeout_ms, size_t max_body,
                    json_t **out);


/* hub_index.c: the live sessions and the (user, name) table. Reserve where
 * the sessions array grows (then nothing else allocates); add after a
 * session is appended, state after a transition, remove before removal. */
int hub_index_reserve(hub_t *hub, int n);
void hub_index_add(hub_t *hub, const hub_session_t *hs);
void hub_index_state(hub_t *hub, const hub_session_t *hs, gh_sess_state_t from);
void hub_index_remove(hub_t *hub, const hub_session_t *hs);
void hub_index_free(hub_t *hub);
hub_session_t *hub_live_mut(hub_t *hub, int j);
/* Calls fn for each session live when it starts, in id order; fn may
 * change states (a session that ends or is deleted on the way is passed
 * over from then on). It walks a copy reserved with the index, so it
 * cannot fail; it is not reentrant (GH_EINTERNAL from inside fn). */
typedef void (*hub_live_fn)(hub_t *hub, hub_session_t *hs, void *arg);
int hub_live_each(hub_t *hub, hub_live_fn fn, void *arg);

#endif
