"""Mail over STARTTLS to a real SMTP server (aiosmtpd) on 127.0.0.1 with a certificate of a CA made here.

The server requires STARTTLS before MAIL and AUTH, as a submission server on port 587 does. The
certificate is checked: trusted through the manifest's ``ca_file`` it is sent; against the system's CAs
it is refused with the reason; a password is never sent over a connection without TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cablekeep.errors import ManifestError
from cablekeep.manifest import Email, load_manifest, load_manifest_text
from cablekeep.schedule.notify import Message, send_email
from cablekeep.schedule.rundue import Scheduler

from .loopback import loopback_server, smtp_server
from .test_notify import UTC, closed_port, write

ENVIRON = {"CABLEKEEP_SMTP_USER": "archivist", "CABLEKEEP_SMTP_PASSWORD": "from-the-environment"}


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA's certificate (PEM): what a client trusts
    server: ssl.SSLContext  # the server's context: a certificate for 127.0.0.1 signed by the CA


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("cablekeep test CA")).issuer_name(_name("cablekeep test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "server.pem", folder / "server.key")
    return Pki(folder / "ca.pem", server)


def _message() -> Message:
    return Message(kind="job-failed", collection="tls-site", manifest=Path("m.yaml"),
                   time=datetime(2026, 1, 5, 2, 0, tzinfo=timezone.utc), events=())


def _email(port: int, **options: object) -> Email:
    return Email(host="127.0.0.1", port=port, to=("keeper@example.org",), sender="ck@example.org", timeout=10,
                 **options)  # type: ignore[arg-type]


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[tuple[object, int]]:
    with smtp_server(tls=pki.server) as served:
        yield served


def test_starttls_with_the_manifests_ca_sends_and_logs_in_over_tls(pki: Pki, tls_server: tuple) -> None:  # type: ignore[type-arg]
    mailbox, port = tls_server
    sent = send_email(_email(port, ca_file=pki.ca), _message(), ENVIRON)
    assert (sent.ok, sent.detail) == (True, "sent to keeper@example.org")
    assert mailbox.logins == [("archivist", "from-the-environment")]  # the server takes AUTH only after STARTTLS
    ((sender, to, text),) = mailbox.messages
    assert (sender, to) == ("ck@example.org", ["keeper@example.org"]) and "Subject: cablekeep: tls-site: job failed" in text


def test_a_certificate_the_system_does_not_trust_is_refused_with_the_reason(tls_server: tuple) -> None:  # type: ignore[type-arg]
    mailbox, port = tls_server
    refused = send_email(_email(port), _message(), ENVIRON)
    assert not refused.ok and "CERTIFICATE_VERIFY_FAILED" in refused.detail, refused.detail
    assert refused.detail.startswith(f"127.0.0.1:{port}: ")
    assert mailbox.logins == [] and mailbox.messages == []


def test_no_password_without_tls_and_no_mail_where_the_server_requires_it(pki: Pki, tls_server: tuple) -> None:  # type: ignore[type-arg]
    mailbox, port = tls_server
    clear = send_email(_email(port, starttls=False), _message(), ENVIRON)
    assert not clear.ok and clear.attempts == 0
    assert "does not send a password without TLS" in clear.detail and "CABLEKEEP_SMTP_PASSWORD" in clear.detail
    anonymous = send_email(_email(port, starttls=False), _message(), {})  # no login: the server's own refusal
    assert not anonymous.ok and "STARTTLS" in anonymous.detail, anonymous.detail
    assert mailbox.logins == [] and mailbox.messages == []


def test_ca_file_in_the_manifest_is_read_relative_to_it_and_must_exist(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(pki.ca.read_bytes())
    head = "cablekeep: 1\ncollection: c\nseeds: [http://127.0.0.1:1/a]\nschedule: {crawl: '0 2 * * *'}\n"
    mail = "notify:\n  email:\n    host: 127.0.0.1\n    from: ck@example.org\n    to: [k@example.org]\n    ca_file: {}\n"
    manifest = load_manifest_text(head + mail.format("ca.pem"), tmp_path / "m.yaml")
    assert manifest.notify.email is not None and manifest.notify.email.ca_file == tmp_path / "ca.pem"
    with pytest.raises(ManifestError) as missing:
        load_manifest_text(head + mail.format("nowhere.pem"), tmp_path / "m.yaml")
    assert str(missing.value) == (f"{tmp_path / 'm.yaml'}:10: notify.email.ca_file: {tmp_path / 'nowhere.pem'} is not a "
                                  "file; name the PEM file of the certificates to trust for STARTTLS")


def test_smtp_credentials_come_from_the_environment_variables_the_manifest_names(tmp_path: Path, pki: Pki) -> None:
    with loopback_server() as hooks, smtp_server(tls=pki.server) as (mailbox, smtp_port):
        path = write(tmp_path, "login-site", [f"http://127.0.0.1:{closed_port()}/x"], {"crawl": "0 2 * * *"},
                     f"{hooks.base}/hook", smtp_port)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["notify"]["email"].update(starttls=True, ca_file=str(pki.ca))
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        manifest = load_manifest(path)
        assert manifest.notify.email is not None and manifest.notify.email.password_env == "CABLEKEEP_SMTP_PASSWORD"
        environ = {"CABLEKEEP_SMTP_USER": "archivist", "CABLEKEEP_SMTP_PASSWORD": "from-the-environment"}
        scheduler = Scheduler(tmp_path / "fixity.sqlite", tmp_path / "linkrot.sqlite", environ=environ)
        scheduler.run_due([manifest], datetime(2026, 1, 5, 1, 0, tzinfo=UTC))
        report = scheduler.run_due([manifest], datetime(2026, 1, 5, 2, 0, tzinfo=UTC))
        assert [d.ok for d in report.deliveries] == [True, True]
        assert mailbox.logins == [("archivist", "from-the-environment")] and len(mailbox.messages) == 1
        assert "from-the-environment" not in path.read_text(encoding="utf-8")
