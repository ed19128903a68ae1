/*
 * cli_snap.c — gpuhub snapshot create | ls | restore | rm | import.
 *
 * Creating and restoring run on the server in the background; --wait polls
 * GET /snapshots/{id} until the snapshot is ready (or failed) or the
 * restore has finished, so scripts can chain on the exit code.
 */
#include "cli/cli_int.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fmt_bytes(int64_t b, char *out, size_t outlen)
{
	if (b < 1024)
		snprintf(out, outlen, "%lld B", (long long)b);
	else if (b < 1024 * 1024)
		snprintf(out, outlen, "%.1f KiB", b / 1024.0);
	else if (b < 1024LL * 1024 * 1024)
		snprintf(out, outlen, "%.1f MiB", b / (1024.0 * 1024));
	else
		snprintf(out, outlen, "%.1f GiB", b / (1024.0 * 1024 * 1024));
}

static int parse_id(cli_ctx_t *c, const char *s, int64_t *id)
{
	if (cli_parse_uint(s, id) < 0 || *id < 1)
		return cli_usage(c, "a snapshot is named by its id (a number), not '%s'", s);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Polls the snapshot until done(snapshot) says 1; prints the final JSON
 * into *out (owned by the caller). */
static int poll_snap(cli_ctx_t *c, int64_t id, long timeout_s, int restoring, json_t **out)
{
	char path[64];
	time_t end = time(NULL) + (timeout_s > 0 ? timeout_s : 3600);

	snprintf(path, sizeof(path), "/snapshots/%lld", (long long)id);
	for (;;) {
		cli_resp_t r;
		int rc = cli_call(c, "GET", path, NULL, &r), done = 0;
		char b[32];
		if (rc < 0) {
			cli_resp_free(&r);
			return rc;
		}
		if (restoring) {
			const char *st = cli_jstr(json_object_get(r.json, "restore"), "state", "", b, sizeof(b));
			done = strcmp(st, "done") == 0 || strcmp(st, "failed") == 0;
		} else {
			done = strcmp(cli_jstr(r.json, "state", "", b, sizeof(b)), "creating") != 0;
		}
		if (done) {
			*out = json_incref(r.json);
			cli_resp_free(&r);
			return 0;
		}
		cli_resp_free(&r);
		if (time(NULL) >= end)
			return cli_fail(c, CLI_EXIT_ERROR, "gave up waiting for snapshot %lld", (long long)id);
		sleep_ms(200);
	}
}

static long wait_timeout(cli_ctx_t *c, const cli_args_t *a, int *bad)
{
	const char *t = cli_arg(a, "timeout");
	int64_t v = 0;
	*bad = 0;
	if (t && (cli_parse_uint(t, &v) < 0 || v < 1)) {
		*bad = 1;
		cli_usage(c, "--timeout must be a number of seconds, not '%s'", t);
	}
	return (long)v;
}

int cli_cmd_snap_create(cli_ctx_t *c, const cli_args_t *a)
{
	const char *home = cli_arg(a, "home"), *note = cli_arg(a, "note");
	json_t *body = json_object(), *paths = json_array(), *fin = NULL;
	char path[64], b[64], size[32];
	int64_t sid, id;
	cli_resp_t r;
	int rc, bad;
	long timeout = wait_timeout(c, a, &bad);

	if (bad) {
		json_decref(body);
		json_decref(paths);
		return GH_EINVAL;
	}
	if (home) {
		char *copy = strdup(home), *save = NULL;
		for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
			json_array_append_new(paths, json_string(p));
		free(copy);
	}
	json_object_set_new(body, "home_paths", paths);
	if (note)
		json_object_set_new(body, "note", json_string(note));
	if ((rc = cli_session_resolve(c, a->pos[0], &sid)) < 0) {
		json_decref(body);
		return rc;
	}
	snprintf(path, sizeof(path), "/sessions/%lld/snapshots", (long long)sid);
	rc = cli_call(c, "POST", path, body, &r);
	json_decref(body);
	if (rc < 0) {
		cli_resp_free(&r);
		return rc;
	}
	id = cli_jint(r.json, "id", 0);
	cli_resp_free(&r);
	if (!cli_flag(a, "wait")) {
		if (c->quiet)
			fprintf(c->out, "%lld\n", (long long)id);
		else
			fprintf(c->out, "Snapshot %lld of %s started (see 'gpuhub snapshot ls').\n", (long long)id,
			        a->pos[0]);
		return 0;
	}
	if ((rc = poll_snap(c, id, timeout, 0, &fin)) < 0)
		return rc;
	if (c->output == CLI_OUT_JSON)
		cli_print_json(c, fin);
	if (strcmp(cli_jstr(fin, "state", "", b, sizeof(b)), "ready") != 0) {
		char why[512];
		rc = cli_fail(c, CLI_EXIT_ERROR, "snapshot %lld failed: %s", (long long)id,
		              cli_jstr(fin, "reason", "unknown", why, sizeof(why)));
	} else if (c->quiet) {
		fprintf(c->out, "%lld\n", (long long)id);
	} else if (c->output != CLI_OUT_JSON) {
		fmt_bytes(cli_jint(fin, "size_bytes", 0), size, sizeof(size));
		fprintf(c->out, "Snapshot %lld is ready: %lld files, %s.\n", (long long)id,
		        (long long)cli_jint(fin, "files", 0), size);
	}
	json_decref(fin);
	return rc;
}

int cli_cmd_snap_ls(cli_ctx_t *c, const cli_args_t *a)
{
	char path[64] = "/snapshots", used[32], quota[32];
	const json_t *items, *s;
	int64_t now = (int64_t)time(NULL) * 1000;
	cli_table_t t;
	cli_resp_t r;
	size_t i;
	int rc;

	if (a->npos == 1) {
		int64_t sid;
		if ((rc = cli_session_resolve(c, a->pos[0], &sid)) < 0)
			return rc;
		snprintf(path, sizeof(path), "/sessions/%lld/snapshots", (long long)sid);
	}
	rc = cli_list(c, path, "id", &r, &items);
	if (rc <= 0) {
		cli_resp_free(&r);
		return rc;
	}
	cli_table_init(&t, "ID", "SESSION", "STATE", "SIZE", "FILES", "AGE", "NOTE", NULL);
	json_array_foreach(items, i, s) {
		char id[24], sess[80], st[16], size[32], files[24], age[24], note[256], b[256];
		snprintf(id, sizeof(id), "%lld", (long long)cli_jint(s, "id", 0));
		cli_text_clean(cli_jstr(s, "session_name", "", b, sizeof(b)), sess, sizeof(sess));
		if (!sess[0])
			snprintf(sess, sizeof(sess), "(imported)");
		snprintf(st, sizeof(st), "%s", cli_jstr(s, "state", "", b, sizeof(b)));
		if (json_object_get(s, "size_bytes"))
			fmt_bytes(cli_jint(s, "size_bytes", 0), size, sizeof(size));
		else
			snprintf(size, sizeof(size), "-");
		snprintf(files, sizeof(files), "%lld", (long long)cli_jint(s, "files", 0));
		cli_fmt_since(json_object_get(s, "created_at"), now, age, sizeof(age));
		cli_text_clean(cli_jstr(s, "state", "", b, sizeof(b))[0] == 'f' ? cli_jstr(s, "reason", "", b, sizeof(b))
		                                                                 : cli_jstr(s, "note", "", b, sizeof(b)),
		               note, sizeof(note));
		cli_table_add(&t, id, sess, st, size, files, age, note);
	}
	cli_table_print(&t, c->out);
	cli_table_free(&t);
	fmt_bytes(cli_jint(r.json, "used_bytes", 0), used, sizeof(used));
	fmt_bytes(cli_jint(r.json, "quota_bytes", 0), quota, sizeof(quota));
	fprintf(c->out, "Using %s of %s.\n", used, quota);
	cli_resp_free(&r);
	return 0;
}

int cli_cmd_snap_restore(cli_ctx_t *c, const cli_args_t *a)
{
	const char *into = cli_arg(a, "into"), *env = cli_arg(a, "env"), *name = cli_arg(a, "name");
	const char *gpus = cli_arg(a, "gpus");
	json_t *body = json_object(), *fin = NULL, *rs;
	char path[64], b[512];
	int64_t id, sid;
	cli_resp_t r;
	int rc, bad;
	long timeout = wait_timeout(c, a, &bad);

	if (bad || (rc = parse_id(c, a->pos[0], &id)) < 0) {
		json_decref(body);
		return GH_EINVAL;
	}
	if ((into != NULL) == (env != NULL || name != NULL) || (!into && (!env || !name))) {
		json_decref(body);
		return cli_usage(c, "give --into SESSION, or --env ENV and --name NAME for a new session");
	}
	if (into) {
		if ((rc = cli_session_resolve(c, into, &sid)) < 0) {
			json_decref(body);
			return rc;
		}
		json_object_set_new(body, "session_id", json_integer(sid));
	} else {
		json_object_set_new(body, "env", json_string(env));
		json_object_set_new(body, "name", json_string(name));
		if (gpus) {
			int64_t milli;
			if (cli_parse_gpus(gpus, &milli) < 0) {
				json_decref(body);
				return cli_usage(c, "--gpus must be a count or a fraction such as 0.5, not '%s'", gpus);
			}
			json_object_set_new(body, "gpus", json_real(milli / 1000.0));
		}
	}
	snprintf(path, sizeof(path), "/snapshots/%lld/restore", (long long)id);
	rc = cli_call(c, "POST", path, body, &r);
	json_decref(body);
	cli_resp_free(&r);
	if (rc < 0)
		return rc;
	if (!cli_flag(a, "wait")) {
		if (!c->quiet)
			fprintf(c->out, "Restore of snapshot %lld started (see 'gpuhub snapshot ls').\n", (long long)id);
		return 0;
	}
	if ((rc = poll_snap(c, id, timeout, 1, &fin)) < 0)
		return rc;
	rs = json_object_get(fin, "restore");
	if (c->output == CLI_OUT_JSON)
		cli_print_json(c, fin);
	if (strcmp(cli_jstr(rs, "state", "", b, sizeof(b)), "done") != 0)
		rc = cli_fail(c, CLI_EXIT_ERROR, "%s", cli_jstr(rs, "message", "the restore failed", b, sizeof(b)));
	else if (c->quiet)
		fprintf(c->out, "%lld\n", (long long)cli_jint(rs, "session_id", 0));
	else if (c->output != CLI_OUT_JSON)
		fprintf(c->out, "%s.\n", cli_jstr(rs, "message", "restored", b, sizeof(b)));
	json_decref(fin);
	return rc;
}

int cli_cmd_snap_rm(cli_ctx_t *c, const cli_args_t *a)
{
	int result = 0;
	for (int i = 0; i < a->npos; i++) {
		char path[64];
		cli_resp_t r;
		int64_t id;
		int rc = parse_id(c, a->pos[i], &id);
		if (rc < 0)
			return rc;
		snprintf(path, sizeof(path), "/snapshots/%lld", (long long)id);
		rc = cli_http(c, "DELETE", path, NULL, &r);
		if (rc < 0 || r.status != 204) {
			result = cli_report(c, &r);
		} else if (!c->quiet) {
			fprintf(c->out, "Snapshot %lld deleted.\n", (long long)id);
		}
		cli_resp_free(&r);
	}
	return result;
}

int cli_cmd_snap_import(cli_ctx_t *c, const cli_args_t *a)
{
	const char *note = cli_arg(a, "note");
	char path[600] = "/snapshots", q[512] = "";
	FILE *f = fopen(a->pos[0], "rb");
	char *data = NULL;
	long len;
	cli_resp_t r;
	int rc;

	if (!f)
		return cli_fail(c, CLI_EXIT_ERROR, "cannot open %s", a->pos[0]);
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(data = malloc((size_t)len)) || fread(data, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(data);
		return cli_fail(c, CLI_EXIT_ERROR, "cannot read %s (or it is empty)", a->pos[0]);
	}
	fclose(f);
	if (note && cli_query_add(q, sizeof(q), "note", note) == 0)
		snprintf(path, sizeof(path), "/snapshots%s", q);
	rc = cli_http_raw(c, "POST", path, "application/octet-stream", data, (size_t)len, &r);
	free(data);
	if (rc < 0 || r.status < 200 || r.status > 299) {
		rc = cli_report(c, &r);
	} else if (c->output == CLI_OUT_JSON) {
		cli_print_json(c, r.json);
	} else if (c->quiet) {
		fprintf(c->out, "%lld\n", (long long)cli_jint(r.json, "id", 0));
	} else {
		fprintf(c->out, "Imported as snapshot %lld (%lld entries).\n", (long long)cli_jint(r.json, "id", 0),
		        (long long)cli_jint(r.json, "files", 0));
	}
	cli_resp_free(&r);
	return rc;
}
