/*
 * rt_local.c — the "local" runtime: a workspace is a process tree on this
 * machine, in its own session and process group, detached from the hub
 * (double fork) so that it survives a hub restart. With the spec's options
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
extern const rt_ops_t rt_local_ops;

typedef struct {
	gh_rt_t base;
	rt_cg_t cg;
} rt_local_t;

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
	*out = &rt->base;
	return 0;
}

static void local_close(gh_rt_t *rt)
{
	rt_local_t *l = (rt_local_t *)rt;
	rt_cg_fini(&l->cg);
	free(l);
}

@@BODY@@
const rt_ops_t rt_local_ops;

typedef struct {
	gh_rt_t base;
} rt_local_t;

static int local_open(gh_rt_t **out, const char *state_dir, char *errmsg, size_t errlen)
{
	rt_local_t *rt = calloc(1, sizeof(*rt));
	(void)state_dir;
	(void)errmsg;
	(void)errlen;
	if (!rt)
		return GH_ENOMEM;
	rt->base.ops = &rt_local_ops;
	*out = &rt->base;
	return 0;
}

static void local_close(gh_rt_t *rt) { free(rt); }

/* Reads state and start time of pid; 0 or GH_ENOTFOUND. */
static int proc_stat(int pid, char *state, unsigned long long *starttime)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return GH_ENOTFOUND;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may contain spaces */
	if (!p || p[1] != ' ')
		return GH_ENOTFOUND;
	p += 2;
	*state = *p;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return GH_ENOTFOUND;
	*starttime = strtoull(p, NULL, 10);
	return 0;
}

static int parse_ref(const char *ref, int *pid, unsigned long long *st)
{
	char *end;
	long p = strtol(ref, &end, 10);
	if (p <= 1 || *end != ':')
		return GH_EINVAL;
	*pid = (int)p;
	*st = strtoull(end + 1, &end, 10);
	return *end == '\0' ? 0 : GH_EINVAL;
}

static void child_exec(const rt_spec_t *spec, int logfd, int errpipe)
{
	char **envp;
	size_t n = 0, i, k = 0;

	setsid();
	dup2(logfd, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	{
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
	}
	if (chdir(spec->workdir) != 0)
		goto fail;
	while (environ[n])
		n++;
	envp = calloc(n + RT_MAX_ENV + 1, sizeof(*envp));
	if (!envp)
		goto fail;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "GPUHUB_ADMIN_TOKEN=", 19) != 0 && strncmp(environ[i], "GPUHUB_TOKEN=", 13) != 0)
			envp[k++] = environ[i];
	for (i = 0; i < RT_MAX_ENV && spec->env[i]; i++)
		envp[k++] = (char *)spec->env[i];
	signal(SIGPIPE, SIG_DFL);
	execve(spec->argv[0], (char *const *)spec->argv, envp);
	if (!strchr(spec->argv[0], '/')) {
		environ = envp;
		execvp(spec->argv[0], (char *const *)spec->argv);
	}
fail:
	{
		int e = errno;
		if (write(errpipe, &e, sizeof(e)) < 0) {
			/* parent sees EOF only */
		}
	}
	_exit(127);
}

static int local_start(gh_rt_t *rt, const rt_spec_t *spec, char *ref, size_t reflen, char *errmsg,
                       size_t errlen)
{
	int logfd, pipefd[2], pidpipe[2], status, err = 0;
	pid_t mid, pid = 0;
	char state;
	unsigned long long st;
	ssize_t r;
	(void)rt;

	if (mkdir(spec->workdir, 0700) != 0 && errno != EEXIST) {
		snprintf(errmsg, errlen, "cannot create work directory %s: %s", spec->workdir, strerror(errno));
		return GH_EIO;
	}
	logfd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		snprintf(errmsg, errlen, "cannot open log %s: %s", spec->log_path, strerror(errno));
		return GH_EIO;
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0 || pipe2(pidpipe, O_CLOEXEC) != 0) {
		close(logfd);
		snprintf(errmsg, errlen, "pipe: %s", strerror(errno));
		return GH_EIO;
	}
	mid = fork();
	if (mid < 0) {
		snprintf(errmsg, errlen, "fork: %s", strerror(errno));
		err = GH_EIO;
		goto out;
	}
	if (mid == 0) {
		pid_t gc = fork();
		if (gc == 0) {
			int fl = fcntl(logfd, F_GETFD);
			fcntl(logfd, F_SETFD, fl & ~FD_CLOEXEC);
			child_exec(spec, logfd, pipefd[1]);
		}
		if (write(pidpipe[1], &gc, sizeof(gc)) < 0)
			_exit(1);
		_exit(gc > 0 ? 0 : 1);
	}
	close(pipefd[1]);
	close(pidpipe[1]);
	pipefd[1] = pidpipe[1] = -1;
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	if (read(pidpipe[0], &pid, sizeof(pid)) != sizeof(pid) || pid <= 0) {
		snprintf(errmsg, errlen, "could not start the workspace process");
		err = GH_EIO;
		goto out;
	}
	/* exec succeeded when the CLOEXEC pipe closes without data */
	r = read(pipefd[0], &status, sizeof(status));
	if (r == sizeof(status)) {
		snprintf(errmsg, errlen, "cannot run %s: %s", spec->argv[0], strerror(status));
		err = GH_EIO;
		goto out;
	}
	if (proc_stat(pid, &state, &st) != 0) {
		snprintf(errmsg, errlen, "workspace process %d exited at once; see its log", (int)pid);
		err = GH_EIO;
		goto out;
	}
	snprintf(ref, reflen, "%d:%llu", (int)pid, st);
out:
	close(logfd);
	close(pipefd[0]);
	close(pidpipe[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pidpipe[1] >= 0)
		close(pidpipe[1]);
	return err;
}

static rt_status_t local_probe(gh_rt_t *rt, const char *ref)
{
	int pid;
	unsigned long long want, st;
	char state;
	(void)rt;

	if (parse_ref(ref, &pid, &want) != 0 || proc_stat(pid, &state, &st) != 0)
		return RT_GONE;
	if (st != want || state == 'Z' || state == 'X')
		return RT_GONE;
	return RT_READY;
}

static int local_signal_stop(gh_rt_t *rt, const char *ref, int hard)
{
	int pid;
	unsigned long long want;

	if (parse_ref(ref, &pid, &want) != 0)
		return GH_EINVAL;
	if (local_probe(rt, ref) == RT_GONE)
		return GH_ENOTFOUND;
	/* the leader called setsid(): its pid is the process group id */
	if (kill(-pid, hard ? SIGKILL : SIGTERM) != 0 && kill(pid, hard ? SIGKILL : SIGTERM) != 0)
		return errno == ESRCH ? GH_ENOTFOUND : GH_EIO;
	return 0;
}

const rt_ops_t rt_local_ops = {
	.name = "local",
	.open = local_open,
	.close = local_close,
	.start = local_start,
	.probe = local_probe,
	.signal_stop = local_signal_stop,
};
