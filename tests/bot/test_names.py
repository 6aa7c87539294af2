"""A person releasebot first knew by their Slack id only (the app's installer, a pilot Slack would not name) is
named by their first request of their own, through the real server: the name the payload carries, once."""
from __future__ import annotations

from sqlalchemy import select

from core.models import Account
from core.services import tenants


def name_of(running_bot, world, user_id: str) -> str:
    with running_bot.runtime.reading() as s:
        return s.scalar(select(Account.displayName).where(Account.tenantId == world.tenant.id, Account.slackUserId == user_id))


def test_a_person_known_by_id_is_named_by_their_first_request_and_a_known_name_is_kept(running_bot, world):
    with running_bot.runtime.unit_of_work() as s:
        tenants.ensure_account(s, tenant_id=world.tenant.id, slack_user_id="U0LINUS", display_name="U0LINUS")
    assert running_bot.as_user("U0LINUS", "linus").command("list").status_code == 200
    assert name_of(running_bot, world, "U0LINUS") == "linus"
    assert running_bot.as_user("U0LINUS", "torvalds").command("list").status_code == 200  # a handle changed since
    assert name_of(running_bot, world, "U0LINUS") == "linus"  # a name once learnt is not taken from payloads
    admin = world.admin.slackUserId
    assert running_bot.as_user(admin, "someone").command("list").status_code == 200
    assert name_of(running_bot, world, admin) == world.admin.displayName
