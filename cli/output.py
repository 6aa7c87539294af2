"""Printing results: a short table for people, JSON for scripts."""
from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import click

from core.logs import escape


def plain(value: Any) -> Any:
    """JSON-ready form of dataclasses, ORM rows, enums and dates."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "__table__"):
        return {c.key: plain(getattr(value, c.key)) for c in value.__table__.columns
                if c.key != "encryptedCredentials"}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def emit(obj: Any, *, as_json: bool, lines: Iterable[str] | str = ()) -> None:
    """Print `obj` as JSON, or the human `lines`."""
    if as_json:
        click.echo(json.dumps(plain(obj), indent=2, ensure_ascii=False))
        return
    for line in [lines] if isinstance(lines, str) else lines:
        # Names come from Slack: a terminal escape sequence in one must not reach the operator's terminal.
        click.echo("\n".join(escape(part) for part in str(line).split("\n")))


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    """Rows padded into columns."""
    cells = [headers] + [[("" if c is None else str(c)) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
