"""A card's redraw never marks drawn a change it did not draw: on MariaDB a change committed at the moment the
runner claims the card is either in the redraw or leaves the card owed another (mysql_only: the snapshot it is
about is InnoDB's; SQLite runs each claim under its one writer)."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.models import Release, ReleaseCard
from core.runner.cards import Cards
from core.services.cards import mark_stale, owe_card
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
