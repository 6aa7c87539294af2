"""The thread line of each change of a release: who, what, and the detail that matters, in one line
of mrkdwn in which people's words cannot ping, link or format."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from bot.blocks.notices import notice_text
from core.lifecycle import Action
from core.runner.context import Announcement, EventFacts

ADA = dict(actor_slack_user="U0ADA", actor_name="Ada")
BOT = dict(actor_slack_user=None, actor_name=None)
RELEASE = SimpleNamespace(releaseKey="v1.5.0", targetReleaseDate=datetime(2026, 12, 10))


def event(action: str, *, from_value=None, to_value=None, detail=None, pilot="U0GRACE", **who) -> EventFacts:
    return EventFacts(action, from_value, to_value, detail, **(who or ADA), pilot_slack_user=pilot)


# Each action as the services record it (core.services.lifecycle / regression), and its line, written by hand.
LINES = {
    Action.KICKOFF: (event("kickoff", from_value="KICKOFF_PENDING", to_value="PENDING"), "🚀 <@U0ADA> kicked off v1.5.0"),
    Action.KICKOFF_DONE: (event("kickoff-done", from_value="PENDING", to_value="STARTED", **BOT),
                          "🌱 v1.5.0 is kicked off: builds can start"),
    Action.START_REGRESSION: (event("start-regression", detail="cycle 2 on App Store #51, Play Store #50"),
                              "▶️ <@U0ADA> started regression cycle 2 on v1.5.0 (App Store #51, Play Store #50)"),
    Action.REGRESSION_PASSED: (event("regression-passed", from_value="cycle 2", to_value="PASSED"),
                               "✅ <@U0ADA> passed regression cycle 2 of v1.5.0: the targets can be submitted"),
    Action.REGRESSION_FAILED: (event("regression-failed", from_value="cycle 1", to_value="FAILED", detail="crash on login"),
                               "❌ <@U0ADA> failed regression cycle 1 of v1.5.0: crash on login — back to builds"),
    Action.MARK_SUBMITTED: (event("target-submitted", from_value="PENDING", to_value="SUBMITTED", detail="App Store #51"),
                            "📦 <@U0ADA> marked App Store #51 submitted"),
    Action.MARK_APPROVED: (event("target-approved", detail="Play Store #50"), "👍 <@U0ADA> marked Play Store #50 approved"),
    Action.MARK_RELEASED: (event("target-released", detail="App Store #51"), "🎉 <@U0ADA> marked App Store #51 released"),
    Action.ALL_SUBMITTED: (event("all-submitted", detail="every target is submitted", **BOT),
                           "📬 Every target of v1.5.0 is submitted: waiting for the stores"),
    Action.ALL_RELEASED: (event("all-released", detail="every target is released", **BOT), "🏁 v1.5.0 is released in every store"),
    Action.MARK_DELAYED: (event("delay", to_value="target 2026-12-10", detail="store review is slow"),
                          "⏳ <@U0ADA> marked v1.5.0 delayed (new target date 2026-12-10): store review is slow"),
    Action.EDIT_DATES: (event("edit-dates", from_value="planned 2026-12-01", to_value="planned 2026-12-03"),
                        "📅 <@U0ADA> changed the dates of v1.5.0: planned 2026-12-01 → planned 2026-12-03"),
    Action.CHANGE_PILOT: (event("change-pilot", from_value="Grace", to_value="Hedy"), "🧑‍✈️ <@U0ADA> made Hedy the pilot of v1.5.0"),
    Action.CANCEL: (event("cancel", detail="the feature was dropped"), "🚫 <@U0ADA> cancelled v1.5.0: the feature was dropped"),
    Action.ARCHIVE: (event("archive", from_value="RELEASED", to_value="ARCHIVED"), "🗄️ <@U0ADA> archived v1.5.0"),
}


@pytest.mark.parametrize("action", list(Action))
def test_every_lifecycle_action_is_one_line_saying_who_did_what(action):
    facts, line = LINES[action]
    assert notice_text(Announcement("EVENT", RELEASE, event=facts)) == line


def test_the_bot_marking_an_overdue_release_asks_its_pilot_for_a_reason():
    facts = event("delay", detail="the target date has passed", **BOT)
    assert notice_text(Announcement("EVENT", RELEASE, event=facts)) == (
        "⏰ v1.5.0 passed its target date (2026-12-10): <@U0GRACE>, mark it delayed with a reason")
    no_pilot = event("delay", detail="the target date has passed", pilot=None, **BOT)
    assert notice_text(Announcement("EVENT", RELEASE, event=no_pilot)) == (
        "⏰ v1.5.0 passed its target date (2026-12-10): Mark it delayed with a reason")


def test_a_person_without_a_slack_id_is_named_and_an_unknown_action_is_still_one_line():
    facts = event("kickoff", actor_slack_user=None, actor_name="Ada <!here>")
    assert notice_text(Announcement("EVENT", RELEASE, event=facts)) == "🚀 Ada &lt;!here&gt; kicked off v1.5.0"
    later = event("tracker-linked", detail="MOB-1")
    assert notice_text(Announcement("EVENT", RELEASE, event=later)) == "ℹ️ <@U0ADA>: tracker linked on v1.5.0: MOB-1"


HOSTILE = "<!channel> <https://evil.test/login|sign in again> & friends"


@pytest.mark.parametrize("action", list(Action))
def test_peoples_words_in_a_line_cannot_ping_or_link(action):
    facts, _ = LINES[action]
    hostile = EventFacts(facts.action, HOSTILE, HOSTILE, HOSTILE, facts.actor_slack_user, HOSTILE, facts.pilot_slack_user)
    text = notice_text(Announcement("EVENT", SimpleNamespace(releaseKey="v1.5.0<!here>", targetReleaseDate=None), event=hostile))
    assert "\n" not in text
    for live in ("<!channel>", "<!here>", "<https://evil.test"):
        assert live not in text
