"""Which connections the launcher's front hands to a worker: only a call's media stream."""

from launcher.front import media_call_id


def test_only_a_media_stream_with_a_call_id_is_handed_over():
    line = b"GET /twilio/media/call_7f3a HTTP/1.1\r\nHost: x\r\n"
    assert media_call_id(line) == "call_7f3a"
    assert media_call_id(b"GET /twilio/media/call_7f3a?x=1 HTTP/1.1\r\n") == "call_7f3a"
    for other in (
        b"GET /twilio/media HTTP/1.1\r\n",  # the bare URL: served (and refused) by the launcher
        b"POST /twilio/media/call_7f3a HTTP/1.1\r\n",
        b"GET /twilio/media/../calls HTTP/1.1\r\n",
        b"GET /twilio/media/call_7f3a/x HTTP/1.1\r\n",
        b"GET /calls HTTP/1.1\r\n",
        b"GET /twilio/media/call_7f3a HTTP/1.1",  # no line end yet
    ):
        assert media_call_id(other) is None, other
