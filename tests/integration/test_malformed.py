"""
Bad input: each malformed request gets the right 4xx with the error shape
{"error":{"code","message"}} (naming the field where one is at fault), and
changes nothing: a snapshot of users, sessions, environments, tokens, events
and GPU allocations is the same before and after.

One daemon serves the whole module; it holds a user "carol" with a running
one-GPU session "keep" and a second user "dave".
"""

import json

import pytest

from conftest import (ADMIN_TOKEN, Api, Daemon, assert_error, create_user,
                      launch, raw_request, wait_state)


class World:
    pass


@pytest.fixture(scope="module")
def world(gpuhub_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("malformed")
    d = Daemon(gpuhub_bin, base / "data", base / "logs")
    try:
        d.start()
        w = World()
        w.daemon = d
        w.admin = Api(d, ADMIN_TOKEN)
        w.carol = create_user(w.admin, d, "carol")
        w.dave = create_user(w.admin, d, "dave")
        w.sid = launch(w.carol.api, "keep", gpus=1)["id"]
        wait_state(w.carol.api, w.sid, "running")
        yield w
    finally:
        reports = d.finish()
    assert not reports, "sanitizer reports in the daemon log:\n" + "\n".join(reports)


def snapshot(w):
    """Everything a bad request must not change (volatile fields left out)."""
    a = w.admin
    snap = {}
    r = a.get("/users")
    assert r.status_code == 200, r.text
    snap["users"] = sorted((json.dumps(u, sort_keys=True) for u in r.json()["items"]))
    r = a.get("/sessions", params={"all": "true", "limit": 1000})
    assert r.status_code == 200, r.text
    snap["sessions"] = sorted(
        (s["id"], s["name"], s["user"], s["env"], s["state"], s["gpu_milli"],
         json.dumps(s["allocations"], sort_keys=True)) for s in r.json()["items"])
    r = a.get("/environments")
    snap["environments"] = sorted(json.dumps(e, sort_keys=True) for e in r.json()["items"])
    for who, api in (("admin", a), ("carol", w.carol.api), ("dave", w.dave.api)):
        r = api.get("/tokens")
        assert r.status_code == 200, r.text
        snap["tokens." + who] = sorted((t["id"], t["note"], t["prefix"], t["expires_at"])
                                       for t in r.json()["items"])
    r = a.get("/gpus")
    snap["gpus"] = [(g["index"], g["allocated_milli"], g["healthy"], g["fault"],
                     json.dumps(g["allocations"], sort_keys=True)) for g in r.json()["items"]]
    r = a.get(f"/sessions/{w.sid}/events", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    snap["events"] = [(e["id"], e["type"]) for e in r.json()["items"]]
    return snap


JSON = {"Content-Type": "application/json"}
GOOD = {"env": "jupyter-python", "name": "fresh", "gpus": 1}


def body(**kw):
    b = dict(GOOD)
    for k, v in kw.items():
        if v is DROP:
            b.pop(k, None)
        else:
            b[k] = v
    return json.dumps(b)


DROP = object()

# (id, who, method, path, headers, body, status, code, field)
#   who: "admin" | "carol" | "dave" | None (no credentials) | "badtoken"
#   status may be a tuple of acceptable statuses where the contract allows more than one
CASES = [
    # malformed JSON
    ("truncated-json", "carol", "POST", "/api/v1/sessions", JSON, '{"env": "jupyter-python", "name": ', 400, "invalid", None),
    ("not-json", "carol", "POST", "/api/v1/sessions", JSON, "env=jupyter-python&name=x", 400, "invalid", None),
    ("json-array", "carol", "POST", "/api/v1/sessions", JSON, "[]", 400, "invalid", None),
    ("json-string", "carol", "POST", "/api/v1/sessions", JSON, '"hello"', 400, "invalid", None),
    ("empty-body", "carol", "POST", "/api/v1/sessions", JSON, "", 400, "invalid", None),
    ("trailing-garbage", "carol", "POST", "/api/v1/sessions", JSON, body() + "}", 400, "invalid", None),
    ("deep-nesting", "carol", "POST", "/api/v1/sessions", JSON, "[" * 5000 + "]" * 5000, 400, "invalid", None),
    ("invalid-utf8", "carol", "POST", "/api/v1/sessions", JSON, b'{"env":"jupyter-python","name":"\xff\xfe","gpus":1}', 400, "invalid", None),
    ("number-overflow", "carol", "POST", "/api/v1/sessions", JSON, '{"env":"jupyter-python","name":"big","gpus":1e999}', 400, "invalid", None),
    # unknown field, wrong types, missing required
    ("unknown-field", "carol", "POST", "/api/v1/sessions", JSON, body(colour="red"), 400, "invalid", "colour"),
    ("gpus-string", "carol", "POST", "/api/v1/sessions", JSON, body(gpus="one"), 400, "invalid", "gpus"),
    ("gpus-bool", "carol", "POST", "/api/v1/sessions", JSON, body(gpus=True), 400, "invalid", "gpus"),
    ("gpus-null", "carol", "POST", "/api/v1/sessions", JSON, body(gpus=None), 400, "invalid", "gpus"),
    ("env-number", "carol", "POST", "/api/v1/sessions", JSON, body(env=5), 400, "invalid", "env"),
    ("name-object", "carol", "POST", "/api/v1/sessions", JSON, body(name={"a": 1}), 400, "invalid", "name"),
    ("env-missing", "carol", "POST", "/api/v1/sessions", JSON, body(env=DROP), 400, "invalid", "env"),
    ("gpu-model-number", "carol", "POST", "/api/v1/sessions", JSON, body(gpu_model=80), 400, "invalid", "gpu_model"),
    # out of range
    ("gpus-negative", "carol", "POST", "/api/v1/sessions", JSON, body(gpus=-1), 400, "invalid", "gpus"),
    ("gpus-one-and-a-half", "carol", "POST", "/api/v1/sessions", JSON, body(gpus=1.5), 400, "invalid", "gpus"),
    ("gpus-thousand", "carol", "POST", "/api/v1/sessions", JSON, body(gpus=1000), 400, "invalid", "gpus"),
    ("gpus-negative-fraction", "carol", "POST", "/api/v1/sessions", JSON, body(gpus=-0.5), 400, "invalid", "gpus"),
    # names
    ("name-bad-chars", "carol", "POST", "/api/v1/sessions", JSON, body(name="bad name!"), 400, "invalid", "name"),
    ("name-slash", "carol", "POST", "/api/v1/sessions", JSON, body(name="../../etc"), 400, "invalid", "name"),
    ("name-too-long", "carol", "POST", "/api/v1/sessions", JSON, body(name="n" * 200), 400, "invalid", "name"),
    ("name-empty", "carol", "POST", "/api/v1/sessions", JSON, body(name=""), 400, "invalid", "name"),
    ("env-unknown", "carol", "POST", "/api/v1/sessions", JSON, body(env="no-such-env"), (400, 404), None, None),
    ("session-name-taken", "carol", "POST", "/api/v1/sessions", JSON, body(name="keep"), 409, "conflict", None),
    # path tricks (sent byte for byte, not normalised by the client)
    ("dotdot-users", "carol", "GET", "/api/v1/sessions/../users", {}, "", (400, 403, 404), None, None),
    ("dotdot-encoded", "carol", "GET", "/api/v1/sessions/%2e%2e/users", {}, "", (400, 403, 404), None, None),
    ("dotdot-delete-user", "carol", "DELETE", "/api/v1/sessions/../users/dave", {}, "", (400, 403, 404), None, None),
    ("dotdot-encoded-delete", "carol", "DELETE", "/api/v1/sessions/%2E%2E/users/dave", {}, "", (400, 403, 404), None, None),
    ("encoded-slash", "dave", "POST", "/api/v1/sessions/1%2f..%2f..%2fusers/stop", {}, "", (400, 404), None, None),
    # size
    ("body-too-large", "carol", "POST", "/api/v1/sessions", JSON,
     json.dumps({"env": "jupyter-python", "name": "big", "gpus": 1, "pad": "x" * (1536 * 1024)}),
     413, "too_large", None),
    # authentication and authorisation
    ("no-auth-sessions", None, "GET", "/api/v1/sessions", {}, "", 401, "unauthenticated", None),
    ("no-auth-create", None, "POST", "/api/v1/sessions", JSON, body(), 401, "unauthenticated", None),
    ("no-auth-stop", None, "POST", "/api/v1/sessions/{sid}/stop", {}, "", 401, "unauthenticated", None),
    ("bad-token", "badtoken", "GET", "/api/v1/me", {}, "", 401, "unauthenticated", None),
    ("basic-auth", None, "GET", "/api/v1/me", {"Authorization": "Basic YWRtaW46YWRtaW4="}, "", 401, "unauthenticated", None),
    ("bearer-empty", None, "GET", "/api/v1/me", {"Authorization": "Bearer "}, "", 401, "unauthenticated", None),
    ("bogus-cookie", None, "GET", "/api/v1/me", {"Cookie": "gpuhub_session=0123456789abcdef"}, "", 401, "unauthenticated", None),
    ("user-lists-users", "carol", "GET", "/api/v1/users", {}, "", 403, "forbidden", None),
    ("user-creates-user", "carol", "POST", "/api/v1/users", JSON, '{"name":"mallory","password":"long-enough-pw","role":"admin"}', 403, "forbidden", None),
    ("user-promotes-self", "carol", "PATCH", "/api/v1/users/carol", JSON, '{"role":"admin"}', 403, "forbidden", None),
    ("user-deletes-user", "carol", "DELETE", "/api/v1/users/dave", {}, "", 403, "forbidden", None),
    ("user-adds-env", "carol", "POST", "/api/v1/environments", JSON, '{"name":"mine","interface":"jupyter"}', 403, "forbidden", None),
    ("user-deletes-env", "carol", "DELETE", "/api/v1/environments/vscode", {}, "", 403, "forbidden", None),
    ("user-injects-fault", "carol", "POST", "/api/v1/gpus/0/fault", JSON, '{"type":"xid","xid":79}', 403, "forbidden", None),
    ("user-lists-all", "dave", "GET", "/api/v1/sessions?all=true", {}, "", 403, "forbidden", None),
    ("other-user-stops", "dave", "POST", "/api/v1/sessions/{sid}/stop", {}, "", 404, "not_found", None),
    ("other-user-deletes", "dave", "DELETE", "/api/v1/sessions/{sid}?force=true", {}, "", 404, "not_found", None),
    # content type
    ("text-plain", "carol", "POST", "/api/v1/sessions", {"Content-Type": "text/plain"}, body(), 415, "unsupported_media_type", None),
    ("form-encoded", "carol", "POST", "/api/v1/sessions", {"Content-Type": "application/x-www-form-urlencoded"}, "env=jupyter-python&name=x&gpus=1", 415, "unsupported_media_type", None),
    ("no-content-type", "carol", "POST", "/api/v1/sessions", {}, body(), 415, "unsupported_media_type", None),
    # methods
    ("put-sessions", "carol", "PUT", "/api/v1/sessions", JSON, body(), 405, "method_not_allowed", None),
    ("patch-health", None, "PATCH", "/api/v1/health", JSON, "{}", 405, "method_not_allowed", None),
    ("delete-gpus", "admin", "DELETE", "/api/v1/gpus", {}, "", 405, "method_not_allowed", None),
    ("get-login", None, "GET", "/api/v1/login", {}, "", 405, "method_not_allowed", None),
    ("get-stop", "carol", "GET", "/api/v1/sessions/{sid}/stop", {}, "", 405, "method_not_allowed", None),
    ("put-session", "carol", "PUT", "/api/v1/sessions/{sid}", JSON, body(), 405, "method_not_allowed", None),
    # ids
    ("id-missing", "carol", "GET", "/api/v1/sessions/999999", {}, "", 404, "not_found", None),
    ("id-letters", "carol", "GET", "/api/v1/sessions/abc", {}, "", (400, 404), None, None),
    ("id-negative", "carol", "POST", "/api/v1/sessions/-1/stop", {}, "", (400, 404), None, None),
    ("id-overflow", "carol", "DELETE", "/api/v1/sessions/99999999999999999999999", {}, "", (400, 404), None, None),
    ("id-float", "carol", "GET", "/api/v1/sessions/1.0", {}, "", (400, 404), None, None),
    ("id-hex", "carol", "GET", "/api/v1/sessions/0x1", {}, "", (400, 404), None, None),
    ("token-id-letters", "carol", "DELETE", "/api/v1/tokens/abc", {}, "", (400, 404), None, None),
    ("token-id-missing", "carol", "DELETE", "/api/v1/tokens/999999", {}, "", 404, "not_found", None),
    ("gpu-index-missing", "admin", "POST", "/api/v1/gpus/99/fault", JSON, '{"type":"xid","xid":79}', 404, "not_found", None),
    ("gpu-index-letters", "admin", "POST", "/api/v1/gpus/zero/fault", JSON, '{"type":"xid","xid":79}', (400, 404), None, None),
    ("user-missing", "admin", "GET", "/api/v1/users/nobody", {}, "", 404, "not_found", None),
    ("env-missing-get", "carol", "GET", "/api/v1/environments/nope", {}, "", 404, "not_found", None),
    ("unknown-route", "carol", "GET", "/api/v1/nope", {}, "", 404, "not_found", None),
    # query parameters
    ("limit-negative", "carol", "GET", "/api/v1/sessions?limit=-1", {}, "", 400, "invalid", "limit"),
    ("limit-letters", "carol", "GET", "/api/v1/sessions?limit=ten", {}, "", 400, "invalid", "limit"),
    ("offset-negative", "carol", "GET", "/api/v1/sessions?offset=-5", {}, "", 400, "invalid", "offset"),
    ("state-unknown", "carol", "GET", "/api/v1/sessions?state=sleeping", {}, "", 400, "invalid", "state"),
    # admin input is validated too
    ("user-bad-name", "admin", "POST", "/api/v1/users", JSON, '{"name":"Bad Name","password":"long-enough-pw"}', 400, "invalid", "name"),
    ("user-short-password", "admin", "POST", "/api/v1/users", JSON, '{"name":"shorty","password":"x"}', 400, "invalid", "password"),
    ("user-bad-role", "admin", "POST", "/api/v1/users", JSON, '{"name":"rooty","password":"long-enough-pw","role":"root"}', 400, "invalid", "role"),
    ("user-duplicate", "admin", "POST", "/api/v1/users", JSON, '{"name":"carol","password":"long-enough-pw"}', 409, "conflict", None),
    ("user-unknown-field", "admin", "POST", "/api/v1/users", JSON, '{"name":"newbie","password":"long-enough-pw","is_admin":true}', 400, "invalid", "is_admin"),
    ("patch-disabled-string", "admin", "PATCH", "/api/v1/users/carol", JSON, '{"disabled":"yes"}', 400, "invalid", "disabled"),
    ("patch-unknown-field", "admin", "PATCH", "/api/v1/users/carol", JSON, '{"name":"carla"}', 400, "invalid", "name"),
    ("env-duplicate", "admin", "POST", "/api/v1/environments", JSON, '{"name":"vscode","interface":"vscode","launch":{"local":{"command":["sleep","1"]}}}', 409, "conflict", None),
    ("env-no-interface", "admin", "POST", "/api/v1/environments", JSON, '{"name":"lonely"}', 400, "invalid", "interface"),
    ("env-bad-interface", "admin", "POST", "/api/v1/environments", JSON, '{"name":"odd","interface":"emacs"}', 400, "invalid", "interface"),
    ("env-bad-name", "admin", "POST", "/api/v1/environments", JSON, '{"name":"UPPER case","interface":"jupyter"}', 400, "invalid", "name"),
    ("env-max-below-default", "admin", "POST", "/api/v1/environments", JSON, '{"name":"inverted","interface":"jupyter","default_gpus":4,"max_gpus":1}', 400, "invalid", None),
    ("env-in-use", "admin", "DELETE", "/api/v1/environments/jupyter-python", {}, "", 409, "conflict", None),
    ("fault-bad-type", "admin", "POST", "/api/v1/gpus/0/fault", JSON, '{"type":"meltdown"}', 400, "invalid", "type"),
    ("fault-xid-string", "admin", "POST", "/api/v1/gpus/0/fault", JSON, '{"type":"xid","xid":"79"}', 400, "invalid", "xid"),
    ("token-negative-expiry", "carol", "POST", "/api/v1/tokens", JSON, '{"expires_in_days":-5}', 400, "invalid", "expires_in_days"),
    ("token-note-number", "carol", "POST", "/api/v1/tokens", JSON, '{"note":5}', 400, "invalid", "note"),
    ("login-bad-password", None, "POST", "/api/v1/login", JSON, '{"username":"carol","password":"wrong-password"}', 401, "unauthenticated", None),
    ("login-unknown-user", None, "POST", "/api/v1/login", JSON, '{"username":"zed","password":"wrong-password"}', 401, "unauthenticated", None),
    ("login-unknown-field", None, "POST", "/api/v1/login", JSON, '{"username":"carol","password":"x","otp":1}', 400, "invalid", "otp"),
    ("login-missing-password", None, "POST", "/api/v1/login", JSON, '{"username":"carol"}', 400, "invalid", "password"),
]


def credentials(w, who):
    if who == "admin":
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if who in ("carol", "dave"):
        return {"Authorization": f"Bearer {getattr(w, who).token}"}
    if who == "badtoken":
        return {"Authorization": "Bearer gh_" + "A" * 43}
    return {}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_and_changes_nothing(world, case):
    _id, who, method, path, headers, data, status, code, field = case
    w = world
    path = path.replace("{sid}", str(w.sid))
    hdrs = dict(credentials(w, who))
    hdrs.update(headers)
    before = snapshot(w)
    r = raw_request(w.daemon, method, path, headers=hdrs, body=data)
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, f"{method} {path}: expected {statuses}, got {r.status_code}: {r.text[:400]}"
    assert_error(r, r.status_code, code, field)
    assert w.daemon.alive(), "the daemon died"
    after = snapshot(w)
    for key in before:
        assert before[key] == after[key], f"{key} changed"


@pytest.mark.parametrize("path", ["/api/v1/../../etc/passwd", "/api/v1/%2e%2e/%2e%2e/etc/passwd",
                                  "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"])
def test_path_escape_serves_no_file(world, path):
    r = raw_request(world.daemon, "GET", path,
                    headers={"Authorization": f"Bearer {world.carol.token}"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert "root:" not in r.text


def test_case_count():
    assert len(CASES) >= 20


def test_still_serving_after_all_that(world):
    s = world.carol.api.get(f"/sessions/{world.sid}").json()
    assert s["state"] == "running"
    r = world.carol.api.post("/sessions", json={"env": "jupyter-python", "name": "after", "gpus": 0})
    assert r.status_code == 201, r.text
