/*
 * rt_local_usage.c — what a local workspace is using: its processes and
 * their CPU time, for the idle monitor (hub_idle.c).
 *
 * A workspace is every process that descends from its leader (the pid of
 * the handle). Kernels and terminals that start a session of their own
 * (Jupyter starts kernels with setsid) still descend from it, which is
 * why the process tree is followed rather than the session or group id.
 * One pass over /proc reads each process's parent and CPU times:
 *
 *   /proc/<pid>/stat field | used for
 *   -----------------------+-----------------------------------------
 *   4  ppid                | the tree
 *   14, 15 utime, stime    | CPU time of the process
 *   16, 17 cutime, cstime  | CPU time of children it waited for
 *   22 starttime           | the leader is the one of the handle
 *
 * Times are in clock ticks (sysconf(_SC_CLK_TCK)). A process whose
 * parent chain is deeper than 64 levels is not counted.
 */
#include "runtime/local/rt_local.h"
#include "common/err.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	int pid, ppid;
	int64_t ticks;
} proc_t;

/* Reads ppid, starttime and CPU ticks of pid. 0 or -1. */
static int read_stat(int pid, int *ppid, unsigned long long *start, int64_t *ticks, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st, cut, cst;
	int pp;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')))
		return -1;
	/* after ") ": state(3) ppid(4) pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime(14) stime cutime cstime priority nice threads
	 * itrealvalue starttime(22) */
	if (sscanf(p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu %*d %*d %*d %*d %llu",
	           state, &pp, &ut, &st, &cut, &cst, start) != 7)
		return -1;
	*ppid = pp;
	*ticks = (int64_t)(ut + st + cut + cst);
	return 0;
}

static int find(const proc_t *v, int n, int pid)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (v[mid].pid == pid)
			return mid;
		if (v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int by_pid(const void *a, const void *b)
{
	return ((const proc_t *)a)->pid - ((const proc_t *)b)->pid;
}

int rt_local_usage(gh_rt_t *rt, const char *ref, rt_usage_t *out)
{
	DIR *d;
	struct dirent *de;
	proc_t *v = NULL;
	int n = 0, cap = 0, leader, i;
	unsigned long long want, start;
	int64_t ticks = 0, hz = sysconf(_SC_CLK_TCK);
	char *end;
	(void)rt;

	out->npids = 0;
	out->cpu_usec = 0;
	leader = (int)strtol(ref, &end, 10);
	if (leader <= 1 || *end != ':')
		return GH_EINVAL;
	want = strtoull(end + 1, NULL, 10);
	if (!(d = opendir("/proc")))
		return GH_EIO;
	while ((de = readdir(d))) {
		int pid, pp;
		int64_t t;
		char st;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (read_stat(pid, &pp, &start, &t, &st) != 0 || st == 'Z' || st == 'X')
			continue; /* gone, or a zombie waiting for its parent */
		if (pid == leader && start != want)
			continue; /* a recycled pid */
		if (n == cap) {
			proc_t *nv = realloc(v, (size_t)(cap ? cap * 2 : 512) * sizeof(*v));
			if (!nv) {
				closedir(d);
				free(v);
				return GH_ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 512;
		}
		v[n].pid = pid;
		v[n].ppid = pp;
		v[n].ticks = t;
		n++;
	}
	closedir(d);
	qsort(v, (size_t)n, sizeof(*v), by_pid);
	if (find(v, n, leader) < 0) {
		free(v);
		return GH_ENOTFOUND;
	}
	for (i = 0; i < n; i++) {
		int p = v[i].pid, depth = 0, k;
		while (p != leader && p > 1 && depth++ < 64 && (k = find(v, n, p)) >= 0)
			p = v[k].ppid;
		if (p != leader)
			continue;
		ticks += v[i].ticks;
		if (out->npids < RT_USAGE_PIDS_MAX)
			out->pids[out->npids++] = v[i].pid;
	}
	free(v);
	out->cpu_usec = hz > 0 ? ticks * 1000000 / hz : 0;
	return 0;
}
