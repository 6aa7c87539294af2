"""`view_submission` of the create modal: validate in core, answer inline errors or post the card."""
from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.modal import origin_channel
from bot.errors import reported
from bot.ids import BlockId, CallbackId
from bot.listeners.parse import draft_from, input_problems, pilot_user, state_values
from core.errors import ValidationError
from core.runner import Runner
from core.runtime import Runtime
from core.services.cards import card_channel, mark_stale, owe_card
from core.services.release_creation import create_release, created_by_request
from core.services.tenants import ensure_account, find_account

log = logging.getLogger("releasebot.bot")
FIELD_BLOCKS = {b.value for b in BlockId}


def inline_errors(error: ValidationError) -> dict[str, str]:
    """Core's problems keyed by the modal block they concern."""
    return {(f if f in FIELD_BLOCKS else BlockId.VERSION.value): m for f, m in error.by_field().items()}


def _pilot_account(runtime: Runtime, tenant_id: str, slack_user: str | None) -> str | None:
    # Only an id `input_problems` accepted gets here: a garbage id never becomes an account.
    if not slack_user:
        return None
    return runtime.retrying(lambda session: ensure_account(
        session, tenant_id=tenant_id, slack_user_id=slack_user, display_name=slack_user)).id


def _slack_name(client: WebClient, slack_user: str) -> str | None:
    """The person's name as Slack knows it; None (and a warning) when Slack cannot say."""
    try:
        profile = client.users_info(user=slack_user).get("user")
    except (SlackApiError, SlackClientError, OSError) as error:  # Slack said no, or could not be reached
        log.warning("users.info failed for the pilot of a new release: %s",
                    error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__)
        return None
    name = (profile.get("real_name") or profile.get("name")) if isinstance(profile, dict) else None
    if not isinstance(name, str) or not name:
        log.warning("users.info answered without a name for the pilot of a new release")
        return None
    return name[:255]


def _learn_pilot_name(runtime: Runtime, client: WebClient, tenant_id: str, slack_user: str | None, release_id: str) -> None:
    """After the ack: the pilot's display name, asked of Slack once; on failure the id stays as the name."""
    if not slack_user:
        return
    with runtime.reading() as session:
        if find_account(session, tenant_id=tenant_id, ref=slack_user).displayName != slack_user:
            return  # the name is known already
    name = _slack_name(client, slack_user)
    if name is None:
        return
    with runtime.unit_of_work() as session:
        ensure_account(session, tenant_id=tenant_id, slack_user_id=slack_user, display_name=slack_user).displayName = name
        mark_stale(session, release_id=release_id)  # a card drawn meanwhile showed the id: redraw it with the name


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    @app.view(CallbackId.CREATE_RELEASE)
    def submit(ack: Ack, body: dict, view: dict, context: BoltContext, client: WebClient) -> None:
        tenant_id = context["tenant_id"]
        with runtime.reading() as session:
            repeated = created_by_request(session, tenant_id=tenant_id, request_key=view["id"])
        if repeated:  # Slack delivered this submission again: the first delivery does the rest
            ack()
            return
        state = state_values(view)
        problems = input_problems(state)
        if problems:  # checked before anything is written: a garbage pilot id never becomes an account
            ack(response_action="errors", errors=inline_errors(ValidationError(problems)))
            return
        pilot = _pilot_account(runtime, tenant_id, pilot_user(state))
        origin = origin_channel(view.get("private_metadata"))
        try:
            with runtime.unit_of_work() as session:
                # The view id makes a repeated submission return the release the first one created.
                release = create_release(session, tenant_id=tenant_id, actor_account_id=context["account_id"],
                                         draft=draft_from(state, pilot), request_key=view["id"])
                # The card is owed in the same transaction: the runner posts it, once, and retries until it can.
                owe_card(session, tenant_id=tenant_id, release_id=release.id, origin_channel_id=origin,
                         channel_id=card_channel(release, origin) or context.user_id, requested_by=context["account_id"])
        except ValidationError as error:
            if _created_meanwhile(runtime, tenant_id, view["id"]):  # a racing delivery of this submission won
                ack()
                return
            ack(response_action="errors", errors=inline_errors(error))
            return
        ack()
        follower.wake()  # the card is owed: the runner posts it while Slack is asked for the pilot's name
        with reported(body, client):  # after the ack, nothing may reach Bolt
            _learn_pilot_name(runtime, client, tenant_id, pilot_user(state), release.id)


def _created_meanwhile(runtime: Runtime, tenant_id: str, view_id: str) -> bool:
    with runtime.reading() as session:
        return created_by_request(session, tenant_id=tenant_id, request_key=view_id) is not None
