"""`releasebot secrets`: the keys that encrypt stored credentials."""
from __future__ import annotations

import click

from cli.options import JSON, pass_runtime, ready
from cli.output import emit
from core.crypto import generate_key
from core.runtime import Runtime
from core.services import integration_writes


@click.group()
def secrets() -> None:
    """Keys that encrypt stored credentials."""


@secrets.command("generate-key")
@JSON
def secrets_generate_key(as_json: bool) -> None:
    """Print a new key for RELEASEBOT_SECRET_KEYS (put it first to rotate)."""
    key = generate_key()
    emit({"key": key}, as_json=as_json, lines=key)


@secrets.command("rotate")
@JSON
@pass_runtime
def secrets_rotate(rt: Runtime, as_json: bool) -> None:
    """Re-encrypt every stored credential with the first key of RELEASEBOT_SECRET_KEYS."""
    with ready(rt).unit_of_work() as s:
        count = integration_writes.reencrypt_all(s, cipher=rt.cipher)
    emit({"reencrypted": count}, as_json=as_json,
         lines=f"re-encrypted {count} credentials with the newest key; older keys can now be removed")
