"""The release card: what a release is, where each target stands, and a button per pipeline."""
from __future__ import annotations

from slack_sdk.models.blocks import (
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.text import MESSAGE_BLOCKS, SECTION_TEXT, escape, shorten
from bot.ids import ActionId, BlockId
from core.enums import BuildStatus
from core.services.releases import PipelineView, ReleaseView

STATUS_ICON = {
    BuildStatus.PENDING: "⚪", BuildStatus.RUNNING: "🔄", BuildStatus.SUCCESS: "✅",
    BuildStatus.FAILED: "❌", BuildStatus.CANCELLED: "⏹️",
}
FIXED_BLOCKS = 6  # header, facts, description, divider, targets, overflow note


def _date(value) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def _facts(r: ReleaseView) -> SectionBlock:
    fields = [
        f"*Type*\n{r.releaseType.value.title()}", f"*Status*\n{r.status.value.replace('_', ' ').title()}",
        f"*Branch*\n`{escape(r.branchRelease)}` from `{escape(r.baseBranch)}`",
        f"*Repository*\n{escape(shorten(r.repository, 200))}",
        f"*Pilot*\n{escape(r.pilot.name) if r.pilot else '—'}", f"*Created by*\n{escape(r.createdBy.name)}",
        f"*Planned*\n{_date(r.plannedDate)}", f"*Target date*\n{_date(r.targetReleaseDate)}",
    ]
    return SectionBlock(fields=[MarkdownTextObject(text=f) for f in fields])


def _targets(r: ReleaseView) -> SectionBlock:
    lines = [f"• {escape(shorten(t.integration.name, 80))}: *{t.status.value.title()}*"
             + (f" (build {escape(t.buildNumber)})" if t.buildNumber else "") for t in r.targets]
    return SectionBlock(text=MarkdownTextObject(text=shorten("*Targets*\n" + "\n".join(lines), SECTION_TEXT)))


def _button(p: PipelineView) -> ButtonElement:
    if p.buildStatus == BuildStatus.PENDING and not p.triggered:
        return ButtonElement(text="Trigger build", action_id=ActionId.TRIGGER_BUILD, value=p.id, style="primary")
    if p.buildStatus == BuildStatus.RUNNING:
        return ButtonElement(text="Abort", action_id=ActionId.ABORT_BUILD, value=p.id, style="danger",
                             confirm=ConfirmObject(title="Abort this build?", confirm="Abort", deny="Keep it running",
                                                   text=f"The {shorten(p.integration.name, 80)} build will be stopped."))
    return ButtonElement(text="Retry build", action_id=ActionId.RETRY_BUILD, value=p.id,
                         confirm=ConfirmObject(title="Start a new build?", confirm="Build again", deny="Cancel",
                                               text=f"{shorten(p.integration.name, 80)} will build the release branch again."))


def pipeline_section(p: PipelineView) -> SectionBlock:
    """One pipeline: its build status, link and the button that fits its state."""
    status = f"{STATUS_ICON[p.buildStatus]} {p.buildStatus.value.title()}"
    if p.buildNumber:
        status += f" · build #{escape(p.buildNumber)}"
    if p.buildUrl:
        status += f" · <{p.buildUrl}|open>"
    if p.triggeredBy and p.triggered:
        status += f" · started by {escape(shorten(p.triggeredBy, 80))}"
    if p.problem:  # why it failed to start, was lost, or is being retried: the card says it, not only the log
        status += f"\n⚠️ {escape(shorten(p.problem, 600))}"
    text = f"*{escape(shorten(p.integration.name, 150))}*  ({p.integration.type.replace('_', ' ').title()})\n{status}"
    return SectionBlock(block_id=f"{BlockId.PIPELINE_PREFIX}{p.id}", text=MarkdownTextObject(text=text),
                        accessory=_button(p))


def release_card(r: ReleaseView) -> list[dict]:
    """The card's blocks; many pipelines still fit Slack's 50-block limit."""
    blocks = [HeaderBlock(text=shorten(f"🚀 Release {r.releaseKey}", 150)), _facts(r)]
    if r.description:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=shorten(escape(r.description), SECTION_TEXT))))
    blocks += [DividerBlock(), _targets(r)]
    room = MESSAGE_BLOCKS - FIXED_BLOCKS
    blocks += [pipeline_section(p) for p in r.pipelines[:room]]
    if len(r.pipelines) > room:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"+{len(r.pipelines) - room} more pipelines: `releasebot release show {r.releaseKey}` lists them")]))
    elif not r.pipelines:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="No pipelines were chosen for this release.")]))
    return [b.to_dict() for b in blocks]


def card_fallback_text(r: ReleaseView) -> str:
    """The notification text of the card (shown where blocks are not)."""
    return f"Release {r.releaseKey} ({r.releaseType.value.title()}) on {r.branchRelease}"
