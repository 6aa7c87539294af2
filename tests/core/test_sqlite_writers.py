"""SQLite has one writer: the threads of one process queue for it on a lock (the next goes the moment the writer
is done, instead of sleeping in SQLite's busy handler). Whatever way a write transaction ends, the lock is let go."""
from __future__ import annotations

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
