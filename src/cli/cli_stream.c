/*
 * cli_stream.c — following a session's progress: GET
 * /sessions/{id}/events as a server-sent-event stream, each event's data
 * (an Event object) handed to a callback until it says stop.
 *
 * The server sends past events first, then new ones as they happen, each
 * with an "id:" line. If the connection drops (the server restarts, a
 * proxy times out), the stream is opened again with Last-Event-ID set to
 * the last id seen, so nothing is printed twice and nothing is missed.
 * Five reconnections in a row without a single event end the attempt.
 *
 *   outcome of one connection        | next
 *   ---------------------------------+-------------------------------------
 *   callback said stop               | return 0
 *   callback failed                  | return its code
 *   first connect failed             | report "cannot reach", return GH_EIO
 *   non-2xx answer                   | report it, return its code
 *   JSON list instead of a stream    | feed its items, then GH_EUNSUPPORTED
 *   deadline passed                  | return GH_ETIMEOUT (caller explains)
 *   dropped / ended                  | wait 1 s, reconnect with Last-Event-ID
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_RETRIES 5
#define ERRBODY_MAX (1u << 20)

struct stream {
	cli_ctx_t *c;
	CURL *e;
	cli_sse_t sse;
	cli_event_fn fn;
	void *arg;
	int checked;        /* status and type looked at */
	int is_sse;
	int stopped;        /* fn said stop */
	int fn_err;         /* fn's (or the parser's) negative code */
	int events;         /* events delivered on this connection */
	cli_resp_t other;   /* the answer when it is not a stream */
	size_t cap;
};

static int on_event(void *arg, const char *type, const char *id, const char *data)
{
	struct stream *s = arg;
	json_t *ev = json_loads(data, 0, NULL);
	int rc = 0;

	(void)type;
	(void)id;
	if (json_is_object(ev)) {
		s->events++;
		rc = s->fn(s->c, ev, s->arg);
	}
	json_decref(ev);
	return rc;
}

static size_t keep_body(struct stream *s, const char *ptr, size_t n)
{
	if (s->other.len + n + 1 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4096;
		char *nb;
		while (ncap < s->other.len + n + 1)
			ncap *= 2;
		if (ncap > ERRBODY_MAX)
			return 0;
		nb = realloc(s->other.body, ncap);
		if (!nb)
			return 0;
		s->other.body = nb;
		s->cap = ncap;
	}
	memcpy(s->other.body + s->other.len, ptr, n);
	s->other.len += n;
	s->other.body[s->other.len] = '\0';
	return n;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct stream *s = ud;
	size_t n = size * nmemb;
	int rc;

	if (!s->checked) {
		char *ct = NULL;
		curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &s->other.status);
		curl_easy_getinfo(s->e, CURLINFO_CONTENT_TYPE, &ct);
		s->is_sse = s->other.status / 100 == 2 && ct &&
			    strncasecmp(ct, "text/event-stream", 17) == 0;
		if (ct)
			gh_strlcpy(s->other.content_type, ct, sizeof(s->other.content_type));
		s->checked = 1;
	}
	if (!s->is_sse)
		return keep_body(s, ptr, n);
	rc = cli_sse_feed(&s->sse, ptr, n);
	if (rc == 1) {
		s->stopped = 1;
		return 0;
	}
	if (rc < 0) {
		s->fn_err = rc;
		return 0;
	}
	return n;
}

/* The server answered a list (no stream support): deliver its items. */
static int feed_list(struct stream *s)
{
	json_t *j = json_loadb(s->other.body ? s->other.body : "", s->other.len, 0, NULL);
	json_t *items = json_object_get(j, "items");
	size_t i;
	json_t *ev;
	int rc = 0;

	json_array_foreach(items, i, ev) {
		rc = s->fn(s->c, ev, s->arg);
		if (rc != 0)
			break;
	}
	json_decref(j);
	if (rc == 1)
		return 0;
	if (rc < 0)
		return rc;
	return GH_EUNSUPPORTED;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* One connection. Returns 1 to reconnect, else the final result. */
static int connect_once(cli_ctx_t *c, const char *path, int64_t deadline_ms, char *last_id,
			size_t idlen, int *ever, int *retries, cli_event_fn fn, void *arg)
{
	char errbuf[CURL_ERROR_SIZE] = "", hdr[200];
	struct curl_slist *h = NULL, *t;
	struct stream s;
	CURLcode res;
	int rc;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.fn = fn;
	s.arg = arg;
	cli_sse_init(&s.sse, on_event, &s);
	gh_strlcpy(s.sse.id, last_id, sizeof(s.sse.id));
	s.e = cli_curl_new(c, "GET", path, "text/event-stream", &h);
	if (!s.e)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	if (last_id[0]) {
		snprintf(hdr, sizeof(hdr), "Last-Event-ID: %s", last_id);
		t = curl_slist_append(h, hdr);
		if (t)
			h = t;
	}
	curl_easy_setopt(s.e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(s.e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(s.e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s.e, CURLOPT_WRITEDATA, &s);
	if (deadline_ms) {
		long left = (long)(deadline_ms - gh_now_ms());
		curl_easy_setopt(s.e, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
	}
	res = curl_easy_perform(s.e);
	if (!s.checked && res == CURLE_OK) {
		/* No body at all: an error status, or a stream that ended at once. */
		curl_easy_getinfo(s.e, CURLINFO_RESPONSE_CODE, &s.other.status);
		s.is_sse = s.other.status / 100 == 2;
		s.checked = 1;
	}
	if (s.sse.id[0])
		gh_strlcpy(last_id, s.sse.id, idlen);
	if (s.checked)
		*ever = 1;

	if (s.stopped) {
		rc = 0;
	} else if (s.fn_err) {
		rc = s.fn_err;
	} else if (deadline_ms && gh_now_ms() >= deadline_ms) {
		rc = GH_ETIMEOUT;
	} else if (s.checked && !s.is_sse && res == CURLE_OK) {
		if (s.other.status / 100 == 2) {
			rc = feed_list(&s);
		} else {
			if (s.other.len > 0)
				s.other.json = json_loadb(s.other.body, s.other.len, 0, NULL);
			rc = cli_report(c, &s.other);
		}
	} else if (!*ever && res != CURLE_OK) {
		snprintf(s.other.transport_err, sizeof(s.other.transport_err), "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(res));
		s.other.status = 0;
		rc = cli_report(c, &s.other);
	} else {
		if (s.events > 0)
			*retries = 0;
		if (++*retries > MAX_RETRIES)
			rc = cli_fail(c, CLI_EXIT_UNREACHABLE, "lost the event stream from %s: %s",
				      c->url, res == CURLE_OK ? "the server ended it" :
				      (errbuf[0] ? errbuf : curl_easy_strerror(res)));
		else
			rc = 1;
	}
	curl_easy_cleanup(s.e);
	curl_slist_free_all(h);
	cli_sse_free(&s.sse);
	cli_resp_free(&s.other);
	return rc;
}

int cli_stream_events(cli_ctx_t *c, int64_t session_id, long timeout_s,
		      cli_event_fn fn, void *arg)
{
	char path[64], last_id[128] = "";
	int64_t deadline = timeout_s > 0 ? gh_now_ms() + (int64_t)timeout_s * 1000 : 0;
	int ever = 0, retries = 0, rc;

	snprintf(path, sizeof(path), "/sessions/%lld/events", (long long)session_id);
	for (;;) {
		rc = connect_once(c, path, deadline, last_id, sizeof(last_id), &ever, &retries,
				  fn, arg);
		if (rc != 1)
			return rc;
		if (deadline && gh_now_ms() + 1000 >= deadline)
			return GH_ETIMEOUT;
		sleep_ms(1000);
	}
}
