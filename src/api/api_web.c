/*
 * api_web.c — the web page (web/index.html, web/app.js, web/usage.js, web/style.css),
 * embedded in the binary like the OpenAPI document so the daemon needs no
 * files beside it. Served at "/" and "/static/<file>"; anything else under
 * /static is 404.
 */
#include "api/api_int.h"

#include <string.h>

#define EMBED(sym, file)                                                                  \
	__asm__(".section .rodata\n.global " #sym "_start\n" #sym "_start:\n.incbin \"" file \
	        "\"\n.global " #sym "_end\n" #sym "_end:\n.byte 0\n.previous\n")

EMBED(gh_web_index, "web/index.html");
EMBED(gh_web_app, "web/app.js");
EMBED(gh_web_style, "web/style.css");
EMBED(gh_web_usage, "web/usage.js");

extern const char gh_web_index_start[], gh_web_index_end[];
extern const char gh_web_app_start[], gh_web_app_end[];
extern const char gh_web_style_start[], gh_web_style_end[];
extern const char gh_web_usage_start[], gh_web_usage_end[];

static void send_asset(h2o_req_t *req, const char *ctype, const char *start, const char *end)
{
	http_add_header(req, "x-content-type-options", "nosniff");
	http_send_text(req, 200, ctype, start, (size_t)(end - start));
}

int api_web(h2o_req_t *req, const char *path)
{
	if (!http_method_is(req, "GET") && !http_method_is(req, "HEAD"))
		return 0;
	if (strcmp(path, "/") == 0)
		send_asset(req, "text/html; charset=utf-8", gh_web_index_start, gh_web_index_end);
	else if (strcmp(path, "/static/app.js") == 0)
		send_asset(req, "text/javascript; charset=utf-8", gh_web_app_start, gh_web_app_end);
	else if (strcmp(path, "/static/usage.js") == 0)
		send_asset(req, "text/javascript; charset=utf-8", gh_web_usage_start, gh_web_usage_end);
	else if (strcmp(path, "/static/style.css") == 0)
		send_asset(req, "text/css; charset=utf-8", gh_web_style_start, gh_web_style_end);
	else
		return 0;
	return 1;
}
