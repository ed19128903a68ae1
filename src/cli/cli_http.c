/*
 * cli_http.c — requests to the gpuhub REST API with libcurl's easy
 * interface (one request at a time is all a command-line client needs),
 * and the one place that turns a failed answer into a message and an
 * exit code.
 *
 *   answer                         | exit | printed
 *   -------------------------------+------+---------------------------------
 *   2xx                            | 0    | (the command's output)
 *   none (refused, DNS, timeout)   | 3    | the URL tried; 'gpuhub serve'
 *   401, 403                       | 4    | server message; 'gpuhub login'
 *   404                            | 5    | server message
 *   anything else                  | 1    | server message
 *
 * The server's message is {"error":{"message":...}}; a body that is not
 * that shape (a proxy's page) is reported by its status.
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX (64u << 20)
#define REQUEST_TIMEOUT_S 120L

void cli_resp_free(cli_resp_t *r)
{
	free(r->body);
	json_decref(r->json);
	r->body = NULL;
	r->json = NULL;
	r->len = 0;
	explicit_bzero(r->cookie, sizeof(r->cookie));
}

struct xfer {
	cli_resp_t *r;
	size_t cap;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;

	if (x->r->len + n + 1 > x->cap) {
		size_t ncap = x->cap ? x->cap : 4096;
		char *nb;
		while (ncap < x->r->len + n + 1)
			ncap *= 2;
		if (ncap > BODY_MAX)
			return 0;
		nb = realloc(x->r->body, ncap);
		if (!nb)
			return 0;
		x->r->body = nb;
		x->cap = ncap;
	}
	memcpy(x->r->body + x->r->len, ptr, n);
	x->r->len += n;
	x->r->body[x->r->len] = '\0';
	return n;
}

/* Copies a header's value (after "Name:") without blanks and CRLF. */
static void header_value(const char *buf, size_t n, size_t skip, char *out, size_t outlen)
{
	size_t i = skip, j = 0;

	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	while (i < n && buf[i] != '\r' && buf[i] != '\n' && j + 1 < outlen)
		out[j++] = buf[i++];
	out[j] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	cli_resp_t *r = ud;
	size_t n = size * nitems;
	static const char ck[] = "set-cookie:", ct[] = "content-type:";
	static const char name[] = "gpuhub_session=";

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		r->content_type[0] = '\0'; /* a new response (after 100 Continue) */
	} else if (n > sizeof(ct) - 1 && strncasecmp(buf, ct, sizeof(ct) - 1) == 0) {
		header_value(buf, n, sizeof(ct) - 1, r->content_type, sizeof(r->content_type));
	} else if (n > sizeof(ck) - 1 && strncasecmp(buf, ck, sizeof(ck) - 1) == 0) {
		char v[CLI_TOKEN_MAX + 64];
		header_value(buf, n, sizeof(ck) - 1, v, sizeof(v));
		if (strncmp(v, name, sizeof(name) - 1) == 0) {
			size_t len = strcspn(v + sizeof(name) - 1, ";");
			if (len < sizeof(r->cookie)) {
				memcpy(r->cookie, v + sizeof(name) - 1, len);
				r->cookie[len] = '\0';
			}
		}
		explicit_bzero(v, sizeof(v));
	}
	return n;
}

/* Hosts on this machine never go through a proxy from the environment. */
static void set_noproxy(CURL *e)
{
	char list[1024];
	const char *env = getenv("no_proxy");

	if (!env || !*env)
		env = getenv("NO_PROXY");
	snprintf(list, sizeof(list), "localhost,127.0.0.1,::1%s%s", env && *env ? "," : "",
		 env && *env ? env : "");
	curl_easy_setopt(e, CURLOPT_NOPROXY, list);
}

CURL *cli_curl_new(cli_ctx_t *c, const char *method, const char *path, const char *accept,
		   struct curl_slist **hdrs)
{
	char url[CLI_URL_MAX + 512], line[CLI_TOKEN_MAX + 64];
	struct curl_slist *h = NULL, *t;
	CURL *e;

	*hdrs = NULL;
	if (snprintf(url, sizeof(url), "%s%s%s", c->url, CLI_API_PREFIX, path) >= (int)sizeof(url))
		return NULL;
	e = curl_easy_init();
	if (!e)
		return NULL;
	snprintf(line, sizeof(line), "Accept: %s", accept);
	h = curl_slist_append(h, line);
	if (h && c->cookie[0]) {
		snprintf(line, sizeof(line), "Cookie: gpuhub_session=%s", c->cookie);
		t = curl_slist_append(h, line);
		h = t ? t : (curl_slist_free_all(h), NULL);
	} else if (h && c->token[0]) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", c->token);
		t = curl_slist_append(h, line);
		h = t ? t : (curl_slist_free_all(h), NULL);
	}
	explicit_bzero(line, sizeof(line));
	if (h) {
		t = curl_slist_append(h, "Expect:");
		h = t ? t : (curl_slist_free_all(h), NULL);
	}
	if (!h) {
		curl_easy_cleanup(e);
		return NULL;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "gpuhub-cli/" GH_VERSION);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	set_noproxy(e);
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	*hdrs = h;
	return e;
}

static void transport_message(CURLcode res, const char *errbuf, char *out, size_t outlen)
{
	if (errbuf[0])
		snprintf(out, outlen, "%s", errbuf);
	else
		snprintf(out, outlen, "%s", curl_easy_strerror(res));
}

/* One request with payload (NULL: none) of type ctype. */
static int perform(cli_ctx_t *c, const char *method, const char *path, const char *ctype, const char *payload,
		   size_t plen, cli_resp_t *r)
{
	char errbuf[CURL_ERROR_SIZE] = "", hdr[160];
	struct curl_slist *h = NULL, *t;
	struct xfer x = { r, 0 };
	CURLcode res;
	CURL *e;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	e = cli_curl_new(c, method, path, "application/json", &h);
	if (!e)
		return GH_ENOMEM;
	if (payload) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
		t = curl_slist_append(h, hdr);
		if (!t) {
			rc = GH_ENOMEM;
			goto out;
		}
		h = t;
		if (strcmp(method, "POST") == 0)
			curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)plen);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	res = curl_easy_perform(e);
	if (res != CURLE_OK) {
		transport_message(res, errbuf, r->transport_err, sizeof(r->transport_err));
		r->status = 0;
		rc = GH_EIO;
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->len > 0)
		r->json = json_loadb(r->body, r->len, 0, NULL);
out:
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	return rc;
}

int cli_http(cli_ctx_t *c, const char *method, const char *path, const json_t *body,
	     cli_resp_t *r)
{
	char *payload = NULL;
	int rc;

	/* A POST or PATCH always carries a JSON object, "{}" when empty. */
	if (body)
		payload = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0)
		payload = strdup("{}");
	if (!payload && (body || (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0))) {
		memset(r, 0, sizeof(*r));
		return GH_ENOMEM;
	}
	rc = perform(c, method, path, "application/json", payload, payload ? strlen(payload) : 0, r);
	if (payload) {
		explicit_bzero(payload, strlen(payload));
		free(payload);
	}
	return rc;
}

int cli_http_raw(cli_ctx_t *c, const char *method, const char *path, const char *ctype, const void *data,
		 size_t len, cli_resp_t *r)
{
	return perform(c, method, path, ctype, data, len, r);
}

int cli_call(cli_ctx_t *c, const char *method, const char *path, const json_t *body,
	     cli_resp_t *r)
{
	int rc = cli_http(c, method, path, body, r);

	if (rc == GH_ENOMEM)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	if (rc < 0 || r->status < 200 || r->status > 299)
		return cli_report(c, r);
	if (r->len > 0 && !r->json)
		return cli_fail(c, CLI_EXIT_ERROR, "the answer from %s is not JSON; is it a gpuhub "
				"server?", c->url);
	return 0;
}

int cli_exit_for_status(long status)
{
	if (status == 0)
		return CLI_EXIT_UNREACHABLE;
	if (status >= 200 && status <= 299)
		return CLI_EXIT_OK;
	if (status == 401 || status == 403)
		return CLI_EXIT_AUTH;
	if (status == 404)
		return CLI_EXIT_NOTFOUND;
	return CLI_EXIT_ERROR;
}

int cli_err_for_status(long status)
{
	if (status >= 200 && status <= 299)
		return 0;
	switch (status) {
	case 0:   return GH_EIO;
	case 400: return GH_EINVAL;
	case 401: return GH_EAUTH;
	case 403: return GH_EPERM;
	case 404: return GH_ENOTFOUND;
	case 409: return GH_ESTATE;
	case 413: return GH_ETOOBIG;
	default:  return status >= 500 ? GH_EINTERNAL : GH_EINVAL;
	}
}

int cli_report(cli_ctx_t *c, const cli_resp_t *r)
{
	const json_t *e = r->json ? json_object_get(r->json, "error") : NULL;
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *field = json_string_value(json_object_get(e, "field"));
	char text[CLI_URL_MAX + 600], clean[CLI_URL_MAX + 600];

	if (r->status == 0) {
		cli_fail(c, CLI_EXIT_UNREACHABLE, "cannot reach the gpuhub server at %s (from %s): %s",
			 c->url, c->url_source, r->transport_err);
		fputs("Is it running? Start one with 'gpuhub serve', or name another with --url "
		      "or GPUHUB_URL.\n", c->err);
		return GH_EIO;
	}
	if (msg && *msg) {
		if (field && *field && !strstr(msg, field))
			snprintf(text, sizeof(text), "%s (field '%s')", msg, field);
		else
			snprintf(text, sizeof(text), "%s", msg);
	} else if (r->status == 404) {
		snprintf(text, sizeof(text), "not found (HTTP 404); is %s a gpuhub server?", c->url);
	} else {
		snprintf(text, sizeof(text), "the server answered HTTP %ld", r->status);
	}
	cli_text_clean(text, clean, sizeof(clean));
	cli_fail(c, cli_exit_for_status(r->status), "%s", clean);
	if (r->status == 401 && !c->token[0] && !c->cookie[0])
		fprintf(c->err, "You are not signed in to %s. Run 'gpuhub login', or give a token "
			"with --token or GPUHUB_TOKEN.\n", c->url);
	else if (r->status == 401)
		fputs("The token was not accepted (expired or revoked?). Run 'gpuhub login' to "
		      "sign in again.\n", c->err);
	else if (r->status == 403)
		fputs("Your account may not do this. Sign in as an administrator with "
		      "'gpuhub login --user NAME'.\n", c->err);
	return cli_err_for_status(r->status);
}

void cli_print_json(cli_ctx_t *c, const json_t *j)
{
	json_dumpf(j, c->out, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
	fputc('\n', c->out);
}

int cli_query_add(char *q, size_t qlen, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(q);

	if (n + strlen(name) + 3 > qlen)
		return GH_EINVAL;
	q[n] = n == 0 ? '?' : '&';
	n++;
	for (const char *p = name; *p; p++)
		q[n++] = *p;
	q[n++] = '=';
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			    *p == '~';
		if (n + (plain ? 1 : 3) + 1 > qlen)
			return GH_EINVAL;
		if (plain) {
			q[n++] = (char)*p;
		} else {
			q[n++] = '%';
			q[n++] = hex[*p >> 4];
			q[n++] = hex[*p & 15];
		}
	}
	q[n] = '\0';
	return 0;
}

int cli_list(cli_ctx_t *c, const char *path, const char *quiet_key, cli_resp_t *r, const json_t **items)
{
	const json_t *it;
	size_t i;
	int rc = cli_call(c, "GET", path, NULL, r);

	*items = NULL;
	if (rc < 0)
		return rc;
	*items = json_object_get(r->json, "items");
	if (c->output == CLI_OUT_JSON) {
		cli_print_json(c, r->json);
		return 0;
	}
	if (c->quiet) {
		json_array_foreach(*items, i, it) {
			const json_t *v = json_object_get(it, quiet_key);
			if (json_is_integer(v))
				fprintf(c->out, "%lld\n", (long long)json_integer_value(v));
			else
				fprintf(c->out, "%s\n", json_is_string(v) ? json_string_value(v) : "");
		}
		return 0;
	}
	return 1;
}
