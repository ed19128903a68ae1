/*
 * hub_int.h — the hub's private layout, shared by hub*.c only.
 *
 *   array      | order       | lookup
 *   -----------+-------------+---------------------------------------
 *   users      | id          | linear by name, binary search by id
 *   tokens     | id          | linear by SHA-256 (constant-time compare)
 *   envs       | id          | linear by name (a catalog is small)
 *   sessions   | id          | binary search by id
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

#define HUB_PENDING_MAX 32

struct hub_sub {
	struct hub_sub *next;
	int64_t session_id;
	hub_event_fn fn;
	void *ctx;
};

/* An idle policy override of a group (fields -1 = inherited). */
typedef struct {
	char group[GH_NAME_MAX];
	idle_policy_t policy;
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
	hub_gpu_t *gpus;
	int n_gpus;

	struct hub_sub *subs;
	gh_event_t pending[HUB_PENDING_MAX]; /* emitted inside the open transaction */
	int n_pending;
	int in_txn;

	gh_worker_t *worker;                 /* blocking work (workspace starts) */
	sched_t *sched;                      /* scheduler state, reused each pass */
	sched_policy_t policy;

	int64_t next_gpu_poll;               /* ms */
	int64_t next_probe;                  /* ms */
	int sched_dirty;                     /* a scheduling pass is due */
	int work_due;                        /* sessions need runtime work now */
	int probe_soon;                      /* a workspace is starting: probe often */

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

/* hub_sess.c */
hub_session_t *hub_session_mut(hub_t *hub, int64_t id);
int hub_session_load_state(hub_t *hub);
void hub_reconcile(hub_t *hub);
void hub_sessions_work(hub_t *hub, int64_t now);
void hub_schedule(hub_t *hub, int64_t now);
/* Frees allocations and moves the session to `to` in one transaction. */
int hub_session_finish(hub_t *hub, hub_session_t *hs, gh_sess_state_t to, const char *type, const char *reason);
void hub_gpu_poll(hub_t *hub, int64_t now);
/* Stops every session of user_id hard and forgets them (user deletion). */
void hub_sessions_drop_user(hub_t *hub, int64_t user_id);

/* Records an admission: allocations + starting, one transaction. */
int hub_admit(hub_t *hub, hub_session_t *hs, const int *picks, const int *millis, int n);
/* Sets a queued session's position, ETA and reason (an event when the
 * reason or position changes). */
void hub_queue_update(hub_t *hub, hub_session_t *hs, int position, int64_t eta_s, const char *why);

/* Moves hs to `to` with its event, in a transaction of its own. */
int hub_session_transition(hub_t *hub, hub_session_t *hs, gh_sess_state_t to, const char *type, int percent,
                           const char *msg);

/* hub_idle.c */
/* Gathers activity signals and applies the idle policies (every tick). */
void hub_idle_tick(hub_t *hub, int64_t now);
/* Loads the groups' overrides (hub_idle_policy.c). */
int hub_idle_groups_load(hub_t *hub);
/* Records that hs gave back its GPUs (an event "session.gpus_reclaimed"
 * naming how many milli-GPUs and why), for usage accounting. */
void hub_record_reclaimed(hub_t *hub, const hub_session_t *hs, int gpu_milli, const char *reason);

/* hub_suspend.c */
/* Moves a suspending session whose processes are gone to suspended. */
void hub_suspend_finish(hub_t *hub, hub_session_t *hs);
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
/* Forgets claims of a session that no longer runs. */
void hub_kgpu_tick(hub_t *hub, hub_session_t *hs);

/* hub_sched.c */
int hub_sched_open(hub_t *hub);
/* (Re)builds the policy from the configuration's sched.* keys. */
void hub_sched_configure(hub_t *hub);
void hub_sched_close(hub_t *hub);

/* hub_ident.c */
int hub_ident_load(hub_t *hub);
int hub_ident_bootstrap(hub_t *hub);
void hub_tokens_drop_user(hub_t *hub, int64_t user_id);

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
	const char *argv[33];                /* points into argv_buf */
	char argv_buf[2048];
	int ready_http;                      /* 1: ready when GET ready_path answers 200 */
	char ready_path[256];                /* relative to the session URL, e.g. "api/status" */
} hub_env_info_t;
int hub_env_info(const gh_env_t *e, const char *runtime, hub_env_info_t *out);
/* e parsed once, when it was loaded or created (argv points into the
 * returned struct); NULL when it cannot run on this hub's runtime. */
const hub_env_info_t *hub_env_spec(const hub_t *hub, const gh_env_t *e);

#endif
