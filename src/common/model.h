/*
 * model.h — the records gpuhub keeps: users, groups, tokens, environments,
 * sessions, GPU allocations and events.
 *
 * These are plain value structs: fixed-size strings so a record can be
 * copied with '=' and needs no free; the few free-form parts (environment
 * spec, event data) are JSON text in a fixed buffer. Times are Unix
 * milliseconds (0 = never / not yet). Ids are assigned by the store.
 *
 * Session states (see DESIGN.md "Session lifecycle"):
 *
 *   state        | GPUs held | process  | next
 *   -------------+-----------+----------+-----------------------------------
 *   queued       | no        | no       | starting, stopped, failed
 *   starting     | yes       | starting | running, stopping, stopped, failed
 *   running      | yes       | yes      | idle-warned, suspending, stopping, failed
 *   idle-warned  | yes       | yes      | running, suspending, stopping
 *   suspending   | yes→no    | stopping | suspended, stopping, failed
 *   suspended    | no        | no       | queued (wake), stopped
 *
 * Suspend and wake (hub/hub_suspend.c, docs/idle.md): running or
 * idle-warned → suspending (open notebooks recorded, processes asked to
 * end) → suspended (GPUs freed in that transaction; files and the session
 * kept) → queued (woken: waits for GPUs as a launch does) → starting →
 * running, where the recorded notebooks reopen with fresh kernels.
 *   stopping     | yes→no    | stopping | stopped, failed
 *   stopped      | no        | no       | (deleted)
 *   failed       | no        | no       | (deleted)
 */
#ifndef GH_MODEL_H
#define GH_MODEL_H

#include <stdint.h>

#define GH_NAME_MAX   64   /* user, group, env and session names, incl. NUL */
#define GH_TEXT_MAX   256  /* display names, e-mail, notes, reasons */
#define GH_MODEL_MAX  64   /* GPU model names such as "A100-80GB" */
#define GH_PWHASH_MAX 160  /* argon2id encoded string */
#define GH_SPEC_MAX   8192 /* environment spec JSON */
#define GH_DATA_MAX   1024 /* event data JSON */

typedef enum { GH_ROLE_USER = 0, GH_ROLE_ADMIN = 1 } gh_role_t;

typedef struct {
	int64_t id;
	char name[GH_NAME_MAX];          /* login name, unique */
	char display_name[GH_TEXT_MAX];
	char email[GH_TEXT_MAX];
	char group[GH_NAME_MAX];         /* primary group name, "" = none */
	char pw_hash[GH_PWHASH_MAX];     /* argon2id string; "" = cannot log in with a password */
	gh_role_t role;
	int disabled;
	int64_t created_at;
} gh_user_t;

#define GH_GROUP_IDLE_MAX 256

typedef struct {
	int64_t id;
	char name[GH_NAME_MAX];          /* unique */
	int64_t created_at;
	char idle[GH_GROUP_IDLE_MAX];    /* idle policy override as a JSON object, "" = none */
} gh_group_t;

typedef enum { GH_TOKEN_API = 0, GH_TOKEN_LOGIN = 1 } gh_token_kind_t;

typedef struct {
	int64_t id;
	int64_t user_id;
	unsigned char hash[32];          /* SHA-256 of the secret; the secret is never stored */
	char prefix[16];                 /* first characters, shown in listings */
	char note[GH_TEXT_MAX];
	gh_token_kind_t kind;
	int64_t created_at;
	int64_t expires_at;              /* 0 = never */
	int64_t last_used_at;
} gh_token_t;

typedef struct {
	int64_t id;
	char name[GH_NAME_MAX];          /* unique */
	char spec[GH_SPEC_MAX];          /* the whole Environment object as JSON (docs/api.md) */
	int64_t created_at;
	int64_t updated_at;
} gh_env_t;

typedef enum {
	GH_SESS_QUEUED = 0,
	GH_SESS_STARTING,
	GH_SESS_RUNNING,
	GH_SESS_IDLE_WARNED,
	GH_SESS_SUSPENDING,
	GH_SESS_SUSPENDED,
	GH_SESS_STOPPING,
	GH_SESS_STOPPED,
	GH_SESS_FAILED,
	GH_SESS__COUNT
} gh_sess_state_t;

typedef struct {
	int64_t id;
	int64_t user_id;
	int64_t env_id;
	char name[GH_NAME_MAX];          /* unique per user among sessions not deleted */
	char env_name[GH_NAME_MAX];      /* copy, so the session reads well after env changes */
	gh_sess_state_t state;
	char reason[GH_TEXT_MAX];        /* why failed/queued, a sentence a person can act on */
	int gpu_milli;                   /* requested: whole GPUs * 1000, or a fraction < 1000 */
	char gpu_model[GH_MODEL_MAX];    /* "" = any */
	int cpu_milli;
	int64_t memory_mib;
	int priority;
	char runtime[16];                /* runtime engine name ("local") */
	char runtime_ref[GH_TEXT_MAX];   /* engine handle: for local "pid:starttime" */
	int port;                        /* workspace port on 127.0.0.1, 0 = none */
	int64_t created_at;
	int64_t updated_at;
	int64_t started_at;
	int64_t stopped_at;
	int64_t last_activity_at;
} gh_session_t;

typedef struct {
	int64_t id;
	int64_t session_id;
	int gpu_index;                   /* index in the GPU inventory */
	char gpu_uuid[GH_MODEL_MAX];
	int milli;                       /* 1..1000 */
	int64_t memory_mib;
	int64_t created_at;
} gh_alloc_t;

typedef struct {
	int64_t id;
	int64_t ts;
	int64_t session_id;              /* 0 = not about a session */
	int64_t user_id;                 /* actor or owner, 0 = the system */
	char type[48];                   /* "session.queued", "user.created", ... */
	gh_sess_state_t state;           /* session state after the event (if session_id) */
	int percent;                     /* progress 0..100, -1 = none */
	char message[GH_TEXT_MAX];
	char data[GH_DATA_MAX];          /* JSON object text, "" = none */
} gh_event_t;

/* A snapshot: a compressed archive of a session's work dir (and chosen
 * paths of its owner's home) under <data_dir>/snapshots/<id>.tar.zst. */
typedef enum { GH_SNAP_CREATING = 0, GH_SNAP_READY = 1, GH_SNAP_FAILED = 2 } gh_snap_state_t;

#define GH_SNAP_PATHS_MAX 1024       /* JSON array of home paths, incl. NUL */

typedef struct {
	int64_t id;
	int64_t user_id;                 /* owner */
	int64_t session_id;              /* origin session, 0 = imported */
	char session_name[GH_NAME_MAX];  /* kept when the session is deleted */
	char note[GH_TEXT_MAX];
	gh_snap_state_t state;
	char reason[GH_TEXT_MAX];        /* why it failed */
	char home_paths[GH_SNAP_PATHS_MAX]; /* JSON array of paths relative to home */
	char sha256[65];                 /* hex digest of the archive file */
	int64_t size_bytes;              /* of the archive file */
	int64_t files;                   /* entries archived */
	int64_t created_at;
	int64_t ready_at;
} gh_snapshot_t;


/* "queued", "idle-warned", ...; NULL for an out-of-range value. */
const char *gh_sess_state_name(gh_sess_state_t s);
/* Parses a state name; returns 0 or GH_EINVAL. */
int gh_sess_state_parse(const char *s, gh_sess_state_t *out);
/* True for states that hold (or are acquiring) GPUs or a process. */
int gh_sess_state_active(gh_sess_state_t s);
/* True for the states a session ends in (stopped, failed): no edge leaves
 * them, and the hub no longer counts it among its live sessions. */
int gh_sess_state_ended(gh_sess_state_t s);
/* True when from → to is an edge of the table above. */
int gh_sess_transition_ok(gh_sess_state_t from, gh_sess_state_t to);

#endif
