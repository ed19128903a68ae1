/*
 * reason.c — sentences for people: why a request waits, why a session was
 * preempted.
 *
 * The pass stores only a code and two numbers per waiting request and
 * writes text on demand: formatting 100,000 sentences would cost more than
 * the whole pass, and the hub needs only the ones it shows.
 *
 *   code             | example
 *   -----------------+----------------------------------------------------
 *   capacity         | no node with 2 free A100 — expected in about 14 min
 *   capacity (frac.) | no GPU with 0.25 free (T4) — no estimate yet
 *   reserved holder  | no node with 8 free GPUs — GPUs are being kept free
 *                    |   for it, expected in about 2 h
 *   reserved         | the free GPUs are kept for an earlier 8-GPU request
 *   user/group GPUs  | group quota 8/8 GPUs in use — expected in about 1 h
 *   sessions         | user limit 3/3 sessions running
 *   GPU-hours        | user used 40.0 of 40 GPU-hours in the window
 *   preempting       | 2 sessions are being suspended to make room — ...
 *   releasing        | GPUs are being released by stopping sessions — ...
 *   never            | no node can ever run this (16 A100 on one node)
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "sched/sched.h"

typedef struct {
	char *buf;
	size_t len, n;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_t *o, const char *fmt, ...)
{
	va_list ap;
	char *dst = o->n < o->len ? o->buf + o->n : NULL;
	size_t room = o->n < o->len ? o->len - o->n : 0;

	va_start(ap, fmt);
	int k = vsnprintf(dst, room, fmt, ap);

	va_end(ap);
	if (k > 0)
		o->n += (size_t)k;
}

/* "1.5" for 1500 milli, "2" for 2000. */
static void put_gpus(out_t *o, int64_t milli)
{
	if (milli % 1000 == 0)
		put(o, "%" PRId64, milli / 1000);
	else
		put(o, "%.3g", milli / 1000.0);
}

static void put_models(out_t *o, const place_cluster_t *c, uint64_t mask, const char *pre,
		       const char *post)
{
	int first = 1;

	if (!c || mask == ~0ULL)
		return;
	put(o, "%s", pre);
	for (int i = 0; i < c->nmodels; i++)
		if ((mask >> i) & 1) {
			put(o, "%s%s", first ? "" : " or ", c->models[i]);
			first = 0;
		}
	if (first)
		put(o, "an unknown model");
	put(o, "%s", post);
}

static void put_eta(out_t *o, int64_t eta)
{
	if (eta < 0)
		put(o, "no estimate yet");
	else if (eta < 30)
		put(o, "expected shortly");
	else if (eta < 90)
		put(o, "expected in about 1 min");
	else if (eta < 90 * 60)
		put(o, "expected in about %" PRId64 " min", (eta + 30) / 60);
	else if (eta < 36 * 3600)
		put(o, "expected in about %" PRId64 " h", (eta + 1800) / 3600);
	else
		put(o, "expected in about %" PRId64 " days", (eta + 43200) / 86400);
}

static void put_shape(out_t *o, const sched_wait_t *w, const place_cluster_t *c)
{
	if (w->num_gpu == 1 && w->gpu_milli < 1000) {
		put(o, "no GPU with ");
		put_gpus(o, w->gpu_milli);
		put(o, " free");
		put_models(o, c, w->model_mask, " (", ")");
		return;
	}
	put(o, "no node with %d free", w->num_gpu);
	if (!c || w->model_mask == ~0ULL)
		put(o, " GPU%s", w->num_gpu == 1 ? "" : "s");
	else
		put_models(o, c, w->model_mask, " ", "");
}

size_t sched_wait_reason(const sched_wait_t *w, const place_cluster_t *c, char *buf, size_t len)
{
	out_t o = { buf, len, 0 };
	int quota = 0;

	if (len)
		buf[0] = '\0';
	switch (w->code) {
	case SCHED_WAIT_CAPACITY:
		put_shape(&o, w, c);
		put(&o, " — ");
		if (w->reserved)
			put(&o, "GPUs are being kept free for it, ");
		put_eta(&o, w->eta_s);
		return o.n;
	case SCHED_WAIT_NEVER:
		put(&o, "no node can ever run this (");
		if (w->num_gpu == 1 && w->gpu_milli < 1000)
			put_gpus(&o, w->gpu_milli);
		else
			put(&o, "%d", w->num_gpu);
		put_models(&o, c, w->model_mask, " ", "");
		put(&o, " GPU%s with the CPU and memory asked)",
		    w->num_gpu == 1 && w->gpu_milli >= 1000 ? "" : "s");
		return o.n;
	case SCHED_WAIT_INVALID:
		put(&o, "the request is not valid (priority class or GPU shape)");
		return o.n;
	case SCHED_WAIT_USER_GPUS:
	case SCHED_WAIT_GROUP_GPUS:
		put(&o, "%s quota ", w->code == SCHED_WAIT_USER_GPUS ? "user" : "group");
		put_gpus(&o, w->a);
		put(&o, "/");
		put_gpus(&o, w->b);
		put(&o, " GPUs in use");
		quota = 1;
		break;
	case SCHED_WAIT_USER_SESSIONS:
	case SCHED_WAIT_GROUP_SESSIONS:
		put(&o, "%s limit %" PRId64 "/%" PRId64 " sessions running",
		    w->code == SCHED_WAIT_USER_SESSIONS ? "user" : "group", w->a, w->b);
		quota = 1;
		break;
	case SCHED_WAIT_USER_HOURS:
	case SCHED_WAIT_GROUP_HOURS:
		put(&o, "%s used %.1f of %.4g GPU-hours in the window",
		    w->code == SCHED_WAIT_USER_HOURS ? "user" : "group", w->a / 3600.0,
		    w->b / 3600.0);
		return o.n;
	case SCHED_WAIT_PREEMPTING:
		put(&o, "%" PRId64 " session%s %s being suspended or stopped to make room — ", w->a,
		    w->a == 1 ? "" : "s", w->a == 1 ? "is" : "are");
		put_eta(&o, w->eta_s);
		return o.n;
	case SCHED_WAIT_RELEASING:
		put(&o, "GPUs are being released by stopping sessions — ");
		put_eta(&o, w->eta_s);
		return o.n;
	case SCHED_WAIT_RESERVED:
		put(&o, "the free GPUs are kept for an earlier %" PRId64 "-GPU request — ", w->a);
		put_eta(&o, w->eta_s);
		return o.n;
	default:
		put(&o, "waiting");
		return o.n;
	}
	if (quota && w->eta_s >= 0) {
		put(&o, " — ");
		put_eta(&o, w->eta_s);
	}
	return o.n;
}

size_t sched_preempt_reason(const sched_preempt_t *p, char *buf, size_t len)
{
	out_t o = { buf, len, 0 };

	if (len)
		buf[0] = '\0';
	switch (p->why) {
	case SCHED_WHY_IDLE:
		put(&o, "idle; %s to make room for request %" PRId64,
		    p->suspend ? "suspended" : "stopped", p->for_req_id);
		break;
	case SCHED_WHY_RECLAIM:
		put(&o, "running on borrowed GPUs (over quota); %s because request %" PRId64
			" needs them within its quota",
		    p->suspend ? "suspended" : "stopped", p->for_req_id);
		break;
	case SCHED_WHY_PRIORITY:
		put(&o, "%s for higher-priority request %" PRId64,
		    p->suspend ? "suspended" : "stopped", p->for_req_id);
		break;
	default:
		put(&o, "preempted for request %" PRId64, p->for_req_id);
		break;
	}
	return o.n;
}
