/*
 * hub_ckpt.h — process checkpoint for suspend: keeps a workspace's memory
 * (kernel variables included) across a suspend, where the machine allows.
 *
 * Back end: CRIU (`criu dump` / `criu restore` of the workspace's process
 * tree), with NVIDIA's cuda-checkpoint toggling each GPU process first so
 * device memory is copied to the host and back. It is considered only when
 * `criu check` passes; otherwise (the common case, and this build's test
 * machines) suspend records the open notebooks and resume reopens them
 * with fresh kernels (hub_suspend.c). All calls block: run them on a
 * worker.
 */
#ifndef GH_HUB_CKPT_H
#define GH_HUB_CKPT_H

#include <stddef.h>

/* 1 when `criu check` passes (and cuda-checkpoint is found for GPU
 * processes); asked once, the answer is kept. */
int hub_ckpt_available(void);
/* Dumps the tree of leader_pid into images_dir (created); the processes
 * end. gpu_pids (n of them) are toggled with cuda-checkpoint first.
 * 0, or a gh_err_t with the tool's complaint in errmsg. */
int hub_ckpt_dump(const char *images_dir, int leader_pid, const int *gpu_pids, int n, char *errmsg,
                  size_t errlen);
/* Restores the tree from images_dir; *pid_out is the restored leader. */
int hub_ckpt_restore(const char *images_dir, int *pid_out, char *errmsg, size_t errlen);

#endif
