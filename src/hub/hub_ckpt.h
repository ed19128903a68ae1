/*
 * hub_ckpt.h — process checkpoint for suspend: keeps a workspace's memory
 * (kernel variables included) across a suspend, where the machine allows.
 *
 * Back end: CRIU (`criu dump` / `criu restore` of the workspace's process
 * tree), with NVIDIA's cuda-checkpoint toggling each GPU process first so
 * device memory is copied to the host and back. It is used only when
 * idle.checkpoint is auto and `criu check` passes; otherwise suspend
 * records the open notebooks and resume reopens them with fresh kernels
 * (hub_suspend.c). The run steps block: call them on a worker.
 */
#ifndef GH_HUB_CKPT_H
#define GH_HUB_CKPT_H

#include <stddef.h>

/* The programs run (config idle.criu, idle.cuda_checkpoint); borrowed. */
typedef struct {
	const char *criu;
	const char *cuda_checkpoint;
} hub_ckpt_tools_t;

/* 1 when `criu check` passes, else 0 (the reason is logged). */
int hub_ckpt_available(const hub_ckpt_tools_t *t);
/* Dumps the tree of leader_pid into images_dir (created); the processes
 * end. gpu_pids (n of them) are toggled with cuda-checkpoint first.
 * 0, or a gh_err_t with the tool's complaint in errmsg. */
int hub_ckpt_dump(const hub_ckpt_tools_t *t, const char *images_dir, int leader_pid, const int *gpu_pids, int n,
                  char *errmsg, size_t errlen);
/* Restores the tree from images_dir, then toggles gpu_pids (CRIU gives
 * the processes their old pids) back onto their GPUs; *pid_out is the
 * restored leader. */
int hub_ckpt_restore(const hub_ckpt_tools_t *t, const char *images_dir, const int *gpu_pids, int n, int *pid_out,
                     char *errmsg, size_t errlen);
/* Removes images_dir and the files in it. */
void hub_ckpt_remove(const char *images_dir);

/* --- pure helpers (unit-tested) --- */

/* The runtime handle of a restored leader: "PID:START" followed by the
 * cgroup part of old_ref (":cg") when it had one. 0, or GH_EINVAL when
 * old_ref is not "pid:start[:cgroup]" or out is too small. */
int hub_ckpt_adopt_ref(const char *old_ref, int pid, unsigned long long start, char *out, size_t outlen);
/* 1 when had and now hold the same GPU indices (in any order). CUDA
 * state restored by cuda-checkpoint is tied to the devices it came from. */
int hub_ckpt_same_gpus(const int *had, int n_had, const int *now, int n_now);
/* "0,2" for {0, 2}; "none" when n is 0. */
void hub_ckpt_gpus_text(const int *idx, int n, char *out, size_t outlen);
/* The start time of pid (field 22 of /proc/PID/stat, clock ticks). */
int hub_ckpt_proc_start(int pid, unsigned long long *start);

#endif
