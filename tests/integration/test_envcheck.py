"""
What environments need and find: `requires` makes an environment
unavailable when its Python lacks a module (the default catalog's
jupyter-tensorflow on a machine without TensorFlow: listed with the reason,
launch refused with 409); `gpuhub env check` / POST
/environments/{name}/check runs the environment's probe with free GPUs
bound the way a session's would be and reports versions and visible GPUs.
"""

import subprocess

from conftest import assert_error, cli_env, create_user, launch, needs_sandbox


def tensorflow_installed():
    return subprocess.run(["/usr/bin/python3", "-c", "import importlib.util as u,sys;"
                           "sys.exit(0 if u.find_spec('tensorflow') else 1)"]).returncode == 0


def test_tensorflow_entry_is_listed_and_refused_without_tensorflow(daemon, admin):
    ann = create_user(admin, daemon, "ann")
    envs = {e["name"]: e for e in ann.api.get("/environments").json()["items"]}
    tf = envs["jupyter-tensorflow"]
    assert tf["requires"] == ["jupyter_server", "tensorflow"] and tf["interface"] == "jupyter"
    assert envs["jupyter-pytorch"]["available"] is True
    if tensorflow_installed():
        assert tf["available"] is True
        return
    assert tf["available"] is False
    assert "tensorflow" in tf["unavailable_reason"], tf
    r = ann.api.post("/sessions", json={"env": "jupyter-tensorflow", "name": "tf", "gpus": 1})
    err = assert_error(r, 409, "conflict")
    assert "not available" in err["message"] and "tensorflow" in err["message"], err
    assert ann.api.get("/sessions").json()["total"] == 0
    assert all(g["allocated_milli"] == 0 for g in admin.get("/gpus").json()["items"])


def test_requires_is_validated_and_evaluated(admin):
    base = {"name": "needs-x", "interface": "jupyter", "default_gpus": 0,
            "launch": {"local": {"command": ["sleep", "infinity"], "ready": ""}}}
    assert_error(admin.post("/environments", json={**base, "requires": "torch"}), 400, field="requires")
    assert_error(admin.post("/environments", json={**base, "requires": ["no such"]}), 400, field="requires")
    assert_error(admin.post("/environments", json={**base, "probe": []}), 400, field="probe")
    assert_error(admin.post("/environments", json={**base, "python": ""}), 400, field="python")
    assert admin.get("/environments/needs-x").status_code == 404
    r = admin.post("/environments", json={**base, "python": "/usr/bin/python3",
                                           "requires": ["json", "gpuhub_no_such_module"]})
    assert r.status_code == 201, r.text
    assert r.json()["available"] is False
    assert "gpuhub_no_such_module" in r.json()["unavailable_reason"]
    assert "json" not in r.json()["unavailable_reason"].replace("gpuhub", "")
    r = admin.post("/environments", json={**base, "name": "needs-json", "python": "/usr/bin/python3",
                                           "requires": ["json"]})
    assert r.status_code == 201 and r.json()["available"] is True, r.text
    r = admin.post("/environments", json={**base, "name": "bad-python", "python": "no-such-python3",
                                           "requires": ["json"]})
    assert r.json()["available"] is False and "cannot be run" in r.json()["unavailable_reason"]


def test_env_check_reports_versions_and_gpus(daemon, admin, gpuhub_bin, tmp_path):
    ann = create_user(admin, daemon, "ann")
    r = ann.api.post("/environments/jupyter-pytorch/check", json={"gpus": 1})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["exit_status"] == 0, doc
    rep = doc["report"]
    assert len(doc["gpus"]) == 1 and rep["cuda_visible_devices"] == str(doc["gpus"][0]), doc
    assert rep["python"].startswith("3."), rep
    assert rep["torch"].startswith("1."), rep
    assert rep["torch_cuda_device_count"] == 0       # simulated GPUs: no CUDA device behind them
    assert rep["jupyter_server"], rep
    if not tensorflow_installed():
        assert rep["tensorflow"] is None
    # nothing was allocated
    assert all(g["allocated_milli"] == 0 for g in admin.get("/gpus").json()["items"])

    # a custom probe sees a fraction's MPS limits
    r = admin.post("/environments", json={
        "name": "mps-probe", "interface": "jupyter", "default_gpus": 0.5,
        "launch": {"local": {"command": ["sleep", "infinity"], "ready": ""}},
        "probe": ["/bin/sh", "-c", 'echo noise; echo "{\\"share\\":\\"$CUDA_MPS_ACTIVE_THREAD_PERCENTAGE\\",'
                  '\\"cvd\\":\\"$CUDA_VISIBLE_DEVICES\\",\\"who\\":\\"$GPUHUB_USER\\"}"']})
    assert r.status_code == 201, r.text
    doc = ann.api.post("/environments/mps-probe/check", json={"gpus": 0.25}).json()
    assert doc["report"] == {"share": "25", "cvd": str(doc["gpus"][0]), "who": "ann"}, doc
    assert "noise" in doc["output"]

    # errors: unknown env, no probe, too many GPUs, no free GPU, bad body
    assert_error(ann.api.post("/environments/nope/check", json={}), 404)
    r = admin.post("/environments", json={"name": "no-probe", "interface": "jupyter", "default_gpus": 0})
    assert r.status_code == 201
    assert_error(ann.api.post("/environments/no-probe/check", json={}), 409)
    assert_error(ann.api.post("/environments/jupyter-pytorch/check", json={"gpus": 5}), 400)
    assert_error(ann.api.post("/environments/jupyter-pytorch/check", json={"gpus": "one"}), 400, field="gpus")
    assert_error(ann.api.post("/environments/jupyter-pytorch/check", json={"gpu": 1}), 400)
    for i in range(4):
        launch(ann.api, f"s{i}", env="jupyter-python", gpus=1) if i < 2 else \
            launch(admin, f"s{i}", env="jupyter-python", gpus=1)
    assert_error(ann.api.post("/environments/jupyter-pytorch/check", json={"gpus": 1}), 409, "no_capacity")
    r = ann.api.post("/environments/jupyter-pytorch/check", json={"gpus": 0})
    assert r.status_code == 200 and r.json()["report"]["cuda_visible_devices"] == "", r.text

    # the CLI
    env = cli_env(tmp_path, daemon, ann.token)
    p = subprocess.run([gpuhub_bin, "env", "check", "jupyter-pytorch", "--gpus", "0"], capture_output=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p
    assert b"PyTorch:" in p.stdout and b"Python:" in p.stdout, p.stdout
    p = subprocess.run([gpuhub_bin, "env", "ls"], capture_output=True, env=env, timeout=30)
    line = [ln for ln in p.stdout.decode().splitlines() if ln.startswith("jupyter-tensorflow")]
    assert line and (" no " in line[0]) != tensorflow_installed(), p.stdout


@needs_sandbox
def test_env_check_runs_as_the_callers_account_in_the_sandbox(sandbox_hub):
    admin, data = sandbox_hub.admin, sandbox_hub.data
    r = admin.post("/environments", json={
        "name": "who", "interface": "jupyter", "default_gpus": 1,
        "launch": {"local": {"command": ["sleep", "infinity"], "ready": ""}},
        "probe": ["/bin/sh", "-c", f'db=hidden; [ -e {data}/gpuhub.db ] && db=visible; '
                  'echo "{\\"user\\":\\"$(id -un)\\",\\"db\\":\\"$db\\",\\"home\\":\\"$HOME\\",'
                  '\\"cvd\\":\\"$CUDA_VISIBLE_DEVICES\\"}"']})
    assert r.status_code == 201, r.text
    bea = sandbox_hub.create_user("bea")
    doc = bea.api.post("/environments/who/check", json={}).json()
    assert doc["exit_status"] == 0, doc
    assert doc["report"] == {"user": "gh-bea", "db": "hidden", "home": f"{data}/homes/bea",
                             "cvd": str(doc["gpus"][0])}, doc
