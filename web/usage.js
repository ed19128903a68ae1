/*
 * gpuhub web page, the admins' Usage view: GPU-hours per user per day from
 * GET /api/v1/usage?group_by=day,user, drawn as stacked bars (hand-made
 * SVG: one bar per UTC day, one coloured segment per user) and listed in a
 * table, with a link that downloads the same range as CSV.
 *
 * app.js says who signed in with the "gpuhub:signedin" and
 * "gpuhub:signedout" events on document; this view shows itself only to
 * admins. Strings from the server reach the DOM through textContent or as
 * attribute values, never as markup.
 */
(function () {
  "use strict";

  var API = "/api/v1";
  var SVG = "http://www.w3.org/2000/svg";
  var DAY_MS = 86400000;
  var DEFAULT_DAYS = 14;
  var REFRESH_MS = 60000;
  /* distinguishable colours, in order of the users' names */
  var COLOURS = ["#1f6feb", "#e36209", "#1a7f37", "#8250df", "#cf222e", "#0a7ea4", "#9a6700", "#d63384"];
  var timer = null;

  function $(id) { return document.getElementById(id); }

  function svg(tag, attrs, text) {
    var n = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text != null) n.textContent = text;
    return n;
  }

  function cell(tag, text, cls) {
    var n = document.createElement(tag);
    n.textContent = text;
    if (cls) n.className = cls;
    return n;
  }

  function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10); }

  function fmtHours(h) {
    if (h === 0) return "0";
    if (h >= 100) return h.toFixed(0);
    if (h >= 1) return h.toFixed(2);
    return h.toPrecision(2);
  }

  function query(fmt) {
    var q = "from=" + encodeURIComponent($("usage-from").value) + "&to=" + encodeURIComponent($("usage-to").value) +
      "&group_by=day,user";
    return API + "/usage?" + q + (fmt ? "&format=" + fmt : "");
  }

  function showError(message) {
    $("usage-error").textContent = message || "";
    $("usage-error").hidden = !message;
  }

  /* Every day from..to, so days without use still get a (empty) slot. */
  function daysBetween(from, to) {
    var out = [], t = Date.parse(from + "T00:00:00Z"), end = Date.parse(to + "T00:00:00Z");
    for (; t <= end && out.length < 400; t += DAY_MS) out.push(isoDay(t));
    return out;
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function drawChart(doc, users, colour) {
    var chart = $("usage-chart"), days = daysBetween(doc.from, doc.to);
    var W = 900, H = 260, left = 72, right = 10, top = 12, bottom = 34;
    var plotW = W - left - right, plotH = H - top - bottom, slot = plotW / Math.max(days.length, 1);
    var perDay = {}, max = 0, root, yMax, i;

    doc.items.forEach(function (it) {
      var d = perDay[it.day] || (perDay[it.day] = { total: 0, users: {} });
      d.users[it.user] = (d.users[it.user] || 0) + it.gpu_hours;
      d.total += it.gpu_hours;
      if (d.total > max) max = d.total;
    });
    yMax = niceMax(max);
    chart.textContent = "";
    root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "class": "usage-svg",
      "aria-label": "GPU-hours per user per day, " + doc.from + " to " + doc.to });
    for (i = 0; i <= 4; i++) {
      var y = top + plotH - plotH * i / 4;
      root.appendChild(svg("line", { x1: left, x2: W - right, y1: y, y2: y, "class": "grid" }));
      root.appendChild(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", "class": "tick" },
        fmtHours(yMax * i / 4)));
    }
    root.appendChild(svg("text", { x: 11, y: top + plotH / 2, "class": "axis-title", "text-anchor": "middle",
      transform: "rotate(-90 11 " + (top + plotH / 2) + ")" }, "GPU-hours"));
    days.forEach(function (day, k) {
      var x = left + k * slot, bw = Math.max(Math.min(slot * 0.7, 48), 2), y0 = top + plotH;
      var d = perDay[day];
      if (d) {
        users.forEach(function (u) {
          var h = d.users[u];
          if (!h) return;
          var bh = Math.max(plotH * h / yMax, 1);
          y0 -= bh;
          var r = svg("rect", { x: (x + (slot - bw) / 2).toFixed(1), y: y0.toFixed(1), width: bw.toFixed(1),
            height: bh.toFixed(1), fill: colour[u], "class": "bar", "data-day": day, "data-user": u,
            "data-gpu-hours": String(h) });
          r.appendChild(svg("title", {}, u + ", " + day + ": " + fmtHours(h) + " GPU-hours"));
          root.appendChild(r);
        });
      }
      if (days.length <= 16 || k % Math.ceil(days.length / 16) === 0) {
        root.appendChild(svg("text", { x: (x + slot / 2).toFixed(1), y: H - bottom + 16, "text-anchor": "middle",
          "class": "tick" }, day.slice(5)));
      }
    });
    root.appendChild(svg("line", { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, "class": "axis" }));
    chart.appendChild(root);

    var legend = $("usage-legend");
    legend.textContent = "";
    users.forEach(function (u) {
      var li = document.createElement("li"), sw = svg("svg", { width: 12, height: 12, "aria-hidden": "true" });
      sw.appendChild(svg("rect", { width: 12, height: 12, rx: 2, fill: colour[u] }));
      li.setAttribute("data-user", u);
      li.appendChild(sw);
      li.appendChild(document.createTextNode(" " + u));
      legend.appendChild(li);
    });
  }

  function drawTable(doc) {
    var body = $("usage-body");
    body.textContent = "";
    doc.items.forEach(function (it) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-day", it.day);
      tr.setAttribute("data-user", it.user);
      tr.setAttribute("data-gpu-seconds", String(it.gpu_seconds));
      tr.appendChild(cell("td", it.day));
      tr.appendChild(cell("td", it.user));
      tr.appendChild(cell("td", fmtHours(it.gpu_hours), "num"));
      tr.appendChild(cell("td", fmtHours(it.session_hours), "num"));
      body.appendChild(tr);
    });
    $("usage-total-gpu").textContent = fmtHours(doc.total.gpu_hours);
    $("usage-total-session").textContent = fmtHours(doc.total.session_hours);
    $("usage-table").hidden = doc.items.length === 0;
    $("usage-empty").hidden = doc.items.length !== 0;
  }

  function load() {
    var csv = $("usage-csv");
    csv.href = query("csv");
    csv.setAttribute("download", "gpuhub-usage-" + $("usage-from").value + "-" + $("usage-to").value + ".csv");
    return fetch(query(null), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        return res.json().then(function (doc) {
          if (!res.ok) throw new Error(doc && doc.error ? doc.error.message : "HTTP " + res.status);
          return doc;
        });
      })
      .then(function (doc) {
        var users = [], colour = {};
        doc.items.forEach(function (it) { if (users.indexOf(it.user) < 0) users.push(it.user); });
        users.sort();
        users.forEach(function (u, i) { colour[u] = COLOURS[i % COLOURS.length]; });
        showError("");
        drawChart(doc, users, colour);
        drawTable(doc);
        $("usage-panel").setAttribute("data-loaded", doc.from + ".." + doc.to);
      })
      .catch(function (e) { showError("Cannot load usage: " + e.message); });
  }

  function show(user) {
    var panel = $("usage-panel");
    if (!user || user.role !== "admin") { hide(); return; }
    if (!$("usage-to").value) {
      var now = Date.now();
      $("usage-to").value = isoDay(now);
      $("usage-from").value = isoDay(now - (DEFAULT_DAYS - 1) * DAY_MS);
    }
    panel.hidden = false;
    load();
    if (!timer) timer = setInterval(load, REFRESH_MS);
  }

  function hide() {
    $("usage-panel").hidden = true;
    if (timer) clearInterval(timer);
    timer = null;
  }

  function start() {
    $("usage-form").addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    document.addEventListener("gpuhub:signedin", function (ev) { show(ev.detail); });
    document.addEventListener("gpuhub:signedout", hide);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
