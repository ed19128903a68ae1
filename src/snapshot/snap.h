/*
 * snap.h — snapshot archives: a session's work dir and chosen paths of its
 * owner's home as one tar (pax) stream compressed with zstd, its SHA-256,
 * and a safe extraction of such an archive.
 *
 * Archive layout (the only names an archive may hold):
 *
 *   name               | what
 *   -------------------+-------------------------------------------------
 *   work/...           | the work dir, <data_dir>/sessions/<id>/
 *   home/<path>/...    | <path> of the owner's home, <data_dir>/homes/<user>/
 *
 * Entries are directories, regular files and symbolic links whose target
 * stays inside their own top-level area (work/ or home/). Everything else —
 * absolute names, '..' components, device nodes, FIFOs, sockets, hard links,
 * links leading out — makes the whole archive refused (snap_entry_check),
 * before and while it is extracted, and then nothing has been changed.
 *
 * These functions block (disk, compression): the hub runs them on a worker
 * thread. They touch no hub state and are safe to run on several threads at
 * once (snap_extract changes only the calling thread's working directory).
 */
#ifndef GH_SNAP_H
#define GH_SNAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SNAP_WHY 512
#define SNAP_MAX_HOME_PATHS 16

/* Progress shared with the loop thread: written by the worker, read by the
 * loop (percent 0..100, -1 before the size is known). */
typedef struct {
	atomic_int percent;
	atomic_llong bytes_in;           /* bytes of file content read so far */
} snap_progress_t;

typedef struct {
	const char *work_dir;            /* archived as work/ (must exist) */
	const char *home_dir;            /* base of home_paths; NULL = none */
	const char *home_paths[SNAP_MAX_HOME_PATHS]; /* relative to home_dir */
	int n_home_paths;
	const char *out_path;            /* archive written here (created 0600) */
	int64_t max_bytes;               /* compressed size limit; 0 = none */
} snap_create_t;

typedef struct {
	char sha256[65];                 /* hex */
	int64_t size_bytes;
	int64_t files;                   /* entries written */
	int64_t skipped;                 /* symlinks leading out, left out */
	int over_limit;                  /* 1: failed because max_bytes was passed */
} snap_result_t;

/* Writes the archive. Sockets, FIFOs and devices are left out, and so are
 * symbolic links that snap_entry_check would refuse (absolute, or leading
 * out of their area), so that every archive made here can be restored;
 * res->skipped counts those links. 0, or a negative gh_err_t with a
 * sentence in why (out_path is removed on failure). prog may be NULL. */
int snap_create(const snap_create_t *spec, snap_progress_t *prog, snap_result_t *res, char *why, size_t whylen);

/* Checks one entry's name, type and link: 0 or GH_EINVAL with the reason
 * naming the entry in why. type is an S_IF* value; link is the symlink
 * target (NULL unless a symlink); hardlink non-NULL for a hard link. */
int snap_entry_check(const char *name, mode_t type, const char *link, const char *hardlink, char *why,
                     size_t whylen);
/* 1 if p is a clean relative path under a home: no leading '/', no '.', '..'
 * or empty components, at most 255 bytes. */
int snap_rel_path_ok(const char *p);

/* Reads a whole archive (any tar flavour, compressed with zstd, gzip, xz or
 * not at all) and checks every entry. 0 with *entries set and home_tops
 * (may be NULL) holding a JSON array of the names directly under home/,
 * or GH_EINVAL naming the first bad entry / saying it is no archive. */
int snap_check(const char *path, int64_t *entries, char *home_tops, size_t topslen, char *why, size_t whylen);

/* SHA-256 of a file as hex. 0 or GH_EIO. */
int snap_sha256_file(const char *path, char hex[65]);

/* Extracts archive `path` into `dest`, which must not exist yet (created
 * 0700; its parent must exist). Every entry is checked first by
 * snap_entry_check, then written with libarchive's secure-extraction flags.
 * uid/gid >= 0: the files are owned by that account (needs root).
 * On failure dest is removed again: 0, or GH_EINVAL (a bad entry, named in
 * why) / GH_EIO. */
int snap_extract(const char *path, const char *dest, int uid, int gid, char *why, size_t whylen);

/* Removes a tree (never following symlinks). 0 or GH_EIO; a missing path
 * is not an error. */
int snap_rmtree(const char *path);

#endif
