/*
 * sim_trace.c — reading CSV traces: a small CSV reader that reports
 * errors as "FILE:LINE: what", and loaders for the node and pod lists of
 * the Alibaba GPU trace (cluster-trace-gpu-v2023).
 *
 * The reader takes the whole file into memory and splits it in place:
 * traces are a few MB at most, and fields then need no copies. Fields are
 * separated by commas; a field may be quoted with "" (a doubled quote
 * inside is one quote). Columns are found by their header names, so extra
 * or reordered columns are fine.
 *
 * Node list: sn,cpu_milli,memory_mib,gpu,model — every GPU gets the
 * model's memory (when known) and MPS sharing, as in the trace's cluster.
 * Pod list: cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec (others are
 * ignored). gpu_milli is the share of each GPU; for num_gpu == 0 it is
 * ignored; gpu_spec "A|B" lists the allowed models, empty = any.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "sim/sim_int.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Splits the record at csv->pos into fields (in place); 1, 0 at end, or
 * GH_EINVAL. */
static int split_record(sim_csv_t *csv, char *err, size_t errlen)
{
	char *p, *end, *out;

	for (;;) {
		if (csv->pos >= csv->len)
			return 0;
		csv->line++;
		p = csv->buf + csv->pos;
		end = memchr(p, '\n', csv->len - csv->pos);
		if (!end)
			end = csv->buf + csv->len;
		csv->pos = (size_t)(end - csv->buf) + 1;
		*end = '\0';
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		if (p[0] != '\0')
			break;
	}
	csv->nfields = 0;
	for (;;) {
		if (csv->nfields >= SIM_CSV_FIELDS_MAX)
			return fail(err, errlen, GH_EINVAL, "%s:%d: more than %d fields", csv->path,
				    csv->line, SIM_CSV_FIELDS_MAX);
		csv->fields[csv->nfields++] = out = p;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0')
					return fail(err, errlen, GH_EINVAL,
						    "%s:%d: unterminated quoted field", csv->path,
						    csv->line);
				if (*p == '"' && p[1] == '"') {
					*out++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*out++ = *p++;
				}
			}
			if (*p != ',' && *p != '\0')
				return fail(err, errlen, GH_EINVAL,
					    "%s:%d: text after a quoted field", csv->path, csv->line);
		} else {
			while (*p && *p != ',')
				out = ++p;
		}
		if (*p == '\0') {
			*out = '\0';
			return 1;
		}
		*out = '\0';
		p++;
	}
}

static int open_common(sim_csv_t *csv, char *err, size_t errlen)
{
	int rc = split_record(csv, err, errlen);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return fail(err, errlen, GH_EINVAL, "%s:1: empty file (no header)", csv->path);
	csv->ncols = csv->nfields;
	memcpy(csv->cols, csv->fields, sizeof(csv->cols));
	return 0;
}

int sim_csv_open_text(sim_csv_t *csv, const char *name, const char *text, char *err,
		      size_t errlen)
{
	int rc;

	memset(csv, 0, sizeof(*csv));
	gh_strlcpy(csv->path, name, sizeof(csv->path));
	csv->len = strlen(text);
	csv->buf = malloc(csv->len + 1);
	if (!csv->buf)
		return fail(err, errlen, GH_ENOMEM, "%s: out of memory", name);
	memcpy(csv->buf, text, csv->len + 1);
	rc = open_common(csv, err, errlen);
	if (rc)
		sim_csv_close(csv);
	return rc;
}

int sim_csv_open(sim_csv_t *csv, const char *path, char *err, size_t errlen)
{
	FILE *f;
	long sz;
	int rc;

	memset(csv, 0, sizeof(*csv));
	gh_strlcpy(csv->path, path, sizeof(csv->path));
	f = fopen(path, "rb");
	if (!f)
		return fail(err, errlen, GH_EIO, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return fail(err, errlen, GH_EIO, "%s: cannot size the file", path);
	}
	csv->buf = malloc((size_t)sz + 1);
	if (!csv->buf) {
		fclose(f);
		return fail(err, errlen, GH_ENOMEM, "%s: out of memory", path);
	}
	csv->len = fread(csv->buf, 1, (size_t)sz, f);
	fclose(f);
	if (csv->len != (size_t)sz) {
		sim_csv_close(csv);
		return fail(err, errlen, GH_EIO, "%s: short read", path);
	}
	csv->buf[csv->len] = '\0';
	rc = open_common(csv, err, errlen);
	if (rc)
		sim_csv_close(csv);
	return rc;
}

void sim_csv_close(sim_csv_t *csv)
{
	if (!csv)
		return;
	free(csv->buf);
	csv->buf = NULL;
}

int sim_csv_next(sim_csv_t *csv, char *err, size_t errlen)
{
	int rc = split_record(csv, err, errlen);

	if (rc <= 0)
		return rc;
	if (csv->nfields != csv->ncols)
		return fail(err, errlen, GH_EINVAL, "%s:%d: %d fields, the header has %d",
			    csv->path, csv->line, csv->nfields, csv->ncols);
	return 1;
}

int sim_csv_col(const sim_csv_t *csv, const char *name)
{
	for (int i = 0; i < csv->ncols; i++) {
		if (strcmp(csv->cols[i], name) == 0)
			return i;
	}
	return -1;
}

int sim_csv_int(const sim_csv_t *csv, int col, int64_t *out, char *err, size_t errlen)
{
	const char *s = csv->fields[col];
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!s[0] || *end || errno || v < 0)
		return fail(err, errlen, GH_EINVAL, "%s:%d: column %s: \"%s\" is not a number >= 0",
			    csv->path, csv->line, csv->cols[col], s);
	*out = v;
	return 0;
}

/* GPU memory of the models the trace names (MiB); 0 when unknown. */
static int64_t model_memory(const char *model)
{
	static const struct {
		const char *name;
		int64_t mib;
	} t[] = {
		{"P4", 7611},     {"T4", 15109},     {"V100M16", 16160}, {"P100", 16280},
		{"A10", 22731},   {"V100M32", 32510}, {"A100", 81251},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(t[i].name, model) == 0)
			return t[i].mib;
	}
	return 0;
}

static int need_cols(const sim_csv_t *csv, const char *const *names, int *cols, int n, char *err,
		     size_t errlen)
{
	for (int i = 0; i < n; i++) {
		cols[i] = sim_csv_col(csv, names[i]);
		if (cols[i] < 0)
			return fail(err, errlen, GH_EINVAL, "%s:1: no column \"%s\" in the header",
				    csv->path, names[i]);
	}
	return 0;
}

int sim_load_nodes_csv(sim_csv_t *csv, place_cluster_t *c, char *err, size_t errlen)
{
	static const char *const names[] = {"sn", "cpu_milli", "memory_mib", "gpu", "model"};
	int col[5], rc;

	rc = need_cols(csv, names, col, 5, err, errlen);
	if (rc)
		return rc;
	while ((rc = sim_csv_next(csv, err, errlen)) == 1) {
		int64_t cpu, mem, ngpu;
		const char *model = csv->fields[col[4]];
		int node;

		if ((rc = sim_csv_int(csv, col[1], &cpu, err, errlen)) ||
		    (rc = sim_csv_int(csv, col[2], &mem, err, errlen)) ||
		    (rc = sim_csv_int(csv, col[3], &ngpu, err, errlen)))
			return rc;
		if (ngpu > PLACE_NODE_GPUS_MAX)
			return fail(err, errlen, GH_EINVAL, "%s:%d: %lld GPUs, at most %d per node",
				    csv->path, csv->line, (long long)ngpu, PLACE_NODE_GPUS_MAX);
		if (ngpu > 0 && (!model[0] || strlen(model) >= GH_MODEL_MAX || strchr(model, '|')))
			return fail(err, errlen, GH_EINVAL, "%s:%d: bad GPU model \"%s\"", csv->path,
				    csv->line, model);
		rc = place_cluster_add_node(c, csv->fields[col[0]], cpu, mem, &node);
		if (rc)
			return fail(err, errlen, rc, "%s:%d: node: %s", csv->path, csv->line,
				    gh_strerror(rc));
		for (int64_t j = 0; j < ngpu; j++) {
			rc = place_node_add_gpu(c, node, model, model_memory(model),
						PLACE_SHARE_MPS, -1);
			if (rc)
				return fail(err, errlen, rc, "%s:%d: GPU: %s", csv->path, csv->line,
					    gh_strerror(rc));
		}
	}
	return rc < 0 ? rc : 0;
}

int sim_load_pods_csv(sim_csv_t *csv, sim_trace_t *t, char *err, size_t errlen)
{
	static const char *const names[] = {"cpu_milli", "memory_mib", "num_gpu", "gpu_milli"};
	int col[4], spec, cap = 0, rc;

	memset(t, 0, sizeof(*t));
	rc = need_cols(csv, names, col, 4, err, errlen);
	if (rc)
		return rc;
	spec = sim_csv_col(csv, "gpu_spec");
	while ((rc = sim_csv_next(csv, err, errlen)) == 1) {
		int64_t cpu, mem, ngpu, milli;
		sim_pod_t *p;

		if ((rc = sim_csv_int(csv, col[0], &cpu, err, errlen)) ||
		    (rc = sim_csv_int(csv, col[1], &mem, err, errlen)) ||
		    (rc = sim_csv_int(csv, col[2], &ngpu, err, errlen)) ||
		    (rc = sim_csv_int(csv, col[3], &milli, err, errlen)))
			goto fail;
		if (t->npods == cap) {
			int ncap = cap ? cap * 2 : 1024;
			sim_pod_t *np = realloc(t->pods, (size_t)ncap * sizeof(*np));

			if (!np) {
				rc = fail(err, errlen, GH_ENOMEM, "%s: out of memory", csv->path);
				goto fail;
			}
			t->pods = np;
			cap = ncap;
		}
		p = &t->pods[t->npods];
		memset(p, 0, sizeof(*p));
		p->line = csv->line;
		p->req.num_gpu = (int)ngpu;
		p->req.gpu_milli = ngpu > 0 ? (int)milli : 0;
		p->req.cpu_milli = cpu;
		p->req.memory_mib = mem;
		p->req.gang = 1;
		if (spec >= 0 && gh_strlcpy(p->req.models, csv->fields[spec],
					    sizeof(p->req.models)) >= sizeof(p->req.models)) {
			rc = fail(err, errlen, GH_EINVAL, "%s:%d: gpu_spec too long", csv->path,
				  csv->line);
			goto fail;
		}
		if (ngpu > PLACE_NODE_GPUS_MAX || place_request_check(&p->req) != 0) {
			rc = fail(err, errlen, GH_EINVAL,
				  "%s:%d: not a valid request (num_gpu %lld, gpu_milli %lld, "
				  "gpu_spec \"%s\")",
				  csv->path, csv->line, (long long)ngpu, (long long)milli,
				  p->req.models);
			goto fail;
		}
		p->gpu_milli_total = (int64_t)p->req.num_gpu * p->req.gpu_milli;
		t->npods++;
	}
	if (rc == 0)
		return 0;
fail:
	sim_trace_free(t);
	return rc;
}

int sim_load_nodes(const char *path, place_cluster_t *c, char *err, size_t errlen)
{
	sim_csv_t csv;
	int rc = sim_csv_open(&csv, path, err, errlen);

	if (rc)
		return rc;
	rc = sim_load_nodes_csv(&csv, c, err, errlen);
	sim_csv_close(&csv);
	return rc;
}

int sim_load_pods(const char *path, sim_trace_t *t, char *err, size_t errlen)
{
	sim_csv_t csv;
	int rc = sim_csv_open(&csv, path, err, errlen);

	if (rc)
		return rc;
	rc = sim_load_pods_csv(&csv, t, err, errlen);
	sim_csv_close(&csv);
	return rc;
}

void sim_trace_free(sim_trace_t *t)
{
	if (!t)
		return;
	free(t->pods);
	t->pods = NULL;
	t->npods = 0;
}

int sim_parse_seeds(const char *s, int *seeds, int max)
{
	int n = 0;

	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a > 1000000000)
			return GH_EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b > 1000000000)
				return GH_EINVAL;
			s = end;
		}
		for (long v = a; v <= b; v++) {
			if (n >= max)
				return GH_ETOOBIG;
			seeds[n++] = (int)v;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return GH_EINVAL;
	}
	return n > 0 ? n : GH_EINVAL;
}
