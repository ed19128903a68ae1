/*
 * alert_send.c — alert_msg_send(): one blocking libcurl transfer per
 * notice, run on a worker thread.
 *
 * HTTP sinks POST the JSON body and count any 2xx answer as delivered.
 * E-mail goes over SMTP: MAIL FROM the configured sender, RCPT TO each
 * address of the comma-separated list, the whole RFC 5322 message as the
 * upload. alerts.smtp_tls maps onto CURLOPT_USE_SSL: "auto" → CURLUSESSL_TRY
 * (STARTTLS when the server offers it, plain otherwise, for a local relay),
 * "required" → CURLUSESSL_ALL (refuse to send in the clear), "off" →
 * CURLUSESSL_NONE. An smtps:// URL is TLS from the first byte.
 *
 * Errors are described by curl_easy_strerror() and the status code only:
 * curl's error buffer can quote the URL, and the URL may be the secret.
 */
#include "alert/alert_sink.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *data;
	size_t len, off;
} upload_t;

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	upload_t *u = arg;
	size_t n = size * nmemb, left = u->len - u->off;
	if (n > left)
		n = left;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

static size_t discard_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	(void)buf;
	(void)arg;
	return size * nmemb;
}

/* Appends each address of a comma-separated list to *list. */
static int add_rcpts(struct curl_slist **list, const char *s)
{
	while (*s) {
		char one[256];
		size_t len;
		struct curl_slist *n;
		while (*s == ' ' || *s == ',')
			s++;
		len = strcspn(s, ",");
		while (len && s[len - 1] == ' ')
			len--;
		if (len && len < sizeof(one)) {
			memcpy(one, s, len);
			one[len] = '\0';
			if (!(n = curl_slist_append(*list, one)))
				return -1;
			*list = n;
		}
		s += strcspn(s, ",");
	}
	return *list ? 0 : -1;
}

void alert_msg_send(alert_msg_t *m)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL, *rcpt = NULL;
	upload_t up = { m->body, strlen(m->body), 0 };
	CURLcode rc;

	m->ok = 0;
	m->status = 0;
	if (!c) {
		snprintf(m->error, sizeof(m->error), "cannot create a transfer");
		return;
	}
	curl_easy_setopt(c, CURLOPT_URL, m->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, m->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, m->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	if (m->kind == ALERT_SINK_EMAIL) {
		if (add_rcpts(&rcpt, m->rcpt) != 0) {
			snprintf(m->error, sizeof(m->error), "no recipient");
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, m->mail_from);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE, (long)up.len);
		curl_easy_setopt(c, CURLOPT_USE_SSL, m->tls == ALERT_TLS_REQUIRED ? (long)CURLUSESSL_ALL
		                                     : m->tls == ALERT_TLS_TRY    ? (long)CURLUSESSL_TRY
		                                                                  : (long)CURLUSESSL_NONE);
		if (m->user) {
			curl_easy_setopt(c, CURLOPT_USERNAME, m->user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, m->password);
		}
	} else {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, m->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)up.len);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &m->status);
	if (rc != CURLE_OK) {
		if (m->status)
			snprintf(m->error, sizeof(m->error), "%s (server answered %ld)", curl_easy_strerror(rc), m->status);
		else
			snprintf(m->error, sizeof(m->error), "%s", curl_easy_strerror(rc));
	} else if (m->kind != ALERT_SINK_EMAIL && (m->status < 200 || m->status > 299)) {
		snprintf(m->error, sizeof(m->error), "HTTP status %ld", m->status);
	} else {
		m->ok = 1;
	}
out:
	curl_slist_free_all(hdr);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
}
