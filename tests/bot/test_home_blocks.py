"""The Home tab's blocks: a pure function of core's Home, within Slack's limits, never a secret."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from bot.blocks.home import home_view
from core.enums import IntegrationKind, ReleaseStatus, TargetStatus, VerificationStatus
from core.lifecycle import Action
from core.services.home import AdminSection, EndedLine, Home, IntegrationHealth, ReleaseLine, TargetLine

CHECKED = datetime(2026, 11, 28, 18, 0)


def line(n: int, *, mine=False, steps=(), reason=None, name="App Store") -> ReleaseLine:
    return ReleaseLine(f"r{n}", f"v1.{n}.0", f"1.{n}.0", ReleaseStatus.STARTED,
                       (TargetLine(name, "APP_STORE", TargetStatus.PENDING),), reason is not None, reason, None, "Grace",
                       mine, steps, "build every target, then start regression", "CRELEASES" if n % 2 else None)


def health(n: int, status=VerificationStatus.VALID, reason=None) -> IntegrationHealth:
    return IntegrationHealth(IntegrationKind.SCM, "GITHUB", f"repo {n}", True, status, reason, CHECKED)


def texts(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def within_slacks_limits(view: dict) -> None:
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    for block in view["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def test_my_steps_come_first_then_the_other_releases_each_with_its_card():
    home = Home("T1", "U0GRACE", False, (line(1, mine=True, steps=(Action.START_REGRESSION,)), line(2)), 2, ())
    view = home_view(home)
    text = texts(view)
    assert text.index("Your next steps") < text.index("v1.1.0") < text.index("Live releases") < text.index("v1.2.0")
    assert "*Your next step:* start regression" in text and "Next: build every target" in text
    assert "card in <#CRELEASES>" in text and "card not posted yet" in text
    assert "Workspace setup" not in text  # a member sees no admin section
    # Her own step is the card's button; the release that is not hers has none.
    steps = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"] if "value" in e]
    assert [(e["action_id"], e["value"]) for e in steps] == [(f"stage:{Action.START_REGRESSION.value}", "r1")]
    within_slacks_limits(view)


def test_a_card_with_a_permalink_is_linked_and_a_link_that_could_break_out_is_not():
    linked = replace(line(1), card_permalink="https://acme.slack.com/archives/C1/p1700000000000100")
    hostile = replace(line(2), card_permalink="https://x|<!channel>")
    text = texts(home_view(Home("T1", "U0ADA", False, (linked, hostile), 2, ())))
    assert "<https://acme.slack.com/archives/C1/p1700000000000100|open its card>" in text
    assert "<!channel>" not in text and "card not posted yet" not in text.split("v1.2.0")[0]


def test_an_admin_sees_integrations_health_and_what_is_missing():
    admin = AdminSection((health(1), health(2, VerificationStatus.INVALID, "GitHub rejected the token (401)")),
                         ("store target",))
    text = texts(home_view(Home("T1", "U0ADA", True, (), 0, (), admin)))
    assert "✅ *repo 1* (source control, github) — valid · last checked 2026-11-28 18:00 UTC" in text
    assert "❌ *repo 2* (source control, github) — invalid: GitHub rejected the token (401)" in text
    assert "Releases cannot be created yet: add a verified, active store target" in text
    assert "No live releases" in text


def test_people_typed_text_is_escaped():
    text = texts(home_view(Home("T1", "U0ADA", False, (line(1, reason="<!channel> & <https://evil|x>", name="<@U1>"),), 1, ())))
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text and "&lt;@U1&gt;" in text


def test_200_releases_and_90_integrations_fit_in_100_blocks_with_the_rest_counted():
    releases = tuple(line(n, mine=n < 30, steps=(Action.KICKOFF,) if n < 30 else (), reason="x" * 5000) for n in range(50))
    admin = AdminSection(tuple(health(n, VerificationStatus.INVALID, "y" * 5000) for n in range(90)), ())
    ended = tuple(EndedLine(f"v0.{n}.0", f"0.{n}.0", ReleaseStatus.ARCHIVED, CHECKED) for n in range(5))
    view = home_view(Home("T1", "U0ADA", True, releases, 200, ended, admin))
    within_slacks_limits(view)
    text = texts(view)
    shown = sum(1 for n in range(50) if f"*v1.{n}.0*" in text)
    mine_shown = sum(1 for n in range(30) if f"*v1.{n}.0*" in text)
    assert text.count('"stage:kickoff"') == mine_shown > 0  # each own release shown with its button, never one without
    assert f"…and {200 - shown} more live releases" in text
    assert "…and 30 more: `releasebot integration list`" in text
    assert "Recently ended" in text and "v0.4.0" in text
