"""Settings are read from the environment (and .env), validated at once, and every problem is named."""
from __future__ import annotations

import logging

import pytest

from core.config import DEFAULT_DATABASE_URL, Settings, SettingsError
from core.crypto import generate_key


def problems(environ: dict[str, str]) -> tuple[str, ...]:
    with pytest.raises(SettingsError) as excinfo:
        Settings.from_env(environ)
    return excinfo.value.problems


def test_an_empty_environment_gives_the_documented_defaults():
    s = Settings.from_env({})
    assert (s.database_url, s.secret_keys, s.slack_bot_token, s.slack_api_url) == (
        DEFAULT_DATABASE_URL, (), None, "https://slack.com/api/")
    assert (s.allow_private_networks, s.poll_seconds, s.claim_seconds) == (False, 5, 60)
    assert s.log_level is None and s.log_level_or(logging.INFO) == logging.INFO and s.debug is False


def test_every_variable_of_the_readme_is_read():
    keys = (generate_key(), generate_key())
    s = Settings.from_env({
        "DATABASE_URL": "mysql+pymysql://u:p@db:3306/rb", "RELEASEBOT_SECRET_KEYS": f" {keys[0]} ,{keys[1]},",
        "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "sig", "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_API_URL": "http://127.0.0.1:9/api/", "RELEASEBOT_ALLOW_PRIVATE_NETWORKS": "TRUE",
        "RELEASEBOT_POLL_SECONDS": "0.5", "RELEASEBOT_CLAIM_SECONDS": "30",
        "RELEASEBOT_LOG_LEVEL": "debug", "RELEASEBOT_DEBUG": "1"})
    assert s.secret_keys == keys  # comma-separated, blanks dropped, newest first
    assert (s.database_url, s.slack_bot_token, s.slack_signing_secret, s.slack_app_token, s.slack_api_url) == (
        "mysql+pymysql://u:p@db:3306/rb", "xoxb-1", "sig", "xapp-1", "http://127.0.0.1:9/api/")
    assert (s.allow_private_networks, s.poll_seconds, s.claim_seconds) == (True, 0.5, 30)
    assert s.log_level == "DEBUG" and s.log_level_or(logging.WARNING) == logging.DEBUG and s.debug is True


@pytest.mark.parametrize("typed", ["debug", "Info", "WARNING", " error "])
def test_the_log_level_is_accepted_in_any_case(typed):
    assert Settings.from_env({"RELEASEBOT_LOG_LEVEL": typed}).log_level == typed.strip().upper()


def test_a_number_with_a_unit_names_the_variable_and_shows_an_example():
    assert problems({"RELEASEBOT_POLL_SECONDS": "5s"}) == (
        'RELEASEBOT_POLL_SECONDS: "5s" is not a number of seconds (e.g. 5 or 0.5)',)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "five"])
def test_durations_must_be_positive_numbers(value):
    (problem,) = problems({"RELEASEBOT_CLAIM_SECONDS": value})
    assert problem.startswith(f'RELEASEBOT_CLAIM_SECONDS: "{value}" ') and problem.endswith("(e.g. 5 or 0.5)")


def test_every_problem_is_reported_at_once_one_line_each():
    found = problems({"RELEASEBOT_POLL_SECONDS": "5s", "RELEASEBOT_LOG_LEVEL": "loud",
                      "RELEASEBOT_ALLOW_PRIVATE_NETWORKS": "maybe", "RELEASEBOT_CLAIM_SECONDS": "0",
                      "SLACK_API_URL": "slack.com/api", "DATABASE_URL": "not a url"})
    assert [p.split(":", 1)[0] for p in found] == [
        "DATABASE_URL", "SLACK_API_URL", "RELEASEBOT_ALLOW_PRIVATE_NETWORKS", "RELEASEBOT_POLL_SECONDS",
        "RELEASEBOT_CLAIM_SECONDS", "RELEASEBOT_LOG_LEVEL"]
    assert all("\n" not in p for p in found)
    assert 'RELEASEBOT_LOG_LEVEL: "loud" is not a log level: use one of DEBUG, INFO, WARNING, ERROR, CRITICAL' in found[-1]
    assert found[2] == 'RELEASEBOT_ALLOW_PRIVATE_NETWORKS: "maybe" is not a boolean: use true or false'


def test_secrets_never_appear_in_a_problem_or_in_the_settings_repr():
    secret = "hunter2-not-a-fernet-key"
    found = problems({"RELEASEBOT_SECRET_KEYS": secret, "DATABASE_URL": f"mysql+pymysql://u:{secret}@db:x/rb"})
    assert len(found) == 2 and all(secret not in p for p in found)
    assert found[1].startswith("RELEASEBOT_SECRET_KEYS holds a malformed key")
    assert found[0].startswith("DATABASE_URL: the value is not a database URL (e.g. sqlite:///releasebot.db")
    settings = Settings(secret_keys=(generate_key(),), slack_bot_token=secret, slack_signing_secret=secret)
    assert secret not in repr(settings) and settings.secret_keys[0] not in repr(settings)


def test_keyword_arguments_are_the_whole_configuration(monkeypatch):
    monkeypatch.setenv("RELEASEBOT_POLL_SECONDS", "7")
    monkeypatch.setenv("RELEASEBOT_ALLOW_PRIVATE_NETWORKS", "true")
    s = Settings(poll_seconds=0.2, database_url="sqlite://", secret_keys=(generate_key(),))
    assert s.poll_seconds == 0.2 and s.allow_private_networks is False  # the environment is not consulted


def test_the_environment_is_read_over_a_dot_env_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RELEASEBOT_POLL_SECONDS=0.5\nRELEASEBOT_CLAIM_SECONDS=20\nSLACK_BOT_TOKEN=xoxb-env-file\n")
    for name in ("RELEASEBOT_POLL_SECONDS", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELEASEBOT_CLAIM_SECONDS", "45")
    s = Settings.from_env()
    assert (s.poll_seconds, s.claim_seconds, s.slack_bot_token) == (0.5, 45, "xoxb-env-file")


def test_a_bad_value_in_the_dot_env_file_is_named_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELEASEBOT_LOG_LEVEL", raising=False)
    (tmp_path / ".env").write_text("RELEASEBOT_LOG_LEVEL=loud\n")
    with pytest.raises(SettingsError, match='^RELEASEBOT_LOG_LEVEL: "loud" is not a log level'):
        Settings.from_env()


def test_the_stale_period_defaults_to_48_hours_and_is_read_from_the_environment():
    assert Settings.from_env({}).stale_hours == 48
    assert Settings.from_env({"RELEASEBOT_STALE_HOURS": "12.5"}).stale_hours == 12.5


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf", "2d"])
def test_the_stale_period_must_be_a_positive_number_of_hours(value):
    (problem,) = problems({"RELEASEBOT_STALE_HOURS": value})
    assert problem.startswith(f'RELEASEBOT_STALE_HOURS: "{value}" ') and problem.endswith("(e.g. 48, or 0.5 for half an hour)")
    assert ("more than 0 hours" in problem) == (value in ("0", "-3"))


def test_sqlite_syncs_every_commit_unless_told_normal():
    assert Settings.from_env({}).sqlite_synchronous == "FULL"
    assert Settings.from_env({"RELEASEBOT_SQLITE_SYNCHRONOUS": " normal "}).sqlite_synchronous == "NORMAL"
    (problem,) = problems({"RELEASEBOT_SQLITE_SYNCHRONOUS": "OFF"})
    assert problem.startswith('RELEASEBOT_SQLITE_SYNCHRONOUS: "OFF" is not a SQLite synchronous mode: use FULL')
