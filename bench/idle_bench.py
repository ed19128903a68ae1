#!/usr/bin/python3
"""
idle_bench.py — suspend/resume and idle detection, on real Jupyter
(jupyter-pytorch, one simulated GPU), each compared in the same run:

  1. resume (suspended -> running, and -> its notebook reopened) against a
     cold start of the same environment (created -> running); median of
     REPS each.                                        target ratio <= 1.5
  2. idle detection latency: from the moment a session's full-idle time
     has passed (last proxied user request + idle.full_idle_s) to the
     moment the hub acts (state suspending), with warn_s 0; median and max
     of REPS.                       target <= idle.poll_interval_s + 1 s

Appends a section to bench/RESULTS.md (date, machine, commit).

  bench/idle_bench.py                 uses build/gpuhub (or $GPUHUB_BIN)
  REPS=5 POLL_S=2 FULL_IDLE_S=6 bench/idle_bench.py
"""

import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from ghbench import Conn  # noqa: E402

BIN = os.environ.get("GPUHUB_BIN", os.path.join(ROOT, "build", "gpuhub"))
REPS = int(os.environ.get("REPS", "3"))
POLL_S = int(os.environ.get("POLL_S", "2"))
FULL_IDLE_S = int(os.environ.get("FULL_IDLE_S", "6"))
RESULTS = os.environ.get("RESULTS", os.path.join(HERE, "RESULTS.md"))
TOKEN = "gh_bench_idle_" + os.urandom(12).hex()
ENV = "jupyter-pytorch"


def wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def state(c, sid):
    return c.json("GET", f"/api/v1/sessions/{sid}")["state"]


def wait_state(c, sid, states, timeout=120):
    return wait(lambda: state(c, sid) in states, timeout, f"session {sid} in {states}")


def events(c, sid):
    import json
    conn = urllib.request.Request(f"http://127.0.0.1:{c.port}/api/v1/sessions/{sid}/events",
                                  headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    with urllib.request.urlopen(conn, timeout=10) as r:
        return [e["type"] for e in json.loads(r.read())["items"]]


def ws_request(port, path, method="GET", body=None):
    import json
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
                                          "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status


def open_notebook(port, base):
    nb = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}
    ws_request(port, base + "api/contents/bench.ipynb", "PUT", nb)
    ws_request(port, base + "api/sessions", "POST",
               {"path": "bench.ipynb", "type": "notebook", "name": "bench.ipynb", "kernel": {"name": "python3"}})


def main():
    if not os.access(BIN, os.X_OK):
        sys.exit(f"idle_bench: {BIN} is not built (make)")
    if not shutil.which("jupyter-server"):
        sys.exit("idle_bench: Jupyter is not installed (scripts/install-deps)")
    work = tempfile.mkdtemp(prefix="gpuhub-idle-bench.")
    cfg = os.path.join(work, "gpuhub.yaml")
    with open(cfg, "w") as f:
        f.write(f"idle:\n  poll_interval_s: {POLL_S}\n  gpu_idle_s: 0\n  full_idle_s: 0\n  warn_s: 0\n")
    port = free_port()
    env = dict(os.environ, GPUHUB_ADMIN_TOKEN=TOKEN, HOME=work)
    log = open(os.path.join(work, "gpuhub.log"), "wb")
    d = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", os.path.join(work, "data"),
                          "--gpus", "sim:4xA100-80GB", "--config", cfg], stdout=log, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True)
    c = Conn(f"http://127.0.0.1:{port}", TOKEN)
    try:
        wait(lambda: _healthy(c), 30, "the daemon")
        cold, resume, reopen, detect = [], [], [], []
        for i in range(REPS):
            t0 = time.monotonic()
            s = c.json("POST", "/api/v1/sessions", {"env": ENV, "name": f"cold{i}", "gpus": 1}, want=201)
            wait_state(c, s["id"], ["running"])
            cold.append(time.monotonic() - t0)
            c.json("POST", f"/api/v1/sessions/{s['id']}/stop")
            wait_state(c, s["id"], ["stopped"])
            c.request("DELETE", f"/api/v1/sessions/{s['id']}")

        s = c.json("POST", "/api/v1/sessions", {"env": ENV, "name": "warm", "gpus": 1}, want=201)
        sid, base = s["id"], s["url"]
        wait_state(c, sid, ["running"])
        open_notebook(port, base)
        for i in range(REPS):
            c.json("POST", f"/api/v1/sessions/{sid}/suspend")
            wait_state(c, sid, ["suspended"])
            n_before = events(c, sid).count("session.resumed")
            t0 = time.monotonic()
            c.json("POST", f"/api/v1/sessions/{sid}/resume")
            wait_state(c, sid, ["running"])
            resume.append(time.monotonic() - t0)
            wait(lambda: events(c, sid).count("session.resumed") > n_before, 60, "notebook reopened")
            reopen.append(time.monotonic() - t0)

        # idle detection: full_idle_s on, warn_s 0; the last user request is
        # timed, then the hub must act within one poll interval (+1 s)
        c.json("PUT", f"/api/v1/environments/{ENV}/idle", {"full_idle_s": FULL_IDLE_S, "warn_s": 0})
        for i in range(REPS):
            time.sleep(3)  # the kernel and server settle (their start-up CPU counts as compute)
            ws_request(port, base + "api/contents/bench.ipynb")
            t_last = time.monotonic()
            wait(lambda: state(c, sid) in ("suspending", "suspended"), FULL_IDLE_S + POLL_S + 30, "the idle suspend")
            detect.append(time.monotonic() - (t_last + FULL_IDLE_S))
            wait_state(c, sid, ["suspended"])
            c.json("POST", f"/api/v1/sessions/{sid}/resume")
            wait_state(c, sid, ["running"])
        report(cold, resume, reopen, detect)
        # workspaces outlive a daemon that stops: end ours first
        c.json("POST", f"/api/v1/sessions/{sid}/stop")
        wait_state(c, sid, ["stopped"])
    finally:
        try:
            os.killpg(d.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(d.pid, signal.SIGKILL)
            d.wait()
        log.close()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(c):
    try:
        return c.request("GET", "/api/v1/health")[0] == 200
    except OSError:
        return False


def report(cold, resume, reopen, detect):
    med = statistics.median
    ratio = med(resume) / med(cold)
    ratio_nb = med(reopen) / med(cold)
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        if subprocess.run(["git", "-C", ROOT, "diff", "--quiet"]).returncode:
            commit += "+dirty"
    except OSError:
        commit = "?"
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"""
## Idle bench (bench/idle_bench.py) — {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}

- machine: {os.cpu_count()} cores, {cpu}; commit {commit}; {ENV} on sim:4xA100-80GB, 1 GPU; {REPS} runs each; load {os.getloadavg()[0]:.2f}

| measure | result (median) | baseline (same run) | ratio | target |
|---|---|---|---|---|
| resume: suspended → running | {med(resume):.2f} s (max {max(resume):.2f}) | cold start → running {med(cold):.2f} s (max {max(cold):.2f}) | {ratio:.2f} | ≤ 1.5×: {"met" if ratio <= 1.5 else "NOT met"} |
| resume: suspended → notebook reopened | {med(reopen):.2f} s | cold start → running {med(cold):.2f} s | {ratio_nb:.2f} | (informative) |
| idle detection latency after full_idle_s={FULL_IDLE_S} s | {med(detect):.2f} s (max {max(detect):.2f}) | poll interval {POLL_S} s | {max(detect) / (POLL_S + 1):.2f} of poll+1 s | ≤ {POLL_S + 1} s: {"met" if max(detect) <= POLL_S + 1 else "NOT met"} |

Resume is a queue pass plus a fresh start of the same workspace (kernel memory is
not kept), so it should cost about what a cold start costs; the reopen row adds
creating the notebook's Jupyter session with a fresh kernel.
"""
    print(text)
    with open(RESULTS, "a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
