"""What the end-to-end tests share: waiting for an asynchronous outcome, a release with one
verified pipeline and its card posted."""
from __future__ import annotations

import time
from datetime import timedelta

from bot.announcer import SlackAnnouncer
from core.enums import IntegrationKind
from core.runner import Runner
from core.runner.cards import Cards
from core.services import cards, integration_writes
from core.services.release_creation import create_release
from core.services.verification import verify_integration


def wait_for(probe, timeout: float = 15.0):
    """Poll `probe` until it returns something truthy, and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def release_with_pipeline(running_bot, world, *, provider: str, base_url: str, secrets: dict, job: str,
                          name: str = "Jenkins iOS CI"):
    """A release of `world` with one verified pipeline, its card posted: (release, channel, card ts)."""
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        view = integration_writes.add_integration(
            s, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider=provider, display_name=name,
            cipher=rt.cipher, base_url=base_url, secrets=secrets,
            fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": job})
    with rt.unit_of_work() as s:
        checked = verify_integration(s, tenant_id=world.tenant.id, integration_id=view.id, cipher=rt.cipher,
                                     ctx=rt.provider_context)
        assert checked.usable, checked.verificationError
    with rt.unit_of_work() as s:
        created = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                 draft=world.draft(target_ids=(world.ios.id,), pipeline_ids=(view.id,)))
    channel = world.channel.details["channelId"]
    return created, channel, post_card_now(rt, running_bot.bot.client, created, channel)


def post_card_now(runtime, client, release, channel: str) -> str:
    """Owe the release's card and run the runner's card step for it at once; returns the card's ts."""
    with runtime.unit_of_work() as s:
        cards.owe_card(s, tenant_id=release.tenantId, release_id=release.id, channel_id=channel)
    runner = Runner(runtime, SlackAnnouncer(client, runtime), worker="test", lease=timedelta(seconds=30), interval=1)
    runner.work(Cards).run(release.id)  # (a running bot's own runner may have claimed it first: then it posts it)

    def posted():
        with runtime.reading() as s:
            card = cards.get_card(s, tenant_id=release.tenantId, release_id=release.id)
            return card.messageTs if card is not None else None
    return wait_for(posted)
