/*
 * hub.c — opening and closing the hub, its data-dir lock, transactions with
 * their events, the periodic tick, and event subscriptions.
 *
 * Start-up order (hub_open), unwound in reverse on failure:
 *   1. create the data dir, take its lock (flock on <data_dir>/gpuhub.lock:
 *      a second daemon on the same dir is refused, naming the holder's pid)
 *   2. open the store (migrations run here)
 *   3. open the GPU source (auto falls back to sim, loudly)
 *   4. open the runtime engine
 *   5. load users, tokens, environments, sessions, allocations
 *   6. first start: create the admin and the default catalog
 *   7. reconcile sessions with what the runtime reports (adopt or fail)
 */
#include "hub/hub_int.h"
#include "hub/hub_snap.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <curl/curl.h>
#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* While a workspace starts (or stops), how often its readiness is probed:
 * the time from "Jupyter answers" to "running" is half of this on average
 * (bench/spawn_bench.py); a probe is one loopback HTTP request on a worker. */
#define HUB_PROBE_SOON_MS 5

static int mkdir_p(const char *path)
{
	char tmp[CONFIG_STR + 64];
	size_t i;

	if (gh_strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp))
		return GH_EINVAL;
	for (i = 1; tmp[i]; i++) {
		if (tmp[i] == '/') {
			tmp[i] = '\0';
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return GH_EIO;
			tmp[i] = '/';
		}
	}
	if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
		return GH_EIO;
	return 0;
}

static int take_lock(hub_t *hub, char *errmsg, size_t errlen)
{
	char path[CONFIG_STR + 32], buf[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/gpuhub.lock", hub->cfg.data_dir);
	hub->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (hub->lock_fd < 0) {
		snprintf(errmsg, errlen, "cannot open lock file %s: %s", path, strerror(errno));
		return GH_EIO;
	}
	if (flock(hub->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		n = pread(hub->lock_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(errmsg, errlen,
		         "another gpuhub (pid %s) is already running on data dir %s; it is locked by %s",
		         buf[0] ? buf : "unknown", hub->cfg.data_dir, path);
		close(hub->lock_fd);
		hub->lock_fd = -1;
		return GH_ELOCKED;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(hub->lock_fd, 0) != 0 || pwrite(hub->lock_fd, buf, (size_t)n, 0) != n)
		GH_WARN("could not write the pid into %s: %s", path, strerror(errno));
	return 0;
}

/* Loads <data_dir>/secret, creating it (mode 0600) on the first start. */
static int load_secret(hub_t *hub, char *errmsg, size_t errlen)
{
	char path[CONFIG_STR + 32];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/secret", hub->cfg.data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, hub->secret, sizeof(hub->secret));
		close(fd);
		if (n == (ssize_t)sizeof(hub->secret))
			return 0;
		snprintf(errmsg, errlen, "%s is damaged (expected %zu bytes); remove it to make a new one", path,
		         sizeof(hub->secret));
		return GH_EIO;
	}
	randombytes_buf(hub->secret, sizeof(hub->secret));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, hub->secret, sizeof(hub->secret)) != (ssize_t)sizeof(hub->secret) || fsync(fd) != 0) {
		snprintf(errmsg, errlen, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return GH_EIO;
	}
	close(fd);
	return 0;
}

void hub_workspace_token(const hub_t *hub, int64_t id, char out[33])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char msg[48];
	int n = snprintf(msg, sizeof(msg), "workspace:%lld", (long long)id);
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, hub->secret, sizeof(hub->secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, (unsigned long long)n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, 33, mac, 16);
}

static void gpus_load(hub_t *hub)
{
	int i, n = gpu_count(hub->gpu);
	hub->gpus = calloc((size_t)(n > 0 ? n : 1), sizeof(*hub->gpus));
	hub->n_gpus = hub->gpus ? n : 0;
	for (i = 0; i < hub->n_gpus; i++) {
		hub_gpu_t *g = &hub->gpus[i];
		gpu_info(hub->gpu, i, &g->info);
		/* the hub packs fractional sessions onto a GPU and gives them MPS
		 * limits, so a whole GPU that is not in MIG mode is shared by MPS */
		if (g->info.sharing == GH_SHARE_EXCLUSIVE)
			g->info.sharing = GH_SHARE_MPS;
		if (gpu_telemetry(hub->gpu, i, &g->tel) != 0) {
			memset(&g->tel, 0, sizeof(g->tel));
			g->tel.index = i;
			g->tel.healthy = 1;
		}
	}
}

int hub_open(hub_t **out, const gh_config_t *cfg, char *errmsg, size_t errlen)
{
	hub_t *hub;
	char path[CONFIG_STR + 32], sub[CONFIG_STR + 32];
	const char *uri;
	int rc, fell_back = 0;

	*out = NULL;
	hub = calloc(1, sizeof(*hub));
	if (!hub)
		return GH_ENOMEM;
	hub->cfg = *cfg;
	hub->lock_fd = -1;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mkdir_p(cfg->data_dir) != 0) {
		snprintf(errmsg, errlen, "cannot create data dir %s: %s", cfg->data_dir, strerror(errno));
		rc = GH_EIO;
		goto fail;
	}
	rc = take_lock(hub, errmsg, errlen);
	if (rc)
		goto fail;
	if ((rc = load_secret(hub, errmsg, errlen)))
		goto fail;
	snprintf(sub, sizeof(sub), "%s/sessions", cfg->data_dir);
	mkdir(sub, 0750);
	snprintf(sub, sizeof(sub), "%s/homes", cfg->data_dir);
	mkdir(sub, 0755);
	if (strcmp(cfg->runtime_accounts, "none") != 0) {
		/* workspaces run as other accounts: they must traverse (not list)
		 * the data dir to reach their home, work dir and report dir */
		snprintf(sub, sizeof(sub), "%s/sessions", cfg->data_dir);
		if (chmod(cfg->data_dir, 0711) != 0 || chmod(sub, 0711) != 0)
			GH_WARN("cannot open %s to workspace accounts: %s", cfg->data_dir, strerror(errno));
	}

	snprintf(path, sizeof(path), "%s/gpuhub.db", cfg->data_dir);
	uri = cfg->store_url[0] ? cfg->store_url : path;
	rc = store_open(&hub->store, cfg->store_driver, uri, errmsg, errlen);
	if (rc)
		goto fail;

	rc = gpu_open(&hub->gpu, cfg->gpus, cfg->gpus_sim_default, cfg->data_dir, &fell_back, errmsg, errlen);
	if (rc)
		goto fail;
	if (fell_back || gpu_src_simulated(hub->gpu))
		GH_WARN("*** GPUs are SIMULATED (%d devices, %s): no NVIDIA driver/device was found or sim was asked for; "
		        "allocations are real bookkeeping but no CUDA device is behind them ***",
		        gpu_count(hub->gpu), fell_back ? cfg->gpus_sim_default : cfg->gpus);
	snprintf(hub->report_dir, sizeof(hub->report_dir), "%s/gpu-sim/reports", cfg->data_dir);
	gpus_load(hub);
	if ((rc = metrics_create(&hub->metrics, hub->n_gpus))) {
		snprintf(errmsg, errlen, "cannot create the metrics: %s", gh_strerror(rc));
		goto fail;
	}
	if ((rc = hub_metrics_token_load(hub, cfg->metrics_token_file, errmsg, errlen)))
		goto fail;

	rc = rt_open(&hub->rt, cfg->runtime, cfg->data_dir, errmsg, errlen);
	if (rc)
		goto fail;
	if ((rc = worker_create(&hub->worker, 2))) {
		snprintf(errmsg, errlen, "cannot start worker threads: %s", gh_strerror(rc));
		goto fail;
	}
	if ((rc = hub_sched_open(hub))) {
		snprintf(errmsg, errlen, "cannot create the scheduler: %s", gh_strerror(rc));
		goto fail;
	}

	if ((rc = hub_ident_load(hub)) || (rc = hub_env_load(hub)) || (rc = hub_session_load_state(hub)) ||
	    (rc = hub_snap_open(hub)) || (rc = hub_usage_load(hub))) {
		snprintf(errmsg, errlen, "cannot load state from the store: %s", gh_strerror(rc));
		goto fail;
	}
	if ((rc = hub_ident_bootstrap(hub)) || (rc = hub_env_seed(hub))) {
		snprintf(errmsg, errlen, "cannot initialise an empty store: %s", gh_strerror(rc));
		goto fail;
	}
	hub_quarantine_restore(hub);
	if ((rc = hub_mps_open(hub))) {
		snprintf(errmsg, errlen, "cannot set up CUDA MPS management: %s", gh_strerror(rc));
		goto fail;
	}
	/* a store that cannot be read fails start-up, as for the state above */
	if ((rc = hub_idle_groups_load(hub))) {
		snprintf(errmsg, errlen, "cannot load the idle policies of groups from the store: %s", gh_strerror(rc));
		goto fail;
	}
	hub_suspend_load(hub);
	hub_reconcile(hub);
	if ((rc = hub_alert_open(hub, errmsg, errlen)))
		goto fail;
	hub->sched_dirty = 1;
	GH_INFO("hub ready: %d users, %d environments, %d sessions, %d GPUs (%s)", hub->n_users, hub->n_envs,
	        hub->n_sessions, hub->n_gpus, gpu_src_name(hub->gpu));
	*out = hub;
	return 0;
fail:
	hub_close(hub);
	return rc;
}

void hub_close(hub_t *hub)
{
	if (!hub)
		return;
	/* finish workspace starts in flight: their results are recorded */
	if (hub->worker)
		worker_destroy(hub->worker);
	hub->worker = NULL;
	hub_usage_flush(hub);
	hub_alert_close(hub);
	hub_mps_close(hub);
	while (hub->subs) {
		struct hub_sub *s = hub->subs;
		hub->subs = s->next;
		free(s);
	}
	for (int i = 0; i < hub->n_sessions; i++) {
		free(hub->sessions[i].allocs);
		free(hub->sessions[i].view);
	}
	free(hub->sessions);
	hub_index_free(hub);
	free(hub->group_idle);
	free(hub->users);
	free(hub->tokens);
	free(hub->envs);
	free(hub->env_info);
	free(hub->gpus);
	metrics_destroy(hub->metrics);
	sodium_memzero(hub->metrics_token, sizeof(hub->metrics_token));
	hub_sched_close(hub);
	hub_snap_close(hub);
	rt_close(hub->rt);
	gpu_close(hub->gpu);
	store_close(hub->store);
	if (hub->lock_fd >= 0)
		close(hub->lock_fd); /* releases the flock */
	free(hub);
}

const gh_config_t *hub_config(const hub_t *hub) { return &hub->cfg; }

void hub_reload(hub_t *hub, const gh_config_t *cfg)
{
	memcpy(hub->cfg.log_format, cfg->log_format, sizeof(cfg->log_format));
	memcpy(hub->cfg.log_level, cfg->log_level, sizeof(cfg->log_level));
	hub->cfg.login_ttl_hours = cfg->login_ttl_hours;
	hub->cfg.token_ttl_days = cfg->token_ttl_days;
	hub->cfg.max_body_bytes = cfg->max_body_bytes;
	hub->cfg.max_sessions_per_user = cfg->max_sessions_per_user;
	memcpy(hub->cfg.sched_placement, cfg->sched_placement, sizeof(cfg->sched_placement));
	hub->cfg.sched_half_life_hours = cfg->sched_half_life_hours;
	hub->cfg.sched_user_gpus = cfg->sched_user_gpus;
	hub->cfg.sched_group_gpus = cfg->sched_group_gpus;
	hub->cfg.sched_user_sessions = cfg->sched_user_sessions;
	hub->cfg.sched_user_gpus_max = cfg->sched_user_gpus_max;
	hub->cfg.sched_group_gpus_max = cfg->sched_group_gpus_max;
	hub->cfg.snap_quota_bytes = cfg->snap_quota_bytes;
	hub->cfg.metrics_reclaim_horizon_s = cfg->metrics_reclaim_horizon_s;
	{
		char err[CONFIG_STR + 96];
		if (hub_metrics_token_load(hub, cfg->metrics_token_file, err, sizeof(err)) == 0)
			memcpy(hub->cfg.metrics_token_file, cfg->metrics_token_file, sizeof(cfg->metrics_token_file));
		else
			GH_ERROR("SIGHUP: %s; keeping the previous scrape token", err);
	}
	hub->cfg.usage_interval_s = cfg->usage_interval_s;
	hub->cfg.usage_retention_days = cfg->usage_retention_days;
	hub->cfg.idle_poll_s = cfg->idle_poll_s;
	hub->cfg.idle_gpu_idle_s = cfg->idle_gpu_idle_s;
	hub->cfg.idle_gpu_util_pct = cfg->idle_gpu_util_pct;
	hub->cfg.idle_cpu_pct = cfg->idle_cpu_pct;
	hub->cfg.idle_full_idle_s = cfg->idle_full_idle_s;
	hub->cfg.idle_max_lifetime_s = cfg->idle_max_lifetime_s;
	hub->cfg.idle_warn_s = cfg->idle_warn_s;
	memcpy(hub->cfg.idle_notify_command, cfg->idle_notify_command, sizeof(cfg->idle_notify_command));
	memcpy(hub->cfg.idle_notify_url, cfg->idle_notify_url, sizeof(cfg->idle_notify_url));
	hub_sched_configure(hub);
	GH_INFO("configuration reloaded");
}

int hub_wakeup_fd(const hub_t *hub) { return worker_fd(hub->worker); }

int hub_tick(hub_t *hub)
{
	int64_t now = gh_now_ms();
	int alert_ms;

	worker_drain(hub->worker);
	hub_snap_tick(hub);

	if (now >= hub->next_gpu_poll) {
		hub_gpu_poll(hub, now);
		hub->next_gpu_poll = now + hub->cfg.gpu_poll_ms;
	}
	if (hub->work_due || now >= hub->next_probe) {
		hub->work_due = 0;
		hub->probe_soon = 0;
		hub_sessions_work(hub, now);
		rt_reap(hub->rt);
		hub_mps_tick(hub);
		hub->next_probe = now + (hub->probe_soon ? HUB_PROBE_SOON_MS : 500);
	}
	hub_idle_tick(hub, now);
	if (hub->sched_dirty) {
		hub->sched_dirty = 0;
		hub_schedule(hub, now);
	}
	hub_usage_tick(hub, now);
	alert_ms = hub_alert_tick(hub, gh_now_ms());
	if (hub->work_due || hub->sched_dirty)
		return 0;
	{
		int64_t next = hub->next_probe < hub->next_gpu_poll ? hub->next_probe : hub->next_gpu_poll;
		int64_t d = next - gh_now_ms(), most = hub_snap_busy(hub) ? 200 : 1000;
		if (d > alert_ms)
			d = alert_ms;
		return d < 0 ? 0 : d > most ? (int)most : (int)d;
	}
}

/* --- transactions and events --- */

int hub_txn_begin(hub_t *hub)
{
	int rc = store_begin(hub->store);
	if (rc == 0) {
		hub->in_txn = 1;
		hub->n_pending = 0;
	}
	return rc;
}

static void notify(hub_t *hub, const gh_event_t *ev)
{
	struct hub_sub *s, *next;
	for (s = hub->subs; s; s = next) {
		next = s->next; /* a callback may unsubscribe itself */
		if (s->session_id == 0 || s->session_id == ev->session_id)
			s->fn(s->ctx, ev);
	}
}

int hub_txn_commit(hub_t *hub)
{
	int rc = store_commit(hub->store), i, n = hub->n_pending;
	hub->in_txn = 0;
	hub->n_pending = 0;
	if (rc) {
		GH_ERROR("store commit failed: %s", gh_strerror(rc));
		store_rollback(hub->store);
		return rc;
	}
	for (i = 0; i < n; i++)
		notify(hub, &hub->pending[i]);
	return 0;
}

void hub_txn_rollback(hub_t *hub)
{
	store_rollback(hub->store);
	hub->in_txn = 0;
	hub->n_pending = 0;
}

static int emit_v(hub_t *hub, int64_t session_id, int64_t user_id, const char *type, gh_sess_state_t state,
                  int percent, const char *data, const char *fmt, va_list ap)
{
	gh_event_t ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.ts = gh_now_ms();
	ev.session_id = session_id;
	ev.user_id = user_id;
	gh_strlcpy(ev.type, type, sizeof(ev.type));
	ev.state = state;
	ev.percent = percent;
	if (data)
		gh_strlcpy(ev.data, data, sizeof(ev.data));
	vsnprintf(ev.message, sizeof(ev.message), fmt, ap);
	rc = store_event_append(hub->store, &ev);
	if (rc)
		return rc;
	if (hub->in_txn) {
		if (hub->n_pending < HUB_PENDING_MAX)
			hub->pending[hub->n_pending++] = ev;
	} else {
		notify(hub, &ev);
	}
	return 0;
}

int hub_emit(hub_t *hub, int64_t session_id, int64_t user_id, const char *type, gh_sess_state_t state,
             int percent, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = emit_v(hub, session_id, user_id, type, state, percent, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int hub_emit_data(hub_t *hub, int64_t user_id, const char *type, const char *data, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = emit_v(hub, 0, user_id, type, 0, -1, data, fmt, ap);
	va_end(ap);
	return rc;
}

hub_sub_t *hub_subscribe(hub_t *hub, int64_t session_id, hub_event_fn fn, void *ctx)
{
	struct hub_sub *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->session_id = session_id;
	s->fn = fn;
	s->ctx = ctx;
	s->next = hub->subs;
	hub->subs = s;
	return s;
}

void hub_unsubscribe(hub_t *hub, hub_sub_t *sub)
{
	struct hub_sub **pp;
	for (pp = &hub->subs; *pp; pp = &(*pp)->next) {
		if (*pp == sub) {
			*pp = sub->next;
			free(sub);
			return;
		}
	}
}

int hub_events_list(hub_t *hub, int64_t session_id, int64_t after_id, int limit, store_event_cb cb, void *ctx)
{
	return store_event_list(hub->store, session_id, after_id, limit, cb, ctx);
}

/* --- GPUs --- */

int hub_gpu_count(const hub_t *hub) { return hub->n_gpus; }
const hub_gpu_t *hub_gpu_at(const hub_t *hub, int i) { return &hub->gpus[i]; }
int hub_gpus_simulated(const hub_t *hub) { return gpu_src_simulated(hub->gpu); }
const char *hub_gpu_source(const hub_t *hub) { return gpu_src_name(hub->gpu); }
