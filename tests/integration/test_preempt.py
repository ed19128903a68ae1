"""
Preemption through the hub: when a session that is entitled to GPUs finds
none free, the scheduler takes them back from an idle session first, then
from one that borrowed beyond its quota. The victim is suspended (files
kept, resumable), never killed, and its GPUs go to the waiting session.
"""
from conftest import ADMIN_TOKEN, Api, create_user, event_types, launch, metric, metric_sum, wait_state


def reclaimed(daemon, reason):
    return metric(daemon, "gpuhub_gpu_reclaimed_seconds_total", reason=reason)


def preemptions(daemon):
    return metric_sum(daemon, "gpuhub_sched_preemptions_total")


def hub_with(daemon_factory, tmp_path, gpus, yaml):
    """A hub with gpus and the configuration yaml, and two users: (hub, ann, bob)."""
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text(yaml)
    d = daemon_factory(gpus=gpus, extra_args=["--config", str(cfg)])
    admin = Api(d, ADMIN_TOKEN)
    return d, create_user(admin, d, "ann"), create_user(admin, d, "bob")


def test_borrowed_gpu_is_taken_back_by_suspending_the_borrower(daemon_factory, tmp_path):
    d, ann, bob = hub_with(daemon_factory, tmp_path, "sim:2xA100-80GB",
                 "sched:\n  user_gpus: 1\n  user_gpus_max: 2\n")

    first = launch(ann.api, "first", gpus=1)["id"]
    wait_state(ann.api, first, ["running"])
    # beyond her quota of 1, ann may borrow the GPU nobody wants
    second = launch(ann.api, "second", gpus=1)["id"]
    s = wait_state(ann.api, second, ["running"])
    assert len(s["allocations"]) == 1

    # bob is within his quota and finds no free GPU: ann's borrowed one goes
    b = launch(bob.api, "work", gpus=1)["id"]
    s = wait_state(ann.api, second, ["suspended"], timeout=30)
    assert s["allocations"] == []
    assert s["reason"].startswith("preempted"), s["reason"]
    assert "session.suspended" in [t for t, _ in event_types(ann.api, second)]
    s = wait_state(bob.api, b, ["running"], timeout=30)
    assert len(s["allocations"]) == 1
    # her session within quota was not touched
    assert ann.api.get(f"/sessions/{first}").json()["state"] == "running"
    assert reclaimed(d, "preempted") > 0 and reclaimed(d, "idle") == 0
    assert preemptions(d) >= 1

    # resuming puts it back in the queue: no GPU is free and she is at her quota... of borrowing
    r = ann.api.post(f"/sessions/{second}/resume")
    assert r.status_code == 200, r.text
    s = wait_state(ann.api, second, ["queued"], timeout=30)
    assert s["allocations"] == []
    # bob is done: ann gets her second GPU back
    assert bob.api.post(f"/sessions/{b}/stop").status_code == 200
    s = wait_state(ann.api, second, ["running"], timeout=30)
    assert len(s["allocations"]) == 1


def test_idle_session_is_the_first_victim(daemon_factory, tmp_path):
    # full-idle after 2 s, then a long warning: the session sits idle-warned
    d, ann, bob = hub_with(daemon_factory, tmp_path, "sim:1xA100-80GB",
                 "idle:\n  poll_interval_s: 1\n  full_idle_s: 2\n  gpu_idle_s: 0\n  warn_s: 600\n")

    idle = launch(ann.api, "idle", gpus=1)["id"]
    wait_state(ann.api, idle, ["idle-warned"], timeout=30)
    b = launch(bob.api, "work", gpus=1)["id"]
    s = wait_state(ann.api, idle, ["suspended"], timeout=30)
    assert s["reason"].startswith("preempted"), s["reason"]
    # (bob's is warned at once too: the warning period is longer than the idle limit)
    s = wait_state(bob.api, b, ["running", "idle-warned"], timeout=30)
    assert len(s["allocations"]) == 1
    assert reclaimed(d, "preempted") > 0 and reclaimed(d, "idle") == 0


def test_a_busy_session_within_quota_is_never_a_victim(daemon_factory, tmp_path):
    d, ann, bob = hub_with(daemon_factory, tmp_path, "sim:1xA100-80GB", "sched:\n  user_gpus: 1\n")

    a = launch(ann.api, "a", gpus=1)["id"]
    wait_state(ann.api, a, ["running"])
    b = launch(bob.api, "b", gpus=1)["id"]
    s = wait_state(bob.api, b, ["queued"])
    assert s["queue"]["position"] == 1
    assert ann.api.get(f"/sessions/{a}").json()["state"] == "running"
    assert preemptions(d) == 0
