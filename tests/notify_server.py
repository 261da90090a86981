"""A real SMTP server on loopback for the notify tests (aiosmtpd), with a certificate the test
makes (``cryptography``), STARTTLS or implicit TLS, AUTH, and faults on demand; and the demo team
in a ledger."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from peertrain import load_bundled_catalogue, read_completions, read_roster
from peertrain.ledger import Record, open_ledger
from peertrain.rules.loading import curricula_dir

USER, PASSWORD = "peertrain@pinelake.example", "s3cret-for-tests"
DEMO = curricula_dir() / "demo"


def make_certificate(folder: Path, name: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate (its own authority) for ``name`` and localhost: (cert, key)."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peertrain test mail server")])
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(name)))
    except ValueError:
        alt.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"cert-{name}.pem", folder / f"key-{name}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Recorder:
    """An aiosmtpd handler that keeps every accepted message, with faults on demand:
    ``refuse`` (recipients answered 550), ``busy`` (how many MAIL commands get 421 first),
    ``drop_at`` (the numbers of the MAIL commands, counted from 1, at which the connection is cut)."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.busy = 0
        self.drop_at: set[int] = set()
        self.mails = 0
        self.logins: list[str] = []
        self.lock = threading.Lock()

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802 - the names aiosmtpd calls
        self.mails += 1
        if self.mails in self.drop_at:
            server.transport.close()
            return "421 closing"
        if self.busy > 0:
            self.busy -= 1
            return "421 4.3.2 try again later"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802 - the names aiosmtpd calls
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - the names aiosmtpd calls
        with self.lock:
            self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK: queued"

    def messages(self) -> list[EmailMessage]:
        """The accepted messages, parsed."""
        return [
            email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[misc]
            for _, _, data in self.accepted
        ]

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == USER and data.password.decode() == PASSWORD
        if ok:
            self.logins.append(mechanism)
        # handled=False: aiosmtpd answers a failure itself (535); with its default (True) it says
        # nothing, and the client waits for a reply that never comes.
        return AuthResult(success=ok, handled=False)


class _Controller(Controller):
    """A controller on a free loopback port (the port is known once the server listens)."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start_server(
    folder: Path, *, implicit: bool = False, cert: tuple[Path, Path] | None = None
) -> tuple[Any, Recorder]:
    """Start a server (STARTTLS required, or implicit TLS) with AUTH; stop it with ``.stop()``."""
    cert_path, key_path = cert or make_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    recorder = Recorder()
    options: dict[str, Any] = {"authenticator": recorder.authenticate, "auth_required": True}
    if implicit:
        # the whole connection is TLS, but aiosmtpd only knows of STARTTLS: it would not offer AUTH
        options.update(ssl_context=context, auth_require_tls=False)
    else:
        options.update(tls_context=context, require_starttls=True)
    controller = _Controller(recorder, hostname="127.0.0.1", port=0, **options)
    controller.start()
    return controller, recorder


def write_config(folder: Path, port: int, *, cert: Path | None, security: str = "starttls", extra: str = "") -> Path:
    """A notify.toml for the demo team and the test server (password through a file: reference)."""
    secret = folder / "smtp-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    demo = (DEMO / "notify.toml").read_text()
    head = demo.split("\n[smtp]\n")[0]
    head = head.replace('exemptions = "exemptions.csv"', f'exemptions = "{DEMO / "exemptions.csv"}"')
    tail = demo.split("\n[defaults]\n")[1]
    smtp = (
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\nusername = "{USER}"\n'
        'password = "file:smtp-password"\nfrom = "Pine Lake PD peer support team <peertrain@pinelake.example>"\n'
        f"timeout = 5\nretries = 2\nbackoff = 0.01\nrate = 1000\n"
        + (f'ca_file = "{cert}"\n' if cert else "")
    )
    path = folder / "notify.toml"
    path.write_text(f"{head}\n{smtp}{extra}\n[defaults]\n{tail}")
    return path


def demo_ledger(path: Path | str, *, until: dt.date | None = None) -> Path | str:
    """A ledger holding the demo roster and its completions (up to ``until``)."""
    catalogue = load_bundled_catalogue()
    members = read_roster(DEMO / "roster.csv")
    completions = read_completions(DEMO / "completions.csv", catalogue, members)
    ledger = open_ledger(path, create_timezone="America/Chicago")
    try:
        ledger.put_members(members)
        add_completions(ledger, [(c.member, c.course, c.completed_on, c.hours) for c in completions
                                 if until is None or c.completed_on <= until], "demo")
    finally:
        ledger.close()
    return path


def add_completions(ledger: Any, rows: list[tuple[Any, ...]], name: str) -> None:
    """Import completed records ``(member, course, day[, hours])`` as one batch."""
    records = [
        Record(member=row[0], course=row[1], on=row[2], status="completed", hours=row[3] if len(row) > 3 else None,
               delivery=None, provider=None, record_id=None, origin=f"{name}:{i}")
        for i, row in enumerate(rows, 2)
    ]
    ledger.import_batch(source=name, profile="test", file_name=f"{name}.csv", file_hash=name,
                        imported_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), rows=records)
