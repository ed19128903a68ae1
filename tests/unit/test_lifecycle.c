/*
 * test_lifecycle.c — the session state machine (common/model.c) and the
 * hub's lifecycle on a real store, a simulated GPU inventory and the local
 * runtime: queue, allocate, run, stop, free; restart and adopt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "common/err.h"
#include "common/log.h"
#include "common/model.h"
#include "config/config.h"
#include "hub/hub.h"
#include "hub/hub_int.h"

static void test_state_names_roundtrip(void **state)
{
	(void)state;
	for (int i = 0; i < GH_SESS__COUNT; i++) {
		gh_sess_state_t s;
		assert_non_null(gh_sess_state_name((gh_sess_state_t)i));
		assert_int_equal(gh_sess_state_parse(gh_sess_state_name((gh_sess_state_t)i), &s), 0);
		assert_int_equal(s, i);
	}
	gh_sess_state_t s;
	assert_int_equal(gh_sess_state_parse("sleeping", &s), GH_EINVAL);
	assert_null(gh_sess_state_name(GH_SESS__COUNT));
}

static void test_transitions(void **state)
{
	(void)state;
	assert_true(gh_sess_transition_ok(GH_SESS_QUEUED, GH_SESS_STARTING));
	assert_true(gh_sess_transition_ok(GH_SESS_STARTING, GH_SESS_RUNNING));
	assert_true(gh_sess_transition_ok(GH_SESS_RUNNING, GH_SESS_STOPPING));
	assert_true(gh_sess_transition_ok(GH_SESS_STOPPING, GH_SESS_STOPPED));
	assert_true(gh_sess_transition_ok(GH_SESS_SUSPENDED, GH_SESS_QUEUED));
	assert_false(gh_sess_transition_ok(GH_SESS_STOPPED, GH_SESS_RUNNING));
	assert_false(gh_sess_transition_ok(GH_SESS_FAILED, GH_SESS_QUEUED));
	assert_false(gh_sess_transition_ok(GH_SESS_QUEUED, GH_SESS_RUNNING));
	assert_false(gh_sess_transition_ok(GH_SESS_RUNNING, GH_SESS_QUEUED));
	assert_false(gh_sess_state_active(GH_SESS_STOPPED));
	assert_true(gh_sess_state_active(GH_SESS_QUEUED));
	/* the ended states are exactly those no edge leaves */
	for (int i = 0; i < GH_SESS__COUNT; i++) {
		int out = 0;
		for (int j = 0; j < GH_SESS__COUNT; j++)
			out |= gh_sess_transition_ok((gh_sess_state_t)i, (gh_sess_state_t)j);
		assert_int_equal(gh_sess_state_ended((gh_sess_state_t)i), !out);
	}
}

static char tmpdir[256];

/* The lifecycle is about the hub, not about Jupyter: sessions here run a
 * light environment whose workspace is a sleeping process, ready when it
 * runs. */
static void add_light_env(hub_t *hub)
{
	const gh_env_t *e;
	char why[HUB_WHY];
	if (hub_env_find(hub, "light"))
		return;
	assert_int_equal(hub_env_create(hub, "light",
	                                "{\"name\":\"light\",\"interface\":\"jupyter\",\"default_gpus\":1,"
	                                "\"max_gpus\":4,\"launch\":{\"local\":{\"command\":[\"sleep\",\"infinity\"],"
	                                "\"ready\":\"\"}}}",
	                                0, &e, why, sizeof(why)),
	                 0);
}

static hub_t *open_hub(const char *gpus)
{
	gh_config_t cfg;
	char err[512] = "";
	hub_t *hub = NULL;
	config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", tmpdir);
	snprintf(cfg.gpus, sizeof(cfg.gpus), "%s", gpus);
	cfg.stop_grace_s = 2;
	cfg.max_sessions_per_user = 1000;
	int rc = hub_open(&hub, &cfg, err, sizeof(err));
	if (rc)
		fprintf(stderr, "hub_open: %s\n", err);
	assert_int_equal(rc, 0);
	add_light_env(hub);
	return hub;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-lifecycle-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	setenv("GPUHUB_ADMIN_TOKEN", "test-admin-token-0123456789", 1);
	gh_log_setup(GH_LOG_TEXT, GH_LOG_ERROR);
	assert_int_equal(auth_init(), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Runs the hub's periodic work until session id reaches want (or gives up). */
static gh_sess_state_t tick_until(hub_t *hub, int64_t id, gh_sess_state_t want)
{
	for (int i = 0; i < 1000; i++) {
		const hub_session_t *hs = hub_session_get(hub, id);
		if (!hs || hs->s.state == want)
			break;
		hub_tick(hub);
		usleep(10000);
	}
	return hub_session_get(hub, id)->s.state;
}

static void test_launch_stop_frees_gpu(void **state)
{
	hub_t *hub;
	const gh_user_t *admin, *alice;
	gh_user_t u;
	const hub_session_t *a, *b, *c;
	hub_launch_t req = {.env = "light", .name = "one", .gpu_milli = 1000, .gpu_model = NULL};
	char why[HUB_WHY];
	int64_t ida, idb, idc;
	(void)state;

	hub = open_hub("sim:2xA100-80GB");
	admin = hub_authenticate(hub, "test-admin-token-0123456789", NULL, NULL);
	assert_non_null(admin);
	assert_int_equal(admin->role, GH_ROLE_ADMIN);
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "alice");
	assert_int_equal(hub_user_create(hub, &u, "correct horse", admin->id, &alice, why, sizeof(why)), 0);
	alice = hub_user_find(hub, "alice");

	/* two whole GPUs exist: the first two launches get one each */
	assert_int_equal(hub_session_create(hub, alice, &req, &a, why, sizeof(why)), 0);
	ida = a->s.id;
	assert_int_equal(a->s.state, GH_SESS_STARTING);
	assert_int_equal(a->n_allocs, 1);
	req.name = "two";
	assert_int_equal(hub_session_create(hub, alice, &req, &b, why, sizeof(why)), 0);
	idb = b->s.id;
	assert_int_equal(hub_session_get(hub, idb)->n_allocs, 1);
	assert_int_not_equal(hub_session_get(hub, ida)->allocs[0].gpu_index,
	                     hub_session_get(hub, idb)->allocs[0].gpu_index);
	/* the third waits in the queue, with a reason */
	req.name = "three";
	assert_int_equal(hub_session_create(hub, alice, &req, &c, why, sizeof(why)), 0);
	idc = c->s.id;
	assert_int_equal(c->s.state, GH_SESS_QUEUED);
	assert_int_equal(c->queue_position, 1);
	fprintf(stderr, "queued reason: %s\n", c->s.reason);
	assert_non_null(strstr(c->s.reason, "GPU"));
	/* a duplicate name is refused */
	assert_int_equal(hub_session_create(hub, alice, &req, &c, why, sizeof(why)), GH_EEXIST);

	assert_int_equal(tick_until(hub, ida, GH_SESS_RUNNING), GH_SESS_RUNNING);
	/* stopping the first frees its GPU and the queued one takes it */
	assert_int_equal(hub_session_stop(hub, ida, alice->id, "test"), 0);
	assert_int_equal(tick_until(hub, ida, GH_SESS_STOPPED), GH_SESS_STOPPED);
	assert_int_equal(hub_session_get(hub, ida)->n_allocs, 0);
	hub_tick(hub);
	assert_int_equal(hub_session_get(hub, idc)->s.state == GH_SESS_STARTING ||
	                 hub_session_get(hub, idc)->s.state == GH_SESS_RUNNING, 1);
	assert_int_equal(tick_until(hub, idc, GH_SESS_RUNNING), GH_SESS_RUNNING);

	/* a running session cannot be deleted without force */
	assert_int_equal(hub_session_delete(hub, idb, 0, alice->id, why, sizeof(why)), GH_ESTATE);
	assert_int_equal(tick_until(hub, idb, GH_SESS_RUNNING), GH_SESS_RUNNING);
	hub_close(hub);

	/* restart: the running workspaces are adopted, state is kept */
	hub = open_hub("sim:2xA100-80GB");
	admin = hub_authenticate(hub, "test-admin-token-0123456789", NULL, NULL);
	assert_non_null(admin);
	assert_non_null(hub_user_find(hub, "alice"));
	assert_int_equal(hub_session_get(hub, idb)->s.state, GH_SESS_RUNNING);
	assert_int_equal(hub_session_get(hub, idc)->s.state, GH_SESS_RUNNING);
	assert_int_equal(hub_gpu_at(hub, 0)->allocated_milli + hub_gpu_at(hub, 1)->allocated_milli, 2000);
	assert_int_equal(hub_session_get(hub, ida)->s.state, GH_SESS_STOPPED);
	/* forced delete kills and frees */
	assert_int_equal(hub_session_delete(hub, idb, 1, admin->id, why, sizeof(why)), 0);
	assert_null(hub_session_get(hub, idb));
	assert_int_equal(hub_session_stop(hub, idc, admin->id, "test"), 0);
	assert_int_equal(tick_until(hub, idc, GH_SESS_STOPPED), GH_SESS_STOPPED);
	assert_int_equal(hub_gpu_at(hub, 0)->allocated_milli + hub_gpu_at(hub, 1)->allocated_milli, 0);
	hub_close(hub);
}

static void test_fractions_share_a_gpu(void **state)
{
	hub_t *hub;
	const gh_user_t *admin;
	const hub_session_t *a, *b;
	hub_launch_t req = {.env = "light", .name = "half1", .gpu_milli = 500, .gpu_model = NULL};
	char why[HUB_WHY];
	(void)state;

	hub = open_hub("sim:2xA100-80GB");
	admin = hub_authenticate(hub, "test-admin-token-0123456789", NULL, NULL);
	assert_int_equal(hub_session_create(hub, admin, &req, &a, why, sizeof(why)), 0);
	int64_t ida = a->s.id;
	req.name = "half2";
	assert_int_equal(hub_session_create(hub, admin, &req, &b, why, sizeof(why)), 0);
	assert_int_equal(b->allocs[0].gpu_index, hub_session_get(hub, ida)->allocs[0].gpu_index);
	assert_int_equal(hub_gpu_at(hub, b->allocs[0].gpu_index)->allocated_milli, 1000);
	assert_int_equal(b->allocs[0].memory_mib, 40960);
	/* asking for more than the hub has, or an unknown model, is refused */
	req.name = "huge";
	req.gpu_milli = 3000;
	assert_int_equal(hub_session_create(hub, admin, &req, &b, why, sizeof(why)), GH_EINVAL);
	req.gpu_milli = 1000;
	req.gpu_model = "H100-80GB";
	assert_int_equal(hub_session_create(hub, admin, &req, &b, why, sizeof(why)), GH_EINVAL);
	req.gpu_model = NULL;
	req.env = "no-such-env";
	assert_int_equal(hub_session_create(hub, admin, &req, &b, why, sizeof(why)), GH_ENOTFOUND);
	/* fault: a quarantined GPU takes no new placement */
	for (int i = 0; i < hub_session_count(hub); i++) {
		const hub_session_t *hs = hub_session_at(hub, i);
		if (hs->s.state != GH_SESS_STOPPED)
			hub_session_delete(hub, hs->s.id, 1, admin->id, why, sizeof(why)), i = -1;
	}
	assert_int_equal(hub_gpu_fault(hub, 0, GH_GPU_EV_XID, 48, admin->id), 0);
	assert_false(hub_gpu_at(hub, 0)->tel.healthy);
	req.env = "light";
	req.name = "after-fault";
	req.gpu_milli = 1000;
	assert_int_equal(hub_session_create(hub, admin, &req, &a, why, sizeof(why)), 0);
	assert_int_equal(a->allocs[0].gpu_index, 1);
	req.name = "after-fault2";
	assert_int_equal(hub_session_create(hub, admin, &req, &a, why, sizeof(why)), 0);
	assert_int_equal(a->s.state, GH_SESS_QUEUED);
	/* leave no workspace process behind */
	while (hub_session_count(hub) > 0)
		assert_int_equal(hub_session_delete(hub, hub_session_at(hub, 0)->s.id, 1, admin->id, why, sizeof(why)), 0);
	hub_close(hub);
}

/* hub_live_each's callback: records the visit; at the third it deletes
 * two later sessions and itself, creates one (which grows the sessions
 * array and the walk's copy) and tries a nested walk. */
struct walk {
	const gh_user_t *admin;
	int64_t seen[64], del[2], created;
	int n, nested;
};

static void walk_nop(hub_t *hub, hub_session_t *hs, void *arg) { (void)hub, (void)hs, (void)arg; }

static void walk_visit(hub_t *hub, hub_session_t *hs, void *arg)
{
	struct walk *w = arg;
	hub_launch_t req = {.env = "light", .name = "walk-new", .gpu_milli = 1000, .gpu_model = NULL};
	const hub_session_t *created;
	char why[HUB_WHY];
	int64_t id = hs->s.id;

	w->seen[w->n++] = id;
	if (w->n != 3)
		return;
	w->nested = hub_live_each(hub, walk_nop, NULL);
	for (int i = 0; i < 2; i++)
		assert_int_equal(hub_session_delete(hub, w->del[i], 1, w->admin->id, why, sizeof(why)), 0);
	assert_int_equal(hub_session_delete(hub, id, 1, w->admin->id, why, sizeof(why)), 0);
	assert_int_equal(hub_session_create(hub, w->admin, &req, &created, why, sizeof(why)), 0);
	w->created = created->s.id;
}

/* The (user, name) table and the live list (hub_index.c) stay exact through
 * many creates, deletes out of order, stops and a restart. */
static void test_session_indexes(void **state)
{
	hub_t *hub;
	const gh_user_t *admin;
	const hub_session_t *hs;
	hub_launch_t req = {.env = "light", .name = NULL, .gpu_milli = 1000, .gpu_model = NULL};
	char why[HUB_WHY], name[32];
	int64_t ids[300];
	int i, n = 300, live;
	(void)state;

	hub = open_hub("sim:1");
	admin = hub_authenticate(hub, "test-admin-token-0123456789", NULL, NULL);
	assert_int_equal(hub_live_count(hub), 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		req.name = name;
		assert_int_equal(hub_session_create(hub, admin, &req, &hs, why, sizeof(why)), 0);
		ids[i] = hs->s.id;
	}
	assert_int_equal(hub_live_count(hub), n);
	/* one runs, the rest wait; delete every third, from the end */
	for (i = n - 1; i >= 0; i -= 3) {
		assert_int_equal(hub_session_delete(hub, ids[i], 1, admin->id, why, sizeof(why)), 0);
		ids[i] = 0;
	}
	live = 0;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		hs = hub_session_find(hub, admin->id, name);
		if (ids[i]) {
			assert_non_null(hs);
			assert_int_equal(hs->s.id, ids[i]);
			live++;
		} else {
			assert_null(hs);
		}
	}
	assert_int_equal(hub_live_count(hub), live);
	for (i = 1; i < hub_live_count(hub); i++)
		assert_true(hub_live_at(hub, i - 1)->s.id < hub_live_at(hub, i)->s.id);
	/* a deleted name can be used again; a kept one cannot */
	req.name = "s299";
	assert_int_equal(hub_session_create(hub, admin, &req, &hs, why, sizeof(why)), 0);
	ids[299] = hs->s.id;
	live++;
	req.name = "s1";
	assert_int_equal(hub_session_create(hub, admin, &req, &hs, why, sizeof(why)), GH_EEXIST);
	/* a stopped session leaves the live list and keeps its name */
	assert_int_equal(hub_session_stop(hub, ids[0], admin->id, "test"), 0);
	assert_int_equal(tick_until(hub, ids[0], GH_SESS_STOPPED), GH_SESS_STOPPED);
	live--;
	assert_int_equal(hub_live_count(hub), live);
	assert_non_null(hub_session_find(hub, admin->id, "s0"));
	for (i = 0; i < hub_live_count(hub); i++)
		assert_int_not_equal(hub_live_at(hub, i)->s.id, ids[0]);
	hub_close(hub);

	/* restart: both are rebuilt from the store */
	hub = open_hub("sim:1");
	admin = hub_authenticate(hub, "test-admin-token-0123456789", NULL, NULL);
	assert_int_equal(hub_live_count(hub), live);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		hs = hub_session_find(hub, admin->id, name);
		assert_true(ids[i] ? hs && hs->s.id == ids[i] : hs == NULL);
	}
	while (hub_session_count(hub) > 0)
		assert_int_equal(hub_session_delete(hub, hub_session_at(hub, 0)->s.id, 1, admin->id, why, sizeof(why)), 0);
	assert_int_equal(hub_live_count(hub), 0);
	assert_null(hub_session_find(hub, admin->id, "s2"));

	/* hub_live_each walks the sessions live when it starts, passes over
	 * those deleted on the way and not the one created on the way */
	{
		struct walk w = {.admin = admin};
		int k = 0;
		n = 16;
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "w%d", i);
			req.name = name;
			assert_int_equal(hub_session_create(hub, admin, &req, &hs, why, sizeof(why)), 0);
			ids[i] = hs->s.id;
		}
		w.del[0] = ids[5];
		w.del[1] = ids[9];
		assert_int_equal(hub_live_each(hub, walk_visit, &w), 0);
		assert_int_equal(w.nested, GH_EINTERNAL);
		assert_int_equal(w.n, n - 2);
		for (i = 0; i < n; i++)
			if (i != 5 && i != 9)
				assert_int_equal(w.seen[k++], ids[i]);
		assert_int_equal(hub_live_count(hub), n - 3 + 1);
		assert_non_null(hub_session_get(hub, w.created));
		/* and again, now that nothing changes on the way */
		assert_int_equal(hub_live_each(hub, walk_nop, NULL), 0);
	}
	hub_close(hub);
}

static void test_second_hub_refused(void **state)
{
	gh_config_t cfg;
	char err[512] = "";
	hub_t *hub = open_hub("sim:1"), *other = NULL;
	(void)state;
	config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", tmpdir);
	snprintf(cfg.gpus, sizeof(cfg.gpus), "sim:1");
	assert_int_equal(hub_open(&other, &cfg, err, sizeof(err)), GH_ELOCKED);
	assert_null(other);
	assert_non_null(strstr(err, "already running"));
	hub_close(hub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names_roundtrip),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test_setup_teardown(test_launch_stop_frees_gpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fractions_share_a_gpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_indexes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_hub_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
