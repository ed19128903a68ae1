#!/usr/bin/env python3
"""
gpuhub kernel launcher: the argv of the "python3" kernelspec that the hub
writes into the home of a session whose environment has gpu_mode "kernel"
(the user's own kernelspec wins over the system's, so every Python kernel
of that server comes here).

The notebook server runs without a GPU. When a kernel of this spec starts,
this launcher asks the hub for the session's GPUs (POST
/api/v1/sessions/{id}/kernel-gpus, signed with the workspace token), waits
in the queue if none are free (printing its place), runs ipykernel with
CUDA_VISIBLE_DEVICES set to what it got, and gives the GPUs back when the
kernel ends. If it is killed outright, the hub notices the process is gone
at its next look and frees the GPUs itself.

The home is shared by all of the user's sessions: in a session whose GPUs
are the session's own (no GPUHUB_HUB_URL), this is a plain ipykernel.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

HUB = os.environ.get("GPUHUB_HUB_URL")
SID = os.environ.get("GPUHUB_SESSION_ID")
AUTH = "token " + os.environ.get("GPUHUB_WORKSPACE_TOKEN", "")
ME = os.getpid()


def call(method, suffix="", body=None):
    req = urllib.request.Request(
        "%s/api/v1/sessions/%s/kernel-gpus%s" % (HUB, SID, suffix), method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": AUTH, "Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def main():
    if not HUB or not SID:
        # not a session whose GPUs follow the kernel: the GPUs, if any, are
        # already in this process's environment
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher"] + sys.argv[1:])
    told = None
    while True:
        doc = call("POST", body={"pid": ME})
        if doc["state"] == "granted":
            break
        line = "gpuhub: this kernel waits for GPUs: position %s in the queue" % doc.get("position")
        if doc.get("eta_seconds") is not None:
            line += ", about %d min" % max(1, (doc["eta_seconds"] + 59) // 60)
        if line != told:
            print(line, file=sys.stderr, flush=True)
            told = line
        time.sleep(0.5)
    print("gpuhub: kernel GPUs: CUDA_VISIBLE_DEVICES=%s" % doc["cuda_visible_devices"], file=sys.stderr,
          flush=True)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=doc["cuda_visible_devices"])
    child = subprocess.Popen([sys.executable, "-m", "ipykernel_launcher"] + sys.argv[1:], env=env)
    # Jupyter signals the kernel's process group (interrupts reach the
    # kernel itself); a signal sent to this process alone is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(s, lambda sig, frame: child.send_signal(sig))
    rc = child.wait()
    try:
        call("DELETE", "/%d" % ME)
    except OSError:
        pass  # the hub frees them when it sees this process gone
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
