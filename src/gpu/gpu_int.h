/*
 * gpu_int.h — what the GPU sources share inside src/gpu/: the registered
 * ops tables and the small fault-event queue both back ends keep.
 *
 * Not for use outside src/gpu/.
 */
#ifndef GH_GPU_INT_H
#define GH_GPU_INT_H

#include "gpu/gpu.h"

extern const gpu_ops_t gpu_nvml_ops;
extern const gpu_ops_t gpu_sim_ops;

/* A fixed ring of pending fault events. When full, the oldest event is
 * dropped (and counted): a burst of XIDs must not grow memory, and the
 * newest state of a device is what the hub acts on. The owner serialises
 * access (each source holds its own mutex around these calls). */
#define GPU_EVQ_CAP 256

typedef struct {
	gh_gpu_event_t ev[GPU_EVQ_CAP];
	int head;                        /* index of the oldest event */
	int len;
	unsigned dropped;                /* events lost to overflow, ever */
} gpu_evq_t;

void gpu_evq_push(gpu_evq_t *q, gh_gpu_event_type_t type, int gpu_index, int xid);
/* Moves up to max oldest events to out; returns how many. */
int gpu_evq_drain(gpu_evq_t *q, gh_gpu_event_t *out, int max);

/* XID 79: "GPU has fallen off the bus". Both sources treat it as a lost
 * device as well as an XID. */
#define GPU_XID_FELL_OFF_BUS 79

#endif
