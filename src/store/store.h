/*
 * store.h — the state store: durable records behind the hub.
 *
 * The hub keeps the live model in memory and writes through the store; on
 * start it loads every record back with the *_load callbacks. A store is
 * chosen by name ("sqlite" now, "postgres" later) from one static table of
 * ops; core code calls the store_* wrappers and never a back end directly.
 *
 * Transactions: every state transition is one store_begin() ... commit()
 * (or rollback()) so that, e.g., "session stopped + its allocations gone +
 * the event" land together or not at all. Writes outside begin/commit are
 * each their own transaction.
 *
 * Ownership: records passed in are copied by the back end; records passed
 * to a load callback live only for the duration of that call.
 *
 * Schema: numbered migrations (see the back end). store_open() applies the
 * ones the file lacks, each in its own transaction, and refuses a file
 * whose schema is newer than this binary knows (GH_ESTORE with a message).
 */
#ifndef GH_STORE_H
#define GH_STORE_H

#include <stddef.h>

#include "common/model.h"

typedef struct gh_store gh_store_t;

/* Called once per record while loading; a non-zero return stops the load
 * and is returned by the load function. */
typedef int (*store_user_cb)(void *ctx, const gh_user_t *u);
typedef int (*store_group_cb)(void *ctx, const gh_group_t *g);
typedef int (*store_token_cb)(void *ctx, const gh_token_t *t);
typedef int (*store_env_cb)(void *ctx, const gh_env_t *e);
typedef int (*store_session_cb)(void *ctx, const gh_session_t *s);
typedef int (*store_alloc_cb)(void *ctx, const gh_alloc_t *a);
typedef int (*store_event_cb)(void *ctx, const gh_event_t *ev);
typedef int (*store_snapshot_cb)(void *ctx, const gh_snapshot_t *sn);

/* One row of usage: what was held on one UTC day by one (user, group,
 * environment, GPU model). In a query answer the dimensions not grouped
 * by are "". See src/monitor/usage.h for the units. */
typedef struct {
	char day[11];                    /* "YYYY-MM-DD" (UTC) */
	char user[GH_NAME_MAX];
	char group[GH_NAME_MAX];         /* the user's group when it was accrued, "" = none */
	char env[GH_NAME_MAX];
	char model[GH_MODEL_MAX];        /* "" = the session held no GPU */
	int64_t gpu_milli_ms;            /* milli-GPUs × milliseconds */
	int64_t session_ms;              /* milliseconds sessions held their allocation */
} gh_usage_row_t;

typedef int (*store_usage_cb)(void *ctx, const gh_usage_row_t *row);
/* A session's accrual mark: usage is booked up to `until` (Unix ms). */
typedef int (*store_usage_mark_cb)(void *ctx, int64_t session_id, int64_t until);

typedef struct store_ops {
	const char *name;
	/* uri: for sqlite a file path. *out is NULL on failure; errmsg (may be
	 * NULL) receives a sentence saying what went wrong. */
	int (*open)(gh_store_t **out, const char *uri, char *errmsg, size_t errlen);
	void (*close)(gh_store_t *st);
	int (*schema_version)(gh_store_t *st);

	int (*begin)(gh_store_t *st);
	int (*commit)(gh_store_t *st);
	int (*rollback)(gh_store_t *st);

	/* *_put: id == 0 inserts and sets ->id; otherwise updates that row
	 * (GH_ENOTFOUND if absent). Unique-name clashes give GH_EEXIST. */
	int (*user_put)(gh_store_t *st, gh_user_t *u);
	int (*user_delete)(gh_store_t *st, int64_t id);
	int (*user_load)(gh_store_t *st, store_user_cb cb, void *ctx);

	int (*group_put)(gh_store_t *st, gh_group_t *g);
	int (*group_delete)(gh_store_t *st, int64_t id);
	int (*group_load)(gh_store_t *st, store_group_cb cb, void *ctx);

	int (*token_put)(gh_store_t *st, gh_token_t *t);
	int (*token_delete)(gh_store_t *st, int64_t id);
	int (*token_load)(gh_store_t *st, store_token_cb cb, void *ctx);

	int (*env_put)(gh_store_t *st, gh_env_t *e);
	int (*env_delete)(gh_store_t *st, int64_t id);
	int (*env_load)(gh_store_t *st, store_env_cb cb, void *ctx);

	/* Deleting a session deletes its allocations; its events stay, with
	 * session_id kept as a plain number (audit trail). */
	int (*session_put)(gh_store_t *st, gh_session_t *s);
	int (*session_delete)(gh_store_t *st, int64_t id);
	int (*session_load)(gh_store_t *st, store_session_cb cb, void *ctx);

	int (*alloc_put)(gh_store_t *st, gh_alloc_t *a);
	int (*alloc_delete_session)(gh_store_t *st, int64_t session_id);
	int (*alloc_load)(gh_store_t *st, store_alloc_cb cb, void *ctx);

	/* Events are append-only. ev->id is set. */
	int (*event_append)(gh_store_t *st, gh_event_t *ev);
	/* Events with id > after_id, oldest first, at most limit (0 = all);
	 * session_id 0 = all sessions. */
	int (*event_list)(gh_store_t *st, int64_t session_id, int64_t after_id, int limit,
	                  store_event_cb cb, void *ctx);
	/* Highest event id so far (0 if none). */
	int64_t (*event_last_id)(gh_store_t *st);

	/* Snapshot records (the archives themselves are files). */
	int (*snapshot_put)(gh_store_t *st, gh_snapshot_t *sn);
	int (*snapshot_delete)(gh_store_t *st, int64_t id);
	int (*snapshot_load)(gh_store_t *st, store_snapshot_cb cb, void *ctx);
	/* Usage accounting (src/monitor/usage.h, docs/usage.md). usage_add
	 * adds row's two counters to the row with the same day and
	 * dimensions, creating it at zero first. */
	int (*usage_add)(gh_store_t *st, const gh_usage_row_t *row);
	/* Sums of the rows with from_day <= day <= to_day ("YYYY-MM-DD"),
	 * of user only unless user is "", grouped by the USAGE_BY_* bits of
	 * by (0 = one total), ordered by the grouped dimensions. */
	int (*usage_query)(gh_store_t *st, const char *from_day, const char *to_day, const char *user,
	                   unsigned by, store_usage_cb cb, void *ctx);
	/* Deletes the rows of days before before_day. */
	int (*usage_prune)(gh_store_t *st, const char *before_day);
	/* One mark per session that holds an allocation; it goes with the
	 * session (ON DELETE CASCADE). put inserts or moves it. */
	int (*usage_mark_put)(gh_store_t *st, int64_t session_id, int64_t until);
	int (*usage_mark_delete)(gh_store_t *st, int64_t session_id);
	int (*usage_mark_load)(gh_store_t *st, store_usage_mark_cb cb, void *ctx);
} store_ops_t;

struct gh_store {
	const store_ops_t *ops;          /* set by the back end's open */
};

/* Back end by name; NULL if unknown. */
const store_ops_t *store_find(const char *name);
/* Names of all back ends, NULL-terminated. */
const char *const *store_names(void);

/* Opens back end `name` at `uri`. */
int store_open(gh_store_t **out, const char *name, const char *uri, char *errmsg, size_t errlen);
void store_close(gh_store_t *st);

/* Wrappers: each calls st->ops->fn(st, ...). */
int store_begin(gh_store_t *st);
int store_commit(gh_store_t *st);
int store_rollback(gh_store_t *st);
int store_user_put(gh_store_t *st, gh_user_t *u);
int store_user_delete(gh_store_t *st, int64_t id);
int store_user_load(gh_store_t *st, store_user_cb cb, void *ctx);
int store_group_put(gh_store_t *st, gh_group_t *g);
int store_group_delete(gh_store_t *st, int64_t id);
int store_group_load(gh_store_t *st, store_group_cb cb, void *ctx);
int store_token_put(gh_store_t *st, gh_token_t *t);
int store_token_delete(gh_store_t *st, int64_t id);
int store_token_load(gh_store_t *st, store_token_cb cb, void *ctx);
int store_env_put(gh_store_t *st, gh_env_t *e);
int store_env_delete(gh_store_t *st, int64_t id);
int store_env_load(gh_store_t *st, store_env_cb cb, void *ctx);
int store_session_put(gh_store_t *st, gh_session_t *s);
int store_session_delete(gh_store_t *st, int64_t id);
int store_session_load(gh_store_t *st, store_session_cb cb, void *ctx);
int store_alloc_put(gh_store_t *st, gh_alloc_t *a);
int store_alloc_delete_session(gh_store_t *st, int64_t session_id);
int store_alloc_load(gh_store_t *st, store_alloc_cb cb, void *ctx);
int store_event_append(gh_store_t *st, gh_event_t *ev);
int store_event_list(gh_store_t *st, int64_t session_id, int64_t after_id, int limit,
                     store_event_cb cb, void *ctx);
int64_t store_event_last_id(gh_store_t *st);
int store_snapshot_put(gh_store_t *st, gh_snapshot_t *sn);
int store_snapshot_delete(gh_store_t *st, int64_t id);
int store_snapshot_load(gh_store_t *st, store_snapshot_cb cb, void *ctx);
int store_usage_add(gh_store_t *st, const gh_usage_row_t *row);
int store_usage_query(gh_store_t *st, const char *from_day, const char *to_day, const char *user, unsigned by,
                      store_usage_cb cb, void *ctx);
int store_usage_prune(gh_store_t *st, const char *before_day);
int store_usage_mark_put(gh_store_t *st, int64_t session_id, int64_t until);
int store_usage_mark_delete(gh_store_t *st, int64_t session_id);
int store_usage_mark_load(gh_store_t *st, store_usage_mark_cb cb, void *ctx);

#endif
