"""The receptionist books, reads the address back, then emails the confirmation over SMTP.

Twilio caller → launcher → provider doubles, and a real SMTP server (aiosmtpd, STARTTLS and
AUTH required). The LLM double plays the receptionist: it books, asks for the address, reads
it back, and only after the caller's yes calls ``send_booking_confirmation``. The email that
arrives carries the booking's own details (date, time, name, reference), not the LLM's words.
"""

from datetime import date, timedelta

import pytest

from simulators.callers.listen import PhraseListener
from simulators.callers.script import Say, WaitForBotSilence
from tests.tools.smtp_server import SmtpServer

BOOK_Q = "i would like to book an appointment"
EMAIL_Q = "my email is jane at example dot com"
YES_Q = "yes that is right"
BOOKED_A = "You are booked. Would you like an email confirmation?"
READ_BACK_A = "That is jane at example dot com, is that right?"
SENT_A = "Done, the confirmation is on its way."
HEARD = PhraseListener(
    ["you are booked would you like an email confirmation",
     "that is jane at example dot com is that right", "done the confirmation is on its way"]
)  # fmt: skip


def _next_weekday(days_ahead: int = 2) -> date:
    day = date.today() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


async def test_booking_confirmation_email_arrives_after_the_address_is_read_back(
    doubles, twilio_caller, launcher_factory, smtp
):
    day = _next_weekday().isoformat()
    booking = {"date": day, "time": "10:00", "name": "Jane Doe", "phone": "+15551234567"}
    doubles.client.reset()
    doubles.client.stt_phrases([BOOK_Q, EMAIL_Q, YES_Q])
    doubles.client.llm_rules([
        {"match": "book an appointment",
         "tool_calls": [{"name": "book_appointment", "arguments": booking}]},
        {"after_tool": "book_appointment", "reply": BOOKED_A},
        {"match": "my email is", "reply": READ_BACK_A},
        {"match": "that is right", "tool_calls": [
            {"name": "send_booking_confirmation", "arguments": {"email": "jane@example.com"}}]},
        {"after_tool": "send_booking_confirmation", "reply": SENT_A},
    ])  # fmt: skip
    launcher = launcher_factory(**smtp.env())
    caller = twilio_caller(launcher, persona="receptionist")
    result = await caller.run([
        WaitForBotSilence(timeout=15), Say(BOOK_Q), WaitForBotSilence(timeout=15),
        Say(EMAIL_Q), WaitForBotSilence(timeout=15), Say(YES_Q), WaitForBotSilence(timeout=15),
    ])  # fmt: skip
    assert result.errors == []
    heard = [HEARD.heard(u.pcm, result.sample_rate) for u in result.bot_utterances]
    read_back = "that is jane at example dot com is that right"
    assert read_back in heard and heard[-1] == "done the confirmation is on its way", heard

    (received,) = smtp.received
    assert received["tls"] and received["login"] == "mailer"
    assert received["rcpt_tos"] == ["jane@example.com"]
    message = received["message"]
    text = message.get_content()
    weekday = date.fromisoformat(day).strftime("%A %d %B %Y")
    assert f"{weekday}, 10:00 to 10:30 (UTC)" in text, text
    assert "Jane Doe" in text and "+15551234567" in text and "Bright Smile Dental" in text
    assert message["Subject"].startswith("Your appointment with Bright Smile Dental")

    # The tool result the LLM got names the address, and the booking's reference is the one
    # book_appointment reported.
    tool_results = [m["content"] for r in doubles.client.llm_requests()
                    for m in r["messages"] if m["role"] == "tool"]  # fmt: skip
    booked = next(c for c in tool_results if '"booked"' in c)
    reference = booked.split('"appointment_id": "')[1].split('"')[0]
    assert f"Reference: {reference}" in text
    assert any('"sent"' in c and "jane@example.com" in c for c in tool_results), tool_results
