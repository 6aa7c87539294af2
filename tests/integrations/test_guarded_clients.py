"""Every client connects through the private-network guard: a name that rebinds to loopback, a redirect to
loopback or a cached client whose name changes its answer never reaches the bot's own network.

The "public" servers are local fakes reached through a simulated network (tests/integrations/network_sim.py);
the victim is a local listener that must see zero connections."""
from __future__ import annotations

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig
from core.integrations.http import guard_session
from core.integrations.registry import build_client
from tests.fakes.github import FakeGitHub, sha_of
from tests.fakes.google import FakeGoogle
from tests.fakes.jenkins import FakeJenkins
from tests.fakes.jira import FakeJira
from tests.integrations.network_sim import OTHER_PUBLIC, PUBLIC, Hello, Network, Redirector, Victim
from tests.integrations.test_comm_email import PASSWORD, USER, Mailbox, smtp_server
from tests.integrations.test_target_play_store import EMAIL as PLAY_EMAIL
from tests.integrations.test_target_play_store import PACKAGE, key_json

GITHUB_TOKEN = "ghp_guardT0kenValue0123456789abcdefXYZ"
JENKINS_TOKEN = "jenkins-api-token"
JIRA_EMAIL, JIRA_TOKEN = "bot@example.com", "ATATT-guard-s3cr3t"
REFUSED_REDIRECT = "answered with a redirect to an address the bot may not reach; it was not followed"


@pytest.fixture
def net():
    return Network()


@pytest.fixture
def victim():
    listener = Victim()
    yield listener
    listener.close()


def refused(action, *secrets: str) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    for secret in secrets:
        assert secret not in str(caught.value)
    return caught.value


# --- requests-based clients (HttpClient): GitHub ----------------------------------------------------
@pytest.fixture
def github():
    fake = FakeGitHub()
    fake.add_token(GITHUB_TOKEN, "releasebot")
    fake.add_repo("acme/app", branches={"main": sha_of("main")})
    fake.grant("acme/app", "releasebot", "push")
    with fake:
        yield fake


def github_client(net: Network, url: str, *, private: bool = False):
    config = IntegrationConfig(id="gh-1", provider="GITHUB", display_name="GitHub", base_url=url,
                               fields={"organization": "acme", "repository": "app", "defaultBranch": "main"},
                               settings={}, secrets={"token": GITHUB_TOKEN})
    return build_client(IntegrationKind.SCM, config, net.context(private=private))


def test_github_is_reached_at_the_checked_address_while_the_host_header_keeps_the_name(net, github, victim):
    net.answer("api.github.evil.test", PUBLIC)
    net.route(PUBLIC, int(github.url.rsplit(":", 1)[1]))
    github_client(net, f"http://api.github.evil.test:{victim.port}").verify()
    assert github.calls() and {r.headers["Host"] for r in github.calls()} == {f"api.github.evil.test:{victim.port}"}
    assert victim.connections == 0


def test_the_github_token_never_reaches_a_name_that_rebinds_to_loopback(net, github, victim):
    net.answer("api.github.evil.test", PUBLIC, "127.0.0.1")
    net.route(PUBLIC, int(github.url.rsplit(":", 1)[1]))
    client = github_client(net, f"http://api.github.evil.test:{victim.port}")  # checked: public
    error = refused(client.verify, GITHUB_TOKEN)
    assert str(error).startswith("api.github.evil.test resolves to a private address (127.0.0.1)")
    assert victim.connections == 0 and github.calls() == []


def test_a_cached_github_client_is_checked_again_at_every_new_connection(net, github, victim):
    net.answer("api.github.evil.test", PUBLIC)
    net.route(PUBLIC, int(github.url.rsplit(":", 1)[1]))
    client = github_client(net, f"http://api.github.evil.test:{victim.port}")
    client.verify()
    net.answer("api.github.evil.test", "127.0.0.1")  # the name changes its answer while the client is cached
    net.drop_connections()
    refused(lambda: client.branch_head("main"), GITHUB_TOKEN)
    assert victim.connections == 0


def test_with_private_networks_allowed_a_name_resolving_to_loopback_is_reached(net, github):
    net.answer("github.lan", "127.0.0.1")
    github_client(net, f"http://github.lan:{github.url.rsplit(':', 1)[1]}", private=True).verify()
    assert github.calls() and net.lookups.count("github.lan") == 1  # no check at build time, one lookup per connection


# --- a library's session: every redirect hop is checked ---------------------------------------------
def test_a_guarded_session_follows_a_redirect_to_another_public_address(net, victim):
    with Hello() as hello, Redirector(f"http://other.evil.test:{victim.port}/hello") as redirector:
        net.answer("www.evil.test", PUBLIC)
        net.answer("other.evil.test", OTHER_PUBLIC)
        net.route(PUBLIC, int(redirector.url.rsplit(":", 1)[1]))
        net.route(OTHER_PUBLIC, int(hello.url.rsplit(":", 1)[1]))
        session = guard_session(requests.Session(), net.context().guard, service="Test", origin="http://www.evil.test")
        response = session.get(f"http://www.evil.test:{victim.port}/", timeout=5)
        assert (response.status_code, response.text, len(response.history)) == (200, "hello", 1)
        assert hello.calls() and victim.connections == 0


class TlsHello:
    """An HTTPS server on 127.0.0.1 with a certificate for one name; records the SNI and Host it is sent."""

    def __init__(self, cert_file: str, key_file: str):
        self.sni: list[str | None] = []
        self.hosts: list[str] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        context.sni_callback = lambda sock, name, ctx: self.sni.append(name)
        hello = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hello.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "5")
                self.end_headers()
                self.wfile.write(b"hello")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_hello(tmp_path):
    pem, cert_file, key_file = certificate_for(tmp_path, "secure.evil.test")
    server = TlsHello(cert_file, key_file)
    yield server, cert_file
    server.close()


def test_https_reaches_the_checked_address_with_sni_host_and_certificate_on_the_name(net, tls_hello, victim):
    server, ca_file = tls_hello
    net.answer("secure.evil.test", PUBLIC)
    net.route(PUBLIC, server.port)
    session = guard_session(requests.Session(), net.context().guard, service="Test", origin="https://secure.evil.test")
    response = session.get(f"https://secure.evil.test:{victim.port}/", verify=ca_file, timeout=5)
    assert (response.status_code, response.text) == (200, "hello")
    assert server.sni == ["secure.evil.test"] and server.hosts == [f"secure.evil.test:{victim.port}"]
    assert victim.connections == 0


def test_https_at_a_checked_address_still_refuses_a_certificate_for_another_name(net, tls_hello, victim):
    server, ca_file = tls_hello
    net.answer("impostor.evil.test", PUBLIC)
    net.route(PUBLIC, server.port)
    session = guard_session(requests.Session(), net.context().guard, service="Test", origin="https://impostor.evil.test")
    with pytest.raises(requests.exceptions.SSLError, match="impostor.evil.test"):
        session.get(f"https://impostor.evil.test:{victim.port}/", verify=ca_file, timeout=5)
    assert server.hosts == []


# --- python-jenkins -----------------------------------------------------------------------------------
@pytest.fixture
def jenkins():
    fake = FakeJenkins()
    fake.add_job("mobile/ios-release")
    with fake:
        yield fake


def jenkins_client(net: Network, url: str):
    config = IntegrationConfig(id="p1", provider="JENKINS", display_name="Jenkins iOS", base_url=url,
                               fields={"jobPath": "mobile/ios-release"}, settings={},
                               secrets={"username": "releasebot", "apiToken": JENKINS_TOKEN})
    return build_client(IntegrationKind.PIPELINE, config, net.context())


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/whoAmI/api/json", "http://intranet.evil.test:{port}/",
                                    "http://[::ffff:127.0.0.1]:{port}/", "file:///etc/passwd"])
def test_a_jenkins_redirect_to_a_refused_address_is_not_followed_and_the_message_says_nothing_of_it(net, victim, target):
    location = target.format(port=victim.port)
    with Redirector(location) as redirector:
        net.answer("jenkins.evil.test", PUBLIC)
        net.answer("intranet.evil.test", "127.0.0.1")
        net.route(PUBLIC, int(redirector.url.rsplit(":", 1)[1]))
        error = refused(jenkins_client(net, f"http://jenkins.evil.test:{victim.port}").verify, JENKINS_TOKEN)
    assert str(error) == f"Jenkins at http://jenkins.evil.test:{victim.port} {REFUSED_REDIRECT}: use the server's own URL"
    assert victim.connections == 0 and redirector.calls()


def test_jenkins_basic_auth_never_reaches_a_name_that_rebinds_to_loopback(net, jenkins, victim):
    net.answer("jenkins.evil.test", PUBLIC, "127.0.0.1")
    net.route(PUBLIC, int(jenkins.url.rsplit(":", 1)[1]))
    error = refused(jenkins_client(net, f"http://jenkins.evil.test:{victim.port}").verify, JENKINS_TOKEN)
    assert "resolves to a private address" in str(error)
    assert victim.connections == 0 and jenkins.calls() == []


def test_a_cached_jenkins_client_cannot_be_rebound_later(net, jenkins, victim):
    net.answer("jenkins.evil.test", PUBLIC)
    net.route(PUBLIC, int(jenkins.url.rsplit(":", 1)[1]))
    client = jenkins_client(net, f"http://jenkins.evil.test:{victim.port}")
    client.verify()
    net.answer("jenkins.evil.test", "127.0.0.1")
    net.drop_connections()
    refused(lambda: client.trigger(params={"RELEASE_VERSION": "1.5.0", "BRANCH": "release/1.5.0"},
                                   idempotency_key="k-1"), JENKINS_TOKEN)
    assert victim.connections == 0 and jenkins.queue == {}


# --- jira ------------------------------------------------------------------------------------------------
@pytest.fixture
def jira():
    fake = FakeJira(cloud=True)
    fake.add_api_token(JIRA_EMAIL, JIRA_TOKEN)
    fake.add_project("MOB", simplified=True)
    with fake:
        yield fake


def jira_client(net: Network, url: str):
    config = IntegrationConfig(id="j-1", provider="JIRA", display_name="Jira", base_url=url, fields={"projectKey": "MOB"},
                               settings={}, secrets={"email": JIRA_EMAIL, "apiToken": JIRA_TOKEN})
    return build_client(IntegrationKind.TICKET, config, net.context())


def test_jira_is_verified_through_a_public_name(net, jira, victim):
    net.answer("acme.atlassian.evil.test", PUBLIC)
    net.route(PUBLIC, int(jira.url.rsplit(":", 1)[1]))
    jira_client(net, f"http://acme.atlassian.evil.test:{victim.port}").verify()
    assert jira.calls(path_regex="serverInfo") and victim.connections == 0


def test_jira_requests_never_reach_a_name_that_rebinds_to_loopback(net, jira, victim):
    net.answer("acme.atlassian.evil.test", PUBLIC, "127.0.0.1")
    net.route(PUBLIC, int(jira.url.rsplit(":", 1)[1]))
    error = refused(jira_client(net, f"http://acme.atlassian.evil.test:{victim.port}").verify, JIRA_TOKEN)
    assert "resolves to a private address" in str(error)
    assert victim.connections == 0 and jira.calls() == []


def test_a_jira_redirect_to_loopback_is_not_followed(net, victim):
    with Redirector(f"http://127.0.0.1:{victim.port}/rest/api/2/serverInfo") as redirector:
        net.answer("acme.atlassian.evil.test", PUBLIC)
        net.route(PUBLIC, int(redirector.url.rsplit(":", 1)[1]))
        error = refused(jira_client(net, f"http://acme.atlassian.evil.test:{victim.port}").verify, JIRA_TOKEN)
    assert str(error) == f"Jira at http://acme.atlassian.evil.test:{victim.port} {REFUSED_REDIRECT}: use the server's own URL"
    assert victim.connections == 0


# --- the Google token exchange (Play Store) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def play_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_the_google_token_request_never_reaches_a_token_uri_that_rebinds_to_loopback(net, victim, play_key):
    with FakeGoogle() as google:
        google.add_account(PLAY_EMAIL, play_key.public_key(), packages=(PACKAGE,))
        google.add_package(PACKAGE)
        net.answer("play.evil.test", PUBLIC)
        net.answer("oauth.evil.test", PUBLIC, "127.0.0.1")
        net.route(PUBLIC, int(google.url.rsplit(":", 1)[1]))
        token_uri = f"http://oauth.evil.test:{victim.port}/token"
        config = IntegrationConfig(id="p-1", provider="PLAY_STORE", display_name="Play", base_url=f"http://play.evil.test:{victim.port}",
                                   fields={"appIdentifier": PACKAGE}, settings={},
                                   secrets={"serviceAccountJson": key_json(play_key, token_uri)})
        target = build_client(IntegrationKind.TARGET, config, net.context())
        error = refused(target.verify)
        assert str(error).startswith("oauth.evil.test resolves to a private address")
        assert victim.connections == 0 and google.calls("POST", "/token$") == []


# --- SMTP ---------------------------------------------------------------------------------------------------
def certificate_for(tmp_path, name: str) -> tuple[str, str, str]:
    """A self-signed certificate for `name` only (no IP address in it): (PEM, cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (tmp_path / "cert.pem").write_text(pem)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return pem, str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")


def mailer(net: Network, host: str, port: int, ca_pem: str):
    settings = {"host": host, "port": str(port), "fromAddress": "releasebot@example.com",
                "recipients": "qa@example.com", "caCertificate": ca_pem}
    config = IntegrationConfig(id="e-1", provider="EMAIL", display_name="QA list", base_url=None, fields={},
                               settings=settings, secrets={"username": USER, "password": PASSWORD})
    return build_client(IntegrationKind.COMMUNICATION, config, net.context())


@pytest.fixture
def mail_server(tmp_path):
    mailbox = Mailbox()
    certificate = certificate_for(tmp_path, "mail.evil.test")
    controller = smtp_server(mailbox, certificate)
    yield controller, mailbox, certificate
    controller.stop()


def test_smtp_connects_to_the_checked_address_and_still_verifies_the_certificate_for_the_name(net, mail_server, victim):
    controller, mailbox, certificate = mail_server
    net.answer("mail.evil.test", PUBLIC)
    net.route(PUBLIC, controller.port)
    mailer(net, "mail.evil.test", victim.port, certificate[0]).verify()
    assert mailbox.logins == [(USER, PASSWORD)] and victim.connections == 0


def test_smtp_refuses_a_certificate_that_does_not_name_the_host_even_at_a_checked_address(net, mail_server, victim, tmp_path):
    controller, mailbox, certificate = mail_server
    net.answer("smtp.other.test", PUBLIC)
    net.route(PUBLIC, controller.port)
    error = refused(mailer(net, "smtp.other.test", victim.port, certificate[0]).verify, PASSWORD)
    assert "is not trusted" in str(error) and mailbox.logins == []


def test_the_smtp_password_never_reaches_a_name_that_rebinds_to_loopback(net, mail_server, victim):
    controller, mailbox, certificate = mail_server
    net.answer("mail.evil.test", PUBLIC, "127.0.0.1")
    net.route(PUBLIC, controller.port)
    error = refused(mailer(net, "mail.evil.test", victim.port, certificate[0]).verify, PASSWORD)
    assert str(error).startswith("mail.evil.test resolves to a private address")
    assert victim.connections == 0 and mailbox.logins == []
