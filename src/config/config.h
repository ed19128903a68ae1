/*
 * config.h — gpuhub's configuration: one YAML file, every key optional.
 *
 * config_defaults() fills the built-in defaults; config_load() reads a file
 * over them (libcyaml, strict schema: unknown keys are errors). Errors name
 * the file, line, column and key in errmsg. Command-line flags are applied
 * by the caller after loading. See docs/configuration.md for every key.
 *
 * Keys (YAML path → field):
 *   listen                    listen            "127.0.0.1:8000"
 *   data_dir                  data_dir          see config_defaults()
 *   public_url                public_url        "" (derived from listen)
 *   log.format                log_format        "text" | "json"
 *   log.level                 log_level         "debug"|"info"|"warn"|"error"
 *   gpus.source               gpus              "auto" | "nvml" | "sim:N[xMODEL]"
 *   gpus.sim_default          gpus_sim_default  "4xA100-80GB" (auto's fallback)
 *   gpus.poll_interval_ms     gpu_poll_ms       1000
 *   gpus.mps_control          gpus_mps_control  "nvidia-cuda-mps-control" (on PATH; a
 *                                               path; "off" = no MPS daemons)
 *   store.driver              store_driver      "sqlite"
 *   store.url                 store_url         "" = <data_dir>/gpuhub.db
 *   runtime.engine            runtime           "local"
 *   runtime.stop_grace_s      stop_grace_s      10
 *   runtime.sandbox           runtime_sandbox   false (bubblewrap around workspaces)
 *   runtime.accounts          runtime_accounts  "none" | "dedicated" (gh-<user>) | "map"
 *   http.max_body_bytes       max_body_bytes    1048576
 *   http.cookie_secure        cookie_secure     false
 *   http.websocket_relay      websocket_relay   "auto" (kernel sockmap where allowed) | "hub"
 *   auth.login_ttl_hours      login_ttl_hours   12
 *   auth.token_ttl_days       token_ttl_days    90   (default expiry; 0 = never)
 *   sessions.max_per_user     max_sessions_per_user 10
 *   sched.placement           sched_placement   "gpuhub" (random|firstfit|bestfit|
 *                                               packing|dotprod|fgd|gpuhub)
 *   sched.half_life_hours     sched_half_life_hours 168 (fair-share usage decay)
 *   sched.user_gpus           sched_user_gpus   0 = no quota (GPUs a user may hold)
 *   sched.group_gpus          sched_group_gpus  0 = no quota (GPUs a group may hold)
 *   sched.user_sessions       sched_user_sessions 0 = no limit (sessions holding GPUs)
 *   sched.user_gpus_max       sched_user_gpus_max 0 = sched.user_gpus (above the quota
 *                                               up to this many: borrowed, preemptible)
 *   sched.group_gpus_max      sched_group_gpus_max 0 = sched.group_gpus (same, per group)
 *   snapshots.quota_bytes     snap_quota_bytes  10737418240 (10 GiB of archives per user)
 *   metrics.token_file        metrics_token_file "" = GET /metrics needs no token
 *   metrics.reclaim_horizon_s metrics_reclaim_horizon_s 3600 (GPU-seconds counted
 *                                               per GPU when the hub ends a session early)
 *   usage.interval_s          usage_interval_s  60 (running sessions are booked this often)
 *   usage.retention_days      usage_retention_days 400 (older usage rows are pruned)
 *   alerts.*                  alert_*           anomaly rules and alert sinks, see
 *                                               docs/configuration.md ("alerts")
 *   idle.poll_interval_s      idle_poll_s       10 (how often activity is gathered)
 *   idle.gpu_idle_s           idle_gpu_idle_s   1800 (GPUs unused this long → suspend; 0 = off)
 *   idle.gpu_util_percent     idle_gpu_util_pct 5 (GPU utilization that counts as use)
 *   idle.cpu_percent          idle_cpu_pct      20 (CPU use, % of one core, that counts as compute)
 *   idle.full_idle_s          idle_full_idle_s  3600 (no activity, no compute → suspend; 0 = off)
 *   idle.max_lifetime_s       idle_max_lifetime_s 0 = off (running this long → suspend)
 *   idle.warn_s               idle_warn_s       300 (warning before any action)
 *   idle.notify_command       idle_notify_command "" (run on a warning; see docs/idle.md)
 *   idle.notify_url           idle_notify_url   "" (POSTed a JSON warning)
 *   idle.checkpoint           idle_checkpoint   auto (process checkpoint on suspend when criu check passes; off)
 *   idle.criu                 idle_criu         criu (command name or absolute path)
 *   idle.cuda_checkpoint      idle_cuda_checkpoint cuda-checkpoint
 *
 * Reloadable on SIGHUP: log.*, auth.*, http.max_body_bytes,
 * sessions.max_per_user, sched.*, snapshots.*, metrics.*, usage.*, idle.*. The rest needs a restart (config_diff_restart()).
 */
#ifndef GH_CONFIG_H
#define GH_CONFIG_H

#include <stddef.h>

#define CONFIG_STR 256

typedef struct {
	char listen[CONFIG_STR];
	char data_dir[CONFIG_STR];
	char public_url[CONFIG_STR];
	char log_format[16];
	char log_level[16];
	char gpus[CONFIG_STR];
	char gpus_sim_default[CONFIG_STR];
	int gpu_poll_ms;
	char gpus_mps_control[CONFIG_STR];
	char store_driver[32];
	char store_url[CONFIG_STR];
	char runtime[32];
	int stop_grace_s;
	int runtime_sandbox;
	char runtime_accounts[16];
	long max_body_bytes;
	int cookie_secure;
	char websocket_relay[8];
	int login_ttl_hours;
	int token_ttl_days;
	int max_sessions_per_user;
	char sched_placement[16];
	int sched_half_life_hours;
	int sched_user_gpus;
	int sched_group_gpus;
	int sched_user_sessions;
	int sched_user_gpus_max;
	int sched_group_gpus_max;
	long snap_quota_bytes;
	char metrics_token_file[CONFIG_STR];
	int metrics_reclaim_horizon_s;
	int usage_interval_s;
	int usage_retention_days;
	/* alerts.*: rules (0 turns a rule off) */
	int alerts_enabled;
	int alert_eval_ms;
	int alert_gpu_idle_s;
	int alert_memory_idle_mib;
	int alert_memory_idle_s;
	int alert_temperature_c;
	int alert_power_w;
	int alert_throttle_s;
	int alert_crash_failures;
	int alert_crash_window_s;
	int alert_queue_wait_s;
	int alert_disk_used_pct;
	int alert_rt_failures;
	int alert_rt_window_s;
	/* alerts.*: delivery */
	int alert_repeat_s;
	int alert_retry_initial_ms;
	int alert_retry_max_ms;
	int alert_retry_attempts;
	int alert_send_timeout_s;
	char alert_slack_url_file[CONFIG_STR];
	char alert_slack_url_env[64];
	char alert_webhook_url_file[CONFIG_STR];
	char alert_webhook_url_env[64];
	char alert_am_url[CONFIG_STR];
	char alert_smtp_url[CONFIG_STR];
	char alert_smtp_tls[16];
	char alert_smtp_from[CONFIG_STR];
	char alert_smtp_to[CONFIG_STR];
	char alert_smtp_user[CONFIG_STR];
	char alert_smtp_password_file[CONFIG_STR];
	char alert_smtp_password_env[64];
	int alert_email_users;
	int idle_poll_s;
	int idle_gpu_idle_s;
	int idle_gpu_util_pct;
	int idle_cpu_pct;
	int idle_full_idle_s;
	int idle_max_lifetime_s;
	int idle_warn_s;
	char idle_notify_command[CONFIG_STR];
	char idle_notify_url[CONFIG_STR];
	char idle_checkpoint[8];         /* "auto" or "off" */
	char idle_criu[CONFIG_STR];
	char idle_cuda_checkpoint[CONFIG_STR];
} gh_config_t;

/* Built-in defaults. data_dir: $GPUHUB_DATA_DIR, else /var/lib/gpuhub for
 * root, else $HOME/.local/share/gpuhub. */
void config_defaults(gh_config_t *cfg);
/* Reads path over *cfg. 0, or GH_ECONFIG/GH_EIO with a message such as
 * "gpuhub.yaml:3:5: unknown key 'lisen'" in errmsg. *cfg is unchanged
 * on failure. */
int config_load(gh_config_t *cfg, const char *path, char *errmsg, size_t errlen);
/* Checks values (listen parses, log level known, ranges...). 0 or
 * GH_ECONFIG with "key: why" in errmsg. */
int config_validate(const gh_config_t *cfg, char *errmsg, size_t errlen);
/* Names the first key that differs between a and b and needs a restart
 * to take effect, or NULL when everything that changed is reloadable. */
const char *config_diff_restart(const gh_config_t *a, const gh_config_t *b);

#endif
