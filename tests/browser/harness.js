/*
 * Harness for the browser tests: runs the real `gpuhub serve` on a free
 * loopback port with a temporary data dir, talks to its API, finds the web
 * page, drives Debian's Chromium through playwright-core, and at the end ends
 * the daemon and every process it started (workspaces included).
 *
 * Environment:
 *   GPUHUB_BIN                 the daemon binary (default build/gpuhub)
 *   GPUHUB_BROWSER_ARTIFACTS   where screenshots and logs go
 *                              (default build/browser-artifacts)
 *   GPUHUB_UI_FROM_DAEMON=1    fail unless the daemon serves the page itself
 *
 * Where the page comes from: when the daemon's own "/" carries the marker
 * <meta name="gpuhub-ui">, the browser talks to the daemon directly.
 * Otherwise a small local server serves web/ the same way (index.html at "/",
 * the other files under /static/) and forwards everything else to the daemon.
 */
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");

const REPO = path.resolve(__dirname, "..", "..");
const WEB = path.join(REPO, "web");
const ARTIFACTS = process.env.GPUHUB_BROWSER_ARTIFACTS || path.join(REPO, "build", "browser-artifacts");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const UI_MARKER = /<meta\s+name=["']?gpuhub-ui["']?/i;

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/* A well-formed API token: "gh_" + base64url(32 random bytes). */
function makeToken() {
  return "gh_" + crypto.randomBytes(32).toString("base64url");
}

/* Polls fn() until it returns something truthy; returns that value. */
async function waitFor(fn, what, timeoutMs = 20000, intervalMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); } catch (e) { last = e; }
    if (last && !(last instanceof Error)) return last;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/* --- processes (so nothing a test started outlives it) ----------------- */

function procStat(pid) {
  let data;
  try { data = fs.readFileSync(`/proc/${pid}/stat`, "latin1"); } catch { return null; }
  const rest = data.slice(data.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(rest[1]), start: rest[19] };
}

function allPids() {
  return fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number);
}

function descendants(root) {
  const children = new Map();
  for (const pid of allPids()) {
    const st = procStat(pid);
    if (!st) continue;
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push([pid, st.start]);
  }
  const out = new Map();
  const todo = [root];
  while (todo.length) {
    for (const [child, start] of children.get(todo.pop()) || []) {
      if (!out.has(child)) { out.set(child, start); todo.push(child); }
    }
  }
  return out;
}

/* Processes whose command line mentions one of needles or whose working
 * directory lies under one of them. */
function procsMentioning(needles) {
  const out = new Map();
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    let cmd = "", cwd = "";
    try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" "); } catch { /* gone */ }
    try { cwd = fs.readlinkSync(`/proc/${pid}/cwd`); } catch { /* gone or not ours */ }
    if (needles.some((n) => cmd.includes(n) || cwd.startsWith(n))) {
      const st = procStat(pid);
      if (st) out.set(pid, st.start);
    }
  }
  return out;
}

/* SIGKILL each pid that is still the same process (same start time). */
function killExact(pids) {
  for (const [pid, start] of pids) {
    const st = procStat(pid);
    if (st && st.start === start) {
      try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
    }
  }
}

/* --- the daemon -------------------------------------------------------- */

class Daemon {
  constructor() {
    this.bin = process.env.GPUHUB_BIN || path.join(REPO, "build", "gpuhub");
    this.adminToken = makeToken();
    this.runId = "gpuhub-browser-" + crypto.randomBytes(6).toString("hex");
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpuhub-browser-"));
    this.dataDir = path.join(this.dir, "data");
    this.logPath = path.join(this.dir, "gpuhub.log");
    this.proc = null;
    this.port = null;
    this.seen = new Map();
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  async start() {
    assert.ok(fs.existsSync(this.bin), `gpuhub binary not found at ${this.bin} (set GPUHUB_BIN or run make)`);
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freePort();
      const log = fs.openSync(this.logPath, "a");
      const env = { ...process.env, GPUHUB_ADMIN_TOKEN: this.adminToken, HOME: path.join(this.dir, "home") };
      delete env.GPUHUB_URL;
      delete env.GPUHUB_TOKEN;
      fs.mkdirSync(env.HOME, { recursive: true });
      this.proc = spawn(this.bin, ["serve", "--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir,
        "--gpus", "sim:2xA100-80GB"], { env, detached: true, stdio: ["ignore", log, log] });
      fs.closeSync(log);
      const exited = new Promise((r) => this.proc.once("exit", () => r(null)));
      const ready = (async () => {
        const end = Date.now() + 30000;
        while (Date.now() < end && this.proc.exitCode === null) {
          try {
            const r = await fetch(this.url + "/api/v1/health");
            if (r.status === 200) return true;
          } catch { /* not listening yet */ }
          await sleep(50);
        }
        return false;
      })();
      if (await Promise.race([ready, exited])) return this;
      if (!/in use/i.test(this.log())) break;       /* lost a race for the port: retry */
    }
    await this.kill();
    throw new Error(`gpuhub serve did not become ready; log:\n${this.log()}`);
  }

  log() {
    try { return fs.readFileSync(this.logPath, "utf8"); } catch { return ""; }
  }

  /* Calls the API; returns {status, body}. token: a bearer token or null. */
  async api(method, p, body, token = this.adminToken) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(this.url + "/api/v1" + p, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let doc = null;
    try { doc = text ? JSON.parse(text) : null; } catch { doc = text; }
    return { status: r.status, body: doc };
  }

  remember() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      for (const [pid, start] of descendants(this.proc.pid)) this.seen.set(pid, start);
    }
  }

  /* Stops what is still active, SIGTERM, then SIGKILL whatever is left of
   * the daemon and of everything it started. Idempotent. */
  async kill() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        const r = await this.api("GET", "/sessions?all=true&limit=500");
        for (const s of (r.body && r.body.items) || []) {
          if (!["stopped", "failed"].includes(s.state)) await this.api("POST", `/sessions/${s.id}/stop`, {});
        }
      } catch { /* the daemon may be wedged; the kill below still runs */ }
      this.remember();
      const gone = new Promise((r) => this.proc.once("exit", r));
      try { process.kill(this.proc.pid, "SIGTERM"); } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(-this.proc.pid, "SIGKILL"); } catch { /* gone */ } }, 10000);
      await gone;
      clearTimeout(t);
    }
    for (const [pid, start] of procsMentioning([this.dataDir, this.runId])) this.seen.set(pid, start);
    killExact(this.seen);
    this.seen.clear();
  }

  /* pids of live workspaces of this run */
  workspaces() {
    return [...procsMentioning([this.runId]).keys()];
  }
}

/* --- where the page is served ------------------------------------------ */

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon" };

/* Serves web/ the way the daemon is meant to (index.html at "/", the other
 * files under /static/) and forwards every other request, streams included,
 * to the daemon unchanged. */
function startPageServer(daemon) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    let file = null;
    if (req.method === "GET" || req.method === "HEAD") {
      if (url.pathname === "/" || url.pathname === "/index.html") file = "index.html";
      else if (/^\/static\/[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(url.pathname)) file = url.pathname.slice(8);
    }
    if (file !== null) {
      const full = path.join(WEB, file);
      if (!fs.existsSync(full)) { res.writeHead(404, { "content-type": "text/plain" }); res.end("not found\n"); return; }
      res.writeHead(200, { "content-type": TYPES[path.extname(full)] || "application/octet-stream",
        "cache-control": "no-cache" });
      res.end(req.method === "HEAD" ? undefined : fs.readFileSync(full));
      return;
    }
    const up = http.request({ host: "127.0.0.1", port: daemon.port, method: req.method, path: req.url,
      headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode, ures.headers);
      ures.pipe(res);
    });
    up.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`upstream: ${e.message}\n`);
    });
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/* Returns {base, close, servedByDaemon}. */
async function pageOrigin(daemon) {
  let html = "";
  try { html = await (await fetch(daemon.url + "/")).text(); } catch { /* no page */ }
  if (UI_MARKER.test(html)) return { base: daemon.url, servedByDaemon: true, close: async () => {} };
  if (process.env.GPUHUB_UI_FROM_DAEMON === "1") {
    throw new Error(`the daemon's "/" does not serve the web page (no <meta name="gpuhub-ui">)`);
  }
  const server = await startPageServer(daemon);
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    servedByDaemon: false,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); })
  };
}

/* --- the browser ------------------------------------------------------- */

async function launchBrowser() {
  let chromium;
  try {
    ({ chromium } = require("playwright-core"));
  } catch (e) {
    throw new Error(`playwright-core is not installed (run scripts/install-deps): ${e.message}`);
  }
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-deps`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name + ".png"), fullPage: true });
}

/* Waits until locator's text matches re; returns the text. */
async function waitText(locator, re, what, timeoutMs = 20000) {
  return waitFor(async () => {
    const n = await locator.count();
    if (n === 0) return null;
    const text = await locator.first().textContent();
    return re.test(text || "") ? text : null;
  }, what || String(re), timeoutMs);
}

module.exports = { REPO, ARTIFACTS, Daemon, pageOrigin, launchBrowser, screenshot, waitFor, waitText, sleep };
