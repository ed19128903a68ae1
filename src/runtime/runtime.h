/*
 * runtime.h — where workspaces run. One ops table per engine ("local" now;
 * kubernetes and slurm later), chosen by config runtime.engine.
 *
 * A workspace is identified by an engine-specific handle string `ref` that
 * the hub stores with the session, so a restarted hub can find (adopt) the
 * workspaces that kept running while it was down.
 */
#ifndef GH_RUNTIME_H
#define GH_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

typedef struct gh_rt gh_rt_t;

#define RT_MAX_ENV 32

typedef struct {
	int64_t session_id;
	const char *user;
	const char *session_name;
	const char *env_name;
	const char *const *argv;         /* command to run, NULL-terminated */
	const char *workdir;             /* created if missing */
	const char *log_path;            /* stdout+stderr, appended */
	const char *env[RT_MAX_ENV];     /* extra "KEY=value" entries, NULL-terminated */

	/*
	 * Isolation and limits. Every field's zero value means "as before":
	 * the command runs as the hub's own user, unsandboxed, without limits
	 * and without a cgroup (docs/runtime.md).
	 */
	const char *unix_user;           /* account to run as; NULL = the hub's user */
	int create_account;              /* 1 = useradd unix_user when it does not exist */
	const char *home_dir;            /* persistent home, bind-mounted rw; NULL = none */
	const char *hide_dir;            /* hidden (empty tmpfs) in the sandbox, e.g. the
	                                    hub's data dir; NULL = nothing extra */
	int sandbox;                     /* 0 = none, 1 = bubblewrap */
	int64_t memory_mib;              /* cgroup memory limit; 0 = none */
	int cpu_milli;                   /* cgroup CPU quota, 1000 = one core; 0 = none */
	int max_pids;                    /* cgroup process limit; 0 = none */
	int tty;                         /* exec only: 1 = the command gets a terminal
	                                    (the sandbox keeps its session) */
} rt_spec_t;

typedef enum {
	RT_GONE = 0,                     /* no such workspace (exited or never started) */
	RT_STARTING,                     /* process alive, not ready yet */
	RT_READY,                        /* alive and ready */
} rt_status_t;

#define RT_USAGE_PIDS_MAX 256

/* What a workspace uses now: its processes and their CPU time so far. */
typedef struct {
	int pids[RT_USAGE_PIDS_MAX];     /* host pids of its processes (the first ones) */
	int npids;
	int64_t cpu_usec;                /* CPU time of its live processes (and the
	                                    children they waited for), microseconds */
} rt_usage_t;

/* The max_age_ms of usage for polls of every workspace in one go (the
 * idle monitor's tick): one look at the processes serves them all. */
#define RT_USAGE_SHARE_MS 100

typedef struct rt_ops {
	const char *name;
	int (*open)(gh_rt_t **out, const char *state_dir, char *errmsg, size_t errlen);
	void (*close)(gh_rt_t *rt);
	/* Starts the workspace; ref receives its handle. */
	int (*start)(gh_rt_t *rt, const rt_spec_t *spec, char *ref, size_t reflen, char *errmsg,
	             size_t errlen);
	rt_status_t (*probe)(gh_rt_t *rt, const char *ref);
	/* Asks the whole workspace to end (SIGTERM to its tree); hard = SIGKILL. */
	int (*signal_stop)(gh_rt_t *rt, const char *ref, int hard);
	/* Optional: collects what ended workspaces left behind (exit statuses
	 * of the engine's own child processes); called on the hub's tick. */
	void (*reap)(gh_rt_t *rt);
	/* 1 when process pid (as the host sees it) belongs to the workspace
	 * ref, else 0. Optional: an engine without it attributes nothing. */
	int (*owns_pid)(gh_rt_t *rt, const char *ref, int pid);
	/*
	 * Runs spec->argv beside the workspace `ref`: as its account, in a
	 * sandbox laid out like its own, in its cgroup, with spec->env; with
	 * ref NULL on its own, as a workspace of spec would (without a cgroup;
	 * the work directory and home are made when missing). With
	 * spec->tty the command's stdin, stdout and stderr are a new terminal
	 * and *fd is its master side; else they are one end of a socket pair
	 * and *fd the other (shutdown(SHUT_WR) is end of input). *pid is a
	 * child of the caller, who reaps it and closes *fd. NULL = the engine
	 * cannot (GH_EUNSUPPORTED from rt_exec).
	 */
	int (*exec)(gh_rt_t *rt, const rt_spec_t *spec, const char *ref, int *fd, int *pid, char *errmsg,
	            size_t errlen);
	/* Fills out for a live workspace (GH_ENOTFOUND when gone). The
	 * engine may answer from a look at the processes it took for another
	 * call at most max_age_ms ago (RT_USAGE_SHARE_MS for periodic
	 * polls); 0 = a look taken now, for a caller that acts on the pids
	 * (a process forked since an older look is not among them). Safe to
	 * call from a worker thread. */
	int (*usage)(gh_rt_t *rt, const char *ref, int max_age_ms, rt_usage_t *out);
	/* Takes in the process tree rooted at pid, which came back by other
	 * means (a process checkpoint restored), under the limits a start with
	 * spec would give it (its cgroup; spec's session_id, sandbox and
	 * limits are read), and writes its handle to ref. Safe to call from a
	 * worker thread. NULL = the engine keeps no such state. */
	int (*rejoin)(gh_rt_t *rt, const rt_spec_t *spec, int pid, char *ref, size_t reflen);
} rt_ops_t;

struct gh_rt {
	const rt_ops_t *ops;
};

int rt_open(gh_rt_t **out, const char *engine, const char *state_dir, char *errmsg, size_t errlen);
void rt_close(gh_rt_t *rt);
const char *rt_name(const gh_rt_t *rt);
int rt_start(gh_rt_t *rt, const rt_spec_t *spec, char *ref, size_t reflen, char *errmsg, size_t errlen);
rt_status_t rt_probe(gh_rt_t *rt, const char *ref);
int rt_signal_stop(gh_rt_t *rt, const char *ref, int hard);
void rt_reap(gh_rt_t *rt);
/* 0 when the engine cannot tell (no owns_pid). */
int rt_owns_pid(gh_rt_t *rt, const char *ref, int pid);
int rt_exec(gh_rt_t *rt, const rt_spec_t *spec, const char *ref, int *fd, int *pid, char *errmsg, size_t errlen);
/* GH_EUNSUPPORTED for an engine that cannot tell. */
int rt_usage(gh_rt_t *rt, const char *ref, int max_age_ms, rt_usage_t *out);
/* GH_EUNSUPPORTED for an engine without the op. */
int rt_rejoin(gh_rt_t *rt, const rt_spec_t *spec, int pid, char *ref, size_t reflen);

/*
 * Unix account for hub user `user`: dedicated = 1 gives "gh-<user>" (an
 * account the engine creates with spec.create_account), 0 the user's own
 * name (an account that must exist). Upper case is folded; anything that
 * is not a valid account name (letters, digits, '_', '-', '.', at most 32
 * characters, not starting with a digit, '-' or '.') is GH_EINVAL.
 */
int rt_account_name(const char *user, int dedicated, char *out, size_t outlen);

#endif
