/*
 * usage.h — usage accounting's pure part: UTC days, splitting a held
 * interval at midnight, and the words of a usage query.
 *
 * No I/O, no clock, no globals: the hub (src/hub/hub_usage.c) gives the
 * times and writes what comes out to the store; the API parses queries
 * with the same functions, and the unit tests drive them with fixed times.
 *
 * Units: usage rows count milli-GPU-milliseconds (gpu_milli_ms: 1,000 of
 * them per GPU-millisecond, so 3.6e9 is one GPU-hour) and session
 * milliseconds, so sums stay exact integers whatever the fraction.
 */
#ifndef GH_MONITOR_USAGE_H
#define GH_MONITOR_USAGE_H

#include <stddef.h>
#include <stdint.h>

#define USAGE_DAY_LEN 11               /* "YYYY-MM-DD" + NUL */
#define USAGE_MS_PER_DAY 86400000LL

/* The UTC day of Unix time ms (ms >= 0) as "YYYY-MM-DD". */
void usage_day(int64_t ms, char out[USAGE_DAY_LEN]);

/* Called once per UTC day that [from, to) touches, oldest first, with the
 * milliseconds of the interval that fall in that day (always > 0). A
 * non-zero return stops the split and is returned by usage_split. */
typedef int (*usage_piece_fn)(void *ctx, const char *day, int64_t ms);
/* Splits [from_ms, to_ms) at each UTC midnight; nothing when to <= from.
 * The pieces add up to to_ms - from_ms exactly. */
int usage_split(int64_t from_ms, int64_t to_ms, usage_piece_fn fn, void *ctx);

/* Parses "YYYY-MM-DD" (a real calendar date, years 1970..9999) into out.
 * 0 or GH_EINVAL. */
int usage_parse_date(const char *s, char out[USAGE_DAY_LEN]);

/* Dimensions a query may group by (bit mask). */
enum {
	USAGE_BY_DAY = 1 << 0,
	USAGE_BY_USER = 1 << 1,
	USAGE_BY_GROUP = 1 << 2,
	USAGE_BY_ENV = 1 << 3,
	USAGE_BY_MODEL = 1 << 4,
};

/* Parses a comma-separated list of "day", "user", "group", "environment"
 * (or "env"), "model" into *mask. 0, or GH_EINVAL with the offending word
 * (or "" for an empty item) copied into bad. */
int usage_parse_by(const char *list, unsigned *mask, char *bad, size_t badlen);

#endif
