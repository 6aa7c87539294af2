"""Store actions from the command line: the card's store buttons with the same checks in core (role, stage,
what the store allows, the form's values); the runner does them, and `release show` says where each target
stands at its store."""
from __future__ import annotations

from core.enums import TargetStatus
from core.integrations.stores import StorePhase, StoreState
from core.services import lifecycle, regression, store_following
from tests.cli.test_cli import env, run_json, workspace  # noqa: F401  (fixtures)
from tests.cli.test_lifecycle_cli import Cli, cli  # noqa: F401  (fixture)


def passed(cli) -> None:  # noqa: F811
    ids = dict(tenant_id=cli.world.tenant.id, release_id=cli.release.id)
    cli.ok("kickoff")
    cli.core(lambda s: lifecycle.finish_kickoff(s, **ids))
    cli.build_both()
    cli.ok("start-regression")
    cli.core(lambda s: regression.regression_passed(s, **ids, actor_account_id=cli.people.admin.id))


def test_a_submission_is_asked_from_the_command_line_and_release_show_tells_the_store_state(cli):  # noqa: F811
    passed(cli)
    shown = cli.ok("store", "--target", "App Store", "--action", "submit", "--param", "whatsNew=Faster login",
                   by=cli.people.pilot.slackUserId)
    assert shown["status"] == "REGRESSION_IN_PROGRESS"
    code, _, err = cli.refused("store", "--target", "App Store", "--action", "submit")
    assert code == 1 and err.startswith("error: App Store is already submitting (asked by Grace at ")
    app_store = next(t for t in shown["targets"] if t["integration"]["name"] == "App Store")
    cli.core(lambda s: store_following.apply_state(s, target_id=app_store["id"], interval=5, state=StoreState(
        StorePhase.IN_REVIEW, "In review", (), TargetStatus.SUBMITTED)))
    shown = run_json(cli.capsys, "release", "show", "1.5.0", "--tenant", "T100")
    store = next(t for t in shown["targets"] if t["integration"]["name"] == "App Store")["store"]
    assert (store["phase"], store["line"], store["owed"]) == ("IN_REVIEW", "In review", "submit")
    assert [e["action"] for e in cli.history()][-2:] == ["store-submit", "target-submitted"]


def test_store_actions_from_the_command_line_are_refused_in_one_line(cli):  # noqa: F811
    code, _, err = cli.refused("store", "--target", "App Store", "--action", "submit")
    assert code == 1 and err == "error: v1.5.0 is not ready for the stores: pass regression first\n"
    passed(cli)
    code, _, err = cli.refused("store", "--target", "App Store", "--action", "release")
    assert code == 1 and err == "error: App Store is not submitted yet: release is not possible now\n"
    code, _, err = cli.refused("store", "--target", "App Store", "--action", "submit", by=cli.people.member.slackUserId)
    assert code == 1 and err.startswith("error: only the release pilot (Grace), its creator (Linus) or a workspace admin")
    code, _, err = cli.refused("store", "--target", "App Store", "--action", "submit", "--param", "whatsNew")
    assert code == 2 and "is not KEY=VALUE" in err
    assert [e["action"] for e in cli.history() if e["action"].startswith("store-")] == []
