"""The lifecycle from the command line: the card's steps, with the same guards and roles, one-line
refusals, the release's history, and a card that follows (it owes a redraw and a thread line)."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from core.config import Settings
from core.models import Notification, PipelineBuild, ReleaseCard
from core.runtime import Runtime
from core.services import lifecycle, tenants
from core.services.cards import owe_card
from tests.cli.test_cli import env, run, run_json, workspace  # noqa: F401  (fixtures)
from tests.core.lifecycle_world import People, build_all, new_release
from tests.factories import World


class Cli:
    """v1.5.0 of workspace T100 (App Store and Play Store, one Jenkins each; Grace its pilot, Linus its creator),
    its card owed in #releases; U1 is Ada, the workspace admin the CLI registered."""

    def __init__(self, capsys):
        self.capsys, self.rt = capsys, Runtime(Settings.from_env())
        with self.rt.unit_of_work() as s:
            self.world = World(s, self.rt.cipher, existing_tenant=tenants.find_tenant(s, "T100"))
            self.people = People(s, self.world)
            self.release = new_release(s, self.world, self.people)
            owe_card(s, tenant_id=self.world.tenant.id, release_id=self.release.id, channel_id="C0RELEASES")

    def ok(self, step: str, *args: str, by: str = "U1") -> dict:
        return run_json(self.capsys, "release", step, "v1.5.0", "--tenant", "T100", "--by", by, *args)

    def refused(self, step: str, *args: str, by: str = "U1") -> tuple[int, str, str]:
        return run(self.capsys, "release", step, "v1.5.0", "--tenant", "T100", "--by", by, *args)

    def core(self, step) -> None:
        """What the runner and the CI do meanwhile (finish kickoff, record builds), through the same services."""
        with self.rt.unit_of_work() as s:
            step(s)

    def build_both(self) -> None:
        self.core(lambda s: build_all(s, self.world, self.release))

    def history(self) -> list[dict]:
        return run_json(self.capsys, "release", "history", "1.5.0", "--tenant", "T100")

    def card(self) -> ReleaseCard:
        with self.rt.reading() as s:
            card = s.get(ReleaseCard, self.release.id)
            s.expunge(card)
            return card

    def owed_lines(self) -> list[str]:
        with self.rt.reading() as s:
            return list(s.scalars(select(Notification.kind).where(Notification.releaseId == self.release.id,
                                                                  Notification.eventId.is_not(None))))


@pytest.fixture
def cli(workspace, capsys):  # noqa: F811
    return Cli(capsys)


def test_a_release_is_driven_from_kickoff_to_archived_from_the_command_line(cli):
    ids = dict(tenant_id=cli.world.tenant.id, release_id=cli.release.id)
    assert cli.ok("kickoff")["status"] == "PENDING"
    delayed = cli.ok("delay", "--reason", "store review is slow", "--target-date", "2031-01-20", by=cli.people.pilot.slackUserId)
    assert delayed["targetReleaseDate"] == "2031-01-20T00:00:00"
    cli.core(lambda s: lifecycle.finish_kickoff(s, **ids))
    cli.build_both()
    assert cli.ok("start-regression", by=cli.people.creator.id)["status"] == "REGRESSION_IN_PROGRESS"
    assert cli.ok("regression-failed", "--reason", "crash on login")["status"] == "STARTED"
    cli.build_both()
    assert cli.ok("start-regression")["status"] == "REGRESSION_IN_PROGRESS"
    assert cli.ok("regression-passed")["status"] == "REGRESSION_IN_PROGRESS"
    for status in ("submitted", "approved", "released"):
        for target in ("App Store", "play store"):  # by name, in any case
            shown = cli.ok("target-status", "--target", target, "--status", status, by=cli.people.pilot.slackUserId)
    assert shown["status"] == "RELEASED"
    assert [(t["integration"]["name"], t["targetStatus"], t["buildNumber"]) for t in shown["targets"]] == [
        ("App Store", "RELEASED", "51"), ("Play Store", "RELEASED", "50")]
    assert cli.ok("archive", by=cli.people.pilot.id)["status"] == "ARCHIVED"
    assert [(e["action"], e["to"]) for e in cli.history() if not e["action"].startswith("build-")] == [
        ("kickoff", "PENDING"), ("delay", "target 2031-01-20"), ("kickoff-done", "STARTED"),
        ("start-regression", "REGRESSION_IN_PROGRESS"), ("regression-failed", "FAILED"),
        ("start-regression", "REGRESSION_IN_PROGRESS"), ("regression-passed", "PASSED"),
        ("target-submitted", "SUBMITTED"), ("target-submitted", "SUBMITTED"), ("all-submitted", "BUILD_SUBMITTED"),
        ("target-approved", "APPROVED"), ("target-approved", "APPROVED"),
        ("target-released", "RELEASED"), ("target-released", "RELEASED"), ("all-released", "RELEASED"),
        ("archive", "ARCHIVED")]


def test_a_member_is_refused_in_one_line_naming_who_may(cli):
    code, out, err = cli.refused("kickoff", by=cli.people.member.slackUserId)
    assert (code, out) == (1, "")
    assert err == "error: only the release pilot (Grace), its creator (Linus) or a workspace admin can kick off\n"
    assert cli.history() == []  # nothing happened


def test_a_step_of_the_wrong_stage_is_refused_in_one_line_saying_what_comes_first(cli):
    code, out, err = cli.refused("archive")
    assert (code, out) == (1, "")
    assert err == "error: cannot archive it: v1.5.0 is waiting for kickoff; kick it off first\n"
    code, _, err = cli.refused("start-regression")
    assert code == 1 and err.startswith("error: cannot start regression: v1.5.0 is waiting for kickoff") and err.count("\n") == 1


def test_start_regression_without_builds_says_which_target_lacks_one(cli):
    cli.ok("kickoff")
    cli.core(lambda s: lifecycle.finish_kickoff(s, tenant_id=cli.world.tenant.id, release_id=cli.release.id))
    cli.core(lambda s: build_all(s, cli.world, cli.release, only="Jenkins iOS"))
    code, _, err = cli.refused("start-regression")
    assert code == 1 and err == ("error: Start regression needs a finished successful build for Play Store: "
                                 "Jenkins Android has not run\n")


def test_a_target_that_is_not_the_releases_is_a_usage_error_listing_its_targets(cli):
    code, out, err = cli.refused("target-status", "--target", "Huawei", "--status", "SUBMITTED")
    assert (code, out) == (2, "")
    assert err.startswith("error: Invalid value for --target: 'Huawei' is no target of v1.5.0: use one of “App Store”, “Play Store”")


def test_a_person_who_is_not_in_the_workspace_is_told_so(cli):
    code, _, err = cli.refused("kickoff", by="U0NOBODY")
    assert code == 1 and err == "error: no account 'U0NOBODY' in this workspace: list them with `releasebot account list`\n"


def test_cancel_without_who_and_why_is_a_usage_error_saying_what_it_now_needs(cli, capsys):
    code, out, err = run(capsys, "release", "cancel", "v1.5.0", "--tenant", "T100")
    assert (code, out) == (2, "")
    assert err.startswith("error: release cancel needs --by <slack user> and --reason <why>") and err.count("\n") == 1
    code, _, err = cli.refused("cancel", "--reason", "   ")
    assert code == 1 and err == "error: reason: the reason is empty: say why the release is cancelled\n"
    assert cli.history() == []


def test_cancel_from_the_command_line_records_who_and_why_and_stops_the_running_builds(cli):
    cli.ok("kickoff")
    cli.core(lambda s: lifecycle.finish_kickoff(s, tenant_id=cli.world.tenant.id, release_id=cli.release.id))
    with cli.rt.unit_of_work() as s:
        from core.services import builds

        intent = builds.request_build(s, tenant_id=cli.world.tenant.id, account_id=cli.people.member.id,
                                      release_pipeline_id=cli.release.pipelines[0].id)
    shown = cli.ok("cancel", "--reason", "the feature was dropped", by=cli.people.creator.slackUserId)
    assert shown["status"] == "CANCELLED"
    with cli.rt.reading() as s:
        assert s.get(PipelineBuild, intent.build_id).state.value == "CANCELLED"
    cancel = [e for e in cli.history() if e["action"] in ("cancel", "build-aborted")]
    assert [(e["action"], e["actor"]) for e in cancel] == [("cancel", "Linus"), ("build-aborted", "Linus")]
    assert cancel[0]["detail"] == "the feature was dropped"
    code, _, err = cli.refused("cancel", "--reason", "twice")
    assert code == 1 and err.startswith("error: cannot cancel it: v1.5.0 is cancelled (cancelled by Linus at ")


def test_history_is_a_list_of_at_actor_action_from_to_detail_with_a_time_zone(cli):
    cli.ok("kickoff")
    cli.ok("delay", "--reason", "waiting for <legal>")
    history = cli.history()
    assert [set(e) for e in history] == [{"at", "actor", "action", "from", "to", "detail"}] * 2
    assert history[0] | {"at": None} == {"at": None, "actor": "Ada", "action": "kickoff", "from": "KICKOFF_PENDING",
                                         "to": "PENDING", "detail": None}
    assert history[1]["detail"] == "waiting for <legal>" and history[1]["actor"] == "Ada"
    assert all(datetime.fromisoformat(e["at"]).utcoffset().total_seconds() == 0 for e in history)
    code, out, _ = run(cli.capsys, "release", "history", "v1.5.0", "--tenant", "T100")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["AT", "ACTOR", "ACTION", "FROM", "TO", "DETAIL"]
    assert "Ada" in lines[1] and "kickoff" in lines[1] and "KICKOFF_PENDING" in lines[1] and len(lines) == 3


def test_show_json_has_the_status_targets_pipelines_with_their_last_build_and_the_epic_ids(cli):
    cli.core(lambda s: build_all(s, cli.world, cli.release, only="Jenkins iOS"))
    shown = run_json(cli.capsys, "release", "show", "1.5.0", "--tenant", "T100")
    assert shown["status"] == "KICKOFF_PENDING"
    assert [(t["integration"]["name"], t["targetStatus"], t["buildNumber"]) for t in shown["targets"]] == [
        ("App Store", "PENDING", "41"), ("Play Store", "PENDING", None)]
    last = {p["integration"]["name"]: p["lastBuild"] for p in shown["pipelines"]}
    assert last["Jenkins Android"] is None
    assert last["Jenkins iOS"] | {"triggeredAt": None} == {"status": "SUCCESS", "number": "41", "url": None,
                                                           "triggeredAt": None, "triggeredBy": "Grace"}
    assert {k: shown[k] for k in ("iOSEpicId", "androidEpicId", "webEpicId")} == {
        "iOSEpicId": None, "androidEpicId": None, "webEpicId": None}


def test_a_cli_transition_owes_the_card_a_redraw_and_one_thread_line(cli):
    before = cli.card().revision
    cli.ok("kickoff")
    assert cli.card().revision == before + 1
    assert cli.owed_lines() == ["EVENT"]
    cli.refused("kickoff")  # a refusal changes nothing
    assert cli.card().revision == before + 1 and cli.owed_lines() == ["EVENT"]
