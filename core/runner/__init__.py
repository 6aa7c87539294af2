"""The runner: does the work listeners and the CLI only record (start and follow builds, post and
redraw cards, deliver thread replies). One module per kind of work; `loop` runs them all.

It runs inside `releasebot serve` and as `releasebot worker`. Every step claims its row with a
conditional update first, so several processes on one database never do the same work twice.
Calls to CIs and Slack happen outside database transactions.

What happens when a process dies:
- after an intent is recorded, before the CI is called: the build stays REQUESTED and unclaimed;
  the next round of any runner starts it;
- after a runner claimed it, before or after the CI answered: the claim lapses; the next runner
  sees the build was claimed before and first asks the CI for a build carrying the build's
  idempotency key, triggering only if there is none (cutting the release branch is idempotent);
- while following: the claim lapses and another runner polls it; state changes are idempotent;
- after a card or a thread reply was posted, before it was marked done: it is posted again (the one
  window where a message can repeat; Slack offers no idempotency key for chat.postMessage).
"""
from core.runner.context import Announcement, Announcer, BuildFacts
from core.runner.loop import Runner

__all__ = ["Announcement", "Announcer", "BuildFacts", "Runner"]
