/*
 * idle.c — see idle.h. The decision, step by step:
 *
 *   1. For each rule that is on, find when it started counting (its
 *      "idle since", never before running_since) and when it is due
 *      (since + its time).
 *   2. The earliest due rule decides; no rule on → KEEP.
 *   3. Not warned yet: now >= due - warn_s → WARN (or ACT at once when
 *      warn_s is 0); otherwise KEEP.
 *   4. Warned at w: now < due - warn_s (activity came back) → CLEAR;
 *      now >= due and now >= w + warn_s → ACT; else KEEP (still warning).
 *
 * Worked example: full_idle_s = 600, warn_s = 60, gpu and lifetime off.
 * The session runs from t = 0; the user last typed at t = 100 s, nothing
 * computes. Due = 100 + 600 = 700 s, warning from 640 s.
 *   t = 639 s: KEEP.  t = 640 s: WARN (due 700 s).
 *   The user types at t = 650 s: due moves to 1250 s, 650 < 1190 → CLEAR.
 *   Nothing more: WARN at 1190 s, ACT at 1250 s.
 * Had the warning gone out late (the hub was busy) at 1230 s, the action
 * would wait until 1290 s: a user always gets the whole warning period.
 */
#include "monitor/idle.h"

#include <stddef.h>

void idle_policy_unset(idle_policy_t *p)
{
	p->gpu_idle_s = p->gpu_util_pct = p->full_idle_s = p->max_lifetime_s = p->warn_s = -1;
}

void idle_policy_merge(idle_policy_t *base, const idle_policy_t *over)
{
	if (over->gpu_idle_s >= 0)
		base->gpu_idle_s = over->gpu_idle_s;
	if (over->gpu_util_pct >= 0)
		base->gpu_util_pct = over->gpu_util_pct;
	if (over->full_idle_s >= 0)
		base->full_idle_s = over->full_idle_s;
	if (over->max_lifetime_s >= 0)
		base->max_lifetime_s = over->max_lifetime_s;
	if (over->warn_s >= 0)
		base->warn_s = over->warn_s;
}

int idle_policy_off(const idle_policy_t *p)
{
	return p->gpu_idle_s <= 0 && p->full_idle_s <= 0 && p->max_lifetime_s <= 0;
}

static int64_t later(int64_t a, int64_t b) { return a > b ? a : b; }

/* Considers one rule: keeps it in *best when it is due the earliest. */
static void consider(idle_verdict_t *best, idle_rule_t rule, int64_t since, int seconds)
{
	int64_t due;
	if (seconds <= 0)
		return;
	due = since + (int64_t)seconds * 1000;
	if (best->rule == IDLE_RULE_NONE || due < best->due) {
		best->rule = rule;
		best->due = due;
		best->idle_since = since;
	}
}

idle_verdict_t idle_decide(const idle_policy_t *p, const idle_signals_t *s, int64_t warned_at, int64_t now)
{
	idle_verdict_t v = {IDLE_KEEP, IDLE_RULE_NONE, 0, 0};
	int64_t base = s->running_since, warn_ms = p->warn_s > 0 ? (int64_t)p->warn_s * 1000 : 0;

	if (s->holds_gpus)
		consider(&v, IDLE_RULE_GPU, later(base, s->gpu_busy_at), p->gpu_idle_s);
	consider(&v, IDLE_RULE_FULL, later(base, later(s->user_at, s->compute_at)), p->full_idle_s);
	consider(&v, IDLE_RULE_LIFETIME, base, p->max_lifetime_s);
	if (v.rule == IDLE_RULE_NONE)
		return warned_at ? (idle_verdict_t){IDLE_CLEAR, IDLE_RULE_NONE, 0, 0} : v;

	if (!warned_at) {
		if (now >= v.due - warn_ms)
			v.action = warn_ms == 0 ? IDLE_ACT : IDLE_WARN;
		return v;
	}
	if (now < v.due - warn_ms)
		v.action = IDLE_CLEAR;
	else if (now >= v.due && now >= warned_at + warn_ms)
		v.action = IDLE_ACT;
	return v;
}

const char *idle_rule_name(idle_rule_t r)
{
	switch (r) {
	case IDLE_RULE_GPU:
		return "gpu-idle";
	case IDLE_RULE_FULL:
		return "full-idle";
	case IDLE_RULE_LIFETIME:
		return "max-lifetime";
	default:
		return "";
	}
}
