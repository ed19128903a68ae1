"""
`gpuhub shell`: a shell in a running session over the API's WebSocket
(GET /api/v1/sessions/{id}/shell). Owner only; an admin with the explicit
X-Gpuhub-Admin-Access header (recorded as an event); the shell runs with
the session's variables and GPUs, on a terminal that can be resized or on
a socket for scripts; its exit status comes back; the CLI relays stdin and
exits with the remote status. With runtime.sandbox the shell runs as the
session's account inside the sandbox.
"""

import json
import os
import re
import subprocess
import time

import pytest
import websocket

from conftest import ADMIN_TOKEN, assert_error, cli_env, create_user, launch, needs_sandbox, wait_state, wait_for


def connect(daemon, sid, token, tty=1, headers=()):
    return websocket.create_connection(
        f"ws://127.0.0.1:{daemon.port}/api/v1/sessions/{sid}/shell?tty={tty}",
        header=[f"Authorization: Bearer {token}", *headers], timeout=20)


def run(ws, stdin=b"", eof=True, resize=None, timeout=20):
    """Sends stdin, then EOF; returns (output bytes, exit status)."""
    if resize:
        ws.send(json.dumps({"type": "resize", "cols": resize[0], "rows": resize[1]}))
    if stdin:
        ws.send_binary(stdin)
    if eof:
        ws.send(json.dumps({"type": "eof"}))
    out, status, end = b"", None, time.time() + timeout
    while time.time() < end:
        try:
            op, data = ws.recv_data()
        except websocket.WebSocketTimeoutException:
            raise AssertionError(f"no exit from the shell; output so far: {out!r}")
        if op == websocket.ABNF.OPCODE_BINARY:
            out += data
        elif op == websocket.ABNF.OPCODE_TEXT:
            msg = json.loads(data)
            if msg.get("type") == "exit":
                status = msg["status"]
        elif op == websocket.ABNF.OPCODE_CLOSE:
            break
    ws.close()
    return out, status


def test_shell_runs_in_the_session_and_returns_its_status(daemon, admin):
    ann = create_user(admin, daemon, "ann")
    bob = create_user(admin, daemon, "bob")
    s = launch(ann.api, "work", env="jupyter-python", gpus=1)
    wait_state(ann.api, s["id"], ["running"])
    gpu = s["allocations"][0]["gpu"]

    # scripts: a socket, no echo, the exit status of the last command
    out, status = run(connect(daemon, s["id"], ann.token, tty=0),
                      b"echo cvd=$CUDA_VISIBLE_DEVICES user=$GPUHUB_USER sess=$GPUHUB_SESSION_NAME\n"
                      b"echo to-stderr >&2\nexit 7\n")
    assert status == 7, out
    text = out.decode()
    assert f"cvd={gpu} user=ann sess=work" in text, text
    assert "to-stderr" in text, text

    # a terminal: sized as asked, interactive; exit ends it with the last status
    out, status = run(connect(daemon, s["id"], ann.token, tty=1),
                      b"stty size; tty; echo done-$((6*7))\nexit\n", resize=(132, 43), eof=False)
    text = out.decode(errors="replace")
    assert "43 132" in text, text
    assert "/dev/pts/" in text, text
    assert "done-42" in text, text
    assert status == 0

    # a killed shell reports 128 + signal
    out, status = run(connect(daemon, s["id"], ann.token, tty=0), b"kill -9 $$\n")
    assert status == 137

    # not the owner: as if there were no such session; admin only when asked
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(daemon, s["id"], bob.token)
    assert e.value.status_code == 404
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(daemon, s["id"], ADMIN_TOKEN)
    assert e.value.status_code == 404
    out, status = run(connect(daemon, s["id"], ADMIN_TOKEN, tty=0,
                              headers=["X-Gpuhub-Admin-Access: 1"]), b"echo admin-was-here\n")
    assert b"admin-was-here" in out and status == 0
    ev = ann.api.get(f"/sessions/{s['id']}/events", headers={"Accept": "application/json"}).json()
    shells = [e["message"] for e in ev["items"] if e["type"] == "session.shell"]
    assert any("admin opened a shell as an admin" in m for m in shells), shells
    assert any(m.startswith("ann opened a shell") for m in shells), shells

    # bad requests change nothing
    assert_error(ann.api.get(f"/sessions/{s['id']}/shell"), 400)
    assert_error(ann.api.get(f"/sessions/{s['id']}/shell?tty=yes"), 400, field="tty")
    assert_error(ann.api.get("/sessions/999999/shell"), 404)

    # a stopped session has no shell
    assert ann.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(ann.api, s["id"], ["stopped"])
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(daemon, s["id"], ann.token)
    assert e.value.status_code == 409


def test_client_that_leaves_hangs_the_shell_up(daemon, admin):
    ann = create_user(admin, daemon, "ann")
    s = launch(ann.api, "w", env="jupyter-python", gpus=0)
    wait_state(ann.api, s["id"], ["running"])
    ws = connect(daemon, s["id"], ann.token, tty=1)
    ws.send_binary(b"echo pid=$$; sleep 1000\n")
    buf = b""
    while b"pid=" not in buf or not buf.split(b"pid=")[-1].split(b"\r")[0].strip().isdigit():
        op, data = ws.recv_data()
        buf += data if op == websocket.ABNF.OPCODE_BINARY else b""
    pid = int(buf.split(b"pid=")[-1].split(b"\r")[0])
    ws.close()

    def gone():
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split()[2] == "Z"
        except OSError:
            return True
    wait_for(gone, 10, 0.1, "the shell to end after its client left")
    # the hub is fine and still serves the session
    assert ann.api.get(f"/sessions/{s['id']}").json()["state"] == "running"


@needs_sandbox
def test_shell_in_the_sandbox_runs_as_the_sessions_account(sandbox_hub):
    d, data = sandbox_hub.daemon, sandbox_hub.data
    ann = sandbox_hub.create_user("ann")
    s = launch(ann.api, "box", env="jupyter-python", gpus=0)
    wait_state(ann.api, s["id"], ["running"])
    out, status = run(connect(d, s["id"], ann.token, tty=1),
                      f"id -un; echo home=$HOME; ls -A /home | wc -l; "
                      f"test -e {data}/gpuhub.db && echo db=visible || echo db=hidden; "
                      f"touch /usr/x 2>/dev/null || echo usr=read-only; "
                      f"grep -c gpuhub/s{s['id']} /proc/self/cgroup\nexit\n".encode(), eof=False)
    text = out.decode(errors="replace")
    assert "gh-ann" in text, text
    assert "db=hidden" in text and "usr=read-only" in text, text
    assert f"home={data}/homes/ann" in text, text
    # in the workspace's cgroup (one line per v1 hierarchy, one on v2)
    if any("gpuhub" in p for p in os.listdir("/sys/fs/cgroup")) or os.path.exists("/sys/fs/cgroup/memory/gpuhub"):
        assert re.search(r"\r\n[1-9]\r\n", text), text
    assert status == 0
    assert ann.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(ann.api, s["id"], ["stopped"])


def test_cli_shell_script_and_terminal(daemon, admin, gpuhub_bin, tmp_path):
    ann = create_user(admin, daemon, "ann")
    s = launch(ann.api, "nb", env="jupyter-python", gpus=0.5)
    wait_state(ann.api, s["id"], ["running"])
    env = cli_env(tmp_path, daemon, ann.token)

    # piped: a script, no prompt, the remote status is the exit code
    p = subprocess.run([gpuhub_bin, "shell", "nb"], input=b"echo hi from $GPUHUB_SESSION_NAME\n"
                       b"echo mps=$CUDA_MPS_ACTIVE_THREAD_PERCENTAGE\nexit 3\n",
                       capture_output=True, env=env, timeout=30)
    assert p.returncode == 3, p
    assert p.stdout == b"hi from nb\nmps=50\n", p
    p = subprocess.run([gpuhub_bin, "shell", str(s["id"])], input=b"true\n", capture_output=True,
                       env=env, timeout=30)
    assert p.returncode == 0 and p.stdout == b"", p

    # on a terminal: raw mode, the window size follows, Ctrl-D ends it
    import pty
    import struct
    import fcntl
    import termios
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(gpuhub_bin, [gpuhub_bin, "shell", "nb"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 111, 0, 0))
    os.write(fd, b"stty size; echo ok-$((1+1))\r")
    out = b""
    deadline = time.time() + 20
    while time.time() < deadline and b"ok-2" not in out:
        try:
            out += os.read(fd, 4096)
        except OSError:
            break
    assert b"37 111" in out and b"ok-2" in out, out
    # the window changes: the kernel sends SIGWINCH, the CLI sends the new size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 51, 149, 0, 0))
    deadline = time.time() + 20
    while time.time() < deadline and b"51 149" not in out:
        os.write(fd, b"stty size\r")
        time.sleep(0.3)
        try:
            out += os.read(fd, 4096)
        except OSError:
            break
    assert b"51 149" in out, out
    os.write(fd, b"exit 5\r")
    while True:
        try:
            if not os.read(fd, 4096):
                break
        except OSError:
            break
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 5

    # errors read like every other verb's
    p = subprocess.run([gpuhub_bin, "shell", "nope"], capture_output=True, env=env, timeout=30)
    assert p.returncode == 5, p
    assert ann.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(ann.api, s["id"], ["stopped"])
    p = subprocess.run([gpuhub_bin, "shell", "nb"], capture_output=True, env=env, timeout=30)
    assert p.returncode == 1 and b"running" in p.stderr, p
    p = subprocess.run([gpuhub_bin, "shell", "--help"], capture_output=True, env=env, timeout=30)
    assert p.returncode == 0 and b"Usage: gpuhub shell SESSION" in p.stdout, p


def test_stopping_the_session_ends_its_shells(daemon, admin):
    ann = create_user(admin, daemon, "ann")
    s = launch(ann.api, "w", env="jupyter-python", gpus=0)
    wait_state(ann.api, s["id"], ["running"])
    ws = connect(daemon, s["id"], ann.token, tty=0)
    ws.send_binary(b"echo started; sleep 1000; echo not-reached\n")
    op, data = ws.recv_data()
    assert data == b"started\n"
    assert ann.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    out, status = run(ws, eof=False)
    assert status in (129, 137), (out, status)        # SIGHUP, or SIGKILL a second later
    assert b"not-reached" not in out
    wait_state(ann.api, s["id"], ["stopped"])
    assert "hanging up its shell" in daemon.log()
