"""`integration add` verifies at once against the provider; `verify` re-checks; `verify --all` runs
every check concurrently and shows progress. Real clients, fake providers over loopback."""
from __future__ import annotations

import json
import os

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


def statuses(capsys) -> dict[str, tuple[str, str | None, str | None]]:
    code, rows, err = cli_json(capsys, "integration", "list", "--tenant", "T1")
    assert code == 0, err
    return {r["displayName"]: (r["verificationStatus"], r["lastVerifiedAt"], r["verificationError"]) for r in rows}


def add_gitlab(capsys, gitlab, name="App"):
    code, view, err = cli_json(capsys, "integration", "add", "scm", "--tenant", "T1", "--provider", "gitlab", "--name",
                               name, "--base-url", gitlab.url + "/api/v4", "--field", "organization=acme",
                               "--field", "repository=app", "--secret", "token=glpat-good")
    assert code == 0, err
    return view


def store_base_url(integration_id: str, url: str) -> None:
    """What an older release, or a hand edit, may have left in the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE tenant_scm_integrations SET baseUrl = :u WHERE id = :i"), {"u": url, "i": integration_id})
    engine.dispose()


def test_add_exits_non_zero_when_the_integration_ends_invalid_and_still_prints_it(env, capsys, linear):
    code, bad, err = add_linear(capsys, linear, "lin_api_wrong")
    assert code == 1 and bad["verificationStatus"] == "INVALID" and bad["id"]
    code = main(["integration", "add", "ticket", "--tenant", "T1", "--provider", "linear", "--name", "Again",
                 "--base-url", linear.url, "--field", "projectKey=MOB", "--secret", "apiKey=lin_api_wrong"])
    out, _ = capsys.readouterr()
    assert code == 1 and "“Again” (linear) INVALID: " in out


@pytest.mark.parametrize("keys", ["", "other"], ids=["no key", "a key that decrypts nothing"])
def test_verify_all_with_unusable_keys_stops_before_writing_anything(env, capsys, linear, gitlab, monkeypatch, keys):
    add_linear(capsys, linear, "lin_api_good")
    add_gitlab(capsys, gitlab)
    before = statuses(capsys)
    assert {status for status, _, _ in before.values()} == {"VALID"}
    key = os.environ["RELEASEBOT_SECRET_KEYS"]
    monkeypatch.setenv("RELEASEBOT_SECRET_KEYS", generate_key() if keys == "other" else "")
    code = main(["integration", "verify", "--all", "--tenant", "T1"])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.count("\n") == 1 and err.startswith("error: RELEASEBOT_SECRET_KEYS ")
    assert "(nothing was verified or changed)" in err
    monkeypatch.setenv("RELEASEBOT_SECRET_KEYS", key)
    assert statuses(capsys) == before  # still VALID, still offered in the dropdowns


def test_unusable_stored_urls_are_their_rows_reasons_and_the_others_are_verified(env, capsys, linear, gitlab):
    add_linear(capsys, linear, "lin_api_good")
    broken = {"http://127.0.0.1:99999/api/v4": add_gitlab(capsys, gitlab, name="Port 99999"),
              "http://[::1/api/v4": add_gitlab(capsys, gitlab, name="Unparseable")}
    for url, view in broken.items():
        store_base_url(view["id"], url)
    asked = len(linear.calls())
    code = main(["integration", "verify", "--all", "--tenant", "T1"])
    out, err = capsys.readouterr()
    assert code == 1 and out.strip() == "1 of 3 valid" and "Traceback" not in err and err.count("\n") == 3
    after = statuses(capsys)
    assert after["Linear MOB"][0] == "VALID" and len(linear.calls()) > asked  # checked again, not rolled back
    assert after["Port 99999"][0] == "INVALID" and "not a number from 1 to 65535" in after["Port 99999"][2]
    assert after["Unparseable"][0] == "INVALID" and after["Unparseable"][2] == (
        "its stored base URL or settings cannot be used (ValueError): check the URL (an http(s) address, "
        "a port from 1 to 65535) and its fields, then verify again")
