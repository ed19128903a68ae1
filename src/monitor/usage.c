/*
 * usage.c — UTC days and the midnight split behind usage accounting.
 *
 * The hub accrues a session's hold in intervals [from, to): at each tick,
 * and once more when the hold ends. Usage is reported per UTC day, so an
 * interval that crosses midnight is cut there and each part is booked to
 * its own day. Worked example (times UTC):
 *
 *   from 2026-03-01 23:59:30.000, to 2026-03-02 00:00:45.500
 *     -> "2026-03-01"  30,000 ms
 *        "2026-03-02"  45,500 ms          (sum 75,500 = to - from)
 *
 * A hold of 2 × 0.5 GPUs over that interval books, per day, milli × ms:
 * 1,000 × 30,000 = 3.0e7 milli-GPU-ms (30 GPU-seconds) on the 1st and
 * 4.55e7 on the 2nd. Integers all the way, so adding the pieces of many
 * ticks never drifts from the integral of the allocation.
 *
 * Days are computed by integer division of Unix milliseconds (UTC has no
 * leap seconds in Unix time), and dates are turned into text with the
 * civil-from-days arithmetic of the proleptic Gregorian calendar, so no
 * time-zone state of the process is involved.
 */
#include "monitor/usage.h"
#include "common/err.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 → year, month, day (Gregorian). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void usage_day(int64_t ms, char out[USAGE_DAY_LEN])
{
	int y, m, d;

	civil_from_days(ms >= 0 ? ms / USAGE_MS_PER_DAY : 0, &y, &m, &d);
	y %= 10000;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

int usage_split(int64_t from_ms, int64_t to_ms, usage_piece_fn fn, void *ctx)
{
	char day[USAGE_DAY_LEN];
	int64_t t = from_ms < 0 ? 0 : from_ms;
	int rc;

	while (t < to_ms) {
		int64_t midnight = (t / USAGE_MS_PER_DAY + 1) * USAGE_MS_PER_DAY;
		int64_t end = midnight < to_ms ? midnight : to_ms;

		usage_day(t, day);
		if ((rc = fn(ctx, day, end - t)))
			return rc;
		t = end;
	}
	return 0;
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int usage_parse_date(const char *s, char out[USAGE_DAY_LEN])
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d, i;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return GH_EINVAL;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return GH_EINVAL;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap(y)))
		return GH_EINVAL;
	memcpy(out, s, USAGE_DAY_LEN);
	return 0;
}

static const struct {
	const char *word;
	unsigned bit;
} by_words[] = {
	{"day", USAGE_BY_DAY},     {"user", USAGE_BY_USER},   {"group", USAGE_BY_GROUP},
	{"environment", USAGE_BY_ENV}, {"env", USAGE_BY_ENV}, {"model", USAGE_BY_MODEL},
};

int usage_parse_by(const char *list, unsigned *mask, char *bad, size_t badlen)
{
	const char *p = list;
	unsigned m = 0;

	*mask = 0;
	if (bad && badlen)
		bad[0] = '\0';
	if (!list || !*list)
		return 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		size_t i, n = sizeof(by_words) / sizeof(by_words[0]);

		for (i = 0; i < n; i++)
			if (strlen(by_words[i].word) == len && strncmp(by_words[i].word, p, len) == 0)
				break;
		if (i == n) {
			if (bad && badlen)
				snprintf(bad, badlen, "%.*s", (int)(len < 64 ? len : 64), p);
			return GH_EINVAL;
		}
		m |= by_words[i].bit;
		if (!comma)
			break;
		p = comma + 1;
	}
	*mask = m;
	return 0;
}
