/*
 * gpu.c — picks a GPU source by spec string and forwards calls to it.
 *
 * The sources live in one static table, as stores and runtimes do, so core
 * code never names a back end. A spec is "NAME" or "NAME:ARG":
 *
 *   spec               | source | arg given to open()
 *   -------------------+--------+-------------------------------------------
 *   "auto" (NULL, "")  | nvml   | "" — and when that fails or sees no GPU:
 *                      | sim    | sim_default, *fell_back = 1
 *   "nvml"             | nvml   | ""
 *   "sim"              | sim    | sim_default ("" lets sim use its default)
 *   "sim:4xA100-80GB"  | sim    | "4xA100-80GB"
 *
 * "auto" exists so that `gpuhub serve` with no config does the right thing
 * on a GPU server and still runs, clearly labelled as simulated, on a
 * laptop. The wrappers check arguments once so back ends can trust them.
 * Also here: the fault-event ring both back ends share (gpu_int.h).
 */
#include "gpu/gpu.h"
#include "gpu/gpu_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

static const gpu_ops_t *const gpu_sources[] = {
	&gpu_nvml_ops,
	&gpu_sim_ops,
};

#define GPU_NSOURCES (int)(sizeof(gpu_sources) / sizeof(gpu_sources[0]))

static const gpu_ops_t *gpu_find(const char *name, size_t len)
{
	int i;
	for (i = 0; i < GPU_NSOURCES; i++) {
		const char *n = gpu_sources[i]->name;
		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return gpu_sources[i];
	}
	return NULL;
}

static void gpu_msg(char *errmsg, size_t errlen, const char *fmt, const char *a)
{
	if (errmsg && errlen)
		snprintf(errmsg, errlen, fmt, a);
}

/* "auto": NVML when it opens and has a device (its open() refuses zero
 * devices), else the simulated inventory. */
static int gpu_open_auto(gh_gpu_src_t **out, const char *sim_default,
                         const char *state_dir, int *fell_back,
                         char *errmsg, size_t errlen)
{
	char why[256] = "";
	int rc = gpu_nvml_ops.open(out, "", state_dir, why, sizeof(why));
	if (rc == 0)
		return 0;
	*out = NULL;
	rc = gpu_sim_ops.open(out, sim_default ? sim_default : "", state_dir,
	                      errmsg, errlen);
	if (rc != 0) {
		*out = NULL;
		return rc;
	}
	if (fell_back)
		*fell_back = 1;
	gpu_msg(errmsg, errlen, "%s", why[0] ? why : "NVML is not available");
	return 0;
}

int gpu_open(gh_gpu_src_t **out, const char *spec, const char *sim_default,
             const char *state_dir, int *fell_back, char *errmsg, size_t errlen)
{
	const gpu_ops_t *ops;
	const char *colon, *arg;
	size_t namelen;
	int rc;

	if (fell_back)
		*fell_back = 0;
	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!out)
		return GH_EINVAL;
	*out = NULL;
	if (!spec || !spec[0])
		spec = "auto";

	colon = strchr(spec, ':');
	namelen = colon ? (size_t)(colon - spec) : strlen(spec);
	arg = colon ? colon + 1 : NULL;

	if (namelen == 4 && memcmp(spec, "auto", 4) == 0) {
		if (arg) {
			gpu_msg(errmsg, errlen, "GPU source \"%s\" takes no argument after \"auto\"", spec);
			return GH_EINVAL;
		}
		return gpu_open_auto(out, sim_default, state_dir, fell_back, errmsg, errlen);
	}
	ops = gpu_find(spec, namelen);
	if (!ops) {
		gpu_msg(errmsg, errlen, "unknown GPU source \"%s\" (expected auto, nvml or sim:N[xMODEL])", spec);
		return GH_EINVAL;
	}
	if (!arg)
		arg = (ops == &gpu_sim_ops && sim_default) ? sim_default : "";
	rc = ops->open(out, arg, state_dir, errmsg, errlen);
	if (rc != 0)
		*out = NULL;
	return rc;
}

void gpu_close(gh_gpu_src_t *src)
{
	if (src)
		src->ops->close(src);
}

const char *gpu_src_name(const gh_gpu_src_t *src)
{
	return src ? src->ops->name : "none";
}

int gpu_src_simulated(const gh_gpu_src_t *src)
{
	return src ? src->simulated : 0;
}

int gpu_count(gh_gpu_src_t *src)
{
	if (!src)
		return GH_EINVAL;
	return src->ops->count(src);
}

static int gpu_check_index(gh_gpu_src_t *src, int index)
{
	int n;
	if (!src)
		return GH_EINVAL;
	n = src->ops->count(src);
	if (n < 0)
		return n;
	return (index < 0 || index >= n) ? GH_ENOTFOUND : 0;
}

int gpu_info(gh_gpu_src_t *src, int index, gh_gpu_info_t *out)
{
	int rc = gpu_check_index(src, index);
	if (rc != 0)
		return rc;
	if (!out)
		return GH_EINVAL;
	return src->ops->info(src, index, out);
}

int gpu_telemetry(gh_gpu_src_t *src, int index, gh_gpu_telemetry_t *out)
{
	int rc = gpu_check_index(src, index);
	if (rc != 0)
		return rc;
	if (!out)
		return GH_EINVAL;
	return src->ops->telemetry(src, index, out);
}

int gpu_processes(gh_gpu_src_t *src, int index, gh_gpu_proc_t *out, int max, int *n)
{
	int rc;
	if (n)
		*n = 0;
	rc = gpu_check_index(src, index);
	if (rc != 0)
		return rc;
	if (!n || max < 0 || (max > 0 && !out))
		return GH_EINVAL;
	return src->ops->processes(src, index, out, max, n);
}

int gpu_poll_events(gh_gpu_src_t *src, gh_gpu_event_t *out, int max, int *n)
{
	if (n)
		*n = 0;
	if (!src || !n || max < 0 || (max > 0 && !out))
		return GH_EINVAL;
	return src->ops->poll_events(src, out, max, n);
}

int gpu_inject(gh_gpu_src_t *src, int index, gh_gpu_event_type_t type, int xid)
{
	int rc = gpu_check_index(src, index);
	if (rc != 0)
		return rc;
	if (type != GH_GPU_EV_XID && type != GH_GPU_EV_LOST && type != GH_GPU_EV_CLEARED)
		return GH_EINVAL;
	if (type == GH_GPU_EV_XID && xid <= 0)
		return GH_EINVAL;
	return src->ops->inject(src, index, type, xid);
}

const char *gpu_share_mode_name(gh_share_mode_t m)
{
	switch (m) {
	case GH_SHARE_EXCLUSIVE: return "exclusive";
	case GH_SHARE_MPS:       return "mps";
	case GH_SHARE_MIG:       return "mig";
	}
	return "unknown";
}

void gpu_evq_push(gpu_evq_t *q, gh_gpu_event_type_t type, int gpu_index, int xid)
{
	gh_gpu_event_t *e;
	if (q->len == GPU_EVQ_CAP) {
		q->head = (q->head + 1) % GPU_EVQ_CAP;
		q->len--;
		q->dropped++;
	}
	e = &q->ev[(q->head + q->len) % GPU_EVQ_CAP];
	e->type = type;
	e->gpu_index = gpu_index;
	e->xid = type == GH_GPU_EV_XID ? xid : 0;
	e->ts = gh_now_ms();
	q->len++;
}

int gpu_evq_drain(gpu_evq_t *q, gh_gpu_event_t *out, int max)
{
	int k = 0;
	while (k < max && q->len > 0) {
		out[k++] = q->ev[q->head];
		q->head = (q->head + 1) % GPU_EVQ_CAP;
		q->len--;
	}
	return k;
}
