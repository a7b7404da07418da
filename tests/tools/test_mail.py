"""tools.mail against a real SMTP server (STARTTLS + AUTH) and the Resend double."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config import Settings
from storage.base import Appointment
from tests.tools.smtp_server import SmtpServer
from tools import mail
from tools.email_tools import confirmation_email


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


def _smtp_settings(server: SmtpServer, **changes: str) -> Settings:
    env = {k.lower(): v for k, v in server.env().items()}
    return Settings(_env_file=None, **{**env, **changes})


def _resend_settings(doubles, **changes: str) -> Settings:
    env = doubles.env()
    return Settings(
        _env_file=None,
        resend_api_url=env["RESEND_API_URL"],
        resend_api_key=env["RESEND_API_KEY"],
        smtp_from="Bright Smile Dental <bookings@brightsmile.example>",
        **changes,
    )


async def test_smtp_sends_over_starttls_after_auth(smtp):
    email = mail.Email("jane@example.com", "Hello", "Your appointment is booked.")
    message_id = await mail.send(_smtp_settings(smtp), email)
    (received,) = smtp.received
    assert received["tls"] and received["login"] == "mailer"
    assert received["rcpt_tos"] == ["jane@example.com"]
    assert received["mail_from"] == "bookings@brightsmile.example"
    message = received["message"]
    assert message["Subject"] == "Hello" and message["Message-ID"] == message_id
    assert message.get_content().strip() == "Your appointment is booked."


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # it is all TLS
async def test_smtp_sends_over_implicit_tls(tmp_path):
    server = SmtpServer(tmp_path, implicit_tls=True).start()
    try:
        await mail.send(_smtp_settings(server), mail.Email("jane@example.com", "Hi", "Booked."))
    finally:
        server.stop()
    (received,) = server.received
    assert received["login"] == "mailer" and received["rcpt_tos"] == ["jane@example.com"]


async def test_smtp_wrong_password_is_refused_without_the_password_in_the_error(smtp):
    with pytest.raises(mail.MailError, match="refused the login") as err:
        await mail.send(
            _smtp_settings(smtp, smtp_password="wrong-pw"), mail.Email("a@b.co", "s", "t")
        )
    assert "wrong-pw" not in str(err.value)
    assert smtp.received == []


async def test_smtp_certificate_is_verified(smtp):
    settings = _smtp_settings(smtp, smtp_ca_file="")  # the system CAs do not know this server
    with pytest.raises(mail.MailError, match="could not be reached"):
        await mail.send(settings, mail.Email("a@b.co", "s", "t"))
    assert smtp.received == []


async def test_not_configured_and_bad_addresses_are_refused_before_sending():
    with pytest.raises(mail.MailNotConfiguredError):
        await mail.send(Settings(_env_file=None), mail.Email("a@b.co", "s", "t"))
    for bad in ("jane", "a@b", "a@b.co, c@d.co", "Jane <a@b.co>", "a@b.co\nBcc: x@y.co"):
        assert not mail.valid_address(bad), bad
    assert mail.valid_address("jane.doe+dentist@mail.example.co.uk")


async def test_resend_sends_the_email_once_per_idempotency_key(doubles):
    doubles.client.resend_reset()
    settings = _resend_settings(doubles)
    email = mail.Email("jane@example.com", "Hello", "Booked.", idempotency_key="confirm:apt_1")
    first = await mail.send(settings, email)
    again = await mail.send(settings, email)  # a retry: same id, no second email
    assert first == again
    (sent,) = doubles.client.resend()["emails"]
    assert sent["id"] == first
    assert (sent["to"], sent["subject"], sent["text"]) == (["jane@example.com"], "Hello", "Booked.")
    assert sent["from"] == "Bright Smile Dental <bookings@brightsmile.example>"


async def test_resend_wrong_key_is_a_clear_error(doubles):
    doubles.client.resend_reset()
    settings = _resend_settings(doubles)
    settings = settings.model_copy(update={"resend_api_key": Settings(
        _env_file=None, resend_api_key="re_wrong").resend_api_key})  # fmt: skip
    with pytest.raises(mail.MailError, match="403 invalid_api_key"):
        await mail.send(settings, mail.Email("jane@example.com", "s", "t"))
    assert doubles.client.resend()["emails"] == []


def test_confirmation_email_says_the_booking_in_the_business_timezone():
    tz = ZoneInfo("America/New_York")
    start = datetime(2027, 3, 4, 10, 0, tzinfo=tz)
    appointment = Appointment(
        starts_at=start.astimezone(UTC), ends_at=(start + timedelta(minutes=30)).astimezone(UTC),
        name="Jane Doe", phone="+15551234567",
    )  # fmt: skip
    email = confirmation_email("jane@example.com", appointment, "Bright Smile Dental", tz)
    assert email.subject == "Your appointment with Bright Smile Dental on 04 March at 10:00"
    assert "Thursday 04 March 2027, 10:00 to 10:30 (EST)" in email.text
    assert appointment.id in email.text and "Jane Doe" in email.text
