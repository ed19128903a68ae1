"""
Alerts, their sinks and XID quarantine, end to end: the real daemon sends to
receivers started here — a Slack-style incoming webhook and a generic
webhook (small HTTP servers), an SMTP server (aiosmtpd, with a login), and a
real Prometheus Alertmanager whose own webhook receiver points back at this
test. An XID error injected into a simulated GPU quarantines it (sessions
avoid it or wait; its session gets a notice), fires an alert, and lifting
the quarantine resolves it. Deduplication, the repeat interval, retries
after a receiver failure, the anomaly rules, bad configuration and bad
requests are covered too; secrets never reach the log.
"""

import json
import os
import secrets
import shutil
import subprocess
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import (ADMIN_TOKEN, Api, assert_error, create_user, free_port, launch, wait_for,
                      wait_state)

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
SLACK_BLOCK_TYPES = {"section", "context", "header", "divider", "actions", "image", "rich_text"}


# --------------------------------------------------------------------------
# receivers

class Receiver:
    """An HTTP server on loopback recording every POST (path, JSON body).
    The first `fail_first` requests are answered 500."""

    def __init__(self, fail_first=0):
        self.posts = []
        self.answers = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with rec.lock:
                    fail = len(rec.answers) < rec.fail_first
                    rec.answers.append(500 if fail else 200)
                    if not fail:
                        rec.posts.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path=None):
        with self.lock:
            return [b for p, _, b in self.posts if path is None or p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MailSink:
    """aiosmtpd on loopback, with AUTH (LOGIN/PLAIN, no TLS) for one login."""

    def __init__(self, user, password):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.mails = []
        self.logins = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.mails.append((envelope.mail_from, list(envelope.rcpt_tos),
                                   message_from_bytes(envelope.original_content or envelope.content)))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            sink.logins.append(ok)
            return AuthResult(success=ok)

        self.port = free_port()
        self.ctl = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator,
                              auth_require_tls=False)
        self.ctl.start()

    def to(self, addr):
        return [m for _, rcpt, m in self.mails if addr in rcpt]

    def close(self):
        self.ctl.stop()


@pytest.fixture
def receiver():
    made = []

    def make(**kw):
        r = Receiver(**kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def write_config(tmp_path, text, name="alerts.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def start_hub(daemon_factory, tmp_path, text, env=None, gpus="sim:4xA100-80GB"):
    cfg = write_config(tmp_path, text)
    return daemon_factory(extra_args=["--config", cfg], env=env, gpus=gpus)


def alerts(admin, **params):
    r = admin.get("/alerts", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def find_alert(admin, name, state=None, **labels):
    for a in alerts(admin)["items"]:
        if a["name"] == name and (state is None or a["state"] == state) and \
                all(a["labels"].get(k) == v for k, v in labels.items()):
            return a
    return None


def check_slack_payload(p):
    """The fields Slack's incoming webhooks read: `text` (the notification
    and fallback text) and `blocks` of known block types with their shape."""
    assert isinstance(p.get("text"), str) and p["text"], p
    assert set(p) <= {"text", "blocks", "attachments", "mrkdwn", "thread_ts"}, p
    blocks = p.get("blocks", [])
    assert isinstance(blocks, list) and len(blocks) <= 50, p
    for b in blocks:
        assert b.get("type") in SLACK_BLOCK_TYPES, b
        if b["type"] == "section":
            assert b["text"]["type"] in ("mrkdwn", "plain_text") and isinstance(b["text"]["text"], str), b
            assert len(b["text"]["text"]) <= 3000, b
        if b["type"] == "context":
            assert 1 <= len(b["elements"]) <= 10, b
            for e in b["elements"]:
                assert e["type"] in ("mrkdwn", "plain_text", "image") and isinstance(e.get("text", ""), str), e


def session_events(api, sid):
    r = api.get(f"/sessions/{sid}/events", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def gpu_of(session):
    return session["allocations"][0]["gpu"]


# --------------------------------------------------------------------------
# XID → quarantine → Slack + e-mail → lift → resolved

def test_xid_quarantine_slack_email_and_lift(daemon_factory, tmp_path, receiver):
    slack = receiver()
    secret_path = "/services/T0000/B0000/" + secrets.token_hex(12)
    (tmp_path / "slack-url").write_text(slack.url(secret_path) + "\n")
    smtp_password = "pw-" + secrets.token_hex(8)
    mail = MailSink("alerts", smtp_password)
    try:
        d = start_hub(daemon_factory, tmp_path, f"""
alerts:
  eval_interval_ms: 200
  slack_url_file: {tmp_path / 'slack-url'}
  smtp_url: smtp://127.0.0.1:{mail.port}
  smtp_tls: "off"
  smtp_from: gpuhub@lab.example
  smtp_to: ops@lab.example
  smtp_user: alerts
  smtp_password_env: GH_TEST_SMTP_PASSWORD
""", env={"GH_TEST_SMTP_PASSWORD": smtp_password})
        admin = Api(d, ADMIN_TOKEN)
        alice = create_user(admin, d, "alice")
        assert admin.patch("/users/alice", json={"email": "alice@lab.example"}).status_code == 200

        s0 = wait_state(alice.api, launch(alice.api, "s0")["id"], "running")
        g = gpu_of(s0)
        r = admin.post(f"/gpus/{g}/fault", json={"type": "xid", "xid": 48})
        assert r.status_code == 200, r.text
        assert r.json()["quarantined"] is True

        # the session on that GPU is told, on its event stream and by e-mail
        ev = wait_for(lambda: [e for e in session_events(alice.api, s0["id"])
                               if e["type"] == "notice.gpu_quarantined"], 10, what="quarantine notice")
        assert "XID error 48" in ev[0]["message"] and "s0" in ev[0]["message"], ev
        umail = wait_for(lambda: mail.to("alice@lab.example"), 15, what="mail to alice")
        assert "quarantined" in umail[0].get_payload(), umail[0].get_payload()

        # admins: Slack, with Slack's fields, and e-mail
        fired = wait_for(lambda: [b for b in slack.bodies(secret_path) if b["text"].startswith("[FIRING] GpuXidError")],
                         15, what="slack firing message")
        check_slack_payload(fired[0])
        assert f"GPU {g}" in fired[0]["text"] and "XID error 48" in fired[0]["text"], fired[0]
        assert f"gpu={g}" in json.dumps(fired[0]["blocks"]), fired[0]
        amail = wait_for(lambda: mail.to("ops@lab.example"), 15, what="mail to ops")
        assert amail[0]["Subject"].startswith("[gpuhub FIRING] GpuXidError"), amail[0]["Subject"]
        assert amail[0]["From"] == "gpuhub@lab.example"
        assert mail.logins and all(mail.logins), "the SMTP login was not used or was wrong"

        a = find_alert(admin, "GpuXidError", "firing", gpu=str(g))
        assert a and a["severity"] == "critical" and a["labels"]["xid"] == "48", alerts(admin)
        assert a["deliveries"]["slack"]["state"] == "sent", a

        # no new placement on the quarantined GPU: with it free, three
        # sessions take the three others and a fourth waits
        wait_state(alice.api, alice.api.post(f"/sessions/{s0['id']}/stop").json()["id"], "stopped")
        assert admin.get("/gpus").json()["items"][g]["allocated_milli"] == 0
        placed = [gpu_of(wait_state(alice.api, launch(alice.api, f"w{i}")["id"], "running")) for i in range(3)]
        assert sorted(placed) == sorted(set(range(4)) - {g}), placed
        w3 = launch(alice.api, "w3")
        assert w3["state"] == "queued" and w3["allocations"] == [], w3
        wait_for(lambda: alice.api.get(f"/sessions/{w3['id']}").json()["reason"], 10, what="queue reason")
        assert alice.api.get(f"/sessions/{w3['id']}").json()["state"] == "queued"

        # lift: the waiting session gets the GPU, the alert resolves everywhere
        assert_error(alice.api.post(f"/gpus/{g}/unquarantine"), 403)
        r = admin.post(f"/gpus/{g}/unquarantine")
        assert r.status_code == 200, r.text
        assert r.json()["quarantined"] is False and r.json()["healthy"] is True, r.json()
        s3 = wait_state(alice.api, w3["id"], "running")
        assert gpu_of(s3) == g
        resolved = wait_for(lambda: [b for b in slack.bodies(secret_path)
                                     if b["text"].startswith("[RESOLVED] GpuXidError")], 15, what="slack resolved")
        check_slack_payload(resolved[0])
        wait_for(lambda: [m for m in mail.to("ops@lab.example") if "RESOLVED" in m["Subject"]], 15,
                 what="resolved mail")
        wait_for(lambda: find_alert(admin, "GpuXidError", "resolved", gpu=str(g)), 10, what="resolved alert")
        assert_error(admin.post(f"/gpus/{g}/unquarantine"), 409, "conflict")

        # one firing and one resolved notice per sink, never more
        assert len([b for b in slack.bodies() if "GpuXidError" in b["text"]]) == 2
        # secrets stay out of the log
        log = d.log()
        assert "alert GpuXidError" in log and "delivered to slack" in log, log[-3000:]
        assert secret_path not in log and secret_path.rsplit("/", 1)[1] not in log
        assert smtp_password not in log
    finally:
        mail.close()


def test_smtp_tls_policy(daemon_factory, tmp_path):
    """A local relay without STARTTLS: `auto` sends in the clear, `required`
    refuses to (the failure is logged and counted, nothing is delivered)."""
    mail = MailSink("unused", "unused")
    try:
        for policy, delivered in (("auto", True), ("required", False)):
            sub = tmp_path / policy
            sub.mkdir()
            d = start_hub(daemon_factory, sub, f"""
alerts:
  eval_interval_ms: 100
  retry_initial_ms: 50
  retry_max_ms: 50
  retry_attempts: 2
  smtp_url: smtp://127.0.0.1:{mail.port}
  smtp_tls: {policy}
  smtp_to: ops-{policy}@lab.example
""")
            admin = Api(d, ADMIN_TOKEN)
            assert admin.post("/gpus/0/fault", json={"type": "xid", "xid": 43}).status_code == 200
            if delivered:
                m = wait_for(lambda: mail.to("ops-auto@lab.example"), 15, what="mail over plain SMTP")[0]
                assert "GpuXidError" in m["Subject"]
            else:
                st = wait_for(lambda: (lambda s: s if s["dropped"] >= 1 else None)(
                    {x["name"]: x for x in alerts(admin)["sinks"]}["email"]), 15, what="dropped mail")
                assert st["failed"] == 2 and st["sent"] == 0, st
                assert "giving up after 2 attempts" in d.log()
                assert mail.to("ops-required@lab.example") == []
            d.finish()
    finally:
        mail.close()


# --------------------------------------------------------------------------
# dedup, retry with backoff, repeat

def test_dedup_and_retry_after_receiver_failure(daemon_factory, tmp_path, receiver):
    hook = receiver(fail_first=2)
    d = start_hub(daemon_factory, tmp_path, """
alerts:
  eval_interval_ms: 100
  retry_initial_ms: 100
  retry_max_ms: 400
  webhook_url_env: GH_TEST_WEBHOOK
""", env={"GH_TEST_WEBHOOK": hook.url("/hook/" + secrets.token_hex(8))})
    admin = Api(d, ADMIN_TOKEN)
    assert admin.post("/gpus/1/fault", json={"type": "xid", "xid": 31}).status_code == 200

    # two 500 answers, then delivered: the same alert each time
    first = wait_for(lambda: hook.bodies(), 15, what="webhook delivery after two failures")
    assert hook.answers[:3] == [500, 500, 200], hook.answers
    b = first[0]
    assert b["version"] == "1" and b["status"] == "firing", b
    assert b["alert"]["name"] == "GpuXidError" and b["alert"]["labels"]["gpu"] == "1", b
    fp = b["alert"]["fingerprint"]
    st = {s["name"]: s for s in alerts(admin)["sinks"]}
    assert st["webhook"]["failed"] == 2 and st["webhook"]["sent"] == 1, st
    assert "failed (HTTP status 500); trying again" in d.log()

    # the same condition again: still one alert, no second notice; a
    # different GPU is a different alert and is sent
    assert admin.post("/gpus/1/fault", json={"type": "xid", "xid": 31}).status_code == 200
    assert admin.post("/gpus/2/fault", json={"type": "xid", "xid": 31}).status_code == 200
    wait_for(lambda: [x for x in hook.bodies() if x["alert"]["labels"]["gpu"] == "2"], 15, what="GPU 2 alert")
    time.sleep(0.5)   # several more evaluation rounds
    gpu1 = [x for x in hook.bodies() if x["alert"]["fingerprint"] == fp]
    assert len(gpu1) == 1, gpu1
    xids = [a for a in alerts(admin)["items"] if a["name"] == "GpuXidError"]
    assert sorted(a["labels"]["gpu"] for a in xids) == ["1", "2"], xids

    # lifting sends exactly one resolved notice for that fingerprint
    assert admin.post("/gpus/1/unquarantine").status_code == 200
    wait_for(lambda: [x for x in hook.bodies() if x["alert"]["fingerprint"] == fp and x["status"] == "resolved"],
             15, what="resolved notice")
    res = [x for x in hook.bodies() if x["alert"]["fingerprint"] == fp]
    assert [x["status"] for x in res] == ["firing", "resolved"], res
    assert res[1]["alert"]["ends_at"], res[1]


def test_repeat_interval(daemon_factory, tmp_path, receiver):
    hook = receiver()
    (tmp_path / "hook").write_text(hook.url("/h"))
    d = start_hub(daemon_factory, tmp_path, f"""
alerts:
  eval_interval_ms: 100
  repeat_interval_s: 1
  webhook_url_file: {tmp_path / 'hook'}
""")
    admin = Api(d, ADMIN_TOKEN)
    assert admin.post("/gpus/3/fault", json={"type": "lost"}).status_code == 200
    got = wait_for(lambda: (lambda l: l if len(l) >= 3 else None)(
        [b for b in hook.bodies() if b["alert"]["name"] == "GpuLost"]), 20, what="three GpuLost notices")
    assert len({b["alert"]["fingerprint"] for b in got}) == 1
    assert len({b["alert"]["id"] for b in got}) == 1
    assert all(b["status"] == "firing" for b in got)
    assert len([a for a in alerts(admin)["items"] if a["name"] == "GpuLost"]) == 1


# --------------------------------------------------------------------------
# Alertmanager

@pytest.fixture
def alertmanager(tmp_path, receiver):
    if not os.access(ALERTMANAGER, os.X_OK):
        pytest.skip("prometheus-alertmanager is not installed (scripts/install-deps)")
    hook = receiver()
    port = free_port()
    cfg = tmp_path / "am.yml"
    cfg.write_text(f"""
route:
  receiver: test
  group_by: ['alertname', 'gpu']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: {hook.url('/am')}
        send_resolved: true
""")
    store = tmp_path / "am-data"
    store.mkdir()
    log = open(tmp_path / "alertmanager.log", "wb")
    proc = subprocess.Popen([ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={store}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        def ready():
            if proc.poll() is not None:
                raise AssertionError("alertmanager exited: " + (tmp_path / "alertmanager.log").read_text())
            try:
                return requests.get(url + "/-/ready", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_for(ready, 30, 0.1, "alertmanager to be ready")
        yield url, hook
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_alert_reaches_alertmanager(daemon_factory, tmp_path, alertmanager):
    am_url, hook = alertmanager
    d = start_hub(daemon_factory, tmp_path, f"""
alerts:
  eval_interval_ms: 200
  alertmanager_url: {am_url}/
""")
    admin = Api(d, ADMIN_TOKEN)
    assert admin.post("/gpus/0/fault", json={"type": "xid", "xid": 94}).status_code == 200

    # Alertmanager holds it...
    def in_am():
        r = requests.get(am_url + "/api/v2/alerts", timeout=5)
        return [a for a in r.json() if a["labels"].get("alertname") == "GpuXidError"]
    held = wait_for(in_am, 20, 0.2, "the alert in Alertmanager")[0]
    assert held["labels"]["gpu"] == "0" and held["labels"]["xid"] == "94", held
    assert held["labels"]["severity"] == "critical"
    assert "quarantined" in held["annotations"]["summary"], held
    assert held["generatorURL"] == f"{d.url}/api/v1/alerts", held
    assert held["status"]["state"] == "active", held

    # ...and routes it to its own receiver, firing and then resolved
    def notified(status):
        return [b for b in hook.bodies("/am") if b["status"] == status and
                any(a["labels"]["alertname"] == "GpuXidError" for a in b["alerts"])]
    fired = wait_for(lambda: notified("firing"), 30, 0.2, "Alertmanager's firing notification")[0]
    a = fired["alerts"][0]
    assert a["labels"]["gpu"] == "0" and a["annotations"]["description"], a
    assert admin.post("/gpus/0/unquarantine").status_code == 200
    wait_for(lambda: notified("resolved"), 30, 0.2, "Alertmanager's resolved notification")
    st = {s["name"]: s for s in alerts(admin)["sinks"]}
    assert st["alertmanager"]["sent"] >= 2 and st["alertmanager"]["dropped"] == 0, st


# --------------------------------------------------------------------------
# the anomaly rules

def test_rules_fire_and_resolve(daemon_factory, tmp_path):
    d = start_hub(daemon_factory, tmp_path, """
alerts:
  eval_interval_ms: 100
  gpu_idle_s: 1
  queue_wait_s: 1
  disk_used_pct: 1
  crash_loop_failures: 2
  runtime_failures: 3
""", gpus="sim:2xA100-80GB")
    admin = Api(d, ADMIN_TOKEN)
    bob = create_user(admin, d, "bob")
    # an environment whose workspace dies at once
    r = admin.post("/environments", json={"name": "crashy", "interface": "jupyter", "default_gpus": 0,
                                          "launch": {"local": {"command": ["sh", "-c", "exit 3"], "ready": ""}}})
    assert r.status_code == 201, r.text

    held = [wait_state(bob.api, launch(bob.api, f"g{i}")["id"], "running") for i in range(2)]
    waiting = launch(bob.api, "waits")
    assert waiting["state"] == "queued"
    for i in range(2):
        wait_state(bob.api, launch(bob.api, f"c{i}", env="crashy", gpus=0)["id"], "failed")

    wait_for(lambda: find_alert(admin, "DiskNearlyFull", "firing"), 10, what="DiskNearlyFull")
    for g in held:
        wait_for(lambda: find_alert(admin, "GpuIdle", "firing", gpu=str(gpu_of(g))), 10, what="GpuIdle")
    w = wait_for(lambda: find_alert(admin, "RequestWaiting", "firing", user="bob", session="waits"), 10,
                 what="RequestWaiting")
    assert "waits" in w["summary"], w
    c = wait_for(lambda: find_alert(admin, "SessionCrashLoop", "firing", user="bob", environment="crashy"), 10,
                 what="SessionCrashLoop")
    assert "failed 2 times" in c["summary"], c
    assert not find_alert(admin, "RuntimeFailures")
    wait_state(bob.api, launch(bob.api, "c2", env="crashy", gpus=0)["id"], "failed")
    wait_for(lambda: find_alert(admin, "RuntimeFailures", "firing"), 10, what="RuntimeFailures")

    # the waiting session gives up: its alert resolves, the others stay
    bob.api.post(f"/sessions/{waiting['id']}/stop")
    wait_for(lambda: find_alert(admin, "RequestWaiting", "resolved", session="waits"), 10, what="resolved")
    assert find_alert(admin, "GpuIdle", "firing")
    firing = alerts(admin, state="firing")["items"]
    assert firing and all(a["state"] == "firing" for a in firing)
    assert all(a["deliveries"] == {} for a in firing)   # no sink configured: listed only
    assert alerts(admin)["enabled"] is True and alerts(admin)["sinks"] == []

    # the CLI shows them
    env = dict(os.environ, GPUHUB_URL=d.url, GPUHUB_TOKEN=ADMIN_TOKEN, HOME=str(tmp_path))
    p = subprocess.run([d.binary, "alerts"], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "GpuIdle" in p.stdout and "SessionCrashLoop" in p.stdout and "RequestWaiting" not in p.stdout, p.stdout
    p = subprocess.run([d.binary, "alerts", "--resolved"], capture_output=True, text=True, env=env, timeout=30)
    assert "RequestWaiting" in p.stdout and "GpuIdle" not in p.stdout, p.stdout
    p = subprocess.run([d.binary, "unquarantine", "0"], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 1 and "not quarantined" in p.stderr, (p.stdout, p.stderr)
    p = subprocess.run([d.binary, "unquarantine", "x"], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 2, (p.stdout, p.stderr)


def report_gpu_use(daemon, lines):
    """Reports GPU use for this test process the way a workspace does on the
    simulated inventory (docs/gpu.md): a file named after our pid."""
    d = os.path.join(daemon.data_dir, "gpu-sim", "reports")
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    os.replace(tmp, os.path.join(d, str(os.getpid())))


def test_telemetry_rules(daemon_factory, tmp_path):
    d = start_hub(daemon_factory, tmp_path, """
gpus:
  poll_interval_ms: 100
alerts:
  eval_interval_ms: 100
  memory_idle_mib: 1000
  memory_idle_s: 1
  temperature_c: 75
  throttle_s: 1
""")
    admin = Api(d, ADMIN_TOKEN)
    # GPU 0 holds 2 GiB doing nothing; GPU 1 runs flat out (80 C on the sim model)
    report_gpu_use(d, ["gpu=0 util=0 mem_mib=2048", "gpu=1 util=100 mem_mib=100"])
    m = wait_for(lambda: find_alert(admin, "GpuMemoryIdle", "firing", gpu="0"), 10, what="GpuMemoryIdle")
    assert "2048 MiB" in m["summary"], m
    t = wait_for(lambda: find_alert(admin, "GpuThrottling", "firing", gpu="1"), 10, what="GpuThrottling")
    assert "80 C" in t["summary"], t
    assert not find_alert(admin, "GpuMemoryIdle", gpu="1") and not find_alert(admin, "GpuThrottling", gpu="0")
    # the work moves: GPU 0 busy, GPU 1 cool and empty; both alerts resolve
    report_gpu_use(d, ["gpu=0 util=50 mem_mib=2048"])
    wait_for(lambda: find_alert(admin, "GpuMemoryIdle", "resolved", gpu="0"), 10, what="GpuMemoryIdle resolved")
    wait_for(lambda: find_alert(admin, "GpuThrottling", "resolved", gpu="1"), 10, what="GpuThrottling resolved")
    report_gpu_use(d, [])


def test_quarantine_survives_restart(daemon_factory, tmp_path):
    d = start_hub(daemon_factory, tmp_path, "alerts:\n  eval_interval_ms: 100\n", gpus="sim:2xA100-80GB")
    admin = Api(d, ADMIN_TOKEN)
    dave = create_user(admin, d, "dave")
    assert admin.post("/gpus/1/fault", json={"type": "xid", "xid": 62}).status_code == 200
    d.restart()
    assert "GPU 1 (GPU-sim-0000-0000-0000-000000000001) is still quarantined after XID 62" in d.log()
    g = admin.get("/gpus").json()["items"][1]
    assert g["quarantined"] is True and g["quarantined_at"], g
    a = wait_for(lambda: find_alert(admin, "GpuXidError", "firing", gpu="1"), 10, what="alert after restart")
    assert a["labels"]["xid"] == "62", a
    first = wait_state(dave.api, launch(dave.api, "a")["id"], "running")
    assert gpu_of(first) == 0
    second = launch(dave.api, "b")
    assert second["state"] == "queued"
    assert admin.post("/gpus/1/unquarantine").status_code == 200
    assert gpu_of(wait_state(dave.api, second["id"], "running")) == 1
    d.restart()
    assert admin.get("/gpus").json()["items"][1]["quarantined"] is False
    assert "still quarantined" not in d.log()


def test_alerts_off(daemon_factory, tmp_path):
    d = start_hub(daemon_factory, tmp_path, "alerts:\n  enabled: false\n")
    admin = Api(d, ADMIN_TOKEN)
    assert admin.post("/gpus/0/fault", json={"type": "xid", "xid": 13}).status_code == 200
    body = alerts(admin)
    assert body == {"enabled": False, "items": [], "sinks": []}, body
    # quarantine still works without alerts
    assert admin.get("/gpus").json()["items"][0]["quarantined"] is True
    assert admin.post("/gpus/0/unquarantine").status_code == 200


# --------------------------------------------------------------------------
# bad input

def test_bad_requests(daemon, admin, make_user):
    u = make_user("carol")
    assert_error(u.api.get("/alerts"), 403)
    assert_error(u.api.post("/gpus/0/unquarantine"), 403)
    assert_error(admin.get("/alerts", params={"state": "burning"}), 400, "invalid", "state")
    assert_error(admin.post("/gpus/9/unquarantine"), 404, "not_found")
    assert_error(admin.post("/gpus/x/unquarantine"), 404, "not_found")
    err = assert_error(admin.post("/gpus/0/unquarantine"), 409, "conflict")
    assert "not quarantined" in err["message"]
    assert admin.get("/gpus").json()["items"][0]["quarantined"] is False


@pytest.mark.parametrize("text,needle", [
    ("alerts:\n  smtp_tls: maybe\n", "alerts.smtp_tls: 'maybe' is not auto, required or off"),
    ("alerts:\n  slack_url_file: /x\n  slack_url_env: X\n", "alerts.slack_url_file and alerts.slack_url_env"),
    ("alerts:\n  alertmanager_url: am:9093\n", "alerts.alertmanager_url"),
    ("alerts:\n  smtp_url: http://mail\n", "alerts.smtp_url"),
    ("alerts:\n  smtp_to: ops@lab\n", "alerts.smtp_to is set but alerts.smtp_url is not"),
    ("alerts:\n  smtp_url: smtp://m\n  smtp_to: 'not an address'\n", "alerts.smtp_to"),
    ("alerts:\n  webhook_url_env: 9LIVES\n", "alerts.webhook_url_env"),
    ("alerts:\n  gpu_idle_s: -1\n", "alerts.gpu_idle_s"),
    ("alerts:\n  retry_initial_ms: 5000\n  retry_max_ms: 1000\n", "alerts.retry_max_ms"),
    ("alerts:\n  eval_interval: 5\n", "eval_interval"),
])
def test_bad_config(gpuhub_bin, tmp_path, text, needle):
    path = write_config(tmp_path, text)
    p = subprocess.run([gpuhub_bin, "serve", "--check-config", path], capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0 and needle in out, out


def test_unreadable_secret_stops_start(gpuhub_bin, tmp_path):
    path = write_config(tmp_path, f"alerts:\n  slack_url_file: {tmp_path / 'missing'}\n"
                                  "  smtp_url: smtp://127.0.0.1:1\n  smtp_password_env: GH_TEST_NOPE\n")
    env = {k: v for k, v in os.environ.items() if k != "GH_TEST_NOPE"}
    p = subprocess.run([gpuhub_bin, "serve", "--config", path, "--data-dir", str(tmp_path / "data"),
                        "--listen", f"127.0.0.1:{free_port()}", "--gpus", "sim:1"],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL, env=env)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0 and "alerts.slack_url_file: cannot open" in out, out
