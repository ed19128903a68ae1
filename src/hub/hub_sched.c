/*
 * hub_sched.c — the bridge between the hub and the scheduler (sched/).
 *
 * Each pass turns the hub's live state into sched/'s inputs, asks
 * sched_decide() what to do, and carries the answer out:
 *
 *   hub                                   sched/
 *   -------------------------------------+-------------------------------
 *   GPU inventory (16 per node "local-k") | place_cluster_t nodes and GPUs
 *   quarantined, unhealthy or lost GPU    | place_gpu_t.disabled
 *   session holding GPUs                  | sched_running_t + its slots
 *   queued session                        | sched_req_t (enqueue = created)
 *   kernel waiting for GPUs (hub_kgpu.c)  | sched_req_t (enqueue = its claim)
 *   user / group                          | ids (groups numbered by name)
 *   admission                             | allocations + state starting
 *   preemption                            | the victim is suspended when idle,
 *                                         | else stopped, with why
 *   everyone still waiting                | queue position, ETA, reason
 *
 * Local GPUs can all be shared by fractions (MPS-style), so a 0.5 request
 * packs onto a GPU another fraction already uses. Host CPU and memory are
 * not scheduled by the local engine (nodes get unlimited amounts).
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_GPUS PLACE_NODE_GPUS_MAX
#define HOST_UNLIMITED ((int64_t)1 << 40)

/* A quota of gpus whole GPUs (0: none) is a hard cap unless a higher max
 * allows borrowing up to it. */
static void gpu_quota(sched_limit_t *l, int gpus, int max)
{
	if (gpus <= 0)
		return;
	l->gpu_milli = (int64_t)gpus * 1000;
	l->gpu_milli_max = (int64_t)(max ? max : gpus) * 1000;
}

void hub_sched_configure(hub_t *hub)
{
	const gh_config_t *cfg = &hub->cfg;
	sched_policy_t *p = &hub->policy;

	sched_policy_default(p);
	if (place_policy_parse(cfg->sched_placement, &p->placement) != 0)
		p->placement = PLACE_GPUHUB;
	p->half_life_ms = (int64_t)cfg->sched_half_life_hours * 3600 * 1000;
	gpu_quota(&p->user_default, cfg->sched_user_gpus, cfg->sched_user_gpus_max);
	gpu_quota(&p->group_default, cfg->sched_group_gpus, cfg->sched_group_gpus_max);
	if (cfg->sched_user_sessions > 0)
		p->user_default.sessions = cfg->sched_user_sessions;
	hub->sched_dirty = 1;
}

int hub_sched_open(hub_t *hub)
{
	hub_sched_configure(hub);
	return sched_create(&hub->sched);
}

void hub_sched_close(hub_t *hub)
{
	if (hub->sched)
		sched_destroy(hub->sched);
	hub->sched = NULL;
}

/* Small numbering of group names (ids must be stable within one pass). */
static int64_t group_id(const hub_t *hub, const gh_user_t *u)
{
	if (!u || !u->group[0])
		return 0;
	for (int i = 0; i < hub->n_users; i++)
		if (strcmp(hub->users[i].group, u->group) == 0)
			return i + 1; /* first user carrying the name */
	return 0;
}

static int build_cluster(hub_t *hub, place_cluster_t *c)
{
	int i, rc;
	char name[32];

	if ((rc = place_cluster_init(c)))
		return rc;
	for (i = 0; i < hub->n_gpus; i++) {
		const hub_gpu_t *g = &hub->gpus[i];
		int node = i / NODE_GPUS;
		place_gpu_t *pg;
		if (i % NODE_GPUS == 0) {
			snprintf(name, sizeof(name), "local-%d", node);
			if ((rc = place_cluster_add_node(c, name, HOST_UNLIMITED, HOST_UNLIMITED, NULL)))
				return rc;
		}
		if ((rc = place_node_add_gpu(c, node, g->info.model, g->info.memory_mib, PLACE_SHARE_MPS, -1)))
			return rc;
		pg = &c->nodes[node].gpus[i % NODE_GPUS];
		pg->index = i;
		pg->disabled = g->quarantined || !g->tel.healthy || g->tel.lost;
	}
	if (hub->n_gpus == 0)
		rc = place_cluster_add_node(c, "local-0", HOST_UNLIMITED, HOST_UNLIMITED, NULL);
	return rc;
}

typedef struct {
	place_cluster_t cluster;
	place_workload_t workload;       /* shapes of the sessions this hub sees */
	sched_running_t *run;
	place_slot_t *slots;
	sched_req_t *queue;
	hub_session_t **queued;          /* queue[i] is queued[i] */
	int nrun, nqueue;
} pass_t;

static void pass_free(pass_t *p)
{
	place_workload_destroy(&p->workload);
	place_cluster_destroy(&p->cluster);
	free(p->run);
	free(p->slots);
	free(p->queue);
	free(p->queued);
}

static int build_pass(hub_t *hub, pass_t *p)
{
	int i, k, nslots = 0, rc;

	memset(p, 0, sizeof(*p));
	place_workload_init(&p->workload);
	if ((rc = build_cluster(hub, &p->cluster)))
		return rc;
	/* ended sessions hold no GPUs and want none: the live ones only */
	for (i = 0; i < hub->n_live; i++)
		nslots += hub_live_at(hub, i)->n_allocs;
	p->run = calloc((size_t)hub->n_live + 1, sizeof(*p->run));
	p->slots = calloc((size_t)nslots + 1, sizeof(*p->slots));
	p->queue = calloc((size_t)hub->n_live + 1, sizeof(*p->queue));
	p->queued = calloc((size_t)hub->n_live + 1, sizeof(*p->queued));
	if (!p->run || !p->slots || !p->queue || !p->queued)
		return GH_ENOMEM;
	nslots = 0;
	for (i = 0; i < hub->n_live; i++) {
		hub_session_t *hs = hub_live_mut(hub, i);
		const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
		if (hs->n_allocs > 0) {
			sched_running_t *r = &p->run[p->nrun++];
			r->id = hs->s.id;
			r->user = hs->s.user_id;
			r->group = group_id(hub, u);
			r->cls = hub->policy.default_class;
			r->idle = hs->s.state == GH_SESS_IDLE_WARNED || hs->idle_now;
			r->releasing = hs->s.state == GH_SESS_STOPPING || hs->s.state == GH_SESS_SUSPENDING;
			r->start_ms = hs->s.started_at ? hs->s.started_at : hs->s.updated_at;
			r->slots = &p->slots[nslots];
			for (k = 0; k < hs->n_allocs; k++) {
				place_slot_t *sl = &p->slots[nslots++];
				sl->node = hs->allocs[k].gpu_index / NODE_GPUS;
				sl->gpu = hs->allocs[k].gpu_index % NODE_GPUS;
				sl->milli = hs->allocs[k].milli;
				sl->gpu_memory_mib = hs->allocs[k].memory_mib;
			}
			r->nslots = hs->n_allocs;
		} else if (hub_kgpu_request(hub, hs) >= 0) {
			/* a queued session, or a running one whose kernel waits (hub_kgpu.c) */
			sched_req_t *q = &p->queue[p->nqueue];
			sched_req_init(q);
			q->id = hs->s.id;
			q->user = hs->s.user_id;
			q->group = group_id(hub, u);
			q->enqueue_ms = hs->s.state == GH_SESS_QUEUED ? hs->s.created_at : hs->kwant_since;
			if (sched_req_set_gpu_milli(q, hub_kgpu_request(hub, hs)) != 0)
				continue;
			gh_strlcpy(q->shape.models, hs->s.gpu_model, sizeof(q->shape.models));
			q->shape.cpu_milli = 0;
			q->shape.memory_mib = 0;
			p->queued[p->nqueue++] = hs;
		}
	}
	/* the target workload fgd/gpuhub placement measures fragmentation
	 * against: the GPU shapes of the sessions now queued or running */
	for (i = 0; i < hub->n_live; i++) {
		const hub_session_t *hs = hub_live_at(hub, i);
		sched_req_t tmp;
		if (hs->s.gpu_milli <= 0 || !gh_sess_state_active(hs->s.state))
			continue;
		sched_req_init(&tmp);
		if (sched_req_set_gpu_milli(&tmp, hs->s.gpu_milli) == 0)
			place_workload_add(&p->workload, &p->cluster, &tmp.shape, 1.0);
	}
	place_workload_finish(&p->workload, 1.0);
	return sched_cluster_take_running(&p->cluster, p->run, p->nrun);
}

/* p->queued follows the live index, so it is in id order */
static int by_id(const void *key, const void *elem)
{
	int64_t id = *(const int64_t *)key, e = (*(hub_session_t *const *)elem)->s.id;
	return id < e ? -1 : id > e;
}

static hub_session_t *queued_by_id(pass_t *p, int64_t id)
{
	hub_session_t **hs = bsearch(&id, p->queued, (size_t)p->nqueue, sizeof(*p->queued), by_id);
	return hs ? *hs : NULL;
}

/* A victim the scheduler marks for suspend (idle, or interactive work it
 * may move) and one the hub sees idle are suspended: their files and open
 * notebooks come back when they wake. Others are stopped. */
static void preempt(hub_t *hub, const sched_preempt_t *pr, const char *why)
{
	const hub_session_t *hs = hub_session_get(hub, pr->alloc_id);
	char msg[GH_TEXT_MAX + 32], err[HUB_WHY];
	if (hs)
		metrics_sched_preempt(hub->metrics, hub_session_class(hub, hs));
	/* a suspension counts its reclaimed GPU-seconds when it completes
	 * (hub_record_reclaimed, label "preempted") */
	if (hs && (pr->suspend || hs->s.state == GH_SESS_IDLE_WARNED || hs->idle_now) &&
	    (hs->s.state == GH_SESS_RUNNING || hs->s.state == GH_SESS_IDLE_WARNED)) {
		snprintf(msg, sizeof(msg), "preempted: %.200s", why);
		if (hub_session_suspend_for(hub, pr->alloc_id, 0, "preempted", msg, err, sizeof(err)) == 0)
			return;
	}
	hub_session_stop_for(hub, pr->alloc_id, why, "preempted");
}

void hub_schedule(hub_t *hub, int64_t now)
{
	pass_t p;
	sched_input_t in;
	sched_result_t res;
	char why[GH_TEXT_MAX];
	int i, k, rc;
	int64_t t0;

	rc = build_pass(hub, &p);
	if (rc) {
		GH_ERROR("cannot prepare a scheduling pass: %s", gh_strerror(rc));
		pass_free(&p);
		return;
	}
	if (p.nqueue == 0) {
		pass_free(&p);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.cluster = &p.cluster;
	in.queue = p.queue;
	in.nqueue = p.nqueue;
	in.running = p.run;
	in.nrunning = p.nrun;
	hub->policy.workload = p.workload.n > 0 ? &p.workload : NULL;
	in.policy = &hub->policy;
	in.now_ms = now;
	t0 = gh_mono_ns();
	rc = sched_decide(hub->sched, &in, &res);
	metrics_sched_pass(hub->metrics, (gh_mono_ns() - t0) / 1e9);
	hub->policy.workload = NULL; /* it lives in this pass only */
	if (rc) {
		GH_ERROR("the scheduler refused its input: %s", gh_strerror(rc));
		pass_free(&p);
		return;
	}
	for (i = 0; i < res.nadmits; i++) {
		const sched_admit_t *a = &res.admits[i];
		hub_session_t *hs = queued_by_id(&p, a->req_id);
		int picks[PLACE_REQ_SLOTS_MAX], millis[PLACE_REQ_SLOTS_MAX], n = 0;
		if (!hs)
			continue;
		for (k = 0; k < a->nslots; k++) {
			const place_slot_t *sl = &a->slots[k];
			if (sl->gpu < 0)
				continue;
			picks[n] = p.cluster.nodes[sl->node].gpus[sl->gpu].index;
			millis[n++] = sl->milli;
		}
		{
			int64_t since = hs->s.started_at ? hs->s.updated_at : hs->s.created_at;
			if ((hs->s.state == GH_SESS_QUEUED ? hub_admit(hub, hs, picks, millis, n)
			                                   : hub_kgpu_admit(hub, hs, picks, millis, n)) != 0)
				GH_ERROR("session %lld: could not record its allocation", (long long)hs->s.id);
			else
				metrics_sched_admit(hub->metrics, hub_session_class(hub, hs), (now - since) / 1000.0);
		}
	}
	for (i = 0; i < res.npreempts; i++) {
		const sched_preempt_t *pr = &res.preempts[i];
		sched_preempt_reason(pr, why, sizeof(why));
		GH_INFO("session %lld is preempted: %s", (long long)pr->alloc_id, why);
		preempt(hub, pr, why);
	}
	for (i = 0; i < res.nwaits; i++) {
		const sched_wait_t *w = &res.waits[i];
		hub_session_t *hs = queued_by_id(&p, w->req_id);
		if (!hs)
			continue;
		sched_wait_reason(w, &p.cluster, why, sizeof(why));
		if (hs->s.state == GH_SESS_QUEUED) {
			hub_queue_update(hub, hs, w->position, w->eta_s, why);
		} else if (hs->queue_position != w->position || hs->eta_s != w->eta_s) {
			hs->queue_position = w->position; /* a kernel waiting in a running session */
			hs->eta_s = w->eta_s;
			hs->rev++;
		}
	}
	pass_free(&p);
}
