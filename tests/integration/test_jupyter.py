"""
A real Jupyter workspace through the hub: launch Jupyter + PyTorch on one
simulated GPU — the server itself holds none, its GPUs follow the kernel —
start a kernel and run code over its WebSocket through the proxy; the kernel
gets the GPU, `import torch` works, CUDA_VISIBLE_DEVICES matches the kernel's
allocation, and a file written in the home is there after the stop, in the
next session.
"""

import requests

from conftest import ADMIN_TOKEN, Api, create_user, launch, needs_jupyter, run_code, wait_for, wait_state

pytestmark = needs_jupyter


def test_pytorch_kernel_through_the_proxy_and_files_persist(daemon):
    admin = Api(daemon, ADMIN_TOKEN)
    ann = create_user(admin, daemon, "ann")
    s = launch(ann.api, "thesis", env="jupyter-pytorch", gpus=1)
    s = wait_state(ann.api, s["id"], ["running"], timeout=90)
    assert s["gpu_mode"] == "kernel" and s["allocations"] == []     # editing holds no GPU
    base = "/user/ann/thesis/"
    auth = {"Authorization": f"Bearer {ann.token}"}

    r = requests.get(f"{daemon.url}{base}api/status", headers=auth, timeout=10)
    assert r.status_code == 200 and "started" in r.json()
    # the kernel a client gets without naming one (what a new notebook gets)
    r = requests.post(f"{daemon.url}{base}api/kernels", headers=auth, json={}, timeout=30)
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    s = wait_for(lambda: (lambda x: x if x["allocations"] else None)(ann.api.get(f"/sessions/{s['id']}").json()),
                 60, 0.1, "the kernel's GPU")
    gpu = s["allocations"][0]["gpu"]
    status, out = run_code(daemon, ann, base, kid,
                           "import os, torch\n"
                           "print('torch', torch.__version__)\n"
                           "print('cvd', os.environ['CUDA_VISIBLE_DEVICES'])\n"
                           "open(os.path.expanduser('~/kept.txt'), 'w').write('still here')\n")
    assert status == "ok", out
    assert "torch 1." in out, out
    assert f"cvd {gpu}" in out, out

    # stop: GPUs back; the file stays in the user's home
    assert ann.api.post(f"/sessions/{s['id']}/stop").status_code == 200
    wait_state(ann.api, s["id"], ["stopped"], timeout=60)
    assert all(g["allocated_milli"] == 0 for g in admin.get("/gpus").json()["items"])

    s2 = launch(ann.api, "next", env="jupyter-pytorch", gpus=0)
    wait_state(ann.api, s2["id"], ["running"], timeout=90)
    r = requests.get(f"{daemon.url}/user/ann/next/api/contents/kept.txt", headers=auth,
                     params={"content": "1"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["content"] == "still here"
    # nobody else reads it
    bob = create_user(admin, daemon, "bob")
    r = requests.get(f"{daemon.url}/user/ann/next/api/contents/kept.txt",
                     headers={"Authorization": f"Bearer {bob.token}"}, timeout=10)
    assert r.status_code == 404
    assert ann.api.post(f"/sessions/{s2['id']}/stop").status_code == 200
    wait_state(ann.api, s2["id"], ["stopped"], timeout=60)
    admin.close()
