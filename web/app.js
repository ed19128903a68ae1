/*
 * gpuhub web page: sign in, launch a workspace, watch its progress, open it,
 * stop it. Plain JavaScript over the REST API at /api/v1 (docs/api.md); the
 * login cookie is HttpOnly, so the page never sees it: fetch and EventSource
 * send it on their own (same origin).
 *
 * Data flow: refresh() reads /me, /environments, /gpus and /sessions and
 * renders them; while signed in, sessions and GPUs are polled every few
 * seconds. A session that is queued or starting also gets an EventSource on
 * /sessions/{id}/events; its events drive a progress bar until the session is
 * running, failed or stopped, then the stream is closed.
 *
 * Every string from the server reaches the DOM through textContent, never as
 * markup. No inline handlers: listeners are attached here.
 */
(function () {
  "use strict";

  var API = "/api/v1";
  var POLL_MS = 3000;
  /* states in which a session holds (or waits for) resources */
  var ACTIVE = ["queued", "starting", "running", "idle-warned", "suspending", "stopping"];
  /* states whose progress is worth streaming */
  var LAUNCHING = ["queued", "starting"];
  /* states that end a launch, one way or the other */
  var SETTLED = ["running", "idle-warned", "failed", "stopped", "suspended"];
  /* event types the hub sends (named SSE events need one listener each) */
  var EVENT_TYPES = ["queued", "waiting", "gpus_allocated", "home_prepared", "process_started",
    "waiting_ready", "ready", "running", "idle_warned", "suspending", "suspended", "resumed",
    "stopping", "stopped", "failed", "deleted"];

  var state = {
    user: null,
    envs: [],
    models: [],
    sessionsKey: "",
    gpusKey: "",
    streams: {},       /* session id -> EventSource */
    pollTimer: null
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    var k;
    for (k in attrs || {}) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      if (c != null) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function showError(id, message) {
    var p = $(id);
    p.textContent = message || "";
    p.hidden = !message;
  }

  /* --- the API ------------------------------------------------------- */

  function ApiError(status, message, field) {
    this.status = status;
    this.message = message;
    this.field = field || null;
  }

  /* Calls the API; resolves with the decoded body (null for 204), rejects
   * with an ApiError carrying the server's message. A 401 outside sign-in
   * means the cookie expired or was revoked: back to the sign-in form. */
  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(API + path, opts).then(function (res) {
      if (res.status === 204) return null;
      return res.text().then(function (text) {
        var doc = null;
        try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
        if (res.ok) return doc;
        var err = doc && doc.error ? doc.error : {};
        var msg = err.message || ("request failed: HTTP " + res.status);
        if (res.status === 401 && path !== "/login" && state.user) signedOut(msg);
        throw new ApiError(res.status, msg, err.field);
      });
    }, function () {
      throw new ApiError(0, "the hub cannot be reached; is it running?");
    });
  }

  /* --- formatting ---------------------------------------------------- */

  function fmtGpus(g) {
    if (g == null) return "0";
    return String(Math.round(g * 1000) / 1000);
  }

  function fmtMilli(m) { return fmtGpus((m || 0) / 1000); }

  function stateBadge(s) {
    return el("span", { className: "badge state state-" + s, text: s });
  }

  /* GPUs that follow the kernel: what the session holds right now */
  function kernelGpus(s) {
    if (s.gpu_mode !== "kernel" || !s.gpus || (s.state !== "running" && s.state !== "idle-warned")) return "";
    var k = s.kernels_with_gpus || { kernels: 0 };
    if (k.waiting) {
      var w = "a kernel waits for GPUs";
      if (k.position) w += ": position " + k.position + " in queue";
      if (k.eta_seconds != null) w += " (about " + Math.max(1, Math.ceil(k.eta_seconds / 60)) + " min)";
      return w;
    }
    if (!k.kernels) return "no GPU held: GPUs come when a kernel runs";
    return "GPUs held by " + k.kernels + (k.kernels === 1 ? " running kernel" : " running kernels");
  }

  function sessionDetails(s) {
    var parts = [];
    if (s.allocations && s.allocations.length) {
      parts.push("on " + s.allocations.map(function (a) {
        return a.model + " #" + a.gpu + " (" + fmtMilli(a.milli) + " GPU)";
      }).join(", "));
    }
    if (s.gpu_model) parts.push("model " + s.gpu_model);
    if (s.state === "queued" && s.queue) {
      var q = "position " + s.queue.position + " in queue";
      if (s.queue.reason) q += ": " + s.queue.reason;
      if (s.queue.eta_seconds != null) q += " (about " + Math.ceil(s.queue.eta_seconds / 60) + " min)";
      parts.push(q);
    }
    if (s.reason && !(s.queue && s.queue.reason === s.reason)) parts.push(s.reason);
    var kd = kernelGpus(s);
    if (kd) parts.push(kd);
    if (s.resuming) parts.push("waking up: open notebooks reopen with fresh kernels (kernel memory was not kept)");
    return parts.join("; ");
  }

  /* --- sign in / out --------------------------------------------------- */

  function signedIn(user) {
    state.user = user;
    $("whoami").textContent = user.display_name ? user.display_name + " (" + user.name + ")" : user.name;
    $("account").hidden = false;
    $("signin").hidden = true;
    $("app").hidden = false;
    showError("signin-error", "");
    showError("global-error", "");
    loadEnvironments();
    refresh();
    if (!state.pollTimer) state.pollTimer = setInterval(refresh, POLL_MS);
    document.dispatchEvent(new CustomEvent("gpuhub:signedin", { detail: user }));
  }

  function signedOut(message) {
    state.user = null;
    if (state.pollTimer) clearInterval(state.pollTimer);
    state.pollTimer = null;
    Object.keys(state.streams).forEach(closeStream);
    state.sessionsKey = state.gpusKey = "";
    $("sessions-body").textContent = "";
    $("progress-list").textContent = "";
    $("progress-panel").hidden = true;
    $("account").hidden = true;
    $("app").hidden = true;
    $("signin").hidden = false;
    showError("signin-error", message || "");
    $("signin-username").focus();
    document.dispatchEvent(new CustomEvent("gpuhub:signedout"));
  }

  function onSignin(ev) {
    ev.preventDefault();
    var user = $("signin-username").value.trim();
    var pass = $("signin-password").value;
    if (!user || !pass) {
      showError("signin-error", "Enter your user name and password.");
      return;
    }
    var button = ev.target.querySelector("button[type=submit]");
    button.disabled = true;
    api("POST", "/login", { username: user, password: pass }).then(function (doc) {
      $("signin-password").value = "";
      signedIn(doc.user);
    }, function (err) {
      showError("signin-error", err.message);
    }).then(function () { button.disabled = false; });
  }

  function onSignout() {
    api("POST", "/logout").then(function () { signedOut(""); },
      function (err) { if (state.user) showError("global-error", err.message); });
  }

  /* --- environments and the launch form -------------------------------- */

  function loadEnvironments() {
    api("GET", "/environments").then(function (doc) {
      state.envs = doc.items || [];
      renderEnvironments();
    }, function (err) { showError("global-error", err.message); });
  }

  function renderEnvironments() {
    var list = $("envs-list");
    var select = $("launch-env");
    var previous = select.value;
    list.textContent = "";
    select.textContent = "";
    state.envs.forEach(function (e) {
      var labels = el("span", { className: "labels" });
      Object.keys(e.labels || {}).sort().forEach(function (k) {
        labels.appendChild(el("span", { className: "chip", text: k + " " + e.labels[k] }));
      });
      list.appendChild(el("li", { "data-env": e.name }, [
        el("strong", { text: e.display_name || e.name }), " ",
        el("code", { text: e.name }), " ",
        el("span", { className: "badge iface", text: e.interface }), " ",
        labels, " ",
        el("span", { className: "muted", text: "up to " + fmtGpus(e.max_gpus) + " GPUs" +
          (e.gpu_mode === "kernel" ? ", held only while a notebook's kernel runs" : "") })
      ]));
      select.appendChild(el("option", { value: e.name, text: (e.display_name || e.name) + " (" + e.interface + ")" }));
    });
    if (!state.envs.length) list.appendChild(el("li", { className: "muted", text: "No environments are defined yet." }));
    if (previous && state.envs.some(function (e) { return e.name === previous; })) select.value = previous;
    renderGpuChoices();
  }

  /* GPU amounts offered for an environment: none, fractions, then whole
   * GPUs up to its max_gpus. */
  function gpuChoices(env) {
    var max = env ? env.max_gpus : 1;
    var out = [0];
    [0.25, 0.5].forEach(function (f) { if (f <= max) out.push(f); });
    for (var n = 1; n <= max; n++) out.push(n);
    return out;
  }

  function renderGpuChoices() {
    var env = currentEnv();
    var select = $("launch-gpus");
    var previous = select.value;
    select.textContent = "";
    gpuChoices(env).forEach(function (g) {
      select.appendChild(el("option", { value: String(g), text: g === 0 ? "0 (no GPU)" : String(g) }));
    });
    var values = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (previous && values.indexOf(previous) >= 0) select.value = previous;
    else if (env && values.indexOf(String(env.default_gpus)) >= 0) select.value = String(env.default_gpus);
  }

  function currentEnv() {
    var name = $("launch-env").value;
    for (var i = 0; i < state.envs.length; i++) if (state.envs[i].name === name) return state.envs[i];
    return null;
  }

  function renderModels(items) {
    var models = [];
    items.forEach(function (g) { if (models.indexOf(g.model) < 0) models.push(g.model); });
    models.sort();
    if (models.join("\n") === state.models.join("\n")) return;
    state.models = models;
    var select = $("launch-model");
    var previous = select.value;
    select.textContent = "";
    select.appendChild(el("option", { value: "", text: "Any model" }));
    models.forEach(function (m) { select.appendChild(el("option", { value: m, text: m })); });
    if (models.indexOf(previous) >= 0) select.value = previous;
  }

  function onLaunch(ev) {
    ev.preventDefault();
    showError("launch-error", "");
    var body = { env: $("launch-env").value, name: $("launch-name").value.trim(),
      gpus: Number($("launch-gpus").value) };
    if (!body.env) { showError("launch-error", "Pick an environment."); return; }
    if (!body.name) { showError("launch-error", "Give the session a name."); $("launch-name").focus(); return; }
    if ($("launch-model").value) body.gpu_model = $("launch-model").value;
    var button = $("launch-button");
    button.disabled = true;
    api("POST", "/sessions", body).then(function (s) {
      $("launch-name").value = "";
      watch(s);
      refresh();
    }, function (err) {
      showError("launch-error", err.message);
    }).then(function () { button.disabled = false; });
  }

  /* --- progress (SSE) -------------------------------------------------- */

  function progressItem(s) {
    var id = "progress-" + s.id;
    var item = $(id);
    if (item) return item;
    item = el("div", { id: id, className: "progress-item", "data-session": s.name,
      role: "group", "aria-label": "Progress of " + s.name }, [
      el("div", { className: "progress-head" }, [
        el("strong", { text: s.name }), " ",
        el("span", { className: "progress-state", text: s.state }), " ",
        el("span", { className: "progress-percent", text: "0%" })
      ]),
      el("progress", { max: "100", value: "0", "aria-label": "Launch progress of " + s.name }),
      el("p", { className: "progress-message", role: "status", "aria-live": "polite" }),
      el("ol", { className: "progress-log" })
    ]);
    $("progress-list").insertBefore(item, $("progress-list").firstChild);
    $("progress-panel").hidden = false;
    return item;
  }

  function onEvent(sid, e) {
    var data;
    try { data = JSON.parse(e.data); } catch (x) { return; }
    var item = $("progress-" + sid);
    if (!item) return;
    if (typeof data.percent === "number") {
      item.querySelector("progress").value = data.percent;
      item.querySelector(".progress-percent").textContent = data.percent + "%";
    }
    if (data.state) {
      var st = item.querySelector(".progress-state");
      st.textContent = data.state;
      st.className = "progress-state badge state state-" + data.state;
    }
    if (data.message) {
      item.querySelector(".progress-message").textContent = data.message;
      var log = item.querySelector(".progress-log");
      log.appendChild(el("li", { text: (typeof data.percent === "number" ? data.percent + "% " : "") + data.message }));
    }
    item.classList.toggle("failed", data.state === "failed");
    if (data.state && SETTLED.indexOf(data.state) >= 0) {
      item.classList.add("done");
      closeStream(String(sid));
      refresh();
    }
  }

  /* Opens the event stream of a launching session (once). */
  function watch(s) {
    var sid = String(s.id);
    if (state.streams[sid] || typeof EventSource === "undefined") return;
    progressItem(s);
    var es = new EventSource(API + "/sessions/" + encodeURIComponent(sid) + "/events");
    var handler = function (e) { onEvent(sid, e); };
    es.addEventListener("message", handler);
    EVENT_TYPES.forEach(function (t) { es.addEventListener("session." + t, handler); });
    es.addEventListener("error", function () {
      /* a refused stream (404, 401) closes for good; polling takes over */
      if (es.readyState === EventSource.CLOSED) closeStream(sid);
    });
    state.streams[sid] = es;
  }

  function closeStream(sid) {
    var es = state.streams[sid];
    if (es) es.close();
    delete state.streams[sid];
  }

  /* --- sessions -------------------------------------------------------- */

  /* One line per session that is about to be suspended for being idle. */
  function renderIdleBanner(items) {
    var banner = $("idle-banner");
    banner.textContent = "";
    items.forEach(function (s) {
      if (s.state !== "idle-warned" || !s.idle) return;
      var left = s.idle.action_at ? Math.max(0, Math.round((Date.parse(s.idle.action_at) - Date.now()) / 1000)) : null;
      banner.appendChild(el("p", { "data-session": s.name, text: "Session " + s.name + " is idle (" + s.idle.rule +
        ") and will be suspended" + (left != null ? " in about " + left + " s" : "") +
        " to give its GPUs back. Use it to keep it; your files and open notebooks are kept either way." }));
    });
    banner.hidden = !banner.firstChild;
  }

  function renderSessions(items) {
    var key = JSON.stringify(items);
    if (key === state.sessionsKey) return;
    state.sessionsKey = key;
    var body = $("sessions-body");
    body.textContent = "";
    $("sessions-table").hidden = !items.length;
    $("sessions-empty").hidden = !!items.length;
    renderIdleBanner(items);
    items.forEach(function (s) {
      var actions = el("div", { className: "actions" });
      if ((s.state === "running" || s.state === "idle-warned") && s.url) {
        actions.appendChild(el("a", { className: "button", href: s.url, target: "_blank", rel: "noopener",
          "aria-label": "Open " + s.name, text: "Open" }));
      }
      if (s.state === "running" || s.state === "idle-warned") {
        actions.appendChild(el("button", { type: "button", "data-action": "suspend", "data-id": String(s.id),
          "aria-label": "Suspend " + s.name, text: "Suspend" }));
      }
      if (s.state === "suspended") {
        actions.appendChild(el("button", { type: "button", "data-action": "resume", "data-id": String(s.id),
          "aria-label": "Resume " + s.name, text: "Resume" }));
      }
      if (ACTIVE.indexOf(s.state) >= 0 && s.state !== "stopping" || s.state === "suspended") {
        actions.appendChild(el("button", { type: "button", "data-action": "stop", "data-id": String(s.id),
          "aria-label": "Stop " + s.name, text: "Stop" }));
      }
      if (s.state === "stopped" || s.state === "failed") {
        actions.appendChild(el("button", { type: "button", className: "danger", "data-action": "delete",
          "data-id": String(s.id), "aria-label": "Delete " + s.name, text: "Delete" }));
      }
      body.appendChild(el("tr", { "data-session": s.name, "data-state": s.state }, [
        el("td", {}, [el("strong", { text: s.name })]),
        el("td", { text: s.env }),
        el("td", { className: "state-cell" }, [stateBadge(s.state)]),
        el("td", { className: "gpus-cell", text: fmtGpus(s.gpus) + (s.gpu_mode === "kernel" && s.gpus ? " per kernel" : "") }),
        el("td", { className: "details", text: sessionDetails(s) }),
        el("td", {}, [actions])
      ]));
      if (LAUNCHING.indexOf(s.state) >= 0) watch(s);
      else syncProgress(s);
    });
    /* progress of sessions that are gone (deleted elsewhere) goes too */
    Array.prototype.slice.call($("progress-list").children).forEach(function (item) {
      var sid = item.id.replace("progress-", "");
      if (!items.some(function (s) { return String(s.id) === sid; }) && !state.streams[sid]) item.remove();
    });
    $("progress-panel").hidden = !$("progress-list").firstChild;
  }

  /* A finished launch keeps its progress item; its badge follows the state. */
  function syncProgress(s) {
    var item = $("progress-" + s.id);
    if (!item || state.streams[String(s.id)]) return;
    var st = item.querySelector(".progress-state");
    st.textContent = s.state;
    st.className = "progress-state badge state state-" + s.state;
  }

  function onSessionAction(ev) {
    var button = ev.target.closest("button[data-action]");
    if (!button) return;
    var id = button.getAttribute("data-id");
    var action = button.getAttribute("data-action");
    showError("sessions-error", "");
    button.disabled = true;
    var p = action === "delete"
      ? api("DELETE", "/sessions/" + encodeURIComponent(id))
      : api("POST", "/sessions/" + encodeURIComponent(id) + "/" + action, {});
    p.then(function () {
      if (action === "delete") {
        closeStream(id);
        var item = $("progress-" + id);
        if (item) item.remove();
        $("progress-panel").hidden = !$("progress-list").firstChild;
      }
      refresh();
    }, function (err) {
      button.disabled = false;
      showError("sessions-error", err.message);
    });
  }

  /* --- GPUs ------------------------------------------------------------ */

  function renderGpus(doc) {
    var items = doc.items || [];
    renderModels(items);
    var key = JSON.stringify([doc.simulated, items.map(function (g) {
      return [g.index, g.model, g.allocated_milli, g.capacity_milli, g.sharing, g.healthy, g.fault];
    })]);
    if (key === state.gpusKey) return;
    state.gpusKey = key;
    $("gpus-simulated").hidden = !doc.simulated;
    var body = $("gpus-body");
    body.textContent = "";
    items.forEach(function (g) {
      var health = g.healthy ? "healthy" : "unhealthy" + (g.fault ? ": " + describeFault(g.fault) : "");
      body.appendChild(el("tr", { "data-gpu": String(g.index) }, [
        el("td", { text: String(g.index) }),
        el("td", { text: g.model }),
        el("td", { className: "allocated", text: fmtMilli(g.allocated_milli) + " / " + fmtMilli(g.capacity_milli) }),
        el("td", { text: g.sharing }),
        el("td", {}, [el("span", { className: "badge " + (g.healthy ? "ok" : "bad"), text: health })])
      ]));
    });
    if (!items.length) body.appendChild(el("tr", {}, [el("td", { colspan: "5", className: "muted", text: "No GPUs found." })]));
  }

  function describeFault(f) {
    if (typeof f === "string") return f;
    if (f && f.type === "xid") return "Xid " + f.xid;
    if (f && f.type) return f.type;
    return JSON.stringify(f);
  }

  /* --- refresh --------------------------------------------------------- */

  var refreshing = false, refreshAgain = false;
  /* One refresh at a time; a call made meanwhile runs once it is done. */
  function refresh() {
    if (!state.user) return;
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    refreshAgain = false;
    Promise.all([
      api("GET", "/sessions?limit=200").then(function (doc) {
        renderSessions(doc.items || []);
        showError("global-error", "");
      }),
      api("GET", "/gpus").then(renderGpus)
    ]).catch(function (err) {
      if (state.user) showError("global-error", err.message);
    }).then(function () {
      refreshing = false;
      if (refreshAgain) refresh();
    });
  }

  function start() {
    $("signin-form").addEventListener("submit", onSignin);
    $("launch-form").addEventListener("submit", onLaunch);
    $("launch-env").addEventListener("change", renderGpuChoices);
    $("signout").addEventListener("click", onSignout);
    $("sessions-body").addEventListener("click", onSessionAction);
    api("GET", "/me").then(signedIn, function (err) {
      signedOut(err.status === 401 ? "" : err.message);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
