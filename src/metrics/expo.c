/*
 * expo.c — see expo.h. Appends with a doubling buffer; numbers go through
 * snprintf into a small stack buffer first, so one sample costs one
 * possible realloc. Integers are written with %lld so counters keep every
 * digit (a double would round above 2^53).
 */
#include "metrics/expo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void expo_init(expo_t *e)
{
	memset(e, 0, sizeof(*e));
}

void expo_free(expo_t *e)
{
	free(e->buf);
	expo_init(e);
}

int expo_failed(const expo_t *e) { return e->failed; }

char *expo_take(expo_t *e, size_t *len)
{
	char *b = e->failed ? NULL : e->buf;
	if (e->failed)
		free(e->buf);
	else if (!b && (b = calloc(1, 1)) == NULL)
		return NULL;
	if (len)
		*len = b ? e->len : 0;
	expo_init(e);
	return b;
}

static int reserve(expo_t *e, size_t more)
{
	size_t cap;
	char *nb;
	if (e->failed)
		return -1;
	if (e->len + more + 1 <= e->cap)
		return 0;
	cap = e->cap ? e->cap : 4096;
	while (cap < e->len + more + 1)
		cap *= 2;
	nb = realloc(e->buf, cap);
	if (!nb) {
		e->failed = 1;
		return -1;
	}
	e->buf = nb;
	e->cap = cap;
	return 0;
}

void expo_raw(expo_t *e, const char *s, size_t n)
{
	if (reserve(e, n) != 0)
		return;
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

static void put(expo_t *e, const char *s) { expo_raw(e, s, strlen(s)); }

static void putc_(expo_t *e, char c) { expo_raw(e, &c, 1); }

/* Escapes backslash and newline (help) and also '"' (label values). */
static void put_escaped(expo_t *e, const char *s, int quote)
{
	const char *run = s;
	for (; *s; s++) {
		const char *rep = NULL;
		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (quote && *s == '"')
			rep = "\\\"";
		if (!rep)
			continue;
		expo_raw(e, run, (size_t)(s - run));
		put(e, rep);
		run = s + 1;
	}
	expo_raw(e, run, (size_t)(s - run));
}

void expo_family(expo_t *e, const char *name, expo_type_t type, const char *help)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	put(e, "# HELP ");
	put(e, name);
	putc_(e, ' ');
	put_escaped(e, help, 0);
	put(e, "\n# TYPE ");
	put(e, name);
	putc_(e, ' ');
	put(e, types[type]);
	putc_(e, '\n');
}

static void put_labels(expo_t *e, const char *const *labels, const char *extra_k, const char *extra_v)
{
	int first = 1;
	if ((!labels || !labels[0]) && !extra_k)
		return;
	putc_(e, '{');
	for (int i = 0; labels && labels[i]; i += 2) {
		if (!first)
			putc_(e, ',');
		first = 0;
		put(e, labels[i]);
		put(e, "=\"");
		put_escaped(e, labels[i + 1] ? labels[i + 1] : "", 1);
		putc_(e, '"');
	}
	if (extra_k) {
		if (!first)
			putc_(e, ',');
		put(e, extra_k);
		put(e, "=\"");
		put(e, extra_v);
		putc_(e, '"');
	}
	putc_(e, '}');
}

static void fmt_double(char *out, size_t n, double v)
{
	if (isnan(v))
		snprintf(out, n, "NaN");
	else if (isinf(v))
		snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(long long)v && fabs(v) < 9e15)
		snprintf(out, n, "%lld", (long long)v);
	else
		for (int prec = 15; prec <= 17; prec++) { /* the shortest that reads back the same */
			snprintf(out, n, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
}

static void sample_line(expo_t *e, const char *name, const char *suffix, const char *const *labels,
                        const char *extra_k, const char *extra_v, const char *value)
{
	put(e, name);
	if (suffix)
		put(e, suffix);
	put_labels(e, labels, extra_k, extra_v);
	putc_(e, ' ');
	put(e, value);
	putc_(e, '\n');
}

void expo_sample(expo_t *e, const char *name, const char *const *labels, double value)
{
	char num[40];
	fmt_double(num, sizeof(num), value);
	sample_line(e, name, NULL, labels, NULL, NULL, num);
}

void expo_sample_i(expo_t *e, const char *name, const char *const *labels, int64_t value)
{
	char num[24];
	snprintf(num, sizeof(num), "%lld", (long long)value);
	sample_line(e, name, NULL, labels, NULL, NULL, num);
}

void expo_histogram(expo_t *e, const char *name, const char *const *labels, const double *bounds,
                    const uint64_t *counts, int n, double sum)
{
	char le[40], num[40];
	uint64_t cum = 0;
	for (int i = 0; i <= n; i++) {
		cum += counts[i];
		if (i < n)
			fmt_double(le, sizeof(le), bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
		sample_line(e, name, "_bucket", labels, "le", le, num);
	}
	fmt_double(num, sizeof(num), sum);
	sample_line(e, name, "_sum", labels, NULL, NULL, num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
	sample_line(e, name, "_count", labels, NULL, NULL, num);
}
