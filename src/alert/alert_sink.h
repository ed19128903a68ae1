/*
 * alert_sink.h — where notices go, and how they are sent.
 *
 *   sink          | wire                                          | secret
 *   --------------+-----------------------------------------------+-----------------
 *   slack         | POST JSON {text, blocks} to an incoming webhook | the URL
 *   webhook       | POST JSON {version, status, alert, ...}        | the URL
 *   email         | SMTP (libcurl); STARTTLS when offered, required | the password
 *                 | or off per alerts.smtp_tls; smtps:// is TLS    |
 *   alertmanager  | POST JSON [ {labels, annotations, startsAt,    | none
 *                 |   endsAt, generatorURL} ] to /api/v2/alerts    |
 *
 * Secrets come from a file or an environment variable named in the
 * configuration; they are kept here and never written to the log: errors
 * are described with curl's generic sentences and the HTTP status only.
 *
 * Payloads are built on the loop thread (alert_msg_*); alert_msg_send()
 * blocks (up to alerts.send_timeout_s) and runs on a worker thread.
 */
#ifndef GH_ALERT_SINK_H
#define GH_ALERT_SINK_H

#include "alert/alert.h"
#include "config/config.h"

#include <stdint.h>

#define ALERT_URL_MAX 1024

typedef enum { ALERT_TLS_OFF = 0, ALERT_TLS_TRY, ALERT_TLS_REQUIRED } alert_tls_t;

typedef struct {
	char slack_url[ALERT_URL_MAX];       /* "" = sink off */
	char webhook_url[ALERT_URL_MAX];
	char am_url[ALERT_URL_MAX];          /* <alertmanager_url>/api/v2/alerts */
	char smtp_url[CONFIG_STR];
	char smtp_from[CONFIG_STR];
	char smtp_to[CONFIG_STR];            /* comma-separated; "" = no admin mail */
	char smtp_user[CONFIG_STR];
	char smtp_password[CONFIG_STR];
	alert_tls_t smtp_tls;
	long timeout_ms;
	char public_url[CONFIG_STR];         /* for links (generatorURL) */
} alert_sinks_t;

/* Fills s from the alerts.* keys of cfg, reading secrets from their files
 * or environment variables. GH_ECONFIG with a sentence naming the key (and
 * never the secret) when one cannot be read. */
int alert_sinks_load(alert_sinks_t *s, const gh_config_t *cfg, char *errmsg, size_t errlen);
/* Bits (1 << kind) of the sinks that are configured. */
unsigned alert_sinks_mask(const alert_sinks_t *s);
/* Wipes the secrets. */
void alert_sinks_clear(alert_sinks_t *s);

/* One message to send; every pointer owned. */
typedef struct {
	alert_sink_kind_t kind;
	char *url;
	char *body;                          /* JSON, or the whole mail message */
	char *mail_from;
	char *rcpt;                          /* comma-separated recipients (email) */
	char *user, *password;               /* SMTP login, NULL = none */
	alert_tls_t tls;
	long timeout_ms;
	/* result, filled by alert_msg_send() */
	int ok;
	long status;                         /* HTTP status or SMTP reply code */
	char error[96];
} alert_msg_t;

/* The message that tells sink `kind` about a; NULL without memory or when
 * the sink (or, for e-mail, any recipient) is not configured. */
alert_msg_t *alert_msg_for(const alert_sinks_t *s, alert_sink_kind_t kind, const alert_t *a, int resolved,
                           int64_t now);
/* An e-mail to one address (user notices); NULL when SMTP is not set up. */
alert_msg_t *alert_msg_mail(const alert_sinks_t *s, const char *to, const char *subject, const char *text,
                            int64_t now);
/* Blocking; fills ok, status and error. */
void alert_msg_send(alert_msg_t *m);
void alert_msg_free(alert_msg_t *m);

/* Payload builders (malloc'd text), public for the unit tests. */
char *alert_payload_slack(const alert_t *a, int resolved, const char *public_url);
char *alert_payload_webhook(const alert_t *a, int resolved, const char *public_url);
char *alert_payload_alertmanager(const alert_t *a, int resolved, const char *public_url);

#endif
