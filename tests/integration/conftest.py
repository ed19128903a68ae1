"""
Integration test harness: runs the real `gpuhub serve` on a random loopback
port with a temporary data dir and talks to it over HTTP.

Fixtures
  gpuhub_bin      path of the binary (env GPUHUB_BIN, else build/gpuhub)
  daemon          a started Daemon (function scope); daemon.restart() keeps
                  the data dir; teardown always kills it and everything it
                  started, so no test leaves processes behind
  daemon_factory  makes more Daemon objects (e.g. a second one on the same
                  data dir); all are stopped at teardown
  admin           Api (a requests.Session) authenticated as the first admin
  anon            Api without credentials
  make_user       factory: make_user("alice") creates the user through the
                  admin API, signs in and returns a User whose .api carries a
                  fresh API token of that user
  sandbox_hub     a SandboxHub: a daemon with runtime.sandbox and dedicated
                  accounts; the accounts of users made through it are
                  removed at teardown (mark such tests @needs_sandbox)

Helpers (import from conftest): Api, Daemon, User, wait_for, wait_state,
raw_request, assert_error, free_port, cli_env, ADMIN_TOKEN, needs_sandbox; for
Jupyter workspaces needs_jupyter, kernel_execute, run_code; event_types,
gpus_in_use; for /metrics scrape, samples, value, metric, metric_sum.
"""

import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests
import websocket
from prometheus_client.parser import text_string_to_metric_families

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_GPUS = "sim:4xA100-80GB"
PASSWORD = "correct-horse-battery-staple"
ACTIVE_STATES = {"queued", "starting", "running", "idle-warned", "suspending", "stopping"}


def make_token():
    """A well-formed API token: "gh_" + base64url(32 bytes), no padding."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return "gh_" + raw


ADMIN_TOKEN = make_token()
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |"
                          r"ThreadSanitizer|SUMMARY: UndefinedBehaviorSanitizer")


# --------------------------------------------------------------------------
# process bookkeeping (so nothing the daemon started outlives a test)

def _proc_stat(pid):
    """(ppid, starttime) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    # fields after the command: state ppid ... starttime is field 22 overall
    return int(rest[1]), int(rest[19])


def _all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _descendants(root):
    """{pid: starttime} of every live descendant of root."""
    children = {}
    for pid in _all_pids():
        st = _proc_stat(pid)
        if st:
            children.setdefault(st[0], []).append((pid, st[1]))
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        for child, start in children.get(p, []):
            if child not in out:
                out[child] = start
                todo.append(child)
    return out


def _procs_using(path):
    """{pid: starttime} of processes whose cwd or command line mentions path."""
    out = {}
    me = os.getpid()
    for pid in _all_pids():
        if pid == me:
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = ""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmd = ""
        if cwd.startswith(path) or path in cmd:
            st = _proc_stat(pid)
            if st:
                out[pid] = st[1]
    return out


def _kill_exact(pids):
    """SIGKILL each pid that is still the same process (same start time)."""
    for pid, start in pids.items():
        st = _proc_stat(pid)
        if st and st[1] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=30.0, interval=0.05, what="condition"):
    """Polls pred() until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# --------------------------------------------------------------------------
# the daemon

class Daemon:
    """One `gpuhub serve` process on a data dir. start()/stop()/restart()."""

    def __init__(self, binary, data_dir, log_dir, gpus=DEFAULT_GPUS,
                 admin_token=ADMIN_TOKEN, extra_args=(), env=None, name="gpuhub", light=True):
        self.binary = binary
        self.data_dir = str(data_dir)
        self.log_dir = str(log_dir)
        self.gpus = gpus
        self.admin_token = admin_token
        self.light = light
        self.extra_args = list(extra_args)
        self.env_extra = dict(env or {})
        self.name = name
        self.port = None
        self.proc = None
        self.runs = 0
        self.log_path = None
        self.log_paths = []
        self.seen = {}            # pid -> starttime of every process it started
        os.makedirs(self.data_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)

    # -- addresses
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def api_url(self, path):
        return self.url + "/api/v1" + path

    # -- lifecycle
    def _env(self):
        env = dict(os.environ)
        env.pop("GPUHUB_URL", None)
        env.pop("GPUHUB_TOKEN", None)
        env.pop("GPUHUB_ADMIN_TOKEN", None)
        env["HOME"] = os.path.join(self.log_dir, "home")
        os.makedirs(env["HOME"], exist_ok=True)
        if self.admin_token:
            env["GPUHUB_ADMIN_TOKEN"] = self.admin_token
        env["LIBC_FATAL_STDERR_"] = "1"   # abort messages into the log, not the tty
        env.update(self.env_extra)
        return env

    def spawn(self, port=None, extra_args=None):
        """Starts the process without waiting; returns the Popen."""
        self.port = port or self.port or free_port()
        self.runs += 1
        self.log_path = os.path.join(self.log_dir, f"{self.name}.{self.runs}.log")
        self.log_paths.append(self.log_path)
        log = open(self.log_path, "wb")
        args = [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir, "--gpus", self.gpus]
        args += self.extra_args if extra_args is None else list(extra_args)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, env=self._env(),
                                     start_new_session=True)
        log.close()
        return self.proc

    def start(self, timeout=30.0, port=None):
        for attempt in range(3):
            self.spawn(port=port if attempt == 0 else free_port())
            if self.wait_ready(timeout):
                self.lighten_catalog()
                return self
            if self.proc.poll() is not None and "in use" in self.log().lower():
                continue          # lost a race for the port: try another one
            break
        rc = self.proc.poll()
        self.kill()
        raise AssertionError(f"gpuhub serve did not become ready (exit {rc}); log:\n{self.log()}")

    def lighten_catalog(self):
        """Most tests are about the hub, not about Jupyter or VS Code: on a
        fresh store, `jupyter-python` and `vscode` are replaced by entries of
        the same name and shape whose workspace is a sleeping process (ready
        when it runs), so tests that launch many sessions stay quick.
        `jupyter-pytorch` stays real (test_jupyter.py), and a daemon made with
        light=False keeps the whole catalog real (test_vscode.py)."""
        if not self.admin_token or not self.light:
            return
        h = {"Authorization": f"Bearer {self.admin_token}"}
        for name in ("jupyter-python", "vscode"):
            r = requests.get(self.api_url(f"/environments/{name}"), headers=h, timeout=10)
            if r.status_code != 200 or r.json()["launch"]["local"].get("ready") == "":
                continue
            spec = r.json()
            if requests.delete(self.api_url(f"/environments/{name}"), headers=h,
                               timeout=10).status_code != 204:
                continue
            body = {k: spec[k] for k in ("name", "display_name", "interface", "labels",
                                         "default_gpus", "max_gpus", "default_cpu_milli",
                                         "max_cpu_milli", "default_memory_mib", "max_memory_mib")}
            body["launch"] = {"local": {"command": ["sleep", "infinity"], "ready": ""}}
            body["gpu_mode"] = "session"      # no kernels to follow: the GPUs are the session's
            r = requests.post(self.api_url("/environments"), headers=h, json=body, timeout=10)
            assert r.status_code == 201, r.text

    def wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = requests.get(self.api_url("/health"), timeout=2)
                if r.status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _remember_children(self):
        if self.alive():
            self.seen.update(_descendants(self.proc.pid))

    def signal(self, sig):
        self._remember_children()
        self.proc.send_signal(sig)

    def stop(self, timeout=20.0):
        """SIGTERM, wait; SIGKILL if it hangs. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"gpuhub did not exit within {timeout}s of SIGTERM")
        return self.proc.returncode

    def restart(self, timeout=30.0):
        """Clean stop, then a new process on the same data dir (same port when
        possible). Returns the exit status of the stopped process."""
        rc = self.stop()
        self.start(timeout=timeout, port=self.port)
        return rc

    def kill(self):
        """Kills the daemon and everything it ever started. Idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            self._remember_children()
            self.proc.kill()
            self.proc.wait()
        self.seen.update(_procs_using(self.data_dir))
        _kill_exact(self.seen)
        self.seen = {}

    def log(self):
        if not self.log_path:
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def sanitizer_reports(self):
        """Sanitizer findings (ASan, UBSan, LSan) in any of this daemon's logs."""
        found = []
        for p in self.log_paths:
            with open(p, "rb") as f:
                text = f.read().decode(errors="replace")
            for m in SANITIZER_RE.finditer(text):
                start = text.rfind("\n", 0, m.start()) + 1
                found.append(f"{os.path.basename(p)}: {text[start:start + 1500]}")
        return found

    def finish(self):
        """Teardown: a clean stop when possible (so LeakSanitizer can report),
        then kill whatever is left. Returns the sanitizer findings."""
        if self.alive():
            try:
                self.stop(timeout=10)
            except AssertionError:
                pass
        self.kill()
        return self.sanitizer_reports()


# --------------------------------------------------------------------------
# HTTP clients

class Api(requests.Session):
    """requests.Session bound to a daemon: api.get("/sessions") goes to
    <daemon>/api/v1/sessions. The daemon's port is read on each request, so
    a client survives a restart."""

    def __init__(self, daemon, token=None):
        super().__init__()
        self.daemon = daemon
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/api/") or url.startswith("/metrics"):
            url = self.daemon.url + url
        elif url.startswith("/"):
            url = self.daemon.api_url(url)
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, **kwargs)


class User:
    def __init__(self, name, password, api, token, token_id, info):
        self.name = name
        self.password = password
        self.api = api
        self.token = token
        self.token_id = token_id
        self.info = info

    def __repr__(self):
        return f"User({self.name})"


class RawResponse:
    def __init__(self, status, headers, body):
        self.status_code = status
        self.headers = headers
        self.content = body
        self.text = body.decode(errors="replace")

    def json(self):
        return json.loads(self.content)


def raw_request(daemon, method, path, headers=None, body=b"", timeout=30):
    """Sends exactly the bytes of the request line/headers given (no path
    normalisation, unlike requests) and tolerates the server closing the
    connection while the body is still being sent. Returns a RawResponse."""
    if isinstance(body, str):
        body = body.encode()
    hdrs = {"Host": f"127.0.0.1:{daemon.port}", "Connection": "close"}
    if body or method in ("POST", "PUT", "PATCH"):
        hdrs["Content-Length"] = str(len(body))
    hdrs.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    sock = socket.create_connection(("127.0.0.1", daemon.port), timeout=timeout)
    try:
        try:
            sock.sendall(head.encode() + body)
        except (BrokenPipeError, ConnectionResetError):
            pass                  # the server answered early; read what it said
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        sock.close()


def assert_error(r, status, code=None, field=None):
    """Asserts an error answer: status, JSON {"error":{"code","message"}},
    optionally the code and the field at fault."""
    body = r.text[:500]
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {body}"
    ctype = r.headers.get("content-type", "")
    assert ctype.startswith("application/json"), f"error content-type {ctype!r}: {body}"
    doc = r.json()
    assert isinstance(doc, dict) and isinstance(doc.get("error"), dict), f"error shape: {body}"
    err = doc["error"]
    assert isinstance(err.get("code"), str) and err["code"], f"error.code: {body}"
    assert isinstance(err.get("message"), str) and err["message"], f"error.message: {body}"
    if code is not None:
        assert err["code"] == code, f"expected code {code!r}: {body}"
    if field is not None:
        assert err.get("field") == field, f"expected field {field!r}: {body}"
    return err


def wait_state(api, sid, states, timeout=30.0):
    """Polls GET /sessions/{sid} until its state is one of states; fails
    early when the session failed (unless 'failed' is wanted)."""
    if isinstance(states, str):
        states = {states}
    last = {}

    def check():
        r = api.get(f"/sessions/{sid}")
        assert r.status_code == 200, r.text
        last["s"] = r.json()
        st = last["s"]["state"]
        if st == "failed" and "failed" not in states:
            raise AssertionError(f"session {sid} failed: {last['s'].get('reason')}")
        return last["s"] if st in states else None

    return wait_for(check, timeout, 0.05, f"session {sid} to reach {sorted(states)}")


def create_user(admin, daemon, name, role="user", password=PASSWORD):
    """Admin creates the user; the user signs in (cookie) and makes an API
    token; returns a User whose .api is a Bearer client."""
    r = admin.post("/users", json={"name": name, "password": password, "role": role})
    assert r.status_code == 201, f"create user {name}: {r.status_code} {r.text}"
    info = r.json()
    login = Api(daemon)
    r = login.post("/login", json={"username": name, "password": password})
    assert r.status_code == 200, f"login {name}: {r.status_code} {r.text}"
    r = login.post("/tokens", json={"note": "tests"})
    assert r.status_code == 201, f"token for {name}: {r.status_code} {r.text}"
    tok = r.json()
    login.close()
    return User(name, password, Api(daemon, tok["token"]), tok["token"], tok["id"], info)


def launch(api, name, env="jupyter-python", gpus=1, **extra):
    body = {"env": env, "name": name, "gpus": gpus}
    body.update(extra)
    r = api.post("/sessions", json=body)
    assert r.status_code == 201, f"launch {name}: {r.status_code} {r.text}"
    return r.json()


def cli_env(home, daemon=None, token=None, **extra):
    """An environment to run the CLI in: this one without its GPUHUB_*
    variables, HOME=home, GPUHUB_URL/GPUHUB_TOKEN when daemon/token are
    given, then extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUHUB_")}
    env["HOME"] = str(home)
    if daemon is not None:
        env["GPUHUB_URL"] = daemon.url
    if token is not None:
        env["GPUHUB_TOKEN"] = token
    env.update(extra)
    return env


def event_types(api, sid):
    """The session's events as (type, message) pairs, oldest first."""
    r = api.get(f"/sessions/{sid}/events", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return [(e["type"], e["message"]) for e in r.json()["items"]]


def gpus_in_use(admin):
    return sum(g["allocated_milli"] for g in admin.get("/gpus").json()["items"])


def scrape(daemon, token=None, path="/metrics"):
    """The text of the hub's /metrics (with the scrape token, if given)."""
    h = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.get(daemon.url + path, headers=h, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


def samples(text):
    """{(name, frozenset(labels.items())): value} of every sample."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text, name, **labels):
    """The one sample of name whose labels include labels (None if none)."""
    found = [v for (n, ls), v in samples(text).items()
             if n == name and all((k, str(x)) in ls for k, x in labels.items())]
    assert len(found) <= 1, f"{name} {labels}: {len(found)} samples"
    return found[0] if found else None


def metric(daemon, name, **labels):
    """The value of the sample of name on the hub's /metrics whose labels
    are exactly labels (in any order); fails naming the sample when the hub
    has none such."""
    want = {k: str(v) for k, v in labels.items()}
    got = samples(scrape(daemon))
    key = (name, frozenset(want.items()))
    if key not in got:
        have = [dict(ls) for n, ls in got if n == name]
        raise AssertionError(f"/metrics has no sample {name} {want}; its samples of {name}: {have}")
    return got[key]


def metric_sum(daemon, name):
    """The sum of all samples of name on the hub's /metrics, whatever their
    labels (0 when the family has no samples); fails when the hub does not
    declare name at all."""
    text = scrape(daemon)
    got = [v for (n, _), v in samples(text).items() if n == name]
    if not got:
        declared = set(re.findall(r"^# TYPE (\S+)", text, re.M))
        assert name in declared or name.removesuffix("_total") in declared, f"/metrics has no {name}"
    return sum(got)


# --------------------------------------------------------------------------
# Jupyter kernels through the hub's proxy

needs_jupyter = pytest.mark.skipif(shutil.which("jupyter-server") is None,
                                   reason="Jupyter is not installed (scripts/install-deps installs it)")


def _kernel_request(ws, user, msg_type, content):
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
            msg_id = _kernel_request(ws, user, "kernel_info_request", {})
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


def kernel_execute(daemon, user, base, kernel_id, code, timeout=60):
    """Opens the kernel's WebSocket through the proxy as user, waits until
    the kernel publishes on it, and sends one execute_request with code;
    returns (ws, msg_id), the caller closes ws."""
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{daemon.port}{base}api/kernels/{kernel_id}/channels",
        header=[f"Authorization: Bearer {user.token}"], origin=daemon.url, timeout=timeout)
    wait_iopub(ws, user, timeout)
    msg_id = _kernel_request(ws, user, "execute_request", {
        "code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False})
    return ws, msg_id


def run_code(daemon, user, base, kernel_id, code, timeout=60):
    """Runs code in the kernel; returns (execute_reply status or None, output
    and tracebacks as text). The reply comes on the shell channel, the
    output on iopub: the two are not ordered, so the run is over once both
    the reply and iopub's "idle" (sent after the last output) have arrived."""
    ws, msg_id = kernel_execute(daemon, user, base, kernel_id, code, timeout)
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


# --------------------------------------------------------------------------
# fixtures

@pytest.fixture(scope="session")
def gpuhub_bin():
    path = os.environ.get("GPUHUB_BIN") or os.path.join(REPO, "build", "gpuhub")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"gpuhub binary not found at {path} (set GPUHUB_BIN or run make)")
    return path


@pytest.fixture
def daemon_factory(gpuhub_bin, tmp_path):
    made = []

    def make(data_dir=None, name=None, start=True, **kw):
        n = len(made)
        d = Daemon(gpuhub_bin, data_dir or tmp_path / f"data{n}", tmp_path / "logs",
                   name=name or f"gpuhub{n}", **kw)
        made.append(d)
        if start:
            d.start()
        return d

    yield make
    reports = []
    for d in made:
        reports += d.finish()
    assert not reports, "sanitizer reports in the daemon log:\n" + "\n".join(reports)


class SandboxHub:
    """A started daemon whose workspaces run in bubblewrap as per-user
    accounts; data is its data dir, under a folder every account may
    traverse."""

    def __init__(self, daemon, data):
        self.daemon, self.data = daemon, data
        self.admin = Api(daemon, ADMIN_TOKEN)
        self.accounts = []

    def create_user(self, name):
        """create_user(), and the account gh-<name> goes at teardown."""
        self.accounts.append(f"gh-{name}")
        return create_user(self.admin, self.daemon, name)


needs_sandbox = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                                   reason="needs root (to create accounts) and bubblewrap")


@pytest.fixture
def sandbox_hub(daemon_factory, tmp_path):
    top = tempfile.mkdtemp(prefix="gh-sandbox-", dir="/tmp")
    os.chmod(top, 0o755)
    hub = None
    try:
        cfg = tmp_path / "gpuhub-sandbox.yaml"
        cfg.write_text("runtime:\n  sandbox: true\n  accounts: dedicated\n")
        data = os.path.join(top, "data")
        hub = SandboxHub(daemon_factory(data_dir=data, extra_args=["--config", str(cfg)]), data)
        yield hub
    finally:
        shutil.rmtree(top, ignore_errors=True)
        if hub:
            hub.admin.close()
            for acct in hub.accounts:
                subprocess.run(["pkill", "-9", "-u", acct], capture_output=True)
                subprocess.run(["userdel", acct], capture_output=True)


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory()


@pytest.fixture
def admin(daemon):
    api = Api(daemon, ADMIN_TOKEN)
    yield api
    api.close()


@pytest.fixture
def anon(daemon):
    api = Api(daemon)
    yield api
    api.close()


@pytest.fixture
def make_user(admin, daemon):
    def make(name, role="user", password=PASSWORD):
        return create_user(admin, daemon, name, role, password)
    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of each daemon log to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        logdir = None
        tmp = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
        if tmp is not None:
            logdir = os.path.join(str(tmp), "logs")
        if logdir and os.path.isdir(logdir):
            for fn in sorted(os.listdir(logdir)):
                p = os.path.join(logdir, fn)
                if os.path.isfile(p):
                    with open(p, "rb") as f:
                        tail = f.read()[-4000:].decode(errors="replace")
                    rep.sections.append((f"daemon log {fn}", tail))
