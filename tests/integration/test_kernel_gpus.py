"""
GPUs follow the kernel (docs/idle.md): in an environment with gpu_mode
"kernel" — the default catalog's Jupyter environments — the Jupyter server
runs without a GPU; a Python kernel (the hub's "python3" kernelspec, the
one a new notebook gets) asks the hub for the session's GPUs when it starts
(waiting in the queue while another session holds them), sees them in
CUDA_VISIBLE_DEVICES, and gives them back when it is shut down. An
environment with gpu_mode "session" still gives its GPUs to the workspace,
and the same user's kernels there run as before.
"""

import subprocess

import requests

from conftest import (ADMIN_TOKEN, Api, assert_error, create_user, event_types, gpus_in_use, launch, needs_jupyter,
                      run_code, wait_for, wait_state)

pytestmark = needs_jupyter


def test_kernel_gets_the_gpu_while_it_runs_and_waits_in_the_queue(daemon_factory):
    d = daemon_factory(gpus="sim:1")
    admin = Api(d, ADMIN_TOKEN)
    spec = admin.get("/environments/jupyter-pytorch").json()
    r = admin.post("/environments", json={"name": "kernel-gpus", "interface": "jupyter", "gpu_mode": "kernel",
                                          "launch": spec["launch"], "default_gpus": 1, "max_gpus": 1})
    assert r.status_code == 201, r.text
    assert r.json()["gpu_mode"] == "kernel"
    lee = create_user(admin, d, "lee")
    s = launch(lee.api, "nb", env="kernel-gpus", gpus=1)
    sid = s["id"]
    s = wait_state(lee.api, sid, ["running"], timeout=90)
    assert s["allocations"] == [] and gpus_in_use(admin) == 0     # the server has no GPU
    base = "/user/lee/nb/"
    auth = {"Authorization": f"Bearer {lee.token}"}
    specs = requests.get(f"{d.url}{base}api/kernelspecs", headers=auth, timeout=30).json()
    assert specs["default"] == "python3", specs
    assert "GPUs while it runs" in specs["kernelspecs"]["python3"]["spec"]["display_name"], specs

    # a kernel starts: it gets the GPU, and sees it
    r = requests.post(f"{d.url}{base}api/kernels", headers=auth, json={"name": "python3"}, timeout=60)
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    s = wait_for(lambda: (lambda x: x if x["allocations"] else None)(lee.api.get(f"/sessions/{sid}").json()),
                 60, 0.1, "the kernel's GPU")
    gpu = s["allocations"][0]["gpu"]
    status, out = run_code(d, lee, base, kid, "import os\nprint('cvd', os.environ['CUDA_VISIBLE_DEVICES'])\n")
    assert status == "ok" and f"cvd {gpu}" in out, out
    assert s["kernels_with_gpus"]["kernels"] == 1 and not s["kernels_with_gpus"]["waiting"]

    # it shuts down: the GPU goes back, the session keeps running
    assert requests.delete(f"{d.url}{base}api/kernels/{kid}", headers=auth, timeout=30).status_code == 204
    wait_for(lambda: gpus_in_use(admin) == 0, 30, 0.1, "the GPU to be freed")
    s = lee.api.get(f"/sessions/{sid}").json()
    assert s["state"] == "running" and s["allocations"] == []
    assert s["kernels_with_gpus"] == {"kernels": 0, "waiting": False, "position": None, "eta_seconds": None}
    types = [t for t, _ in event_types(lee.api, sid)]
    assert "session.kernel_gpus" in types and "session.kernel_gpus_released" in types

    # another session holds the only GPU: a new kernel waits in the queue ...
    hog = launch(admin, "hog", gpus=1)["id"]
    wait_state(admin, hog, ["running"])
    r = requests.post(f"{d.url}{base}api/kernels", headers=auth, json={"name": "python3"}, timeout=60)
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    s = wait_for(lambda: (lambda x: x if x["kernels_with_gpus"]["kernels"] else None)(lee.api.get(f"/sessions/{sid}").json()),
                 60, 0.1, "the kernel's claim")
    assert s["kernels_with_gpus"]["waiting"] and s["kernels_with_gpus"]["position"] == 1
    assert s["allocations"] == []
    # ... and gets it when it is free
    assert admin.post(f"/sessions/{hog}/stop").status_code == 200
    wait_for(lambda: lee.api.get(f"/sessions/{sid}").json()["allocations"], 60, 0.1, "the GPU for the kernel")
    status, out = run_code(d, lee, base, kid, "import os\nprint('cvd', os.environ['CUDA_VISIBLE_DEVICES'])\n")
    assert status == "ok" and "cvd 0" in out, out
    assert requests.delete(f"{d.url}{base}api/kernels/{kid}", headers=auth, timeout=30).status_code == 204
    wait_for(lambda: gpus_in_use(admin) == 0, 30, 0.1, "the GPU to be freed again")
    assert lee.api.post(f"/sessions/{sid}/stop").status_code == 200
    wait_state(lee.api, sid, ["stopped"], timeout=60)


def test_kernel_gpu_calls_need_the_workspace_token(daemon):
    admin = Api(daemon, ADMIN_TOKEN)
    sid = launch(admin, "plain", gpus=1)["id"]
    wait_state(admin, sid, ["running"])
    url = daemon.api_url(f"/sessions/{sid}/kernel-gpus")
    assert_error(requests.post(url, json={"pid": 1234}, timeout=10), 401)
    assert_error(requests.post(url, json={"pid": 1234}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                               timeout=10), 401)
    assert_error(requests.post(url, json={"pid": 1234}, headers={"Authorization": "token " + "0" * 32},
                               timeout=10), 401)
    assert_error(requests.delete(url + "/1234", headers={"Authorization": "token " + "0" * 32}, timeout=10), 401)
    r = admin.post("/environments", json={"name": "bad", "interface": "vscode", "gpu_mode": "kernel"})
    assert_error(r, 400, field="gpu_mode")
    assert_error(admin.post("/environments", json={"name": "bad", "interface": "jupyter", "gpu_mode": "gpu"}), 400,
                 field="gpu_mode")


def test_default_jupyter_session_holds_a_gpu_only_while_a_kernel_runs(daemon_factory, gpuhub_bin):
    d = daemon_factory(gpus="sim:2", light=False)      # the catalog as shipped
    admin = Api(d, ADMIN_TOKEN)
    envs = {e["name"]: e for e in admin.get("/environments").json()["items"]}
    assert {n: envs[n]["gpu_mode"] for n in ("jupyter-python", "jupyter-pytorch", "jupyter-tensorflow", "vscode")} \
        == {"jupyter-python": "kernel", "jupyter-pytorch": "kernel", "jupyter-tensorflow": "kernel",
            "vscode": "session"}
    mo = create_user(admin, d, "mo")
    sid = launch(mo.api, "nb", gpus=1)["id"]            # jupyter-python, as a user would
    s = wait_state(mo.api, sid, ["running"], timeout=90)
    assert s["env"] == "jupyter-python" and s["gpu_mode"] == "kernel"
    # a notebook is open for editing, no kernel: no GPU is held
    base, auth = "/user/mo/nb/", {"Authorization": f"Bearer {mo.token}"}
    nb = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}
    r = requests.put(f"{d.url}{base}api/contents/draft.ipynb", headers=auth, json=nb, timeout=30)
    assert r.status_code in (200, 201), r.text
    s = mo.api.get(f"/sessions/{sid}").json()
    assert s["allocations"] == [] and gpus_in_use(admin) == 0
    assert s["kernels_with_gpus"] == {"kernels": 0, "waiting": False, "position": None, "eta_seconds": None}
    out = subprocess.run([gpuhub_bin, "show", "nb", "--url", d.url, "--token", mo.token], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0 and "1 per kernel, none held (no kernel runs)" in out.stdout, out

    # the notebook is opened with a kernel, as the page does (no kernel name:
    # Jupyter's default): the kernel gets the GPU and sees it
    r = requests.post(f"{d.url}{base}api/sessions", headers=auth, timeout=60,
                      json={"path": "draft.ipynb", "type": "notebook", "name": "draft.ipynb", "kernel": {}})
    assert r.status_code == 201, r.text
    kid = r.json()["kernel"]["id"]
    s = wait_for(lambda: (lambda x: x if x["allocations"] else None)(mo.api.get(f"/sessions/{sid}").json()),
                 60, 0.1, "the kernel's GPU")
    gpu = s["allocations"][0]["gpu"]
    assert s["kernels_with_gpus"]["kernels"] == 1 and gpus_in_use(admin) == 1000
    status, text = run_code(d, mo, base, kid, "import os\nprint('cvd', os.environ['CUDA_VISIBLE_DEVICES'])\n")
    assert status == "ok" and f"cvd {gpu}" in text, text
    out = subprocess.run([gpuhub_bin, "ls", "--url", d.url, "--token", mo.token], capture_output=True, text=True,
                         timeout=30)
    assert "1 per kernel, held by 1 kernel" in out.stdout, out

    # the kernel is shut down: the GPU is free, the session keeps running
    assert requests.delete(f"{d.url}{base}api/kernels/{kid}", headers=auth, timeout=30).status_code == 204
    wait_for(lambda: gpus_in_use(admin) == 0, 30, 0.1, "the GPU to be freed")
    s = mo.api.get(f"/sessions/{sid}").json()
    assert s["state"] == "running" and s["allocations"] == [] and s["kernels_with_gpus"]["kernels"] == 0
    assert mo.api.post(f"/sessions/{sid}/stop").status_code == 200
    wait_state(mo.api, sid, ["stopped"], timeout=60)

    # an environment may still give the GPUs to the session; the same user's
    # Python kernels (the home keeps the kernelspec) run there as before
    spec = admin.get("/environments/jupyter-python").json()
    r = admin.post("/environments", json={"name": "jupyter-batch", "interface": "jupyter", "gpu_mode": "session",
                                          "launch": spec["launch"]})
    assert r.status_code == 201 and r.json()["gpu_mode"] == "session", r.text
    s = launch(mo.api, "batch", env="jupyter-batch", gpus=1)
    s = wait_state(mo.api, s["id"], ["running"], timeout=90)
    assert s["gpu_mode"] == "session" and s["kernels_with_gpus"] is None
    gpu = s["allocations"][0]["gpu"]
    base = "/user/mo/batch/"
    r = requests.post(f"{d.url}{base}api/kernels", headers=auth, json={}, timeout=60)
    assert r.status_code == 201, r.text
    status, text = run_code(d, mo, base, r.json()["id"], "import os\nprint('cvd', os.environ['CUDA_VISIBLE_DEVICES'])\n")
    assert status == "ok" and f"cvd {gpu}" in text, text
    assert gpus_in_use(admin) == 1000
    assert mo.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(mo.api, s["id"], ["stopped"], timeout=60)
