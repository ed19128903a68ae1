/*
 * proxy_wake.c — the page a browser gets at a workspace URL while the
 * workspace is not running: it names the state, and for a suspended
 * session the request itself wakes it. The page then follows the
 * session's event stream (GET /api/v1/sessions/{id}/events, signed in by
 * the same cookie) and shows each step — "waking up — 2nd in queue, about
 * 3 min" — until the session runs, and then loads the workspace.
 *
 * Only a request that accepts text/html wakes a session: a tab's API
 * polling (JSON) must not undo a suspend.
 */
#include "proxy/proxy.h"
#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

static const char *ordinal(int n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	return n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
}

/* The sentence under the title for hs's state now. */
static void status_line(const hub_session_t *hs, char *out, size_t outlen)
{
	switch (hs->s.state) {
	case GH_SESS_QUEUED:
		if (hs->queue_position > 0 && hs->eta_s >= 0)
			snprintf(out, outlen, "waking up — %d%s in queue, about %lld min", hs->queue_position,
			         ordinal(hs->queue_position), (long long)((hs->eta_s + 59) / 60));
		else if (hs->queue_position > 0)
			snprintf(out, outlen, "waking up — %d%s in queue", hs->queue_position, ordinal(hs->queue_position));
		else
			snprintf(out, outlen, "waking up — waiting for GPUs");
		break;
	case GH_SESS_STARTING:
		snprintf(out, outlen, "waking up — GPUs allocated, the workspace is starting");
		break;
	case GH_SESS_SUSPENDING:
		snprintf(out, outlen, "suspending — saving which notebooks are open, then giving the GPUs back");
		break;
	case GH_SESS_SUSPENDED:
		snprintf(out, outlen, "suspended");
		break;
	default:
		snprintf(out, outlen, "%s", gh_sess_state_name(hs->s.state));
		break;
	}
}

static int accepts_html(h2o_req_t *req)
{
	size_t len;
	const char *a = http_header(req, "accept", &len);
	return a && memmem(a, len, "text/html", 9) != NULL;
}

static const char page_script[] =
	"<script>\n"
	"(function(){\n"
	"var id=document.body.dataset.session, line=document.getElementById('status'),"
	" log=document.getElementById('steps');\n"
	"function ord(n){var t=n%100;if(t>=11&&t<=13)return 'th';return ['th','st','nd','rd'][n%10]||'th';}\n"
	"function show(s){if(s.state==='running'||s.state==='idle-warned'){line.textContent='ready — opening your "
	"workspace';location.reload();return;}\n"
	" if(s.state==='queued'&&s.queue){var q=s.queue,t='waking up — '+q.position+ord(q.position)+' in queue';\n"
	"  if(q.eta_seconds!=null)t+=', about '+Math.max(1,Math.ceil(q.eta_seconds/60))+' min';line.textContent=t;}\n"
	" else if(s.state==='starting')line.textContent='waking up — GPUs allocated, the workspace is starting';\n"
	" else if(s.state==='stopped'||s.state==='failed')line.textContent=s.state+(s.reason?': '+s.reason:'');}\n"
	"function poll(){fetch('/api/v1/sessions/'+id,{credentials:'same-origin'}).then(function(r){return r.json();})"
	".then(show).catch(function(){});}\n"
	"var es=new EventSource(document.body.dataset.events);\n"
	"es.onmessage=function(m){try{var e=JSON.parse(m.data);var li=document.createElement('li');"
	"li.textContent=e.message;log.appendChild(li);}catch(x){} poll();};\n"
	"['session.waiting','session.resuming','session.gpus_allocated','session.process_started','session.running',"
	"'session.suspended','session.failed','session.stopped'].forEach(function(t){es.addEventListener(t,es.onmessage);});\n"
	"setInterval(poll,3000);poll();\n"
	"})();\n"
	"</script>";

int proxy_wake_page(hub_t *hub, h2o_req_t *req, const hub_session_t *hs, const gh_user_t *user)
{
	char line[256], name[GH_NAME_MAX], why[HUB_WHY];
	char *body;
	size_t cap;
	int64_t id = hs->s.id;
	int n;

	if (!accepts_html(req))
		return 0;
	switch (hs->s.state) {
	case GH_SESS_SUSPENDED:
		if (hub_session_resume(hub, id, user->id, why, sizeof(why)) == 0)
			GH_INFO("session %lld woken by a browser request of %s", (long long)id, user->name);
		hs = hub_session_get(hub, id);
		break;
	case GH_SESS_QUEUED:
	case GH_SESS_STARTING:
	case GH_SESS_SUSPENDING:
		break;
	default:
		return 0;
	}
	if (!hs)
		return 0;
	gh_strlcpy(name, hs->s.name, sizeof(name));
	status_line(hs, line, sizeof(line));
	cap = sizeof(page_script) + 2048;
	body = h2o_mem_alloc_pool(&req->pool, cap);
	n = snprintf(body, cap,
	             "<!doctype html><html><head><meta charset=utf-8><title>gpuhub — %s</title>"
	             "<link rel=stylesheet href=\"/style.css\"></head>"
	             "<body data-session=\"%lld\" data-events=\"/api/v1/sessions/%lld/events\">"
	             "<main class=wake><h1>Session %s</h1>"
	             "<p id=status class=wake-status>%s</p>"
	             "<p class=wake-note>Your files are kept. Notebooks that were open reopen with fresh kernels: "
	             "what was in kernel memory (variables, running cells) was not kept.</p>"
	             "<ol id=steps></ol></main>%s</body></html>",
	             name, (long long)id, (long long)id, name, line, page_script);
	http_add_header(req, "retry-after", "2");
	http_add_header(req, "cache-control", "no-store");
	http_send_text(req, 503, "text/html; charset=utf-8", body, (size_t)n);
	return 1;
}
