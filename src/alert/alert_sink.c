/*
 * alert_sink.c — see alert_sink.h: reading the sinks' settings and
 * secrets, building each sink's payload, and sending it with libcurl.
 *
 * Payloads (what a receiver sees):
 *
 *   slack         {"text": "[FIRING] GpuXidError: GPU 0 ...",        fallback and
 *                  "blocks": [section(mrkdwn), context(mrkdwn)]}       notification text
 *   webhook       {"version": "1", "status": "firing"|"resolved",
 *                  "alert": {name, fingerprint, severity, labels,
 *                            summary, description, starts_at, ends_at},
 *                  "url": <hub alerts URL>}
 *   alertmanager  [{"labels": {alertname, severity, <labels>},
 *                   "annotations": {summary, description},
 *                   "startsAt", "endsAt" (resolved only), "generatorURL"}]
 *   email         RFC 5322 text: From, To, Subject "[gpuhub FIRING] ...",
 *                 Date, Message-ID, body with the labels
 */
#include "alert/alert_sink.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <curl/curl.h>
#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- settings and secrets ------------------------------------------ */

/* Reads a secret from file (first line, trailing blanks cut) or from the
 * environment variable env. 0 when neither is set (out ""). */
static int read_secret(const char *key, const char *file, const char *env, char *out, size_t outlen,
                       char *errmsg, size_t errlen)
{
	out[0] = '\0';
	if (file[0]) {
		char buf[ALERT_URL_MAX + 2];
		struct stat st;
		ssize_t n;
		size_t len;
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(errmsg, errlen, "alerts.%s_file: cannot open %s: %s", key, file, strerror(errno));
			return GH_ECONFIG;
		}
		if (fstat(fd, &st) == 0 && (st.st_mode & S_IROTH))
			GH_WARN("alerts.%s_file: %s is readable by every user of this machine; make it mode 0600", key,
			        file);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0) {
			snprintf(errmsg, errlen, "alerts.%s_file: cannot read %s: %s", key, file, strerror(errno));
			return GH_ECONFIG;
		}
		buf[n] = '\0';
		len = strcspn(buf, "\r\n");
		while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
			len--;
		buf[len] = '\0';
		if (len == 0 || len >= outlen) {
			memset(buf, 0, sizeof(buf));
			snprintf(errmsg, errlen, "alerts.%s_file: %s is %s", key, file, len ? "too long" : "empty");
			return GH_ECONFIG;
		}
		gh_strlcpy(out, buf, outlen);
		memset(buf, 0, sizeof(buf));
	} else if (env[0]) {
		const char *v = getenv(env);
		if (!v || !v[0] || strlen(v) >= outlen) {
			snprintf(errmsg, errlen, "alerts.%s_env: the environment variable %s is %s", key, env,
			         !v ? "not set" : v[0] ? "too long" : "empty");
			return GH_ECONFIG;
		}
		gh_strlcpy(out, v, outlen);
	}
	return 0;
}

static int url_ok(const char *u)
{
	return (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) && !strpbrk(u, " \t\r\n");
}

int alert_sinks_load(alert_sinks_t *s, const gh_config_t *cfg, char *errmsg, size_t errlen)
{
	int rc;
	size_t n;

	memset(s, 0, sizeof(*s));
	if ((rc = read_secret("slack_url", cfg->alert_slack_url_file, cfg->alert_slack_url_env, s->slack_url,
	                      sizeof(s->slack_url), errmsg, errlen)) ||
	    (rc = read_secret("webhook_url", cfg->alert_webhook_url_file, cfg->alert_webhook_url_env, s->webhook_url,
	                      sizeof(s->webhook_url), errmsg, errlen)) ||
	    (rc = read_secret("smtp_password", cfg->alert_smtp_password_file, cfg->alert_smtp_password_env,
	                      s->smtp_password, sizeof(s->smtp_password), errmsg, errlen)))
		goto fail;
	if (s->slack_url[0] && !url_ok(s->slack_url)) {
		snprintf(errmsg, errlen, "alerts.slack_url: the secret read is not an http:// or https:// URL");
		rc = GH_ECONFIG;
		goto fail;
	}
	if (s->webhook_url[0] && !url_ok(s->webhook_url)) {
		snprintf(errmsg, errlen, "alerts.webhook_url: the secret read is not an http:// or https:// URL");
		rc = GH_ECONFIG;
		goto fail;
	}
	if (cfg->alert_am_url[0]) {
		n = strlen(cfg->alert_am_url);
		snprintf(s->am_url, sizeof(s->am_url), "%.*s/api/v2/alerts", (int)(cfg->alert_am_url[n - 1] == '/' ? n - 1 : n),
		         cfg->alert_am_url);
	}
	gh_strlcpy(s->smtp_url, cfg->alert_smtp_url, sizeof(s->smtp_url));
	gh_strlcpy(s->smtp_from, cfg->alert_smtp_from, sizeof(s->smtp_from));
	gh_strlcpy(s->smtp_to, cfg->alert_smtp_to, sizeof(s->smtp_to));
	gh_strlcpy(s->smtp_user, cfg->alert_smtp_user, sizeof(s->smtp_user));
	s->smtp_tls = strcmp(cfg->alert_smtp_tls, "required") == 0 ? ALERT_TLS_REQUIRED
	              : strcmp(cfg->alert_smtp_tls, "off") == 0    ? ALERT_TLS_OFF
	                                                             : ALERT_TLS_TRY;
	s->timeout_ms = (long)cfg->alert_send_timeout_s * 1000;
	if (cfg->public_url[0]) {
		gh_strlcpy(s->public_url, cfg->public_url, sizeof(s->public_url));
	} else {
		char host[CONFIG_STR], url[CONFIG_STR + 32];
		int port;
		if (gh_parse_listen(cfg->listen, host, sizeof(host), &port) == 0) {
			snprintf(url, sizeof(url), "http://%s%s%s:%d", strchr(host, ':') ? "[" : "",
			         host[0] ? host : "127.0.0.1", strchr(host, ':') ? "]" : "", port);
			gh_strlcpy(s->public_url, url, sizeof(s->public_url));
		}
	}
	n = strlen(s->public_url);
	if (n && s->public_url[n - 1] == '/')
		s->public_url[n - 1] = '\0';
	return 0;
fail:
	alert_sinks_clear(s);
	return rc;
}

unsigned alert_sinks_mask(const alert_sinks_t *s)
{
	unsigned m = 0;
	if (s->slack_url[0])
		m |= 1u << ALERT_SINK_SLACK;
	if (s->webhook_url[0])
		m |= 1u << ALERT_SINK_WEBHOOK;
	if (s->smtp_url[0] && s->smtp_to[0])
		m |= 1u << ALERT_SINK_EMAIL;
	if (s->am_url[0])
		m |= 1u << ALERT_SINK_ALERTMANAGER;
	return m;
}

void alert_sinks_clear(alert_sinks_t *s)
{
	volatile char *p = (volatile char *)s;
	for (size_t i = 0; i < sizeof(*s); i++)
		p[i] = 0;
}

/* ---- payloads ------------------------------------------------------ */

static json_t *jtime(int64_t ms)
{
	char buf[32];
	if (ms <= 0)
		return json_null();
	gh_time_fmt(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *labels_json(const alert_t *a, int with_name)
{
	json_t *o = json_object();
	if (with_name) {
		json_object_set_new(o, "alertname", json_string(a->spec.name));
		json_object_set_new(o, "severity", json_string(a->spec.severity));
	}
	for (int i = 0; i < a->spec.n_labels; i++)
		json_object_set_new(o, a->spec.label_key[i], json_string(a->spec.label_val[i]));
	return o;
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* Slack mrkdwn needs &, < and > escaped. */
static void mrkdwn(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	for (; *in && o + 6 < outlen; in++) {
		const char *rep = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" : *in == '>' ? "&gt;" : NULL;
		if (rep) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

char *alert_payload_slack(const alert_t *a, int resolved, const char *public_url)
{
	char text[ALERT_TEXT_MAX + 96], sum[ALERT_TEXT_MAX * 2], desc[ALERT_TEXT_MAX * 2], body[ALERT_TEXT_MAX * 5];
	char ctx[512], labels[384] = "", when[32];
	size_t l = 0;
	json_t *o;

	snprintf(text, sizeof(text), "[%s] %s: %s", resolved ? "RESOLVED" : "FIRING", a->spec.name, a->spec.summary);
	mrkdwn(a->spec.summary, sum, sizeof(sum));
	mrkdwn(a->spec.description, desc, sizeof(desc));
	snprintf(body, sizeof(body), "%s *%s* `%s` (%s)\n%s%s%s", resolved ? ":white_check_mark:" : ":rotating_light:",
	         resolved ? "Resolved" : "Firing", a->spec.name, a->spec.severity, sum, desc[0] ? "\n" : "", desc);
	for (int i = 0; i < a->spec.n_labels && l < sizeof(labels); i++)
		l += (size_t)snprintf(labels + l, sizeof(labels) - l, "%s%s=%s", i ? ", " : "", a->spec.label_key[i],
		                      a->spec.label_val[i]);
	gh_time_fmt(resolved ? a->ends_at : a->starts_at, when, sizeof(when));
	snprintf(ctx, sizeof(ctx), "%s %s | %s | fingerprint %s | <%s/api/v1/alerts|gpuhub alerts>",
	         resolved ? "resolved" : "since", when, labels[0] ? labels : "no labels", a->fingerprint, public_url);
	o = json_pack("{s:s,s:[{s:s,s:{s:s,s:s}},{s:s,s:[{s:s,s:s}]}]}", "text", text, "blocks", "type", "section",
	              "text", "type", "mrkdwn", "text", body, "type", "context", "elements", "type", "mrkdwn", "text",
	              ctx);
	return dump(o);
}

char *alert_payload_webhook(const alert_t *a, int resolved, const char *public_url)
{
	char url[CONFIG_STR + 32];
	json_t *o;

	snprintf(url, sizeof(url), "%s/api/v1/alerts", public_url);
	o = json_pack("{s:s,s:s,s:{s:I,s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:o},s:s}", "version", "1", "status",
	              resolved ? "resolved" : "firing", "alert", "id", (json_int_t)a->id, "name", a->spec.name,
	              "fingerprint", a->fingerprint, "severity", a->spec.severity, "labels", labels_json(a, 0),
	              "summary", a->spec.summary, "description", a->spec.description, "starts_at", jtime(a->starts_at),
	              "ends_at", jtime(resolved ? a->ends_at : 0), "url", url);
	return dump(o);
}

char *alert_payload_alertmanager(const alert_t *a, int resolved, const char *public_url)
{
	char url[CONFIG_STR + 32];
	json_t *one;

	snprintf(url, sizeof(url), "%s/api/v1/alerts", public_url);
	one = json_pack("{s:o,s:{s:s,s:s},s:o,s:s}", "labels", labels_json(a, 1), "annotations", "summary",
	                a->spec.summary, "description", a->spec.description, "startsAt", jtime(a->starts_at),
	                "generatorURL", url);
	/* a firing alert leaves endsAt out: Alertmanager keeps it until its
	 * resolve_timeout, and the hub re-sends it well before that */
	if (one && resolved)
		json_object_set_new(one, "endsAt", jtime(a->ends_at));
	return dump(one ? json_pack("[o]", one) : NULL);
}

static void rfc5322_date(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outlen, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* Header values must not carry line breaks (no header injection). */
static void one_line(const char *in, char *out, size_t outlen)
{
	size_t i;
	for (i = 0; in[i] && i + 1 < outlen; i++)
		out[i] = in[i] == '\r' || in[i] == '\n' ? ' ' : in[i];
	out[i] = '\0';
}

static char *mail_text(const char *from, const char *to, const char *subject, const char *body, int64_t now)
{
	char date[64], subj[ALERT_TEXT_MAX + 64], *out = NULL;
	uint64_t r = (uint64_t)now * 2654435761u ^ (uint64_t)getpid();
	const char *at = strchr(from, '@');

	rfc5322_date(now, date, sizeof(date));
	one_line(subject, subj, sizeof(subj));
	if (asprintf(&out,
	             "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%lld.%llx@%s>\r\n"
	             "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	             "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
	             date, from, to, subj, (long long)now, (unsigned long long)r, at ? at + 1 : "gpuhub", body) < 0)
		return NULL;
	return out;
}

static char *email_body(const alert_t *a, int resolved)
{
	char labels[512] = "", s[32], e[32], *out = NULL;
	size_t l = 0;

	for (int i = 0; i < a->spec.n_labels && l < sizeof(labels); i++)
		l += (size_t)snprintf(labels + l, sizeof(labels) - l, "  %s: %s\r\n", a->spec.label_key[i],
		                      a->spec.label_val[i]);
	gh_time_fmt(a->starts_at, s, sizeof(s));
	gh_time_fmt(a->ends_at, e, sizeof(e));
	if (asprintf(&out, "%s: %s\r\n\r\n%s\r\n\r\nalert: %s\r\nseverity: %s\r\nstarted: %s\r\n%s%s%s%s"
	                   "fingerprint: %s\r\n",
	             resolved ? "Resolved" : "Firing", a->spec.summary, a->spec.description, a->spec.name,
	             a->spec.severity, s, resolved ? "resolved: " : "", resolved ? e : "", resolved ? "\r\n" : "",
	             labels, a->fingerprint) < 0)
		return NULL;
	return out;
}

/* ---- messages ------------------------------------------------------ */

static alert_msg_t *msg_new(alert_sink_kind_t kind, const char *url, char *body, long timeout_ms)
{
	alert_msg_t *m;
	if (!body)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m || !(m->url = strdup(url))) {
		free(m);
		free(body);
		return NULL;
	}
	m->kind = kind;
	m->body = body;
	m->timeout_ms = timeout_ms;
	return m;
}

static alert_msg_t *mail_msg(const alert_sinks_t *s, const char *to, char *text)
{
	alert_msg_t *m = msg_new(ALERT_SINK_EMAIL, s->smtp_url, text, s->timeout_ms);
	if (!m)
		return NULL;
	m->mail_from = strdup(s->smtp_from);
	m->rcpt = strdup(to);
	m->tls = s->smtp_tls;
	if (s->smtp_user[0]) {
		m->user = strdup(s->smtp_user);
		m->password = strdup(s->smtp_password);
	}
	if (!m->mail_from || !m->rcpt || (s->smtp_user[0] && (!m->user || !m->password))) {
		alert_msg_free(m);
		return NULL;
	}
	return m;
}

alert_msg_t *alert_msg_for(const alert_sinks_t *s, alert_sink_kind_t kind, const alert_t *a, int resolved,
                           int64_t now)
{
	char subject[ALERT_TEXT_MAX + ALERT_NAME_MAX + 32], *body;

	if (!(alert_sinks_mask(s) & (1u << kind)))
		return NULL;
	switch (kind) {
	case ALERT_SINK_SLACK:
		return msg_new(kind, s->slack_url, alert_payload_slack(a, resolved, s->public_url), s->timeout_ms);
	case ALERT_SINK_WEBHOOK:
		return msg_new(kind, s->webhook_url, alert_payload_webhook(a, resolved, s->public_url), s->timeout_ms);
	case ALERT_SINK_ALERTMANAGER:
		return msg_new(kind, s->am_url, alert_payload_alertmanager(a, resolved, s->public_url), s->timeout_ms);
	case ALERT_SINK_EMAIL:
		snprintf(subject, sizeof(subject), "[gpuhub %s] %s: %s", resolved ? "RESOLVED" : "FIRING", a->spec.name,
		         a->spec.summary);
		body = email_body(a, resolved);
		if (!body)
			return NULL;
		{
			char *text = mail_text(s->smtp_from, s->smtp_to, subject, body, now);
			free(body);
			return mail_msg(s, s->smtp_to, text);
		}
	default:
		return NULL;
	}
}

alert_msg_t *alert_msg_mail(const alert_sinks_t *s, const char *to, const char *subject, const char *text,
                            int64_t now)
{
	if (!s->smtp_url[0] || !to || !to[0])
		return NULL;
	return mail_msg(s, to, mail_text(s->smtp_from, to, subject, text, now));
}

void alert_msg_free(alert_msg_t *m)
{
	if (!m)
		return;
	free(m->url);
	free(m->body);
	free(m->mail_from);
	free(m->rcpt);
	free(m->user);
	if (m->password) {
		memset(m->password, 0, strlen(m->password));
		free(m->password);
	}
	free(m);
}
