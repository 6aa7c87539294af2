"""SQLite has one writer: the threads of one process queue for it on a lock, and processes on a flock of
`<file>-writer` (the next goes the moment the writer is done, instead of sleeping in SQLite's busy handler).
Whatever way a write transaction ends, the lock is let go."""
from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, update

from core.db import make_engine, make_session_factory, unit_of_work

counters = Table("counters", MetaData(), Column("id", String(8), primary_key=True), Column("n", Integer))


@pytest.fixture
def factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    counters.create(engine)  # a scratch table of this test's own, not the schema
    with engine.begin() as conn:
        conn.execute(counters.insert().values(id="c", n=0))
    yield make_session_factory(engine)
    engine.dispose()


def _in_thread(work) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _increment(factory) -> None:
    with unit_of_work(factory) as s:  # read, then write what was read: a lost update would show in the total
        n = s.scalar(select(counters.c.n).where(counters.c.id == "c"))
        s.execute(update(counters).where(counters.c.id == "c").values(n=n + 1))


def test_the_threads_of_one_process_take_turns_and_lose_no_update(factory):
    errors = []

    def work():
        try:
            for _ in range(25):
                _increment(factory)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    threads = [_in_thread(work) for _ in range(8)]
    for thread in threads:
        thread.join(120)
    assert errors == [] and not any(t.is_alive() for t in threads)
    with unit_of_work(factory) as s:
        assert s.scalar(select(counters.c.n)) == 200


def test_a_unit_that_fails_lets_the_next_writer_in(factory):
    with pytest.raises(RuntimeError):
        with unit_of_work(factory) as s:
            s.execute(update(counters).values(n=41))
            raise RuntimeError("the step failed after writing")
    other = _in_thread(lambda: _increment(factory))  # another thread: the lock is not reentrant
    other.join(20)  # held, it would wait 30 s for the lock and then fail
    assert not other.is_alive()
    with unit_of_work(factory) as s:
        assert s.scalar(select(counters.c.n)) == 1  # the failed write rolled back, the next one counted


def test_a_connection_dropped_mid_transaction_lets_the_next_writer_in(factory):
    engine = factory.kw["bind"]
    conn = engine.connect()
    transaction = conn.begin()
    conn.execute(update(counters).values(n=7))
    conn.invalidate()  # the DBAPI connection is closed under the transaction: it is neither committed nor rolled back
    transaction.rollback()  # (what SQLAlchemy asks of its caller afterwards; nothing reaches the database)
    conn.close()
    other = _in_thread(lambda: _increment(factory))
    other.join(20)
    assert not other.is_alive()
    with unit_of_work(factory) as s:
        assert s.scalar(select(counters.c.n)) == 1


def _others_may_write(path) -> bool:
    """Whether another process could take the writer's flock now (it is let go at once if so)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_write_holds_the_flock_other_processes_queue_on_and_lets_go_of_it(factory, tmp_path):
    path = tmp_path / "writers.db-writer"
    with unit_of_work(factory) as s:
        s.execute(update(counters).values(n=1))
        assert not _others_may_write(path)
    assert _others_may_write(path)
    with pytest.raises(RuntimeError), unit_of_work(factory) as s:
        s.execute(update(counters).values(n=2))
        raise RuntimeError("the step failed after writing")
    assert _others_may_write(path)
    with make_session_factory(factory.kw["bind"].execution_options(read_only=True))() as s:
        s.scalar(select(counters.c.n))  # a read takes no write lock (WAL lets it read meanwhile)
        assert _others_may_write(path)
        s.rollback()


def _increment_in_a_process(url: str, done) -> None:
    engine = make_engine(url)  # its own engine, as `releasebot worker` has
    factory = make_session_factory(engine)
    threads = [_in_thread(lambda: [_increment(factory) for _ in range(20)]) for _ in range(4)]
    for thread in threads:
        thread.join(120)
    done.put(sum(t.is_alive() for t in threads))
    engine.dispose()


def test_several_processes_of_several_threads_take_turns_and_lose_no_update(factory, tmp_path):
    factory.kw["bind"].dispose()
    context = multiprocessing.get_context("fork")
    done = context.Queue()
    processes = [context.Process(target=_increment_in_a_process, args=(f"sqlite:///{tmp_path / 'writers.db'}", done))
                 for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    assert [done.get(timeout=5) for _ in processes] == [0, 0, 0]
    with unit_of_work(factory) as s:
        assert s.scalar(select(counters.c.n)) == 3 * 4 * 20


@pytest.mark.parametrize(("mode", "level"), [("FULL", 2), ("NORMAL", 1)])
def test_the_engine_syncs_as_configured(tmp_path, mode, level):
    engine = make_engine(f"sqlite:///{tmp_path / 'sync.db'}", sqlite_synchronous=mode)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == level
    engine.dispose()
