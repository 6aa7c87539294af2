"""The email client (our module + smtplib) against a real SMTP server: aiosmtpd with STARTTLS and AUTH."""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import time
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client

USER, PASSWORD = "releasebot@example.com", "smtp-s3cr3t-password"


def self_signed(tmp_path_factory) -> tuple[str, str, str]:
    """A CA-less self-signed certificate for 127.0.0.1/localhost: (PEM text, cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("smtp-tls")
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (folder / "cert.pem").write_text(pem)
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return pem, str(folder / "cert.pem"), str(folder / "key.pem")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed(tmp_path_factory)


class Mailbox:
    """aiosmtpd handler and authenticator: keeps delivered messages and the logins tried."""

    def __init__(self, refused: tuple[str, ...] = ()):
        self.delivered: list = []
        self.logins: list[tuple[str, str]] = []
        self.refused = refused

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.delivered.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_server(mailbox: Mailbox, certificate, *, starttls: bool = True, auth: bool = True) -> Controller:
    tls = None
    if starttls:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certificate[1], certificate[2])
    # auth_require_tls=False on the plain server: it would take a clear-text password, so only the
    # client can be what refuses to send one.
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), tls_context=tls,
                            authenticator=mailbox, auth_exclude_mechanism=() if auth else ("LOGIN", "PLAIN"),
                            auth_require_tls=starttls, server_hostname="mail.test")
    controller.start()
    return controller


@pytest.fixture
def mailbox():
    return Mailbox(refused=("nobody@example.com",))


@pytest.fixture
def server(mailbox, certificate):
    controller = smtp_server(mailbox, certificate)
    yield controller
    controller.stop()


def mailer(port: int, certificate, *, password: str = PASSWORD, ca: bool = True, private: bool = True,
           recipients: str = "qa@example.com, pm@example.com", timeout: float = 5.0):
    settings = {"host": "127.0.0.1", "port": str(port), "fromAddress": "releasebot@example.com",
                "recipients": recipients, **({"caCertificate": certificate[0]} if ca else {})}
    config = IntegrationConfig(id="e-1", provider="EMAIL", display_name="QA list", base_url=None, fields={},
                               settings=settings, secrets={"username": USER, "password": password})
    return build_client(IntegrationKind.COMMUNICATION, config,
                        ProviderContext(allow_private_networks=private, timeout=timeout))


def failure(action) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    for secret in (PASSWORD, "wrong-s3cr3t"):
        assert secret not in str(caught.value) and secret not in repr(caught.value.args)
    return caught.value


def test_verify_logs_in_over_starttls(server, mailbox, certificate):
    mailer(server.port, certificate).verify()
    assert mailbox.logins == [(USER, PASSWORD)]
    assert mailbox.delivered == []


def test_post_sends_a_plain_text_email_with_the_first_line_as_subject(server, mailbox, certificate):
    assert mailer(server.port, certificate).post("Release 1.2.0 is live\n\nBuild 42 passed.") is None
    [envelope] = mailbox.delivered
    message = message_from_bytes(envelope.content)
    assert envelope.rcpt_tos == ["qa@example.com", "pm@example.com"]
    assert (message["Subject"], message["From"]) == ("Release 1.2.0 is live", "releasebot@example.com")
    assert message.get_content_type() == "text/plain"
    assert "Build 42 passed." in message.get_payload(decode=True).decode()


def test_a_wrong_password_is_reported_without_echoing_it(server, mailbox, certificate):
    error = failure(mailer(server.port, certificate, password="wrong-s3cr3t").verify)
    assert str(error) == "the SMTP server rejected the username or password"
    assert error.status == 535
    assert mailbox.logins == [(USER, "wrong-s3cr3t")]


def test_no_password_is_sent_to_a_server_without_starttls(mailbox, certificate):
    plain = smtp_server(mailbox, certificate, starttls=False)
    try:
        error = failure(mailer(plain.port, certificate).verify)
    finally:
        plain.stop()
    assert "does not offer STARTTLS" in str(error)
    assert mailbox.logins == []


def test_a_server_offering_no_login_is_reported(mailbox, certificate):
    no_auth = smtp_server(mailbox, certificate, auth=False)
    try:
        error = failure(mailer(no_auth.port, certificate).verify)
    finally:
        no_auth.stop()
    assert str(error) == f"the SMTP server 127.0.0.1:{no_auth.port} does not offer a login after STARTTLS"


def test_an_untrusted_certificate_is_refused_unless_its_ca_is_given(server, mailbox, certificate):
    error = failure(mailer(server.port, certificate, ca=False).verify)
    assert "is not trusted" in str(error) and "caCertificate" in str(error)
    assert mailbox.logins == []


def test_a_refused_recipient_is_named(server, certificate):
    error = failure(lambda: mailer(server.port, certificate, recipients="nobody@example.com").post("hi"))
    assert str(error) == "the SMTP server refused the recipients nobody@example.com"


def test_a_server_that_is_gone_is_unreachable(certificate):
    error = failure(mailer(free_port(), certificate).verify)
    assert str(error).startswith("cannot reach the SMTP server 127.0.0.1:") and error.retryable


def test_a_server_that_never_greets_times_out(certificate):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # connections complete in the kernel; nobody ever answers
        started = time.monotonic()
        error = failure(mailer(silent.getsockname()[1], certificate, timeout=0.5).verify)
    assert "did not answer in time" in str(error) and error.retryable
    assert time.monotonic() - started < 3


def test_a_private_smtp_host_is_refused_unless_allowed(certificate):
    error = failure(lambda: mailer(25, certificate, private=False))
    assert "resolves to a private address" in str(error)


@pytest.mark.parametrize("settings, message", [
    ({"recipients": "not-an-address"}, "recipients must be comma-separated email addresses"),
    ({"port": "smtp"}, "the SMTP port must be a number"),
    ({"host": "mail.example.com/x"}, "the SMTP host must be a host name"),
    ({"caCertificate": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"},
     "caCertificate is not a PEM certificate"),
])
def test_bad_settings_are_reported_before_connecting(settings, message):
    base = {"host": "127.0.0.1", "port": "587", "fromAddress": "r@example.com", "recipients": "qa@example.com"}
    config = IntegrationConfig(id="e-1", provider="EMAIL", display_name="x", base_url=None, fields={},
                               settings={**base, **settings}, secrets={"username": USER, "password": PASSWORD})
    error = failure(lambda: build_client(IntegrationKind.COMMUNICATION, config,
                                         ProviderContext(allow_private_networks=True)))
    assert str(error).startswith(message)
