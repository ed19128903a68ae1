/*
 * rt_local.h — internals shared by the files of the local engine:
 * /proc helpers, per-workspace cgroups (rt_local_cg.c) and the sandbox and
 * account handling (rt_local_sb.c). Not part of the runtime interface.
 */
#ifndef GH_RT_LOCAL_H
#define GH_RT_LOCAL_H

#include "runtime/runtime.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- /proc ---- */

/* State, start time and parent of pid; 0 or GH_ENOTFOUND. */
int rt_proc_stat(int pid, char *state, unsigned long long *starttime, int *ppid);
/* rt_local_usage.c: the usage op (processes descending from the leader). */
int rt_local_usage(gh_rt_t *rt, const char *ref, int max_age_ms, rt_usage_t *out);
/* First child of pid found in /proc, or 0. */
int rt_proc_first_child(int pid);
/* Inode of pid's pid namespace, 0 when unreadable. */
unsigned long long rt_proc_pidns(int pid);
/*
 * Sends sig to every process whose pid namespace inode is ns, except
 * `except`; returns how many were signalled.
 */
int rt_proc_signal_ns(unsigned long long ns, int except, int sig);

/* ---- cgroups ---- */

typedef enum { RT_CG_NONE = 0, RT_CG_V1, RT_CG_V2 } rt_cg_mode_t;

enum { RT_CG_MEMORY, RT_CG_CPU, RT_CG_PIDS, RT_CG_FREEZER, RT_CG_NCTL };

#define RT_CG_MAXJOIN RT_CG_NCTL

typedef struct {
	rt_cg_mode_t mode;
	int have[RT_CG_NCTL];       /* v1: hierarchy mounted */
	int unusable;               /* creating cgroups failed once: do not retry */
	unsigned warned;            /* bit per warning already logged */
	pthread_mutex_t lock;
} rt_cg_t;

/* Cgroup files a new workspace joins (write-only fds to cgroup.procs). */
typedef struct {
	int fd[RT_CG_MAXJOIN];
	int n;
} rt_cg_join_t;

void rt_cg_init(rt_cg_t *cg);
void rt_cg_fini(rt_cg_t *cg);
/*
 * Creates the cgroup of session id, applies the spec's limits and opens its
 * cgroup.procs files into join. rel receives the path relative to the
 * cgroup root ("/gpuhub/s12"). GH_EUNSUPPORTED: no usable cgroups here
 * (logged once); the caller goes on without.
 */
int rt_cg_create(rt_cg_t *cg, const rt_spec_t *spec, char *rel, size_t rellen, rt_cg_join_t *join);
/* rt_cg_create for processes that are to stay: the session's cgroup is
 * made or kept with what is in it, and spec's limits set (a restore). */
int rt_cg_enter(rt_cg_t *cg, const rt_spec_t *spec, char *rel, size_t rellen, rt_cg_join_t *join);
void rt_cg_join_close(rt_cg_join_t *join);
/* Opens the cgroup.procs files of the existing cgroup rel into join (for a
 * command that joins a running workspace); GH_ENOTFOUND when it is gone. */
int rt_cg_join_open(rt_cg_t *cg, const char *rel, rt_cg_join_t *join);
/* 1 when rel is a path this engine creates ("/gpuhub/<name>"). */
int rt_cg_valid_rel(const char *rel);
/*
 * Member pids of cgroup rel; *out is malloc'd (free it). Returns the count,
 * or a negative gh_err_t (GH_ENOTFOUND when the cgroup does not exist).
 */
int rt_cg_pids(rt_cg_t *cg, const char *rel, int **out);
/* Sends sig to every member except the pids in skip[0..nskip). */
int rt_cg_signal(rt_cg_t *cg, const char *rel, int sig, const int *skip, int nskip);
/* Kills every member: cgroup.kill, or freeze + SIGKILL each + thaw. */
int rt_cg_kill(rt_cg_t *cg, const char *rel);
/* Removes the cgroup once empty; 0 when it is gone. */
int rt_cg_remove(rt_cg_t *cg, const char *rel);

/* ---- accounts and sandbox ---- */

#define RT_MAX_GROUPS 64

typedef struct {
	int set;                    /* 0: run as the hub's user */
	uid_t uid;
	gid_t gid;
	gid_t groups[RT_MAX_GROUPS];
	int ngroups;
	char name[64];
	char home[512];             /* spec->home_dir, else the account's home */
} rt_user_t;

/* Looks up (and with create_account, creates) spec->unix_user. */
int rt_sb_user(const rt_spec_t *spec, rt_user_t *u, char *errmsg, size_t errlen);
/* Creates dir (mode) when missing, owned by u when u is set. */
int rt_sb_prepare_dir(const char *dir, mode_t mode, const rt_user_t *u, char *errmsg, size_t errlen);

/* A growable NULL-terminated array of owned strings. */
typedef struct {
	char **v;
	size_t n, cap;
} rt_strv_t;

int rt_strv_add(rt_strv_t *a, const char *s);
void rt_strv_free(rt_strv_t *a);
/* Value of KEY in spec->env, or NULL. */
const char *rt_spec_getenv(const rt_spec_t *spec, const char *key);
/* Full path of bwrap, or NULL when bubblewrap is not installed. */
const char *rt_sb_bwrap(void);
/* Appends the bwrap command line that wraps spec->argv to a. */
int rt_sb_argv(const rt_spec_t *spec, const rt_user_t *u, rt_strv_t *a);

#endif
