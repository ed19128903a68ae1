/*
 * gpu_sim_report.c — usage reports for the simulated GPUs: where they live,
 * how a process writes one, and how the simulator reads them all.
 *
 * Why files: a simulated GPU has no driver to ask which processes use it,
 * so the processes say so themselves, from any language, with nothing but
 * a write and a rename; the hub reads them where it would ask NVML.
 *
 * Files: <state_dir>/gpu-sim/reports/<pid> (the hub hands sessions that
 * directory in GPUHUB_SIM_REPORT_DIR; docs/gpu.md has examples).
 *
 *   part       | rule
 *   -----------+--------------------------------------------------------------
 *   file name  | the reporting process's pid in decimal; other names are
 *              | ignored (reporters write ".<pid>.tmp" then rename(2) it)
 *   line       | "gpu=<index> util=<0..100> mem_mib=<MiB>", one per device
 *              | used; keys in any order, separated by blanks; unknown keys
 *              | ignored; util missing = unknown (-1), mem_mib missing = 0;
 *              | util above 100 counts as 100
 *   comments   | blank lines and lines starting with '#' are skipped
 *   bad line   | (no gpu=, gpu out of range, not a number) is skipped
 *   same gpu   | twice in one file: the lines add up
 *   size       | at most 4096 bytes, else the whole file is ignored
 *   freshness  | ignored, and removed, when older than 10 s by mtime: a
 *              | reporter rewrites (or touches) its file every few seconds
 *   liveness   | ignored, and removed, when kill(pid, 0) fails with ESRCH
 *   owner      | ignored unless owned by root or by the pid's owner, so one
 *              | user cannot report for another user's process
 *
 * The directory is created sticky and world-writable (01777, like /tmp)
 * because sessions run under their users' own accounts.
 */
#include "gpu/gpu.h"
#include "gpu/sim/gpu_sim_int.h"
#include "common/err.h"
#include "common/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIM_STALE_MS       10000    /* a report older than this is ignored */
#define SIM_TMP_STALE_MS   60000    /* a leftover temp file older than this is removed */
#define SIM_REPORT_MAX     4096     /* bytes per report file */
#define SIM_REPORT_LINES   64       /* entries a writer may put in one report */
#define SIM_MAX_FILES      4096     /* report files looked at per scan */
#define SIM_SUBDIR         "gpu-sim"
#define SIM_REPORTS        "gpu-sim/reports"

/* ---- report directory ----------------------------------------------------- */

int gpu_sim_report_dir(const char *state_dir, char *out, size_t outlen)
{
	int len;
	if (!state_dir || !state_dir[0] || !out || !outlen)
		return GH_EINVAL;
	len = snprintf(out, outlen, "%s/%s", state_dir, SIM_REPORTS);
	if (len < 0 || (size_t)len >= outlen) {
		out[0] = '\0';
		return GH_ETOOBIG;
	}
	return 0;
}

static int sim_mkdir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0)
		return chmod(path, mode) == 0 ? 0 : GH_EIO;   /* umask must not narrow it */
	return errno == EEXIST ? 0 : GH_EIO;
}

int sim_report_ensure_dir(const char *state_dir, char *dir, size_t dirlen,
                          char *errmsg, size_t errlen)
{
	char sub[PATH_MAX];
	int rc = gpu_sim_report_dir(state_dir, dir, dirlen);

	if (rc != 0 || (size_t)snprintf(sub, sizeof(sub), "%s/%s", state_dir, SIM_SUBDIR) >= sizeof(sub)) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "state directory path \"%s\" is too long", state_dir);
		return rc ? rc : GH_ETOOBIG;
	}
	if (sim_mkdir(sub, 0755) != 0 || sim_mkdir(dir, 01777) != 0) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "cannot create the GPU report directory %s: %s",
			         dir, strerror(errno));
		return GH_EIO;
	}
	return 0;
}

/* ---- writing a report ----------------------------------------------------- */

static int sim_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return GH_EIO;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int sim_format_report(char *buf, size_t cap, const gh_gpu_proc_t *procs, int n)
{
	size_t len = 0;
	int i, w;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		const gh_gpu_proc_t *p = &procs[i];
		if (p->gpu_index < 0 || p->gpu_index >= SIM_MAX_DEVICES ||
		    p->util_pct < -1 || p->util_pct > 100 || p->memory_mib < 0)
			return GH_EINVAL;
		if (p->util_pct >= 0)
			w = snprintf(buf + len, cap - len, "gpu=%d util=%d mem_mib=%lld\n",
			             p->gpu_index, p->util_pct, (long long)p->memory_mib);
		else
			w = snprintf(buf + len, cap - len, "gpu=%d mem_mib=%lld\n",
			             p->gpu_index, (long long)p->memory_mib);
		if (w < 0 || (size_t)w >= cap - len)
			return GH_ETOOBIG;
		len += (size_t)w;
	}
	return (int)len;
}

int gpu_sim_report_write(const char *state_dir, int pid, const gh_gpu_proc_t *procs, int n)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32], dst[PATH_MAX + 16], buf[SIM_REPORT_MAX];
	int fd, len, rc;

	if (!state_dir || !state_dir[0] || pid <= 0 || n < 0 || n > SIM_REPORT_LINES ||
	    (n > 0 && !procs))
		return GH_EINVAL;
	len = sim_format_report(buf, sizeof(buf), procs, n);
	if (len < 0)
		return len == GH_ETOOBIG ? GH_EINVAL : len;
	rc = sim_report_ensure_dir(state_dir, dir, sizeof(dir), NULL, 0);
	if (rc != 0)
		return rc == GH_ETOOBIG ? GH_EINVAL : GH_EIO;
	snprintf(tmp, sizeof(tmp), "%s/.%d.%d.tmp", dir, pid, (int)getpid());
	snprintf(dst, sizeof(dst), "%s/%d", dir, pid);

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return GH_EIO;
	rc = sim_write_all(fd, buf, (size_t)len);
	if (close(fd) != 0 && rc == 0)
		rc = GH_EIO;
	if (rc == 0 && rename(tmp, dst) != 0)
		rc = GH_EIO;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* ---- reading reports ------------------------------------------------------ */

/* Strict decimal: digits only, value <= max. -1 on anything else. */
static long long sim_num(const char *s, size_t len, long long max)
{
	long long v = 0;
	size_t i;
	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* Parses one report line into e (gpu, util, mem). 1 = an entry, 0 = skip. */
static int sim_parse_line(const char *line, size_t len, int ndev, sim_entry_t *e)
{
	size_t i = 0;
	long long v;

	e->gpu = -1;
	e->util = -1;
	e->mem = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	while (i < len) {
		size_t start = i, eq = 0;
		while (i < len && line[i] != ' ' && line[i] != '\t') {
			if (line[i] == '=' && !eq)
				eq = i;
			i++;
		}
		if (!eq)
			return 0;
		v = sim_num(line + eq + 1, i - eq - 1, (long long)1 << 40);
		if (eq - start == 3 && memcmp(line + start, "gpu", 3) == 0) {
			if (v < 0 || v >= ndev)
				return 0;
			e->gpu = (int)v;
		} else if (eq - start == 4 && memcmp(line + start, "util", 4) == 0) {
			if (v < 0)
				return 0;
			e->util = v > 100 ? 100 : (int)v;
		} else if (eq - start == 7 && memcmp(line + start, "mem_mib", 7) == 0) {
			if (v < 0)
				return 0;
			e->mem = v;
		}
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
	}
	return e->gpu >= 0;
}

static int sim_list_add(sim_list_t *l, const sim_entry_t *e)
{
	int i;
	for (i = l->n - 1; i >= 0 && l->v[i].pid == e->pid; i--) {
		if (l->v[i].gpu == e->gpu) {     /* same pid and gpu: lines add up */
			if (e->util >= 0)
				l->v[i].util = (l->v[i].util < 0 ? 0 : l->v[i].util) + e->util;
			if (l->v[i].util > 100)
				l->v[i].util = 100;
			l->v[i].mem += e->mem;
			return 0;
		}
	}
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 32;
		sim_entry_t *nv = realloc(l->v, (size_t)cap * sizeof(*nv));
		if (!nv)
			return GH_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return 0;
}

static int64_t sim_mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* Is the report's owner allowed to speak for pid? Root, or pid's owner.
 * Where /proc cannot tell, the report is believed. */
static int sim_owner_ok(int pid, uid_t file_uid)
{
	char path[32];
	struct stat st;
	if (file_uid == 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st) != 0)
		return 1;
	return st.st_uid == file_uid;
}

/* Reads one report (name is already known to be a pid). */
static int sim_read_report(int dfd, const char *name, int pid, int ndev,
                           int64_t now, sim_list_t *l)
{
	char buf[SIM_REPORT_MAX + 1];
	struct stat st;
	ssize_t len;
	size_t off = 0;
	int fd, rc = 0;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;                        /* gone meanwhile, or not ours to read */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if (now - sim_mtime_ms(&st) > SIM_STALE_MS ||
	    (kill(pid, 0) != 0 && errno == ESRCH)) {
		unlinkat(dfd, name, 0);
		goto out;
	}
	if (!sim_owner_ok(pid, st.st_uid))
		goto out;
	len = read(fd, buf, sizeof(buf));
	if (len < 0 || len > SIM_REPORT_MAX)
		goto out;
	while (off < (size_t)len && rc == 0) {
		const char *nl = memchr(buf + off, '\n', (size_t)len - off);
		size_t end = nl ? (size_t)(nl - buf) : (size_t)len;
		sim_entry_t e;
		if (sim_parse_line(buf + off, end - off, ndev, &e)) {
			e.pid = pid;
			rc = sim_list_add(l, &e);
		}
		off = end + 1;
	}
out:
	close(fd);
	return rc;
}

static int sim_entry_cmp(const void *a, const void *b)
{
	const sim_entry_t *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

int sim_report_scan(const char *dir, int ndev, sim_list_t *l)
{
	DIR *d;
	struct dirent *de;
	int64_t now = gh_now_ms();
	int files = 0, rc = 0;

	memset(l, 0, sizeof(*l));
	if (!dir[0])
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : GH_EIO;
	while (rc == 0 && files < SIM_MAX_FILES && (de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		long long pid;
		if (name[0] == '.') {
			struct stat st;
			if (strcmp(name, ".") && strcmp(name, "..") &&
			    fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    now - sim_mtime_ms(&st) > SIM_TMP_STALE_MS)
				unlinkat(dirfd(d), name, 0);
			continue;
		}
		pid = sim_num(name, strlen(name), INT_MAX);
		if (pid <= 0)
			continue;
		files++;
		rc = sim_read_report(dirfd(d), name, (int)pid, ndev, now, l);
	}
	closedir(d);
	if (rc != 0) {
		free(l->v);
		memset(l, 0, sizeof(*l));
		return rc;
	}
	if (l->n > 1)
		qsort(l->v, (size_t)l->n, sizeof(*l->v), sim_entry_cmp);
	return 0;
}
