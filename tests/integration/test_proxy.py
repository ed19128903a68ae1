"""
The workspace proxy at /user/<user>/<session>/: HTTP and WebSocket reach
the session's workspace with the hub's credentials replaced by the
workspace token; other users, anonymous callers and sessions that are not
running get the right answer; the workspace's own port refuses requests
without the token.
"""

import os
import socket
import sys

import requests
import websocket

from conftest import ADMIN_TOKEN, Api, create_user, launch, wait_state

HERE = os.path.dirname(os.path.abspath(__file__))


def echo_env(admin):
    r = admin.post("/environments", json={
        "name": "echo", "interface": "jupyter", "default_gpus": 0,
        "launch": {"local": {"command": ["/usr/bin/python3",
                                         os.path.join(HERE, "workspace_echo.py")]}}})
    assert r.status_code == 201, r.text


def wait_up(url, headers, timeout=20):
    import time
    end = time.time() + timeout
    while time.time() < end:
        r = requests.get(url, headers=headers, timeout=5)
        if r.status_code == 200:
            return r
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered 200 (last {r.status_code} {r.text[:200]})")


def test_http_and_websocket_through_the_proxy(daemon):
    admin = Api(daemon, ADMIN_TOKEN)
    echo_env(admin)
    alice = create_user(admin, daemon, "alice")
    bob = create_user(admin, daemon, "bob")
    s = launch(alice.api, "lab", env="echo", gpus=0)
    wait_state(alice.api, s["id"], ["running"])
    base = f"{daemon.url}/user/alice/lab"
    auth = {"Authorization": f"Bearer {alice.token}"}

    r = wait_up(f"{base}/tree/notes.ipynb?x=1", {**auth, "Cookie": "theme=dark; gpuhub_session=abc"})
    got = r.json()
    # Jupyter-style: the prefix is kept; the hub's credentials never reach the workspace
    assert got["path"] == "/user/alice/lab/tree/notes.ipynb?x=1"
    assert got["headers"]["authorization"].startswith("token ")
    assert alice.token not in str(got["headers"])
    assert got["headers"].get("cookie") == "theme=dark"
    assert got["headers"]["host"].startswith("127.0.0.1:")

    # POST bodies pass through
    r = requests.post(f"{base}/api/contents", data=b"hello", headers=auth, timeout=10)
    assert r.status_code == 200 and r.json()["body"] == "hello"

    # WebSocket with the browser's own Origin: rewritten so same-origin checks pass
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{daemon.port}/user/alice/lab/api/kernels/k1/channels",
        header=[f"Authorization: Bearer {alice.token}"], origin=daemon.url, timeout=10)
    ws.send("ping-1")
    assert ws.recv() == "echo:ping-1"
    ws.send("x" * 70000)
    assert ws.recv() == "echo:" + "x" * 70000
    ws.close()

    # a bare /user/u/s redirects to the slash form
    r = requests.get(base, headers=auth, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["location"] == "/user/alice/lab/"

    # nobody else gets in: anonymous 401, another user 404 (HTTP and WebSocket)
    assert requests.get(f"{base}/", timeout=10).status_code == 401
    r = requests.get(f"{base}/", headers={"Authorization": f"Bearer {bob.token}"}, timeout=10)
    assert r.status_code == 404
    try:
        websocket.create_connection(
            f"ws://127.0.0.1:{daemon.port}/user/alice/lab/ws",
            header=[f"Authorization: Bearer {bob.token}"], timeout=10)
        raise AssertionError("bob's WebSocket to alice's workspace was accepted")
    except websocket.WebSocketBadStatusException as e:
        assert e.status_code == 404
    # an admin only with the explicit header
    assert requests.get(f"{base}/", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                        timeout=10).status_code == 404
    r = requests.get(f"{base}/", headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                          "X-GPUHub-Admin-Access": "1"}, timeout=10)
    assert r.status_code == 200
    # the hub's own header stops at the hub
    assert "x-gpuhub-admin-access" not in r.json()["headers"]

    # the workspace port itself refuses requests without the injected token
    port = int(got["headers"]["host"].split(":")[1])
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 403

    # stopped: the proxy says so instead of hanging
    assert alice.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(alice.api, s["id"], ["stopped"])
    r = requests.get(f"{base}/", headers=auth, timeout=10)
    assert r.status_code == 503 and "stopped" in r.text
    admin.close()


def test_path_tricks_on_the_proxy(daemon):
    for path in ("/user/admin/x/../../api/v1/users", "/user/admin/x/./y", "/user//x/"):
        s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
                  f"Connection: close\r\n\r\n".encode())
        head = s.recv(4096).decode(errors="replace")
        s.close()
        assert head.split(" ")[1] in ("400", "404"), (path, head[:200])


def test_logs_of_a_session(daemon):
    import subprocess
    admin = Api(daemon, ADMIN_TOKEN)
    r = admin.post("/environments", json={
        "name": "chatty", "interface": "jupyter", "default_gpus": 0,
        "launch": {"local": {"command": ["/bin/sh", "-c",
                                         "for i in 1 2 3 4 5; do echo line-$i; done; "
                                         "echo gpus=$CUDA_VISIBLE_DEVICES; exec sleep infinity"],
                             "ready": ""}}})
    assert r.status_code == 201, r.text
    ann = create_user(admin, daemon, "ann")
    s = launch(ann.api, "talk", env="chatty", gpus=1)
    gpu = s["allocations"][0]["gpu"]
    wait_state(ann.api, s["id"], ["running"])
    import time
    end = time.time() + 10
    while time.time() < end:
        r = ann.api.get(f"/sessions/{s['id']}/logs")
        if f"gpus={gpu}" in r.text:
            break
        time.sleep(0.1)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "line-1" in r.text and f"gpus={gpu}" in r.text, r.text
    r = ann.api.get(f"/sessions/{s['id']}/logs", params={"tail": 2})
    assert r.text.splitlines() == ["line-5", f"gpus={gpu}"], r.text
    assert ann.api.get(f"/sessions/{s['id']}/logs", params={"tail": 0}).status_code == 400
    bob = create_user(admin, daemon, "bob")
    assert bob.api.get(f"/sessions/{s['id']}/logs").status_code == 404
    # the CLI prints the same, also after the stop
    assert ann.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(ann.api, s["id"], ["stopped"])
    p = subprocess.run([daemon.binary, "logs", "talk", "--tail", "1", "--url", daemon.url,
                        "--token", ann.token], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"gpus={gpu}"
    admin.close()


def test_fraction_gets_mps_limits(daemon):
    admin = Api(daemon, ADMIN_TOKEN)
    r = admin.post("/environments", json={
        "name": "mps", "interface": "jupyter", "default_gpus": 0,
        "launch": {"local": {"command": ["/bin/sh", "-c",
                                         "env | grep -E '^(CUDA_|NVIDIA_)' | sort; exec sleep infinity"],
                             "ready": ""}}})
    assert r.status_code == 201, r.text
    s = launch(admin, "half", env="mps", gpus=0.25)
    a = s["allocations"][0]
    wait_state(admin, s["id"], ["running"])
    import time
    end = time.time() + 10
    while time.time() < end:
        out = admin.get(f"/sessions/{s['id']}/logs").text
        if "CUDA_VISIBLE_DEVICES" in out:
            break
        time.sleep(0.1)
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert env["CUDA_VISIBLE_DEVICES"] == str(a["gpu"])
    assert env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25"
    assert env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == f"0={a['memory_mib']}M"
    assert env["CUDA_MPS_PIPE_DIRECTORY"].endswith(f"/mps/{a['gpu']}/pipe")
    # a whole GPU is not shared: no MPS limits
    w = launch(admin, "whole", env="mps", gpus=1)
    wait_state(admin, w["id"], ["running"])
    end = time.time() + 10
    while time.time() < end:
        out = admin.get(f"/sessions/{w['id']}/logs").text
        if "CUDA_VISIBLE_DEVICES" in out:
            break
        time.sleep(0.1)
    assert "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE" not in out, out
    admin.close()
