/*
 * runtime.c — the table of runtime engines, the rt_* wrappers, and the
 * mapping from hub user names to Unix account names (shared by engines
 * that run workspaces under per-user accounts).
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

int rt_usage(gh_rt_t *rt, const char *ref, int max_age_ms, rt_usage_t *out)
{
	out->npids = 0;
	out->cpu_usec = 0;
	return rt->ops->usage ? rt->ops->usage(rt, ref, max_age_ms, out) : GH_EUNSUPPORTED;
}

int rt_signal_stop(gh_rt_t *rt, const char *ref, int hard) { return rt->ops->signal_stop(rt, ref, hard); }

void rt_reap(gh_rt_t *rt)
{
	if (rt && rt->ops->reap)
		rt->ops->reap(rt);
}

int rt_owns_pid(gh_rt_t *rt, const char *ref, int pid)
{
	return rt->ops->owns_pid && ref && ref[0] && pid > 0 ? rt->ops->owns_pid(rt, ref, pid) : 0;
}

int rt_exec(gh_rt_t *rt, const rt_spec_t *spec, const char *ref, int *fd, int *pid, char *errmsg, size_t errlen)
{
	*fd = -1;
	*pid = 0;
	if (!rt->ops->exec) {
		snprintf(errmsg, errlen, "the %s runtime cannot run commands in a workspace", rt->ops->name);
		return GH_EUNSUPPORTED;
	}
	return rt->ops->exec(rt, spec, ref, fd, pid, errmsg, errlen);
}

int rt_account_name(const char *user, int dedicated, char *out, size_t outlen)
{
	const char *prefix = dedicated ? "gh-" : "";
	size_t n = strlen(prefix), i;

	if (!user || !user[0] || outlen < n + 2)
		return GH_EINVAL;
	memcpy(out, prefix, n);
	for (i = 0; user[i]; i++, n++) {
		char c = user[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return GH_EINVAL;
		if (n + 1 >= outlen || n >= 32)
			return GH_EINVAL;
		out[n] = c;
	}
	out[n] = '\0';
	if ((out[0] >= '0' && out[0] <= '9') || out[0] == '-' || out[0] == '.')
		return GH_EINVAL;
	return 0;
}

int rt_rejoin(gh_rt_t *rt, const rt_spec_t *spec, int pid, char *ref, size_t reflen)
{
	return rt->ops->rejoin && spec && pid > 1 ? rt->ops->rejoin(rt, spec, pid, ref, reflen) : GH_EUNSUPPORTED;
}
