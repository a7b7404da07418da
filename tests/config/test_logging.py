"""Values from outside cannot forge log lines."""

from config.logging import escape


def test_control_characters_are_escaped():
    forged = "CA1\n2026-01-01 | ERROR | forged\r\x1b[31m\u2028"
    assert escape(forged) == "CA1\\n2026-01-01 | ERROR | forged\\r\\x1b[31m\\u2028"
    assert escape("plain text, unicode é") == "plain text, unicode é"
