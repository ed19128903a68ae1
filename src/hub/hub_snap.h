/*
 * hub_snap.h — snapshots of sessions, as the hub keeps them (hub_snap.c).
 *
 * A snapshot belongs to one user and only that user sees, restores or
 * deletes it. Creating one and restoring one run on the worker pool;
 * creation reports "snapshot.progress" events on the session, and both end
 * with an event ("snapshot.ready"/"snapshot.failed", "snapshot.restored"/
 * "snapshot.restore_failed"). The archive lies in
 * <data_dir>/snapshots/<id>.tar.zst; its SHA-256 is in the store and is
 * checked before every restore.
 *
 * Restore targets: a session of the owner that is not running (stopped,
 * failed or suspended: no process has its files open), whose work dir is
 * replaced; or a new session (environment + name), created once the
 * archive is extracted, before it can start. Home paths in the snapshot
 * replace the same paths in the owner's home. Extraction goes to a fresh
 * directory under <data_dir>/sessions and is renamed into place only when
 * every entry passed, so a refused archive changes nothing.
 */
#ifndef GH_HUB_SNAP_H
#define GH_HUB_SNAP_H

#include "hub/hub.h"
#include "snapshot/snap.h"

typedef struct {
	gh_snapshot_t sn;
	snap_progress_t *prog;           /* while creating: owned by its job */
	int told_percent;                /* last progress event */
	/* the last restore (not stored) */
	char restore_state[16];          /* "", "restoring", "done", "failed" */
	char restore_msg[HUB_WHY];
	int64_t restore_session;         /* target session id once known */
} hub_snap_t;

int hub_snap_open(hub_t *hub);
void hub_snap_close(hub_t *hub);
/* Emits progress events of snapshots being made (loop thread). */
void hub_snap_tick(hub_t *hub);
/* 1 while a snapshot is being made (the loop then ticks more often). */
int hub_snap_busy(const hub_t *hub);
/* Forgets a deleted user's snapshots and removes their files. */
void hub_snap_drop_user(hub_t *hub, int64_t user_id);

int hub_snap_count(const hub_t *hub);
/* A number unique in this run (staging and import file names). */
int64_t hub_snap_seq(hub_t *hub);
const hub_snap_t *hub_snap_at(const hub_t *hub, int i);
/* The snapshot id of user_id, or NULL (also when another user owns it). */
const hub_snap_t *hub_snap_get(const hub_t *hub, int64_t id, int64_t user_id);
/* Bytes of archives user_id holds (those being made count their limit). */
int64_t hub_snap_usage(const hub_t *hub, int64_t user_id);
int64_t hub_snap_quota(const hub_t *hub);

/* Starts a snapshot of session_id (of u). home_paths: relative to the
 * home, clean (snap_rel_path_ok), at most SNAP_MAX_HOME_PATHS. */
int hub_snap_create(hub_t *hub, const gh_user_t *u, int64_t session_id, const char *note,
                    const char *const *home_paths, int n_home, const hub_snap_t **out, char *why, size_t whylen);
/* Stores an uploaded archive (checked entry by entry first). */
int hub_snap_import(hub_t *hub, const gh_user_t *u, const void *data, size_t len, const char *note,
                    const hub_snap_t **out, char *why, size_t whylen);
int hub_snap_delete(hub_t *hub, const gh_user_t *u, int64_t id, char *why, size_t whylen);
/* Starts a restore into session into_session (> 0), or into a new session
 * launched as *launch (into_session == 0). */
int hub_snap_restore(hub_t *hub, const gh_user_t *u, int64_t id, int64_t into_session, const hub_launch_t *launch,
                     const hub_snap_t **out, char *why, size_t whylen);

#endif
