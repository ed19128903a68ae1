/*
 * test_metrics.c — the exposition writer (expo.h) and the counters
 * (metrics.h): exact text for families, labels with characters that need
 * escaping, special values, cumulative histograms, and the bounds that
 * keep a scrape small whatever clients send.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/expo.h"
#include "metrics/metrics_int.h"

static char *take(expo_t *e)
{
	size_t len = 0;
	char *s = expo_take(e, &len);
	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

static void test_family_and_samples(void **state)
{
	expo_t e;
	const char *l[] = {"uuid", "GPU-1", "index", "0", NULL};
	char *s;
	(void)state;
	expo_init(&e);
	expo_family(&e, "gpuhub_gpu_power_watts", EXPO_GAUGE, "Board power.");
	expo_sample_i(&e, "gpuhub_gpu_power_watts", l, 272);
	expo_sample(&e, "gpuhub_gpu_power_watts", NULL, 0.25);
	s = take(&e);
	assert_string_equal(s, "# HELP gpuhub_gpu_power_watts Board power.\n"
	                       "# TYPE gpuhub_gpu_power_watts gauge\n"
	                       "gpuhub_gpu_power_watts{uuid=\"GPU-1\",index=\"0\"} 272\n"
	                       "gpuhub_gpu_power_watts 0.25\n");
	free(s);
}

static void test_escaping(void **state)
{
	expo_t e;
	const char *l[] = {"session", "a\"b\\c\nd", NULL};
	char *s;
	(void)state;
	expo_init(&e);
	expo_family(&e, "x_total", EXPO_COUNTER, "line one\nback\\slash \"quoted\"");
	expo_sample_i(&e, "x_total", l, 1);
	s = take(&e);
	/* help escapes \ and newline only; label values also the quote */
	assert_string_equal(s, "# HELP x_total line one\\nback\\\\slash \"quoted\"\n"
	                       "# TYPE x_total counter\n"
	                       "x_total{session=\"a\\\"b\\\\c\\nd\"} 1\n");
	free(s);
}

static void test_special_values(void **state)
{
	expo_t e;
	char *s;
	(void)state;
	expo_init(&e);
	expo_sample(&e, "a", NULL, NAN);
	expo_sample(&e, "b", NULL, INFINITY);
	expo_sample(&e, "c", NULL, -INFINITY);
	expo_sample(&e, "d", NULL, 85899345920.0);
	expo_sample_i(&e, "e", NULL, INT64_C(9007199254740993)); /* 2^53 + 1: exact */
	expo_sample(&e, "f", NULL, 1e-7);
	s = take(&e);
	assert_string_equal(s, "a NaN\nb +Inf\nc -Inf\nd 85899345920\ne 9007199254740993\nf 1e-07\n");
	free(s);
}

static void test_histogram_cumulative(void **state)
{
	expo_t e;
	const double bounds[] = {0.1, 1};
	uint64_t counts[3] = {0};
	const char *l[] = {"class", "normal", NULL};
	char *s;
	(void)state;
	metrics_hist_add(counts, bounds, 2, 0.05);
	metrics_hist_add(counts, bounds, 2, 0.1);   /* on the bound: le="0.1" */
	metrics_hist_add(counts, bounds, 2, 0.5);
	metrics_hist_add(counts, bounds, 2, 7);     /* overflow */
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2], 1);
	expo_init(&e);
	expo_histogram(&e, "w_seconds", l, bounds, counts, 2, 7.65);
	s = take(&e);
	assert_string_equal(s, "w_seconds_bucket{class=\"normal\",le=\"0.1\"} 2\n"
	                       "w_seconds_bucket{class=\"normal\",le=\"1\"} 3\n"
	                       "w_seconds_bucket{class=\"normal\",le=\"+Inf\"} 4\n"
	                       "w_seconds_sum{class=\"normal\"} 7.65\n"
	                       "w_seconds_count{class=\"normal\"} 4\n");
	free(s);
}

static void test_empty_take(void **state)
{
	expo_t e;
	char *s;
	(void)state;
	expo_init(&e);
	s = take(&e);
	assert_string_equal(s, "");
	free(s);
}

static void test_http_routes_bounded(void **state)
{
	metrics_t *m;
	static char names[200][32];
	(void)state;
	assert_int_equal(metrics_create(&m, 4), 0);
	metrics_http_observe(m, "GET", "/api/v1/health", 200, 0.001);
	metrics_http_observe(m, "GET", "/api/v1/health", 200, 0.002);
	metrics_http_observe(m, "GET", "/api/v1/health", 503, 0.002);
	metrics_http_observe(m, "BREW", "/api/v1/health", 405, 0.002);
	assert_int_equal(m->nroutes, 2);              /* GET and "other" method */
	assert_string_equal(m->routes[1].method, "other");
	assert_int_equal(m->routes[0].nstatus, 2);
	assert_int_equal(m->routes[0].counts[0], 2);
	assert_int_equal(m->routes[0].counts[1], 1);
	/* far more routes than fit: the table stays bounded */
	for (int i = 0; i < 200; i++) {
		snprintf(names[i], sizeof(names[i]), "/r%d", i);
		metrics_http_observe(m, "GET", names[i], 200, 0.01);
	}
	assert_int_equal(m->nroutes, METRICS_ROUTES_MAX);
	assert_string_equal(m->routes[METRICS_ROUTES_MAX - 1].route, "other");
	metrics_destroy(m);
}

static void test_reclaimed_and_xid(void **state)
{
	metrics_t *m;
	(void)state;
	assert_int_equal(metrics_create(&m, 2), 0);
	metrics_reclaimed_add(m, "idle", 1800);
	metrics_reclaimed_add(m, "idle", 0.5 * 3600);
	metrics_reclaimed_add(m, "preempted", 10);
	metrics_reclaimed_add(m, "made-up", 5);       /* counted as other */
	metrics_reclaimed_add(m, "stopped", -3);      /* ignored */
	metrics_reclaimed_add(NULL, "idle", 1);       /* no-op */
	assert_true(m->reclaimed[2] == 3600);
	assert_true(m->reclaimed[1] == 10);
	assert_true(m->reclaimed[METRICS_REASONS - 1] == 5);
	assert_true(m->reclaimed[0] == 0);
	/* the label is the stored string, so callers may keep the pointer */
	assert_ptr_equal(metrics_reason_label("failed"), metrics_reasons[4]);
	assert_ptr_equal(metrics_reason_label("made-up"), metrics_reasons[METRICS_REASONS - 1]);
	assert_ptr_equal(metrics_reason_label(NULL), metrics_reasons[METRICS_REASONS - 1]);
	metrics_gpu_xid(m, 1);
	metrics_gpu_xid(m, 1);
	metrics_gpu_xid(m, 7);                        /* out of range: ignored */
	assert_int_equal(m->xid[1], 2);
	assert_int_equal(m->xid[0], 0);
	metrics_sched_admit(m, "normal", 30);
	metrics_sched_admit(m, "normal", -1);         /* clock skew counts as 0 */
	metrics_sched_preempt(m, "low");
	assert_int_equal(m->nclasses, 2);
	assert_int_equal(m->classes[0].admitted, 2);
	assert_int_equal(m->classes[0].wait[0], 1);
	assert_int_equal(m->classes[1].preempted, 1);
	metrics_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_special_values),
		cmocka_unit_test(test_histogram_cumulative),
		cmocka_unit_test(test_empty_take),
		cmocka_unit_test(test_http_routes_bounded),
		cmocka_unit_test(test_reclaimed_and_xid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
