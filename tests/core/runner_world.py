"""What the runner's kickoff and overdue tests share: a migrated database the runner commits to (a
fresh SQLite file, or the MariaDB test database cleaned up after), the World on a fake GitHub, and a
runner whose steps a test calls directly."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import generate_key
from core.models import Release, ReleaseEvent
from core.runner import Runner
from core.runner.context import PostedCard
from core.runtime import Runtime
from core.services.cards import owe_card
from core.services.release_creation import create_release
from tests.conftest import delete_tenant_rows, tenant_ids
from tests.factories import World, github_for


class Recorder:
    """An announcer that records what it was asked to post (the kinds under test post nothing themselves)."""

    def __init__(self):
        self.calls: list[tuple[str, object]] = []

    def announce(self, announcement) -> None:
        self.calls.append(("announce", announcement))

    def publish(self, job) -> PostedCard:
        self.calls.append(("publish", job))
        return PostedCard(job.channel_id, "1700000000.000100",
                          None if job.message_ts else f"https://acme.slack.com/archives/{job.channel_id}/p1700000000000100")

    def tell_requester(self, job, *, posted, error) -> None:
        self.calls.append(("tell", job))

    def publish_home(self, home) -> None:
        self.calls.append(("home", home))


@contextmanager
def runtime_on(engine, tmp_path):
    """A migrated Runtime on the test's backend; on MariaDB, what the test committed is deleted after."""
    sqlite = engine.dialect.name == "sqlite"
    url = f"sqlite:///{tmp_path / 'runner.db'}" if sqlite else engine.url.render_as_string(hide_password=False)
    rt = Runtime(Settings(database_url=url, secret_keys=(generate_key(),), allow_private_networks=True))
    rt.migrate()
    before = tenant_ids(rt.engine)
    try:
        yield rt
    finally:
        if not sqlite:
            delete_tenant_rows(rt.engine, tenant_ids(rt.engine) - before)
        rt.engine.dispose()


def world_on(rt: Runtime, github_url: str) -> World:
    with rt.unit_of_work() as s:
        return World(s, rt.cipher, scm_base_url=github_url)


def runner(rt: Runtime, worker: str = "w1", **pace) -> Runner:
    pace = {"interval": 0.01, "lease": timedelta(seconds=30), "max_failures": 3, "concurrency": 1} | pace
    return Runner(rt, Recorder(), worker=worker, **pace)


def new_release(rt: Runtime, world: World, **draft):
    """v1.5.0 (or as told) created by Ada (an admin) with Grace as pilot."""
    with rt.unit_of_work() as s:
        return create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft(**draft))


def release_row(rt: Runtime, release_id: str) -> Release:
    with rt.reading() as s:
        row = s.get(Release, release_id)
        s.expunge(row)  # read as committed; the session's end must not expire it
        return row


def events(rt: Runtime, release_id: str, action: str | None = None) -> list[ReleaseEvent]:
    with rt.reading() as s:
        query = select(ReleaseEvent).where(ReleaseEvent.releaseId == release_id).order_by(ReleaseEvent.id)
        rows = list(s.scalars(query.where(ReleaseEvent.action == action) if action else query))
        s.expunge_all()
        return rows


def race(*steps, timeout: float = 20.0) -> None:
    """Run the steps in threads released at once; re-raise the first error."""
    gate, errors = threading.Barrier(len(steps)), []

    def go(step):
        try:
            gate.wait(timeout)
            step()
        except Exception as exc:  # the test fails with it below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(step,)) for step in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a racing step did not finish"
    if errors:
        raise errors[0]


@contextmanager
def release_with_card(engine, tmp_path):
    """A migrated Runtime, its World (on a fake GitHub) and a release whose card is owed in C0RELEASES."""
    fake = github_for()
    try:
        with runtime_on(engine, tmp_path) as rt:
            world = world_on(rt, fake.url)
            release = new_release(rt, world)
            with rt.unit_of_work() as s:
                owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id="C0RELEASES")
            yield rt, world, release
    finally:
        fake.stop()


@contextmanager
def committed_meanwhile(rt, marker: str, change, verb: str = "UPDATE"):
    """Just before the UPDATE (or `verb`) that has `marker` runs, another connection commits `change(session)` from
    another thread; the statement waits for it at most a second (longer only if the change waits on our lock)."""
    started: list[threading.Thread] = []

    def commit_change():
        with Session(rt.engine) as other:
            change(other)
            other.commit()

    def before(conn, cursor, statement, *args):
        if statement.startswith(verb) and marker in statement and not started:
            started.append(threading.Thread(target=commit_change))
            started[0].start()
            started[0].join(timeout=1)

    event.listen(rt.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(rt.engine, "before_cursor_execute", before)
    assert started, f"no {verb} with {marker} ran"
    started[0].join(timeout=30)
    assert not started[0].is_alive(), "the change never committed"


@contextmanager
def held_while_asked(gate: threading.Event, asked: Callable[[], object], step: Callable, *args, who: str):
    """Run `step(*args)` in a thread until the fake it calls has been asked (`asked()`) and holds its answer (`gate`,
    from the fake's `hold`); the body runs meanwhile, then the answer goes and the step must finish."""
    thread = threading.Thread(target=step, args=args)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not asked() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert asked(), f"the runner never asked {who}"
        yield
    finally:
        gate.set()
        thread.join(30)
    assert not thread.is_alive()
