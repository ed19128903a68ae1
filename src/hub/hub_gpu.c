/*
 * hub_gpu.c — the GPU inventory as the hub sees it: telemetry polls, fault
 * events (XID, lost, cleared) and their injection for tests.
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <unistd.h>

/* --- GPU telemetry and faults --- */

static void gpu_event(hub_t *hub, const gh_gpu_event_t *ev)
{
	hub_gpu_t *g;
	if (ev->gpu_index < 0 || ev->gpu_index >= hub->n_gpus)
		return;
	g = &hub->gpus[ev->gpu_index];
	switch (ev->type) {
	case GH_GPU_EV_XID:
		g->tel.healthy = 0;
		g->tel.last_xid = ev->xid;
		metrics_gpu_xid(hub->metrics, ev->gpu_index);
		hub_emit(hub, 0, 0, "gpu.xid", 0, -1, "GPU %d (%s) reported XID %d; it is quarantined: no new placements",
		         ev->gpu_index, g->info.uuid, ev->xid);
		GH_WARN("GPU %d reported XID error %d; quarantined", ev->gpu_index, ev->xid);
		hub_gpu_quarantine(hub, ev->gpu_index, ev->xid);
		break;
	case GH_GPU_EV_LOST:
		g->tel.healthy = 0;
		g->tel.lost = 1;
		hub_emit(hub, 0, 0, "gpu.lost", 0, -1, "GPU %d (%s) was lost", ev->gpu_index, g->info.uuid);
		GH_ERROR("GPU %d was lost", ev->gpu_index);
		break;
	case GH_GPU_EV_CLEARED:
		g->tel.healthy = 1;
		g->tel.lost = 0;
		g->tel.last_xid = 0;
		hub_emit(hub, 0, 0, "gpu.cleared", 0, -1, "GPU %d is healthy again", ev->gpu_index);
		hub_gpu_quarantine_cleared(hub, ev->gpu_index);
		hub->sched_dirty = 1;
		break;
	}
}

void hub_gpu_poll(hub_t *hub, int64_t now)
{
	gh_gpu_event_t evs[16];
	int i, n = 0;
	(void)now;

	while (gpu_poll_events(hub->gpu, evs, 16, &n) == 0 && n > 0)
		for (i = 0; i < n; i++)
			gpu_event(hub, &evs[i]);
	for (i = 0; i < hub->n_gpus; i++) {
		gh_gpu_telemetry_t t;
		if (gpu_telemetry(hub->gpu, i, &t) == 0) {
			hub->gpus[i].tel = t;
		} else if (!hub->gpus[i].tel.lost) {
			hub->gpus[i].tel.lost = 1;
			hub->gpus[i].tel.healthy = 0;
		}
	}
	hub_gpu_attribute(hub);
}

int hub_gpu_fault(hub_t *hub, int index, gh_gpu_event_type_t type, int xid, int64_t actor_id)
{
	int rc;
	(void)actor_id;
	if (index < 0 || index >= hub->n_gpus)
		return GH_ENOTFOUND;
	if ((rc = gpu_inject(hub->gpu, index, type, xid)))
		return rc;
	hub_gpu_poll(hub, gh_now_ms());
	return 0;
}
