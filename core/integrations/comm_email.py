"""Email integration: SMTP with STARTTLS and a login, one message per post (plain text, or text and HTML with `send`).

Settings: host, port (587), fromAddress, recipients (comma-separated), and optionally
`caCertificate` — the PEM of the CA that signed the server's certificate, for servers on a private
CA (tests use it for a self-signed one). Without it the system's trust store is used; certificate
verification is never turned off. Secrets: username, password.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.http import check_url
from core.integrations.network import NetworkGuard

SUBJECT_LIMIT = 120
LOGIN_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


class GuardedSMTP(smtplib.SMTP):
    """smtplib.SMTP whose socket comes from the private-network guard: the connection reaches an address
    checked for it, while STARTTLS still sends and verifies the host name (smtplib keeps it as `_host`)."""

    def __init__(self, host: str, port: int, *, timeout: float, guard: NetworkGuard):
        self._guard = guard  # before super().__init__, which connects
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host, port, timeout):
        return self._guard.connect(host, port, timeout, self.source_address)


class SmtpMailer:
    """Sends release notices by email through one SMTP server."""

    def __init__(self, *, host: str, port: int, sender: str, recipients: list[str], username: str,
                 password: str, timeout: float, tls: ssl.SSLContext, guard: NetworkGuard):
        self.host, self.port, self.sender, self.recipients = host, port, sender, recipients
        self._username, self._password = username, password
        self.timeout, self.tls, self.guard = timeout, tls, guard

    def verify(self) -> None:
        """Connect, upgrade to TLS with STARTTLS and log in."""
        with self._session():
            pass

    def post(self, text: str, *, blocks: list[dict] | None = None, thread: str | None = None) -> str | None:
        """Email `text` to the recipients, its first line as the subject; email has no thread id."""
        with self._session() as smtp:
            smtp.send_message(self._message(text))
        return None

    def send(self, *, subject: str, text: str, html: str) -> None:
        """Email one message to the recipients: plain text with an HTML alternative of the same content."""
        message = self._message(text, subject=subject)
        message.add_alternative(html, subtype="html")
        with self._session() as smtp:
            smtp.send_message(message)

    def _message(self, text: str, *, subject: str | None = None) -> EmailMessage:
        message = EmailMessage()
        first_line = next((line.strip() for line in text.splitlines() if line.strip()), "Release update")
        # A header cannot carry a line break (it would start another header).
        message["Subject"] = " ".join((subject or first_line).split())[:SUBJECT_LIMIT]
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(text)
        return message

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        try:
            with GuardedSMTP(self.host, self.port, timeout=self.timeout, guard=self.guard) as smtp:
                self._secure_and_login(smtp)
                yield smtp
        except IntegrationError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(exc) from None

    def _secure_and_login(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        # Without STARTTLS the password would cross the network in clear: refuse before sending it.
        if not smtp.has_extn("starttls"):
            raise IntegrationError(f"the SMTP server {self._where()} does not offer STARTTLS: the bot will not "
                                   "send the password unencrypted (use the server's submission port, usually 587)")
        smtp.starttls(context=self.tls)
        smtp.ehlo()
        self._login(smtp)

    def _login(self, smtp: smtplib.SMTP) -> None:
        # One mechanism only: smtplib.login() would retry a refused password with every mechanism
        # offered, counting as several failed logins against the account's lockout.
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        mechanism = next((m for m in LOGIN_MECHANISMS if m in offered), None)
        if mechanism is None:
            raise IntegrationError(f"the SMTP server {self._where()} does not offer a login after STARTTLS")
        smtp.user, smtp.password = self._username, self._password
        smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower().replace('-', '_')}"))

    def _error(self, exc: BaseException) -> IntegrationError:
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return IntegrationError("the SMTP server rejected the username or password", status=exc.smtp_code)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return IntegrationError(f"the SMTP server refused the recipients {', '.join(sorted(exc.recipients))}")
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return IntegrationError(f"the SMTP server refused the sender {self.sender} ({exc.smtp_code})",
                                    status=exc.smtp_code)
        if isinstance(exc, smtplib.SMTPResponseException):
            return IntegrationError(f"the SMTP server {self._where()} failed ({exc.smtp_code})", status=exc.smtp_code,
                                    retryable=400 <= exc.smtp_code < 500)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return IntegrationError(f"the certificate of {self._where()} is not trusted ({exc.verify_message}): "
                                    "set caCertificate to the PEM of its CA")
        if isinstance(exc, (TimeoutError, socket.timeout)) or isinstance(exc.__context__, (TimeoutError, socket.timeout)):
            return IntegrationError(f"the SMTP server {self._where()} did not answer in time", retryable=True)
        return IntegrationError(f"cannot reach the SMTP server {self._where()} ({type(exc).__name__})", retryable=True)

    def _where(self) -> str:
        return f"{self.host}:{self.port}"


def check_host(host: str, port: int, guard: NetworkGuard) -> None:
    """The same rule as for URLs: no private, loopback or link-local SMTP host unless allowed."""
    if not host or any(c in host for c in "/@?# ") or not 0 < port < 65536:
        raise IntegrationError("the SMTP host must be a host name (and port a number from 1 to 65535)")
    check_url(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}", guard)


def tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """Verifying TLS: against `ca_pem` when given, else the system's trust store."""
    try:
        return ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    except (ssl.SSLError, ValueError):
        raise IntegrationError("caCertificate is not a PEM certificate") from None


def _recipients(value: str) -> list[str]:
    found = [r.strip() for r in (value or "").split(",") if r.strip()]
    if not found or any("@" not in r for r in found):
        raise IntegrationError("recipients must be comma-separated email addresses")
    return found


def _port(value) -> int:
    try:
        return int(value or 587)
    except (TypeError, ValueError):
        raise IntegrationError("the SMTP port must be a number") from None


def build(config: IntegrationConfig, ctx: ProviderContext) -> SmtpMailer:
    """The SMTP client of a COMMUNICATION integration of provider EMAIL."""
    settings = config.settings
    host, port = str(settings.get("host") or "").strip(), _port(settings.get("port"))
    check_host(host, port, ctx.guard)
    return SmtpMailer(host=host, port=port, sender=str(settings.get("fromAddress") or ""),
                      recipients=_recipients(str(settings.get("recipients") or "")),
                      username=config.secrets.get("username", ""), password=config.secrets.get("password", ""),
                      timeout=ctx.timeout, tls=tls_context(settings.get("caCertificate")), guard=ctx.guard)
