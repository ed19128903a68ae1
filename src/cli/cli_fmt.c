/*
 * cli_fmt.c — turning API values into short human text and back: ages
 * ("3h12m"), RFC 3339 times, GPU amounts ("0.5"), memory sizes, and safe
 * access to JSON members whatever their type.
 *
 * Ages keep two units while the second one still matters and one after:
 *
 *   seconds  | text       seconds    | text
 *   ---------+------      -----------+-------
 *   45       | 45s        11520      | 3h12m
 *   245      | 4m5s       36000      | 10h
 *   720      | 12m        190800     | 2d5h
 *   3600     | 1h         3456000    | 40d
 */
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/model.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_fmt_age(int64_t s, char *out, size_t outlen)
{
	long long v = s < 0 ? 0 : (long long)s;

	if (v < 60)
		snprintf(out, outlen, "%llds", v);
	else if (v < 600 && v % 60)
		snprintf(out, outlen, "%lldm%llds", v / 60, v % 60);
	else if (v < 3600)
		snprintf(out, outlen, "%lldm", v / 60);
	else if (v < 10 * 3600 && (v % 3600) / 60)
		snprintf(out, outlen, "%lldh%lldm", v / 3600, (v % 3600) / 60);
	else if (v < 86400)
		snprintf(out, outlen, "%lldh", v / 3600);
	else if (v < 7 * 86400 && (v % 86400) / 3600)
		snprintf(out, outlen, "%lldd%lldh", v / 86400, (v % 86400) / 3600);
	else
		snprintf(out, outlen, "%lldd", v / 86400);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (y, m 1..12, d). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int cli_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
	const char *p;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || !(s[10] == 'T' || s[10] == 't' ||
	    s[10] == ' ') || digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return GH_EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return GH_EINVAL;
	p = s + 19;
	if (*p == '.') {
		int n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		if (n == 0)
			return GH_EINVAL;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return GH_EINVAL;
		p += 6;
	} else {
		return GH_EINVAL;
	}
	if (*p)
		return GH_EINVAL;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
	       (int64_t)sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

void cli_fmt_since(const json_t *t, int64_t now_ms, char *out, size_t outlen)
{
	int64_t ms;

	if (!json_is_string(t) || cli_parse_time(json_string_value(t), &ms) < 0) {
		snprintf(out, outlen, "-");
		return;
	}
	cli_fmt_age((now_ms - ms) / 1000, out, outlen);
}

void cli_fmt_local(const json_t *t, char *out, size_t outlen)
{
	int64_t ms;
	time_t tt;
	struct tm tm;

	if (!json_is_string(t)) {
		snprintf(out, outlen, "-");
		return;
	}
	if (cli_parse_time(json_string_value(t), &ms) < 0) {
		cli_text_clean(json_string_value(t), out, outlen);
		return;
	}
	tt = (time_t)(ms / 1000);
	localtime_r(&tt, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

void cli_fmt_milli(int64_t milli, char *out, size_t outlen)
{
	long long whole = (long long)(milli / 1000), part = (long long)(milli % 1000);
	char frac[8];
	size_t n;

	if (milli < 0) {
		snprintf(out, outlen, "-");
		return;
	}
	if (part == 0) {
		snprintf(out, outlen, "%lld", whole);
		return;
	}
	snprintf(frac, sizeof(frac), "%03lld", part);
	n = strlen(frac);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(out, outlen, "%lld.%s", whole, frac);
}

void cli_fmt_mib(int64_t mib, char *out, size_t outlen)
{
	if (mib < 1024)
		snprintf(out, outlen, "%lld MiB", (long long)mib);
	else if (mib % 1024 == 0)
		snprintf(out, outlen, "%lld GiB", (long long)(mib / 1024));
	else
		snprintf(out, outlen, "%.1f GiB", (double)mib / 1024.0);
}

int cli_parse_uint(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (!s || !*s)
		return GH_EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return GH_EINVAL;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

int cli_parse_gpus(const char *s, int64_t *milli)
{
	int64_t whole = 0, frac = 0;
	int nfrac = 0;
	const char *p = s;

	if (!*p || *p == '.')
		return GH_EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > 1000000)
			return GH_EINVAL;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (nfrac == 3) {
				if (*p != '0')
					return GH_EINVAL; /* finer than a milli-GPU */
				continue;
			}
			frac = frac * 10 + (*p - '0');
			nfrac++;
		}
		if (nfrac == 0)
			return GH_EINVAL;
		for (; nfrac < 3; nfrac++)
			frac *= 10;
	}
	if (*p)
		return GH_EINVAL;
	if (frac && whole)
		return GH_EINVAL; /* a fraction must be below one GPU */
	*milli = whole * 1000 + frac;
	return 0;
}

const char *cli_jstr(const json_t *obj, const char *key, const char *dflt,
		     char *buf, size_t buflen)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (!v || json_is_null(v))
		return dflt;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, buflen, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		snprintf(buf, buflen, "%g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		snprintf(buf, buflen, "%s", json_is_true(v) ? "true" : "false");
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
		snprintf(buf, buflen, "%s", s ? s : "");
		free(s);
	}
	return buf;
}

int64_t cli_jint(const json_t *obj, const char *key, int64_t dflt)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return dflt;
}

void cli_event_line(const json_t *ev, char *out, size_t outlen)
{
	char when[16] = "--:--:--", pct[8] = "", tmp[32], st[32], msg[GH_TEXT_MAX * 2];
	char clean[GH_TEXT_MAX * 2];
	const char *text = cli_jstr(ev, "message", "", msg, sizeof(msg));
	const json_t *ts = json_object_get(ev, "ts");
	int64_t ms, percent = cli_jint(ev, "percent", -1);

	cli_text_clean(cli_jstr(ev, "state", "", tmp, sizeof(tmp)), st, sizeof(st));

	if (json_is_string(ts) && cli_parse_time(json_string_value(ts), &ms) == 0) {
		time_t tt = (time_t)(ms / 1000);
		struct tm tm;
		localtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	}
	if (percent >= 0 && percent <= 100)
		snprintf(pct, sizeof(pct), "%lld%%", (long long)percent);
	if (!*text)
		text = cli_jstr(ev, "type", "", msg, sizeof(msg));
	cli_text_clean(text, clean, sizeof(clean));
	snprintf(out, outlen, "%s  %-11s %4s  %s", when, st, pct, clean);
}
