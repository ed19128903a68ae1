/*
 * rt_local_usage.c — what a local workspace is using: its processes and
 * their CPU time, for the idle monitor (hub_idle.c), and the tree that
 * rejoin moves into a cgroup and a checkpoint dumps.
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
 * A pass may serve several calls: see snap.
 * Times are in clock ticks (sysconf(_SC_CLK_TCK)). A process whose
 * parent chain is deeper than 64 levels is not counted.
 */
#include "runtime/local/rt_local.h"
#include "common/err.h"

#include "common/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	int pid, ppid;
	unsigned long long start;
	int64_t ticks;
} proc_t;

/* The latest pass over /proc. A caller that accepts a pass of some age
 * (max_age_ms of rt_local_usage) is answered from it while it is that
 * young: the idle monitor polls every workspace in the same tick, and a
 * pass per workspace would cost workspaces x processes reads. A caller
 * that acts on the tree (rejoin, a checkpoint) asks for 0 and gets a pass
 * of its own, which sees a process forked a moment ago. */
static struct {
	pthread_mutex_t lock;
	proc_t *v;
	int n, cap;
	int64_t at;                      /* monotonic ms of the pass, 0 = none */
} snap = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

/* The age of a pass is measured on the monotonic clock: a wall clock set
 * back would keep an old pass young. Never 0 (that is "no pass"). */
static int64_t mono_ms(void)
{
	int64_t ms = gh_mono_ns() / 1000000;
	return ms > 0 ? ms : 1;
}

/* Reads ppid, starttime and CPU ticks of pid. 0 or -1. */
static int read_stat(int pid, int *ppid, unsigned long long *start, int64_t *ticks, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st, cut, cst;
	int pp, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
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

/* A new pass over /proc into snap (lock held). 0 or an error. */
static int snap_take(void)
{
	DIR *d;
	struct dirent *de;

	if (!(d = opendir("/proc")))
		return GH_EIO;
	snap.n = 0;
	while ((de = readdir(d))) {
		int pid, pp;
		int64_t t;
		unsigned long long start;
		char st;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (read_stat(pid, &pp, &start, &t, &st) != 0 || st == 'Z' || st == 'X')
			continue; /* gone, or a zombie waiting for its parent */
		if (gh_grow((void **)&snap.v, &snap.cap, snap.n + 1, sizeof(*snap.v))) {
			closedir(d);
			snap.at = 0;
			return GH_ENOMEM;
		}
		snap.v[snap.n++] = (proc_t){.pid = pid, .ppid = pp, .start = start, .ticks = t};
	}
	closedir(d);
	qsort(snap.v, (size_t)snap.n, sizeof(*snap.v), by_pid);
	snap.at = mono_ms();
	return 0;
}

int rt_local_usage(gh_rt_t *rt, const char *ref, int max_age_ms, rt_usage_t *out)
{
	int leader, i, k, fresh = 0, rc;
	unsigned long long want;
	int64_t ticks = 0, hz = sysconf(_SC_CLK_TCK), now = mono_ms();
	const proc_t *v;
	char *end;
	(void)rt;

	out->npids = 0;
	out->cpu_usec = 0;
	leader = (int)strtol(ref, &end, 10);
	if (leader <= 1 || *end != ':')
		return GH_EINVAL;
	want = strtoull(end + 1, NULL, 10);
	pthread_mutex_lock(&snap.lock);
	if (max_age_ms <= 0 || !snap.at || now - snap.at >= max_age_ms) {
		if ((rc = snap_take())) {
			pthread_mutex_unlock(&snap.lock);
			return rc;
		}
		fresh = 1;
	}
	k = find(snap.v, snap.n, leader);
	if (k >= 0 && !fresh) {
		/* an older pass: the leader itself must still be there */
		int pp;
		int64_t t;
		unsigned long long start;
		char st;
		if (read_stat(leader, &pp, &start, &t, &st) != 0 || st == 'Z' || st == 'X' || start != want)
			k = -1;
	}
	if ((k < 0 || snap.v[k].start != want) && !fresh) {
		/* started after the pass, or ended or reused since: look again */
		if ((rc = snap_take())) {
			pthread_mutex_unlock(&snap.lock);
			return rc;
		}
		k = find(snap.v, snap.n, leader);
	}
	if (k < 0 || snap.v[k].start != want) {
		pthread_mutex_unlock(&snap.lock);
		return GH_ENOTFOUND; /* gone, or a recycled pid */
	}
	v = snap.v;
	for (i = 0; i < snap.n; i++) {
		int p = v[i].pid, depth = 0, j;
		while (p != leader && p > 1 && depth++ < 64 && (j = find(v, snap.n, p)) >= 0)
			p = v[j].ppid;
		if (p != leader)
			continue;
		ticks += v[i].ticks;
		if (out->npids < RT_USAGE_PIDS_MAX)
			out->pids[out->npids++] = v[i].pid;
	}
	pthread_mutex_unlock(&snap.lock);
	out->cpu_usec = hz > 0 ? ticks * 1000000 / hz : 0;
	return 0;
}
