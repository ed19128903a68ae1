/*
 * gpu_sim.c — the simulated GPU inventory ("sim:N[xMODEL]").
 *
 * Why: gpuhub must run, and be tested end to end, on machines without a
 * GPU. This source is a real back end, not canned answers: devices have a
 * model, memory and capacity; their utilization and memory use come from
 * the processes that use them, which say so in report files; faults are
 * injected and come back as events. Telemetry, idle detection and metrics
 * therefore run the very code they run over NVML.
 *
 * Spec (the part after "sim:"): one or more groups "N[xMODEL]" joined by
 * commas, e.g. "4", "4xA100-80GB", "2xA100-80GB,2xT4"; "" = "4xA100-80GB".
 * MODEL is [A-Za-z0-9._-]+ and defaults to A100-80GB; at most 64 devices.
 * Memory comes from a "-NNGB" suffix of the model name, else from the
 * table below, else 16384 MiB. UUIDs are deterministic:
 * "GPU-sim-0000-0000-0000-000000000003" is device 3.
 *
 * Usage comes from report files: see gpu_sim_report.c for their format.
 *
 * Per device, from the reports that name it:
 *
 *   field            | model
 *   -----------------+--------------------------------------------------
 *   util_pct         | min(100, sum of the processes' util)
 *   memory_used_mib  | min(device memory, sum of the processes' mem_mib)
 *   temperature_c    | 30 + util/2                     (30..80 °C)
 *   power_w          | idle + util * (TDP - idle) / 100, idle = TDP / 5
 *
 * Worked example: an A100-80GB (TDP 400 W) with reports util=60 and
 * util=70 shows util 100, 80 °C, 400 W; with only util=60: 60, 60 °C,
 * 80 + 60 * 320 / 100 = 272 W.
 *
 * Faults (gpu_inject):
 *
 *   inject   | healthy | lost | last_xid | event   | allowed when lost
 *   ---------+---------+------+----------+---------+------------------
 *   XID n    | 0       | =    | n        | XID     | no (GH_ESTATE)
 *   XID 79   | 0       | 1    | 79       | XID+LOST| no
 *   LOST     | 0       | 1    | =        | LOST    | no (GH_ESTATE)
 *   CLEARED  | 1       | 0    | 0        | CLEARED | yes
 *
 * A lost device answers telemetry with lost=1 and unknown readings, and
 * processes() with GH_EIO, as NVML does for a GPU that fell off the bus.
 */
#include "gpu/gpu.h"
#include "gpu/gpu_int.h"
#include "gpu/sim/gpu_sim_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define SIM_DEFAULT_SPEC   "4xA100-80GB"
#define SIM_DEFAULT_MODEL  "A100-80GB"
#define SIM_FALLBACK_MIB   16384
#define SIM_FALLBACK_TDP   300

/* Common models: memory and board power. Names without a "-NNGB" suffix
 * take their memory from here; suffixed names take the TDP of their base
 * ("A100-80GB" → "A100"). */
static const struct sim_model {
	const char *name;
	int64_t mib;
	int tdp_w;
} sim_models[] = {
	{"A100",       40960, 400},
	{"A100-40GB",  40960, 400},
	{"A100-80GB",  81920, 400},
	{"H100",       81920, 700},
	{"H100-80GB",  81920, 700},
	{"H200",      144384, 700},
	{"V100",       16384, 300},
	{"V100-16GB",  16384, 300},
	{"V100-32GB",  32768, 300},
	{"P100",       16384, 250},
	{"T4",         16384,  70},
	{"A2",         16384,  60},
	{"A10",        24576, 150},
	{"A30",        24576, 165},
	{"A40",        49152, 300},
	{"L4",         24576,  72},
	{"L40",        49152, 300},
	{"L40S",       49152, 350},
	{"RTX-A4000",  16384, 140},
	{"RTX-A5000",  24576, 230},
	{"RTX-A6000",  49152, 300},
	{"RTX-3090",   24576, 350},
	{"RTX-4090",   24576, 450},
};

typedef struct {
	gh_gpu_info_t info;
	int tdp_w;
	int healthy;                     /* guarded by sim_src.mu */
	int lost;
	int last_xid;
} sim_dev_t;

typedef struct {
	gh_gpu_src_t base;               /* first: a sim_src_t * is a gh_gpu_src_t * */
	int n;
	sim_dev_t dev[SIM_MAX_DEVICES];
	char dir[PATH_MAX];              /* report directory, "" = reports off */
	pthread_mutex_t mu;              /* fault flags and evq */
	gpu_evq_t evq;
	/* The last scan of the report directory (see sim_scan). */
	pthread_mutex_t scan_mu;
	sim_list_t scan;
	int scan_ok;
	int64_t scan_at;                 /* ms */
	struct timespec scan_mtime;      /* of the directory, taken before the scan */
} sim_src_t;

/*
 * A poll asks every device in turn, from index 0 up, for its telemetry and
 * then its processes: one directory scan serves a whole sweep. A question
 * about device 0 always scans afresh (so a process that died or a report
 * that went stale since the last sweep is seen at once); the other devices
 * reuse that scan while the directory is unchanged (reports are renamed
 * into it, so every new report changes it) and for at most
 * SIM_SCAN_REUSE_MS. File times come from a coarse clock (a few ms), so a
 * scan of a directory changed less than SIM_SCAN_SETTLE_MS before is not
 * reused: a report renamed in the same clock tick would not change it. 64 devices cost 2 scans a poll instead of 128.
 * l gets a copy.
 */
#define SIM_SCAN_REUSE_MS 250
#define SIM_SCAN_SETTLE_MS 20

static int sim_scan(sim_src_t *s, int index, sim_list_t *l)
{
	struct stat st;
	struct timespec rt;
	int64_t now = gh_now_ms();
	int have = s->dir[0] && stat(s->dir, &st) == 0, rc = 0;

	memset(l, 0, sizeof(*l));
	pthread_mutex_lock(&s->scan_mu);
	if (!(have && index > 0 && s->scan_ok && now - s->scan_at < SIM_SCAN_REUSE_MS &&
	      st.st_mtim.tv_sec == s->scan_mtime.tv_sec && st.st_mtim.tv_nsec == s->scan_mtime.tv_nsec)) {
		free(s->scan.v);
		s->scan_ok = 0;
		rc = sim_report_scan(s->dir, s->n, &s->scan);
		clock_gettime(CLOCK_REALTIME, &rt);
		if (rc == 0 && have &&
		    (rt.tv_sec - st.st_mtim.tv_sec) * 1000 + (rt.tv_nsec - st.st_mtim.tv_nsec) / 1000000 >
			    SIM_SCAN_SETTLE_MS) {
			s->scan_ok = 1;
			s->scan_at = now;
			s->scan_mtime = st.st_mtim;
		}
	}
	if (rc == 0 && s->scan.n > 0) {
		l->v = malloc((size_t)s->scan.n * sizeof(*l->v));
		if (l->v) {
			memcpy(l->v, s->scan.v, (size_t)s->scan.n * sizeof(*l->v));
			l->n = l->cap = s->scan.n;
		} else {
			rc = GH_ENOMEM;
		}
	}
	if (!s->scan_ok) {
		free(s->scan.v);
		memset(&s->scan, 0, sizeof(s->scan));
	}
	pthread_mutex_unlock(&s->scan_mu);
	return rc;
}

static void sim_msg(char *errmsg, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sim_msg(char *errmsg, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!errmsg || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(errmsg, errlen, fmt, ap);
	va_end(ap);
}

/* ---- models -------------------------------------------------------------- */

static const struct sim_model *sim_model_find(const char *name, size_t len)
{
	size_t i;
	for (i = 0; i < sizeof(sim_models) / sizeof(sim_models[0]); i++)
		if (strlen(sim_models[i].name) == len &&
		    strncasecmp(sim_models[i].name, name, len) == 0)
			return &sim_models[i];
	return NULL;
}

/* Length of the base name when model ends in "-NNGB" (and *gb = NN), else 0. */
static size_t sim_model_suffix(const char *model, int64_t *gb)
{
	size_t len = strlen(model);
	const char *dash = strrchr(model, '-');
	const char *p;
	int64_t v = 0;

	if (!dash || dash == model || len < 4 || strcasecmp(model + len - 2, "GB") != 0)
		return 0;
	for (p = dash + 1; p < model + len - 2; p++) {
		if (!isdigit((unsigned char)*p) || v > 100000)
			return 0;
		v = v * 10 + (*p - '0');
	}
	if (p == dash + 1 || v <= 0)
		return 0;
	*gb = v;
	return (size_t)(dash - model);
}

static void sim_model_specs(const char *model, int64_t *mib, int *tdp)
{
	const struct sim_model *m = sim_model_find(model, strlen(model));
	int64_t gb = 0;
	size_t base = sim_model_suffix(model, &gb);

	if (!m && base)
		m = sim_model_find(model, base);
	*mib = base ? gb * 1024 : (m ? m->mib : SIM_FALLBACK_MIB);
	*tdp = m ? m->tdp_w : SIM_FALLBACK_TDP;
}

static int sim_model_valid(const char *s, size_t len)
{
	size_t i;
	if (len == 0 || len >= GH_MODEL_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.')
			return 0;
	}
	return 1;
}

/* ---- spec ----------------------------------------------------------------- */

static void sim_dev_init(sim_dev_t *d, int index, const char *model, size_t mlen)
{
	memset(d, 0, sizeof(*d));
	d->info.index = index;
	memcpy(d->info.model, model, mlen);
	d->info.model[mlen] = '\0';
	snprintf(d->info.uuid, sizeof(d->info.uuid), "GPU-sim-0000-0000-0000-%012d", index);
	sim_model_specs(d->info.model, &d->info.memory_mib, &d->tdp_w);
	d->info.capacity_milli = 1000;
	d->info.sharing = GH_SHARE_EXCLUSIVE;
	d->healthy = 1;
}

/* Parses one "N[xMODEL]" group of [p, end) and appends its devices. */
static int sim_parse_group(sim_src_t *s, const char *p, const char *end,
                           char *errmsg, size_t errlen)
{
	const char *model = SIM_DEFAULT_MODEL;
	size_t mlen = strlen(SIM_DEFAULT_MODEL);
	long count = 0;
	int i;

	if (p == end || !isdigit((unsigned char)*p))
		return GH_EINVAL;
	while (p < end && isdigit((unsigned char)*p)) {
		count = count * 10 + (*p++ - '0');
		if (count > SIM_MAX_DEVICES)
			break;
	}
	if (count <= 0 || s->n + count > SIM_MAX_DEVICES) {
		sim_msg(errmsg, errlen, "simulated GPU count must be 1 to %d in all", SIM_MAX_DEVICES);
		return GH_EINVAL;
	}
	if (p < end) {
		if (*p != 'x' || !sim_model_valid(p + 1, (size_t)(end - p - 1)))
			return GH_EINVAL;
		model = p + 1;
		mlen = (size_t)(end - model);
	}
	for (i = 0; i < count; i++, s->n++)
		sim_dev_init(&s->dev[s->n], s->n, model, mlen);
	return 0;
}

static int sim_parse_spec(sim_src_t *s, const char *spec, char *errmsg, size_t errlen)
{
	const char *p = spec, *comma;
	int rc;

	if (!*spec)
		spec = p = SIM_DEFAULT_SPEC;
	for (;;) {
		comma = strchr(p, ',');
		rc = sim_parse_group(s, p, comma ? comma : p + strlen(p), errmsg, errlen);
		if (rc != 0) {
			if (errmsg && errlen && !errmsg[0])
				sim_msg(errmsg, errlen, "bad simulated GPU spec \"%s\": expected "
				        "N[xMODEL][,N[xMODEL]...], e.g. 4xA100-80GB", spec);
			return rc;
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* ---- ops ------------------------------------------------------------------ */

static int sim_open(gh_gpu_src_t **out, const char *arg, const char *state_dir,
                    char *errmsg, size_t errlen)
{
	sim_src_t *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return GH_ENOMEM;
	s->base.ops = &gpu_sim_ops;
	s->base.simulated = 1;
	rc = sim_parse_spec(s, arg ? arg : "", errmsg, errlen);
	if (rc != 0)
		goto fail_free;
	if (state_dir && state_dir[0]) {
		rc = sim_report_ensure_dir(state_dir, s->dir, sizeof(s->dir), errmsg, errlen);
		if (rc != 0)
			goto fail_free;
	}
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		rc = GH_ENOMEM;
		goto fail_free;
	}
	if (pthread_mutex_init(&s->scan_mu, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		rc = GH_ENOMEM;
		goto fail_free;
	}
	*out = &s->base;
	return 0;

fail_free:
	free(s);
	return rc;
}

static void sim_close(gh_gpu_src_t *src)
{
	sim_src_t *s = (sim_src_t *)src;
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->scan_mu);
	free(s->scan.v);
	free(s);
}

static int sim_count(gh_gpu_src_t *src)
{
	return ((sim_src_t *)src)->n;
}

static int sim_info(gh_gpu_src_t *src, int index, gh_gpu_info_t *out)
{
	sim_src_t *s = (sim_src_t *)src;
	if (index < 0 || index >= s->n)
		return GH_ENOTFOUND;
	*out = s->dev[index].info;
	return 0;
}

static int sim_telemetry(gh_gpu_src_t *src, int index, gh_gpu_telemetry_t *out)
{
	sim_src_t *s = (sim_src_t *)src;
	const sim_dev_t *d;
	sim_list_t l;
	int util = 0, idle, i, rc;
	int64_t mem = 0;

	if (index < 0 || index >= s->n)
		return GH_ENOTFOUND;
	d = &s->dev[index];
	memset(out, 0, sizeof(*out));
	out->index = index;
	pthread_mutex_lock(&s->mu);
	out->healthy = d->healthy;
	out->lost = d->lost;
	out->last_xid = d->last_xid;
	pthread_mutex_unlock(&s->mu);
	if (out->lost) {
		out->util_pct = out->temperature_c = out->power_w = -1;
		return 0;
	}

	rc = sim_scan(s, index, &l);
	if (rc != 0)
		return rc;
	for (i = 0; i < l.n; i++) {
		if (l.v[i].gpu != index)
			continue;
		if (l.v[i].util > 0)
			util += l.v[i].util;
		mem += l.v[i].mem;
	}
	free(l.v);
	if (util > 100)
		util = 100;
	out->util_pct = util;
	out->memory_used_mib = mem < d->info.memory_mib ? mem : d->info.memory_mib;
	out->temperature_c = 30 + util / 2;
	idle = d->tdp_w / 5;
	out->power_w = idle + util * (d->tdp_w - idle) / 100;
	return 0;
}

static int sim_processes(gh_gpu_src_t *src, int index, gh_gpu_proc_t *out, int max, int *n)
{
	sim_src_t *s = (sim_src_t *)src;
	sim_list_t l;
	int lost, i, rc;

	*n = 0;
	if (index < 0 || index >= s->n)
		return GH_ENOTFOUND;
	pthread_mutex_lock(&s->mu);
	lost = s->dev[index].lost;
	pthread_mutex_unlock(&s->mu);
	if (lost)
		return GH_EIO;
	rc = sim_scan(s, index, &l);
	if (rc != 0)
		return rc;
	for (i = 0; i < l.n && *n < max; i++) {
		if (l.v[i].gpu != index)
			continue;
		out[*n].pid = l.v[i].pid;
		out[*n].gpu_index = index;
		out[*n].util_pct = l.v[i].util;
		out[*n].memory_mib = l.v[i].mem;
		(*n)++;
	}
	free(l.v);
	return 0;
}

static int sim_poll_events(gh_gpu_src_t *src, gh_gpu_event_t *out, int max, int *n)
{
	sim_src_t *s = (sim_src_t *)src;
	pthread_mutex_lock(&s->mu);
	*n = gpu_evq_drain(&s->evq, out, max);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int sim_inject(gh_gpu_src_t *src, int index, gh_gpu_event_type_t type, int xid)
{
	sim_src_t *s = (sim_src_t *)src;
	sim_dev_t *d;
	int rc = 0;

	if (index < 0 || index >= s->n)
		return GH_ENOTFOUND;
	if ((type == GH_GPU_EV_XID && xid <= 0) ||
	    (type != GH_GPU_EV_XID && type != GH_GPU_EV_LOST && type != GH_GPU_EV_CLEARED))
		return GH_EINVAL;
	d = &s->dev[index];
	pthread_mutex_lock(&s->mu);
	if (type == GH_GPU_EV_CLEARED) {
		d->healthy = 1;
		d->lost = 0;
		d->last_xid = 0;
		gpu_evq_push(&s->evq, GH_GPU_EV_CLEARED, index, 0);
	} else if (d->lost) {
		rc = GH_ESTATE;
	} else if (type == GH_GPU_EV_XID) {
		d->healthy = 0;
		d->last_xid = xid;
		gpu_evq_push(&s->evq, GH_GPU_EV_XID, index, xid);
		if (xid == GPU_XID_FELL_OFF_BUS) {
			d->lost = 1;
			gpu_evq_push(&s->evq, GH_GPU_EV_LOST, index, 0);
		}
	} else {
		d->healthy = 0;
		d->lost = 1;
		gpu_evq_push(&s->evq, GH_GPU_EV_LOST, index, 0);
	}
	pthread_mutex_unlock(&s->mu);
	if (rc != 0)
		return rc;
	if (type == GH_GPU_EV_XID)
		GH_INFO("simulated GPU %d (%s) got an injected XID %d error.", index, d->info.uuid, xid);
	else if (type == GH_GPU_EV_LOST)
		GH_INFO("simulated GPU %d (%s) was made lost by injection.", index, d->info.uuid);
	else
		GH_INFO("simulated GPU %d (%s) was cleared and is healthy again.", index, d->info.uuid);
	return 0;
}

const gpu_ops_t gpu_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.count = sim_count,
	.info = sim_info,
	.telemetry = sim_telemetry,
	.processes = sim_processes,
	.poll_events = sim_poll_events,
	.inject = sim_inject,
};
