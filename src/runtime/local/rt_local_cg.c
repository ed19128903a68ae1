/*
 * rt_local_cg.c — one cgroup per workspace for the local engine, so that
 * memory, CPU and process limits apply to its whole process tree and so
 * that a stop can find (and freeze and kill) every process it made, even
 * those that left its process group or pid namespace bookkeeping.
 *
 * v2 (/sys/fs/cgroup/cgroup.controllers exists): /sys/fs/cgroup/gpuhub/s<id>
 * with memory.max, cpu.max, pids.max; stop uses cgroup.kill when present,
 * else cgroup.freeze + SIGKILL to each member.
 * v1: the same path under each of the memory, cpu, pids and freezer
 * hierarchies that is mounted; limits in memory.limit_in_bytes,
 * cpu.cfs_quota_us, pids.max; stop freezes (freezer.state) and kills.
 * Where none of this is writable, a warning is logged once and workspaces
 * run without cgroups.
 */
#include "runtime/local/rt_local.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CG_BASE "gpuhub"

static const char *const v1_name[RT_CG_NCTL] = {"memory", "cpu", "pids", "freezer"};

void rt_cg_init(rt_cg_t *cg)
{
	char path[256];
	int i;

	memset(cg, 0, sizeof(*cg));
	pthread_mutex_init(&cg->lock, NULL);
	if (access(CG_ROOT "/cgroup.controllers", F_OK) == 0) {
		cg->mode = RT_CG_V2;
		return;
	}
	for (i = 0; i < RT_CG_NCTL; i++) {
		snprintf(path, sizeof(path), CG_ROOT "/%s/cgroup.procs", v1_name[i]);
		if (access(path, F_OK) == 0) {
			cg->have[i] = 1;
			cg->mode = RT_CG_V1;
		}
	}
}

void rt_cg_fini(rt_cg_t *cg) { pthread_mutex_destroy(&cg->lock); }

static void warn_once(rt_cg_t *cg, unsigned bit, const char *what, const char *path, int e)
{
	int first;

	pthread_mutex_lock(&cg->lock);
	first = !(cg->warned & bit);
	cg->warned |= bit;
	pthread_mutex_unlock(&cg->lock);
	if (first)
		GH_WARN("runtime local: %s (%s: %s)", what, path, strerror(e));
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), e;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -e;
}

/* Directory of rel in hierarchy ctl (v1) or in the v2 tree (ctl < 0). */
static void cg_dir(const rt_cg_t *cg, int ctl, const char *rel, char *out, size_t len)
{
	if (cg->mode == RT_CG_V2 || ctl < 0)
		snprintf(out, len, CG_ROOT "%s", rel);
	else
		snprintf(out, len, CG_ROOT "/%s%s", v1_name[ctl], rel);
}

int rt_cg_valid_rel(const char *rel)
{
	const char *p;

	if (strncmp(rel, "/" CG_BASE "/", sizeof(CG_BASE) + 1) != 0 || !rel[sizeof(CG_BASE) + 1])
		return 0;
	for (p = rel + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-' || *p == '/'))
			return 0;
	return strstr(rel, "//") == NULL;
}

void rt_cg_join_close(rt_cg_join_t *join)
{
	for (int i = 0; i < join->n; i++)
		close(join->fd[i]);
	join->n = 0;
}

/* Sets one limit file; a missing controller is logged once. */
static void set_limit(rt_cg_t *cg, unsigned bit, const char *dir, const char *file, const char *val)
{
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	rc = write_str(path, val);
	if (rc != 0)
		warn_once(cg, bit, "a cgroup limit cannot be set here; it is not enforced", path, -rc);
}

static void apply_limits(rt_cg_t *cg, int ctl, const char *dir, const rt_spec_t *spec)
{
	char v[64];
	int v2 = cg->mode == RT_CG_V2;

	if (spec->memory_mib > 0 && (v2 || ctl == RT_CG_MEMORY)) {
		snprintf(v, sizeof(v), "%lld", (long long)spec->memory_mib * 1024 * 1024);
		set_limit(cg, 1u << 4, dir, v2 ? "memory.max" : "memory.limit_in_bytes", v);
	}
	if (spec->cpu_milli > 0 && (v2 || ctl == RT_CG_CPU)) {
		if (v2) {
			snprintf(v, sizeof(v), "%lld 100000", (long long)spec->cpu_milli * 100);
			set_limit(cg, 1u << 5, dir, "cpu.max", v);
		} else {
			set_limit(cg, 1u << 5, dir, "cpu.cfs_period_us", "100000");
			snprintf(v, sizeof(v), "%lld", (long long)spec->cpu_milli * 100);
			set_limit(cg, 1u << 5, dir, "cpu.cfs_quota_us", v);
		}
	}
	if (spec->max_pids > 0 && (v2 || ctl == RT_CG_PIDS)) {
		snprintf(v, sizeof(v), "%d", spec->max_pids);
		set_limit(cg, 1u << 6, dir, "pids.max", v);
	}
}

/* mkdir that accepts an existing directory. */
static int mkdir_ok(const char *path) { return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -errno; }
int rt_cg_join_open(rt_cg_t *cg, const char *rel, rt_cg_join_t *join)
{
	char dir[256], path[512];
	int fd;

	join->n = 0;
	if (cg->mode == RT_CG_NONE || !rt_cg_valid_rel(rel))
		return GH_ENOTFOUND;
	for (int i = cg->mode == RT_CG_V2 ? -1 : 0; i < RT_CG_NCTL; i++) {
		if (i >= 0 && (cg->mode == RT_CG_V2 || !cg->have[i]))
			continue;
		cg_dir(cg, i, rel, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0)
			join->fd[join->n++] = fd;
		if (cg->mode == RT_CG_V2)
			break;
	}
	return join->n > 0 ? 0 : GH_ENOTFOUND;
}

/* Creates rel in one tree (ctl for v1, -1 for v2) and opens its cgroup.procs. */
static int create_one(rt_cg_t *cg, int ctl, const char *rel, const rt_spec_t *spec, rt_cg_join_t *join)
{
	char base[256], dir[256], path[512];
	int rc, fd;

	cg_dir(cg, ctl, "/" CG_BASE, base, sizeof(base));
	cg_dir(cg, ctl, rel, dir, sizeof(dir));
	if ((rc = mkdir_ok(base)) != 0) {
		warn_once(cg, 1u << 0, "cgroups are not writable here; workspaces run without limits", base, -rc);
		return GH_EUNSUPPORTED;
	}
	if (cg->mode == RT_CG_V2) {
		/* let the children of gpuhub/ have the controllers (each may be missing) */
		static const char *const ctls[] = {"+memory", "+cpu", "+pids"};
		for (size_t i = 0; i < sizeof(ctls) / sizeof(ctls[0]); i++) {
			(void)write_str(CG_ROOT "/cgroup.subtree_control", ctls[i]);
			snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
			(void)write_str(path, ctls[i]);
		}
	}
	if ((rc = mkdir_ok(dir)) != 0) {
		warn_once(cg, 1u << 1, "cannot create a workspace cgroup; running without", dir, -rc);
		return GH_EUNSUPPORTED;
	}
	apply_limits(cg, ctl, dir, spec);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		warn_once(cg, 1u << 2, "cannot open a workspace cgroup; running without", path, errno);
		rmdir(dir);
		return GH_EUNSUPPORTED;
	}
	join->fd[join->n++] = fd;
	return 0;
}

static int cg_make(rt_cg_t *cg, const rt_spec_t *spec, char *rel, size_t rellen, rt_cg_join_t *join, int keep)
{
	int ok = 0, i;

	join->n = 0;
	if (cg->mode == RT_CG_NONE) {
		warn_once(cg, 1u << 3, "no cgroup hierarchy found; workspaces run without limits", CG_ROOT, ENOENT);
		return GH_EUNSUPPORTED;
	}
	pthread_mutex_lock(&cg->lock);
	ok = !cg->unusable;
	pthread_mutex_unlock(&cg->lock);
	if (!ok)
		return GH_EUNSUPPORTED;
	ok = 0;
	snprintf(rel, rellen, "/" CG_BASE "/s%lld", (long long)spec->session_id);
	/* a cgroup left by an earlier start of the same session: empty it first
	 * (unless its members are the ones to keep) */
	if (!keep) {
		int *pids = NULL;
		if (rt_cg_pids(cg, rel, &pids) > 0)
			rt_cg_kill(cg, rel);
		free(pids);
	}
	if (cg->mode == RT_CG_V2) {
		ok = create_one(cg, -1, rel, spec, join) == 0;
	} else {
		for (i = 0; i < RT_CG_NCTL; i++)
			if (cg->have[i] && create_one(cg, i, rel, spec, join) == 0)
				ok = 1;
	}
	if (!ok) {
		pthread_mutex_lock(&cg->lock);
		cg->unusable = 1;
		pthread_mutex_unlock(&cg->lock);
		rt_cg_join_close(join);
		return GH_EUNSUPPORTED;
	}
	return 0;
}

int rt_cg_create(rt_cg_t *cg, const rt_spec_t *spec, char *rel, size_t rellen, rt_cg_join_t *join)
{
	return cg_make(cg, spec, rel, rellen, join, 0);
}

int rt_cg_enter(rt_cg_t *cg, const rt_spec_t *spec, char *rel, size_t rellen, rt_cg_join_t *join)
{
	return cg_make(cg, spec, rel, rellen, join, 1);
}

/* The tree whose cgroup.procs lists the members (v1: first one present). */
static int procs_path(const rt_cg_t *cg, const char *rel, char *out, size_t len)
{
	char dir[256];
	int i;

	if (cg->mode == RT_CG_V2) {
		cg_dir(cg, -1, rel, dir, sizeof(dir));
		snprintf(out, len, "%s/cgroup.procs", dir);
		return access(out, F_OK) == 0 ? 0 : GH_ENOTFOUND;
	}
	for (i = 0; i < RT_CG_NCTL; i++) {
		if (!cg->have[i])
			continue;
		cg_dir(cg, i, rel, dir, sizeof(dir));
		snprintf(out, len, "%s/cgroup.procs", dir);
		if (access(out, F_OK) == 0)
			return 0;
	}
	return GH_ENOTFOUND;
}

int rt_cg_pids(rt_cg_t *cg, const char *rel, int **out)
{
	char path[512];
	FILE *f;
	int *v = NULL, n = 0, cap = 0, pid;

	*out = NULL;
	if (!rt_cg_valid_rel(rel) || procs_path(cg, rel, path, sizeof(path)) != 0)
		return GH_ENOTFOUND;
	f = fopen(path, "re");
	if (!f)
		return GH_ENOTFOUND;
	while (fscanf(f, "%d", &pid) == 1) {
		if (n == cap) {
			int *nv = realloc(v, (size_t)(cap ? cap * 2 : 16) * sizeof(*v));
			if (!nv) {
				fclose(f);
				free(v);
				return GH_ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[n++] = pid;
	}
	fclose(f);
	*out = v;
	return n;
}

int rt_cg_signal(rt_cg_t *cg, const char *rel, int sig, const int *skip, int nskip)
{
	int *pids, n, i, j;

	n = rt_cg_pids(cg, rel, &pids);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		for (j = 0; j < nskip && skip[j] != pids[i]; j++)
			;
		if (j == nskip)
			kill(pids[i], sig);
	}
	free(pids);
	return 0;
}

static void freeze(const rt_cg_t *cg, const char *rel, int on)
{
	char dir[256], path[512];

	if (cg->mode == RT_CG_V2) {
		cg_dir(cg, -1, rel, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
		(void)write_str(path, on ? "1" : "0");
	} else if (cg->have[RT_CG_FREEZER]) {
		cg_dir(cg, RT_CG_FREEZER, rel, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/freezer.state", dir);
		(void)write_str(path, on ? "FROZEN" : "THAWED");
	}
}

int rt_cg_kill(rt_cg_t *cg, const char *rel)
{
	char dir[256], path[512];
	struct timespec ts = {0, 2 * 1000 * 1000};
	int *pids, n, i, round;

	if (!rt_cg_valid_rel(rel))
		return GH_EINVAL;
	if (cg->mode == RT_CG_V2) {
		cg_dir(cg, -1, rel, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
		if (write_str(path, "1") == 0)
			return 0;
	}
	/* frozen members cannot fork while we kill them one by one */
	for (round = 0; round < 20; round++) {
		n = rt_cg_pids(cg, rel, &pids);
		if (n <= 0) {
			free(pids);
			return n < 0 && round == 0 ? n : 0;
		}
		freeze(cg, rel, 1);
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		free(pids);
		freeze(cg, rel, 0);
		nanosleep(&ts, NULL);
	}
	return 0;
}

int rt_cg_remove(rt_cg_t *cg, const char *rel)
{
	char dir[256];
	int i, rc = 0;

	if (!rt_cg_valid_rel(rel))
		return GH_EINVAL;
	if (cg->mode == RT_CG_V2) {
		cg_dir(cg, -1, rel, dir, sizeof(dir));
		return rmdir(dir) == 0 || errno == ENOENT ? 0 : GH_EIO;
	}
	for (i = 0; i < RT_CG_NCTL; i++) {
		if (!cg->have[i])
			continue;
		cg_dir(cg, i, rel, dir, sizeof(dir));
		if (rmdir(dir) != 0 && errno != ENOENT)
			rc = GH_EIO;
	}
	return rc;
}
