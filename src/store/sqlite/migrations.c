/*
 * migrations.c — the SQLite schema, as numbered migrations, and the
 * runner that applies them.
 *
 * The schema is history, not a snapshot: migration N turns a version N-1
 * file into a version N file. The runner applies the ones a file lacks,
 * each in its own transaction together with the new version number in the
 * file header (PRAGMA user_version), so a crash leaves the file at one
 * version or the next, never between. It refuses a file whose version is
 * newer than this binary knows (an older gpuhub must not write a schema it
 * does not understand) and an SQLite file that is not gpuhub's (its header
 * lacks our application_id). An entry that has shipped is never edited; a
 * change is a new entry at the end. docs/store.md has the policy.
 *
 * Schema after migration 1 (every table is STRICT; times are Unix ms,
 * 0 = never; text columns are NOT NULL with '' for "none"; enums are stored
 * by name so the file reads well and survives reordering in model.h):
 *
 *   table        | column            | type    | notes
 *   -------------+-------------------+---------+-------------------------------------
 *   users        | id                | INTEGER | primary key, never reused
 *                | name              | TEXT    | unique (login name)
 *                | display_name      | TEXT    |
 *                | email             | TEXT    |
 *                | group_name        | TEXT    | primary group by name, '' = none
 *                | pw_hash           | TEXT    | argon2id string, '' = no password
 *                | role              | TEXT    | 'user' | 'admin'
 *                | disabled          | INTEGER | 0 | 1
 *                | created_at        | INTEGER |
 *   groups       | id, name, created_at        | name unique
 *                | idle              | TEXT    | (migration 4) the group's idle policy
 *                |                   |         | override as a JSON object, '' = none
 *   tokens       | id                | INTEGER | primary key
 *                | user_id           | INTEGER | → users(id) ON DELETE CASCADE
 *                | hash              | BLOB    | SHA-256 of the secret, 32 bytes, unique
 *                | prefix, note      | TEXT    |
 *                | kind              | TEXT    | 'api' | 'login'
 *                | created_at, expires_at, last_used_at | INTEGER |
 *   environments | id, name          |         | name unique
 *                | spec              | TEXT    | the Environment as JSON (checked valid)
 *                | created_at, updated_at      | INTEGER |
 *   sessions     | id                | INTEGER | primary key, never reused (events keep it)
 *                | user_id           | INTEGER | → users(id) ON DELETE CASCADE
 *                | env_id            | INTEGER | plain number: the env may go first
 *                | name              | TEXT    | unique together with user_id
 *                | env_name, state, reason, gpu_model, runtime, runtime_ref | TEXT |
 *                | gpu_milli, cpu_milli, memory_mib, priority, port          | INTEGER |
 *                | created_at, updated_at, started_at, stopped_at,
 *                | last_activity_at  | INTEGER |
 *   allocations  | id                | INTEGER | primary key
 *                | session_id        | INTEGER | → sessions(id) ON DELETE CASCADE
 *                | gpu_index         | INTEGER |
 *                | gpu_uuid          | TEXT    |
 *                | milli             | INTEGER | 1..1000
 *                | memory_mib, created_at      | INTEGER |
 *   events       | id                | INTEGER | primary key, never reused (a cursor)
 *                | ts                | INTEGER |
 *                | session_id        | INTEGER | plain number, 0 = none: outlives the session
 *                | user_id           | INTEGER | plain number, 0 = the system
 *                | type, state, message, data  | TEXT | state: session state name;
 *                |                   |         | data: JSON object or ''
 *                | percent           | INTEGER | 0..100, -1 = none
 *
 *
 * Migration 2 adds:
 *   snapshots    | id                | INTEGER | primary key
 *                | user_id           | INTEGER | → users(id) ON DELETE CASCADE
 *                | session_id        | INTEGER | plain number, 0 = imported
 *                | session_name, note, reason, sha256 | TEXT |
 *                | state             | TEXT    | creating | ready | failed
 *                | home_paths        | TEXT    | JSON array of paths under the home
 *                | size_bytes, files, created_at, ready_at | INTEGER |
 *
 * Indexes: tokens(hash) unique, tokens(user_id), sessions(user_id, name)
 * unique, allocations(session_id), events(session_id, id). The child
 * indexes make ON DELETE CASCADE a lookup instead of a table scan.
 *
 * Migration 2 adds usage accounting (docs/usage.md):
 *
 *   usage        | day               | TEXT    | 'YYYY-MM-DD', UTC
 *                | user_name, group_name, env_name, gpu_model | TEXT |
 *                |                   |         | names, not ids: history outlives them
 *                | gpu_milli_ms      | INTEGER | milli-GPUs × ms held that day, >= 0
 *                | session_ms        | INTEGER | ms sessions held an allocation, >= 0
 *                | primary key (day, user_name, group_name, env_name, gpu_model)
 *   usage_marks  | session_id        | INTEGER | primary key → sessions(id) ON DELETE CASCADE
 *                | booked_to         | INTEGER | usage is booked up to here (Unix ms)
 *
 * A mark exists while its session holds an allocation. Booking an interval
 * adds to usage rows and moves the mark in one transaction, so a crash
 * either did both or neither: nothing is counted twice.
 */
#include "store/sqlite/store_sqlite_int.h"
#include "common/err.h"
#include "common/log.h"

#include <assert.h>
#include <stdio.h>

/* AUTOINCREMENT keeps ids from being reused after the highest row is
 * deleted: events refer to sessions and users by number after they are
 * gone, and event ids are the cursor clients resume from. */
static const char migration_1[] =
	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" display_name TEXT NOT NULL DEFAULT '',"
	" email TEXT NOT NULL DEFAULT '',"
	" group_name TEXT NOT NULL DEFAULT '',"
	" pw_hash TEXT NOT NULL DEFAULT '',"
	" role TEXT NOT NULL DEFAULT 'user',"
	" disabled INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"

	"CREATE TABLE groups ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" created_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"

	"CREATE TABLE tokens ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" hash BLOB NOT NULL CHECK (length(hash) = 32),"
	" prefix TEXT NOT NULL DEFAULT '',"
	" note TEXT NOT NULL DEFAULT '',"
	" kind TEXT NOT NULL DEFAULT 'api',"
	" created_at INTEGER NOT NULL DEFAULT 0,"
	" expires_at INTEGER NOT NULL DEFAULT 0,"
	" last_used_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE UNIQUE INDEX tokens_hash ON tokens(hash);"
	"CREATE INDEX tokens_user ON tokens(user_id);"

	"CREATE TABLE environments ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" spec TEXT NOT NULL CHECK (json_valid(spec)),"
	" created_at INTEGER NOT NULL DEFAULT 0,"
	" updated_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"

	"CREATE TABLE sessions ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" env_id INTEGER NOT NULL DEFAULT 0,"
	" name TEXT NOT NULL,"
	" env_name TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL,"
	" reason TEXT NOT NULL DEFAULT '',"
	" gpu_milli INTEGER NOT NULL DEFAULT 0,"
	" gpu_model TEXT NOT NULL DEFAULT '',"
	" cpu_milli INTEGER NOT NULL DEFAULT 0,"
	" memory_mib INTEGER NOT NULL DEFAULT 0,"
	" priority INTEGER NOT NULL DEFAULT 0,"
	" runtime TEXT NOT NULL DEFAULT '',"
	" runtime_ref TEXT NOT NULL DEFAULT '',"
	" port INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL DEFAULT 0,"
	" updated_at INTEGER NOT NULL DEFAULT 0,"
	" started_at INTEGER NOT NULL DEFAULT 0,"
	" stopped_at INTEGER NOT NULL DEFAULT 0,"
	" last_activity_at INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (user_id, name)"
	") STRICT;"

	"CREATE TABLE allocations ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" gpu_index INTEGER NOT NULL,"
	" gpu_uuid TEXT NOT NULL DEFAULT '',"
	" milli INTEGER NOT NULL CHECK (milli BETWEEN 1 AND 1000),"
	" memory_mib INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX allocations_session ON allocations(session_id);"

	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" ts INTEGER NOT NULL,"
	" session_id INTEGER NOT NULL DEFAULT 0,"
	" user_id INTEGER NOT NULL DEFAULT 0,"
	" type TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT '',"
	" percent INTEGER NOT NULL DEFAULT -1,"
	" message TEXT NOT NULL DEFAULT '',"
	" data TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE INDEX events_session ON events(session_id, id);";

/* 2: snapshots of work dirs (files under <data_dir>/snapshots). A user's
 * snapshots go with the user; a session's stay when it is deleted. */
static const char migration_2[] =
	"CREATE TABLE snapshots ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" session_id INTEGER NOT NULL DEFAULT 0,"
	" session_name TEXT NOT NULL DEFAULT '',"
	" note TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'failed')),"
	" reason TEXT NOT NULL DEFAULT '',"
	" home_paths TEXT NOT NULL DEFAULT '[]',"
	" sha256 TEXT NOT NULL DEFAULT '',"
	" size_bytes INTEGER NOT NULL DEFAULT 0,"
	" files INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL DEFAULT 0,"
	" ready_at INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX snapshots_user ON snapshots(user_id, id);";

/* 3: usage accounting (docs/usage.md). */
static const char migration_3[] =
	"CREATE TABLE usage ("
	" day TEXT NOT NULL CHECK (length(day) = 10),"
	" user_name TEXT NOT NULL,"
	" group_name TEXT NOT NULL DEFAULT '',"
	" env_name TEXT NOT NULL DEFAULT '',"
	" gpu_model TEXT NOT NULL DEFAULT '',"
	" gpu_milli_ms INTEGER NOT NULL DEFAULT 0 CHECK (gpu_milli_ms >= 0),"
	" session_ms INTEGER NOT NULL DEFAULT 0 CHECK (session_ms >= 0),"
	" PRIMARY KEY (day, user_name, group_name, env_name, gpu_model)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE usage_marks ("
	" session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,"
	" booked_to INTEGER NOT NULL"
	") STRICT;";

/* 4: a group's idle policy override (docs/idle.md), which lived in a file
 * of its own beside the store before. */
static const char migration_4[] = "ALTER TABLE groups ADD COLUMN idle TEXT NOT NULL DEFAULT '';";

const store_sqlite_migration_t store_sqlite_migrations[] = {
	{1, "initial schema", migration_1},
	{2, "snapshots", migration_2},
	{3, "usage accounting", migration_3},
	{4, "group idle policies", migration_4},
};

const int store_sqlite_migration_count =
	(int)(sizeof(store_sqlite_migrations) / sizeof(store_sqlite_migrations[0]));

int store_sqlite_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Inside the migration transaction: may this file be migrated? */
static int migrate_check(sqlite3 *db, const char *path, int64_t version, char *errmsg,
                         size_t errlen)
{
	int64_t app = 0, objects = 0;
	int rc;

	if (version > store_sqlite_migration_count) {
		store_sqlite_msg(errmsg, errlen, "the state store %s has schema version %lld, newer "
		                 "than the %d this gpuhub knows: run the newer gpuhub that wrote it, or "
		                 "restore a backup taken before the upgrade", path,
		                 (long long)version, store_sqlite_migration_count);
		return GH_ESTORE;
	}
	rc = store_sqlite_query_int(db, "PRAGMA application_id", &app);
	if (rc == SQLITE_OK)
		rc = store_sqlite_query_int(db, "SELECT count(*) FROM sqlite_master", &objects);
	if (rc != SQLITE_OK) {
		store_sqlite_msg(errmsg, errlen, "cannot read the schema of the state store %s: %s",
		                 path, sqlite3_errmsg(db));
		return GH_ESTORE;
	}
	if ((version == 0 && objects > 0) || (version > 0 && app != STORE_SQLITE_APP_ID)) {
		store_sqlite_msg(errmsg, errlen, "%s is an SQLite file of another program, not a "
		                 "gpuhub state store; choose another path", path);
		return GH_ESTORE;
	}
	return 0;
}

/* The version is read again inside each write transaction (BEGIN
 * IMMEDIATE), so two processes racing on one file cannot apply a step
 * twice. */
int store_sqlite_migrate(sqlite3 *db, const char *path, char *errmsg, size_t errlen)
{
	const store_sqlite_migration_t *m;
	char sql[128];
	int64_t version;
	int rc, err;

	for (;;) {
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = store_sqlite_query_int(db, "PRAGMA user_version", &version);
		if (rc != SQLITE_OK) {
			store_sqlite_msg(errmsg, errlen, "cannot read the schema version of the state "
			                 "store %s: %s", path, sqlite3_errmsg(db));
			err = (rc & 0xff) == SQLITE_BUSY ? GH_ELOCKED : GH_ESTORE;
			goto fail;
		}
		err = migrate_check(db, path, version, errmsg, errlen);
		if (err)
			goto fail;
		if (version == store_sqlite_migration_count)
			break;

		m = &store_sqlite_migrations[version];
		assert(m->version == version + 1);
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
		         STORE_SQLITE_APP_ID, m->version);
		rc = sqlite3_exec(db, m->sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			store_sqlite_msg(errmsg, errlen, "schema migration %d (%s) of the state store %s "
			                 "failed: %s", m->version, m->title, path, sqlite3_errmsg(db));
			err = GH_ESTORE;
			goto fail;
		}
		GH_INFO("The state store %s is now at schema version %d (%s).", path, m->version,
		        m->title);
	}
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); /* up to date: nothing was written */
	return 0;

fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}
