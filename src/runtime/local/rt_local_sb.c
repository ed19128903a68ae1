/*
 * rt_local_sb.c — the parts of the local engine that isolate a workspace:
 * the Unix account it runs as (looked up, or created with useradd), its
 * directories (owned by that account), the bubblewrap command line that
 * builds its sandbox, and the /proc scans that find its processes again.
 *
 * Sandbox layout, in the order bwrap applies it (later entries win):
 *
 *   /              read-only bind of the host's /
 *   /dev           minimal (null, zero, random, tty, pts, shm, ...)
 *   /dev/nvidiaN   for each index N in CUDA_VISIBLE_DEVICES, when present,
 *                  plus /dev/nvidiactl, /dev/nvidia-uvm(-tools)
 *   /proc          of the workspace's own pid namespace
 *   /tmp /var/tmp  private tmpfs
 *   /home          empty tmpfs (other users' homes are invisible)
 *   hide_dir       empty tmpfs (e.g. the hub's data dir)
 *   parent of home empty tmpfs when the home is not directly under /home
 *                  and its parent is at least two levels deep
 *   home           read-write bind
 *   workdir        read-write bind, the working directory
 *   report dir     read-write bind of GPUHUB_SIM_REPORT_DIR, when it exists
 *   MPS pipe dir   read-write bind of CUDA_MPS_PIPE_DIRECTORY, when it exists
 *
 * bwrap runs as the account (the privileges are dropped before exec), so
 * on a kernel with unprivileged user namespaces it needs no setuid bit.
 */
#include "runtime/local/rt_local.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- /proc ---- */

int rt_proc_stat(int pid, char *state, unsigned long long *starttime, int *ppid)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return GH_ENOTFOUND;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may contain spaces */
	if (!p || p[1] != ' ')
		return GH_ENOTFOUND;
	p += 2;
	*state = *p;
	if (ppid)
		*ppid = atoi(p + 2);
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return GH_ENOTFOUND;
	*starttime = strtoull(p, NULL, 10);
	return 0;
}

/* Calls fn(pid, arg) for every process; stops when fn returns nonzero. */
static int each_pid(int (*fn)(int pid, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int rc = 0;

	if (!d)
		return 0;
	while (!rc && (de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		rc = fn((int)pid, arg);
	}
	closedir(d);
	return rc;
}

static int child_of(int pid, void *arg)
{
	int parent = *(int *)arg, ppid;
	char st;
	unsigned long long t;

	return rt_proc_stat(pid, &st, &t, &ppid) == 0 && ppid == parent ? pid : 0;
}

int rt_proc_first_child(int pid)
{
	char path[64];
	FILE *f;
	int child = 0;

	/* the kernel's list when it has one, else a scan of /proc */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fscanf(f, "%d", &child) != 1)
			child = 0;
		fclose(f);
		return child;
	}
	return each_pid(child_of, &pid);
}

unsigned long long rt_proc_pidns(int pid)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	return stat(path, &sb) == 0 ? (unsigned long long)sb.st_ino : 0;
}

struct ns_sig {
	unsigned long long ns;
	int except, sig, count;
};

static int signal_if_ns(int pid, void *arg)
{
	struct ns_sig *a = arg;

	if (pid != a->except && rt_proc_pidns(pid) == a->ns && kill(pid, a->sig) == 0)
		a->count++;
	return 0;
}

int rt_proc_signal_ns(unsigned long long ns, int except, int sig)
{
	struct ns_sig a = {ns, except, sig, 0};

	if (ns == 0 || ns == rt_proc_pidns(getpid()))
		return 0; /* never the hub's own namespace */
	each_pid(signal_if_ns, &a);
	return a.count;
}

/* ---- strings ---- */

int rt_strv_add(rt_strv_t *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return GH_ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	if (!(a->v[a->n] = strdup(s)))
		return GH_ENOMEM;
	a->v[++a->n] = NULL;
	return 0;
}

void rt_strv_free(rt_strv_t *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

const char *rt_spec_getenv(const rt_spec_t *spec, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < RT_MAX_ENV && spec->env[i]; i++)
		if (strncmp(spec->env[i], key, kl) == 0 && spec->env[i][kl] == '=')
			return spec->env[i] + kl + 1;
	return NULL;
}

/* ---- accounts ---- */

static pthread_mutex_t useradd_lock = PTHREAD_MUTEX_INITIALIZER;

/* Runs useradd for name; its stderr goes to errmsg. */
static int run_useradd(const char *name, const char *home, char *errmsg, size_t errlen)
{
	const char *argv[] = {"/usr/sbin/useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin",
	                      "--comment", "gpuhub workspace account", "--home-dir", home ? home : "/nonexistent",
	                      "--", name, NULL};
	int p[2], status = 0;
	pid_t pid;
	ssize_t n;
	char buf[256];

	if (access(argv[0], X_OK) != 0) {
		snprintf(errmsg, errlen, "cannot create account %s: useradd is not installed", name);
		return GH_EUNSUPPORTED;
	}
	if (pipe2(p, O_CLOEXEC) != 0)
		return GH_EIO;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return GH_EIO;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		dup2(p[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 9 /* exists */)) {
		snprintf(errmsg, errlen, "cannot create account %s: %s", name, buf[0] ? buf : "useradd failed");
		return GH_EIO;
	}
	GH_INFO("runtime local: created account %s", name);
	return 0;
}

static int lookup(const char *name, rt_user_t *u)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = RT_MAX_GROUPS;

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return GH_ENOTFOUND;
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	gh_strlcpy(u->name, pw.pw_name, sizeof(u->name));
	gh_strlcpy(u->home, pw.pw_dir, sizeof(u->home));
	if (getgrouplist(name, pw.pw_gid, u->groups, &n) < 0)
		n = RT_MAX_GROUPS; /* truncated: keep the first ones */
	u->ngroups = n;
	u->set = 1;
	return 0;
}

int rt_sb_user(const rt_spec_t *spec, rt_user_t *u, char *errmsg, size_t errlen)
{
	int rc;

	memset(u, 0, sizeof(*u));
	if (!spec->unix_user)
		return 0;
	rc = lookup(spec->unix_user, u);
	if (rc != 0 && spec->create_account) {
		pthread_mutex_lock(&useradd_lock);
		rc = lookup(spec->unix_user, u);
		if (rc != 0) {
			rc = run_useradd(spec->unix_user, spec->home_dir, errmsg, errlen);
			if (rc == 0)
				rc = lookup(spec->unix_user, u);
		}
		pthread_mutex_unlock(&useradd_lock);
		if (rc != 0 && rc != GH_ENOTFOUND)
			return rc;
	}
	if (rc != 0) {
		snprintf(errmsg, errlen, "no Unix account %s", spec->unix_user);
		return GH_ENOTFOUND;
	}
	if (u->uid == 0) {
		snprintf(errmsg, errlen, "will not run a workspace as root (account %s)", spec->unix_user);
		return GH_EPERM;
	}
	if (spec->home_dir)
		gh_strlcpy(u->home, spec->home_dir, sizeof(u->home));
	return 0;
}

int rt_sb_prepare_dir(const char *dir, mode_t mode, const rt_user_t *u, char *errmsg, size_t errlen)
{
	struct stat sb;
	int created = 0;

	if (!dir || dir[0] != '/' || strcmp(dir, "/") == 0) {
		snprintf(errmsg, errlen, "not an absolute directory: %s", dir ? dir : "(none)");
		return GH_EINVAL;
	}
	if (mkdir(dir, mode) == 0)
		created = 1;
	else if (errno != EEXIST) {
		snprintf(errmsg, errlen, "cannot create directory %s: %s", dir, strerror(errno));
		return GH_EIO;
	}
	if (!u || !u->set)
		return 0;
	if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(errmsg, errlen, "%s is not a directory", dir);
		return GH_EIO;
	}
	/* hand over what we made (or what the hub prepared) to the account */
	if ((created || sb.st_uid == geteuid()) && sb.st_uid != u->uid && chown(dir, u->uid, u->gid) != 0) {
		snprintf(errmsg, errlen, "cannot give %s to %s: %s", dir, u->name, strerror(errno));
		return GH_EIO;
	}
	return 0;
}

/* ---- bubblewrap ---- */

const char *rt_sb_bwrap(void)
{
	static const char *const cand[] = {"/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"};

	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return NULL;
}

static int add3(rt_strv_t *a, const char *opt, const char *x, const char *y)
{
	int rc = rt_strv_add(a, opt);
	if (rc == 0 && x)
		rc = rt_strv_add(a, x);
	if (rc == 0 && y)
		rc = rt_strv_add(a, y);
	return rc;
}

static int is_dir(const char *p)
{
	struct stat sb;
	return p && p[0] == '/' && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* --dev-bind for /dev/nvidiaN of each allocated index, and the control nodes. */
static int add_gpus(const rt_spec_t *spec, rt_strv_t *a)
{
	static const char *const ctl[] = {"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"};
	const char *cvd = rt_spec_getenv(spec, "CUDA_VISIBLE_DEVICES");
	char path[64];
	int rc = 0, any = 0;

	while (cvd && *cvd && rc == 0) {
		char *end;
		long idx = strtol(cvd, &end, 10);
		if (end != cvd && idx >= 0 && idx < 1024 && (*end == ',' || *end == '\0')) {
			snprintf(path, sizeof(path), "/dev/nvidia%ld", idx);
			if (access(path, F_OK) == 0) {
				rc = add3(a, "--dev-bind", path, path);
				any = 1;
			}
		}
		cvd = strchr(cvd, ',');
		if (cvd)
			cvd++;
	}
	for (size_t i = 0; any && rc == 0 && i < sizeof(ctl) / sizeof(ctl[0]); i++)
		if (access(ctl[i], F_OK) == 0)
			rc = add3(a, "--dev-bind", ctl[i], ctl[i]);
	return rc;
}

int rt_sb_argv(const rt_spec_t *spec, const rt_user_t *u, rt_strv_t *a)
{
	const char *bwrap = rt_sb_bwrap();
	const char *home = u->set ? u->home : spec->home_dir;
	const char *dir;
	char parent[512];
	int rc;

	if (!bwrap)
		return GH_EUNSUPPORTED;
	rc = rt_strv_add(a, bwrap);
	rc = rc ? rc : add3(a, "--ro-bind", "/", "/");
	rc = rc ? rc : add3(a, "--dev", "/dev", NULL);
	rc = rc ? rc : add_gpus(spec, a);
	rc = rc ? rc : add3(a, "--proc", "/proc", NULL);
	rc = rc ? rc : add3(a, "--tmpfs", "/tmp", NULL);
	rc = rc ? rc : add3(a, "--tmpfs", "/var/tmp", NULL);
	rc = rc ? rc : add3(a, "--tmpfs", "/home", NULL);
	if (rc == 0 && is_dir(spec->hide_dir) && strcmp(spec->hide_dir, "/") != 0)
		rc = add3(a, "--tmpfs", spec->hide_dir, NULL);
	if (rc == 0 && is_dir(home)) {
		/* hide the siblings of a home kept outside /home (e.g. <data>/homes/x) */
		char *slash;
		gh_strlcpy(parent, home, sizeof(parent));
		slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			if (strcmp(parent, "/home") != 0 && strchr(parent + 1, '/'))
				rc = add3(a, "--tmpfs", parent, NULL);
		}
		rc = rc ? rc : add3(a, "--bind", home, home);
	}
	rc = rc ? rc : add3(a, "--bind", spec->workdir, spec->workdir);
	if (rc == 0 && is_dir(dir = rt_spec_getenv(spec, "GPUHUB_SIM_REPORT_DIR")))
		rc = add3(a, "--bind", dir, dir);
	if (rc == 0 && is_dir(dir = rt_spec_getenv(spec, "CUDA_MPS_PIPE_DIRECTORY")))
		rc = add3(a, "--bind", dir, dir);
	rc = rc ? rc : add3(a, "--chdir", spec->workdir, NULL);
	rc = rc ? rc : add3(a, "--unshare-pid", NULL, NULL);
	/* a command on its own terminal keeps the session that terminal controls */
	if (rc == 0 && !spec->tty)
		rc = add3(a, "--new-session", NULL, NULL);
	rc = rc ? rc : add3(a, "--", NULL, NULL);
	for (int i = 0; rc == 0 && spec->argv[i]; i++)
		rc = rt_strv_add(a, spec->argv[i]);
	return rc;
}
