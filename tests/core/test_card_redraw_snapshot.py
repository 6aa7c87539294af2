"""A card's redraw (and a Home's publish) never marks drawn a change it did not draw: on MariaDB a change committed
at the moment the runner claims the card, or while it records the redraw, is either in the redraw or leaves the
card owed another (mysql_only: the snapshots and row locks they are about are InnoDB's; SQLite runs each of
these steps under its one writer)."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.models import HomeView, Release, ReleaseCard
from core.runner.cards import Cards
from core.runner.homes import Homes
from core.services.cards import mark_stale, owe_card
from core.services.home_views import open_home, owe_homes
from tests.core.runner_world import new_release, runner, runtime_on, world_on
from tests.factories import github_for


@pytest.mark.mysql_only
def test_a_change_committed_while_the_card_is_claimed_is_drawn(mysql_engine, tmp_path):
    fake = github_for()
    try:
        with runtime_on(mysql_engine, tmp_path) as rt:
            world = world_on(rt, fake.url)
            release = new_release(rt, world)
            with rt.unit_of_work() as s:
                owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id="C0RELEASES")
            follower = runner(rt)
            cards = follower.work(Cards)
            cards.run(release.id)  # posted
            with rt.unit_of_work() as s:
                s.get(Release, release.id).description = "Before"
                mark_stale(s, release_id=release.id)

            def change_at_the_claim(conn, cursor, statement, *args):
                # Another request commits a change of the release just as the runner takes the card.
                if statement.startswith("UPDATE release_cards SET") and "claimedBy" in statement and not fired:
                    fired.append(statement)
                    with Session(rt.engine) as other:
                        other.get(Release, release.id).description = "After"
                        mark_stale(other, release_id=release.id)
                        other.commit()

            fired: list[str] = []
            event.listen(rt.engine, "before_cursor_execute", change_at_the_claim)
            try:
                cards.run(release.id)
            finally:
                event.remove(rt.engine, "before_cursor_execute", change_at_the_claim)
            assert fired
            for _ in range(3):  # a change left owed is drawn by the next run
                cards.run(release.id)
            drawn = [job.release.description for what, job in follower.ctx.announcer.calls if what == "publish"]
            assert drawn[-1] == "After", drawn
            with rt.reading() as s:
                card = s.get(ReleaseCard, release.id)
                assert card.drawnRevision == card.revision and card.nextAttemptAt is None
    finally:
        fake.stop()



@contextmanager
def committed_meanwhile(rt, marker: str, change):
    """Just before the UPDATE that sets `marker` runs, another connection commits `change(session)` from
    another thread; the statement waits for it at most a second (longer only if the change waits on our lock)."""
    started: list[threading.Thread] = []

    def commit_change():
        with Session(rt.engine) as other:
            change(other)
            other.commit()

    def before(conn, cursor, statement, *args):
        if statement.startswith("UPDATE") and marker in statement and not started:
            started.append(threading.Thread(target=commit_change))
            started[0].start()
            started[0].join(timeout=1)

    event.listen(rt.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(rt.engine, "before_cursor_execute", before)
    assert started, f"no UPDATE of {marker} ran"
    started[0].join(timeout=30)
    assert not started[0].is_alive(), "the change never committed"


@pytest.mark.mysql_only
def test_a_change_committed_while_the_runner_records_a_redraw_is_drawn_next(mysql_engine, tmp_path):
    fake = github_for()
    try:
        with runtime_on(mysql_engine, tmp_path) as rt:
            world = world_on(rt, fake.url)
            release = new_release(rt, world)
            with rt.unit_of_work() as s:
                owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id="C0RELEASES")
            follower = runner(rt)
            cards = follower.work(Cards)
            cards.run(release.id)  # posted
            with rt.unit_of_work() as s:
                s.get(Release, release.id).description = "Before"
                mark_stale(s, release_id=release.id)

            def change(other):
                other.get(Release, release.id).description = "After"
                mark_stale(other, release_id=release.id)

            # The redraw of "Before" is on Slack; as the runner writes that down, another request changes the release.
            with committed_meanwhile(rt, "drawnRevision", change):
                cards.run(release.id)
            with rt.reading() as s:
                card = s.get(ReleaseCard, release.id)
                assert card.revision > card.drawnRevision and card.nextAttemptAt is not None  # still owed
            assert cards.due() == [release.id]
            cards.run(release.id)
            drawn = [job.release.description for what, job in follower.ctx.announcer.calls if what == "publish"]
            assert drawn[-2:] == ["Before", "After"], drawn
    finally:
        fake.stop()


@pytest.mark.mysql_only
def test_a_change_committed_while_the_runner_records_a_home_publish_is_published_next(mysql_engine, tmp_path):
    fake = github_for()
    try:
        with runtime_on(mysql_engine, tmp_path) as rt:
            world = world_on(rt, fake.url)
            with rt.unit_of_work() as s:
                home_id = open_home(s, tenant_id=world.tenant.id, slack_user_id=world.admin.slackUserId).id
            homes = runner(rt).work(Homes)
            with committed_meanwhile(rt, "publishedRevision", lambda other: owe_homes(other, tenant_id=world.tenant.id)):
                homes.run(home_id)
            with rt.reading() as s:
                row = s.get(HomeView, home_id)
                assert row.revision > row.publishedRevision and row.nextAttemptAt is not None  # still owed
    finally:
        fake.stop()
