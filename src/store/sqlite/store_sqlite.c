/*
 * store_sqlite.c — the default state store: one SQLite file in WAL mode.
 *
 * Why this shape:
 * - The hub writes through the store on every transition and a session
 *   create must commit in well under a millisecond. WAL with
 *   synchronous=NORMAL commits without an fsync (durable at the next
 *   checkpoint; a power cut can lose the last transactions but never
 *   corrupts the file), checkpoints run on a thread of their own
 *   (checkpoint.c), and every statement is prepared once at open and kept
 *   on the handle, so the hot path only binds, steps and resets.
 * - Statement text, binding and reading come from one column list per
 *   table (rows.c); the schema and its migrations are in migrations.c. All
 *   statements are prepared at open, after the migrations, so a column
 *   list that disagrees with the schema fails there and not at first use.
 * - The file is created 0600 (it holds password and token hashes) and
 *   marked with an application id, so another program's SQLite file given
 *   by mistake is refused instead of being migrated.
 *
 * Transactions (store.h): begin at depth 0 is BEGIN IMMEDIATE (the write
 * lock is taken up front, so a commit never fails for a lock upgrade);
 * a nested begin is a SAVEPOINT, so an inner rollback discards only the
 * inner work and an inner commit folds it into the outer transaction. A
 * write outside begin is its own transaction (SQLite's autocommit). If
 * SQLite itself rolls the open transaction back (disk full, I/O error),
 * the handle remembers it: every later write fails with GH_ESTORE and the
 * outermost commit reports the loss, so nothing half-done is committed.
 *
 *   depth | begin            | commit                 | rollback
 *   ------+------------------+------------------------+-----------------------
 *   0     | BEGIN IMMEDIATE  | GH_ESTATE (no begin)   | GH_ESTATE (no begin)
 *   1     | SAVEPOINT nest   | COMMIT                 | ROLLBACK
 *   n > 1 | SAVEPOINT nest   | RELEASE nest           | ROLLBACK TO nest; RELEASE nest
 *
 * Errors: a UNIQUE clash is GH_EEXIST, a missing referenced row (FOREIGN
 * KEY) GH_ENOTFOUND, any other constraint (CHECK, NOT NULL, type)
 * GH_EINVAL, a lock held past busy_timeout GH_ELOCKED, the rest GH_ESTORE
 * with the SQLite message in the log.
 *
 * A handle is used by one thread at a time (the hub's event loop).
 */
#include <stddef.h> /* store.h uses size_t without including it */

#include "store/store.h"
#include "store/sqlite/store_sqlite_int.h"
#include "common/err.h"
#include "common/log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SQ_BUSY_MS 5000 /* how long a statement waits for another connection's lock */
#define SQ_SQL_MAX 2048 /* longest generated statement */

/* ---- the handle -------------------------------------------------------- */

typedef enum {
	X_BEGIN, X_COMMIT, X_ROLLBACK, X_SAVEPOINT, X_RELEASE, X_ROLLBACK_TO,
	X_ALLOC_DEL_SESSION, X_EVENT_LIST_ALL, X_EVENT_LIST_SESSION, X_EVENT_LAST_ID,
	X__COUNT
} xstmt_t;

typedef struct {
	gh_store_t base;                          /* first: store.c sees only this */
	sqlite3 *db;                              /* owned; closed by sq_close */
	int version;                              /* schema version after open */
	int depth;                                /* begin() nesting; 0 = none open */
	int aborted;                              /* SQLite dropped the open transaction */
	store_sqlite_ckpt_t *ckpt;                /* owned; NULL for :memory: */
	sqlite3_stmt *tstmt[SQ__TABLES][SQ__OPS]; /* owned; NULL where unused */
	sqlite3_stmt *xstmt[X__COUNT];            /* owned */
	sqlite3_stmt *ustmt[SQ_U__COUNT];         /* owned; usage.c's */
} sq_store_t;

extern const store_ops_t store_sqlite_ops;

static sq_store_t *sq(gh_store_t *st)
{
	assert(st && st->ops == &store_sqlite_ops);
	return (sq_store_t *)st;
}

void store_sqlite_msg(char *errmsg, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errmsg || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(errmsg, errlen, fmt, ap);
	va_end(ap);
}

/* Turns a failed SQLite call into a gh_err_t, logging what is not the
 * caller's doing; notices when SQLite has rolled the open transaction
 * back on its own. `what` completes "failed to ...". */
static int sq_fail(sq_store_t *s, int rc, const char *what)
{
	int err;

	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		err = GH_EEXIST;
		break;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		err = GH_ENOTFOUND;
		break;
	default:
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			err = GH_EINVAL;
		else if ((rc & 0xff) == SQLITE_NOMEM)
			err = GH_ENOMEM;
		else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			err = GH_ELOCKED;
		else
			err = GH_ESTORE;
	}
	if (err == GH_EEXIST || err == GH_ENOTFOUND || err == GH_EINVAL)
		GH_DEBUG("The state store refused to %s: %s.", what, sqlite3_errmsg(s->db));
	else
		GH_ERROR("The state store failed to %s: %s (SQLite code %d).", what,
		         sqlite3_errmsg(s->db), rc);
	if (s->depth > 0 && !s->aborted && sqlite3_get_autocommit(s->db)) {
		s->aborted = 1;
		GH_ERROR("The state store lost the open transaction after that failure; "
		         "its writes are discarded and the next commit will fail.");
	}
	return err;
}

/* The cached statement, or a fresh copy when the cached one is in the
 * middle of a loop further up the stack (a load callback that loads the
 * same table again). Pair with stmt_give(). */
static int stmt_take(sq_store_t *s, sqlite3_stmt *cached, sqlite3_stmt **out)
{
	int rc;

	assert(cached);
	if (!sqlite3_stmt_busy(cached)) {
		*out = cached;
		return 0;
	}
	rc = sqlite3_prepare_v2(s->db, sqlite3_sql(cached), -1, out, NULL);
	if (rc != SQLITE_OK) {
		*out = NULL;
		return sq_fail(s, rc, "prepare a statement");
	}
	return 0;
}

static void stmt_give(sqlite3_stmt *cached, sqlite3_stmt *used)
{
	if (used != cached) {
		sqlite3_finalize(used);
		return;
	}
	sqlite3_reset(used);
	sqlite3_clear_bindings(used); /* bound text points into the caller's record */
}

/* Runs one of the no-result statements (transaction control). */
static int run_x(sq_store_t *s, xstmt_t x, const char *what)
{
	sqlite3_stmt *stmt = s->xstmt[x];
	int rc = sqlite3_step(stmt);
	int err = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, what);

	sqlite3_reset(stmt);
	return err;
}

/* ---- cached statements ------------------------------------------------- */

static void sql_x(char *buf, size_t len, xstmt_t x)
{
	static const char *const fixed[X__COUNT] = {
		[X_BEGIN] = "BEGIN IMMEDIATE",
		[X_COMMIT] = "COMMIT",
		[X_ROLLBACK] = "ROLLBACK",
		[X_SAVEPOINT] = "SAVEPOINT nest",
		[X_RELEASE] = "RELEASE nest",
		[X_ROLLBACK_TO] = "ROLLBACK TO nest",
		[X_ALLOC_DEL_SESSION] = "DELETE FROM allocations WHERE session_id = ?1",
		[X_EVENT_LAST_ID] = "SELECT COALESCE(MAX(id), 0) FROM events",
	};

	switch (x) {
	case X_EVENT_LIST_ALL:
		store_sqlite_row_select(buf, len, SQ_EVENTS, "WHERE id > ?1 ORDER BY id LIMIT ?2");
		break;
	case X_EVENT_LIST_SESSION:
		/* Shaped to walk the (session_id, id) index. */
		store_sqlite_row_select(buf, len, SQ_EVENTS,
		                        "WHERE session_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
		break;
	default:
		assert(fixed[x]);
		snprintf(buf, len, "%s", fixed[x]);
	}
}

static int prepare_one(sq_store_t *s, const char *sql, sqlite3_stmt **out, char *errmsg,
                       size_t errlen)
{
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);

	if (rc != SQLITE_OK) {
		store_sqlite_msg(errmsg, errlen, "the state store cannot prepare \"%s\": %s", sql,
		                 sqlite3_errmsg(s->db));
		*out = NULL;
		return GH_ESTORE;
	}
	return 0;
}

static int prepare_all(sq_store_t *s, char *errmsg, size_t errlen)
{
	char sql[SQ_SQL_MAX];
	int err;

	for (int t = 0; t < SQ__TABLES; t++) {
		store_sqlite_row_check((sq_tbl_t)t);
		for (int op = 0; op < SQ__OPS; op++) {
			if (store_sqlite_tables[t].append_only && (op == SQ_UPDATE || op == SQ_DELETE))
				continue;
			store_sqlite_row_sql(sql, sizeof(sql), (sq_tbl_t)t, (sq_op_t)op);
			err = prepare_one(s, sql, &s->tstmt[t][op], errmsg, errlen);
			if (err)
				return err;
		}
	}
	for (int x = 0; x < X__COUNT; x++) {
		sql_x(sql, sizeof(sql), (xstmt_t)x);
		err = prepare_one(s, sql, &s->xstmt[x], errmsg, errlen);
		if (err)
			return err;
	}
	for (int u = 0; u < SQ_U__COUNT; u++)
		if ((err = prepare_one(s, store_sqlite_usage_sql[u], &s->ustmt[u], errmsg, errlen)))
			return err;
	return 0;
}

static void finalize_all(sq_store_t *s)
{
	for (int t = 0; t < SQ__TABLES; t++) {
		for (int op = 0; op < SQ__OPS; op++) {
			sqlite3_finalize(s->tstmt[t][op]);
			s->tstmt[t][op] = NULL;
		}
	}
	for (int x = 0; x < X__COUNT; x++) {
		sqlite3_finalize(s->xstmt[x]);
		s->xstmt[x] = NULL;
	}
	for (int u = 0; u < SQ_U__COUNT; u++) {
		sqlite3_finalize(s->ustmt[u]);
		s->ustmt[u] = NULL;
	}
}

/* ---- for usage.c ------------------------------------------------------- */

int store_sqlite_ustmt_take(gh_store_t *st, sq_ustmt_t which, int write, sqlite3_stmt **out)
{
	sq_store_t *s = sq(st);
	*out = NULL;
	return write && s->aborted ? GH_ESTORE : stmt_take(s, s->ustmt[which], out);
}
void store_sqlite_ustmt_give(gh_store_t *st, sq_ustmt_t which, sqlite3_stmt *used)
{
	stmt_give(sq(st)->ustmt[which], used);
}
int store_sqlite_fail(gh_store_t *st, int rc, const char *what) { return sq_fail(sq(st), rc, what); }

/* ---- generic record operations ----------------------------------------- */

/* id 0: INSERT and set rec's id; otherwise UPDATE that row. */
static int rec_put(sq_store_t *s, sq_tbl_t tbl, void *rec)
{
	const sq_table_t *t = &store_sqlite_tables[tbl];
	sqlite3_stmt *cached, *stmt;
	char what[64];
	int64_t id;
	int rc, err;

	assert(rec);
	id = store_sqlite_row_id(tbl, rec);
	if (id < 0)
		return GH_EINVAL;
	if (s->aborted)
		return GH_ESTORE;
	cached = s->tstmt[tbl][id == 0 ? SQ_INSERT : SQ_UPDATE];
	if (!cached)
		return GH_EINVAL; /* an update of an append-only record */
	err = stmt_take(s, cached, &stmt);
	if (err)
		return err;
	err = store_sqlite_row_bind(stmt, tbl, rec);
	if (!err && id != 0) {
		rc = sqlite3_bind_int64(stmt, t->ncols, id);
		if (rc != SQLITE_OK)
			err = sq_fail(s, rc, "bind an id");
	}
	if (!err) {
		rc = sqlite3_step(stmt);
		if (rc != SQLITE_DONE) {
			snprintf(what, sizeof(what), "%s a %s", id ? "update" : "insert", t->what);
			err = sq_fail(s, rc, what);
		} else if (id == 0) {
			store_sqlite_row_set_id(tbl, rec, sqlite3_last_insert_rowid(s->db));
		} else if (sqlite3_changes(s->db) == 0) {
			err = GH_ENOTFOUND;
		}
	}
	stmt_give(cached, stmt);
	return err;
}

/* Runs a DELETE whose one parameter is id; `must` asks for GH_ENOTFOUND
 * when it deleted nothing. */
static int rec_delete(sq_store_t *s, sqlite3_stmt *cached, int64_t id, int must,
                      const char *what)
{
	sqlite3_stmt *stmt;
	int rc, err;

	if (s->aborted)
		return GH_ESTORE;
	err = stmt_take(s, cached, &stmt);
	if (err)
		return err;
	rc = sqlite3_bind_int64(stmt, 1, id);
	if (rc != SQLITE_OK)
		err = sq_fail(s, rc, "bind an id");
	if (!err) {
		rc = sqlite3_step(stmt);
		if (rc != SQLITE_DONE)
			err = sq_fail(s, rc, what);
		else if (must && sqlite3_changes(s->db) == 0)
			err = GH_ENOTFOUND;
	}
	stmt_give(cached, stmt);
	return err;
}

static int tbl_delete(sq_store_t *s, sq_tbl_t tbl, int64_t id)
{
	char what[64];

	snprintf(what, sizeof(what), "delete a %s", store_sqlite_tables[tbl].what);
	return rec_delete(s, s->tstmt[tbl][SQ_DELETE], id, 1, what);
}

/* Big enough for any record, for the row loop. */
typedef union {
	gh_user_t user;
	gh_group_t group;
	gh_token_t token;
	gh_env_t env;
	gh_session_t session;
	gh_alloc_t alloc;
	gh_event_t event;
} any_rec_t;

typedef int (*row_fn)(void *ctx, const void *rec);

/* Steps a bound select of every column of tbl, calling fn per row; stops
 * at the first non-zero return of fn and returns it. */
static int rows_run(sq_store_t *s, sqlite3_stmt *stmt, sq_tbl_t tbl, row_fn fn, void *ctx)
{
	any_rec_t rec;
	char what[64];
	int rc, err;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		err = store_sqlite_row_read(stmt, tbl, &rec);
		if (err)
			return err;
		err = fn(ctx, &rec);
		if (err)
			return err;
	}
	if (rc != SQLITE_DONE) {
		snprintf(what, sizeof(what), "read the %s", store_sqlite_tables[tbl].name);
		return sq_fail(s, rc, what);
	}
	return 0;
}

static int tbl_load(sq_store_t *s, sq_tbl_t tbl, row_fn fn, void *ctx)
{
	sqlite3_stmt *cached = s->tstmt[tbl][SQ_LOAD], *stmt;
	int err = stmt_take(s, cached, &stmt);

	if (err)
		return err;
	err = rows_run(s, stmt, tbl, fn, ctx);
	stmt_give(cached, stmt);
	return err;
}

/* ---- opening: file, pragmas, migrations -------------------------------- */

/* Creates a missing state file as 0600 before SQLite does (it would use
 * 0644): it holds password and token hashes. SQLite gives the -wal and
 * -shm files the same mode as the database file. */
static int file_precreate(const char *path, char *errmsg, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		store_sqlite_msg(errmsg, errlen, "cannot open the state store file %s: %s", path,
		                 strerror(errno));
		return GH_EIO;
	}
	close(fd);
	return 0;
}

static int configure(sq_store_t *s, const char *path, int in_memory, char *errmsg,
                     size_t errlen)
{
	sqlite3_stmt *stmt = NULL;
	const char *mode;
	int64_t fk = 0;
	int rc;

	/* The first statement that reads the file: a file that is not a
	 * database fails here. */
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		store_sqlite_msg(errmsg, errlen, "cannot use %s as the state store: %s", path,
		                 sqlite3_errmsg(s->db));
		sqlite3_finalize(stmt);
		return GH_ESTORE;
	}
	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (!mode || strcmp(mode, in_memory ? "memory" : "wal") != 0) {
		store_sqlite_msg(errmsg, errlen, "cannot put the state store %s in WAL mode (it "
		                 "stays in \"%s\" mode); is it on a file system without shared "
		                 "memory?", path, mode ? mode : "?");
		sqlite3_finalize(stmt);
		return GH_ESTORE;
	}
	sqlite3_finalize(stmt);

	rc = sqlite3_exec(s->db,
	                  "PRAGMA synchronous = NORMAL;"
	                  "PRAGMA foreign_keys = ON;",
	                  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = store_sqlite_query_int(s->db, "PRAGMA foreign_keys", &fk);
	if (rc != SQLITE_OK || fk != 1) {
		store_sqlite_msg(errmsg, errlen, "cannot configure the state store %s: %s", path,
		                 rc != SQLITE_OK ? sqlite3_errmsg(s->db)
		                                 : "this SQLite has no foreign keys");
		return GH_ESTORE;
	}
	return 0;
}

static int sq_open(gh_store_t **out, const char *uri, char *errmsg, size_t errlen)
{
	sq_store_t *s;
	int in_memory, rc, err;

	assert(out);
	*out = NULL;
	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!uri || !*uri) {
		store_sqlite_msg(errmsg, errlen, "the SQLite state store needs a file path");
		return GH_EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		store_sqlite_msg(errmsg, errlen, "out of memory opening the state store %s", uri);
		return GH_ENOMEM;
	}
	s->base.ops = &store_sqlite_ops;
	in_memory = strcmp(uri, ":memory:") == 0;

	if (!in_memory) {
		err = file_precreate(uri, errmsg, errlen);
		if (err)
			goto fail_free;
	}
	rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_msg(errmsg, errlen, "cannot open the state store %s: %s", uri,
		                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		err = rc == SQLITE_NOMEM ? GH_ENOMEM : GH_ESTORE;
		goto fail_close;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQ_BUSY_MS);

	err = configure(s, uri, in_memory, errmsg, errlen);
	if (err)
		goto fail_close;
	err = store_sqlite_migrate(s->db, uri, errmsg, errlen);
	if (err)
		goto fail_close;
	s->version = store_sqlite_migration_count;
	err = prepare_all(s, errmsg, errlen);
	if (err)
		goto fail_stmts;
	if (!in_memory) {
		err = store_sqlite_ckpt_start(&s->ckpt, s->db, uri, errmsg, errlen);
		if (err)
			goto fail_stmts;
	}

	*out = &s->base;
	return 0;

fail_stmts:
	finalize_all(s);
fail_close:
	sqlite3_close(s->db); /* NULL is a no-op */
fail_free:
	free(s);
	return err;
}

static void sq_close(gh_store_t *st)
{
	sq_store_t *s = sq(st);
	int rc;

	if (s->depth > 0) {
		GH_WARN("The state store was closed inside a transaction; its writes are rolled back.");
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	store_sqlite_ckpt_stop(s->ckpt); /* first: the last connection to close checkpoints */
	finalize_all(s);
	rc = sqlite3_close(s->db);
	if (rc != SQLITE_OK)
		GH_ERROR("The state store did not close cleanly: %s.", sqlite3_errstr(rc));
	free(s);
}

static int sq_schema_version(gh_store_t *st)
{
	return sq(st)->version;
}

/* ---- transactions ------------------------------------------------------- */

static int sq_begin(gh_store_t *st)
{
	sq_store_t *s = sq(st);
	int err = 0;

	if (s->depth == 0)
		err = run_x(s, X_BEGIN, "begin a transaction");
	else if (!s->aborted)
		err = run_x(s, X_SAVEPOINT, "begin a nested transaction");
	if (err)
		return err;
	s->depth++;
	return 0;
}

static int sq_commit(gh_store_t *st)
{
	sq_store_t *s = sq(st);
	int err;

	if (s->depth == 0) {
		GH_ERROR("The state store was asked to commit with no transaction open.");
		return GH_ESTATE;
	}
	if (s->aborted) {
		if (--s->depth == 0)
			s->aborted = 0;
		return GH_ESTORE;
	}
	if (s->depth > 1) {
		err = run_x(s, X_RELEASE, "commit a nested transaction");
		s->depth--;
		return err;
	}
	err = run_x(s, X_COMMIT, "commit");
	if (err && !sqlite3_get_autocommit(s->db)) {
		/* Still open (e.g. busy): end it, so that none of it lands later. */
		run_x(s, X_ROLLBACK, "roll back after a failed commit");
	}
	s->depth = 0;
	s->aborted = 0;
	return err;
}

static int sq_rollback(gh_store_t *st)
{
	sq_store_t *s = sq(st);
	int err;

	if (s->depth == 0) {
		GH_ERROR("The state store was asked to roll back with no transaction open.");
		return GH_ESTATE;
	}
	if (s->aborted) {
		if (--s->depth == 0)
			s->aborted = 0;
		return 0;
	}
	if (s->depth > 1) {
		err = run_x(s, X_ROLLBACK_TO, "roll back a nested transaction");
		if (!err)
			err = run_x(s, X_RELEASE, "close a nested transaction");
		s->depth--;
		return err;
	}
	err = run_x(s, X_ROLLBACK, "roll back");
	s->depth = 0;
	return err;
}

/* ---- typed entry points ------------------------------------------------- */

/* Carries a typed load callback through the untyped row loop. */
typedef struct {
	void *ctx;
	union {
		store_user_cb user;
		store_group_cb group;
		store_token_cb token;
		store_env_cb env;
		store_session_cb session;
		store_alloc_cb alloc;
		store_event_cb event;
		store_snapshot_cb snapshot;
	} cb;
} load_ctx_t;

static int user_row(void *c, const void *r) { load_ctx_t *l = c; return l->cb.user(l->ctx, r); }
static int group_row(void *c, const void *r) { load_ctx_t *l = c; return l->cb.group(l->ctx, r); }
static int token_row(void *c, const void *r) { load_ctx_t *l = c; return l->cb.token(l->ctx, r); }
static int env_row(void *c, const void *r) { load_ctx_t *l = c; return l->cb.env(l->ctx, r); }
static int session_row(void *c, const void *r)
{
	load_ctx_t *l = c;
	return l->cb.session(l->ctx, r);
}
static int alloc_row(void *c, const void *r) { load_ctx_t *l = c; return l->cb.alloc(l->ctx, r); }
static int event_row(void *c, const void *r) { load_ctx_t *l = c; return l->cb.event(l->ctx, r); }
static int snapshot_row(void *c, const void *r) { load_ctx_t *l = c; return l->cb.snapshot(l->ctx, r); }

static int sq_user_put(gh_store_t *st, gh_user_t *u) { return rec_put(sq(st), SQ_USERS, u); }
static int sq_user_delete(gh_store_t *st, int64_t id) { return tbl_delete(sq(st), SQ_USERS, id); }
static int sq_user_load(gh_store_t *st, store_user_cb cb, void *ctx)
{
	load_ctx_t l = {ctx, {.user = cb}};
	return cb ? tbl_load(sq(st), SQ_USERS, user_row, &l) : GH_EINVAL;
}

static int sq_group_put(gh_store_t *st, gh_group_t *g) { return rec_put(sq(st), SQ_GROUPS, g); }
static int sq_group_delete(gh_store_t *st, int64_t id) { return tbl_delete(sq(st), SQ_GROUPS, id); }
static int sq_group_load(gh_store_t *st, store_group_cb cb, void *ctx)
{
	load_ctx_t l = {ctx, {.group = cb}};
	return cb ? tbl_load(sq(st), SQ_GROUPS, group_row, &l) : GH_EINVAL;
}

static int sq_token_put(gh_store_t *st, gh_token_t *t) { return rec_put(sq(st), SQ_TOKENS, t); }
static int sq_token_delete(gh_store_t *st, int64_t id) { return tbl_delete(sq(st), SQ_TOKENS, id); }
static int sq_token_load(gh_store_t *st, store_token_cb cb, void *ctx)
{
	load_ctx_t l = {ctx, {.token = cb}};
	return cb ? tbl_load(sq(st), SQ_TOKENS, token_row, &l) : GH_EINVAL;
}

static int sq_env_put(gh_store_t *st, gh_env_t *e) { return rec_put(sq(st), SQ_ENVS, e); }
static int sq_env_delete(gh_store_t *st, int64_t id) { return tbl_delete(sq(st), SQ_ENVS, id); }
static int sq_env_load(gh_store_t *st, store_env_cb cb, void *ctx)
{
	load_ctx_t l = {ctx, {.env = cb}};
	return cb ? tbl_load(sq(st), SQ_ENVS, env_row, &l) : GH_EINVAL;
}

static int sq_session_put(gh_store_t *st, gh_session_t *x)
{
	return rec_put(sq(st), SQ_SESSIONS, x);
}
static int sq_session_delete(gh_store_t *st, int64_t id)
{
	return tbl_delete(sq(st), SQ_SESSIONS, id);
}
static int sq_session_load(gh_store_t *st, store_session_cb cb, void *ctx)
{
	load_ctx_t l = {ctx, {.session = cb}};
	return cb ? tbl_load(sq(st), SQ_SESSIONS, session_row, &l) : GH_EINVAL;
}

static int sq_alloc_put(gh_store_t *st, gh_alloc_t *a) { return rec_put(sq(st), SQ_ALLOCS, a); }
/* Deleting no allocation is not an error: a queued session holds none. */
static int sq_alloc_delete_session(gh_store_t *st, int64_t session_id)
{
	sq_store_t *s = sq(st);
	return rec_delete(s, s->xstmt[X_ALLOC_DEL_SESSION], session_id, 0,
	                  "delete the allocations of a session");
}
static int sq_alloc_load(gh_store_t *st, store_alloc_cb cb, void *ctx)
{
	load_ctx_t l = {ctx, {.alloc = cb}};
	return cb ? tbl_load(sq(st), SQ_ALLOCS, alloc_row, &l) : GH_EINVAL;
}

static int sq_event_append(gh_store_t *st, gh_event_t *ev)
{
	assert(ev);
	if (ev->id != 0)
		return GH_EINVAL; /* append-only: there is no update */
	return rec_put(sq(st), SQ_EVENTS, ev);
}

static int sq_event_list(gh_store_t *st, int64_t session_id, int64_t after_id, int limit,
                         store_event_cb cb, void *ctx)
{
	sq_store_t *s = sq(st);
	load_ctx_t l = {ctx, {.event = cb}};
	xstmt_t x = session_id ? X_EVENT_LIST_SESSION : X_EVENT_LIST_ALL;
	sqlite3_stmt *stmt;
	int n = 1, err;

	if (!cb || limit < 0 || session_id < 0)
		return GH_EINVAL;
	err = stmt_take(s, s->xstmt[x], &stmt);
	if (err)
		return err;
	if (session_id)
		sqlite3_bind_int64(stmt, n++, session_id);
	sqlite3_bind_int64(stmt, n++, after_id > 0 ? after_id : 0);
	sqlite3_bind_int(stmt, n, limit > 0 ? limit : -1); /* LIMIT -1: no limit */
	err = rows_run(s, stmt, SQ_EVENTS, event_row, &l);
	stmt_give(s->xstmt[x], stmt);
	return err;
}

static int64_t sq_event_last_id(gh_store_t *st)
{
	sq_store_t *s = sq(st);
	sqlite3_stmt *stmt;
	int64_t id;
	int rc, err;

	err = stmt_take(s, s->xstmt[X_EVENT_LAST_ID], &stmt);
	if (err)
		return err;
	rc = sqlite3_step(stmt);
	id = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : sq_fail(s, rc, "read the last event id");
	stmt_give(s->xstmt[X_EVENT_LAST_ID], stmt);
	return id;
}

static int sq_snapshot_put(gh_store_t *st, gh_snapshot_t *x) { return rec_put(sq(st), SQ_SNAPSHOTS, x); }
static int sq_snapshot_delete(gh_store_t *st, int64_t id) { return tbl_delete(sq(st), SQ_SNAPSHOTS, id); }
static int sq_snapshot_load(gh_store_t *st, store_snapshot_cb cb, void *ctx)
{
	load_ctx_t l = {ctx, {.snapshot = cb}};
	return cb ? tbl_load(sq(st), SQ_SNAPSHOTS, snapshot_row, &l) : GH_EINVAL;
}

const store_ops_t store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.schema_version = sq_schema_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.user_put = sq_user_put,
	.user_delete = sq_user_delete,
	.user_load = sq_user_load,
	.group_put = sq_group_put,
	.group_delete = sq_group_delete,
	.group_load = sq_group_load,
	.token_put = sq_token_put,
	.token_delete = sq_token_delete,
	.token_load = sq_token_load,
	.env_put = sq_env_put,
	.env_delete = sq_env_delete,
	.env_load = sq_env_load,
	.session_put = sq_session_put,
	.session_delete = sq_session_delete,
	.session_load = sq_session_load,
	.alloc_put = sq_alloc_put,
	.alloc_delete_session = sq_alloc_delete_session,
	.alloc_load = sq_alloc_load,
	.event_append = sq_event_append,
	.event_list = sq_event_list,
	.event_last_id = sq_event_last_id,
	.snapshot_put = sq_snapshot_put,
	.snapshot_delete = sq_snapshot_delete,
	.snapshot_load = sq_snapshot_load,
	.usage_add = store_sqlite_usage_add,
	.usage_query = store_sqlite_usage_query,
	.usage_prune = store_sqlite_usage_prune,
	.usage_mark_put = store_sqlite_usage_mark_put,
	.usage_mark_delete = store_sqlite_usage_mark_delete,
	.usage_mark_load = store_sqlite_usage_mark_load,
};
