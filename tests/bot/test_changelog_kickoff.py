"""End-to-end: kickoff posts the changelog (the fake GitHub's commits since the previous release's branch)
once in the card's thread, then the kickoff message; 500 commits stay within Block Kit's limits. Through the
real server and the bot's own runner, on SQLite and MariaDB."""
from __future__ import annotations

import json
import time

from sqlalchemy import select

from bot.blocks.text import MESSAGE_BLOCKS, SECTION_TEXT
from core.enums import ReleaseStatus as S
from core.models import Notification
from core.services import lifecycle
from tests.bot.helpers import wait_for
from tests.bot.test_kickoff_runner import release_with_card, settled


def kick_off(running_bot, world, version: str) -> tuple[str, str]:
    release, ts = release_with_card(running_bot, world, version=version)
    with running_bot.runtime.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)
    wait_for(lambda: settled(running_bot.runtime, release.id, S.STARTED))
    return release.id, ts


def thread(running_bot, ts: str) -> list[dict]:
    return [c.params for c in running_bot.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == ts]


def posted(running_bot, ts: str, heading: str) -> list[dict]:
    return [m for m in thread(running_bot, ts) if m.get("text", "").startswith(heading)]


def within_block_kit_limits(message: dict) -> None:
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MESSAGE_BLOCKS and len(message["text"]) <= 40_000
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks if b["type"] == "section")


def test_kickoff_posts_the_commits_since_the_previous_release_once_in_the_thread_then_the_kickoff_message(running_bot, world,
                                                                                                           github):
    github.push_commits("acme/app", "main", ["feat: onboarding", "fix: old crash"])
    kick_off(running_bot, world, "1.4.0")  # the previous release: its branch release/1.4.0 is cut here
    github.push_commits("acme/app", "main", ["feat(login): passkeys", "fix: crash when offline", "chore: bump deps"], author="Ada")
    release_id, ts = kick_off(running_bot, world, "1.5.0")
    [kickoff] = wait_for(lambda: posted(running_bot, ts, "🚀 *"))
    [changelog] = posted(running_bot, ts, "Changelog of")
    body = json.dumps(changelog["blocks"], ensure_ascii=False)
    assert "3 commits on `main` since `release/1.4.0`" in body
    assert "passkeys" in body and "crash when offline" in body and "bump deps" in body and "Ada" in body
    assert "onboarding" not in body and "old crash" not in body  # in release 1.4.0 already
    within_block_kit_limits(changelog)
    order = [m["text"] for m in thread(running_bot, ts)]
    assert order.index(changelog["text"]) < order.index(kickoff["text"])
    assert "`release/1.5.0`" in kickoff["text"] and "/compare/release/1.4.0...main|3 commits>" in kickoff["text"]
    assert f"<@{world.member.slackUserId}>" in kickoff["text"]
    compares = github.calls("GET", r"/repos/acme/app/compare/")
    assert [c.path for c in compares] == ["/repos/acme/app/compare/release/1.4.0...main"]
    time.sleep(0.5)  # a few runner rounds: nothing is posted twice
    assert len(posted(running_bot, ts, "Changelog of")) == 1 and len(posted(running_bot, ts, "🚀 *")) == 1
    with running_bot.runtime.reading() as s:
        kinds = s.scalars(select(Notification.kind).where(Notification.releaseId == release_id,
                                                          Notification.kind.in_(["CHANGELOG", "KICKOFF"]))).all()
    assert sorted(kinds) == ["CHANGELOG", "KICKOFF"]


def test_the_first_release_of_a_repository_lists_the_base_branchs_newest_commits_and_says_so(running_bot, world, github):
    github.push_commits("acme/app", "main", [f"fix: bug {n}" for n in range(1, 61)])
    _, ts = kick_off(running_bot, world, "1.5.0")
    [changelog] = wait_for(lambda: posted(running_bot, ts, "Changelog of"))
    assert "The newest 50 commits of `main`: no earlier release of this repository to compare with." in changelog["text"]
    assert "bug 60" in changelog["text"] and "bug 10 " not in changelog["text"]
    assert len(github.calls("GET", r"/repos/acme/app/commits$")) == 1


def test_500_commits_since_the_previous_release_are_posted_within_block_kit_limits(running_bot, world, github):
    kick_off(running_bot, world, "1.4.0")
    github.push_commits("acme/app", "main", [f"{('feat', 'fix', 'refactor')[n % 3]}: change number {n} ABC-{n}"
                                             for n in range(1, 501)])
    _, ts = kick_off(running_bot, world, "1.5.0")
    [changelog] = wait_for(lambda: posted(running_bot, ts, "Changelog of"))
    within_block_kit_limits(changelog)
    body = json.dumps(changelog["blocks"], ensure_ascii=False)
    assert "500 commits on `main` since `release/1.4.0`" in body and "change number 500" in body
    assert "more · <" in body and "see them all>" in body
    assert len(github.calls("GET", r"/repos/acme/app/compare/")) == 5  # five pages of 100
    wait_for(lambda: posted(running_bot, ts, "🚀 *"))


def test_the_changelog_starts_from_the_release_kicked_off_last_among_those_created_in_the_same_second(running_bot, world, github):
    for version in ("1.1.0", "1.2.0", "1.3.0", "1.4.0"):  # createdAt ties: the history tells them apart
        github.push_commits("acme/app", "main", [f"feat: in {version}"])
        kick_off(running_bot, world, version)
    github.push_commits("acme/app", "main", ["fix: only in 1.5.0"])
    _, ts = kick_off(running_bot, world, "1.5.0")
    [changelog] = wait_for(lambda: posted(running_bot, ts, "Changelog of"))
    assert "1 commit on `main` since `release/1.4.0`" in changelog["text"] and "in 1.4.0" not in changelog["text"]
    assert github.calls("GET", r"/compare/")[-1].path == "/repos/acme/app/compare/release/1.4.0...main"


def test_when_the_previous_release_branch_was_deleted_the_changelog_lists_the_newest_commits_and_says_why(running_bot, world,
                                                                                                          github):
    kick_off(running_bot, world, "1.4.0")
    del github.repo("acme/app").branches["release/1.4.0"]  # someone cleaned up old branches
    github.push_commits("acme/app", "main", ["fix: after the cleanup"])
    release_id, ts = kick_off(running_bot, world, "1.5.0")
    [changelog] = wait_for(lambda: posted(running_bot, ts, "Changelog of"))
    assert "the previous release's branch `release/1.4.0` no longer exists" in changelog["text"]
    assert "after the cleanup" in changelog["text"]
