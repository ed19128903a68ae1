/*
 * hub_metrics.c — what the hub keeps for GET /metrics: its counters
 * (metrics.h), the scrape token, per-session GPU attribution, and the
 * scheduler's class names.
 *
 * Attribution (hub_gpu_attribute, after each telemetry poll): for every
 * GPU that has allocations and shows use, the GPU source lists the
 * processes on it (NVML, or the simulator's report files); each process is
 * given to the session, among those allocated on that GPU, whose
 * workspace owns it (rt_owns_pid: for the local engine, the workspace's
 * Unix session). Two sessions sharing one GPU so each get their own
 * processes' figures, never the device total.
 *
 *   GPU telemetry          | processes read | session figures
 *   -----------------------+----------------+------------------------------
 *   util 0 and no memory   | no             | 0 % and 0 bytes (idle device)
 *   anything else          | yes            | sum of its processes; util
 *                          |                | unknown (-1) when none of its
 *                          |                | processes reports one
 *   lost / unreadable      | no             | unknown
 *
 * Worked example: GPU 0 at 70 %, 30 GiB; session A (pid 100) reports
 * util 50, 20 GiB and session B (pid 200) util 20, 10 GiB. A shows 0.5
 * and 20 GiB, B 0.2 and 10 GiB, although both hold half of GPU 0.
 *
 * Scrape token (metrics.token_file): read at start and on SIGHUP; its
 * first line, blanks trimmed, is the bearer token Prometheus must send.
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTR_PROCS 64

metrics_t *hub_metrics(hub_t *hub) { return hub->metrics; }

double hub_reclaim_estimate(const hub_t *hub, int milli)
{
	return milli / 1000.0 * hub->cfg.metrics_reclaim_horizon_s;
}

int hub_session_milli(const hub_session_t *hs)
{
	int milli = 0;
	for (int i = 0; i < hs->n_allocs; i++)
		milli += hs->allocs[i].milli;
	return milli;
}

void hub_reclaim_session(hub_t *hub, const hub_session_t *hs, const char *reason)
{
	int milli = hub_session_milli(hs);
	if (milli > 0)
		metrics_reclaimed_add(hub->metrics, reason, hub_reclaim_estimate(hub, milli));
}

/* --- scrape token --- */

int hub_metrics_token_load(hub_t *hub, const char *path, char *errmsg, size_t errlen)
{
	char buf[sizeof(hub->metrics_token)];
	FILE *f;
	size_t n;

	if (!path || !path[0]) {
		hub->metrics_token[0] = '\0';
		return 0;
	}
	f = fopen(path, "r");
	if (!f) {
		snprintf(errmsg, errlen, "metrics.token_file: cannot read %s", path);
		return GH_EIO;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (n < 16) {
		snprintf(errmsg, errlen, "metrics.token_file: %s must hold a token of at least 16 characters", path);
		return GH_ECONFIG;
	}
	memcpy(hub->metrics_token, buf, n + 1);
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

int hub_metrics_authorized(const hub_t *hub, const char *bearer, size_t len)
{
	size_t want = strlen(hub->metrics_token);
	if (!want)
		return 1;
	if (!bearer || len != want)
		return 0;
	return sodium_memcmp(bearer, hub->metrics_token, want) == 0;
}

/* --- classes --- */

int hub_class_count(const hub_t *hub) { return hub->policy.nclasses; }

const char *hub_class_name(const hub_t *hub, int i)
{
	return i >= 0 && i < hub->policy.nclasses ? hub->policy.classes[i].name : "other";
}

const char *hub_session_class(const hub_t *hub, const hub_session_t *hs)
{
	(void)hs; /* every session gets the policy's default class for now */
	return hub_class_name(hub, hub->policy.default_class);
}

/* --- attribution --- */

/* The session allocated on gpu whose workspace owns pid, or NULL. */
static hub_session_t *owner_on(hub_t *hub, int gpu, int pid)
{
	for (int j = 0; j < hub->n_live; j++) {
		hub_session_t *hs = hub_live_mut(hub, j);
		if (hs->n_allocs == 0 || !hs->s.runtime_ref[0])
			continue;
		for (int k = 0; k < hs->n_allocs; k++)
			if (hs->allocs[k].gpu_index == gpu && rt_owns_pid(hub->rt, hs->s.runtime_ref, pid))
				return hs;
	}
	return NULL;
}

void hub_gpu_attribute(hub_t *hub)
{
	gh_gpu_proc_t procs[ATTR_PROCS];
	int i, k, n;

	for (i = 0; i < hub->n_live; i++) {
		hub_session_t *hs = hub_live_mut(hub, i);
		hs->attr_util_pct = -1;
		hs->attr_mem_mib = 0;
	}
	for (i = 0; i < hub->n_gpus; i++) {
		const hub_gpu_t *g = &hub->gpus[i];
		if (g->allocated_milli == 0 || g->tel.lost)
			continue;
		if (g->tel.util_pct == 0 && g->tel.memory_used_mib == 0) {
			/* an idle device: everyone on it is idle, no need to ask */
			for (k = 0; k < hub->n_live; k++) {
				hub_session_t *hs = hub_live_mut(hub, k);
				for (int a = 0; a < hs->n_allocs; a++)
					if (hs->allocs[a].gpu_index == i && hs->attr_util_pct < 0)
						hs->attr_util_pct = 0;
			}
			continue;
		}
		if (gpu_processes(hub->gpu, i, procs, ATTR_PROCS, &n) != 0)
			continue;
		for (k = 0; k < n; k++) {
			hub_session_t *hs = owner_on(hub, i, procs[k].pid);
			if (!hs)
				continue;
			hs->attr_mem_mib += procs[k].memory_mib;
			if (procs[k].util_pct >= 0)
				hs->attr_util_pct = (hs->attr_util_pct < 0 ? 0 : hs->attr_util_pct) + procs[k].util_pct;
		}
	}
}
