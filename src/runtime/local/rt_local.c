/*
 * rt_local.c — the "local" runtime: a workspace is a process tree on this
 * machine, in its own session and process group (setsid), so that it
 * survives a hub restart: when the hub dies its workspaces are handed to
 * init. The hub starts each with vfork + exec, which copies no page tables
 * (a plain fork of a busy multi-threaded hub costs milliseconds of kernel
 * time per workspace), and reaps the ones that end while it runs
 * (kids_reap, on every start, probe and stop). With the spec's options
 * it runs as a per-user Unix account, inside a bubblewrap sandbox with its
 * own pid namespace (rt_local_sb.c), in a cgroup of its own with memory,
 * CPU and process limits (rt_local_cg.c). With all of them off it runs the
 * command as the hub's user, as the first version of this engine did.
 *
 * Handle format (stored with the session):
 *
 *   field      | meaning
 *   -----------+-----------------------------------------------------------
 *   pid        | process id of the workspace leader (= its process group);
 *              | with the sandbox, the outer bwrap process
 *   starttime  | field 22 of /proc/<pid>/stat (clock ticks since boot)
 *   cgroup     | optional: the workspace's cgroup, relative to the cgroup
 *              | root (v2) or to each v1 hierarchy, always "/gpuhub/..."
 *
 *   written "pid:starttime" or "pid:starttime:cgroup",
 *   e.g. "41231:8812345" or "41231:8812345:/gpuhub/s12"
 *
 * pid + start time identifies the process even after the pid is reused;
 * handles without a cgroup (older ones included) stay valid. Readiness is
 * "the leader is alive". Stop: with a cgroup, every member is signalled
 * (hard: cgroup.kill, or freeze + SIGKILL each); in a sandbox without a
 * cgroup, every process of its pid namespace (hard: its init, which takes
 * the namespace down); otherwise the leader's process group.
 */
#include "runtime/runtime.h"
#include "runtime/local/rt_local.h"
#include "common/err.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
extern const rt_ops_t rt_local_ops;

typedef struct {
	gh_rt_t base;
	rt_cg_t cg;
	/* Leaders this hub started: its children until they are reaped. Only
	 * these are waited for, so children other code waits for are left to it. */
	pthread_mutex_t kids_lock;
	pid_t *kids;
	int nkids, capkids;
	int64_t reaped_at;               /* last sweep, ms */
} rt_local_t;

static void kids_add(rt_local_t *l, pid_t pid)
{
	pthread_mutex_lock(&l->kids_lock);
	if (l->nkids == l->capkids) {
		int cap = l->capkids ? l->capkids * 2 : 64;
		pid_t *k = realloc(l->kids, (size_t)cap * sizeof(*k));

		if (k) {
			l->kids = k;
			l->capkids = cap;
		}
	}
	if (l->nkids < l->capkids)
		l->kids[l->nkids++] = pid;
	pthread_mutex_unlock(&l->kids_lock);
}

/* Reaps the leaders that ended, at most every 50 ms (a workspace ended by a
 * hard stop is not always probed again). */
static void kids_reap(rt_local_t *l, int now)
{
	int64_t t = gh_now_ms();

	pthread_mutex_lock(&l->kids_lock);
	if (now || t - l->reaped_at >= 50) {
		l->reaped_at = t;
		for (int i = 0; i < l->nkids;) {
			pid_t r = waitpid(l->kids[i], NULL, WNOHANG);

			if (r == l->kids[i] || (r < 0 && errno == ECHILD))
				l->kids[i] = l->kids[--l->nkids];
			else
				i++;
		}
	}
	pthread_mutex_unlock(&l->kids_lock);
}

static int local_open(gh_rt_t **out, const char *state_dir, char *errmsg, size_t errlen)
{
	rt_local_t *rt = calloc(1, sizeof(*rt));
	(void)state_dir;
	(void)errmsg;
	(void)errlen;
	if (!rt)
		return GH_ENOMEM;
	rt->base.ops = &rt_local_ops;
	rt_cg_init(&rt->cg);
	pthread_mutex_init(&rt->kids_lock, NULL);
	*out = &rt->base;
	return 0;
}

static void local_close(gh_rt_t *rt)
{
	rt_local_t *l = (rt_local_t *)rt;
	rt_cg_fini(&l->cg);
	pthread_mutex_destroy(&l->kids_lock);
	free(l->kids);
	free(l);
}

/* "pid:starttime[:cgroup]"; rel receives the cgroup ("" when none). */
static int parse_ref(const char *ref, int *pid, unsigned long long *st, char *rel, size_t rellen)
{
	char *end;
	long p;

	rel[0] = '\0';
	if (!ref)
		return GH_EINVAL;
	p = strtol(ref, &end, 10);
	if (p <= 1 || p > 0x7fffffffL || *end != ':')
		return GH_EINVAL;
	*pid = (int)p;
	*st = strtoull(end + 1, &end, 10);
	if (*end == '\0')
		return 0;
	if (*end != ':' || strlen(end + 1) >= rellen || !rt_cg_valid_rel(end + 1))
		return GH_EINVAL;
	strcpy(rel, end + 1);
	return 0;
}

/* 1 when pid is alive and started at st (a zombie is not alive). */
static int leader_alive(int pid, unsigned long long want)
{
	char state;
	unsigned long long st;

	return rt_proc_stat(pid, &state, &st, NULL) == 0 && st == want && state != 'Z' && state != 'X';
}

static int has_key(const rt_strv_t *e, const char *entry)
{
	size_t kl = strcspn(entry, "=");

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], entry, kl) == 0 && e->v[i][kl] == '=')
			return 1;
	return 0;
}

/* What a workspace under its own account inherits from the hub's environment. */
static int passed_to_account(const char *entry)
{
	return strncmp(entry, "PATH=", 5) == 0 || strncmp(entry, "LANG=", 5) == 0 || strncmp(entry, "LC_", 3) == 0 ||
	       strncmp(entry, "TZ=", 3) == 0;
}

/*
 * The workspace's environment: the spec's entries first (they win), then the
 * account's identity, then the hub's own environment without its tokens
 * (only locale and PATH when the workspace runs under another account).
 */
static int build_env(const rt_spec_t *spec, const rt_user_t *u, rt_strv_t *e)
{
	char buf[640];
	int rc = 0, i;

	for (i = 0; rc == 0 && i < RT_MAX_ENV && spec->env[i]; i++)
		if (!has_key(e, spec->env[i]))
			rc = rt_strv_add(e, spec->env[i]);
	if (u->set) {
		const char *kv[][2] = {{"HOME", u->home},
		                       {"USER", u->name},
		                       {"LOGNAME", u->name},
		                       {"SHELL", access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh"}};
		for (i = 0; rc == 0 && i < 4; i++) {
			snprintf(buf, sizeof(buf), "%s=%s", kv[i][0], kv[i][1]);
			if (!has_key(e, buf))
				rc = rt_strv_add(e, buf);
		}
	}
	for (i = 0; rc == 0 && environ[i]; i++) {
		if (strncmp(environ[i], "GPUHUB_ADMIN_TOKEN=", 19) == 0 || strncmp(environ[i], "GPUHUB_TOKEN=", 13) == 0)
			continue;
		if ((u->set && !passed_to_account(environ[i])) || has_key(e, environ[i]))
			continue;
		rc = rt_strv_add(e, environ[i]);
	}
	if (rc == 0 && u->set && !has_key(e, "PATH="))
		rc = rt_strv_add(e, "PATH=/usr/local/bin:/usr/bin:/bin");
	return rc;
}

/*
 * What a workspace and a command beside it both need before their child
 * starts: the account to run as, with dirs the work and home directories
 * (created, owned by the account), the environment and the command line
 * (through bwrap with the sandbox). A sentence in errmsg on failure ("cannot
 * prepare the <what>: ..."); av and ev are the caller's to free either way.
 */
static int prepare_command(const rt_spec_t *spec, int dirs, const char *what, rt_user_t *u, rt_strv_t *av,
                           rt_strv_t *ev, char *errmsg, size_t errlen)
{
	int err, i;

	if (spec->sandbox && !rt_sb_bwrap()) {
		snprintf(errmsg, errlen, "the sandbox needs bubblewrap (bwrap), which is not installed");
		return GH_EUNSUPPORTED;
	}
	if ((err = rt_sb_user(spec, u, errmsg, errlen)) != 0)
		return err;
	if (dirs) {
		if (mkdir(spec->workdir, 0700) != 0 && errno != EEXIST) {
			snprintf(errmsg, errlen, "cannot create work directory %s: %s", spec->workdir, strerror(errno));
			return GH_EIO;
		}
		if ((err = rt_sb_prepare_dir(spec->workdir, 0700, u, errmsg, errlen)) != 0)
			return err;
		if (spec->home_dir && (u->set || spec->sandbox) &&
		    (err = rt_sb_prepare_dir(spec->home_dir, 0700, u, errmsg, errlen)) != 0)
			return err;
	}
	err = build_env(spec, u, ev);
	if (err == 0 && spec->sandbox)
		err = rt_sb_argv(spec, u, av);
	for (i = 0; err == 0 && !spec->sandbox && spec->argv[i]; i++)
		err = rt_strv_add(av, spec->argv[i]);
	if (err != 0)
		snprintf(errmsg, errlen, "cannot prepare the %s: %s", what, gh_strerror(err));
	return err;
}

/*
 * What a child needs between fork/vfork and exec. Both the workspace
 * (spawn(), vfork) and a command beside it (local_exec(), fork) start
 * through child_exec().
 */
typedef struct {
	char **argv, **envp;
	const char *workdir;
	const rt_user_t *u;
	const rt_cg_join_t *join;
	int in;             /* stdin; -1: /dev/null */
	int out;            /* stdout and stderr */
	int tty;            /* `in` is a terminal: make it the controlling one */
	int child_path;     /* look a bare command up in envp's PATH, not the hub's;
	                     * sets environ, so only after fork(), never vfork() */
	int errpipe;        /* -1, or where errno goes when setup or exec fails */
} child_t;

/*
 * Runs in the child until exec and never returns. After vfork() the child
 * shares the hub's memory, so this uses only plain system calls and writes
 * none of the hub's globals (child_path aside, see above). The credentials
 * go through raw system calls because glibc's setuid() and friends would
 * ask every thread of the hub to change its credentials too (after fork()
 * the raw calls are just as right: the child has one thread). All signals
 * arrive blocked (the caller blocks them around vfork/fork); every
 * disposition is reset to the default before they are unblocked, so no
 * handler of the hub can run here and the command starts as from a login.
 * Exit status: 126 when the setup fails, 127 when exec does.
 */
static void child_exec(const child_t *c)
{
	sigset_t none;
	struct sigaction sa;
	char num[16];
	int i, n, pid, in = c->in, code = 126;

	for (i = 1; i < NSIG; i++) {
		if (i == SIGKILL || i == SIGSTOP || sigaction(i, NULL, &sa) != 0 || sa.sa_handler == SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(i, &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (c->tty)
		ioctl(c->in, TIOCSCTTY, 0);
	pid = (int)syscall(SYS_getpid);
	for (n = (int)sizeof(num), num[--n] = '\0'; pid > 0 || n == (int)sizeof(num) - 1; pid /= 10)
		num[--n] = (char)('0' + pid % 10);
	for (i = 0; i < c->join->n; i++)
		if (write(c->join->fd[i], num + n, strlen(num + n)) < 0) {
			/* the cgroup vanished: run without it */
		}
	if (in < 0)
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(c->out, STDOUT_FILENO) < 0 ||
	    dup2(c->out, STDERR_FILENO) < 0)
		goto fail;
	if (c->u->set &&
	    (syscall(SYS_setgroups, (size_t)c->u->ngroups, c->u->groups) != 0 ||
	     syscall(SYS_setgid, c->u->gid) != 0 || syscall(SYS_setuid, c->u->uid) != 0 ||
	     (uid_t)syscall(SYS_getuid) != c->u->uid))
		goto fail;
	if (chdir(c->workdir) != 0)
		goto fail;
	code = 127;
	if (strchr(c->argv[0], '/')) {
		execve(c->argv[0], c->argv, c->envp);
	} else {
		if (c->child_path)
			environ = c->envp;
		execvpe(c->argv[0], c->argv, c->envp);
	}
fail:
	if (c->errpipe >= 0) {
		int e = errno;
		if (write(c->errpipe, &e, sizeof(e)) < 0) {
			/* parent sees EOF only */
		}
	}
	_exit(code);
}

/* Last line of the log, for error messages. */
static void log_tail(const char *path, char *out, size_t len)
{
	char buf[512], *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t sz;
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return;
	sz = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1, sz > (off_t)sizeof(buf) - 1 ? sz - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	p = strrchr(buf, '\n');
	gh_strlcpy(out, p ? p + 1 : buf, len);
}

/*
 * Waits until bwrap has built the sandbox: its init (the leader's child)
 * has forked the command. GH_EIO when bwrap exited first.
 */
static int wait_sandbox(int pid, unsigned long long st)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	int init;

	for (int i = 0; i < 1000; i++) {
		if (!leader_alive(pid, st))
			return GH_EIO;
		init = rt_proc_first_child(pid);
		if (init > 0 && rt_proc_first_child(init) > 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return 0; /* slow, but alive: the probes will tell */
}

/* The child never returns from here: it execs or exits in child_exec().
 * Kept apart so that no variable of the caller lives across vfork(). */
static __attribute__((noinline)) pid_t vfork_exec(const child_t *c)
{
	pid_t pid = vfork();

	if (pid == 0)
		child_exec(c);
	return pid;
}

static int spawn(const child_t *c, pid_t *out, char *errmsg, size_t errlen)
{
	int pipefd[2], status, err = 0;
	sigset_t all, old;
	pid_t pid;
	child_t cc = *c;

	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(errmsg, errlen, "pipe: %s", strerror(errno));
		return GH_EIO;
	}
	cc.errpipe = pipefd[1];
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork_exec(&cc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (pid < 0) {
		snprintf(errmsg, errlen, "vfork: %s", strerror(errno));
		close(pipefd[0]);
		return GH_EIO;
	}
	/* The child has exec'd or exited by now: exec succeeded when the
	 * CLOEXEC pipe is closed without data. */
	if (read(pipefd[0], &status, sizeof(status)) == sizeof(status)) {
		snprintf(errmsg, errlen, "cannot run %s%s%s: %s", c->argv[0], c->u->set ? " as " : "",
		         c->u->set ? c->u->name : "", strerror(status));
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		err = GH_EIO;
	} else {
		*out = pid;
	}
	close(pipefd[0]);
	return err;
}

static int local_start(gh_rt_t *rt, const rt_spec_t *spec, char *ref, size_t reflen, char *errmsg,
                       size_t errlen)
{
	rt_local_t *l = (rt_local_t *)rt;
	rt_user_t u;
	rt_strv_t av = {0}, ev = {0};
	rt_cg_join_t join = {.n = 0};
	char cgrel[128] = "", tail[200];
	child_t c;
	pid_t pid = 0;
	char state;
	unsigned long long st;
	int logfd = -1, err;
	int want_cg = spec->sandbox || spec->memory_mib > 0 || spec->cpu_milli > 0 || spec->max_pids > 0;

	kids_reap(l, 0);
	if (!spec->argv || !spec->argv[0] || !spec->workdir || !spec->log_path) {
		snprintf(errmsg, errlen, "incomplete workspace spec");
		return GH_EINVAL;
	}
	if ((err = prepare_command(spec, 1, "workspace command", &u, &av, &ev, errmsg, errlen)) != 0)
		goto out;
	logfd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		snprintf(errmsg, errlen, "cannot open log %s: %s", spec->log_path, strerror(errno));
		err = GH_EIO;
		goto out;
	}
	if (want_cg && rt_cg_create(&l->cg, spec, cgrel, sizeof(cgrel), &join) != 0)
		cgrel[0] = '\0';
	c = (child_t){.argv = av.v, .envp = ev.v, .workdir = spec->workdir, .u = &u, .join = &join,
	              .in = -1, .out = logfd};
	if ((err = spawn(&c, &pid, errmsg, errlen)) != 0)
		goto out;
	kids_add(l, pid);
	if (rt_proc_stat(pid, &state, &st, NULL) != 0 ||
	    (spec->sandbox && wait_sandbox(pid, st) != 0)) {
		log_tail(spec->log_path, tail, sizeof(tail));
		snprintf(errmsg, errlen, "workspace process %d exited at once%s%s", (int)pid, tail[0] ? ": " : "; see its log",
		         tail);
		err = GH_EIO;
		goto out;
	}
	if (cgrel[0])
		snprintf(ref, reflen, "%d:%llu:%s", (int)pid, st, cgrel);
	else
		snprintf(ref, reflen, "%d:%llu", (int)pid, st);
out:
	if (err != 0 && cgrel[0]) {
		rt_cg_kill(&l->cg, cgrel);
		rt_cg_remove(&l->cg, cgrel);
	}
	rt_cg_join_close(&join);
	if (logfd >= 0)
		close(logfd);
	rt_strv_free(&av);
	rt_strv_free(&ev);
	return err;
}

static rt_status_t local_probe(gh_rt_t *rt, const char *ref)
{
	rt_local_t *l = (rt_local_t *)rt;
	int pid;
	unsigned long long want;
	char rel[128];

	if (parse_ref(ref, &pid, &want, rel, sizeof(rel)) != 0)
		return RT_GONE;
	if (leader_alive(pid, want)) {
		kids_reap(l, 0);
		return RT_READY;
	}
	kids_reap(l, 1);
	if (rel[0]) {
		/* the leader is gone: nothing of the workspace may stay behind */
		rt_cg_signal(&l->cg, rel, SIGKILL, NULL, 0);
		rt_cg_remove(&l->cg, rel);
	}
	return RT_GONE;
}

/* 1 when pid is a bwrap process (the leader of a sandboxed workspace). */
static int is_bwrap(int pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (!(f = fopen(path, "re")))
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "bwrap") == 0;
}

static int local_signal_stop(gh_rt_t *rt, const char *ref, int hard)
{
	rt_local_t *l = (rt_local_t *)rt;
	int pid, init = 0, sandboxed, sig = hard ? SIGKILL : SIGTERM, *pids, n;
	unsigned long long want;
	char rel[128];

	kids_reap(l, 0);
	if (parse_ref(ref, &pid, &want, rel, sizeof(rel)) != 0)
		return GH_EINVAL;
	if (!leader_alive(pid, want)) {
		local_probe(rt, ref); /* cleans up a cgroup left behind */
		return GH_ENOTFOUND;
	}
	sandboxed = is_bwrap(pid);
	if (sandboxed)
		init = rt_proc_first_child(pid);
	n = rel[0] ? rt_cg_pids(&l->cg, rel, &pids) : GH_ENOTFOUND;
	if (n >= 0)
		free(pids);
	if (n > 0) {
		if (hard) {
			rt_cg_kill(&l->cg, rel);
			kill(-pid, SIGKILL);
		} else {
			/* the sandbox's own processes end when the command does */
			int skip[2] = {pid, init};
			rt_cg_signal(&l->cg, rel, SIGTERM, skip, sandboxed ? 2 : 0);
		}
		return 0;
	}
	if (sandboxed && init > 0) {
		if (hard) {
			kill(init, SIGKILL); /* the pid namespace dies with its init */
			kill(-pid, SIGKILL);
		} else if (rt_proc_signal_ns(rt_proc_pidns(init), init, SIGTERM) == 0) {
			kill(-pid, SIGTERM);
		}
		return 0;
	}
	/* the leader called setsid(): its pid is the process group id */
	if (kill(-pid, sig) != 0 && kill(pid, sig) != 0)
		return errno == ESRCH ? GH_ENOTFOUND : GH_EIO;
	return 0;
}

static void local_reap(gh_rt_t *rt)
{
	kids_reap((rt_local_t *)rt, 0);
}

/* The leader called setsid(), so its pid is the session id of every
 * process of the workspace that did not start a session of its own. */
static int local_owns_pid(gh_rt_t *rt, const char *ref, int pid)
{
	char rel[128];
	unsigned long long st;
	int leader;
	pid_t sid;
	(void)rt;
	if (parse_ref(ref, &leader, &st, rel, sizeof(rel)) != 0)
		return 0;
	if (pid == leader)
		return 1;
	sid = getsid(pid);
	return sid > 0 && sid == leader;
}

/* --- rejoin: a restored process tree takes the place of a workspace --- */

static int local_rejoin(gh_rt_t *rt, const rt_spec_t *spec, int pid, char *ref, size_t reflen)
{
	rt_local_t *l = (rt_local_t *)rt;
	rt_cg_join_t join = {.n = 0};
	rt_usage_t *tree;
	char cgrel[128] = "", state, line[32], leader_ref[48];
	unsigned long long st;
	int want_cg = spec->sandbox || spec->memory_mib > 0 || spec->cpu_milli > 0 || spec->max_pids > 0, n, rc = 0;

	if (rt_proc_stat(pid, &state, &st, NULL) != 0 || state == 'Z')
		return GH_ENOTFOUND;
	if (want_cg && rt_cg_enter(&l->cg, spec, cgrel, sizeof(cgrel), &join) == 0) {
		/* every process of the tree, the leader first: what it starts
		 * from now on is born inside */
		snprintf(leader_ref, sizeof(leader_ref), "%d:%llu", pid, st);
		if (!(tree = calloc(1, sizeof(*tree)))) {
			rc = GH_ENOMEM;
		} else if ((rc = rt_local_usage(rt, leader_ref, 0, tree)) == 0) {
			for (int i = 0; i < tree->npids; i++) {
				n = snprintf(line, sizeof(line), "%d\n", tree->pids[i]);
				for (int k = 0; k < join.n; k++)
					if (write(join.fd[k], line, (size_t)n) != n && errno != ESRCH)
						rc = GH_EIO;
			}
		}
		free(tree);
		rt_cg_join_close(&join);
		/* the tree unread (the leader gone since, /proc unreadable) is
		 * a tree not moved: a handle with the cgroup would claim limits
		 * that nothing is under */
		if (rc) {
			rt_cg_remove(&l->cg, cgrel);
			return rc;
		}
	}
	n = snprintf(ref, reflen, "%d:%llu%s%s", pid, st, cgrel[0] ? ":" : "", cgrel);
	return n > 0 && (size_t)n < reflen ? 0 : GH_ETOOBIG;
}

/* --- exec: a command beside a running workspace (gpuhub shell) --- */

static int local_exec(gh_rt_t *rt, const rt_spec_t *spec, const char *ref, int *fdout, int *pidout, char *errmsg,
                      size_t errlen)
{
	rt_local_t *l = (rt_local_t *)rt;
	rt_user_t u;
	rt_strv_t av = {0}, ev = {0};
	rt_cg_join_t join = {.n = 0};
	child_t c;
	sigset_t all, old;
	char rel[128];
	unsigned long long want;
	int pid = 0, err, mine = -1, theirs = -1, sv[2];
	pid_t child;

	if (!spec->argv || !spec->argv[0] || !spec->workdir) {
		snprintf(errmsg, errlen, "incomplete command spec");
		return GH_EINVAL;
	}
	rel[0] = '\0';
	if (ref && (parse_ref(ref, &pid, &want, rel, sizeof(rel)) != 0 || !leader_alive(pid, want))) {
		snprintf(errmsg, errlen, "the workspace is not running");
		return GH_ESTATE;
	}
	/* on its own (no ref), its directories may not exist yet */
	if ((err = prepare_command(spec, !ref, "command", &u, &av, &ev, errmsg, errlen)) != 0)
		goto out;
	if (spec->tty) {
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		if (openpty(&mine, &theirs, NULL, NULL, &ws) != 0) {
			snprintf(errmsg, errlen, "cannot open a terminal: %s", strerror(errno));
			err = GH_EIO;
			goto out;
		}
		fcntl(mine, F_SETFD, FD_CLOEXEC);
		fcntl(theirs, F_SETFD, FD_CLOEXEC);
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
			snprintf(errmsg, errlen, "socketpair: %s", strerror(errno));
			err = GH_EIO;
			goto out;
		}
		mine = sv[0];
		theirs = sv[1];
	}
	if (rel[0])
		rt_cg_join_open(&l->cg, rel, &join);
	c = (child_t){.argv = av.v, .envp = ev.v, .workdir = spec->workdir, .u = &u, .join = &join,
	              .in = theirs, .out = theirs, .tty = spec->tty, .child_path = 1, .errpipe = -1};
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	child = fork();
	if (child == 0)
		child_exec(&c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (child < 0) {
		snprintf(errmsg, errlen, "fork: %s", strerror(errno));
		err = GH_EIO;
		goto out;
	}
	*pidout = (int)child;
	*fdout = mine;
	mine = -1;
out:
	if (mine >= 0)
		close(mine);
	if (theirs >= 0)
		close(theirs);
	rt_cg_join_close(&join);
	rt_strv_free(&av);
	rt_strv_free(&ev);
	return err;
}

const rt_ops_t rt_local_ops = {
	.name = "local",
	.open = local_open,
	.close = local_close,
	.start = local_start,
	.probe = local_probe,
	.signal_stop = local_signal_stop,
	.reap = local_reap,
	.owns_pid = local_owns_pid,
	.exec = local_exec,
	.usage = rt_local_usage,
	.rejoin = local_rejoin,
};
