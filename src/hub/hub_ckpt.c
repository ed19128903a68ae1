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
 */
#include "hub/hub_ckpt.h"
#include "common/err.h"
#include "common/log.h"

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

int hub_ckpt_available(void)
{
	static int known = -1;
	char *const argv[] = {(char *)"criu", (char *)"check", NULL};
	char why[256];
	if (known < 0) {
		known = run(argv, why, sizeof(why)) == 0;
		if (known)
			GH_INFO("process checkpoint is available (criu check passes): suspend keeps memory");
		else
			GH_INFO("process checkpoint is not available (criu check: %s); suspend reopens notebooks with "
			        "fresh kernels", why[0] ? why : "not installed");
	}
	return known;
}

static int toggle_gpu(const int *gpu_pids, int n, char *errmsg, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		char pid[16];
		char *const argv[] = {(char *)"cuda-checkpoint", (char *)"--toggle", (char *)"--pid", pid, NULL};
		snprintf(pid, sizeof(pid), "%d", gpu_pids[i]);
		if (run(argv, errmsg, errlen) != 0)
			return GH_EUNSUPPORTED;
	}
	return 0;
}

int hub_ckpt_dump(const char *images_dir, int leader_pid, const int *gpu_pids, int n, char *errmsg, size_t errlen)
{
	char pid[16];
	char *const argv[] = {(char *)"criu", (char *)"dump", (char *)"-t", pid, (char *)"-D", (char *)images_dir,
	                      (char *)"--shell-job", (char *)"--tcp-established", NULL};
	int rc;

	if (mkdir(images_dir, 0700) != 0 && errno != EEXIST)
		return GH_EIO;
	if ((rc = toggle_gpu(gpu_pids, n, errmsg, errlen)))
		return rc;
	snprintf(pid, sizeof(pid), "%d", leader_pid);
	if ((rc = run(argv, errmsg, errlen))) {
		toggle_gpu(gpu_pids, n, NULL, 0); /* give the GPU state back to the live processes */
		return rc;
	}
	return 0;
}

int hub_ckpt_restore(const char *images_dir, int *pid_out, char *errmsg, size_t errlen)
{
	char pidfile[1024];
	char *const argv[] = {(char *)"criu", (char *)"restore", (char *)"-D", (char *)images_dir,
	                      (char *)"--shell-job", (char *)"--tcp-established", (char *)"--restore-detached",
	                      (char *)"--pidfile", pidfile, NULL};
	FILE *f;
	int rc;

	*pid_out = 0;
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", images_dir);
	if ((rc = run(argv, errmsg, errlen)))
		return rc;
	if (!(f = fopen(pidfile, "r")) || fscanf(f, "%d", pid_out) != 1) {
		if (f)
			fclose(f);
		return GH_EIO;
	}
	fclose(f);
	return 0;
}
