"""A real SMTP server for the email tests (aiosmtpd): STARTTLS (or implicit TLS) and AUTH.

The certificate is self-signed for 127.0.0.1, made per server; ``ca_file`` is what
``SMTP_CA_FILE`` points at so the client verifies it (no verification is turned off).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """Write a certificate and key for 127.0.0.1 and localhost; returns their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.server.received.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=policy.default),
                "tls": session.ssl is not None,
                "login": self.server.logins[-1] if self.server.logins else None,
            }
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS and AUTH (PLAIN/LOGIN) both required.

    Attributes:
        received: ``{"mail_from", "rcpt_tos", "message", "tls", "login"}`` per accepted email.
        logins: User names that logged in successfully.
    """

    def __init__(
        self,
        directory: Path,
        user: str = "mailer",
        password: str = "s3cret-pw",
        implicit_tls: bool = False,
    ):
        self.user, self.password = user, password
        self.implicit_tls = implicit_tls
        self.ca_file, key_file = self_signed(directory)
        self.port = _free_port()
        self.received: list[dict[str, Any]] = []
        self.logins: list[str] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key_file)
        # With implicit TLS aiosmtpd does not see the session as TLS for AUTH (it only tracks
        # STARTTLS), so AUTH is allowed there: the whole connection is TLS anyway.
        tls = {"ssl_context": context, "auth_require_tls": False} if implicit_tls else {
            "tls_context": context, "require_starttls": True}  # fmt: skip
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            auth_required=True,
            authenticator=self._authenticate,
            **tls,
        )

    def _authenticate(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode(),
            data.password.decode(),
        ) == (self.user, self.password)
        if ok:
            self.logins.append(self.user)
        return AuthResult(success=ok)

    def env(self) -> dict[str, str]:
        """The settings that send through this server (Resend off)."""
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_TLS": "ssl" if self.implicit_tls else "starttls",
            "SMTP_USER": self.user,
            "SMTP_PASSWORD": self.password,
            "SMTP_FROM": "Bright Smile Dental <bookings@brightsmile.example>",
            "SMTP_CA_FILE": str(self.ca_file),
            "RESEND_API_KEY": "",
        }

    def start(self) -> SmtpServer:
        """Start serving (in aiosmtpd's own thread)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()

    def messages(self) -> list[EmailMessage]:
        """The accepted emails, parsed."""
        return [r["message"] for r in self.received]
