/*
 * alert_bench.c — what one evaluation round of the alert engine costs, so
 * "the rules run on every tick" can be checked against a number.
 *
 * A round observes N firing conditions (one per GPU or per session, the
 * shapes hub_alert.c reports), resolves the ones gone and asks which
 * notices are due. N runs over 10, 100 and 1000 (a very bad day); every
 * alert stays firing, with the four sinks configured, so after the first
 * round only Alertmanager's one-minute re-sends come due: the steady state
 * is measured (rounds every 5 s of fake time). The baseline, measured in the same run, is
 * one statvfs() of the current directory: the only system call a round of
 * the hub's rules makes.
 */
#include "alert/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void spec_for(alert_spec_t *s, int i)
{
	memset(s, 0, sizeof(*s));
	if (i % 2) {
		strcpy(s->name, "RequestWaiting");
		strcpy(s->severity, "warning");
		alert_spec_label(s, "user", "user%d", i % 97);
		alert_spec_label(s, "session", "session-%d", i);
	} else {
		strcpy(s->name, "GpuIdle");
		strcpy(s->severity, "warning");
		alert_spec_label(s, "gpu", "%d", i);
		alert_spec_label(s, "uuid", "GPU-sim-0000-0000-0000-%012d", i);
	}
	snprintf(s->summary, sizeof(s->summary), "condition %d holds for a while now", i);
}

int main(void)
{
	static const int sizes[] = { 10, 100, 1000 };
	struct statvfs v;
	double t0, base;
	int rounds = 2000;

	t0 = now_ns();
	for (int r = 0; r < rounds * 10; r++)
		statvfs(".", &v);
	base = (now_ns() - t0) / (rounds * 10);
	printf("baseline: one statvfs() %.2f us\n", base / 1000);
	printf("%-8s %-16s %-16s %s\n", "alerts", "round (us)", "per alert (us)", "round / statvfs");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int n = sizes[k], nr = n >= 1000 ? rounds / 10 : rounds;
		alert_policy_t p = { .sinks = 0xf, .repeat_ms = 4 * 3600 * 1000LL, .am_resend_ms = 60000,
		                     .retry_base_ms = 1000, .retry_max_ms = 300000, .retry_attempts = 8,
		                     .keep_resolved = 100 };
		alert_engine_t *e;
		alert_spec_t *specs = calloc((size_t)n, sizeof(*specs));
		alert_notice_t due[64];
		int64_t now = 1800000000000LL;
		double t;

		if (!specs || alert_engine_create(&e, &p) != 0)
			return 1;
		for (int i = 0; i < n; i++)
			spec_for(&specs[i], i);
		/* first round: every alert is new and its notices go out */
		alert_round_begin(e);
		for (int i = 0; i < n; i++)
			alert_observe(e, &specs[i], now);
		alert_round_end(e, now);
		for (int got; (got = alert_due(e, now, due, 64)) > 0;)
			for (int i = 0; i < got; i++)
				alert_result(e, &due[i], 1, NULL, now);
		t = now_ns();
		for (int r = 0; r < nr; r++) {
			now += 5000;
			alert_round_begin(e);
			for (int i = 0; i < n; i++)
				alert_observe(e, &specs[i], now);
			alert_round_end(e, now);
			/* Alertmanager's one-minute re-sends come due now and then */
			for (int got; (got = alert_due(e, now, due, 64)) > 0;)
				for (int i = 0; i < got; i++)
					alert_result(e, &due[i], 1, NULL, now);
		}
		t = (now_ns() - t) / nr;
		printf("%-8d %-16.2f %-16.3f %.1f\n", n, t / 1000, t / 1000 / n, t / base);
		alert_engine_destroy(e);
		free(specs);
	}
	return 0;
}
