#!/usr/bin/python3
"""
slurm_client.py — the gpuhub side of bench/slurm_bench.sh, and the helpers
the script needs (free ports, waiting for the daemon).

  slurm_client.py freeport [COUNT]
      print COUNT (default 1) free loopback TCP ports, one a line
  slurm_client.py wait URL [SECONDS]
      wait until GET URL/api/v1/health answers 200
  slurm_client.py burst URL TOKEN COUNT PREFIX [CREATORS] [STOPPERS]
      the burst: COUNT one-GPU sessions {"env":"bench-plain",
      "name":PREFIX-i,"gpus":1} created as fast as CREATORS keep-alive
      connections allow. A session that is placed (state no longer
      "queued": the hub gave it GPUs) is stopped at once by one of STOPPERS
      connections, which frees its GPU for the next one in the queue; this
      is the counterpart of a Slurm job whose script is `true`. Sessions
      that wait are found placed by a watcher that lists the "starting"
      and "running" sessions without pause.
      Prints one JSON line, times in seconds from the first create:
        submitted_s   every create answered (201)
        placed_s      every session seen placed (the measure)
        placed_at_create  sessions placed in their create answer
        stop_retries  stops the hub refused (500/409) and that were sent again
        queued_left   GET /sessions?state=queued total at the end (0)
  slurm_client.py idle URL TOKEN [SECONDS]
      wait until no session is starting, running or stopping
  slurm_client.py stopall URL TOKEN [SECONDS]
      stop every session that is queued, starting or running, and wait
      until none is left (before the daemon itself is stopped: workspaces
      outlive their hub by design)

Uses http.client directly (one persistent connection per thread).
"""

import json
import queue
import sys
import threading
import time

from ghbench import BENCH_ENV, Conn, ensure_env, freeport, wait

PLACED = ("starting", "running")
BUSY = ("starting", "running", "stopping")

def burst(url, token, count, prefix, creators=4, stoppers=2):
    count, creators, stoppers = int(count), int(creators), int(stoppers)
    ensure_env(url, token)
    lock = threading.Lock()
    placed = {}            # session id -> seconds from t0 when first seen placed
    created = [0]
    at_create = [0]
    next_i = [0]
    retries = [0]          # stops refused and tried again
    errors = []
    to_stop = queue.Queue()
    all_placed = threading.Event()
    t0 = time.perf_counter()
    submitted = [None]

    def seen_placed(sid):
        """Records sid as placed once; queues it to be stopped."""
        with lock:
            if sid in placed:
                return
            placed[sid] = time.perf_counter() - t0
            done = len(placed) == count
        to_stop.put(sid)
        if done:
            all_placed.set()

    def creator():
        c = Conn(url, token)
        try:
            while not errors:
                with lock:
                    i = next_i[0]
                    next_i[0] += 1
                if i >= count:
                    return
                s = c.json("POST", "/api/v1/sessions",
                           {"env": BENCH_ENV, "name": f"{prefix}-{i}", "gpus": 1}, want=201)
                with lock:
                    created[0] += 1
                    if created[0] == count:
                        submitted[0] = time.perf_counter() - t0
                if s["state"] in PLACED:
                    if not s.get("allocations"):
                        raise RuntimeError(f"session {s['id']} placed without allocations")
                    with lock:
                        at_create[0] += 1
                    seen_placed(s["id"])
                elif s["state"] != "queued":
                    raise RuntimeError(f"session {s['id']} created in state {s['state']}")
        except Exception as e:  # noqa: BLE001 - reported, ends the run
            errors.append(f"create: {e}")
            all_placed.set()

    def stopper():
        c = Conn(url, token)
        try:
            while True:
                sid = to_stop.get()
                if sid is None:
                    return
                st, raw = c.request("POST", f"/api/v1/sessions/{sid}/stop")
                if st == 200:
                    continue
                # A session caught between "GPUs chosen" and "process
                # started" may refuse the stop: try again shortly.
                with lock:
                    retries[0] += 1
                    if retries[0] > 10 * count:
                        raise RuntimeError(f"stop {sid}: {st} {raw[:300]!r}")
                time.sleep(0.002)
                to_stop.put(sid)
        except Exception as e:  # noqa: BLE001
            errors.append(f"stop: {e}")
            all_placed.set()

    def watcher():
        c = Conn(url, token)
        try:
            while not all_placed.is_set():
                for st in PLACED:
                    page = c.json("GET", f"/api/v1/sessions?state={st}&limit=1000")
                    for s in page["items"]:
                        if s["name"].startswith(prefix + "-"):
                            seen_placed(s["id"])
        except Exception as e:  # noqa: BLE001
            errors.append(f"watch: {e}")
            all_placed.set()

    threads = [threading.Thread(target=creator) for _ in range(creators)]
    threads += [threading.Thread(target=stopper) for _ in range(stoppers)]
    threads.append(threading.Thread(target=watcher))
    for t in threads:
        t.start()
    if not all_placed.wait(timeout=600):
        errors.append("not every session was placed within 600 s")
    placed_s = max(placed.values()) if len(placed) == count else None
    all_placed.set()
    for _ in range(stoppers):
        to_stop.put(None)
    for t in threads:
        t.join()
    if errors:
        print("slurm_client: burst failed: " + errors[0], file=sys.stderr)
        return 1
    c = Conn(url, token)
    queued_left = c.json("GET", "/api/v1/sessions?state=queued&limit=1")["total"]
    print(json.dumps({
        "count": count, "creators": creators, "stoppers": stoppers,
        "submitted_s": round(submitted[0], 4), "placed_s": round(placed_s, 4),
        "placed_at_create": at_create[0], "stop_retries": retries[0],
        "queued_left": queued_left,
    }))
    return 0 if queued_left == 0 else 1

def idle(url, token, seconds=60):
    c = Conn(url, token)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        busy = sum(c.json("GET", f"/api/v1/sessions?state={st}&limit=1")["total"] for st in BUSY)
        if busy == 0:
            return 0
        time.sleep(0.05)
    print(f"slurm_client: sessions still busy after {seconds} s", file=sys.stderr)
    return 1

def stopall(url, token, seconds=30):
    c = Conn(url, token)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        left = 0
        for st in ("queued",) + BUSY:
            for s in c.json("GET", f"/api/v1/sessions?state={st}&limit=1000")["items"]:
                left += 1
                if st != "stopping":
                    c.request("POST", f"/api/v1/sessions/{s['id']}/stop")
        if left == 0:
            return 0
        time.sleep(0.05)
    return 1

def main(argv):
    cmds = {"freeport": freeport, "wait": wait, "burst": burst, "idle": idle, "stopall": stopall}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]](*argv[2:]) or 0

if __name__ == "__main__":
    sys.exit(main(sys.argv))
