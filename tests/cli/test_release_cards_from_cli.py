"""Releases created or cancelled from the CLI get their card like those from Slack: the card is
owed in the linked channel (the runner of `releasebot serve` posts it) and redrawn after a cancel."""
from __future__ import annotations

from core.config import Settings
from core.models import ReleaseCard
from core.runtime import Runtime
from core.services import tenants
from tests.cli.test_cli import env, run_json, workspace  # noqa: F401  (fixtures)


def card_of(rt: Runtime, release_id: str) -> ReleaseCard | None:
    with rt.reading() as s:
        card = s.get(ReleaseCard, release_id)
        if card is not None:
            s.expunge(card)
        return card


def test_a_cli_release_with_a_slack_channel_owes_its_card_and_a_cancel_owes_a_redraw(workspace, capsys):  # noqa: F811
    rt = Runtime(Settings.from_env())
    from tests.factories import World

    with rt.unit_of_work() as s:
        world = World(s, rt.cipher, existing_tenant=tenants.find_tenant(s, "T100"))
    created = run_json(capsys, "release", "create", "--tenant", "T100", "--by", "U1", "--version", "3.0.0",
                       "--scm", world.scm.id, "--target", world.ios.id, "--communication", world.channel.id)
    card = card_of(rt, created["id"])
    assert card is not None and card.channelId == world.channel.details["channelId"] and card.messageTs is None
    assert card.nextAttemptAt is not None  # due now: the runner posts it
    run_json(capsys, "release", "cancel", "3.0.0", "--tenant", "T100", "--by", "U1", "--reason", "not needed")
    assert card_of(rt, created["id"]).revision == card.revision + 1  # the card will show CANCELLED


def test_a_cli_release_without_a_channel_owes_no_card(workspace, capsys):  # noqa: F811
    rt = Runtime(Settings.from_env())
    from tests.factories import World

    with rt.unit_of_work() as s:
        world = World(s, rt.cipher, existing_tenant=tenants.find_tenant(s, "T100"))
    created = run_json(capsys, "release", "create", "--tenant", "T100", "--by", "U1", "--version", "3.1.0",
                       "--scm", world.scm.id, "--target", world.ios.id)
    assert card_of(rt, created["id"]) is None
