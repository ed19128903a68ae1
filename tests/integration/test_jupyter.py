"""
A real Jupyter workspace through the hub: launch Jupyter + PyTorch on one
simulated GPU — the server itself holds none, its GPUs follow the kernel —
start a kernel and run code over its WebSocket through the proxy; the kernel
gets the GPU, `import torch` works, CUDA_VISIBLE_DEVICES matches the kernel's
allocation, and a file written in the home is there after the stop, in the
next session.
"""

import json
import shutil
import time
import uuid

import pytest
import requests
import websocket

from conftest import ADMIN_TOKEN, Api, create_user, launch, wait_for, wait_state

pytestmark = pytest.mark.skipif(shutil.which("jupyter-server") is None,
                                reason="Jupyter is not installed (scripts/install-deps installs it)")


def _request(ws, user, msg_type, content):
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": user.name, "session": uuid.uuid4().hex,
                   "msg_type": msg_type, "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "content": content}))
    return msg_id


def wait_iopub(ws, user, timeout=60):
    """A kernel that has just started may not yet publish what it prints to
    this connection: ask for kernel_info until its status arrives on iopub."""
    end = time.time() + timeout
    ws.settimeout(1)
    try:
        while time.time() < end:
            msg_id = _request(ws, user, "kernel_info_request", {})
            try:
                while True:
                    m = json.loads(ws.recv())
                    if m.get("channel") == "iopub" and m.get("parent_header", {}).get("msg_id") == msg_id:
                        return
            except websocket.WebSocketTimeoutException:
                continue
    finally:
        ws.settimeout(timeout)
    raise AssertionError("the kernel did not answer on iopub")


def run_code(daemon, user, base, kernel_id, code, timeout=60):
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{daemon.port}{base}api/kernels/{kernel_id}/channels",
        header=[f"Authorization: Bearer {user.token}"], origin=daemon.url, timeout=timeout)
    wait_iopub(ws, user, timeout)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": user.name, "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False}}))
    # The reply comes on the shell channel, the output on iopub: the two
    # are not ordered, so the run is over once both the reply and iopub's
    # "idle" (sent after the last output) have arrived.
    out, status, idle, end = [], None, False, time.time() + timeout
    while time.time() < end and (status is None or not idle):
        m = json.loads(ws.recv())
        if m.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        t = m["header"]["msg_type"]
        if t == "stream":
            out.append(m["content"]["text"])
        elif t == "error":
            out.append("\n".join(m["content"]["traceback"]))
        elif t == "execute_reply":
            status = m["content"]["status"]
        elif t == "status" and m["content"].get("execution_state") == "idle":
            idle = True
    ws.close()
    return status, "".join(out)


def test_pytorch_kernel_through_the_proxy_and_files_persist(daemon):
    admin = Api(daemon, ADMIN_TOKEN)
    ann = create_user(admin, daemon, "ann")
    s = launch(ann.api, "thesis", env="jupyter-pytorch", gpus=1)
    s = wait_state(ann.api, s["id"], ["running"], timeout=90)
    assert s["gpu_mode"] == "kernel" and s["allocations"] == []     # editing holds no GPU
    base = "/user/ann/thesis/"
    auth = {"Authorization": f"Bearer {ann.token}"}

    r = requests.get(f"{daemon.url}{base}api/status", headers=auth, timeout=10)
    assert r.status_code == 200 and "started" in r.json()
    # the kernel a client gets without naming one (what a new notebook gets)
    r = requests.post(f"{daemon.url}{base}api/kernels", headers=auth, json={}, timeout=30)
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    s = wait_for(lambda: (lambda x: x if x["allocations"] else None)(ann.api.get(f"/sessions/{s['id']}").json()),
                 60, 0.1, "the kernel's GPU")
    gpu = s["allocations"][0]["gpu"]
    status, out = run_code(daemon, ann, base, kid,
                           "import os, torch\n"
                           "print('torch', torch.__version__)\n"
                           "print('cvd', os.environ['CUDA_VISIBLE_DEVICES'])\n"
                           "open(os.path.expanduser('~/kept.txt'), 'w').write('still here')\n")
    assert status == "ok", out
    assert "torch 1." in out, out
    assert f"cvd {gpu}" in out, out

    # stop: GPUs back; the file stays in the user's home
    assert ann.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(ann.api, s["id"], ["stopped"], timeout=60)
    assert all(g["allocated_milli"] == 0 for g in admin.get("/gpus").json()["items"])

    s2 = launch(ann.api, "next", env="jupyter-pytorch", gpus=0)
    wait_state(ann.api, s2["id"], ["running"], timeout=90)
    r = requests.get(f"{daemon.url}/user/ann/next/api/contents/kept.txt", headers=auth,
                     params={"content": "1"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["content"] == "still here"
    # nobody else reads it
    bob = create_user(admin, daemon, "bob")
    r = requests.get(f"{daemon.url}/user/ann/next/api/contents/kept.txt",
                     headers={"Authorization": f"Bearer {bob.token}"}, timeout=10)
    assert r.status_code == 404
    assert ann.api.post(f"/sessions/{s2['id']}/stop").status_code == 200
    wait_state(ann.api, s2["id"], ["stopped"], timeout=60)
    admin.close()
