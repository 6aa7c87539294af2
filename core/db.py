"""Engines, sessions and the unit of work. Services never commit; whoever opens the unit does."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
RETRYABLE_MYSQL_ERRORS = (1213, 1205)  # deadlock, lock wait timeout


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the per-dialect settings the bot relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_recycle", 3600)
    return create_engine(url, connect_args={"charset": "utf8mb4"}, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs and defers locks; take control of BEGIN.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # the seed's ON DELETE actions need this on SQLite
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock up front: two writers wait for each other instead of
        # failing with "database is locked" when a read turns into a write. Read-only units (see
        # `reading`) skip it, so lookups never queue behind writers (WAL lets them read meanwhile).
        read_only = connection.get_execution_options().get("read_only")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session committed on success and rolled back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for lookups only: it never commits, and on SQLite takes no write lock."""
    session = factory(bind=factory.kw["bind"].execution_options(read_only=True))
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def _worth_retrying(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "args", [None])[0]
    return isinstance(exc, OperationalError) and code in RETRYABLE_MYSQL_ERRORS


def retrying(factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 3) -> T:
    """Run idempotent `work` in a unit of work, again in a fresh one (a fresh snapshot) when a
    concurrent request won a unique key or MySQL chose this transaction as a deadlock victim."""
    for attempt in range(attempts):
        try:
            with unit_of_work(factory) as session:
                return work(session)
        except (IntegrityError, OperationalError) as exc:
            if attempt == attempts - 1 or not _worth_retrying(exc):
                raise
    raise AssertionError("unreachable")
