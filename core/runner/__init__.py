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
- after Slack accepted a card or a thread reply, before it was marked done (or when Slack's answer is
  lost: a timeout, a dropped connection): chat.postMessage takes no idempotency key, so every card and
  reply carries metadata naming its row, and a retry first looks for it (the channel's recent history,
  the card's thread) and stores the one it finds. Only when Slack will not let the bot read there (a
  workspace installed before the history scopes: missing_scope) is it posted again.
"""
from core.runner.context import Announcement, Announcer, BuildFacts
from core.runner.loop import Runner

__all__ = ["Announcement", "Announcer", "BuildFacts", "Runner"]
