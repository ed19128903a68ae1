/*
 * usage.c — the SQLite back end's usage accounting: the usage table, where
 * each (day, user, group, environment, GPU model) has one row of counters
 * that bookings add to, and the usage_marks table, which says up to when
 * each session holding an allocation has been booked. The schema is
 * migration 2 (migrations.c); the hub side is src/hub/hub_usage.c.
 *
 * A query groups by any subset of the five dimensions with one prepared
 * statement: each dimension is selected as itself when its flag (?3..?7)
 * is set and as '' otherwise, and the rows are grouped by all five, so
 * the dimensions not asked for collapse into one group.
 */
#include "store/sqlite/store_sqlite_int.h"
#include "common/err.h"
#include "common/util.h"
#include "monitor/usage.h"

#include <assert.h>

const char *const store_sqlite_usage_sql[SQ_U__COUNT] = {
	[SQ_U_ADD] =
		"INSERT INTO usage (day, user_name, group_name, env_name, gpu_model, gpu_milli_ms, session_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		" ON CONFLICT (day, user_name, group_name, env_name, gpu_model) DO UPDATE SET"
		" gpu_milli_ms = gpu_milli_ms + excluded.gpu_milli_ms,"
		" session_ms = session_ms + excluded.session_ms",
	[SQ_U_QUERY] =
		"SELECT CASE WHEN ?3 THEN day ELSE '' END, CASE WHEN ?4 THEN user_name ELSE '' END,"
		" CASE WHEN ?5 THEN group_name ELSE '' END, CASE WHEN ?6 THEN env_name ELSE '' END,"
		" CASE WHEN ?7 THEN gpu_model ELSE '' END, SUM(gpu_milli_ms), SUM(session_ms)"
		" FROM usage WHERE day >= ?1 AND day <= ?2 AND (?8 = '' OR user_name = ?8)"
		" GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
	[SQ_U_PRUNE] = "DELETE FROM usage WHERE day < ?1",
	[SQ_U_MARK_PUT] = "INSERT INTO usage_marks (session_id, booked_to) VALUES (?1, ?2)"
	                  " ON CONFLICT (session_id) DO UPDATE SET booked_to = excluded.booked_to",
	[SQ_U_MARK_DEL] = "DELETE FROM usage_marks WHERE session_id = ?1",
	[SQ_U_MARK_LOAD] = "SELECT session_id, booked_to FROM usage_marks ORDER BY session_id",
};

/* Steps a statement that returns no rows; binding errors surface here. */
static int run_write(gh_store_t *st, sq_ustmt_t which, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);
	int err = rc == SQLITE_DONE ? 0 : store_sqlite_fail(st, rc, what);
	store_sqlite_ustmt_give(st, which, stmt);
	return err;
}

int store_sqlite_usage_add(gh_store_t *st, const gh_usage_row_t *row)
{
	sqlite3_stmt *stmt;
	int err;

	if (!row || row->gpu_milli_ms < 0 || row->session_ms < 0 || strlen(row->day) != 10)
		return GH_EINVAL;
	if ((err = store_sqlite_ustmt_take(st, SQ_U_ADD, 1, &stmt)))
		return err;
	sqlite3_bind_text(stmt, 1, row->day, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, row->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, row->group, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, row->env, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, row->model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, row->gpu_milli_ms);
	sqlite3_bind_int64(stmt, 7, row->session_ms);
	return run_write(st, SQ_U_ADD, stmt, "add to the usage");
}

static void col_text(sqlite3_stmt *stmt, int i, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(stmt, i);
	gh_strlcpy(out, t ? (const char *)t : "", len);
}

int store_sqlite_usage_query(gh_store_t *st, const char *from_day, const char *to_day, const char *user,
                             unsigned by, store_usage_cb cb, void *ctx)
{
	sqlite3_stmt *stmt;
	gh_usage_row_t row;
	int rc, err;

	if (!from_day || !to_day || !cb)
		return GH_EINVAL;
	if ((err = store_sqlite_ustmt_take(st, SQ_U_QUERY, 0, &stmt)))
		return err;
	sqlite3_bind_text(stmt, 1, from_day, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, to_day, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, !!(by & USAGE_BY_DAY));
	sqlite3_bind_int(stmt, 4, !!(by & USAGE_BY_USER));
	sqlite3_bind_int(stmt, 5, !!(by & USAGE_BY_GROUP));
	sqlite3_bind_int(stmt, 6, !!(by & USAGE_BY_ENV));
	sqlite3_bind_int(stmt, 7, !!(by & USAGE_BY_MODEL));
	sqlite3_bind_text(stmt, 8, user ? user : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		col_text(stmt, 0, row.day, sizeof(row.day));
		col_text(stmt, 1, row.user, sizeof(row.user));
		col_text(stmt, 2, row.group, sizeof(row.group));
		col_text(stmt, 3, row.env, sizeof(row.env));
		col_text(stmt, 4, row.model, sizeof(row.model));
		row.gpu_milli_ms = sqlite3_column_int64(stmt, 5);
		row.session_ms = sqlite3_column_int64(stmt, 6);
		if ((err = cb(ctx, &row)))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store_sqlite_fail(st, rc, "read the usage");
	store_sqlite_ustmt_give(st, SQ_U_QUERY, stmt);
	return err;
}

int store_sqlite_usage_prune(gh_store_t *st, const char *before_day)
{
	sqlite3_stmt *stmt;
	int err;

	if (!before_day)
		return GH_EINVAL;
	if ((err = store_sqlite_ustmt_take(st, SQ_U_PRUNE, 1, &stmt)))
		return err;
	sqlite3_bind_text(stmt, 1, before_day, -1, SQLITE_STATIC);
	return run_write(st, SQ_U_PRUNE, stmt, "prune old usage");
}

int store_sqlite_usage_mark_put(gh_store_t *st, int64_t session_id, int64_t until)
{
	sqlite3_stmt *stmt;
	int err;

	if (session_id <= 0 || until < 0)
		return GH_EINVAL;
	if ((err = store_sqlite_ustmt_take(st, SQ_U_MARK_PUT, 1, &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, session_id);
	sqlite3_bind_int64(stmt, 2, until);
	return run_write(st, SQ_U_MARK_PUT, stmt, "move a usage mark");
}

int store_sqlite_usage_mark_delete(gh_store_t *st, int64_t session_id)
{
	sqlite3_stmt *stmt;
	int err;

	if ((err = store_sqlite_ustmt_take(st, SQ_U_MARK_DEL, 1, &stmt)))
		return err;
	sqlite3_bind_int64(stmt, 1, session_id);
	return run_write(st, SQ_U_MARK_DEL, stmt, "delete a usage mark");
}

int store_sqlite_usage_mark_load(gh_store_t *st, store_usage_mark_cb cb, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc, err;

	if (!cb)
		return GH_EINVAL;
	if ((err = store_sqlite_ustmt_take(st, SQ_U_MARK_LOAD, 0, &stmt)))
		return err;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((err = cb(ctx, sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1))))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store_sqlite_fail(st, rc, "read the usage marks");
	store_sqlite_ustmt_give(st, SQ_U_MARK_LOAD, stmt);
	return err;
}
