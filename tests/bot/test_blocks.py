"""Block Kit builders: pure functions whose output stays within Slack's limits."""
from __future__ import annotations

from datetime import datetime

from bot.blocks.card import release_card
from bot.blocks.modal import ModalContext, create_release_modal, setup_needed_modal
from bot.blocks.options import integration_options
from bot.ids import ActionId, BlockId, CallbackId
from core.enums import BuildStatus, IntegrationKind, ReleaseStatus, ReleaseType, TargetStatus, VerificationStatus
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


def test_the_card_has_a_trigger_button_per_pipeline():
    blocks = release_card(release(pipelines=2))
    buttons = [b["accessory"] for b in blocks if b.get("block_id", "").startswith(BlockId.PIPELINE_PREFIX)]
    assert [b["action_id"] for b in buttons] == [ActionId.TRIGGER_BUILD] * 2
    assert [b["value"] for b in buttons] == ["rp0", "rp1"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "🚀 Release v1.5.0", "emoji": True}}
    facts = " ".join(f["text"] for f in blocks[1]["fields"])
    assert "`release/1.5.0` from `main`" in facts and "Grace" in facts and "2026-01-15" in facts


def test_a_release_with_many_long_pipelines_still_fits_in_one_message():
    blocks = release_card(release(pipelines=80, targets=40, name=LONG, description="x" * 5000))
    assert len(blocks) <= 50
    assert "+36 more pipelines" in blocks[-1]["elements"][0]["text"]
    for block in blocks:
        assert len(block.get("text", {}).get("text", "")) <= 3000


def test_a_running_build_offers_abort_and_a_finished_one_retry_both_confirmed():
    from dataclasses import replace

    base = release(pipelines=1)
    running = replace(base, pipelines=(replace(base.pipelines[0], buildStatus=BuildStatus.RUNNING, triggered=True,
                                               buildUrl="https://ci.example.com/job/x/7/", buildNumber="7"),))
    section = release_card(running)[-1]
    assert section["accessory"]["action_id"] == ActionId.ABORT_BUILD and "confirm" in section["accessory"]
    assert "<https://ci.example.com/job/x/7/|open>" in section["text"]["text"] and "#7" in section["text"]["text"]
    failed = replace(base, pipelines=(replace(base.pipelines[0], buildStatus=BuildStatus.FAILED, triggered=True),))
    assert release_card(failed)[-1]["accessory"]["action_id"] == ActionId.RETRY_BUILD


def test_text_people_type_cannot_mention_or_link():
    blocks = release_card(release(description="<!channel> see <https://evil.example|here>"))
    assert "&lt;!channel&gt;" in blocks[2]["text"]["text"]


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
    assert "no verified, active *store target*" in text and "releasebot integration add" in text


def test_options_are_filtered_by_what_is_typed_and_capped_at_100():
    views = [integration(i, f"{'Android' if i % 2 else 'iOS'} {LONG} {i}") for i in range(300)]
    options = integration_options(views, "ios")
    assert len(options) == 100
    assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)
    assert all(o["value"].endswith(("0", "2", "4", "6", "8")) for o in options)


def test_the_create_modal_passes_slack_sdk_validation_whole():
    # Part of the modal is validated once and cached; the whole must still parse and validate.
    from slack_sdk.models.views import View

    for ctx in (ModalContext("C1", "1.5.0", integration(1, LONG)), ModalContext(None)):
        modal = create_release_modal(ctx)
        assert View(**modal).to_dict() == modal
        modal["blocks"].clear()  # what a caller does to its copy stays there
    assert len(create_release_modal(ModalContext(None))["blocks"]) == 12
