/*
 * config_idle.c — defaults and checks of the idle.* section: the idle
 * rules (docs/idle.md), the warning hook, and the process checkpoint used
 * on suspend.
 *
 *   key                  | default          | checked here
 *   ---------------------+------------------+-------------------------------
 *   idle.notify_url      | ""               | http:// or https:// with a host
 *   idle.checkpoint      | auto             | auto or off
 *   idle.criu            | criu             | a command name or an absolute
 *   idle.cuda_checkpoint | cuda-checkpoint  | path, without blanks
 *
 * The numeric keys are checked against their ranges in config.c's table.
 */
#include "config/config_int.h"
#include "common/err.h"
#include "common/util.h"

#include <string.h>

void config_idle_defaults(gh_config_t *cfg)
{
	cfg->idle_poll_s = 10;
	cfg->idle_gpu_idle_s = 1800;
	cfg->idle_gpu_util_pct = 5;
	cfg->idle_cpu_pct = 20;
	cfg->idle_full_idle_s = 3600;
	cfg->idle_max_lifetime_s = 0;
	cfg->idle_warn_s = 300;
	gh_strlcpy(cfg->idle_checkpoint, "auto", sizeof cfg->idle_checkpoint);
	gh_strlcpy(cfg->idle_criu, "criu", sizeof cfg->idle_criu);
	gh_strlcpy(cfg->idle_cuda_checkpoint, "cuda-checkpoint", sizeof cfg->idle_cuda_checkpoint);
}

/* A program to run: a bare command name (found on PATH) or an absolute path. */
static int tool_ok(const char *v)
{
	return v[0] && !strpbrk(v, " \t\r\n") && (!strchr(v, '/') || v[0] == '/');
}

int config_idle_validate(const gh_config_t *cfg, char *errmsg, size_t errlen)
{
	if (cfg->idle_notify_url[0] && !cfg_url_ok(cfg->idle_notify_url))
		return cfg_bad(errmsg, errlen, "idle.notify_url: '%s' is not an http:// or https:// URL with a host",
		               cfg->idle_notify_url);
	if (strcmp(cfg->idle_checkpoint, "auto") != 0 && strcmp(cfg->idle_checkpoint, "off") != 0)
		return cfg_bad(errmsg, errlen, "idle.checkpoint: '%s' is not auto or off", cfg->idle_checkpoint);
	if (!tool_ok(cfg->idle_criu))
		return cfg_bad(errmsg, errlen, "idle.criu: '%s' must be a command name or an absolute path",
		               cfg->idle_criu);
	if (!tool_ok(cfg->idle_cuda_checkpoint))
		return cfg_bad(errmsg, errlen, "idle.cuda_checkpoint: '%s' must be a command name or an absolute path",
		               cfg->idle_cuda_checkpoint);
	return 0;
}
