"""
Jupyter's terminals through the hub's proxy: a real Jupyter Server (with
terminado) in a session, a terminal opened with its REST API
(POST api/terminals), a command typed over the terminal's WebSocket
(terminals/websocket/<name>), its output read back; another user cannot
reach the terminal.
"""

import json
import time

import pytest
import requests
import websocket

from conftest import ADMIN_TOKEN, Api, create_user, launch, needs_jupyter, wait_state

try:
    import terminado  # noqa: F401
    HAVE_TERMINADO = True
except ImportError:
    HAVE_TERMINADO = False

pytestmark = [
    needs_jupyter,
    pytest.mark.skipif(not HAVE_TERMINADO,
                       reason="terminado is not installed (python3-terminado)"),
]


def read_until(ws, needle, timeout=30):
    """Terminado sends ["stdout", text] frames; returns all text up to needle."""
    seen, end = "", time.time() + timeout
    while time.time() < end:
        ws.settimeout(max(0.1, end - time.time()))
        try:
            msg = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            break
        if msg[0] == "stdout":
            seen += msg[1]
            if needle in seen:
                return seen
    raise AssertionError(f"{needle!r} not seen in terminal output: {seen[-500:]!r}")


def test_terminal_over_the_proxy(daemon_factory):
    daemon = daemon_factory(light=False)
    admin = Api(daemon, ADMIN_TOKEN)
    ann = create_user(admin, daemon, "ann")
    bob = create_user(admin, daemon, "bob")
    s = launch(ann.api, "term", env="jupyter-python", gpus=0)
    wait_state(ann.api, s["id"], ["running"], timeout=90)
    base = f"{daemon.url}/user/ann/term/"
    auth = {"Authorization": f"Bearer {ann.token}"}

    r = requests.post(base + "api/terminals", headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    name = r.json()["name"]
    r = requests.get(base + "api/terminals", headers=auth, timeout=10)
    assert [t["name"] for t in r.json()] == [name]
    # another user sees no such session
    r = requests.get(base + "api/terminals", headers={"Authorization": f"Bearer {bob.token}"},
                     timeout=10)
    assert r.status_code == 404

    ws = websocket.create_connection(
        f"ws://127.0.0.1:{daemon.port}/user/ann/term/terminals/websocket/{name}",
        header=[f"Authorization: Bearer {ann.token}"], origin=daemon.url, timeout=30)
    ws.send(json.dumps(["set_size", 24, 80, 600, 800]))
    ws.send(json.dumps(["stdin", "echo gpus=$CUDA_VISIBLE_DEVICES sum=$((40+2)) user=$GPUHUB_USER\r"]))
    out = read_until(ws, "sum=42")
    assert "user=ann" in out[out.index("sum=42"):], out
    ws.send(json.dumps(["stdin", "exit\r"]))
    ws.close()

    r = requests.delete(base + f"api/terminals/{name}", headers=auth, timeout=30)
    assert r.status_code in (204, 404), r.text
    assert ann.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(ann.api, s["id"], ["stopped"], timeout=60)
    admin.close()
