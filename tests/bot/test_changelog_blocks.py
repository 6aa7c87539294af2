"""The changelog's and the kickoff message's Block Kit (pure): grouped by conventional-commit type, trimmed to
Slack's limits with "…and N more", people's words escaped, the tracker's ticket keys linked."""
from __future__ import annotations

import json
from datetime import datetime

from bot.blocks.changelog import changelog_message, group_of, kickoff_message
from bot.blocks.text import MESSAGE_BLOCKS, SECTION_TEXT
from core.enums import ReleaseStatus, ReleaseType
from core.services.changelog import Changelog, KickoffFacts, Tracker
from core.services.releases import Ref, ReleaseView

JIRA = Tracker("https://acme.atlassian.net", "ABC")
COMPARE = "https://github.com/acme/app/compare/release/1.4.0...main"


def log(titles: list[str], *, total: int | None | str = "all", since: str | None = "release/1.4.0") -> Changelog:
    commits = tuple((f"{n:040x}", title, f"dev{n % 7}", f"https://github.com/acme/app/commit/{n:040x}")
                    for n, title in enumerate(titles))
    return Changelog("main", since, len(titles) if total == "all" else total, COMPARE, commits)


def texts(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] if "text" in b else b["elements"][0]["text"] for b in blocks]


def within_limits(text: str, blocks: list[dict]) -> None:
    assert len(blocks) <= MESSAGE_BLOCKS and len(text) <= 40_000
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks if b["type"] == "section")
    assert len(json.dumps(blocks)) < 100_000


def test_commits_are_grouped_into_features_fixes_and_the_rest_with_their_scope():
    text, blocks = changelog_message(log(["feat(login): passkeys", "fix: crash on launch", "chore: bump deps",
                                          "Merge branch 'x'", "feat!: new API"]), release_key="ios-1.5.0")
    body = "\n".join(texts(blocks))
    assert blocks[0]["text"]["text"] == "Changelog of ios-1.5.0"
    assert "*✨ Features* (2)" in body and "*🐛 Fixes* (1)" in body and "*🧰 Other changes* (2)" in body
    assert body.index("Features") < body.index("login: passkeys") < body.index("Fixes") < body.index("crash on launch")
    assert body.index("Other changes") < body.index("chore: bump deps")
    assert "5 commits on `main` since `release/1.4.0` · <" + COMPARE + "|compare>" in body
    assert "more" not in body and text.startswith("Changelog of ios-1.5.0")


def test_a_title_without_a_known_type_is_other_and_kept_whole():
    assert group_of("docs: readme") == ("other", "docs: readme")
    assert group_of("FEAT(ui): dark mode") == ("feat", "ui: dark mode")
    assert group_of("fix:") == ("other", "fix:")


def test_500_commits_stay_within_block_kit_limits_and_the_rest_are_counted_with_the_compare_link():
    titles = [f"{('feat', 'fix', 'chore')[n % 3]}(module{n}): a change with a reasonably long description, number {n}"
              for n in range(500)]
    text, blocks = changelog_message(log(titles, total=812), release_key="ios-1.5.0", tickets=JIRA)
    within_limits(text, blocks)
    listed = sum(t.count("\n• ") + t.startswith("• ") for t in texts(blocks))
    assert 100 < listed < 500
    assert texts(blocks)[-1] == f"…and {812 - listed} more · <{COMPARE}|see them all>"


def test_long_titles_are_shortened_and_still_fit_a_section():
    text, blocks = changelog_message(log(["fix: " + "&<>" * 2000] * 60), release_key="k")
    within_limits(text, blocks)
    assert "&lt;" in texts(blocks)[3] and "<>" not in texts(blocks)[3]


def test_people_s_words_are_escaped_so_a_title_cannot_ping_or_link():
    _, blocks = changelog_message(log(["fix: <!channel> see <https://evil.example|here> & more"]), release_key="k")
    body = "\n".join(texts(blocks))
    assert "&lt;!channel&gt;" in body and "&lt;https://evil.example|here&gt;" in body and "&amp; more" in body
    assert "<!channel>" not in body and "<https://evil" not in body


def test_ticket_keys_of_the_trackers_project_are_linked_to_jira_and_others_are_not():
    _, blocks = changelog_message(log(["feat: ABC-123 passkeys (also XYZ-9, ABCD-1, ABC-7)", "fix: see /path/ABC-5"]),
                                  release_key="k", tickets=JIRA)
    body = "\n".join(texts(blocks))
    assert "<https://acme.atlassian.net/browse/ABC-123|ABC-123>" in body and "<https://acme.atlassian.net/browse/ABC-7|ABC-7>" in body
    assert "XYZ-9" in body and "browse/XYZ-9" not in body and "browse/ABCD-1" not in body and "browse/ABC-5" not in body


def test_without_a_tracker_no_key_is_linked():
    _, blocks = changelog_message(log(["feat: ABC-123 passkeys"]), release_key="k")
    assert "browse" not in json.dumps(blocks)


def test_a_bitbucket_changelog_that_was_not_counted_says_there_are_more():
    _, blocks = changelog_message(log(["fix: a"] * 3, total=None), release_key="k")
    assert texts(blocks)[1].startswith("3+ commits") and texts(blocks)[-1] == f"…and more · <{COMPARE}|see them all>"


def test_a_first_release_lists_the_newest_commits_and_says_there_was_nothing_to_compare_with():
    _, blocks = changelog_message(log(["fix: a", "feat: b"], since=None, total=None), release_key="k")
    assert texts(blocks)[1] == "The newest 2 commits of `main`: no earlier release of this repository to compare with."
    assert "more" not in texts(blocks)[-1]


def test_no_new_commits_says_so():
    _, blocks = changelog_message(log([]), release_key="k")
    assert texts(blocks)[-1] == "No new commits on `main`."


def release(**over) -> ReleaseView:
    values = dict(id="r1", tenantId="t1", releaseKey="ios-1.5.0", version="1.5.0", releaseType=ReleaseType.PLANNED,
                  status=ReleaseStatus.STARTED, baseBranch="main", branchRelease="release/1.5.0", description=None,
                  plannedDate=datetime(2026, 12, 1), targetReleaseDate=datetime(2026, 12, 8), createdAt=None,
                  scm=Ref("s", "GitHub"), repository="acme/app", createdBy=Ref("a", "Ada"), pilot=Ref("p", "Grace <g>"),
                  communication=None, channelId="C1", ticket=None, iOSEpicId="ABC-10", androidEpicId="ABC-11")
    return ReleaseView(**(values | over))


def test_the_kickoff_message_names_branch_epics_changelog_dates_and_pilot():
    facts = KickoffFacts(COMPARE, 42, "U123", JIRA, ())
    text, blocks = kickoff_message(release(), facts)
    assert text == blocks[0]["text"]["text"]
    assert "`release/1.5.0` (from `main`)" in text
    assert "iOS <https://acme.atlassian.net/browse/ABC-10|ABC-10>, Android <https://acme.atlassian.net/browse/ABC-11|ABC-11>" in text
    assert f"*Changelog:* <{COMPARE}|42 commits>" in text
    assert "*Planned:* 2026-12-01 · *Target:* 2026-12-08" in text and "*Pilot:* <@U123>" in text


def test_the_kickoff_message_without_pilot_account_epics_or_changelog_says_so_escaped():
    text, _ = kickoff_message(release(iOSEpicId=None, androidEpicId=None, plannedDate=None),
                              KickoffFacts(None, None, None, None, ("changelog",)))
    assert "*Epics:* none" in text and "*Changelog:* not listed" in text and "*Planned:* not set" in text
    assert "*Pilot:* Grace &lt;g&gt;" in text and "Skipped by an admin: changelog" in text


LINEAR = Tracker("https://linear.app/acme", "MOB", "issue")  # the workspace's urlKey, asked of Linear at kickoff


def test_linear_issue_keys_of_the_release_team_link_to_the_workspaces_issue_pages():
    _, blocks = changelog_message(log(["fix: MOB-7 login crash (see OPS-2)", "chore: MOB-7x is not a key"]),
                                  release_key="k", tickets=LINEAR)
    body = "\n".join(texts(blocks))
    assert "<https://linear.app/acme/issue/MOB-7|MOB-7>" in body
    assert "OPS-2" in body and "issue/OPS-2" not in body and "issue/MOB-7x" not in body


def test_the_kickoff_message_links_linear_epics_to_their_issue_pages():
    text, _ = kickoff_message(release(iOSEpicId="MOB-10", androidEpicId=None), KickoffFacts(COMPARE, 3, None, LINEAR, ()))
    assert "iOS <https://linear.app/acme/issue/MOB-10|MOB-10>" in text
