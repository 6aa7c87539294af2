"""An attacker's review, continued: signed payloads that pass the parsing layer but trip Bolt itself.

Bolt builds every listener's and error handler's arguments from the payload (slack_bolt.kwargs_injection.utils
calls request.payload_utils.to_step on every request): what it reads there without guarding must be checked by
bot/payloads.py first, or Bolt raises outside any listener (500, a traceback in the log)."""
from __future__ import annotations

import logging

from tests.bot.test_attacker_review import server_errors
from tests.bot.test_create_flow import modal_of, releases_of, values


def submit_view(running_bot, world, caplog, change):
    user = running_bot.as_user()
    user.command("create")
    modal = change(dict(modal_of(running_bot.slack)))
    with caplog.at_level(logging.INFO):
        return user.view_submission(modal, values(world))


def test_a_signed_submission_whose_view_has_no_type_gets_a_4xx_not_bolts_key_error(running_bot, world, caplog):
    """Held since 52c7df2 (the fuzz test found it only by chance): Bolt reads body["view"]["type"] unguarded."""
    answer = submit_view(running_bot, world, caplog, lambda view: {k: v for k, v in view.items() if k != "type"})
    assert 400 <= answer.status_code < 500, answer.text
    assert server_errors(caplog) == [] and releases_of(running_bot, world) == []


def test_a_signed_submission_of_a_workflow_step_view_gets_a_4xx_not_bolts_key_error(running_bot, world, caplog):
    answer = submit_view(running_bot, world, caplog, lambda view: {**view, "type": "workflow_step"})
    assert 400 <= answer.status_code < 500, answer.text
    assert server_errors(caplog) == [] and releases_of(running_bot, world) == []
