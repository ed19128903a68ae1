/*
 * hub_mps.c — one CUDA MPS control daemon per shared GPU.
 *
 * A GPU needs its daemon while an active session holds a fraction of it
 * (the session's CUDA_MPS_* variables name the GPU's pipe directory, see
 * hub_spec.c). Level-triggered, like the rest of the hub: every tick
 * compares "wanted" (from the sessions) with "running" (the daemon's pid
 * file) and converges, so a restarted hub adopts the daemons it left
 * running and stops those nobody needs any more.
 *
 *   wanted | running | action (on a worker; one per GPU at a time)
 *   -------+---------+--------------------------------------------------
 *   yes    | no      | start: `<control> -d`, CUDA_VISIBLE_DEVICES=<gpu>
 *   no     | yes     | stop: `echo quit | <control>` (the control's own
 *          |         | shutdown), SIGTERM after 5 s when it is still there
 *
 * Files, under <data_dir>/mps/<gpu>/: pipe/ (CUDA_MPS_PIPE_DIRECTORY, mode
 * 1777 so workspaces under their own accounts reach it), log/
 * (CUDA_MPS_LOG_DIRECTORY), control.log (what the control printed). The
 * daemon writes its pid to pipe/nvidia-cuda-mps-control.pid.
 *
 * The control binary is gpus.mps_control (default nvidia-cuda-mps-control
 * on PATH); where it does not exist, nothing is managed. MPS serves one
 * Unix user at a time per GPU: with per-user accounts, fractions of one
 * GPU held by different users take turns on the device.
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct hub_mps {
	char control[CONFIG_STR];        /* full path of the control binary */
	int *busy;                       /* per GPU: a start or stop job is out */
	int *running;                    /* per GPU: last known, -1 = not checked */
	int n;
};

typedef struct {
	int gpu, start, rc;
	char control[CONFIG_STR];
	char dir[CONFIG_STR + 32];
	char msg[CONFIG_STR * 3];
} mps_job_t;

static int find_on_path(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL, *p;

	if (strchr(name, '/')) {
		gh_strlcpy(out, name, outlen);
		return access(name, X_OK) == 0 ? 0 : GH_ENOTFOUND;
	}
	gh_strlcpy(buf, path ? path : "/usr/local/bin:/usr/bin:/bin", sizeof(buf));
	for (p = strtok_r(buf, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		snprintf(out, outlen, "%s/%s", p, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return GH_ENOTFOUND;
}

int hub_mps_open(hub_t *hub)
{
	struct hub_mps *m = calloc(1, sizeof(*m));
	const char *want = hub->cfg.gpus_mps_control;

	if (!m)
		return GH_ENOMEM;
	hub->mps = m;
	m->n = hub->n_gpus;
	if (strcmp(want, "off") == 0 || m->n == 0)
		return 0;
	if (find_on_path(want, m->control, sizeof(m->control)) != 0) {
		m->control[0] = '\0';
		GH_INFO("%s not found: CUDA MPS daemons are not managed; fractions of a GPU share it without MPS", want);
		return 0;
	}
	m->busy = calloc((size_t)m->n, sizeof(int));
	m->running = malloc((size_t)m->n * sizeof(int));
	if (!m->busy || !m->running)
		return GH_ENOMEM;
	for (int i = 0; i < m->n; i++)
		m->running[i] = -1;
	GH_INFO("CUDA MPS: one %s daemon per shared GPU, under %s/mps", m->control, hub->cfg.data_dir);
	return 0;
}

void hub_mps_close(hub_t *hub)
{
	if (!hub->mps)
		return;
	free(hub->mps->busy);
	free(hub->mps->running);
	free(hub->mps);
	hub->mps = NULL;
}

/* The daemon's pid when it runs, else 0. */
static int daemon_pid(const char *dir)
{
	char path[CONFIG_STR + 96], buf[32] = "";
	FILE *f;
	long pid;

	snprintf(path, sizeof(path), "%s/pipe/nvidia-cuda-mps-control.pid", dir);
	if (!(f = fopen(path, "re")))
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid > 0x7fffffffL || kill((pid_t)pid, 0) != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "re"))) {
		char st[256] = "";
		size_t n = fread(st, 1, sizeof(st) - 1, f);
		char *rp = strrchr(st, ')');
		fclose(f);
		st[n] = '\0';
		if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
			return 0;
	}
	return (int)pid;
}

/* Runs the control with `arg` (NULL: none), stdin from `input` (NULL:
 * /dev/null); waits for it. Its output goes to control.log. */
static int run_control(mps_job_t *job, const char *arg, const char *input)
{
	char cvd[32], pipe_env[CONFIG_STR + 64], log_env[CONFIG_STR + 64], logp[CONFIG_STR + 64];
	char *argv[3] = {job->control, (char *)arg, NULL};
	char **envp;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int n = 0, k = 0, st = 0, in[2] = {-1, -1}, rc;
	pid_t pid;

	while (environ[n])
		n++;
	if (!(envp = calloc((size_t)n + 4, sizeof(char *))))
		return GH_ENOMEM;
	snprintf(cvd, sizeof(cvd), "CUDA_VISIBLE_DEVICES=%d", job->gpu);
	snprintf(pipe_env, sizeof(pipe_env), "CUDA_MPS_PIPE_DIRECTORY=%s/pipe", job->dir);
	snprintf(log_env, sizeof(log_env), "CUDA_MPS_LOG_DIRECTORY=%s/log", job->dir);
	envp[k++] = cvd;
	envp[k++] = pipe_env;
	envp[k++] = log_env;
	for (int i = 0; i < n; i++)
		if (strncmp(environ[i], "CUDA_", 5) != 0 && strncmp(environ[i], "GPUHUB_ADMIN_TOKEN=", 19) != 0 &&
		    strncmp(environ[i], "GPUHUB_TOKEN=", 13) != 0)
			envp[k++] = environ[i];
	envp[k] = NULL;
	snprintf(logp, sizeof(logp), "%s/control.log", job->dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* its own session: the daemon outlives the hub, and signals to the
	 * hub's process group do not reach it */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
	if (input && pipe2(in, O_CLOEXEC) == 0)
		posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	posix_spawn_file_actions_addchdir_np(&fa, job->dir);
	rc = posix_spawn(&pid, job->control, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(envp);
	if (in[0] >= 0)
		close(in[0]);
	if (rc != 0) {
		if (in[1] >= 0)
			close(in[1]);
		snprintf(job->msg, sizeof(job->msg), "cannot run %s: %s", job->control, strerror(rc));
		return GH_EIO;
	}
	if (in[1] >= 0) {
		if (write(in[1], input, strlen(input)) < 0) {
			/* it exited early: its status tells */
		}
		close(in[1]);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(job->msg, sizeof(job->msg), "%s %s exited with status %d (see %s)", job->control, arg ? arg : "",
		         WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), logp);
		return GH_EIO;
	}
	return 0;
}

static void mkdir_mode(const char *path, mode_t mode)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return;
	chmod(path, mode); /* not narrowed by the umask */
}

static void mps_run(void *vjob)
{
	mps_job_t *job = vjob;
	char sub[CONFIG_STR + 48];
	struct timespec ts = {0, 20 * 1000 * 1000};
	int pid, i;

	if (job->start) {
		mkdir_mode(job->dir, 0755);
		snprintf(sub, sizeof(sub), "%s/pipe", job->dir);
		mkdir_mode(sub, 01777);
		snprintf(sub, sizeof(sub), "%s/log", job->dir);
		mkdir_mode(sub, 0755);
		if ((job->rc = run_control(job, "-d", NULL)) != 0)
			return;
		for (i = 0; i < 250 && !daemon_pid(job->dir); i++)
			nanosleep(&ts, NULL);
		if (!daemon_pid(job->dir)) {
			snprintf(job->msg, sizeof(job->msg), "%s -d left no daemon running (see %s/control.log)", job->control,
			         job->dir);
			job->rc = GH_EIO;
		}
		return;
	}
	pid = daemon_pid(job->dir);
	if (!pid)
		return;
	job->rc = run_control(job, NULL, "quit\n");
	for (i = 0; i < 250 && daemon_pid(job->dir); i++)
		nanosleep(&ts, NULL);
	if ((pid = daemon_pid(job->dir))) {
		kill(pid, SIGTERM);
		snprintf(job->msg, sizeof(job->msg), "the MPS daemon (pid %d) did not quit in 5 s; sent SIGTERM", pid);
		job->rc = GH_ETIMEOUT;
	}
}

static void mps_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	mps_job_t *job = vjob;
	struct hub_mps *m = hub->mps;

	if (m && job->gpu < m->n) {
		m->busy[job->gpu] = 0;
		m->running[job->gpu] = -1; /* look again at the next tick */
	}
	if (job->rc)
		GH_WARN("GPU %d: CUDA MPS daemon %s failed: %s", job->gpu, job->start ? "start" : "stop", job->msg);
	else
		GH_INFO("GPU %d: CUDA MPS daemon %s", job->gpu, job->start ? "started" : "stopped");
	hub->work_due = 1;
	free(job);
}

/* 1 when an active session holds a fraction of GPU g. */
static int wanted(const hub_t *hub, int g)
{
	for (int j = 0; j < hub->n_live; j++) {
		const hub_session_t *hs = hub_live_at(hub, j);
		if (!gh_sess_state_active(hs->s.state) || hs->n_allocs != 1)
			continue;
		if (hs->allocs[0].gpu_index == g && hs->allocs[0].milli < 1000)
			return 1;
	}
	return 0;
}

void hub_mps_tick(hub_t *hub)
{
	struct hub_mps *m = hub->mps;

	if (!m || !m->control[0])
		return;
	for (int g = 0; g < m->n; g++) {
		int want = wanted(hub, g);
		mps_job_t *job;

		if (m->busy[g])
			continue;
		if (m->running[g] < 0 || want || want != m->running[g]) {
			char dir[CONFIG_STR + 32];
			snprintf(dir, sizeof(dir), "%s/mps/%d", hub->cfg.data_dir, g);
			m->running[g] = daemon_pid(dir) > 0;
		}
		if (want == m->running[g])
			continue;
		if (!(job = calloc(1, sizeof(*job))))
			return;
		job->gpu = g;
		job->start = want;
		gh_strlcpy(job->control, m->control, sizeof(job->control));
		snprintf(job->dir, sizeof(job->dir), "%s/mps/%d", hub->cfg.data_dir, g);
		if (want) {
			char top[CONFIG_STR + 8];
			snprintf(top, sizeof(top), "%s/mps", hub->cfg.data_dir);
			mkdir_mode(top, 0755);
		}
		if (worker_submit(hub->worker, job, mps_run, mps_done, hub) != 0) {
			free(job);
			return;
		}
		m->busy[g] = 1;
	}
}
