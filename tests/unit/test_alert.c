/*
 * test_alert.c — the alert engine with a fake clock: fingerprints,
 * deduplication, resolution, repeat interval, retries with exponential
 * backoff and giving up, the Alertmanager re-send, forgetting old resolved
 * alerts; and the sinks' payloads against the fields their receivers read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "alert/alert_sink.h"
#include "common/log.h"

#define SLACK (1u << ALERT_SINK_SLACK)
#define EMAIL (1u << ALERT_SINK_EMAIL)
#define AM (1u << ALERT_SINK_ALERTMANAGER)
#define T0 1800000000000LL

static alert_policy_t policy(unsigned sinks)
{
	alert_policy_t p;
	memset(&p, 0, sizeof(p));
	p.sinks = sinks;
	p.repeat_ms = 3600 * 1000;
	p.am_resend_ms = 60 * 1000;
	p.retry_base_ms = 1000;
	p.retry_max_ms = 8000;
	p.retry_attempts = 5;
	p.keep_resolved = 2;
	return p;
}

static alert_spec_t xid(int gpu)
{
	alert_spec_t s;
	memset(&s, 0, sizeof(s));
	strcpy(s.name, "GpuXidError");
	strcpy(s.severity, "critical");
	snprintf(s.summary, sizeof(s.summary), "GPU %d reported XID 48 & is <quarantined>", gpu);
	alert_spec_label(&s, "gpu", "%d", gpu);
	alert_spec_label(&s, "xid", "48");
	return s;
}

/* One evaluation round in which the given specs hold. */
static void round_of(alert_engine_t *e, int64_t now, const alert_spec_t *specs, int n)
{
	alert_round_begin(e);
	for (int i = 0; i < n; i++)
		assert_non_null(alert_observe(e, &specs[i], now));
	alert_round_end(e, now);
}

static int due(alert_engine_t *e, int64_t now, alert_notice_t *out)
{
	return alert_due(e, now, out, 16);
}

static void test_fingerprint(void **st)
{
	alert_spec_t a = xid(0), b = xid(0), c = xid(1), d;
	char fa[17], fb[17], fc[17], fd[17];
	(void)st;
	/* label order does not matter; values and name do */
	memset(&d, 0, sizeof(d));
	strcpy(d.name, "GpuXidError");
	alert_spec_label(&d, "xid", "48");
	alert_spec_label(&d, "gpu", "0");
	strcpy(b.summary, "another text");
	alert_fingerprint(&a, fa);
	alert_fingerprint(&b, fb);
	alert_fingerprint(&c, fc);
	alert_fingerprint(&d, fd);
	assert_int_equal(strlen(fa), 16);
	assert_string_equal(fa, fb);
	assert_string_equal(fa, fd);
	assert_string_not_equal(fa, fc);
	strcpy(d.name, "GpuLost");
	alert_fingerprint(&d, fd);
	assert_string_not_equal(fa, fd);
}

static void test_backoff(void **st)
{
	alert_policy_t p = policy(SLACK);
	(void)st;
	assert_int_equal(alert_backoff_ms(&p, 1), 1000);
	assert_int_equal(alert_backoff_ms(&p, 2), 2000);
	assert_int_equal(alert_backoff_ms(&p, 3), 4000);
	assert_int_equal(alert_backoff_ms(&p, 4), 8000);
	assert_int_equal(alert_backoff_ms(&p, 5), 8000);
	assert_int_equal(alert_backoff_ms(&p, 60), 8000);
}

static void test_dedup_and_resolve(void **st)
{
	alert_policy_t p = policy(SLACK | EMAIL);
	alert_engine_t *e;
	alert_spec_t s = xid(0);
	alert_notice_t n[16];
	(void)st;

	assert_int_equal(alert_engine_create(&e, &p), 0);
	round_of(e, T0, &s, 1);
	assert_int_equal(alert_count(e), 1);
	assert_int_equal(due(e, T0, n), 2); /* one per sink */
	assert_int_equal(n[0].resolved, 0);
	/* in flight: nothing more is handed out */
	assert_int_equal(due(e, T0, n + 2), 0);
	assert_int_equal(alert_result(e, &n[0], 1, NULL, T0 + 10), 0);
	assert_int_equal(alert_result(e, &n[1], 1, NULL, T0 + 10), 0);
	/* the same condition again and again: one alert, no new notice */
	for (int i = 1; i <= 5; i++) {
		round_of(e, T0 + i * 5000, &s, 1);
		assert_int_equal(due(e, T0 + i * 5000, n), 0);
	}
	assert_int_equal(alert_count(e), 1);
	assert_int_equal(alert_stats(e)->sent[ALERT_SINK_SLACK], 1);
	/* not observed: resolved, one resolved notice per sink */
	round_of(e, T0 + 30000, NULL, 0);
	assert_int_equal(alert_at(e, 0)->firing, 0);
	assert_int_equal(alert_at(e, 0)->ends_at, T0 + 30000);
	assert_int_equal(due(e, T0 + 30000, n), 2);
	assert_int_equal(n[0].resolved, 1);
	alert_result(e, &n[0], 1, NULL, T0 + 30010);
	alert_result(e, &n[1], 1, NULL, T0 + 30010);
	assert_int_equal(due(e, T0 + 99999, n), 0);
	assert_int_equal(alert_next_due(e, T0 + 99999), -1);
	/* it comes back: a new alert (new id) under the same fingerprint */
	round_of(e, T0 + 40000, &s, 1);
	assert_int_equal(alert_count(e), 1);
	assert_int_equal(alert_at(e, 0)->id, 2);
	assert_int_equal(alert_at(e, 0)->starts_at, T0 + 40000);
	assert_int_equal(due(e, T0 + 40000, n), 2);
	alert_engine_destroy(e);
}

static void test_resolved_before_sent(void **st)
{
	alert_policy_t p = policy(SLACK);
	alert_engine_t *e;
	alert_spec_t s = xid(3);
	alert_notice_t n[16];
	(void)st;

	assert_int_equal(alert_engine_create(&e, &p), 0);
	round_of(e, T0, &s, 1);
	assert_int_equal(due(e, T0, n), 1);
	alert_result(e, &n[0], 0, "HTTP status 500", T0);
	/* gone before the retry: neither the firing retry nor a resolved notice */
	round_of(e, T0 + 500, NULL, 0);
	assert_int_equal(due(e, T0 + 5000, n), 0);
	alert_engine_destroy(e);
}

static void test_repeat_interval(void **st)
{
	alert_policy_t p = policy(SLACK | AM);
	alert_engine_t *e;
	alert_spec_t s = xid(1);
	alert_notice_t n[16];
	int64_t t;
	int slack = 0, am = 0;
	(void)st;

	assert_int_equal(alert_engine_create(&e, &p), 0);
	/* one hour of rounds every 10 s, every notice delivered at once */
	for (t = T0; t <= T0 + 3600 * 1000; t += 10000) {
		int k = (round_of(e, t, &s, 1), due(e, t, n));
		for (int i = 0; i < k; i++) {
			if (n[i].sink == ALERT_SINK_SLACK)
				slack++;
			else
				am++;
			alert_result(e, &n[i], 1, NULL, t);
		}
	}
	/* Slack: at the start and after repeat_ms; Alertmanager every minute */
	assert_int_equal(slack, 2);
	assert_int_equal(am, 61);
	alert_engine_destroy(e);
}

static void test_retry_backoff_and_give_up(void **st)
{
	alert_policy_t p = policy(SLACK);
	alert_engine_t *e;
	alert_spec_t s = xid(2);
	alert_notice_t n[16];
	int64_t t = T0;
	(void)st;

	assert_int_equal(alert_engine_create(&e, &p), 0);
	round_of(e, t, &s, 1);
	/* failures 1..4 back off 1, 2, 4, 8 s; not due a millisecond early */
	for (int i = 1; i <= 4; i++) {
		int64_t delay;
		assert_int_equal(due(e, t, n), 1);
		delay = alert_result(e, &n[0], 0, "HTTP status 503", t);
		assert_int_equal(delay, alert_backoff_ms(&p, i));
		assert_int_equal(alert_next_due(e, t), delay);
		assert_int_equal(due(e, t + delay - 1, n), 0);
		t += delay;
		assert_string_equal(alert_at(e, 0)->dlv[ALERT_SINK_SLACK].last_error, "HTTP status 503");
	}
	/* the fifth failure gives up: dropped, tried again at the repeat */
	assert_int_equal(due(e, t, n), 1);
	assert_int_equal(alert_result(e, &n[0], 0, "timeout", t), -1);
	assert_int_equal(alert_stats(e)->dropped[ALERT_SINK_SLACK], 1);
	assert_int_equal(alert_stats(e)->failed[ALERT_SINK_SLACK], 5);
	assert_int_equal(due(e, t + 1000, n), 0);
	assert_int_equal(due(e, t + p.repeat_ms, n), 1);
	/* and a success clears the error count */
	assert_int_equal(alert_result(e, &n[0], 1, NULL, t + p.repeat_ms), 0);
	assert_int_equal(alert_at(e, 0)->dlv[ALERT_SINK_SLACK].attempts, 0);
	assert_int_equal(alert_stats(e)->sent[ALERT_SINK_SLACK], 1);
	alert_engine_destroy(e);
}

static void test_no_sinks_and_forgetting(void **st)
{
	alert_policy_t p = policy(0);
	alert_engine_t *e;
	alert_notice_t n[16];
	(void)st;

	assert_int_equal(alert_engine_create(&e, &p), 0);
	for (int g = 0; g < 5; g++) {
		alert_spec_t s = xid(g);
		round_of(e, T0 + g, &s, 1);
		assert_int_equal(due(e, T0 + g, n), 0); /* listed, never sent */
	}
	/* each round resolved the one before; keep_resolved = 2 keeps the
	 * two newest resolved ones (ids 3, 4) next to the firing one (5) */
	assert_int_equal(alert_count(e), 3);
	assert_false(alert_at(e, 0)->firing);
	assert_int_equal(alert_at(e, 0)->id, 3);
	assert_string_equal(alert_at(e, 2)->spec.label_val[0], "4");
	assert_true(alert_at(e, 2)->firing);
	assert_null(alert_find(e, 1));
	assert_non_null(alert_find(e, 5));
	alert_engine_destroy(e);
}

/* Many alerts, removals shifting the array: the fingerprint index must
 * keep finding each alert (one alert per condition, never two). */
static void test_many_alerts(void **st)
{
	alert_policy_t p = policy(0);
	alert_engine_t *e;
	alert_spec_t s[300];
	int i, j;
	(void)st;

	assert_int_equal(alert_engine_create(&e, &p), 0);
	for (i = 0; i < 300; i++)
		s[i] = xid(i);
	round_of(e, T0, s, 300);
	round_of(e, T0 + 1, s, 300);
	assert_int_equal(alert_count(e), 300);
	/* the odd half resolves; all but the two newest resolved are forgotten */
	alert_round_begin(e);
	for (i = 0; i < 300; i += 2)
		alert_observe(e, &s[i], T0 + 2);
	alert_round_end(e, T0 + 2);
	assert_int_equal(alert_count(e), 152);
	/* everything comes back: still one alert per fingerprint */
	round_of(e, T0 + 3, s, 300);
	round_of(e, T0 + 4, s, 300);
	assert_int_equal(alert_count(e), 300);
	for (i = 0; i < alert_count(e); i++) {
		assert_true(alert_at(e, i)->firing);
		for (j = i + 1; j < alert_count(e); j++)
			assert_string_not_equal(alert_at(e, i)->fingerprint, alert_at(e, j)->fingerprint);
	}
	/* the even ones kept their ids and start times */
	assert_int_equal(alert_at(e, 0)->id, 1);
	assert_int_equal(alert_at(e, 0)->starts_at, T0);
	alert_engine_destroy(e);
}

static void test_payloads(void **st)
{
	alert_policy_t p = policy(SLACK);
	alert_engine_t *e;
	alert_spec_t s = xid(0);
	const alert_t *a;
	json_t *j, *blocks, *one;
	char *txt;
	(void)st;

	assert_int_equal(alert_engine_create(&e, &p), 0);
	round_of(e, T0, &s, 1);
	a = alert_at(e, 0);

	txt = alert_payload_slack(a, 0, "http://hub:8000");
	j = json_loads(txt, 0, NULL);
	assert_non_null(j);
	assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "[FIRING] GpuXidError"));
	blocks = json_object_get(j, "blocks");
	assert_int_equal(json_array_size(blocks), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "type")), "section");
	/* mrkdwn text escapes &, < and > */
	assert_non_null(strstr(txt, "&amp; is &lt;quarantined&gt;"));
	json_decref(j);
	free(txt);

	txt = alert_payload_alertmanager(a, 0, "http://hub:8000");
	j = json_loads(txt, 0, NULL);
	assert_true(json_is_array(j));
	one = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(one, "labels"), "alertname")),
	                    "GpuXidError");
	assert_string_equal(json_string_value(json_object_get(json_object_get(one, "labels"), "gpu")), "0");
	assert_string_equal(json_string_value(json_object_get(one, "generatorURL")), "http://hub:8000/api/v1/alerts");
	assert_string_equal(json_string_value(json_object_get(one, "startsAt")), "2027-01-15T08:00:00Z");
	assert_null(json_object_get(one, "endsAt")); /* firing */
	json_decref(j);
	free(txt);

	round_of(e, T0 + 60000, NULL, 0);
	txt = alert_payload_alertmanager(a, 1, "http://hub:8000");
	j = json_loads(txt, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "endsAt")), "2027-01-15T08:01:00Z");
	json_decref(j);
	free(txt);

	txt = alert_payload_webhook(a, 1, "http://hub:8000");
	j = json_loads(txt, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "resolved");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alert"), "fingerprint")),
	                    a->fingerprint);
	json_decref(j);
	free(txt);
	alert_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_dedup_and_resolve),
		cmocka_unit_test(test_resolved_before_sent),
		cmocka_unit_test(test_repeat_interval),
		cmocka_unit_test(test_retry_backoff_and_give_up),
		cmocka_unit_test(test_no_sinks_and_forgetting),
		cmocka_unit_test(test_many_alerts),
		cmocka_unit_test(test_payloads),
	};
	gh_log_setup(GH_LOG_TEXT, GH_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
