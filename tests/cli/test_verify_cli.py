"""`integration add` verifies at once against the provider; `verify` re-checks; `verify --all` runs
every check concurrently and shows progress. Real clients, fake providers over loopback."""
from __future__ import annotations

import json

import pytest

from cli.main import main
from core.crypto import generate_key
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.linear import FakeLinear


@pytest.fixture
def env(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RELEASEBOT_SECRET_KEYS", generate_key())
    monkeypatch.setenv("RELEASEBOT_ALLOW_PRIVATE_NETWORKS", "true")  # the fakes listen on 127.0.0.1
    assert main(["db", "upgrade"]) == 0
    assert main(["tenant", "add", "--name", "Acme", "--slack-team", "T1"]) == 0
    capsys.readouterr()


@pytest.fixture
def linear():
    fake = FakeLinear().start()
    fake.add_api_key("lin_api_good")
    fake.add_team("MOB", "Mobile")
    yield fake
    fake.stop()


@pytest.fixture
def gitlab():
    fake = FakeGitLab().start()
    fake.add_token("glpat-good")
    fake.add_project("acme/app", branches={"main": "a" * 40})
    fake.grant("acme/app", 7, 30)
    yield fake
    fake.stop()


def cli_json(capsys, *args) -> tuple[int, object, str]:
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def add_linear(capsys, linear, key):
    return cli_json(capsys, "integration", "add", "ticket", "--tenant", "T1", "--provider", "linear", "--name",
                    "Linear MOB", "--base-url", linear.url, "--field", "projectKey=MOB", "--secret", f"apiKey={key}")


def test_add_verifies_at_once_and_stores_the_outcome(env, capsys, linear):
    code, view, _ = add_linear(capsys, linear, "lin_api_good")
    assert code == 0 and view["verificationStatus"] == "VALID" and view["lastVerifiedAt"]
    code, bad, _ = add_linear(capsys, linear, "lin_api_wrong")
    assert bad["verificationStatus"] == "INVALID" and "lin_api_wrong" not in bad["verificationError"]
    assert bad["verificationError"]


def test_verify_rechecks_and_reports_the_reason(env, capsys, linear):
    _, view, _ = add_linear(capsys, linear, "lin_api_good")
    linear.stop()
    code, again, _ = cli_json(capsys, "integration", "verify", view["id"], "--tenant", "T1")
    assert code == 1 and again["verificationStatus"] == "INVALID"
    assert "reach" in again["verificationError"] or "Linear" in again["verificationError"]


def test_verify_all_checks_everything_with_progress(env, capsys, linear, gitlab):
    add_linear(capsys, linear, "lin_api_good")
    cli_json(capsys, "integration", "add", "scm", "--tenant", "T1", "--provider", "gitlab", "--name", "App",
             "--base-url", gitlab.url + "/api/v4", "--field", "organization=acme", "--field", "repository=app",
             "--secret", "token=glpat-good")
    cli_json(capsys, "integration", "add", "scm", "--tenant", "T1", "--provider", "gitlab", "--name", "Gone",
             "--base-url", gitlab.url + "/api/v4", "--field", "organization=acme", "--field", "repository=gone",
             "--secret", "token=glpat-good")
    code = main(["integration", "verify", "--all", "--tenant", "T1", "--concurrency", "2"])
    out, err = capsys.readouterr()
    assert code == 1  # one of them is not valid
    assert out.strip() == "2 of 3 valid"
    assert err.count("\n") == 3 and "“Gone” (gitlab) INVALID" in err and "“App” (gitlab) VALID" in err


def test_private_addresses_are_refused_unless_allowed(env, capsys, linear, monkeypatch):
    monkeypatch.setenv("RELEASEBOT_ALLOW_PRIVATE_NETWORKS", "false")
    _, view, _ = add_linear(capsys, linear, "lin_api_good")
    assert view["verificationStatus"] == "INVALID" and "private address" in view["verificationError"]
    assert linear.calls() == []
