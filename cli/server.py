"""`releasebot serve`: the Slack bot over HTTP (waitress) or Socket Mode."""
from __future__ import annotations

import logging

import click
import waitress

from bot.app import LISTENER_THREADS, build_app
from bot.web import WebApp
from core.runtime import Runtime

log = logging.getLogger("releasebot")
pass_runtime = click.make_pass_decorator(Runtime)


def make_server(runtime: Runtime, host: str, port: int):
    """A waitress server for the bot (not yet listening to requests until `.run()`)."""
    web = WebApp(build_app(runtime), runtime)
    return waitress.create_server(web, host=host, port=port, threads=LISTENER_THREADS, ident="releasebot")


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
@pass_runtime
def serve(rt: Runtime, host: str, port: int, no_migrate: bool) -> None:
    """Run the Slack bot: HTTP on /slack/events (or Socket Mode when SLACK_APP_TOKEN is set)."""
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not no_migrate:
        rt.migrate()
    rt.require_current_schema()
    if rt.settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("releasebot: Socket Mode")
        SocketModeHandler(build_app(rt), rt.settings.slack_app_token).start()
        return
    server = make_server(rt, host, port)
    log.info("releasebot: listening on http://%s:%s/slack/events", host, server.effective_port)
    server.run()


COMMANDS = (serve,)
