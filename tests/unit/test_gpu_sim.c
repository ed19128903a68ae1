/*
 * test_gpu_sim.c — the GPU inventory through its public wrappers, with the
 * simulated source: spec parsing, model memory, report files (live, dead,
 * stale, malformed), aggregation and caps, the telemetry model, fault
 * injection and events, and "auto" falling back when NVML is absent.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE                      /* nftw */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "gpu/gpu.h"

typedef struct {
	char dir[64];                    /* temporary state_dir */
	char reports[256];               /* its report directory */
	gh_gpu_src_t *src;               /* closed by teardown */
} fx_t;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int fx_setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/gh-test-gpu-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	if (gpu_sim_report_dir(fx->dir, fx->reports, sizeof(fx->reports)) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *fx = *state;
	gpu_close(fx->src);
	nftw(fx->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static gh_gpu_src_t *open_sim(fx_t *fx, const char *spec)
{
	char msg[256];
	int fb = -1;
	assert_int_equal(gpu_open(&fx->src, spec, NULL, fx->dir, &fb, msg, sizeof(msg)), 0);
	assert_non_null(fx->src);
	assert_int_equal(fb, 0);
	return fx->src;
}

static void write_raw(const fx_t *fx, const char *name, const char *text)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", fx->reports, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int report_exists(const fx_t *fx, int pid)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%d", fx->reports, pid);
	return access(path, F_OK) == 0;
}

static void report(const fx_t *fx, int pid, int gpu, int util, int64_t mem)
{
	gh_gpu_proc_t p = {.pid = pid, .gpu_index = gpu, .util_pct = util, .memory_mib = mem};
	assert_int_equal(gpu_sim_report_write(fx->dir, pid, &p, 1), 0);
}

static gh_gpu_telemetry_t telem(gh_gpu_src_t *src, int index)
{
	gh_gpu_telemetry_t t;
	assert_int_equal(gpu_telemetry(src, index, &t), 0);
	return t;
}

/* A child that stays alive until killed; returns its pid. */
static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* ---- spec parsing --------------------------------------------------------- */

static void test_spec_good(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:4");
	gh_gpu_info_t in;

	assert_string_equal(gpu_src_name(src), "sim");
	assert_int_equal(gpu_src_simulated(src), 1);
	assert_int_equal(gpu_count(src), 4);
	assert_int_equal(gpu_info(src, 3, &in), 0);
	assert_int_equal(in.index, 3);
	assert_string_equal(in.model, "A100-80GB");
	assert_int_equal(in.memory_mib, 81920);
	assert_int_equal(in.capacity_milli, 1000);
	assert_int_equal(in.sharing, GH_SHARE_EXCLUSIVE);
	assert_string_equal(in.uuid, "GPU-sim-0000-0000-0000-000000000003");
	gpu_close(src);

	src = fx->src = open_sim(fx, "sim:2xA100-40GB,1xT4");
	assert_int_equal(gpu_count(src), 3);
	assert_int_equal(gpu_info(src, 1, &in), 0);
	assert_string_equal(in.model, "A100-40GB");
	assert_int_equal(in.memory_mib, 40960);
	assert_int_equal(gpu_info(src, 2, &in), 0);
	assert_string_equal(in.model, "T4");
	assert_int_equal(in.memory_mib, 16384);
	assert_string_equal(in.uuid, "GPU-sim-0000-0000-0000-000000000002");
	gpu_close(src);

	/* Plain "sim" takes sim_default, or the built-in 4xA100-80GB. */
	assert_int_equal(gpu_open(&fx->src, "sim", "2xL4", fx->dir, NULL, NULL, 0), 0);
	assert_int_equal(gpu_count(fx->src), 2);
	assert_int_equal(gpu_info(fx->src, 0, &in), 0);
	assert_string_equal(in.model, "L4");
	assert_int_equal(in.memory_mib, 24576);
	gpu_close(fx->src);
	assert_int_equal(gpu_open(&fx->src, "sim", NULL, fx->dir, NULL, NULL, 0), 0);
	assert_int_equal(gpu_count(fx->src), 4);
	gpu_close(fx->src);
	fx->src = open_sim(fx, "sim:64xH100-80GB");
	assert_int_equal(gpu_count(fx->src), 64);
}

static void test_spec_bad(void **state)
{
	fx_t *fx = *state;
	static const char *const bad[] = {
		"bogus", "sim:0", "sim:-1", "sim:x", "sim:4x", "sim:4y", "sim:4xA100 80GB",
		"sim:4xA100/80GB", "sim:65", "sim:100000000000000000000", "sim:4,", "sim:,4",
		"sim:40,30", "sim:4xA100-80GB,,1", "auto:1", "nvml:2", "simx", "SIM:4",
		"sim:4xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gh_gpu_src_t *src = (gh_gpu_src_t *)1;
		msg[0] = '\0';
		if (gpu_open(&src, bad[i], NULL, fx->dir, NULL, msg, sizeof(msg)) != GH_EINVAL)
			fail_msg("spec \"%s\" was not refused", bad[i]);
		assert_null(src);
		if (!msg[0])
			fail_msg("spec \"%s\" was refused without a message", bad[i]);
	}
	assert_int_equal(gpu_open(NULL, "sim:1", NULL, fx->dir, NULL, NULL, 0), GH_EINVAL);
	/* A default that is itself bad is refused too. */
	assert_int_equal(gpu_open(&fx->src, "sim", "0xT4", fx->dir, NULL, msg, sizeof(msg)), GH_EINVAL);
	assert_null(fx->src);
}

static void test_model_memory(void **state)
{
	fx_t *fx = *state;
	static const struct { const char *model; int64_t mib; } cases[] = {
		{"A100-80GB", 81920}, {"A100-40GB", 40960}, {"H100-80GB", 81920},
		{"V100-16GB", 16384}, {"V100-32GB", 32768}, {"T4", 16384}, {"A10", 24576},
		{"L4", 24576}, {"RTX-A6000", 49152}, {"H200", 144384}, {"l40s", 49152},
		{"Custom-12GB", 12288}, {"MysteryCard", 16384}, {"Foo-GB", 16384},
		{"X-0GB", 16384},
	};
	char spec[128];
	gh_gpu_info_t in;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(spec, sizeof(spec), "sim:1x%s", cases[i].model);
		assert_int_equal(gpu_open(&fx->src, spec, NULL, fx->dir, NULL, NULL, 0), 0);
		assert_int_equal(gpu_info(fx->src, 0, &in), 0);
		assert_string_equal(in.model, cases[i].model);
		if (in.memory_mib != cases[i].mib)
			fail_msg("%s: %lld MiB, expected %lld", cases[i].model,
			         (long long)in.memory_mib, (long long)cases[i].mib);
		gpu_close(fx->src);
		fx->src = NULL;
	}
}

/* ---- reports -------------------------------------------------------------- */

static void test_reports_aggregate(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:2xA100-80GB");
	gh_gpu_proc_t mine[2] = {
		{.gpu_index = 0, .util_pct = 60, .memory_mib = 1000},
		{.gpu_index = 1, .util_pct = 10, .memory_mib = 500},
	};
	gh_gpu_telemetry_t t;
	pid_t other = spawn_sleeper();

	t = telem(src, 0);
	assert_int_equal(t.util_pct, 0);
	assert_int_equal(t.memory_used_mib, 0);
	assert_int_equal(t.healthy, 1);

	assert_int_equal(gpu_sim_report_write(fx->dir, getpid(), mine, 2), 0);
	report(fx, other, 0, 70, 2000);

	t = telem(src, 0);
	assert_int_equal(t.util_pct, 100);              /* 60 + 70, capped */
	assert_int_equal(t.memory_used_mib, 3000);
	t = telem(src, 1);
	assert_int_equal(t.util_pct, 10);
	assert_int_equal(t.memory_used_mib, 500);

	/* The other process dies: its report no longer counts and is removed. */
	reap(other);
	t = telem(src, 0);
	assert_int_equal(t.util_pct, 60);
	assert_int_equal(t.memory_used_mib, 1000);
	assert_false(report_exists(fx, other));
	assert_true(report_exists(fx, getpid()));

	/* Rewriting replaces the report; an empty one means no use. */
	assert_int_equal(gpu_sim_report_write(fx->dir, getpid(), NULL, 0), 0);
	t = telem(src, 0);
	assert_int_equal(t.util_pct, 0);
	assert_int_equal(t.memory_used_mib, 0);
}

static void test_reports_dead_pid(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:1");
	gh_gpu_proc_t procs[4];
	int n = -1, st;
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, &st, 0), child);

	report(fx, child, 0, 90, 4000);
	assert_true(report_exists(fx, child));
	assert_int_equal(telem(src, 0).util_pct, 0);
	assert_int_equal(gpu_processes(src, 0, procs, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_false(report_exists(fx, child));
}

/* One scan serves a sweep over the devices, but never hides a new report:
 * reports are renamed into the directory, which changes it. */
static void test_reports_sweep(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:2");

	report(fx, getpid(), 0, 30, 100);
	assert_int_equal(telem(src, 0).util_pct, 30);
	assert_int_equal(telem(src, 1).util_pct, 0);
	report(fx, getpid(), 1, 55, 200);
	assert_int_equal(telem(src, 1).util_pct, 55); /* the sweep's scan is not reused */
	assert_int_equal(telem(src, 1).memory_used_mib, 200);
	assert_int_equal(telem(src, 0).util_pct, 0);  /* the report now names GPU 1 only */
}

static void test_reports_stale(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:1");
	struct timeval old[2];
	char path[512];

	report(fx, getpid(), 0, 40, 100);
	assert_int_equal(telem(src, 0).util_pct, 40);

	gettimeofday(&old[0], NULL);
	old[0].tv_sec -= 11;
	old[1] = old[0];
	snprintf(path, sizeof(path), "%s/%d", fx->reports, (int)getpid());
	assert_int_equal(utimes(path, old), 0);
	assert_int_equal(telem(src, 0).util_pct, 0);
	assert_false(report_exists(fx, getpid()));

	/* A leftover temp file is ignored now and removed once old. */
	write_raw(fx, ".123.456.tmp", "gpu=0 util=50\n");
	assert_int_equal(telem(src, 0).util_pct, 0);
	snprintf(path, sizeof(path), "%s/.123.456.tmp", fx->reports);
	old[0].tv_sec -= 120;
	old[1] = old[0];
	assert_int_equal(utimes(path, old), 0);
	telem(src, 0);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_reports_memory_capped(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:1xT4");
	gh_gpu_proc_t p;
	int n = 0;

	report(fx, getpid(), 0, 5, 20000);
	assert_int_equal(telem(src, 0).memory_used_mib, 16384);
	assert_int_equal(gpu_processes(src, 0, &p, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p.memory_mib, 20000);            /* as reported */
}

static void test_reports_format(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:2");
	gh_gpu_proc_t procs[3] = {
		{.gpu_index = 1, .util_pct = 85, .memory_mib = 2048},
		{.gpu_index = 0, .util_pct = -1, .memory_mib = 0},
	};
	char path[512], buf[256];
	FILE *f;
	size_t len;
	int n = 0;

	assert_int_equal(gpu_sim_report_write(fx->dir, getpid(), procs, 2), 0);
	snprintf(path, sizeof(path), "%s/%d", fx->reports, (int)getpid());
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	assert_string_equal(buf, "gpu=1 util=85 mem_mib=2048\ngpu=0 mem_mib=0\n");
	assert_int_equal(gpu_processes(src, 0, procs, 3, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(procs[0].util_pct, -1);

	/* Hand-written: comments, blanks, junk, out-of-range gpu, repeats, extras. */
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	write_raw(fx, buf,
	          "# training job\n"
	          "\n"
	          "  gpu=0\tutil=30 mem_mib=100\n"
	          "nonsense\n"
	          "gpu=9 util=50\n"
	          "gpu=1 util=abc\n"
	          "util=20\n"
	          "mem_mib=5 gpu=0 util=20 extra=1\n"
	          "gpu=1 util=250 mem_mib=7");
	write_raw(fx, "notapid", "gpu=0 util=50\n");
	assert_int_equal(telem(src, 0).util_pct, 50);
	assert_int_equal(telem(src, 0).memory_used_mib, 105);
	assert_int_equal(telem(src, 1).util_pct, 100);
	assert_int_equal(telem(src, 1).memory_used_mib, 7);

	/* Bad arguments. */
	procs[0].gpu_index = -1;
	assert_int_equal(gpu_sim_report_write(fx->dir, getpid(), procs, 1), GH_EINVAL);
	procs[0].gpu_index = 0;
	procs[0].util_pct = 101;
	assert_int_equal(gpu_sim_report_write(fx->dir, getpid(), procs, 1), GH_EINVAL);
	assert_int_equal(gpu_sim_report_write(fx->dir, 0, procs, 0), GH_EINVAL);
	assert_int_equal(gpu_sim_report_write(fx->dir, getpid(), procs, -1), GH_EINVAL);
	assert_int_equal(gpu_sim_report_write(NULL, getpid(), procs, 0), GH_EINVAL);
	assert_int_equal(gpu_sim_report_write("/nonexistent/dir", getpid(), NULL, 0), GH_EIO);
	assert_int_equal(gpu_sim_report_dir(fx->dir, buf, 8), GH_ETOOBIG);
}

/* One user cannot report for another user's process. As root: a child
 * turned into "nobody" reports for us; otherwise we report for init. */
static void test_reports_owner(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:1");
	pid_t child;
	int st;

	if (getuid() != 0) {
		write_raw(fx, "1", "gpu=0 util=99 mem_mib=10\n");
	} else {
		assert_int_equal(chmod(fx->dir, 0755), 0);
		child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			gh_gpu_proc_t p = {.gpu_index = 0, .util_pct = 99, .memory_mib = 10};
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
			_exit(gpu_sim_report_write(fx->dir, getppid(), &p, 1) == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(child, &st, 0), child);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		assert_true(report_exists(fx, getpid()));
	}
	assert_int_equal(telem(src, 0).util_pct, 0);
	assert_int_equal(telem(src, 0).memory_used_mib, 0);
	report(fx, getpid(), 0, 30, 0);                   /* our own report counts */
	assert_int_equal(telem(src, 0).util_pct, 30);
}

static void test_processes(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:2");
	pid_t a = spawn_sleeper(), b = spawn_sleeper();
	gh_gpu_proc_t procs[4];
	int n = -1;

	report(fx, b, 0, 20, 300);
	report(fx, a, 0, 10, 200);
	report(fx, getpid(), 1, 50, 1000);

	assert_int_equal(gpu_processes(src, 0, procs, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(procs[0].pid, a < b ? a : b);    /* sorted by pid */
	assert_int_equal(procs[1].pid, a < b ? b : a);
	assert_int_equal(procs[0].gpu_index, 0);
	assert_int_equal(procs[a < b ? 0 : 1].util_pct, 10);
	assert_int_equal(procs[a < b ? 0 : 1].memory_mib, 200);

	assert_int_equal(gpu_processes(src, 0, procs, 1, &n), 0);   /* truncated */
	assert_int_equal(n, 1);
	assert_int_equal(gpu_processes(src, 0, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(gpu_processes(src, 1, procs, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(procs[0].pid, getpid());

	assert_int_equal(gpu_processes(src, 2, procs, 4, &n), GH_ENOTFOUND);
	assert_int_equal(gpu_processes(src, -1, procs, 4, &n), GH_ENOTFOUND);
	assert_int_equal(gpu_processes(src, 0, NULL, 4, &n), GH_EINVAL);
	reap(a);
	reap(b);
}

static void test_telemetry_model(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:1xA100-80GB,1xT4");
	gh_gpu_telemetry_t t;

	t = telem(src, 0);
	assert_int_equal(t.temperature_c, 30);
	assert_int_equal(t.power_w, 80);                   /* 400 W / 5 */
	report(fx, getpid(), 0, 60, 10);
	t = telem(src, 0);
	assert_int_equal(t.temperature_c, 60);
	assert_int_equal(t.power_w, 272);                  /* 80 + 60 * 320 / 100 */
	report(fx, getpid(), 1, 100, 10);
	t = telem(src, 1);
	assert_int_equal(t.temperature_c, 80);
	assert_int_equal(t.power_w, 70);                   /* T4 at its TDP */
	assert_int_equal(gpu_telemetry(src, 2, &t), GH_ENOTFOUND);
}

/* A source without a state_dir still works; nothing reports. */
static void test_no_state_dir(void **state)
{
	fx_t *fx = *state;
	gh_gpu_telemetry_t t;
	assert_int_equal(gpu_open(&fx->src, "sim:1", NULL, NULL, NULL, NULL, 0), 0);
	assert_int_equal(gpu_telemetry(fx->src, 0, &t), 0);
	assert_int_equal(t.util_pct, 0);
}

/* ---- faults --------------------------------------------------------------- */

static void test_inject_poll_clear(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:2");
	gh_gpu_event_t ev[8];
	gh_gpu_proc_t p;
	gh_gpu_telemetry_t t;
	int n = -1;

	assert_int_equal(gpu_poll_events(src, ev, 8, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(gpu_inject(src, 1, GH_GPU_EV_XID, 48), 0);
	t = telem(src, 1);
	assert_int_equal(t.healthy, 0);
	assert_int_equal(t.last_xid, 48);
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.util_pct, 0);                  /* still readable */
	assert_int_equal(telem(src, 0).healthy, 1);
	assert_int_equal(gpu_poll_events(src, ev, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].type, GH_GPU_EV_XID);
	assert_int_equal(ev[0].gpu_index, 1);
	assert_int_equal(ev[0].xid, 48);
	assert_true(ev[0].ts > 0);
	assert_int_equal(gpu_poll_events(src, ev, 8, &n), 0);
	assert_int_equal(n, 0);                           /* drained */

	assert_int_equal(gpu_inject(src, 1, GH_GPU_EV_LOST, 0), 0);
	t = telem(src, 1);
	assert_int_equal(t.lost, 1);
	assert_int_equal(t.healthy, 0);
	assert_int_equal(t.util_pct, -1);
	assert_int_equal(t.temperature_c, -1);
	assert_int_equal(gpu_processes(src, 1, &p, 1, &n), GH_EIO);
	assert_int_equal(gpu_inject(src, 1, GH_GPU_EV_XID, 13), GH_ESTATE);
	assert_int_equal(gpu_inject(src, 1, GH_GPU_EV_LOST, 0), GH_ESTATE);

	assert_int_equal(gpu_inject(src, 1, GH_GPU_EV_CLEARED, 0), 0);
	t = telem(src, 1);
	assert_int_equal(t.healthy, 1);
	assert_int_equal(t.lost, 0);
	assert_int_equal(t.last_xid, 0);
	assert_int_equal(gpu_processes(src, 1, &p, 1, &n), 0);

	/* Partial drains keep order. */
	assert_int_equal(gpu_poll_events(src, ev, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].type, GH_GPU_EV_LOST);
	assert_int_equal(gpu_poll_events(src, ev, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].type, GH_GPU_EV_CLEARED);

	/* XID 79: fell off the bus, so lost as well. */
	assert_int_equal(gpu_inject(src, 0, GH_GPU_EV_XID, 79), 0);
	assert_int_equal(telem(src, 0).lost, 1);
	assert_int_equal(gpu_poll_events(src, ev, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].type, GH_GPU_EV_XID);
	assert_int_equal(ev[1].type, GH_GPU_EV_LOST);

	assert_int_equal(gpu_inject(src, 2, GH_GPU_EV_XID, 48), GH_ENOTFOUND);
	assert_int_equal(gpu_inject(src, 0, GH_GPU_EV_XID, 0), GH_EINVAL);
	assert_int_equal(gpu_inject(src, 0, (gh_gpu_event_type_t)9, 0), GH_EINVAL);
	assert_int_equal(gpu_poll_events(src, NULL, 1, &n), GH_EINVAL);
}

static void test_event_overflow(void **state)
{
	fx_t *fx = *state;
	gh_gpu_src_t *src = open_sim(fx, "sim:1");
	gh_gpu_event_t ev[300];
	int i, n = 0;

	for (i = 1; i <= 300; i++)
		assert_int_equal(gpu_inject(src, 0, GH_GPU_EV_XID, 100 + i), 0);
	assert_int_equal(gpu_poll_events(src, ev, 300, &n), 0);
	assert_int_equal(n, 256);                         /* oldest dropped */
	assert_int_equal(ev[0].xid, 145);
	assert_int_equal(ev[255].xid, 400);
}

/* ---- auto ----------------------------------------------------------------- */

static int nvml_present(void)
{
	void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (h)
		dlclose(h);
	return h != NULL;
}

static void test_auto_fallback(void **state)
{
	fx_t *fx = *state;
	char msg[256];
	int fb = -1;
	gh_gpu_src_t *src = (gh_gpu_src_t *)1;

	if (nvml_present())
		skip();                                   /* a machine with a driver */

	assert_int_equal(gpu_open(&src, "nvml", NULL, fx->dir, &fb, msg, sizeof(msg)), GH_EUNSUPPORTED);
	assert_null(src);
	assert_int_equal(fb, 0);
	assert_non_null(strstr(msg, "NVIDIA driver library libnvidia-ml.so.1 not found"));

	assert_int_equal(gpu_open(&fx->src, "auto", "2xT4", fx->dir, &fb, msg, sizeof(msg)), 0);
	assert_int_equal(fb, 1);
	assert_int_equal(gpu_src_simulated(fx->src), 1);
	assert_string_equal(gpu_src_name(fx->src), "sim");
	assert_int_equal(gpu_count(fx->src), 2);
	assert_non_null(strstr(msg, "libnvidia-ml.so.1"));
	gpu_close(fx->src);

	fb = -1;
	assert_int_equal(gpu_open(&fx->src, NULL, NULL, fx->dir, &fb, NULL, 0), 0);
	assert_int_equal(fb, 1);
	assert_int_equal(gpu_count(fx->src), 4);          /* built-in default */
	gpu_close(fx->src);
	fx->src = NULL;
	assert_int_equal(gpu_open(&fx->src, "auto", "bad", fx->dir, &fb, msg, sizeof(msg)), GH_EINVAL);
	assert_null(fx->src);
}

static void test_share_mode_name(void **state)
{
	(void)state;
	assert_string_equal(gpu_share_mode_name(GH_SHARE_EXCLUSIVE), "exclusive");
	assert_string_equal(gpu_share_mode_name(GH_SHARE_MPS), "mps");
	assert_string_equal(gpu_share_mode_name(GH_SHARE_MIG), "mig");
	assert_string_equal(gpu_share_mode_name((gh_share_mode_t)7), "unknown");
	assert_string_equal(gpu_src_name(NULL), "none");
	assert_int_equal(gpu_count(NULL), GH_EINVAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_spec_good),
		T(test_spec_bad),
		T(test_model_memory),
		T(test_reports_aggregate),
		T(test_reports_dead_pid),
		T(test_reports_sweep),
		T(test_reports_stale),
		T(test_reports_memory_capped),
		T(test_reports_format),
		T(test_reports_owner),
		T(test_processes),
		T(test_telemetry_model),
		T(test_no_state_dir),
		T(test_inject_poll_clear),
		T(test_event_overflow),
		T(test_auto_fallback),
		T(test_share_mode_name),
	};
	gh_log_setup(GH_LOG_TEXT, GH_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
