/*
 * runtime.c — the table of runtime engines and the rt_* wrappers.
 */
#include "runtime/runtime.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

extern const rt_ops_t rt_local_ops;

static const rt_ops_t *const engines[] = {&rt_local_ops, NULL};

int rt_open(gh_rt_t **out, const char *engine, const char *state_dir, char *errmsg, size_t errlen)
{
	*out = NULL;
	for (int i = 0; engines[i]; i++)
		if (strcmp(engines[i]->name, engine) == 0)
			return engines[i]->open(out, state_dir, errmsg, errlen);
	snprintf(errmsg, errlen, "unknown runtime engine '%s' (known: local)", engine);
	return GH_ECONFIG;
}

void rt_close(gh_rt_t *rt)
{
	if (rt)
		rt->ops->close(rt);
}

const char *rt_name(const gh_rt_t *rt) { return rt->ops->name; }

int rt_start(gh_rt_t *rt, const rt_spec_t *spec, char *ref, size_t reflen, char *errmsg, size_t errlen)
{
	return rt->ops->start(rt, spec, ref, reflen, errmsg, errlen);
}

rt_status_t rt_probe(gh_rt_t *rt, const char *ref) { return rt->ops->probe(rt, ref); }

int rt_signal_stop(gh_rt_t *rt, const char *ref, int hard) { return rt->ops->signal_stop(rt, ref, hard); }
