"""
Suspend and resume through a process checkpoint (docs/idle.md, "Process
checkpoint").

CRIU cannot run on the machines these tests run on, so a stand-in `criu`
written into the test's directory is configured through idle.criu. It
behaves as the hub expects of the real tool: `check` passes; `dump -t PID
-D DIR` records PID's command line, working directory and environment
(from /proc) in DIR and ends its process group; `restore -D DIR --pidfile F`
starts the recorded command again in a new session and writes its pid to
F. Every call is logged, and a file `fail-dump` / `fail-restore` next to it
makes that step fail. The workspaces are the light `sleep infinity` ones.
"""

import json
import os
import signal
import subprocess
from pathlib import Path

from conftest import ADMIN_TOKEN, Api, event_types, gpus_in_use, launch, wait_for, wait_state

STAND_IN = r'''#!/usr/bin/python3
import json, os, signal, subprocess, sys
HERE = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
def log(line):
    with open(os.path.join(HERE, "calls.log"), "a") as f:
        f.write(line + "\n")
def opt(name):
    return args[args.index(name) + 1]
log(" ".join(args))
if args[0] == "check":
    sys.exit(0)
if os.path.exists(os.path.join(HERE, "fail-" + args[0])):
    print("Error (stand-in): %s refused on purpose" % args[0])
    sys.exit(1)
if args[0] == "dump":
    pid, d = int(opt("-t")), opt("-D")
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv = [a.decode() for a in f.read().split(b"\0")[:-1]]
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = [e.decode() for e in f.read().split(b"\0")[:-1]]
    rec = {"pid": pid, "argv": argv, "cwd": os.readlink("/proc/%d/cwd" % pid), "env": env}
    with open(os.path.join(d, "stand-in.json"), "w") as f:
        json.dump(rec, f)
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    log("dumped %d" % pid)
    sys.exit(0)
if args[0] == "restore":
    d, pidfile = opt("-D"), opt("--pidfile")
    with open(os.path.join(d, "stand-in.json")) as f:
        rec = json.load(f)
    env = dict(e.split("=", 1) for e in rec["env"] if "=" in e)
    p = subprocess.Popen(rec["argv"], cwd=rec["cwd"], env=env, start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(pidfile, "w") as f:
        f.write("%d\n" % p.pid)
    log("restored %d" % p.pid)
    sys.exit(0)
sys.exit(2)
'''


def ckpt_daemon(daemon_factory, tmp_path, checkpoint="auto", gpus=None):
    tool = tmp_path / "tools" / "criu"
    tool.parent.mkdir()
    tool.write_text(STAND_IN)
    tool.chmod(0o755)
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text(f"idle:\n  checkpoint: {checkpoint}\n  criu: {tool}\n")
    kw = {"gpus": gpus} if gpus else {}
    d = daemon_factory(extra_args=["--config", str(cfg)], **kw)
    return d, Api(d, ADMIN_TOKEN), tool.parent


def calls(tools):
    p = tools / "calls.log"
    return p.read_text().splitlines() if p.exists() else []


def logged_pid(tools, word):
    return [int(line.split()[1]) for line in calls(tools) if line.startswith(word + " ")]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def kill_restored(tools):
    for pid in logged_pid(tools, "restored"):
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def messages(api, sid, etype):
    return [m for t, m in event_types(api, sid) if t == etype]


def suspend(api, sid):
    assert api.post(f"/sessions/{sid}/suspend").status_code == 200
    return wait_state(api, sid, ["suspended"], timeout=30)


def test_suspend_and_resume_keep_the_processes_through_the_checkpoint(daemon_factory, tmp_path):
    d, admin, tools = ckpt_daemon(daemon_factory, tmp_path)
    try:
        assert calls(tools) == ["check"]
        sid = launch(admin, "keep", gpus=1)["id"]
        s = wait_state(admin, sid, ["running"])
        gpu = s["allocations"][0]["gpu"]

        s = suspend(admin, sid)
        assert s["allocations"] == [] and gpus_in_use(admin) == 0
        dumped = logged_pid(tools, "dumped")
        assert len(dumped) == 1 and not alive(dumped[0])
        images = Path(d.data_dir) / "sessions" / f"{sid}.ckpt"
        assert (images / "stand-in.json").exists()
        record = json.loads((Path(d.data_dir) / "sessions" / f"{sid}.suspend.json").read_text())
        assert record["checkpoint"]["gpus"] == [gpu]
        assert messages(admin, sid, "session.checkpointed")

        assert admin.post(f"/sessions/{sid}/resume").status_code == 200
        wait_state(admin, sid, ["running"])
        wait_for(lambda: messages(admin, sid, "session.resumed"), 30, 0.1, "the resumed event")
        assert "kernel memory" in messages(admin, sid, "session.resumed")[-1]
        assert "were kept" in messages(admin, sid, "session.resumed")[-1]
        restored = logged_pid(tools, "restored")
        assert len(restored) == 1 and alive(restored[0]) and restored[0] != dumped[0]
        with open(f"/proc/{restored[0]}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[:2] == [b"sleep", b"infinity"]
        assert admin.get(f"/sessions/{sid}").json()["allocations"][0]["gpu"] == gpu
        wait_for(lambda: not images.exists(), 10, 0.1, "the images deleted")
        assert not (Path(d.data_dir) / "sessions" / f"{sid}.suspend.json").exists()

        # the restored process is the session's now: stopping it ends it
        assert admin.post(f"/sessions/{sid}/stop").status_code in (200, 202)
        wait_state(admin, sid, ["stopped"])
        wait_for(lambda: not alive(restored[0]), 10, 0.1, "the restored process ended")
    finally:
        kill_restored(tools)


def test_a_failed_dump_falls_back_to_the_normal_stop(daemon_factory, tmp_path):
    d, admin, tools = ckpt_daemon(daemon_factory, tmp_path)
    (tools / "fail-dump").write_text("")
    sid = launch(admin, "nodump", gpus=1)["id"]
    wait_state(admin, sid, ["running"])
    s = suspend(admin, sid)
    assert s["allocations"] == [] and gpus_in_use(admin) == 0
    assert any(c.startswith("dump ") for c in calls(tools))
    failed = messages(admin, sid, "session.checkpoint_failed")
    assert failed and "refused on purpose" in failed[-1]
    assert not messages(admin, sid, "session.checkpointed")
    assert not (Path(d.data_dir) / "sessions" / f"{sid}.ckpt").exists()

    assert admin.post(f"/sessions/{sid}/resume").status_code == 200
    wait_state(admin, sid, ["running"])
    wait_for(lambda: messages(admin, sid, "session.resumed"), 30, 0.1, "the resumed event")
    assert "not kept" in messages(admin, sid, "session.resumed")[-1]
    assert not any(c.startswith("restore ") for c in calls(tools))


def test_a_failed_restore_starts_the_workspace_fresh(daemon_factory, tmp_path):
    d, admin, tools = ckpt_daemon(daemon_factory, tmp_path)
    sid = launch(admin, "norestore", gpus=1)["id"]
    wait_state(admin, sid, ["running"])
    suspend(admin, sid)
    assert logged_pid(tools, "dumped")
    (tools / "fail-restore").write_text("")

    assert admin.post(f"/sessions/{sid}/resume").status_code == 200
    wait_state(admin, sid, ["running"])
    wait_for(lambda: messages(admin, sid, "session.resumed"), 30, 0.1, "the resumed event")
    assert any(c.startswith("restore ") for c in calls(tools))
    assert not logged_pid(tools, "restored")
    failed = messages(admin, sid, "session.checkpoint_failed")
    assert failed and "restore failed" in failed[-1] and "starts fresh" in failed[-1]
    assert "not kept" in messages(admin, sid, "session.resumed")[-1]
    wait_for(lambda: not (Path(d.data_dir) / "sessions" / f"{sid}.ckpt").exists(), 10, 0.1, "the images deleted")


def test_other_gpus_at_resume_start_the_workspace_fresh(daemon_factory, tmp_path):
    d, admin, tools = ckpt_daemon(daemon_factory, tmp_path, gpus="sim:2xA100-80GB")
    sid = launch(admin, "moved", gpus=1)["id"]
    had = wait_state(admin, sid, ["running"])["allocations"][0]["gpu"]
    suspend(admin, sid)
    # fill both GPUs, then free the one it did not have
    others = [launch(admin, n, gpus=1)["id"] for n in ("b", "c")]
    on = {o: wait_state(admin, o, ["running"])["allocations"][0]["gpu"] for o in others}
    other = next(o for o in others if on[o] != had)
    assert admin.post(f"/sessions/{other}/stop").status_code in (200, 202)
    wait_state(admin, other, ["stopped"])

    assert admin.post(f"/sessions/{sid}/resume").status_code == 200
    s = wait_state(admin, sid, ["running"])
    assert s["allocations"][0]["gpu"] != had
    wait_for(lambda: messages(admin, sid, "session.resumed"), 30, 0.1, "the resumed event")
    unused = messages(admin, sid, "session.checkpoint_unused")
    assert unused and f"taken on GPUs {had}" in unused[-1]
    assert not any(c.startswith("restore ") for c in calls(tools))
    assert "not kept" in messages(admin, sid, "session.resumed")[-1]


def test_checkpoint_off_never_calls_the_tool(daemon_factory, tmp_path):
    d, admin, tools = ckpt_daemon(daemon_factory, tmp_path, checkpoint="off")
    sid = launch(admin, "plain", gpus=1)["id"]
    wait_state(admin, sid, ["running"])
    suspend(admin, sid)
    assert admin.post(f"/sessions/{sid}/resume").status_code == 200
    wait_state(admin, sid, ["running"])
    wait_for(lambda: messages(admin, sid, "session.resumed"), 30, 0.1, "the resumed event")
    assert calls(tools) == []
    assert not messages(admin, sid, "session.checkpointed")


def test_bad_checkpoint_settings_are_refused_with_the_key(gpuhub_bin, tmp_path):
    for body, key in (("checkpoint: always", "idle.checkpoint"), ("criu: bin/criu", "idle.criu"),
                      ("cuda_checkpoint: 'a b'", "idle.cuda_checkpoint")):
        cfg = tmp_path / "bad.yaml"
        cfg.write_text(f"idle:\n  {body}\n")
        out = subprocess.run([gpuhub_bin, "serve", "--check-config", str(cfg)], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode == 1 and key in out.stderr + out.stdout, (body, out.stderr)
