/*
 * hub_index.c — two indexes over hub->sessions, so that the work done per
 * request and per tick follows the sessions that are alive, not every
 * session the hub has ever run (ended ones stay listed until deleted).
 *
 *   index   | holds                                   | answers
 *   --------+-----------------------------------------+-------------------------------
 *   live    | ids of sessions not stopped and not      | the loops of the tick, the
 *           | failed, ascending (sessions' order)      | scheduler pass, metrics, alerts
 *   names   | ids, open addressing on (user, name),    | hub_session_find (every proxied
 *           | linear probing, backward-shift delete    | request), name clash on create
 *
 * Capacities follow the sessions array: hub_index_reserve() is called where
 * that array grows, so that adding, moving and removing never allocate and
 * never fail. A slot of the name table holds 0 when empty (ids start at 1).
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static uint64_t name_hash(int64_t user_id, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)user_id;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static size_t slot_of(const hub_t *hub, int64_t id)
{
	const hub_session_t *hs = hub_session_get(hub, id);
	return hs ? (size_t)(name_hash(hs->s.user_id, hs->s.name) & (hub->names_cap - 1)) : 0;
}

static void names_put(hub_t *hub, const hub_session_t *hs)
{
	size_t m = hub->names_cap - 1, i = name_hash(hs->s.user_id, hs->s.name) & m;
	while (hub->names[i] && hub->names[i] != hs->s.id)
		i = (i + 1) & m;
	hub->names[i] = hs->s.id;
}

int hub_index_reserve(hub_t *hub, int n)
{
	size_t want = 16;
	if (gh_grow((void **)&hub->live, &hub->cap_live, n, sizeof(*hub->live)) ||
	    gh_grow((void **)&hub->live_walk, &hub->cap_live_walk, n, sizeof(*hub->live_walk)))
		return GH_ENOMEM;
	while (want < (size_t)n * 2)
		want <<= 1;
	if (want > hub->names_cap) {
		int64_t *old = hub->names;
		size_t oldcap = hub->names_cap;
		int64_t *t = calloc(want, sizeof(*t));
		if (!t)
			return GH_ENOMEM;
		hub->names = t;
		hub->names_cap = want;
		for (size_t i = 0; i < oldcap; i++) {
			const hub_session_t *hs = old[i] ? hub_session_get(hub, old[i]) : NULL;
			if (hs)
				names_put(hub, hs);
		}
		free(old);
	}
	return 0;
}

static void live_insert(hub_t *hub, int64_t id)
{
	int j = hub->n_live;
	while (j > 0 && hub->live[j - 1] > id)
		j--;
	if (j > 0 && hub->live[j - 1] == id)
		return;
	memmove(&hub->live[j + 1], &hub->live[j], (size_t)(hub->n_live - j) * sizeof(*hub->live));
	hub->live[j] = id;
	hub->n_live++;
}

static void live_delete(hub_t *hub, int64_t id)
{
	int lo = 0, hi = hub->n_live - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (hub->live[mid] == id) {
			memmove(&hub->live[mid], &hub->live[mid + 1], (size_t)(hub->n_live - mid - 1) * sizeof(*hub->live));
			hub->n_live--;
			return;
		}
		if (hub->live[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
}

void hub_index_add(hub_t *hub, const hub_session_t *hs)
{
	names_put(hub, hs);
	if (!gh_sess_state_ended(hs->s.state))
		live_insert(hub, hs->s.id);
}

void hub_index_state(hub_t *hub, const hub_session_t *hs, gh_sess_state_t from)
{
	if (gh_sess_state_ended(from) == gh_sess_state_ended(hs->s.state))
		return;
	if (gh_sess_state_ended(hs->s.state))
		live_delete(hub, hs->s.id);
	else
		live_insert(hub, hs->s.id);
}

void hub_index_remove(hub_t *hub, const hub_session_t *hs)
{
	size_t m = hub->names_cap - 1, i = name_hash(hs->s.user_id, hs->s.name) & m, j;

	live_delete(hub, hs->s.id);
	while (hub->names[i] && hub->names[i] != hs->s.id)
		i = (i + 1) & m;
	if (!hub->names[i])
		return;
	/* backward shift: pull later members of the cluster into the hole
	 * unless their home slot lies cyclically in (hole, their slot] */
	hub->names[i] = 0;
	for (j = (i + 1) & m; hub->names[j]; j = (j + 1) & m) {
		size_t home = slot_of(hub, hub->names[j]);
		if (((j - home) & m) >= ((j - i) & m)) {
			hub->names[i] = hub->names[j];
			hub->names[j] = 0;
			i = j;
		}
	}
}

void hub_index_free(hub_t *hub)
{
	free(hub->live);
	free(hub->live_walk);
	free(hub->names);
	hub->live = NULL;
	hub->live_walk = NULL;
	hub->names = NULL;
	hub->n_live = hub->cap_live = hub->cap_live_walk = 0;
	hub->names_cap = 0;
}

const hub_session_t *hub_session_find(const hub_t *hub, int64_t user_id, const char *name)
{
	size_t m, i;
	if (!hub->names_cap)
		return NULL;
	m = hub->names_cap - 1;
	for (i = name_hash(user_id, name) & m; hub->names[i]; i = (i + 1) & m) {
		const hub_session_t *hs = hub_session_get(hub, hub->names[i]);
		if (hs && hs->s.user_id == user_id && strcmp(hs->s.name, name) == 0)
			return hs;
	}
	return NULL;
}

int hub_live_count(const hub_t *hub) { return hub->n_live; }

const hub_session_t *hub_live_at(const hub_t *hub, int j) { return hub_session_get(hub, hub->live[j]); }

hub_session_t *hub_live_mut(hub_t *hub, int j) { return hub_session_mut(hub, hub->live[j]); }

int hub_live_each(hub_t *hub, hub_live_fn fn, void *arg)
{
	int n = hub->n_live;

	if (hub->live_walking) {
		GH_ERROR("hub_live_each called from its own callback");
		return GH_EINTERNAL;
	}
	/* the copy: fn may end sessions, which moves live under us */
	if (n)
		memcpy(hub->live_walk, hub->live, (size_t)n * sizeof(*hub->live_walk));
	hub->live_walking = 1;
	for (int j = 0; j < n; j++) {
		/* read through hub each time: a session created in fn may grow
		 * the copy (hub_index_reserve keeps its contents) */
		hub_session_t *hs = hub_session_mut(hub, hub->live_walk[j]);
		if (hs && !gh_sess_state_ended(hs->s.state))
			fn(hub, hs, arg);
	}
	hub->live_walking = 0;
	return 0;
}
