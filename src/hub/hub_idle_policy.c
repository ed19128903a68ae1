/*
 * hub_idle_policy.c — where idle policy overrides live, and the admin
 * calls that set them.
 *
 *   layer        | kept in                                   | set by
 *   -------------+-------------------------------------------+-------------------------------
 *   defaults     | configuration idle.*                      | the config file (SIGHUP)
 *   group        | the group's record in the store (idle)    | PUT /groups/{name}/idle
 *   environment  | the environment's spec, key "idle"        | PUT /environments/{name}/idle
 *
 * Later layers win field by field (a field left out is inherited). A
 * group is a name on its users; a group with an override also has a row
 * in the groups table, whose idle column holds the override as JSON:
 *   {"gpu_idle_s": 600, "warn_s": 120}
 * (Before migration 4 they lived in <data_dir>/idle-groups.json, which is
 * imported once.)
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

json_t *hub_idle_policy_json(const idle_policy_t *p)
{
	json_t *o = json_object();
	if (p->gpu_idle_s >= 0)
		json_object_set_new(o, "gpu_idle_s", json_integer(p->gpu_idle_s));
	if (p->gpu_util_pct >= 0)
		json_object_set_new(o, "gpu_util_percent", json_integer(p->gpu_util_pct));
	if (p->full_idle_s >= 0)
		json_object_set_new(o, "full_idle_s", json_integer(p->full_idle_s));
	if (p->max_lifetime_s >= 0)
		json_object_set_new(o, "max_lifetime_s", json_integer(p->max_lifetime_s));
	if (p->warn_s >= 0)
		json_object_set_new(o, "warn_s", json_integer(p->warn_s));
	return o;
}

void hub_idle_policy_from_json(const json_t *v, idle_policy_t *p)
{
	json_t *f;
	idle_policy_unset(p);
	if (json_is_integer(f = json_object_get(v, "gpu_idle_s")))
		p->gpu_idle_s = (int)json_integer_value(f);
	if (json_is_integer(f = json_object_get(v, "gpu_util_percent")))
		p->gpu_util_pct = (int)json_integer_value(f);
	if (json_is_integer(f = json_object_get(v, "full_idle_s")))
		p->full_idle_s = (int)json_integer_value(f);
	if (json_is_integer(f = json_object_get(v, "max_lifetime_s")))
		p->max_lifetime_s = (int)json_integer_value(f);
	if (json_is_integer(f = json_object_get(v, "warn_s")))
		p->warn_s = (int)json_integer_value(f);
}

/* The index of group name in hub->group_idle, or -1: the one lookup that
 * readers (hub_group_idle_get) and writers (group_put) share. */
static int group_find(const hub_t *hub, const char *name)
{
	for (int i = 0; i < hub->n_group_idle; i++)
		if (strcmp(hub->group_idle[i].row.name, name) == 0)
			return i;
	return -1;
}

static int on_group(void *ctx, const gh_group_t *row)
{
	hub_t *hub = ctx;
	hub_group_idle_t *g;
	json_t *o;

	if (gh_grow((void **)&hub->group_idle, &hub->cap_group_idle, hub->n_group_idle + 1, sizeof(*g)))
		return GH_ENOMEM;
	g = &hub->group_idle[hub->n_group_idle++];
	g->row = *row;
	o = row->idle[0] ? json_loads(row->idle, 0, NULL) : NULL;
	if (row->idle[0] && !json_is_object(o))
		GH_WARN("the idle policy of group %s in the store is unreadable; the group uses the defaults", row->name);
	hub_idle_policy_from_json(o, &g->policy);
	json_decref(o);
	return 0;
}

/* The row that records p as the override of group name: the group's own
 * row where it has one (it keeps its id), a new one otherwise. Only the
 * store is written with it; the cache follows once the transaction has
 * committed (group_cache), so a failure leaves nothing to undo. */
static int group_row(const hub_t *hub, const char *name, const idle_policy_t *p, gh_group_t *row)
{
	int i = group_find(hub, name), rc;
	json_t *o = hub_idle_policy_json(p);
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(o);
	if (!text)
		return GH_ENOMEM;
	if (i >= 0) {
		*row = hub->group_idle[i].row;
	} else {
		memset(row, 0, sizeof(*row));
		gh_strlcpy(row->name, name, sizeof(row->name));
		row->created_at = gh_now_ms();
	}
	rc = gh_strlcpy(row->idle, text, sizeof(row->idle)) >= sizeof(row->idle) ? GH_EINVAL : 0;
	free(text);
	return rc;
}

/* Room in the cache for more groups, made before the transaction so that
 * taking its rows in after the commit cannot fail. */
static int group_reserve(hub_t *hub, int more)
{
	if (gh_grow((void **)&hub->group_idle, &hub->cap_group_idle, hub->n_group_idle + more, sizeof(*hub->group_idle)))
		return GH_ENOMEM;
	return 0;
}

/* Takes a committed row (with the id the store gave it) into the cache. */
static void group_cache(hub_t *hub, const gh_group_t *row, const idle_policy_t *p)
{
	int i = group_find(hub, row->name);
	hub_group_idle_t *g = &hub->group_idle[i >= 0 ? i : hub->n_group_idle++];
	g->row = *row;
	g->policy = *p;
}

/* <data_dir>/idle-groups.json, where group overrides were kept before they
 * moved into the store: imported once (the store wins for a group that has
 * one there), then renamed to idle-groups.json.imported. */
static void import_file(hub_t *hub)
{
	char path[CONFIG_STR + 32], done[CONFIG_STR + 48];
	json_error_t err;
	json_t *o, *v;
	const char *key;
	struct {
		gh_group_t row;
		idle_policy_t p;
	} *put;
	int n = 0, rc = 0;

	snprintf(path, sizeof(path), "%s/idle-groups.json", hub->cfg.data_dir);
	if (access(path, F_OK) != 0)
		return;
	if (!(o = json_load_file(path, 0, &err)) || !json_is_object(o)) {
		GH_WARN("idle policies of groups in %s are unreadable (line %d: %s); not imported", path, err.line,
		        err.text);
		json_decref(o);
		return;
	}
	/* the rows wait here for the commit, then join the cache */
	put = calloc(json_object_size(o) + 1, sizeof(*put));
	if (!put || (rc = group_reserve(hub, (int)json_object_size(o))))
		rc = GH_ENOMEM;
	else if ((rc = hub_txn_begin(hub)) == 0) {
		json_object_foreach(o, key, v) {
			if (!gh_name_valid(key) || hub_group_idle_get(hub, key))
				continue;
			hub_idle_policy_from_json(v, &put[n].p);
			if ((rc = group_row(hub, key, &put[n].p, &put[n].row)) ||
			    (rc = store_group_put(hub->store, &put[n].row)))
				break;
			n++;
		}
		if (rc)
			hub_txn_rollback(hub);
		else
			rc = hub_txn_commit(hub);
	}
	json_decref(o);
	if (rc) {
		/* nothing of it was kept: the next start tries again */
		GH_WARN("idle policies of groups in %s could not be imported into the store: %s", path, gh_strerror(rc));
		free(put);
		return;
	}
	for (int i = 0; i < n; i++)
		group_cache(hub, &put[i].row, &put[i].p);
	free(put);
	snprintf(done, sizeof(done), "%s.imported", path);
	if (rename(path, done) != 0)
		GH_WARN("could not rename %s after importing it: %s", path, strerror(errno));
	GH_INFO("imported the idle policies of %d group%s from %s into the store", n, n == 1 ? "" : "s", path);
}

int hub_idle_groups_load(hub_t *hub)
{
	int rc;
	hub->n_group_idle = 0;
	if ((rc = store_group_load(hub->store, on_group, hub)))
		return rc;
	import_file(hub);
	return 0;
}

const idle_policy_t *hub_group_idle_get(const hub_t *hub, const char *group)
{
	int i = group_find(hub, group);
	return i >= 0 && hub->group_idle[i].row.idle[0] ? &hub->group_idle[i].policy : NULL;
}

int hub_group_idle_set(hub_t *hub, const char *group, const idle_policy_t *p, int64_t actor_id, char *why,
                       size_t whylen)
{
	gh_group_t row;
	int rc;

	if (!gh_name_valid(group)) {
		snprintf(why, whylen, "group name must match [a-z0-9][a-z0-9._-]{0,62}");
		return GH_EINVAL;
	}
	if ((rc = group_reserve(hub, 1)) || (rc = group_row(hub, group, p, &row)))
		goto fail;
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_group_put(hub->store, &row)) ||
	    (rc = hub_emit(hub, 0, actor_id, "idle.policy_set", 0, -1, "idle policy of group %s set", group))) {
		hub_txn_rollback(hub);
		goto fail;
	}
	if ((rc = hub_txn_commit(hub)))
		goto fail;
	group_cache(hub, &row, p);
	return 0;
fail:
	snprintf(why, whylen, "the group policy could not be saved");
	return rc;
}

int hub_env_idle_set(hub_t *hub, const char *name, const idle_policy_t *p, int64_t actor_id, char *why,
                     size_t whylen)
{
	gh_env_t *e = NULL, copy;
	json_t *o;
	char *text;
	int rc;

	for (int i = 0; i < hub->n_envs; i++)
		if (strcmp(hub->envs[i].name, name) == 0)
			e = &hub->envs[i];
	if (!e) {
		snprintf(why, whylen, "no environment named '%s'", name);
		return GH_ENOTFOUND;
	}
	if (!(o = json_loads(e->spec, 0, NULL)))
		return GH_EINTERNAL;
	json_object_set_new(o, "idle", hub_idle_policy_json(p));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return GH_ENOMEM;
	copy = *e;
	if (gh_strlcpy(copy.spec, text, sizeof(copy.spec)) >= sizeof(copy.spec)) {
		free(text);
		snprintf(why, whylen, "environment spec is larger than %d bytes", GH_SPEC_MAX - 1);
		return GH_ETOOBIG;
	}
	free(text);
	copy.updated_at = gh_now_ms();
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_env_put(hub->store, &copy)) ||
	    (rc = hub_emit(hub, 0, actor_id, "idle.policy_set", 0, -1, "idle policy of environment %s set", name))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	*e = copy;
	hub->env_info[e - hub->envs].idle = *p; /* the rest of the parsed spec does not depend on "idle" */
	return 0;
}
