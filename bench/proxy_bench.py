#!/usr/bin/python3
"""
proxy_bench.py — the workspace proxy (/user/<user>/<session>/...) against
going to the upstream directly and against configurable-http-proxy (CHP,
what JupyterHub puts in front of its servers), measured in the same run:

  static    a fixed small answer from an h2o server (a second gpuhub's
            /api/v1/health, run as the session's workspace)
  jupyter   a real Jupyter Server's GET <base>/api (jupyter-python session)
  websocket round trips of a 32-byte message to a Tornado echo server
            (bench/ws_echo.py as the session's workspace), one connection;
            direct, through the hub, through CHP and through a bare relay
            (bench/tcp_relay.c, compiled here: the least a user-space hop
            costs), interleaved in 12 turns; medians of the turn medians.
            The client is bench/ws_client.c (compiled here): a Python
            client spends most of a loopback round trip in its own
            interpreter and wakes up late by tens of microseconds at
            random, which hides what a proxy adds (--client python for
            websocket-client instead)

HTTP: wrk, 2 threads, 50 connections, --latency; requests/s and p99.
Targets: gpuhub >= 0.9x direct throughput and >= 2x CHP; WebSocket round
trip <= 1.1x direct. Appends the table to bench/RESULTS.md.

  bench/proxy_bench.py [--duration 8] [--conns 50] [--rounds 6000] [--turns 12]
                       [--relay auto|hub] [--client c|python] [--ws-only]
"""

import argparse
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spawn_bench import ROOT, BIN, commit, freeport, http, kill_group, machine, wait_until  # noqa: E402


def session_env(data_dir, sid, name):
    """A variable of the environment of session sid's workspace (the process
    working in its directory), or None."""
    wd = os.path.join(data_dir, "sessions", str(sid))
    key = name.encode() + b"="
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{pid}/cwd") != wd:
                continue
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        for e in env:
            if e.startswith(key):
                return e[len(key):].decode()
    return None


def session_port(data_dir, sid):
    """The workspace port of session sid (0 until its process runs)."""
    return int(session_env(data_dir, sid, "GPUHUB_PORT") or 0)


def wrk(url, duration, conns, header=None):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--latency", url]
    if header:
        cmd[1:1] = ["-H", header]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error answers\n{out}")
    return rps, p99


WS_TURNS = 12


def ws_rtt_c(client, url, rounds, header=None):
    """Median and p99 round trip (µs) of bench/ws_client.c on one connection."""
    u = urllib.parse.urlparse(url)
    out = subprocess.run([client, str(u.port), u.path, str(rounds), *(header or [])], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"ws_client {url}: {out.stderr.strip()}")
    median, p99 = (float(x) for x in out.stdout.split())
    return median, p99


def ws_rtt(url, rounds, header=None):
    import websocket
    ws = websocket.create_connection(url, header=header or [], timeout=10)
    msg = b"x" * 32
    for _ in range(200):
        ws.send_binary(msg)
        ws.recv()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ws.send_binary(msg)
        ws.recv()
        times.append(time.perf_counter() - t0)
    ws.close()
    times.sort()
    return statistics.median(times) * 1e6, times[int(len(times) * 0.99)] * 1e6


class Chp:
    def __init__(self, work, target):
        self.port, api = freeport(), freeport()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, NODE_PATH="/usr/share/nodejs",
                   CONFIGPROXY_AUTH_TOKEN=secrets.token_hex(16))
        self.log = open(os.path.join(work, "chp.log"), "ab")
        self.p = subprocess.Popen(["/usr/bin/configurable-http-proxy", "--ip", "127.0.0.1", "--port",
                                   str(self.port), "--api-ip", "127.0.0.1", "--api-port", str(api),
                                   "--default-target", target, "--log-level", "warn"],
                                  env=env, stdout=self.log, stderr=self.log, start_new_session=True)
        wait_until(lambda: http("GET", self.url + "/")[0] != 0, 30)

    def close(self):
        kill_group(self.p)
        self.log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=6000)
    ap.add_argument("--turns", type=int, default=WS_TURNS, help="WebSocket turns (interleaved paths)")
    ap.add_argument("--ws-only", action="store_true", help="only the WebSocket round trips (no table appended)")
    ap.add_argument("--relay", choices=("auto", "hub"), default="auto",
                    help="the hub's http.websocket_relay")
    ap.add_argument("--client", choices=("c", "python"), default="c",
                    help="WebSocket client: bench/ws_client.c or Python's websocket-client")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    a = ap.parse_args()
    for tool in ("wrk", "jupyter-server"):
        if not shutil.which(tool):
            sys.exit(f"proxy_bench: {tool} is not installed")
    work = tempfile.mkdtemp(prefix="gpuhub-proxy-bench.")
    os.chmod(work, 0o755)
    from spawn_bench import Hub
    with open(os.path.join(work, "gpuhub.yaml"), "w") as f:
        f.write(f"http:\n  websocket_relay: {a.relay}\n")
    hub = Hub(work, ["--config", os.path.join(work, "gpuhub.yaml")])
    api = hub.url + "/api/v1"
    tok = hub.token
    auth = f"Authorization: Bearer {tok}"
    rows = []
    chp = None
    sids = {}
    try:
        for name, cmd in (("bench-static", ["/bin/sh", "-c", f"exec {BIN} serve --listen 127.0.0.1:$GPUHUB_PORT "
                                              "--data-dir $PWD/up --gpus sim:1"]),
                          ("bench-ws", ["/usr/bin/python3", os.path.join(ROOT, "bench", "ws_echo.py")])):
            st, body = http("POST", api + "/environments", tok, {
                "name": name, "interface": "vscode", "default_gpus": 0,
                "launch": {"local": {"command": cmd, "ready": ""}}})
            assert st == 201, (st, body)
        for sname, env in (("st", "bench-static"), ("ws", "bench-ws"), ("jp", "jupyter-python")):
            st, s = http("POST", api + "/sessions", tok, {"env": env, "name": sname, "gpus": 0})
            assert st == 201, (st, s)
            sids[sname] = s["id"]
        for sname, sid in sids.items():
            wait_until(lambda: http("GET", f"{api}/sessions/{sid}", tok)[1]["state"] == "running", 90)
        ports = {k: wait_until(lambda: session_port(os.path.join(work, 'hub'), v), 30) for k, v in sids.items()}
        wait_until(lambda: http("GET", f"http://127.0.0.1:{ports['st']}/api/v1/health")[0] == 200, 30)
        wait_until(lambda: http("GET", f"http://127.0.0.1:{ports['ws']}/")[0] == 200, 30)
        jbase = "/user/admin/jp/"
        wait_until(lambda: http("GET", f"http://127.0.0.1:{ports['jp']}{jbase}api")[0] == 200, 60)

        cases = (("static: h2o upstream, fixed 60-byte JSON", "st", "/api/v1/health", "/user/admin/st/api/v1/health",
                  "/api/v1/health"),
                 ("jupyter: Jupyter Server GET api", "jp", f"{jbase}api", f"{jbase}api", f"{jbase}api"))
        # The proxy hands each request to the workspace with the workspace's
        # token ("Authorization: token ..."), which Jupyter checks; direct and
        # CHP requests carry the same header, so the upstream does the same work.
        wtok = {k: session_env(os.path.join(work, 'hub'), v, "GPUHUB_WORKSPACE_TOKEN") for k, v in sids.items()}
        for label, key, dpath, hpath, cpath in (() if a.ws_only else cases):
            same = f"Authorization: token {wtok[key]}"
            direct = wrk(f"http://127.0.0.1:{ports[key]}{dpath}", a.duration, a.conns, same)
            via = wrk(f"{hub.url}{hpath}", a.duration, a.conns, auth)
            chp = Chp(work, f"http://127.0.0.1:{ports[key]}")
            c = wrk(f"{chp.url}{cpath}", a.duration, a.conns, same)
            chp.close()
            chp = None
            rows.append((label, direct, via, c))
            print(label, "direct", direct, "gpuhub", via, "chp", c, flush=True)

        # WebSocket round trips: direct, through the hub, through the least
        # a user-space hop can cost (bench/tcp_relay.c) and through CHP,
        # interleaved in WS_TURNS turns so that drift hits all alike; the
        # median of each path's turn medians is reported
        relay_bin = os.path.join(work, "tcp_relay")
        subprocess.run(["cc", "-O2", "-pthread", "-o", relay_bin, os.path.join(ROOT, "bench", "tcp_relay.c")],
                       check=True)
        client_bin = os.path.join(work, "ws_client")
        subprocess.run(["cc", "-O2", "-o", client_bin, os.path.join(ROOT, "bench", "ws_client.c")], check=True)
        rtt = ws_rtt if a.client == "python" else (lambda *x: ws_rtt_c(client_bin, *x))
        hub_ws = f"ws://127.0.0.1:{hub.port}/user/admin/ws/echo"
        rport = freeport()
        relay = subprocess.Popen([relay_bin, str(rport), str(ports["ws"])], start_new_session=True)
        chp = Chp(work, f"http://127.0.0.1:{ports['ws']}")
        turns = {"direct": [], "gpuhub": [], "relay": [], "chp": []}
        try:
            wait_until(lambda: http("GET", f"http://127.0.0.1:{rport}/")[0] == 200, 30)
            for _ in range(a.turns):
                turns["direct"].append(rtt(f"ws://127.0.0.1:{ports['ws']}/echo", a.rounds // a.turns))
                turns["gpuhub"].append(rtt(hub_ws, a.rounds // a.turns, [auth]))
                turns["relay"].append(rtt(f"ws://127.0.0.1:{rport}/echo", a.rounds // a.turns))
                turns["chp"].append(rtt(f"ws://127.0.0.1:{chp.port}/echo", a.rounds // a.turns))
        finally:
            kill_group(relay)
        chp.close()
        chp = None
        ws = {k: (statistics.median(m for m, _ in v), statistics.median(p for _, p in v)) for k, v in turns.items()}
        wdirect, wvia, wrelay, wchp = ws["direct"], ws["gpuhub"], ws["relay"], ws["chp"]
        print("ws", {k: [round(m) for m, _ in v] for k, v in turns.items()}, flush=True)
        print("ws medians", {k: round(v[0], 1) for k, v in ws.items()}, "relay", a.relay, "client", a.client,
              flush=True)
        if a.ws_only:
            return
    finally:
        if chp:
            chp.close()
        # workspaces outlive their hub by design: stop them first
        for sid in sids.values():
            http("POST", f"{api}/sessions/{sid}/stop", tok)
        for sid in sids.values():
            try:
                wait_until(lambda: http("GET", f"{api}/sessions/{sid}", tok)[1]["state"] in ("stopped", "failed"), 30)
            except (RuntimeError, TypeError, KeyError):
                pass
        hub.close()

    def met(ok):
        return "met" if ok else "NOT met"
    lines = [
        f"## Workspace proxy (bench/proxy_bench.py) — {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        "",
        f"- machine: {machine()}; commit {commit()}; wrk -t2 -c{a.conns} -d{a.duration}s --latency, one after the"
        f" other on the same upstream; load average at the start {os.getloadavg()[0]:.2f}",
        "- gpuhub requests carry `Authorization: Bearer` (the hub checks it, then sends the workspace token on); direct and CHP requests carry the workspace token itself (`Authorization: token ...`), so the upstream does the same work in all three",
        "",
        "| measure | gpuhub proxy | direct | CHP | gpuhub / direct | gpuhub / CHP | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, d, v, c in rows:
        lines.append(f"| {label}: req/s | {v[0]:.0f} | {d[0]:.0f} | {c[0]:.0f} | {v[0] / d[0]:.2f} | "
                     f"{v[0] / c[0]:.2f} | ≥ 0.9× direct: {met(v[0] >= 0.9 * d[0])}; ≥ 2× CHP: "
                     f"{met(v[0] >= 2 * c[0])} |")
        lines.append(f"| {label}: p99 | {v[1]:.2f} ms | {d[1]:.2f} ms | {c[1]:.2f} ms | {v[1] / d[1]:.2f} | "
                     f"{v[1] / c[1]:.2f} | - |")
    lines.append(f"| WebSocket round trip, 32 B, {a.client} client, relay {a.relay}, median (p99) | "
                 f"{wvia[0]:.0f} ({wvia[1]:.0f}) µs | "
                 f"{wdirect[0]:.0f} ({wdirect[1]:.0f}) µs | {wchp[0]:.0f} ({wchp[1]:.0f}) µs | "
                 f"{wvia[0] / wdirect[0]:.2f} | {wvia[0] / wchp[0]:.2f} | ≤ 1.1× direct: "
                 f"{met(wvia[0] <= 1.1 * wdirect[0])} |")
    lines.append(f"| WebSocket round trip through a bare relay (bench/tcp_relay.c: one poll loop, no HTTP) | "
                 f"{wrelay[0]:.0f} ({wrelay[1]:.0f}) µs | {wdirect[0]:.0f} µs | - | {wrelay[0] / wdirect[0]:.2f} | - | "
                 f"the floor of a user-space hop: the hub adds {wvia[0] - wdirect[0]:+.0f} µs, the bare relay "
                 f"{wrelay[0] - wdirect[0]:+.0f} µs |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(a.results, "a") as f:
        f.write("\n" + text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
