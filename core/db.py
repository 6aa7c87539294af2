"""Engines, sessions and the unit of work. Services never commit; whoever opens the unit does."""
from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from core.errors import ConfigurationError

T = TypeVar("T")
RETRYABLE_MYSQL_ERRORS = (1213, 1205)  # deadlock, lock wait timeout
# Seconds to connect to MySQL; the start-up check also bounds the server's greeting by it, so a
# host that accepts connections but never answers is reported within 5 s.
CONNECT_TIMEOUT = 3
SQLITE_BUSY_SECONDS = 30  # how long a SQLite writer waits for another to finish


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", **kwargs) -> Engine:
    """An engine with the per-dialect settings the bot relies on (`sqlite_synchronous`: see Settings)."""
    if url.startswith("sqlite"):
        if "poolclass" not in kwargs and url.split("?")[0] not in ("sqlite://", "sqlite:///:memory:"):
            # A connection for each of the server's and the runner's threads: beyond the default 5, every
            # checkout opened a file and ran the PRAGMAs below anew (a SQLite connection is only a file handle).
            kwargs.setdefault("pool_size", 40)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}, **kwargs)
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_recycle", 3600)
    # CURRENT_TIMESTAMP defaults (createdAt) in UTC, like every DATETIME the code writes, whatever the server's zone.
    connect_args = {"charset": "utf8mb4", "connect_timeout": CONNECT_TIMEOUT, "init_command": "SET time_zone = '+00:00'",
                    **kwargs.pop("connect_args", {})}
    return create_engine(url, connect_args=connect_args, **kwargs)


def check_database(url: str) -> None:
    """Connect once and read the schema, or raise ConfigurationError saying why the database is unusable.

    On MySQL the greeting and the query are bounded by CONNECT_TIMEOUT too (PyMySQL has no separate
    handshake timeout, and a read timeout on every query would cut lock waits short)."""
    extra = {} if url.startswith("sqlite") else {"connect_args": {"read_timeout": CONNECT_TIMEOUT}}
    engine = make_engine(url, poolclass=NullPool, **extra)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1" if engine.dialect.name != "sqlite" else "PRAGMA schema_version"))
    except DBAPIError as exc:
        raise ConfigurationError(describe_database_error(exc, engine.url)) from None
    finally:
        engine.dispose()


def describe_database_error(exc: DBAPIError, url: URL | None = None) -> str:
    """One line saying which database failed, why, and what to check; never the password."""
    orig = getattr(exc, "orig", exc)
    args = getattr(orig, "args", ())
    reason = (str(args[1] if len(args) > 1 and isinstance(args[0], int) else orig).splitlines() or ["no reason given"])[0]
    if "timed out" in reason:  # PyMySQL says "Lost connection ... during query" when the greeting never came
        reason = f"no answer within {CONNECT_TIMEOUT} s"
    if url is not None and url.get_backend_name() == "sqlite":
        return (f"the SQLite database {url.database} cannot be used ({reason}): point DATABASE_URL "
                "at a SQLite file (a new name creates one) or restore this one from a backup")
    where = f" at {url.render_as_string(hide_password=True)}" if url is not None else ""
    return f"cannot use the database{where} ({reason}): check DATABASE_URL and that the server is running and reachable"


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs and defers locks; take control of BEGIN.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # the seed's ON DELETE actions need this on SQLite
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={'NORMAL' if synchronous == 'NORMAL' else 'FULL'}")
        cursor.close()

    writer = _Writer(engine.url.database)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock up front: two writers wait for each other instead of
        # failing with "database is locked" when a read turns into a write. Read-only units (see
        # `reading`) skip it, so lookups never queue behind writers (WAL lets them read meanwhile).
        if connection.get_execution_options().get("read_only"):
            # Straight to the driver: through SQLAlchemy's execution (and its events) this BEGIN cost a sixth of a
            # one-row lookup. A deferred BEGIN takes no lock, so it cannot fail on a busy database.
            connection.connection.driver_connection.execute("BEGIN")
            return
        if not writer.acquire(timeout=SQLITE_BUSY_SECONDS):
            raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("database is locked"))
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        connection.info["writer"] = writer

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection):
        # (An invalidated connection has no info left to ask: its pool's "invalidate" below let go.)
        if not connection.invalidated and connection.info.pop("writer", None) is not None:
            writer.release()

    # A connection that goes back to the pool, or is dropped, mid-transaction lets go too.
    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "invalidate")
    def _on_gone(_dbapi_connection, record, *_exception):
        if record is not None and record.info.pop("writer", None) is not None:
            writer.release()


class _Writer:
    """SQLite has one writer. Writers queue for it here and the next one goes the moment the writer is done;
    left to SQLite's busy handler they would sleep and poll (1, 2, 5 … 100 ms) while the database sits
    idle. The threads of this process queue on a lock; with a database file, processes then queue on an
    exclusive flock of `<file>-writer` beside it (which the kernel lets go for a process that dies). A
    separate file: closing a descriptor of the database itself would drop SQLite's own locks."""

    def __init__(self, database: str | None):
        self._threads = threading.Lock()
        self._path = f"{database}-writer" if database not in (None, "", ":memory:") else None
        self._fd: int | None = None  # open while this process writes (one writer: the thread lock's holder)

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        try:
            if self._path is None or self._flock(deadline):
                return True
        except BaseException:
            self._threads.release()
            raise
        self._threads.release()
        return False

    def _flock(self, deadline: float) -> bool:
        # Polled, as flock() cannot time out: only this process's one writer polls (its others wait on the
        # thread lock), every 0.1 ms at first and then every millisecond, a fraction of a short write. Opened
        # per write and closed to let go: nothing is left open by an engine thrown away, or across a fork.
        fd, pause = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600), 0.0001
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._fd, fd = fd, None
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        return False
                    time.sleep(pause)
                    pause = min(pause * 2, 0.001)
        finally:
            if fd is not None:
                os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # lets go of the flock
        self._threads.release()


def per_thread(make: Callable[[], T]) -> Callable[[], T]:
    """`make()`, made once in each thread that asks. For ORM aliases a query reuses: a fresh alias per call costs
    more CPU than its query (SQLAlchemy adapts each column anew), and one alias shared by threads is not safe,
    as SQLAlchemy completes parts of it lazily on first use (a 4-process, 2-thread follower run met a
    KeyError for an alias's column in a release read)."""
    local = threading.local()

    def get() -> T:
        try:
            return local.value
        except AttributeError:
            local.value = make()
            return local.value

    return get


def run_prebuilt(session: Session, statement, params: dict):
    """Run a statement built once on the session's connection: through `session.execute` the ORM would rebuild it,
    and its cache key, at every call. Pending changes are flushed first, as `session.execute` would."""
    session.flush()
    return session.connection().execute(statement, params)


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


def make_reading_factory(read_only_engine: Engine) -> sessionmaker[Session]:
    """Sessions for lookups (see `reading`), on the engine's read-only view (`read_only`, made once: making it
    per session cost a third of a one-row lookup)."""
    return sessionmaker(bind=read_only_engine, expire_on_commit=False)


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session of `make_reading_factory` for lookups only: it never commits, and on SQLite takes no write lock."""
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def read_only(engine: Engine) -> Engine:
    """The engine's read-only view (see `reading`): make it once; making it per use costs a third of a lookup."""
    return engine.execution_options(read_only=True)


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
