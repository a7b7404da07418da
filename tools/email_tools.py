"""Email tools: ``send_email`` (free text) and ``send_booking_confirmation`` (the receptionist's).

``send_booking_confirmation`` writes the email from the appointment booked during this call
(``book_appointment`` remembers it), so the date, time and name in the email are the booking's,
never the LLM's retelling; the LLM only supplies the address, after reading it back to the
caller. Both send through :mod:`tools.mail` (Resend or SMTP) and at most
``EMAIL_MAX_PER_CALL`` emails leave one call.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from loguru import logger
from pipecat.services.llm_service import FunctionCallParams

from calls.templates import render
from tools import mail

BOOKINGS_KEY = "booked_appointments"  # app_resources: appointments booked during this call
_SENT_KEY = "emails_sent"


def remember_booking(params: FunctionCallParams, appointment: Any) -> None:
    """Keep ``appointment`` in the call's resources, for the confirmation email."""
    resources = params.app_resources
    if isinstance(resources, MutableMapping):
        resources.setdefault(BOOKINGS_KEY, []).append(appointment)


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "?"  # logs name the domain only, never the mailbox


async def _send(params: FunctionCallParams, email: mail.Email) -> dict[str, Any]:
    resources = params.app_resources if isinstance(params.app_resources, MutableMapping) else {}
    settings, call = resources.get("settings"), resources.get("call")
    if settings is None:
        return {"error": "email is not available on this call"}
    if not mail.valid_address(email.to):
        return {"error": "that email address does not look valid; ask the caller to spell it"}
    sent = int(resources.get(_SENT_KEY, 0))
    if sent >= settings.email_max_per_call:
        return {"error": "no more emails can be sent during this call"}
    call_id = call.ctx.call_id if call is not None else "-"
    resources[_SENT_KEY] = sent + 1  # counted before sending: a failure still costs one
    try:
        message_id = await mail.send(settings, email)
    except mail.MailError as exc:
        logger.warning(f"[{call_id}] email to @{_domain(email.to)} not sent: {exc}")
        return {"error": f"the email could not be sent: {exc}"}
    logger.info(f"[{call_id}] email sent to @{_domain(email.to)} via {mail.backend(settings)}")
    return {"status": "sent", "to": email.to.strip(), "message_id": message_id}


async def send_email(params: FunctionCallParams, to: str, subject: str, body: str) -> None:
    """Send an email. Read the address back to the caller and get a yes before sending.

    Args:
        to: The recipient's email address.
        subject: The subject line.
        body: The plain-text message.
    """
    call = (params.app_resources or {}).get("call")
    key = f"{call.ctx.call_id}:{to}:{subject}" if call is not None else None
    await params.result_callback(await _send(params, mail.Email(to, subject, body, key)))


def _business(call: Any) -> str:
    if call is None:
        return "us"
    values = call.ctx.template_values()
    name = render("{business_name}", values, call.persona.greeting_defaults)
    return name if name and "{" not in name else "us"


def confirmation_email(address: str, appointment: Any, business: str, tz: Any) -> mail.Email:
    """The booking confirmation for ``appointment`` (times said in the business's timezone)."""
    start = appointment.starts_at.astimezone(tz) if tz is not None else appointment.starts_at
    end = appointment.ends_at.astimezone(tz) if tz is not None else appointment.ends_at
    when = f"{start:%A %d %B %Y}, {start:%H:%M} to {end:%H:%M} ({start.tzname()})"
    text = (
        f"Hello {appointment.name},\n\n"
        f"Your appointment with {business} is booked:\n\n"
        f"  When: {when}\n"
        f"  Name: {appointment.name}\n"
        f"  Phone: {appointment.phone or '-'}\n"
        f"  Reference: {appointment.id}\n\n"
        f"To change or cancel it, please call us.\n"
    )
    subject = f"Your appointment with {business} on {start:%d %B} at {start:%H:%M}"
    return mail.Email(address, subject, text, f"confirm:{appointment.id}:{address}")


async def send_booking_confirmation(params: FunctionCallParams, email: str) -> None:
    """Email the caller a confirmation of the appointment just booked.

    Only after book_appointment succeeded and the caller gave an address, and only once you
    have read the address back to the caller and they said it is right.

    Args:
        email: The caller's email address, as they confirmed it.
    """
    resources = params.app_resources or {}
    booked = resources.get(BOOKINGS_KEY) or []
    if not booked:
        await params.result_callback({"error": "no appointment was booked during this call"})
        return
    appointment = booked[-1]  # booked in the business's timezone: said as the caller heard it
    message = confirmation_email(
        email, appointment, _business(resources.get("call")), appointment.starts_at.tzinfo
    )
    await params.result_callback(await _send(params, message))
