/*
 * hub_shell.c — commands beside a running workspace (gpuhub shell): the
 * owner, or an admin who asked for it explicitly, gets a process that runs
 * with the workspace's own spec (hub_spec.c): its account, a sandbox laid
 * out like its own, its cgroup, its GPUs and variables. Every shell opened
 * is an event of the session (the audit trail says who and when).
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A login-less shell: bash where there is one, else sh. */
static const char *const shell_tty[] = {"/bin/bash", "-i", NULL};
static const char *const shell_pipe[] = {"/bin/bash", "-s", NULL};
static const char *const sh_tty[] = {"/bin/sh", "-i", NULL};
static const char *const sh_pipe[] = {"/bin/sh", "-s", NULL};

int hub_session_shell(hub_t *hub, int64_t id, const gh_user_t *actor, int tty, int *fd, int *pid, char *why,
                      size_t whylen)
{
	const hub_session_t *hs = hub_session_get(hub, id);
	hub_rtspec_t *rs;
	int rc, bash = access("/bin/bash", X_OK) == 0;

	*fd = -1;
	*pid = 0;
	if (!hs)
		return GH_ENOTFOUND;
	if (hs->s.state != GH_SESS_RUNNING && hs->s.state != GH_SESS_IDLE_WARNED) {
		snprintf(why, whylen, "session '%s' is %s; a shell needs it running", hs->s.name,
		         gh_sess_state_name(hs->s.state));
		return GH_ESTATE;
	}
	if (!(rs = malloc(sizeof(*rs))))
		return GH_ENOMEM;
	if ((rc = hub_rtspec_fill(hub, hs, rs, why, whylen)) != 0)
		goto out;
	rs->spec.argv = bash ? (tty ? shell_tty : shell_pipe) : (tty ? sh_tty : sh_pipe);
	rs->spec.tty = tty;
	rs->spec.create_account = 0; /* the workspace runs: its account exists */
	if (tty)
		hub_rtspec_setenv(rs, "TERM=xterm-256color");
	if ((rc = rt_exec(hub->rt, &rs->spec, hs->s.runtime_ref, fd, pid, why, whylen)) != 0)
		goto out;
	hub_emit(hub, hs->s.id, actor->id, "session.shell", hs->s.state, -1, "%s opened a shell%s (pid %d)",
	         actor->name, actor->id == hs->s.user_id ? "" : " as an admin", *pid);
	GH_INFO("session %lld (%s): %s opened a shell%s, pid %d", (long long)hs->s.id, hs->s.name, actor->name,
	        actor->id == hs->s.user_id ? "" : " as an admin", *pid);
out:
	free(rs);
	return rc;
}
