/*
 * api_events.c — GET /sessions/{id}/events: a session's progress as a
 * server-sent-event stream (or a JSON list with Accept: application/json).
 *
 * h2o lets a generator have one h2o_send in flight: events that arrive
 * while one is in flight wait in `pending` and go out from proceed().
 *
 *   wire format of one event            | when
 *   ------------------------------------+------------------------------
 *   id: <event id>                      | always (Last-Event-ID resumes)
 *   event: <type, e.g. session.running> |
 *   data: <Event JSON, one line>        |
 *   (blank line)                        |
 *
 * The stream ends after the session reaches stopped or failed, or is
 * deleted; or when the client goes away (stop callback).
 */
#include "api/api_int.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

struct api_stream {
	h2o_generator_t super;
	api_stream_t *next;
	api_t *api;
	h2o_req_t *req;
	hub_sub_t *sub;
	char *pending, *sending;
	size_t pending_len, pending_cap;
	int inflight;
	int finishing;                   /* send FINAL once pending is out */
	int closed;
};

static void unlink_stream(api_stream_t *s)
{
	api_stream_t **pp;
	for (pp = &s->api->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (s->sub) {
		hub_unsubscribe(s->api->hub, s->sub);
		s->sub = NULL;
	}
}

static void release(api_stream_t *s)
{
	free(s->pending);
	free(s->sending);
	s->pending = s->sending = NULL;
	s->pending_len = s->pending_cap = 0;
}

static void append(api_stream_t *s, const char *data, size_t len)
{
	if (s->pending_len + len > s->pending_cap) {
		size_t cap = s->pending_cap ? s->pending_cap : 1024;
		char *p;
		while (cap < s->pending_len + len)
			cap *= 2;
		p = realloc(s->pending, cap);
		if (!p)
			return;
		s->pending = p;
		s->pending_cap = cap;
	}
	memcpy(s->pending + s->pending_len, data, len);
	s->pending_len += len;
}

static void flush(api_stream_t *s)
{
	h2o_iovec_t buf;
	if (s->inflight || s->closed)
		return;
	if (s->pending_len == 0 && !s->finishing)
		return;
	free(s->sending);
	s->sending = s->pending;
	buf = h2o_iovec_init(s->sending, s->pending_len);
	s->pending = NULL;
	s->pending_len = s->pending_cap = 0;
	s->inflight = 1;
	if (s->finishing) {
		s->closed = 1;
		unlink_stream(s);
		h2o_send(s->req, &buf, buf.len ? 1 : 0, H2O_SEND_STATE_FINAL);
		/* h2o is done with the buffer once FINAL returns */
		release(s);
		return;
	}
	h2o_send(s->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void add_event(api_stream_t *s, const gh_event_t *ev)
{
	json_t *o = api_event_json(ev);
	char *data = json_dumps(o, JSON_COMPACT), head[128];
	int n;

	json_decref(o);
	if (!data)
		return;
	n = snprintf(head, sizeof(head), "id: %lld\nevent: %s\ndata: ", (long long)ev->id, ev->type);
	append(s, head, (size_t)n);
	append(s, data, strlen(data));
	append(s, "\n\n", 2);
	free(data);
	if (strcmp(ev->type, "session.deleted") == 0 || (ev->session_id && gh_sess_state_ended(ev->state)))
		s->finishing = 1;
}

static void on_hub_event(void *ctx, const gh_event_t *ev)
{
	api_stream_t *s = ctx;
	add_event(s, ev);
	flush(s);
}

static void on_proceed(h2o_generator_t *g, h2o_req_t *req)
{
	api_stream_t *s = (api_stream_t *)g;
	(void)req;
	s->inflight = 0;
	flush(s);
}

static void on_stop(h2o_generator_t *g, h2o_req_t *req)
{
	api_stream_t *s = (api_stream_t *)g;
	(void)req;
	if (!s->closed) {
		s->closed = 1;
		unlink_stream(s);
	}
	release(s);
}

static int collect_past(void *ctx, const gh_event_t *ev)
{
	add_event(ctx, ev);
	return 0;
}

static int collect_json(void *ctx, const gh_event_t *ev)
{
	json_array_append_new(ctx, api_event_json(ev));
	return 0;
}

void api_session_events(api_req_t *r)
{
	size_t al, ll;
	const char *accept = http_header(r->req, "accept", &al);
	const char *last = http_header(r->req, "last-event-id", &ll);
	int64_t id = strtoll(r->params[0], NULL, 10), after = 0;
	const hub_session_t *hs = hub_session_get(r->hub, id);
	api_stream_t *s;

	if (last && ll > 0 && ll < 20) {
		char buf[24];
		memcpy(buf, last, ll);
		buf[ll] = '\0';
		after = strtoll(buf, NULL, 10);
	}
	if (accept && memmem(accept, al, "application/json", 16) && !memmem(accept, al, "text/event-stream", 17)) {
		json_t *arr = json_array();
		hub_events_list(r->hub, id, after, 0, collect_json, arr);
		http_send_json(r->req, 200, json_pack("{s:o}", "items", arr));
		return;
	}
	s = h2o_mem_alloc_pool(&r->req->pool, sizeof(*s));
	memset(s, 0, sizeof(*s));
	s->super.proceed = on_proceed;
	s->super.stop = on_stop;
	s->api = r->api;
	s->req = r->req;
	hub_events_list(r->hub, id, after, 0, collect_past, s);
	if (gh_sess_state_ended(hs->s.state))
		s->finishing = 1;
	else
		s->sub = hub_subscribe(r->hub, id, on_hub_event, s);
	s->next = r->api->streams;
	r->api->streams = s;

	r->req->res.status = 200;
	r->req->res.reason = "OK";
	http_add_header(r->req, "content-type", "text/event-stream");
	http_add_header(r->req, "cache-control", "no-store");
	http_add_header(r->req, "x-accel-buffering", "no");
	h2o_start_response(r->req, &s->super);
	if (s->pending_len == 0 && !s->finishing)
		append(s, ": stream open\n\n", 15);
	flush(s);
}

void api_streams_end(api_t *api) { api_streams_close(api); }

void api_streams_close(api_t *api)
{
	while (api->streams) {
		api_stream_t *s = api->streams;
		s->finishing = 1;
		if (s->inflight) {
			unlink_stream(s);
			s->closed = 1;
			continue;
		}
		flush(s);
		if (api->streams == s)
			unlink_stream(s);
	}
}
