"""The release card, the release's control panel: its stage and progress, its facts, each target and
pipeline with the button that fits, and the stage's actions. A pure function of core's CardView."""
from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    SectionBlock,
)

from bot.blocks.text import MESSAGE_BLOCKS, SECTION_TEXT, escape, link, shorten
from bot.ids import ActionId, BlockId
from core.enums import BuildStatus, ReleaseStatus, TargetStatus, TaskState
from core.integrations.stores import LABELS as STORE_LABELS
from core.integrations.stores import StoreAction
from core.lifecycle import BUILDS_ALLOWED, SUBMITTING, Action
from core.services.card_view import CardView
from core.services.releases import PipelineView, ReleaseView, TargetView
from core.services.store_actions import AT_STORE_STATUSES
from core.services.store_views import StoreView

STATUS_ICON = {
    BuildStatus.PENDING: "⚪", BuildStatus.RUNNING: "🔄", BuildStatus.SUCCESS: "✅",
    BuildStatus.FAILED: "❌", BuildStatus.CANCELLED: "⏹️",
}
# The road a release travels, as the progress line shows it.
STAGES = (("Kickoff", (ReleaseStatus.KICKOFF_PENDING, ReleaseStatus.PENDING)), ("Builds", (ReleaseStatus.STARTED,)),
          ("Regression", (ReleaseStatus.REGRESSION_IN_PROGRESS,)), ("Stores", (ReleaseStatus.BUILD_SUBMITTED,)),
          ("Released", (ReleaseStatus.RELEASED,)))
STAGE_BUTTONS = {  # action → (label, style, confirmation or None)
    Action.KICKOFF: ("Kick off", "primary", None),
    Action.START_REGRESSION: ("Start regression", "primary", None),
    Action.REGRESSION_PASSED: ("Regression passed", "primary", None),
    Action.REGRESSION_FAILED: ("Regression failed", "danger", "The release goes back to builds for the next cycle."),
    Action.ARCHIVE: ("Archive", None, "The release is done; its version becomes free."),
}
MENU = {Action.MARK_DELAYED: "Mark delayed…", Action.EDIT_DATES: "Edit dates…", Action.CHANGE_PILOT: "Change pilot…",
        Action.CANCEL: "Cancel release…"}
NEXT_MARK = {TargetStatus.PENDING: (TargetStatus.SUBMITTED, Action.MARK_SUBMITTED, "Mark submitted"),
             TargetStatus.SUBMITTED: (TargetStatus.APPROVED, Action.MARK_APPROVED, "Mark approved"),
             TargetStatus.APPROVED: (TargetStatus.RELEASED, Action.MARK_RELEASED, "Mark released")}
FIXED_BLOCKS = 8  # header, progress, facts, description, divider, actions, overflow note, spare


def _date(value) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def progress_line(status: ReleaseStatus) -> str:
    """Kickoff ✓ → *Builds* → Regression → …, or the end a release came to."""
    if status in (ReleaseStatus.CANCELLED, ReleaseStatus.ARCHIVED):
        return f"{'🚫' if status == ReleaseStatus.CANCELLED else '🗄️'} *{status.value.title()}*"
    current = next(i for i, (_, statuses) in enumerate(STAGES) if status in statuses)
    steps = [f"{name} ✓" if i < current else (f"*▶ {name}*" if i == current else name) for i, (name, _) in enumerate(STAGES)]
    return " → ".join(steps)


def _late(v: CardView) -> bool:
    """Delayed, and still on its way: a released or ended release wears no badge."""
    return v.delayed and v.release.status not in (ReleaseStatus.RELEASED, ReleaseStatus.CANCELLED, ReleaseStatus.ARCHIVED)


def _headline(v: CardView) -> ContextBlock:
    r = v.release
    parts = [progress_line(r.status)]
    if v.cycle:
        parts.append(f"regression cycle {v.cycle}" + (" passed" if v.cycle_passed else ""))
    if _late(v):
        parts.append("⏰ *Delayed*" + (f": {escape(shorten(v.delayed_reason, 300))}" if v.delayed_reason else " (reason wanted)"))
    return ContextBlock(elements=[MarkdownTextObject(text=shorten("  ·  ".join(parts), SECTION_TEXT))])


def _facts(v: CardView) -> SectionBlock:
    r = v.release
    target = _date(r.targetReleaseDate) + (" ⏰" if _late(v) else "")
    fields = [
        f"*Version*\n{escape(r.version)} ({r.releaseType.value.title()})",
        f"*Branch*\n`{escape(r.branchRelease)}` from `{escape(r.baseBranch)}`",
        f"*Repository*\n{escape(shorten(r.repository, 200))}",
        f"*Pilot*\n{escape(r.pilot.name) if r.pilot else '—'}", f"*Created by*\n{escape(r.createdBy.name)}",
        f"*Planned*\n{_date(r.plannedDate)}", f"*Target date*\n{target}",
    ]
    if v.release_date:
        fields.append(f"*Released*\n{_date(v.release_date)}")
    if epics_text(r):
        fields.append(f"*Epics*\n{epics_text(r)}")
    return SectionBlock(fields=[MarkdownTextObject(text=f) for f in fields])


def epics_text(r: ReleaseView) -> str:
    """The release's epics by platform, linked to Jira's browse page (Linear keys stay plain: its URL needs the workspace)."""
    base = (r.ticketBaseUrl or "").rstrip("/") if r.ticket and r.ticket.type == "JIRA" else ""
    keys = (("iOS", r.iOSEpicId), ("Android", r.androidEpicId), ("Web", r.webEpicId))
    return " · ".join(f"{platform} {link(f'{base}/browse/{key}' if base else None, escape(shorten(key, 40)))}"
                      for platform, key in keys if key)


def target_section(t: TargetView, v: CardView) -> SectionBlock:
    """One store target: its status and build, and the mark that comes next when the stage allows it."""
    text = f"🎯 *{escape(shorten(t.integration.name, 150))}*: {t.status.value.title()}"
    if t.buildNumber:
        text += f" · build {escape(t.buildNumber)}"
    step = NEXT_MARK.get(t.status)
    accessory = None
    if step and step[1] in v.actions and t.buildNumber:
        status, _, label = step
        accessory = ButtonElement(text=label, action_id=ActionId.MARK_TARGET, value=f"{status.value}:{v.release.id}:{t.id}",
                                  confirm=ConfirmObject(title=f"{label}?", confirm=label, deny="Not yet",
                                                        text=f"{shorten(t.integration.name, 80)} will be marked {status.value.lower()}."))
    store = v.stores.get(t.id)
    if store is not None:
        text += store_text(store)
    return SectionBlock(block_id=f"{BlockId.TARGET_PREFIX}{t.id}", text=MarkdownTextObject(text=shorten(text, SECTION_TEXT)),
                        accessory=accessory)


STORE_STYLE = {StoreAction.SUBMIT: "primary", StoreAction.RESUBMIT: "primary", StoreAction.RELEASE: "primary",
               StoreAction.COMPLETE: "primary", StoreAction.INCREASE: "primary", StoreAction.HALT: "danger",
               StoreAction.PAUSE: "danger"}


def store_text(store: StoreView) -> str:
    """The store's last word on a target: its state, rollout, a rejection's reason, what is being done, a problem."""
    text = ""
    if store.line:
        text += f"\n🏪 {escape(shorten(store.line, 300))}"
    if store.reason:
        text += f"\n❗ {escape(shorten(store.reason, 600))}"
    if store.owed:
        text += f"\n⏳ {escape(STORE_LABELS[store.owed])}: asked, waiting for the store"
    if store.problem:
        text += f"\n⚠️ {escape(shorten(store.problem, 600))}"
    return text


def store_buttons(t: TargetView, v: CardView) -> ActionsBlock | None:
    """The store actions a target's state allows now (none while one is being done); core checks who may."""
    store = v.stores.get(t.id)
    status = v.release.status
    if store is None or store.owed is not None or status not in AT_STORE_STATUSES:
        return None
    ready = status in SUBMITTING and t.buildNumber and (status != ReleaseStatus.REGRESSION_IN_PROGRESS or v.cycle_passed)
    actions = [a for a in store.allowed if a != StoreAction.SUBMIT or ready]
    if not actions:
        return None
    return ActionsBlock(block_id=f"{BlockId.STORE_PREFIX}{t.id}", elements=[
        ButtonElement(text=STORE_LABELS[a], action_id=f"{ActionId.STORE_PREFIX}{a.value}", value=f"{v.release.id}:{t.id}",
                      style=STORE_STYLE.get(a)) for a in actions[:5]])


def target_blocks(t: TargetView, v: CardView) -> list:
    """A target's section and, when its store allows something now, its store buttons."""
    buttons = store_buttons(t, v)
    return [target_section(t, v)] + ([buttons] if buttons else [])


TASK_ICON = {TaskState.PENDING: "🔄", TaskState.DONE: "✅", TaskState.FAILED: "❌", TaskState.SKIPPED: "⏭️"}
TASK_NAMES = {"release-branch": "Release branch", "changelog": "Changelog", "epics": "Epics"}
RESULT_IN_THREAD = {"changelog"}  # its result is the stored list of commits, posted in the thread instead
RESULT_IN_FACTS = {"epics"}  # its result (ios:MOB-1 android:MOB-2) is the Epics fact, linked


def tasks_blocks(v: CardView) -> list:
    """Kickoff's chores while the release kicks off (or when one failed): done, running, or failed with
    what to do and a Retry (anyone) and Skip (admins) button."""
    if not v.tasks or (v.release.status != ReleaseStatus.PENDING and all(t.state != TaskState.FAILED for t in v.tasks)):
        return []
    lines = []
    for t in v.tasks:
        line = f"{TASK_ICON[t.state]} {TASK_NAMES.get(t.task, t.task)}"
        if t.result and t.state == TaskState.DONE and t.task not in RESULT_IN_THREAD | RESULT_IN_FACTS:
            line += f" · `{escape(shorten(t.result, 12))}`"
        if t.lastError and t.state != TaskState.DONE:
            line += f"\n⚠️ {escape(shorten(t.lastError, 600))}"
        lines.append(line)
    blocks = [SectionBlock(text=MarkdownTextObject(text=shorten("*Kickoff*\n" + "\n".join(lines), SECTION_TEXT)))]
    failed = [t for t in v.tasks if t.state == TaskState.FAILED][:2]
    if failed:
        blocks.append(ActionsBlock(block_id=BlockId.TASKS, elements=[
            ButtonElement(text=f"{verb} {TASK_NAMES.get(t.task, t.task).lower()}"[:75], action_id=action,
                          value=f"{v.release.id}:{t.task}", style="primary" if action == ActionId.RETRY_TASK else None)
            for t in failed for verb, action in (("Retry", ActionId.RETRY_TASK), ("Skip", ActionId.SKIP_TASK))]))
    return blocks


def _button(p: PipelineView, status: ReleaseStatus) -> ButtonElement | None:
    if p.buildStatus == BuildStatus.RUNNING:
        return ButtonElement(text="Abort", action_id=ActionId.ABORT_BUILD, value=p.id, style="danger",
                             confirm=ConfirmObject(title="Abort this build?", confirm="Abort", deny="Keep it running",
                                                   text=f"The {shorten(p.integration.name, 80)} build will be stopped."))
    if status not in BUILDS_ALLOWED:  # during regression and after: what was tested is what ships
        return None
    if p.buildStatus == BuildStatus.PENDING and not p.triggered:
        return ButtonElement(text="Trigger build", action_id=ActionId.TRIGGER_BUILD, value=p.id, style="primary")
    return ButtonElement(text="Retry build", action_id=ActionId.RETRY_BUILD, value=p.id,
                         confirm=ConfirmObject(title="Start a new build?", confirm="Build again", deny="Cancel",
                                               text=f"{shorten(p.integration.name, 80)} will build the release branch again."))


def pipeline_section(p: PipelineView, status: ReleaseStatus = ReleaseStatus.STARTED) -> SectionBlock:
    """One pipeline: its build status, link and the button that fits its state and the release's stage."""
    line = f"{STATUS_ICON[p.buildStatus]} {p.buildStatus.value.title()}"
    if p.buildNumber:
        line += f" · build #{escape(p.buildNumber)}"
    if p.buildUrl:
        line += f" · {link(p.buildUrl, 'open')}"
    if p.triggeredBy and p.triggered:
        line += f" · started by {escape(shorten(p.triggeredBy, 80))}"
    if p.problem:  # why it failed to start, was lost, or is being retried: the card says it, not only the log
        line += f"\n⚠️ {escape(shorten(p.problem, 600))}"
    text = f"*{escape(shorten(p.integration.name, 150))}*  ({p.integration.type.replace('_', ' ').title()})\n{line}"
    return SectionBlock(block_id=f"{BlockId.PIPELINE_PREFIX}{p.id}", text=MarkdownTextObject(text=text),
                        accessory=_button(p, status))


def stage_buttons(actions, release_id: str) -> list[ButtonElement]:
    """The buttons of the stage steps among `actions` (on the card, and on the Home tab for one's own next steps)."""
    elements = []
    for action, (label, style, confirm) in STAGE_BUTTONS.items():
        if action in actions:
            elements.append(ButtonElement(
                text=label, action_id=f"{ActionId.STAGE_PREFIX}{action.value}", value=release_id, style=style,
                confirm=ConfirmObject(title=f"{label}?", text=confirm, confirm=label, deny="Not now") if confirm else None))
    return elements


def _stage_actions(v: CardView) -> ActionsBlock | None:
    elements: list = stage_buttons(v.actions, v.release.id)
    menu = [Option(text=label, value=f"{action.value}:{v.release.id}") for action, label in MENU.items() if action in v.actions]
    if menu:
        elements.append(OverflowMenuElement(action_id=ActionId.RELEASE_MENU, options=menu))
    return ActionsBlock(block_id=BlockId.STAGE_ACTIONS, elements=elements) if elements else None


def release_card(v: CardView) -> list[dict]:
    """The card's blocks; 6 targets and 12 pipelines fit well within Slack's 50-block limit."""
    r = v.release
    blocks = [HeaderBlock(text=shorten(f"🚀 Release {r.releaseKey}", 150)), _headline(v), _facts(v)]
    if r.description:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=shorten(escape(r.description), SECTION_TEXT))))
    blocks += tasks_blocks(v)
    blocks.append(DividerBlock())
    room = MESSAGE_BLOCKS - FIXED_BLOCKS - 2
    shown = [b for t in r.targets[:room // 3] for b in target_blocks(t, v)]
    blocks += shown
    room -= len(shown)
    blocks += [pipeline_section(p, r.status) for p in r.pipelines[:room]]
    if len(r.pipelines) > room:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"+{len(r.pipelines) - room} more pipelines: `releasebot release show {r.releaseKey}` lists them")]))
    elif not r.pipelines:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="No pipelines were chosen for this release.")]))
    actions = _stage_actions(v)
    if actions:
        blocks.append(actions)
    return [b.to_dict() for b in blocks]


def card_fallback_text(r: ReleaseView) -> str:
    """The notification text of the card (shown where blocks are not)."""
    return f"Release {r.releaseKey} ({r.releaseType.value.title()}) on {r.branchRelease}: {r.status.value.replace('_', ' ').lower()}"
