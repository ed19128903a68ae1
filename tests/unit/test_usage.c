/*
 * test_usage.c — usage accounting's arithmetic (src/monitor/usage.c) with
 * fixed times, and the store's usage rows and marks (SQLite, in memory).
 *
 * Times below are Unix milliseconds; 1772409600000 is 2026-03-02 00:00:00
 * UTC, a midnight, which the split tests straddle.
 */
#include <stddef.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "common/util.h"
#include "monitor/usage.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#define MIDNIGHT 1772409600000LL /* 2026-03-02T00:00:00Z */
#define DAY USAGE_MS_PER_DAY

/* ---- days --------------------------------------------------------------- */

static void test_day_names(void **state)
{
	char d[USAGE_DAY_LEN];
	(void)state;

	usage_day(0, d);
	assert_string_equal(d, "1970-01-01");
	usage_day(MIDNIGHT, d);
	assert_string_equal(d, "2026-03-02");
	usage_day(MIDNIGHT - 1, d);
	assert_string_equal(d, "2026-03-01");
	usage_day(951782400000LL, d); /* 2000 is a leap year */
	assert_string_equal(d, "2000-02-29");
	usage_day(4107542400000LL, d); /* 2100 is not */
	assert_string_equal(d, "2100-03-01");
	usage_day(1767225599999LL, d);
	assert_string_equal(d, "2025-12-31");
}

/* ---- splitting ---------------------------------------------------------- */

typedef struct {
	char day[8][USAGE_DAY_LEN];
	int64_t ms[8];
	int n;
	int stop_after;                /* return an error after this many pieces, 0 = never */
} pieces_t;

static int collect(void *ctx, const char *day, int64_t ms)
{
	pieces_t *p = ctx;
	assert_true(p->n < 8);
	assert_true(ms > 0);
	strcpy(p->day[p->n], day);
	p->ms[p->n++] = ms;
	return p->stop_after && p->n == p->stop_after ? GH_ENOMEM : 0;
}

static void test_split_within_a_day(void **state)
{
	pieces_t p = {0};
	(void)state;

	assert_int_equal(usage_split(MIDNIGHT + 1000, MIDNIGHT + 61000, collect, &p), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.day[0], "2026-03-02");
	assert_int_equal(p.ms[0], 60000);
}

static void test_split_across_midnight(void **state)
{
	pieces_t p = {0};
	(void)state;

	/* 23:59:30.000 → 00:00:45.500: the worked example in usage.c */
	assert_int_equal(usage_split(MIDNIGHT - 30000, MIDNIGHT + 45500, collect, &p), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.day[0], "2026-03-01");
	assert_int_equal(p.ms[0], 30000);
	assert_string_equal(p.day[1], "2026-03-02");
	assert_int_equal(p.ms[1], 45500);
}

static void test_split_ends_on_midnight(void **state)
{
	pieces_t p = {0};
	(void)state;

	/* [23:00, 00:00) belongs to the first day only; [00:00, 01:00) to the second */
	assert_int_equal(usage_split(MIDNIGHT - 3600000, MIDNIGHT, collect, &p), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.day[0], "2026-03-01");
	assert_int_equal(usage_split(MIDNIGHT, MIDNIGHT + 3600000, collect, &p), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.day[1], "2026-03-02");
	assert_int_equal(p.ms[1], 3600000);
}

static void test_split_many_days_adds_up(void **state)
{
	pieces_t p = {0};
	int64_t from = MIDNIGHT - 7 * 3600000LL, to = MIDNIGHT + 2 * DAY + 123, sum = 0;
	(void)state;

	/* a hub down over a weekend: a hold from Sunday 17:00 to Wednesday 00:00:00.123 */
	assert_int_equal(usage_split(from, to, collect, &p), 0);
	assert_int_equal(p.n, 4);
	assert_string_equal(p.day[0], "2026-03-01");
	assert_string_equal(p.day[1], "2026-03-02");
	assert_string_equal(p.day[2], "2026-03-03");
	assert_string_equal(p.day[3], "2026-03-04");
	assert_int_equal(p.ms[0], 7 * 3600000LL);
	assert_int_equal(p.ms[1], DAY);
	assert_int_equal(p.ms[2], DAY);
	assert_int_equal(p.ms[3], 123);
	for (int i = 0; i < p.n; i++)
		sum += p.ms[i];
	assert_int_equal(sum, to - from);
}

static void test_split_empty_and_stopped(void **state)
{
	pieces_t p = {0};
	(void)state;

	assert_int_equal(usage_split(MIDNIGHT, MIDNIGHT, collect, &p), 0);
	assert_int_equal(usage_split(MIDNIGHT + 5, MIDNIGHT, collect, &p), 0);
	assert_int_equal(p.n, 0);
	p.stop_after = 1;
	assert_int_equal(usage_split(MIDNIGHT - 10, MIDNIGHT + 10, collect, &p), GH_ENOMEM);
	assert_int_equal(p.n, 1);
}

/* Booking every interval gives the same per-day totals as one booking of
 * the whole hold: what the hub's ticks rely on. */
static void test_ticks_add_up_to_one_booking(void **state)
{
	pieces_t whole = {0};
	int64_t from = MIDNIGHT - 95500, to = MIDNIGHT + 130250, t, per_day[2] = {0, 0};
	(void)state;

	assert_int_equal(usage_split(from, to, collect, &whole), 0);
	for (t = from; t < to; t += 7000) {
		pieces_t p = {0};
		assert_int_equal(usage_split(t, t + 7000 < to ? t + 7000 : to, collect, &p), 0);
		for (int i = 0; i < p.n; i++)
			per_day[strcmp(p.day[i], "2026-03-01") == 0 ? 0 : 1] += p.ms[i];
	}
	assert_int_equal(whole.n, 2);
	assert_int_equal(per_day[0], whole.ms[0]);
	assert_int_equal(per_day[1], whole.ms[1]);
}

/* ---- query words -------------------------------------------------------- */

static void test_parse_date(void **state)
{
	char d[USAGE_DAY_LEN];
	(void)state;

	assert_int_equal(usage_parse_date("2026-03-01", d), 0);
	assert_string_equal(d, "2026-03-01");
	assert_int_equal(usage_parse_date("2024-02-29", d), 0);
	assert_int_equal(usage_parse_date("2023-02-29", d), GH_EINVAL);
	assert_int_equal(usage_parse_date("2026-13-01", d), GH_EINVAL);
	assert_int_equal(usage_parse_date("2026-04-31", d), GH_EINVAL);
	assert_int_equal(usage_parse_date("2026-00-10", d), GH_EINVAL);
	assert_int_equal(usage_parse_date("2026-1-01", d), GH_EINVAL);
	assert_int_equal(usage_parse_date("2026-01-01T00:00:00Z", d), GH_EINVAL);
	assert_int_equal(usage_parse_date("1969-12-31", d), GH_EINVAL);
	assert_int_equal(usage_parse_date("20x6-01-01", d), GH_EINVAL);
	assert_int_equal(usage_parse_date("", d), GH_EINVAL);
	assert_int_equal(usage_parse_date(NULL, d), GH_EINVAL);
}

static void test_parse_by(void **state)
{
	char bad[32];
	unsigned m = 99;
	(void)state;

	assert_int_equal(usage_parse_by("user,day", &m, bad, sizeof(bad)), 0);
	assert_int_equal(m, USAGE_BY_USER | USAGE_BY_DAY);
	assert_int_equal(usage_parse_by("user,group,environment,model,day", &m, bad, sizeof(bad)), 0);
	assert_int_equal(m, USAGE_BY_USER | USAGE_BY_GROUP | USAGE_BY_ENV | USAGE_BY_MODEL | USAGE_BY_DAY);
	assert_int_equal(usage_parse_by("env", &m, bad, sizeof(bad)), 0);
	assert_int_equal(m, USAGE_BY_ENV);
	assert_int_equal(usage_parse_by("", &m, bad, sizeof(bad)), 0);
	assert_int_equal(m, 0);
	assert_int_equal(usage_parse_by("user,colour", &m, bad, sizeof(bad)), GH_EINVAL);
	assert_string_equal(bad, "colour");
	assert_int_equal(m, 0);
	assert_int_equal(usage_parse_by("user,,day", &m, bad, sizeof(bad)), GH_EINVAL);
	assert_string_equal(bad, "");
	assert_int_equal(usage_parse_by("User", &m, bad, sizeof(bad)), GH_EINVAL);
	assert_string_equal(bad, "User");
	assert_int_equal(usage_parse_by("day,", &m, bad, sizeof(bad)), GH_EINVAL);
}

/* ---- the store ---------------------------------------------------------- */

static int st_setup(void **state)
{
	gh_store_t *st = NULL;
	char msg[256];
	if (store_open(&st, "sqlite", ":memory:", msg, sizeof(msg)) != 0)
		fail_msg("store_open: %s", msg);
	*state = st;
	return 0;
}

static int st_teardown(void **state)
{
	store_close(*state);
	return 0;
}

static void row(gh_usage_row_t *r, const char *day, const char *user, const char *group, const char *env,
                const char *model, int64_t gpu, int64_t sess)
{
	memset(r, 0, sizeof(*r));
	gh_strlcpy(r->day, day, sizeof(r->day));
	gh_strlcpy(r->user, user, sizeof(r->user));
	gh_strlcpy(r->group, group, sizeof(r->group));
	gh_strlcpy(r->env, env, sizeof(r->env));
	gh_strlcpy(r->model, model, sizeof(r->model));
	r->gpu_milli_ms = gpu;
	r->session_ms = sess;
}

typedef struct {
	gh_usage_row_t r[16];
	int n;
} got_t;

static int got_row(void *ctx, const gh_usage_row_t *r)
{
	got_t *g = ctx;
	assert_true(g->n < 16);
	g->r[g->n++] = *r;
	return 0;
}

static void seed(gh_store_t *st)
{
	gh_usage_row_t r;
	row(&r, "2026-03-01", "alice", "nlp", "jupyter", "A100", 1000 * 30000, 30000);
	assert_int_equal(store_usage_add(st, &r), 0);
	row(&r, "2026-03-01", "alice", "nlp", "jupyter", "A100", 1000 * 10000, 10000); /* adds up */
	assert_int_equal(store_usage_add(st, &r), 0);
	row(&r, "2026-03-02", "alice", "nlp", "vscode", "T4", 500 * 60000, 60000);
	assert_int_equal(store_usage_add(st, &r), 0);
	row(&r, "2026-03-02", "bob", "", "jupyter", "A100", 2000 * 5000, 5000);
	assert_int_equal(store_usage_add(st, &r), 0);
}

static void test_store_adds_and_groups(void **state)
{
	gh_store_t *st = *state;
	got_t g = {0};

	seed(st);
	assert_int_equal(store_usage_query(st, "2026-01-01", "2026-12-31", "", USAGE_BY_DAY | USAGE_BY_USER, got_row,
	                                   &g), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.r[0].day, "2026-03-01");
	assert_string_equal(g.r[0].user, "alice");
	assert_string_equal(g.r[0].env, ""); /* not grouped by */
	assert_int_equal(g.r[0].gpu_milli_ms, 1000 * 40000);
	assert_int_equal(g.r[0].session_ms, 40000);
	assert_string_equal(g.r[1].user, "alice");
	assert_int_equal(g.r[1].gpu_milli_ms, 500 * 60000);
	assert_string_equal(g.r[2].user, "bob");
	assert_int_equal(g.r[2].gpu_milli_ms, 2000 * 5000);

	g.n = 0;
	assert_int_equal(store_usage_query(st, "2026-01-01", "2026-12-31", "", USAGE_BY_MODEL, got_row, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.r[0].model, "A100");
	assert_int_equal(g.r[0].gpu_milli_ms, 1000 * 40000 + 2000 * 5000);
	assert_string_equal(g.r[1].model, "T4");

	g.n = 0; /* one total, one user, one day */
	assert_int_equal(store_usage_query(st, "2026-01-01", "2026-12-31", "", 0, got_row, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].session_ms, 40000 + 60000 + 5000);
	g.n = 0;
	assert_int_equal(store_usage_query(st, "2026-01-01", "2026-12-31", "bob", 0, got_row, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].session_ms, 5000);
	g.n = 0;
	assert_int_equal(store_usage_query(st, "2026-03-02", "2026-03-02", "", USAGE_BY_GROUP, got_row, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.r[0].group, "");
	assert_string_equal(g.r[1].group, "nlp");
	g.n = 0;
	assert_int_equal(store_usage_query(st, "2027-01-01", "2027-12-31", "", 0, got_row, &g), 0);
	assert_int_equal(g.n, 0);
}

static void test_store_refuses_bad_rows_and_prunes(void **state)
{
	gh_store_t *st = *state;
	gh_usage_row_t r;
	got_t g = {0};

	row(&r, "2026-03-01", "alice", "", "jupyter", "A100", -1, 0);
	assert_int_equal(store_usage_add(st, &r), GH_EINVAL);
	row(&r, "March 1", "alice", "", "jupyter", "A100", 1, 1);
	assert_int_equal(store_usage_add(st, &r), GH_EINVAL);
	seed(st);
	assert_int_equal(store_usage_prune(st, "2026-03-02"), 0);
	assert_int_equal(store_usage_query(st, "2000-01-01", "2999-12-31", "", USAGE_BY_DAY, got_row, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.r[0].day, "2026-03-02");
}

typedef struct {
	int64_t id[4], until[4];
	int n;
} marks_t;

static int got_mark(void *ctx, int64_t id, int64_t until)
{
	marks_t *m = ctx;
	assert_true(m->n < 4);
	m->id[m->n] = id;
	m->until[m->n++] = until;
	return 0;
}

static void test_store_marks_follow_sessions(void **state)
{
	gh_store_t *st = *state;
	gh_user_t u = {0};
	gh_session_t s = {0}, s2;
	marks_t m = {0};

	gh_strlcpy(u.name, "alice", sizeof(u.name));
	assert_int_equal(store_user_put(st, &u), 0);
	s.user_id = u.id;
	gh_strlcpy(s.name, "one", sizeof(s.name));
	gh_strlcpy(s.runtime, "local", sizeof(s.runtime));
	s2 = s;
	gh_strlcpy(s2.name, "two", sizeof(s2.name));
	assert_int_equal(store_session_put(st, &s), 0);
	assert_int_equal(store_session_put(st, &s2), 0);

	assert_int_equal(store_usage_mark_put(st, s.id, MIDNIGHT), 0);
	assert_int_equal(store_usage_mark_put(st, s2.id, MIDNIGHT + 5), 0);
	assert_int_equal(store_usage_mark_put(st, s.id, MIDNIGHT + 60000), 0); /* moves, no second row */
	assert_int_equal(store_usage_mark_put(st, 9999, MIDNIGHT), GH_ENOTFOUND); /* no such session */
	assert_int_equal(store_usage_mark_load(st, got_mark, &m), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.id[0], s.id);
	assert_int_equal(m.until[0], MIDNIGHT + 60000);

	/* a booking and its mark move together: a rolled back one leaves both */
	{
		gh_usage_row_t r;
		got_t g = {0};
		row(&r, "2026-03-02", "alice", "", "jupyter", "A100", 1000, 1);
		assert_int_equal(store_begin(st), 0);
		assert_int_equal(store_usage_add(st, &r), 0);
		assert_int_equal(store_usage_mark_put(st, s.id, MIDNIGHT + 61000), 0);
		assert_int_equal(store_rollback(st), 0);
		assert_int_equal(store_usage_query(st, "2026-01-01", "2026-12-31", "", 0, got_row, &g), 0);
		assert_int_equal(g.n, 0);
		m.n = 0;
		assert_int_equal(store_usage_mark_load(st, got_mark, &m), 0);
		assert_int_equal(m.until[0], MIDNIGHT + 60000);
	}

	assert_int_equal(store_usage_mark_delete(st, s.id), 0);
	assert_int_equal(store_session_delete(st, s2.id), 0); /* its mark goes with it */
	m.n = 0;
	assert_int_equal(store_usage_mark_load(st, got_mark, &m), 0);
	assert_int_equal(m.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_day_names),
		cmocka_unit_test(test_split_within_a_day),
		cmocka_unit_test(test_split_across_midnight),
		cmocka_unit_test(test_split_ends_on_midnight),
		cmocka_unit_test(test_split_many_days_adds_up),
		cmocka_unit_test(test_split_empty_and_stopped),
		cmocka_unit_test(test_ticks_add_up_to_one_booking),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_parse_by),
		cmocka_unit_test_setup_teardown(test_store_adds_and_groups, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_store_refuses_bad_rows_and_prunes, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_store_marks_follow_sessions, st_setup, st_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
