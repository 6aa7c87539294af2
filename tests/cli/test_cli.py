"""The `releasebot` command line: --json output, one-line errors with a non-zero exit."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from cli.main import main
from core.config import Settings
from core.crypto import generate_key
from core.runtime import Runtime
from core.services import integrations, tenants


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's working directory
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RELEASEBOT_SECRET_KEYS", generate_key())
    return tmp_path


def run(capsys, *args, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args, **kw):
    code, out, err = run(capsys, *args, "--json", **kw)
    assert code == 0, err
    return json.loads(out)


def test_help_lists_the_command_groups(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for group in ("db", "tenant", "account", "integration", "release", "secrets"):
        assert f"  {group}" in out


def test_a_command_on_an_unmigrated_database_says_how_to_fix_it(env, capsys):
    code, out, err = run(capsys, "tenant", "list")
    assert code == 1 and out == ""
    assert re.fullmatch(r"error: the database schema is at nothing, the code needs \d{4}: run `releasebot db upgrade`\n", err)


def test_usage_errors_are_one_line_with_exit_2(env, capsys):
    code, _, err = run(capsys, "release", "create", "--tenant", "T1")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: Missing option")


@pytest.fixture
def workspace(env, capsys):
    assert run(capsys, "db", "upgrade")[0] == 0
    tenant = run_json(capsys, "tenant", "add", "--name", "Acme", "--slack-team", "T100")
    admin = run_json(capsys, "account", "add", "--tenant", "T100", "--slack-user", "U1", "--name", "Ada",
                     "--role", "admin")
    return tenant, admin


def test_an_integration_is_stored_pending_with_secrets_from_a_file_or_stdin(workspace, capsys, env, monkeypatch):
    (env / "token.txt").write_text("ghp_from_a_file\n")
    scm = run_json(capsys, "integration", "add", "scm", "--tenant", "T100", "--provider", "github", "--name",
                   "App repo", "--field", "organization=acme", "--field", "repository=app",
                   "--secret", "token=@token.txt", "--no-verify")
    assert scm["verificationStatus"] == "PENDING" and scm["details"]["repository"] == "app"
    linear = run_json(capsys, "integration", "add", "ticket", "--tenant", "T100", "--provider", "linear", "--name",
                      "Linear", "--field", "projectKey=MOB", "--secret", "apiKey=-", "--no-verify",
                      stdin="lin_api_from_stdin\n", monkeypatch=monkeypatch)
    rt = Runtime(Settings.from_env())
    with rt.unit_of_work() as s:
        raw = s.execute(text("SELECT encryptedCredentials FROM tenant_scm_integrations")).scalar_one()
        _, row = integrations.get_row(s, tenant_id=workspace[0]["id"], integration_id=linear["id"])
        assert integrations.load_secrets(row, rt.cipher) == {"apiKey": "lin_api_from_stdin"}
    assert "ghp_from_a_file" not in raw
    listed = run_json(capsys, "integration", "list", "--tenant", "T100")
    assert {i["displayName"]: i["verificationStatus"] for i in listed} == {"App repo": "PENDING", "Linear": "PENDING"}
    assert all("ghp_" not in json.dumps(i) for i in listed)


def test_bad_input_is_one_line_naming_the_field(workspace, capsys):
    code, out, err = run(capsys, "integration", "add", "pipeline", "--tenant", "T100", "--provider", "jenkins",
                         "--name", "CI", "--field", "jobPath=x", "--no-verify")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "baseUrl: Jenkins needs its server URL" in err and "scmIntegrationId: Jenkins needs scmIntegrationId" in err


def test_a_release_cannot_use_an_unverified_repository(workspace, capsys):
    scm = run_json(capsys, "integration", "add", "scm", "--tenant", "T100", "--provider", "github", "--name",
                   "App repo", "--field", "organization=acme", "--field", "repository=app", "--secret", "token=x",
                   "--no-verify")
    code, _, err = run(capsys, "release", "create", "--tenant", "T100", "--by", "U1", "--version", "1.0.0",
                       "--scm", scm["id"], "--target", "nope")
    assert code == 1
    assert err.startswith("error: scmIntegrationId: source control “App repo” has not been verified yet")
    assert "targets: 1 of the chosen targets are not store targets of this workspace" in err


def test_a_release_is_created_listed_shown_and_cancelled(workspace, capsys):
    tenant, _ = workspace
    rt = Runtime(Settings.from_env())
    from tests.factories import World

    with rt.unit_of_work() as s:
        world = World(s, rt.cipher, existing_tenant=tenants.find_tenant(s, "T100"))
    created = run_json(capsys, "release", "create", "--tenant", "T100", "--by", "U1", "--version", "2.1.0",
                       "--scm", world.scm.id, "--target", world.ios.id, "--pipeline", world.ios_pipeline.id,
                       "--planned-date", "2026-12-01", "--description", "Holiday 🎄 release")
    assert created["releaseKey"] == "v2.1.0" and created["status"] == "KICKOFF_PENDING"
    assert created["pipelines"][0]["buildStatus"] == "PENDING" and created["description"] == "Holiday 🎄 release"
    assert [r["releaseKey"] for r in run_json(capsys, "release", "list", "--tenant", "T100")] == ["v2.1.0"]
    code, out, _ = run(capsys, "release", "show", "v2.1.0", "--tenant", "T100")
    assert code == 0 and "pipeline Jenkins iOS: PENDING" in out
    assert run(capsys, "release", "show", "2.1.0", "--tenant", "T100")[1] == out  # 2.1.0 and v2.1.0 are one release
    assert run_json(capsys, "release", "cancel", "v2.1.0", "--tenant", "T100", "--by", "U1",
                    "--reason", "the holiday was moved")["status"] == "CANCELLED"


def test_rotation_from_the_cli_reports_how_many_credentials_it_rewrote(workspace, capsys, monkeypatch):
    run_json(capsys, "integration", "add", "scm", "--tenant", "T100", "--provider", "github", "--name", "R",
             "--field", "organization=a", "--field", "repository=b", "--secret", "token=x", "--no-verify")
    import os

    monkeypatch.setenv("RELEASEBOT_SECRET_KEYS", f"{generate_key()},{os.environ['RELEASEBOT_SECRET_KEYS']}")
    assert run_json(capsys, "secrets", "rotate") == {"reencrypted": 1}


def test_the_console_script_is_installed(env):
    script = Path(sys.executable).parent / "releasebot"
    result = subprocess.run([str(script), "tenant", "list"], capture_output=True, text=True, cwd=env)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("run `releasebot db upgrade`")


def test_the_cli_changes_integrations_through_the_audited_core_functions(workspace, capsys):
    scm = run_json(capsys, "integration", "add", "scm", "--tenant", "T100", "--provider", "github", "--name",
                   "App repo", "--field", "organization=acme", "--field", "repository=app", "--secret", "token=ghp_cli",
                   "--no-verify")
    run_json(capsys, "integration", "disable", scm["id"], "--tenant", "T100")
    code, out, _ = run(capsys, "integration", "remove", scm["id"], "--tenant", "T100")
    assert code == 0 and out.strip() == "removed scm “App repo”"
    entries = run_json(capsys, "integration", "audit", "--tenant", "T100")
    assert [(e["action"], e["actor"], e["subject_name"]) for e in entries] == [
        ("removed", "the operator (CLI)", "App repo"), ("disabled", "the operator (CLI)", "App repo"),
        ("added", "the operator (CLI)", "App repo")]
    assert entries[-1]["detail"] == "github; fields: organization, repository; secrets: token"
    code, out, _ = run(capsys, "integration", "audit", "--tenant", "T100")
    assert code == 0 and "ghp_cli" not in out and "removed" in out
