/*
 * cli_queue.c — "gpuhub queue": the waiting sessions, in the order the
 * scheduler will start them, with each one's expected wait and the reason
 * it waits ("no node with 2 free A100-80GB — expected in about 14 min").
 */
#include "cli/cli_int.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void eta_cell(const json_t *q, char *out, size_t outlen)
{
	const json_t *eta = json_object_get(q, "eta_seconds");
	long long s;
	if (!json_is_integer(eta)) {
		snprintf(out, outlen, "-");
		return;
	}
	s = json_integer_value(eta);
	if (s < 60)
		snprintf(out, outlen, "<1m");
	else if (s < 3600)
		snprintf(out, outlen, "%lldm", (s + 59) / 60);
	else
		snprintf(out, outlen, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
}

static int by_position(const void *a, const void *b)
{
	const json_t *x = json_object_get(*(json_t *const *)a, "queue");
	const json_t *y = json_object_get(*(json_t *const *)b, "queue");
	json_int_t px = json_integer_value(json_object_get(x, "position"));
	json_int_t py = json_integer_value(json_object_get(y, "position"));
	return (px > py) - (px < py);
}

int cli_cmd_queue(cli_ctx_t *c, const cli_args_t *a)
{
	char path[128];
	const json_t *items;
	json_t **rows = NULL;
	cli_table_t t;
	cli_resp_t r;
	size_t i, n;
	int rc;

	snprintf(path, sizeof(path), "/sessions?state=queued&limit=1000%s", cli_flag(a, "all") ? "&all=true" : "");
	rc = cli_call(c, "GET", path, NULL, &r);
	if (rc < 0)
		goto out;
	if (c->output == CLI_OUT_JSON) {
		cli_print_json(c, r.json);
		goto out;
	}
	items = json_object_get(r.json, "items");
	n = json_array_size(items);
	if (n == 0) {
		if (!c->quiet)
			fputs("Nothing is waiting.\n", c->out);
		goto out;
	}
	rows = calloc(n, sizeof(*rows));
	if (!rows) {
		rc = cli_fail(c, CLI_EXIT_ERROR, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		rows[i] = json_array_get(items, i);
	qsort(rows, n, sizeof(*rows), by_position);
	if (c->quiet) {
		for (i = 0; i < n; i++)
			fprintf(c->out, "%lld\n", (long long)cli_jint(rows[i], "id", 0));
		goto out;
	}
	cli_table_init(&t, "POS", "ID", "NAME", "USER", "GPUS", "ETA", "REASON", NULL);
	for (i = 0; i < n; i++) {
		const json_t *s = rows[i], *q = json_object_get(s, "queue");
		char pos[16], id[32], gpus[32], eta[32], b1[64], b2[64], b3[300];
		const char *cells[7];
		snprintf(pos, sizeof(pos), "%lld", (long long)cli_jint(q, "position", 0));
		snprintf(id, sizeof(id), "%lld", (long long)cli_jint(s, "id", 0));
		snprintf(gpus, sizeof(gpus), "%g", json_number_value(json_object_get(s, "gpus")));
		eta_cell(q, eta, sizeof(eta));
		cells[0] = pos;
		cells[1] = id;
		cells[2] = cli_jstr(s, "name", NULL, b1, sizeof(b1));
		cells[3] = cli_jstr(s, "user", NULL, b2, sizeof(b2));
		cells[4] = gpus;
		cells[5] = eta;
		cells[6] = cli_jstr(q, "reason", NULL, b3, sizeof(b3));
		if ((rc = cli_table_addv(&t, cells)) < 0)
			break;
	}
	cli_table_print(&t, c->out);
	cli_table_free(&t);
	rc = rc < 0 ? cli_fail(c, CLI_EXIT_ERROR, "out of memory") : 0;
out:
	free(rows);
	cli_resp_free(&r);
	return rc;
}
