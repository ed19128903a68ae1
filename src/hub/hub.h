/*
 * hub.h — the session service: owns all mutable state of gpuhub.
 *
 * The hub keeps the live model in memory (users, tokens, environments,
 * sessions with their GPU allocations, the GPU inventory) and writes every
 * change through the store before it acts on it. It runs on the event-loop
 * thread only: no locks. api/ calls these functions; they validate what is
 * domain logic (names taken, capacity, state machine) and return 0 or a
 * negative gh_err_t with a sentence in `why` where one is asked for.
 *
 * Pointers returned (const gh_user_t *, const hub_session_t *, ...) point
 * into hub-owned arrays: valid until the next call that changes the hub.
 */
#ifndef GH_HUB_H
#define GH_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "common/model.h"
#include "config/config.h"
#include "gpu/gpu.h"
#include "monitor/idle.h"
#include "store/store.h"
#include "metrics/metrics.h"

typedef struct hub hub_t;

#define HUB_WHY 256
#define HUB_KCLAIMS_MAX 16
#define HUB_CKPT_GPUS 16

typedef struct {
	gh_session_t s;
	gh_alloc_t *allocs;              /* owned; NULL when none */
	int n_allocs;
	int queue_position;              /* 1-based while queued, else 0 */
	int told_position;               /* position in its last session.waiting event */
	int64_t eta_s;                   /* seconds while queued, -1 = unknown */
	int64_t probe_deadline;          /* ms: starting must be ready by then */
	int start_pending;               /* a worker is starting its workspace */
	int strip_prefix;                /* proxy strips /user/<u>/<s> (code-server) */
	int64_t usage_mark;              /* ms: hold booked up to here; 0 = holds nothing (hub_usage.c) */
	/* idle monitor (hub_idle.c); times in ms, 0 = never */
	int64_t running_since;           /* it entered running, this run */
	int64_t work_user_at;            /* user activity the workspace reports (kernels, terminals, heartbeat) */
	int64_t compute_at;              /* busy kernel, GPU or CPU use last seen */
	int64_t gpu_busy_at;             /* its processes last used its GPUs */
	int gpu_util_pct;                /* its processes' GPU utilization at the last poll, -1 = unknown */
	int64_t cpu_usec, cpu_at;        /* CPU time at the last poll, and when */
	int64_t next_idle_poll, next_decide;
	int idle_poll_pending;           /* a worker gathers its signals */
	int64_t warned_at;               /* idle warning given (state idle-warned) */
	int64_t idle_action_at;          /* when the warned action falls due */
	char idle_rule[16];              /* the rule of the warning: "full-idle", ... */
	const char *reclaim;            /* label its suspension books reclaimed GPU-seconds under
	                                 * (METRICS_RECLAIM_REASONS), set when it starts */
	int idle_now;                    /* idle by its signals right now (preemption picks these) */
	/* suspend and resume (hub_suspend.c) */
	int suspend_pending;             /* open notebooks are being read before stopping */
	int resuming;                    /* woken: reopen its notebooks once ready */
	int reopen_pending;              /* a worker reopens them */
	int ckpt;                        /* a process checkpoint of its suspend exists (hub_ckpt.c) */
	int ckpt_gpus[HUB_CKPT_GPUS];    /* GPU indices it held when it was taken */
	int n_ckpt_gpus;
	int ckpt_gpu_pids[HUB_CKPT_GPUS];/* its processes that were on those GPUs */
	int n_ckpt_gpu_pids;
	char ckpt_ref[GH_TEXT_MAX];      /* runtime handle at the dump (its cgroup part is kept) */
	int ckpt_restored;               /* resumed from the checkpoint: memory was kept */
	/* GPUs that follow the kernel (hub_kgpu.c) */
	int kmode;                       /* 0 unknown, 1 GPUs for the session, 2 for its kernels */
	int kclaims[HUB_KCLAIMS_MAX];    /* pids of kernel launchers holding or awaiting its GPUs */
	int n_kclaims;
	int64_t kwant_since;             /* ms: a kernel waits for GPUs since then, 0 = none */
	uint64_t rev;                    /* bumped on every change of the above */
	char *view;                      /* cached API JSON of revision view_rev (owned) */
	uint64_t view_rev;
	/* GPU use of its own processes, from the last telemetry poll (not part
	 * of rev: they change every second) */
	/* GPU use attributed from its own processes at the last telemetry
	 * poll (hub_metrics.c; /metrics) */
	int attr_util_pct;               /* sum over its GPUs (0..100 each), -1 = unknown */
	int64_t attr_mem_mib;
} hub_session_t;

typedef struct {
	gh_gpu_info_t info;
	gh_gpu_telemetry_t tel;
	int allocated_milli;
	int64_t allocated_mib;
	int quarantined;                 /* after an XID: no new placements until an admin lifts it */
	int quarantine_xid;
	int64_t quarantined_at;          /* ms */
} hub_gpu_t;

typedef struct {
	const char *env;                 /* environment name */
	const char *name;                /* session name */
	int gpu_milli;                   /* -1 = environment default */
	const char *gpu_model;           /* NULL/"" = any */
} hub_launch_t;

/* Opens the data dir (creating it, taking its lock), the store, the GPU
 * source; loads state, seeds the first admin and the default catalog on an
 * empty store, and reconciles sessions with the runtime. */
int hub_open(hub_t **out, const gh_config_t *cfg, char *errmsg, size_t errlen);
void hub_close(hub_t *hub);
/* An fd that becomes readable when blocking work finished on a worker
 * thread; the loop watches it and then calls hub_tick(). */
int hub_wakeup_fd(const hub_t *hub);
/* Periodic work: GPU telemetry and faults, runtime probes, scheduling.
 * Returns the number of milliseconds until it wants to run again. */
int hub_tick(hub_t *hub);
/* Applies the reloadable part of cfg (caller checked config_diff_restart). */
void hub_reload(hub_t *hub, const gh_config_t *cfg);
const gh_config_t *hub_config(const hub_t *hub);

/* --- identity --- */
/* User for a bearer secret or login cookie, or NULL (unknown, expired,
 * disabled). kind_out (may be NULL) tells API token from login. */
const gh_user_t *hub_authenticate(hub_t *hub, const char *secret, gh_token_kind_t *kind_out,
                                  int64_t *token_id_out);
int hub_login(hub_t *hub, const char *username, const char *password, char *secret, size_t secretlen,
              int64_t *expires_at, const gh_user_t **user);
int hub_logout(hub_t *hub, const char *secret);

/* --- users --- */
int hub_user_count(const hub_t *hub);
const gh_user_t *hub_user_at(const hub_t *hub, int i);
const gh_user_t *hub_user_find(const hub_t *hub, const char *name);
const gh_user_t *hub_user_by_id(const hub_t *hub, int64_t id);
/* u->name etc. filled by the caller; password may be NULL (no password). */
int hub_user_create(hub_t *hub, const gh_user_t *u, const char *password, int64_t actor_id,
                    const gh_user_t **out, char *why, size_t whylen);
/* Replaces the user's editable fields with those of u (name is the key);
 * password NULL = unchanged. */
int hub_user_update(hub_t *hub, const gh_user_t *u, const char *password, int64_t actor_id,
                    const gh_user_t **out, char *why, size_t whylen);
int hub_user_delete(hub_t *hub, const char *name, int64_t actor_id, char *why, size_t whylen);

/* --- tokens --- */
int hub_token_count(const hub_t *hub);
const gh_token_t *hub_token_at(const hub_t *hub, int i);
/* expires_days 0 = never. secret receives the new token (shown once). */
int hub_token_create(hub_t *hub, int64_t user_id, const char *note, int expires_days, char *secret,
                     size_t secretlen, const gh_token_t **out);
/* GH_ENOTFOUND unless the token exists and belongs to user_id. */
int hub_token_revoke(hub_t *hub, int64_t user_id, int64_t token_id);

/* --- environments --- */
int hub_env_count(const hub_t *hub);
const gh_env_t *hub_env_at(const hub_t *hub, int i);
const gh_env_t *hub_env_find(const hub_t *hub, const char *name);
/* JSON array text of the local command used when an environment is
 * created without a launch spec. */
const char *hub_env_default_command(void);
/* spec: the validated Environment JSON (api/ checks its shape). */
int hub_env_create(hub_t *hub, const char *name, const char *spec, int64_t actor_id,
                   const gh_env_t **out, char *why, size_t whylen);
int hub_env_delete(hub_t *hub, const char *name, int64_t actor_id, char *why, size_t whylen);
/* Runs environment env's probe for user u with gpu_milli GPUs (-1 = up to
 * one, as the environment's default allows) that are free now, on a
 * worker; cb runs later on the loop thread with rc 0 and the report (JSON
 * text, borrowed) or an error and a sentence. Returns non-zero (with why)
 * when the check cannot start; cb is then not called. */
typedef void (*hub_check_fn)(void *ctx, int rc, const char *why, const char *report);
int hub_env_check(hub_t *hub, const char *env, const gh_user_t *u, int gpu_milli, hub_check_fn cb, void *ctx,
                  char *why, size_t whylen);
/* 1 when the environment can run here (its required Python modules are
 * installed); else 0 with a sentence in *why (may be NULL). */
int hub_env_available(const hub_t *hub, const gh_env_t *e, const char **why);

/* --- sessions --- */
int hub_session_count(const hub_t *hub);
const hub_session_t *hub_session_at(const hub_t *hub, int i);
/* The sessions not stopped and not failed (queued … stopping, suspended),
 * in id order: j in [0, hub_live_count()). hub_index.c */
int hub_live_count(const hub_t *hub);
const hub_session_t *hub_live_at(const hub_t *hub, int j);
const hub_session_t *hub_session_get(const hub_t *hub, int64_t id);
int hub_session_create(hub_t *hub, const gh_user_t *u, const hub_launch_t *req,
                       const hub_session_t **out, char *why, size_t whylen);
/* Suspends a running session: records its open notebooks, stops its
 * processes, then frees its GPUs in the transaction that records
 * suspended. Its home and its record stay. GH_ESTATE (why) when it is not
 * running. */
int hub_session_suspend(hub_t *hub, int64_t id, int64_t actor_id, const char *reason, char *why, size_t whylen);
/* Wakes a suspended session: it queues for GPUs again and, once running,
 * reopens the notebooks it had open with fresh kernels. 0 also when it is
 * already waking or running; GH_ESTATE (why) otherwise. */
int hub_session_resume(hub_t *hub, int64_t id, int64_t actor_id, char *why, size_t whylen);
/* Stops (GPUs freed in the same transaction that records the stop). */
int hub_session_stop(hub_t *hub, int64_t id, int64_t actor_id, const char *reason);
int hub_session_delete(hub_t *hub, int64_t id, int force, int64_t actor_id, char *why, size_t whylen);
/* Stores json (taken: the hub frees it) as the cached API view of hs at
 * its current revision; api/ renders a session only when rev moved on. */
void hub_session_set_view(hub_t *hub, const hub_session_t *hs, char *json);
/* The session of user_id called name, or NULL. */
const hub_session_t *hub_session_find(const hub_t *hub, int64_t user_id, const char *name);
/* Records user traffic to the session's workspace (in memory; it is
 * written with the session's next transition). */
void hub_session_activity(hub_t *hub, int64_t id, int64_t now_ms);
/* The secret the workspace of session id accepts (hex, 32 chars + NUL):
 * HMAC-SHA256 of the id under the hub's own secret, so it is never stored
 * and only the hub (and the workspace) know it. */
void hub_workspace_token(const hub_t *hub, int64_t id, char out[33]);
/* Where the workspace of session id writes its output (kept after it
 * stops): <data_dir>/sessions/<id>.log. */
void hub_session_log_path(const hub_t *hub, int64_t id, char *out, size_t outlen);
/* Starts a shell beside the running workspace of session id, for actor
 * (the caller checked that actor is the owner or an admin who asked for
 * it): tty = 1 on a new terminal (*fd its master), 0 on a socket pair.
 * *pid is the hub's child: the caller reaps it and closes *fd. Recorded as
 * a session.shell event. GH_ESTATE when the session is not running. */
int hub_session_shell(hub_t *hub, int64_t id, const gh_user_t *actor, int tty, int *fd, int *pid, char *why,
                      size_t whylen);
/* Public URL path of a session's workspace into out. */
void hub_session_url(const hub_t *hub, const hub_session_t *hs, char *out, size_t outlen);

/* --- idle policies (hub_idle_policy.c, docs/idle.md) --- */
struct json_t;
/* The policy in force for hs: idle.* defaults, then its group's override,
 * then its environment's. */
void hub_idle_policy(const hub_t *hub, const hub_session_t *hs, idle_policy_t *out);
/* Sets (replaces) the override of an environment / a group; fields < 0
 * are inherited. why names the problem. */
int hub_env_idle_set(hub_t *hub, const char *name, const idle_policy_t *p, int64_t actor_id, char *why,
                     size_t whylen);
int hub_group_idle_set(hub_t *hub, const char *group, const idle_policy_t *p, int64_t actor_id, char *why,
                       size_t whylen);
/* The override of group, or NULL when it has none. */
const idle_policy_t *hub_group_idle_get(const hub_t *hub, const char *group);
/* A policy as a JSON object of its set fields (new reference). */
struct json_t *hub_idle_policy_json(const idle_policy_t *p);

/* --- GPUs that follow the kernel (hub_kgpu.c, docs/idle.md) --- */
typedef struct {
	int granted;                     /* 1: devices holds CUDA_VISIBLE_DEVICES */
	char devices[128];
	int position;                    /* while waiting: place in the queue */
	int64_t eta_s;                   /* while waiting: -1 = unknown */
} hub_kgpu_answer_t;
/* A kernel launcher (pid) of session id asks for the session's GPUs;
 * token is the workspace token it presents. GH_EAUTH for a wrong token,
 * GH_ESTATE (why) when the session does not run or its environment does
 * not give GPUs to kernels. */
int hub_kgpu_claim(hub_t *hub, int64_t id, int pid, const char *token, hub_kgpu_answer_t *out, char *why,
                   size_t whylen);
/* The launcher is done: the GPUs go back when no kernel holds them. */
int hub_kgpu_release(hub_t *hub, int64_t id, int pid, const char *token);
/* 1 when hs's environment gives GPUs to its kernels (gpu_mode "kernel"):
 * the session holds none while no kernel runs. Read once, then cached. */
int hub_session_kernel_mode(hub_t *hub, const hub_session_t *hs);

/* --- GPUs --- */
int hub_gpu_count(const hub_t *hub);
const hub_gpu_t *hub_gpu_at(const hub_t *hub, int i);
int hub_gpus_simulated(const hub_t *hub);
const char *hub_gpu_source(const hub_t *hub);
/* Fault injection (sim only): GH_EUNSUPPORTED elsewhere. */
int hub_gpu_fault(hub_t *hub, int index, gh_gpu_event_type_t type, int xid, int64_t actor_id);

/* --- metrics --- */
/* The hub's counters (metrics.h); never NULL after hub_open. Other
 * subsystems add to them, e.g. metrics_reclaimed_add(hub_metrics(hub),
 * "idle", gpu_seconds) when idle suspension frees GPUs. */
metrics_t *hub_metrics(hub_t *hub);
/* GPU-seconds an allocation of milli (1000 = one GPU) is counted as still
 * holding when the hub ends it early: milli/1000 x metrics.reclaim_horizon_s. */
double hub_reclaim_estimate(const hub_t *hub, int milli);
/* 1 when bearer (len bytes, not NUL-terminated) may scrape GET /metrics:
 * always when metrics.token_file is unset. Constant time. */
int hub_metrics_authorized(const hub_t *hub, const char *bearer, size_t len);
/* Priority classes of the scheduling policy, and a session's class name. */
int hub_class_count(const hub_t *hub);
const char *hub_class_name(const hub_t *hub, int i);
const char *hub_session_class(const hub_t *hub, const hub_session_t *hs);
/* --- usage accounting (docs/usage.md) --- */
/* Sums of the usage rows from_day..to_day ("YYYY-MM-DD", inclusive), of
 * user only unless user is "", grouped by USAGE_BY_* bits (monitor/usage.h).
 * Running sessions are booked every usage.interval_s. */
int hub_usage_query(hub_t *hub, const char *from_day, const char *to_day, const char *user, unsigned by,
                    store_usage_cb cb, void *ctx);
/* --- alerts (hub_alert.c) --- */
struct alert_engine;
/* Lifts the XID quarantine of GPU index and clears its fault marks.
 * GH_ENOTFOUND, or GH_ESTATE (with why) when it is not quarantined. */
int hub_gpu_unquarantine(hub_t *hub, int index, int64_t actor_id, char *why, size_t whylen);
/* The alert engine (alert/alert.h), NULL when alerts.enabled is false. */
const struct alert_engine *hub_alerts(const hub_t *hub);
/* A notice to one user: an event "notice.<kind>" on the session's event
 * stream (session_id 0: not about a session), and an e-mail to the user's
 * address when alerts.smtp_url is set and alerts.email_users is true.
 * E.g. alert_notify_user(hub, uid, sid, "suspend_soon", "your session %s
 * will be suspended in 10 minutes", name). GH_ENOTFOUND for an unknown
 * user. Loop thread only. */
int alert_notify_user(hub_t *hub, int64_t user_id, int64_t session_id, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* --- events --- */
typedef struct hub_sub hub_sub_t;
typedef void (*hub_event_fn)(void *ctx, const gh_event_t *ev);
/* Calls fn for every new event of session_id (0 = all) until unsubscribed. */
hub_sub_t *hub_subscribe(hub_t *hub, int64_t session_id, hub_event_fn fn, void *ctx);
void hub_unsubscribe(hub_t *hub, hub_sub_t *sub);
int hub_events_list(hub_t *hub, int64_t session_id, int64_t after_id, int limit, store_event_cb cb,
                    void *ctx);

#endif
