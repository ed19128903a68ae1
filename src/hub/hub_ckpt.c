/*
 * hub_ckpt.c — see hub_ckpt.h. Each step runs the tool as a child with
 * its output captured (the last line becomes the error message):
 *
 *   step      | command
 *   ----------+------------------------------------------------------------
 *   available | criu check
 *   dump      | cuda-checkpoint --toggle --pid P   (each GPU process)
 *             | criu dump -t LEADER -D DIR --shell-job --tcp-established
 *   restore   | criu restore -D DIR --shell-job --tcp-established
 *             |   --restore-detached --pidfile DIR/restored.pid
 *             | cuda-checkpoint --toggle --pid P   (each GPU process again)
 *
 * The restored leader becomes the session's runtime handle: the runtime
 * takes the restored tree back under the limits a start would give it
 * (rt_rejoin: the local runtime's cgroup of the session) and names it; an
 * engine without that op gets the old handle with the new pid and start
 * time (hub_ckpt_adopt_ref()).
 */
#include "hub/hub_ckpt.h"
#include "common/err.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv; 0 when it exits 0. The end of its output goes to errmsg. */
static int run(char *const argv[], char *errmsg, size_t errlen)
{
	int fds[2], st = 0;
	pid_t pid;
	char buf[512];
	size_t len = 0;
	ssize_t n;

	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0)
		return GH_EIO;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return GH_EIO;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0)
			len += (size_t)n;
		if (len >= sizeof(buf) - 1) { /* keep the last half */
			memmove(buf, buf + len / 2, len - len / 2);
			len -= len / 2;
		}
	}
	close(fds[0]);
	buf[len] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (errmsg && errlen) {
		char *last = strrchr(buf, '\n');
		snprintf(errmsg, errlen, "%s", last ? last + 1 : buf);
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : GH_EUNSUPPORTED;
}

int hub_ckpt_available(const hub_ckpt_tools_t *t)
{
	char *const argv[] = {(char *)t->criu, (char *)"check", NULL};
	char why[256];
	int ok = run(argv, why, sizeof(why)) == 0;

	if (ok)
		GH_INFO("process checkpoint is available (%s check passes): suspend keeps memory", t->criu);
	else
		GH_INFO("process checkpoint is not available (%s check: %s); suspend reopens notebooks with fresh "
		        "kernels", t->criu, why[0] ? why : "not installed");
	return ok;
}

static int toggle_gpu(const hub_ckpt_tools_t *t, const int *gpu_pids, int n, char *errmsg, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		char pid[16];
		char *const argv[] = {(char *)t->cuda_checkpoint, (char *)"--toggle", (char *)"--pid", pid, NULL};
		snprintf(pid, sizeof(pid), "%d", gpu_pids[i]);
		if (run(argv, errmsg, errlen) != 0)
			return GH_EUNSUPPORTED;
	}
	return 0;
}

int hub_ckpt_dump(const hub_ckpt_tools_t *t, const char *images_dir, int leader_pid, const int *gpu_pids, int n,
                  char *errmsg, size_t errlen)
{
	char pid[16];
	char *const argv[] = {(char *)t->criu, (char *)"dump", (char *)"-t", pid, (char *)"-D", (char *)images_dir,
	                      (char *)"--shell-job", (char *)"--tcp-established", NULL};
	int rc;

	if (mkdir(images_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(errmsg, errlen, "cannot create %s: %s", images_dir, strerror(errno));
		return GH_EIO;
	}
	if ((rc = toggle_gpu(t, gpu_pids, n, errmsg, errlen)))
		return rc;
	snprintf(pid, sizeof(pid), "%d", leader_pid);
	if ((rc = run(argv, errmsg, errlen))) {
		toggle_gpu(t, gpu_pids, n, NULL, 0); /* give the GPU state back to the live processes */
		return rc;
	}
	return 0;
}

int hub_ckpt_restore(const hub_ckpt_tools_t *t, const char *images_dir, const int *gpu_pids, int n, int *pid_out,
                     char *errmsg, size_t errlen)
{
	char pidfile[1024];
	char *const argv[] = {(char *)t->criu, (char *)"restore", (char *)"-D", (char *)images_dir,
	                      (char *)"--shell-job", (char *)"--tcp-established", (char *)"--restore-detached",
	                      (char *)"--pidfile", pidfile, NULL};
	FILE *f;
	int rc;

	*pid_out = 0;
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", images_dir);
	unlink(pidfile);
	if ((rc = run(argv, errmsg, errlen)))
		return rc;
	if (!(f = fopen(pidfile, "r")) || fscanf(f, "%d", pid_out) != 1 || *pid_out <= 1) {
		if (f)
			fclose(f);
		*pid_out = 0;
		snprintf(errmsg, errlen, "the restore wrote no process id to %s", pidfile);
		return GH_EIO;
	}
	fclose(f);
	if ((rc = toggle_gpu(t, gpu_pids, n, errmsg, errlen)))
		return rc;
	return 0;
}

void hub_ckpt_remove(const char *images_dir)
{
	DIR *d = opendir(images_dir);
	struct dirent *e;
	char path[1280];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", images_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(images_dir);
}

/* --- pure helpers --- */

int hub_ckpt_adopt_ref(const char *old_ref, int pid, unsigned long long start, char *out, size_t outlen)
{
	const char *p = old_ref, *cg;
	int n;

	if (!p || pid <= 1 || !outlen)
		return GH_EINVAL;
	/* pid ':' start [':' cgroup] */
	if (!(*p >= '0' && *p <= '9'))
		return GH_EINVAL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':' || !(*p >= '0' && *p <= '9'))
		return GH_EINVAL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p != '\0' && (*p != ':' || p[1] == '\0'))
		return GH_EINVAL;
	cg = *p ? p : "";
	n = snprintf(out, outlen, "%d:%llu%s", pid, start, cg);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return GH_EINVAL;
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int hub_ckpt_same_gpus(const int *had, int n_had, const int *now, int n_now)
{
	int a[64], b[64];

	if (n_had != n_now || n_had < 0 || n_had > 64)
		return 0;
	if (n_had == 0)
		return 1; /* no GPUs then, none now */
	memcpy(a, had, sizeof(int) * (size_t)n_had);
	memcpy(b, now, sizeof(int) * (size_t)n_now);
	qsort(a, (size_t)n_had, sizeof(int), cmp_int);
	qsort(b, (size_t)n_now, sizeof(int), cmp_int);
	return memcmp(a, b, sizeof(int) * (size_t)n_had) == 0;
}

void hub_ckpt_gpus_text(const int *idx, int n, char *out, size_t outlen)
{
	size_t off = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	if (n <= 0) {
		snprintf(out, outlen, "none");
		return;
	}
	for (int i = 0; i < n && off < outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%s%d", i ? "," : "", idx[i]);
}

int hub_ckpt_proc_start(int pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	*start = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "re")))
		return GH_ENOTFOUND;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')))
		return GH_EIO;
	p++;
	/* fields 3.. follow the command name; the start time is field 22 */
	for (int field = 2; field < 21; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return GH_EIO;
	}
	*start = strtoull(p + 1, NULL, 10);
	return *start ? 0 : GH_EIO;
}
