/*
 * idle.h — the idle policy: when does a workspace give its GPUs back?
 *
 * A pure function of a policy, the session's activity signals and the
 * time (no I/O, no clock, no globals), so the daemon and the unit tests
 * run the very same decision. The hub gathers the signals (hub_idle.c)
 * and carries out the verdict (warn, suspend).
 *
 * Three rules, each off when its time is 0:
 *
 *   rule       | idle since                                  | due after
 *   -----------+---------------------------------------------+---------------
 *   gpu        | the last time its GPUs were used (>= util%) | gpu_idle_s
 *              | (only for a session that holds GPUs)        |
 *   full       | the last user activity or compute           | full_idle_s
 *   lifetime   | it started running (this time)              | max_lifetime_s
 *
 * Every rule counts from no earlier than the moment the session started
 * running, so a fresh or just resumed workspace gets its whole allowance.
 * The earliest rule due wins. A warning comes warn_s before the action,
 * and the action never comes sooner than warn_s after the warning.
 */
#ifndef GH_MONITOR_IDLE_H
#define GH_MONITOR_IDLE_H

#include <stdint.h>

typedef struct {
	int gpu_idle_s;       /* GPUs below gpu_util_pct this long → suspend; 0 = off */
	int gpu_util_pct;     /* utilization (percent) that counts as using a GPU */
	int full_idle_s;      /* no user activity and no compute this long → suspend; 0 = off */
	int max_lifetime_s;   /* running this long → suspend; 0 = off */
	int warn_s;           /* warning this long before the action */
} idle_policy_t;

typedef struct {
	int64_t running_since;  /* ms: it entered running (this run) */
	int64_t user_at;        /* ms: last user activity, 0 = none */
	int64_t compute_at;     /* ms: last compute seen (busy kernel, GPU or CPU use), 0 = none */
	int64_t gpu_busy_at;    /* ms: last GPU use at or above the threshold, 0 = none */
	int holds_gpus;         /* 1: the session has GPUs allocated */
} idle_signals_t;

typedef enum {
	IDLE_RULE_NONE = 0,
	IDLE_RULE_GPU,
	IDLE_RULE_FULL,
	IDLE_RULE_LIFETIME
} idle_rule_t;

typedef enum {
	IDLE_KEEP = 0,    /* nothing to do */
	IDLE_WARN,        /* warn now: action at `due` */
	IDLE_CLEAR,       /* a warning stands but the session is busy again */
	IDLE_ACT          /* suspend now */
} idle_action_t;

typedef struct {
	idle_action_t action;
	idle_rule_t rule;       /* the rule that decided (WARN, ACT; KEEP when one is pending) */
	int64_t due;            /* ms when the action is (or was) due, 0 = never */
	int64_t idle_since;     /* ms the deciding rule counts from */
} idle_verdict_t;

/* Field values of a policy, -1 = "not set here" (an override layer). */
void idle_policy_unset(idle_policy_t *p);
/* Copies every field of over that is set (>= 0) onto base. */
void idle_policy_merge(idle_policy_t *base, const idle_policy_t *over);
/* 1 when every rule is off. */
int idle_policy_off(const idle_policy_t *p);

/* The verdict at now for a session warned at warned_at (0 = not warned). */
idle_verdict_t idle_decide(const idle_policy_t *p, const idle_signals_t *s, int64_t warned_at, int64_t now);

/* "gpu-idle", "full-idle", "max-lifetime", "" */
const char *idle_rule_name(idle_rule_t r);

#endif
