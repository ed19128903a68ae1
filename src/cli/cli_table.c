/*
 * cli_table.c — aligned text tables for human output, in the shape users
 * know from kubectl and docker: upper-case headers, columns separated by
 * three spaces, no borders, no trailing blanks.
 *
 *   ID   NAME    ENV               STATE     GPUS   AGE
 *   12   train   jupyter-pytorch   running   0.5    3h12m
 *
 * Widths are counted in code points, not bytes, so a display name with
 * accents does not push the next column. Cells are cleaned of control
 * characters: text from the server must not break the layout or drive
 * the terminal.
 */
#include "cli/cli_int.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define COL_GAP 3

size_t cli_text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

void cli_text_clean(const char *s, char *out, size_t outlen)
{
	size_t i = 0;

	if (outlen == 0)
		return;
	for (; *s && i + 1 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;
		out[i++] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
	}
	/* Do not end inside a multi-byte sequence. */
	if (*s && i > 0) {
		size_t j = i;
		while (j > 0 && ((unsigned char)out[j - 1] & 0xC0) == 0x80)
			j--;
		if (j > 0 && ((unsigned char)out[j - 1] & 0xC0) == 0xC0)
			i = j - 1;
	}
	out[i] = '\0';
}

int cli_table_init(cli_table_t *t, const char *first, ...)
{
	va_list ap;
	const char *h;

	memset(t, 0, sizeof(*t));
	va_start(ap, first);
	for (h = first; h; h = va_arg(ap, const char *)) {
		if (t->ncols >= CLI_TABLE_MAXCOLS) {
			va_end(ap);
			return GH_EINVAL;
		}
		t->head[t->ncols++] = h;
	}
	va_end(ap);
	return 0;
}

int cli_table_addv(cli_table_t *t, const char *const *cells)
{
	char **row;

	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, ncap * t->ncols * sizeof(*nc));
		if (!nc)
			return GH_ENOMEM;
		t->cells = nc;
		t->cap = ncap;
	}
	row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = cells[i] ? cells[i] : "-";
		size_t n = strlen(s) + 1;
		row[i] = malloc(n);
		if (!row[i]) {
			while (i > 0)
				free(row[--i]);
			return GH_ENOMEM;
		}
		cli_text_clean(s, row[i], n);
	}
	t->nrows++;
	return 0;
}

int cli_table_add(cli_table_t *t, ...)
{
	const char *cells[CLI_TABLE_MAXCOLS];
	va_list ap;

	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	return cli_table_addv(t, cells);
}

static void pad(FILE *f, size_t n)
{
	while (n-- > 0)
		fputc(' ', f);
}

static void print_row(const cli_table_t *t, FILE *f, const char *const *cells,
		      const size_t *width)
{
	size_t n = t->ncols;

	/* Empty cells at the end would only leave trailing blanks. */
	while (n > 1 && cells[n - 1][0] == '\0')
		n--;
	for (size_t i = 0; i < n; i++) {
		size_t w = cli_text_width(cells[i]);
		int last = i + 1 == n;

		if (t->right & (1u << i)) {
			pad(f, width[i] - w);
			fputs(cells[i], f);
			if (!last)
				pad(f, COL_GAP);
		} else {
			fputs(cells[i], f);
			if (!last)
				pad(f, width[i] - w + COL_GAP);
		}
	}
	fputc('\n', f);
}

void cli_table_print(const cli_table_t *t, FILE *f)
{
	size_t width[CLI_TABLE_MAXCOLS] = { 0 };

	for (size_t i = 0; i < t->ncols; i++) {
		if (!t->no_header)
			width[i] = cli_text_width(t->head[i]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = cli_text_width(t->cells[r * t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	}
	if (!t->no_header)
		print_row(t, f, t->head, width);
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, f, (const char *const *)(t->cells + r * t->ncols), width);
}

void cli_table_free(cli_table_t *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}
