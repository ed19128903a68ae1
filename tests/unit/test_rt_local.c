/*
 * test_rt_local.c — the local runtime with real processes: the default
 * (unsandboxed) mode, a bubblewrap-sandboxed workspace under a dedicated
 * account (checked from inside: homes, /usr, /tmp, pid namespace, uid),
 * stopping a tree that ignores SIGTERM, cgroup limits, and old handles.
 * The sandbox and cgroup tests need root and bwrap; they skip otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "runtime/runtime.h"

#define ACCOUNT "gh-rttest"

static char base[256];      /* outside /tmp, so that hide_dir is what hides it */
static char hosthome[256];  /* a directory under the real /home */
static char tmpmark[256];   /* a file in the host's /tmp */

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int have_root_and_bwrap(void) { return geteuid() == 0 && access("/usr/bin/bwrap", X_OK) == 0; }

static void mkdir_mode(const char *p, mode_t m)
{
	assert_int_equal(mkdir(p, m) == 0 || errno == EEXIST, 1);
	chmod(p, m);
}

static void write_text(const char *p, const char *s, mode_t m)
{
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
	chmod(p, m);
}

static int read_text(const char *p, char *buf, size_t len)
{
	FILE *f = fopen(p, "r");
	size_t n;
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* Processes owned by uid. */
static int count_uid(uid_t uid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct stat sb;
	char p[300];
	int n = 0;

	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s", de->d_name);
		if (stat(p, &sb) == 0 && sb.st_uid == uid)
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* The handle of a process the runtime did not start ("pid:starttime"),
 * from field 22 of /proc/<pid>/stat. */
static void proc_ref(pid_t pid, char *ref, size_t len)
{
	char p[64], buf[1024], *s;
	unsigned long long start;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	assert_int_equal(read_text(p, buf, sizeof(buf)), 0);
	assert_non_null(s = strrchr(buf, ')'));
	assert_int_equal(sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
	                        &start), 1);
	snprintf(ref, len, "%d:%llu", (int)pid, start);
}

static rt_status_t wait_gone(gh_rt_t *rt, const char *ref, int ms)
{
	rt_status_t s = rt_probe(rt, ref);
	for (int i = 0; i < ms / 20 && s != RT_GONE; i++) {
		sleep_ms(20);
		s = rt_probe(rt, ref);
	}
	return s;
}

static int group_setup(void **state)
{
	gh_rt_t *rt = NULL;
	char err[256];

	snprintf(base, sizeof(base), "/var/lib/gh-rttest-XXXXXX");
	if (!mkdtemp(base)) {
		snprintf(base, sizeof(base), "/tmp/gh-rttest-XXXXXX");
		if (!mkdtemp(base))
			return -1;
	}
	chmod(base, 0711);
	if (rt_open(&rt, "local", base, err, sizeof(err)) != 0)
		return -1;
	*state = rt;
	return 0;
}

static int group_teardown(void **state)
{
	rt_close(*state);
	if (base[0])
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (hosthome[0])
		rmdir(hosthome);
	if (tmpmark[0])
		unlink(tmpmark);
	if (geteuid() == 0 && getpwnam(ACCOUNT)) {
		int rc = system("/usr/sbin/userdel " ACCOUNT " >/dev/null 2>&1");
		(void)rc;
	}
	return 0;
}

/* Where a test's workspace runs and logs: <base>/<name> and <base>/<name>.log. */
typedef struct {
	char work[300], logp[300];
} paths_t;

/* A spec for alice's session id, working in p's directory (filled for name). */
static void spec_for(rt_spec_t *spec, paths_t *p, const char *name, int64_t id)
{
	snprintf(p->work, sizeof(p->work), "%s/%s", base, name);
	snprintf(p->logp, sizeof(p->logp), "%s/%s.log", base, name);
	memset(spec, 0, sizeof(*spec));
	spec->session_id = id;
	spec->user = "alice";
	spec->workdir = p->work;
	spec->log_path = p->logp;
}

static void test_account_name(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(rt_account_name("Alice", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "gh-alice");
	assert_int_equal(rt_account_name("bob_2", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "bob_2");
	assert_int_equal(rt_account_name("a b", 1, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(rt_account_name("../x", 0, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(rt_account_name("-x", 0, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(rt_account_name("", 1, out, sizeof(out)), GH_EINVAL);
	assert_int_equal(rt_account_name("abcdefghijklmnopqrstuvwxyz0123456789", 1, out, sizeof(out)), GH_EINVAL);
}

/* Handles from before cgroups ("pid:starttime") and malformed ones. */
static void test_old_handles(void **state)
{
	gh_rt_t *rt = *state;
	char ref[64], path[64], buf[1024], *p;
	unsigned long long st;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)getpid());
	assert_int_equal(read_text(path, buf, sizeof(buf)), 0);
	p = strrchr(buf, ')') + 2;
	for (field = 3; field < 22; field++)
		p = strchr(p, ' ') + 1;
	st = strtoull(p, NULL, 10);
	snprintf(ref, sizeof(ref), "%d:%llu", (int)getpid(), st);
	assert_int_equal(rt_probe(rt, ref), RT_READY);
	snprintf(ref, sizeof(ref), "%d:%llu", (int)getpid(), st + 1);
	assert_int_equal(rt_probe(rt, ref), RT_GONE);
	assert_int_equal(rt_signal_stop(rt, ref, 0), GH_ENOTFOUND);
	assert_int_equal(rt_probe(rt, "nonsense"), RT_GONE);
	assert_int_equal(rt_probe(rt, "1:2"), RT_GONE);
	assert_int_equal(rt_probe(rt, "1234:5:/etc"), RT_GONE);
	assert_int_equal(rt_signal_stop(rt, "1234:5:/gpuhub/../../etc", 1), GH_EINVAL);
	assert_int_equal(rt_signal_stop(rt, "1234:5:x", 1), GH_EINVAL);
}

/* All new fields zero: the command runs as before, handle "pid:starttime". */
static void test_default_mode(void **state)
{
	gh_rt_t *rt = *state;
	const char *argv[] = {"/bin/sh", "-c", "echo started; sleep 300 & sleep 300", NULL};
	rt_spec_t spec;
	paths_t pp;
	char ref[160], err[256];

	spec_for(&spec, &pp, "plain", 900001);
	spec.argv = argv;
	spec.env[0] = "GPUHUB_PORT=1";
	assert_int_equal(rt_start(rt, &spec, ref, sizeof(ref), err, sizeof(err)), 0);
	assert_null(strchr(strchr(ref, ':') + 1, ':'));
	assert_int_equal(rt_probe(rt, ref), RT_READY);
	assert_int_equal(rt_signal_stop(rt, ref, 0), 0);
	assert_int_equal(wait_gone(rt, ref, 3000), RT_GONE);
	assert_int_equal(rt_signal_stop(rt, ref, 1), GH_ENOTFOUND);
}

/* The state letter of pid (Z: a zombie), 0 when it is gone. */
static char proc_state(int pid)
{
	char p[64], buf[512], *rp;

	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	if (read_text(p, buf, sizeof(buf)) != 0 || !(rp = strrchr(buf, ')')) || rp[1] != ' ')
		return 0;
	return rp[2];
}

/*
 * The engine's children do not linger as zombies: one that ends by itself
 * is reaped once probed, one killed hard without a probe by rt_reap() (the
 * hub's tick), and a command that cannot run leaves nothing.
 */
static void test_no_zombies(void **state)
{
	gh_rt_t *rt = *state;
	const char *quick[] = {"/bin/sh", "-c", "exit 3", NULL};
	const char *slow[] = {"/bin/sleep", "300", NULL};
	const char *missing[] = {"/nonexistent/gpuhub-no-such-command", NULL};
	rt_spec_t spec;
	paths_t pp;
	char ref[160], err[256];
	int pid;

	spec_for(&spec, &pp, "zombies", 900002);

	spec.argv = quick;
	assert_int_equal(rt_start(rt, &spec, ref, sizeof(ref), err, sizeof(err)), 0);
	pid = atoi(ref);
	for (int i = 0; i < 150 && proc_state(pid) != 'Z'; i++)
		sleep_ms(20);
	assert_int_equal(proc_state(pid), 'Z'); /* ended, not yet collected */
	assert_int_equal(rt_probe(rt, ref), RT_GONE);
	assert_int_equal(proc_state(pid), 0);

	spec.argv = slow;
	assert_int_equal(rt_start(rt, &spec, ref, sizeof(ref), err, sizeof(err)), 0);
	pid = atoi(ref);
	assert_int_equal(rt_signal_stop(rt, ref, 1), 0);
	for (int i = 0; i < 150 && proc_state(pid) != 0; i++) {
		sleep_ms(20);
		rt_reap(rt);
	}
	assert_int_equal(proc_state(pid), 0);

	spec.argv = missing;
	assert_int_not_equal(rt_start(rt, &spec, ref, sizeof(ref), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot run /nonexistent/gpuhub-no-such-command"));
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no child of ours is left */
	assert_int_equal(errno, ECHILD);
}

/* Reads fd to its end into buf (NUL-terminated). */
static void read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* exec: a command beside a running workspace, on a socket and on a
 * terminal; on its own (no handle); refused for a workspace that ended. */
static void test_exec(void **state)
{
	gh_rt_t *rt = *state;
	const char *wargv[] = {"/bin/sh", "-c", "sleep 300", NULL};
	const char *xargv[] = {"/bin/sh", "-c", "echo foo=$FOO; test -t 0 && echo tty || echo no-tty; read l; echo got=$l; exit 3",
	                       NULL};
	rt_spec_t spec;
	paths_t pp;
	char ref[160], err[256], out[512];
	int fd, pid, st;

	spec_for(&spec, &pp, "exec", 900002);
	spec.argv = wargv;
	assert_int_equal(rt_start(rt, &spec, ref, sizeof(ref), err, sizeof(err)), 0);

	spec.argv = xargv;
	spec.env[0] = "FOO=bar";
	assert_int_equal(rt_exec(rt, &spec, ref, &fd, &pid, err, sizeof(err)), 0);
	assert_true(write(fd, "line\n", 5) == 5);
	shutdown(fd, SHUT_WR);
	read_all(fd, out, sizeof(out));
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	assert_string_equal(out, "foo=bar\nno-tty\ngot=line\n");

	spec.tty = 1;
	assert_int_equal(rt_exec(rt, &spec, ref, &fd, &pid, err, sizeof(err)), 0);
	assert_true(write(fd, "x\n", 2) == 2);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* the terminal keeps what was written; read it all (a read may return
	 * a part; EIO once drained, the other side being closed) */
	read_all(fd, out, sizeof(out));
	close(fd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	assert_non_null(strstr(out, "tty\r\n"));
	assert_non_null(strstr(out, "got=x"));

	spec.tty = 0;
	assert_int_equal(rt_exec(rt, &spec, NULL, &fd, &pid, err, sizeof(err)), 0);
	shutdown(fd, SHUT_WR);
	read_all(fd, out, sizeof(out));
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_string_equal(out, "foo=bar\nno-tty\ngot=\n");

	assert_int_equal(rt_signal_stop(rt, ref, 1), 0);
	assert_int_equal(wait_gone(rt, ref, 3000), RT_GONE);
	assert_int_equal(rt_exec(rt, &spec, ref, &fd, &pid, err, sizeof(err)), GH_ESTATE);
	assert_int_equal(fd, -1);
}

/* usage: the processes of the tree and the CPU they burnt, growing while
 * one of them spins; nothing once the workspace is gone. */
static void test_usage(void **state)
{
	gh_rt_t *rt = *state;
	const char *argv[] = {"/bin/sh", "-c",
	                      "sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 300' & sleep 300",
	                      NULL};
	rt_spec_t spec;
	paths_t pp;
	rt_usage_t u1, u2;
	char ref[160], err[256];
	int tries;

	spec_for(&spec, &pp, "usage", 900003);
	spec.argv = argv;
	spec.env[0] = "GPUHUB_PORT=1";
	assert_int_equal(rt_start(rt, &spec, ref, sizeof(ref), err, sizeof(err)), 0);
	for (tries = 0; tries < 50; tries++) {
		assert_int_equal(rt_usage(rt, ref, 0, &u1), 0);
		if (u1.npids >= 3)
			break;
		sleep_ms(20);
	}
	assert_true(u1.npids >= 3); /* sh, the spinner, sleep */
	assert_int_equal(u1.pids[0] > 1, 1);
	sleep_ms(400);
	assert_int_equal(rt_usage(rt, ref, 0, &u2), 0);
	assert_true(u2.cpu_usec > u1.cpu_usec);
	assert_int_equal(rt_signal_stop(rt, ref, 1), 0);
	assert_int_equal(wait_gone(rt, ref, 3000), RT_GONE);
	assert_int_equal(rt_usage(rt, ref, 0, &u1), GH_ENOTFOUND);
	assert_int_equal(u1.npids, 0);
}

/* A look at the processes may serve the calls that accept its age, but
 * a call that asks for a fresh one sees a process forked a moment ago. */
static void test_usage_fresh(void **state)
{
	gh_rt_t *rt = *state;
	rt_usage_t u;
	char ref[64], c;
	int go[2], done[2], st, found = 0;
	pid_t leader;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	leader = fork();
	if (leader == 0) {
		/* forks a child when told to, then says so */
		setpgid(0, 0);
		close(go[1]);
		close(done[0]);
		if (read(go[0], &c, 1) == 1 && fork() == 0) {
			pause();
			_exit(0);
		}
		if (write(done[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_true(leader > 0);
	close(go[0]);
	close(done[1]);
	proc_ref(leader, ref, sizeof(ref));
	assert_int_equal(rt_usage(rt, ref, 0, &u), 0);
	assert_int_equal(u.npids, 1);
	assert_int_equal(u.pids[0], leader);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(read(done[0], &c, 1), 1); /* the child is there */
	/* the look above is young enough, and the leader is still there */
	assert_int_equal(rt_usage(rt, ref, 60000, &u), 0);
	assert_int_equal(u.npids, 1);
	assert_int_equal(rt_usage(rt, ref, 0, &u), 0);
	assert_int_equal(u.npids, 2);
	for (int i = 0; i < u.npids; i++)
		found += u.pids[i] != leader && u.pids[i] > 1;
	assert_int_equal(found, 1);
	kill(-leader, SIGKILL);
	waitpid(leader, &st, 0);
	close(go[1]);
	close(done[0]);
}

static const char inside[] =
	"trap '' TERM\n"
	"R=\"$HOME/res.txt\"\n"
	"{\n"
	"echo uid=$(id -u)\n"
	"echo pid=$$\n"
	"if [ -e \"$OTHER/secret\" ]; then echo other=visible; else echo other=hidden; fi\n"
	"if [ -e \"$STATE/hubstate\" ]; then echo hub=visible; else echo hub=hidden; fi\n"
	"if [ -e \"$HOSTHOME\" ]; then echo homes=visible; else echo homes=hidden; fi\n"
	"if touch /usr/gh-rt-probe 2>/dev/null; then echo usr=writable; else echo usr=ro; fi\n"
	"if [ -e \"$TMPMARK\" ]; then echo tmp=shared; else echo tmp=private; fi\n"
	"if echo x > /tmp/in-sandbox; then echo tmpw=ok; fi\n"
	"if echo x > \"$PWD/work-file\"; then echo work=ok; fi\n"
	"if echo x > \"$GPUHUB_SIM_REPORT_DIR/r\"; then echo report=ok; fi\n"
	"echo cwd=$PWD\n"
	"} > \"$R.part\" 2>&1\n"
	"mv \"$R.part\" \"$R\"\n"
	"sleep 300 &\n"
	"sleep 300\n";

static void expect_line(const char *res, const char *line)
{
	char want[128];
	snprintf(want, sizeof(want), "%s\n", line);
	if (!strstr(res, want))
		fail_msg("expected \"%s\" in:\n%s", line, res);
}

/*
 * One sandboxed workspace, checked from inside, then stopped. by_ns: stop
 * it through a handle without its cgroup, as on a machine without cgroups
 * (the engine then signals its pid namespace).
 */
static void run_sandbox(gh_rt_t *rt, int64_t id, int by_ns)
{
	const char *argv[] = {"/bin/sh", "-c", inside, NULL};
	rt_spec_t spec = {0};
	char ref[160], err[256], homes[300], home[300], other[300], stdir[300], work[300], sess[300], logp[300];
	char rep[300], e_other[340], e_state[340], e_hh[340], e_mark[340], e_rep[340], res[2048], p[400];
	struct passwd *pw;
	struct stat sb;
	char full[160], *cgpart;
	int i;

	if (!hosthome[0]) {
		snprintf(hosthome, sizeof(hosthome), "/home/gh-rt-XXXXXX");
		if (!mkdtemp(hosthome))
			hosthome[0] = '\0';
	}
	snprintf(tmpmark, sizeof(tmpmark), "/tmp/gh-rt-mark-%d", (int)getpid());
	write_text(tmpmark, "host\n", 0644);
	snprintf(homes, sizeof(homes), "%s/homes", base);
	snprintf(home, sizeof(home), "%s/homes/" ACCOUNT, base);
	snprintf(other, sizeof(other), "%s/homes/other", base);
	snprintf(stdir, sizeof(stdir), "%s/state", base);
	snprintf(sess, sizeof(sess), "%s/sessions", base);
	snprintf(work, sizeof(work), "%s/sessions/%lld", base, (long long)id);
	snprintf(logp, sizeof(logp), "%s/sessions/%lld.log", base, (long long)id);
	snprintf(rep, sizeof(rep), "%s/reports", base);
	mkdir_mode(homes, 0711);
	mkdir_mode(other, 0755);
	mkdir_mode(stdir, 0755);
	mkdir_mode(sess, 0711);
	mkdir_mode(rep, 01777);
	snprintf(p, sizeof(p), "%s/secret", other);
	write_text(p, "other's\n", 0644);
	snprintf(p, sizeof(p), "%s/hubstate", stdir);
	write_text(p, "hub\n", 0644);
	snprintf(e_other, sizeof(e_other), "OTHER=%s", other);
	snprintf(e_state, sizeof(e_state), "STATE=%s", stdir);
	snprintf(e_hh, sizeof(e_hh), "HOSTHOME=%s", hosthome[0] ? hosthome : "/home");
	snprintf(e_mark, sizeof(e_mark), "TMPMARK=%s", tmpmark);
	snprintf(e_rep, sizeof(e_rep), "GPUHUB_SIM_REPORT_DIR=%s", rep);

	spec.session_id = id;
	snprintf(p, sizeof(p), "%s/res.txt", home);
	unlink(p); /* the home outlives the previous run */
	spec.user = "rttest";
	spec.argv = argv;
	spec.workdir = work;
	spec.log_path = logp;
	spec.env[0] = e_other;
	spec.env[1] = e_state;
	spec.env[2] = e_hh;
	spec.env[3] = e_mark;
	spec.env[4] = e_rep;
	spec.env[5] = "CUDA_VISIBLE_DEVICES=0";
	spec.unix_user = ACCOUNT;
	spec.create_account = 1;
	spec.home_dir = home;
	spec.hide_dir = stdir;
	spec.sandbox = 1;
	if (rt_start(rt, &spec, ref, sizeof(ref), err, sizeof(err)) != 0)
		fail_msg("start: %s", err);
	strcpy(full, ref);
	cgpart = strchr(strchr(ref, ':') + 1, ':');
	if (by_ns && cgpart)
		*cgpart = '\0';
	pw = getpwnam(ACCOUNT);
	assert_non_null(pw);
	assert_int_equal(rt_probe(rt, ref), RT_READY);

	snprintf(p, sizeof(p), "%s/res.txt", home);
	for (i = 0; i < 250 && read_text(p, res, sizeof(res)) != 0; i++)
		sleep_ms(20);
	if (i == 250) {
		read_text(logp, res, sizeof(res));
		fail_msg("no result from inside the sandbox; log:\n%s", res);
	}
	{
		char line[64];
		snprintf(line, sizeof(line), "uid=%u", (unsigned)pw->pw_uid);
		expect_line(res, line);
	}
	expect_line(res, "other=hidden");
	expect_line(res, "hub=hidden");
	expect_line(res, "homes=hidden");
	expect_line(res, "usr=ro");
	expect_line(res, "tmp=private");
	expect_line(res, "tmpw=ok");
	expect_line(res, "work=ok");
	expect_line(res, "report=ok");
	assert_true(atoi(strstr(res, "pid=") + 4) <= 3); /* bwrap's init is 1 */
	snprintf(p, sizeof(p), "%s/work-file", work);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_uid, pw->pw_uid);
	assert_int_not_equal(access("/tmp/in-sandbox", F_OK), 0);

	/* the whole tree ignores SIGTERM: it survives the soft stop ... */
	assert_int_equal(rt_signal_stop(rt, ref, 0), 0);
	sleep_ms(300);
	assert_int_equal(rt_probe(rt, ref), RT_READY);
	assert_true(count_uid(pw->pw_uid) >= 2);
	/* ... and not the hard one; nothing of the account stays */
	assert_int_equal(rt_signal_stop(rt, ref, 1), 0);
	assert_int_equal(wait_gone(rt, ref, 3000), RT_GONE);
	for (i = 0; i < 100 && count_uid(pw->pw_uid) > 0; i++)
		sleep_ms(20);
	assert_int_equal(count_uid(pw->pw_uid), 0);
	/* a probe with the full handle removes the cgroup the stop left */
	assert_int_equal(rt_probe(rt, full), RT_GONE);
	if (cgpart) {
		snprintf(p, sizeof(p), "/sys/fs/cgroup/pids%s", strrchr(full, ':') + 1);
		if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
			snprintf(p, sizeof(p), "/sys/fs/cgroup%s", strrchr(full, ':') + 1);
		assert_int_not_equal(access(p, F_OK), 0);
	}
}

static void test_sandbox(void **state)
{
	if (!have_root_and_bwrap())
		skip();
	run_sandbox(*state, 900007, 0);
}

static void test_sandbox_no_cgroup_stop(void **state)
{
	if (!have_root_and_bwrap())
		skip();
	run_sandbox(*state, 900008, 1);
}

/* Limits land in the workspace's cgroup; a stop empties and removes it. */
static void test_cgroup_limits(void **state)
{
	gh_rt_t *rt = *state;
	const char *argv[] = {"/bin/sh", "-c", "sleep 300 & sleep 300", NULL};
	rt_spec_t spec;
	paths_t pp;
	char ref[160], err[256], dir[400], p[500], buf[256], *rel;
	int v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0, i, found;

	if (geteuid() != 0)
		skip();
	spec_for(&spec, &pp, "limited", 900042);
	spec.argv = argv;
	spec.memory_mib = 128;
	spec.cpu_milli = 250;
	spec.max_pids = 32;
	if (rt_start(rt, &spec, ref, sizeof(ref), err, sizeof(err)) != 0)
		fail_msg("start: %s", err);
	rel = strchr(strchr(ref, ':') + 1, ':');
	if (!rel) {
		rt_signal_stop(rt, ref, 1);
		wait_gone(rt, ref, 3000);
		print_message("cgroups are not usable here; limits not tested\n");
		skip();
	}
	rel++;
	assert_string_equal(rel, "/gpuhub/s900042");
	found = 0;
	if (v2) {
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", rel);
		snprintf(p, sizeof(p), "%s/memory.max", dir);
		if (read_text(p, buf, sizeof(buf)) == 0 && ++found)
			assert_string_equal(buf, "134217728\n");
		snprintf(p, sizeof(p), "%s/cpu.max", dir);
		if (read_text(p, buf, sizeof(buf)) == 0 && ++found)
			assert_string_equal(buf, "25000 100000\n");
		snprintf(p, sizeof(p), "%s/pids.max", dir);
		if (read_text(p, buf, sizeof(buf)) == 0 && ++found)
			assert_string_equal(buf, "32\n");
	} else {
		snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", rel);
		if (read_text(p, buf, sizeof(buf)) == 0 && ++found)
			assert_string_equal(buf, "134217728\n");
		snprintf(p, sizeof(p), "/sys/fs/cgroup/cpu%s/cpu.cfs_quota_us", rel);
		if (read_text(p, buf, sizeof(buf)) == 0 && ++found)
			assert_string_equal(buf, "25000\n");
		snprintf(p, sizeof(p), "/sys/fs/cgroup/pids%s/pids.max", rel);
		if (read_text(p, buf, sizeof(buf)) == 0 && ++found)
			assert_string_equal(buf, "32\n");
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s", found ? "pids" : "memory", rel);
	}
	print_message("cgroup %s %s: %d limit files checked\n", v2 ? "v2" : "v1", rel, found);
	assert_true(found > 0);
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	assert_int_equal(read_text(p, buf, sizeof(buf)), 0);
	assert_int_equal(atoi(ref), atoi(buf)); /* the leader joined first */
	assert_non_null(strchr(buf, '\n'));
	for (i = 0; i < 50 && strchr(strchr(buf, '\n') + 1, '\n') == NULL; i++) {
		sleep_ms(20);
		read_text(p, buf, sizeof(buf));
	}
	assert_non_null(strchr(strchr(buf, '\n') + 1, '\n')); /* its children too */

	assert_int_equal(rt_signal_stop(rt, ref, 0), 0);
	assert_int_equal(wait_gone(rt, ref, 3000), RT_GONE);
	for (i = 0; i < 100 && access(dir, F_OK) == 0; i++) {
		sleep_ms(20);
		rt_probe(rt, ref);
	}
	assert_int_not_equal(access(dir, F_OK), 0);
}

/* A tree the runtime did not start (a restored checkpoint) is taken in:
 * it lands in the session's cgroup with the limits of a start, keeps
 * running when taken in again, and is then stopped like any workspace. */
static void test_rejoin(void **state)
{
	gh_rt_t *rt = *state;
	rt_spec_t spec;
	char ref[160], again[160], p[500], buf[256];
	pid_t leader;
	int i, st;

	if (geteuid() != 0)
		skip();
	memset(&spec, 0, sizeof(spec));
	spec.session_id = 900043;
	spec.memory_mib = 64;
	spec.max_pids = 16;
	leader = fork();
	if (leader == 0) {
		setsid();
		execl("/bin/sh", "sh", "-c", "sleep 300 & sleep 300", (char *)NULL);
		_exit(127);
	}
	assert_true(leader > 0);
	{
		/* its two children are there (sh forks them when it runs) */
		rt_usage_t u;
		char lref[64];
		proc_ref(leader, lref, sizeof(lref));
		for (i = 0; i < 250; i++) {
			assert_int_equal(rt_usage(rt, lref, 0, &u), 0);
			if (u.npids >= 3)
				break;
			sleep_ms(20);
		}
		assert_true(u.npids >= 3);
	}
	assert_int_equal(rt_rejoin(rt, &spec, leader, ref, sizeof(ref)), 0);
	assert_int_equal(atoi(ref), leader);
	if (!strchr(strchr(ref, ':') + 1, ':')) {
		kill(-leader, SIGKILL);
		waitpid(leader, &st, 0);
		print_message("cgroups are not usable here; rejoin not tested beyond its handle\n");
		skip();
	}
	assert_string_equal(strchr(strchr(ref, ':') + 1, ':') + 1, "/gpuhub/s900043");
	assert_int_equal(rt_probe(rt, ref), RT_READY);
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)leader);
	assert_int_equal(read_text(p, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "/gpuhub/s900043"));
	{
		rt_usage_t u;
		int in = 0;
		assert_int_equal(rt_usage(rt, ref, 0, &u), 0);
		assert_true(u.npids >= 3);
		for (i = 0; i < u.npids; i++) {
			snprintf(p, sizeof(p), "/proc/%d/cgroup", u.pids[i]);
			in += read_text(p, buf, sizeof(buf)) == 0 && strstr(buf, "/gpuhub/s900043") != NULL;
		}
		assert_int_equal(in, u.npids); /* the whole tree, not the leader only */
	}
	/* taken in again (the cgroup is there with them in it): nobody is killed */
	assert_int_equal(rt_rejoin(rt, &spec, leader, again, sizeof(again)), 0);
	assert_string_equal(again, ref);
	sleep_ms(50);
	assert_int_equal(rt_probe(rt, ref), RT_READY);

	assert_int_equal(rt_signal_stop(rt, ref, 1), 0);
	for (i = 0; i < 100 && waitpid(leader, &st, WNOHANG) == 0; i++)
		sleep_ms(20);
	assert_int_equal(wait_gone(rt, ref, 3000), RT_GONE);
	assert_int_equal(rt_rejoin(rt, &spec, leader, again, sizeof(again)), GH_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_name),
		cmocka_unit_test(test_old_handles),
		cmocka_unit_test(test_default_mode),
		cmocka_unit_test(test_no_zombies),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_usage_fresh),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_sandbox_no_cgroup_stop),
		cmocka_unit_test(test_cgroup_limits),
		cmocka_unit_test(test_rejoin),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
