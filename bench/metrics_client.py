"""
metrics_client.py — the client side of bench/metrics_bench.sh.

  metrics_client.py seed URL TOKEN N             N light sessions of 1 GPU (the
                                                 GPUs fill, the rest queue)
  metrics_client.py scrape URL TOKEN ROUNDS      GET /metrics vs GET /api/v1/health,
                                                 alternated on one keep-alive
                                                 connection; JSON of percentiles
  metrics_client.py report DATA_DIR SECONDS      plays the GPU processes: writes a
                                                 simulator report for every running
                                                 workspace of the hub, once a second
  metrics_client.py cpu PID SECONDS              the hub's CPU time over SECONDS, as
                                                 % of one core
"""

import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ghbench import BENCH_ENV, Conn, ensure_env  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def seed(url, token, n):
    ensure_env(url, token)
    c = Conn(url, token)
    for i in range(int(n)):
        c.json("POST", "/api/v1/sessions", {"env": BENCH_ENV, "name": f"m{i}", "gpus": 1}, want=201)


def scrape(url, token, rounds):
    c = Conn(url, token)
    m, h, size = [], [], 0
    for _ in range(20):                      # warm up both paths
        c.request("GET", "/metrics")
        c.request("GET", "/api/v1/health")
    for _ in range(int(rounds)):
        t = time.perf_counter()
        st, raw = c.request("GET", "/metrics")
        m.append((time.perf_counter() - t) * 1000)
        assert st == 200, st
        size = len(raw)
        t = time.perf_counter()
        st, _ = c.request("GET", "/api/v1/health")
        h.append((time.perf_counter() - t) * 1000)
        assert st == 200, st
    text = raw.decode()
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    print(json.dumps({
        "metrics_p50_ms": round(statistics.median(m), 3), "metrics_p99_ms": round(pct(m, 99), 3),
        "health_p50_ms": round(statistics.median(h), 3), "health_p99_ms": round(pct(h, 99), 3),
        "bytes": size, "series": series,
    }))


def workspaces(report_dir):
    """{pid: [gpu indexes]} of the processes the hub started with this
    report directory (their environment says so)."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        except OSError:
            continue
        if env.get(b"GPUHUB_SIM_REPORT_DIR", b"").decode() != report_dir:
            continue
        cvd = env.get(b"CUDA_VISIBLE_DEVICES", b"").decode()
        if cvd and cvd != "none":
            out[int(p)] = [int(x) for x in cvd.split(",") if x.isdigit()]
    return out


def report(data_dir, seconds):
    d = os.path.join(data_dir, "gpu-sim", "reports")
    rnd = random.Random(7)
    end = time.monotonic() + float(seconds)
    procs = {}
    while time.monotonic() < end:
        if not procs:
            procs = workspaces(d)
        for pid, gpus in procs.items():
            tmp = os.path.join(d, f".{pid}.tmp")
            with open(tmp, "w") as f:
                for g in gpus:
                    f.write(f"gpu={g} util={rnd.randint(10, 90)} mem_mib={rnd.randint(1000, 40000)}\n")
            os.rename(tmp, os.path.join(d, str(pid)))
        time.sleep(1)


def cpu(pid, seconds):
    def ticks():
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])   # utime + stime
    hz = os.sysconf("SC_CLK_TCK")
    t0, c0 = time.monotonic(), ticks()
    time.sleep(float(seconds))
    t1, c1 = time.monotonic(), ticks()
    print(f"{(c1 - c0) / hz / (t1 - t0) * 100:.3f}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"seed": seed, "scrape": scrape, "report": report, "cpu": cpu}[cmd](*args)
