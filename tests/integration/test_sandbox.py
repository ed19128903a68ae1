"""
Workspaces with runtime.sandbox and runtime.accounts: each user's workspace
runs as that user's own account (gh-<user>) inside bubblewrap: the system is
read-only, other homes and the hub's own files are invisible, its home is
its own and persists.
"""

import os
import subprocess

from conftest import launch, needs_sandbox, wait_state, wait_for

PROBE = r"""
echo "user=$(id -un)"
echo "home=$HOME"
echo "home-dir=[$(ls -A /home | tr '\n' ' ')]"
if [ -e "$GPUHUB_HOME/../bob" ]; then echo other-home=visible; else echo other-home=hidden; fi
if [ -e "$DATA_DIR/gpuhub.db" ]; then echo db=visible; else echo db=hidden; fi
if touch /usr/gpuhub-probe 2>/dev/null; then echo usr=writable; else echo usr=read-only; fi
echo mine > "$HOME/mine.txt" && echo home=writable
echo "pid=$$"
exec sleep infinity
"""


@needs_sandbox
def test_workspace_runs_as_its_user_in_a_sandbox(sandbox_hub):
    admin, data = sandbox_hub.admin, sandbox_hub.data
    script = PROBE.replace("$DATA_DIR", data)
    r = admin.post("/environments", json={
        "name": "probe", "interface": "jupyter", "default_gpus": 0,
        "launch": {"local": {"command": ["/bin/sh", "-c", script], "ready": ""}}})
    assert r.status_code == 201, r.text
    alice = sandbox_hub.create_user("alice")
    bob = sandbox_hub.create_user("bob")
    sb = launch(bob.api, "b", env="probe", gpus=0)       # bob's home exists too
    wait_state(bob.api, sb["id"], ["running"])
    s = launch(alice.api, "a", env="probe", gpus=0)
    wait_state(alice.api, s["id"], ["running"])

    def log():
        t = alice.api.get(f"/sessions/{s['id']}/logs").text
        return t if "pid=" in t else None
    out = wait_for(log, 20, 0.1, "the probe's output")
    facts = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert facts["user"] == "gh-alice", out
    assert facts["other-home"] == "hidden", out
    assert facts["db"] == "hidden", out
    assert facts["usr"] == "read-only", out
    assert facts["home"] == "writable", out
    assert facts["home-dir"] == "[]", out
    assert int(facts["pid"]) <= 3, out          # its own PID namespace
    # the file is in alice's persistent home on the host, owned by her account
    path = os.path.join(data, "homes", "alice", "mine.txt")
    assert open(path).read().strip() == "mine"
    assert subprocess.run(["stat", "-c", "%U", path], capture_output=True,
                          text=True).stdout.strip() == "gh-alice"
    # a stop leaves no process of the account
    for api, sid in ((alice.api, s["id"]), (bob.api, sb["id"])):
        assert api.post(f"/sessions/{sid}/stop").status_code == 200
        wait_state(api, sid, ["stopped"])
    def none_left():
        left = subprocess.run(["pgrep", "-u", "gh-alice"], capture_output=True, text=True)
        return left.stdout.strip() == ""
    wait_for(none_left, 5, 0.05, "no process of gh-alice")
