/*
 * cli_sessions.c — the session verbs: launch, ls, show, stop, rm, events,
 * and the rule for naming a session on the command line.
 *
 * SESSION may be:
 *   12           the session id (a name made only of digits must be
 *                given by its id)
 *   train        one of the caller's own sessions, by name
 *   alice/train  a session of user alice, by name (admins)
 * Names are looked up in GET /sessions (page by page), because the API
 * addresses sessions by id only.
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/model.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- SESSION arguments ---------------------------------------------- */

int cli_session_match(const json_t *items, const char *name, const char *owner, int64_t *id)
{
	const json_t *s;
	size_t i;
	int found = 0;

	json_array_foreach(items, i, s) {
		const char *n = json_string_value(json_object_get(s, "name"));
		const char *u = json_string_value(json_object_get(s, "user"));
		const json_t *v = json_object_get(s, "id");

		if (!n || strcmp(n, name) != 0 || !json_is_integer(v))
			continue;
		if (owner && (!u || strcmp(u, owner) != 0))
			continue;
		if (found++ == 0)
			*id = (int64_t)json_integer_value(v);
	}
	if (found == 0)
		return GH_ENOTFOUND;
	return found > 1 ? GH_EEXIST : 0;
}

int cli_session_resolve(cli_ctx_t *c, const char *arg, int64_t *id)
{
	char owner[GH_NAME_MAX] = "", name[GH_NAME_MAX], q[256], path[300];
	const char *slash = strchr(arg, '/');
	int64_t offset = 0, found_id = 0, v;
	int found = 0, rc;

	if (cli_parse_uint(arg, &v) == 0 && v > 0) {
		*id = v;
		return 0;
	}
	if (slash && (size_t)(slash - arg) < sizeof(owner)) {
		memcpy(owner, arg, (size_t)(slash - arg));
		owner[slash - arg] = '\0';
		arg = slash + 1;
	}
	if (gh_strlcpy(name, arg, sizeof(name)) >= sizeof(name) || !gh_name_valid(name) ||
	    (slash && !gh_name_valid(owner)))
		return cli_usage(c, "'%s' is neither a session id nor a session name", arg);

	for (int page = 0; page < 1000; page++) {
		cli_resp_t r;
		char num[32];
		const json_t *items;
		int64_t total;
		size_t n;

		q[0] = '\0';
		snprintf(num, sizeof(num), "%lld", (long long)offset);
		if ((owner[0] && cli_query_add(q, sizeof(q), "user", owner) < 0) ||
		    cli_query_add(q, sizeof(q), "offset", num) < 0 ||
		    cli_query_add(q, sizeof(q), "limit", "50") < 0)
			return cli_fail(c, CLI_EXIT_ERROR, "session name too long");
		snprintf(path, sizeof(path), "/sessions%s", q);
		rc = cli_call(c, "GET", path, NULL, &r);
		if (rc < 0) {
			cli_resp_free(&r);
			return rc;
		}
		items = json_object_get(r.json, "items");
		rc = cli_session_match(items, name, owner[0] ? owner : NULL, &v);
		if (rc == 0 && found++ == 0)
			found_id = v;
		else if (rc == GH_EEXIST)
			found += 2;
		n = json_array_size(items);
		total = cli_jint(r.json, "total", 0);
		cli_resp_free(&r);
		offset += (int64_t)n;
		if (n == 0 || offset >= total)
			break;
	}
	if (found == 0)
		return cli_fail(c, CLI_EXIT_NOTFOUND, "no session called '%s'%s%s", name,
				owner[0] ? " of user " : "", owner);
	if (found > 1)
		return cli_fail(c, CLI_EXIT_ERROR, "several sessions are called '%s'; "
				"give the id (see 'gpuhub ls')", name);
	*id = found_id;
	return 0;
}

/* ---- launch --------------------------------------------------------- */

/* "ENV-xxxx": ENV shortened to fit, four random base-36 characters. */
static void default_name(const char *env, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[4] = { 0 };
	char sfx[5];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		int64_t t = gh_mono_ns();
		memcpy(rnd, &t, sizeof(rnd));
	}
	for (int i = 0; i < 4; i++)
		sfx[i] = digits[rnd[i] % 36];
	sfx[4] = '\0';
	snprintf(out, outlen, "%.*s-%s", GH_NAME_MAX - 7, env, sfx);
}

struct waiter {
	int ok;            /* 1 running, 0 not (yet) */
	int show;          /* print progress lines */
	char state[32];
	char message[GH_TEXT_MAX];
};

static int wait_event(cli_ctx_t *c, const json_t *ev, void *arg)
{
	struct waiter *w = arg;
	char line[600], buf[32];
	const char *st = cli_jstr(ev, "state", "", buf, sizeof(buf));

	if (w->show) {
		cli_event_line(ev, line, sizeof(line));
		fprintf(c->out, "  %s\n", line);
		fflush(c->out);
	}
	gh_strlcpy(w->state, st, sizeof(w->state));
	if (strcmp(st, "running") == 0 || strcmp(st, "idle-warned") == 0) {
		w->ok = 1;
		return 1;
	}
	if (strcmp(st, "failed") == 0 || strcmp(st, "stopping") == 0 ||
	    strcmp(st, "stopped") == 0 || strcmp(st, "suspending") == 0 ||
	    strcmp(st, "suspended") == 0) {
		char mbuf[GH_TEXT_MAX];
		gh_strlcpy(w->message, cli_jstr(ev, "message", "", mbuf, sizeof(mbuf)),
			   sizeof(w->message));
		return 1;
	}
	return 0;
}

/* After --wait: fetch the session and say how it ended. */
static int wait_result(cli_ctx_t *c, int64_t id, const struct waiter *w)
{
	char path[64], buf[64], rbuf[GH_TEXT_MAX], ubuf[512], clean[GH_TEXT_MAX];
	cli_resp_t r;
	const char *name, *url, *reason;
	int rc;

	snprintf(path, sizeof(path), "/sessions/%lld", (long long)id);
	rc = cli_call(c, "GET", path, NULL, &r);
	if (rc < 0)
		goto out;
	name = cli_jstr(r.json, "name", "?", buf, sizeof(buf));
	if (c->output == CLI_OUT_JSON)
		cli_print_json(c, r.json);
	else if (c->quiet && w->ok)
		fprintf(c->out, "%lld\n", (long long)id);
	if (w->ok) {
		url = cli_jstr(r.json, "url", "", ubuf, sizeof(ubuf));
		if (c->output == CLI_OUT_TABLE && !c->quiet)
			fprintf(c->out, "Session %s is running: %s%s\n", name, url[0] == '/' ?
				c->url : "", url);
		goto out;
	}
	reason = cli_jstr(r.json, "reason", "", rbuf, sizeof(rbuf));
	cli_text_clean(reason[0] ? reason : w->message, clean, sizeof(clean));
	rc = cli_fail(c, CLI_EXIT_ERROR, "session %s is %s%s%s", name, w->state,
		      clean[0] ? ": " : "", clean);
out:
	cli_resp_free(&r);
	return rc;
}

static int launch_body(cli_ctx_t *c, const cli_args_t *a, const char *name, json_t **out)
{
	const char *gpus = cli_arg(a, "gpus"), *model = cli_arg(a, "gpu-model");
	json_t *b = json_object();
	int64_t milli;
	int rc = 0;

	*out = NULL;
	if (!b)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	json_object_set_new(b, "env", json_string(a->pos[0]));
	json_object_set_new(b, "name", json_string(name));
	if (gpus) {
		if (cli_parse_gpus(gpus, &milli) < 0)
			rc = cli_usage(c, "--gpus must be a whole count (0, 1, 2...) or a "
				       "fraction below 1 such as 0.5, not '%s'", gpus);
		else if (milli % 1000 == 0)
			json_object_set_new(b, "gpus", json_integer(milli / 1000));
		else
			json_object_set_new(b, "gpus", json_real((double)milli / 1000.0));
	}
	if (rc == 0 && model)
		json_object_set_new(b, "gpu_model", json_string(model));
	if (rc < 0) {
		json_decref(b);
		return rc;
	}
	*out = b;
	return 0;
}

int cli_cmd_launch(cli_ctx_t *c, const cli_args_t *a)
{
	const char *name = cli_arg(a, "name"), *tmo = cli_arg(a, "timeout");
	char gen[GH_NAME_MAX], buf[64], sbuf[32];
	struct waiter w = { 0 };
	int64_t id, timeout = 0;
	const json_t *queue;
	cli_resp_t r;
	json_t *body;
	int rc;

	if (!gh_name_valid(a->pos[0]))
		return cli_usage(c, "'%s' is not an environment name", a->pos[0]);
	if (name && !gh_name_valid(name))
		return cli_usage(c, "--name must match [a-z0-9][a-z0-9._-]{0,62}, not '%s'", name);
	if (tmo && cli_parse_uint(tmo, &timeout) < 0)
		return cli_usage(c, "--timeout must be a number of seconds, not '%s'", tmo);
	if (!name) {
		default_name(a->pos[0], gen, sizeof(gen));
		name = gen;
	}
	rc = launch_body(c, a, name, &body);
	if (rc < 0)
		return rc;
	rc = cli_call(c, "POST", "/sessions", body, &r);
	json_decref(body);
	if (rc < 0)
		goto out;
	id = cli_jint(r.json, "id", 0);
	if (!cli_flag(a, "wait")) {
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else if (c->quiet)
			fprintf(c->out, "%lld\n", (long long)id);
		else {
			fprintf(c->out, "Session %lld '%s' (%s) is %s", (long long)id, name, a->pos[0],
				cli_jstr(r.json, "state", "queued", sbuf, sizeof(sbuf)));
			queue = json_object_get(r.json, "queue");
			if (json_is_object(queue) && cli_jint(queue, "position", 0) > 0)
				fprintf(c->out, ", position %lld in the queue",
					(long long)cli_jint(queue, "position", 0));
			fprintf(c->out, ".\nFollow it with 'gpuhub events %s --follow'.\n", name);
		}
		goto out;
	}
	w.show = c->output == CLI_OUT_TABLE && !c->quiet;
	if (w.show)
		fprintf(c->out, "Session %lld '%s' created; waiting for it to start (Ctrl-C stops "
			"waiting, not the session).\n", (long long)id, name);
	gh_strlcpy(w.state, cli_jstr(r.json, "state", "", buf, sizeof(buf)), sizeof(w.state));
	if (strcmp(w.state, "running") == 0)
		w.ok = 1;
	else
		rc = cli_stream_events(c, id, (long)timeout, wait_event, &w);
	if (rc == GH_ETIMEOUT)
		rc = cli_fail(c, CLI_EXIT_ERROR, "session %s is still %s after %lld s; it keeps "
			      "its place. See 'gpuhub show %s'.", name, w.state[0] ? w.state :
			      "queued", (long long)timeout, name);
	else if (rc == GH_EUNSUPPORTED)
		rc = cli_fail(c, CLI_EXIT_ERROR, "the server does not stream events; "
			      "see 'gpuhub show %s'", name);
	else if (rc == 0)
		rc = wait_result(c, id, &w);
out:
	cli_resp_free(&r);
	return rc;
}

/* ---- ls, show ------------------------------------------------------- */

/* GPUs that follow the kernel: appends what the session holds now, e.g.
 * "1 per kernel, none held (no kernel runs)". */
static void kernel_gpus(const json_t *s, char *out, size_t outlen)
{
	const json_t *k = json_object_get(s, "kernels_with_gpus");
	size_t len = strlen(out);
	char buf[32];
	const char *st;
	int live;

	if (!json_is_string(json_object_get(s, "gpu_mode")) ||
	    strcmp(json_string_value(json_object_get(s, "gpu_mode")), "kernel") != 0 || cli_jint(s, "gpu_milli", 0) <= 0)
		return;
	st = cli_jstr(s, "state", "", buf, sizeof(buf));
	live = strcmp(st, "running") == 0 || strcmp(st, "idle-warned") == 0;
	if (!live || !json_is_object(k))
		snprintf(out + len, outlen - len, " per kernel");
	else if (json_is_true(json_object_get(k, "waiting")) && cli_jint(k, "position", 0) > 0)
		snprintf(out + len, outlen - len, " per kernel, a kernel waits: #%lld in queue",
		         (long long)cli_jint(k, "position", 0));
	else if (json_is_true(json_object_get(k, "waiting")))
		snprintf(out + len, outlen - len, " per kernel, a kernel waits for them");
	else if (cli_jint(k, "kernels", 0) > 0)
		snprintf(out + len, outlen - len, " per kernel, held by %lld kernel%s", (long long)cli_jint(k, "kernels", 0),
		         cli_jint(k, "kernels", 0) == 1 ? "" : "s");
	else
		snprintf(out + len, outlen - len, " per kernel, none held (no kernel runs)");
}

static void gpus_cell(const json_t *s, char *out, size_t outlen)
{
	char n[32], mbuf[GH_MODEL_MAX];
	const char *model = cli_jstr(s, "gpu_model", "", mbuf, sizeof(mbuf));
	int64_t milli = cli_jint(s, "gpu_milli", -1);
	const json_t *g = json_object_get(s, "gpus");

	if (milli < 0 && json_is_number(g))
		milli = (int64_t)(json_number_value(g) * 1000.0 + 0.5);
	cli_fmt_milli(milli, n, sizeof(n));
	if (model[0])
		snprintf(out, outlen, "%s (%s)", n, model);
	else
		snprintf(out, outlen, "%s", n);
	kernel_gpus(s, out, outlen);
}

static void state_cell(const json_t *s, char *out, size_t outlen)
{
	char buf[32];
	const char *st = cli_jstr(s, "state", "?", buf, sizeof(buf));
	const json_t *q = json_object_get(s, "queue");

	if (strcmp(st, "queued") == 0 && json_is_object(q) && cli_jint(q, "position", 0) > 0)
		snprintf(out, outlen, "%s #%lld", st, (long long)cli_jint(q, "position", 0));
	else
		snprintf(out, outlen, "%s", st);
}

static int ls_query(cli_ctx_t *c, const cli_args_t *a, char *q, size_t qlen)
{
	const char *st = cli_arg(a, "state"), *lim = cli_arg(a, "limit");
	gh_sess_state_t parsed;
	int64_t n;
	int rc = 0;

	q[0] = '\0';
	if (st && gh_sess_state_parse(st, &parsed) < 0)
		return cli_usage(c, "unknown state '%s'", st);
	if (lim && (cli_parse_uint(lim, &n) < 0 || n == 0))
		return cli_usage(c, "--limit must be a positive number, not '%s'", lim);
	if (cli_flag(a, "all"))
		rc |= cli_query_add(q, qlen, "all", "true");
	if (st)
		rc |= cli_query_add(q, qlen, "state", st);
	if (cli_arg(a, "user"))
		rc |= cli_query_add(q, qlen, "user", cli_arg(a, "user"));
	if (cli_arg(a, "env"))
		rc |= cli_query_add(q, qlen, "env", cli_arg(a, "env"));
	if (lim)
		rc |= cli_query_add(q, qlen, "limit", lim);
	return rc ? cli_usage(c, "filter values too long") : 0;
}

int cli_cmd_ls(cli_ctx_t *c, const cli_args_t *a)
{
	int show_user = cli_flag(a, "all") || cli_flag(a, "user");
	char q[512], path[600];
	const json_t *items, *s;
	cli_table_t t;
	cli_resp_t r;
	int64_t now = gh_now_ms(), total;
	size_t i;
	int rc;

	rc = ls_query(c, a, q, sizeof(q));
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/sessions%s", q);
	rc = cli_call(c, "GET", path, NULL, &r);
	if (rc < 0)
		goto out;
	items = json_object_get(r.json, "items");
	if (c->output == CLI_OUT_JSON) {
		cli_print_json(c, r.json);
		goto out;
	}
	if (c->quiet) {
		json_array_foreach(items, i, s)
			fprintf(c->out, "%lld\n", (long long)cli_jint(s, "id", 0));
		goto out;
	}
	if (json_array_size(items) == 0) {
		fputs("No sessions.\n", c->out);
		goto out;
	}
	if (show_user)
		cli_table_init(&t, "ID", "NAME", "USER", "ENV", "STATE", "GPUS", "AGE", NULL);
	else
		cli_table_init(&t, "ID", "NAME", "ENV", "STATE", "GPUS", "AGE", NULL);
	json_array_foreach(items, i, s) {
		char id[32], state[48], gpus[96], age[32], b1[32], b2[32], b3[32];
		const char *cells[7];
		size_t k = 0;

		snprintf(id, sizeof(id), "%lld", (long long)cli_jint(s, "id", 0));
		state_cell(s, state, sizeof(state));
		gpus_cell(s, gpus, sizeof(gpus));
		cli_fmt_since(json_object_get(s, "created_at"), now, age, sizeof(age));
		cells[k++] = id;
		cells[k++] = cli_jstr(s, "name", NULL, b1, sizeof(b1));
		if (show_user)
			cells[k++] = cli_jstr(s, "user", NULL, b2, sizeof(b2));
		cells[k++] = cli_jstr(s, "env", NULL, b3, sizeof(b3));
		cells[k++] = state;
		cells[k++] = gpus;
		cells[k++] = age;
		rc = cli_table_addv(&t, cells);
		if (rc < 0)
			break;
	}
	cli_table_print(&t, c->out);
	cli_table_free(&t);
	total = cli_jint(r.json, "total", 0);
	if (total > (int64_t)json_array_size(items))
		fprintf(c->err, "(%zu of %lld sessions shown; use --limit for more)\n",
			json_array_size(items), (long long)total);
	rc = rc < 0 ? cli_fail(c, CLI_EXIT_ERROR, "out of memory") : 0;
out:
	cli_resp_free(&r);
	return rc;
}

static void show_allocs(cli_table_t *t, const json_t *s)
{
	const json_t *allocs = json_object_get(s, "allocations"), *al;
	size_t i;

	json_array_foreach(allocs, i, al) {
		char line[300], milli[32], mem[32], mb[GH_MODEL_MAX], ub[GH_MODEL_MAX];
		cli_fmt_milli(cli_jint(al, "milli", 0), milli, sizeof(milli));
		cli_fmt_mib(cli_jint(al, "memory_mib", 0), mem, sizeof(mem));
		snprintf(line, sizeof(line), "GPU %lld %s: %s of it, %s (%s)",
			 (long long)cli_jint(al, "gpu", -1),
			 cli_jstr(al, "model", "?", mb, sizeof(mb)), milli, mem,
			 cli_jstr(al, "uuid", "?", ub, sizeof(ub)));
		cli_table_add(t, i == 0 ? "Allocations:" : "", line);
	}
}

static void show_session(cli_ctx_t *c, const json_t *s)
{
	char b[8][GH_TEXT_MAX], line[CLI_URL_MAX + 700], t1[64], t2[32];
	const json_t *q = json_object_get(s, "queue");
	const char *url, *reason;
	cli_table_t t;

	cli_table_init(&t, "KEY", "VALUE", NULL);
	t.no_header = 1;
	cli_table_add(&t, "ID:", cli_jstr(s, "id", "?", b[0], sizeof(b[0])));
	cli_table_add(&t, "Name:", cli_jstr(s, "name", NULL, b[1], sizeof(b[1])));
	cli_table_add(&t, "User:", cli_jstr(s, "user", NULL, b[2], sizeof(b[2])));
	cli_table_add(&t, "Environment:", cli_jstr(s, "env", NULL, b[3], sizeof(b[3])));
	state_cell(s, line, sizeof(line));
	cli_table_add(&t, "State:", line);
	reason = cli_jstr(s, "reason", "", b[4], sizeof(b[4]));
	if (reason[0])
		cli_table_add(&t, "Reason:", reason);
	if (json_is_object(q) && strcmp(cli_jstr(s, "state", "", b[7], sizeof(b[7])), "queued") == 0) {
		char eta[32] = "unknown";
		int64_t e = cli_jint(q, "eta_seconds", -1);
		if (e >= 0)
			cli_fmt_age(e, eta, sizeof(eta));
		const char *qr = json_string_value(json_object_get(q, "reason"));
		snprintf(line, sizeof(line), "position %lld, expected wait %s%s%s",
			 (long long)cli_jint(q, "position", 0), eta, qr && *qr ? "; " : "",
			 qr && *qr ? qr : "");
		cli_table_add(&t, "Queue:", line);
	}
	{
		const json_t *idle = json_object_get(s, "idle");
		if (json_is_true(json_object_get(idle, "warned"))) {
			char rule[32], when[64] = "soon";
			const json_t *at = json_object_get(idle, "action_at");
			if (json_is_string(at))
				cli_fmt_local(at, when, sizeof(when));
			snprintf(line, sizeof(line), "idle (%s): it will be suspended at %s unless it is used",
				 cli_jstr(idle, "rule", "?", rule, sizeof(rule)), when);
			cli_table_add(&t, "Idle:", line);
		}
	}
	gpus_cell(s, line, sizeof(line));
	cli_table_add(&t, "GPUs:", line);
	show_allocs(&t, s);
	url = cli_jstr(s, "url", "", b[6], sizeof(b[6]));
	if (url[0]) {
		snprintf(line, sizeof(line), "%s%s", url[0] == '/' ? c->url : "", url);
		cli_table_add(&t, "URL:", line);
	}
	static const char *const times[][2] = {
		{ "created_at", "Created:" }, { "started_at", "Started:" },
		{ "stopped_at", "Stopped:" }, { "updated_at", "Updated:" },
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		const json_t *tv = json_object_get(s, times[i][0]);
		if (!json_is_string(tv))
			continue;
		cli_fmt_local(tv, t1, sizeof(t1));
		cli_fmt_since(tv, gh_now_ms(), t2, sizeof(t2));
		snprintf(line, sizeof(line), "%s (%s ago)", t1, t2);
		cli_table_add(&t, times[i][1], line);
	}
	cli_table_print(&t, c->out);
	cli_table_free(&t);
}

int cli_cmd_show(cli_ctx_t *c, const cli_args_t *a)
{
	char path[64];
	cli_resp_t r;
	int64_t id;
	int rc;

	rc = cli_session_resolve(c, a->pos[0], &id);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/sessions/%lld", (long long)id);
	rc = cli_call(c, "GET", path, NULL, &r);
	if (rc == 0) {
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else
			show_session(c, r.json);
	}
	cli_resp_free(&r);
	return rc;
}

/* ---- stop, rm ------------------------------------------------------- */

int cli_cmd_stop(cli_ctx_t *c, const cli_args_t *a)
{
	int result = 0;

	for (int i = 0; i < a->npos; i++) {
		char path[64], buf[32];
		cli_resp_t r;
		int64_t id;
		int rc = cli_session_resolve(c, a->pos[i], &id);

		if (rc < 0) {
			result = rc;
			continue;
		}
		snprintf(path, sizeof(path), "/sessions/%lld/stop", (long long)id);
		rc = cli_call(c, "POST", path, NULL, &r);
		if (rc < 0)
			result = rc;
		else if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else if (!c->quiet)
			fprintf(c->out, "Session %s is %s.\n", a->pos[i],
				cli_jstr(r.json, "state", "stopped", buf, sizeof(buf)));
		cli_resp_free(&r);
	}
	return result;
}

int cli_cmd_rm(cli_ctx_t *c, const cli_args_t *a)
{
	int force = cli_flag(a, "force"), result = 0;

	for (int i = 0; i < a->npos; i++) {
		char path[80];
		cli_resp_t r;
		int64_t id;
		int rc = cli_session_resolve(c, a->pos[i], &id);

		if (rc < 0) {
			result = rc;
			continue;
		}
		snprintf(path, sizeof(path), "/sessions/%lld%s", (long long)id,
			 force ? "?force=true" : "");
		rc = cli_call(c, "DELETE", path, NULL, &r);
		if (rc < 0) {
			if (r.status == 409 && !force)
				fprintf(c->err, "Stop it first ('gpuhub stop %s') or use --force.\n",
					a->pos[i]);
			result = rc;
		} else if (!c->quiet && c->output == CLI_OUT_TABLE) {
			fprintf(c->out, "Session %s deleted.\n", a->pos[i]);
		}
		cli_resp_free(&r);
	}
	return result;
}

/* ---- events --------------------------------------------------------- */

static int follow_event(cli_ctx_t *c, const json_t *ev, void *arg)
{
	char line[600], buf[32];
	const char *st = cli_jstr(ev, "state", "", buf, sizeof(buf));

	(void)arg;
	if (c->output == CLI_OUT_JSON) {
		json_dumpf(ev, c->out, JSON_COMPACT | JSON_REAL_PRECISION(15));
		fputc('\n', c->out);
	} else {
		cli_event_line(ev, line, sizeof(line));
		fprintf(c->out, "%s\n", line);
	}
	fflush(c->out);
	return strcmp(st, "stopped") == 0 || strcmp(st, "failed") == 0;
}

static void events_table(cli_ctx_t *c, const json_t *items)
{
	const json_t *ev;
	cli_table_t t;
	size_t i;

	if (json_array_size(items) == 0) {
		fputs("No events.\n", c->out);
		return;
	}
	cli_table_init(&t, "TIME", "TYPE", "STATE", "PROGRESS", "MESSAGE", NULL);
	t.right = 1u << 3;
	json_array_foreach(items, i, ev) {
		char when[64], pct[8] = "", b1[64], b2[32], b3[GH_TEXT_MAX];
		int64_t p = cli_jint(ev, "percent", -1);
		cli_fmt_local(json_object_get(ev, "ts"), when, sizeof(when));
		if (p >= 0 && p <= 100)
			snprintf(pct, sizeof(pct), "%lld%%", (long long)p);
		cli_table_add(&t, when, cli_jstr(ev, "type", NULL, b1, sizeof(b1)),
			      cli_jstr(ev, "state", NULL, b2, sizeof(b2)), pct,
			      cli_jstr(ev, "message", "", b3, sizeof(b3)));
	}
	cli_table_print(&t, c->out);
	cli_table_free(&t);
}

int cli_cmd_events(cli_ctx_t *c, const cli_args_t *a)
{
	char path[64];
	cli_resp_t r;
	int64_t id;
	int rc;

	rc = cli_session_resolve(c, a->pos[0], &id);
	if (rc < 0)
		return rc;
	if (cli_flag(a, "follow")) {
		rc = cli_stream_events(c, id, 0, follow_event, NULL);
		if (rc == GH_EUNSUPPORTED)
			rc = cli_fail(c, CLI_EXIT_ERROR, "the server does not stream events");
		return rc;
	}
	snprintf(path, sizeof(path), "/sessions/%lld/events", (long long)id);
	rc = cli_call(c, "GET", path, NULL, &r);
	if (rc == 0) {
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else if (!c->quiet)
			events_table(c, json_object_get(r.json, "items"));
	}
	cli_resp_free(&r);
	return rc;
}
