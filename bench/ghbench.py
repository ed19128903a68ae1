"""
ghbench.py — what the benchmark clients share: a keep-alive JSON client for
the gpuhub API, free ports, waiting for health, and the light environment
("bench-plain", a sleeping process ready when it runs) that keeps the
benchmarks about the hub rather than about Jupyter's start-up.
"""

import http.client
import json
import socket
import sys
import time
from urllib.parse import urlsplit

BENCH_ENV = "bench-plain"


class Conn:
    def __init__(self, url, token=None):
        u = urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.c = None

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.c.connect()
                self.c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.c.request(method, path, body=data, headers=self.headers)
                r = self.c.getresponse()
                raw = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.c.close()
                    self.c = None
                return r.status, raw
            except (http.client.HTTPException, ConnectionError, OSError):
                self.c.close()
                self.c = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def json(self, method, path, body=None, want=200):
        st, raw = self.request(method, path, body)
        if st != want:
            raise RuntimeError(f"{method} {path}: {st} {raw[:300]!r}")
        return json.loads(raw) if raw else None


def freeport(count=1):
    socks = []
    for _ in range(int(count)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    for s in socks:
        print(s.getsockname()[1])
        s.close()


def wait(url, seconds=30):
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        try:
            st, _ = Conn(url).request("GET", "/api/v1/health")
            if st == 200:
                return 0
        except OSError:
            pass
        time.sleep(0.05)
    print(f"{url} did not become healthy", file=sys.stderr)
    return 1


def ensure_env(url, token):
    """Creates the light benchmark environment unless it exists."""
    st, raw = Conn(url, token).request("POST", "/api/v1/environments", {
        "name": BENCH_ENV, "interface": "jupyter", "default_gpus": 0, "max_gpus": 8,
        "launch": {"local": {"command": ["sleep", "infinity"], "ready": ""}}})
    if st not in (201, 409):
        raise SystemExit(f"cannot create the benchmark environment: {st} {raw[:200]}")
