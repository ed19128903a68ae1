/*
 * test_store.c — the state store through its public wrappers, on the
 * SQLite back end with a real file in a temporary folder.
 *
 * Each test gets a fresh folder and an open store (fixture below); tests
 * that look under the store (file header, journal mode, what a second
 * connection sees) open the same file with SQLite directly.
 */
#include <stddef.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"
#include "store/sqlite/store_sqlite_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixture ------------------------------------------------------------ */

typedef struct {
	char dir[64];
	char path[128];
	gh_store_t *st;
} fx_t;

static int fx_setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	char msg[256];

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/gh-test-store-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/state.db", fx->dir);
	if (store_open(&fx->st, "sqlite", fx->path, msg, sizeof(msg)) != 0)
		fail_msg("store_open: %s", msg);
	assert_non_null(fx->st);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *fx = *state;
	char p[160];

	store_close(fx->st);
	unlink(fx->path);
	snprintf(p, sizeof(p), "%s-wal", fx->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", fx->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s/other.db", fx->dir);
	unlink(p);
	assert_int_equal(rmdir(fx->dir), 0);
	free(fx);
	return 0;
}

static void fx_reopen(fx_t *fx)
{
	char msg[256];

	store_close(fx->st);
	fx->st = NULL;
	if (store_open(&fx->st, "sqlite", fx->path, msg, sizeof(msg)) != 0)
		fail_msg("store_open: %s", msg);
}

/* A second, independent connection to the file. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 1000);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static int64_t raw_count(const char *path, const char *sql)
{
	sqlite3 *db = raw_open(path);
	int64_t v = raw_int(db, sql);
	sqlite3_close(db);
	return v;
}

/* ---- record builders ------------------------------------------------------
 * Strings are set with the rest of their buffer zeroed, as the store hands
 * them back, so that whole records compare with memcmp. */

static void set_str(char *dst, size_t size, const char *src)
{
	memset(dst, 0, size);
	gh_strlcpy(dst, src, size);
}

#define SET(field, src) set_str((field), sizeof(field), (src))

static gh_user_t mk_user(const char *name)
{
	gh_user_t u;
	memset(&u, 0, sizeof(u));
	SET(u.name, name);
	snprintf(u.display_name, sizeof(u.display_name), "User %s", name);
	snprintf(u.email, sizeof(u.email), "%s@lab.example", name);
	SET(u.group, "vision");
	SET(u.pw_hash, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA");
	u.role = GH_ROLE_USER;
	u.created_at = 1700000000000;
	return u;
}

static gh_session_t mk_session(int64_t user_id, const char *name)
{
	gh_session_t s;
	memset(&s, 0, sizeof(s));
	s.user_id = user_id;
	s.env_id = 42;
	SET(s.name, name);
	SET(s.env_name, "pytorch");
	s.state = GH_SESS_QUEUED;
	SET(s.reason, "Waiting for 1 GPU.");
	s.gpu_milli = 1500;
	SET(s.gpu_model, "A100-80GB");
	s.cpu_milli = 4000;
	s.memory_mib = 32768;
	s.priority = 5;
	SET(s.runtime, "local");
	SET(s.runtime_ref, "pid:1234:98765");
	s.port = 40001;
	s.created_at = 1700000001000;
	s.updated_at = 1700000002000;
	s.started_at = 1700000003000;
	s.stopped_at = 0;
	s.last_activity_at = 1700000004000;
	return s;
}

static gh_alloc_t mk_alloc(int64_t session_id, int gpu_index, int milli)
{
	gh_alloc_t a;
	memset(&a, 0, sizeof(a));
	a.session_id = session_id;
	a.gpu_index = gpu_index;
	snprintf(a.gpu_uuid, sizeof(a.gpu_uuid), "GPU-%08x-aaaa-bbbb", gpu_index);
	a.milli = milli;
	a.memory_mib = 40960;
	a.created_at = 1700000005000;
	return a;
}

static gh_event_t mk_event(int64_t session_id, const char *type)
{
	gh_event_t ev;
	memset(&ev, 0, sizeof(ev));
	ev.ts = 1700000006000;
	ev.session_id = session_id;
	ev.user_id = 7;
	SET(ev.type, type);
	ev.state = GH_SESS_STARTING;
	ev.percent = 30;
	SET(ev.message, "Pulling the environment.");
	SET(ev.data, "{\"gpus\":[0,1]}");
	return ev;
}

static gh_token_t mk_token(int64_t user_id, unsigned char seed)
{
	gh_token_t t;
	memset(&t, 0, sizeof(t));
	t.user_id = user_id;
	for (int i = 0; i < 32; i++)
		t.hash[i] = (unsigned char)(seed + i * 37); /* includes 0x00 bytes for some seeds */
	t.hash[5] = 0;
	SET(t.prefix, "ghp_abcd");
	SET(t.note, "laptop");
	t.kind = GH_TOKEN_API;
	t.created_at = 1700000007000;
	t.expires_at = 1800000000000;
	t.last_used_at = 0;
	return t;
}

/* ---- collectors for the load callbacks ------------------------------------ */

#define MAXREC 32

typedef struct { int n; gh_user_t r[MAXREC]; } users_t;
typedef struct { int n; gh_group_t r[MAXREC]; } groups_t;
typedef struct { int n; gh_token_t r[MAXREC]; } tokens_t;
typedef struct { int n; gh_env_t r[4]; } envs_t;
typedef struct { int n; gh_session_t r[MAXREC]; } sessions_t;
typedef struct { int n; gh_alloc_t r[MAXREC]; } allocs_t;
typedef struct { int n; gh_event_t r[MAXREC]; } events_t;

#define COLLECTOR(fn, type, rtype, cap)                        \
	static int fn(void *ctx, const rtype *rec)             \
	{                                                       \
		type *c = ctx;                                  \
		assert_true(c->n < (cap));                      \
		c->r[c->n++] = *rec;                            \
		return 0;                                       \
	}

COLLECTOR(get_user, users_t, gh_user_t, MAXREC)
COLLECTOR(get_group, groups_t, gh_group_t, MAXREC)
COLLECTOR(get_token, tokens_t, gh_token_t, MAXREC)
COLLECTOR(get_env, envs_t, gh_env_t, 4)
COLLECTOR(get_session, sessions_t, gh_session_t, MAXREC)
COLLECTOR(get_alloc, allocs_t, gh_alloc_t, MAXREC)
COLLECTOR(get_event, events_t, gh_event_t, MAXREC)
typedef struct { int n; gh_snapshot_t r[4]; } snaps_t;
COLLECTOR(get_snap, snaps_t, gh_snapshot_t, 4)

static int count_sessions(gh_store_t *st)
{
	static sessions_t c;
	c.n = 0;
	assert_int_equal(store_session_load(st, get_session, &c), 0);
	return c.n;
}

static int count_allocs(gh_store_t *st)
{
	static allocs_t c;
	c.n = 0;
	assert_int_equal(store_alloc_load(st, get_alloc, &c), 0);
	return c.n;
}

static int count_events(gh_store_t *st, int64_t session_id)
{
	static events_t c;
	c.n = 0;
	assert_int_equal(store_event_list(st, session_id, 0, 0, get_event, &c), 0);
	return c.n;
}

static int count_users(gh_store_t *st)
{
	static users_t c;
	c.n = 0;
	assert_int_equal(store_user_load(st, get_user, &c), 0);
	return c.n;
}

static int64_t add_user(gh_store_t *st, const char *name)
{
	gh_user_t u = mk_user(name);
	assert_int_equal(store_user_put(st, &u), 0);
	assert_true(u.id > 0);
	return u.id;
}

static int64_t add_session(gh_store_t *st, int64_t user_id, const char *name)
{
	gh_session_t s = mk_session(user_id, name);
	assert_int_equal(store_session_put(st, &s), 0);
	assert_true(s.id > 0);
	return s.id;
}

/* ---- back-end table and opening ------------------------------------------- */

static void test_backend_table(void **state)
{
	const char *const *names = store_names();
	int found = 0, n = 0;

	(void)state;
	assert_non_null(store_find("sqlite"));
	assert_string_equal(store_find("sqlite")->name, "sqlite");
	assert_null(store_find("postgres"));
	assert_null(store_find("SQLITE"));
	assert_null(store_find(NULL));
	for (; names[n]; n++) {
		assert_non_null(store_find(names[n]));
		found |= strcmp(names[n], "sqlite") == 0;
	}
	assert_true(found);
	assert_int_equal(n, 1);
}

static void test_open_unknown_backend(void **state)
{
	gh_store_t *st = (gh_store_t *)&st; /* must come back NULL */
	char msg[256];

	(void)state;
	assert_int_equal(store_open(&st, "oracle", "/tmp/x.db", msg, sizeof(msg)), GH_ECONFIG);
	assert_null(st);
	assert_non_null(strstr(msg, "\"oracle\""));
	assert_non_null(strstr(msg, "sqlite"));
}

static void test_open_migrates_once(void **state)
{
	fx_t *fx = *state;
	sqlite3 *db;
	struct stat sb;
	int64_t uid;

	assert_true(store_sqlite_migration_count >= 1);
	for (int i = 0; i < store_sqlite_migration_count; i++)
		assert_int_equal(store_sqlite_migrations[i].version, i + 1);
	assert_int_equal(fx->st->ops->schema_version(fx->st), store_sqlite_migration_count);

	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), store_sqlite_migration_count);
	assert_int_equal(raw_int(db, "PRAGMA application_id"), STORE_SQLITE_APP_ID);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
	                         "name IN ('users','groups','tokens','environments','sessions',"
	                         "'allocations','events')"), 7);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
	                         "name IN ('tokens_hash','events_session')"), 2);
	sqlite3_close(db);

	/* The file holds secrets' hashes: owner only. */
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* Reopening applies nothing again and keeps the data. */
	uid = add_user(fx->st, "ada");
	fx_reopen(fx);
	fx_reopen(fx);
	assert_int_equal(fx->st->ops->schema_version(fx->st), store_sqlite_migration_count);
	assert_int_equal(raw_count(fx->path, "PRAGMA user_version"), store_sqlite_migration_count);
	assert_int_equal(count_users(fx->st), 1);
	assert_int_equal(add_user(fx->st, "bob"), uid + 1);
}

static void test_pragmas(void **state)
{
	fx_t *fx = *state;
	sqlite3 *db = raw_open(fx->path);
	sqlite3_stmt *stmt;

	/* WAL is recorded in the file; the others are per connection and show
	 * through behaviour (foreign keys: see the cascade tests). */
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	fx_t *fx = *state;
	gh_store_t *st = NULL;
	sqlite3 *db;
	char msg[512], want[32];

	store_close(fx->st);
	fx->st = NULL;
	db = raw_open(fx->path);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(&st, "sqlite", fx->path, msg, sizeof(msg)), GH_ESTORE);
	assert_null(st);
	assert_non_null(strstr(msg, "newer"));
	assert_non_null(strstr(msg, "99"));
	snprintf(want, sizeof(want), "%d", store_sqlite_migration_count);
	assert_non_null(strstr(msg, want));
	assert_non_null(strstr(msg, fx->path));
	/* Refusing wrote nothing. */
	assert_int_equal(raw_count(fx->path, "PRAGMA user_version"), 99);

	db = raw_open(fx->path);
	snprintf(want, sizeof(want), "PRAGMA user_version = %d", store_sqlite_migration_count);
	sqlite3_exec(db, want, NULL, NULL, NULL);
	sqlite3_close(db);
	fx_reopen(fx);
}

static void test_foreign_file_refused(void **state)
{
	fx_t *fx = *state;
	gh_store_t *st = NULL;
	char path[160], msg[512];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE photos (id INTEGER)", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(&st, "sqlite", path, msg, sizeof(msg)), GH_ESTORE);
	assert_null(st);
	assert_non_null(strstr(msg, "another program"));

	/* Not SQLite at all. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database, just text. ", f);
	fclose(f);
	assert_int_equal(store_open(&st, "sqlite", path, msg, sizeof(msg)), GH_ESTORE);
	assert_null(st);
	assert_non_null(strstr(msg, path));
	assert_non_null(strstr(msg, "not a database"));
}

static void test_bad_path(void **state)
{
	gh_store_t *st = NULL;
	char msg[512];

	(void)state;
	msg[0] = '\0';
	assert_true(store_open(&st, "sqlite", "/nonexistent-gh-dir/sub/state.db", msg,
	                       sizeof(msg)) < 0);
	assert_null(st);
	assert_non_null(strstr(msg, "/nonexistent-gh-dir/sub/state.db"));
	assert_non_null(strstr(msg, "No such file"));

	assert_true(store_open(&st, "sqlite", "/tmp", msg, sizeof(msg)) < 0);
	assert_null(st);
	assert_non_null(strstr(msg, "/tmp"));

	assert_int_equal(store_open(&st, "sqlite", "", msg, sizeof(msg)), GH_EINVAL);
	assert_null(st);
	assert_true(strlen(msg) > 0);
	assert_int_equal(store_open(&st, "sqlite", NULL, NULL, 0), GH_EINVAL);
	assert_null(st);
}

static void test_in_memory(void **state)
{
	gh_store_t *st = NULL;
	char msg[256];

	(void)state;
	assert_int_equal(store_open(&st, "sqlite", ":memory:", msg, sizeof(msg)), 0);
	add_user(st, "ada");
	assert_int_equal(count_users(st), 1);
	store_close(st);
	store_close(NULL);
}

/* ---- records -------------------------------------------------------------- */

static void test_user_roundtrip(void **state)
{
	fx_t *fx = *state;
	gh_user_t a = mk_user("ada"), b = mk_user("bob"), dup = mk_user("ada"), ghost;
	users_t got = {0};

	b.role = GH_ROLE_ADMIN;
	b.disabled = 1;
	SET(b.pw_hash, "");
	assert_int_equal(store_user_put(fx->st, &a), 0);
	assert_int_equal(store_user_put(fx->st, &b), 0);
	assert_true(a.id > 0 && b.id > a.id);

	assert_int_equal(store_user_put(fx->st, &dup), GH_EEXIST);
	assert_int_equal(dup.id, 0);

	assert_int_equal(store_user_load(fx->st, get_user, &got), 0);
	assert_int_equal(got.n, 2);
	assert_memory_equal(&got.r[0], &a, sizeof(a));
	assert_memory_equal(&got.r[1], &b, sizeof(b));

	/* Update every field but the id. */
	SET(a.display_name, "Ada Lovelace");
	SET(a.group, "");
	a.role = GH_ROLE_ADMIN;
	a.disabled = 1;
	a.created_at = 5;
	assert_int_equal(store_user_put(fx->st, &a), 0);
	/* Renaming onto another user's name clashes. */
	SET(b.name, "ada");
	assert_int_equal(store_user_put(fx->st, &b), GH_EEXIST);
	got.n = 0;
	assert_int_equal(store_user_load(fx->st, get_user, &got), 0);
	assert_memory_equal(&got.r[0], &a, sizeof(a));
	assert_string_equal(got.r[1].name, "bob");

	ghost = mk_user("ghost");
	ghost.id = 999;
	assert_int_equal(store_user_put(fx->st, &ghost), GH_ENOTFOUND);
	ghost.id = -1;
	assert_int_equal(store_user_put(fx->st, &ghost), GH_EINVAL);
	ghost.id = 0;
	ghost.role = (gh_role_t)7;
	assert_int_equal(store_user_put(fx->st, &ghost), GH_EINVAL);

	assert_int_equal(store_user_delete(fx->st, a.id), 0);
	assert_int_equal(store_user_delete(fx->st, a.id), GH_ENOTFOUND);
	assert_int_equal(store_user_delete(fx->st, 0), GH_ENOTFOUND);
	assert_int_equal(count_users(fx->st), 1);

	/* Ids are not reused after the highest row is deleted. */
	gh_user_t c = mk_user("cyd");
	assert_int_equal(store_user_delete(fx->st, b.id), 0);
	assert_int_equal(store_user_put(fx->st, &c), 0);
	assert_true(c.id > b.id);
}

static void test_text_bounds(void **state)
{
	fx_t *fx = *state;
	gh_user_t u = mk_user("ada");
	users_t got = {0};

	/* A full field, and one the caller forgot to terminate: both stored
	 * as at most size-1 characters. */
	memset(u.name, 'a', sizeof(u.name) - 1);
	u.name[sizeof(u.name) - 1] = '\0';
	memset(u.display_name, 'x', sizeof(u.display_name));
	assert_int_equal(store_user_put(fx->st, &u), 0);
	assert_int_equal(store_user_load(fx->st, get_user, &got), 0);
	assert_int_equal(strlen(got.r[0].name), sizeof(u.name) - 1);
	assert_int_equal(strlen(got.r[0].display_name), sizeof(u.display_name) - 1);
	assert_string_equal(got.r[0].email, "ada@lab.example");
}

static void test_group_roundtrip(void **state)
{
	fx_t *fx = *state;
	gh_group_t g, h, got_g;
	groups_t got = {0};

	memset(&g, 0, sizeof(g));
	SET(g.name, "vision");
	g.created_at = 11;
	h = g;
	assert_int_equal(store_group_put(fx->st, &g), 0);
	assert_int_equal(store_group_put(fx->st, &h), GH_EEXIST);
	SET(h.name, "nlp");
	SET(h.idle, "{\"full_idle_s\":900}");
	assert_int_equal(store_group_put(fx->st, &h), 0);

	SET(g.name, "robotics");
	assert_int_equal(store_group_put(fx->st, &g), 0);
	assert_int_equal(store_group_load(fx->st, get_group, &got), 0);
	assert_int_equal(got.n, 2);
	got_g = got.r[0];
	assert_memory_equal(&got_g, &g, sizeof(g));
	assert_memory_equal(&got.r[1], &h, sizeof(h));

	assert_int_equal(store_group_delete(fx->st, g.id), 0);
	assert_int_equal(store_group_delete(fx->st, g.id), GH_ENOTFOUND);
	g.id = 12345;
	assert_int_equal(store_group_put(fx->st, &g), GH_ENOTFOUND);
}

/* Snapshot records: every field back as written, state by name, updates,
 * deletes, and a user's go with the user (a session's do not). */
static void test_snapshot_roundtrip(void **state)
{
	fx_t *fx = *state;
	int64_t uid = add_user(fx->st, "ada"), other = add_user(fx->st, "bob");
	gh_snapshot_t a, b, orphan;
	static snaps_t got;

	memset(&a, 0, sizeof(a));
	a.user_id = uid;
	a.session_id = 42;
	strcpy(a.session_name, "thesis");
	strcpy(a.note, "before cleanup");
	a.state = GH_SNAP_CREATING;
	strcpy(a.home_paths, "[\"proj\"]");
	a.created_at = 1700000000000;
	b = a;
	b.user_id = other;
	b.session_id = 0;
	orphan = a;
	orphan.user_id = uid + 100;
	assert_int_equal(store_snapshot_put(fx->st, &a), 0);
	assert_int_equal(store_snapshot_put(fx->st, &b), 0);
	assert_true(a.id > 0 && b.id > a.id);
	assert_int_equal(store_snapshot_put(fx->st, &orphan), GH_ENOTFOUND);

	a.state = GH_SNAP_READY;
	strcpy(a.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	a.size_bytes = 123456789012LL;
	a.files = 7;
	a.ready_at = 1700000001000;
	assert_int_equal(store_snapshot_put(fx->st, &a), 0);
	got.n = 0;
	assert_int_equal(store_snapshot_load(fx->st, get_snap, &got), 0);
	assert_int_equal(got.n, 2);
	assert_memory_equal(&got.r[0], &a, sizeof(a));
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM snapshots WHERE state = 'ready'"), 1);

	assert_int_equal(store_user_delete(fx->st, uid), 0);
	got.n = 0;
	assert_int_equal(store_snapshot_load(fx->st, get_snap, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.r[0].id, b.id);
	assert_int_equal(store_snapshot_delete(fx->st, b.id), 0);
	assert_int_equal(store_snapshot_delete(fx->st, b.id), GH_ENOTFOUND);
}

static void test_token_roundtrip(void **state)
{
	fx_t *fx = *state;
	int64_t uid = add_user(fx->st, "ada"), other = add_user(fx->st, "bob");
	gh_token_t t = mk_token(uid, 1), login = mk_token(uid, 2), dup = mk_token(other, 1);
	gh_token_t orphan = mk_token(uid + 100, 3), bobs = mk_token(other, 4);
	tokens_t got = {0};

	login.kind = GH_TOKEN_LOGIN;
	login.expires_at = 0;
	assert_int_equal(store_token_put(fx->st, &t), 0);
	assert_int_equal(store_token_put(fx->st, &login), 0);
	assert_int_equal(store_token_put(fx->st, &bobs), 0);
	/* The same hash twice, even for another user, is refused. */
	assert_int_equal(store_token_put(fx->st, &dup), GH_EEXIST);
	/* A token for a user that does not exist. */
	assert_int_equal(store_token_put(fx->st, &orphan), GH_ENOTFOUND);

	assert_int_equal(store_token_load(fx->st, get_token, &got), 0);
	assert_int_equal(got.n, 3);
	assert_memory_equal(&got.r[0], &t, sizeof(t));
	assert_memory_equal(&got.r[1], &login, sizeof(login));
	assert_int_equal(got.r[0].hash[5], 0);

	t.last_used_at = 1700000009000;
	assert_int_equal(store_token_put(fx->st, &t), 0);
	got.n = 0;
	assert_int_equal(store_token_load(fx->st, get_token, &got), 0);
	assert_int_equal(got.r[0].last_used_at, 1700000009000);

	assert_int_equal(store_token_delete(fx->st, login.id), 0);
	assert_int_equal(store_token_delete(fx->st, login.id), GH_ENOTFOUND);

	/* Deleting the user deletes its tokens, and only its. */
	assert_int_equal(store_user_delete(fx->st, uid), 0);
	got.n = 0;
	assert_int_equal(store_token_load(fx->st, get_token, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.r[0].id, bobs.id);
}

static void test_env_roundtrip(void **state)
{
	fx_t *fx = *state;
	static gh_env_t e, f, bad;
	static envs_t got;
	size_t n;

	memset(&e, 0, sizeof(e));
	SET(e.name, "pytorch");
	/* A large spec: most of the buffer. */
	n = (size_t)snprintf(e.spec, sizeof(e.spec), "{\"image\":\"pytorch\",\"notes\":\"");
	memset(e.spec + n, 'p', sizeof(e.spec) - n - 4);
	strcpy(e.spec + sizeof(e.spec) - 4, "\"}");
	e.created_at = 1;
	e.updated_at = 2;
	assert_int_equal(store_env_put(fx->st, &e), 0);

	f = e;
	f.id = 0;
	assert_int_equal(store_env_put(fx->st, &f), GH_EEXIST);
	SET(f.name, "tensorflow");
	SET(f.spec, "{\"image\":\"tf\",\"gpu\":true}");
	assert_int_equal(store_env_put(fx->st, &f), 0);

	bad = f;
	bad.id = 0;
	SET(bad.name, "broken");
	SET(bad.spec, "{\"image\":");
	assert_int_equal(store_env_put(fx->st, &bad), GH_EINVAL);
	assert_int_equal(bad.id, 0);

	memset(&got, 0, sizeof(got));
	assert_int_equal(store_env_load(fx->st, get_env, &got), 0);
	assert_int_equal(got.n, 2);
	assert_memory_equal(&got.r[0], &e, sizeof(e));
	assert_memory_equal(&got.r[1], &f, sizeof(f));

	SET(e.spec, "{\"image\":\"pytorch:2\"}");
	e.updated_at = 3;
	assert_int_equal(store_env_put(fx->st, &e), 0);
	got.n = 0;
	assert_int_equal(store_env_load(fx->st, get_env, &got), 0);
	assert_string_equal(got.r[0].spec, "{\"image\":\"pytorch:2\"}");
	assert_int_equal(got.r[0].updated_at, 3);

	assert_int_equal(store_env_delete(fx->st, f.id), 0);
	assert_int_equal(store_env_delete(fx->st, f.id), GH_ENOTFOUND);
}

static void test_session_roundtrip(void **state)
{
	fx_t *fx = *state;
	int64_t ada = add_user(fx->st, "ada"), bob = add_user(fx->st, "bob");
	gh_session_t s = mk_session(ada, "train"), t = mk_session(ada, "train");
	gh_session_t u = mk_session(bob, "train"), orphan = mk_session(ada + 100, "x");
	static sessions_t got;

	assert_int_equal(store_session_put(fx->st, &s), 0);
	/* (user, name) is unique; the same name for another user is fine. */
	assert_int_equal(store_session_put(fx->st, &t), GH_EEXIST);
	assert_int_equal(store_session_put(fx->st, &u), 0);
	assert_int_equal(store_session_put(fx->st, &orphan), GH_ENOTFOUND);

	memset(&got, 0, sizeof(got));
	assert_int_equal(store_session_load(fx->st, get_session, &got), 0);
	assert_int_equal(got.n, 2);
	assert_memory_equal(&got.r[0], &s, sizeof(s));
	assert_memory_equal(&got.r[1], &u, sizeof(u));

	/* Every state survives the trip by name. */
	for (int i = 0; i < GH_SESS__COUNT; i++) {
		s.state = (gh_sess_state_t)i;
		s.updated_at = 1000 + i;
		assert_int_equal(store_session_put(fx->st, &s), 0);
		got.n = 0;
		assert_int_equal(store_session_load(fx->st, get_session, &got), 0);
		assert_memory_equal(&got.r[0], &s, sizeof(s));
	}
	s.state = GH_SESS__COUNT;
	assert_int_equal(store_session_put(fx->st, &s), GH_EINVAL);
	s.state = GH_SESS_STOPPED;

	/* The environment may be gone: env_id is a plain number. */
	s.env_id = 987654;
	assert_int_equal(store_session_put(fx->st, &s), 0);
	/* Renaming onto a taken name. */
	SET(u.name, "other");
	assert_int_equal(store_session_put(fx->st, &u), 0);
	u.user_id = ada;
	SET(u.name, "train");
	assert_int_equal(store_session_put(fx->st, &u), GH_EEXIST);

	assert_int_equal(store_session_delete(fx->st, s.id), 0);
	assert_int_equal(store_session_delete(fx->st, s.id), GH_ENOTFOUND);
	assert_int_equal(store_session_put(fx->st, &s), GH_ENOTFOUND);
	assert_int_equal(count_sessions(fx->st), 1);
}

static void test_alloc_roundtrip(void **state)
{
	fx_t *fx = *state;
	int64_t uid = add_user(fx->st, "ada");
	int64_t s1 = add_session(fx->st, uid, "one"), s2 = add_session(fx->st, uid, "two");
	gh_alloc_t a = mk_alloc(s1, 0, 1000), b = mk_alloc(s1, 1, 500), c = mk_alloc(s2, 2, 250);
	gh_alloc_t bad = mk_alloc(s1, 3, 0), orphan = mk_alloc(s2 + 100, 0, 100);
	allocs_t got = {0};

	assert_int_equal(store_alloc_put(fx->st, &a), 0);
	assert_int_equal(store_alloc_put(fx->st, &b), 0);
	assert_int_equal(store_alloc_put(fx->st, &c), 0);
	assert_int_equal(store_alloc_put(fx->st, &bad), GH_EINVAL);
	bad.milli = 1001;
	assert_int_equal(store_alloc_put(fx->st, &bad), GH_EINVAL);
	assert_int_equal(store_alloc_put(fx->st, &orphan), GH_ENOTFOUND);

	assert_int_equal(store_alloc_load(fx->st, get_alloc, &got), 0);
	assert_int_equal(got.n, 3);
	assert_memory_equal(&got.r[0], &a, sizeof(a));
	assert_memory_equal(&got.r[1], &b, sizeof(b));
	assert_memory_equal(&got.r[2], &c, sizeof(c));

	b.milli = 750;
	assert_int_equal(store_alloc_put(fx->st, &b), 0);
	got.n = 0;
	assert_int_equal(store_alloc_load(fx->st, get_alloc, &got), 0);
	assert_int_equal(got.r[1].milli, 750);

	/* Deleting a session's allocations leaves the others; none is fine. */
	assert_int_equal(store_alloc_delete_session(fx->st, s1), 0);
	assert_int_equal(store_alloc_delete_session(fx->st, s1), 0);
	got.n = 0;
	assert_int_equal(store_alloc_load(fx->st, get_alloc, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.r[0].id, c.id);
}

static void test_event_append(void **state)
{
	fx_t *fx = *state;
	gh_event_t a = mk_event(0, "user.created"), b = mk_event(3, "session.queued");
	events_t got = {0};

	assert_int_equal(store_event_last_id(fx->st), 0);
	a.state = GH_SESS_QUEUED;
	a.percent = -1;
	SET(a.data, "");
	assert_int_equal(store_event_append(fx->st, &a), 0);
	assert_int_equal(store_event_append(fx->st, &b), 0);
	assert_true(a.id > 0 && b.id == a.id + 1);
	assert_int_equal(store_event_last_id(fx->st), b.id);

	/* Append-only: an event with an id is refused. */
	assert_int_equal(store_event_append(fx->st, &b), GH_EINVAL);

	assert_int_equal(store_event_list(fx->st, 0, 0, 0, get_event, &got), 0);
	assert_int_equal(got.n, 2);
	assert_memory_equal(&got.r[0], &a, sizeof(a));
	assert_memory_equal(&got.r[1], &b, sizeof(b));
}

static void test_event_list_filters(void **state)
{
	fx_t *fx = *state;
	int64_t ids[12];
	events_t got;

	/* Sessions 1, 2, 3, 1, 2, 3, ... (ids need not exist: no FK). */
	for (int i = 0; i < 12; i++) {
		gh_event_t ev = mk_event(i % 3 + 1, "session.progress");
		ev.percent = i;
		assert_int_equal(store_event_append(fx->st, &ev), 0);
		ids[i] = ev.id;
	}

	memset(&got, 0, sizeof(got));
	assert_int_equal(store_event_list(fx->st, 0, 0, 0, get_event, &got), 0);
	assert_int_equal(got.n, 12);
	for (int i = 0; i < 12; i++)
		assert_int_equal(got.r[i].id, ids[i]);

	/* One session, oldest first. */
	got.n = 0;
	assert_int_equal(store_event_list(fx->st, 2, 0, 0, get_event, &got), 0);
	assert_int_equal(got.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(got.r[i].session_id, 2);
		assert_int_equal(got.r[i].id, ids[1 + 3 * i]);
	}

	/* after_id is exclusive. */
	got.n = 0;
	assert_int_equal(store_event_list(fx->st, 0, ids[8], 0, get_event, &got), 0);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.r[0].id, ids[9]);

	got.n = 0;
	assert_int_equal(store_event_list(fx->st, 2, ids[4], 0, get_event, &got), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.r[0].id, ids[7]);
	assert_int_equal(got.r[1].id, ids[10]);

	/* limit, and paging with it. */
	got.n = 0;
	assert_int_equal(store_event_list(fx->st, 0, 0, 5, get_event, &got), 0);
	assert_int_equal(got.n, 5);
	assert_int_equal(got.r[4].id, ids[4]);
	got.n = 0;
	assert_int_equal(store_event_list(fx->st, 0, ids[4], 5, get_event, &got), 0);
	assert_int_equal(got.n, 5);
	assert_int_equal(got.r[0].id, ids[5]);
	got.n = 0;
	assert_int_equal(store_event_list(fx->st, 3, ids[2], 1, get_event, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.r[0].id, ids[5]);

	/* Nothing past the end, nothing for an unknown session. */
	got.n = 0;
	assert_int_equal(store_event_list(fx->st, 0, ids[11], 0, get_event, &got), 0);
	assert_int_equal(store_event_list(fx->st, 99, 0, 0, get_event, &got), 0);
	assert_int_equal(got.n, 0);

	assert_int_equal(store_event_list(fx->st, 0, 0, -1, get_event, &got), GH_EINVAL);
	assert_int_equal(store_event_list(fx->st, -2, 0, 0, get_event, &got), GH_EINVAL);
	assert_int_equal(store_event_list(fx->st, 0, 0, 0, NULL, NULL), GH_EINVAL);
}

/* ---- deletes that cascade ------------------------------------------------- */

static void test_session_delete_cascades(void **state)
{
	fx_t *fx = *state;
	int64_t uid = add_user(fx->st, "ada");
	int64_t s1 = add_session(fx->st, uid, "one"), s2 = add_session(fx->st, uid, "two");
	gh_alloc_t a = mk_alloc(s1, 0, 1000), b = mk_alloc(s1, 1, 1000), c = mk_alloc(s2, 2, 500);
	static events_t got;

	assert_int_equal(store_alloc_put(fx->st, &a), 0);
	assert_int_equal(store_alloc_put(fx->st, &b), 0);
	assert_int_equal(store_alloc_put(fx->st, &c), 0);
	for (int i = 0; i < 3; i++) {
		gh_event_t ev = mk_event(s1, "session.running");
		assert_int_equal(store_event_append(fx->st, &ev), 0);
	}

	assert_int_equal(store_session_delete(fx->st, s1), 0);
	assert_int_equal(count_sessions(fx->st), 1);
	assert_int_equal(count_allocs(fx->st), 1);
	/* The audit trail stays, still naming the deleted session. */
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_event_list(fx->st, s1, 0, 0, get_event, &got), 0);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.r[0].session_id, s1);

	/* A new session never takes the deleted one's id. */
	assert_true(add_session(fx->st, uid, "one") > s2);
}

static void test_user_delete_cascades(void **state)
{
	fx_t *fx = *state;
	int64_t ada = add_user(fx->st, "ada"), bob = add_user(fx->st, "bob");
	int64_t s1 = add_session(fx->st, ada, "one"), s2 = add_session(fx->st, bob, "one");
	gh_alloc_t a = mk_alloc(s1, 0, 1000), b = mk_alloc(s2, 1, 1000);
	gh_token_t t = mk_token(ada, 9);
	gh_event_t ev = mk_event(s1, "session.stopped");

	ev.user_id = ada;
	assert_int_equal(store_alloc_put(fx->st, &a), 0);
	assert_int_equal(store_alloc_put(fx->st, &b), 0);
	assert_int_equal(store_token_put(fx->st, &t), 0);
	assert_int_equal(store_event_append(fx->st, &ev), 0);

	assert_int_equal(store_user_delete(fx->st, ada), 0);
	assert_int_equal(count_users(fx->st), 1);
	assert_int_equal(count_sessions(fx->st), 1);
	assert_int_equal(count_allocs(fx->st), 1);
	assert_int_equal(count_events(fx->st, s1), 1);
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM tokens"), 0);
}

/* ---- transactions --------------------------------------------------------- */

static void test_rollback_discards(void **state)
{
	fx_t *fx = *state;
	int64_t uid = add_user(fx->st, "ada"), last;
	gh_event_t before = mk_event(0, "user.created");
	gh_session_t s = mk_session(uid, "train");
	gh_alloc_t a;
	gh_event_t ev;

	assert_int_equal(store_event_append(fx->st, &before), 0);
	last = store_event_last_id(fx->st);

	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_session_put(fx->st, &s), 0);
	a = mk_alloc(s.id, 0, 1000);
	assert_int_equal(store_alloc_put(fx->st, &a), 0);
	ev = mk_event(s.id, "session.starting");
	assert_int_equal(store_event_append(fx->st, &ev), 0);
	/* Inside the transaction its own writes are visible... */
	assert_int_equal(count_sessions(fx->st), 1);
	assert_int_equal(store_event_last_id(fx->st), ev.id);
	/* ...and not to anyone else. */
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM sessions"), 0);
	assert_int_equal(store_rollback(fx->st), 0);

	assert_int_equal(count_sessions(fx->st), 0);
	assert_int_equal(count_allocs(fx->st), 0);
	assert_int_equal(count_events(fx->st, s.id), 0);
	assert_int_equal(store_event_last_id(fx->st), last);
	fx_reopen(fx);
	assert_int_equal(count_sessions(fx->st), 0);
	assert_int_equal(store_event_last_id(fx->st), last);
}

static void test_commit_lands_together(void **state)
{
	fx_t *fx = *state;
	int64_t uid = add_user(fx->st, "ada");
	gh_session_t s = mk_session(uid, "train");
	gh_alloc_t a;
	gh_event_t ev;

	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_session_put(fx->st, &s), 0);
	a = mk_alloc(s.id, 0, 1000);
	assert_int_equal(store_alloc_put(fx->st, &a), 0);
	ev = mk_event(s.id, "session.starting");
	assert_int_equal(store_event_append(fx->st, &ev), 0);
	assert_int_equal(store_commit(fx->st), 0);

	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM allocations"), 1);
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM events"), 1);

	/* A write outside begin is its own transaction: visible at once. */
	add_user(fx->st, "bob");
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM users"), 2);
}

static void test_nested_transactions(void **state)
{
	fx_t *fx = *state;

	assert_int_equal(store_commit(fx->st), GH_ESTATE);
	assert_int_equal(store_rollback(fx->st), GH_ESTATE);

	/* Inner rollback discards only the inner work. */
	assert_int_equal(store_begin(fx->st), 0);
	add_user(fx->st, "outer");
	assert_int_equal(store_begin(fx->st), 0);
	add_user(fx->st, "inner");
	assert_int_equal(count_users(fx->st), 2);
	assert_int_equal(store_rollback(fx->st), 0);
	assert_int_equal(count_users(fx->st), 1);
	add_user(fx->st, "after");
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM users"), 2);
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM users WHERE name = 'inner'"), 0);

	/* Inner commit folds into the outer one, which can still roll back. */
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_begin(fx->st), 0);
	add_user(fx->st, "deep");
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM users"), 2);
	assert_int_equal(store_rollback(fx->st), 0);
	assert_int_equal(count_users(fx->st), 2);

	/* Balanced again: a stray commit is refused. */
	assert_int_equal(store_commit(fx->st), GH_ESTATE);
}

static void test_failed_write_keeps_transaction(void **state)
{
	fx_t *fx = *state;
	gh_user_t dup = mk_user("ada");

	assert_int_equal(store_begin(fx->st), 0);
	add_user(fx->st, "ada");
	assert_int_equal(store_user_put(fx->st, &dup), GH_EEXIST);
	add_user(fx->st, "bob");
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(raw_count(fx->path, "SELECT count(*) FROM users"), 2);
}

static void test_close_inside_transaction(void **state)
{
	fx_t *fx = *state;

	add_user(fx->st, "ada");
	assert_int_equal(store_begin(fx->st), 0);
	add_user(fx->st, "bob");
	fx_reopen(fx); /* closes with the transaction open: rolled back */
	assert_int_equal(count_users(fx->st), 1);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

/* ---- loading ------------------------------------------------------------- */

typedef struct {
	int calls;
	int stop_at;
} stop_t;

static int stop_cb(void *ctx, const gh_user_t *u)
{
	stop_t *s = ctx;
	(void)u;
	return ++s->calls == s->stop_at ? 7 : 0;
}

typedef struct {
	gh_store_t *st;
	int outer, inner;
} nest_t;

static int inner_cb(void *ctx, const gh_user_t *u)
{
	nest_t *n = ctx;
	(void)u;
	n->inner++;
	return 0;
}

static int outer_cb(void *ctx, const gh_user_t *u)
{
	nest_t *n = ctx;
	gh_event_t ev = mk_event(0, "user.loaded");

	n->outer++;
	ev.user_id = u->id;
	/* Loading the same table again and writing from inside a load. */
	assert_int_equal(store_user_load(n->st, inner_cb, n), 0);
	assert_int_equal(store_event_append(n->st, &ev), 0);
	return 0;
}

static void test_load_stops_and_nests(void **state)
{
	fx_t *fx = *state;
	stop_t stop = {0, 2};
	nest_t nest = {fx->st, 0, 0};

	add_user(fx->st, "a");
	add_user(fx->st, "b");
	add_user(fx->st, "c");
	assert_int_equal(store_user_load(fx->st, stop_cb, &stop), 7);
	assert_int_equal(stop.calls, 2);
	/* The stopped load left nothing behind. */
	stop = (stop_t){0, 0};
	assert_int_equal(store_user_load(fx->st, stop_cb, &stop), 0);
	assert_int_equal(stop.calls, 3);

	assert_int_equal(store_user_load(fx->st, outer_cb, &nest), 0);
	assert_int_equal(nest.outer, 3);
	assert_int_equal(nest.inner, 9);
	assert_int_equal(count_events(fx->st, 0), 3);
	assert_int_equal(store_user_load(fx->st, NULL, NULL), GH_EINVAL);
}

static void test_reopen_keeps_everything(void **state)
{
	fx_t *fx = *state;
	int64_t uid = add_user(fx->st, "ada");
	int64_t sid = add_session(fx->st, uid, "train");
	gh_group_t g;
	gh_token_t t = mk_token(uid, 5);
	gh_env_t *e = calloc(1, sizeof(*e));
	gh_alloc_t a = mk_alloc(sid, 1, 250);
	gh_event_t ev = mk_event(sid, "session.running");
	static users_t u1, u2;
	static groups_t g1;
	static tokens_t t1;
	static envs_t e1;
	static sessions_t s1, s2;
	static allocs_t a1;
	static events_t v1;

	memset(&g, 0, sizeof(g));
	SET(g.name, "vision");
	assert_non_null(e);
	SET(e->name, "pytorch");
	SET(e->spec, "{}");
	assert_int_equal(store_group_put(fx->st, &g), 0);
	assert_int_equal(store_token_put(fx->st, &t), 0);
	assert_int_equal(store_env_put(fx->st, e), 0);
	assert_int_equal(store_alloc_put(fx->st, &a), 0);
	assert_int_equal(store_event_append(fx->st, &ev), 0);
	memset(&u1, 0, sizeof(u1));
	memset(&s1, 0, sizeof(s1));
	assert_int_equal(store_user_load(fx->st, get_user, &u1), 0);
	assert_int_equal(store_session_load(fx->st, get_session, &s1), 0);

	fx_reopen(fx);
	memset(&u2, 0, sizeof(u2));
	memset(&s2, 0, sizeof(s2));
	memset(&g1, 0, sizeof(g1));
	memset(&t1, 0, sizeof(t1));
	memset(&e1, 0, sizeof(e1));
	memset(&a1, 0, sizeof(a1));
	memset(&v1, 0, sizeof(v1));
	assert_int_equal(store_user_load(fx->st, get_user, &u2), 0);
	assert_int_equal(store_session_load(fx->st, get_session, &s2), 0);
	assert_int_equal(store_group_load(fx->st, get_group, &g1), 0);
	assert_int_equal(store_token_load(fx->st, get_token, &t1), 0);
	assert_int_equal(store_env_load(fx->st, get_env, &e1), 0);
	assert_int_equal(store_alloc_load(fx->st, get_alloc, &a1), 0);
	assert_int_equal(store_event_list(fx->st, 0, 0, 0, get_event, &v1), 0);

	assert_memory_equal(&u1, &u2, sizeof(u1));
	assert_memory_equal(&s1, &s2, sizeof(s1));
	assert_int_equal(g1.n, 1);
	assert_memory_equal(&g1.r[0], &g, sizeof(g));
	assert_int_equal(t1.n, 1);
	assert_memory_equal(&t1.r[0], &t, sizeof(t));
	assert_int_equal(e1.n, 1);
	assert_memory_equal(&e1.r[0], e, sizeof(*e));
	assert_int_equal(a1.n, 1);
	assert_memory_equal(&a1.r[0], &a, sizeof(a));
	assert_int_equal(v1.n, 1);
	assert_memory_equal(&v1.r[0], &ev, sizeof(ev));
	assert_int_equal(store_event_last_id(fx->st), ev.id);
	free(e);
}

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

static void append_big_events(gh_store_t *st, int n)
{
	for (int i = 0; i < n; i++) {
		gh_event_t ev = mk_event(i % 50 + 1, "session.progress");
		memset(ev.data, 0, sizeof(ev.data));
		memset(ev.data, 'x', 900 + i % 100);
		assert_int_equal(store_event_append(st, &ev), 0);
	}
}

/* Polls for the database file (not its log) to reach min bytes. */
static int db_grows_to(const char *path, off_t min)
{
	for (int i = 0; i < 300; i++) {
		if (file_size(path) >= min)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* The -wal header's checkpoint sequence number (big-endian, offset 12):
 * it goes up each time the log starts over from its beginning. */
static uint32_t wal_restarts(const char *db_path)
{
	unsigned char h[16];
	char wal[160];
	FILE *f;

	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	f = fopen(wal, "rb");
	assert_non_null(f);
	assert_int_equal(fread(h, 1, sizeof(h), f), sizeof(h));
	fclose(f);
	return (uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 | (uint32_t)h[14] << 8 | h[15];
}

static void test_checkpoints(void **state)
{
	fx_t *fx = *state;
	uint32_t before;

	/* ~2,400 pages of log (about 3 a commit): past the point where the
	 * checkpoint thread is woken, short of where the writer would step
	 * in, so only the thread can move them into the database file. */
	append_big_events(fx->st, 800);
	assert_true(db_grows_to(fx->path, 700 << 10));

	/* ~17,000 pages in one unbroken run: the thread alone never catches
	 * up with it, so the log must be started over along the way (more
	 * than once: the first commit may restart it, the thread being idle). */
	before = wal_restarts(fx->path);
	append_big_events(fx->st, 5000);
	assert_true(wal_restarts(fx->path) >= before + 2);
	assert_true(db_grows_to(fx->path, 5 << 20));
	fx_reopen(fx);
	assert_int_equal(store_event_last_id(fx->st), 5800);
}

static void test_unreadable_row(void **state)
{
	fx_t *fx = *state;
	int64_t uid = add_user(fx->st, "ada");
	sqlite3 *db;

	add_session(fx->st, uid, "train");
	/* A state name this binary does not know (a hand edit, or a file
	 * written by a newer gpuhub without a schema bump) fails the load. */
	db = raw_open(fx->path);
	assert_int_equal(sqlite3_exec(db, "UPDATE sessions SET state = 'hibernating'", NULL, NULL,
	                              NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_session_load(fx->st, get_session, &(sessions_t){0}), GH_ESTORE);
	/* Strict tables refuse a wrong type outright. */
	db = raw_open(fx->path);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE users SET created_at = 'yesterday'", NULL, NULL,
	                                  NULL), SQLITE_OK);
	sqlite3_close(db);
}

#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_table),
		cmocka_unit_test(test_open_unknown_backend),
		FX(test_open_migrates_once),
		FX(test_pragmas),
		FX(test_newer_schema_refused),
		FX(test_foreign_file_refused),
		cmocka_unit_test(test_bad_path),
		cmocka_unit_test(test_in_memory),
		FX(test_user_roundtrip),
		FX(test_text_bounds),
		FX(test_group_roundtrip),
		FX(test_token_roundtrip),
		FX(test_snapshot_roundtrip),
		FX(test_env_roundtrip),
		FX(test_session_roundtrip),
		FX(test_alloc_roundtrip),
		FX(test_event_append),
		FX(test_event_list_filters),
		FX(test_session_delete_cascades),
		FX(test_user_delete_cascades),
		FX(test_rollback_discards),
		FX(test_commit_lands_together),
		FX(test_nested_transactions),
		FX(test_failed_write_keeps_transaction),
		FX(test_close_inside_transaction),
		FX(test_load_stops_and_nests),
		FX(test_reopen_keeps_everything),
		FX(test_unreadable_row),
		FX(test_checkpoints),
	};

	gh_log_setup(GH_LOG_TEXT, GH_LOG_WARN);
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
