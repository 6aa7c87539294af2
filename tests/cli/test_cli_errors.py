"""Operator mistakes (a busy port, an unreachable or corrupt database, a missing file, bad settings) are one
line saying what is wrong and how to fix it, with a non-zero exit: never a traceback or an incident id."""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cli.main import main
from core.crypto import generate_key

SCRIPT = Path(sys.executable).parent / "releasebot"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("RELEASEBOT_", "SLACK_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RELEASEBOT_SECRET_KEYS", generate_key())
    return tmp_path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def releasebot(*args, cwd: Path, timeout: float = 60, **env) -> tuple[subprocess.CompletedProcess, float]:
    """The installed console script, in its own process, with `env` over this one's environment."""
    started = time.monotonic()
    result = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                            env={**os.environ, **env})
    return result, time.monotonic() - started


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr and "unexpected failure" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture
def listening():
    """A loopback port something else already listens on, and which never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_serve_on_a_port_already_in_use_says_so_in_one_line(env, listening):
    result, _ = releasebot("serve", "--host", "127.0.0.1", "--port", str(listening), "--no-follower", cwd=env,
                           SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="signing")
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"error: cannot listen on 127.0.0.1:{listening} (Address already in use): another process is listening "
        "there: stop it or pick another --port"]


def test_serve_refuses_a_port_out_of_range_before_doing_anything(env, capsys):
    code, out, err = run(capsys, "serve", "--port", "99999")
    assert code == 2 and out == "" and error_lines(err) == [
        "error: Invalid value for '--port': 99999 is not in the range 0<=x<=65535. (see `releasebot serve --help`)"]
    assert not (env / "cli.db").exists()


def test_a_database_port_nobody_listens_on_is_one_line_at_once(env):
    port = closed_port()
    url = f"mysql+pymysql://releasebot:s3cret-pw@127.0.0.1:{port}/releasebot"
    result, _ = releasebot("tenant", "list", cwd=env, timeout=30, DATABASE_URL=url)  # a hang fails on the timeout
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        f"error: cannot use the database at mysql+pymysql://releasebot:***@127.0.0.1:{port}/releasebot (Can't connect "
        "to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)): check DATABASE_URL and that the server is "
        "running and reachable"]
    assert "s3cret-pw" not in result.stderr


def test_a_database_that_accepts_but_never_answers_is_one_line_within_5_seconds(env, capsys, listening, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"mysql+pymysql://releasebot:s3cret-pw@127.0.0.1:{listening}/releasebot")
    outcome: dict[str, int] = {}
    command = threading.Thread(target=lambda: outcome.update(code=main(["db", "upgrade"])), daemon=True)
    started = time.monotonic()
    command.start()
    command.join(timeout=15)  # bounded even if the command hangs: closing the socket then ends it
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    # The join's bound stops a hang; the message shows the 3 s read timeout is what ended it (speed is for bench/).
    assert outcome.get("code") == 1 and out == "", elapsed
    assert error_lines(err) == [
        f"error: cannot use the database at mysql+pymysql://releasebot:***@127.0.0.1:{listening}/releasebot (no answer "
        "within 3 s): check DATABASE_URL and that the server is running and reachable"]


def test_a_corrupt_sqlite_file_is_named_and_left_alone(env, capsys, monkeypatch):
    garbage = bytes(range(256)) * 64
    (env / "corrupt.db").write_bytes(garbage)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{env / 'corrupt.db'}")
    for command in (["db", "upgrade"], ["tenant", "list"]):
        code, out, err = run(capsys, *command)
        assert code == 1 and out == ""
        assert error_lines(err) == [f"error: the SQLite database {env / 'corrupt.db'} cannot be used (file is not a "
                                    "database): point DATABASE_URL at a SQLite file (a new name creates one) or "
                                    "restore this one from a backup"]
    assert (env / "corrupt.db").read_bytes() == garbage


@pytest.fixture
def tenant(env, capsys):
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "tenant", "add", "--name", "Acme", "--slack-team", "T1")[0] == 0


ADD_SCM = ("integration", "add", "scm", "--tenant", "T1", "--provider", "github", "--name", "Repo",
           "--field", "organization=acme", "--field", "repository=app", "--no-verify")


def test_missing_or_unreadable_secret_files_are_named_in_one_line(tenant, env, capsys):
    (env / "not-json.json").write_text("token: ghp_x\n")
    (env / "list.json").write_text('["ghp_x"]')
    expected = {
        ("--secret", "token=@nope.txt"): "error: Invalid value for --secret: no file 'nope.txt': check the path",
        ("--secrets-file", "nope.json"): "error: Invalid value for --secrets-file: no file 'nope.json': check the path",
        ("--secrets-file", "not-json.json"): "error: Invalid value for --secrets-file: 'not-json.json' is not JSON (line 1)",
        ("--secrets-file", "list.json"): "error: Invalid value for --secrets-file: 'list.json' must hold a JSON object of strings",
    }
    for option, message in expected.items():
        code, out, err = run(capsys, *ADD_SCM, *option)
        (line,) = error_lines(err)
        assert code == 2 and out == "" and line.startswith(message), line
        assert "ghp_x" not in err
    assert run(capsys, "integration", "list", "--tenant", "T1")[1].count("\n") == 1  # the header: nothing stored


def test_every_bad_setting_is_reported_at_once_before_the_database_is_touched(env, capsys, monkeypatch):
    monkeypatch.setenv("RELEASEBOT_POLL_SECONDS", "5s")
    monkeypatch.setenv("RELEASEBOT_LOG_LEVEL", "loud")
    monkeypatch.setenv("RELEASEBOT_CLAIM_SECONDS", "0")
    monkeypatch.setenv("RELEASEBOT_SECRET_KEYS", "hunter2")
    code, out, err = run(capsys, "db", "upgrade")
    assert code == 1 and out == ""
    assert error_lines(err) == err.splitlines() == [
        "error: RELEASEBOT_SECRET_KEYS holds a malformed key: each must be 32 url-safe base64 bytes, as "
        "`releasebot secrets generate-key` prints",
        'error: RELEASEBOT_POLL_SECONDS: "5s" is not a number of seconds (e.g. 5 or 0.5)',
        'error: RELEASEBOT_CLAIM_SECONDS: "0" must be more than 0 seconds (e.g. 5 or 0.5)',
        'error: RELEASEBOT_LOG_LEVEL: "loud" is not a log level: use one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)']
    assert "hunter2" not in err
    assert not (env / "cli.db").exists()  # refused before migrations, before anything else
    code, out, _ = run(capsys, "--help")  # help needs no settings
    assert code == 0 and "  integration" in out and "  serve" in out


def test_a_log_level_in_lower_case_works(env):
    result, _ = releasebot("db", "upgrade", cwd=env, RELEASEBOT_LOG_LEVEL="debug")
    assert result.returncode == 0 and result.stdout.startswith("schema up to date"), result.stderr
    result, _ = releasebot("db", "upgrade", cwd=env, RELEASEBOT_LOG_LEVEL="loud")
    assert result.returncode == 1 and error_lines(result.stderr) == [
        'error: RELEASEBOT_LOG_LEVEL: "loud" is not a log level: use one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)']


def test_the_cli_logs_through_a_handler_that_escapes_control_characters(env, capsys):
    run(capsys, "tenant", "list")  # any command sets up logging first
    logging.getLogger("slack_bolt.App").warning("bad payload %s", "x\n2026-01-01 00:00:00,000 ERROR forged\x1b[31m")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("WARNING slack_bolt.App bad payload x\\n2026-01-01 00:00:00,000 ERROR "
                                                 "forged\\x1b[31m\n")
