"""A release's rows are locked in one order by everyone (the release, then its card, then the Homes), so a
transition and a runner step that marks the card stale never deadlock on MariaDB (mysql_only: InnoDB's row
locks; SQLite runs one writer at a time)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.models import Release, ReleaseCard
from core.services.cards import mark_stale
from core.services.home_views import open_home
from tests.core.runner_world import release_with_card


@pytest.mark.mysql_only
def test_a_runner_marking_a_card_stale_and_a_transition_of_its_release_both_commit(mysql_engine, tmp_path):
    with release_with_card(mysql_engine, tmp_path) as (rt, world, release):
        with rt.unit_of_work() as s:
            open_home(s, tenant_id=world.tenant.id, slack_user_id=world.admin.slackUserId)
        with rt.reading() as s:
            revision = s.get(ReleaseCard, release.id).revision
        errors: list[BaseException] = []

        def transition():  # as core/services/transitions.py: the release's row first, then its card
            try:
                with Session(rt.engine) as other:
                    other.scalar(select(Release).where(Release.id == release.id).with_for_update())
                    mark_stale(other, release_id=release.id)
                    other.commit()
            except BaseException as exc:  # noqa: BLE001 -- reported below
                errors.append(exc)

        runner = threading.current_thread()
        started: list[threading.Thread] = []

        def between(conn, cursor, statement, *args):
            # The runner has marked the card (its row is locked); before it owes the Homes, a transition begins.
            if threading.current_thread() is runner and not started and (
                    "home_views" in statement or statement.startswith("SELECT releases")):
                started.append(threading.Thread(target=transition))
                started[0].start()
                started[0].join(timeout=1)  # it holds the release's row and waits for the card's

        event.listen(rt.engine, "before_cursor_execute", between)
        try:
            with rt.unit_of_work() as s:  # as a runner step does: no lock on the release
                mark_stale(s, release_id=release.id)
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)
        finally:
            event.remove(rt.engine, "before_cursor_execute", between)
        assert started
        started[0].join(timeout=30)
        assert errors == []
        with rt.reading() as s:
            assert s.get(ReleaseCard, release.id).revision == revision + 2
