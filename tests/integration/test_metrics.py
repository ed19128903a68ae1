"""
GET /metrics on a live hub, and the monitoring files shipped in deploy/.

- the scrape is clean under `promtool check metrics` with sessions running,
  and says what the API says: allocations, states, per-process GPU use of
  two sessions sharing one GPU (each its own figures, not the device's);
- requests are counted by route pattern, never by raw path;
- a scrape token, when configured, is required (401 without it);
- GPU-seconds reclaimed when a session holding GPUs is stopped;
- a real Prometheus scrapes the hub (a PromQL query returns the hub's
  allocated GPUs), evaluates the shipped rules (a test copy with short
  `for:`), and a real Alertmanager delivers the alerts to a webhook;
- every gpuhub_* name used in the shipped rules and Grafana dashboards
  exists on a live hub.
"""

import glob
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import REPO, assert_error, create_user, free_port, launch, scrape, value, wait_for, wait_state

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
RULES = os.path.join(REPO, "deploy", "prometheus", "gpuhub-rules.yml")
DASHBOARDS = sorted(glob.glob(os.path.join(REPO, "deploy", "grafana", "*.json")))

# A workspace that reports its own GPU use to the simulated inventory, as a
# CUDA process would show up in NVML: one line per visible GPU, rewritten
# every second under its own pid (GPUHUB_SIM_REPORT_DIR, docs/gpu.md).
REPORTER = (
    'd="$GPUHUB_SIM_REPORT_DIR"; '
    'while :; do : > "$d/.$$.tmp"; '
    'for g in $(echo "$CUDA_VISIBLE_DEVICES" | tr , " "); do '
    'echo "gpu=$g util=$UTIL mem_mib=$MEM" >> "$d/.$$.tmp"; done; '
    'mv "$d/.$$.tmp" "$d/$$"; sleep 1; done')


def reporter_env(admin, name, util, mem_mib):
    r = admin.post("/environments", json={
        "name": name, "interface": "jupyter", "default_gpus": 1,
        "launch": {"local": {"command": ["/bin/sh", "-c", f"UTIL={util} MEM={mem_mib}; " + REPORTER],
                             "ready": ""}}})
    assert r.status_code == 201, r.text


def promtool_check(text):
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode()


def families(text):
    return {f.name for f in text_string_to_metric_families(text)} | \
        set(re.findall(r"^# TYPE (\S+)", text, re.M))


def test_scrape_is_clean_and_matches_the_api(daemon, admin):
    reporter_env(admin, "busy50", 50, 20480)
    reporter_env(admin, "busy20", 20, 10240)
    alice = create_user(admin, daemon, "alice")
    a = launch(alice.api, "train", env="busy50", gpus=0.5)
    b = launch(alice.api, "eval", env="busy20", gpus=0.5)
    whole = launch(alice.api, "whole", gpus=1)
    for s in (a, b, whole):
        wait_state(alice.api, s["id"], "running")
    a = alice.api.get(f"/sessions/{a['id']}").json()
    b = alice.api.get(f"/sessions/{b['id']}").json()
    gpu = a["allocations"][0]["gpu"]
    assert b["allocations"][0]["gpu"] == gpu, "the two halves should share one GPU"
    uuid = a["allocations"][0]["uuid"]

    # the reports arrive within a poll or two
    def attributed():
        t = scrape(daemon)
        return t if value(t, "gpuhub_session_gpu_utilization_ratio", session="eval") == 0.2 and \
            value(t, "gpuhub_session_gpu_utilization_ratio", session="train") == 0.5 else None
    text = wait_for(attributed, 20, 0.3, "per-session GPU figures")

    rc, out = promtool_check(text)
    assert rc == 0 and out.strip() == "", out

    # device total vs each session's own share of it
    assert value(text, "gpuhub_gpu_utilization_ratio", uuid=uuid) == 0.7
    assert value(text, "gpuhub_gpu_memory_used_bytes", uuid=uuid) == 30720 * 2**20
    assert value(text, "gpuhub_session_gpu_memory_used_bytes", session="train", user="alice") == 20480 * 2**20
    assert value(text, "gpuhub_session_gpu_memory_used_bytes", session="eval", user="alice") == 10240 * 2**20
    # the whole-GPU session runs a sleeping process: its GPU idles at 0
    assert value(text, "gpuhub_session_gpu_utilization_ratio", session="whole") == 0
    assert value(text, "gpuhub_session_allocated_gpus", session="train", environment="busy50") == 0.5
    assert value(text, "gpuhub_session_state", session="whole", state="running") == 1
    assert value(text, "gpuhub_sessions", state="running") == 3

    # GPU gauges agree with GET /gpus
    gpus = admin.get("/gpus").json()["items"]
    for g in gpus:
        assert value(text, "gpuhub_gpu_allocated_gpus", uuid=g["uuid"], index=g["index"],
                     model=g["model"]) == g["allocated_milli"] / 1000
        assert value(text, "gpuhub_gpu_memory_total_bytes", uuid=g["uuid"]) == g["memory_mib"] * 2**20
        assert value(text, "gpuhub_gpu_sharing_mode", uuid=g["uuid"], mode=g["sharing"]) == 1
        assert value(text, "gpuhub_gpu_healthy", uuid=g["uuid"]) == 1
    assert value(text, "gpuhub_sched_admissions_total", **{"class": "normal"}) == 3
    assert value(text, "gpuhub_sched_queue_length", **{"class": "normal"}) == 0
    assert value(text, "gpuhub_build_info", simulated="true") == 1

    # requests are counted by route pattern: never one series per session
    for _ in range(3):
        assert alice.api.get(f"/sessions/{a['id']}").status_code == 200
    assert alice.api.get("/sessions/999999").status_code == 404
    requests.get(daemon.url + "/api/v1/no/such/thing", timeout=5)
    text = scrape(daemon)
    assert value(text, "gpuhub_http_requests_total", method="GET", route="/api/v1/sessions/{id}",
                 status="200") >= 3
    assert value(text, "gpuhub_http_requests_total", method="GET", route="/api/v1/sessions/{id}",
                 status="404") == 1
    assert value(text, "gpuhub_http_requests_total", route="/api/v1/other", status="404") == 1
    assert not re.search(r'route="[^"]*/sessions/\d', text), "a raw path became a label"
    assert value(text, "gpuhub_http_request_duration_seconds_count", method="GET",
                 route="/api/v1/sessions/{id}") >= 4

    # the API path serves the same document
    assert "gpuhub_gpu_utilization_ratio" in scrape(daemon, path="/api/v1/metrics")


def test_xid_and_stop_are_counted(daemon_factory, tmp_path):
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text("metrics:\n  reclaim_horizon_s: 100\n")
    daemon = daemon_factory(extra_args=["--config", str(cfg)])
    from conftest import Api, ADMIN_TOKEN
    admin = Api(daemon, ADMIN_TOKEN)
    s = launch(admin, "held", gpus=2)
    wait_state(admin, s["id"], "running")
    assert admin.post(f"/sessions/{s['id']}/stop").status_code in (200, 202)
    wait_state(admin, s["id"], "stopped")
    r = admin.post("/gpus/3/fault", json={"type": "xid", "xid": 48})
    assert r.status_code == 200, r.text
    text = scrape(daemon)
    # two GPUs x the 100 s horizon, taken back by the stop
    assert value(text, "gpuhub_gpu_reclaimed_seconds_total", reason="stopped") == 200
    assert value(text, "gpuhub_gpu_reclaimed_seconds_total", reason="idle") == 0
    assert value(text, "gpuhub_gpu_xid_errors_total", index="3") == 1
    assert value(text, "gpuhub_gpu_last_xid", index="3") == 48
    assert value(text, "gpuhub_gpu_healthy", index="3") == 0
    assert value(text, "gpuhub_gpu_xid_errors_total", index="0") == 0
    assert value(text, "gpuhub_session_transitions_total", state="stopped") == 1
    rc, out = promtool_check(text)
    assert rc == 0 and out.strip() == "", out
    admin.close()


def test_scrape_token(daemon_factory, tmp_path):
    tok = tmp_path / "metrics-token"
    tok.write_text("s3cret-scrape-token-0123456789\n")
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text(f"metrics:\n  token_file: {tok}\n")
    daemon = daemon_factory(extra_args=["--config", str(cfg)])
    r = requests.get(daemon.url + "/metrics", timeout=10)
    err = assert_error(r, 401, "unauthenticated")
    assert "token" in err["message"]
    assert r.headers.get("www-authenticate", "").startswith("Bearer")
    r = requests.get(daemon.url + "/metrics", headers={"Authorization": "Bearer wrong-token"}, timeout=10)
    assert_error(r, 401, "unauthenticated")
    # a user's API token is not the scrape token
    from conftest import ADMIN_TOKEN
    r = requests.get(daemon.url + "/api/v1/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                     timeout=10)
    assert_error(r, 401, "unauthenticated")
    assert "gpuhub_build_info" in scrape(daemon, token="s3cret-scrape-token-0123456789")


def test_bad_token_file_is_refused(gpuhub_bin, tmp_path):
    cfg = tmp_path / "gpuhub.yaml"
    for content, want in ((f"metrics:\n  token_file: {tmp_path}/missing\n", "metrics.token_file"),
                          ("metrics:\n  reclaim_horizon_s: -1\n", "metrics.reclaim_horizon_s")):
        cfg.write_text(content)
        p = subprocess.run([gpuhub_bin, "serve", "--config", str(cfg), "--data-dir", str(tmp_path / "d"),
                            "--listen", f"127.0.0.1:{free_port()}", "--gpus", "sim:1"],
                           capture_output=True, timeout=30)
        assert p.returncode != 0
        assert want in (p.stdout + p.stderr).decode(), (p.stdout + p.stderr).decode()
        p = subprocess.run([gpuhub_bin, "serve", "--check-config", str(cfg)], capture_output=True, timeout=30)
        assert p.returncode == 1 and want in (p.stdout + p.stderr).decode()
    short = tmp_path / "short"
    short.write_text("abc\n")
    cfg.write_text(f"metrics:\n  token_file: {short}\n")
    p = subprocess.run([gpuhub_bin, "serve", "--config", str(cfg), "--data-dir", str(tmp_path / "d"),
                        "--listen", f"127.0.0.1:{free_port()}", "--gpus", "sim:1"],
                       capture_output=True, timeout=30)
    assert p.returncode != 0 and b"at least 16 characters" in p.stdout + p.stderr


def test_rules_and_dashboards_name_real_metrics(daemon, admin):
    p = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()
    example = os.path.join(os.path.dirname(RULES), "prometheus.yml")
    p = subprocess.run([PROMTOOL, "check", "config", example], capture_output=True, timeout=60)
    assert p.returncode == 0 and b"1 rule files found" in p.stdout, (p.stdout + p.stderr).decode()
    assert len(DASHBOARDS) >= 4, DASHBOARDS
    s = launch(admin, "one", gpus=1)
    wait_state(admin, s["id"], "running")
    live = families(scrape(daemon))
    used = {}
    for path in [RULES] + DASHBOARDS:
        with open(path) as f:
            body = f.read()
        if path.endswith(".json"):
            doc = json.loads(body)
            assert doc.get("title") and doc.get("panels"), path
            exprs = [t.get("expr", "") for p_ in doc["panels"] for t in p_.get("targets", [])]
            exprs += [v.get("query", "") if isinstance(v.get("query"), str) else v.get("query", {}).get("query", "")
                      for v in doc.get("templating", {}).get("list", [])]
            assert exprs and all(exprs), f"{path}: a panel without a query"
            body = "\n".join(exprs)
        for name in re.findall(r"\bgpuhub_[a-z0-9_]+", body):
            used.setdefault(name, path)
    assert len(used) >= 15, sorted(used)
    missing = []
    for name, path in sorted(used.items()):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in live and base not in live:
            missing.append(f"{name} ({os.path.basename(path)})")
    assert not missing, "names that no live hub exposes: " + ", ".join(missing)


# --------------------------------------------------------------------------
# a real Prometheus and Alertmanager

class Hook(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        Hook.got.append(json.loads(self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def start(args, log):
    f = open(log, "wb")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    f.close()
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def short_rules(dst):
    """The shipped rules with every `for:` cut to 1s."""
    with open(RULES) as f:
        doc = yaml.safe_load(f)
    for g in doc["groups"]:
        g["interval"] = "1s"
        for r in g["rules"]:
            if "for" in r:
                r["for"] = "1s"
    with open(dst, "w") as f:
        yaml.safe_dump(doc, f)


def test_prometheus_scrapes_and_alerts_reach_alertmanager(daemon, admin, tmp_path):
    alice = create_user(admin, daemon, "alice")
    held = launch(alice.api, "idle-gpus", gpus=2)
    launch(alice.api, "half", gpus=0.5)
    wait_state(alice.api, held["id"], "running")
    assert admin.post("/gpus/3/fault", json={"type": "xid", "xid": 48}).status_code == 200

    Hook.got = []
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "am.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "hook", "webhook_configs": [
            {"url": f"http://127.0.0.1:{hook.server_address[1]}/alerts", "send_resolved": False}]}]}))
    short_rules(tmp_path / "rules.yml")
    (tmp_path / "prom.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": "gpuhub", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [f"127.0.0.1:{daemon.port}"]}]}]}))
    am = start([ALERTMANAGER, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
               tmp_path / "am.log")
    prom = start([PROMETHEUS, f"--config.file={tmp_path / 'prom.yml'}",
                  f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
                 tmp_path / "prom.log")
    try:
        q = f"http://127.0.0.1:{prom_port}/api/v1/query"

        def allocated():
            try:
                r = requests.get(q, params={"query": "sum(gpuhub_gpu_allocated_gpus)"}, timeout=5).json()
            except (requests.RequestException, ValueError):
                return None
            res = r.get("data", {}).get("result", [])
            return float(res[0]["value"][1]) if res else None
        got = wait_for(allocated, 60, 0.5, "Prometheus to scrape gpuhub")
        want = sum(g["allocated_milli"] for g in admin.get("/gpus").json()["items"]) / 1000
        assert want == 2.5 and got == want

        r = requests.get(q, params={"query": 'up{job="gpuhub"}'}, timeout=5).json()
        assert r["data"]["result"][0]["value"][1] == "1"

        def delivered():
            names = {}
            for batch in Hook.got:
                for a in batch["alerts"]:
                    names.setdefault(a["labels"]["alertname"], a)
            return names if {"GpuhubGPUXidError", "GpuhubGPUAllocatedIdle"} <= set(names) else None
        names = wait_for(delivered, 90, 0.5, "alerts at the webhook")
        xid = names["GpuhubGPUXidError"]
        assert xid["status"] == "firing"
        assert xid["labels"]["index"] == "3" and xid["labels"]["severity"] == "critical"
        assert xid["labels"]["uuid"].startswith("GPU-sim-")
        assert "XID 48" in xid["annotations"]["summary"]
        idle = names["GpuhubGPUAllocatedIdle"]
        assert idle["labels"]["user"] == "alice" and idle["labels"]["session"] in ("idle-gpus", "half")
        assert "GpuhubGPULost" not in names and "GpuhubDown" not in names

        # every dashboard query is valid PromQL and finds data on this hub
        # (variables as "all")
        empty = []
        for path in DASHBOARDS:
            with open(path) as f:
                doc = json.load(f)
            for p_ in doc["panels"]:
                for t in p_.get("targets", []):
                    expr = re.sub(r"\$\w+", ".*", t["expr"])
                    r = requests.get(q, params={"query": expr}, timeout=10).json()
                    assert r["status"] == "success", f"{os.path.basename(path)} {p_['title']}: {r}"
                    if not r["data"]["result"]:
                        empty.append(f"{os.path.basename(path)}: {p_['title']}")
        # one or two need more history than this short run has
        assert len(empty) <= 3, empty
    finally:
        stop(prom)
        stop(am)
        hook.shutdown()
        hook.server_close()


def session_pids(data_dir, sid):
    """Pids of the processes the hub started for session sid."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if f"GPUHUB_SESSION_ID={sid}".encode() in env and \
                any(e.startswith(b"GPUHUB_SIM_REPORT_DIR=" + str(data_dir).encode()) for e in env):
            out.append(int(p))
    return out


def test_failed_workspace_counts_as_reclaimed(daemon_factory, tmp_path):
    from conftest import Api, ADMIN_TOKEN
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text("metrics:\n  reclaim_horizon_s: 60\n")
    daemon = daemon_factory(extra_args=["--config", str(cfg)])
    admin = Api(daemon, ADMIN_TOKEN)
    s = launch(admin, "doomed", gpus=0.5)
    wait_state(admin, s["id"], "running")
    pids = session_pids(daemon.data_dir, s["id"])
    assert pids, "the workspace process was not found"
    for p in pids:
        os.kill(p, signal.SIGKILL)
    wait_state(admin, s["id"], "failed")
    text = scrape(daemon)
    assert value(text, "gpuhub_gpu_reclaimed_seconds_total", reason="failed") == 30   # 0.5 GPU x 60 s
    assert value(text, "gpuhub_gpu_reclaimed_seconds_total", reason="stopped") == 0
    assert value(text, "gpuhub_session_transitions_total", state="failed") == 1
    assert value(text, "gpuhub_sessions", state="failed") == 1
    # a finished session has no per-session series any more
    assert value(text, "gpuhub_session_allocated_gpus", session="doomed") is None
    admin.close()


def test_proxy_websockets_and_bytes(daemon, admin):
    import websocket
    from test_proxy import echo_env, wait_up
    echo_env(admin)
    alice = create_user(admin, daemon, "alice")
    s = launch(alice.api, "lab", env="echo", gpus=0)
    wait_state(alice.api, s["id"], "running")
    auth = {"Authorization": f"Bearer {alice.token}"}
    wait_up(f"{daemon.url}/user/alice/lab/tree", auth)
    before = scrape(daemon)
    assert value(before, "gpuhub_proxy_websockets_open") == 0
    sent0 = value(before, "gpuhub_proxy_bytes_total", direction="to_workspace")
    r = requests.post(f"{daemon.url}/user/alice/lab/api/contents", data=b"y" * 5000, headers=auth, timeout=10)
    assert r.status_code == 200
    ws = [websocket.create_connection(
        f"ws://127.0.0.1:{daemon.port}/user/alice/lab/api/kernels/k{i}/channels",
        header=[f"Authorization: Bearer {alice.token}"], origin=daemon.url, timeout=10) for i in range(2)]
    for w in ws:
        w.send("ping")
        assert w.recv() == "echo:ping"
    during = scrape(daemon)
    assert value(during, "gpuhub_proxy_websockets_open") == 2
    assert value(during, "gpuhub_proxy_bytes_total", direction="to_workspace") >= sent0 + 5000
    assert value(during, "gpuhub_http_requests_total", method="POST", route="/user/{user}/{session}",
                 status="200") == 1
    for w in ws:
        w.close()
    wait_for(lambda: value(scrape(daemon), "gpuhub_proxy_websockets_open") == 0, 15, 0.2,
             "the WebSocket gauge to drop")
