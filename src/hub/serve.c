/*
 * serve.c — "gpuhub serve": flags, configuration, signals and the event
 * loop that drives the HTTP server and the hub's periodic work.
 *
 * Signals are handled inside the loop: the handlers only set flags, and
 * epoll_wait returns early on a signal, so SIGTERM/SIGINT shut down at
 * once and SIGHUP reloads between two turns of the loop.
 */
#include "hub/serve.h"
#include "api/api.h"
#include "auth/auth.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "config/config.h"
#include "http/http.h"
#include "hub/hub.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t got_term, got_hup;

/* Finished worker jobs: the loop turn ends and hub_tick() drains them. */
static void wake(void *ctx) { (void)ctx; }

static void on_term(int sig) { (void)sig; got_term = 1; }
static void on_hup(int sig) { (void)sig; got_hup = 1; }

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: gpuhub serve [options]\n"
	        "       gpuhub serve --check-config FILE\n"
	        "\n"
	        "Runs the gpuhub daemon. No configuration file is needed: every setting has a default.\n"
	        "\n"
	        "options:\n"
	        "  --config FILE          read settings from a YAML file (see docs/configuration.md)\n"
	        "  --listen ADDR:PORT     address to serve on (default 127.0.0.1:8000)\n"
	        "  --data-dir DIR         state directory (default: $GPUHUB_DATA_DIR, /var/lib/gpuhub as root,\n"
	        "                         else ~/.local/share/gpuhub)\n"
	        "  --gpus SPEC            auto | nvml | sim:N[xMODEL], e.g. sim:4xA100-80GB (default auto)\n"
	        "  --log-format FMT       text | json (default text)\n"
	        "  --log-level LEVEL      debug | info | warn | error (default info)\n"
	        "  --check-config FILE    validate FILE and exit: 0 if valid, 1 with the error otherwise\n"
	        "  -h, --help             show this help\n"
	        "\n"
	        "environment:\n"
	        "  GPUHUB_ADMIN_TOKEN     on first start, make this string the API token of user 'admin'\n"
	        "  GPUHUB_DATA_DIR        default data directory\n"
	        "\n"
	        "signals: SIGHUP reloads the configuration file, SIGTERM/SIGINT stop cleanly.\n");
}

typedef struct {
	const char *config;
	const char *listen, *data_dir, *gpus, *log_format, *log_level;
} serve_flags_t;

static int parse_flags(int argc, char **argv, serve_flags_t *fl, const char **check)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const char **slot = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--config") == 0) slot = &fl->config;
		else if (strcmp(a, "--listen") == 0) slot = &fl->listen;
		else if (strcmp(a, "--data-dir") == 0) slot = &fl->data_dir;
		else if (strcmp(a, "--gpus") == 0) slot = &fl->gpus;
		else if (strcmp(a, "--log-format") == 0) slot = &fl->log_format;
		else if (strcmp(a, "--log-level") == 0) slot = &fl->log_level;
		else if (strcmp(a, "--check-config") == 0) slot = check;
		else {
			fprintf(stderr, "gpuhub serve: unknown option '%s' (see gpuhub serve --help)\n", a);
			return -1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "gpuhub serve: option '%s' needs a value\n", a);
			return -1;
		}
		v = argv[++i];
		*slot = v;
	}
	return 0;
}

static void apply_flags(gh_config_t *cfg, const serve_flags_t *fl)
{
	if (fl->listen) gh_strlcpy(cfg->listen, fl->listen, sizeof(cfg->listen));
	if (fl->data_dir) gh_strlcpy(cfg->data_dir, fl->data_dir, sizeof(cfg->data_dir));
	if (fl->gpus) gh_strlcpy(cfg->gpus, fl->gpus, sizeof(cfg->gpus));
	if (fl->log_format) gh_strlcpy(cfg->log_format, fl->log_format, sizeof(cfg->log_format));
	if (fl->log_level) gh_strlcpy(cfg->log_level, fl->log_level, sizeof(cfg->log_level));
}

static gh_log_level_t level_of(const char *s)
{
	if (strcmp(s, "debug") == 0) return GH_LOG_DEBUG;
	if (strcmp(s, "warn") == 0) return GH_LOG_WARN;
	if (strcmp(s, "error") == 0) return GH_LOG_ERROR;
	return GH_LOG_INFO;
}

static void setup_log(const gh_config_t *cfg)
{
	gh_log_format_t f = GH_LOG_TEXT;
	gh_log_format_parse(cfg->log_format, &f);
	gh_log_setup(f, level_of(cfg->log_level));
}

/* Loads defaults + file + flags and validates; prints the error. */
static int build_config(gh_config_t *cfg, const serve_flags_t *fl)
{
	char err[512];
	config_defaults(cfg);
	if (fl->config && config_load(cfg, fl->config, err, sizeof(err)) != 0) {
		fprintf(stderr, "gpuhub serve: %s\n", err);
		return -1;
	}
	apply_flags(cfg, fl);
	if (config_validate(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "gpuhub serve: %s%s%s\n", fl->config ? fl->config : "", fl->config ? ": " : "", err);
		return -1;
	}
	return 0;
}

static void reload(hub_t *hub, http_server_t *srv, const serve_flags_t *fl)
{
	gh_config_t cfg;
	const char *key;
	if (!fl->config) {
		GH_INFO("SIGHUP: no configuration file to reload");
		return;
	}
	if (build_config(&cfg, fl) != 0) {
		GH_ERROR("SIGHUP: %s is invalid; keeping the running configuration", fl->config);
		return;
	}
	key = config_diff_restart(hub_config(hub), &cfg);
	if (key)
		GH_WARN("SIGHUP: '%s' changed but takes effect only after a restart", key);
	setup_log(&cfg);
	http_server_set_max_body(srv, (size_t)cfg.max_body_bytes);
	hub_reload(hub, &cfg);
}

int serve_main(int argc, char **argv)
{
	serve_flags_t fl = {0};
	const char *check = NULL;
	gh_config_t cfg;
	hub_t *hub = NULL;
	http_server_t *srv = NULL;
	api_t *api = NULL;
	char host[CONFIG_STR], err[512] = "";
	int port, rc = 1;
	struct sigaction sa;

	if (parse_flags(argc, argv, &fl, &check) != 0)
		return 2;
	if (check) {
		fl.config = check;
		if (build_config(&cfg, &fl) != 0)
			return 1;
		printf("%s: configuration is valid\n", check);
		return 0;
	}
	if (build_config(&cfg, &fl) != 0)
		return 1;
	setup_log(&cfg);
	if (auth_init() != 0) {
		GH_ERROR("cannot initialise the crypto library");
		return 1;
	}
	gh_parse_listen(cfg.listen, host, sizeof(host), &port);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);

	if (hub_open(&hub, &cfg, err, sizeof(err)) != 0) {
		GH_ERROR("cannot start: %s", err);
		goto out;
	}
	if (http_server_create(&srv, host, port, (size_t)cfg.max_body_bytes, api_handle, NULL, err, sizeof(err)) != 0) {
		GH_ERROR("cannot start: %s", err);
		goto out;
	}
	if (api_create(&api, hub, srv) != 0)
		goto out;
	http_server_set_callback_ctx(srv, api);
	if (http_server_watch(srv, hub_wakeup_fd(hub), wake, hub) != 0)
		GH_WARN("cannot watch the worker queue; finished work is picked up once a second");
	GH_INFO("gpuhub %s serving on http://%s:%d/ (data dir %s, GPUs: %s%s)", GH_VERSION,
	        host[0] ? host : "0.0.0.0", http_server_port(srv), cfg.data_dir, hub_gpu_source(hub),
	        hub_gpus_simulated(hub) ? ", SIMULATED" : "");

	while (!got_term) {
		int wait = hub_tick(hub);
		if (got_hup) {
			got_hup = 0;
			reload(hub, srv, &fl);
		}
		http_server_run_once(srv, wait);
	}
	GH_INFO("shutting down: workspaces keep running and are adopted at the next start");
	rc = 0;
out:
	if (api)
		api_streams_end(api);
	if (srv)
		http_server_shutdown(srv, 3000);
	api_destroy(api);
	http_server_destroy(srv);
	hub_close(hub);
	return rc;
}
