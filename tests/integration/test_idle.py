"""
Idle GPUs are given back, and nobody loses work (docs/idle.md).

With short idle timeouts in the config, a real Jupyter session that nobody
uses is warned, suspended (GPU released, files kept), woken by a browser
request to its URL, and comes back with the same notebook open. A busy
kernel, or a process that keeps its simulated GPU at 90 %, is not idle; a
tab that only polls is. Suspend, resume and the idle policies are also
reachable over the API and the CLI, with clear 4xx answers to bad input.
"""

import datetime
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import (ADMIN_TOKEN, Api, assert_error, create_user, event_types, gpus_in_use, kernel_execute, launch,
                      metric, needs_jupyter, wait_for, wait_state)

HERE = os.path.dirname(os.path.abspath(__file__))


def hub_time(text):
    """A time of the API ("2026-01-02T03:04:05Z", UTC) as seconds since the epoch."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def idle_daemon(daemon_factory, tmp_path, **idle):
    conf = {"poll_interval_s": 1, "gpu_idle_s": 0, "full_idle_s": 0, "warn_s": 1}
    conf.update(idle)
    conf = {k: v for k, v in conf.items() if v is not None}
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text("idle:\n" + "".join(f"  {k}: {v}\n" for k, v in conf.items()))
    return daemon_factory(extra_args=["--config", str(cfg)])


def start_kernel_cell(daemon, user, base, kernel_id, code):
    """Sends one execute_request over the kernel WebSocket through the proxy
    and closes the socket at once: the cell keeps running in the kernel."""
    ws, msg_id = kernel_execute(daemon, user, base, kernel_id, code, timeout=30)
    # wait until the kernel says it is busy with our cell
    end, busy = time.time() + 30, False
    while time.time() < end and not busy:
        m = json.loads(ws.recv())
        busy = (m.get("parent_header", {}).get("msg_id") == msg_id and m["header"]["msg_type"] == "status"
                and m["content"]["execution_state"] == "busy")
    ws.close()
    assert busy, "the kernel never said it was busy with the cell"


@needs_jupyter
def test_idle_notebook_is_suspended_then_woken_by_the_browser_with_its_notebook(daemon_factory, tmp_path):
    d = idle_daemon(daemon_factory, tmp_path, full_idle_s=5, warn_s=2)
    admin = Api(d, ADMIN_TOKEN)
    ann = create_user(admin, d, "ann")
    s = launch(ann.api, "nb", env="jupyter-pytorch", gpus=1)
    sid = s["id"]
    wait_state(ann.api, sid, ["running"], timeout=90)
    base = f"{d.url}/user/ann/nb/"
    auth = {"Authorization": f"Bearer {ann.token}"}

    # a notebook, open with a kernel (what the page does when you open it)
    nb = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}
    r = requests.put(base + "api/contents/thesis.ipynb", headers=auth, json=nb, timeout=30)
    assert r.status_code in (200, 201), r.text
    r = requests.post(base + "api/sessions", headers=auth, timeout=60,
                      json={"path": "thesis.ipynb", "type": "notebook", "name": "thesis.ipynb",
                            "kernel": {"name": "python3"}})
    assert r.status_code == 201, r.text
    # its GPU follows the kernel (jupyter-pytorch's gpu_mode): held from now
    wait_for(lambda: gpus_in_use(admin) == 1000, 30, 0.1, "the kernel's GPU")

    # nobody touches it: warned first, then suspended with the GPU back
    wait_state(ann.api, sid, ["idle-warned"], timeout=60)
    warned = ann.api.get(f"/sessions/{sid}").json()
    assert warned["idle"]["warned"] and warned["idle"]["rule"] == "full-idle"
    assert warned["idle"]["action_at"]
    s = wait_state(ann.api, sid, ["suspended"], timeout=60)
    assert s["allocations"] == [] and gpus_in_use(admin) == 0
    assert "idle" in s["reason"]
    types = [t for t, _ in event_types(ann.api, sid)]
    assert types.index("session.idle_warning") < types.index("session.suspending") < types.index("session.suspended")
    assert "session.gpus_reclaimed" in types
    assert any("thesis.ipynb" in m for t, m in event_types(ann.api, sid) if t == "session.state_saved")
    # the files are intact
    assert os.path.isfile(os.path.join(d.data_dir, "homes", "ann", "thesis.ipynb"))

    # an API request (a tab polling) does not wake it
    r = requests.get(base + "api/status", headers={**auth, "Accept": "application/json"}, timeout=10)
    assert r.status_code == 503
    time.sleep(1.5)
    assert ann.api.get(f"/sessions/{sid}").json()["state"] == "suspended"

    # a browser does: the page tells what happens and follows the event stream
    r = requests.get(base + "lab", headers={**auth, "Accept": "text/html,application/xhtml+xml"}, timeout=10)
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert "waking up" in r.text and "EventSource" in r.text and f"/api/v1/sessions/{sid}/events" in r.text
    assert "kernel memory" in r.text
    assert ann.api.get(f"/sessions/{sid}").json()["state"] in ("queued", "starting", "running")

    # it resumes; the same notebook is open again, with a fresh kernel
    wait_state(ann.api, sid, ["running", "idle-warned"], timeout=90)
    wait_for(lambda: any(t == "session.resumed" for t, _ in event_types(ann.api, sid)), 60, 0.2,
             "the resumed event")
    resumed = [m for t, m in event_types(ann.api, sid) if t == "session.resumed"][-1]
    assert "thesis.ipynb" in resumed and "not kept" in resumed
    r = requests.get(base + "api/sessions", headers=auth, timeout=10)
    assert r.status_code == 200, r.text
    assert [x["path"] for x in r.json()] == ["thesis.ipynb"]
    wait_for(lambda: gpus_in_use(admin) == 1000, 30, 0.1, "the reopened kernel's GPU")
    assert ann.api.post(f"/sessions/{sid}/stop").status_code == 200
    wait_state(ann.api, sid, ["stopped"], timeout=60)


@needs_jupyter
def test_busy_kernel_without_a_browser_is_not_idle(daemon_factory, tmp_path):
    # every rule is off while the kernel starts, however long that takes
    d = idle_daemon(daemon_factory, tmp_path)
    admin = Api(d, ADMIN_TOKEN)
    bo = create_user(admin, d, "bo")
    sid = launch(bo.api, "train", env="jupyter-pytorch", gpus=1)["id"]
    wait_state(bo.api, sid, ["running"], timeout=90)
    base = "/user/bo/train/"
    r = requests.post(f"{d.url}{base}api/kernels", headers={"Authorization": f"Bearer {bo.token}"},
                      json={"name": "python3"}, timeout=60)
    assert r.status_code == 201, r.text
    start_kernel_cell(d, bo, base, r.json()["id"], "import time\ntime.sleep(600)\n")

    # from now on a session with no activity and no computation is warned
    # and suspended full_idle_s after its last activity
    full_idle_s, warn_s = 8, 2
    r = admin.put("/environments/jupyter-pytorch/idle", json={"full_idle_s": full_idle_s, "warn_s": warn_s})
    assert r.status_code == 200, r.text
    in_force = time.time()          # the hub runs on this host, on the same clock

    # no browser, no requests: the hub goes on seeing the cell compute past
    # the time an idle session would have been suspended by (its times are
    # whole seconds; it looks once per poll_interval_s), and the session runs
    def computing_past_the_deadline():
        s = bo.api.get(f"/sessions/{sid}").json()
        assert s["state"] == "running", s
        idle = s["idle"]
        deadline = max(hub_time(idle["last_activity_at"]), in_force) + full_idle_s + warn_s + 2
        return idle["last_compute_at"] and hub_time(idle["last_compute_at"]) >= deadline and s

    wait_for(computing_past_the_deadline, 90, 0.5, "the hub to see the cell compute past the idle deadline")
    assert "session.idle_warning" not in [t for t, _ in event_types(bo.api, sid)]
    assert bo.api.post(f"/sessions/{sid}/stop").status_code == 200
    wait_state(bo.api, sid, ["stopped"], timeout=60)


@needs_jupyter
def test_open_tab_that_only_polls_is_suspended(daemon_factory, tmp_path):
    d = idle_daemon(daemon_factory, tmp_path, full_idle_s=4, warn_s=1)
    admin = Api(d, ADMIN_TOKEN)
    cy = create_user(admin, d, "cy")
    sid = launch(cy.api, "tab", env="jupyter-pytorch", gpus=1)["id"]
    wait_state(cy.api, sid, ["running"], timeout=90)
    base = f"{d.url}/user/cy/tab/"
    auth = {"Authorization": f"Bearer {cy.token}", "Accept": "application/json"}
    end = time.time() + 60
    state = "running"
    while time.time() < end and state != "suspended":
        for path in ("api/status", "api/kernels", "api/sessions", "api/terminals"):
            requests.get(base + path, headers=auth, timeout=10)
        state = cy.api.get(f"/sessions/{sid}").json()["state"]
        time.sleep(0.5)
    assert state == "suspended"
    assert gpus_in_use(admin) == 0


# -- simulated GPU use (light workspaces: one process that reports its use)

REPORTER = (
    "import os, time\n"
    "d = os.environ['GPUHUB_SIM_REPORT_DIR']; util = int(os.environ.get('UTIL', '0'))\n"
    "gpu = os.environ['CUDA_VISIBLE_DEVICES'].split(',')[0]\n"
    "while True:\n"
    "    tmp = os.path.join(d, '.%d.tmp' % os.getpid())\n"
    "    open(tmp, 'w').write('gpu=%s util=%d mem_mib=1024\\n' % (gpu, util))\n"
    "    os.replace(tmp, os.path.join(d, str(os.getpid())))\n"
    "    time.sleep(1)\n")


def reporter_env(admin, name, util):
    r = admin.post("/environments", json={
        "name": name, "interface": "jupyter",
        "launch": {"local": {"command": ["/usr/bin/env", f"UTIL={util}", sys.executable or "/usr/bin/python3",
                                         "-c", REPORTER], "ready": ""}}})
    assert r.status_code == 201, r.text


def test_process_using_its_gpu_is_not_idle_and_an_unused_gpu_is_given_back(daemon_factory, tmp_path):
    hook = tmp_path / "warnings.txt"
    d = idle_daemon(daemon_factory, tmp_path, gpu_idle_s=3, full_idle_s=3, warn_s=1,
                    notify_command=f"'echo \"$GPUHUB_SESSION_NAME $GPUHUB_IDLE_RULE $GPUHUB_USER\" >> {hook}'")
    admin = Api(d, ADMIN_TOKEN)
    reporter_env(admin, "busy-gpu", 90)
    reporter_env(admin, "idle-gpu", 0)
    busy = launch(admin, "busy", env="busy-gpu", gpus=1)["id"]
    idle = launch(admin, "idle", env="idle-gpu", gpus=1)["id"]
    wait_state(admin, busy, ["running"], timeout=30)
    wait_state(admin, idle, ["running"], timeout=30)

    # the unused one is warned and suspended (this test can fail) ...
    s = wait_state(admin, idle, ["suspended"], timeout=30)
    assert s["allocations"] == []
    # its GPU counts as reclaimed from an idle session, not as a stop
    assert metric(d, "gpuhub_gpu_reclaimed_seconds_total", reason="idle") > 0 and metric(d, "gpuhub_gpu_reclaimed_seconds_total", reason="stopped") == 0
    # ... while the one at 90 % keeps its GPU, with no user traffic at all
    s = admin.get(f"/sessions/{busy}").json()
    assert s["state"] == "running", s
    assert s["idle"]["gpu_util_percent"] == 90
    time.sleep(4)
    assert admin.get(f"/sessions/{busy}").json()["state"] == "running"
    assert "session.idle_warning" not in [t for t, _ in event_types(admin, busy)]
    assert gpus_in_use(admin) == 1000
    # the notification hook ran for the warned session only
    wait_for(lambda: hook.exists() and hook.read_text(), 10, 0.1, "the notification hook")
    lines = hook.read_text().split("\n")
    assert lines[0].split()[0] == "idle" and lines[0].split()[2] == "admin", lines
    assert lines[0].split()[1] in ("gpu-idle", "full-idle")
    assert not any(line.startswith("busy") for line in lines)


# -- suspend / resume by hand, policies, errors


def test_suspend_and_resume_by_api_and_cli(daemon, tmp_path):
    admin = Api(daemon, ADMIN_TOKEN)
    dee = create_user(admin, daemon, "dee")
    sid = launch(dee.api, "work", gpus=1)["id"]
    wait_state(dee.api, sid, ["running"], timeout=30)

    r = dee.api.post(f"/sessions/{sid}/suspend")
    assert r.status_code == 200 and r.json()["state"] in ("suspending", "suspended")
    s = wait_state(dee.api, sid, ["suspended"], timeout=30)
    assert s["allocations"] == [] and s["reason"] == "suspended by its user"
    # a suspend by hand gives the GPU back as a stop would, not as idle
    assert metric(daemon, "gpuhub_gpu_reclaimed_seconds_total", reason="stopped") > 0 and metric(daemon, "gpuhub_gpu_reclaimed_seconds_total", reason="idle") == 0
    # suspending twice is fine; stopping it is too (later)
    assert dee.api.post(f"/sessions/{sid}/suspend").status_code == 200

    env = dict(os.environ, GPUHUB_URL=daemon.url, GPUHUB_TOKEN=dee.token)
    out = subprocess.run([daemon.binary, "resume", "work"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "Session work is" in out.stdout and "fresh kernels" in out.stdout
    wait_state(dee.api, sid, ["running"], timeout=30)
    assert dee.api.get(f"/sessions/{sid}").json()["allocations"]

    out = subprocess.run([daemon.binary, "suspend", "work"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    wait_state(dee.api, sid, ["suspended"], timeout=30)
    # resuming by API; a second resume while it wakes changes nothing
    assert dee.api.post(f"/sessions/{sid}/resume").status_code == 200
    assert dee.api.post(f"/sessions/{sid}/resume").status_code == 200
    wait_state(dee.api, sid, ["running"], timeout=30)

    # wrong states and other users
    eve = create_user(admin, daemon, "eve")
    assert_error(eve.api.post(f"/sessions/{sid}/suspend"), 404)
    assert dee.api.post(f"/sessions/{sid}/stop").status_code == 200
    wait_state(dee.api, sid, ["stopped"], timeout=30)
    r = dee.api.post(f"/sessions/{sid}/resume")
    assert_error(r, 409)
    assert "only a suspended session" in r.json()["error"]["message"]
    assert_error(dee.api.post(f"/sessions/{sid}/suspend"), 409)
    assert_error(dee.api.post("/sessions/99999/suspend"), 404)


def test_idle_policies_per_environment_and_group(daemon):
    admin = Api(daemon, ADMIN_TOKEN)
    r = admin.get("/environments/jupyter-python/idle")
    assert r.status_code == 200
    eff = r.json()["effective"]
    assert eff["full_idle_s"] == 3600 and eff["warn_s"] == 300 and r.json()["override"] == {}

    r = admin.put("/environments/jupyter-python/idle", json={"gpu_idle_s": 600, "warn_s": 60})
    assert r.status_code == 200, r.text
    assert r.json()["override"] == {"gpu_idle_s": 600, "warn_s": 60}
    assert r.json()["effective"]["gpu_idle_s"] == 600 and r.json()["effective"]["full_idle_s"] == 3600
    assert admin.get("/environments/jupyter-python").json()["idle"] == {"gpu_idle_s": 600, "warn_s": 60}

    r = admin.put("/groups/physics/idle", json={"full_idle_s": 900})
    assert r.status_code == 200 and r.json() == {"group": "physics", "override": {"full_idle_s": 900}}
    assert admin.get("/groups/physics/idle").json()["override"] == {"full_idle_s": 900}
    assert admin.get("/groups/chem/idle").json()["override"] == {}

    # bad input: 4xx naming the problem, nothing changes
    assert_error(admin.put("/environments/jupyter-python/idle", json={"warn_s": -1}), 400, field="warn_s")
    assert_error(admin.put("/environments/jupyter-python/idle", json={"gpu_util_percent": 101}), 400,
                 field="gpu_util_percent")
    assert_error(admin.put("/environments/jupyter-python/idle", json={"idle_s": 5}), 400)
    assert_error(admin.put("/environments/jupyter-python/idle", json={"full_idle_s": "soon"}), 400,
                 field="full_idle_s")
    assert_error(admin.put("/environments/nope/idle", json={}), 404)
    assert_error(admin.put("/groups/Bad Name/idle", json={}), 400)
    assert admin.get("/environments/jupyter-python/idle").json()["override"] == {"gpu_idle_s": 600, "warn_s": 60}
    user = create_user(admin, daemon, "fay")
    assert_error(user.api.put("/environments/jupyter-python/idle", json={}), 403)
    assert_error(user.api.put("/groups/physics/idle", json={}), 403)

    # both survive a restart
    daemon.restart()
    admin = Api(daemon, ADMIN_TOKEN)
    assert admin.get("/groups/physics/idle").json()["override"] == {"full_idle_s": 900}
    assert admin.get("/environments/jupyter-python/idle").json()["override"]["gpu_idle_s"] == 600


def test_group_policies_of_an_older_release_are_imported_into_the_store(daemon_factory, tmp_path):
    data = tmp_path / "old-data"
    data.mkdir()
    legacy = data / "idle-groups.json"
    legacy.write_text(json.dumps({"physics": {"full_idle_s": 900, "warn_s": 60}, "Bad Name": {"warn_s": 1}}))
    d = daemon_factory(data_dir=data)
    admin = Api(d, ADMIN_TOKEN)
    assert admin.get("/groups/physics/idle").json()["override"] == {"full_idle_s": 900, "warn_s": 60}
    assert not legacy.exists() and (data / "idle-groups.json.imported").exists()
    assert "imported the idle policies of 1 group" in d.log()
    # from now on the store holds them: a change and a restart keep the change
    assert admin.put("/groups/physics/idle", json={"gpu_idle_s": 300}).status_code == 200
    d.restart()
    admin = Api(d, ADMIN_TOKEN)
    assert admin.get("/groups/physics/idle").json()["override"] == {"gpu_idle_s": 300}


def test_group_policy_applies_to_its_members(daemon_factory, tmp_path):
    d = idle_daemon(daemon_factory, tmp_path)     # every rule off by default here
    admin = Api(d, ADMIN_TOKEN)
    r = admin.post("/users", json={"name": "gil", "password": "a-long-password", "group": "physics"})
    assert r.status_code == 201, r.text
    r = admin.post("/users", json={"name": "hal", "password": "a-long-password", "group": "chem"})
    assert r.status_code == 201, r.text
    assert admin.put("/groups/physics/idle", json={"full_idle_s": 2, "warn_s": 1}).status_code == 200
    login = {}
    for name in ("gil", "hal"):
        api = Api(d)
        assert api.post("/login", json={"username": name, "password": "a-long-password"}).status_code == 200
        login[name] = api
    g = launch(login["gil"], "w", gpus=1)["id"]
    h = launch(login["hal"], "w", gpus=1)["id"]
    wait_state(admin, g, ["suspended"], timeout=30)
    assert admin.get(f"/sessions/{h}").json()["state"] == "running"


def test_suspended_session_survives_a_restart_and_resumes(daemon):
    admin = Api(daemon, ADMIN_TOKEN)
    sid = launch(admin, "keep", gpus=1)["id"]
    wait_state(admin, sid, ["running"])
    assert admin.post(f"/sessions/{sid}/suspend").status_code == 200
    wait_state(admin, sid, ["suspended"])
    daemon.restart()
    admin = Api(daemon, ADMIN_TOKEN)
    s = admin.get(f"/sessions/{sid}").json()
    assert s["state"] == "suspended" and s["allocations"] == []
    assert gpus_in_use(admin) == 0
    assert admin.post(f"/sessions/{sid}/resume").status_code == 200
    wait_state(admin, sid, ["running"])
    assert gpus_in_use(admin) == 1000


CODE_SERVER = "/opt/gpuhub/code-server"


@pytest.mark.skipif(not os.path.isfile(f"{CODE_SERVER}/node_modules/code-server/out/node/entry.js"),
                    reason=f"code-server is not installed in {CODE_SERVER} (scripts/install-deps installs it)")
def test_untouched_vscode_is_suspended_and_woken(daemon_factory, tmp_path):
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text("idle:\n  poll_interval_s: 1\n  gpu_idle_s: 0\n  full_idle_s: 6\n  warn_s: 2\n")
    d = daemon_factory(extra_args=["--config", str(cfg)], light=False)
    admin = Api(d, ADMIN_TOKEN)
    kim = create_user(admin, d, "kim")
    sid = launch(kim.api, "code", env="vscode", gpus=1)["id"]
    wait_state(kim.api, sid, ["running", "idle-warned"], timeout=90)
    # its heartbeat is read (the signal is there) but nobody is connected
    s = wait_state(kim.api, sid, ["suspended"], timeout=60)
    assert s["allocations"] == []
    assert "session.idle_warning" in [t for t, _ in event_types(kim.api, sid)]
    r = requests.get(f"{d.url}/user/kim/code/", headers={"Authorization": f"Bearer {kim.token}",
                                                         "Accept": "text/html"}, timeout=10)
    assert r.status_code == 503 and "waking up" in r.text
    wait_state(kim.api, sid, ["running", "idle-warned"], timeout=90)
    wait_for(lambda: [m for t, m in event_types(kim.api, sid) if t == "session.resumed"], 30, 0.2, "resumed")
    r = requests.get(f"{d.url}/user/kim/code/", headers={"Authorization": f"Bearer {kim.token}"}, timeout=30)
    assert r.status_code == 200 and "vscode-workbench-web-configuration" in r.text


def test_warning_is_posted_to_the_notify_url(daemon_factory, tmp_path):
    import http.server
    got = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        d = idle_daemon(daemon_factory, tmp_path, full_idle_s=3, warn_s=2,
                        notify_url=f"http://127.0.0.1:{srv.server_port}/hook")
        admin = Api(d, ADMIN_TOKEN)
        sid = launch(admin, "quiet", gpus=1)["id"]
        wait_state(admin, sid, ["suspended"], timeout=30)
        wait_for(lambda: got, 10, 0.1, "the hook's POST")
        ev = got[0]
        assert ev["event"] == "session.idle_warning" and ev["session"] == "quiet" and ev["user"] == "admin"
        assert ev["session_id"] == sid and ev["rule"] == "full-idle" and "suspended in" in ev["message"]
        assert ev["action_at"] >= int(time.time()) - 30
    finally:
        srv.shutdown()


def test_bad_idle_settings_are_refused_with_the_key(gpuhub_bin, tmp_path):
    for text, key in (("idle:\n  notify_url: ftp://example.org/x\n", "idle.notify_url"),
                      ("idle:\n  warn_s: -5\n", "idle.warn_s"),
                      ("idle:\n  gpu_util_percent: 150\n", "idle.gpu_util_percent"),
                      ("idle:\n  full_idle: 60\n", "full_idle")):
        cfg = tmp_path / "bad.yaml"
        cfg.write_text(text)
        r = subprocess.run([gpuhub_bin, "serve", "--check-config", str(cfg)], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1, (text, r.stdout, r.stderr)
        assert key in r.stderr + r.stdout, (text, r.stderr)
