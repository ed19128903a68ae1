/*
 * cli_usage.c — "gpuhub usage": GPU-hours and session hours from
 * GET /api/v1/usage as a table (one column per grouped dimension, then the
 * hours, then a TOTAL line), the server's JSON with -o json, or its CSV
 * with --csv. Dates and group words are checked by the server, whose 400
 * names the bad one.
 */
#include "cli/cli_int.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *key, *head;
} dims[] = {
	{"day", "DAY"}, {"user", "USER"}, {"group", "GROUP"}, {"environment", "ENVIRONMENT"}, {"model", "MODEL"},
};
#define NDIMS (sizeof(dims) / sizeof(dims[0]))

/* Appends "&key=<escaped value>" when value is set. */
static int add_param(CURL *h, char *path, size_t len, const char *key, const char *value)
{
	char *esc;
	size_t off = strlen(path);
	if (!value)
		return 0;
	esc = curl_easy_escape(h, value, 0);
	if (!esc)
		return GH_ENOMEM;
	snprintf(path + off, len - off, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, esc);
	curl_free(esc);
	return strlen(path) + 1 < len ? 0 : GH_EINVAL;
}

static void hours(const json_t *o, const char *key, char *out, size_t len)
{
	snprintf(out, len, "%.3f", json_number_value(json_object_get(o, key)));
}

static int print_table(cli_ctx_t *c, const json_t *doc)
{
	const json_t *groups = json_object_get(doc, "group_by"), *items = json_object_get(doc, "items");
	const json_t *total = json_object_get(doc, "total");
	int used[NDIMS] = {0};
	const char *cells[CLI_TABLE_MAXCOLS];
	char bufs[NDIMS][128], gpu[32], sess[32];
	cli_table_t t;
	size_t i, k, n = 0, ncols;
	int rc = 0;

	for (k = 0; k < json_array_size(groups); k++)
		for (i = 0; i < NDIMS; i++)
			if (json_is_string(json_array_get(groups, k)) &&
			    strcmp(json_string_value(json_array_get(groups, k)), dims[i].key) == 0)
				used[i] = 1;
	cli_table_init(&t, NULL);
	for (i = 0; i < NDIMS; i++)
		if (used[i])
			t.head[t.ncols++] = dims[i].head;
	t.head[t.ncols++] = "GPU-HOURS";
	t.head[t.ncols++] = "SESSION-HOURS";
	t.right = 3u << (t.ncols - 2);
	ncols = t.ncols;
	for (k = 0; k < json_array_size(items) && rc == 0; k++) {
		const json_t *it = json_array_get(items, k);
		n = 0;
		for (i = 0; i < NDIMS; i++)
			if (used[i])
				cells[n++] = cli_jstr(it, dims[i].key, "-", bufs[i], sizeof(bufs[i]));
		hours(it, "gpu_hours", gpu, sizeof(gpu));
		hours(it, "session_hours", sess, sizeof(sess));
		cells[n++] = gpu;
		cells[n++] = sess;
		rc = cli_table_addv(&t, cells);
	}
	if (rc == 0 && ncols > 2) {
		for (n = 0; n < ncols - 2; n++)
			cells[n] = n == 0 ? "TOTAL" : "";
		hours(total, "gpu_hours", gpu, sizeof(gpu));
		hours(total, "session_hours", sess, sizeof(sess));
		cells[n++] = gpu;
		cells[n++] = sess;
		rc = cli_table_addv(&t, cells);
	} else if (rc == 0 && json_array_size(items) == 0) {
		cells[0] = "0.000";
		cells[1] = "0.000";
		rc = cli_table_addv(&t, cells);
	}
	if (rc == 0) {
		fprintf(c->out, "Usage from %s to %s (UTC days):\n", cli_jstr(doc, "from", "?", bufs[0], sizeof(bufs[0])),
		        cli_jstr(doc, "to", "?", bufs[1], sizeof(bufs[1])));
		cli_table_print(&t, c->out);
	}
	cli_table_free(&t);
	return rc < 0 ? cli_fail(c, CLI_EXIT_ERROR, "out of memory") : 0;
}

int cli_cmd_usage(cli_ctx_t *c, const cli_args_t *a)
{
	char path[1024] = "/usage";
	const char *by = cli_arg(a, "by");
	int csv = cli_flag(a, "csv");
	CURL *h = curl_easy_init();
	cli_resp_t r;
	int rc;

	memset(&r, 0, sizeof(r));
	if (!h)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	rc = add_param(h, path, sizeof(path), "from", cli_arg(a, "from"));
	if (!rc)
		rc = add_param(h, path, sizeof(path), "to", cli_arg(a, "to"));
	if (!rc)
		rc = add_param(h, path, sizeof(path), "group_by", by ? by : "user,day");
	if (!rc)
		rc = add_param(h, path, sizeof(path), "user", cli_arg(a, "user"));
	if (!rc && csv)
		rc = add_param(h, path, sizeof(path), "format", "csv");
	curl_easy_cleanup(h);
	if (rc)
		return cli_usage(c, "the flags make too long a request");
	if (csv) {
		rc = cli_http(c, "GET", path, NULL, &r);
		if (rc < 0 || r.status < 200 || r.status > 299) {
			rc = rc == GH_ENOMEM ? cli_fail(c, CLI_EXIT_ERROR, "out of memory") : cli_report(c, &r);
		} else {
			fwrite(r.body, 1, r.len, c->out);
			rc = 0;
		}
		cli_resp_free(&r);
		return rc;
	}
	rc = cli_call(c, "GET", path, NULL, &r);
	if (rc == 0) {
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else
			rc = print_table(c, r.json);
	}
	cli_resp_free(&r);
	return rc;
}
