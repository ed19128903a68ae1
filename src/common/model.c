/*
 * model.c — session state names and the transition table from model.h.
 */
#include "common/model.h"
#include "common/err.h"

#include <string.h>

static const char *const state_names[GH_SESS__COUNT] = {
	"queued", "starting", "running", "idle-warned", "suspending",
	"suspended", "stopping", "stopped", "failed",
};

#define B(s) (1u << (s))
/* allowed[from] = bit set of states reachable in one step. */
static const unsigned allowed[GH_SESS__COUNT] = {
	[GH_SESS_QUEUED]      = B(GH_SESS_STARTING) | B(GH_SESS_STOPPED) | B(GH_SESS_FAILED),
	[GH_SESS_STARTING]    = B(GH_SESS_RUNNING) | B(GH_SESS_STOPPING) | B(GH_SESS_STOPPED) | B(GH_SESS_FAILED),
	[GH_SESS_RUNNING]     = B(GH_SESS_IDLE_WARNED) | B(GH_SESS_SUSPENDING) | B(GH_SESS_STOPPING) | B(GH_SESS_FAILED),
	[GH_SESS_IDLE_WARNED] = B(GH_SESS_RUNNING) | B(GH_SESS_SUSPENDING) | B(GH_SESS_STOPPING) | B(GH_SESS_FAILED),
	[GH_SESS_SUSPENDING]  = B(GH_SESS_SUSPENDED) | B(GH_SESS_STOPPING) | B(GH_SESS_FAILED),
	[GH_SESS_SUSPENDED]   = B(GH_SESS_QUEUED) | B(GH_SESS_STOPPED),
	[GH_SESS_STOPPING]    = B(GH_SESS_STOPPED) | B(GH_SESS_FAILED),
	[GH_SESS_STOPPED]     = 0,
	[GH_SESS_FAILED]      = 0,
};
#undef B

const char *gh_sess_state_name(gh_sess_state_t s)
{
	if ((unsigned)s >= GH_SESS__COUNT)
		return NULL;
	return state_names[s];
}

int gh_sess_state_parse(const char *s, gh_sess_state_t *out)
{
	for (int i = 0; i < GH_SESS__COUNT; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (gh_sess_state_t)i;
			return 0;
		}
	}
	return GH_EINVAL;
}

int gh_sess_state_active(gh_sess_state_t s)
{
	return !gh_sess_state_ended(s) && s != GH_SESS_SUSPENDED;
}

int gh_sess_state_ended(gh_sess_state_t s) { return s == GH_SESS_STOPPED || s == GH_SESS_FAILED; }

int gh_sess_transition_ok(gh_sess_state_t from, gh_sess_state_t to)
{
	if ((unsigned)from >= GH_SESS__COUNT || (unsigned)to >= GH_SESS__COUNT)
		return 0;
	return (allowed[from] >> to) & 1u;
}
