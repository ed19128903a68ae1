"""
Durability: a restart on the same data dir keeps users, tokens, sessions
(running ones stay running with their GPUs), and the event history; a second
daemon on the same data dir refuses to start; the first start without
GPUHUB_ADMIN_TOKEN prints a one-time admin password that works.
"""

import re
import time

from conftest import (Api, PASSWORD, assert_error, launch, wait_for,
                      wait_state)


def events(api, sid):
    r = api.get(f"/sessions/{sid}/events", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_restart_keeps_all_state(daemon, admin, make_user):
    alice = make_user("alice")
    bob = make_user("bob", role="admin")
    r = admin.post("/environments", json={"name": "custom-env", "display_name": "Custom",
                                          "interface": "jupyter", "labels": {"pytorch": "2.1"},
                                          "launch": {"local": {"command": ["sleep", "3600"]}}})
    assert r.status_code == 201, r.text
    env_before = r.json()

    running = wait_state(alice.api, launch(alice.api, "long-run", gpus=1)["id"], "running")
    half = wait_state(alice.api, launch(alice.api, "half", gpus=0.5)["id"], "running")
    done = wait_state(alice.api, launch(alice.api, "done", env="vscode", gpus=0)["id"], "running")
    alice.api.post(f"/sessions/{done['id']}/stop")
    done = wait_state(alice.api, done["id"], "stopped")

    users_before = admin.get("/users").json()["items"]
    tokens_before = alice.api.get("/tokens").json()["items"]
    sessions_before = {s["id"]: s for s in admin.get("/sessions", params={"all": "true"}).json()["items"]}
    events_before = {sid: events(alice.api, sid) for sid in sessions_before}
    gpus_before = {g["index"]: g["allocated_milli"] for g in admin.get("/gpus").json()["items"]}

    rc = daemon.restart()       # checked at the end, after the state

    # users and tokens (the API tokens made before still work)
    assert alice.api.get("/me").json()["name"] == "alice"
    assert bob.api.get("/me").json()["role"] == "admin"
    assert admin.get("/me").json()["name"] == "admin"
    users_after = admin.get("/users").json()["items"]
    key = lambda u: u["name"]  # noqa: E731
    assert sorted(users_after, key=key) == sorted(users_before, key=key)
    tokens_after = alice.api.get("/tokens").json()["items"]
    strip = lambda ts: sorted(({k: v for k, v in t.items() if k != "last_used_at"} for t in ts),  # noqa: E731
                              key=lambda t: t["id"])
    assert strip(tokens_after) == strip(tokens_before)

    # passwords still work
    r = Api(daemon).post("/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200, r.text

    # the catalog
    r = admin.get("/environments/custom-env")
    assert r.status_code == 200 and r.json() == env_before, r.text

    # sessions: same ids, names, owners; running ones still running, with the same GPUs
    sessions_after = {s["id"]: s for s in admin.get("/sessions", params={"all": "true"}).json()["items"]}
    assert set(sessions_after) == set(sessions_before)
    for sid, b in sessions_before.items():
        a = sessions_after[sid]
        for k in ("name", "user", "env", "gpu_milli", "created_at", "started_at"):
            assert a[k] == b[k], (sid, k, b[k], a[k])
    for s in (running, half):
        a = wait_state(alice.api, s["id"], "running", timeout=10)
        assert a["allocations"] == s["allocations"], (s["allocations"], a["allocations"])
    a = sessions_after[done["id"]]
    assert a["state"] == "stopped" and a["stopped_at"] == done["stopped_at"]
    gpus_after = {g["index"]: g["allocated_milli"] for g in admin.get("/gpus").json()["items"]}
    assert gpus_after == gpus_before

    # the event history is kept (new events may follow it, none is lost or renumbered)
    for sid, evs in events_before.items():
        after = events(alice.api, sid)
        assert [(e["id"], e["type"], e["state"]) for e in after[:len(evs)]] == \
               [(e["id"], e["type"], e["state"]) for e in evs], sid

    # and the restarted daemon still works: stop, new sessions, no double allocation
    alice.api.post(f"/sessions/{running['id']}/stop")
    wait_state(alice.api, running["id"], "stopped")
    fresh = wait_state(alice.api, launch(alice.api, "after-restart", gpus=1)["id"], "running")
    held = {}
    for g in admin.get("/gpus").json()["items"]:
        assert g["allocated_milli"] <= g["capacity_milli"], g
        held[g["index"]] = g["allocated_milli"]
    assert sum(held.values()) == 1500, held
    assert fresh["id"] not in sessions_before
    assert rc == 0, f"the first daemon exited with status {rc} on SIGTERM"


def test_restart_twice_and_ids_keep_growing(daemon, admin, make_user):
    u = make_user("carl")
    first = launch(u.api, "one", gpus=0)["id"]
    daemon.restart()
    daemon.restart()
    second = launch(u.api, "two", gpus=0)["id"]
    assert second > first
    assert u.api.get(f"/sessions/{first}").status_code == 200


def test_second_daemon_on_same_data_dir_refuses(daemon, daemon_factory, admin):
    other = daemon_factory(data_dir=daemon.data_dir, name="second", start=False)
    proc = other.spawn(port=None)
    try:
        rc = proc.wait(timeout=20)
    except Exception:
        raise AssertionError("a second daemon on the same data dir kept running")
    assert rc != 0
    text = other.log().lower()
    assert "already" in text or "locked" in text, text
    # the first one is unharmed
    assert admin.get("/me").status_code == 200
    assert daemon.alive()


def test_sigterm_exits_cleanly(daemon, admin, make_user):
    u = make_user("sam")
    wait_state(u.api, launch(u.api, "w", gpus=1)["id"], "running")
    assert daemon.stop() == 0


def test_one_time_admin_password(daemon_factory):
    d = daemon_factory(admin_token=None)
    line = wait_for(lambda: next((l for l in d.log().splitlines() if "password:" in l), None),
                    timeout=10, what="the one-time admin password line")
    pw = line.split("password:", 1)[1].strip().split()[0].strip("\"'")
    api = Api(d)
    r = api.post("/login", json={"username": "admin", "password": pw})
    assert r.status_code == 200, (line, r.text)
    assert r.json()["user"]["role"] == "admin"
    assert api.get("/users").status_code == 200
    # printed once only: a restart on a non-empty store prints no new password
    d.restart()
    time.sleep(0.2)
    assert not re.search(r"password:", d.log()), d.log()
    r = Api(d).post("/login", json={"username": "admin", "password": pw})
    assert r.status_code == 200


def test_admin_token_env_not_reapplied(daemon_factory, tmp_path):
    d = daemon_factory()
    from conftest import ADMIN_TOKEN, make_token
    assert Api(d, ADMIN_TOKEN).get("/me").status_code == 200
    d.stop()
    d.admin_token = make_token()
    d.start()
    # the store is not empty: the new value is no credential
    assert_error(Api(d, d.admin_token).get("/me"), 401, "unauthenticated")
    assert Api(d, ADMIN_TOKEN).get("/me").status_code == 200


def test_sigterm_when_idle_exits_cleanly(daemon):
    # no connection open and none in flight: nothing for the shutdown to drain
    time.sleep(1.5)
    assert daemon.stop() == 0
