/*
 * cli_sse.c — a parser for text/event-stream (server-sent events), fed
 * with whatever chunks the network delivers. It does no I/O so the unit
 * tests can drive it byte by byte.
 *
 * The format (WHATWG HTML, "server-sent events"), as far as a client of
 * GET /sessions/{id}/events needs it:
 *
 *   line               | effect
 *   -------------------+------------------------------------------------
 *   ": anything"       | comment (keep-alive), ignored
 *   "data: X"          | appends X and '\n' to the event's data
 *   "event: T"         | sets the event type (default "message")
 *   "id: N"            | sets the last event id (kept across events;
 *                      | sent back as Last-Event-ID when resuming)
 *   "retry: MS", other | ignored
 *   ""                 | dispatches the event if it had a data line,
 *                      | without the final '\n'; resets data and type
 *
 * Lines end with CRLF, LF or CR; a CR at the end of one chunk and an LF
 * at the start of the next are one line end (saw_cr). One space after
 * the colon is dropped; a line without a colon is a field name with an
 * empty value. A byte-order mark before the first line is skipped.
 */
#include "cli/cli_int.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

#define SSE_LINE_MAX (1u << 20)

void cli_sse_init(cli_sse_t *p, cli_sse_fn fn, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->arg = arg;
}

void cli_sse_free(cli_sse_t *p)
{
	free(p->line);
	free(p->data);
	p->line = p->data = NULL;
	p->llen = p->lcap = p->dlen = p->dcap = 0;
}

static int reserve(char **buf, size_t *cap, size_t need)
{
	size_t ncap;
	char *nb;

	if (need <= *cap)
		return 0;
	if (need > 2 * SSE_LINE_MAX)
		return GH_ETOOBIG;
	ncap = *cap ? *cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(*buf, ncap);
	if (!nb)
		return GH_ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

static int dispatch(cli_sse_t *p)
{
	int rc = 0;

	if (p->has_data) {
		if (p->dlen > 0 && p->data[p->dlen - 1] == '\n')
			p->dlen--;
		p->data[p->dlen] = '\0';
		rc = p->fn(p->arg, p->type[0] ? p->type : "message", p->id, p->data);
	}
	p->dlen = 0;
	p->has_data = 0;
	p->type[0] = '\0';
	return rc;
}

static int field_is(const char *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && memcmp(name, want, nlen) == 0;
}

static int process_line(cli_sse_t *p)
{
	const char *line = p->line, *colon, *val;
	size_t len = p->llen, nlen, vlen;
	int rc;

	if (!p->started) {
		p->started = 1;
		if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
			line += 3;
			len -= 3;
		}
	}
	if (len == 0)
		return dispatch(p);
	if (line[0] == ':')
		return 0;
	colon = memchr(line, ':', len);
	nlen = colon ? (size_t)(colon - line) : len;
	val = colon ? colon + 1 : line + len;
	vlen = colon ? len - nlen - 1 : 0;
	if (vlen > 0 && *val == ' ') {
		val++;
		vlen--;
	}
	if (field_is(line, nlen, "data")) {
		rc = reserve(&p->data, &p->dcap, p->dlen + vlen + 2);
		if (rc < 0)
			return rc;
		memcpy(p->data + p->dlen, val, vlen);
		p->dlen += vlen;
		p->data[p->dlen++] = '\n';
		p->has_data = 1;
	} else if (field_is(line, nlen, "event")) {
		size_t n = vlen < sizeof(p->type) - 1 ? vlen : sizeof(p->type) - 1;
		memcpy(p->type, val, n);
		p->type[n] = '\0';
	} else if (field_is(line, nlen, "id")) {
		if (vlen < sizeof(p->id) && !memchr(val, '\0', vlen)) {
			memcpy(p->id, val, vlen);
			p->id[vlen] = '\0';
		}
	}
	return 0;
}

int cli_sse_feed(cli_sse_t *p, const char *buf, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		char ch = buf[i];

		if (p->saw_cr) {
			p->saw_cr = 0;
			if (ch == '\n')
				continue;
		}
		if (ch == '\r' || ch == '\n') {
			p->saw_cr = ch == '\r';
			rc = process_line(p);
			p->llen = 0;
			if (rc != 0)
				return rc;
			continue;
		}
		if (p->llen >= SSE_LINE_MAX)
			return GH_ETOOBIG;
		rc = reserve(&p->line, &p->lcap, p->llen + 1);
		if (rc < 0)
			return rc;
		p->line[p->llen++] = ch;
	}
	return 0;
}
