/*
 * worker.c — see worker.h. Two linked queues under one mutex: `todo`
 * (submitted, waiting for a thread) and `finished` (run, waiting for the
 * loop). An eventfd counts finished jobs for the loop's poller.
 */
#include "hub/worker.h"
#include "common/err.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct job {
	struct job *next;
	void *job;
	worker_run_fn run;
	worker_done_fn done;
	void *ctx;
} job_t;

struct gh_worker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job_t *todo_head, *todo_tail;
	job_t *fin_head, *fin_tail;
	int stopping;
	int pending;                     /* loop thread only */
	int efd;
	int nthreads;
	pthread_t threads[8];
};

static void push(job_t **head, job_t **tail, job_t *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static job_t *pop(job_t **head, job_t **tail)
{
	job_t *j = *head;
	if (j) {
		*head = j->next;
		if (!*head)
			*tail = NULL;
	}
	return j;
}

static void *thread_main(void *arg)
{
	gh_worker_t *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		job_t *j;
		while (!w->todo_head && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		j = pop(&w->todo_head, &w->todo_tail);
		if (!j)
			break; /* stopping and nothing left */
		pthread_mutex_unlock(&w->mu);
		j->run(j->job);
		pthread_mutex_lock(&w->mu);
		push(&w->fin_head, &w->fin_tail, j);
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; drain runs anyway */
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int worker_create(gh_worker_t **out, int nthreads)
{
	gh_worker_t *w = calloc(1, sizeof(*w));
	int i;

	*out = NULL;
	if (!w)
		return GH_ENOMEM;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > 8)
		nthreads = 8;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		goto fail;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, thread_main, w) != 0)
			break;
		w->nthreads++;
	}
	if (w->nthreads == 0)
		goto fail;
	*out = w;
	return 0;
fail:
	if (w->efd >= 0)
		close(w->efd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return GH_EIO;
}

void worker_destroy(gh_worker_t *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	worker_drain(w);
	close(w->efd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int worker_submit(gh_worker_t *w, void *job, worker_run_fn run, worker_done_fn done, void *ctx)
{
	job_t *j = calloc(1, sizeof(*j));
	if (!j)
		return GH_ENOMEM;
	j->job = job;
	j->run = run;
	j->done = done;
	j->ctx = ctx;
	pthread_mutex_lock(&w->mu);
	push(&w->todo_head, &w->todo_tail, j);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	w->pending++;
	return 0;
}

int worker_fd(const gh_worker_t *w) { return w->efd; }
int worker_pending(const gh_worker_t *w) { return w->pending; }

void worker_drain(gh_worker_t *w)
{
	uint64_t n;
	job_t *list, *j;

	if (read(w->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing counted; the list below is the truth */
	}
	pthread_mutex_lock(&w->mu);
	list = w->fin_head;
	w->fin_head = w->fin_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	while ((j = list) != NULL) {
		list = j->next;
		w->pending--;
		j->done(j->ctx, j->job);
		free(j);
	}
}
