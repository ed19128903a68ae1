/*
 * gpu_sim_int.h — what the simulated source's two files share: the device
 * limit and the report reader (gpu_sim_report.c) that gpu_sim.c calls.
 *
 * Not for use outside src/gpu/sim/.
 */
#ifndef GH_GPU_SIM_INT_H
#define GH_GPU_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_DEVICES 64

/* One (pid, gpu) pair read from the reports; a pid's lines for the same
 * gpu are already added up. */
typedef struct {
	int pid;
	int gpu;
	int util;                        /* 0..100, -1 = unknown */
	int64_t mem;                     /* MiB, as reported (not capped) */
} sim_entry_t;

typedef struct {
	sim_entry_t *v;                  /* owned: the caller of sim_report_scan frees it */
	int n, cap;
} sim_list_t;

/* Creates <state_dir>/gpu-sim/reports when missing (sticky, world-writable)
 * and writes its path into dir. 0, GH_ETOOBIG or GH_EIO with errmsg (may be
 * NULL) saying why. */
int sim_report_ensure_dir(const char *state_dir, char *dir, size_t dirlen,
                          char *errmsg, size_t errlen);
/* Reads every live, fresh report in dir that names a gpu below ndev, sorted
 * by pid then gpu; removes dead and stale ones on the way. dir "" or
 * missing = no reports. 0, GH_ENOMEM or GH_EIO; on failure l is empty. */
int sim_report_scan(const char *dir, int ndev, sim_list_t *l);

#endif
