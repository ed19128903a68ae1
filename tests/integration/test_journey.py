"""
A user's first day: an admin creates the account, the user signs in, makes
an API token, picks an environment, gets a GPU, gives it back; sharing a GPU
by fractions; and other users cannot see or touch any of it.
"""

from conftest import (Api, PASSWORD, assert_error, launch, wait_for,
                      wait_state)

DEFAULT_ENVS = {"jupyter-python", "jupyter-pytorch", "vscode"}


def gpu_list(api):
    r = api.get("/gpus")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["simulated"] is True and doc["source"] == "sim", doc
    return doc["items"]


def gpus_of(api, sid):
    """{gpu index: milli} this session holds according to GET /gpus."""
    out = {}
    for g in gpu_list(api):
        for a in g["allocations"]:
            if a.get("session_id") == sid:
                out[g["index"]] = out.get(g["index"], 0) + a["milli"]
    return out


def test_user_journey(daemon, admin, anon):
    # the admin creates a user
    r = admin.post("/users", json={"name": "alice", "password": PASSWORD,
                                   "display_name": "Alice Liddell", "email": "alice@example.org"})
    assert r.status_code == 201, r.text
    u = r.json()
    assert u["name"] == "alice" and u["role"] == "user" and u["disabled"] is False
    assert "password" not in u and "pw_hash" not in u

    # she signs in: the cookie is HttpOnly and SameSite
    browser = Api(daemon)
    r = browser.post("/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["name"] == "alice"
    cookie = r.headers.get("set-cookie", "")
    assert "gpuhub_session=" in cookie, cookie
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs, cookie
    assert any(a.startswith("samesite=") for a in attrs), cookie
    r = browser.get("/me")
    assert r.status_code == 200 and r.json()["name"] == "alice", r.text

    # a wrong password is refused and sets no cookie
    r = anon.post("/login", json={"username": "alice", "password": "not-her-password"})
    assert_error(r, 401)
    assert "gpuhub_session=" not in r.headers.get("set-cookie", "")

    # she makes an API token; the secret is shown once, listings show a prefix
    r = browser.post("/tokens", json={"note": "laptop", "expires_in_days": 30})
    assert r.status_code == 201, r.text
    tok = r.json()
    assert tok["token"].startswith("gh_") and len(tok["token"]) == 46, tok
    assert tok["note"] == "laptop" and tok["expires_at"], tok
    assert tok["token"].startswith(tok["prefix"])
    r = browser.get("/tokens")
    assert r.status_code == 200
    listed = [t for t in r.json()["items"] if t["id"] == tok["id"]]
    assert len(listed) == 1 and "token" not in listed[0], r.text
    alice = Api(daemon, tok["token"])
    assert alice.get("/me").json()["name"] == "alice"

    # environments
    r = alice.get("/environments")
    assert r.status_code == 200, r.text
    envs = {e["name"]: e for e in r.json()["items"]}
    assert DEFAULT_ENVS <= set(envs), sorted(envs)
    assert envs["vscode"]["interface"] == "vscode"
    assert envs["jupyter-python"]["interface"] == "jupyter"
    r = alice.get("/environments/jupyter-pytorch")
    assert r.status_code == 200 and r.json()["name"] == "jupyter-pytorch"

    # every GPU is free to begin with
    before = gpu_list(alice)
    assert len(before) == 4
    assert all(g["allocated_milli"] == 0 and g["healthy"] for g in before), before
    assert all(g["model"] == "A100-80GB" and g["capacity_milli"] == 1000 for g in before)

    # she launches a session on one GPU (one whose GPUs are the session's:
    # jupyter-pytorch's follow its kernels, test_kernel_gpus.py)
    s = launch(alice, "train", env="jupyter-python", gpus=1)
    sid = s["id"]
    assert s["name"] == "train" and s["user"] == "alice" and s["env"] == "jupyter-python"
    assert s["gpu_milli"] == 1000 and s["gpus"] == 1, s
    assert s["state"] in ("queued", "starting", "running"), s
    s = wait_state(alice, sid, "running")
    assert len(s["allocations"]) == 1, s
    alloc = s["allocations"][0]
    assert alloc["milli"] == 1000 and alloc["model"] == "A100-80GB", alloc
    assert s["started_at"] and s["stopped_at"] is None, s

    # ... and sees it in GET /gpus
    held = gpus_of(alice, sid)
    assert held == {alloc["gpu"]: 1000}, held
    g = [g for g in gpu_list(alice) if g["index"] == alloc["gpu"]][0]
    assert g["allocated_milli"] == 1000
    assert g["uuid"] == alloc["uuid"]
    r = alice.get("/sessions")
    assert [x["id"] for x in r.json()["items"]] == [sid], r.text

    # she stops it and the GPU is free again
    r = alice.post(f"/sessions/{sid}/stop")
    assert r.status_code == 200, r.text
    assert r.json()["state"] in ("stopping", "stopped"), r.text
    s = wait_state(alice, sid, "stopped")
    assert s["allocations"] == [] and s["stopped_at"], s
    assert gpus_of(alice, sid) == {}
    assert all(g["allocated_milli"] == 0 for g in gpu_list(alice))

    # stopping again is a no-op; deleting makes it disappear
    r = alice.post(f"/sessions/{sid}/stop")
    assert r.status_code == 200 and r.json()["state"] == "stopped", r.text
    r = alice.delete(f"/sessions/{sid}")
    assert r.status_code == 204, r.text
    assert_error(alice.get(f"/sessions/{sid}"), 404, "not_found")

    # sign out: the cookie stops working, the token keeps working
    r = browser.post("/logout")
    assert r.status_code == 204, r.text
    browser.cookies.clear()
    assert alice.get("/me").status_code == 200


def test_logout_revokes_the_cookie(daemon, admin, make_user):
    make_user("dora")
    browser = Api(daemon)
    r = browser.post("/login", json={"username": "dora", "password": PASSWORD})
    assert r.status_code == 200
    value = browser.cookies.get("gpuhub_session")
    assert value
    assert browser.post("/logout").status_code == 204
    replay = Api(daemon)
    replay.headers["Cookie"] = f"gpuhub_session={value}"
    assert_error(replay.get("/me"), 401, "unauthenticated")


def test_create_answer_carries_the_allocation(make_user):
    u = make_user("erin")
    s = launch(u.api, "quick", gpus=1)
    if s["state"] != "queued":
        assert len(s["allocations"]) == 1 and s["allocations"][0]["milli"] == 1000, s


def test_fractions_share_one_gpu(make_user):
    u = make_user("frank")
    a = launch(u.api, "half-a", gpus=0.5)
    b = launch(u.api, "half-b", gpus=0.5)
    a = wait_state(u.api, a["id"], "running")
    b = wait_state(u.api, b["id"], "running")
    assert a["gpu_milli"] == 500 and a["gpus"] == 0.5, a
    assert [x["milli"] for x in a["allocations"]] == [500], a
    assert [x["milli"] for x in b["allocations"]] == [500], b
    ga, gb = a["allocations"][0]["gpu"], b["allocations"][0]["gpu"]
    assert ga == gb, f"two halves were spread over GPUs {ga} and {gb}"
    gpus = {g["index"]: g for g in gpu_list(u.api)}
    assert gpus[ga]["allocated_milli"] == 1000
    assert sorted(x["session_id"] for x in gpus[ga]["allocations"]) == sorted([a["id"], b["id"]])
    # the half-used GPU is now full: a whole GPU goes elsewhere
    c = wait_state(u.api, launch(u.api, "whole", gpus=1)["id"], "running")
    assert c["allocations"][0]["gpu"] != ga, c
    # stopping one half frees exactly half
    u.api.post(f"/sessions/{a['id']}/stop")
    wait_state(u.api, a["id"], "stopped")
    gpus = {g["index"]: g for g in gpu_list(u.api)}
    assert gpus[ga]["allocated_milli"] == 500


def test_cpu_only_session(make_user):
    u = make_user("gina")
    s = wait_state(u.api, launch(u.api, "cpu", gpus=0)["id"], "running")
    assert s["gpu_milli"] == 0 and s["allocations"] == [], s
    assert all(g["allocated_milli"] == 0 for g in gpu_list(u.api))


def test_other_users_cannot_see_or_touch(daemon, admin, make_user):
    alice = make_user("alice")
    bob = make_user("bob")
    s = launch(alice.api, "secret-work", gpus=1)
    sid = s["id"]
    wait_state(alice.api, sid, "running")

    # bob: 404 everywhere, exactly like a session that does not exist
    for method, path in [("GET", f"/sessions/{sid}"), ("POST", f"/sessions/{sid}/stop"),
                         ("DELETE", f"/sessions/{sid}"), ("DELETE", f"/sessions/{sid}?force=true"),
                         ("GET", f"/sessions/{sid}/events")]:
        r = bob.api.request(method, path, headers={"Accept": "application/json"})
        assert_error(r, 404, "not_found")
    r = bob.api.get("/sessions")
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["total"] == 0, r.text
    r = bob.api.get("/sessions", params={"all": "true"})
    assert_error(r, 403, "forbidden")
    r = bob.api.get("/sessions", params={"user": "alice"})
    assert_error(r, 403, "forbidden")

    # bob sees that a GPU is in use, but not by whom or for what
    for g in bob.api.get("/gpus").json()["items"]:
        for a in g["allocations"]:
            assert "session_id" not in a and "user" not in a, a

    # nor alice's tokens
    ids = [t["id"] for t in bob.api.get("/tokens").json()["items"]]
    assert alice.token_id not in ids and bob.token_id in ids
    assert_error(bob.api.delete(f"/tokens/{alice.token_id}"), 404, "not_found")
    assert alice.api.get("/me").status_code == 200

    # nor alice's account
    r = bob.api.get("/users/alice")
    assert r.status_code in (403, 404), r.text
    assert_error(bob.api.patch("/users/alice", json={"display_name": "x"}), 403, "forbidden")

    # alice's session is untouched; the admin sees it
    s = alice.api.get(f"/sessions/{sid}").json()
    assert s["state"] == "running", s
    r = admin.get(f"/sessions/{sid}")
    assert r.status_code == 200 and r.json()["user"] == "alice"
    r = admin.get("/sessions", params={"all": "true"})
    assert sid in [x["id"] for x in r.json()["items"]]
    # the admin may stop it
    assert admin.post(f"/sessions/{sid}/stop").status_code == 200
    wait_state(alice.api, sid, "stopped")


def test_delete_running_session_needs_force(make_user):
    u = make_user("hank")
    sid = launch(u.api, "busy", gpus=1)["id"]
    wait_state(u.api, sid, "running")
    assert_error(u.api.delete(f"/sessions/{sid}"), 409, "conflict")
    assert u.api.get(f"/sessions/{sid}").json()["state"] == "running"
    r = u.api.delete(f"/sessions/{sid}", params={"force": "true"})
    assert r.status_code == 204, r.text
    assert_error(u.api.get(f"/sessions/{sid}"), 404)
    wait_for(lambda: all(g["allocated_milli"] == 0 for g in gpu_list(u.api)),
             what="the GPU to be freed after a forced delete")


def test_deleted_user_loses_access(daemon, admin, make_user):
    u = make_user("ivan")
    sid = launch(u.api, "work", gpus=1)["id"]
    wait_state(u.api, sid, "running")
    assert admin.delete("/users/ivan").status_code == 204
    assert_error(u.api.get("/me"), 401, "unauthenticated")
    wait_for(lambda: all(g["allocated_milli"] == 0 for g in gpu_list(admin)),
             what="the deleted user's GPU to be freed")
    r = Api(daemon).post("/login", json={"username": "ivan", "password": PASSWORD})
    assert_error(r, 401)


def test_disabled_user_cannot_sign_in(daemon, admin, make_user):
    u = make_user("judy")
    r = admin.patch("/users/judy", json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True, r.text
    r = Api(daemon).post("/login", json={"username": "judy", "password": PASSWORD})
    assert r.status_code in (401, 403), r.text
    assert u.api.get("/me").status_code in (401, 403)


def test_admin_manages_the_catalog(daemon, admin, make_user):
    u = make_user("kim")
    # only name and interface are required; the rest have defaults
    r = admin.post("/environments", json={"name": "minimal", "interface": "vscode"})
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["name"] == "minimal" and e["interface"] == "vscode"
    for k in ("default_gpus", "max_gpus", "default_cpu_milli", "max_cpu_milli",
              "default_memory_mib", "max_memory_mib", "created_at"):
        assert k in e, (k, e)
    full = {"name": "tf-lab", "display_name": "TensorFlow lab", "interface": "jupyter",
            "labels": {"tensorflow": "2.14"}, "launch": {"local": {"command": ["sleep", "3600"]}},
            "default_gpus": 1, "max_gpus": 2}
    r = admin.post("/environments", json=full)
    assert r.status_code == 201, r.text
    assert r.json()["labels"] == {"tensorflow": "2.14"} and r.json()["max_gpus"] == 2
    assert_error(admin.post("/environments", json=full), 409, "conflict")
    names = {x["name"] for x in u.api.get("/environments").json()["items"]}
    assert {"minimal", "tf-lab"} <= names

    # the environment's maximum and default apply to sessions
    r = u.api.post("/sessions", json={"env": "tf-lab", "name": "too-many", "gpus": 3})
    assert_error(r, 400, "invalid", "gpus")
    r = u.api.post("/sessions", json={"env": "tf-lab", "name": "by-default"})
    assert r.status_code == 201 and r.json()["gpu_milli"] == 1000, r.text
    sid = r.json()["id"]

    # in use: cannot be removed; once stopped it can
    assert_error(admin.delete("/environments/tf-lab"), 409, "conflict")
    u.api.post(f"/sessions/{sid}/stop")
    wait_state(u.api, sid, "stopped")
    assert admin.delete("/environments/tf-lab").status_code == 204
    assert_error(u.api.get("/environments/tf-lab"), 404, "not_found")
    # the stopped session still reads well
    assert u.api.get(f"/sessions/{sid}").json()["env"] == "tf-lab"
