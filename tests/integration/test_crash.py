"""
Crash safety: `kill -9` of the hub leaves workspaces running; the restarted
hub adopts them with their allocations and routes, and a workspace that died
meanwhile is marked failed with its GPU freed.
"""

import os
import signal

import requests

from conftest import ADMIN_TOKEN, Api, create_user, launch, wait_state

HERE = os.path.dirname(os.path.abspath(__file__))


def workspace_pid(daemon, sid):
    """The workspace leader's pid: the process whose cwd is the session's work dir."""
    want = os.path.join(daemon.data_dir, "sessions", str(sid))
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{p}/cwd") == want:
                return int(p)
        except OSError:
            pass
    raise AssertionError(f"no process runs in {want}")


def test_kill_9_then_restart_adopts_and_marks_the_dead(daemon):
    admin = Api(daemon, ADMIN_TOKEN)
    r = admin.post("/environments", json={
        "name": "echo", "interface": "jupyter", "default_gpus": 1,
        "launch": {"local": {"command": ["/usr/bin/python3",
                                         os.path.join(HERE, "workspace_echo.py")]}}})
    assert r.status_code == 201, r.text
    cy = create_user(admin, daemon, "cy")
    sessions = [launch(cy.api, f"w{i}", env="echo", gpus=1) for i in range(3)]
    for s in sessions:
        wait_state(cy.api, s["id"], ["running"])
    before = {s["id"]: cy.api.get(f"/sessions/{s['id']}").json()["allocations"] for s in sessions}

    # the hub dies hard; one workspace dies while it is down
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    dead = sessions[1]["id"]
    os.kill(workspace_pid(daemon, dead), signal.SIGKILL)
    daemon.start(port=daemon.port)

    for s in (sessions[0], sessions[2]):
        got = cy.api.get(f"/sessions/{s['id']}").json()
        assert got["state"] == "running", got
        assert got["allocations"] == before[s["id"]]
        # the route works again: the same workspace answers through the proxy
        r = requests.get(f"{daemon.url}/user/cy/{s['name']}/x",
                         headers={"Authorization": f"Bearer {cy.token}"}, timeout=10)
        assert r.status_code == 200 and r.json()["path"] == f"/user/cy/{s['name']}/x", r.text
    got = wait_state(cy.api, dead, ["failed"])
    assert got["allocations"] == [] and "ended" in got["reason"], got
    freed = before[dead][0]["gpu"]
    gpu = next(g for g in admin.get("/gpus").json()["items"] if g["index"] == freed)
    assert gpu["allocated_milli"] == 0, gpu
    admin.close()
