"""The phone building blocks on their own: signatures, media tokens, the status store."""

import pytest

from launcher.media_tokens import MediaTokenError, MediaTokens
from launcher.twilio_signature import compute_signature, is_valid, url_variants
from launcher.twilio_status import CallStatusStore
from simulators.callers.twiml import twilio_signature

URL = "https://voice.example.com/twilio/voice?persona=coach"
FORM = {"CallSid": "CA1", "From": "+15550001", "To": "+15550002", "AccountSid": "AC1"}


def test_signature_matches_what_twilio_sends():
    expected = twilio_signature("token", URL, FORM)
    assert compute_signature("token", URL, FORM.items()) == expected
    assert is_valid("token", URL, FORM.items(), expected)
    assert not is_valid("other-token", URL, FORM.items(), expected)
    assert not is_valid("token", URL, {**FORM, "To": "+1999"}.items(), expected)
    assert not is_valid("token", URL.replace("coach", "companion"), FORM.items(), expected)
    assert not is_valid("token", URL, FORM.items(), None)


def test_signature_accepts_the_url_with_or_without_its_default_port():
    with_port = "https://voice.example.com:443/twilio/voice"
    assert url_variants("https://voice.example.com/twilio/voice") == [
        "https://voice.example.com/twilio/voice",
        with_port,
    ]
    assert is_valid(
        "t", "https://voice.example.com/twilio/voice", [], twilio_signature("t", with_port)
    )
    assert url_variants("http://h:8080/x") == ["http://h:8080/x"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_media_token_is_one_use_and_bound_to_call_and_persona():
    clock = Clock()
    tokens = MediaTokens(b"k" * 32, ttl_secs=60, clock=clock)
    token = tokens.issue("call_1", "receptionist")
    for call_id, persona in (("call_2", "receptionist"), ("call_1", "coach")):
        with pytest.raises(MediaTokenError, match="forged"):
            tokens.consume(token, call_id, persona)
    tokens.consume(token, "call_1", "receptionist")
    with pytest.raises(MediaTokenError, match="replayed"):
        tokens.consume(token, "call_1", "receptionist")
    other = MediaTokens(b"x" * 32, ttl_secs=60, clock=clock)
    with pytest.raises(MediaTokenError, match="forged"):
        other.consume(tokens.issue("call_3", "coach"), "call_3", "coach")
    for bad, reason in ((None, "missing"), ("", "missing"), ("abc", "malformed")):
        with pytest.raises(MediaTokenError, match=reason):
            tokens.consume(bad, "call_1", "receptionist")


def test_media_token_expires_and_used_ones_are_forgotten_after():
    clock = Clock()
    tokens = MediaTokens(b"k" * 32, ttl_secs=5, max_used=2, clock=clock)
    first, second, third = (tokens.issue(f"call_{i}", "coach") for i in range(3))
    tokens.consume(first, "call_0", "coach")
    tokens.consume(second, "call_1", "coach")
    with pytest.raises(MediaTokenError, match="busy"):  # bounded: refuse rather than forget
        tokens.consume(third, "call_2", "coach")
    clock.now += 6
    with pytest.raises(MediaTokenError, match="expired"):
        tokens.consume(third, "call_2", "coach")
    tokens.consume(tokens.issue("call_4", "coach"), "call_4", "coach")
    assert tokens.used_count == 1


def test_status_store_keeps_latest_by_sequence_and_is_bounded():
    store = CallStatusStore(max_calls=2, max_history=3)
    store.link("CA1", "call_1", persona="coach")
    store.record({"CallSid": "CA1", "CallStatus": "in-progress", "SequenceNumber": "1"})
    store.record({"CallSid": "CA1", "CallStatus": "ringing", "SequenceNumber": "0"})  # late
    entry = store.record(
        {"CallSid": "CA1", "CallStatus": "completed", "CallDuration": "42", "SequenceNumber": "2"}
    )
    assert entry["status"] == "completed" and entry["duration"] == "42"
    assert [e["status"] for e in entry["history"]] == ["in-progress", "ringing", "completed"]
    store.record({"CallSid": "CA1", "CallStatus": "completed", "SequenceNumber": "3"})
    assert len(store.get("CA1")["history"]) == 3
    assert store.for_call_id("call_1")["call_sid"] == "CA1"
    store.record({"CallSid": "CA2", "CallStatus": "queued"})
    store.record({"CallSid": "CA3", "CallStatus": "queued"})
    assert store.get("CA1") is None and [e["call_sid"] for e in store.all()] == ["CA3", "CA2"]
