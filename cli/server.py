"""`releasebot serve` (the Slack bot over HTTP or Socket Mode, with its follower) and `releasebot worker`."""
from __future__ import annotations

import logging

import click

from bot.app import build_bot, make_follower, slack_clients
from cli.http_server import listening, serve_until_terminated
from cli.options import pass_runtime
from cli.shutdown import Termination, stop_runner
from cli.workers import serve_workers
from core import logs
from core.errors import ConfigurationError
from core.runtime import Runtime

log = logging.getLogger("releasebot")


def _prepare(rt: Runtime, migrate: bool) -> None:
    # A server says what it does unless told otherwise.
    logs.configure(rt.settings.log_level_or(logging.INFO), json=rt.settings.log_format == "json")
    if migrate:
        before, after = rt.migrate()
        if before == after:
            log.info("database schema already at %s", after)
        else:
            log.info("database schema migrated from %s to %s", before or "nothing", after)
    rt.require_current_schema()


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
@click.option("--no-follower", is_flag=True, help="Leave following builds to `releasebot worker` processes.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="HTTP processes sharing the port (the follower runs in the first); about one per core.")
@pass_runtime
def serve(rt: Runtime, host: str, port: int, no_migrate: bool, no_follower: bool, workers: int) -> None:
    """Run the Slack bot: HTTP on /slack/events (or Socket Mode when SLACK_APP_TOKEN is set)."""
    _prepare(rt, not no_migrate)
    if workers > 1 and not rt.settings.slack_app_token:
        serve_workers(rt, host, port, workers, follower=not no_follower)
        return
    if rt.settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        bot = build_bot(rt)
        if not no_follower:
            bot.follower.start()
        log.info("releasebot: Socket Mode")
        SocketModeHandler(bot.app, rt.settings.slack_app_token).start()
        return
    termination = Termination.install()
    server, bot = listening(rt, host, port)
    following = bot.follower.start() if not no_follower else None
    log.info("releasebot: listening on http://%s:%s/slack/events", host, server.effective_port)
    if rt.settings.oauth_enabled:
        log.info("releasebot: OAuth mode: workspaces install from http://%s:%s/slack/install", host, server.effective_port)
    serve_until_terminated(server, termination, rt.settings.shutdown_seconds)
    deadline = termination.deadline(rt.settings.shutdown_seconds)
    if following:
        stop_runner(bot.follower, *following, deadline)
    log.info("releasebot: stopped")


@click.command()
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), help="Serve Prometheus metrics on this port (/metrics).")
@click.option("--metrics-host", default="0.0.0.0", show_default=True, help="The address --metrics-port listens on.")
@pass_runtime
def worker(rt: Runtime, no_migrate: bool, metrics_port: int | None, metrics_host: str) -> None:
    """Follow builds and deliver notifications only (run several against one MySQL, or one SQLite file on one machine)."""
    _prepare(rt, not no_migrate)
    termination = Termination.install()
    follower = make_follower(rt, slack_clients(rt))
    if metrics_port:
        _serve_metrics(rt, follower, metrics_host, metrics_port)
    thread, stop = follower.start()
    while not termination.requested:
        thread.join(0.5)
    stop_runner(follower, thread, stop, termination.deadline(rt.settings.shutdown_seconds))
    log.info("releasebot worker: stopped")


def _serve_metrics(rt: Runtime, runner, host: str, port: int) -> None:
    from prometheus_client import start_http_server

    from core.metrics import registry_for

    try:
        start_http_server(port, host, registry=registry_for(rt, lambda: runner.last_round_at or runner.started_at))
    except OSError as exc:
        raise ConfigurationError(f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}): pick another "
                                 "--metrics-port") from None
    log.info("releasebot worker: metrics on http://%s:%s/metrics", host, port)
