/*
 * worker.h — a small pool of threads for blocking work (fork/exec of a
 * workspace, later NVML, outgoing HTTP, snapshots), so the event-loop
 * thread never waits on it.
 *
 * A job runs `run(job)` on a worker thread; when it is finished, `done(ctx,
 * job)` runs on the loop thread from worker_drain(). worker_fd() becomes
 * readable (an eventfd) whenever finished jobs wait to be drained, so the
 * loop can watch it. Jobs must not touch hub state in `run`.
 */
#ifndef GH_WORKER_H
#define GH_WORKER_H

typedef struct gh_worker gh_worker_t;
typedef void (*worker_run_fn)(void *job);
typedef void (*worker_done_fn)(void *ctx, void *job);

int worker_create(gh_worker_t **out, int nthreads);
/* Waits for running and queued jobs, then runs their done callbacks. */
void worker_destroy(gh_worker_t *w);
/* Queues a job; the caller keeps ownership of job until done() runs. */
int worker_submit(gh_worker_t *w, void *job, worker_run_fn run, worker_done_fn done, void *ctx);
int worker_fd(const gh_worker_t *w);
/* Runs done() of every finished job, on the calling (loop) thread. */
void worker_drain(gh_worker_t *w);
/* Jobs submitted and not yet drained. */
int worker_pending(const gh_worker_t *w);

#endif
