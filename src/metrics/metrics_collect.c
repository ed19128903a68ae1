/*
 * metrics_collect.c — one scrape, family by family (docs/monitoring.md
 * lists them all). Gauges come from the hub's in-memory model, so a
 * scrape does no I/O and costs O(GPUs + sessions): with 64 GPUs and 1,000
 * sessions it writes ~10,000 lines into one buffer.
 *
 * Sessions: only those that are not finished (stopped/failed) get per-
 * session series, so the number of series follows what runs now, not the
 * history. gpuhub_sessions counts every state.
 *
 * Per-session GPU figures are attributed from the processes the GPU
 * source lists (hub_gpu_poll fills them): with two sessions sharing one
 * GPU, each shows its own processes' utilization and memory, not the
 * device total. A session whose processes report nothing shows no
 * utilization sample (unknown), rather than a made-up zero.
 */
#include "metrics/metrics_collect.h"
#include "metrics/expo.h"
#include "metrics/metrics_int.h"
#include "common/err.h"
#include "common/util.h"
#include "common/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB 1048576.0

typedef struct {
	char index[12];
	const char *labels[9];           /* uuid, index, model, node */
} gpu_labels_t;

static const char *node_name(void)
{
	static char host[256];
	if (!host[0] && (gethostname(host, sizeof(host) - 1) != 0 || !host[0]))
		gh_strlcpy(host, "localhost", sizeof(host));
	return host;
}

static void gpu_labels(const hub_gpu_t *g, gpu_labels_t *l)
{
	snprintf(l->index, sizeof(l->index), "%d", g->info.index);
	l->labels[0] = "uuid";
	l->labels[1] = g->info.uuid;
	l->labels[2] = "index";
	l->labels[3] = l->index;
	l->labels[4] = "model";
	l->labels[5] = g->info.model;
	l->labels[6] = "node";
	l->labels[7] = node_name();
	l->labels[8] = NULL;
}

/* One family over every GPU; field picks the value (<0: no sample). */
typedef double (*gpu_field_fn)(const hub_gpu_t *g, const metrics_t *m);

static double f_util(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->tel.util_pct < 0 || g->tel.lost ? -1 : g->tel.util_pct / 100.0;
}
static double f_mem_used(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->tel.lost ? -1 : (double)g->tel.memory_used_mib * MIB;
}
static double f_mem_total(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return (double)g->info.memory_mib * MIB;
}
static double f_temp(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->tel.temperature_c < 0 || g->tel.lost ? -1 : g->tel.temperature_c;
}
static double f_power(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->tel.power_w < 0 || g->tel.lost ? -1 : g->tel.power_w;
}
static double f_xid_total(const hub_gpu_t *g, const metrics_t *m)
{
	return g->info.index >= 0 && g->info.index < m->n_gpus ? (double)m->xid[g->info.index] : 0;
}
static double f_last_xid(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->tel.last_xid;
}
static double f_alloc(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->allocated_milli / 1000.0;
}
static double f_capacity(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->info.capacity_milli / 1000.0;
}
static double f_healthy(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->tel.healthy && !g->tel.lost ? 1 : 0;
}
static double f_lost(const hub_gpu_t *g, const metrics_t *m)
{
	(void)m;
	return g->tel.lost ? 1 : 0;
}

static const struct gpu_family {
	const char *name;
	expo_type_t type;
	const char *help;
	gpu_field_fn fn;
} gpu_families[] = {
	{"gpuhub_gpu_utilization_ratio", EXPO_GAUGE, "GPU busy fraction (0..1) over the last sample period.", f_util},
	{"gpuhub_gpu_memory_used_bytes", EXPO_GAUGE, "GPU memory in use.", f_mem_used},
	{"gpuhub_gpu_memory_total_bytes", EXPO_GAUGE, "GPU memory on the device.", f_mem_total},
	{"gpuhub_gpu_temperature_celsius", EXPO_GAUGE, "GPU temperature.", f_temp},
	{"gpuhub_gpu_power_watts", EXPO_GAUGE, "GPU board power draw.", f_power},
	{"gpuhub_gpu_xid_errors_total", EXPO_COUNTER, "XID errors the GPU reported since the hub started.", f_xid_total},
	{"gpuhub_gpu_last_xid", EXPO_GAUGE, "The last XID error code of the GPU until it is cleared; 0 = none.", f_last_xid},
	{"gpuhub_gpu_allocated_gpus", EXPO_GAUGE, "Part of the GPU allocated to sessions, in GPUs (0.5 = half).", f_alloc},
	{"gpuhub_gpu_capacity_gpus", EXPO_GAUGE, "Allocatable capacity of the device, in GPUs.", f_capacity},
	{"gpuhub_gpu_healthy", EXPO_GAUGE, "1 when the GPU takes new placements; 0 after an XID error or loss.", f_healthy},
	{"gpuhub_gpu_lost", EXPO_GAUGE, "1 when the GPU fell off the bus or cannot be read.", f_lost},
};

static void render_gpus(expo_t *e, metrics_t *m, hub_t *hub)
{
	int n = hub_gpu_count(hub);
	gpu_labels_t *ls = calloc((size_t)(n > 0 ? n : 1), sizeof(*ls));
	if (!ls) {
		e->failed = 1;
		return;
	}
	for (int i = 0; i < n; i++)
		gpu_labels(hub_gpu_at(hub, i), &ls[i]);
	for (size_t f = 0; f < sizeof(gpu_families) / sizeof(gpu_families[0]); f++) {
		expo_family(e, gpu_families[f].name, gpu_families[f].type, gpu_families[f].help);
		for (int i = 0; i < n; i++) {
			double v = gpu_families[f].fn(hub_gpu_at(hub, i), m);
			if (v >= 0)
				expo_sample(e, gpu_families[f].name, ls[i].labels, v);
		}
	}
	expo_family(e, "gpuhub_gpu_sharing_mode", EXPO_GAUGE,
	            "How the hub shares the GPU: 1 for its mode (exclusive, mps or mig).");
	for (int i = 0; i < n; i++) {
		const hub_gpu_t *g = hub_gpu_at(hub, i);
		const char *l[11];
		memcpy(l, ls[i].labels, 8 * sizeof(*l));
		l[8] = "mode";
		l[9] = gpu_share_mode_name(g->info.sharing);
		l[10] = NULL;
		expo_sample_i(e, "gpuhub_gpu_sharing_mode", l, 1);
	}
	free(ls);
}

/* --- sessions --- */

static int listed(const hub_session_t *hs)
{
	return !gh_sess_state_ended(hs->s.state);
}

static int64_t idle_since(const hub_session_t *hs)
{
	int64_t t = hs->s.last_activity_at;
	if (hs->s.started_at > t)
		t = hs->s.started_at;
	return t;
}

/* When a queued session entered the queue (ms). */
static int64_t queued_since(const hub_session_t *hs)
{
	return hs->s.started_at ? hs->s.updated_at : hs->s.created_at;
}

static void render_sessions(expo_t *e, hub_t *hub, int64_t now)
{
	int n = hub_session_count(hub), st;
	int counts[GH_SESS__COUNT] = {0};
	const char *(*labels)[9] = calloc((size_t)(n > 0 ? n : 1), sizeof(*labels));
	if (!labels) {
		e->failed = 1;
		return;
	}
	for (int i = 0; i < n; i++) {
		const hub_session_t *hs = hub_session_at(hub, i);
		const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
		counts[hs->s.state]++;
		labels[i][0] = "user";
		labels[i][1] = u ? u->name : "";
		labels[i][2] = "environment";
		labels[i][3] = hs->s.env_name;
		labels[i][4] = "session";
		labels[i][5] = hs->s.name;
		labels[i][6] = NULL;
	}
	expo_family(e, "gpuhub_sessions", EXPO_GAUGE, "Sessions the hub knows, by state.");
	for (st = 0; st < GH_SESS__COUNT; st++) {
		const char *l[] = {"state", gh_sess_state_name(st), NULL};
		expo_sample_i(e, "gpuhub_sessions", l, counts[st]);
	}
	expo_family(e, "gpuhub_session_state", EXPO_GAUGE, "1 for the current state of each session that is not finished.");
	for (int i = 0; i < n; i++) {
		const hub_session_t *hs = hub_session_at(hub, i);
		const char *l[9];
		if (!listed(hs))
			continue;
		memcpy(l, labels[i], 6 * sizeof(*l));
		l[6] = "state";
		l[7] = gh_sess_state_name(hs->s.state);
		l[8] = NULL;
		expo_sample_i(e, "gpuhub_session_state", l, 1);
	}
	expo_family(e, "gpuhub_session_allocated_gpus", EXPO_GAUGE, "GPUs allocated to the session (0.5 = half a GPU).");
	for (int i = 0; i < n; i++) {
		const hub_session_t *hs = hub_session_at(hub, i);
		int milli = 0;
		if (!listed(hs))
			continue;
		for (int k = 0; k < hs->n_allocs; k++)
			milli += hs->allocs[k].milli;
		expo_sample(e, "gpuhub_session_allocated_gpus", labels[i], milli / 1000.0);
	}
	expo_family(e, "gpuhub_session_gpu_utilization_ratio", EXPO_GAUGE,
	            "GPU busy fraction of the session's own processes, averaged over the GPUs it holds.");
	for (int i = 0; i < n; i++) {
		const hub_session_t *hs = hub_session_at(hub, i);
		if (listed(hs) && hs->n_allocs > 0 && hs->attr_util_pct >= 0)
			expo_sample(e, "gpuhub_session_gpu_utilization_ratio", labels[i],
			            hs->attr_util_pct / (100.0 * hs->n_allocs));
	}
	expo_family(e, "gpuhub_session_gpu_memory_used_bytes", EXPO_GAUGE,
	            "GPU memory used by the session's own processes.");
	for (int i = 0; i < n; i++) {
		const hub_session_t *hs = hub_session_at(hub, i);
		if (listed(hs) && hs->n_allocs > 0)
			expo_sample(e, "gpuhub_session_gpu_memory_used_bytes", labels[i], (double)hs->attr_mem_mib * MIB);
	}
	expo_family(e, "gpuhub_session_idle_seconds", EXPO_GAUGE,
	            "Seconds since the user last used a running workspace (or since it started).");
	for (int i = 0; i < n; i++) {
		const hub_session_t *hs = hub_session_at(hub, i);
		if (hs->s.state == GH_SESS_RUNNING || hs->s.state == GH_SESS_IDLE_WARNED) {
			int64_t since = idle_since(hs);
			expo_sample(e, "gpuhub_session_idle_seconds", labels[i], since ? (now - since) / 1000.0 : 0);
		}
	}
	free(labels);
}

/* --- scheduler --- */

static void render_sched(expo_t *e, metrics_t *m, hub_t *hub, int64_t now)
{
	struct {
		const char *name;
		int len;
		int64_t oldest;
	} q[METRICS_CLASSES_MAX] = {{0}};
	int nq = 0, n = hub_live_count(hub), i, k;

	/* every class gets a sample, also with an empty queue */
	for (k = 0; k < hub_class_count(hub) && nq < METRICS_CLASSES_MAX; k++)
		q[nq++].name = hub_class_name(hub, k);
	/* queued sessions are live: the ended ones need no look */
	for (i = 0; i < n; i++) {
		const hub_session_t *hs = hub_live_at(hub, i);
		const char *cls;
		if (hs->s.state != GH_SESS_QUEUED)
			continue;
		cls = hub_session_class(hub, hs);
		for (k = 0; k < nq && strcmp(q[k].name, cls) != 0; k++)
			;
		if (k == nq) {
			if (nq == METRICS_CLASSES_MAX)
				continue;
			q[nq++].name = cls;
		}
		q[k].len++;
		if (!q[k].oldest || queued_since(hs) < q[k].oldest)
			q[k].oldest = queued_since(hs);
	}
	expo_family(e, "gpuhub_sched_queue_length", EXPO_GAUGE, "Sessions waiting for GPUs, by priority class.");
	for (k = 0; k < nq; k++) {
		const char *l[] = {"class", q[k].name, NULL};
		expo_sample_i(e, "gpuhub_sched_queue_length", l, q[k].len);
	}
	expo_family(e, "gpuhub_sched_queue_oldest_wait_seconds", EXPO_GAUGE,
	            "How long the longest-waiting session of the class has waited; 0 with an empty queue.");
	for (k = 0; k < nq; k++) {
		const char *l[] = {"class", q[k].name, NULL};
		expo_sample(e, "gpuhub_sched_queue_oldest_wait_seconds", l, q[k].oldest ? (now - q[k].oldest) / 1000.0 : 0);
	}
	expo_family(e, "gpuhub_sched_admissions_total", EXPO_COUNTER, "Sessions given GPUs by the scheduler.");
	for (k = 0; k < m->nclasses; k++) {
		const char *l[] = {"class", m->classes[k].name, NULL};
		expo_sample_i(e, "gpuhub_sched_admissions_total", l, (int64_t)m->classes[k].admitted);
	}
	expo_family(e, "gpuhub_sched_preemptions_total", EXPO_COUNTER, "Sessions stopped to free GPUs for others.");
	for (k = 0; k < m->nclasses; k++) {
		const char *l[] = {"class", m->classes[k].name, NULL};
		expo_sample_i(e, "gpuhub_sched_preemptions_total", l, (int64_t)m->classes[k].preempted);
	}
	expo_family(e, "gpuhub_sched_wait_seconds", EXPO_HISTOGRAM,
	            "Time admitted sessions waited in the queue.");
	for (k = 0; k < m->nclasses; k++) {
		const char *l[] = {"class", m->classes[k].name, NULL};
		expo_histogram(e, "gpuhub_sched_wait_seconds", l, metrics_wait_bounds, m->classes[k].wait,
		               METRICS_WAIT_BUCKETS, m->classes[k].wait_sum);
	}
	expo_family(e, "gpuhub_sched_pass_duration_seconds", EXPO_HISTOGRAM, "Time one scheduling pass took.");
	expo_histogram(e, "gpuhub_sched_pass_duration_seconds", NULL, metrics_pass_bounds, m->pass,
	               METRICS_PASS_BUCKETS, m->pass_sum);
}

/* --- the hub itself --- */

static void render_http(expo_t *e, metrics_t *m, const metrics_http_state_t *hst)
{
	char code[8];
	expo_family(e, "gpuhub_http_requests_total", EXPO_COUNTER,
	            "HTTP requests answered, by method, route pattern and status.");
	for (int i = 0; i < m->nroutes; i++) {
		const metrics_route_t *r = &m->routes[i];
		for (int k = 0; k < r->nstatus; k++) {
			const char *l[] = {"method", r->method, "route", r->route, "status", code, NULL};
			snprintf(code, sizeof(code), "%d", r->statuses[k]);
			expo_sample_i(e, "gpuhub_http_requests_total", l, (int64_t)r->counts[k]);
		}
	}
	expo_family(e, "gpuhub_http_request_duration_seconds", EXPO_HISTOGRAM,
	            "Time from a request's start to the end of its answer, by method and route pattern.");
	for (int i = 0; i < m->nroutes; i++) {
		const metrics_route_t *r = &m->routes[i];
		const char *l[] = {"method", r->method, "route", r->route, NULL};
		expo_histogram(e, "gpuhub_http_request_duration_seconds", l, metrics_lat_bounds, r->lat,
		               METRICS_LAT_BUCKETS, r->lat_sum);
	}
	expo_family(e, "gpuhub_proxy_bytes_total", EXPO_COUNTER,
	            "Bytes through the workspace proxy: HTTP bodies and answers, and WebSocket bytes where the kernel relays them.");
	{
		const char *in[] = {"direction", "to_workspace", NULL}, *out[] = {"direction", "to_client", NULL};
		expo_sample_i(e, "gpuhub_proxy_bytes_total", in, (int64_t)m->proxy_in);
		expo_sample_i(e, "gpuhub_proxy_bytes_total", out, (int64_t)m->proxy_out);
	}
	expo_family(e, "gpuhub_proxy_websockets_open", EXPO_GAUGE, "WebSocket connections to workspaces open now.");
	expo_sample_i(e, "gpuhub_proxy_websockets_open", NULL, hst ? hst->websockets_open : 0);
}

static void render_hub(expo_t *e, metrics_t *m, hub_t *hub)
{
	const char *bl[] = {"version", GH_VERSION, "gpu_source", hub_gpu_source(hub), "simulated",
	                    hub_gpus_simulated(hub) ? "true" : "false", NULL};
	expo_family(e, "gpuhub_build_info", EXPO_GAUGE, "Always 1; labels name the running gpuhub.");
	expo_sample_i(e, "gpuhub_build_info", bl, 1);
	expo_family(e, "gpuhub_start_time_seconds", EXPO_GAUGE, "When the hub started, Unix time.");
	expo_sample(e, "gpuhub_start_time_seconds", NULL, m->started_at_ms / 1000.0);
	expo_family(e, "gpuhub_session_transitions_total", EXPO_COUNTER, "Session state changes, by the state entered.");
	for (int st = 0; st < GH_SESS__COUNT; st++) {
		const char *l[] = {"state", gh_sess_state_name(st), NULL};
		expo_sample_i(e, "gpuhub_session_transitions_total", l, (int64_t)m->transitions[st]);
	}
	expo_family(e, "gpuhub_gpu_reclaimed_seconds_total", EXPO_COUNTER,
	            "GPU-seconds the hub took back by ending or suspending sessions early, by reason.");
	for (int i = 0; i < METRICS_REASONS; i++) {
		const char *l[] = {"reason", metrics_reasons[i], NULL};
		expo_sample(e, "gpuhub_gpu_reclaimed_seconds_total", l, m->reclaimed[i]);
	}
}

int metrics_render(metrics_t *m, hub_t *hub, const metrics_http_state_t *hst, char **out, size_t *len)
{
	expo_t e;
	int64_t now = gh_now_ms();
	expo_init(&e);
	render_hub(&e, m, hub);
	render_gpus(&e, m, hub);
	render_sessions(&e, hub, now);
	render_sched(&e, m, hub, now);
	render_http(&e, m, hst);
	*out = expo_take(&e, len);
	return *out ? 0 : GH_ENOMEM;
}
