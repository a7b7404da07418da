"""The webhook signature, and the README's verification snippet against it."""

import re
import time
from pathlib import Path

from webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, headers, sign, verify

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "whsec-test-0123456789"
BODY = b'{"id":"evt_1","type":"call.started","created_at":"2026-01-01T00:00:00Z","data":{}}'


def readme_verifier():
    """The ``verify_switchboard`` snippet exactly as the README prints it."""
    text = README.read_text()
    block = re.search(r"```python\n(.*?def verify_switchboard.*?)```", text, re.S)
    assert block, "the README lost its webhook verification snippet"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102
    return namespace["verify_switchboard"]


def test_readme_snippet_accepts_our_signature_and_rejects_tampering():
    verify_switchboard = readme_verifier()
    sent = headers("evt_1", BODY, SECRET)
    ts, sig = sent[TIMESTAMP_HEADER], sent[SIGNATURE_HEADER]
    assert sig.startswith("v1=") and len(sig) == 3 + 64
    assert verify_switchboard(SECRET, BODY, ts, sig)
    assert not verify_switchboard(SECRET, BODY.replace(b"started", b"ended"), ts, sig)
    assert not verify_switchboard("another-secret", BODY, ts, sig)
    assert not verify_switchboard(SECRET, BODY, str(int(ts) + 1), sig)  # timestamp is signed
    old = str(int(time.time()) - 3600)
    assert not verify_switchboard(SECRET, BODY, old, sign(SECRET, old, BODY))  # replayed


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1700000000", BODY) == f"v1={expected}"
    now = str(int(time.time()))
    assert verify(SECRET, now, BODY, sign(SECRET, now, BODY))
    assert not verify(SECRET, "not-a-time", BODY, sign(SECRET, now, BODY))


def test_without_a_secret_events_are_sent_unsigned():
    assert SIGNATURE_HEADER not in headers("evt_1", BODY, None)
