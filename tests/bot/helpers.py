"""What the end-to-end tests share: the bot's server in a thread (and its database), waiting for an
asynchronous outcome, a release with one verified pipeline and its card posted."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from bot.announcer import SlackAnnouncer
from cli.http_server import make_server
from core.enums import IntegrationKind
from core.runner import Runner
from core.runner.cards import Cards
from core.runtime import Runtime
from core.services import cards, integration_writes
from core.services.release_creation import create_release
from core.services.verification import verify_integration


def database_url(engine, tmp_path) -> str:
    """The bot's database: a fresh SQLite file per test, or the shared MariaDB test database."""
    if engine.dialect.name == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    return engine.url.render_as_string(hide_password=False)


@contextmanager
def serving(runtime: Runtime):
    """The bot's server on a free loopback port, in a thread; yields (its URL, the bot). On the way out its
    worker threads are stopped and joined: left running, every test's 32 would pile up to thousands by the
    end of the run and slow everything after them."""
    server, bot = make_server(runtime, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", bot
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=10)
        thread.join(timeout=10)


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
