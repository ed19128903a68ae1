"""
Configuration and operations: --check-config accepts a good file and names
file:line:col and the key of a bad one; SIGHUP reloads (a changed log level,
or a broken file) without dropping service; JSON logs; GPU fault injection
marks a GPU unhealthy and the scheduler places nothing new on it.
"""

import json
import re
import signal
import subprocess
import time

from conftest import ADMIN_TOKEN, Api, assert_error, launch, wait_state

GOOD = """\
# a complete, valid configuration
listen: "127.0.0.1:8123"
log:
  level: info
  format: text
gpus:
  source: "sim:2xA100-80GB"
  poll_interval_ms: 500
http:
  max_body_bytes: 65536
auth:
  login_ttl_hours: 8
  token_ttl_days: 30
sessions:
  max_per_user: 4
"""

UNKNOWN_KEY = """\
log:
  level: info
  lvel: debug
"""


def check(binary, text, tmp_path, name="gpuhub.yaml"):
    path = tmp_path / name
    path.write_text(text)
    p = subprocess.run([binary, "serve", "--check-config", str(path)],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace"), str(path)


def test_check_config_good(gpuhub_bin, tmp_path):
    rc, out, _ = check(gpuhub_bin, GOOD, tmp_path)
    assert rc == 0, out


def test_check_config_empty_file_is_fine(gpuhub_bin, tmp_path):
    rc, out, _ = check(gpuhub_bin, "# nothing: every key has a default\n", tmp_path)
    assert rc == 0, out


def test_check_config_unknown_key(gpuhub_bin, tmp_path):
    rc, out, path = check(gpuhub_bin, UNKNOWN_KEY, tmp_path)
    assert rc != 0, out
    m = re.search(r"gpuhub\.yaml:(\d+):(\d+)", out)
    assert m, f"no file:line:col in {out!r}"
    assert m.group(1) == "3", out
    assert "lvel" in out, out


def test_check_config_bad_value(gpuhub_bin, tmp_path):
    rc, out, _ = check(gpuhub_bin, "log:\n  level: loud\n", tmp_path)
    assert rc != 0, out
    assert "level" in out, out


def test_check_config_wrong_type(gpuhub_bin, tmp_path):
    rc, out, _ = check(gpuhub_bin, "http:\n  max_body_bytes: lots\n", tmp_path)
    assert rc != 0, out
    assert re.search(r"gpuhub\.yaml:2:\d+", out), out


def test_check_config_broken_yaml(gpuhub_bin, tmp_path):
    rc, out, _ = check(gpuhub_bin, "log:\n  level: [info\n", tmp_path)
    assert rc != 0, out
    assert "gpuhub.yaml:" in out, out


def test_check_config_missing_file(gpuhub_bin, tmp_path):
    p = subprocess.run([gpuhub_bin, "serve", "--check-config", str(tmp_path / "absent.yaml")],
                       capture_output=True, timeout=30)
    assert p.returncode != 0


def test_config_file_is_used(daemon_factory, tmp_path):
    cfg = tmp_path / "small.yaml"
    cfg.write_text("http:\n  max_body_bytes: 4096\n")
    d = daemon_factory(extra_args=["--config", str(cfg)])
    admin = Api(d, ADMIN_TOKEN)
    r = admin.post("/tokens", json={"note": "x" * 5000})
    assert_error(r, 413, "too_large")
    r = admin.post("/tokens", json={"note": "small"})
    assert r.status_code == 201


def test_sighup_reload_keeps_serving(daemon_factory, tmp_path):
    cfg = tmp_path / "hup.yaml"
    cfg.write_text("log:\n  level: info\n")
    d = daemon_factory(extra_args=["--config", str(cfg)])
    admin = Api(d, ADMIN_TOKEN)
    sid = wait_state(admin, launch(admin, "across-hup", gpus=1)["id"], "running")["id"]
    pid = d.proc.pid

    cfg.write_text("log:\n  level: debug\n")
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert d.alive() and d.proc.pid == pid
    assert admin.get("/health").status_code == 200
    assert admin.get(f"/sessions/{sid}").json()["state"] == "running"
    for _ in range(5):
        assert admin.get("/sessions").status_code == 200

    # a broken file on SIGHUP is reported and the old settings stay
    cfg.write_text("log:\n  levle: debug\n")
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert d.alive()
    assert admin.get("/health").status_code == 200
    assert "levle" in d.log(), d.log()[-2000:]

    # a change that needs a restart is refused, not half-applied
    cfg.write_text("log:\n  level: info\nlisten: \"127.0.0.1:1\"\n")
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert d.alive()
    assert admin.get("/health").status_code == 200


def test_json_logs(daemon_factory):
    d = daemon_factory(extra_args=["--log-format", "json"])
    admin = Api(d, ADMIN_TOKEN)
    wait_state(admin, launch(admin, "logged", gpus=1)["id"], "running")
    lines = [l for l in d.log().splitlines() if l.strip()]
    assert lines, "nothing logged"
    for l in lines:
        obj = json.loads(l)
        assert isinstance(obj, dict) and any(k in obj for k in ("msg", "message")), l


def test_gpu_fault_injection(daemon, admin, make_user):
    u = make_user("faulty")
    r = admin.post("/gpus/0/fault", json={"type": "xid", "xid": 79})
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["index"] == 0 and g["healthy"] is False and g["fault"], g

    gpus = {g["index"]: g for g in u.api.get("/gpus").json()["items"]}
    assert gpus[0]["healthy"] is False
    assert all(gpus[i]["healthy"] for i in (1, 2, 3))

    # three whole GPUs and a half fit on the healthy ones; none lands on 0
    placed = []
    for i in range(3):
        s = wait_state(u.api, launch(u.api, f"w{i}", gpus=1)["id"], "running")
        placed += [a["gpu"] for a in s["allocations"]]
    assert sorted(placed) == [1, 2, 3], placed
    # the healthy GPUs are full; GPU 0 is free but faulty: a new request waits or is refused
    r = u.api.post("/sessions", json={"env": "jupyter-python", "name": "w3", "gpus": 1})
    if r.status_code == 201:
        s = r.json()
        assert s["allocations"] == [] and s["state"] == "queued", s
        time.sleep(0.5)
        s = u.api.get(f"/sessions/{s['id']}").json()
        assert s["allocations"] == [] and s["state"] == "queued", s
    else:
        assert_error(r, 409, "no_capacity")
    assert admin.get("/gpus").json()["items"][0]["allocated_milli"] == 0

    # clearing the fault makes it usable again
    r = admin.post("/gpus/0/fault", json={"type": "clear"})
    assert r.status_code == 200 and r.json()["healthy"] is True, r.text
    queued = [s for s in u.api.get("/sessions").json()["items"] if s["name"] == "w3"]
    if queued:
        s = wait_state(u.api, queued[0]["id"], "running")
    else:
        s = wait_state(u.api, launch(u.api, "w4", gpus=1)["id"], "running")
    assert [a["gpu"] for a in s["allocations"]] == [0], s


def test_lost_gpu(daemon, admin, make_user):
    u = make_user("lost")
    r = admin.post("/gpus/2/fault", json={"type": "lost"})
    assert r.status_code == 200 and r.json()["healthy"] is False, r.text
    placed = []
    for i in range(3):
        s = wait_state(u.api, launch(u.api, f"l{i}", gpus=1)["id"], "running")
        placed += [a["gpu"] for a in s["allocations"]]
    assert 2 not in placed and len(placed) == 3, placed


def test_fault_on_a_busy_gpu_is_visible(daemon, admin, make_user):
    u = make_user("busy")
    s = wait_state(u.api, launch(u.api, "victim", gpus=1)["id"], "running")
    idx = s["allocations"][0]["gpu"]
    r = admin.post(f"/gpus/{idx}/fault", json={"type": "xid", "xid": 48})
    assert r.status_code == 200 and r.json()["healthy"] is False
    # the owner can see that their GPU is unhealthy
    g = [g for g in u.api.get("/gpus").json()["items"] if g["index"] == idx][0]
    assert g["healthy"] is False and g["fault"], g
