"""One wake rule for what the runner follows (a running build, a target's store): a webhook or a click makes the
row due at once, and the runner, recording what it asked meanwhile, keeps it due rather than pushing it back."""
from __future__ import annotations

from datetime import datetime, timedelta

from core.clock import utcnow

# Before any real time: the runner's next round takes a woken row before the rows merely due a poll (it takes them
# earliest due first), so its card and thread line follow at once.
AT_ONCE = datetime(2000, 1, 1)


def wake(next_check: datetime | None) -> datetime:
    """The nextCheckAt that wakes a row whose nextCheckAt is `next_check` (read locked, as committed): a second before
    both AT_ONCE and it, so a value the runner has never read. With one fixed value, a wake after another (GitHub's
    `in_progress`, then `completed` while the runner asks about the first) would look like the one already read."""
    return min(next_check or AT_ONCE, AT_ONCE) - timedelta(seconds=1)


def woken(looked_at: datetime | None, next_check: datetime | None) -> datetime | None:
    """When to look again if the row was woken while the runner asked (its nextCheckAt, read locked, moved from
    `looked_at`, what the runner read before asking): at once. None if it was not."""
    if looked_at is None or next_check is None or next_check == looked_at:
        return None
    return min(next_check, utcnow())
