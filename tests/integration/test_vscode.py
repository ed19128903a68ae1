"""
A real VS Code (code-server) workspace through the hub: launch the `vscode`
environment, load the workbench page through the proxy (which strips the
session prefix), open the workbench's management WebSocket through the proxy
and complete the first step of its protocol. Another user gets 404 on both,
and code-server's own port refuses requests without the workspace token.
"""

import html
import json
import os
import re
import struct
import uuid

import pytest
import requests
import websocket

from conftest import ADMIN_TOKEN, Api, create_user, launch, wait_state

CODE_SERVER = "/opt/gpuhub/code-server"
pytestmark = pytest.mark.skipif(
    not os.path.isfile(f"{CODE_SERVER}/node_modules/code-server/out/node/entry.js")
    or not os.path.isfile(f"{CODE_SERVER}/token-gate.js"),
    reason=f"code-server is not installed in {CODE_SERVER} (scripts/install-deps installs it)")

# PersistentProtocol framing of VS Code's remote connection: type, id, ack,
# length (big endian), then the body. Type 2 is a control message.
CONTROL = 2


def frame(kind, body):
    return struct.pack(">BIII", kind, 0, 0, len(body)) + body


def workbench_config(page):
    m = re.search(r'id="vscode-workbench-web-configuration"\s+data-settings="([^"]*)"', page)
    assert m, page[:2000]
    return json.loads(html.unescape(m.group(1)))


def test_code_server_workbench_and_websocket_through_the_proxy(daemon_factory):
    daemon = daemon_factory(light=False)
    admin = Api(daemon, ADMIN_TOKEN)
    vic = create_user(admin, daemon, "vic")
    s = launch(vic.api, "editor", env="vscode", gpus=0)
    wait_state(vic.api, s["id"], ["running"], timeout=120)
    base = f"{daemon.url}/user/vic/editor/"
    auth = {"Authorization": f"Bearer {vic.token}"}

    # readiness endpoint, with the prefix stripped
    r = requests.get(f"{base}healthz", headers=auth, timeout=10)
    assert r.status_code == 200, r.text
    assert "status" in r.json() and "lastHeartbeat" in r.json()

    # the workbench: "/" redirects to "./?folder=<home>", relative, so it
    # stays under the session prefix
    r = requests.get(base, headers=auth, timeout=30, allow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["Location"].startswith("./?folder="), r.headers
    r = requests.get(base, headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    assert r.url.startswith(base)
    assert "text/html" in r.headers.get("Content-Type", "")
    page = r.text
    assert "workbench" in page and "vscode-workbench-web-configuration" in page, page[:2000]
    conf = workbench_config(page)
    assert conf["productConfiguration"]["codeServerVersion"] == "4.100.3", conf
    # static assets resolve relative to the page, through the proxy
    commit = re.search(r"stable-([0-9a-f]{40})", page)
    assert commit, page[:2000]
    commit = commit.group(1)
    r = requests.get(f"{base}stable-{commit}/static/out/vs/code/browser/workbench/workbench.js",
                     headers=auth, timeout=30)
    assert r.status_code == 200 and len(r.content) > 1000, r.status_code

    # the management connection the workbench opens: <base>stable-<commit>
    # with a fresh reconnection token; the server answers the client's auth
    # request with a "sign" control message
    ws_url = (f"ws://127.0.0.1:{daemon.port}/user/vic/editor/stable-{commit}"
              f"?reconnectionToken={uuid.uuid4()}&reconnection=false&skipWebSocketFrames=false")
    ws = websocket.create_connection(ws_url, header=[f"Authorization: Bearer {vic.token}"],
                                     origin=daemon.url, timeout=30)
    assert ws.getstatus() == 101
    ws.send_binary(frame(CONTROL, json.dumps(
        {"type": "auth", "auth": "00000000000000000000", "data": "gpuhub-test"}).encode()))
    msg = ws.recv()
    assert isinstance(msg, bytes) and len(msg) > 13, msg
    kind, _, _, length = struct.unpack(">BIII", msg[:13])
    assert kind == CONTROL and length == len(msg) - 13, msg[:13].hex()
    assert json.loads(msg[13:])["type"] == "sign", msg[13:]
    ws.close()

    # another user: 404 on the page and on the WebSocket
    eve = create_user(admin, daemon, "eve")
    r = requests.get(base, headers={"Authorization": f"Bearer {eve.token}"}, timeout=10)
    assert r.status_code == 404
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url, header=[f"Authorization: Bearer {eve.token}"],
                                    timeout=10)
    assert e.value.status_code == 404

    # code-server's own port answers nothing without the workspace token
    logs = vic.api.get(f"/sessions/{s['id']}/logs", params={"tail": 200})
    assert logs.status_code == 200, logs.text
    m = re.search(r"HTTP server listening on http://127\.0\.0\.1:(\d+)/", logs.text)
    assert m, logs.text
    port = int(m.group(1))
    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 403
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=10,
                        headers={"Authorization": "token wrong"}).status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(
            f"ws://127.0.0.1:{port}/stable-{commit}?reconnectionToken={uuid.uuid4()}"
            "&reconnection=false&skipWebSocketFrames=false", timeout=10)
    assert e.value.status_code == 403

    assert vic.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(vic.api, s["id"], ["stopped"], timeout=60)
    admin.close()
