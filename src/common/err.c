/*
 * err.c — text, API code and HTTP status for each gh_err_t value.
 * One table, indexed by -err, so the three views never disagree.
 */
#include "common/err.h"

struct err_info {
	const char *text;
	const char *code;
	int http;
};

static const struct err_info errs[] = {
	[0]  = {"success", "ok", 200},
	[1]  = {"out of memory", "internal", 500},
	[2]  = {"invalid input", "invalid", 400},
	[3]  = {"not found", "not_found", 404},
	[4]  = {"already exists", "conflict", 409},
	[5]  = {"input/output error", "internal", 500},
	[6]  = {"state store error", "store_error", 500},
	[7]  = {"not allowed in the current state", "conflict", 409},
	[8]  = {"authentication required", "unauthenticated", 401},
	[9]  = {"permission denied", "forbidden", 403},
	[10] = {"not enough capacity", "no_capacity", 409},
	[11] = {"resource locked by another process", "locked", 409},
	[12] = {"invalid configuration", "invalid_config", 400},
	[13] = {"not supported here", "unsupported", 501},
	[14] = {"input too large", "too_large", 413},
	[15] = {"timed out", "timeout", 504},
	[16] = {"internal error", "internal", 500},
};

static const struct err_info *lookup(int err)
{
	unsigned idx = err <= 0 ? (unsigned)-err : 16u;
	if (idx >= sizeof(errs) / sizeof(errs[0]))
		idx = 16;
	return &errs[idx];
}

const char *gh_strerror(int err) { return lookup(err)->text; }
const char *gh_errcode(int err) { return lookup(err)->code; }
int gh_err_http(int err) { return lookup(err)->http; }
