#!/usr/bin/python3
"""
spawn_bench.py — how long a Jupyter workspace takes from "start it" to
"ready", three ways, measured in the same run on the same machine with the
same Jupyter Server and the same readiness check (GET <base>/api/status
answering 200):

  direct      jupyter server started by this script (the command the
              jupyter-python environment runs), polled every 2 ms
  gpuhub      POST /api/v1/sessions (jupyter-python, 0 GPUs) until the
              session is "running" (polled every 2 ms)
  jupyterhub  JupyterHub 3.0, LocalProcessSpawner, its configurable-http-
              proxy, the dummy authenticator: POST /hub/api/users/<u>/server
              until the server reports ready (polled every 2 ms)

Reports medians (N runs each, interleaved), the hub overhead (gpuhub -
direct, target <= 50 ms) and the ratio gpuhub / jupyterhub (target <= 0.6),
and appends them to bench/RESULTS.md.

  bench/spawn_bench.py [--runs 7] [--no-jupyterhub]
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("GPUHUB_BIN") or os.path.join(ROOT, "build", "gpuhub")
POLL = 0.002


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, token=None, body=None, scheme="Bearer", timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"{scheme} {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw)
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0, b""


def wait_until(pred, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(POLL)
    raise RuntimeError("timed out")


def kill_group(p):
    if p and p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


# --- direct -------------------------------------------------------------

def direct_once(work, i):
    port, tok = freeport(), secrets.token_hex(16)
    home = os.path.join(work, "direct-home")
    os.makedirs(home, exist_ok=True)
    base = f"/user/admin/d{i}/"
    cmd = (f"export HOME={home}; exec jupyter server --no-browser --allow-root --ServerApp.ip=127.0.0.1 "
           f"--ServerApp.port={port} --ServerApp.port_retries=0 --ServerApp.base_url={base} "
           f"--ServerApp.token={tok} --ServerApp.root_dir=$HOME --ServerApp.open_browser=False "
           f"--ServerApp.quit_button=False")
    log = open(os.path.join(work, f"direct{i}.log"), "wb")
    t0 = time.monotonic()
    p = subprocess.Popen(["/bin/sh", "-c", cmd], stdout=log, stderr=log, start_new_session=True)
    try:
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port}{base}api/status", tok, scheme="token",
                                timeout=1)[0] == 200)
        return time.monotonic() - t0
    finally:
        kill_group(p)
        log.close()


# --- gpuhub -------------------------------------------------------------

class Hub:
    def __init__(self, work, extra_args=()):
        self.port = freeport()
        self.token = "gh_" + secrets.token_urlsafe(32).rstrip("=")
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, GPUHUB_ADMIN_TOKEN=self.token, HOME=work)
        self.log = open(os.path.join(work, "gpuhub.log"), "wb")
        self.p = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir",
                                   os.path.join(work, "hub"), "--gpus", "sim:4", *extra_args],
                                  env=env, stdout=self.log, stderr=self.log, start_new_session=True)
        wait_until(lambda: http("GET", self.url + "/api/v1/health")[0] == 200, 30)

    def once(self, i):
        api = self.url + "/api/v1"
        t0 = time.monotonic()
        st, s = http("POST", api + "/sessions", self.token, {"env": "jupyter-python", "name": f"s{i}", "gpus": 0})
        assert st == 201, (st, s)

        def running():
            st2, cur = http("GET", f"{api}/sessions/{s['id']}", self.token, timeout=2)
            if st2 == 200 and cur["state"] == "failed":
                raise RuntimeError(cur["reason"])
            return st2 == 200 and cur["state"] == "running"
        wait_until(running)
        dt = time.monotonic() - t0
        st, _ = http("GET", f"{self.url}/user/admin/s{i}/api/status", self.token)
        assert st == 200, st
        http("POST", f"{api}/sessions/{s['id']}/stop", self.token)
        wait_until(lambda: http("GET", f"{api}/sessions/{s['id']}", self.token)[1]["state"] in ("stopped", "failed"),
                   30)
        http("DELETE", f"{api}/sessions/{s['id']}", self.token)
        return dt

    def close(self):
        kill_group(self.p)
        self.log.close()


# --- JupyterHub ---------------------------------------------------------

JH_CONFIG = """
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{proxy_api}'
c.ConfigurableHTTPProxy.command = ['/usr/bin/configurable-http-proxy']
c.ConfigurableHTTPProxy.pid_file = '{work}/proxy.pid'
c.JupyterHub.authenticator_class = 'dummy'
c.Authenticator.allowed_users = {{'root'}}
c.JupyterHub.spawner_class = 'jupyterhub.spawner.LocalProcessSpawner'
c.Spawner.cmd = ['jupyterhub-singleuser']
c.Spawner.args = ['--allow-root']
c.Spawner.notebook_dir = '{work}/jh-home'
c.Spawner.default_url = '/api/status'
c.Spawner.environment = {{'JUPYTERHUB_SINGLEUSER_APP': 'jupyter_server.serverapp.ServerApp'}}
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.JupyterHub.db_url = 'sqlite:///{work}/jupyterhub.sqlite'
c.JupyterHub.cookie_secret_file = '{work}/jupyterhub_cookie_secret'
c.JupyterHub.services = [{{'name': 'bench', 'api_token': '{token}'}}]
c.JupyterHub.load_roles = [{{'name': 'bench', 'scopes': ['admin:users', 'admin:servers', 'access:servers'], 'services': ['bench']}}]
c.JupyterHub.log_level = 'WARN'
"""


class JHub:
    def __init__(self, work):
        self.port, hub_port, proxy_api = freeport(), freeport(), freeport()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        os.makedirs(os.path.join(work, "jh-home"), exist_ok=True)
        cfg = os.path.join(work, "jupyterhub_config.py")
        with open(cfg, "w") as f:
            f.write(JH_CONFIG.format(port=self.port, hub_port=hub_port, proxy_api=proxy_api, work=work,
                                     token=self.token))
        env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
        self.log = open(os.path.join(work, "jupyterhub.log"), "wb")
        self.p = subprocess.Popen(["/usr/bin/jupyterhub", "-f", cfg], cwd=work, env=env, stdout=self.log,
                                  stderr=self.log, start_new_session=True)
        self.work = work
        wait_until(lambda: http("GET", self.url + "/hub/api/", self.token, scheme="token")[0] == 200, 60)
        http("POST", self.url + "/hub/api/users/root", self.token, scheme="token")

    def once(self, i):
        api = self.url + "/hub/api/users/root"
        t0 = time.monotonic()
        st, body = http("POST", api + "/server", self.token, scheme="token", body={})
        assert st in (201, 202), (st, body)

        def ready():
            st2, u = http("GET", api, self.token, scheme="token", timeout=2)
            return st2 == 200 and u.get("servers", {}).get("", {}).get("ready")
        wait_until(ready)
        dt = time.monotonic() - t0
        st, _ = http("GET", f"{self.url}/user/root/api/status", self.token, scheme="token")
        assert st == 200, st
        http("DELETE", api + "/server", self.token, scheme="token")

        def gone():
            st2, u = http("GET", api, self.token, scheme="token", timeout=2)
            return st2 == 200 and "" not in u.get("servers", {})
        wait_until(gone, 30)
        return dt

    def close(self):
        kill_group(self.p)
        try:
            pid = int(open(os.path.join(self.work, "proxy.pid")).read())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        self.log.close()


def machine():
    cpu = "?"
    for ln in open("/proc/cpuinfo"):
        if ln.startswith("model name"):
            cpu = ln.split(":", 1)[1].strip()
            break
    mem = int(open("/proc/meminfo").readline().split()[1]) // (1024 * 1024)
    return f"{os.cpu_count()} cores, {cpu}, {mem} GiB"


def commit():
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return c + ("+dirty" if dirty else "")
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-jupyterhub", action="store_true")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    a = ap.parse_args()
    if not shutil.which("jupyter-server"):
        sys.exit("spawn_bench: jupyter-server is not installed")
    work = tempfile.mkdtemp(prefix="gpuhub-spawn-bench.")
    hub = jh = None
    res = {"direct": [], "gpuhub": [], "jupyterhub": []}
    try:
        hub = Hub(work)
        if not a.no_jupyterhub:
            jh = JHub(work)
        # warm caches once, not timed
        direct_once(work, 0)
        hub.once(0)
        if jh:
            jh.once(0)
        for i in range(1, a.runs + 1):
            res["direct"].append(direct_once(work, i))
            res["gpuhub"].append(hub.once(i))
            if jh:
                res["jupyterhub"].append(jh.once(i))
            print(f"run {i}: " + ", ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in res.items() if v), flush=True)
    finally:
        if hub:
            hub.close()
        if jh:
            jh.close()
    med = {k: statistics.median(v) * 1000 for k, v in res.items() if v}
    over = med["gpuhub"] - med["direct"]
    over_runs = sorted((g - d) * 1000 for g, d in zip(res["gpuhub"], res["direct"]))
    lines = [
        f"## Spawn to ready (bench/spawn_bench.py) — {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        "",
        f"- machine: {machine()}; commit {commit()}; {a.runs} runs each, interleaved, after one untimed warm-up;"
        f" load average at the start {os.getloadavg()[0]:.2f}",
        "- the same Jupyter Server command and readiness check (GET <base>/api/status = 200), polled every 2 ms",
        "",
        "| measure | result | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        f"| gpuhub: POST /sessions → running, median | {med['gpuhub']:.0f} ms | jupyter server started directly "
        f"{med['direct']:.0f} ms | overhead {over:+.0f} ms (per-run median {statistics.median(over_runs):+.0f} ms) "
        f"| ≤ 50 ms: {'met' if over <= 50 else 'NOT met'} |",
    ]
    if "jupyterhub" in med:
        r = med["gpuhub"] / med["jupyterhub"]
        lines.append(f"| gpuhub vs JupyterHub 3.0 (LocalProcessSpawner + CHP), median | {med['gpuhub']:.0f} ms | "
                     f"JupyterHub {med['jupyterhub']:.0f} ms | {r:.2f}× | ≤ 0.6×: {'met' if r <= 0.6 else 'NOT met'} |")
    lines += ["", "Per run (ms): " + "; ".join(f"{k} " + ", ".join(f"{x * 1000:.0f}" for x in v)
                                             for k, v in res.items() if v), ""]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(a.results, "a") as f:
        f.write("\n" + text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
