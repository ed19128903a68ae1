/*
 * hub_wsreq.c — the hub talking to a workspace's own HTTP API (Jupyter's
 * api/kernels, api/sessions, code-server's healthz): where it listens and the
 * workspace token to show, and one blocking request through libcurl. Used by
 * workers only (idle signals in hub_idle.c, suspend and resume in
 * hub_suspend.c), never on the event loop.
 */
#include "hub/hub_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hub_ws_base(const hub_t *hub, const hub_session_t *hs, char *base, size_t baselen, char *auth,
                 size_t authlen)
{
	char prefix[GH_TEXT_MAX], tok[33];
	if (hs->strip_prefix)
		snprintf(prefix, sizeof(prefix), "/");
	else
		hub_session_url(hub, hs, prefix, sizeof(prefix));
	snprintf(base, baselen, "http://127.0.0.1:%d%s", hs->s.port, prefix);
	hub_workspace_token(hub, hs->s.id, tok);
	snprintf(auth, authlen, "Authorization: token %s", tok);
}

typedef struct {
	char *buf;        /* owned; NUL-terminated */
	size_t len, max;
} body_t;

static size_t body_add(char *p, size_t sz, size_t n, void *u)
{
	body_t *b = u;
	size_t add = sz * n;
	char *nb;
	if (b->len + add > b->max || !(nb = realloc(b->buf, b->len + add + 1)))
		return 0;
	memcpy(nb + b->len, p, add);
	b->buf = nb;
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

long hub_ws_request(const char *url, const char *auth, const char *post, long timeout_ms, size_t max_body,
                    json_t **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	body_t b = {NULL, 0, max_body};
	long status = 0;

	if (out)
		*out = NULL;
	if (!c)
		return 0;
	h = curl_slist_append(h, auth);
	if (post)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_add);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (out && b.buf)
		*out = json_loads(b.buf, 0, NULL);
	free(b.buf);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}
