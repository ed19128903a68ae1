/*
 * hub_env.c — the environment catalog: load, seed, create, delete, and
 * reading an environment's spec (resources, launch command) for a launch.
 *
 * The spec is the Environment object of docs/api.md as JSON text; api/
 * validates its shape before it reaches the hub, so reading it here only
 * fills defaults.
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A placeholder workspace: a process that reports its GPUs and waits. Used
 * for environments created without a launch spec. */
#define PLACEHOLDER_CMD                                                                                \
	"[\"/bin/sh\",\"-c\",\"echo workspace $GPUHUB_SESSION_NAME of $GPUHUB_USER: "                      \
	"CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-none}; exec sleep infinity\"]"

/* Jupyter Server (with the classic notebook UI) on the port, base URL and
 * token the hub hands over; files live in the user's persistent home. */
#define JUPYTER_CMD                                                                                   \
	"[\"/bin/sh\",\"-c\",\"export HOME=$GPUHUB_HOME; exec jupyter server --no-browser --allow-root --ServerApp.ip=127.0.0.1 "      \
	"--ServerApp.port=$GPUHUB_PORT --ServerApp.port_retries=0 --ServerApp.base_url=$GPUHUB_BASE_URL "     \
	"--ServerApp.token=$GPUHUB_WORKSPACE_TOKEN --ServerApp.root_dir=$HOME "                              \
	"--ServerApp.open_browser=False --ServerApp.quit_button=False\"]"

/* code-server as installed by scripts/install-deps, on the port the hub
 * hands over; the proxy strips the session prefix. code-server's own auth is
 * a password form, so it runs with --auth none and the preloaded token gate
 * answers 403 to any request without the hub's workspace token. Settings and
 * extensions live in the user's persistent home; config in the work dir. */
#define VSCODE_DIR "/opt/gpuhub/code-server"
#define VSCODE_CMD                                                                                    \
	"[\"/bin/sh\",\"-c\",\"export HOME=$GPUHUB_HOME; "                                              \
	"export NODE_OPTIONS=--require=" VSCODE_DIR "/token-gate.js; "                                    \
	"exec node " VSCODE_DIR "/node_modules/code-server/out/node/entry.js --auth none "                \
	"--bind-addr 127.0.0.1:$GPUHUB_PORT --config $PWD/code-server.yaml "                            \
	"--user-data-dir $HOME/.local/share/code-server --extensions-dir $HOME/.local/share/code-server/extensions " \
	"--disable-telemetry --disable-update-check --disable-workspace-trust "                         \
	"--disable-getting-started-override --disable-proxy $HOME\"]"

/* The probe of `gpuhub env check`: one JSON line with the versions the
 * environment's Python finds and the GPUs it sees. Nothing is imported
 * unless installed; torch is asked how many CUDA devices it can use. */
#define PROBE_PY                                                                                       \
	"import json,os,platform,importlib.util as u;"                                                 \
	"v=lambda m:(getattr(__import__(m),'__version__','?') if u.find_spec(m) else None);"            \
	"r={'python':platform.python_version(),'torch':v('torch'),'tensorflow':v('tensorflow'),"        \
	"'jupyter_server':v('jupyter_server'),'notebook':v('notebook'),"                               \
	"'cuda_visible_devices':os.environ.get('CUDA_VISIBLE_DEVICES','')};"                           \
	"r['torch_cuda_device_count']=__import__('torch').cuda.device_count() if r['torch'] else None;" \
	"print(json.dumps(r))"
#define PYTHON "/usr/bin/python3"
#define PROBE_CMD "[\"" PYTHON "\",\"-c\",\"" PROBE_PY "\"]"

/* The Jupyter entries give GPUs to kernels, not to the notebook server
 * (gpu_mode "kernel", hub_kgpu.c): editing a notebook holds no GPU, running
 * a cell does. VS Code has no kernels to follow: its GPUs are the session's
 * from start to stop. */
static const struct {
	const char *name, *display, *interface, *labels, *command, *ready, *requires, *gpu_mode;
} seed_envs[] = {
	{"jupyter-python", "Jupyter + Python 3", "jupyter", "{\"python\":\"3.11\"}", JUPYTER_CMD, "api/status",
	 "[\"jupyter_server\"]", "kernel"},
	{"jupyter-pytorch", "Jupyter + PyTorch", "jupyter", "{\"python\":\"3.11\",\"pytorch\":\"1.13\"}",
	 JUPYTER_CMD, "api/status", "[\"jupyter_server\",\"torch\"]", "kernel"},
	/* for machines that have TensorFlow (Debian 12 does not package it) */
	{"jupyter-tensorflow", "Jupyter + TensorFlow", "jupyter", "{\"python\":\"3.11\",\"tensorflow\":\"2\"}",
	 JUPYTER_CMD, "api/status", "[\"jupyter_server\",\"tensorflow\"]", "kernel"},
	{"vscode", "VS Code (code-server)", "vscode", "{\"code-server\":\"4.100.3\"}", VSCODE_CMD, "healthz", "[]",
	 "session"},
};

const char *hub_env_default_command(void) { return PLACEHOLDER_CMD; }

/* Makes room for one more environment in both parallel arrays. */
static int env_reserve(hub_t *hub)
{
	int cap = hub->cap_envs;
	if (gh_grow((void **)&hub->envs, &hub->cap_envs, hub->n_envs + 1, sizeof(gh_env_t)))
		return GH_ENOMEM;
	if (hub->cap_envs != cap || !hub->env_info) {
		hub_env_info_t *n = realloc(hub->env_info, (size_t)hub->cap_envs * sizeof(*n));
		if (!n)
			return GH_ENOMEM;
		hub->env_info = n;
	}
	return 0;
}

/* Appends e (room reserved) with its parsed spec. */
static void env_append(hub_t *hub, const gh_env_t *e)
{
	hub_env_info_t *info = &hub->env_info[hub->n_envs];
	hub->envs[hub->n_envs] = *e;
	info->ok = hub_env_info(e, rt_name(hub->rt), info) == 0;
	hub_env_availability(info);
	if (!info->available)
		GH_WARN("environment %s is not available here: %s", e->name, info->unavailable);
	hub->n_envs++;
}

int hub_env_available(const hub_t *hub, const gh_env_t *e, const char **why)
{
	const hub_env_info_t *info = &hub->env_info[e - hub->envs];
	if (why)
		*why = info->available ? NULL : info->unavailable;
	return info->available;
}

const hub_env_info_t *hub_env_spec(const hub_t *hub, const gh_env_t *e)
{
	const hub_env_info_t *info = &hub->env_info[e - hub->envs];
	return info->ok ? info : NULL;
}

static int on_env(void *ctx, const gh_env_t *e)
{
	hub_t *hub = ctx;
	if (env_reserve(hub))
		return GH_ENOMEM;
	env_append(hub, e);
	return 0;
}

int hub_env_load(hub_t *hub) { return store_env_load(hub->store, on_env, hub); }

int hub_env_seed(hub_t *hub)
{
	char spec[GH_SPEC_MAX], why[HUB_WHY];
	const gh_env_t *out;
	size_t i;
	int rc;

	if (hub->n_envs > 0 || hub->n_sessions > 0)
		return 0;
	for (i = 0; i < sizeof(seed_envs) / sizeof(seed_envs[0]); i++) {
		snprintf(spec, sizeof(spec),
		         "{\"name\":\"%s\",\"display_name\":\"%s\",\"interface\":\"%s\",\"labels\":%s,"
		         "\"launch\":{\"local\":{\"command\":%s,\"ready\":\"%s\"}},"
		         "\"default_gpus\":1,\"max_gpus\":4,\"default_cpu_milli\":2000,\"max_cpu_milli\":8000,"
		         "\"default_memory_mib\":8192,\"max_memory_mib\":65536,"
		         "\"python\":\"" PYTHON "\",\"requires\":%s,\"probe\":" PROBE_CMD ",\"gpu_mode\":\"%s\"}",
		         seed_envs[i].name, seed_envs[i].display, seed_envs[i].interface, seed_envs[i].labels,
		         seed_envs[i].command, seed_envs[i].ready, seed_envs[i].requires, seed_envs[i].gpu_mode);
		if ((rc = hub_env_create(hub, seed_envs[i].name, spec, 0, &out, why, sizeof(why)))) {
			GH_ERROR("cannot seed environment %s: %s", seed_envs[i].name, why);
			return rc;
		}
	}
	GH_INFO("first start: default catalog of %zu environments created", i);
	return 0;
}

int hub_env_count(const hub_t *hub) { return hub->n_envs; }
const gh_env_t *hub_env_at(const hub_t *hub, int i) { return &hub->envs[i]; }

const gh_env_t *hub_env_find(const hub_t *hub, const char *name)
{
	for (int i = 0; i < hub->n_envs; i++)
		if (strcmp(hub->envs[i].name, name) == 0)
			return &hub->envs[i];
	return NULL;
}

int hub_env_create(hub_t *hub, const char *name, const char *spec, int64_t actor_id, const gh_env_t **out,
                   char *why, size_t whylen)
{
	gh_env_t e;
	int rc;

	if (hub_env_find(hub, name)) {
		snprintf(why, whylen, "an environment named '%s' already exists", name);
		return GH_EEXIST;
	}
	memset(&e, 0, sizeof(e));
	gh_strlcpy(e.name, name, sizeof(e.name));
	if (gh_strlcpy(e.spec, spec, sizeof(e.spec)) >= sizeof(e.spec)) {
		snprintf(why, whylen, "environment spec is larger than %d bytes", GH_SPEC_MAX - 1);
		return GH_ETOOBIG;
	}
	e.created_at = e.updated_at = gh_now_ms();
	if (env_reserve(hub))
		return GH_ENOMEM;
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_env_put(hub->store, &e)) ||
	    (rc = hub_emit(hub, 0, actor_id, "env.created", 0, -1, "environment %s created", name))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	env_append(hub, &e);
	*out = &hub->envs[hub->n_envs - 1];
	return 0;
}

int hub_env_delete(hub_t *hub, const char *name, int64_t actor_id, char *why, size_t whylen)
{
	const gh_env_t *e = hub_env_find(hub, name);
	int i, rc, idx;

	if (!e) {
		snprintf(why, whylen, "no environment named '%s'", name);
		return GH_ENOTFOUND;
	}
	for (i = 0; i < hub->n_sessions; i++) {
		const gh_session_t *s = &hub->sessions[i].s;
		if (s->env_id == e->id && gh_sess_state_active(s->state)) {
			snprintf(why, whylen, "session %lld (%s) still uses environment '%s'", (long long)s->id, s->name,
			         name);
			return GH_ESTATE;
		}
	}
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_env_delete(hub->store, e->id)) ||
	    (rc = hub_emit(hub, 0, actor_id, "env.deleted", 0, -1, "environment %s deleted", name))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	idx = (int)(e - hub->envs);
	memmove(&hub->envs[idx], &hub->envs[idx + 1], (size_t)(hub->n_envs - idx - 1) * sizeof(gh_env_t));
	for (i = idx; i < hub->n_envs - 1; i++) {
		/* the parsed spec holds pointers into itself: move it by re-parsing */
		hub_env_info_t *info = &hub->env_info[i];
		int avail = hub->env_info[i + 1].available;
		char why_na[sizeof(info->unavailable)];
		memcpy(why_na, hub->env_info[i + 1].unavailable, sizeof(why_na));
		info->ok = hub_env_info(&hub->envs[i], rt_name(hub->rt), info) == 0;
		info->available = avail;
		memcpy(info->unavailable, why_na, sizeof(why_na));
	}
	hub->n_envs--;
	return 0;
}

static int num_milli(json_t *o, const char *key, int dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? (int)(json_number_value(v) * 1000.0 + 0.5) : dflt;
}

int hub_env_info(const gh_env_t *e, const char *runtime, hub_env_info_t *out)
{
	json_t *o = json_loads(e->spec, 0, NULL), *cmd, *v;
	size_t i, off = 0;

	memset(out, 0, sizeof(*out));
	if (!o)
		return GH_EINVAL;
	out->default_milli = num_milli(o, "default_gpus", 1000);
	out->max_milli = num_milli(o, "max_gpus", 8000);
	v = json_object_get(o, "default_cpu_milli");
	out->cpu_milli = json_is_integer(v) ? (int)json_integer_value(v) : 2000;
	v = json_object_get(o, "default_memory_mib");
	out->memory_mib = json_is_integer(v) ? json_integer_value(v) : 8192;
	v = json_object_get(o, "interface");
	gh_strlcpy(out->interface, json_is_string(v) ? json_string_value(v) : "jupyter", sizeof(out->interface));
	v = json_object_get(o, "gpu_mode");
	out->gpu_kernel = json_is_string(v) && strcmp(json_string_value(v), "kernel") == 0;
	hub_idle_policy_from_json(json_object_get(o, "idle"), &out->idle);
	v = json_object_get(json_object_get(json_object_get(o, "launch"), runtime), "ready");
	if (json_is_string(v)) {
		/* "" = ready when the process runs; else a path below the session URL */
		const char *rp = json_string_value(v);
		out->ready_http = rp[0] != '\0';
		gh_strlcpy(out->ready_path, rp[0] == '/' ? rp + 1 : rp, sizeof(out->ready_path));
	} else if (strcmp(out->interface, "vscode") == 0) {
		out->ready_http = 1;
		gh_strlcpy(out->ready_path, "healthz", sizeof(out->ready_path));
	} else {
		out->ready_http = 1;
		gh_strlcpy(out->ready_path, "api/status", sizeof(out->ready_path));
	}
	cmd = json_object_get(json_object_get(json_object_get(o, "launch"), runtime), "command");
	json_array_foreach(cmd, i, v) {
		const char *s = json_string_value(v);
		size_t len = s ? strlen(s) : 0;
		if (!s || i >= 32 || off + len + 1 > sizeof(out->argv_buf))
			break;
		memcpy(out->argv_buf + off, s, len + 1);
		out->argv[i] = out->argv_buf + off;
		off += len + 1;
	}
	v = json_object_get(o, "python");
	gh_strlcpy(out->python, json_is_string(v) ? json_string_value(v) : "python3", sizeof(out->python));
	json_array_foreach(json_object_get(o, "requires"), i, v) {
		if (!json_is_string(v) || out->n_requires >= 8)
			break;
		gh_strlcpy(out->requires[out->n_requires++], json_string_value(v), sizeof(out->requires[0]));
	}
	off = 0;
	json_array_foreach(json_object_get(o, "probe"), i, v) {
		const char *s = json_string_value(v);
		size_t len = s ? strlen(s) : 0;
		if (!s || i >= 16 || off + len + 1 > sizeof(out->probe_buf))
			break;
		memcpy(out->probe_buf + off, s, len + 1);
		out->probe[i] = out->probe_buf + off;
		off += len + 1;
	}
	out->available = 1;
	json_decref(o);
	return out->argv[0] ? 0 : GH_EUNSUPPORTED;
}
