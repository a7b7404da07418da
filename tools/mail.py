"""Sending email: SMTP (STARTTLS, implicit TLS, auth) or the Resend HTTP API.

The backend follows the settings: ``RESEND_API_KEY`` set sends through Resend
(``POST {RESEND_API_URL}/emails``, Bearer key); else ``SMTP_HOST`` set sends over SMTP with
``SMTP_TLS`` (``starttls``, ``ssl`` or ``none``) and ``SMTP_USER``/``SMTP_PASSWORD`` when set.
Neither: :class:`MailNotConfiguredError`. Secrets and message bodies are never logged.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import httpx

from config import Settings

MAIL_TIMEOUT_SECS = 15.0
_ADDRESS = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$")


class MailError(RuntimeError):
    """The email could not be sent (the message says why, without secrets)."""


class MailNotConfiguredError(MailError):
    """Neither Resend nor SMTP is configured."""


@dataclass(frozen=True)
class Email:
    """One plain-text email.

    Attributes:
        to: The recipient's address.
        subject: The subject line.
        text: The plain-text body.
        idempotency_key: Sent to Resend so a retried request sends once.
    """

    to: str
    subject: str
    text: str
    idempotency_key: str | None = None


def valid_address(address: str) -> bool:
    """Whether ``address`` looks like one deliverable address (no lists, names or headers)."""
    return bool(_ADDRESS.match(address.strip()))


def backend(settings: Settings) -> str | None:
    """``"resend"``, ``"smtp"`` or None (not configured), from the settings."""
    if getattr(settings, "resend_api_key", None):
        return "resend"
    if getattr(settings, "smtp_host", None):
        return "smtp"
    return None


async def send(settings: Settings, email: Email) -> str:
    """Send ``email`` through the configured backend.

    Returns:
        The provider's id of the sent message (Resend's id, or the SMTP ``Message-ID``).

    Raises:
        MailNotConfiguredError: No backend is configured, or ``SMTP_FROM`` is missing.
        MailError: The address is invalid, or the server refused or could not be reached.
    """
    if not valid_address(email.to):
        raise MailError("the recipient address is not valid")
    kind = backend(settings)
    if kind is None:
        raise MailNotConfiguredError("email is not configured (RESEND_API_KEY or SMTP_HOST)")
    if not settings.smtp_from:
        raise MailNotConfiguredError("SMTP_FROM (the sender address) is not set")
    if kind == "resend":
        return await _send_resend(settings, email)
    return await asyncio.to_thread(_send_smtp, settings, email)


async def _send_resend(settings: Settings, email: Email) -> str:
    headers = {"Authorization": f"Bearer {settings.resend_api_key.get_secret_value()}"}
    if email.idempotency_key:
        headers["Idempotency-Key"] = email.idempotency_key[:256]
    body = {
        "from": settings.smtp_from,
        "to": [email.to.strip()],
        "subject": email.subject,
        "text": email.text,
    }
    url = f"{settings.resend_api_url.rstrip('/')}/emails"
    try:
        async with httpx.AsyncClient(timeout=MAIL_TIMEOUT_SECS) as client:
            resp = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise MailError(f"Resend could not be reached ({type(exc).__name__})") from None
    if resp.status_code >= 300:
        name = _error_name(resp)
        raise MailError(f"Resend refused the email (HTTP {resp.status_code} {name})".strip())
    return str(resp.json().get("id", ""))


def _error_name(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("name", ""))
    except ValueError:
        return ""


def _tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
    return context


def _send_smtp(settings: Settings, email: Email) -> str:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = email.to.strip()
    message["Subject"] = email.subject
    sender = parseaddr(settings.smtp_from)[1]
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(email.text)
    host, port, mode = settings.smtp_host, settings.smtp_port, settings.smtp_tls
    try:
        if mode == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=MAIL_TIMEOUT_SECS, context=_tls_context(settings)
            )
        else:
            client = smtplib.SMTP(host, port, timeout=MAIL_TIMEOUT_SECS)
        with client:
            client.ehlo()
            if mode == "starttls":
                client.starttls(context=_tls_context(settings))
                client.ehlo()
            if settings.smtp_user:
                _login(client, settings)
            client.send_message(message)
    except smtplib.SMTPNotSupportedError:
        raise MailError("the SMTP server does not offer STARTTLS or AUTH") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"the SMTP server refused the email ({exc.smtp_code})") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"the SMTP server could not be reached ({type(exc).__name__})") from None
    return str(message["Message-ID"])


def _login(client: smtplib.SMTP, settings: Settings) -> None:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    try:
        client.login(settings.smtp_user, password)
    except smtplib.SMTPNotSupportedError:
        raise
    except smtplib.SMTPException:  # some servers drop the connection after a refused AUTH
        raise MailError("the SMTP server refused the login") from None
