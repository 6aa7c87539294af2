"""A card's redraw (and a Home's publish) never marks drawn a change it did not draw: on MariaDB a change committed
at the moment the runner claims the card, or while it records the redraw, is either in the redraw or leaves the
card owed another (mysql_only: the snapshots and row locks they are about are InnoDB's; SQLite runs each of
these steps under its one writer)."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.models import HomeView, Release, ReleaseCard
from core.runner.cards import Cards
from core.runner.homes import Homes
from core.services.cards import mark_stale
from core.services.home_views import open_home, owe_homes
from tests.core.runner_world import committed_meanwhile, release_with_card, runner


def posted_then_changed(rt, release) -> tuple:
    """The runner posts the card, then the release changes ("Before"): the card owes a redraw."""
    follower = runner(rt)
    cards = follower.work(Cards)
    cards.run(release.id)
    with rt.unit_of_work() as s:
        s.get(Release, release.id).description = "Before"
        mark_stale(s, release_id=release.id)
    return follower, cards


def drawn(follower) -> list[str]:
    return [job.release.description for what, job in follower.ctx.announcer.calls if what == "publish"]


@pytest.mark.mysql_only
def test_a_change_committed_while_the_card_is_claimed_is_drawn(mysql_engine, tmp_path):
    with release_with_card(mysql_engine, tmp_path) as (rt, world, release):
        follower, cards = posted_then_changed(rt, release)

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
        assert drawn(follower)[-1] == "After", drawn(follower)
        with rt.reading() as s:
            card = s.get(ReleaseCard, release.id)
            assert card.drawnRevision == card.revision and card.nextAttemptAt is None


@pytest.mark.mysql_only
def test_a_change_committed_while_the_runner_records_a_redraw_is_drawn_next(mysql_engine, tmp_path):
    with release_with_card(mysql_engine, tmp_path) as (rt, world, release):
        follower, cards = posted_then_changed(rt, release)

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
        assert drawn(follower)[-2:] == ["Before", "After"], drawn(follower)


@pytest.mark.mysql_only
def test_a_change_committed_while_the_runner_records_a_home_publish_is_published_next(mysql_engine, tmp_path):
    with release_with_card(mysql_engine, tmp_path) as (rt, world, release):
        with rt.unit_of_work() as s:
            home_id = open_home(s, tenant_id=world.tenant.id, slack_user_id=world.admin.slackUserId).id
        homes = runner(rt).work(Homes)
        with committed_meanwhile(rt, "publishedRevision", lambda other: owe_homes(other, tenant_id=world.tenant.id)):
            homes.run(home_id)
        with rt.reading() as s:
            row = s.get(HomeView, home_id)
            assert row.revision > row.publishedRevision and row.nextAttemptAt is not None  # still owed
