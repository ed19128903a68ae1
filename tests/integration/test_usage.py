"""
Usage accounting: GET /api/v1/usage reports GPU-seconds and session time
per user, group, environment, GPU model and UTC day, booked from the
sessions' allocations.

The expected numbers are computed from each session's own timestamps in
the API: its allocation starts at its "session.gpus_allocated" event and
ends at its stopped_at. Those are whole seconds, so each session may
differ from the booked value by less than one second (times its GPUs).
"""

import csv
import datetime
import io
import json
import os
import signal
import sqlite3
import subprocess

from conftest import ADMIN_TOKEN, Api, assert_error, create_user, launch, wait_for, wait_state

CONFIG = "usage:\n  interval_s: 1\n"


def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def held_seconds(api, sid):
    """Seconds session sid held its allocation, from its own API record."""
    s = api.get(f"/sessions/{sid}").json()
    assert s["state"] in ("stopped", "failed"), s
    evs = api.get(f"/sessions/{sid}/events", headers={"Accept": "application/json"}).json()["items"]
    allocated = [e for e in evs if e["type"] == "session.gpus_allocated"]
    assert len(allocated) == 1, evs
    return ts(s["stopped_at"]) - ts(allocated[0]["ts"])


def usage(api, **params):
    r = api.get("/usage", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def start_daemon(daemon_factory, tmp_path):
    cfg = tmp_path / "usage.yaml"
    cfg.write_text(CONFIG)
    return daemon_factory(extra_args=["--config", str(cfg)])


def stop_all(api, sids):
    for sid in sids:
        assert api.post(f"/sessions/{sid}/stop").status_code in (200, 202)
    for sid in sids:
        wait_state(api, sid, "stopped")


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def test_totals_equal_the_integral_of_allocations(daemon_factory, tmp_path):
    d = start_daemon(daemon_factory, tmp_path)
    admin = Api(d, ADMIN_TOKEN)
    alice = create_user(admin, d, "alice")
    bob = create_user(admin, d, "bob")
    assert admin.patch("/users/bob", json={"group": "vision"}).status_code == 200

    s1 = wait_state(alice.api, launch(alice.api, "one", gpus=1)["id"], "running")
    s2 = wait_state(alice.api, launch(alice.api, "half", gpus=0.5)["id"], "running")
    s3 = wait_state(bob.api, launch(bob.api, "pair", env="vscode", gpus=2)["id"], "running")
    # the running sessions are booked while they run, not only at the stop
    wait_for(lambda: usage(admin, group_by="user")["total"]["gpu_seconds"] >= 3.0, timeout=30,
             what="usage booked while the sessions run")
    stop_all(alice.api, [s1["id"], s2["id"]])
    stop_all(bob.api, [s3["id"]])

    h1, h2, h3 = (held_seconds(admin, s["id"]) for s in (s1, s2, s3))
    doc = usage(admin, group_by="user,group,environment,model")
    rows = {(i["user"], i["group"], i["environment"], i["model"]): i for i in doc["items"]}
    assert set(rows) == {("alice", None, "jupyter-python", "A100-80GB"),
                         ("bob", "vision", "vscode", "A100-80GB")}, doc
    a = rows[("alice", None, "jupyter-python", "A100-80GB")]
    b = rows[("bob", "vision", "vscode", "A100-80GB")]
    assert abs(a["gpu_seconds"] - (1.0 * h1 + 0.5 * h2)) <= 1.0 + 0.5, (a, h1, h2)
    assert abs(a["session_seconds"] - (h1 + h2)) <= 2.0, (a, h1, h2)
    assert abs(b["gpu_seconds"] - 2.0 * h3) <= 2.0, (b, h3)
    assert abs(b["session_seconds"] - h3) <= 1.0, (b, h3)
    assert abs(b["gpu_hours"] * 3600 - b["gpu_seconds"]) < 1e-6
    total = doc["total"]
    assert abs(total["gpu_seconds"] - (a["gpu_seconds"] + b["gpu_seconds"])) < 1e-6
    assert doc["group_by"] == ["user", "group", "environment", "model"]
    assert doc["to"] == today()

    # nothing more accrues once every session stopped
    again = usage(admin, group_by="")
    assert again["items"][0]["gpu_seconds"] == total["gpu_seconds"], again
    assert again["group_by"] == []


def test_group_by_variants_and_csv(daemon_factory, tmp_path):
    d = start_daemon(daemon_factory, tmp_path)
    admin = Api(d, ADMIN_TOKEN)
    alice = create_user(admin, d, "alice")
    s = wait_state(alice.api, launch(alice.api, "work", gpus=1)["id"], "running")
    z = wait_state(alice.api, launch(alice.api, "nogpu", env="vscode", gpus=0)["id"], "running")
    wait_for(lambda: usage(admin)["total"]["gpu_seconds"] >= 1.0, timeout=30, what="usage booked")
    stop_all(alice.api, [s["id"], z["id"]])
    total = usage(admin, group_by="")["total"]
    assert total["gpu_seconds"] > 0 and total["session_seconds"] > total["gpu_seconds"]

    for by, keys in [("day", {"day"}), ("user", {"user"}), ("group", {"group"}),
                     ("environment", {"environment"}), ("model", {"model"}),
                     ("day,user", {"day", "user"}), ("model,day,environment", {"day", "model", "environment"})]:
        doc = usage(admin, group_by=by)
        for item in doc["items"]:
            assert set(item) - {"gpu_seconds", "gpu_hours", "session_seconds", "session_hours"} == keys, (by, item)
        assert abs(sum(i["gpu_seconds"] for i in doc["items"]) - total["gpu_seconds"]) < 1e-3, by
        assert abs(sum(i["session_seconds"] for i in doc["items"]) - total["session_seconds"]) < 1e-3, by
    # a session without GPUs has session time and no GPU time, under no model
    by_model = {i["model"]: i for i in usage(admin, group_by="model")["items"]}
    assert set(by_model) == {None, "A100-80GB"}, by_model
    assert by_model[None]["gpu_seconds"] == 0 and by_model[None]["session_seconds"] > 0
    by_env = {i["environment"]: i for i in usage(admin, group_by="environment")["items"]}
    assert set(by_env) == {"jupyter-python", "vscode"}
    assert by_model["A100-80GB"]["gpu_seconds"] == by_env["jupyter-python"]["gpu_seconds"]
    assert [i["day"] for i in usage(admin, group_by="day")["items"]] == [today()]

    # CSV by parameter and by Accept header: a header row, then the same numbers
    r = admin.get("/usage", params={"group_by": "user,day", "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers.get("content-disposition", "")
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0] == ["day", "user", "gpu_seconds", "gpu_hours", "session_seconds", "session_hours"]
    assert [row[:2] for row in table[1:]] == [[today(), "alice"]]
    assert abs(float(table[1][2]) - total["gpu_seconds"]) < 0.01
    r2 = admin.get("/usage", params={"group_by": "user,day"}, headers={"Accept": "text/csv"})
    assert r2.status_code == 200 and r2.headers["content-type"].startswith("text/csv")
    assert r2.text == r.text

    # a range without usage is empty, not an error
    doc = usage(admin, **{"from": "2020-01-01", "to": "2020-01-31"})
    assert doc["items"] == [] and doc["total"]["gpu_seconds"] == 0


def test_a_user_sees_only_their_own_usage(daemon_factory, tmp_path):
    d = start_daemon(daemon_factory, tmp_path)
    admin = Api(d, ADMIN_TOKEN)
    alice = create_user(admin, d, "alice")
    bob = create_user(admin, d, "bob")
    sa = wait_state(alice.api, launch(alice.api, "a", gpus=1)["id"], "running")
    sb = wait_state(bob.api, launch(bob.api, "b", gpus=1)["id"], "running")
    stop_all(alice.api, [sa["id"]])
    stop_all(bob.api, [sb["id"]])

    assert {i["user"] for i in usage(admin, group_by="user")["items"]} == {"alice", "bob"}
    mine = usage(alice.api, group_by="user")["items"]
    assert [i["user"] for i in mine] == ["alice"]
    # no grouping by user: still only her own hours
    assert usage(alice.api, group_by="")["total"] == usage(admin, group_by="", user="alice")["total"]
    assert usage(alice.api, user="alice", group_by="user")["items"] == mine
    assert_error(alice.api.get("/usage", params={"user": "bob"}), 403, field="user")
    r = alice.api.get("/usage", params={"format": "csv", "group_by": "user"})
    assert "bob" not in r.text and "alice" in r.text
    # an admin may narrow to one user
    assert [i["user"] for i in usage(admin, user="bob", group_by="user")["items"]] == ["bob"]


def test_bad_parameters_are_400_and_name_the_problem(daemon_factory, tmp_path):
    d = start_daemon(daemon_factory, tmp_path)
    admin = Api(d, ADMIN_TOKEN)
    before = usage(admin)
    for params, field, words in [
        ({"from": "2026-13-01"}, "from", "YYYY-MM-DD"),
        ({"from": "2026-02-30"}, "from", "YYYY-MM-DD"),
        ({"to": "yesterday"}, "to", "YYYY-MM-DD"),
        ({"to": "2026-01-01T00:00:00Z"}, "to", "YYYY-MM-DD"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from", "after"),
        ({"group_by": "user,colour"}, "group_by", "colour"),
        ({"group_by": "user,,day"}, "group_by", "group_by"),
        ({"format": "xml"}, "format", "csv"),
    ]:
        err = assert_error(admin.get("/usage", params=params), 400, field=field)
        assert words in err["message"], (params, err)
    assert_error(Api(d).get("/usage"), 401)
    assert usage(admin) == before


def test_totals_survive_restarts_without_double_counting(daemon_factory, tmp_path):
    d = start_daemon(daemon_factory, tmp_path)
    admin = Api(d, ADMIN_TOKEN)
    alice = create_user(admin, d, "alice")
    s = wait_state(alice.api, launch(alice.api, "long", gpus=1)["id"], "running")
    wait_for(lambda: usage(admin)["total"]["gpu_seconds"] >= 2.0, timeout=30, what="usage booked")

    d.restart()                                   # clean stop books up to the stop
    assert wait_state(admin, s["id"], "running")  # adopted
    wait_for(lambda: usage(admin)["total"]["gpu_seconds"] >= 4.0, timeout=30, what="booking after restart")

    d.proc.send_signal(signal.SIGKILL)            # a crash loses at most one interval...
    d.proc.wait()
    d.start(port=d.port)
    assert wait_state(admin, s["id"], "running")
    stop_all(alice.api, [s["id"]])                # ...which the mark recovers at the next booking

    held = held_seconds(admin, s["id"])
    got = usage(admin, group_by="")["total"]
    assert abs(got["gpu_seconds"] - held) <= 1.0, (got, held)
    assert abs(got["session_seconds"] - held) <= 1.0, (got, held)


def run_cli(binary, d, token, *args):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(d.log_dir), "NO_COLOR": "1"}
    return subprocess.run([binary, *args, "--url", d.url, "--token", token], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, timeout=30)


def test_cli_usage_table_csv_and_errors(daemon_factory, tmp_path, gpuhub_bin):
    d = start_daemon(daemon_factory, tmp_path)
    admin = Api(d, ADMIN_TOKEN)
    alice = create_user(admin, d, "alice")
    s = wait_state(alice.api, launch(alice.api, "work", gpus=1)["id"], "running")
    wait_for(lambda: usage(admin)["total"]["gpu_seconds"] > 0, timeout=30, what="usage booked")
    stop_all(alice.api, [s["id"]])
    total = usage(admin, group_by="")["total"]

    p = run_cli(gpuhub_bin, d, ADMIN_TOKEN, "usage")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[1].split() == ["DAY", "USER", "GPU-HOURS", "SESSION-HOURS"], p.stdout
    assert lines[2].split()[:2] == [today(), "alice"], p.stdout
    assert lines[-1].split()[0] == "TOTAL"
    assert abs(float(lines[-1].split()[1]) - total["gpu_hours"]) <= 0.0005 + 1e-9, p.stdout

    p = run_cli(gpuhub_bin, d, ADMIN_TOKEN, "usage", "--by", "model", "--csv")
    assert p.returncode == 0, p.stderr
    table = list(csv.reader(io.StringIO(p.stdout)))
    assert table[0][:2] == ["model", "gpu_seconds"] and table[1][0] == "A100-80GB", p.stdout

    p = run_cli(gpuhub_bin, d, ADMIN_TOKEN, "usage", "-o", "json", "--by", "environment")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["items"][0]["environment"] == "jupyter-python"

    p = run_cli(gpuhub_bin, d, ADMIN_TOKEN, "usage", "--by", "user,colour")
    assert p.returncode == 1 and "colour" in p.stderr, (p.stdout, p.stderr)
    p = run_cli(gpuhub_bin, d, ADMIN_TOKEN, "usage", "--from", "2026-02-30")
    assert p.returncode == 1 and "from" in p.stderr, p.stderr
    p = run_cli(gpuhub_bin, d, alice.token, "usage", "--user", "admin")
    assert p.returncode == 4, p.stderr
    p = run_cli(gpuhub_bin, d, ADMIN_TOKEN, "help", "usage")
    assert p.returncode == 0 and "--by" in p.stdout and "--csv" in p.stdout


def test_config_keys_are_checked(gpuhub_bin, tmp_path):
    for text, ok in [("usage:\n  retention_days: 30\n  interval_s: 5\n", True),
                     ("usage:\n  retention_days: 0\n", False),
                     ("usage:\n  interval_s: 3601\n", False),
                     ("usage:\n  retention: 5\n", False)]:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(text)
        p = subprocess.run([gpuhub_bin, "serve", "--check-config", str(cfg)], capture_output=True, text=True,
                           timeout=30)
        assert (p.returncode == 0) == ok, (text, p.stdout, p.stderr)
        if not ok:
            assert "usage." in p.stdout + p.stderr or "retention" in p.stdout + p.stderr, p.stderr


def test_rows_past_retention_are_pruned(daemon_factory, tmp_path):
    cfg = tmp_path / "usage.yaml"
    cfg.write_text("usage:\n  interval_s: 1\n  retention_days: 30\n")
    d = daemon_factory(extra_args=["--config", str(cfg)])
    admin = Api(d, ADMIN_TOKEN)
    s = wait_state(admin, launch(admin, "now", gpus=1)["id"], "running")
    stop_all(admin, [s["id"]])
    d.stop()
    # rows as an older hub would have left them: one far past retention, one inside it
    old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=45)).strftime("%Y-%m-%d")
    recent = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3)).strftime("%Y-%m-%d")
    db = sqlite3.connect(os.path.join(d.data_dir, "gpuhub.db"))
    with db:
        for day in (old, recent):
            db.execute("INSERT INTO usage VALUES (?, 'admin', '', 'jupyter-python', 'A100-80GB', ?, ?)",
                       (day, 3600 * 1000 * 1000, 3600 * 1000))
    db.close()
    d.start(port=d.port)
    days = lambda: [i["day"] for i in usage(admin, group_by="day", **{"from": "2000-01-01"})["items"]]  # noqa: E731
    wait_for(lambda: old not in days(), timeout=30, what="the old row to be pruned")
    assert days() == [recent, today()]
    assert usage(admin, group_by="", **{"from": recent, "to": recent})["total"]["gpu_hours"] == 1.0


def test_deleting_a_user_books_their_running_session(daemon, admin, make_user):
    # default usage.interval_s (60 s): nothing is booked by the tick in this test
    alice = make_user("alice")
    s = wait_state(alice.api, launch(alice.api, "work", gpus=1)["id"], "running")
    assert usage(admin, group_by="")["items"] == []
    allocated = [e for e in admin.get(f"/sessions/{s['id']}/events", headers={"Accept": "application/json"})
                 .json()["items"] if e["type"] == "session.gpus_allocated"][0]["ts"]
    wait_for(lambda: datetime.datetime.now(datetime.timezone.utc).timestamp() - ts(allocated) >= 2.0,
             what="the session to hold its GPU a while")
    before = datetime.datetime.now(datetime.timezone.utc).timestamp()
    assert admin.delete("/users/alice").status_code == 204
    after = datetime.datetime.now(datetime.timezone.utc).timestamp()
    got = usage(admin, group_by="user", user="alice")["items"]
    assert [i["user"] for i in got] == ["alice"]
    assert before - ts(allocated) - 1.0 <= got[0]["gpu_seconds"] <= after - ts(allocated) + 1.0, got
