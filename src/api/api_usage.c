/*
 * api_usage.c — GET /api/v1/usage: GPU-seconds and session time from the
 * usage rows, grouped by any of day, user, group, environment and model,
 * as JSON or as CSV (format=csv, or Accept: text/csv).
 *
 * An admin sees everyone's usage (and may pick one user with user=); any
 * other user sees only their own, and naming someone else is 403. Dates
 * are UTC days "YYYY-MM-DD", both ends included; by default the 30 days
 * ending today. Every bad parameter is a 400 that names it and changes
 * nothing. The arithmetic lives in src/monitor/usage.c, the booking in
 * src/hub/hub_usage.c.
 */
#include "api/api_int.h"
#include "common/err.h"
#include "common/util.h"
#include "monitor/usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE_DEFAULT_DAYS 30

typedef struct {
	gh_usage_row_t *rows;
	size_t n, cap;
} rows_t;

static int on_row(void *ctx, const gh_usage_row_t *row)
{
	rows_t *r = ctx;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		gh_usage_row_t *n = realloc(r->rows, cap * sizeof(*n));
		if (!n)
			return GH_ENOMEM;
		r->rows = n;
		r->cap = cap;
	}
	r->rows[r->n++] = *row;
	return 0;
}

static const struct {
	unsigned bit;
	const char *name;
} dims[] = {
	{USAGE_BY_DAY, "day"}, {USAGE_BY_USER, "user"}, {USAGE_BY_GROUP, "group"},
	{USAGE_BY_ENV, "environment"}, {USAGE_BY_MODEL, "model"},
};
#define NDIMS (sizeof(dims) / sizeof(dims[0]))

static const char *dim_value(const gh_usage_row_t *row, unsigned bit)
{
	switch (bit) {
	case USAGE_BY_DAY: return row->day;
	case USAGE_BY_USER: return row->user;
	case USAGE_BY_GROUP: return row->group;
	case USAGE_BY_ENV: return row->env;
	default: return row->model;
	}
}

static json_t *row_json(const gh_usage_row_t *row, unsigned by)
{
	json_t *o = json_object();
	for (size_t i = 0; i < NDIMS; i++) {
		const char *v = dim_value(row, dims[i].bit);
		if (by & dims[i].bit)
			json_object_set_new(o, dims[i].name, v[0] ? json_string(v) : json_null());
	}
	json_object_set_new(o, "gpu_seconds", json_real((double)row->gpu_milli_ms / 1e6));
	json_object_set_new(o, "gpu_hours", json_real((double)row->gpu_milli_ms / 3.6e9));
	json_object_set_new(o, "session_seconds", json_real((double)row->session_ms / 1e3));
	json_object_set_new(o, "session_hours", json_real((double)row->session_ms / 3.6e6));
	return o;
}

/* Appends one CSV field (RFC 4180: quoted when it holds , " CR or LF). */
static void csv_field(FILE *f, const char *v, int first)
{
	if (!first)
		fputc(',', f);
	if (!strpbrk(v, ",\"\r\n")) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '"')
			fputc('"', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

static void send_csv(api_req_t *r, const rows_t *rows, unsigned by, const char *from, const char *to)
{
	char *buf = NULL, disp[96];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int first = 1;

	if (!f) {
		http_send_error(r->req, 500, "internal", NULL, "out of memory");
		return;
	}
	for (size_t i = 0; i < NDIMS; i++)
		if (by & dims[i].bit) {
			csv_field(f, dims[i].name, first);
			first = 0;
		}
	fprintf(f, "%sgpu_seconds,gpu_hours,session_seconds,session_hours\r\n", first ? "" : ",");
	for (size_t k = 0; k < rows->n; k++) {
		const gh_usage_row_t *row = &rows->rows[k];
		first = 1;
		for (size_t i = 0; i < NDIMS; i++)
			if (by & dims[i].bit) {
				csv_field(f, dim_value(row, dims[i].bit), first);
				first = 0;
			}
		fprintf(f, "%s%.3f,%.6f,%.3f,%.6f\r\n", first ? "" : ",", (double)row->gpu_milli_ms / 1e6,
		        (double)row->gpu_milli_ms / 3.6e9, (double)row->session_ms / 1e3, (double)row->session_ms / 3.6e6);
	}
	fclose(f);
	snprintf(disp, sizeof(disp), "attachment; filename=\"gpuhub-usage-%s-%s.csv\"", from, to);
	http_add_header(r->req, "content-disposition", disp);
	http_send_text(r->req, 200, "text/csv; charset=utf-8", buf, len);
	free(buf);
}

static void send_json(api_req_t *r, const rows_t *rows, unsigned by, const char *from, const char *to)
{
	json_t *items = json_array(), *groups = json_array(), *o;
	gh_usage_row_t total;

	memset(&total, 0, sizeof(total));
	for (size_t i = 0; i < NDIMS; i++)
		if (by & dims[i].bit)
			json_array_append_new(groups, json_string(dims[i].name));
	for (size_t k = 0; k < rows->n; k++) {
		json_array_append_new(items, row_json(&rows->rows[k], by));
		total.gpu_milli_ms += rows->rows[k].gpu_milli_ms;
		total.session_ms += rows->rows[k].session_ms;
	}
	o = json_pack("{s:s,s:s,s:o,s:o,s:o}", "from", from, "to", to, "group_by", groups, "items", items, "total",
	              row_json(&total, 0));
	http_send_json(r->req, 200, o);
}

/* 1 when the client asked for CSV, 0 for JSON, -1 answered (bad format). */
static int wants_csv(api_req_t *r)
{
	char format[16] = "";
	size_t alen = 0;
	const char *accept;
	int rc = http_query(r->req, "format", format, sizeof(format));

	if (rc < 0 || (rc > 0 && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)) {
		http_send_error(r->req, 400, "invalid", "format", "query parameter 'format' must be json or csv");
		return -1;
	}
	if (rc > 0)
		return strcmp(format, "csv") == 0;
	accept = http_header(r->req, "accept", &alen);
	return accept && memmem(accept, alen, "text/csv", 8) && !memmem(accept, alen, "application/json", 16);
}

/* Reads a date parameter: 1 read, 0 absent, -1 answered 400. */
static int query_date(api_req_t *r, const char *key, char out[USAGE_DAY_LEN])
{
	char buf[32];
	int rc = http_query(r->req, key, buf, sizeof(buf));
	if (rc == 0)
		return 0;
	if (rc < 0 || usage_parse_date(buf, out) != 0) {
		http_send_error(r->req, 400, "invalid", key,
		                "query parameter '%s' must be a date YYYY-MM-DD (UTC), such as 2026-03-01", key);
		return -1;
	}
	return 1;
}

void api_usage(api_req_t *r)
{
	char from[USAGE_DAY_LEN], to[USAGE_DAY_LEN], by_list[128], user[GH_NAME_MAX] = "", bad[80];
	int64_t now = gh_now_ms();
	int has_from, has_to, rc, csv, admin = r->user->role == GH_ROLE_ADMIN;
	unsigned by = USAGE_BY_DAY | USAGE_BY_USER;
	rows_t rows = {0};

	if ((has_from = query_date(r, "from", from)) < 0 || (has_to = query_date(r, "to", to)) < 0)
		return;
	if (!has_to)
		usage_day(now, to);
	if (!has_from) {
		/* USAGE_DEFAULT_DAYS days ending at `to` */
		struct tm tm = {0};
		tm.tm_year = atoi(to) - 1900;
		tm.tm_mon = atoi(to + 5) - 1;
		tm.tm_mday = atoi(to + 8);
		usage_day(((int64_t)timegm(&tm) - (USAGE_DEFAULT_DAYS - 1) * 86400LL) * 1000, from);
	}
	if (strcmp(from, to) > 0) {
		http_send_error(r->req, 400, "invalid", "from", "'from' (%s) is after 'to' (%s)", from, to);
		return;
	}
	rc = http_query(r->req, "group_by", by_list, sizeof(by_list));
	if (rc < 0) {
		http_send_error(r->req, 400, "invalid", "group_by", "query parameter 'group_by' is too long");
		return;
	}
	if (rc > 0 && usage_parse_by(by_list, &by, bad, sizeof(bad)) != 0) {
		http_send_error(r->req, 400, "invalid", "group_by",
		                "unknown group_by '%s': use a comma-separated list of day, user, group, environment, model",
		                bad);
		return;
	}
	if (http_query(r->req, "user", user, sizeof(user)) < 0) {
		http_send_error(r->req, 400, "invalid", "user", "query parameter 'user' is too long");
		return;
	}
	if (!admin && user[0] && strcmp(user, r->user->name) != 0) {
		http_send_error(r->req, 403, "forbidden", "user", "only an admin may see other users' usage");
		return;
	}
	if (!admin)
		gh_strlcpy(user, r->user->name, sizeof(user));
	if ((csv = wants_csv(r)) < 0)
		return;
	rc = hub_usage_query(r->hub, from, to, user, by, on_row, &rows);
	if (rc)
		api_error_rc(r, rc, "cannot read the usage");
	else if (csv)
		send_csv(r, &rows, by, from, to);
	else
		send_json(r, &rows, by, from, to);
	free(rows.rows);
}
