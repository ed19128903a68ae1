/*
 * gpu_nvml.c — the real GPU inventory, read through NVIDIA's NVML.
 *
 * Why dlopen: the daemon must build and start on machines with no NVIDIA
 * driver (the simulated source then takes over), so it neither links
 * against libnvidia-ml nor includes nvml.h. It loads
 * "libnvidia-ml.so.1" at open and declares the few entry points and
 * structs it uses itself, as the public NVML API documents them:
 *
 *   entry point                            | use                  | needed
 *   ---------------------------------------+----------------------+-------
 *   nvmlInit_v2, nvmlShutdown              | start / stop         | yes
 *   nvmlErrorString                        | messages             | no
 *   nvmlDeviceGetCount_v2                  | inventory            | yes
 *   nvmlDeviceGetHandleByIndex_v2          | inventory            | yes
 *   nvmlDeviceGetName, nvmlDeviceGetUUID   | info                 | yes
 *   nvmlDeviceGetMemoryInfo                | info, telemetry      | yes
 *   nvmlDeviceGetMigMode                   | sharing = MIG        | no
 *   nvmlDeviceGetUtilizationRates          | telemetry            | yes
 *   nvmlDeviceGetTemperature (sensor 0)    | telemetry            | no
 *   nvmlDeviceGetPowerUsage (mW)           | telemetry            | no
 *   nvmlDeviceGetComputeRunningProcesses   | processes (_v3, _v2: | no
 *                                          |  4 fields; plain: 2) |
 *   nvmlDeviceGetProcessUtilization        | per-process util     | no
 *   nvmlEventSetCreate, _Free,             | XID events, polled   | no
 *   nvmlDeviceRegisterEvents,              |  with timeout 0      |
 *   nvmlEventSetWait_v2                    |                      |
 *
 * Degrading: no library, no NVML start or no device make open() fail with
 * GH_EUNSUPPORTED and a sentence, so "auto" falls back to the simulator.
 * A missing optional entry point only leaves its readings unknown (-1).
 *
 * Faults: XID events set healthy=0 and last_xid and are queued; XID 79
 * (fallen off the bus) and any call answering NVML_ERROR_GPU_IS_LOST mark
 * the device lost and queue one LOST event. Those flags are ours, so
 * inject(CLEARED) resets them after an admin has dealt with the device;
 * other injections are GH_EUNSUPPORTED on real hardware.
 *
 * Static facts (name, UUID, memory, MIG mode) are read once at open.
 */
#include "gpu/gpu.h"
#include "gpu/gpu_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVML_LIB "libnvidia-ml.so.1"

/* ---- our own declarations of the NVML ABI ---------------------------------- */

typedef int nvml_ret_t;                  /* nvmlReturn_t */
typedef struct nvml_device *nvml_dev_t;  /* nvmlDevice_t (opaque) */
typedef struct nvml_evset *nvml_evset_t; /* nvmlEventSet_t (opaque) */

enum {
	NVML_OK                 = 0,
	NVML_E_NOT_SUPPORTED    = 3,
	NVML_E_INSUFFICIENT     = 7,
	NVML_E_TIMEOUT          = 10,
	NVML_E_GPU_IS_LOST      = 15,
};

#define NVML_EVENT_XID_CRITICAL 0x8ULL   /* nvmlEventTypeXidCriticalError */
#define NVML_TEMP_GPU           0        /* NVML_TEMPERATURE_GPU */
#define NVML_NAME_LEN           96       /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
#define NVML_UUID_LEN           96       /* NVML_DEVICE_UUID_V2_BUFFER_SIZE */

typedef struct { unsigned long long total, free, used; } nvml_memory_t;
typedef struct { unsigned int gpu, memory; } nvml_util_t;
/* nvmlProcessInfo_t as taken by the _v2 and _v3 calls. */
typedef struct {
	unsigned int pid;
	unsigned long long used_mem;     /* bytes */
	unsigned int gpu_instance_id;
	unsigned int compute_instance_id;
} nvml_proc_t;
/* nvmlProcessInfo_v1_t, taken by the unversioned call of old drivers. */
typedef struct {
	unsigned int pid;
	unsigned long long used_mem;
} nvml_proc_v1_t;
typedef struct {
	unsigned int pid;
	unsigned long long ts_us;
	unsigned int sm_util, mem_util, enc_util, dec_util;
} nvml_proc_sample_t;
typedef struct {
	nvml_dev_t device;
	unsigned long long type;
	unsigned long long data;         /* the XID for XID events */
	unsigned int gpu_instance_id;
	unsigned int compute_instance_id;
} nvml_event_t;

typedef struct {
	nvml_ret_t (*init)(void);
	nvml_ret_t (*shutdown)(void);
	const char *(*error_string)(nvml_ret_t);
	nvml_ret_t (*count)(unsigned int *);
	nvml_ret_t (*handle)(unsigned int, nvml_dev_t *);
	nvml_ret_t (*name)(nvml_dev_t, char *, unsigned int);
	nvml_ret_t (*uuid)(nvml_dev_t, char *, unsigned int);
	nvml_ret_t (*memory)(nvml_dev_t, nvml_memory_t *);
	nvml_ret_t (*mig_mode)(nvml_dev_t, unsigned int *, unsigned int *);
	nvml_ret_t (*util)(nvml_dev_t, nvml_util_t *);
	nvml_ret_t (*temperature)(nvml_dev_t, int, unsigned int *);
	nvml_ret_t (*power)(nvml_dev_t, unsigned int *);
	nvml_ret_t (*procs)(nvml_dev_t, unsigned int *, nvml_proc_t *);      /* _v3 or _v2 */
	nvml_ret_t (*procs_v1)(nvml_dev_t, unsigned int *, nvml_proc_v1_t *);
	nvml_ret_t (*proc_util)(nvml_dev_t, nvml_proc_sample_t *, unsigned int *, unsigned long long);
	nvml_ret_t (*evset_create)(nvml_evset_t *);
	nvml_ret_t (*evset_free)(nvml_evset_t);
	nvml_ret_t (*register_events)(nvml_dev_t, unsigned long long, nvml_evset_t);
	nvml_ret_t (*evset_wait)(nvml_evset_t, nvml_event_t *, unsigned int);
} nvml_api_t;

/* ---- the source ------------------------------------------------------------ */

typedef struct {
	nvml_dev_t h;
	gh_gpu_info_t info;
	int healthy;                     /* guarded by nvml_src.mu */
	int lost;
	int last_xid;
} nvml_gpu_t;

typedef struct {
	gh_gpu_src_t base;               /* first: a nvml_src_t * is a gh_gpu_src_t * */
	void *dl;                        /* dlopen handle, owned */
	nvml_api_t api;
	nvml_evset_t evset;              /* NULL when events are unavailable */
	int n;
	nvml_gpu_t *dev;                 /* n entries, owned */
	pthread_mutex_t mu;              /* fault flags, evq, evset */
	gpu_evq_t evq;
} nvml_src_t;

static const char *nvml_err(const nvml_api_t *api, nvml_ret_t r)
{
	const char *s = api->error_string ? api->error_string(r) : NULL;
	return s ? s : "unknown NVML error";
}

static void nvml_msg(char *errmsg, size_t errlen, const char *what, const char *detail)
{
	if (errmsg && errlen)
		snprintf(errmsg, errlen, "%s: %s", what, detail);
}

/* Resolves the entry points. 0, or GH_EUNSUPPORTED naming the first
 * required symbol the library lacks. */
static int nvml_resolve(nvml_src_t *s, char *errmsg, size_t errlen)
{
	nvml_api_t *a = &s->api;
	const struct { void *slot; const char *sym; int required; } tab[] = {
		{&a->init,            "nvmlInit_v2", 1},
		{&a->shutdown,        "nvmlShutdown", 1},
		{&a->error_string,    "nvmlErrorString", 0},
		{&a->count,           "nvmlDeviceGetCount_v2", 1},
		{&a->handle,          "nvmlDeviceGetHandleByIndex_v2", 1},
		{&a->name,            "nvmlDeviceGetName", 1},
		{&a->uuid,            "nvmlDeviceGetUUID", 1},
		{&a->memory,          "nvmlDeviceGetMemoryInfo", 1},
		{&a->mig_mode,        "nvmlDeviceGetMigMode", 0},
		{&a->util,            "nvmlDeviceGetUtilizationRates", 1},
		{&a->temperature,     "nvmlDeviceGetTemperature", 0},
		{&a->power,           "nvmlDeviceGetPowerUsage", 0},
		{&a->procs,           "nvmlDeviceGetComputeRunningProcesses_v3", 0},
		{&a->proc_util,       "nvmlDeviceGetProcessUtilization", 0},
		{&a->evset_create,    "nvmlEventSetCreate", 0},
		{&a->evset_free,      "nvmlEventSetFree", 0},
		{&a->register_events, "nvmlDeviceRegisterEvents", 0},
		{&a->evset_wait,      "nvmlEventSetWait_v2", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		void *f = dlsym(s->dl, tab[i].sym);
		if (!f && tab[i].required) {
			nvml_msg(errmsg, errlen, "the NVIDIA driver library " NVML_LIB
			         " is too old, it lacks", tab[i].sym);
			return GH_EUNSUPPORTED;
		}
		/* POSIX guarantees data and function pointers convert this way. */
		memcpy(tab[i].slot, &f, sizeof(f));
	}
	if (!a->procs) {                         /* same 4-field layout as _v3 */
		void *f = dlsym(s->dl, "nvmlDeviceGetComputeRunningProcesses_v2");
		memcpy(&a->procs, &f, sizeof(f));
	}
	if (!a->procs) {
		void *f = dlsym(s->dl, "nvmlDeviceGetComputeRunningProcesses");
		memcpy(&a->procs_v1, &f, sizeof(f));
	}
	if (!a->evset_create || !a->evset_free || !a->register_events || !a->evset_wait)
		a->evset_create = NULL;          /* events need all four */
	return 0;
}

/* Marks device i lost once and queues the event. Caller holds s->mu. */
static void nvml_mark_lost(nvml_src_t *s, int i)
{
	nvml_gpu_t *d = &s->dev[i];
	if (d->lost)
		return;
	d->lost = 1;
	d->healthy = 0;
	gpu_evq_push(&s->evq, GH_GPU_EV_LOST, i, 0);
	GH_ERROR("GPU %d (%s) is lost: it fell off the bus or stopped answering NVML.",
	         i, d->info.uuid);
}

static void nvml_note_lost(nvml_src_t *s, int i, nvml_ret_t r)
{
	if (r != NVML_E_GPU_IS_LOST)
		return;
	pthread_mutex_lock(&s->mu);
	nvml_mark_lost(s, i);
	pthread_mutex_unlock(&s->mu);
}

static int nvml_read_device(nvml_src_t *s, int i, char *errmsg, size_t errlen)
{
	nvml_api_t *a = &s->api;
	nvml_gpu_t *d = &s->dev[i];
	char name[NVML_NAME_LEN] = "", uuid[NVML_UUID_LEN] = "";
	nvml_memory_t mem;
	unsigned int cur = 0, pending = 0;
	nvml_ret_t r;

	r = a->handle((unsigned int)i, &d->h);
	if (r == NVML_OK)
		r = a->name(d->h, name, sizeof(name));
	if (r == NVML_OK)
		r = a->uuid(d->h, uuid, sizeof(uuid));
	if (r == NVML_OK)
		r = a->memory(d->h, &mem);
	if (r != NVML_OK) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "NVML cannot read GPU %d: %s", i, nvml_err(a, r));
		return GH_EIO;
	}
	d->info.index = i;
	gh_strlcpy(d->info.model, name, sizeof(d->info.model));
	gh_strlcpy(d->info.uuid, uuid, sizeof(d->info.uuid));
	d->info.memory_mib = (int64_t)(mem.total / (1024 * 1024));
	d->info.capacity_milli = 1000;
	d->info.sharing = GH_SHARE_EXCLUSIVE;
	if (a->mig_mode && a->mig_mode(d->h, &cur, &pending) == NVML_OK && cur == 1)
		d->info.sharing = GH_SHARE_MIG;
	d->healthy = 1;
	return 0;
}

/* Registers every device for XID events; without support, polls see none. */
static void nvml_setup_events(nvml_src_t *s)
{
	nvml_api_t *a = &s->api;
	int i, registered = 0;

	if (!a->evset_create || a->evset_create(&s->evset) != NVML_OK) {
		s->evset = NULL;
		GH_WARN("NVML offers no event set here, so GPU XID errors will not be reported.");
		return;
	}
	for (i = 0; i < s->n; i++) {
		nvml_ret_t r = a->register_events(s->dev[i].h, NVML_EVENT_XID_CRITICAL, s->evset);
		if (r == NVML_OK)
			registered++;
		else
			GH_WARN("GPU %d (%s) cannot report XID errors: %s.", i,
			        s->dev[i].info.uuid, nvml_err(a, r));
	}
	if (!registered) {
		a->evset_free(s->evset);
		s->evset = NULL;
	}
}

static int nvml_open(gh_gpu_src_t **out, const char *arg, const char *state_dir,
                     char *errmsg, size_t errlen)
{
	nvml_src_t *s;
	unsigned int count = 0;
	nvml_ret_t r;
	int i, rc;

	(void)state_dir;
	*out = NULL;
	if (arg && arg[0]) {
		nvml_msg(errmsg, errlen, "the nvml GPU source takes no argument", arg);
		return GH_EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return GH_ENOMEM;
	s->base.ops = &gpu_nvml_ops;
	s->base.simulated = 0;

	s->dl = dlopen(NVML_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!s->dl) {
		const char *e = dlerror();
		nvml_msg(errmsg, errlen, "NVIDIA driver library " NVML_LIB " not found",
		         e ? e : "dlopen failed");
		rc = GH_EUNSUPPORTED;
		goto fail_free;
	}
	rc = nvml_resolve(s, errmsg, errlen);
	if (rc != 0)
		goto fail_dlclose;
	r = s->api.init();
	if (r != NVML_OK) {
		nvml_msg(errmsg, errlen, "NVML could not start", nvml_err(&s->api, r));
		rc = GH_EUNSUPPORTED;
		goto fail_dlclose;
	}
	r = s->api.count(&count);
	if (r != NVML_OK || count == 0) {
		nvml_msg(errmsg, errlen, "NVML sees no GPU",
		         r != NVML_OK ? nvml_err(&s->api, r) : "the device count is 0");
		rc = GH_EUNSUPPORTED;
		goto fail_shutdown;
	}
	s->dev = calloc(count, sizeof(*s->dev));
	if (!s->dev) {
		rc = GH_ENOMEM;
		goto fail_shutdown;
	}
	s->n = (int)count;
	for (i = 0; i < s->n; i++) {
		rc = nvml_read_device(s, i, errmsg, errlen);
		if (rc != 0)
			goto fail_devs;
	}
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		rc = GH_ENOMEM;
		goto fail_devs;
	}
	nvml_setup_events(s);
	*out = &s->base;
	return 0;

fail_devs:
	free(s->dev);
fail_shutdown:
	s->api.shutdown();
fail_dlclose:
	dlclose(s->dl);
fail_free:
	free(s);
	return rc;
}

static void nvml_close(gh_gpu_src_t *src)
{
	nvml_src_t *s = (nvml_src_t *)src;
	if (s->evset)
		s->api.evset_free(s->evset);
	s->api.shutdown();
	dlclose(s->dl);
	pthread_mutex_destroy(&s->mu);
	free(s->dev);
	free(s);
}

static int nvml_count(gh_gpu_src_t *src)
{
	return ((nvml_src_t *)src)->n;
}

static int nvml_info(gh_gpu_src_t *src, int index, gh_gpu_info_t *out)
{
	nvml_src_t *s = (nvml_src_t *)src;
	if (index < 0 || index >= s->n)
		return GH_ENOTFOUND;
	*out = s->dev[index].info;
	return 0;
}

static int nvml_telemetry(gh_gpu_src_t *src, int index, gh_gpu_telemetry_t *out)
{
	nvml_src_t *s = (nvml_src_t *)src;
	const nvml_api_t *a = &s->api;
	nvml_gpu_t *d;
	nvml_util_t u;
	nvml_memory_t mem;
	unsigned int v;
	nvml_ret_t r;

	if (index < 0 || index >= s->n)
		return GH_ENOTFOUND;
	d = &s->dev[index];
	memset(out, 0, sizeof(*out));
	out->index = index;
	out->util_pct = out->temperature_c = out->power_w = -1;

	r = a->memory(d->h, &mem);
	if (r == NVML_OK)
		out->memory_used_mib = (int64_t)(mem.used / (1024 * 1024));
	nvml_note_lost(s, index, r);
	if (r == NVML_OK && a->util(d->h, &u) == NVML_OK)
		out->util_pct = u.gpu > 100 ? 100 : (int)u.gpu;
	if (r == NVML_OK && a->temperature && a->temperature(d->h, NVML_TEMP_GPU, &v) == NVML_OK)
		out->temperature_c = (int)v;
	if (r == NVML_OK && a->power && a->power(d->h, &v) == NVML_OK)
		out->power_w = (int)((v + 500) / 1000);

	pthread_mutex_lock(&s->mu);
	out->healthy = d->healthy;
	out->lost = d->lost;
	out->last_xid = d->last_xid;
	pthread_mutex_unlock(&s->mu);
	if (out->lost) {
		out->util_pct = out->temperature_c = out->power_w = -1;
		out->memory_used_mib = 0;
		return 0;
	}
	if (r != NVML_OK) {
		GH_WARN("NVML cannot read the memory use of GPU %d (%s): %s.", index,
		        d->info.uuid, nvml_err(a, r));
		return GH_EIO;
	}
	return 0;
}

/* Reads the compute processes of d into a malloc'd array (caller frees). */
static nvml_ret_t nvml_list_procs(const nvml_api_t *a, nvml_dev_t h,
                                  nvml_proc_t **out, unsigned int *n)
{
	unsigned int cap = 64, k, tries;
	nvml_ret_t r = NVML_E_INSUFFICIENT;

	*out = NULL;
	*n = 0;
	for (tries = 0; tries < 4 && r == NVML_E_INSUFFICIENT; tries++) {
		nvml_proc_t *v = calloc(cap, sizeof(*v));
		unsigned int got = cap;
		if (!v)
			return NVML_E_INSUFFICIENT;
		if (a->procs) {
			r = a->procs(h, &got, v);
		} else {
			nvml_proc_v1_t *v1 = calloc(cap, sizeof(*v1));
			r = v1 ? a->procs_v1(h, &got, v1) : NVML_E_INSUFFICIENT;
			for (k = 0; r == NVML_OK && k < got && k < cap; k++) {
				v[k].pid = v1[k].pid;
				v[k].used_mem = v1[k].used_mem;
			}
			free(v1);
		}
		if (r == NVML_OK) {
			*out = v;
			*n = got < cap ? got : cap;
			return r;
		}
		free(v);
		cap = (got > cap ? got : cap) * 2;   /* processes may start meanwhile */
	}
	return r;
}

/* The latest SM utilization of pid among samples, or -1. */
static int nvml_sample_util(const nvml_proc_sample_t *v, unsigned int n, unsigned int pid)
{
	unsigned long long best = 0;
	unsigned int i;
	int util = -1;
	for (i = 0; i < n; i++) {
		if (v[i].pid == pid && (util < 0 || v[i].ts_us >= best)) {
			best = v[i].ts_us;
			util = v[i].sm_util > 100 ? 100 : (int)v[i].sm_util;
		}
	}
	return util;
}

static int nvml_proc_cmp(const void *x, const void *y)
{
	const gh_gpu_proc_t *a = x, *b = y;
	return (a->pid > b->pid) - (a->pid < b->pid);
}

static int nvml_processes(gh_gpu_src_t *src, int index, gh_gpu_proc_t *out, int max, int *n)
{
	nvml_src_t *s = (nvml_src_t *)src;
	const nvml_api_t *a = &s->api;
	nvml_dev_t h;
	nvml_proc_t *procs = NULL;
	nvml_proc_sample_t samples[256];
	unsigned int np = 0, ns = 0, i;
	int lost, have_samples = 0;
	nvml_ret_t r;

	*n = 0;
	if (index < 0 || index >= s->n)
		return GH_ENOTFOUND;
	h = s->dev[index].h;
	pthread_mutex_lock(&s->mu);
	lost = s->dev[index].lost;
	pthread_mutex_unlock(&s->mu);
	if (lost)
		return GH_EIO;
	if (!a->procs && !a->procs_v1)
		return 0;                        /* this driver cannot say */

	r = nvml_list_procs(a, h, &procs, &np);
	nvml_note_lost(s, index, r);
	if (r != NVML_OK)
		return r == NVML_E_NOT_SUPPORTED ? 0 : GH_EIO;
	if (a->proc_util && np > 0) {
		/* Samples of the last 5 s; NVML keeps a short ring per device. */
		unsigned long long since = (unsigned long long)(gh_now_ms() - 5000) * 1000ULL;
		ns = sizeof(samples) / sizeof(samples[0]);
		r = a->proc_util(h, samples, &ns, since);
		have_samples = r == NVML_OK;
		if (!have_samples)
			ns = 0;
	}
	for (i = 0; i < np && *n < max; i++) {
		gh_gpu_proc_t *p = &out[*n];
		p->pid = (int)procs[i].pid;
		p->gpu_index = index;
		p->memory_mib = (int64_t)(procs[i].used_mem / (1024 * 1024));
		p->util_pct = have_samples ? nvml_sample_util(samples, ns, procs[i].pid) : -1;
		if (have_samples && p->util_pct < 0)
			p->util_pct = 0;         /* no sample in the window: it did no work */
		(*n)++;
	}
	free(procs);
	if (*n > 1)
		qsort(out, (size_t)*n, sizeof(*out), nvml_proc_cmp);
	return 0;
}

/* Moves pending NVML events into our queue. Caller holds s->mu. */
static void nvml_pump_events(nvml_src_t *s)
{
	const nvml_api_t *a = &s->api;
	nvml_event_t ev;
	int i, budget = GPU_EVQ_CAP;

	while (s->evset && budget-- > 0) {
		nvml_ret_t r;
		memset(&ev, 0, sizeof(ev));
		r = a->evset_wait(s->evset, &ev, 0);
		if (r == NVML_E_GPU_IS_LOST) {
			for (i = 0; i < s->n; i++)
				if (ev.device == s->dev[i].h)
					nvml_mark_lost(s, i);
			continue;
		}
		if (r != NVML_OK)
			break;                   /* NVML_E_TIMEOUT: nothing more */
		if (!(ev.type & NVML_EVENT_XID_CRITICAL))
			continue;
		for (i = 0; i < s->n; i++) {
			nvml_gpu_t *d = &s->dev[i];
			if (ev.device != d->h)
				continue;
			d->healthy = 0;
			d->last_xid = (int)ev.data;
			gpu_evq_push(&s->evq, GH_GPU_EV_XID, i, d->last_xid);
			GH_ERROR("GPU %d (%s) reported XID %d.", i, d->info.uuid, d->last_xid);
			if (d->last_xid == GPU_XID_FELL_OFF_BUS)
				nvml_mark_lost(s, i);
		}
	}
}

static int nvml_poll_events(gh_gpu_src_t *src, gh_gpu_event_t *out, int max, int *n)
{
	nvml_src_t *s = (nvml_src_t *)src;
	pthread_mutex_lock(&s->mu);
	nvml_pump_events(s);
	*n = gpu_evq_drain(&s->evq, out, max);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int nvml_inject(gh_gpu_src_t *src, int index, gh_gpu_event_type_t type, int xid)
{
	nvml_src_t *s = (nvml_src_t *)src;
	nvml_gpu_t *d;

	(void)xid;
	if (index < 0 || index >= s->n)
		return GH_ENOTFOUND;
	if (type != GH_GPU_EV_CLEARED)
		return GH_EUNSUPPORTED;
	d = &s->dev[index];
	pthread_mutex_lock(&s->mu);
	d->healthy = 1;
	d->lost = 0;
	d->last_xid = 0;
	gpu_evq_push(&s->evq, GH_GPU_EV_CLEARED, index, 0);
	pthread_mutex_unlock(&s->mu);
	GH_INFO("GPU %d (%s) was marked healthy again by an admin.", index, d->info.uuid);
	return 0;
}

const gpu_ops_t gpu_nvml_ops = {
	.name = "nvml",
	.open = nvml_open,
	.close = nvml_close,
	.count = nvml_count,
	.info = nvml_info,
	.telemetry = nvml_telemetry,
	.processes = nvml_processes,
	.poll_events = nvml_poll_events,
	.inject = nvml_inject,
};
