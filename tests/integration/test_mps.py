"""
CUDA MPS daemons, one per shared GPU, managed by the hub. There is no GPU
here: gpus.mps_control names a stand-in written by the test that records
its invocations and behaves as nvidia-cuda-mps-control does: `-d` starts a
daemon in the background (it writes its pid file into
CUDA_MPS_PIPE_DIRECTORY and reads commands from the pipe there), and a
plain invocation passes stdin to the daemon, where `quit` shuts it down.
"""

import os
import signal
import stat
import time

import pytest

from conftest import ADMIN_TOKEN, Api, create_user, launch, wait_for, wait_state
from test_shell import connect, run

FAKE = r"""#!/bin/sh
# stand-in for nvidia-cuda-mps-control
pipe="$CUDA_MPS_PIPE_DIRECTORY"
echo "call args=[$*] gpu=$CUDA_VISIBLE_DEVICES pipe=$pipe logdir=$CUDA_MPS_LOG_DIRECTORY" >> "$FAKE_MPS_RECORD"
if [ "$1" = "-d" ]; then
    [ -d "$pipe" ] && [ -d "$CUDA_MPS_LOG_DIRECTORY" ] || { echo "no pipe/log dir" >&2; exit 1; }
    rm -f "$pipe/control"; mkfifo "$pipe/control"
    (
        exec </dev/null >/dev/null 2>&1
        while :; do
            while read -r cmd; do
                echo "daemon gpu=$CUDA_VISIBLE_DEVICES got $cmd" >> "$FAKE_MPS_RECORD"
                if [ "$cmd" = quit ]; then rm -f "$pipe/control" "$pipe/nvidia-cuda-mps-control.pid"; exit 0; fi
            done < "$pipe/control"
        done
    ) &
    echo $! > "$pipe/nvidia-cuda-mps-control.pid"
    exit 0
fi
[ -p "$pipe/control" ] || { echo "Cannot find MPS control daemon process" >&2; exit 1; }
cat > "$pipe/control"
"""


@pytest.fixture
def fake_mps(tmp_path):
    path = tmp_path / "bin" / "nvidia-cuda-mps-control"
    path.parent.mkdir()
    path.write_text(FAKE)
    path.chmod(0o755)
    record = tmp_path / "mps-record.txt"
    record.write_text("")
    yield str(path), record
    # no stray daemons, whatever happened
    for root, _, files in os.walk(tmp_path):
        if "nvidia-cuda-mps-control.pid" in files:
            try:
                os.kill(int(open(os.path.join(root, "nvidia-cuda-mps-control.pid")).read()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def daemon_pids(data_dir):
    out = {}
    mps = os.path.join(data_dir, "mps")
    for g in os.listdir(mps) if os.path.isdir(mps) else []:
        p = os.path.join(mps, g, "pipe", "nvidia-cuda-mps-control.pid")
        try:
            pid = int(open(p).read())
            os.kill(pid, 0)
            out[int(g)] = pid
        except (OSError, ValueError):
            pass
    return out


def starts(record):
    return [ln for ln in record.read_text().splitlines() if ln.startswith("call args=[-d]")]


def test_one_daemon_per_shared_gpu_started_stopped_and_adopted(daemon_factory, fake_mps, tmp_path):
    control, record = fake_mps
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text(f"gpus:\n  mps_control: {control}\n")
    d = daemon_factory(extra_args=["--config", str(cfg)], env={"FAKE_MPS_RECORD": str(record)})
    admin = Api(d, ADMIN_TOKEN)
    ann = create_user(admin, d, "ann")

    whole = launch(ann.api, "whole", gpus=1)
    wait_state(ann.api, whole["id"], "running")
    time.sleep(0.5)
    assert starts(record) == [], "a whole GPU needs no MPS daemon"

    a = launch(ann.api, "a", gpus=0.5)
    b = launch(ann.api, "b", gpus=0.5)
    ga, gb = a["allocations"][0]["gpu"], b["allocations"][0]["gpu"]
    assert ga == gb, "two halves are packed on one GPU"
    wait_state(ann.api, a["id"], "running")
    wait_state(ann.api, b["id"], "running")
    pids = wait_for(lambda: daemon_pids(d.data_dir), 10, 0.1, "the MPS daemon")
    assert list(pids) == [ga]
    st = starts(record)
    assert len(st) == 1, st
    mps_dir = os.path.join(d.data_dir, "mps", str(ga))
    assert f"gpu={ga} pipe={mps_dir}/pipe logdir={mps_dir}/log" in st[0], st
    assert stat.S_IMODE(os.stat(os.path.join(mps_dir, "pipe")).st_mode) == 0o1777

    # the session is pointed at that daemon (seen from a shell in it)
    out, status = run(connect(d, a["id"], ann.token, tty=0),
                      b"echo $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_ACTIVE_THREAD_PERCENTAGE; "
                      b"test -p $CUDA_MPS_PIPE_DIRECTORY/control && echo pipe-ok\n")
    assert status == 0 and out.decode() == f"{mps_dir}/pipe 50\npipe-ok\n", out

    # a restart adopts the running daemon: no second start
    d.restart()
    time.sleep(1.0)
    assert daemon_pids(d.data_dir) == pids
    assert len(starts(record)) == 1, record.read_text()

    # the first half leaves: the daemon stays; the last leaves: `quit`
    assert ann.api.post(f"/sessions/{a['id']}/stop").status_code == 200
    wait_state(ann.api, a["id"], "stopped")
    time.sleep(0.5)
    assert daemon_pids(d.data_dir) == pids
    assert ann.api.post(f"/sessions/{b['id']}/stop").status_code == 200
    wait_state(ann.api, b["id"], "stopped")
    wait_for(lambda: not daemon_pids(d.data_dir), 10, 0.1, "the MPS daemon to quit")
    assert f"daemon gpu={ga} got quit" in record.read_text()

    # the next fraction gets a fresh daemon
    c = launch(ann.api, "c", gpus=0.25)
    wait_state(ann.api, c["id"], "running")
    wait_for(lambda: daemon_pids(d.data_dir), 10, 0.1, "a new MPS daemon")
    assert len(starts(record)) == 2
    assert ann.api.post(f"/sessions/{c['id']}/stop").status_code == 200
    wait_state(ann.api, c["id"], "stopped")
    wait_for(lambda: not daemon_pids(d.data_dir), 10, 0.1, "the MPS daemon to quit")
    admin.close()


def test_mps_control_is_validated_and_optional(daemon_factory, gpuhub_bin, tmp_path):
    import subprocess
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("gpus:\n  mps_control: relative/path\n")
    p = subprocess.run([gpuhub_bin, "serve", "--check-config", str(cfg)], capture_output=True, text=True)
    assert p.returncode != 0 and "gpus.mps_control" in (p.stderr + p.stdout), p
    # without the binary nothing is managed, and fractions still run
    cfg = tmp_path / "none.yaml"
    cfg.write_text(f"gpus:\n  mps_control: {tmp_path}/no-such-control\n")
    d = daemon_factory(extra_args=["--config", str(cfg)])
    admin = Api(d, ADMIN_TOKEN)
    s = launch(admin, "half", gpus=0.5)
    wait_state(admin, s["id"], "running")
    assert "not found: CUDA MPS daemons are not managed" in d.log()
    assert not os.path.isdir(os.path.join(d.data_dir, "mps"))
    admin.close()
