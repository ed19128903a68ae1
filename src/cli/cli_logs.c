/*
 * cli_logs.c — "gpuhub logs SESSION": the last lines the session's
 * workspace wrote (kept after it stops).
 */
#include "cli/cli_int.h"

#include <stdio.h>
#include <stdlib.h>

int cli_cmd_logs(cli_ctx_t *c, const cli_args_t *a)
{
	const char *tail = cli_arg(a, "tail");
	char path[128];
	int64_t id, n = 200;
	cli_resp_t r;
	int rc;

	if (tail && (cli_parse_uint(tail, &n) < 0 || n < 1 || n > 10000))
		return cli_usage(c, "--tail must be a number from 1 to 10000, not '%s'", tail);
	rc = cli_session_resolve(c, a->pos[0], &id);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/sessions/%lld/logs?tail=%lld", (long long)id, (long long)n);
	rc = cli_http(c, "GET", path, NULL, &r);
	if (rc == 0 && (r.status < 200 || r.status > 299))
		rc = cli_report(c, &r);
	else if (rc < 0)
		rc = cli_report(c, &r);
	else if (r.len > 0)
		fwrite(r.body, 1, r.len, c->out);
	cli_resp_free(&r);
	return rc;
}
