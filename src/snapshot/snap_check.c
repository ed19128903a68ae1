/*
 * snap_check.c — what an archive entry may be (see snap.h for the layout).
 *
 * A name is split into components; each must be non-empty and neither "."
 * nor "..", the first must be "work" or "home". A symlink target is
 * resolved lexically from the link's own directory: relative, and never
 * climbing above the link's top-level area. Worked example, for the link
 * work/a/b/l:
 *
 *   target          | resolved         | verdict
 *   ----------------+------------------+-----------------------------
 *   ../c            | work/a/c         | kept
 *   ../../x         | work/x           | kept
 *   ../../../x      | (above work/)    | refused: leads out of work/
 *   /etc/passwd     | —                | refused: absolute
 *
 * Hard links are refused outright (a link to a name elsewhere on the disk
 * is the classic way out, and the hub never writes them); so are devices,
 * FIFOs and sockets.
 */
#include "snapshot/snap.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SNAP_NAME_MAX 4096

int snap_rel_path_ok(const char *p)
{
	size_t n;
	const char *c = p, *slash;

	if (!p || !p[0] || p[0] == '/' || strlen(p) > 255)
		return 0;
	for (;;) {
		slash = strchr(c, '/');
		n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)c[i] < 0x20)
				return 0;
		if (!slash)
			return 1;
		c = slash + 1;
	}
}

/* Copies name without a trailing '/' into clean and counts its
 * components; 0 when it is empty or too long. */
static int depth_of(const char *name, char *clean, size_t cleanlen)
{
	size_t len = strlen(name);
	int d = 1;

	if (len == 0 || len >= cleanlen)
		return 0;
	memcpy(clean, name, len + 1);
	if (len > 1 && clean[len - 1] == '/')
		clean[--len] = '\0';
	for (const char *c = clean; *c; c++) {
		if (*c == '/')
			d++;
	}
	return d;
}

/* Component-wise check that also allows long names (snap_rel_path_ok
 * caps at 255 for user-given home paths). */
static int name_clean(const char *p)
{
	const char *c = p, *slash;
	size_t n;

	if (!p[0] || p[0] == '/')
		return 0;
	for (;;) {
		slash = strchr(c, '/');
		n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (!slash)
			return 1;
		c = slash + 1;
	}
}

/* Does a relative target, seen from a link `depth` components deep (the
 * area counts as 1), stay inside the area? */
static int link_stays_inside(int depth, const char *target)
{
	int level = depth - 2; /* the link's directory, in levels below the area */
	const char *c = target, *slash;
	size_t n;

	if (!target[0] || target[0] == '/')
		return 0;
	for (;;) {
		slash = strchr(c, '/');
		n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (--level < 0)
				return 0;
		} else if (n > 0 && !(n == 1 && c[0] == '.')) {
			level++;
		}
		if (!slash)
			return 1;
		c = slash + 1;
	}
}

int snap_entry_check(const char *name, mode_t type, const char *link, const char *hardlink, char *why,
                     size_t whylen)
{
	char clean[SNAP_NAME_MAX];
	int depth;

	if (!name || !name[0]) {
		snprintf(why, whylen, "an archive entry has no name");
		return GH_EINVAL;
	}
	if (name[0] == '/') {
		snprintf(why, whylen, "archive entry '%.200s' has an absolute name", name);
		return GH_EINVAL;
	}
	depth = depth_of(name, clean, sizeof(clean));
	if (depth == 0 || !name_clean(clean)) {
		snprintf(why, whylen, "archive entry '%.200s' has an empty, '.' or '..' component", name);
		return GH_EINVAL;
	}
	if (strncmp(clean, "work", 4) != 0 && strncmp(clean, "home", 4) != 0) {
		snprintf(why, whylen, "archive entry '%.200s' is outside work/ and home/", name);
		return GH_EINVAL;
	}
	if (clean[4] != '\0' && clean[4] != '/') {
		snprintf(why, whylen, "archive entry '%.200s' is outside work/ and home/", name);
		return GH_EINVAL;
	}
	if (hardlink) {
		snprintf(why, whylen, "archive entry '%.200s' is a hard link (to '%.200s'), which snapshots never hold",
		         name, hardlink);
		return GH_EINVAL;
	}
	switch (type & S_IFMT) {
	case S_IFDIR:
		return 0;
	case S_IFREG:
		if (depth == 1) {
			snprintf(why, whylen, "archive entry '%.200s' must be a directory", name);
			return GH_EINVAL;
		}
		return 0;
	case S_IFLNK:
		if (depth == 1) {
			snprintf(why, whylen, "archive entry '%.200s' must be a directory", name);
			return GH_EINVAL;
		}
		if (!link || !link[0] || link[0] == '/') {
			snprintf(why, whylen, "archive entry '%.200s' is a symbolic link to an absolute path '%.200s'",
			         name, link ? link : "");
			return GH_EINVAL;
		}
		if (!link_stays_inside(depth, link)) {
			snprintf(why, whylen, "archive entry '%.200s' is a symbolic link leading out of %.4s/ ('%.200s')",
			         name, clean, link);
			return GH_EINVAL;
		}
		return 0;
	case S_IFCHR:
	case S_IFBLK:
		snprintf(why, whylen, "archive entry '%.200s' is a device node", name);
		return GH_EINVAL;
	case S_IFIFO:
		snprintf(why, whylen, "archive entry '%.200s' is a FIFO", name);
		return GH_EINVAL;
	case S_IFSOCK:
		snprintf(why, whylen, "archive entry '%.200s' is a socket", name);
		return GH_EINVAL;
	default:
		snprintf(why, whylen, "archive entry '%.200s' has an unsupported type", name);
		return GH_EINVAL;
	}
}
