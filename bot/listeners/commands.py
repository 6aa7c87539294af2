"""`/release …`: open the create modal, show a release (posting its card if it has none), or answer with usage."""
from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.lifecycle_modals import cancel_modal
from bot.blocks.messages import release_summary, releases_list, usage
from bot.blocks.modal import ModalContext, create_release_modal, setup_needed_modal
from bot.errors import reported
from bot.ids import COMMAND
from bot.listeners.admins import admins_view
from bot.listeners.integrations import list_view
from core.enums import ENDED_RELEASE_STATUSES
from core.errors import NotFoundError
from core.lifecycle import Action
from core.runner import Runner
from core.runtime import Runtime
from core.services.card_view import card_view
from core.services.cards import get_card, repost_here
from core.services.integration_choices import release_form
from core.services.lifecycle import check_allowed
from core.services.release_rules import VERSION_MAX_LENGTH
from core.services.releases import find_release, list_releases


def create_modal(runtime: Runtime, tenant_id: str, channel_id: str | None, version: str | None) -> dict:
    """The create form, or what the workspace still lacks to create a release."""
    with runtime.lookup() as conn:
        form = release_form(conn, tenant_id=tenant_id)
    if form.missing:
        return setup_needed_modal(list(form.missing))
    return create_release_modal(ModalContext(channel_id, version, form.sole_scm))


def _show(runtime: Runtime, context: BoltContext, channel_id: str | None, ref: str) -> str:
    """The release's summary; a release without a posted card gets it owed in this channel."""
    def look(session):
        release = find_release(session, tenant_id=context["tenant_id"], ref=ref)
        card = get_card(session, tenant_id=context["tenant_id"], release_id=release.id)
        if card is None and channel_id:
            repost_here(session, tenant_id=context["tenant_id"], release_id=release.id, channel_id=channel_id,
                        requested_by=context["account_id"])
        return release, card.channelId if card else None

    try:
        release, card_channel = runtime.retrying(look)
    except NotFoundError as error:
        return f"⚠️ {error}"
    return release_summary(release, card_channel=card_channel, reposting=card_channel is None and bool(channel_id))


def _list(runtime: Runtime, context: BoltContext) -> str:
    """The workspace's live releases, newest first, each with its stage and where its card is."""
    tenant_id = context["tenant_id"]
    with runtime.reading() as session:
        live = [card_view(session, tenant_id=tenant_id, release_id=r.id)
                for r in list_releases(session, tenant_id=tenant_id, limit=50) if r.status not in ENDED_RELEASE_STATUSES]
        cards = {v.release.id: get_card(session, tenant_id=tenant_id, release_id=v.release.id) for v in live}
        channels = {rid: card.channelId for rid, card in cards.items() if card}
    return releases_list(live, channels)


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    @app.command(COMMAND)
    def release_command(ack: Ack, command: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
        words = (command.get("text") or "").split()
        sub = words[0].lower() if words else None
        if sub == "show" and len(words) > 1:
            ack(response_type="ephemeral", text=_show(runtime, context, command.get("channel_id"), words[1]))
            follower.wake()
            return
        if sub == "list":
            ack(response_type="ephemeral", text=_list(runtime, context))
            return
        if sub in ("integrations", "admins"):
            ack()  # admins get buttons, members a read-only list; core checks every change
            with reported(command, client):
                view = list_view(runtime, context) if sub == "integrations" else admins_view(runtime, context)
                client.views_open(trigger_id=command["trigger_id"], view=view)
            return
        if sub == "cancel" and len(words) > 1:
            ack()
            with reported(command, client):  # a release that cannot be cancelled (or by this person) gets why, not a form
                with runtime.reading() as session:
                    release = find_release(session, tenant_id=context["tenant_id"], ref=words[1])
                    check_allowed(session, tenant_id=context["tenant_id"], release_id=release.id,
                                  actor_account_id=context["account_id"], action=Action.CANCEL)
                client.views_open(trigger_id=command["trigger_id"], view=cancel_modal(release))
            return
        if sub != "create":
            ack(response_type="ephemeral", text=usage(None if sub in (None, "help") else sub))
            return
        ack()  # Slack wants an answer in 3 s; the trigger id is good for 3 s: open the modal at once.
        # The version only prefills the form (core checks it on submit); a long one is not worth sending to Slack.
        version = words[1] if len(words) > 1 and len(words[1]) <= VERSION_MAX_LENGTH else None
        with reported(command, client):  # after the ack, an error must not reach Bolt (it would drop the ack)
            modal = create_modal(runtime, context["tenant_id"], command.get("channel_id"), version)
            client.views_open(trigger_id=command["trigger_id"], view=modal)
