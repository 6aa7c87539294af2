"""`releasebot db`: the database schema."""
from __future__ import annotations

import click

from cli.options import JSON, pass_runtime
from cli.output import emit
from core.runtime import Runtime


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@JSON
@pass_runtime
def db_upgrade(rt: Runtime, as_json: bool) -> None:
    """Apply every pending migration."""
    before, after = rt.migrate()
    emit({"upgraded": True, "from": before, "to": after, "url": rt.engine.url.render_as_string(hide_password=True)}, as_json=as_json,
         lines=f"schema up to date at {rt.engine.url.render_as_string(hide_password=True)}")
