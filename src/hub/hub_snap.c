/*
 * hub_snap.c — snapshots: records in the store, archives under
 * <data_dir>/snapshots, the blocking parts on the worker pool.
 *
 *   state     | how it got there                   | archive file
 *   ----------+------------------------------------+----------------------
 *   creating  | POST .../snapshots (job queued)    | <id>.tar.zst.part
 *   ready     | the job finished within the quota  | <id>.tar.zst
 *   failed    | the job failed, or a restart cut   | none
 *             | it short                           |
 *
 * Quota: a user's ready archives plus the limits handed to jobs in flight
 * must stay within snapshots.quota_bytes; a job gets what is left as its
 * size limit, so two creations at once cannot pass the quota together.
 *
 * Restore: job = verify SHA-256, extract into <data_dir>/sessions/
 * .restore-<snap>-<n> (snap_extract refuses bad entries and leaves
 * nothing); then, on the loop thread, the target is checked again and
 * the new tree renamed into place, the old one moved into the staging
 * directory, which a second job removes.
 */
#include "hub/hub_int.h"
#include "hub/hub_snap.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_PATH (CONFIG_STR + 96)

struct hub_snaps {
	hub_snap_t *v;                   /* sorted by id */
	int n, cap;
	int64_t seq;                     /* staging directory names */
};

static struct hub_snaps *S(const hub_t *hub) { return hub->snaps; }

static void archive_path(const hub_t *hub, int64_t id, int part, char *out, size_t len)
{
	snprintf(out, len, "%s/snapshots/%lld.tar.zst%s", hub->cfg.data_dir, (long long)id, part ? ".part" : "");
}

static hub_snap_t *find(const hub_t *hub, int64_t id)
{
	for (int i = 0; i < S(hub)->n; i++)
		if (S(hub)->v[i].sn.id == id)
			return &S(hub)->v[i];
	return NULL;
}

static int load_one(void *ctx, const gh_snapshot_t *sn)
{
	hub_t *hub = ctx;
	struct hub_snaps *s = S(hub);
	if (gh_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)))
		return GH_ENOMEM;
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n++].sn = *sn;
	return 0;
}

/* Removes what a run that ended mid-way left: staging directories of
 * restores and half-written archives. */
static void sweep(const hub_t *hub)
{
	char dir[SNAP_PATH], p[SNAP_PATH * 2];
	struct dirent *d;
	DIR *D;

	snprintf(dir, sizeof(dir), "%s/sessions", hub->cfg.data_dir);
	if ((D = opendir(dir))) {
		while ((d = readdir(D)))
			if (strncmp(d->d_name, ".restore-", 9) == 0) {
				snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
				snap_rmtree(p);
			}
		closedir(D);
	}
	snprintf(dir, sizeof(dir), "%s/snapshots", hub->cfg.data_dir);
	if ((D = opendir(dir))) {
		while ((d = readdir(D))) {
			size_t n = strlen(d->d_name);
			if (n > 5 && strcmp(d->d_name + n - 5, ".part") == 0) {
				snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
				unlink(p);
			}
		}
		closedir(D);
	}
}

int hub_snap_busy(const hub_t *hub)
{
	for (int i = 0; i < S(hub)->n; i++)
		if (S(hub)->v[i].sn.state == GH_SNAP_CREATING)
			return 1;
	return 0;
}

int hub_snap_open(hub_t *hub)
{
	char dir[SNAP_PATH];
	int rc;

	if (!(hub->snaps = calloc(1, sizeof(*hub->snaps))))
		return GH_ENOMEM;
	snprintf(dir, sizeof(dir), "%s/snapshots", hub->cfg.data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		GH_ERROR("cannot create %s: %s", dir, strerror(errno));
		return GH_EIO;
	}
	sweep(hub);
	if ((rc = store_snapshot_load(hub->store, load_one, hub)))
		return rc;
	/* a creation the last run did not finish */
	for (int i = 0; i < S(hub)->n; i++) {
		gh_snapshot_t *sn = &S(hub)->v[i].sn;
		if (sn->state != GH_SNAP_CREATING)
			continue;
		archive_path(hub, sn->id, 1, dir, sizeof(dir));
		unlink(dir);
		sn->state = GH_SNAP_FAILED;
		sn->size_bytes = 0; /* the space it had reserved */
		gh_strlcpy(sn->reason, "the hub stopped before the snapshot was finished", sizeof(sn->reason));
		store_snapshot_put(hub->store, sn);
	}
	return 0;
}

void hub_snap_close(hub_t *hub)
{
	if (!hub->snaps)
		return;
	free(S(hub)->v);
	free(hub->snaps);
	hub->snaps = NULL;
}

int hub_snap_count(const hub_t *hub) { return S(hub)->n; }
int64_t hub_snap_seq(hub_t *hub) { return ++S(hub)->seq; }
const hub_snap_t *hub_snap_at(const hub_t *hub, int i) { return &S(hub)->v[i]; }

const hub_snap_t *hub_snap_get(const hub_t *hub, int64_t id, int64_t user_id)
{
	const hub_snap_t *s = find(hub, id);
	return s && s->sn.user_id == user_id ? s : NULL;
}

int64_t hub_snap_quota(const hub_t *hub) { return hub->cfg.snap_quota_bytes; }

int64_t hub_snap_usage(const hub_t *hub, int64_t user_id)
{
	int64_t sum = 0;
	for (int i = 0; i < S(hub)->n; i++) {
		const gh_snapshot_t *sn = &S(hub)->v[i].sn;
		if (sn->user_id == user_id && sn->state != GH_SNAP_FAILED)
			sum += sn->size_bytes;
	}
	return sum;
}

static void forget(hub_t *hub, hub_snap_t *s)
{
	int i = (int)(s - S(hub)->v);
	memmove(&S(hub)->v[i], &S(hub)->v[i + 1], (size_t)(S(hub)->n - i - 1) * sizeof(*s));
	S(hub)->n--;
}

void hub_snap_drop_user(hub_t *hub, int64_t user_id)
{
	char p[SNAP_PATH];
	for (int i = S(hub)->n - 1; i >= 0; i--) {
		hub_snap_t *s = &S(hub)->v[i];
		if (s->sn.user_id != user_id)
			continue;
		archive_path(hub, s->sn.id, 0, p, sizeof(p));
		unlink(p);
		if (s->sn.state == GH_SNAP_CREATING)
			s->sn.user_id = 0; /* its job finds it gone and cleans up */
		else
			forget(hub, s);
	}
}

/* An event on the snapshot's session (none for imports). */
static void snap_event(hub_t *hub, int64_t session_id, int64_t user_id, const char *type, int percent,
                       const char *msg)
{
	const hub_session_t *hs = session_id ? hub_session_get(hub, session_id) : NULL;
	hub_emit(hub, hs ? session_id : 0, user_id, type, hs ? hs->s.state : GH_SESS_STOPPED, percent, "%s", msg);
}

void hub_snap_tick(hub_t *hub)
{
	char msg[128];
	for (int i = 0; i < S(hub)->n; i++) {
		hub_snap_t *s = &S(hub)->v[i];
		int pct;
		if (s->sn.state != GH_SNAP_CREATING || !s->prog)
			continue;
		pct = atomic_load(&s->prog->percent);
		if (pct < 0 || pct < s->told_percent + 5 || pct >= 100)
			continue;
		s->told_percent = pct;
		snprintf(msg, sizeof(msg), "snapshot %lld: %d%% (%lld bytes read)", (long long)s->sn.id, pct,
		         (long long)atomic_load(&s->prog->bytes_in));
		snap_event(hub, s->sn.session_id, s->sn.user_id, "snapshot.progress", pct, msg);
	}
}

/* ---- create ------------------------------------------------------------- */

typedef struct {
	hub_t *hub;
	int64_t snap_id;
	snap_create_t spec;
	snap_progress_t prog;
	snap_result_t res;
	int rc;
	char why[SNAP_WHY];
	char work[SNAP_PATH], home[SNAP_PATH], out[SNAP_PATH];
	char paths[SNAP_MAX_HOME_PATHS][256];
} create_job_t;

static void create_run(void *arg)
{
	create_job_t *j = arg;
	j->rc = snap_create(&j->spec, &j->prog, &j->res, j->why, sizeof(j->why));
}

static void create_done(void *ctx, void *arg)
{
	hub_t *hub = ctx;
	create_job_t *j = arg;
	hub_snap_t *s = find(hub, j->snap_id);
	char final[SNAP_PATH], msg[SNAP_WHY + 64];

	if (!s || s->sn.user_id == 0) { /* its user was deleted meanwhile */
		unlink(j->out);
		if (s) {
			store_snapshot_delete(hub->store, s->sn.id);
			forget(hub, s);
		}
		free(j);
		return;
	}
	s->prog = NULL;
	s->sn.size_bytes = 0;
	if (j->rc == 0 && hub_snap_usage(hub, s->sn.user_id) + j->res.size_bytes > hub_snap_quota(hub)) {
		j->rc = GH_ENOCAP;
		j->res.over_limit = 1;
	}
	archive_path(hub, s->sn.id, 0, final, sizeof(final));
	if (j->rc == 0 && rename(j->out, final) != 0) {
		snprintf(j->why, sizeof(j->why), "cannot keep the archive: %s", strerror(errno));
		j->rc = GH_EIO;
	}
	if (j->rc == 0) {
		s->sn.state = GH_SNAP_READY;
		gh_strlcpy(s->sn.sha256, j->res.sha256, sizeof(s->sn.sha256));
		s->sn.size_bytes = j->res.size_bytes;
		s->sn.files = j->res.files;
		s->sn.ready_at = gh_now_ms();
		snprintf(msg, sizeof(msg), "snapshot %lld is ready: %lld files, %lld bytes%s", (long long)s->sn.id,
		         (long long)s->sn.files, (long long)s->sn.size_bytes,
		         j->res.skipped ? " (symbolic links leading out of the work dir or home path left out)" : "");
	} else {
		unlink(j->out);
		s->sn.state = GH_SNAP_FAILED;
		if (j->res.over_limit)
			snprintf(j->why, sizeof(j->why), "the snapshot would pass snapshots.quota_bytes (%lld bytes per user)",
			         (long long)hub_snap_quota(hub));
		gh_strlcpy(s->sn.reason, j->why[0] ? j->why : gh_strerror(j->rc), sizeof(s->sn.reason));
		snprintf(msg, sizeof(msg), "snapshot %lld failed: %s", (long long)s->sn.id, s->sn.reason);
	}
	if (store_snapshot_put(hub->store, &s->sn) != 0)
		GH_ERROR("cannot record snapshot %lld: the store failed", (long long)s->sn.id);
	GH_INFO("session %lld: %s", (long long)s->sn.session_id, msg);
	snap_event(hub, s->sn.session_id, s->sn.user_id, j->rc == 0 ? "snapshot.ready" : "snapshot.failed",
	           j->rc == 0 ? 100 : -1, msg);
	free(j);
}

static int paths_json(const char *const *paths, int n, char *out, size_t outlen)
{
	json_t *a = json_array();
	char *t;
	int rc = 0;
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(paths[i]));
	t = json_dumps(a, JSON_COMPACT);
	if (!t || strlen(t) >= outlen)
		rc = GH_ETOOBIG;
	else
		gh_strlcpy(out, t, outlen);
	free(t);
	json_decref(a);
	return rc;
}

static int quota_left(hub_t *hub, int64_t user_id, int64_t *left, char *why, size_t whylen)
{
	*left = hub_snap_quota(hub) - hub_snap_usage(hub, user_id);
	if (*left <= 0) {
		snprintf(why, whylen, "snapshots.quota_bytes is used up (%lld bytes per user): delete a snapshot first",
		         (long long)hub_snap_quota(hub));
		return GH_ENOCAP;
	}
	return 0;
}

int hub_snap_create(hub_t *hub, const gh_user_t *u, int64_t session_id, const char *note,
                    const char *const *home_paths, int n_home, const hub_snap_t **out, char *why, size_t whylen)
{
	const hub_session_t *hs = hub_session_get(hub, session_id);
	struct hub_snaps *s = S(hub);
	create_job_t *j;
	gh_snapshot_t sn;
	int64_t left;
	int rc;

	*out = NULL;
	if (!hs || hs->s.user_id != u->id) {
		snprintf(why, whylen, "no session %lld", (long long)session_id);
		return GH_ENOTFOUND;
	}
	if (n_home > SNAP_MAX_HOME_PATHS) {
		snprintf(why, whylen, "at most %d home paths", SNAP_MAX_HOME_PATHS);
		return GH_EINVAL;
	}
	for (int i = 0; i < n_home; i++) {
		if (!snap_rel_path_ok(home_paths[i])) {
			snprintf(why, whylen, "home path '%.200s' must be relative to the home, without '.' or '..'",
			         home_paths[i]);
			return GH_EINVAL;
		}
	}
	if ((rc = quota_left(hub, u->id, &left, why, whylen)))
		return rc;
	memset(&sn, 0, sizeof(sn));
	sn.user_id = u->id;
	sn.session_id = session_id;
	gh_strlcpy(sn.session_name, hs->s.name, sizeof(sn.session_name));
	gh_strlcpy(sn.note, note ? note : "", sizeof(sn.note));
	sn.state = GH_SNAP_CREATING;
	sn.created_at = gh_now_ms();
	if (paths_json(home_paths, n_home, sn.home_paths, sizeof(sn.home_paths))) {
		snprintf(why, whylen, "the home paths are too long together");
		return GH_EINVAL;
	}
	sn.size_bytes = left; /* reserved while the job runs */
	if (!(j = calloc(1, sizeof(*j))) || gh_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v))) {
		free(j);
		return GH_ENOMEM;
	}
	if ((rc = store_snapshot_put(hub->store, &sn))) {
		free(j);
		return rc;
	}
	j->hub = hub;
	j->snap_id = sn.id;
	snprintf(j->work, sizeof(j->work), "%s/sessions/%lld", hub->cfg.data_dir, (long long)session_id);
	snprintf(j->home, sizeof(j->home), "%s/homes/%s", hub->cfg.data_dir, u->name);
	archive_path(hub, sn.id, 1, j->out, sizeof(j->out));
	mkdir(j->work, 0700); /* a session that never started has an empty work dir */
	j->spec.work_dir = j->work;
	j->spec.home_dir = j->home;
	for (int i = 0; i < n_home; i++) {
		gh_strlcpy(j->paths[i], home_paths[i], sizeof(j->paths[i]));
		j->spec.home_paths[i] = j->paths[i];
	}
	j->spec.n_home_paths = n_home;
	j->spec.out_path = j->out;
	j->spec.max_bytes = left;
	atomic_init(&j->prog.percent, -1);
	atomic_init(&j->prog.bytes_in, 0);
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n].sn = sn;
	s->v[s->n].prog = &j->prog;
	s->n++;
	if ((rc = worker_submit(hub->worker, j, create_run, create_done, hub))) {
		s->n--;
		store_snapshot_delete(hub->store, sn.id);
		free(j);
		return rc;
	}
	GH_INFO("session %lld: snapshot %lld started by %s", (long long)session_id, (long long)sn.id, u->name);
	snap_event(hub, session_id, u->id, "snapshot.started", 0, "snapshot started");
	*out = &s->v[s->n - 1];
	return 0;
}

/* ---- import ----------------------------------------------------------- */

int hub_snap_import(hub_t *hub, const gh_user_t *u, const void *data, size_t len, const char *note,
                    const hub_snap_t **out, char *why, size_t whylen)
{
	struct hub_snaps *s = S(hub);
	char part[SNAP_PATH], final[SNAP_PATH];
	gh_snapshot_t sn;
	int64_t left, entries;
	int fd, rc;

	*out = NULL;
	if ((rc = quota_left(hub, u->id, &left, why, whylen)))
		return rc;
	if ((int64_t)len > left) {
		snprintf(why, whylen, "the archive (%zu bytes) would pass snapshots.quota_bytes (%lld bytes per user, "
		         "%lld left)", len, (long long)hub_snap_quota(hub), (long long)left);
		return GH_ENOCAP;
	}
	if (gh_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)))
		return GH_ENOMEM;
	snprintf(part, sizeof(part), "%s/snapshots/import-%lld.part", hub->cfg.data_dir, (long long)++s->seq);
	fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		if (fd >= 0)
			close(fd);
		unlink(part);
		return GH_EIO;
	}
	close(fd);
	memset(&sn, 0, sizeof(sn));
	if ((rc = snap_check(part, &entries, sn.home_paths, sizeof(sn.home_paths), why, whylen)) ||
	    (rc = snap_sha256_file(part, sn.sha256))) {
		unlink(part);
		return rc;
	}
	sn.user_id = u->id;
	gh_strlcpy(sn.note, note ? note : "", sizeof(sn.note));
	sn.state = GH_SNAP_READY;
	sn.size_bytes = (int64_t)len;
	sn.files = entries;
	sn.created_at = sn.ready_at = gh_now_ms();
	if ((rc = store_snapshot_put(hub->store, &sn))) {
		unlink(part);
		return rc;
	}
	archive_path(hub, sn.id, 0, final, sizeof(final));
	if (rename(part, final) != 0) {
		unlink(part);
		store_snapshot_delete(hub->store, sn.id);
		return GH_EIO;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n++].sn = sn;
	GH_INFO("user %s imported snapshot %lld (%zu bytes, %lld entries)", u->name, (long long)sn.id, len,
	        (long long)entries);
	*out = &s->v[s->n - 1];
	return 0;
}

int hub_snap_delete(hub_t *hub, const gh_user_t *u, int64_t id, char *why, size_t whylen)
{
	hub_snap_t *s = find(hub, id);
	char p[SNAP_PATH];
	int rc;

	if (!s || s->sn.user_id != u->id) {
		snprintf(why, whylen, "no snapshot %lld", (long long)id);
		return GH_ENOTFOUND;
	}
	if (s->sn.state == GH_SNAP_CREATING || strcmp(s->restore_state, "restoring") == 0) {
		snprintf(why, whylen, "snapshot %lld is being %s; try again when that has finished", (long long)id,
		         s->sn.state == GH_SNAP_CREATING ? "made" : "restored");
		return GH_ESTATE;
	}
	if ((rc = store_snapshot_delete(hub->store, id)))
		return rc;
	archive_path(hub, id, 0, p, sizeof(p));
	unlink(p);
	GH_INFO("user %s deleted snapshot %lld", u->name, (long long)id);
	forget(hub, s);
	return 0;
}
