/*
 * expo.h — a writer for the Prometheus text exposition format (0.0.4).
 *
 * The writer appends to one growing buffer; a scrape builds the whole
 * answer in it and sends it at once. It enforces the format's rules that
 * are easy to get wrong by hand:
 *
 *   rule                                 | how
 *   -------------------------------------+-----------------------------------
 *   HELP and TYPE once, before samples   | expo_family() writes both
 *   help text escapes '\' and newline    | expo_family()
 *   label values escape '\', '"', '\n'   | expo_sample()
 *   values: integers exactly, floats %g  | expo_sample_i / expo_sample
 *   NaN / +Inf / -Inf spelled as such    | expo_sample()
 *   histogram: cumulative _bucket{le},   | expo_histogram() from per-bucket
 *   le="+Inf" == _count, then _sum       | counts
 *
 * Labels are passed as a NULL-terminated array of name, value pairs:
 * {"uuid", u, "index", "3", NULL}. Names are the caller's constants and
 * are not checked; values are any bytes.
 *
 * Memory: the buffer is owned by the expo_t; expo_take() hands it over.
 * After an allocation failure every further call is a no-op and
 * expo_failed() is true, so callers check once at the end.
 */
#ifndef GH_METRICS_EXPO_H
#define GH_METRICS_EXPO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	char *buf;                       /* owned; NUL-terminated */
	size_t len, cap;
	int failed;                      /* an allocation failed */
} expo_t;

typedef enum { EXPO_COUNTER, EXPO_GAUGE, EXPO_HISTOGRAM } expo_type_t;

void expo_init(expo_t *e);
void expo_free(expo_t *e);
/* The text (NUL-terminated, *len set); the caller frees it. NULL on
 * failure. The writer is empty again afterwards. */
char *expo_take(expo_t *e, size_t *len);
int expo_failed(const expo_t *e);

/* "# HELP name help\n# TYPE name type\n". */
void expo_family(expo_t *e, const char *name, expo_type_t type, const char *help);
/* name{labels} value. labels may be NULL (no braces). */
void expo_sample(expo_t *e, const char *name, const char *const *labels, double value);
void expo_sample_i(expo_t *e, const char *name, const char *const *labels, int64_t value);
/* Writes name_bucket (cumulative, from per-bucket counts[0..n] where
 * counts[n] is the overflow above the last bound), name_sum, name_count.
 * bounds are the upper bounds, ascending, in the family's base unit. */
void expo_histogram(expo_t *e, const char *name, const char *const *labels, const double *bounds,
                    const uint64_t *counts, int n, double sum);

/* Appends raw text (already in the format). */
void expo_raw(expo_t *e, const char *s, size_t n);

#endif
