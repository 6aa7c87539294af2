"""`releasebot`: the console entry point. Errors are one line on stderr and a non-zero exit."""
from __future__ import annotations

import logging
import os
import sys
import uuid

import click
from sqlalchemy.exc import DBAPIError

from cli import admin, releases, server
from core import logs
from core.config import Settings, SettingsError
from core.db import describe_database_error
from core.errors import ReleasebotError
from core.runtime import Runtime

log = logging.getLogger("releasebot")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """releasebot: run mobile releases from Slack. Admin commands manage the same data as Slack."""
    settings = Settings.from_env()  # every setting is checked here, before any command touches anything
    logs.configure(settings.log_level_or(logging.WARNING))
    ctx.obj = Runtime(settings)


for command in (*admin.COMMANDS, *releases.COMMANDS, *server.COMMANDS):
    cli.add_command(command)


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
    except SettingsError as exc:  # every problem at once, one line each
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        return 1
    except ReleasebotError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except DBAPIError as exc:  # the database went away mid-command: say which and why, not an incident id
        click.echo(f"error: {describe_database_error(exc)}", err=True)
        return 1
    except Exception:  # the last line of defence: an id to find in the log, no trace on the screen
        incident = uuid.uuid4().hex[:12]
        log.error("unexpected failure %s", incident, exc_info=os.environ.get("RELEASEBOT_DEBUG", "").lower() in ("1", "true"))
        click.echo(f"error: unexpected failure (id {incident}); set RELEASEBOT_DEBUG=1 to log the details", err=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
