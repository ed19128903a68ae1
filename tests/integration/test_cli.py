"""
The command-line client against a live daemon, with --url/--token (no
login): launch, ls -o json, show, stop, rm, gpus; exit codes 3 (unreachable),
4 (bad token), 5 (not found), 2 (usage); --help on every verb.
"""

import json
import os
import subprocess

import pytest

from conftest import cli_env, free_port, wait_state

VERBS = [
    ["launch"], ["ls"], ["show"], ["stop"], ["rm"], ["events"], ["gpus"],
    ["login"], ["logout"], ["whoami"], ["version"],
    ["env"], ["env", "ls"], ["env", "show"], ["env", "add"], ["env", "rm"],
    ["users"], ["users", "ls"], ["users", "add"], ["users", "show"], ["users", "set"],
    ["users", "rm"],
    ["token"], ["token", "create"], ["token", "ls"], ["token", "revoke"],
    ["serve"],
]


class Cli:
    def __init__(self, binary, home):
        self.binary = binary
        self.home = str(home)
        os.makedirs(self.home, exist_ok=True)

    def run(self, *args, url=None, token=None, timeout=30):
        """Runs gpuhub VERB... [--url U] [--token T]; the global options go
        right after the verb words."""
        args = list(args)
        # verb words are the leading args that do not start with '-' and are
        # known verbs / sub-verbs
        n = 1
        if args and args[0] in ("env", "token", "users") and len(args) > 1 and not args[1].startswith("-"):
            n = 2
        opts = []
        if url:
            opts += ["--url", url]
        if token:
            opts += ["--token", token]
        argv = [self.binary] + args[:n] + opts + args[n:]
        env = cli_env(self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"), NO_COLOR="1")
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           env=env, timeout=timeout)
        p.out = p.stdout.decode(errors="replace")
        p.err = p.stderr.decode(errors="replace")
        p.argv = argv
        return p


def show(p):
    return f"{' '.join(p.argv)}\nexit {p.returncode}\nstdout: {p.out[:800]}\nstderr: {p.err[:800]}"


def json_items(text):
    doc = json.loads(text)
    if isinstance(doc, dict) and "items" in doc:
        return doc["items"]
    assert isinstance(doc, list), doc
    return doc


@pytest.fixture
def cli(gpuhub_bin, tmp_path):
    return Cli(gpuhub_bin, tmp_path / "clihome")


def test_launch_ls_stop_gpus(daemon, cli, make_user):
    u = make_user("clara")
    url, tok = daemon.url, u.token

    p = cli.run("launch", "jupyter-python", "--name", "from-cli", "--gpus", "1", url=url, token=tok)
    assert p.returncode == 0, show(p)

    p = cli.run("ls", "-o", "json", url=url, token=tok)
    assert p.returncode == 0, show(p)
    items = json_items(p.out)
    mine = [s for s in items if s["name"] == "from-cli"]
    assert len(mine) == 1, show(p)
    sid = mine[0]["id"]
    assert mine[0]["env"] == "jupyter-python" and mine[0]["gpu_milli"] == 1000
    s = wait_state(u.api, sid, "running")
    assert len(s["allocations"]) == 1

    # the human table names the session too
    p = cli.run("ls", url=url, token=tok)
    assert p.returncode == 0 and "from-cli" in p.out, show(p)

    p = cli.run("show", str(sid), "-o", "json", url=url, token=tok)
    assert p.returncode == 0, show(p)
    assert json.loads(p.out)["id"] == sid

    p = cli.run("gpus", url=url, token=tok)
    assert p.returncode == 0 and "A100-80GB" in p.out, show(p)
    p = cli.run("gpus", "-o", "json", url=url, token=tok)
    assert p.returncode == 0, show(p)
    gpus = json_items(p.out)
    assert len(gpus) == 4 and sum(g["allocated_milli"] for g in gpus) == 1000, show(p)

    p = cli.run("stop", str(sid), url=url, token=tok)
    assert p.returncode == 0, show(p)
    wait_state(u.api, sid, "stopped")
    p = cli.run("gpus", "-o", "json", url=url, token=tok)
    assert sum(g["allocated_milli"] for g in json_items(p.out)) == 0, show(p)

    p = cli.run("rm", str(sid), url=url, token=tok)
    assert p.returncode == 0, show(p)
    assert u.api.get(f"/sessions/{sid}").status_code == 404


def test_flags_before_the_verb_and_names(daemon, cli, make_user):
    u = make_user("cyd")
    env = cli_env(cli.home)
    base = [cli.binary, "--url", daemon.url, "--token", u.token]
    p = subprocess.run(base + ["-o", "json", "launch", "jupyter-python", "--name", "named"],
                       capture_output=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    sid = json.loads(p.stdout)["id"]
    wait_state(u.api, sid, "running")
    # a session can be named instead of numbered
    p = subprocess.run(base + ["stop", "named"], capture_output=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    wait_state(u.api, sid, "stopped")
    p = subprocess.run(base + ["events", "named", "-o", "json"], capture_output=True, env=env,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    states = [e["state"] for e in json_items(p.stdout.decode())]
    assert "running" in states and states[-1] == "stopped", states


def test_fractional_launch_and_env_list(daemon, cli, make_user):
    u = make_user("cleo")
    p = cli.run("launch", "vscode", "--name", "half", "--gpus", "0.5", "-o", "json",
                url=daemon.url, token=u.token)
    assert p.returncode == 0, show(p)
    s = json.loads(p.out)
    assert s["name"] == "half" and s["gpu_milli"] == 500, show(p)
    p = cli.run("env", "ls", "-o", "json", url=daemon.url, token=u.token)
    assert p.returncode == 0, show(p)
    names = {e["name"] for e in json_items(p.out)}
    assert {"jupyter-python", "jupyter-pytorch", "vscode"} <= names


def test_env_vars_instead_of_flags(daemon, cli, make_user, monkeypatch):
    u = make_user("cora")
    env = cli_env(cli.home, daemon, u.token)
    p = subprocess.run([cli.binary, "ls", "-o", "json"], capture_output=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    assert json_items(p.stdout.decode()) == []


def test_unreachable_is_exit_3(cli):
    port = free_port()           # nothing listens there
    p = cli.run("ls", url=f"http://127.0.0.1:{port}", token="gh_" + "A" * 43)
    assert p.returncode == 3, show(p)
    assert p.err.strip(), "no message on stderr"


def test_bad_token_is_exit_4(daemon, cli):
    p = cli.run("ls", url=daemon.url, token="gh_" + "A" * 43)
    assert p.returncode == 4, show(p)
    assert p.err.strip()


def test_user_on_admin_verb_is_exit_4(daemon, cli, make_user):
    u = make_user("cody")
    p = cli.run("env", "rm", "vscode", url=daemon.url, token=u.token)
    assert p.returncode == 4, show(p)


def test_not_found_is_exit_5(daemon, cli, make_user):
    u = make_user("cruz")
    for verb in ("show", "stop", "rm"):
        p = cli.run(verb, "999999", url=daemon.url, token=u.token)
        assert p.returncode == 5, show(p)


def test_server_refusal_is_exit_1(daemon, cli, make_user):
    u = make_user("cass")
    p = cli.run("launch", "jupyter-python", "--name", "bad name!", "--gpus", "1",
                url=daemon.url, token=u.token)
    assert p.returncode in (1, 2), show(p)
    assert u.api.get("/sessions").json()["total"] == 0


def test_usage_errors_are_exit_2(cli):
    assert cli.run("no-such-verb").returncode == 2
    p = cli.run("launch", "--gpus")            # missing value and environment
    assert p.returncode == 2, show(p)
    p = cli.run("ls", "--bogus-flag")
    assert p.returncode == 2, show(p)


@pytest.mark.parametrize("verb", VERBS, ids=["-".join(v) for v in VERBS])
def test_help_on_every_verb(cli, verb):
    p = cli.run(*verb, "--help")
    assert p.returncode == 0, show(p)
    text = p.out + p.err
    assert "usage" in text.lower(), show(p)
    assert verb[-1] in text, show(p)


def test_top_level_help(cli):
    p = cli.run("--help")
    assert p.returncode == 0, show(p)
    for v in ("launch", "ls", "stop", "gpus", "serve", "token", "env"):
        assert v in p.out + p.err, show(p)
