/*
 * sim_report.c — a small SVG line chart, so "--plot" needs no plotting
 * tool: axes with "nice" ticks, a polyline per series (broken where a
 * value is missing), and a legend.
 *
 * Nice ticks: the y range [0, max] is divided into about 6 steps whose
 * size is 1, 2 or 5 times a power of ten. Worked example: max = 23.4 →
 * raw step 23.4 / 6 = 3.9 → power of ten 1 → 3.9 rounds up to 5 → ticks
 * 0, 5, 10, 15, 20, 25 and the axis ends at 25.
 */
#include <math.h>
#include <string.h>

#include "common/err.h"
#include "sim/sim_int.h"

#define W 900
#define H 560
#define ML 70
#define MR 170
#define MT 50
#define MB 60

static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
				     "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static double nice_step(double max, int nsteps)
{
	double raw = max / nsteps, p = pow(10, floor(log10(raw))), f = raw / p;

	if (f <= 1)
		return p;
	if (f <= 2)
		return 2 * p;
	if (f <= 5)
		return 5 * p;
	return 10 * p;
}

static void text_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

int sim_plot_svg(const sim_plot_t *p, FILE *f)
{
	double ymax = 0, ystep, xstep, pw = W - ML - MR, ph = H - MT - MB;
	int xmax = p->npoints > 1 ? p->npoints - 1 : 1;

	for (int s = 0; s < p->nseries; s++) {
		for (int i = 0; i < p->npoints; i++) {
			if (!isnan(p->y[s][i]) && p->y[s][i] > ymax)
				ymax = p->y[s][i];
		}
	}
	if (ymax <= 0)
		ymax = 1;
	ystep = nice_step(ymax, 6);
	ymax = ceil(ymax / ystep - 1e-9) * ystep;
	xstep = nice_step(xmax, 10);

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
		W, H, W, H);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
	fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">", W / 2);
	text_esc(f, p->title);
	fprintf(f, "</text>\n");
	/* Grid and ticks. */
	for (double y = 0; y <= ymax + 1e-9; y += ystep) {
		double py = MT + ph - y / ymax * ph;

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			ML, py, ML + pw, py);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", ML - 6,
			py + 4, y);
	}
	for (double x = 0; x <= xmax + 1e-9; x += xstep) {
		double px = ML + x / xmax * pw;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
			px, MT, px, MT + ph);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", px,
			MT + ph + 18, x);
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
		   "stroke=\"#333\"/>\n",
		ML, MT, pw, ph);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", ML + pw / 2, H - 16);
	text_esc(f, p->xlabel);
	fprintf(f, "</text>\n<text transform=\"translate(18 %.1f) rotate(-90)\" "
		   "text-anchor=\"middle\">",
		MT + ph / 2);
	text_esc(f, p->ylabel);
	fprintf(f, "</text>\n");
	/* Series. */
	for (int s = 0; s < p->nseries; s++) {
		const char *col = colors[s % (int)(sizeof(colors) / sizeof(colors[0]))];
		int open = 0;

		for (int i = 0; i < p->npoints; i++) {
			double v = p->y[s][i];

			if (isnan(v)) {
				if (open)
					fprintf(f, "\"/>\n");
				open = 0;
				continue;
			}
			if (!open)
				fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
					   "points=\"",
					col);
			fprintf(f, "%s%.1f,%.1f", open ? " " : "", ML + (double)i / xmax * pw,
				MT + ph - v / ymax * ph);
			open = 1;
		}
		if (open)
			fprintf(f, "\"/>\n");
		fprintf(f, "<line x1=\"%.0f\" y1=\"%d\" x2=\"%.0f\" y2=\"%d\" stroke=\"%s\" "
			   "stroke-width=\"3\"/>\n",
			ML + pw + 14, MT + 10 + 20 * s, ML + pw + 40, MT + 10 + 20 * s, col);
		fprintf(f, "<text x=\"%.0f\" y=\"%d\">", ML + pw + 46, MT + 14 + 20 * s);
		text_esc(f, p->names[s]);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</svg>\n");
	return ferror(f) ? GH_EIO : 0;
}
