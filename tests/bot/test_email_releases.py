"""Email releases end to end: the bot's own runner (inside the real server) mails every thread line of a release
whose communication integration is email — created, kickoff, builds triggered and finished, a delay — to an
aiosmtpd server on 127.0.0.1 with STARTTLS and a login, once each, as text and HTML, and posts nothing to Slack.
SQLite and MariaDB."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot.blocks.email import email_of, to_html, to_text
from bot.blocks.notices import notice_text
from cli.main import main
from core.clock import utcnow
from core.enums import BuildState, CommunicationType, IntegrationKind, NotificationState
from core.models import Notification, ReleaseCard
from core.runner.context import Announcement, BuildFacts, EventFacts
from core.services import builds, integration_writes, lifecycle, verification
from core.services.release_creation import create_release
from core.services.releases import find_release, get_release
from tests.bot.helpers import wait_for
from tests.bot.test_create_flow import modal_of, values
from tests.bot.test_release_life_end_to_end import add_pipeline
from tests.fakes.jenkins import RELEASE_JOB
from tests.integrations.test_comm_email import PASSWORD, USER, Mailbox, free_port, self_signed, smtp_server
from tests.slack_requests import select_value, text_value

RECIPIENTS = ["qa@example.com", "pm@example.com"]
HOSTILE = '<script>alert(1)</script> & "the store" <https://evil.test|sign in>'


class FlakyMailbox(Mailbox):
    """A mailbox whose server answers the first `refusals` messages with a temporary failure (451)."""

    def __init__(self, refusals: int = 0):
        super().__init__()
        self.refusals, self.refused_count = refusals, 0

    async def handle_DATA(self, server, session, envelope):
        if self.refused_count < self.refusals:
            self.refused_count += 1
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed(tmp_path_factory)


@pytest.fixture
def refusals() -> int:
    """How many messages the SMTP server refuses (451) before accepting; a test parametrizes it up."""
    return 0


@pytest.fixture
def mailbox(refusals):
    return FlakyMailbox(refusals)


@pytest.fixture
def smtp(mailbox, certificate):
    controller = smtp_server(mailbox, certificate)
    yield controller
    controller.stop()


def email_integration(rt, world, port: int, certificate):
    """The World's email integration to the aiosmtpd server, stored and verified through the services."""
    with rt.unit_of_work() as s:
        view = integration_writes.add_integration(
            s, tenant_id=world.tenant.id, kind=IntegrationKind.COMMUNICATION, provider="email", display_name="QA list",
            cipher=rt.cipher, settings={"host": "127.0.0.1", "port": str(port), "fromAddress": "releasebot@example.com",
                                        "recipients": ", ".join(RECIPIENTS), "caCertificate": certificate[0]},
            secrets={"username": USER, "password": PASSWORD})
        return verification.record_verification(s, tenant_id=world.tenant.id, integration_id=view.id, error=None)


def email_release(running_bot, world, jenkins, smtp_port: int, certificate, **draft):
    """A release of the World with the email integration and one verified Jenkins pipeline (and `draft`'s values)."""
    rt = running_bot.runtime
    email = email_integration(rt, world, smtp_port, certificate)
    ci = add_pipeline(rt, world, provider="jenkins", display_name="Jenkins iOS CI", base_url=jenkins.url,
                      secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
                      fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": RELEASE_JOB})
    with rt.unit_of_work() as s:
        return create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft(
            target_ids=(world.ios.id,), pipeline_ids=(ci.id,), communication_integration_id=email.id, ticket_integration_id=None,
            **draft))


def mails(mailbox) -> list:
    return [message_from_bytes(envelope.content, policy=policy.default) for envelope in mailbox.delivered]


def mail_about(mailbox, words: str):
    return next((m for m in mails(mailbox) if words in m["Subject"]), None)


def parts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def notifications(rt, release_id: str) -> list:
    """The release's owed lines: (state, attempts, lastError) each."""
    with rt.reading() as s:
        return s.execute(select(Notification.state, Notification.attempts, Notification.lastError)
                         .where(Notification.releaseId == release_id)).all()


def test_an_email_release_mails_each_thread_line_once_as_text_and_html_and_posts_nothing_to_slack(
        running_bot, world, jenkins, github, smtp, mailbox, certificate):
    rt = running_bot.runtime
    release = email_release(running_bot, world, jenkins, smtp.port, certificate)
    created = wait_for(lambda: mail_about(mailbox, "created v1.5.0"))
    assert created["Subject"] == "[releasebot] v1.5.0: 🆕 Ada created v1.5.0 (release/1.5.0 from main)"
    assert (created["From"], mailbox.delivered[0].rcpt_tos) == ("releasebot@example.com", RECIPIENTS)
    text, html = parts(created)
    assert "Targets: App Store" in text and "Pilot: Grace" in text and "New onboarding" in text
    assert "Pilot: Grace" in html

    with rt.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)
    wait_for(lambda: mail_about(mailbox, "is kicked off: builds can start"))
    assert mail_about(mailbox, "🚀 Ada kicked off v1.5.0")

    with rt.unit_of_work() as s:
        builds.request_build(s, tenant_id=world.tenant.id, account_id=world.member.id, release_pipeline_id=release.pipelines[0].id)
    triggered = wait_for(lambda: mail_about(mailbox, "triggered Jenkins iOS CI"))
    text, html = parts(triggered)
    assert triggered["Subject"] == "[releasebot] v1.5.0: 🔨 Grace triggered Jenkins iOS CI for v1.5.0"
    assert text.strip() == "🔨 Grace triggered Jenkins iOS CI for v1.5.0"  # named, not <@U…>; no *bold* marks
    assert "<strong>Jenkins iOS CI</strong>" in html

    number = jenkins.start_build(wait_for(lambda: max(jenkins.queue, default=None))).number
    jenkins.finish_build(RELEASE_JOB, number, "SUCCESS", duration_ms=125_000)
    finished = wait_for(lambda: mail_about(mailbox, "succeeded"))
    with rt.reading() as s:
        build_url = get_release(s, tenant_id=world.tenant.id, release_id=release.id).pipelines[0].buildUrl
    text, html = parts(finished)
    assert build_url.startswith(jenkins.url)
    assert f"✅ Jenkins iOS CI #{number} succeeded in 2m 5s — build ({build_url})" in text
    assert f'<a href="{build_url}">build</a>' in html

    with rt.unit_of_work() as s:
        lifecycle.mark_delayed(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                               reason=HOSTILE)
    delayed = wait_for(lambda: mail_about(mailbox, "marked v1.5.0 delayed"))
    text, html = parts(delayed)
    assert HOSTILE in text  # plain text carries the words as typed
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;the store&quot;" in html
    assert 'href="https://evil.test' not in html  # a person's words never become a link

    # Every owed line is SENT and was mailed exactly once (other kinds of line, e.g. a changelog, count too).
    wait_for(lambda: all(n.state == NotificationState.SENT for n in notifications(rt, release.id)))
    subjects = [m["Subject"] for m in mails(mailbox)]
    assert len(subjects) == len(set(subjects)) == len(notifications(rt, release.id))
    told = ["created v1.5.0", "Ada kicked off v1.5.0", "builds can start", "triggered Jenkins", "succeeded", "marked v1.5.0 delayed"]
    assert [sum(words in subject for subject in subjects) for words in told] == [1] * len(told)
    assert all(m.get_body(("plain",)) and m.get_body(("html",)) for m in mails(mailbox))
    assert running_bot.slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("refusals", [1])
def test_a_mail_the_server_refuses_once_is_retried_and_delivered_once(running_bot, world, jenkins, github, smtp, mailbox,
                                                                      certificate):
    rt = running_bot.runtime
    release = email_release(running_bot, world, jenkins, smtp.port, certificate)
    [owed] = wait_for(lambda: [n for n in notifications(rt, release.id) if n.state == NotificationState.SENT])
    assert mailbox.refused_count == 1
    assert [m["Subject"] for m in mails(mailbox)] == ["[releasebot] v1.5.0: 🆕 Ada created v1.5.0 (release/1.5.0 from main)"]
    assert owed.attempts == 2
    assert running_bot.slack.calls_to("chat.postMessage") == []


def test_an_unreachable_mail_server_keeps_the_line_owed_with_a_reason(running_bot, world, jenkins, github, certificate):
    rt, port = running_bot.runtime, free_port()  # nobody listens there
    release = email_release(running_bot, world, jenkins, port, certificate)
    [owed] = wait_for(lambda: [n for n in notifications(rt, release.id) if n.attempts >= 2])
    assert owed.state == NotificationState.PENDING
    assert owed.lastError.startswith(f"cannot reach the SMTP server 127.0.0.1:{port}")
    assert PASSWORD not in owed.lastError
    assert running_bot.slack.calls_to("chat.postMessage") == []


def test_a_release_created_from_the_cli_with_the_email_integration_is_followed_by_email_alone(
        running_bot, world, smtp, mailbox, certificate, monkeypatch, tmp_path, capsys):
    rt = running_bot.runtime
    email = email_integration(rt, world, smtp.port, certificate)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)  # the CLI and the running bot share the database
    monkeypatch.setenv("RELEASEBOT_SECRET_KEYS", ",".join(rt.settings.secret_keys))
    code = main(["release", "create", "--tenant", world.tenant.id, "--by", world.admin.id, "--version", "2.0.0",
                 "--scm", world.scm.id, "--target", world.ios.id, "--communication", email.id, "--pilot", world.member.id, "--json"])
    assert code == 0, capsys.readouterr().err
    created = wait_for(lambda: mail_about(mailbox, "created v2.0.0"))
    assert created["Subject"] == "[releasebot] v2.0.0: 🆕 Ada created v2.0.0 (release/2.0.0 from main)"
    release_id = json.loads(capsys.readouterr().out)["id"]
    wait_for(lambda: notifications(rt, release_id) and all(n.state == NotificationState.SENT for n in notifications(rt, release_id)))
    assert len(mailbox.delivered) == len(notifications(rt, release_id)) == 1
    with rt.reading() as s:
        assert s.get(ReleaseCard, release_id) is None  # no card anywhere: email is the release's only voice
    assert running_bot.slack.calls_to("chat.postMessage") == []


def test_an_email_release_created_in_slack_has_its_card_there_and_its_lines_by_email_not_in_the_thread(
        running_bot, world, smtp, mailbox, certificate):
    rt, slack = running_bot.runtime, running_bot.slack
    email = email_integration(rt, world, smtp.port, certificate)
    creator = running_bot.as_user("U0ADA", "ada")
    creator.command("create 2.1.0")
    assert creator.view_submission(modal_of(slack), values(
        world, version=text_value("2.1.0"), communicationIntegrationId=select_value(email.id))).text == ""
    wait_for(lambda: mail_about(mailbox, "created v2.1.0"))
    [card] = wait_for(lambda: slack.messages_in("CORIGIN"))  # where it was asked for: email has no channel
    with rt.reading() as s:
        release = find_release(s, tenant_id=world.tenant.id, ref="2.1.0")
    with rt.unit_of_work() as s:
        lifecycle.change_pilot(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                               pilot_account_id=world.admin.id)
    wait_for(lambda: mail_about(mailbox, "the pilot of v2.1.0"))
    wait_for(lambda: all(n.state == NotificationState.SENT for n in notifications(rt, release.id)))
    assert len(mailbox.delivered) == len(notifications(rt, release.id)) == 2
    assert slack.replies("CORIGIN", card["ts"]) == []


def test_an_email_release_due_tomorrow_gets_exactly_one_reminder_mail_naming_the_pilot(
        running_bot, world, jenkins, github, smtp, mailbox, certificate):
    rt = running_bot.runtime
    tomorrow = utcnow().date() + timedelta(days=1)
    release = email_release(running_bot, world, jenkins, smtp.port, certificate, target_release_date=tomorrow)
    reminder = wait_for(lambda: mail_about(mailbox, "is due tomorrow"))
    assert reminder["Subject"].startswith(f"[releasebot] v1.5.0: 📆 Grace, v1.5.0 is due tomorrow ({tomorrow:%Y-%m-%d})")
    text, html = parts(reminder)
    assert text.strip() == (f"📆 Grace, v1.5.0 is due tomorrow ({tomorrow:%Y-%m-%d}) and not submitted yet: it is waiting "
                            "for kickoff; next, kick it off first")
    assert f"Grace, v1.5.0 is due tomorrow ({tomorrow:%Y-%m-%d})" in html
    wait_for(lambda: all(n.state == NotificationState.SENT for n in notifications(rt, release.id)))
    time.sleep(0.6)  # a few more runner rounds: no second reminder
    assert sum("is due tomorrow" in m["Subject"] for m in mails(mailbox)) == 1
    assert len(mailbox.delivered) == len(notifications(rt, release.id)) == 2  # created, reminded
    assert running_bot.slack.calls_to("chat.postMessage") == []


# --- the rendering (pure) -----------------------------------------------------------------------------------

RELEASE = SimpleNamespace(releaseKey="v1.5.0", targetReleaseDate=None)


def test_an_mrkdwn_link_becomes_label_and_url_in_text_and_an_anchor_in_html():
    line = "✅ *Jenkins iOS* #7 succeeded — <https://ci.test/7?a=1&amp;b=2|build> · <https://ci.test/7/console|log>"
    assert to_text(line) == "✅ Jenkins iOS #7 succeeded — build (https://ci.test/7?a=1&amp;b=2) · log (https://ci.test/7/console)"
    assert to_html(line) == ('<html><body><p>✅ <strong>Jenkins iOS</strong> #7 succeeded — <a href="https://ci.test/7?a=1&amp;amp;b=2">'
                             'build</a> · <a href="https://ci.test/7/console">log</a></p></body></html>\n')


def test_escaped_words_are_shown_as_typed_in_text_and_escaped_in_html():
    line = "⏳ Ada marked v1.5.0 delayed: &lt;b&gt;late&lt;/b&gt; &amp; sorry\n&gt; quoted"
    assert to_text(line) == "⏳ Ada marked v1.5.0 delayed: <b>late</b> & sorry\n> quoted"
    assert to_html(line) == ("<html><body><p>⏳ Ada marked v1.5.0 delayed: &lt;b&gt;late&lt;/b&gt; &amp; sorry<br>\n"
                             "&gt; quoted</p></body></html>\n")


def test_an_email_names_people_instead_of_mentioning_them():
    build = BuildFacts("b1", 1, "Jenkins iOS", "rp1", None, "7", None, None, None, None, None, "U0GRACE", "Grace")
    mail = email_of(Announcement("TRIGGERED", RELEASE, build=build))
    assert mail.subject == "[releasebot] v1.5.0: 🔨 Grace triggered Jenkins iOS #7 for v1.5.0"
    overdue = EventFacts("delay", None, None, "the target date has passed", None, None, "U0GRACE")
    assert email_of(Announcement("EVENT", RELEASE, event=overdue)).text == "⏰ v1.5.0 passed its target date: Mark it delayed with a reason"


def test_a_reminder_by_email_names_the_pilot_or_without_one_the_creator_and_links_the_card():
    due = EventFacts("reminded", "due", "2026-12-20", "v1.5.0 is due tomorrow (2026-12-20) and not submitted yet", None, None,
                     "U0GRACE", pilot_name="Grace", creator_slack_user="U0ADA", creator_name="Ada",
                     card_link="https://acme.slack.com/archives/C1/p1")
    mail = email_of(Announcement("EVENT", RELEASE, event=due))
    assert mail.text == ("📆 Grace, v1.5.0 is due tomorrow (2026-12-20) and not submitted yet — "
                         "open the card (https://acme.slack.com/archives/C1/p1)")
    assert '<a href="https://acme.slack.com/archives/C1/p1">open the card</a>' in mail.html
    orphan = replace(due, pilot_slack_user=None, pilot_name=None, card_link=None)
    assert email_of(Announcement("EVENT", RELEASE, event=orphan)).text == (
        "📆 v1.5.0 has no pilot: Ada, v1.5.0 is due tomorrow (2026-12-20) and not submitted yet")


def test_a_failed_build_tells_an_email_reader_where_to_retry_it_and_a_thread_reader_the_card():
    failed = BuildFacts("b1", 2, "Jenkins iOS", "rp1", BuildState.FAILED, "8", None, None, None, None, "tests failed",
                        "U0GRACE", "Grace")
    by_email = SimpleNamespace(releaseKey="v1.5.0", targetReleaseDate=None,
                               communication=SimpleNamespace(type=CommunicationType.EMAIL))
    mail = email_of(Announcement("FINISHED", by_email, build=failed))
    assert mail.text.endswith("Grace — retry it from the release's card in Slack when ready "
                              "(`/release show v1.5.0` says where it is, or posts it).")
    in_slack = SimpleNamespace(releaseKey="v1.5.0", targetReleaseDate=None,
                               communication=SimpleNamespace(type=CommunicationType.SLACK))
    assert notice_text(Announcement("FINISHED", in_slack, build=failed)).endswith(
        "<@U0GRACE> — retry it from the card when ready.")
