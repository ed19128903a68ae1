/*
 * cli_idle.c — gpuhub suspend / gpuhub resume: give a session's GPUs back
 * keeping its files and open notebooks, and wake it again.
 */
#include "cli/cli_int.h"

#include <stdio.h>
#include <string.h>

/* POSTs /sessions/{id}/<action> for each SESSION and says where each stands. */
static int each(cli_ctx_t *c, const cli_args_t *a, const char *action)
{
	int result = 0;

	for (int i = 0; i < a->npos; i++) {
		char path[80], buf[32];
		cli_resp_t r;
		int64_t id;
		json_t *queue;
		int rc = cli_session_resolve(c, a->pos[i], &id);

		if (rc < 0) {
			result = rc;
			continue;
		}
		snprintf(path, sizeof(path), "/sessions/%lld/%s", (long long)id, action);
		rc = cli_call(c, "POST", path, NULL, &r);
		if (rc < 0) {
			result = rc;
		} else if (c->output == CLI_OUT_JSON) {
			cli_print_json(c, r.json);
		} else if (!c->quiet) {
			fprintf(c->out, "Session %s is %s", a->pos[i], cli_jstr(r.json, "state", "?", buf, sizeof(buf)));
			queue = json_object_get(r.json, "queue");
			if (json_is_object(queue) && cli_jint(queue, "position", 0) > 0) {
				fprintf(c->out, ", position %lld in the queue", (long long)cli_jint(queue, "position", 0));
				if (json_is_integer(json_object_get(queue, "eta_seconds")))
					fprintf(c->out, ", about %lld min",
					        (long long)((cli_jint(queue, "eta_seconds", 0) + 59) / 60));
			}
			if (strcmp(action, "suspend") == 0)
				fprintf(c->out, ".\nIts GPUs are given back once it has stopped; files and the list of open "
				                "notebooks are kept. Wake it with 'gpuhub resume %s'.\n", a->pos[i]);
			else
				fprintf(c->out, ".\nOpen notebooks come back with fresh kernels (kernel memory is not kept), "
				                "unless the hub restores a checkpoint of its processes on the same GPUs. "
				                "Follow it with 'gpuhub events %s --follow'.\n", a->pos[i]);
		}
		cli_resp_free(&r);
	}
	return result;
}

int cli_cmd_suspend(cli_ctx_t *c, const cli_args_t *a) { return each(c, a, "suspend"); }

int cli_cmd_resume(cli_ctx_t *c, const cli_args_t *a) { return each(c, a, "resume"); }
