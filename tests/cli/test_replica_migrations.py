"""Replicas that start together against one MySQL migrate it once: the first takes the named lock and
migrates, the others wait for it and find the schema at head (issue 14). Real `releasebot serve` processes."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest
import requests
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.crypto import generate_key
from core.migrate import alembic_config
from tests.bot.helpers import wait_for
from tests.conftest import MYSQL_URL
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET

pytestmark = pytest.mark.mysql_only


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def empty_database():
    """A new, empty MariaDB database beside the test one (the test database is migrated already)."""
    server = create_engine(make_url(MYSQL_URL).set(database=""))
    name = f"releasebot_replicas_{uuid.uuid4().hex[:8]}"
    with server.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    yield make_url(MYSQL_URL).set(database=name).render_as_string(hide_password=False)
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    server.dispose()


def test_two_replicas_started_at_once_migrate_the_schema_once(empty_database, tmp_path):
    slack = FakeSlack().start()
    env = {**os.environ, "DATABASE_URL": empty_database, "RELEASEBOT_SECRET_KEYS": generate_key(),
           "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_LOG_LEVEL": "INFO"}
    env.pop("SLACK_APP_TOKEN", None)
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"replica-{i}.log" for i in range(2)]
    processes = [subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-follower"], env=env, cwd=tmp_path,
                                  stdout=open(log, "w"), stderr=subprocess.STDOUT)
                 for port, log in zip(ports, logs, strict=True)]
    try:
        wait_for(lambda: all(_healthy(f"http://127.0.0.1:{p}/healthz") for p in ports), timeout=120)
    finally:
        for process in processes:
            process.terminate()
            process.wait(20)
        slack.stop()
    output = [log.read_text() for log in logs]
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert sum("database schema migrated from nothing to " + head in o for o in output) == 1, output
    assert sum("database schema already at " + head in o for o in output) == 1, output
    assert not any("Traceback" in o or "error" in o.lower() for o in output), output
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
    engine.dispose()
