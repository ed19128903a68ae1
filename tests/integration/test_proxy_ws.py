"""
WebSockets through the workspace proxy, with either relay
(http.websocket_relay): `auto`, where the kernel forwards the bytes once
the hub has done the handshake (a BPF sockmap program; the hub falls back
to its own relay where the kernel refuses), and `hub`, the hub's event
loop. Both must behave alike for the browser and the workspace.
"""
import fcntl
import os
import struct
import subprocess
import termios
import time

import pytest
import requests
import websocket

from conftest import ADMIN_TOKEN, Api, create_user, launch, metric, wait_for, wait_state

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(params=["auto", "hub"])
def echo_hub(request, daemon_factory, tmp_path):
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text(f"http:\n  websocket_relay: {request.param}\n")
    d = daemon_factory(extra_args=["--config", str(cfg)])
    admin = Api(d, ADMIN_TOKEN)
    r = admin.post("/environments", json={
        "name": "echo", "interface": "jupyter", "default_gpus": 0,
        "launch": {"local": {"command": ["/usr/bin/python3", os.path.join(HERE, "workspace_echo.py")]}}})
    assert r.status_code == 201, r.text
    ann = create_user(admin, d, "ann")
    s = launch(ann.api, "lab", env="echo", gpus=0)
    wait_state(ann.api, s["id"], ["running"])
    base = f"ws://127.0.0.1:{d.port}/user/ann/lab"
    auth = [f"Authorization: Bearer {ann.token}"]
    wait_for(lambda: requests.get(f"{d.url}/user/ann/lab/", headers={"Authorization": f"Bearer {ann.token}"},
                                  timeout=5).status_code == 200, 20, 0.1, "the workspace answers")
    kernel = "relayed by the kernel (BPF sockmap)" in d.log()
    if request.param == "hub":
        assert "relayed by the kernel" not in d.log()
    elif not kernel:
        # the log says why; the `hub` case covers this relay already
        assert "relayed by the hub: the kernel refused" in d.log()
        pytest.skip("this kernel refuses the BPF sockmap relay")
    return d, base, auth, kernel


def connect(base, path, auth, origin):
    return websocket.create_connection(base + path, header=auth, origin=origin, timeout=10)


def unread(ws):
    """Bytes waiting unread in the client's socket."""
    return struct.unpack("i", fcntl.ioctl(ws.sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def test_messages_both_ways_and_the_end_from_the_browser(echo_hub):
    d, base, auth, kernel = echo_hub
    sent0 = metric(d, "gpuhub_proxy_bytes_total", direction="to_workspace")
    ws = connect(base, "/api/kernels/k1/channels", auth, d.url)
    assert metric(d, "gpuhub_proxy_websockets_open") == 1
    for i in range(50):
        ws.send(f"m{i}")
        assert ws.recv() == f"echo:m{i}"
    # a burst: all sent before any answer is read, all back in order
    for i in range(200):
        ws.send(f"b{i}")
    assert [ws.recv() for _ in range(200)] == [f"echo:b{i}" for i in range(200)]
    big = os.urandom(300000)
    ws.send_binary(big)
    assert ws.recv() == b"echo:" + big
    ws.close()
    wait_for(lambda: metric(d, "gpuhub_proxy_websockets_open") == 0, 10, 0.1, "the tunnel closed")
    if kernel:
        # the kernel's relay counts the WebSocket bytes too (booked at the end)
        assert metric(d, "gpuhub_proxy_bytes_total", direction="to_workspace") - sent0 >= len(big)


def test_the_workspace_speaks_first(echo_hub):
    # bytes the workspace sends right after its 101, before the browser says
    # anything, must arrive (they may reach the hub before the relay is set up)
    d, base, auth, _ = echo_hub
    for delay in list(range(0, 300, 20)) * 2 + [500, 1000, 2000]:
        ws = connect(base, f"/api/kernels/k2/greet-{delay}", auth, d.url)
        ws.settimeout(3)
        assert ws.recv() == "hello", delay
        # in order, though the first may have reached the hub before the
        # kernel took the sockets and the rest after
        assert [ws.recv() for _ in range(50)] == [f"g{i}" for i in range(50)], delay
        ws.send("after")
        assert ws.recv() == "echo:after"
        ws.close()


def test_the_end_from_the_workspace_reaches_the_browser(echo_hub):
    d, base, auth, _ = echo_hub
    ws = connect(base, "/api/kernels/k3/bye", auth, d.url)
    ws.send("last")
    assert ws.recv() == "echo:last"
    ws.settimeout(10)
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        while True:
            if ws.recv() in ("", b""):
                raise websocket.WebSocketConnectionClosedException("closed")
    wait_for(lambda: metric(d, "gpuhub_proxy_websockets_open") == 0, 10, 0.1, "the tunnel closed")


def test_a_refused_upgrade_keeps_the_workspace_status(echo_hub):
    d, base, auth, _ = echo_hub
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(base, "/api/kernels/k4/refuse", auth, d.url)
    assert e.value.status_code == 404
    # and the workspace still works afterwards
    ws = connect(base, "/api/kernels/k5/channels", auth, d.url)
    ws.send("ok?")
    assert ws.recv() == "echo:ok?"
    ws.close()


def flood(base, path, auth, origin, n, size, before_reading=None):
    """Asks the workspace for n messages of size bytes and reads nothing
    until the browser's own socket holds 64 KB unread (it takes no more
    before its reader reads: the rest waits on the way) and
    before_reading() returns; then reads and checks them all, in order."""
    ws = connect(base, path, auth, origin)
    ws.send(f"flood:{n}:{size}")
    wait_for(lambda: unread(ws) >= 64 << 10, 20, 0.05, "the browser's socket fills up")
    if before_reading:
        before_reading()
    ws.settimeout(30)
    for i in range(n):
        m = ws.recv()
        assert len(m) == size and struct.unpack("!Q", m[:8])[0] == i, i
    assert ws.recv() == "flood done"
    return ws


def test_a_slow_browser_gets_every_byte_in_order(echo_hub):
    # 26 MB from the workspace while the browser reads nothing: the relay
    # must wait for room (neither drop nor reorder), and the connection
    # still works both ways afterwards
    d, base, auth, _ = echo_hub
    ws = flood(base, "/api/kernels/k6/channels", auth, d.url, 400, 65536)
    ws.send("still there?")
    assert ws.recv() == "echo:still there?"
    ws.close()


def test_a_workspace_that_ends_after_a_flood_loses_nothing(echo_hub):
    # the workspace sends 26 MB and closes while the browser is far
    # behind: everything on the way must still arrive, then the end
    d, base, auth, _ = echo_hub

    def upstream_ended():
        out = subprocess.run(["ss", "-tnpH", "state", "close-wait"], capture_output=True, text=True).stdout
        return f"pid={d.proc.pid}," in out

    def until_the_workspace_has_ended():
        # the hub's socket to the workspace has its FIN once the rest of the
        # flood is past it (with the kernel relay; the hub's own relay stops
        # reading it, so it may not come before the browser reads)
        deadline = time.monotonic() + 10
        while not upstream_ended() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the hub acts on the end meanwhile

    ws = flood(base, "/api/kernels/k7/bye", auth, d.url, 400, 65536, until_the_workspace_has_ended)
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        while True:
            if ws.recv() in ("", b""):
                raise websocket.WebSocketConnectionClosedException("closed")
