/*
 * rows.c — records ↔ rows for the SQLite state store.
 *
 * Records are fixed-layout structs (model.h), so each table is described
 * once, below, as a list of columns: SQL name, kind, offset and size of
 * the field. The INSERT/UPDATE/DELETE/SELECT text, the binding of a record
 * to parameters and the reading of a row back into a record all walk that
 * one list, so a field cannot be bound in one place and forgotten in
 * another. The list must agree with the schema in migrations.c: a column
 * that does not exist makes its statement fail to prepare at open.
 *
 * Worked example, the groups table (cols: id, name, created_at):
 *   INSERT INTO groups (name, created_at) VALUES (?1, ?2)
 *   UPDATE groups SET name = ?1, created_at = ?2 WHERE id = ?3
 *   DELETE FROM groups WHERE id = ?1
 *   SELECT id, name, created_at FROM groups ORDER BY id
 * and binding a gh_group_t puts g->name in ?1 and g->created_at in ?2.
 *
 * Enums are stored by name ("running", "admin", "api") so the file reads
 * well in the sqlite3 shell and does not depend on the order in model.h;
 * a name this binary does not know fails the load rather than guessing.
 */
#include "store/sqlite/store_sqlite_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/model.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

/* ---- enum names -------------------------------------------------------- */

_Static_assert(sizeof(gh_sess_state_t) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(gh_role_t) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(gh_token_kind_t) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(gh_snap_state_t) == sizeof(int), "enum stored as int");

static const char *state_name(int v) { return gh_sess_state_name((gh_sess_state_t)v); }

static int state_parse(const char *s, int *v)
{
	gh_sess_state_t st;

	if (gh_sess_state_parse(s, &st) != 0)
		return GH_EINVAL;
	*v = (int)st;
	return 0;
}

static const char *const role_names[] = {[GH_ROLE_USER] = "user", [GH_ROLE_ADMIN] = "admin"};
static const char *const kind_names[] = {[GH_TOKEN_API] = "api", [GH_TOKEN_LOGIN] = "login"};

#define NNAMES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int names_parse(const char *const *names, int n, const char *s, int *v)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0) {
			*v = i;
			return 0;
		}
	}
	return GH_EINVAL;
}

static const char *role_name(int v)
{
	return v >= 0 && v < NNAMES(role_names) ? role_names[v] : NULL;
}

static int role_parse(const char *s, int *v)
{
	return names_parse(role_names, NNAMES(role_names), s, v);
}

static const char *kind_name(int v)
{
	return v >= 0 && v < NNAMES(kind_names) ? kind_names[v] : NULL;
}

static int kind_parse(const char *s, int *v)
{
	return names_parse(kind_names, NNAMES(kind_names), s, v);
}

static const sq_enum_conv_t conv_state = {state_name, state_parse};
static const sq_enum_conv_t conv_role = {role_name, role_parse};
static const sq_enum_conv_t conv_kind = {kind_name, kind_parse};

static const char *const snap_state_names[] = {[GH_SNAP_CREATING] = "creating", [GH_SNAP_READY] = "ready",
                                               [GH_SNAP_FAILED] = "failed"};
static const char *snap_state_name(int v)
{
	return v >= 0 && v < 3 ? snap_state_names[v] : NULL;
}
static int snap_state_parse(const char *s, int *v) { return names_parse(snap_state_names, 3, s, v); }
static const sq_enum_conv_t conv_snap_state = {snap_state_name, snap_state_parse};

/* ---- column lists ------------------------------------------------------ */

#define FSIZE(type, field) sizeof(((type *)0)->field)
/* A column named like its field. */
#define C(type, field, kind) {#field, kind, offsetof(type, field), FSIZE(type, field), NULL}
/* A column named otherwise ("group" is an SQL keyword). */
#define C_AS(type, field, col, kind) {col, kind, offsetof(type, field), FSIZE(type, field), NULL}
#define C_ENUM(type, field, conv) \
	{#field, SQ_COL_ENUM, offsetof(type, field), FSIZE(type, field), conv}
#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const sq_col_t user_cols[] = {
	C(gh_user_t, id, SQ_COL_I64),
	C(gh_user_t, name, SQ_COL_TEXT),
	C(gh_user_t, display_name, SQ_COL_TEXT),
	C(gh_user_t, email, SQ_COL_TEXT),
	C_AS(gh_user_t, group, "group_name", SQ_COL_TEXT),
	C(gh_user_t, pw_hash, SQ_COL_TEXT),
	C_ENUM(gh_user_t, role, &conv_role),
	C(gh_user_t, disabled, SQ_COL_INT),
	C(gh_user_t, created_at, SQ_COL_I64),
};

static const sq_col_t group_cols[] = {
	C(gh_group_t, id, SQ_COL_I64),
	C(gh_group_t, name, SQ_COL_TEXT),
	C(gh_group_t, created_at, SQ_COL_I64),
	C(gh_group_t, idle, SQ_COL_TEXT),
};

static const sq_col_t token_cols[] = {
	C(gh_token_t, id, SQ_COL_I64),
	C(gh_token_t, user_id, SQ_COL_I64),
	C(gh_token_t, hash, SQ_COL_BLOB),
	C(gh_token_t, prefix, SQ_COL_TEXT),
	C(gh_token_t, note, SQ_COL_TEXT),
	C_ENUM(gh_token_t, kind, &conv_kind),
	C(gh_token_t, created_at, SQ_COL_I64),
	C(gh_token_t, expires_at, SQ_COL_I64),
	C(gh_token_t, last_used_at, SQ_COL_I64),
};

static const sq_col_t env_cols[] = {
	C(gh_env_t, id, SQ_COL_I64),
	C(gh_env_t, name, SQ_COL_TEXT),
	C(gh_env_t, spec, SQ_COL_TEXT),
	C(gh_env_t, created_at, SQ_COL_I64),
	C(gh_env_t, updated_at, SQ_COL_I64),
};

static const sq_col_t session_cols[] = {
	C(gh_session_t, id, SQ_COL_I64),
	C(gh_session_t, user_id, SQ_COL_I64),
	C(gh_session_t, env_id, SQ_COL_I64),
	C(gh_session_t, name, SQ_COL_TEXT),
	C(gh_session_t, env_name, SQ_COL_TEXT),
	C_ENUM(gh_session_t, state, &conv_state),
	C(gh_session_t, reason, SQ_COL_TEXT),
	C(gh_session_t, gpu_milli, SQ_COL_INT),
	C(gh_session_t, gpu_model, SQ_COL_TEXT),
	C(gh_session_t, cpu_milli, SQ_COL_INT),
	C(gh_session_t, memory_mib, SQ_COL_I64),
	C(gh_session_t, priority, SQ_COL_INT),
	C(gh_session_t, runtime, SQ_COL_TEXT),
	C(gh_session_t, runtime_ref, SQ_COL_TEXT),
	C(gh_session_t, port, SQ_COL_INT),
	C(gh_session_t, created_at, SQ_COL_I64),
	C(gh_session_t, updated_at, SQ_COL_I64),
	C(gh_session_t, started_at, SQ_COL_I64),
	C(gh_session_t, stopped_at, SQ_COL_I64),
	C(gh_session_t, last_activity_at, SQ_COL_I64),
};

static const sq_col_t alloc_cols[] = {
	C(gh_alloc_t, id, SQ_COL_I64),
	C(gh_alloc_t, session_id, SQ_COL_I64),
	C(gh_alloc_t, gpu_index, SQ_COL_INT),
	C(gh_alloc_t, gpu_uuid, SQ_COL_TEXT),
	C(gh_alloc_t, milli, SQ_COL_INT),
	C(gh_alloc_t, memory_mib, SQ_COL_I64),
	C(gh_alloc_t, created_at, SQ_COL_I64),
};

static const sq_col_t event_cols[] = {
	C(gh_event_t, id, SQ_COL_I64),
	C(gh_event_t, ts, SQ_COL_I64),
	C(gh_event_t, session_id, SQ_COL_I64),
	C(gh_event_t, user_id, SQ_COL_I64),
	C(gh_event_t, type, SQ_COL_TEXT),
	C_ENUM(gh_event_t, state, &conv_state),
	C(gh_event_t, percent, SQ_COL_INT),
	C(gh_event_t, message, SQ_COL_TEXT),
	C(gh_event_t, data, SQ_COL_TEXT),
};

static const sq_col_t snapshot_cols[] = {
	C(gh_snapshot_t, id, SQ_COL_I64),
	C(gh_snapshot_t, user_id, SQ_COL_I64),
	C(gh_snapshot_t, session_id, SQ_COL_I64),
	C(gh_snapshot_t, session_name, SQ_COL_TEXT),
	C(gh_snapshot_t, note, SQ_COL_TEXT),
	C_ENUM(gh_snapshot_t, state, &conv_snap_state),
	C(gh_snapshot_t, reason, SQ_COL_TEXT),
	C(gh_snapshot_t, home_paths, SQ_COL_TEXT),
	C(gh_snapshot_t, sha256, SQ_COL_TEXT),
	C(gh_snapshot_t, size_bytes, SQ_COL_I64),
	C(gh_snapshot_t, files, SQ_COL_I64),
	C(gh_snapshot_t, created_at, SQ_COL_I64),
	C(gh_snapshot_t, ready_at, SQ_COL_I64),
};

#define TABLE(sql, what, type, cols, append_only) \
	{sql, what, sizeof(type), cols, NCOLS(cols), append_only}

const sq_table_t store_sqlite_tables[SQ__TABLES] = {
	[SQ_USERS] = TABLE("users", "user", gh_user_t, user_cols, 0),
	[SQ_GROUPS] = TABLE("groups", "group", gh_group_t, group_cols, 0),
	[SQ_TOKENS] = TABLE("tokens", "token", gh_token_t, token_cols, 0),
	[SQ_ENVS] = TABLE("environments", "environment", gh_env_t, env_cols, 0),
	[SQ_SESSIONS] = TABLE("sessions", "session", gh_session_t, session_cols, 0),
	[SQ_ALLOCS] = TABLE("allocations", "allocation", gh_alloc_t, alloc_cols, 0),
	[SQ_EVENTS] = TABLE("events", "event", gh_event_t, event_cols, 1),
	[SQ_SNAPSHOTS] = TABLE("snapshots", "snapshot", gh_snapshot_t, snapshot_cols, 0),
};

void store_sqlite_row_check(sq_tbl_t tbl)
{
	const sq_table_t *t = &store_sqlite_tables[tbl];

	assert(t->ncols > 1 && strcmp(t->cols[0].name, "id") == 0 &&
	       t->cols[0].kind == SQ_COL_I64 && t->cols[0].off == 0);
	for (int i = 0; i < t->ncols; i++) {
		const sq_col_t *c = &t->cols[i];
		switch (c->kind) {
		case SQ_COL_I64: assert(c->size == sizeof(int64_t)); break;
		case SQ_COL_INT: assert(c->size == sizeof(int)); break;
		case SQ_COL_ENUM: assert(c->size == sizeof(int) && c->conv); break;
		case SQ_COL_TEXT: assert(c->size > 1); break;
		case SQ_COL_BLOB: assert(c->size > 0); break;
		}
		assert(c->off + c->size <= t->size);
		(void)c;
	}
	(void)t;
}

/* ---- statement text ---------------------------------------------------- */

typedef struct {
	char *buf;
	size_t len;
	size_t used;
} sb_t;

static void sb_add(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(sb_t *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	assert(n >= 0 && (size_t)n < b->len - b->used); /* the caller's buffer is too small */
	b->used += (size_t)n;
}

/* "a, b, c" for columns first..; with `assign`, "a = ?1, b = ?2, ...". */
static void sb_cols(sb_t *b, const sq_table_t *t, int first, int assign)
{
	for (int i = first; i < t->ncols; i++) {
		sb_add(b, "%s%s", i > first ? ", " : "", t->cols[i].name);
		if (assign)
			sb_add(b, " = ?%d", i - first + 1);
	}
}

void store_sqlite_row_select(char *buf, size_t len, sq_tbl_t tbl, const char *tail)
{
	const sq_table_t *t = &store_sqlite_tables[tbl];
	sb_t b = {buf, len, 0};

	sb_add(&b, "SELECT ");
	sb_cols(&b, t, 0, 0);
	sb_add(&b, " FROM %s %s", t->name, tail);
}

void store_sqlite_row_sql(char *buf, size_t len, sq_tbl_t tbl, sq_op_t op)
{
	const sq_table_t *t = &store_sqlite_tables[tbl];
	sb_t b = {buf, len, 0};

	switch (op) {
	case SQ_INSERT:
		sb_add(&b, "INSERT INTO %s (", t->name);
		sb_cols(&b, t, 1, 0);
		sb_add(&b, ") VALUES (");
		for (int i = 1; i < t->ncols; i++)
			sb_add(&b, "%s?%d", i > 1 ? ", " : "", i);
		sb_add(&b, ")");
		break;
	case SQ_UPDATE:
		sb_add(&b, "UPDATE %s SET ", t->name);
		sb_cols(&b, t, 1, 1);
		sb_add(&b, " WHERE id = ?%d", t->ncols);
		break;
	case SQ_DELETE:
		sb_add(&b, "DELETE FROM %s WHERE id = ?1", t->name);
		break;
	case SQ_LOAD:
		store_sqlite_row_select(buf, len, tbl, "ORDER BY id");
		break;
	default:
		assert(!"unknown table operation");
	}
}

/* ---- binding and reading ---------------------------------------------- */

int store_sqlite_row_bind(sqlite3_stmt *stmt, sq_tbl_t tbl, const void *rec)
{
	const sq_table_t *t = &store_sqlite_tables[tbl];
	const char *base = rec;

	for (int i = 1; i < t->ncols; i++) {
		const sq_col_t *c = &t->cols[i];
		const char *p = base + c->off;
		const char *name;
		int64_t v64;
		int v, rc = SQLITE_OK;

		switch (c->kind) {
		case SQ_COL_I64:
			memcpy(&v64, p, sizeof(v64));
			rc = sqlite3_bind_int64(stmt, i, v64);
			break;
		case SQ_COL_INT:
			memcpy(&v, p, sizeof(v));
			rc = sqlite3_bind_int(stmt, i, v);
			break;
		case SQ_COL_TEXT:
			/* strnlen: a field the caller forgot to terminate stays in bounds. */
			rc = sqlite3_bind_text(stmt, i, p, (int)strnlen(p, c->size - 1), SQLITE_STATIC);
			break;
		case SQ_COL_BLOB:
			rc = sqlite3_bind_blob(stmt, i, p, (int)c->size, SQLITE_STATIC);
			break;
		case SQ_COL_ENUM:
			memcpy(&v, p, sizeof(v));
			name = c->conv->name(v);
			if (!name) {
				GH_DEBUG("The state store refused a %s whose %s is %d, not a known value.",
				         t->what, c->name, v);
				return GH_EINVAL;
			}
			rc = sqlite3_bind_text(stmt, i, name, -1, SQLITE_STATIC);
			break;
		}
		if (rc != SQLITE_OK) {
			GH_ERROR("The state store could not bind the %s of a %s: %s.", c->name, t->what,
			         sqlite3_errstr(rc));
			return rc == SQLITE_NOMEM ? GH_ENOMEM : GH_ESTORE;
		}
	}
	return 0;
}

/* Copies a TEXT column into a fixed buffer; longer text (only possible if
 * the file was edited by hand) keeps what fits. */
static void read_text(sqlite3_stmt *stmt, int i, char *dst, size_t size)
{
	const unsigned char *txt = sqlite3_column_text(stmt, i);
	size_t n = (size_t)sqlite3_column_bytes(stmt, i);

	if (!txt)
		return; /* NULL: stays "" */
	if (n > size - 1)
		n = size - 1;
	memcpy(dst, txt, n);
	dst[n] = '\0';
}

int store_sqlite_row_read(sqlite3_stmt *stmt, sq_tbl_t tbl, void *rec)
{
	const sq_table_t *t = &store_sqlite_tables[tbl];
	char *base = rec;

	memset(rec, 0, t->size);
	for (int i = 0; i < t->ncols; i++) {
		const sq_col_t *c = &t->cols[i];
		char *p = base + c->off;
		const unsigned char *txt;
		int64_t v64;
		int v, n;

		switch (c->kind) {
		case SQ_COL_I64:
			v64 = sqlite3_column_int64(stmt, i);
			memcpy(p, &v64, sizeof(v64));
			break;
		case SQ_COL_INT:
			v = sqlite3_column_int(stmt, i);
			memcpy(p, &v, sizeof(v));
			break;
		case SQ_COL_TEXT:
			read_text(stmt, i, p, c->size);
			break;
		case SQ_COL_BLOB:
			n = sqlite3_column_bytes(stmt, i);
			if ((size_t)n != c->size) {
				GH_ERROR("The %s with id %lld in the state store has a %d-byte %s, not %zu "
				         "bytes.", t->what, (long long)sqlite3_column_int64(stmt, 0), n,
				         c->name, c->size);
				return GH_ESTORE;
			}
			memcpy(p, sqlite3_column_blob(stmt, i), c->size);
			break;
		case SQ_COL_ENUM:
			txt = sqlite3_column_text(stmt, i);
			if (!txt || c->conv->parse((const char *)txt, &v) != 0) {
				GH_ERROR("The %s with id %lld in the state store has %s \"%s\", which this "
				         "gpuhub does not know.", t->what,
				         (long long)sqlite3_column_int64(stmt, 0), c->name,
				         txt ? (const char *)txt : "");
				return GH_ESTORE;
			}
			memcpy(p, &v, sizeof(v));
			break;
		}
	}
	return 0;
}
