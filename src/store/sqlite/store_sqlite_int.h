/*
 * store_sqlite_int.h — what the SQLite back end's files share:
 *
 *   store_sqlite.c  the handle, connection setup, cached statements,
 *                   transactions and the store_ops_t entry points
 *   rows.c          records ↔ rows: one column list per table, from which
 *                   the SQL text, the binding and the reading all follow
 *   migrations.c    the schema as numbered migrations, and their runner
 *   checkpoint.c    WAL checkpoints on a thread of their own
 */
#ifndef GH_STORE_SQLITE_INT_H
#define GH_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/store.h"

/* ---- migrations.c ---- */

/* "GPHB" in the database header (PRAGMA application_id): marks a file as a
 * gpuhub state file so that another program's SQLite file is refused. */
#define STORE_SQLITE_APP_ID 0x47504842

typedef struct {
	int version;        /* 1, 2, 3, ... with no gaps; equals its index + 1 */
	const char *title;  /* a few words for the log line */
	const char *sql;    /* one or more statements, run in one transaction */
} store_sqlite_migration_t;

/* Every migration this binary knows, oldest first. A shipped entry is never
 * edited: a schema change is a new entry at the end. */
extern const store_sqlite_migration_t store_sqlite_migrations[];
extern const int store_sqlite_migration_count;

/* Brings the file open on db up to store_sqlite_migration_count, one
 * transaction per step; refuses a newer or a foreign file. path is for
 * messages. 0, or GH_ESTORE/GH_ELOCKED with a sentence in errmsg. */
int store_sqlite_migrate(sqlite3 *db, const char *path, char *errmsg, size_t errlen);

/* Runs a one-value query such as "PRAGMA user_version"; an SQLite code. */
int store_sqlite_query_int(sqlite3 *db, const char *sql, int64_t *out);

/* snprintf into errmsg when errmsg is not NULL. */
void store_sqlite_msg(char *errmsg, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- checkpoint.c ---- */

typedef struct store_sqlite_ckpt store_sqlite_ckpt_t;

/* Takes over checkpointing of main_db (open on path, in WAL mode) with a
 * thread and a second connection. *out is NULL on failure. */
int store_sqlite_ckpt_start(store_sqlite_ckpt_t **out, sqlite3 *main_db, const char *path,
                            char *errmsg, size_t errlen);
/* Stops the thread and closes its connection; call before closing main_db.
 * NULL is a no-op. */
void store_sqlite_ckpt_stop(store_sqlite_ckpt_t *c);

/* ---- rows.c ---- */

typedef enum {
	SQ_COL_I64,   /* int64_t ↔ INTEGER */
	SQ_COL_INT,   /* int ↔ INTEGER */
	SQ_COL_TEXT,  /* char[size], NUL-terminated ↔ TEXT */
	SQ_COL_BLOB,  /* unsigned char[size], exactly size bytes ↔ BLOB */
	SQ_COL_ENUM,  /* an int-sized enum ↔ TEXT name, through conv */
} sq_col_kind_t;

typedef struct {
	const char *(*name)(int v);          /* NULL for a value out of range */
	int (*parse)(const char *s, int *v); /* 0 or GH_EINVAL */
} sq_enum_conv_t;

typedef struct {
	const char *name;            /* SQL column */
	sq_col_kind_t kind;
	size_t off;                  /* offset of the field in the record */
	size_t size;                 /* sizeof the field */
	const sq_enum_conv_t *conv;  /* SQ_COL_ENUM only */
} sq_col_t;

typedef struct {
	const char *name;            /* SQL table */
	const char *what;            /* "user", for messages */
	size_t size;                 /* sizeof the record */
	const sq_col_t *cols;        /* cols[0] is the int64_t id */
	int ncols;
	int append_only;             /* no UPDATE or DELETE statement */
} sq_table_t;

typedef enum {
	SQ_USERS, SQ_GROUPS, SQ_TOKENS, SQ_ENVS, SQ_SESSIONS, SQ_ALLOCS, SQ_EVENTS, SQ_SNAPSHOTS,
	SQ__TABLES
} sq_tbl_t;

typedef enum { SQ_INSERT, SQ_UPDATE, SQ_DELETE, SQ_LOAD, SQ__OPS } sq_op_t;

extern const sq_table_t store_sqlite_tables[SQ__TABLES];

/* Asserts that table tbl's column list fits its record. */
void store_sqlite_row_check(sq_tbl_t tbl);
/* The statement for op on tbl: INSERT binds columns 1.. as ?1..; UPDATE
 * the same plus the id as ?ncols; DELETE the id as ?1; LOAD selects every
 * column ordered by id. */
void store_sqlite_row_sql(char *buf, size_t len, sq_tbl_t tbl, sq_op_t op);
/* "SELECT <every column> FROM <table> <tail>". */
void store_sqlite_row_select(char *buf, size_t len, sq_tbl_t tbl, const char *tail);
/* Binds columns 1.. of rec to ?1.. without copying: rec must outlive the
 * step and the bindings be cleared after. 0, GH_EINVAL (an enum out of
 * range) or GH_ESTORE. */
int store_sqlite_row_bind(sqlite3_stmt *stmt, sq_tbl_t tbl, const void *rec);
/* Fills rec from the current row of a select of every column. 0 or
 * GH_ESTORE (a row this binary cannot read). */
int store_sqlite_row_read(sqlite3_stmt *stmt, sq_tbl_t tbl, void *rec);

/* ---- usage.c (usage accounting), with help from store_sqlite.c ---- */

typedef enum {
	SQ_U_ADD, SQ_U_QUERY, SQ_U_PRUNE, SQ_U_MARK_PUT, SQ_U_MARK_DEL, SQ_U_MARK_LOAD,
	SQ_U__COUNT
} sq_ustmt_t;

/* The statements behind the usage ops; store_sqlite.c prepares them at
 * open with the others. */
extern const char *const store_sqlite_usage_sql[SQ_U__COUNT];
/* In store_sqlite.c: the cached statement `which` (or a fresh copy when
 * it is busy further up the stack), to hand back with ustmt_give. A write
 * fails with GH_ESTORE once the open transaction was lost. */
int store_sqlite_ustmt_take(gh_store_t *st, sq_ustmt_t which, int write, sqlite3_stmt **out);
void store_sqlite_ustmt_give(gh_store_t *st, sq_ustmt_t which, sqlite3_stmt *used);
/* A failed SQLite call as a gh_err_t, logged ("failed to <what>"). */
int store_sqlite_fail(gh_store_t *st, int rc, const char *what);

int store_sqlite_usage_add(gh_store_t *st, const gh_usage_row_t *row);
int store_sqlite_usage_query(gh_store_t *st, const char *from_day, const char *to_day, const char *user,
                             unsigned by, store_usage_cb cb, void *ctx);
int store_sqlite_usage_prune(gh_store_t *st, const char *before_day);
int store_sqlite_usage_mark_put(gh_store_t *st, int64_t session_id, int64_t until);
int store_sqlite_usage_mark_delete(gh_store_t *st, int64_t session_id);
int store_sqlite_usage_mark_load(gh_store_t *st, store_usage_mark_cb cb, void *ctx);

static inline int64_t store_sqlite_row_id(sq_tbl_t tbl, const void *rec)
{
	int64_t id;
	memcpy(&id, (const char *)rec + store_sqlite_tables[tbl].cols[0].off, sizeof(id));
	return id;
}

static inline void store_sqlite_row_set_id(sq_tbl_t tbl, void *rec, int64_t id)
{
	memcpy((char *)rec + store_sqlite_tables[tbl].cols[0].off, &id, sizeof(id));
}

#endif
