/*
 * gpu.h — the GPU inventory: which devices exist, how busy they are, which
 * processes use them, and faults (XID errors, lost devices).
 *
 * Sources are ops tables chosen by a spec string:
 *   "nvml"              NVIDIA's NVML, loaded with dlopen("libnvidia-ml.so.1")
 *   "sim:N[xMODEL]"     N simulated GPUs, e.g. "sim:4xA100-80GB"
 *   "auto"              nvml when it loads and sees a device, else sim:
 *                       (the caller is told via gpu_src_simulated())
 * The simulated source is a real back end, not canned answers: its devices
 * have memory and capacity, its utilization and memory use come from the
 * processes that report them (see gpu/sim/gpu_sim.c for the report file
 * format), and faults are injected with gpu_inject().
 *
 * All calls may block briefly (NVML); the hub calls them from a worker.
 * A source is safe to call from several threads at once.
 *
 * Contract details shared by every source:
 *   - index outside 0..count-1 gives GH_ENOTFOUND.
 *   - telemetry() of a lost device still returns 0, with lost=1,
 *     healthy=0 and util/temperature/power -1: the monitor reads one shape.
 *     processes() of a lost device gives GH_EIO.
 *   - processes() and poll_events() set *n to the number of entries filled
 *     (at most max); processes are sorted by pid.
 *   - CLEARED resets healthy=1, lost=0 and last_xid=0. XID 79 ("fallen off
 *     the bus") also marks the device lost.
 */
#ifndef GH_GPU_H
#define GH_GPU_H

#include <stdint.h>
#include <stddef.h>
#include "common/model.h"

typedef struct gh_gpu_src gh_gpu_src_t;

typedef enum { GH_SHARE_EXCLUSIVE = 0, GH_SHARE_MPS, GH_SHARE_MIG } gh_share_mode_t;

typedef struct {
	int index;
	char uuid[GH_MODEL_MAX];
	char model[GH_MODEL_MAX];        /* "A100-80GB", "NVIDIA A100-SXM4-80GB", ... */
	int64_t memory_mib;              /* total */
	int capacity_milli;              /* 1000 for a whole device */
	gh_share_mode_t sharing;
} gh_gpu_info_t;

typedef struct {
	int index;
	int util_pct;                    /* 0..100, -1 = unknown */
	int64_t memory_used_mib;
	int temperature_c;               /* -1 = unknown */
	int power_w;                     /* -1 = unknown */
	int healthy;                     /* 0 after a fault until cleared */
	int last_xid;                    /* 0 = none */
	int lost;                        /* device fell off the bus */
} gh_gpu_telemetry_t;

typedef struct {
	int pid;
	int gpu_index;
	int util_pct;                    /* -1 = unknown */
	int64_t memory_mib;
} gh_gpu_proc_t;

typedef enum { GH_GPU_EV_XID = 1, GH_GPU_EV_LOST, GH_GPU_EV_CLEARED } gh_gpu_event_type_t;

typedef struct {
	gh_gpu_event_type_t type;
	int gpu_index;
	int xid;                         /* for GH_GPU_EV_XID */
	int64_t ts;                      /* Unix ms */
} gh_gpu_event_t;

typedef struct gpu_ops {
	const char *name;                /* "nvml", "sim" */
	/* arg: the part after "name:" in the spec ("4xA100-80GB"), may be "".
	 * state_dir: a directory the source may use (sim report files). */
	int (*open)(gh_gpu_src_t **out, const char *arg, const char *state_dir,
	            char *errmsg, size_t errlen);
	void (*close)(gh_gpu_src_t *src);
	int (*count)(gh_gpu_src_t *src);
	int (*info)(gh_gpu_src_t *src, int index, gh_gpu_info_t *out);
	int (*telemetry)(gh_gpu_src_t *src, int index, gh_gpu_telemetry_t *out);
	/* Fills up to max entries for processes on device index; *n = count. */
	int (*processes)(gh_gpu_src_t *src, int index, gh_gpu_proc_t *out, int max, int *n);
	/* Drains pending fault events (non-blocking). */
	int (*poll_events)(gh_gpu_src_t *src, gh_gpu_event_t *out, int max, int *n);
	/* Fault injection; GH_EUNSUPPORTED for real hardware, except CLEARED,
	 * which an admin uses there to mark a device healthy again after an XID.
	 * type: GH_GPU_EV_XID (with xid > 0), GH_GPU_EV_LOST or GH_GPU_EV_CLEARED.
	 * Each accepted injection queues the matching event. */
	int (*inject)(gh_gpu_src_t *src, int index, gh_gpu_event_type_t type, int xid);
} gpu_ops_t;

struct gh_gpu_src {
	const gpu_ops_t *ops;
	int simulated;                   /* 1 for sim */
};

/* Opens the source named by spec ("auto", "nvml", "sim", "sim:4xA100-80GB";
 * NULL or "" mean "auto"). For "auto" that falls back to sim, *fell_back
 * (may be NULL) is set to 1, the simulated inventory is sim_default (e.g.
 * "4xA100-80GB"; NULL or "" = the built-in "4xA100-80GB"), and errmsg
 * (may be NULL) receives why NVML was not used, for the log. Plain "sim"
 * also uses sim_default. *out is NULL on failure and errmsg says why. */
int gpu_open(gh_gpu_src_t **out, const char *spec, const char *sim_default,
             const char *state_dir, int *fell_back, char *errmsg, size_t errlen);
void gpu_close(gh_gpu_src_t *src);
const char *gpu_src_name(const gh_gpu_src_t *src);
int gpu_src_simulated(const gh_gpu_src_t *src);
int gpu_count(gh_gpu_src_t *src);
int gpu_info(gh_gpu_src_t *src, int index, gh_gpu_info_t *out);
int gpu_telemetry(gh_gpu_src_t *src, int index, gh_gpu_telemetry_t *out);
int gpu_processes(gh_gpu_src_t *src, int index, gh_gpu_proc_t *out, int max, int *n);
int gpu_poll_events(gh_gpu_src_t *src, gh_gpu_event_t *out, int max, int *n);
int gpu_inject(gh_gpu_src_t *src, int index, gh_gpu_event_type_t type, int xid);
/* "exclusive", "mps", "mig"; "unknown" for an out-of-range value. */
const char *gpu_share_mode_name(gh_share_mode_t m);

/* Simulated source: processes report their own GPU use in report files
 * (format in docs/gpu.md and gpu/sim/gpu_sim.c). The hub gives a session
 * the directory in GPUHUB_SIM_REPORT_DIR.
 *
 * gpu_sim_report_dir: writes "<state_dir>/gpu-sim/reports" into out;
 * GH_ETOOBIG if it does not fit.
 * gpu_sim_report_write: atomically (re)writes the report of process pid,
 * one line per entry of procs (gpu_index, util_pct, memory_mib; their pid
 * field is ignored); n == 0 writes an empty report ("alive, no GPU use").
 * Creates the directory when missing. 0, GH_EINVAL or GH_EIO. */
int gpu_sim_report_dir(const char *state_dir, char *out, size_t outlen);
int gpu_sim_report_write(const char *state_dir, int pid, const gh_gpu_proc_t *procs, int n);

#endif
