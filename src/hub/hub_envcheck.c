/*
 * hub_envcheck.c — what an environment can do on this machine.
 *
 * Availability: an environment may list Python modules it cannot work
 * without ("requires": ["tensorflow"]). When it is loaded or created, its
 * interpreter ("python", default python3) is asked whether each is
 * installed (importlib.util.find_spec: nothing is imported, so it takes
 * milliseconds); a missing one makes the environment unavailable, listed
 * with the reason and refused at launch. Debian 12 has no TensorFlow, so
 * the default catalog's jupyter-tensorflow is unavailable there.
 *
 * Check (gpuhub env check): the environment's probe command runs the way a
 * session's workspace would: as the caller's account, in the sandbox, with
 * CUDA_VISIBLE_DEVICES (and the MPS limits of a fraction) naming GPUs that
 * are free now. The GPUs are not allocated: the probe is short (at most
 * HUB_PROBE_TIMEOUT_S) and runs without the session's cgroup limits. Its
 * last output line that parses as a JSON object is its report.
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HUB_PROBE_TIMEOUT_S 60
#define HUB_PROBE_OUTPUT_MAX (64 * 1024)

extern char **environ;

static const char find_modules_py[] = "import importlib.util as u,sys\n"
                                      "m=[x for x in sys.argv[1:] if u.find_spec(x) is None]\n"
                                      "print(' '.join(m))\n"
                                      "sys.exit(1 if m else 0)\n";

/* Reads fd into buf until EOF or the deadline; returns the bytes read. */
static size_t read_until(int fd, char *buf, size_t cap, int64_t deadline_ms, int *timed_out)
{
	size_t len = 0;

	*timed_out = 0;
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int64_t left = deadline_ms - gh_now_ms();
		char sink[4096];
		ssize_t n;

		if (left <= 0) {
			*timed_out = 1;
			break;
		}
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		n = len < cap ? read(fd, buf + len, cap - len) : read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < cap)
			len += (size_t)n;
	}
	return len;
}

void hub_env_availability(hub_env_info_t *info)
{
	const char *argv[13];
	posix_spawn_file_actions_t fa;
	char out[512];
	int pipefd[2], st = 0, to, k = 0;
	pid_t pid;
	size_t n;

	info->available = 1;
	info->unavailable[0] = '\0';
	if (info->n_requires == 0)
		return;
	argv[k++] = info->python;
	argv[k++] = "-c";
	argv[k++] = find_modules_py;
	for (int i = 0; i < info->n_requires; i++)
		argv[k++] = info->requires[i];
	argv[k] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		goto cannot;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, info->python, &fa, NULL, (char *const *)argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		goto cannot;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	n = read_until(pipefd[0], out, sizeof(out) - 1, gh_now_ms() + 10000, &to);
	close(pipefd[0]);
	if (to)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && out[0]) {
		info->available = 0;
		snprintf(info->unavailable, sizeof(info->unavailable), "%.60s cannot import %.100s (not installed)",
		         info->python, out);
		return;
	}
cannot:
	info->available = 0;
	snprintf(info->unavailable, sizeof(info->unavailable), "its Python, %s, cannot be run here", info->python);
}

/* --- env check --- */

typedef struct {
	hub_rtspec_t rs;
	gh_rt_t *rt;
	hub_check_fn cb;
	void *ctx;
	char env[GH_NAME_MAX];
	int gpus[64], ngpus, milli;
	int rc;
	char err[256];
	int status;                      /* exit code, 128 + signal, -1 = timed out */
	char *out;                       /* malloc'd, NUL-terminated */
	size_t len;
} check_job_t;

static void check_run(void *vjob)
{
	check_job_t *job = vjob;
	int fd = -1, pid = 0, st = 0, to = 0;

	job->status = -1;
	job->out = calloc(1, HUB_PROBE_OUTPUT_MAX + 1);
	if (!job->out) {
		job->rc = GH_ENOMEM;
		return;
	}
	job->rc = rt_exec(job->rt, &job->rs.spec, NULL, &fd, &pid, job->err, sizeof(job->err));
	if (job->rc != 0)
		return;
	shutdown(fd, SHUT_WR);
	job->len = read_until(fd, job->out, HUB_PROBE_OUTPUT_MAX, gh_now_ms() + HUB_PROBE_TIMEOUT_S * 1000, &to);
	close(fd);
	if (to) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!to)
		job->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
}

/* The probe's report: its last output line that is a JSON object. */
static json_t *last_json_line(char *out, size_t len)
{
	size_t end = len;

	while (end > 0) {
		size_t start = end;
		json_t *j;
		while (start > 0 && out[start - 1] != '\n')
			start--;
		if (end > start && out[start] == '{' && (j = json_loadb(out + start, end - start, 0, NULL))) {
			if (json_is_object(j))
				return j;
			json_decref(j);
		}
		end = start > 0 ? start - 1 : 0;
	}
	return NULL;
}

static void check_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	check_job_t *job = vjob;
	json_t *gpus = json_array(), *o;
	char *text = NULL;
	(void)hub;

	if (job->rc != 0) {
		job->cb(job->ctx, job->rc, job->err, NULL);
		goto out;
	}
	for (int i = 0; i < job->ngpus; i++)
		json_array_append_new(gpus, json_integer(job->gpus[i]));
	o = json_pack("{s:s,s:o,s:i,s:o,s:o,s:s#}", "environment", job->env, "gpus", gpus, "gpu_milli", job->milli,
	              "exit_status", job->status >= 0 ? json_integer(job->status) : json_null(), "report",
	              job->status >= 0 ? (last_json_line(job->out, job->len) ?: json_null()) : json_null(), "output",
	              job->len > 4096 ? job->out + job->len - 4096 : job->out, (int)(job->len > 4096 ? 4096 : job->len));
	if (o && job->status < 0)
		json_object_set_new(o, "timed_out", json_true());
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	GH_INFO("environment %s checked for user %s: exit %d, %d GPUs", job->env, job->rs.user, job->status, job->ngpus);
	job->cb(job->ctx, text ? 0 : GH_ENOMEM, text ? NULL : "out of memory", text);
	free(text);
out:
	free(job->out);
	free(job);
}

/* GPUs free now for milli (whole GPUs: milli/1000 idle ones; a fraction:
 * one with that much left), healthy ones first by index. */
static int pick_free(const hub_t *hub, int milli, int *out, int cap)
{
	int want = milli >= 1000 ? milli / 1000 : milli > 0 ? 1 : 0, n = 0;

	for (int i = 0; i < hub->n_gpus && n < want && n < cap; i++) {
		const hub_gpu_t *g = &hub->gpus[i];
		if (!g->tel.healthy || g->tel.lost)
			continue;
		if (milli >= 1000 ? g->allocated_milli == 0 : 1000 - g->allocated_milli >= milli)
			out[n++] = i;
	}
	return n == want ? n : -1;
}

int hub_env_check(hub_t *hub, const char *env_name, const gh_user_t *u, int gpu_milli, hub_check_fn cb, void *ctx,
                  char *why, size_t whylen)
{
	const gh_env_t *e = hub_env_find(hub, env_name);
	const hub_env_info_t *info = e ? hub_env_spec(hub, e) : NULL;
	hub_session_t fake;
	gh_alloc_t allocs[64];
	check_job_t *job;
	char dir[CONFIG_STR + 16];
	int rc, n;

	if (!e) {
		snprintf(why, whylen, "no environment named '%s'", env_name);
		return GH_ENOTFOUND;
	}
	if (!info) {
		snprintf(why, whylen, "environment '%s' cannot run on the %s runtime", e->name, rt_name(hub->rt));
		return GH_EUNSUPPORTED;
	}
	if (!info->probe[0]) {
		snprintf(why, whylen, "environment '%s' has no probe command (field 'probe')", e->name);
		return GH_ESTATE;
	}
	if (gpu_milli < 0)
		gpu_milli = hub->n_gpus > 0 && info->default_milli > 0 ? (info->default_milli < 1000 ? info->default_milli : 1000) : 0;
	if (gpu_milli > info->max_milli) {
		snprintf(why, whylen, "environment '%s' allows at most %g GPUs", e->name, info->max_milli / 1000.0);
		return GH_EINVAL;
	}
	if (!(job = calloc(1, sizeof(*job))))
		return GH_ENOMEM;
	n = pick_free(hub, gpu_milli, job->gpus, 64);
	if (n < 0) {
		free(job);
		snprintf(why, whylen, "no %g GPU%s free right now for the probe; try again later or with fewer", gpu_milli / 1000.0,
		         gpu_milli == 1000 ? " is" : "s are");
		return GH_ENOCAP;
	}
	/* a session that never existed: id 0, the caller's, these GPUs */
	memset(&fake, 0, sizeof(fake));
	fake.s.user_id = u->id;
	gh_strlcpy(fake.s.name, "env-check", sizeof(fake.s.name));
	gh_strlcpy(fake.s.env_name, e->name, sizeof(fake.s.env_name));
	fake.s.memory_mib = info->memory_mib;
	fake.s.cpu_milli = info->cpu_milli;
	for (int i = 0; i < n; i++) {
		memset(&allocs[i], 0, sizeof(allocs[i]));
		allocs[i].gpu_index = job->gpus[i];
		allocs[i].milli = gpu_milli >= 1000 ? 1000 : gpu_milli;
		allocs[i].memory_mib = hub->gpus[job->gpus[i]].info.memory_mib * allocs[i].milli / 1000;
	}
	fake.allocs = allocs;
	fake.n_allocs = n;
	if ((rc = hub_rtspec_fill(hub, &fake, &job->rs, why, whylen)) != 0) {
		free(job);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s/probes", hub->cfg.data_dir);
	if (mkdir(dir, 0711) != 0 && errno != EEXIST)
		GH_WARN("cannot create %s: %s", dir, strerror(errno));
	if ((size_t)snprintf(job->rs.workdir, sizeof(job->rs.workdir), "%.*s/probes/%s", (int)(sizeof(job->rs.workdir) - 80),
	                     hub->cfg.data_dir, u->name) >= sizeof(job->rs.workdir)) {
		free(job);
		return GH_ETOOBIG;
	}
	job->rs.spec.argv = job->rs.info.probe;
	job->rs.spec.log_path = NULL;
	job->rt = hub->rt;
	job->cb = cb;
	job->ctx = ctx;
	job->ngpus = n;
	job->milli = gpu_milli;
	gh_strlcpy(job->env, e->name, sizeof(job->env));
	if ((rc = worker_submit(hub->worker, job, check_run, check_done, hub)) != 0) {
		free(job);
		return rc;
	}
	return 0;
}
