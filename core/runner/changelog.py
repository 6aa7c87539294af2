"""Work: the changelog kickoff task. The commits the base branch has and the previous release's branch has
not, asked of the release's SCM; stored as the task's result, then posted once in the card's thread."""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from core.enums import IntegrationKind, TicketType
from core.errors import IntegrationError
from core.integrations.base import ScmClient
from core.models import Release, ScmIntegration, TicketIntegration
from core.runner import epics
from core.runner.build_steps import CLIENT_ERRORS
from core.runner.context import RunnerContext
from core.services import changelog as service
from core.services.verification import config_of

log = logging.getLogger("releasebot.runner")


def collect(scm: ScmClient, since: str | None, base: str, tickets: Callable[[], str | None] | None = None) -> str:
    """Ask the SCM for the commits (and a Linear workspace where its issues are) and return them as the task's
    stored result."""
    store = partial(service.to_json, base=base, tickets=tickets() if tickets else None)
    if since is None:
        return store(scm.compare(None, base, service.FIRST_RELEASE_LIMIT), since=None)
    try:
        return store(scm.compare(since, base, service.FETCH_LIMIT), since=since)
    except IntegrationError as exc:
        if exc.status != 404 or _exists(scm, since):
            raise
    # The previous release's branch was deleted since: the base branch's newest commits, saying so.
    return store(scm.compare(None, base, service.FIRST_RELEASE_LIMIT), since=None, gone=since)


def linear_web_url(ctx: RunnerContext, s, release: Release) -> Callable[[], str | None] | None:
    """For a release tracked in Linear: a call asking Linear where its issues are shown, so the changelog can
    link their keys (Jira's links come from its stored base URL). Best effort: no answer, no links."""
    row = s.get(TicketIntegration, release.ticketIntegrationId) if release.ticketIntegrationId else None
    if row is None or row.ticketType != TicketType.LINEAR:
        return None
    try:
        client = epics.ticket_client(ctx, s, row.id)
    except CLIENT_ERRORS as exc:
        log.warning("no Linear links in the changelog of %s: %s", release.releaseKey, type(exc).__name__)
        return None

    def ask() -> str | None:
        try:
            return client.web_url()
        except CLIENT_ERRORS as exc:
            log.warning("no Linear links in the changelog of %s: %s", release.releaseKey, exc)
            return None
    return ask


def _exists(scm: ScmClient, branch: str) -> bool:
    try:
        scm.branch_head(branch)
    except IntegrationError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def changelog(ctx: RunnerContext, s, release: Release):
    """List what the base branch gained since the previous release's branch (or its newest commits)."""
    from core.runner.kickoff import Chore  # kickoff's registry imports this module

    row = s.get(ScmIntegration, release.scmIntegrationId)
    since = service.previous_branch(s, release)
    what = f"list the commits of {release.baseBranch} since {since}" if since else f"list the newest commits of {release.baseBranch}"
    try:
        scm = ctx.clients.get(IntegrationKind.SCM, config_of(s, IntegrationKind.SCM, row, ctx.runtime.cipher))
        call = partial(collect, scm, since, release.baseBranch, linear_web_url(ctx, s, release))
    except CLIENT_ERRORS as exc:  # a key that decrypts nothing, an address the guard refuses
        call = partial(_fail, exc)
    return Chore(what, row.displayName, call)


def _fail(exc: Exception) -> str:
    # A client that cannot be built fails like a call would, outside the transaction, with the same advice.
    raise exc
