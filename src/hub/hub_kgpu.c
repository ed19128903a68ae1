/*
 * hub_kgpu.c — GPUs that follow the kernel. In an environment with
 * "gpu_mode": "kernel" (Jupyter), the notebook server runs without a GPU;
 * the session's GPU request is what each of its kernels gets while it
 * runs:
 *
 *   who                   | what                                      | state of the session
 *   ----------------------+-------------------------------------------+---------------------
 *   launch                | queued and started with no GPU            | queued → running
 *   kernel starts         | the "python3" kernelspec (in the user's   | running
 *                         | data dir, so every Python kernel) runs    |
 *                         | kernel_launcher.py, which POSTs           |
 *                         | /sessions/{id}/kernel-gpus {"pid"}        |
 *   hub                   | the claim joins the scheduler's queue;    | running (GPUs: none)
 *                         | the launcher polls and shows its place    |
 *   scheduler admits it   | allocations recorded (one transaction,    | running (GPUs held)
 *                         | event session.kernel_gpus); the launcher  |
 *                         | starts ipykernel with CUDA_VISIBLE_DEVICES |
 *   kernel ends           | DELETE …/kernel-gpus/{pid}; with no claim | running (GPUs: none)
 *                         | left the GPUs are freed in one transaction|
 *   launcher killed       | its pid is gone from the session's tree   | the same, at the next
 *                         | (hub_idle.c's poll): same as above        | idle poll
 *
 * Several kernels of one session share its allocation; it is freed when
 * the last of them ends. The claim is signed with the workspace token,
 * which only the hub and that workspace know.
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const char gh_kernel_launcher_start[], gh_kernel_launcher_end[];

int hub_kgpu_mode(hub_t *hub, hub_session_t *hs)
{
	/* the mode the session started with stays its mode (the spec is
	 * parsed once per environment: hub_env_spec) */
	if (!hs->kmode) {
		const gh_env_t *e = hub_env_find(hub, hs->s.env_name);
		const hub_env_info_t *info = e ? hub_env_spec(hub, e) : NULL;
		hs->kmode = info && info->gpu_kernel ? 2 : 1;
	}
	return hs->kmode;
}

int hub_session_kernel_mode(hub_t *hub, const hub_session_t *hs)
{
	(void)hub;
	return hs->kmode == 2; /* set when the session is created or loaded */
}

int hub_kgpu_request(hub_t *hub, hub_session_t *hs)
{
	if (hs->s.state == GH_SESS_QUEUED)
		return hub_kgpu_mode(hub, hs) == 2 ? 0 : hs->s.gpu_milli;
	if ((hs->s.state == GH_SESS_RUNNING || hs->s.state == GH_SESS_IDLE_WARNED) && hs->n_kclaims > 0 &&
	    hs->n_allocs == 0 && hs->s.gpu_milli > 0 && hub_kgpu_mode(hub, hs) == 2)
		return hs->s.gpu_milli;
	return -1;
}

/* Writes text to dir/name (mode 0644), replacing what is there. */
static int put_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[CONFIG_STR + 200], tmp[CONFIG_STR + 210];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return GH_EIO;
	if (fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		unlink(tmp);
		return GH_EIO;
	}
	chmod(tmp, 0644);
	return rename(tmp, path) == 0 ? 0 : GH_EIO;
}

/* The kernelspec takes the name of Jupyter's own Python kernel: a kernel
 * in the user's data dir wins over the system one, so a new notebook, a
 * notebook saved elsewhere with "python3" in its metadata and a notebook
 * reopened after a resume all start a kernel that follows the GPUs, with
 * nothing to pick. The home is shared by all the user's sessions: in one
 * whose environment gives GPUs to the session the launcher finds no
 * GPUHUB_HUB_URL and simply runs ipykernel. */
#define KSPEC_NAME "python3"
#define KSPEC_OLD "gpuhub-gpu" /* the name an earlier release used */

/* mkdir -p of home/.local/share/jupyter/kernels/<name>. */
static int spec_dir(const char *home, const char *name, char *out, size_t outlen)
{
	static const char *const parts[] = {"/.local", "/.local/share", "/.local/share/jupyter",
	                                    "/.local/share/jupyter/kernels", NULL};
	for (int i = 0; parts[i]; i++) {
		snprintf(out, outlen, "%s%s", home, parts[i]);
		if (mkdir(out, 0755) != 0 && errno != EEXIST)
			return GH_EIO;
	}
	snprintf(out, outlen, "%s/.local/share/jupyter/kernels/%s", home, name);
	return mkdir(out, 0755) != 0 && errno != EEXIST ? GH_EIO : 0;
}

/* Removes the kernelspec an earlier release wrote, so the notebook's kernel
 * menu does not offer the same kernel twice. */
static void drop_old_spec(const char *home)
{
	char path[CONFIG_STR + 200];
	static const char *const files[] = {"kernel.json", "launcher.py", NULL};
	for (int i = 0; files[i]; i++) {
		snprintf(path, sizeof(path), "%s/.local/share/jupyter/kernels/" KSPEC_OLD "/%s", home, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/.local/share/jupyter/kernels/" KSPEC_OLD, home);
	rmdir(path);
}

int hub_kgpu_env(hub_t *hub, hub_session_t *hs, char (*env)[CONFIG_STR + 128], int k, size_t envsz)
{
	const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
	const gh_env_t *e = hub_env_find(hub, hs->s.env_name);
	const hub_env_info_t *info = e ? hub_env_spec(hub, e) : NULL;
	char host[CONFIG_STR], home[CONFIG_STR + 80], dir[CONFIG_STR + 200], kernel_json[512];
	json_t *py;
	int port, n;

	if (hub_kgpu_mode(hub, hs) != 2 || !u || k >= RT_MAX_ENV - 1)
		return k;
	if (gh_parse_listen(hub->cfg.listen, host, sizeof(host), &port) != 0)
		return k;
	if (!host[0] || strcmp(host, "0.0.0.0") == 0)
		gh_strlcpy(host, "127.0.0.1", sizeof(host));
	else if (strcmp(host, "::") == 0)
		gh_strlcpy(host, "::1", sizeof(host));
	snprintf(env[k++], envsz, "GPUHUB_HUB_URL=http://%s%s%s:%d", strchr(host, ':') ? "[" : "", host,
	         strchr(host, ':') ? "]" : "", port);
	/* the kernel runs on the environment's own interpreter */
	py = json_string(info && info->python[0] ? info->python : "python3");
	{
		char *pyq = json_dumps(py, JSON_ENCODE_ANY);
		n = snprintf(kernel_json, sizeof(kernel_json),
		             "{\"argv\": [%s, \"{resource_dir}/launcher.py\", \"-f\", \"{connection_file}\"],\n"
		             " \"display_name\": \"Python 3 (GPUs while it runs)\", \"language\": \"python\",\n"
		             " \"metadata\": {\"gpuhub\": \"GPUs are allocated when the kernel starts and freed when it "
		             "ends\"}}\n",
		             pyq ? pyq : "\"python3\"");
		free(pyq);
	}
	json_decref(py);
	snprintf(home, sizeof(home), "%s/homes/%s", hub->cfg.data_dir, u->name);
	drop_old_spec(home);
	if (n < 0 || (size_t)n >= sizeof(kernel_json) || spec_dir(home, KSPEC_NAME, dir, sizeof(dir)) != 0 ||
	    put_file(dir, "kernel.json", kernel_json, (size_t)n) ||
	    put_file(dir, "launcher.py", gh_kernel_launcher_start,
	             (size_t)(gh_kernel_launcher_end - gh_kernel_launcher_start)))
		GH_WARN("session %lld: the " KSPEC_NAME " kernelspec that follows the GPUs could not be written in %s",
		        (long long)hs->s.id, home);
	return k;
}

static int token_ok(const hub_t *hub, int64_t id, const char *token)
{
	char want[33];
	hub_workspace_token(hub, id, want);
	return token && strlen(token) == 32 && CRYPTO_memcmp(token, want, 32) == 0;
}

/* Frees a kernel-mode session's GPUs in one transaction with its event. */
static void release(hub_t *hub, hub_session_t *hs, const char *why)
{
	int milli = 0;
	if (hs->n_allocs == 0)
		return;
	for (int i = 0; i < hs->n_allocs; i++)
		milli += hs->allocs[i].milli;
	if (hub_txn_begin(hub) != 0)
		return;
	/* the hold is booked up to the release, in the same transaction */
	if (hub_usage_book(hub, hs, gh_now_ms(), 1) != 0 || store_alloc_delete_session(hub->store, hs->s.id) != 0 ||
	    hub_emit(hub, hs->s.id, hs->s.user_id, "session.kernel_gpus_released", hs->s.state, -1,
	             "GPUs released: %s", why) != 0) {
		hub_txn_rollback(hub);
		return;
	}
	if (hub_txn_commit(hub) != 0)
		return;
	hs->usage_mark = 0;
	hub_allocs_release(hub, hs);
	hub_record_reclaimed(hub, hs, milli, "idle", why); /* the kernel that held them is idle or gone */
	GH_INFO("session %lld (%s): kernel GPUs released: %s", (long long)hs->s.id, hs->s.name, why);
}

static void answer(const hub_session_t *hs, hub_kgpu_answer_t *out)
{
	size_t off = 0;
	memset(out, 0, sizeof(*out));
	out->eta_s = -1;
	if (hs->n_allocs > 0) {
		out->granted = 1;
		for (int i = 0; i < hs->n_allocs && off < sizeof(out->devices); i++)
			off += (size_t)snprintf(out->devices + off, sizeof(out->devices) - off, "%s%d", i ? "," : "",
			                        hs->allocs[i].gpu_index);
	} else {
		out->position = hs->queue_position > 0 ? hs->queue_position : 1;
		out->eta_s = hs->eta_s;
	}
}

int hub_kgpu_claim(hub_t *hub, int64_t id, int pid, const char *token, hub_kgpu_answer_t *out, char *why,
                   size_t whylen)
{
	hub_session_t *hs = hub_session_mut(hub, id);
	int i;

	if (!hs || !token_ok(hub, id, token))
		return GH_EAUTH;
	if (hs->s.state != GH_SESS_RUNNING && hs->s.state != GH_SESS_IDLE_WARNED) {
		snprintf(why, whylen, "session '%s' is %s", hs->s.name, gh_sess_state_name(hs->s.state));
		return GH_ESTATE;
	}
	if (hub_kgpu_mode(hub, hs) != 2) {
		snprintf(why, whylen, "environment '%s' gives GPUs to the session, not to kernels", hs->s.env_name);
		return GH_ESTATE;
	}
	for (i = 0; i < hs->n_kclaims && hs->kclaims[i] != pid; i++)
		;
	if (i == hs->n_kclaims) {
		if (hs->n_kclaims == HUB_KCLAIMS_MAX) {
			snprintf(why, whylen, "session '%s' already runs %d kernels with GPUs", hs->s.name, HUB_KCLAIMS_MAX);
			return GH_ENOCAP;
		}
		hs->kclaims[hs->n_kclaims++] = pid;
		hs->s.last_activity_at = gh_now_ms(); /* starting a kernel is using it */
		if (hs->n_allocs == 0 && hs->s.gpu_milli > 0) {
			hs->kwant_since = gh_now_ms();
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.kernel_waiting", hs->s.state, -1,
			         "a kernel asks for %g GPU%s", hs->s.gpu_milli / 1000.0, hs->s.gpu_milli == 1000 ? "" : "s");
			hub_schedule(hub, gh_now_ms());
		}
		hs->rev++;
	}
	answer(hs, out);
	if (hs->s.gpu_milli == 0)
		out->granted = 1; /* nothing to wait for */
	return 0;
}

int hub_kgpu_release(hub_t *hub, int64_t id, int pid, const char *token)
{
	hub_session_t *hs = hub_session_mut(hub, id);
	int i;

	if (!hs || !token_ok(hub, id, token))
		return GH_EAUTH;
	for (i = 0; i < hs->n_kclaims && hs->kclaims[i] != pid; i++)
		;
	if (i == hs->n_kclaims)
		return GH_ENOTFOUND;
	hs->kclaims[i] = hs->kclaims[--hs->n_kclaims];
	hs->rev++;
	if (hs->n_kclaims == 0) {
		hs->kwant_since = 0;
		hs->queue_position = 0;
		release(hub, hs, "its kernel ended");
	}
	return 0;
}

int hub_kgpu_admit(hub_t *hub, hub_session_t *hs, const int *picks, const int *millis, int n)
{
	gh_alloc_t a[PLACE_REQ_SLOTS_MAX];
	char msg[GH_TEXT_MAX];
	size_t off;
	int i, rc;

	if (n <= 0 || n > PLACE_REQ_SLOTS_MAX)
		return GH_EINVAL;
	off = (size_t)snprintf(msg, sizeof(msg), "GPUs for its kernel:");
	if ((rc = hub_txn_begin(hub)))
		return rc;
	for (i = 0; i < n; i++) {
		const hub_gpu_t *g = &hub->gpus[picks[i]];
		memset(&a[i], 0, sizeof(a[i]));
		a[i].session_id = hs->s.id;
		a[i].gpu_index = picks[i];
		gh_strlcpy(a[i].gpu_uuid, g->info.uuid, sizeof(a[i].gpu_uuid));
		a[i].milli = millis[i];
		a[i].memory_mib = g->info.memory_mib * millis[i] / 1000;
		a[i].created_at = gh_now_ms();
		if ((rc = store_alloc_put(hub->store, &a[i]))) {
			hub_txn_rollback(hub);
			return rc;
		}
		if (off < sizeof(msg))
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, " %s#%d (%d milli)", g->info.model, picks[i],
			                        millis[i]);
	}
	/* usage is booked from the grant (hub_usage.c), like an admission */
	if ((rc = hub_emit(hub, hs->s.id, hs->s.user_id, "session.kernel_gpus", hs->s.state, -1, "%s", msg)) ||
	    (!hs->usage_mark && (rc = hub_usage_begin(hub, hs, a[0].created_at)))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	if (!hs->usage_mark)
		hs->usage_mark = a[0].created_at;
	for (i = 0; i < n; i++)
		hub_alloc_add(hub, hs, &a[i]);
	hs->kwant_since = 0;
	hs->queue_position = 0;
	hs->eta_s = -1;
	hs->gpu_busy_at = gh_now_ms(); /* the GPU-idle rule counts from the grant */
	GH_INFO("session %lld (%s): %s", (long long)hs->s.id, hs->s.name, msg);
	return 0;
}

void hub_kgpu_check(hub_t *hub, hub_session_t *hs, const int *pids, int npids)
{
	int i = 0, dropped = 0;
	while (i < hs->n_kclaims) {
		int alive = 0;
		for (int j = 0; j < npids && !alive; j++)
			alive = pids[j] == hs->kclaims[i];
		if (alive) {
			i++;
			continue;
		}
		GH_INFO("session %lld: kernel launcher %d is gone", (long long)hs->s.id, hs->kclaims[i]);
		hs->kclaims[i] = hs->kclaims[--hs->n_kclaims];
		dropped = 1;
	}
	if (dropped && hs->n_kclaims == 0) {
		hs->kwant_since = 0;
		hs->queue_position = 0;
		release(hub, hs, "its kernel ended");
	}
}

void hub_kgpu_forget(hub_session_t *hs)
{
	hs->n_kclaims = 0;
	hs->kwant_since = 0;
}
