#!/usr/bin/python3
"""
api_client.py — small HTTP helpers for bench/api_bench.sh.

  api_client.py freeport
      print a free loopback TCP port
  api_client.py wait URL [SECONDS]
      wait until GET URL/api/v1/health answers 200
  api_client.py seed URL TOKEN COUNT PREFIX [THREADS]
      store COUNT sessions: create {"env":"bench-plain","name":PREFIX-i,"gpus":0}
      and stop each one, over keep-alive connections
  api_client.py latency URL TOKEN COUNT
      COUNT times: time POST /sessions with gpus 1 (the answer carries the
      allocation), then stop it (not timed); the same number of
      GET /health as the baseline on the same kind of connection.
      Prints one JSON line with p50/p99 of both, in milliseconds.

Uses http.client directly (one persistent connection per thread) so that
client overhead stays small next to what is measured.
"""

import json
import sys
import threading
import time

from ghbench import BENCH_ENV, Conn, ensure_env, freeport, wait

def seed(url, token, count, prefix, threads=4):
    count, threads = int(count), int(threads)
    ensure_env(url, token)
    errors = []
    next_i = [0]
    lock = threading.Lock()

    def worker():
        c = Conn(url, token)
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= count or errors:
                return
            st, raw = c.request("POST", "/api/v1/sessions",
                                {"env": BENCH_ENV, "name": f"{prefix}-{i}", "gpus": 0})
            if st != 201:
                errors.append(f"create {prefix}-{i}: {st} {raw[:200]!r}")
                return
            sid = json.loads(raw)["id"]
            st, raw = c.request("POST", f"/api/v1/sessions/{sid}/stop")
            if st != 200:
                errors.append(f"stop {sid}: {st} {raw[:200]!r}")
                return

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        print("api_client: seed failed: " + errors[0], file=sys.stderr)
        return 1
    dt = time.monotonic() - t0
    print(f"seeded {count} sessions in {dt:.1f}s ({count / dt:.0f}/s)", file=sys.stderr)
    return 0

def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]

def latency(url, token, count):
    count = int(count)
    ensure_env(url, token)
    c = Conn(url, token)
    # warm up the connection and both code paths
    for _ in range(20):
        c.request("GET", "/api/v1/health")
    create, health = [], []
    run = int(time.time())
    for i in range(count):
        t0 = time.perf_counter()
        st, raw = c.request("POST", "/api/v1/sessions",
                            {"env": BENCH_ENV, "name": f"lat-{run}-{i}", "gpus": 1})
        t1 = time.perf_counter()
        if st != 201:
            print(f"api_client: create failed: {st} {raw[:300]!r}", file=sys.stderr)
            return 1
        s = json.loads(raw)
        if not s.get("allocations"):
            print(f"api_client: create answered without an allocation: {raw[:300]!r}",
                  file=sys.stderr)
            return 1
        create.append((t1 - t0) * 1000)
        st, raw = c.request("POST", f"/api/v1/sessions/{s['id']}/stop")
        if st != 200:
            print(f"api_client: stop failed: {st} {raw[:300]!r}", file=sys.stderr)
            return 1
        # the GPU must be back before the next create; stop may be
        # asynchronous. Poll without sleeping: an idle pause before the next
        # request would add the machine's wake-up latency to both columns.
        deadline = time.monotonic() + 30
        while json.loads(raw).get("state") != "stopped":
            if time.monotonic() > deadline:
                print(f"api_client: session {s['id']} did not stop", file=sys.stderr)
                return 1
            st, raw = c.request("GET", f"/api/v1/sessions/{s['id']}")
        t0 = time.perf_counter()
        st, _ = c.request("GET", "/api/v1/health")
        health.append((time.perf_counter() - t0) * 1000)
    out = {
        "count": count,
        "create_p50_ms": round(pct(create, 50), 3), "create_p99_ms": round(pct(create, 99), 3),
        "create_max_ms": round(max(create), 3),
        "health_p50_ms": round(pct(health, 50), 3), "health_p99_ms": round(pct(health, 99), 3),
    }
    print(json.dumps(out))
    return 0

def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    fn = {"freeport": freeport, "wait": wait, "seed": seed, "latency": latency}.get(cmd)
    if fn is None:
        print(__doc__, file=sys.stderr)
        return 2
    return fn(*args) or 0

if __name__ == "__main__":
    sys.exit(main(sys.argv))
