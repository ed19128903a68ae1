/*
 * cli_admin.c — the catalog and inventory verbs: "gpuhub env ...",
 * "gpuhub gpus" and "gpuhub users ...". Most of them are admin-only on
 * the server; the client does not guess roles, it shows what the server
 * answers (403 becomes exit code 4 with a hint).
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/model.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>

/* ---- env ------------------------------------------------------------ */

static void labels_cell(const json_t *env, char *out, size_t outlen)
{
	const json_t *labels = json_object_get(env, "labels"), *v;
	const char *k;
	size_t n = 0;

	out[0] = '\0';
	json_object_foreach((json_t *)labels, k, v) {
		char vb[64];
		int w = snprintf(out + n, outlen - n, "%s%s=%s", n ? "," : "", k,
				 cli_jstr(labels, k, "", vb, sizeof(vb)));
		if (w < 0 || (size_t)w >= outlen - n)
			break;
		n += (size_t)w;
	}
	if (!out[0])
		snprintf(out, outlen, "-");
}

/* "1 (max 4)" from default_WHAT and max_WHAT; kind 'g' GPUs, 'c'
 * milli-CPUs (shown as CPUs), 'm' MiB. */
static void range_cell(const json_t *env, const char *what, int kind, char *out, size_t outlen)
{
	char dk[40], mk[40], d[32], m[32];
	const json_t *dv, *mv;

	snprintf(dk, sizeof(dk), "default_%s", what);
	snprintf(mk, sizeof(mk), "max_%s", what);
	dv = json_object_get(env, dk);
	mv = json_object_get(env, mk);
	for (int i = 0; i < 2; i++) {
		const json_t *v = i ? mv : dv;
		char *o = i ? m : d;
		if (!json_is_number(v))
			snprintf(o, sizeof(d), "-");
		else if (kind == 'g')
			cli_fmt_milli((int64_t)(json_number_value(v) * 1000.0 + 0.5), o, sizeof(d));
		else if (kind == 'c')
			cli_fmt_milli((int64_t)json_number_value(v), o, sizeof(d));
		else
			cli_fmt_mib((int64_t)json_number_value(v), o, sizeof(d));
	}
	snprintf(out, outlen, "%s (max %s)", d, m);
}

int cli_cmd_env_ls(cli_ctx_t *c, const cli_args_t *a)
{
	const json_t *items, *e;
	cli_table_t t;
	cli_resp_t r;
	size_t i;
	int rc;

	(void)a;
	rc = cli_list(c, "/environments", "name", &r, &items);
	if (rc <= 0)
		goto out;
	rc = 0;
	if (json_array_size(items) == 0) {
		fputs("No environments. An administrator adds them with 'gpuhub env add'.\n", c->out);
		goto out;
	}
	cli_table_init(&t, "NAME", "INTERFACE", "LABELS", "GPUS", "AVAILABLE", "DISPLAY NAME", NULL);
	json_array_foreach(items, i, e) {
		char labels[256], gpus[48], b1[64], b2[64], b3[GH_TEXT_MAX];
		labels_cell(e, labels, sizeof(labels));
		range_cell(e, "gpus", 'g', gpus, sizeof(gpus));
		cli_table_add(&t, cli_jstr(e, "name", NULL, b1, sizeof(b1)),
			      cli_jstr(e, "interface", NULL, b2, sizeof(b2)), labels, gpus,
			      json_is_false(json_object_get(e, "available")) ? "no" : "yes",
			      cli_jstr(e, "display_name", "", b3, sizeof(b3)));
	}
	cli_table_print(&t, c->out);
	cli_table_free(&t);
out:
	cli_resp_free(&r);
	return rc;
}

static void show_env(cli_ctx_t *c, const json_t *e)
{
	char b[4][GH_TEXT_MAX], cell[256], when[64];
	char *launch = json_dumps(json_object_get(e, "launch"), JSON_COMPACT | JSON_ENCODE_ANY);
	cli_table_t t;

	cli_table_init(&t, "KEY", "VALUE", NULL);
	t.no_header = 1;
	cli_table_add(&t, "Name:", cli_jstr(e, "name", NULL, b[0], sizeof(b[0])));
	cli_table_add(&t, "Display name:", cli_jstr(e, "display_name", NULL, b[1], sizeof(b[1])));
	cli_table_add(&t, "Interface:", cli_jstr(e, "interface", NULL, b[2], sizeof(b[2])));
	labels_cell(e, cell, sizeof(cell));
	cli_table_add(&t, "Labels:", cell);
	range_cell(e, "gpus", 'g', cell, sizeof(cell));
	cli_table_add(&t, "GPUs:", cell);
	range_cell(e, "cpu_milli", 'c', cell, sizeof(cell));
	cli_table_add(&t, "CPUs:", cell);
	range_cell(e, "memory_mib", 'm', cell, sizeof(cell));
	cli_table_add(&t, "Memory:", cell);
	cli_table_add(&t, "Launch:", launch && strcmp(launch, "null") ? launch : "-");
	if (json_is_false(json_object_get(e, "available"))) {
		snprintf(cell, sizeof(cell), "no: %s", cli_jstr(e, "unavailable_reason", "?", b[3], sizeof(b[3])));
		cli_table_add(&t, "Available:", cell);
	} else {
		cli_table_add(&t, "Available:", "yes");
	}
	cli_fmt_local(json_object_get(e, "created_at"), when, sizeof(when));
	cli_table_add(&t, "Created:", when);
	cli_table_print(&t, c->out);
	cli_table_free(&t);
	free(launch);
}

static int env_path(cli_ctx_t *c, const char *name, char *path, size_t n)
{
	if (!gh_name_valid(name))
		return cli_usage(c, "'%s' is not an environment name", name);
	snprintf(path, n, "/environments/%s", name);
	return 0;
}

/* GET path, then print the object: JSON with -o json, else with show(). */
static int get_and_show(cli_ctx_t *c, const char *path, void (*show)(cli_ctx_t *, const json_t *))
{
	cli_resp_t r;
	int rc = cli_call(c, "GET", path, NULL, &r);

	if (rc == 0) {
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else
			show(c, r.json);
	}
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_env_show(cli_ctx_t *c, const cli_args_t *a)
{
	char path[128];
	int rc = env_path(c, a->pos[0], path, sizeof(path));

	return rc < 0 ? rc : get_and_show(c, path, show_env);
}

static void report_line(cli_table_t *t, const json_t *rep, const char *key, const char *label)
{
	const json_t *v = json_object_get(rep, key);
	char buf[128];

	if (json_is_string(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else if (!v)
		return;
	else
		snprintf(buf, sizeof(buf), "-");
	cli_table_add(t, label, buf[0] ? buf : "(none)");
}

int cli_cmd_env_check(cli_ctx_t *c, const cli_args_t *a)
{
	const char *g = cli_arg(a, "gpus");
	const json_t *rep, *v;
	json_t *body = json_object();
	char path[160], cell[256];
	cli_table_t t;
	cli_resp_t r;
	int64_t milli;
	size_t i, off = 0;
	int rc = env_path(c, a->pos[0], path, sizeof(path) - 8);

	if (rc < 0) {
		json_decref(body);
		return rc;
	}
	if (g) {
		if (cli_parse_gpus(g, &milli) < 0) {
			json_decref(body);
			return cli_usage(c, "--gpus must be a whole number or a fraction such as 0.5, not '%s'", g);
		}
		json_object_set_new(body, "gpus", json_real((double)milli / 1000.0));
	}
	strcat(path, "/check");
	rc = cli_call(c, "POST", path, body, &r);
	json_decref(body);
	if (rc != 0)
		goto out;
	if (c->output == CLI_OUT_JSON) {
		cli_print_json(c, r.json);
		goto out;
	}
	rep = json_object_get(r.json, "report");
	cli_table_init(&t, "KEY", "VALUE", NULL);
	t.no_header = 1;
	cell[0] = '\0';
	json_array_foreach(json_object_get(r.json, "gpus"), i, v)
		off += (size_t)snprintf(cell + off, off < sizeof(cell) ? sizeof(cell) - off : 0, "%s%lld", i ? "," : "",
				(long long)json_integer_value(v));
	cli_table_add(&t, "GPUs given:", cell[0] ? cell : "none");
	report_line(&t, rep, "cuda_visible_devices", "CUDA_VISIBLE_DEVICES:");
	report_line(&t, rep, "torch_cuda_device_count", "CUDA devices (torch):");
	report_line(&t, rep, "python", "Python:");
	report_line(&t, rep, "torch", "PyTorch:");
	report_line(&t, rep, "tensorflow", "TensorFlow:");
	report_line(&t, rep, "jupyter_server", "Jupyter Server:");
	report_line(&t, rep, "notebook", "Notebook:");
	report_line(&t, r.json, "exit_status", "Probe exit status:");
	cli_table_print(&t, c->out);
	cli_table_free(&t);
	if (!json_is_object(rep)) {
		char out[4200];
		fprintf(c->out, "The probe gave no report; its output:\n%s\n",
			cli_jstr(r.json, "output", "", out, sizeof(out)));
	}
	v = json_object_get(r.json, "exit_status");
	if (!json_is_integer(v) || json_integer_value(v) != 0)
		rc = cli_fail(c, CLI_EXIT_ERROR, "the probe of environment %s did not succeed", a->pos[0]);
out:
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_env_add(cli_ctx_t *c, const cli_args_t *a)
{
	const char *file = a->pos[0];
	json_error_t jerr;
	json_t *spec;
	cli_resp_t r;
	char buf[GH_NAME_MAX];
	int rc;

	if (strcmp(file, "-") == 0)
		spec = json_loadf(stdin, 0, &jerr);
	else
		spec = json_load_file(file, 0, &jerr);
	if (!spec)
		return cli_fail(c, CLI_EXIT_ERROR, "%s:%d:%d: %s", strcmp(file, "-") ? file :
				"<stdin>", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(spec)) {
		json_decref(spec);
		return cli_fail(c, CLI_EXIT_ERROR, "%s: an environment is a JSON object", file);
	}
	rc = cli_call(c, "POST", "/environments", spec, &r);
	if (rc == 0) {
		const char *name = cli_jstr(r.json, "name", "?", buf, sizeof(buf));
		if (c->output == CLI_OUT_JSON)
			cli_print_json(c, r.json);
		else if (c->quiet)
			fprintf(c->out, "%s\n", name);
		else
			fprintf(c->out, "Environment %s added.\n", name);
	}
	json_decref(spec);
	cli_resp_free(&r);
	return rc;
}

/* DELETE path; on success, tell a person what happened (said). */
static int delete_and_say(cli_ctx_t *c, const char *path, const char *said)
{
	cli_resp_t r;
	int rc = cli_call(c, "DELETE", path, NULL, &r);

	if (rc == 0 && !c->quiet && c->output == CLI_OUT_TABLE)
		fprintf(c->out, "%s\n", said);
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_env_rm(cli_ctx_t *c, const cli_args_t *a)
{
	char path[128], said[256];
	int rc = env_path(c, a->pos[0], path, sizeof(path));

	if (rc < 0)
		return rc;
	snprintf(said, sizeof(said), "Environment %s removed.", a->pos[0]);
	return delete_and_say(c, path, said);
}

/* ---- gpus ----------------------------------------------------------- */

void cli_fmt_health(const json_t *gpu, char *out, size_t outlen)
{
	const json_t *fault = json_object_get(gpu, "fault");
	const json_t *healthy = json_object_get(gpu, "healthy");
	char b[64];

	if (json_is_string(fault)) {
		snprintf(out, outlen, "fault: %s", json_string_value(fault));
	} else if (json_is_object(fault)) {
		const char *type = cli_jstr(fault, "type", "fault", b, sizeof(b));
		if (json_is_integer(json_object_get(fault, "xid")))
			snprintf(out, outlen, "%s %lld", type, (long long)cli_jint(fault, "xid", 0));
		else
			snprintf(out, outlen, "%s", type);
	} else if (json_is_false(healthy)) {
		snprintf(out, outlen, "unhealthy");
	} else {
		snprintf(out, outlen, "ok");
	}
}

static void gpu_row(cli_table_t *t, const json_t *g)
{
	char idx[24], mem[80], used[32], total[32], alloc[64], a1[16], a2[16];
	char util[24] = "-", temp[24] = "-", health[64], mb[GH_MODEL_MAX], sb[32];
	const char *sharing = cli_jstr(g, "sharing", "exclusive", sb, sizeof(sb));
	int64_t v;

	snprintf(idx, sizeof(idx), "%lld", (long long)cli_jint(g, "index", -1));
	cli_fmt_mib(cli_jint(g, "memory_mib", 0), total, sizeof(total));
	v = cli_jint(g, "memory_used_mib", -1);
	if (v >= 0) {
		cli_fmt_mib(v, used, sizeof(used));
		snprintf(mem, sizeof(mem), "%s / %s", used, total);
	} else {
		snprintf(mem, sizeof(mem), "%s", total);
	}
	cli_fmt_milli(cli_jint(g, "allocated_milli", 0), a1, sizeof(a1));
	cli_fmt_milli(cli_jint(g, "capacity_milli", 1000), a2, sizeof(a2));
	snprintf(alloc, sizeof(alloc), "%s/%s%s%s", a1, a2, strcmp(sharing, "exclusive") ? " " : "",
		 strcmp(sharing, "exclusive") ? sharing : "");
	if ((v = cli_jint(g, "util_pct", -1)) >= 0)
		snprintf(util, sizeof(util), "%lld%%", (long long)v);
	if ((v = cli_jint(g, "temperature_c", -1000)) > -1000)
		snprintf(temp, sizeof(temp), "%lldC", (long long)v);
	cli_fmt_health(g, health, sizeof(health));
	cli_table_add(t, idx, cli_jstr(g, "model", NULL, mb, sizeof(mb)), mem, alloc, util, temp,
		      health);
}

int cli_cmd_gpus(cli_ctx_t *c, const cli_args_t *a)
{
	const json_t *items, *g;
	cli_table_t t;
	cli_resp_t r;
	size_t i;
	int rc;

	(void)a;
	rc = cli_call(c, "GET", "/gpus", NULL, &r);
	if (rc < 0)
		goto out;
	items = json_object_get(r.json, "items");
	if (c->output == CLI_OUT_JSON) {
		cli_print_json(c, r.json);
		goto out;
	}
	if (c->quiet) {
		json_array_foreach(items, i, g)
			fprintf(c->out, "%lld\n", (long long)cli_jint(g, "index", -1));
		goto out;
	}
	if (json_is_true(json_object_get(r.json, "simulated")))
		fputs("(simulated) These GPUs are a simulated inventory, not real devices.\n",
		      c->out);
	if (json_array_size(items) == 0) {
		fputs("No GPUs.\n", c->out);
		goto out;
	}
	cli_table_init(&t, "INDEX", "MODEL", "MEMORY", "ALLOCATED", "UTIL", "TEMP", "HEALTH", NULL);
	json_array_foreach(items, i, g)
		gpu_row(&t, g);
	cli_table_print(&t, c->out);
	cli_table_free(&t);
out:
	cli_resp_free(&r);
	return rc;
}

/* ---- users ---------------------------------------------------------- */

static int user_path(cli_ctx_t *c, const char *name, char *path, size_t n)
{
	if (!gh_name_valid(name))
		return cli_usage(c, "'%s' is not a user name ([a-z0-9][a-z0-9._-]{0,62})", name);
	snprintf(path, n, "/users/%s", name);
	return 0;
}

int cli_cmd_users_ls(cli_ctx_t *c, const cli_args_t *a)
{
	const json_t *items, *u;
	int64_t now = gh_now_ms();
	cli_table_t t;
	cli_resp_t r;
	size_t i;
	int rc;

	(void)a;
	rc = cli_list(c, "/users", "name", &r, &items);
	if (rc <= 0)
		goto out;
	rc = 0;
	cli_table_init(&t, "NAME", "ROLE", "GROUP", "EMAIL", "STATUS", "AGE", "DISPLAY NAME", NULL);
	json_array_foreach(items, i, u) {
		char b[5][GH_TEXT_MAX], age[32];
		const char *group = cli_jstr(u, "group", "", b[2], sizeof(b[2]));
		const char *email = cli_jstr(u, "email", "", b[3], sizeof(b[3]));

		cli_fmt_since(json_object_get(u, "created_at"), now, age, sizeof(age));
		cli_table_add(&t, cli_jstr(u, "name", NULL, b[0], sizeof(b[0])),
			      cli_jstr(u, "role", NULL, b[1], sizeof(b[1])),
			      group[0] ? group : "-", email[0] ? email : "-",
			      json_is_true(json_object_get(u, "disabled")) ? "disabled" : "active",
			      age, cli_jstr(u, "display_name", "", b[4], sizeof(b[4])));
	}
	cli_table_print(&t, c->out);
	cli_table_free(&t);
out:
	cli_resp_free(&r);
	return rc;
}

/* Adds the optional profile fields shared by add and set. */
static int user_fields(cli_ctx_t *c, const cli_args_t *a, json_t *body)
{
	static const char *const keys[][2] = {
		{ "group", "group" }, { "email", "email" }, { "display-name", "display_name" },
	};
	const char *role = cli_arg(a, "role");

	if (role && strcmp(role, "admin") != 0 && strcmp(role, "user") != 0)
		return cli_usage(c, "--role must be 'admin' or 'user', not '%s'", role);
	if (role)
		json_object_set_new(body, "role", json_string(role));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = cli_arg(a, keys[i][0]);
		if (v)
			json_object_set_new(body, keys[i][1], json_string(v));
	}
	return 0;
}

static int user_answer(cli_ctx_t *c, const cli_resp_t *r, const char *verb)
{
	char buf[GH_NAME_MAX], rb[16];
	const char *name = cli_jstr(r->json, "name", "?", buf, sizeof(buf));

	if (c->output == CLI_OUT_JSON)
		cli_print_json(c, r->json);
	else if (c->quiet)
		fprintf(c->out, "%s\n", name);
	else
		fprintf(c->out, "User %s %s (role %s%s).\n", name, verb,
			cli_jstr(r->json, "role", "?", rb, sizeof(rb)),
			json_is_true(json_object_get(r->json, "disabled")) ? ", disabled" : "");
	return 0;
}

int cli_cmd_users_add(cli_ctx_t *c, const cli_args_t *a)
{
	char path[128], prompt[128], pw[1100];
	json_t *body;
	cli_resp_t r;
	int rc = user_path(c, a->pos[0], path, sizeof(path));

	if (rc < 0)
		return rc;
	body = json_object();
	if (!body)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	json_object_set_new(body, "name", json_string(a->pos[0]));
	rc = user_fields(c, a, body);
	if (rc < 0)
		goto out_body;
	snprintf(prompt, sizeof(prompt), "Password for %s: ", a->pos[0]);
	rc = cli_read_password(c, prompt, cli_flag(a, "password-stdin"), 1, pw, sizeof(pw));
	if (rc < 0)
		goto out_body;
	json_object_set_new(body, "password", json_string(pw));
	explicit_bzero(pw, sizeof(pw));
	rc = cli_call(c, "POST", "/users", body, &r);
	if (rc == 0)
		user_answer(c, &r, "created");
	cli_resp_free(&r);
out_body:
	json_decref(body);
	return rc;
}

int cli_cmd_users_show(cli_ctx_t *c, const cli_args_t *a)
{
	char path[128];
	int rc = user_path(c, a->pos[0], path, sizeof(path));

	return rc < 0 ? rc : get_and_show(c, path, cli_print_user);
}

int cli_cmd_users_set(cli_ctx_t *c, const cli_args_t *a)
{
	int pw_stdin = cli_flag(a, "password-stdin"), pw_tty = cli_flag(a, "password");
	char path[128], prompt[128], pw[1100];
	json_t *body;
	cli_resp_t r;
	int rc = user_path(c, a->pos[0], path, sizeof(path));

	if (rc < 0)
		return rc;
	if (cli_flag(a, "disable") && cli_flag(a, "enable"))
		return cli_usage(c, "--disable and --enable contradict each other");
	if (pw_stdin && pw_tty)
		return cli_usage(c, "give either --password or --password-stdin");
	body = json_object();
	if (!body)
		return cli_fail(c, CLI_EXIT_ERROR, "out of memory");
	rc = user_fields(c, a, body);
	if (rc < 0)
		goto out_body;
	if (cli_flag(a, "disable") || cli_flag(a, "enable"))
		json_object_set_new(body, "disabled", json_boolean(cli_flag(a, "disable")));
	if (json_object_size(body) == 0 && !pw_stdin && !pw_tty) {
		rc = cli_usage(c, "nothing to change; give at least one flag");
		goto out_body;
	}
	if (pw_stdin || pw_tty) {
		snprintf(prompt, sizeof(prompt), "New password for %s: ", a->pos[0]);
		rc = cli_read_password(c, prompt, pw_stdin, 1, pw, sizeof(pw));
		if (rc < 0)
			goto out_body;
		json_object_set_new(body, "password", json_string(pw));
		explicit_bzero(pw, sizeof(pw));
	}
	rc = cli_call(c, "PATCH", path, body, &r);
	if (rc == 0)
		user_answer(c, &r, "updated");
	cli_resp_free(&r);
out_body:
	json_decref(body);
	return rc;
}

int cli_cmd_users_rm(cli_ctx_t *c, const cli_args_t *a)
{
	char path[128], said[256];
	int rc = user_path(c, a->pos[0], path, sizeof(path));

	if (rc < 0)
		return rc;
	snprintf(said, sizeof(said), "User %s deleted; their sessions were stopped and their tokens revoked.",
		 a->pos[0]);
	return delete_and_say(c, path, said);
}
