"""
The API document and the live daemon agree: every route in
src/api/openapi.json exists on the daemon, every route the daemon serves
(the routes table of docs/api.md, plus every other method on those paths and
a list of plausible extra paths) is in the document; the served document is
the one in the repo. Also: pagination and filters of GET /sessions.

"Exists" means the daemon answers something other than its unknown-route
reply (404 not_found naming the route) or 405. Probes use an admin, existing
objects for reads and objects that do not exist (or throwaway ones) for
writes, so they change nothing that matters.
"""

import json
import os
import re

import pytest

from conftest import REPO, Api, assert_error, create_user, launch, wait_state

METHODS = ("get", "post", "put", "patch", "delete")
DOC_PATH = os.path.join(REPO, "src", "api", "openapi.json")
API_MD = os.path.join(REPO, "docs", "api.md")


def load_doc():
    assert os.path.isfile(DOC_PATH), f"{DOC_PATH} is missing"
    with open(DOC_PATH) as f:
        return json.load(f)


def doc_routes(doc):
    """{(METHOD, normalised path)} where params become {}; paths are made
    absolute under /api/v1 whatever the servers entry says."""
    prefix = ""
    for srv in doc.get("servers", []):
        u = srv.get("url", "")
        m = re.search(r"(/api/v1)/?$", u)
        if m:
            prefix = "/api/v1"
    out = set()
    for path, item in doc["paths"].items():
        full = path if path.startswith("/api/v1") else prefix + path
        if not full.startswith("/api/v1"):
            full = "/api/v1" + path
        norm = re.sub(r"\{[^}]+\}", "{}", full)
        for m in METHODS:
            if m in item:
                out.add((m.upper(), norm))
    return out


def md_routes():
    """{(METHOD, normalised path)} from the routes table of docs/api.md."""
    out = set()
    with open(API_MD) as f:
        for line in f:
            m = re.match(r"\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*(/\S+)\s*\|", line)
            if m:
                out.add((m.group(1), "/api/v1" + re.sub(r"\{[^}]+\}", "{}", m.group(2))))
    return out


class Prober:
    """Fills path parameters and tells a served route from an unknown one."""

    def __init__(self, daemon, admin):
        self.daemon = daemon
        self.admin = admin
        r = admin.get("/this-route-does-not-exist-xyz")
        self.unknown = assert_error(r, 404, "not_found")
        assert "route" in self.unknown["message"].lower() or \
            "/this-route-does-not-exist-xyz" in self.unknown["message"], self.unknown
        # objects for reads
        self.sid = launch(admin, "probe-target", gpus=0)["id"]
        r = admin.post("/tokens", json={"note": "probe"})
        assert r.status_code == 201, r.text
        self.token_id = r.json()["id"]
        r = admin.post("/users", json={"name": "probe-user", "password": "probe-password-1"})
        assert r.status_code == 201, r.text

    def fill(self, method, path):
        """Concrete path: existing objects for GET, absent ones otherwise."""
        read = method == "GET"
        parts = path.split("/")
        for i, p in enumerate(parts):
            if p != "{}":
                continue
            coll = parts[i - 1]
            if coll == "sessions":
                parts[i] = str(self.sid) if read else "999999"
            elif coll == "tokens":
                parts[i] = str(self.token_id) if read else "999999"
            elif coll == "users":
                parts[i] = "probe-user" if read else "no-such-user"
            elif coll == "environments":
                parts[i] = "jupyter-python" if read else "no-such-env"
            elif coll == "gpus":
                parts[i] = "0" if read else "99"
            else:
                parts[i] = "1" if read else "999999"
        return "/".join(parts)

    def probe(self, method, path):
        """(served?, response) for METHOD on a normalised path."""
        concrete = self.fill(method, path)
        kw = {"headers": {"Accept": "application/json"}}
        if method in ("POST", "PUT", "PATCH"):
            kw["json"] = {}
        if concrete.endswith("/logout"):
            # sign in separately so the probe does not sign the admin out
            other = Api(self.daemon)
            other.post("/login", json={"username": "probe-user", "password": "probe-password-1"})
            r = other.request(method, concrete, **kw)
        else:
            r = self.admin.request(method, concrete, **kw)
        return self.served(r, concrete), r

    def served(self, r, concrete):
        if r.status_code == 405:
            return False
        if r.status_code != 404:
            return True
        try:
            err = r.json()["error"]
        except (ValueError, KeyError, TypeError):
            return False
        msg = err.get("message", "")
        return not ("route" in msg.lower() or concrete in msg or
                    concrete.split("?")[0] in msg)


@pytest.fixture
def prober(daemon, admin):
    return Prober(daemon, admin)


def test_document_is_valid_and_served(daemon, anon):
    doc = load_doc()
    assert str(doc.get("openapi", "")).startswith("3."), doc.get("openapi")
    assert doc.get("info", {}).get("title") and doc["info"].get("version")
    assert doc["paths"], "no paths"
    for path, item in doc["paths"].items():
        for m in METHODS:
            if m in item:
                op = item[m]
                assert op.get("responses"), f"{m.upper()} {path} has no responses"
                for p in re.findall(r"\{([^}]+)\}", path):
                    params = op.get("parameters", []) + item.get("parameters", [])
                    assert any(x.get("name") == p and x.get("in") == "path" for x in params
                               if isinstance(x, dict) and "$ref" not in x) or \
                        any("$ref" in x for x in params if isinstance(x, dict)), \
                        f"{m.upper()} {path}: path parameter {p} not declared"
    r = anon.get("/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == doc, "the served document differs from src/api/openapi.json"


def test_every_documented_route_exists(prober):
    missing = []
    for method, path in sorted(doc_routes(load_doc())):
        ok, r = prober.probe(method, path)
        if not ok:
            missing.append(f"{method} {path} -> {r.status_code} {r.text[:120]}")
    assert not missing, "documented but not served:\n" + "\n".join(missing)


def test_api_md_and_document_agree():
    doc = doc_routes(load_doc())
    md = md_routes()
    assert len(md) >= 20, md
    assert not (md - doc), f"in docs/api.md but not in openapi.json: {sorted(md - doc)}"
    assert not (doc - md), f"in openapi.json but not in docs/api.md: {sorted(doc - md)}"


EXTRA_PATHS = [
    "/api/v1", "/api/v1/", "/api/v1/groups", "/api/v1/events", "/api/v1/version",
    "/api/v1/config", "/api/v1/metrics", "/api/v1/admin", "/api/v1/status",
    "/api/v1/sessions/{}/start", "/api/v1/sessions/{}/suspend", "/api/v1/sessions/{}/resume",
    "/api/v1/sessions/{}/wake", "/api/v1/sessions/{}/logs", "/api/v1/sessions/{}/allocations",
    "/api/v1/gpus/{}", "/api/v1/gpus/{}/telemetry", "/api/v1/users/{}/tokens",
    "/api/v1/users/{}/sessions", "/api/v1/me/tokens", "/api/v1/tokens/{}/revoke",
    "/api/v1/environments/{}/sessions", "/api/v1/login/oidc", "/api/v1/health/live",
]


def test_every_served_route_is_documented(prober):
    doc = doc_routes(load_doc())
    candidates = set(md_routes())
    for _, path in list(candidates):
        for m in METHODS:
            candidates.add((m.upper(), path))
    for path in EXTRA_PATHS:
        for m in METHODS:
            candidates.add((m.upper(), path))
    undocumented = []
    for method, path in sorted(candidates):
        if (method, path) in doc:
            continue
        ok, r = prober.probe(method, path)
        if ok:
            undocumented.append(f"{method} {path} -> {r.status_code} {r.text[:120]}")
    assert not undocumented, "served but not documented:\n" + "\n".join(undocumented)


# --------------------------------------------------------------------------
# pagination and filters

@pytest.fixture
def population(daemon, admin):
    """alice: 7 sessions (2 stopped, 2 on vscode); bob: 3 sessions."""
    alice = create_user(admin, daemon, "alice")
    bob = create_user(admin, daemon, "bob")
    a_ids = []
    for i in range(7):
        env = "vscode" if i in (1, 4) else "jupyter-python"
        a_ids.append(launch(alice.api, f"a{i}", env=env, gpus=0)["id"])
    for sid in a_ids[:2]:
        wait_state(alice.api, sid, ("running",))
        assert alice.api.post(f"/sessions/{sid}/stop").status_code == 200
        wait_state(alice.api, sid, "stopped")
    b_ids = [launch(bob.api, f"b{i}", gpus=0)["id"] for i in range(3)]
    for sid in a_ids[2:]:
        wait_state(alice.api, sid, "running")
    return alice, bob, a_ids, b_ids


def page(api, **params):
    r = api.get("/sessions", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_pagination(population):
    alice, bob, a_ids, _ = population
    whole = page(alice.api)
    assert whole["total"] == 7 and whole["limit"] == 50 and whole["offset"] == 0, whole
    assert sorted(s["id"] for s in whole["items"]) == sorted(a_ids)
    seen = []
    for off in (0, 3, 6):
        p = page(alice.api, limit=3, offset=off)
        assert p["total"] == 7 and p["limit"] == 3 and p["offset"] == off, p
        assert len(p["items"]) == (3 if off < 6 else 1), p
        seen += [s["id"] for s in p["items"]]
    assert sorted(seen) == sorted(a_ids) and len(set(seen)) == 7, seen
    # the order is stable: pages concatenate to the full list
    assert seen == [s["id"] for s in whole["items"]]
    p = page(alice.api, limit=3, offset=100)
    assert p["items"] == [] and p["total"] == 7


def test_filters(population):
    alice, bob, a_ids, b_ids = population
    p = page(alice.api, state="stopped")
    assert p["total"] == 2 and sorted(s["id"] for s in p["items"]) == sorted(a_ids[:2])
    assert all(s["state"] == "stopped" for s in p["items"])
    p = page(alice.api, state="running")
    assert p["total"] == 5 and all(s["state"] == "running" for s in p["items"])
    p = page(alice.api, env="vscode")
    assert sorted(s["id"] for s in p["items"]) == sorted([a_ids[1], a_ids[4]])
    p = page(alice.api, env="vscode", state="running")
    assert [s["id"] for s in p["items"]] == [a_ids[4]]
    # bob sees only his own
    p = page(bob.api)
    assert p["total"] == 3 and sorted(s["id"] for s in p["items"]) == sorted(b_ids)


def test_admin_filters(population, admin):
    alice, bob, a_ids, b_ids = population
    p = page(admin, all="true", limit=100)
    ids = {s["id"] for s in p["items"]}
    assert set(a_ids) | set(b_ids) <= ids
    p = page(admin, user="bob")
    assert sorted(s["id"] for s in p["items"]) == sorted(b_ids) and p["total"] == 3
    assert all(s["user"] == "bob" for s in p["items"])
    p = page(admin, user="alice", state="stopped")
    assert sorted(s["id"] for s in p["items"]) == sorted(a_ids[:2])
    # the admin's own list is the admin's sessions only
    p = page(admin)
    assert not ({s["id"] for s in p["items"]} & (set(a_ids) | set(b_ids)))
