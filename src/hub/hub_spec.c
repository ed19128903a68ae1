/*
 * hub_spec.c — what a session's workspace runs with: the runtime spec
 * (command, work directory, log, environment variables, account, sandbox and
 * limits) built from the session, its user, its environment and its GPUs.
 * The workspace start and every command run beside it (gpuhub shell,
 * gpuhub env check) use the same spec, so they see the same account,
 * sandbox layout, GPUs and MPS limits.
 *
 *   variable                          | value
 *   ----------------------------------+-----------------------------------------
 *   GPUHUB_SESSION_ID, _USER,         | the session, its owner, its name, its
 *   _SESSION_NAME, _ENV               | environment
 *   CUDA_VISIBLE_DEVICES              | allocated GPU indices, "0,2" ("" = none)
 *   NVIDIA_VISIBLE_DEVICES            | the same, "void" when none
 *   GPUHUB_BASE_URL, GPUHUB_PORT      | public prefix, loopback port
 *   GPUHUB_HOME                       | <data>/homes/<user>
 *   GPUHUB_WORKSPACE_TOKEN            | the workspace's own secret
 *   GPUHUB_SIM_REPORT_DIR             | simulated GPUs only
 *   CUDA_MPS_*                        | a fraction of one GPU (thread %, memory,
 *                                     | the GPU's MPS pipe and log directories)
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ADD(...) snprintf(rs->env[k++], sizeof(rs->env[0]), __VA_ARGS__)

int hub_rtspec_fill(hub_t *hub, const hub_session_t *hs, hub_rtspec_t *rs, char *why, size_t whylen)
{
	const gh_env_t *e = hub_env_find(hub, hs->s.env_name);
	const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
	const hub_env_info_t *spec;
	char devs[256], url[GH_TEXT_MAX], tok[33];
	size_t off = 0;
	int i, k = 0;

	memset(rs, 0, sizeof(*rs));
	if (!e || !u || !(spec = hub_env_spec(hub, e))) {
		snprintf(why, whylen, "its environment no longer exists or cannot run here");
		return GH_ENOTFOUND;
	}
	/* the copy's argv must point into the copy's own buffer */
	rs->info = *spec;
	for (i = 0; spec->argv[i]; i++)
		rs->info.argv[i] = rs->info.argv_buf + (spec->argv[i] - spec->argv_buf);
	for (i = 0; spec->probe[i]; i++)
		rs->info.probe[i] = rs->info.probe_buf + (spec->probe[i] - spec->probe_buf);
	snprintf(rs->workdir, sizeof(rs->workdir), "%s/sessions/%lld", hub->cfg.data_dir, (long long)hs->s.id);
	hub_session_log_path(hub, hs->s.id, rs->logp, sizeof(rs->logp));
	gh_strlcpy(rs->user, u->name, sizeof(rs->user));
	gh_strlcpy(rs->name, hs->s.name, sizeof(rs->name));
	gh_strlcpy(rs->env_name, e->name, sizeof(rs->env_name));
	devs[0] = '\0';
	for (i = 0; i < hs->n_allocs && off + 8 < sizeof(devs); i++)
		off += (size_t)snprintf(devs + off, sizeof(devs) - off, "%s%d", i ? "," : "", hs->allocs[i].gpu_index);
	hub_session_url(hub, hs, url, sizeof(url));
	ADD("GPUHUB_SESSION_ID=%lld", (long long)hs->s.id);
	ADD("GPUHUB_USER=%s", u->name);
	ADD("GPUHUB_SESSION_NAME=%s", hs->s.name);
	ADD("GPUHUB_ENV=%s", e->name);
	ADD("CUDA_VISIBLE_DEVICES=%s", devs);
	ADD("NVIDIA_VISIBLE_DEVICES=%s", devs[0] ? devs : "void");
	ADD("GPUHUB_BASE_URL=%s", url);
	ADD("GPUHUB_PORT=%d", hs->s.port);
	snprintf(rs->home, sizeof(rs->home), "%s/homes/%s", hub->cfg.data_dir, u->name);
	if (mkdir(rs->home, 0700) != 0 && errno != EEXIST)
		GH_WARN("cannot create the home of user %s at %s: %s", u->name, rs->home, strerror(errno));
	ADD("GPUHUB_HOME=%s", rs->home);
	hub_workspace_token(hub, hs->s.id, tok);
	ADD("GPUHUB_WORKSPACE_TOKEN=%s", tok);
	if (gpu_src_simulated(hub->gpu))
		ADD("GPUHUB_SIM_REPORT_DIR=%s", hub->report_dir);
	/* GPUs that follow the kernel: its kernelspec and the hub's URL */
	k = hub_kgpu_env(hub, (hub_session_t *)hs, rs->env, k, sizeof(rs->env[0]));
	if (hs->n_allocs == 1 && hs->allocs[0].milli < 1000) {
		/* a fraction of one GPU: CUDA MPS caps its share of the SMs and
		 * its device memory; the pipe directory is the GPU's MPS daemon's */
		const gh_alloc_t *a = &hs->allocs[0];
		ADD("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=%d", a->milli / 10 > 0 ? a->milli / 10 : 1);
		ADD("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=%lldM", (long long)a->memory_mib);
		ADD("CUDA_MPS_PIPE_DIRECTORY=%s/mps/%d/pipe", hub->cfg.data_dir, a->gpu_index);
		ADD("CUDA_MPS_LOG_DIRECTORY=%s/mps/%d/log", hub->cfg.data_dir, a->gpu_index);
	}
	rs->n_env = k;
	rs->spec.user = rs->user;
	rs->spec.session_name = rs->name;
	rs->spec.env_name = rs->env_name;
	rs->spec.argv = rs->info.argv;
	rs->spec.workdir = rs->workdir;
	rs->spec.log_path = rs->logp;
	for (i = 0; i < k; i++)
		rs->spec.env[i] = rs->env[i];
	rs->spec.env[k] = NULL;
	/* isolation, as configured (runtime.accounts, runtime.sandbox) */
	rs->spec.home_dir = rs->home;
	if (strcmp(hub->cfg.runtime_accounts, "none") != 0) {
		int dedicated = strcmp(hub->cfg.runtime_accounts, "dedicated") == 0;
		if (rt_account_name(u->name, dedicated, rs->account, sizeof(rs->account)) != 0) {
			snprintf(why, whylen, "the user name cannot be a Unix account name");
			return GH_EINVAL;
		}
		rs->spec.unix_user = rs->account;
		rs->spec.create_account = dedicated;
	}
	if (hub->cfg.runtime_sandbox) {
		gh_strlcpy(rs->hide, hub->cfg.data_dir, sizeof(rs->hide));
		rs->spec.hide_dir = rs->hide;
	}
	hub_rtspec_limits(hub, hs, &rs->spec); /* and the session id */
	return 0;
}

void hub_rtspec_limits(const hub_t *hub, const hub_session_t *hs, rt_spec_t *spec)
{
	spec->session_id = hs->s.id;
	if (hub->cfg.runtime_sandbox) {
		spec->sandbox = 1;
		spec->memory_mib = hs->s.memory_mib;
		spec->cpu_milli = hs->s.cpu_milli;
		spec->max_pids = 4096;
	}
}

int hub_rtspec_setenv(hub_rtspec_t *rs, const char *kv)
{
	if (rs->n_env >= RT_MAX_ENV - 1 || gh_strlcpy(rs->env[rs->n_env], kv, sizeof(rs->env[0])) >= sizeof(rs->env[0]))
		return GH_ETOOBIG;
	rs->spec.env[rs->n_env] = rs->env[rs->n_env];
	rs->n_env++;
	rs->spec.env[rs->n_env] = NULL;
	return 0;
}
