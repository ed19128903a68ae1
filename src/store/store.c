/*
 * store.c — the table of state store back ends and the generic wrappers.
 *
 * Core code names a store by a config string ("sqlite") and then only ever
 * calls store_*(); each wrapper forwards to the back end's ops table that
 * the back end's open placed at the head of the handle. Keeping the table
 * here, in one static array, means adding a back end (PostgreSQL) is one
 * new folder plus one line below, and back ends never see each other.
 */
#include <stddef.h> /* store.h uses size_t without including it */

#include "store/store.h"
#include "common/err.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* Defined by each back end under src/store/<name>/. */
extern const store_ops_t store_sqlite_ops;

static const store_ops_t *const backends[] = {
	&store_sqlite_ops,
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

/* The same names, in the same order, for store_names(); checked there. */
static const char *const backend_names[NBACKENDS + 1] = {
	"sqlite",
	NULL,
};

const store_ops_t *store_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NBACKENDS; i++) {
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	}
	return NULL;
}

const char *const *store_names(void)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		assert(strcmp(backend_names[i], backends[i]->name) == 0);
	return backend_names;
}

/* "sqlite, postgres" into buf, for messages about an unknown name. */
static void names_join(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NBACKENDS && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", backends[i]->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int store_open(gh_store_t **out, const char *name, const char *uri, char *errmsg, size_t errlen)
{
	const store_ops_t *ops;
	char known[128];
	int rc;

	assert(out);
	*out = NULL;
	if (errmsg && errlen)
		errmsg[0] = '\0';

	ops = store_find(name);
	if (!ops) {
		names_join(known, sizeof(known));
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "unknown state store \"%s\" (known: %s)",
			         name ? name : "", known);
		return GH_ECONFIG;
	}
	rc = ops->open(out, uri, errmsg, errlen);
	if (rc != 0) {
		assert(*out == NULL);
		return rc;
	}
	assert(*out && (*out)->ops == ops);
	return 0;
}

void store_close(gh_store_t *st)
{
	if (st)
		st->ops->close(st);
}

int store_begin(gh_store_t *st) { return st->ops->begin(st); }
int store_commit(gh_store_t *st) { return st->ops->commit(st); }
int store_rollback(gh_store_t *st) { return st->ops->rollback(st); }

int store_user_put(gh_store_t *st, gh_user_t *u) { return st->ops->user_put(st, u); }
int store_user_delete(gh_store_t *st, int64_t id) { return st->ops->user_delete(st, id); }
int store_user_load(gh_store_t *st, store_user_cb cb, void *ctx)
{
	return st->ops->user_load(st, cb, ctx);
}

int store_group_put(gh_store_t *st, gh_group_t *g) { return st->ops->group_put(st, g); }
int store_group_delete(gh_store_t *st, int64_t id) { return st->ops->group_delete(st, id); }
int store_group_load(gh_store_t *st, store_group_cb cb, void *ctx)
{
	return st->ops->group_load(st, cb, ctx);
}

int store_token_put(gh_store_t *st, gh_token_t *t) { return st->ops->token_put(st, t); }
int store_token_delete(gh_store_t *st, int64_t id) { return st->ops->token_delete(st, id); }
int store_token_load(gh_store_t *st, store_token_cb cb, void *ctx)
{
	return st->ops->token_load(st, cb, ctx);
}

int store_env_put(gh_store_t *st, gh_env_t *e) { return st->ops->env_put(st, e); }
int store_env_delete(gh_store_t *st, int64_t id) { return st->ops->env_delete(st, id); }
int store_env_load(gh_store_t *st, store_env_cb cb, void *ctx)
{
	return st->ops->env_load(st, cb, ctx);
}

int store_session_put(gh_store_t *st, gh_session_t *s) { return st->ops->session_put(st, s); }
int store_session_delete(gh_store_t *st, int64_t id) { return st->ops->session_delete(st, id); }
int store_session_load(gh_store_t *st, store_session_cb cb, void *ctx)
{
	return st->ops->session_load(st, cb, ctx);
}

int store_alloc_put(gh_store_t *st, gh_alloc_t *a) { return st->ops->alloc_put(st, a); }
int store_alloc_delete_session(gh_store_t *st, int64_t session_id)
{
	return st->ops->alloc_delete_session(st, session_id);
}
int store_alloc_load(gh_store_t *st, store_alloc_cb cb, void *ctx)
{
	return st->ops->alloc_load(st, cb, ctx);
}

int store_event_append(gh_store_t *st, gh_event_t *ev) { return st->ops->event_append(st, ev); }
int store_event_list(gh_store_t *st, int64_t session_id, int64_t after_id, int limit,
                     store_event_cb cb, void *ctx)
{
	return st->ops->event_list(st, session_id, after_id, limit, cb, ctx);
}
int64_t store_event_last_id(gh_store_t *st) { return st->ops->event_last_id(st); }

int store_snapshot_put(gh_store_t *st, gh_snapshot_t *sn) { return st->ops->snapshot_put(st, sn); }
int store_snapshot_delete(gh_store_t *st, int64_t id) { return st->ops->snapshot_delete(st, id); }
int store_snapshot_load(gh_store_t *st, store_snapshot_cb cb, void *ctx)
{
	return st->ops->snapshot_load(st, cb, ctx);
}
int store_usage_add(gh_store_t *st, const gh_usage_row_t *row) { return st->ops->usage_add(st, row); }
int store_usage_query(gh_store_t *st, const char *from_day, const char *to_day, const char *user, unsigned by,
                      store_usage_cb cb, void *ctx)
{
	return st->ops->usage_query(st, from_day, to_day, user, by, cb, ctx);
}
int store_usage_prune(gh_store_t *st, const char *before_day) { return st->ops->usage_prune(st, before_day); }
int store_usage_mark_put(gh_store_t *st, int64_t session_id, int64_t until)
{
	return st->ops->usage_mark_put(st, session_id, until);
}
int store_usage_mark_delete(gh_store_t *st, int64_t session_id)
{
	return st->ops->usage_mark_delete(st, session_id);
}
int store_usage_mark_load(gh_store_t *st, store_usage_mark_cb cb, void *ctx)
{
	return st->ops->usage_mark_load(st, cb, ctx);
}
