/*
 * config.c — see config.h. Reads gpuhub.yaml over the current settings
 * and checks the result, so that a typo is an error with a position, not
 * a silently ignored line.
 *
 * config_load() takes four steps:
 *
 *   1. read the file (at most 1 MiB) into memory;
 *   2. parse it with libyaml into a tree (config_report.c). Syntax errors
 *      come from there with libyaml's own position, and the tree is kept
 *      to place any later error on a line and column;
 *   3. map it onto cfg_doc_t with libcyaml. The schema is strict (unknown
 *      keys, duplicates, a list where a scalar belongs are errors) and
 *      every key is optional: each leaf is a string pointer left NULL
 *      when the key is absent, so an absent key keeps the current value
 *      while one set to the default value still counts as set;
 *   4. convert and copy the present leaves into a copy of the caller's
 *      gh_config_t, which replaces the caller's only when all went well.
 *
 * Numbers and booleans are loaded as strings and converted here because
 * libcyaml 1.3.1 is lenient with both: it reads "1.5" as the integer 1 and
 * any word at all as a true boolean.
 *
 * One table, cfg_keys[], lists every leaf with its YAML path, its member
 * in gh_config_t, its type, range and whether SIGHUP may apply it; the
 * merge, the range checks, config_diff_restart() and the error messages
 * all walk it. Adding a key means: a member in gh_config_t, a char * in
 * the section struct, a schema field, a cfg_keys[] row, a default, and a
 * line in docs/configuration.md.
 */
#include "config/config_int.h"
#include "common/err.h"
#include "common/util.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#define CFG_FILE_MAX (1024 * 1024)  /* bytes; far more than any config needs */

/* ---- what the file holds, before the merge ---------------------------
 * Every member is NULL when its key is absent. The strings are owned by
 * libcyaml and freed with cyaml_free() on the whole cfg_doc_t. */

typedef struct { char *format, *level; } cfg_log_t;
typedef struct { char *source, *sim_default, *poll_interval_ms, *mps_control; } cfg_gpus_t;
typedef struct { char *driver, *url; } cfg_store_t;
typedef struct { char *engine, *stop_grace_s, *sandbox, *accounts; } cfg_runtime_t;
typedef struct { char *max_body_bytes, *cookie_secure, *websocket_relay; } cfg_http_t;
typedef struct { char *login_ttl_hours, *token_ttl_days; } cfg_auth_t;
typedef struct { char *max_per_user; } cfg_sessions_t;
typedef struct {
	char *placement, *half_life_hours, *user_gpus, *group_gpus, *user_sessions, *user_gpus_max, *group_gpus_max;
} cfg_sched_t;
typedef struct { char *quota_bytes; } cfg_snapshots_t;
typedef struct { char *token_file, *reclaim_horizon_s; } cfg_metrics_t;
typedef struct { char *interval_s, *retention_days; } cfg_usage_t;

typedef struct {
	char *enabled, *eval_interval_ms, *gpu_idle_s, *memory_idle_mib, *memory_idle_s, *temperature_c, *power_w, *throttle_s, *crash_loop_failures, *crash_loop_window_s, *queue_wait_s, *disk_used_pct, *runtime_failures, *runtime_failure_window_s, *repeat_interval_s, *retry_initial_ms, *retry_max_ms, *retry_attempts, *send_timeout_s, *slack_url_file, *slack_url_env, *webhook_url_file, *webhook_url_env, *alertmanager_url, *smtp_url, *smtp_tls, *smtp_from, *smtp_to, *smtp_user, *smtp_password_file, *smtp_password_env, *email_users;
} cfg_alerts_t;
typedef struct {
	char *poll_interval_s, *gpu_idle_s, *gpu_util_percent, *cpu_percent, *full_idle_s, *max_lifetime_s,
	     *warn_s, *notify_command, *notify_url, *checkpoint, *criu, *cuda_checkpoint;
} cfg_idle_t;

typedef struct {
	char *listen, *data_dir, *public_url;
	cfg_log_t *log;
	cfg_gpus_t *gpus;
	cfg_store_t *store;
	cfg_runtime_t *runtime;
	cfg_http_t *http;
	cfg_auth_t *auth;
	cfg_sessions_t *sessions;
	cfg_sched_t *sched;
	cfg_snapshots_t *snapshots;
	cfg_metrics_t *metrics;
	cfg_usage_t *usage;
	cfg_alerts_t *alerts;
	cfg_idle_t *idle;
} cfg_doc_t;

/* ---- libcyaml schema ----------------------------------------------- */

/* Longest text a gh_config_t member can hold. */
#define CFG_LEN(member) (sizeof(((gh_config_t *)0)->member) - 1)
/* A leaf: always a string here (see the top of the file). */
#define CFG_LEAF(key, type, member, max) \
	CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER, type, member, 0, max)
/* A section: "log:" with nothing under it, or "log: ~", is as if absent. */
#define CFG_SECTION(key, member, fields) \
	CYAML_FIELD_MAPPING_PTR(key, CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER_NULL_STR, \
				cfg_doc_t, member, fields)

static const cyaml_schema_field_t cfg_log_fields[] = {
	CFG_LEAF("format", cfg_log_t, format, CFG_LEN(log_format)),
	CFG_LEAF("level", cfg_log_t, level, CFG_LEN(log_level)),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_gpus_fields[] = {
	CFG_LEAF("source", cfg_gpus_t, source, CFG_LEN(gpus)),
	CFG_LEAF("sim_default", cfg_gpus_t, sim_default, CFG_LEN(gpus_sim_default)),
	CFG_LEAF("poll_interval_ms", cfg_gpus_t, poll_interval_ms, CYAML_UNLIMITED),
	CFG_LEAF("mps_control", cfg_gpus_t, mps_control, CFG_LEN(gpus_mps_control)),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_store_fields[] = {
	CFG_LEAF("driver", cfg_store_t, driver, CFG_LEN(store_driver)),
	CFG_LEAF("url", cfg_store_t, url, CFG_LEN(store_url)),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_runtime_fields[] = {
	CFG_LEAF("engine", cfg_runtime_t, engine, CFG_LEN(runtime)),
	CFG_LEAF("stop_grace_s", cfg_runtime_t, stop_grace_s, CYAML_UNLIMITED),
	CFG_LEAF("sandbox", cfg_runtime_t, sandbox, CYAML_UNLIMITED),
	CFG_LEAF("accounts", cfg_runtime_t, accounts, CFG_LEN(runtime_accounts)),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_http_fields[] = {
	CFG_LEAF("max_body_bytes", cfg_http_t, max_body_bytes, CYAML_UNLIMITED),
	CFG_LEAF("cookie_secure", cfg_http_t, cookie_secure, CYAML_UNLIMITED),
	CFG_LEAF("websocket_relay", cfg_http_t, websocket_relay, CFG_LEN(websocket_relay)),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_auth_fields[] = {
	CFG_LEAF("login_ttl_hours", cfg_auth_t, login_ttl_hours, CYAML_UNLIMITED),
	CFG_LEAF("token_ttl_days", cfg_auth_t, token_ttl_days, CYAML_UNLIMITED),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_sessions_fields[] = {
	CFG_LEAF("max_per_user", cfg_sessions_t, max_per_user, CYAML_UNLIMITED),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_sched_fields[] = {
	CFG_LEAF("placement", cfg_sched_t, placement, CFG_LEN(sched_placement)),
	CFG_LEAF("half_life_hours", cfg_sched_t, half_life_hours, CYAML_UNLIMITED),
	CFG_LEAF("user_gpus", cfg_sched_t, user_gpus, CYAML_UNLIMITED),
	CFG_LEAF("group_gpus", cfg_sched_t, group_gpus, CYAML_UNLIMITED),
	CFG_LEAF("user_sessions", cfg_sched_t, user_sessions, CYAML_UNLIMITED),
	CFG_LEAF("user_gpus_max", cfg_sched_t, user_gpus_max, CYAML_UNLIMITED),
	CFG_LEAF("group_gpus_max", cfg_sched_t, group_gpus_max, CYAML_UNLIMITED),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_snapshots_fields[] = {
	CFG_LEAF("quota_bytes", cfg_snapshots_t, quota_bytes, CYAML_UNLIMITED),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_metrics_fields[] = {
	CFG_LEAF("token_file", cfg_metrics_t, token_file, CFG_LEN(metrics_token_file)),
	CFG_LEAF("reclaim_horizon_s", cfg_metrics_t, reclaim_horizon_s, CYAML_UNLIMITED),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_usage_fields[] = {
	CFG_LEAF("interval_s", cfg_usage_t, interval_s, CYAML_UNLIMITED),
	CFG_LEAF("retention_days", cfg_usage_t, retention_days, CYAML_UNLIMITED),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_alerts_fields[] = {
	CFG_LEAF("enabled", cfg_alerts_t, enabled, CYAML_UNLIMITED),
	CFG_LEAF("eval_interval_ms", cfg_alerts_t, eval_interval_ms, CYAML_UNLIMITED),
	CFG_LEAF("gpu_idle_s", cfg_alerts_t, gpu_idle_s, CYAML_UNLIMITED),
	CFG_LEAF("memory_idle_mib", cfg_alerts_t, memory_idle_mib, CYAML_UNLIMITED),
	CFG_LEAF("memory_idle_s", cfg_alerts_t, memory_idle_s, CYAML_UNLIMITED),
	CFG_LEAF("temperature_c", cfg_alerts_t, temperature_c, CYAML_UNLIMITED),
	CFG_LEAF("power_w", cfg_alerts_t, power_w, CYAML_UNLIMITED),
	CFG_LEAF("throttle_s", cfg_alerts_t, throttle_s, CYAML_UNLIMITED),
	CFG_LEAF("crash_loop_failures", cfg_alerts_t, crash_loop_failures, CYAML_UNLIMITED),
	CFG_LEAF("crash_loop_window_s", cfg_alerts_t, crash_loop_window_s, CYAML_UNLIMITED),
	CFG_LEAF("queue_wait_s", cfg_alerts_t, queue_wait_s, CYAML_UNLIMITED),
	CFG_LEAF("disk_used_pct", cfg_alerts_t, disk_used_pct, CYAML_UNLIMITED),
	CFG_LEAF("runtime_failures", cfg_alerts_t, runtime_failures, CYAML_UNLIMITED),
	CFG_LEAF("runtime_failure_window_s", cfg_alerts_t, runtime_failure_window_s, CYAML_UNLIMITED),
	CFG_LEAF("repeat_interval_s", cfg_alerts_t, repeat_interval_s, CYAML_UNLIMITED),
	CFG_LEAF("retry_initial_ms", cfg_alerts_t, retry_initial_ms, CYAML_UNLIMITED),
	CFG_LEAF("retry_max_ms", cfg_alerts_t, retry_max_ms, CYAML_UNLIMITED),
	CFG_LEAF("retry_attempts", cfg_alerts_t, retry_attempts, CYAML_UNLIMITED),
	CFG_LEAF("send_timeout_s", cfg_alerts_t, send_timeout_s, CYAML_UNLIMITED),
	CFG_LEAF("slack_url_file", cfg_alerts_t, slack_url_file, CFG_LEN(alert_slack_url_file)),
	CFG_LEAF("slack_url_env", cfg_alerts_t, slack_url_env, CFG_LEN(alert_slack_url_env)),
	CFG_LEAF("webhook_url_file", cfg_alerts_t, webhook_url_file, CFG_LEN(alert_webhook_url_file)),
	CFG_LEAF("webhook_url_env", cfg_alerts_t, webhook_url_env, CFG_LEN(alert_webhook_url_env)),
	CFG_LEAF("alertmanager_url", cfg_alerts_t, alertmanager_url, CFG_LEN(alert_am_url)),
	CFG_LEAF("smtp_url", cfg_alerts_t, smtp_url, CFG_LEN(alert_smtp_url)),
	CFG_LEAF("smtp_tls", cfg_alerts_t, smtp_tls, CFG_LEN(alert_smtp_tls)),
	CFG_LEAF("smtp_from", cfg_alerts_t, smtp_from, CFG_LEN(alert_smtp_from)),
	CFG_LEAF("smtp_to", cfg_alerts_t, smtp_to, CFG_LEN(alert_smtp_to)),
	CFG_LEAF("smtp_user", cfg_alerts_t, smtp_user, CFG_LEN(alert_smtp_user)),
	CFG_LEAF("smtp_password_file", cfg_alerts_t, smtp_password_file, CFG_LEN(alert_smtp_password_file)),
	CFG_LEAF("smtp_password_env", cfg_alerts_t, smtp_password_env, CFG_LEN(alert_smtp_password_env)),
	CFG_LEAF("email_users", cfg_alerts_t, email_users, CYAML_UNLIMITED),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_idle_fields[] = {
	CFG_LEAF("poll_interval_s", cfg_idle_t, poll_interval_s, CYAML_UNLIMITED),
	CFG_LEAF("gpu_idle_s", cfg_idle_t, gpu_idle_s, CYAML_UNLIMITED),
	CFG_LEAF("gpu_util_percent", cfg_idle_t, gpu_util_percent, CYAML_UNLIMITED),
	CFG_LEAF("cpu_percent", cfg_idle_t, cpu_percent, CYAML_UNLIMITED),
	CFG_LEAF("full_idle_s", cfg_idle_t, full_idle_s, CYAML_UNLIMITED),
	CFG_LEAF("max_lifetime_s", cfg_idle_t, max_lifetime_s, CYAML_UNLIMITED),
	CFG_LEAF("warn_s", cfg_idle_t, warn_s, CYAML_UNLIMITED),
	CFG_LEAF("notify_command", cfg_idle_t, notify_command, CFG_LEN(idle_notify_command)),
	CFG_LEAF("notify_url", cfg_idle_t, notify_url, CFG_LEN(idle_notify_url)),
	CFG_LEAF("checkpoint", cfg_idle_t, checkpoint, CFG_LEN(idle_checkpoint)),
	CFG_LEAF("criu", cfg_idle_t, criu, CFG_LEN(idle_criu)),
	CFG_LEAF("cuda_checkpoint", cfg_idle_t, cuda_checkpoint, CFG_LEN(idle_cuda_checkpoint)),
	CYAML_FIELD_END
};
static const cyaml_schema_field_t cfg_top_fields[] = {
	CFG_LEAF("listen", cfg_doc_t, listen, CFG_LEN(listen)),
	CFG_LEAF("data_dir", cfg_doc_t, data_dir, CFG_LEN(data_dir)),
	CFG_LEAF("public_url", cfg_doc_t, public_url, CFG_LEN(public_url)),
	CFG_SECTION("log", log, cfg_log_fields),
	CFG_SECTION("gpus", gpus, cfg_gpus_fields),
	CFG_SECTION("store", store, cfg_store_fields),
	CFG_SECTION("runtime", runtime, cfg_runtime_fields),
	CFG_SECTION("http", http, cfg_http_fields),
	CFG_SECTION("auth", auth, cfg_auth_fields),
	CFG_SECTION("sessions", sessions, cfg_sessions_fields),
	CFG_SECTION("sched", sched, cfg_sched_fields),
	CFG_SECTION("snapshots", snapshots, cfg_snapshots_fields),
	CFG_SECTION("metrics", metrics, cfg_metrics_fields),
	CFG_SECTION("usage", usage, cfg_usage_fields),
	CFG_SECTION("alerts", alerts, cfg_alerts_fields),
	CFG_SECTION("idle", idle, cfg_idle_fields),
	CYAML_FIELD_END
};
static const cyaml_schema_value_t cfg_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, cfg_doc_t, cfg_top_fields),
};

/* ---- the key table ------------------------------------------------- */

#define CFG_KEY(path, kind, sect, stype, dmember, cmember, min, max, reload) \
	{ path, kind, sect, offsetof(stype, dmember), offsetof(gh_config_t, cmember), \
	  sizeof(((gh_config_t *)0)->cmember), min, max, reload }

const cfg_key_t cfg_keys[] = {
	CFG_KEY("listen", CFG_TEXT, CFG_S_TOP, cfg_doc_t, listen, listen, 0, 0, 0),
	CFG_KEY("data_dir", CFG_TEXT, CFG_S_TOP, cfg_doc_t, data_dir, data_dir, 0, 0, 0),
	CFG_KEY("public_url", CFG_TEXT, CFG_S_TOP, cfg_doc_t, public_url, public_url, 0, 0, 0),
	CFG_KEY("log.format", CFG_TEXT, CFG_S_LOG, cfg_log_t, format, log_format, 0, 0, 1),
	CFG_KEY("log.level", CFG_TEXT, CFG_S_LOG, cfg_log_t, level, log_level, 0, 0, 1),
	CFG_KEY("gpus.source", CFG_TEXT, CFG_S_GPUS, cfg_gpus_t, source, gpus, 0, 0, 0),
	CFG_KEY("gpus.sim_default", CFG_TEXT, CFG_S_GPUS, cfg_gpus_t, sim_default,
		gpus_sim_default, 0, 0, 0),
	CFG_KEY("gpus.poll_interval_ms", CFG_INT, CFG_S_GPUS, cfg_gpus_t, poll_interval_ms,
		gpu_poll_ms, 100, 60000, 0),
	CFG_KEY("gpus.mps_control", CFG_TEXT, CFG_S_GPUS, cfg_gpus_t, mps_control, gpus_mps_control, 0, 0, 0),
	CFG_KEY("store.driver", CFG_TEXT, CFG_S_STORE, cfg_store_t, driver, store_driver, 0, 0, 0),
	CFG_KEY("store.url", CFG_TEXT, CFG_S_STORE, cfg_store_t, url, store_url, 0, 0, 0),
	CFG_KEY("runtime.engine", CFG_TEXT, CFG_S_RUNTIME, cfg_runtime_t, engine, runtime, 0, 0, 0),
	CFG_KEY("runtime.stop_grace_s", CFG_INT, CFG_S_RUNTIME, cfg_runtime_t, stop_grace_s,
		stop_grace_s, 0, 3600, 0),
	CFG_KEY("runtime.sandbox", CFG_BOOL, CFG_S_RUNTIME, cfg_runtime_t, sandbox, runtime_sandbox, 0, 1, 0),
	CFG_KEY("runtime.accounts", CFG_TEXT, CFG_S_RUNTIME, cfg_runtime_t, accounts, runtime_accounts, 0, 0, 0),
	CFG_KEY("http.max_body_bytes", CFG_LONG, CFG_S_HTTP, cfg_http_t, max_body_bytes,
		max_body_bytes, 1024, 1073741824L, 1),
	CFG_KEY("http.cookie_secure", CFG_BOOL, CFG_S_HTTP, cfg_http_t, cookie_secure,
		cookie_secure, 0, 1, 0),
	CFG_KEY("http.websocket_relay", CFG_TEXT, CFG_S_HTTP, cfg_http_t, websocket_relay, websocket_relay, 0, 0, 0),
	CFG_KEY("auth.login_ttl_hours", CFG_INT, CFG_S_AUTH, cfg_auth_t, login_ttl_hours,
		login_ttl_hours, 1, 8760, 1),
	CFG_KEY("auth.token_ttl_days", CFG_INT, CFG_S_AUTH, cfg_auth_t, token_ttl_days,
		token_ttl_days, 0, 3650, 1),
	CFG_KEY("sessions.max_per_user", CFG_INT, CFG_S_SESSIONS, cfg_sessions_t, max_per_user,
		max_sessions_per_user, 1, 1000, 1),
	CFG_KEY("sched.placement", CFG_TEXT, CFG_S_SCHED, cfg_sched_t, placement, sched_placement, 0, 0, 1),
	CFG_KEY("sched.half_life_hours", CFG_INT, CFG_S_SCHED, cfg_sched_t, half_life_hours,
		sched_half_life_hours, 1, 87600, 1),
	CFG_KEY("sched.user_gpus", CFG_INT, CFG_S_SCHED, cfg_sched_t, user_gpus, sched_user_gpus, 0, 4096, 1),
	CFG_KEY("sched.group_gpus", CFG_INT, CFG_S_SCHED, cfg_sched_t, group_gpus, sched_group_gpus, 0, 4096, 1),
	CFG_KEY("sched.user_sessions", CFG_INT, CFG_S_SCHED, cfg_sched_t, user_sessions,
		sched_user_sessions, 0, 1000, 1),
	CFG_KEY("sched.user_gpus_max", CFG_INT, CFG_S_SCHED, cfg_sched_t, user_gpus_max, sched_user_gpus_max, 0,
		4096, 1),
	CFG_KEY("sched.group_gpus_max", CFG_INT, CFG_S_SCHED, cfg_sched_t, group_gpus_max, sched_group_gpus_max,
		0, 4096, 1),
	CFG_KEY("snapshots.quota_bytes", CFG_LONG, CFG_S_SNAPSHOTS, cfg_snapshots_t, quota_bytes,
		snap_quota_bytes, 1024, 1099511627776L, 1),
	CFG_KEY("metrics.token_file", CFG_TEXT, CFG_S_METRICS, cfg_metrics_t, token_file,
		metrics_token_file, 0, 0, 1),
	CFG_KEY("metrics.reclaim_horizon_s", CFG_INT, CFG_S_METRICS, cfg_metrics_t, reclaim_horizon_s,
		metrics_reclaim_horizon_s, 0, 31536000, 1),
	CFG_KEY("usage.interval_s", CFG_INT, CFG_S_USAGE, cfg_usage_t, interval_s, usage_interval_s, 1, 3600, 1),
	CFG_KEY("usage.retention_days", CFG_INT, CFG_S_USAGE, cfg_usage_t, retention_days,
		usage_retention_days, 1, 36500, 1),
	CFG_KEY("alerts.enabled", CFG_BOOL, CFG_S_ALERTS, cfg_alerts_t, enabled, alerts_enabled, 0, 1, 0),
	CFG_KEY("alerts.eval_interval_ms", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, eval_interval_ms, alert_eval_ms, 100, 600000, 0),
	CFG_KEY("alerts.gpu_idle_s", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, gpu_idle_s, alert_gpu_idle_s, 0, 604800, 0),
	CFG_KEY("alerts.memory_idle_mib", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, memory_idle_mib, alert_memory_idle_mib, 1, 16777216, 0),
	CFG_KEY("alerts.memory_idle_s", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, memory_idle_s, alert_memory_idle_s, 0, 604800, 0),
	CFG_KEY("alerts.temperature_c", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, temperature_c, alert_temperature_c, 0, 200, 0),
	CFG_KEY("alerts.power_w", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, power_w, alert_power_w, 0, 10000, 0),
	CFG_KEY("alerts.throttle_s", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, throttle_s, alert_throttle_s, 0, 86400, 0),
	CFG_KEY("alerts.crash_loop_failures", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, crash_loop_failures, alert_crash_failures, 0, 1000, 0),
	CFG_KEY("alerts.crash_loop_window_s", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, crash_loop_window_s, alert_crash_window_s, 1, 604800, 0),
	CFG_KEY("alerts.queue_wait_s", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, queue_wait_s, alert_queue_wait_s, 0, 604800, 0),
	CFG_KEY("alerts.disk_used_pct", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, disk_used_pct, alert_disk_used_pct, 0, 100, 0),
	CFG_KEY("alerts.runtime_failures", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, runtime_failures, alert_rt_failures, 0, 100000, 0),
	CFG_KEY("alerts.runtime_failure_window_s", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, runtime_failure_window_s, alert_rt_window_s, 1, 604800, 0),
	CFG_KEY("alerts.repeat_interval_s", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, repeat_interval_s, alert_repeat_s, 1, 604800, 0),
	CFG_KEY("alerts.retry_initial_ms", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, retry_initial_ms, alert_retry_initial_ms, 10, 3600000, 0),
	CFG_KEY("alerts.retry_max_ms", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, retry_max_ms, alert_retry_max_ms, 10, 86400000, 0),
	CFG_KEY("alerts.retry_attempts", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, retry_attempts, alert_retry_attempts, 1, 100, 0),
	CFG_KEY("alerts.send_timeout_s", CFG_INT, CFG_S_ALERTS, cfg_alerts_t, send_timeout_s, alert_send_timeout_s, 1, 300, 0),
	CFG_KEY("alerts.slack_url_file", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, slack_url_file, alert_slack_url_file, 0, 0, 0),
	CFG_KEY("alerts.slack_url_env", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, slack_url_env, alert_slack_url_env, 0, 0, 0),
	CFG_KEY("alerts.webhook_url_file", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, webhook_url_file, alert_webhook_url_file, 0, 0, 0),
	CFG_KEY("alerts.webhook_url_env", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, webhook_url_env, alert_webhook_url_env, 0, 0, 0),
	CFG_KEY("alerts.alertmanager_url", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, alertmanager_url, alert_am_url, 0, 0, 0),
	CFG_KEY("alerts.smtp_url", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, smtp_url, alert_smtp_url, 0, 0, 0),
	CFG_KEY("alerts.smtp_tls", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, smtp_tls, alert_smtp_tls, 0, 0, 0),
	CFG_KEY("alerts.smtp_from", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, smtp_from, alert_smtp_from, 0, 0, 0),
	CFG_KEY("alerts.smtp_to", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, smtp_to, alert_smtp_to, 0, 0, 0),
	CFG_KEY("alerts.smtp_user", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, smtp_user, alert_smtp_user, 0, 0, 0),
	CFG_KEY("alerts.smtp_password_file", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, smtp_password_file, alert_smtp_password_file, 0, 0, 0),
	CFG_KEY("alerts.smtp_password_env", CFG_TEXT, CFG_S_ALERTS, cfg_alerts_t, smtp_password_env, alert_smtp_password_env, 0, 0, 0),
	CFG_KEY("alerts.email_users", CFG_BOOL, CFG_S_ALERTS, cfg_alerts_t, email_users, alert_email_users, 0, 1, 0),
	CFG_KEY("idle.poll_interval_s", CFG_INT, CFG_S_IDLE, cfg_idle_t, poll_interval_s, idle_poll_s, 1, 3600, 1),
	CFG_KEY("idle.gpu_idle_s", CFG_INT, CFG_S_IDLE, cfg_idle_t, gpu_idle_s, idle_gpu_idle_s, 0, 31536000, 1),
	CFG_KEY("idle.gpu_util_percent", CFG_INT, CFG_S_IDLE, cfg_idle_t, gpu_util_percent, idle_gpu_util_pct,
		0, 100, 1),
	CFG_KEY("idle.cpu_percent", CFG_INT, CFG_S_IDLE, cfg_idle_t, cpu_percent, idle_cpu_pct, 1, 100000, 1),
	CFG_KEY("idle.full_idle_s", CFG_INT, CFG_S_IDLE, cfg_idle_t, full_idle_s, idle_full_idle_s, 0, 31536000, 1),
	CFG_KEY("idle.max_lifetime_s", CFG_INT, CFG_S_IDLE, cfg_idle_t, max_lifetime_s, idle_max_lifetime_s,
		0, 31536000, 1),
	CFG_KEY("idle.warn_s", CFG_INT, CFG_S_IDLE, cfg_idle_t, warn_s, idle_warn_s, 0, 86400, 1),
	CFG_KEY("idle.notify_command", CFG_TEXT, CFG_S_IDLE, cfg_idle_t, notify_command, idle_notify_command,
		0, 0, 1),
	CFG_KEY("idle.notify_url", CFG_TEXT, CFG_S_IDLE, cfg_idle_t, notify_url, idle_notify_url, 0, 0, 1),
	CFG_KEY("idle.checkpoint", CFG_TEXT, CFG_S_IDLE, cfg_idle_t, checkpoint, idle_checkpoint, 0, 0, 0),
	CFG_KEY("idle.criu", CFG_TEXT, CFG_S_IDLE, cfg_idle_t, criu, idle_criu, 0, 0, 0),
	CFG_KEY("idle.cuda_checkpoint", CFG_TEXT, CFG_S_IDLE, cfg_idle_t, cuda_checkpoint, idle_cuda_checkpoint,
		0, 0, 0),
};
const size_t cfg_nkeys = sizeof cfg_keys / sizeof cfg_keys[0];

const cfg_key_t *cfg_key_find(const char *path)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++)
		if (strcmp(cfg_keys[i].path, path) == 0)
			return &cfg_keys[i];
	return NULL;
}

const cyaml_schema_field_t *cfg_fields_of(const char *path)
{
	const cyaml_schema_field_t *f;

	if (path[0] == '\0')
		return cfg_top_fields;
	for (f = cfg_top_fields; f->key; f++)
		if (f->value.type == CYAML_MAPPING && strcmp(f->key, path) == 0)
			return f->value.mapping.fields;
	return NULL;
}

/* ---- defaults ------------------------------------------------------ */

/* $GPUHUB_DATA_DIR, else /var/lib/gpuhub for root, else
 * <home>/.local/share/gpuhub. Left empty (config_validate() says so) when
 * no home is known or the path does not fit. */
static void cfg_default_data_dir(char *out, size_t outlen)
{
	const char *env = getenv("GPUHUB_DATA_DIR"), *home;
	struct passwd pw, *found = NULL;
	char pwbuf[1024];
	int n;

	out[0] = '\0';
	if (env && env[0]) {
		if (strlen(env) < outlen)
			gh_strlcpy(out, env, outlen);
		return;
	}
	if (geteuid() == 0) {
		gh_strlcpy(out, "/var/lib/gpuhub", outlen);
		return;
	}
	home = getenv("HOME");
	if (!home || !home[0]) {
		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &found) != 0 || !found)
			return;
		home = found->pw_dir;
	}
	n = snprintf(out, outlen, "%s/.local/share/gpuhub", home);
	if (n < 0 || (size_t)n >= outlen)
		out[0] = '\0';
}

void config_defaults(gh_config_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	gh_strlcpy(cfg->listen, "127.0.0.1:8000", sizeof cfg->listen);
	cfg_default_data_dir(cfg->data_dir, sizeof cfg->data_dir);
	gh_strlcpy(cfg->log_format, "text", sizeof cfg->log_format);
	gh_strlcpy(cfg->log_level, "info", sizeof cfg->log_level);
	gh_strlcpy(cfg->gpus, "auto", sizeof cfg->gpus);
	gh_strlcpy(cfg->gpus_sim_default, "4xA100-80GB", sizeof cfg->gpus_sim_default);
	cfg->gpu_poll_ms = 1000;
	gh_strlcpy(cfg->gpus_mps_control, "nvidia-cuda-mps-control", sizeof cfg->gpus_mps_control);
	gh_strlcpy(cfg->store_driver, "sqlite", sizeof cfg->store_driver);
	gh_strlcpy(cfg->runtime, "local", sizeof cfg->runtime);
	cfg->stop_grace_s = 10;
	cfg->runtime_sandbox = 0;
	gh_strlcpy(cfg->runtime_accounts, "none", sizeof cfg->runtime_accounts);
	cfg->max_body_bytes = 1048576;
	cfg->cookie_secure = 0;
	gh_strlcpy(cfg->websocket_relay, "auto", sizeof cfg->websocket_relay);
	cfg->login_ttl_hours = 12;
	cfg->token_ttl_days = 90;
	cfg->max_sessions_per_user = 10;
	gh_strlcpy(cfg->sched_placement, "gpuhub", sizeof cfg->sched_placement);
	cfg->sched_half_life_hours = 168;
	cfg->sched_user_gpus = 0;
	cfg->sched_group_gpus = 0;
	cfg->sched_user_sessions = 0;
	cfg->sched_user_gpus_max = 0;
	cfg->sched_group_gpus_max = 0;
	cfg->snap_quota_bytes = 10737418240L;
	cfg->metrics_token_file[0] = '\0';
	cfg->metrics_reclaim_horizon_s = 3600;
	cfg->usage_interval_s = 60;
	cfg->usage_retention_days = 400;
	config_alert_defaults(cfg);
	config_idle_defaults(cfg);
}

/* ---- one load ------------------------------------------------------ */

static int cfg_read_file(cfg_load_t *L, char **out, size_t *outlen)
{
	FILE *f = fopen(L->file, "rb");
	char *buf;
	size_t n;
	int err;

	*out = NULL;
	*outlen = 0;
	if (!f)
		return cfg_fail(L, GH_EIO, NULL, "cannot open: %s", strerror(errno));
	buf = malloc(CFG_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return cfg_fail(L, GH_ENOMEM, NULL, "out of memory");
	}
	n = fread(buf, 1, CFG_FILE_MAX + 1, f);
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err) {
		free(buf);
		return cfg_fail(L, GH_EIO, NULL, "cannot read: %s", strerror(err));
	}
	if (n > CFG_FILE_MAX) {
		free(buf);
		return cfg_fail(L, GH_ECONFIG, NULL, "larger than %d bytes, not a config file",
				CFG_FILE_MAX);
	}
	*out = buf;
	*outlen = n;
	return 0;
}

/* ---- step 4: convert and copy -------------------------------------- */

/* Strict decimal integer: optional '-', digits, nothing else.
 * 0, GH_EINVAL (not an integer) or GH_ETOOBIG (does not fit a long). */
static int cfg_parse_long(const char *s, long *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char *end;
	long v;

	if (*d < '0' || *d > '9')
		return GH_EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0')
		return GH_EINVAL;
	if (errno == ERANGE)
		return GH_ETOOBIG;
	*out = v;
	return 0;
}

static int cfg_parse_bool(const char *s, long *out)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return GH_EINVAL;
}

static int cfg_merge_one(cfg_load_t *L, const cfg_key_t *k, const char *v, gh_config_t *cfg)
{
	char *dst = (char *)cfg + k->cfg_off, shown[64];
	yaml_node_t *node;
	long n = 0;
	int rc;

	if (k->kind == CFG_TEXT) {
		size_t len = gh_strlcpy(dst, v, k->cfg_size);

		/* The schema's maximum length refused anything longer. */
		assert(len < k->cfg_size);
		(void)len;
		return 0;
	}
	rc = k->kind == CFG_BOOL ? cfg_parse_bool(v, &n) : cfg_parse_long(v, &n);
	if (rc == 0 && k->kind == CFG_INT && (n < INT_MIN || n > INT_MAX))
		rc = GH_ETOOBIG;
	if (rc) {
		node = cfg_tree_find(&L->doc, k->path, 0, 0);
		cfg_printable(v, shown, sizeof shown);
		if (rc == GH_ETOOBIG)
			return cfg_fail(L, GH_ECONFIG, node ? &node->start_mark : NULL,
					"%s: integer out of range: '%s'", k->path, shown);
		return cfg_fail(L, GH_ECONFIG, node ? &node->start_mark : NULL,
				"%s: expected %s, got %s%s%s", k->path, cfg_kind_text(k->path),
				v[0] ? "'" : "an empty value", shown, v[0] ? "'" : "");
	}
	if (k->kind == CFG_LONG)
		*(long *)(void *)dst = n;
	else
		*(int *)(void *)dst = (int)n;
	return 0;
}

static int cfg_merge(cfg_load_t *L, const cfg_doc_t *d, gh_config_t *cfg)
{
	const void *sect[CFG_S_COUNT];
	size_t i;
	int rc;

	sect[CFG_S_TOP] = d;
	sect[CFG_S_LOG] = d->log;
	sect[CFG_S_GPUS] = d->gpus;
	sect[CFG_S_STORE] = d->store;
	sect[CFG_S_RUNTIME] = d->runtime;
	sect[CFG_S_HTTP] = d->http;
	sect[CFG_S_AUTH] = d->auth;
	sect[CFG_S_SESSIONS] = d->sessions;
	sect[CFG_S_SCHED] = d->sched;
	sect[CFG_S_SNAPSHOTS] = d->snapshots;
	sect[CFG_S_METRICS] = d->metrics;
	sect[CFG_S_USAGE] = d->usage;
	sect[CFG_S_ALERTS] = d->alerts;
	sect[CFG_S_IDLE] = d->idle;
	for (i = 0; i < cfg_nkeys; i++) {
		const cfg_key_t *k = &cfg_keys[i];
		const char *v;

		if (!sect[k->sect])
			continue;
		v = *(char *const *)(const void *)((const char *)sect[k->sect] + k->doc_off);
		if (v && (rc = cfg_merge_one(L, k, v, cfg)) != 0)
			return rc;
	}
	return 0;
}

int config_load(gh_config_t *cfg, const char *path, char *errmsg, size_t errlen)
{
	cfg_load_t L;
	cyaml_config_t cy = {
		.log_fn = cfg_cyaml_log,
		.log_ctx = &L,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_ERROR,
		/* Aliases are replayed by libcyaml, so nested ones could blow
		 * up; a flat config file has no use for them. */
		.flags = CYAML_CFG_NO_ALIAS,
	};
	cyaml_data_t *data = NULL;
	cyaml_err_t cerr;
	gh_config_t next = *cfg;
	char *buf;
	size_t len;
	int rc;

	memset(&L, 0, sizeof L);
	L.file = path;
	L.msg = errmsg;
	L.msglen = errlen;
	if (errmsg && errlen)
		errmsg[0] = '\0';

	rc = cfg_read_file(&L, &buf, &len);
	if (rc)
		return rc;
	rc = cfg_parse_tree(&L, buf, len);
	if (rc || cfg_tree_empty(&L.doc) || (rc = cfg_tree_keys_plain(&L)) != 0)
		goto out;
	cerr = cyaml_load_data((const uint8_t *)buf, len, &cy, &cfg_schema, &data, NULL);
	if (cerr != CYAML_OK) {
		rc = cfg_schema_error(&L, cerr);
		goto out;
	}
	/* A non-empty tree is a mapping by now, so libcyaml returned one. */
	if (!data) {
		rc = cfg_fail(&L, GH_EINTERNAL, NULL, "the YAML loader returned nothing");
		goto out;
	}
	rc = cfg_merge(&L, data, &next);
	cyaml_free(&cy, &cfg_schema, data, 0);
	if (rc == 0)
		*cfg = next;
out:
	if (L.have_doc)
		yaml_document_delete(&L.doc);
	free(buf);
	return rc;
}

/* ---- validation ---------------------------------------------------- */

int cfg_bad(char *errmsg, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errmsg && errlen) {
		va_start(ap, fmt);
		vsnprintf(errmsg, errlen, fmt, ap);
		va_end(ap);
	}
	return GH_ECONFIG;
}

static int cfg_one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

/* "N" or "NxMODEL": N in 1..64 (the simulated inventory's size), MODEL of [A-Za-z0-9._-]. */
static int cfg_sim_spec_ok(const char *s)
{
	long n = 0;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if ((n = n * 10 + (*s - '0')) > 64)
			return 0;
	if (digits == 0 || n < 1)
		return 0;
	if (*s == '\0')
		return 1;
	if (*s++ != 'x' || *s == '\0' || strlen(s) > CFG_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')
		      || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int cfg_url_ok(const char *u)
{
	const char *rest;

	if (strncmp(u, "http://", 7) == 0)
		rest = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		rest = u + 8;
	else
		return 0;
	if (*rest == '\0' || *rest == '/')
		return 0;
	return strpbrk(u, " \t\r\n") == NULL;
}

static int cfg_ranges_ok(const gh_config_t *cfg, char *errmsg, size_t errlen)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++) {
		const cfg_key_t *k = &cfg_keys[i];
		const char *src = (const char *)cfg + k->cfg_off;
		long v;

		if (k->kind == CFG_TEXT)
			continue;
		v = k->kind == CFG_LONG ? *(const long *)(const void *)src
					: *(const int *)(const void *)src;
		if (v < k->min || v > k->max)
			return cfg_bad(errmsg, errlen, "%s: %ld is out of range (%ld..%ld)", k->path, v,
				       k->min, k->max);
	}
	return 0;
}

/* sched.<who>_gpus_max: 0, or at least the quota sched.<who>_gpus (which
 * must be set). 0 or GH_ECONFIG. */
static int borrow_bad(char *errmsg, size_t errlen, const char *who, int quota, int max)
{
	if (max && !quota)
		return cfg_bad(errmsg, errlen, "sched.%s_gpus_max: needs a quota to borrow beyond (sched.%s_gpus)",
			       who, who);
	if (max && max < quota)
		return cfg_bad(errmsg, errlen, "sched.%s_gpus_max: %d is below sched.%s_gpus (%d)", who, max, who,
			       quota);
	return 0;
}

int config_validate(const gh_config_t *cfg, char *errmsg, size_t errlen)
{
	static const char *const formats[] = { "text", "json", NULL };
	static const char *const levels[] = { "debug", "info", "warn", "error", NULL };
	static const char *const drivers[] = { "sqlite", "postgres", NULL };
	static const char *const engines[] = { "local", NULL };
	static const char *const accounts[] = { "none", "dedicated", "map", NULL };
	static const char *const relays[] = { "auto", "hub", NULL };
	static const char *const placements[] = { "random", "firstfit", "bestfit", "packing",
						  "dotprod", "fgd", "gpuhub", NULL };
	char host[CONFIG_STR];
	int port;

	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (gh_parse_listen(cfg->listen, host, sizeof host, &port) != 0)
		return cfg_bad(errmsg, errlen,
			       "listen: '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:8000, [::1]:8000, :8000)",
			       cfg->listen);
	if (cfg->data_dir[0] == '\0')
		return cfg_bad(errmsg, errlen,
			       "data_dir: not set and no default found (set data_dir or "
			       "GPUHUB_DATA_DIR; at most %d bytes)", CONFIG_STR - 1);
	if (cfg->public_url[0] && !cfg_url_ok(cfg->public_url))
		return cfg_bad(errmsg, errlen,
			       "public_url: '%s' is not an http:// or https:// URL with a host",
			       cfg->public_url);
	if (!cfg_one_of(cfg->log_format, formats))
		return cfg_bad(errmsg, errlen, "log.format: '%s' is not text or json", cfg->log_format);
	if (!cfg_one_of(cfg->log_level, levels))
		return cfg_bad(errmsg, errlen, "log.level: '%s' is not debug, info, warn or error",
			       cfg->log_level);
	if (strcmp(cfg->gpus, "auto") != 0 && strcmp(cfg->gpus, "nvml") != 0
	    && !(strncmp(cfg->gpus, "sim:", 4) == 0 && cfg_sim_spec_ok(cfg->gpus + 4)))
		return cfg_bad(errmsg, errlen,
			       "gpus.source: '%s' is not auto, nvml, sim:N or sim:NxMODEL "
			       "(N from 1 to 64)", cfg->gpus);
	if (!cfg_sim_spec_ok(cfg->gpus_sim_default))
		return cfg_bad(errmsg, errlen,
			       "gpus.sim_default: '%s' is not N or NxMODEL (N from 1 to 64), "
			       "e.g. 4xA100-80GB", cfg->gpus_sim_default);
	if (!cfg_one_of(cfg->store_driver, drivers))
		return cfg_bad(errmsg, errlen, "store.driver: '%s' is not sqlite or postgres",
			       cfg->store_driver);
	if (strcmp(cfg->store_driver, "sqlite") == 0
	    && (strncmp(cfg->store_url, "postgres://", 11) == 0
		|| strncmp(cfg->store_url, "postgresql://", 13) == 0))
		return cfg_bad(errmsg, errlen,
			       "store.url: a PostgreSQL URL, but store.driver is sqlite");
	if (!cfg_one_of(cfg->runtime, engines))
		return cfg_bad(errmsg, errlen, "runtime.engine: '%s' is not a known engine (local)",
			       cfg->runtime);
	if (!cfg->gpus_mps_control[0] || strchr(cfg->gpus_mps_control, ' ') ||
	    (strchr(cfg->gpus_mps_control, '/') && cfg->gpus_mps_control[0] != '/'))
		return cfg_bad(errmsg, errlen, "gpus.mps_control: '%s' must be \"off\", a command name or an "
			       "absolute path", cfg->gpus_mps_control);
	if (!cfg_one_of(cfg->websocket_relay, relays))
		return cfg_bad(errmsg, errlen, "http.websocket_relay: '%s' is not auto or hub", cfg->websocket_relay);
	if (!cfg_one_of(cfg->runtime_accounts, accounts))
		return cfg_bad(errmsg, errlen, "runtime.accounts: '%s' is not none, dedicated or map",
			       cfg->runtime_accounts);
	if (!cfg_one_of(cfg->sched_placement, placements))
		return cfg_bad(errmsg, errlen,
			       "sched.placement: '%s' is not random, firstfit, bestfit, packing, dotprod, "
			       "fgd or gpuhub", cfg->sched_placement);
	if (borrow_bad(errmsg, errlen, "user", cfg->sched_user_gpus, cfg->sched_user_gpus_max) ||
	    borrow_bad(errmsg, errlen, "group", cfg->sched_group_gpus, cfg->sched_group_gpus_max))
		return GH_ECONFIG;
	if (cfg->metrics_token_file[0] && access(cfg->metrics_token_file, R_OK) != 0)
		return cfg_bad(errmsg, errlen, "metrics.token_file: cannot read '%s': %s",
			       cfg->metrics_token_file, strerror(errno));
	if (config_alert_validate(cfg, errmsg, errlen) || config_idle_validate(cfg, errmsg, errlen))
		return GH_ECONFIG;
	return cfg_ranges_ok(cfg, errmsg, errlen);
}

const char *config_diff_restart(const gh_config_t *a, const gh_config_t *b)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++) {
		const cfg_key_t *k = &cfg_keys[i];
		const char *x = (const char *)a + k->cfg_off, *y = (const char *)b + k->cfg_off;
		int same;

		if (k->reloadable)
			continue;
		same = k->kind == CFG_TEXT ? strncmp(x, y, k->cfg_size) == 0
					   : memcmp(x, y, k->cfg_size) == 0;
		if (!same)
			return k->path;
	}
	return NULL;
}
