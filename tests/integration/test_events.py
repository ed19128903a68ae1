"""
Progress events: GET /sessions/{id}/events streams server-sent events
(id:/event:/data: lines; past events first) up to "running", honours
Last-Event-ID, and answers a JSON list to Accept: application/json.
"""

import json
import socket
import time

import requests

from conftest import assert_error, launch, wait_state


class SSEReader:
    """Parses a text/event-stream response into {"id","event","data"} dicts.
    Keeps its place, so it can be asked again for later events."""

    def __init__(self, resp):
        self.it = resp.iter_content(chunk_size=None)
        self.buf = b""
        self.cur = {}
        self.events = []

    def until(self, pred, timeout=30.0):
        """Reads until pred(all events so far) is true; returns the events
        read by this call."""
        start = len(self.events)
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self._line(line.rstrip(b"\r").decode())
                if pred(self.events):
                    return self.events[start:]
            if time.monotonic() > deadline:
                break
            try:
                chunk = next(self.it)
            except (StopIteration, requests.exceptions.ConnectionError, socket.timeout):
                break
            self.buf += chunk
        raise AssertionError(f"stream ended or timed out; got {self.events!r}, partial {self.buf[:200]!r}")

    def _line(self, line):
        if line == "":
            if "data" in self.cur:
                self.events.append(self.cur)
            self.cur = {}
            return
        if line.startswith(":"):
            return                  # comment / keep-alive
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            self.cur["data"] = self.cur["data"] + "\n" + value if "data" in self.cur else value
        elif field in ("id", "event", "retry"):
            self.cur[field] = value


def read_sse(resp, until, timeout=30.0):
    return SSEReader(resp).until(until, timeout)


def reached_running(evs):
    return any(json.loads(e["data"]).get("state") == "running" for e in evs)


def test_progress_stream_to_running(daemon, make_user):
    u = make_user("sse")
    # subscribe as early as possible; past events come first anyway
    s = launch(u.api, "watch-me", gpus=1)
    sid = s["id"]
    with u.api.get(f"/sessions/{sid}/events", headers={"Accept": "text/event-stream"},
                   stream=True, timeout=(5, 30)) as r:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/event-stream"), r.headers
        evs = read_sse(r, reached_running)

    assert evs, "no events"
    ids = []
    for e in evs:
        assert "id" in e and "event" in e, e
        d = json.loads(e["data"])
        assert d["session_id"] == sid, d
        assert str(d["id"]) == e["id"], e
        assert d["type"] == e["event"], e
        assert d["ts"] and isinstance(d["message"], str), d
        assert 0 <= d["percent"] <= 100 or d["percent"] == -1, d
        ids.append(int(e["id"]))
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    states = [json.loads(e["data"])["state"] for e in evs]
    assert states[-1] == "running" or "running" in states, states
    first = json.loads(evs[0]["data"])
    assert first["state"] in ("queued", "starting"), states
    last = [json.loads(e["data"]) for e in evs if json.loads(e["data"])["state"] == "running"][0]
    assert last["percent"] in (100, -1), last

    # the same history as JSON
    r = u.api.get(f"/sessions/{sid}/events", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    items = r.json()["items"]
    assert [str(e["id"]) for e in items[:len(evs)]] == [e["id"] for e in evs]

    # Last-Event-ID: resume after the first event
    with u.api.get(f"/sessions/{sid}/events", stream=True, timeout=(5, 30),
                   headers={"Accept": "text/event-stream", "Last-Event-ID": evs[0]["id"]}) as r:
        assert r.status_code == 200
        again = read_sse(r, reached_running)
    assert [e["id"] for e in again[:len(evs) - 1]] == [e["id"] for e in evs[1:]], (again, evs)


def test_stream_follows_stop(daemon, make_user):
    u = make_user("sse2")
    sid = launch(u.api, "stop-me", gpus=1)["id"]
    wait_state(u.api, sid, "running")
    with u.api.get(f"/sessions/{sid}/events", headers={"Accept": "text/event-stream"},
                   stream=True, timeout=(5, 30)) as r:
        assert r.status_code == 200
        sse = SSEReader(r)
        sse.until(reached_running)
        assert u.api.post(f"/sessions/{sid}/stop").status_code == 200
        evs = sse.until(lambda evs: any(json.loads(e["data"])["state"] == "stopped" for e in evs))
    assert any(json.loads(e["data"])["state"] == "stopped" for e in evs)


def test_stream_needs_auth_and_ownership(daemon, anon, make_user):
    u = make_user("sse3")
    other = make_user("sse4")
    sid = launch(u.api, "mine", gpus=0)["id"]
    assert_error(anon.get(f"/sessions/{sid}/events"), 401, "unauthenticated")
    assert_error(other.api.get(f"/sessions/{sid}/events"), 404, "not_found")
    assert_error(u.api.get("/sessions/999999/events"), 404, "not_found")
