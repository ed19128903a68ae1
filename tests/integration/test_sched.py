"""
Scheduling through the daemon: a user's GPU quota holds a session in the
queue with a reason a person understands, visible in the session, in
`gpuhub queue`, and in its progress stream; it starts when capacity frees.
"""

import json
import subprocess

from conftest import ADMIN_TOKEN, Api, create_user, launch, wait_state

QUOTA = """\
gpus:
  source: "sim:4xA100-80GB"
sched:
  user_gpus: 1
  placement: gpuhub
"""


def test_user_quota_queues_with_reason_then_admits(daemon_factory, tmp_path):
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text(QUOTA)
    d = daemon_factory(extra_args=["--config", str(cfg)])
    admin = Api(d, ADMIN_TOKEN)
    bob = create_user(admin, d, "bob")

    first = launch(bob.api, "first", gpus=1)
    assert first["state"] in ("starting", "running")
    second = launch(bob.api, "second", gpus=1)
    # 3 GPUs are free, but bob's quota is 1 GPU
    assert second["state"] == "queued"
    assert second["allocations"] == []
    q = second["queue"]
    assert q["position"] == 1
    assert "quota" in q["reason"] and "1/1" in q["reason"], q

    # another user is not held back by bob's quota
    carol = create_user(admin, d, "carol")
    other = launch(carol.api, "other", gpus=1)
    assert other["state"] in ("starting", "running")

    # the reason is in the progress stream and in the CLI
    evs = bob.api.get(f"/sessions/{second['id']}/events",
                      headers={"Accept": "application/json"}).json()["items"]
    assert any(e["type"] == "session.waiting" and "quota" in e["message"] for e in evs), evs
    out = subprocess.run([d.binary, "queue", "-o", "json", "--url", d.url, "--token", bob.token],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    items = json.loads(out.stdout)["items"]
    assert [s["name"] for s in items] == ["second"]
    table = subprocess.run([d.binary, "queue", "--url", d.url, "--token", bob.token],
                           capture_output=True, text=True, timeout=30)
    assert "quota" in table.stdout and "second" in table.stdout, table.stdout

    # freeing bob's GPU lets the queued session start
    r = bob.api.post(f"/sessions/{first['id']}/stop")
    assert r.status_code == 200
    wait_state(bob.api, first["id"], ["stopped"])
    s = wait_state(bob.api, second["id"], ["starting", "running"])
    assert len(s["allocations"]) == 1
    admin.close()


def test_fraction_requests_pack_onto_one_gpu(daemon_factory):
    d = daemon_factory(gpus="sim:2xA100-80GB")
    admin = Api(d, ADMIN_TOKEN)
    sessions = [launch(admin, f"f{i}", gpus=0.25) for i in range(4)]
    gpus = {s["allocations"][0]["gpu"] for s in sessions}
    # four quarters fit one GPU: the other stays whole for a 1-GPU request
    assert len(gpus) == 1, sessions
    whole = launch(admin, "whole", gpus=1)
    assert whole["state"] in ("starting", "running")
    assert whole["allocations"][0]["gpu"] not in gpus
    admin.close()
