"""End-to-end: the bot's own runner (inside the real server) carries a kickoff through: the release
branch is cut on the fake GitHub, the release starts, and its card is redrawn; a release whose
planned date has come is kicked off without anyone asking. SQLite and MariaDB."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.clock import utcnow
from core.enums import ReleaseStatus as S
from core.models import Release, ReleaseCard
from core.services import lifecycle
from core.services.release_creation import create_release
from tests.bot.helpers import post_card_now, wait_for
from tests.core.runner_world import events
from tests.fakes.github import sha_of


def release_with_card(running_bot, world, **draft):
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        created = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft(**draft))
    return created, post_card_now(rt, running_bot.bot.client, created, world.channel.details["channelId"])


def status_of(rt, release_id: str) -> S:
    with rt.reading() as s:
        return s.scalar(select(Release.status).where(Release.id == release_id))


def settled(rt, release_id: str, status: S):
    """The release is at `status` and its card shows the latest revision."""
    with rt.reading() as s:
        row = s.execute(select(Release.status, ReleaseCard.revision, ReleaseCard.drawnRevision)
                        .join(ReleaseCard, ReleaseCard.releaseId == Release.id).where(Release.id == release_id)).one()
    return row.status == status and row.drawnRevision == row.revision


def test_a_kickoff_from_the_cli_is_carried_to_started_by_the_bots_runner_and_the_card_is_redrawn(running_bot, world, github):
    release, ts = release_with_card(running_bot, world)
    with running_bot.runtime.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)
    wait_for(lambda: settled(running_bot.runtime, release.id, S.STARTED))
    assert github.repo("acme/app").branches["release/1.5.0"] == sha_of("main")
    assert len(github.calls("POST", "/repos/acme/app/git/refs")) == 1
    assert [c.params["ts"] for c in running_bot.slack.calls_to("chat.update")][-1:] == [ts]


def test_a_release_whose_planned_date_has_come_is_kicked_off_and_started_by_the_bot(running_bot, world, github):
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        release = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                 draft=world.draft(planned_date=utcnow().date() - timedelta(days=1)))
    wait_for(lambda: status_of(rt, release.id) == S.STARTED)
    kickoffs = events(rt, release.id, "kickoff")
    assert [e.actorAccountId for e in kickoffs] == [None]  # by the bot
    assert len(github.calls("POST", "/repos/acme/app/git/refs")) == 1


def test_a_failed_kickoff_task_shows_on_the_card_with_what_to_do_and_its_retry_button_starts_the_release(running_bot, world,
                                                                                                      github):
    import json

    from bot.ids import ActionId, BlockId
    from tests.factories import SCM_TOKEN

    github.add_token(SCM_TOKEN, fine_grained=True, contents="read")  # verification passes; cutting the branch is refused
    release, ts = release_with_card(running_bot, world)
    with running_bot.runtime.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)

    def card_showing(text: str) -> str | None:
        updates = running_bot.slack.calls_to("chat.update")
        drawn = json.dumps(updates[-1].params["blocks"], ensure_ascii=False) if updates else ""
        return drawn if text in drawn else None

    failed = wait_for(lambda: card_showing("❌ Release branch"))
    assert "give its token write access, then retry" in failed and ActionId.RETRY_TASK in failed
    assert status_of(running_bot.runtime, release.id) == S.PENDING
    github.add_token(SCM_TOKEN)  # an admin fixes the token
    running_bot.slack.add_user(world.member.slackUserId, name="grace")
    answer = running_bot.as_user(world.member.slackUserId, "grace").block_action(
        action_id=ActionId.RETRY_TASK, value=f"{release.id}:release-branch", block_id=BlockId.TASKS,
        channel_id=world.channel.details["channelId"], message_ts=ts)
    assert answer.status_code == 200
    wait_for(lambda: settled(running_bot.runtime, release.id, S.STARTED))
    assert "release/1.5.0" in github.repo("acme/app").branches
