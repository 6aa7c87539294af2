"""The one clock: now, as the naive UTC the DATETIME columns hold."""
from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as naive UTC to the second (the columns' precision on MySQL and SQLite alike)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
