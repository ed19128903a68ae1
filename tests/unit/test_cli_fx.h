/*
 * test_cli_fx.h — what the CLI's unit tests share: run the CLI in-process
 * with its output captured. Include after cmocka.h and cli/cli.h.
 */
#ifndef TEST_CLI_FX_H
#define TEST_CLI_FX_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs cli_run on a NULL-terminated argument list, capturing output. */
struct run {
	int rc;
	char *out, *err;
	size_t outlen, errlen;
};

/* run_cli with the arguments after first in ap. */
static struct run run_cli_v(const char *first, va_list ap)
{
	char *argv[32];
	int argc = 0;
	struct run r;
	FILE *o, *e;

	memset(&r, 0, sizeof(r));
	argv[argc++] = (char *)"gpuhub";
	for (const char *s = first; s; s = va_arg(ap, const char *))
		argv[argc++] = (char *)s;
	argv[argc] = NULL;
	o = open_memstream(&r.out, &r.outlen);
	e = open_memstream(&r.err, &r.errlen);
	r.rc = cli_run(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return r;
}

static struct run run_cli(const char *first, ...)
{
	va_list ap;
	struct run r;

	va_start(ap, first);
	r = run_cli_v(first, ap);
	va_end(ap);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

#endif
