/*
 * cli_alerts.c — "gpuhub alerts" (the hub's firing and recent alerts, with
 * where their notices went) and "gpuhub unquarantine INDEX" (lift the XID
 * quarantine of a GPU). Both are admin-only on the server.
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

/* "slack sent, email retrying(2)" from an Alert's deliveries. */
static void deliveries_cell(const json_t *a, char *out, size_t outlen)
{
	const json_t *d = json_object_get(a, "deliveries"), *v;
	const char *k;
	size_t l = 0;
	char b[32];

	out[0] = '\0';
	json_object_foreach((json_t *)d, k, v) {
		int64_t n = cli_jint(v, "attempts", 0);
		int w;
		if (n > 0)
			w = snprintf(out + l, outlen - l, "%s%s %s(%lld)", l ? ", " : "", k,
				     cli_jstr(v, "state", "?", b, sizeof(b)), (long long)n);
		else
			w = snprintf(out + l, outlen - l, "%s%s %s", l ? ", " : "", k,
				     cli_jstr(v, "state", "?", b, sizeof(b)));
		if (w < 0 || (size_t)w >= outlen - l)
			break;
		l += (size_t)w;
	}
	if (!out[0])
		snprintf(out, outlen, "-");
}

static void labels_cell(const json_t *a, char *out, size_t outlen)
{
	const json_t *labels = json_object_get(a, "labels"), *v;
	const char *k;
	size_t l = 0;

	out[0] = '\0';
	json_object_foreach((json_t *)labels, k, v) {
		int w;
		if (strcmp(k, "uuid") == 0)
			continue; /* long and implied by gpu */
		w = snprintf(out + l, outlen - l, "%s%s=%s", l ? " " : "", k,
			     json_is_string(v) ? json_string_value(v) : "?");
		if (w < 0 || (size_t)w >= outlen - l)
			break;
		l += (size_t)w;
	}
	if (!out[0])
		snprintf(out, outlen, "-");
}

int cli_cmd_alerts(cli_ctx_t *c, const cli_args_t *a)
{
	const json_t *items, *al;
	cli_resp_t r;
	cli_table_t t;
	char path[64];
	size_t i;
	int rc, all = cli_flag(a, "all"), resolved = cli_flag(a, "resolved");

	if (all && resolved)
		return cli_usage(c, "--all and --resolved contradict each other");
	snprintf(path, sizeof(path), "/alerts%s", all ? "" : resolved ? "?state=resolved" : "?state=firing");
	rc = cli_list(c, path, "fingerprint", &r, &items);
	if (rc <= 0)
		goto out;
	if (!json_is_true(json_object_get(r.json, "enabled")))
		fputs("Alerts are turned off on this server (alerts.enabled: false).\n", c->out);
	if (json_array_size(items) == 0) {
		fprintf(c->out, "No %s alerts.\n", all ? "" : resolved ? "resolved" : "firing");
		goto out;
	}
	cli_table_init(&t, "NAME", "STATE", "SEVERITY", "SINCE", "LABELS", "SUMMARY", "NOTICES", NULL);
	json_array_foreach(items, i, al) {
		char name[64], state[16], sev[16], since[32], labels[256], summary[400], notices[256], raw[400];
		cli_text_clean(cli_jstr(al, "name", "?", raw, sizeof(raw)), name, sizeof(name));
		cli_text_clean(cli_jstr(al, "state", "?", raw, sizeof(raw)), state, sizeof(state));
		cli_text_clean(cli_jstr(al, "severity", "?", raw, sizeof(raw)), sev, sizeof(sev));
		cli_fmt_since(json_object_get(al, "starts_at"), gh_now_ms(), since, sizeof(since));
		labels_cell(al, raw, sizeof(raw));
		cli_text_clean(raw, labels, sizeof(labels));
		cli_text_clean(cli_jstr(al, "summary", "", raw, sizeof(raw)), summary, sizeof(summary));
		deliveries_cell(al, notices, sizeof(notices));
		cli_table_add(&t, name, state, sev, since, labels, summary, notices);
	}
	cli_table_print(&t, c->out);
	cli_table_free(&t);
out:
	cli_resp_free(&r);
	return rc < 0 ? rc : 0;
}

int cli_cmd_unquarantine(cli_ctx_t *c, const cli_args_t *a)
{
	char path[64];
	int64_t idx;
	cli_resp_t r;
	int rc;

	if (cli_parse_uint(a->pos[0], &idx) != 0 || idx > 100000)
		return cli_usage(c, "'%s' is not a GPU index (see gpuhub gpus)", a->pos[0]);
	snprintf(path, sizeof(path), "/gpus/%lld/unquarantine", (long long)idx);
	rc = cli_call(c, "POST", path, NULL, &r);
	if (rc == 0) {
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else if (!c->quiet)
			fprintf(c->out, "GPU %lld is out of quarantine; new sessions may be placed on it.\n",
				(long long)idx);
	}
	cli_resp_free(&r);
	return rc;
}
