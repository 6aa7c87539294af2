"""Run the Alembic migrations from code (the CLI, `serve`, and the tests use this)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

import migrations
from core.errors import ConfigurationError

MIGRATIONS_DIR = Path(migrations.__file__).parent
# Replicas starting together against one MySQL take turns: the first migrates, the others wait here and
# then find the schema at head. A named lock is released when its connection ends, even after a crash.
LOCK_NAME = "releasebot.migrations"
LOCK_SECONDS = 600


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@cache
def head_revision() -> str:
    """The revision the code needs (read once per process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database behind `engine` to `revision`, one process at a time; returns the revisions
    (before, after), equal when there was nothing to do."""
    cfg = alembic_config()
    with engine.begin() as connection, _one_at_a_time(connection):
        before = MigrationContext.configure(connection).get_current_revision()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        return before, MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _one_at_a_time(connection: Connection) -> Iterator[None]:
    """A MySQL named lock around the upgrade (SQLite is the embedded, single-process default)."""
    if connection.dialect.name != "mysql":
        yield
        return
    if connection.exec_driver_sql(f"SELECT GET_LOCK('{LOCK_NAME}', {LOCK_SECONDS})").scalar() != 1:
        raise ConfigurationError(f"another process has been migrating this database for {LOCK_SECONDS} s: "
                                 "check it, or run `releasebot db upgrade` once it is gone")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"SELECT RELEASE_LOCK('{LOCK_NAME}')")
