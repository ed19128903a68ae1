/*
 * util.h — small helpers used everywhere: clock, bounded string copy,
 * name validation, RFC 3339 formatting.
 */
#ifndef GH_UTIL_H
#define GH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, Unix milliseconds. */
int64_t gh_now_ms(void);
/* Monotonic clock, nanoseconds. */
int64_t gh_mono_ns(void);
/* Copies src into dst (size n), always NUL-terminated; returns strlen(src)
 * so truncation shows as a return value >= n. */
size_t gh_strlcpy(char *dst, const char *src, size_t n);
/* True for a user, group, session or environment name:
 * [a-z0-9][a-z0-9._-]{0,62}. */
int gh_name_valid(const char *name);
/* Formats Unix ms as "2026-11-29T09:00:00Z" into out (>= 21 bytes). */
void gh_time_fmt(int64_t ms, char *out, size_t outlen);
/* Parses "ADDR:PORT" ("127.0.0.1:8000", "[::1]:80", ":8000"). host gets
 * "" for any address. 0 or GH_EINVAL. */
int gh_parse_listen(const char *s, char *host, size_t hostlen, int *port);

/* Ensures *arr (elements of size elsz, capacity *cap) can hold need
 * elements, doubling as needed. 0 or GH_ENOMEM (*arr unchanged). */
int gh_grow(void **arr, int *cap, int need, size_t elsz);
#endif
