"""Block Kit builders: pure functions whose output stays within Slack's limits."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.blocks.card import MENU, release_card
from bot.blocks.modal import ModalContext, create_release_modal, setup_needed_modal
from bot.blocks.options import integration_options
from bot.ids import ActionId, BlockId, CallbackId
from core.enums import BuildStatus, IntegrationKind, ReleaseStatus, ReleaseType, TargetStatus, VerificationStatus
from core.lifecycle import Action
from core.services.card_view import CardView
from core.services.integrations import IntegrationView
from core.services.releases import PipelineView, Ref, ReleaseView, TargetView

LONG = "Extremely long integration name that somebody typed without thinking of Slack's limits " * 3


def release(pipelines: int = 2, targets: int = 2, name: str = "Jenkins iOS", description: str | None = "Notes") -> ReleaseView:
    return ReleaseView(
        id="r1", tenantId="t1", releaseKey="v1.5.0", version="1.5.0", releaseType=ReleaseType.PLANNED,
        status=ReleaseStatus.KICKOFF_PENDING, baseBranch="main", branchRelease="release/1.5.0",
        description=description, plannedDate=datetime(2026, 1, 15), targetReleaseDate=None, createdAt=None,
        scm=Ref("s1", "App repo", "GITHUB"), repository="acme/app", createdBy=Ref("a1", "Ada"),
        pilot=Ref("a2", "Grace"), communication=None, channelId=None, ticket=None,
        targets=tuple(TargetView(f"rt{i}", Ref(f"t{i}", f"Store {i}", "APP_STORE"), "com.acme", TargetStatus.PENDING, None)
                      for i in range(targets)),
        pipelines=tuple(PipelineView(f"rp{i}", Ref(f"p{i}", f"{name} {i}", "JENKINS"), "t0", BuildStatus.PENDING,
                                     False, None, None, None) for i in range(pipelines)),
    )


def integration(i: int, name: str) -> IntegrationView:
    return IntegrationView(id=f"00000000-0000-0000-0000-{i:012d}", kind=IntegrationKind.SCM, provider="GITHUB",
                           displayName=name, baseUrl=None, isActive=True, verificationStatus=VerificationStatus.VALID,
                           lastVerifiedAt=None, verificationError=None,
                           details={"organization": "acme", "repository": f"repo{i}"})


def card(r: ReleaseView, *actions: Action, **extra) -> list[dict]:
    return release_card(CardView(r, tuple(actions), **extra))


def test_the_card_has_a_trigger_button_per_pipeline():
    blocks = card(release(pipelines=2))
    buttons = [b["accessory"] for b in blocks if b.get("block_id", "").startswith(BlockId.PIPELINE_PREFIX)]
    assert [b["action_id"] for b in buttons] == [ActionId.TRIGGER_BUILD] * 2
    assert [b["value"] for b in buttons] == ["rp0", "rp1"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "🚀 Release v1.5.0", "emoji": True}}
    facts = " ".join(f["text"] for f in blocks[2]["fields"])
    assert "`release/1.5.0` from `main`" in facts and "Grace" in facts and "2026-01-15" in facts


def test_a_release_with_many_long_pipelines_still_fits_in_one_message():
    blocks = card(release(pipelines=80, targets=40, name=LONG, description="x" * 5000), *MENU)
    assert len(blocks) <= 50
    assert "more pipelines" in blocks[-2]["elements"][0]["text"] and blocks[-1]["type"] == "actions"
    for block in blocks:
        assert len(block.get("text", {}).get("text", "")) <= 3000


def test_six_targets_and_twelve_pipelines_all_show_with_the_stage_actions():
    blocks = card(replace(release(pipelines=12, targets=6, name=LONG), status=ReleaseStatus.STARTED),
                  Action.START_REGRESSION, *MENU)
    ids = [b.get("block_id", "") for b in blocks]
    assert sum(i.startswith(BlockId.TARGET_PREFIX) for i in ids) == 6 and sum(i.startswith(BlockId.PIPELINE_PREFIX) for i in ids) == 12
    assert len(blocks) <= 50
    assert [Block.parse(b).to_dict() for b in blocks] == blocks  # slack_sdk's own validation passes


def test_a_running_build_offers_abort_and_a_finished_one_retry_both_confirmed():
    base = release(pipelines=1)
    running = replace(base, pipelines=(replace(base.pipelines[0], buildStatus=BuildStatus.RUNNING, triggered=True,
                                               buildUrl="https://ci.example.com/job/x/7/", buildNumber="7"),))
    section = card(running)[-1]
    assert section["accessory"]["action_id"] == ActionId.ABORT_BUILD and "confirm" in section["accessory"]
    assert "<https://ci.example.com/job/x/7/|open>" in section["text"]["text"] and "#7" in section["text"]["text"]
    failed = replace(base, pipelines=(replace(base.pipelines[0], buildStatus=BuildStatus.FAILED, triggered=True),))
    assert card(failed)[-1]["accessory"]["action_id"] == ActionId.RETRY_BUILD
    in_regression = replace(failed, status=ReleaseStatus.REGRESSION_IN_PROGRESS)
    assert "accessory" not in card(in_regression)[-1]  # no new builds while what was built is tested


def test_text_people_type_cannot_mention_or_link():
    blocks = card(release(description="<!channel> see <https://evil.example|here>"))
    assert "&lt;!channel&gt;" in blocks[3]["text"]["text"]


def test_a_build_url_that_could_break_out_of_its_link_is_not_linked():
    base = release(pipelines=1)
    forged = replace(base, pipelines=(replace(base.pipelines[0], buildStatus=BuildStatus.FAILED, triggered=True,
                                              buildUrl="https://ci.example.com/x|click me> <!channel"),))
    text = card(forged)[-1]["text"]["text"]
    assert "<!channel" not in text and "· open" in text


def test_the_card_shows_the_stage_and_only_the_stages_actions():
    kickoff = card(release(), Action.KICKOFF, Action.CANCEL, Action.EDIT_DATES)
    assert kickoff[1]["elements"][0]["text"].startswith("*▶ Kickoff* → Builds → Regression")
    actions = kickoff[-1]
    assert [e["action_id"] for e in actions["elements"]] == [f"{ActionId.STAGE_PREFIX}kickoff", ActionId.RELEASE_MENU]
    assert [o["value"] for o in actions["elements"][1]["options"]] == ["edit-dates:r1", "cancel:r1"]
    built = replace(release(), status=ReleaseStatus.REGRESSION_IN_PROGRESS,
                    targets=(TargetView("rt0", Ref("t0", "App Store", "APP_STORE"), "com.acme", TargetStatus.PENDING, "45"),))
    blocks = card(built, Action.MARK_SUBMITTED, Action.REGRESSION_FAILED, cycle=2, cycle_passed=True,
                  delayed=True, delayed_reason="waiting for <!here> legal")
    assert "Kickoff ✓ → Builds ✓ → *▶ Regression*" in blocks[1]["elements"][0]["text"]
    assert "regression cycle 2 passed" in blocks[1]["elements"][0]["text"] and "&lt;!here&gt;" in blocks[1]["elements"][0]["text"]
    target = next(b for b in blocks if b.get("block_id") == f"{BlockId.TARGET_PREFIX}rt0")
    assert target["accessory"]["value"] == "SUBMITTED:r1:rt0" and "build 45" in target["text"]["text"]
    assert card(replace(built, status=ReleaseStatus.CANCELLED), delayed=True)[1]["elements"][0]["text"] == "🚫 *Cancelled*"


def test_the_modal_stays_within_slacks_limits_and_uses_core_field_names_as_block_ids():
    modal = create_release_modal(ModalContext("C1", "1.5.0", integration(1, LONG)))
    assert modal["callback_id"] == CallbackId.CREATE_RELEASE and len(modal["title"]["text"]) <= 24
    assert len(modal["blocks"]) <= 100
    block_ids = {b["block_id"] for b in modal["blocks"]}
    assert {"version", "scmIntegrationId", "targets", "pipelines", "targetReleaseDate"} <= block_ids
    scm = next(b for b in modal["blocks"] if b["block_id"] == BlockId.SCM)["element"]
    assert len(scm["initial_option"]["text"]["text"]) <= 75
    version = next(b for b in modal["blocks"] if b["block_id"] == BlockId.VERSION)["element"]
    assert version["initial_value"] == "1.5.0"


def test_the_setup_modal_says_what_is_missing_and_how_to_add_it():
    modal = setup_needed_modal(["store target"])
    text = str(modal["blocks"])
    assert "no verified, active *store target*" in text and "/release integrations" in text


def test_options_are_filtered_by_what_is_typed_and_capped_at_100():
    views = [integration(i, f"{'Android' if i % 2 else 'iOS'} {LONG} {i}") for i in range(300)]
    options = integration_options(views, "ios")
    assert len(options) == 100
    assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)
    assert all(o["value"].endswith(("0", "2", "4", "6", "8")) for o in options)


def test_the_create_modal_passes_slack_sdk_validation_whole():
    # Built as plain dicts: slack_sdk must still parse and validate the whole, as it did its own model objects.
    from slack_sdk.models.views import View


    for ctx in (ModalContext("C1", "1.5.0", integration(1, LONG)), ModalContext(None)):
        modal = create_release_modal(ctx)
        assert View(**modal).to_dict() == modal
        modal["blocks"].clear()  # what a caller does to its copy stays there
    assert len(create_release_modal(ModalContext(None))["blocks"]) == 12


def test_kickoff_tasks_show_while_kicking_off_and_a_failed_one_offers_retry_and_skip():
    from core.enums import TaskState
    from core.services.tasks import TaskView

    kicking_off = replace(release(), status=ReleaseStatus.PENDING)
    running = card(kicking_off, tasks=(TaskView("release-branch", TaskState.PENDING, None, None),))
    assert any("🔄 Release branch" in json.dumps(b, ensure_ascii=False) for b in running)
    failed = card(kicking_off, tasks=(TaskView("release-branch", TaskState.FAILED, "ask an admin <!here>", None),))
    text = json.dumps(failed, ensure_ascii=False)
    assert "❌ Release branch" in text and "&lt;!here&gt;" in text
    buttons = next(b for b in failed if b.get("block_id") == BlockId.TASKS)["elements"]
    assert [(e["action_id"], e["value"]) for e in buttons] == [(ActionId.RETRY_TASK, "r1:release-branch"),
                                                               (ActionId.SKIP_TASK, "r1:release-branch")]
    started = card(replace(release(), status=ReleaseStatus.STARTED), tasks=(TaskView("release-branch", TaskState.DONE, None, "abc123"),))
    assert "Release branch" not in json.dumps(started, ensure_ascii=False)  # done and gone from the card
