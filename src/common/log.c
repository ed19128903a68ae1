/*
 * log.c — see log.h. JSON lines are built with jansson so messages are
 * always escaped correctly; text lines carry an ISO-8601 UTC timestamp.
 */
#include "common/log.h"
#include "common/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static gh_log_format_t log_fmt = GH_LOG_TEXT;
static gh_log_level_t log_min = GH_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void gh_log_setup(gh_log_format_t fmt, gh_log_level_t min_level)
{
	log_fmt = fmt;
	log_min = min_level;
}

int gh_log_format_parse(const char *s, gh_log_format_t *out)
{
	if (strcmp(s, "text") == 0)
		*out = GH_LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = GH_LOG_JSON;
	else
		return GH_EINVAL;
	return 0;
}

void gh_log(gh_log_level_t lvl, const char *fmt, ...)
{
	char msg[2048], ts[40], line[2600];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03ldZ", now.tv_nsec / 1000000);

	if (log_fmt == GH_LOG_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", level_names[lvl], "msg", msg);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		n = snprintf(line, sizeof(line), "%s\n", s ? s : "{}");
		free(s);
		json_decref(o);
	} else {
		n = snprintf(line, sizeof(line), "%s %-5s %s\n", ts, level_names[lvl], msg);
	}
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}
