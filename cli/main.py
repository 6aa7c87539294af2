"""`releasebot`: the console entry point. Errors are one line on stderr and a non-zero exit."""
from __future__ import annotations

import importlib
import logging
import os
import sys
import uuid

import click

from core import logs
from core.errors import ReleasebotError

log = logging.getLogger("releasebot")

# Every command, where it lives and its one-line help: `releasebot --help`, `--version` and shell completion
# list them without importing SQLAlchemy, pydantic or Bolt (a test keeps these lines equal to the commands' own).
COMMANDS = {
    "account": ("cli.accounts", "People of a workspace and their roles."),
    "db": ("cli.schema", "The database schema."),
    "integration": ("cli.integrations", "A workspace's source control, store targets, pipelines, channels and trackers."),
    "release": ("cli.releases", "Releases of a workspace."),
    "secrets": ("cli.secret_keys", "Keys that encrypt stored credentials."),
    "serve": ("cli.server", "Run the Slack bot: HTTP on /slack/events (or Socket Mode when SLACK_APP_TOKEN is set)."),
    "tenant": ("cli.tenants", "Workspaces (tenants)."),
    "worker": ("cli.server", "Follow builds and deliver notifications only (run several against one MySQL, or one SQLite file on one machine)."),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(COMMANDS[name][0]), name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in sorted(COMMANDS.items())])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="releasebot", prog_name="releasebot")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """releasebot: run mobile releases from Slack. Admin commands manage the same data as Slack."""
    from core.config import Settings
    from core.runtime import Runtime

    settings = Settings.from_env()  # every setting is checked here, before any command touches anything
    logs.configure(settings.log_level_or(logging.WARNING), json=settings.log_format == "json")
    ctx.obj = Runtime(settings)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; never shows a stack trace to a person."""
    try:
        result = cli.main(args=argv, prog_name="releasebot", standalone_mode=False)
        return result if isinstance(result, int) else 0  # click returns Exit codes in this mode
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return 1
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except Exception as exc:
        return _failed(exc)


def _failed(exc: Exception) -> int:
    """Settings, database and unexpected failures (their modules are imported only by commands that ran)."""
    from sqlalchemy.exc import DBAPIError

    from core.config import SettingsError
    from core.db import describe_database_error

    if isinstance(exc, SettingsError):  # every problem at once, one line each
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        return 1
    if isinstance(exc, DBAPIError):  # the database went away mid-command: say which and why, not an incident id
        click.echo(f"error: {describe_database_error(exc)}", err=True)
        return 1
    if isinstance(exc, ReleasebotError):
        click.echo(f"error: {exc}", err=True)
        return 1
    # The last line of defence: an id to find in the log, no trace on the screen.
    incident = uuid.uuid4().hex[:12]
    log.error("unexpected failure %s", incident, exc_info=os.environ.get("RELEASEBOT_DEBUG", "").lower() in ("1", "true"))
    click.echo(f"error: unexpected failure (id {incident}); set RELEASEBOT_DEBUG=1 to log the details", err=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
