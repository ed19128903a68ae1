/*
 * config_alerts.c — defaults and checks of the alerts.* section: the
 * anomaly rules' thresholds and the sinks notices go to.
 *
 * A rule whose threshold is 0 is off. A sink is on when its address is
 * set: alerts.slack_url_file/_env, alerts.webhook_url_file/_env,
 * alerts.alertmanager_url, alerts.smtp_url (with smtp_to for admins).
 * Secrets (webhook URLs, the SMTP password) are never values in the file:
 * the file names a file or an environment variable that holds them, so the
 * configuration can be shown and logged safely. Whether that file or
 * variable can be read is checked when the daemon starts (alert/).
 */
#include "config/config_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void config_alert_defaults(gh_config_t *cfg)
{
	cfg->alerts_enabled = 1;
	cfg->alert_eval_ms = 5000;
	cfg->alert_gpu_idle_s = 3600;
	cfg->alert_memory_idle_mib = 1024;
	cfg->alert_memory_idle_s = 1800;
	cfg->alert_temperature_c = 85;
	cfg->alert_power_w = 0;
	cfg->alert_throttle_s = 60;
	cfg->alert_crash_failures = 3;
	cfg->alert_crash_window_s = 600;
	cfg->alert_queue_wait_s = 1800;
	cfg->alert_disk_used_pct = 90;
	cfg->alert_rt_failures = 10;
	cfg->alert_rt_window_s = 3600;
	cfg->alert_repeat_s = 14400;
	cfg->alert_retry_initial_ms = 1000;
	cfg->alert_retry_max_ms = 300000;
	cfg->alert_retry_attempts = 8;
	cfg->alert_send_timeout_s = 10;
	gh_strlcpy(cfg->alert_smtp_tls, "auto", sizeof cfg->alert_smtp_tls);
	gh_strlcpy(cfg->alert_smtp_from, "gpuhub@localhost", sizeof cfg->alert_smtp_from);
	cfg->alert_email_users = 1;
}

static int has_space(const char *s)
{
	return strpbrk(s, " \t\r\n") != NULL;
}

static int http_url_ok(const char *u)
{
	const char *rest = strncmp(u, "http://", 7) == 0 ? u + 7 : strncmp(u, "https://", 8) == 0 ? u + 8 : NULL;
	return rest && *rest && *rest != '/' && !has_space(u);
}

/* An environment variable name: letters, digits, '_', not starting with a digit. */
static int env_name_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int secret_ok(const char *what, const char *file, const char *env, char *errmsg, size_t errlen)
{
	if (file[0] && env[0])
		return cfg_bad(errmsg, errlen, "alerts.%s_file and alerts.%s_env are both set; set one", what, what);
	if (env[0] && !env_name_ok(env))
		return cfg_bad(errmsg, errlen, "alerts.%s_env: '%s' is not an environment variable name", what, env);
	return 0;
}

/* "a@b" without spaces or angle brackets, the SMTP envelope's shape. */
static int address_ok(const char *a, size_t len)
{
	const char *at = memchr(a, '@', len);
	for (size_t i = 0; i < len; i++)
		if (a[i] == ' ' || a[i] == '<' || a[i] == '>' || a[i] == '\t' || a[i] == '\r' || a[i] == '\n')
			return 0;
	return at && at > a && at < a + len - 1;
}

static int address_list_ok(const char *s)
{
	while (*s) {
		size_t len;
		while (*s == ' ' || *s == ',')
			s++;
		len = strcspn(s, ",");
		while (len && s[len - 1] == ' ')
			len--;
		if (len && !address_ok(s, len))
			return 0;
		s += strcspn(s, ",");
	}
	return 1;
}

int config_alert_validate(const gh_config_t *cfg, char *errmsg, size_t errlen)
{
	if (secret_ok("slack_url", cfg->alert_slack_url_file, cfg->alert_slack_url_env, errmsg, errlen) ||
	    secret_ok("webhook_url", cfg->alert_webhook_url_file, cfg->alert_webhook_url_env, errmsg, errlen) ||
	    secret_ok("smtp_password", cfg->alert_smtp_password_file, cfg->alert_smtp_password_env, errmsg, errlen))
		return GH_ECONFIG;
	if (cfg->alert_am_url[0] && !http_url_ok(cfg->alert_am_url))
		return cfg_bad(errmsg, errlen, "alerts.alertmanager_url: '%s' is not an http:// or https:// URL with a host",
		           cfg->alert_am_url);
	if (cfg->alert_smtp_url[0] &&
	    ((strncmp(cfg->alert_smtp_url, "smtp://", 7) != 0 && strncmp(cfg->alert_smtp_url, "smtps://", 8) != 0) ||
	     has_space(cfg->alert_smtp_url) || strchr(cfg->alert_smtp_url, '@')))
		return cfg_bad(errmsg, errlen,
		           "alerts.smtp_url: '%s' is not smtp://HOST[:PORT] or smtps://HOST[:PORT] "
		           "(put the login in alerts.smtp_user and alerts.smtp_password_file)", cfg->alert_smtp_url);
	if (strcmp(cfg->alert_smtp_tls, "auto") != 0 && strcmp(cfg->alert_smtp_tls, "required") != 0 &&
	    strcmp(cfg->alert_smtp_tls, "off") != 0)
		return cfg_bad(errmsg, errlen, "alerts.smtp_tls: '%s' is not auto, required or off", cfg->alert_smtp_tls);
	if (!address_ok(cfg->alert_smtp_from, strlen(cfg->alert_smtp_from)))
		return cfg_bad(errmsg, errlen, "alerts.smtp_from: '%s' is not an e-mail address", cfg->alert_smtp_from);
	if (!address_list_ok(cfg->alert_smtp_to))
		return cfg_bad(errmsg, errlen, "alerts.smtp_to: '%s' is not a comma-separated list of e-mail addresses",
		           cfg->alert_smtp_to);
	if (cfg->alert_smtp_to[0] && !cfg->alert_smtp_url[0])
		return cfg_bad(errmsg, errlen, "alerts.smtp_to is set but alerts.smtp_url is not: say which server to use");
	if (cfg->alert_retry_max_ms < cfg->alert_retry_initial_ms)
		return cfg_bad(errmsg, errlen, "alerts.retry_max_ms (%d) is smaller than alerts.retry_initial_ms (%d)",
		           cfg->alert_retry_max_ms, cfg->alert_retry_initial_ms);
	return 0;
}
