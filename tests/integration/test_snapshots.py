"""Snapshots: a session's work dir (and chosen home paths) archived, listed,
restored byte for byte into a stopped session or a new one; hostile
archives refused with nothing changed; the per-user quota; privacy."""
import io
import os
import stat
import tarfile

import pytest

from conftest import assert_error, cli_env, launch, wait_for, wait_state


def write_tree(root):
    """A tree with nested dirs, modes, an empty file, binary data and a
    relative symlink that stays inside."""
    os.makedirs(os.path.join(root, "a", "b", "c"), exist_ok=True)
    files = {
        "notebook.ipynb": b'{"cells": []}\n',
        "a/empty": b"",
        "a/b/data.bin": bytes(range(256)) * 512,
        "a/b/c/run.sh": b"#!/bin/sh\necho hi\n",
        "a/secret.txt": b"only me\n",
    }
    for rel, data in files.items():
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
    os.chmod(os.path.join(root, "a/b/c/run.sh"), 0o755)
    os.chmod(os.path.join(root, "a/secret.txt"), 0o600)
    os.chmod(os.path.join(root, "a/b"), 0o750)
    os.symlink("../b/data.bin", os.path.join(root, "a/b/c/link"))
    os.symlink("a/b", os.path.join(root, "shortcut"))


def tree_of(root):
    """{relative path: (kind, mode, content or link target)}."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", None, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, None)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", mode, f.read())
    return out


def workdir(daemon, sid):
    return os.path.join(daemon.data_dir, "sessions", str(sid))


def homedir(daemon, user):
    return os.path.join(daemon.data_dir, "homes", user)


def wait_snapshot(api, snap_id, states=("ready",)):
    def check():
        r = api.get(f"/snapshots/{snap_id}")
        assert r.status_code == 200, r.text
        s = r.json()
        if s["state"] == "failed" and "failed" not in states:
            raise AssertionError(f"snapshot failed: {s.get('reason')}")
        return s if s["state"] in states else None
    return wait_for(check, 60, 0.05, f"snapshot {snap_id} in {states}")


def wait_restore(api, snap_id):
    def check():
        s = api.get(f"/snapshots/{snap_id}").json()
        r = s.get("restore") or {}
        return s if r.get("state") in ("done", "failed") else None
    return wait_for(check, 60, 0.05, f"restore of snapshot {snap_id}")


def stopped_session(api, name):
    s = launch(api, name, gpus=0)
    wait_state(api, s["id"], "running")
    assert api.post(f"/sessions/{s['id']}/stop").status_code in (200, 202)
    wait_state(api, s["id"], "stopped")
    return s["id"]


def tar_bytes(members, compression=""):
    """members: list of (TarInfo, data or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w" + (":" + compression if compression else "")) as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return buf.getvalue()


def entry(name, kind=tarfile.REGTYPE, data=None, link="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = link
    if kind == tarfile.DIRTYPE:
        info.mode = 0o755
    return (info, data if kind == tarfile.REGTYPE else None)


def good_archive():
    return tar_bytes([entry("work", tarfile.DIRTYPE), entry("work/hello.txt", data=b"hello\n"),
                      entry("home", tarfile.DIRTYPE), entry("home/proj", tarfile.DIRTYPE),
                      entry("home/proj/notes.md", data=b"# notes\n")], "gz")


def import_archive(api, data, note=""):
    return api.post("/snapshots" + (f"?note={note}" if note else ""), data=data,
                    headers={"Content-Type": "application/x-tar"})


def test_round_trip_is_byte_identical(daemon, make_user):
    u = make_user("alice")
    sid = stopped_session(u.api, "thesis")
    write_tree(workdir(daemon, sid))
    os.makedirs(homedir(daemon, "alice"), exist_ok=True)
    write_tree(os.path.join(homedir(daemon, "alice"), "proj"))
    before_work = tree_of(workdir(daemon, sid))
    before_home = tree_of(os.path.join(homedir(daemon, "alice"), "proj"))

    r = u.api.post(f"/sessions/{sid}/snapshots", json={"note": "before cleanup", "home_paths": ["proj"]})
    assert r.status_code == 202, r.text
    snap = wait_snapshot(u.api, r.json()["id"])
    assert snap["session_id"] == sid and snap["note"] == "before cleanup"
    assert snap["home_paths"] == ["proj"] and len(snap["sha256"]) == 64
    assert snap["size_bytes"] > 0 and snap["files"] >= 10
    types = [e["type"] for e in u.api.get(f"/sessions/{sid}/events",
                                          headers={"Accept": "application/json"}).json()["items"]]
    assert "snapshot.started" in types and "snapshot.ready" in types
    listed = u.api.get(f"/sessions/{sid}/snapshots").json()
    assert [s["id"] for s in listed["items"]] == [snap["id"]]
    assert listed["used_bytes"] == snap["size_bytes"]

    # the user wrecks the work dir and the home path, then restores
    os.remove(os.path.join(workdir(daemon, sid), "notebook.ipynb"))
    with open(os.path.join(workdir(daemon, sid), "junk"), "w") as f:
        f.write("new")
    os.remove(os.path.join(homedir(daemon, "alice"), "proj", "a", "empty"))
    r = u.api.post(f"/snapshots/{snap['id']}/restore", json={"session_id": sid})
    assert r.status_code == 202, r.text
    done = wait_restore(u.api, snap["id"])
    assert done["restore"]["state"] == "done", done
    assert tree_of(workdir(daemon, sid)) == before_work
    assert tree_of(os.path.join(homedir(daemon, "alice"), "proj")) == before_home
    # no staging directories are left behind
    wait_for(lambda: not [n for n in os.listdir(os.path.join(daemon.data_dir, "sessions"))
                          if n.startswith(".restore")], 20, 0.05, "staging dirs removed")

    # into a new session: created with the files already in place
    r = u.api.post(f"/snapshots/{snap['id']}/restore", json={"env": "jupyter-python", "name": "copy", "gpus": 0})
    assert r.status_code == 202, r.text
    done = wait_restore(u.api, snap["id"])
    assert done["restore"]["state"] == "done", done
    new_id = done["restore"]["session_id"]
    assert u.api.get(f"/sessions/{new_id}").json()["name"] == "copy"
    assert tree_of(workdir(daemon, new_id)) == before_work
    wait_state(u.api, new_id, "running")


def test_restore_refuses_running_session_and_bad_input(daemon, make_user):
    u = make_user("bob")
    s = launch(u.api, "live", gpus=0)
    wait_state(u.api, s["id"], "running")
    r = u.api.post(f"/sessions/{s['id']}/snapshots", json={})
    assert r.status_code == 202, r.text
    snap = wait_snapshot(u.api, r.json()["id"])
    assert_error(u.api.post(f"/snapshots/{snap['id']}/restore", json={"session_id": s["id"]}), 409)
    assert_error(u.api.post(f"/snapshots/{snap['id']}/restore", json={}), 400, field="env")
    assert_error(u.api.post(f"/snapshots/{snap['id']}/restore",
                            json={"session_id": s["id"], "name": "x", "env": "jupyter-python"}), 400)
    assert_error(u.api.post(f"/snapshots/{snap['id']}/restore", json={"env": "nope", "name": "x"}), 400,
                 field="env")
    assert_error(u.api.post(f"/snapshots/{snap['id']}/restore", json={"env": "jupyter-python", "name": "live"}),
                 409)
    for bad in (["../etc"], ["/etc"], ["a/./b"], [""], "proj", [1]):
        assert_error(u.api.post(f"/sessions/{s['id']}/snapshots", json={"home_paths": bad}), 400,
                     field="home_paths")
    r = u.api.post(f"/sessions/{s['id']}/snapshots", json={"home_paths": ["missing"]})
    assert r.status_code == 202
    failed = wait_snapshot(u.api, r.json()["id"], ("failed",))
    assert "missing" in failed["reason"]
    assert_error(u.api.get("/snapshots/999999"), 404)


HOSTILE = {
    "dotdot": [entry("work", tarfile.DIRTYPE), entry("work/../../evil", data=b"x")],
    "absolute": [entry("/tmp/gpuhub-evil", data=b"x")],
    "outside-layout": [entry("etc/passwd", data=b"x")],
    "device": [entry("work", tarfile.DIRTYPE), entry("work/null", tarfile.CHRTYPE)],
    "fifo": [entry("work", tarfile.DIRTYPE), entry("work/pipe", tarfile.FIFOTYPE)],
    "symlink-out": [entry("work", tarfile.DIRTYPE), entry("work/l", tarfile.SYMTYPE, link="../../../etc")],
    "symlink-abs": [entry("work", tarfile.DIRTYPE), entry("work/l", tarfile.SYMTYPE, link="/etc/passwd")],
    "hardlink": [entry("work", tarfile.DIRTYPE), entry("work/h", tarfile.LNKTYPE, link="etc/passwd")],
    "symlink-to-other-area": [entry("work", tarfile.DIRTYPE), entry("work/d", tarfile.SYMTYPE, link="../home")],
}


def test_hostile_archives_are_refused_and_change_nothing(daemon, make_user):
    u = make_user("carol")
    snapdir = os.path.join(daemon.data_dir, "snapshots")
    before = sorted(os.listdir(snapdir))
    for name, members in HOSTILE.items():
        data = tar_bytes(members)
        r = import_archive(u.api, data)
        err = assert_error(r, 400, "invalid_archive")
        assert "archive entry" in err["message"], (name, err)
    assert_error(import_archive(u.api, b"not an archive at all"), 400, "invalid_archive")
    assert_error(u.api.post("/snapshots", data=good_archive(), headers={"Content-Type": "text/plain"}), 415)
    assert u.api.get("/snapshots").json()["items"] == []
    assert sorted(os.listdir(snapdir)) == before
    assert not os.path.exists("/tmp/gpuhub-evil")


def test_import_restore_and_tampering(daemon, make_user):
    u = make_user("dave")
    r = import_archive(u.api, good_archive(), note="from-laptop")
    assert r.status_code == 201, r.text
    snap = r.json()
    assert snap["state"] == "ready" and snap["session_id"] is None and snap["home_paths"] == ["proj"]
    assert snap["note"] == "from-laptop"

    sid = stopped_session(u.api, "target")
    with open(os.path.join(workdir(daemon, sid), "keep.txt"), "w") as f:
        f.write("mine")
    before = tree_of(workdir(daemon, sid))
    # the archive on disk is changed behind the hub's back: restore refuses
    path = os.path.join(daemon.data_dir, "snapshots", f"{snap['id']}.tar.zst")
    original = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(tar_bytes([entry("work", tarfile.DIRTYPE), entry("work/evil", data=b"x")]))
    assert u.api.post(f"/snapshots/{snap['id']}/restore", json={"session_id": sid}).status_code == 202
    done = wait_restore(u.api, snap["id"])
    assert done["restore"]["state"] == "failed" and "SHA-256" in done["restore"]["message"]
    assert tree_of(workdir(daemon, sid)) == before
    with open(path, "wb") as f:
        f.write(original)
    assert u.api.post(f"/snapshots/{snap['id']}/restore", json={"session_id": sid}).status_code == 202
    done = wait_restore(u.api, snap["id"])
    assert done["restore"]["state"] == "done", done
    assert open(os.path.join(workdir(daemon, sid), "hello.txt")).read() == "hello\n"
    assert not os.path.exists(os.path.join(workdir(daemon, sid), "keep.txt"))
    assert open(os.path.join(homedir(daemon, "dave"), "proj", "notes.md")).read() == "# notes\n"


def test_quota(daemon_factory, tmp_path):
    cfg = tmp_path / "gpuhub.yaml"
    cfg.write_text("snapshots:\n  quota_bytes: 4096\n")
    d = daemon_factory(extra_args=["--config", str(cfg)])
    from conftest import Api, ADMIN_TOKEN, create_user
    admin = Api(d, ADMIN_TOKEN)
    u = create_user(admin, d, "erin")
    big = tar_bytes([entry("work", tarfile.DIRTYPE), entry("work/rand", data=os.urandom(8000))])
    err = assert_error(import_archive(u.api, big), 409, "quota_exceeded")
    assert "snapshots.quota_bytes" in err["message"]
    sid = stopped_session(u.api, "s")
    with open(os.path.join(workdir(d, sid), "rand"), "wb") as f:
        f.write(os.urandom(20000))
    r = u.api.post(f"/sessions/{sid}/snapshots", json={})
    assert r.status_code == 202, r.text
    failed = wait_snapshot(u.api, r.json()["id"], ("failed",))
    assert "snapshots.quota_bytes" in failed["reason"]
    assert u.api.get("/snapshots").json()["used_bytes"] == 0
    # a small one fits; then the quota is full for the next
    assert import_archive(u.api, good_archive()).status_code == 201
    os.remove(os.path.join(workdir(d, sid), "rand"))
    assert u.api.post(f"/sessions/{sid}/snapshots", json={}).status_code == 202
    admin.close()


def test_other_users_cannot_see_or_restore(daemon, make_user, admin):
    a = make_user("frank")
    b = make_user("grace")
    snap = import_archive(a.api, good_archive()).json()
    sid_b = stopped_session(b.api, "mine")
    sid_a = stopped_session(a.api, "theirs")
    assert b.api.get("/snapshots").json()["items"] == []
    assert_error(b.api.get(f"/snapshots/{snap['id']}"), 404)
    assert_error(b.api.post(f"/snapshots/{snap['id']}/restore", json={"session_id": sid_b}), 404)
    assert_error(b.api.delete(f"/snapshots/{snap['id']}"), 404)
    assert_error(b.api.post(f"/sessions/{sid_a}/snapshots", json={}), 404)
    assert_error(b.api.get(f"/sessions/{sid_a}/snapshots"), 404)
    # nor restore into someone else's session
    assert_error(a.api.post(f"/snapshots/{snap['id']}/restore", json={"session_id": sid_b}), 404)
    assert_error(admin.get(f"/snapshots/{snap['id']}"), 404)
    assert not os.path.exists(os.path.join(workdir(daemon, sid_b), "hello.txt"))
    assert a.api.delete(f"/snapshots/{snap['id']}").status_code == 204
    assert_error(a.api.get(f"/snapshots/{snap['id']}"), 404)


def test_snapshots_survive_restart(daemon, make_user):
    u = make_user("heidi")
    snap = import_archive(u.api, good_archive()).json()
    # what a run cut short would leave: a restore's staging dir, a half-written archive
    stage = os.path.join(daemon.data_dir, "sessions", ".restore-1-1")
    os.makedirs(os.path.join(stage, "work"))
    part = os.path.join(daemon.data_dir, "snapshots", "99.tar.zst.part")
    open(part, "wb").write(b"half")
    daemon.restart()
    r = u.api.get(f"/snapshots/{snap['id']}")
    assert r.status_code == 200 and r.json()["sha256"] == snap["sha256"]
    assert not os.path.exists(stage) and not os.path.exists(part)


def run_cli(daemon, token, *args, home):
    import subprocess
    env = cli_env(home, daemon, token, NO_COLOR="1")
    p = subprocess.run([daemon.binary, *args], stdin=subprocess.DEVNULL, capture_output=True, env=env,
                       timeout=60)
    p.out, p.err = p.stdout.decode(), p.stderr.decode()
    return p


def test_cli_snapshot_verbs(daemon, make_user, tmp_path):
    u = make_user("ivan")
    sid = stopped_session(u.api, "work")
    write_tree(workdir(daemon, sid))
    before = tree_of(workdir(daemon, sid))
    run = lambda *a: run_cli(daemon, u.token, *a, home=tmp_path)

    p = run("snapshot", "create", "work", "--note", "first", "--wait")
    assert p.returncode == 0 and "is ready" in p.out, (p.out, p.err)
    p = run("snapshot", "ls")
    assert p.returncode == 0 and "first" in p.out and "ready" in p.out and "Using" in p.out, p.out
    snap_id = u.api.get("/snapshots").json()["items"][0]["id"]
    p = run("snapshot", "restore", str(snap_id), "--env", "jupyter-python", "--name", "again", "--gpus", "0",
            "--wait", "-q")
    assert p.returncode == 0, (p.out, p.err)
    assert tree_of(workdir(daemon, int(p.out.strip()))) == before
    # usage and refusals: exit codes 2 and 1, the server's reason printed
    p = run("snapshot", "restore", str(snap_id))
    assert p.returncode == 2 and "--into" in p.err, p.err
    p = run("snapshot", "restore", str(snap_id), "--into", "again")
    assert p.returncode == 1 and "restore into a stopped" in p.err, (p.returncode, p.err)
    bad = tmp_path / "bad.tar"
    bad.write_bytes(tar_bytes([entry("work", tarfile.DIRTYPE), entry("work/../x", data=b"x")]))
    p = run("snapshot", "import", str(bad))
    assert p.returncode == 1 and "'..'" in p.err, p.err
    good = tmp_path / "good.tar.gz"
    good.write_bytes(good_archive())
    p = run("snapshot", "import", str(good), "--note", "from disk", "-q")
    assert p.returncode == 0 and p.out.strip().isdigit(), (p.out, p.err)
    assert u.api.get(f"/snapshots/{p.out.strip()}").json()["note"] == "from disk"
    p = run("snapshot", "rm", p.out.strip())
    assert p.returncode == 0 and "deleted" in p.out
    p = run("snapshot", "rm", "999999")
    assert p.returncode == 5, (p.returncode, p.err)
    p = run("snapshot", "create", "--help")
    assert p.returncode == 0 and "Usage: gpuhub snapshot create" in p.out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (to create accounts)")
def test_restored_files_belong_to_the_users_account(daemon_factory, tmp_path):
    import pwd
    import shutil
    import subprocess
    import tempfile
    from conftest import Api, ADMIN_TOKEN, create_user
    name, acct = "snapowner", "gh-snapowner"
    top = tempfile.mkdtemp(prefix="gh-snap-", dir="/tmp")
    os.chmod(top, 0o755)
    try:
        cfg = tmp_path / "gpuhub.yaml"
        cfg.write_text("runtime:\n  accounts: dedicated\n")
        d = daemon_factory(data_dir=os.path.join(top, "data"), extra_args=["--config", str(cfg)])
        admin = Api(d, ADMIN_TOKEN)
        u = create_user(admin, d, name)
        sid = stopped_session(u.api, "owned")          # its start created the account
        uid = pwd.getpwnam(acct).pw_uid
        snap = import_archive(u.api, good_archive()).json()
        assert u.api.post(f"/snapshots/{snap['id']}/restore", json={"session_id": sid}).status_code == 202
        assert wait_restore(u.api, snap["id"])["restore"]["state"] == "done"
        for p in (os.path.join(workdir(d, sid), "hello.txt"), workdir(d, sid),
                  os.path.join(homedir(d, name), "proj", "notes.md")):
            assert os.lstat(p).st_uid == uid, p
        # the archive itself stays the hub's, unreadable to the account
        arch = os.path.join(d.data_dir, "snapshots", f"{snap['id']}.tar.zst")
        assert os.stat(arch).st_uid == 0 and os.stat(arch).st_mode & 0o077 == 0
        admin.close()
    finally:
        shutil.rmtree(top, ignore_errors=True)
        subprocess.run(["userdel", acct], capture_output=True)
