/*
 * hub_snap_restore.c — putting a snapshot back (see hub_snap.h).
 *
 *   step | thread | what
 *   -----+--------+-------------------------------------------------------
 *   1    | loop   | check the snapshot, the target, the name; mark restoring
 *   2    | worker | SHA-256 == the stored one? extract into a staging dir
 *        |        | <data_dir>/sessions/.restore-<snap>-<n> (every entry
 *        |        | checked; a refusal removes the staging dir)
 *   3    | loop   | target still fine? (create the new session); rename the
 *        |        | old work dir and home paths into the staging dir and the
 *        |        | new ones into place
 *   4    | worker | remove the staging dir (now holding the old trees)
 *
 * Step 3 is renames on one file system only, so it cannot half-fail on
 * space, and no workspace can start between steps 2 and 3: the session is
 * either not running (existing target) or created in step 3 itself.
 */
#include "hub/hub_int.h"
#include "hub/hub_snap.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RS_PATH (CONFIG_STR + 96)

typedef struct {
	int64_t snap_id, user_id, into;  /* into: 0 = new session */
	char env[GH_NAME_MAX], name[GH_NAME_MAX], model[GH_NAME_MAX];
	int gpu_milli;
	char archive[RS_PATH], staging[RS_PATH], sha256[65];
	char account[64];                /* "" = files owned by the hub */
	int rc;
	char why[SNAP_WHY];
} restore_job_t;

static hub_snap_t *find_mut(hub_t *hub, int64_t id, int64_t user_id)
{
	return (hub_snap_t *)hub_snap_get(hub, id, user_id);
}

static int restorable_state(gh_sess_state_t st)
{
	return gh_sess_state_ended(st) || st == GH_SESS_SUSPENDED;
}

static void restore_run(void *arg)
{
	restore_job_t *j = arg;
	char hex[65];
	int uid = -1, gid = -1;

	if (snap_sha256_file(j->archive, hex) != 0) {
		snprintf(j->why, sizeof(j->why), "the archive cannot be read");
		j->rc = GH_EIO;
		return;
	}
	if (strcmp(hex, j->sha256) != 0) {
		snprintf(j->why, sizeof(j->why), "the archive's SHA-256 (%.16s...) does not match the one recorded "
		         "when it was made (%.16s...): it was changed or damaged, so it is not restored", hex, j->sha256);
		j->rc = GH_EINVAL;
		return;
	}
	if (j->account[0]) {
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwnam_r(j->account, &pw, buf, sizeof(buf), &res) == 0 && res && pw.pw_uid != 0) {
			uid = (int)pw.pw_uid;
			gid = (int)pw.pw_gid;
		}
	}
	j->rc = snap_extract(j->archive, j->staging, uid, gid, j->why, sizeof(j->why));
}

static void cleanup_run(void *arg) { snap_rmtree((const char *)arg); }
static void cleanup_done(void *ctx, void *arg) { free(arg); }

/* Moves dst (if any) to aside, then src to dst. */
static int swap_in(const char *src, const char *dst, const char *aside)
{
	struct stat sb;
	if (lstat(dst, &sb) == 0 && rename(dst, aside) != 0)
		return GH_EIO;
	if (rename(src, dst) != 0)
		return GH_EIO;
	return 0;
}

static int mkdir_parents(const char *base, const char *rel)
{
	char p[RS_PATH * 2];
	int n = snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (n < 0 || (size_t)n >= sizeof(p))
		return GH_EINVAL;
	for (char *c = p + strlen(base) + 1; (c = strchr(c, '/')); c++) {
		*c = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return GH_EIO;
		*c = '/';
	}
	return 0;
}

/* Step 3: the renames. */
static int put_in_place(hub_t *hub, restore_job_t *j, const hub_snap_t *s, const gh_user_t *u, int64_t sid,
                        char *why, size_t whylen)
{
	char work[RS_PATH], home[RS_PATH], src[RS_PATH * 2], dst[RS_PATH * 2], aside[RS_PATH * 2];
	json_t *paths = json_loads(s->sn.home_paths, 0, NULL);
	size_t i;
	json_t *v;
	int rc = 0;

	snprintf(work, sizeof(work), "%s/sessions/%lld", hub->cfg.data_dir, (long long)sid);
	snprintf(src, sizeof(src), "%s/work", j->staging);
	snprintf(aside, sizeof(aside), "%s/old-work", j->staging);
	if (swap_in(src, work, aside) != 0) {
		snprintf(why, whylen, "cannot put the work dir in place: %s", strerror(errno));
		json_decref(paths);
		return GH_EIO;
	}
	snprintf(home, sizeof(home), "%s/homes/%s", hub->cfg.data_dir, u->name);
	mkdir(home, 0700);
	snprintf(aside, sizeof(aside), "%s/old-home", j->staging);
	mkdir(aside, 0700);
	json_array_foreach(paths, i, v) {
		const char *p = json_string_value(v);
		struct stat sb;
		if (!p || !snap_rel_path_ok(p))
			continue;
		snprintf(src, sizeof(src), "%s/home/%s", j->staging, p);
		if (lstat(src, &sb) != 0)
			continue;
		snprintf(dst, sizeof(dst), "%s/%s", home, p);
		snprintf(aside, sizeof(aside), "%s/old-home/%zu", j->staging, i);
		if (mkdir_parents(home, p) != 0 || swap_in(src, dst, aside) != 0) {
			snprintf(why, whylen, "cannot put home path '%s' in place: %s", p, strerror(errno));
			rc = GH_EIO;
			break;
		}
	}
	json_decref(paths);
	return rc;
}

static void restore_finish(hub_t *hub, hub_snap_t *s, int64_t sid, int ok, const char *msg)
{
	const hub_session_t *hs = sid ? hub_session_get(hub, sid) : NULL;
	gh_strlcpy(s->restore_state, ok ? "done" : "failed", sizeof(s->restore_state));
	gh_strlcpy(s->restore_msg, msg, sizeof(s->restore_msg));
	s->restore_session = sid;
	GH_INFO("session %lld: restore of snapshot %lld %s: %s", (long long)sid, (long long)s->sn.id,
	        ok ? "done" : "failed", msg);
	hub_emit(hub, hs ? sid : 0, s->sn.user_id, ok ? "snapshot.restored" : "snapshot.restore_failed",
	         hs ? hs->s.state : GH_SESS_STOPPED, ok ? 100 : -1, "%s", msg);
}

static void restore_done(void *ctx, void *arg)
{
	hub_t *hub = ctx;
	restore_job_t *j = arg;
	hub_snap_t *s = find_mut(hub, j->snap_id, j->user_id);
	const gh_user_t *u = hub_user_by_id(hub, j->user_id);
	const hub_session_t *hs = NULL;
	char why[HUB_WHY] = "", msg[HUB_WHY + 64];
	int64_t sid = j->into;
	int rc = j->rc;
	char *stage;

	if (!s || !u) {
		rc = GH_ENOTFOUND;
		gh_strlcpy(why, "the snapshot or its user was deleted meanwhile", sizeof(why));
	} else if (rc != 0) {
		gh_strlcpy(why, j->why, sizeof(why));
	} else if (sid) {
		hs = hub_session_get(hub, sid);
		if (!hs || hs->s.user_id != u->id || !restorable_state(hs->s.state)) {
			rc = GH_ESTATE;
			snprintf(why, sizeof(why), "session %lld was deleted or started meanwhile", (long long)sid);
		}
	} else {
		hub_launch_t l = {.env = j->env, .name = j->name, .gpu_milli = j->gpu_milli, .gpu_model = j->model};
		rc = hub_session_create(hub, u, &l, &hs, why, sizeof(why));
		sid = rc == 0 ? hs->s.id : 0;
	}
	if (rc == 0)
		rc = put_in_place(hub, j, s, u, sid, why, sizeof(why));
	if (s) {
		if (rc == 0)
			snprintf(msg, sizeof(msg), "snapshot %lld restored into session %lld", (long long)s->sn.id,
			         (long long)sid);
		else
			snprintf(msg, sizeof(msg), "snapshot %lld not restored: %s", (long long)j->snap_id,
			         why[0] ? why : gh_strerror(rc));
		restore_finish(hub, s, sid, rc == 0, msg);
	}
	/* the staging dir (absent after a refused extraction) */
	stage = strdup(j->staging);
	if (!stage || worker_submit(hub->worker, stage, cleanup_run, cleanup_done, hub) != 0) {
		if (stage)
			snap_rmtree(stage);
		free(stage);
	}
	free(j);
}

int hub_snap_restore(hub_t *hub, const gh_user_t *u, int64_t id, int64_t into_session, const hub_launch_t *launch,
                     const hub_snap_t **out, char *why, size_t whylen)
{
	hub_snap_t *s = find_mut(hub, id, u->id);
	restore_job_t *j;
	int rc;

	*out = NULL;
	if (!s) {
		snprintf(why, whylen, "no snapshot %lld", (long long)id);
		return GH_ENOTFOUND;
	}
	if (s->sn.state != GH_SNAP_READY) {
		snprintf(why, whylen, "snapshot %lld is %s, not ready", (long long)id,
		         s->sn.state == GH_SNAP_CREATING ? "still being made" : "failed");
		return GH_ESTATE;
	}
	if (strcmp(s->restore_state, "restoring") == 0) {
		snprintf(why, whylen, "snapshot %lld is already being restored", (long long)id);
		return GH_ESTATE;
	}
	if (into_session) {
		const hub_session_t *hs = hub_session_get(hub, into_session);
		if (!hs || hs->s.user_id != u->id) {
			snprintf(why, whylen, "no session %lld", (long long)into_session);
			return GH_ENOTFOUND;
		}
		if (!restorable_state(hs->s.state)) {
			snprintf(why, whylen, "session '%s' is %s: restore into a stopped, failed or suspended session, "
			         "or into a new one", hs->s.name, gh_sess_state_name(hs->s.state));
			return GH_ESTATE;
		}
	} else {
		if (!hub_env_find(hub, launch->env)) {
			snprintf(why, whylen, "no environment named '%s'", launch->env);
			return GH_ENOTFOUND;
		}
		if (!gh_name_valid(launch->name)) {
			snprintf(why, whylen, "name must match [a-z0-9][a-z0-9._-]{0,62}");
			return GH_EINVAL;
		}
		if (hub_session_find(hub, u->id, launch->name)) {
			snprintf(why, whylen, "you already have a session named '%s' (delete it to reuse the name)",
			         launch->name);
			return GH_EEXIST;
		}
	}
	if (!(j = calloc(1, sizeof(*j))))
		return GH_ENOMEM;
	j->snap_id = id;
	j->user_id = u->id;
	j->into = into_session;
	if (!into_session) {
		gh_strlcpy(j->env, launch->env, sizeof(j->env));
		gh_strlcpy(j->name, launch->name, sizeof(j->name));
		gh_strlcpy(j->model, launch->gpu_model ? launch->gpu_model : "", sizeof(j->model));
		j->gpu_milli = launch->gpu_milli;
	}
	snprintf(j->archive, sizeof(j->archive), "%s/snapshots/%lld.tar.zst", hub->cfg.data_dir, (long long)id);
	snprintf(j->staging, sizeof(j->staging), "%s/sessions/.restore-%lld-%lld", hub->cfg.data_dir, (long long)id,
	         (long long)hub_snap_seq(hub));
	gh_strlcpy(j->sha256, s->sn.sha256, sizeof(j->sha256));
	if (strcmp(hub->cfg.runtime_accounts, "none") != 0 &&
	    rt_account_name(u->name, strcmp(hub->cfg.runtime_accounts, "dedicated") == 0, j->account,
	                    sizeof(j->account)) != 0)
		j->account[0] = '\0';
	if ((rc = worker_submit(hub->worker, j, restore_run, restore_done, hub))) {
		free(j);
		return rc;
	}
	gh_strlcpy(s->restore_state, "restoring", sizeof(s->restore_state));
	s->restore_msg[0] = '\0';
	s->restore_session = into_session;
	GH_INFO("user %s: restore of snapshot %lld started", u->name, (long long)id);
	*out = s;
	return 0;
}
