"""Work: verify the integrations an admin added, edited or asked to re-check from Slack, and tell them.

The provider is called here, outside any transaction and outside Slack's 3 seconds; the owed row is
claimed first with a conditional update, so two workers never verify it twice. The outcome is stored on
the integration, then the person who asked is told (best effort: the integration's status is the record)."""
from __future__ import annotations

import logging

from core.enums import TaskState
from core.errors import ConfigurationError, NotFoundError
from core.models import IntegrationVerification
from core.runner.context import RunnerContext
from core.services import builds, verification
from core.services.verification import VerificationOutcome

log = logging.getLogger("releasebot.runner")


class Verifications:
    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self) -> list[str]:
        """Owed verifications no worker holds."""
        with self.ctx.runtime.reading() as s:
            return verification.due_verifications(s)

    def run(self, verification_id: str) -> None:
        """Verify one integration, store the outcome, tell whoever asked."""
        rt = self.ctx.runtime
        with rt.unit_of_work() as s:
            owed = s.get(IntegrationVerification, verification_id)
            if owed is None or not builds.claim(s, IntegrationVerification, verification_id,
                                                IntegrationVerification.state == TaskState.PENDING,
                                                worker=self.ctx.worker, lease=self.ctx.lease):
                return
            record, checked = True, None
            try:
                check = verification.prepared_check(s, tenant_id=owed.tenantId, integration_id=owed.integrationId,
                                                    cipher=rt.cipher, ctx=rt.provider_context)
                # What the check is of: an edit committed while the provider is asked is not marked verified by it.
                checked = verification.checked_settings(s, tenant_id=owed.tenantId, integration_id=owed.integrationId)
            except NotFoundError:
                check = "it was removed before it could be verified"
            except ConfigurationError as exc:  # the operator's keys, not the integration's fault: not recorded on it
                check, record = f"the bot cannot read its stored credentials ({exc})", False
        error = verification.run_check(check)
        with rt.unit_of_work() as s:
            outcome = verification.finish_verification(s, verification_id=verification_id, error=error, record=record,
                                                       checked=checked)
        if outcome is None:  # edited meanwhile: owed again, checked with its new settings
            self.ctx.wake()
            return
        self._tell(outcome)

    def _tell(self, outcome: VerificationOutcome) -> None:
        tell = getattr(self.ctx.announcer, "tell_verification", None)
        if tell is None or outcome.notify_slack_user is None:
            return
        try:
            tell(outcome)
        except Exception:  # noqa: BLE001 — telling is best effort: the integration's status holds the outcome
            log.warning("could not tell %s the outcome of a verification", outcome.notify_slack_user, exc_info=True)
