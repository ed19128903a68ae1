/*
 * hub_idle_policy.c — where idle policy overrides live, and the admin
 * calls that set them.
 *
 *   layer        | kept in                                   | set by
 *   -------------+-------------------------------------------+-------------------------------
 *   defaults     | configuration idle.*                      | the config file (SIGHUP)
 *   group        | <data_dir>/idle-groups.json               | PUT /groups/{name}/idle
 *   environment  | the environment's spec, key "idle"        | PUT /environments/{name}/idle
 *
 * Later layers win field by field (a field left out is inherited). Groups
 * have no record of their own in the store yet (a group is a name on its
 * users), so their overrides are one small JSON file written atomically:
 *   {"<group>": {"gpu_idle_s": 600, ...}, ...}
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

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

static void groups_path(const hub_t *hub, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/idle-groups.json", hub->cfg.data_dir);
}

static int groups_save(const hub_t *hub)
{
	char path[CONFIG_STR + 32], tmp[CONFIG_STR + 40];
	json_t *o = json_object();
	int rc;

	for (int i = 0; i < hub->n_group_idle; i++)
		json_object_set_new(o, hub->group_idle[i].group, hub_idle_policy_json(&hub->group_idle[i].policy));
	groups_path(hub, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	rc = json_dump_file(o, tmp, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	if (rc != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return GH_EIO;
	}
	return 0;
}

int hub_idle_groups_load(hub_t *hub)
{
	char path[CONFIG_STR + 32];
	json_error_t err;
	json_t *o, *v;
	const char *key;

	groups_path(hub, path, sizeof(path));
	if (access(path, F_OK) != 0)
		return 0;
	if (!(o = json_load_file(path, 0, &err)) || !json_is_object(o)) {
		GH_WARN("idle policies of groups in %s are unreadable (line %d: %s); groups use the defaults", path,
		        err.line, err.text);
		json_decref(o);
		return 0;
	}
	json_object_foreach(o, key, v) {
		hub_group_idle_t *g;
		json_t *f;
		if (strlen(key) >= GH_NAME_MAX ||
		    gh_grow((void **)&hub->group_idle, &hub->cap_group_idle, hub->n_group_idle + 1, sizeof(*g)))
			continue;
		g = &hub->group_idle[hub->n_group_idle++];
		gh_strlcpy(g->group, key, sizeof(g->group));
		idle_policy_unset(&g->policy);
		if (json_is_integer(f = json_object_get(v, "gpu_idle_s")))
			g->policy.gpu_idle_s = (int)json_integer_value(f);
		if (json_is_integer(f = json_object_get(v, "gpu_util_percent")))
			g->policy.gpu_util_pct = (int)json_integer_value(f);
		if (json_is_integer(f = json_object_get(v, "full_idle_s")))
			g->policy.full_idle_s = (int)json_integer_value(f);
		if (json_is_integer(f = json_object_get(v, "max_lifetime_s")))
			g->policy.max_lifetime_s = (int)json_integer_value(f);
		if (json_is_integer(f = json_object_get(v, "warn_s")))
			g->policy.warn_s = (int)json_integer_value(f);
	}
	json_decref(o);
	return 0;
}

const idle_policy_t *hub_group_idle_get(const hub_t *hub, const char *group)
{
	for (int i = 0; i < hub->n_group_idle; i++)
		if (strcmp(hub->group_idle[i].group, group) == 0)
			return &hub->group_idle[i].policy;
	return NULL;
}

int hub_group_idle_set(hub_t *hub, const char *group, const idle_policy_t *p, int64_t actor_id, char *why,
                       size_t whylen)
{
	hub_group_idle_t *g = NULL;
	idle_policy_t old;
	int i, rc, added = 0;

	if (!gh_name_valid(group)) {
		snprintf(why, whylen, "group name must match [a-z0-9][a-z0-9._-]{0,62}");
		return GH_EINVAL;
	}
	for (i = 0; i < hub->n_group_idle; i++)
		if (strcmp(hub->group_idle[i].group, group) == 0)
			g = &hub->group_idle[i];
	if (!g) {
		if (gh_grow((void **)&hub->group_idle, &hub->cap_group_idle, hub->n_group_idle + 1, sizeof(*g)))
			return GH_ENOMEM;
		g = &hub->group_idle[hub->n_group_idle++];
		gh_strlcpy(g->group, group, sizeof(g->group));
		idle_policy_unset(&g->policy);
		added = 1;
	}
	old = g->policy;
	g->policy = *p;
	if ((rc = groups_save(hub))) {
		if (added)
			hub->n_group_idle--;
		else
			g->policy = old;
		snprintf(why, whylen, "the group policies could not be saved");
		return rc;
	}
	hub_emit(hub, 0, actor_id, "idle.policy_set", 0, -1, "idle policy of group %s set", group);
	return 0;
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
	*e = copy; /* the parsed launch info does not depend on "idle" */
	return 0;
}
