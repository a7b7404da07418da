from simulators.callers.twiml import parse_twiml, twilio_signature, voice_webhook_form

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def params(number: str) -> dict[str, str]:
    return {
        "CallSid": "CA1234567890ABCDE",
        "Caller": number,
        "Digits": "1234",
        "From": number,
        "To": "+18005551212",
    }


def test_twilio_documented_examples():
    # Twilio's security docs publish this vector twice, with two different caller numbers:
    # the current page uses +12349013030, older pages and the helper libraries +14158675310.
    assert twilio_signature("12345", URL, params("+12349013030")) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature("12345", URL, params("+14158675310")) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_signature_covers_url_params_and_token():
    base = twilio_signature("12345", URL, params("+12349013030"))
    assert twilio_signature("12346", URL, params("+12349013030")) != base
    assert twilio_signature("12345", URL.replace("https", "http"), params("+12349013030")) != base
    assert twilio_signature("12345", URL, params("+12349013031")) != base
    reordered = dict(reversed(list(params("+12349013030").items())))
    assert twilio_signature("12345", URL, reordered) == base


def test_webhook_form_has_twilio_fields():
    form = voice_webhook_form("CA1", "AC1", "+1555", "+1666", {"CallerCity": "X"})
    assert form["CallSid"] == "CA1" and form["Direction"] == "inbound"
    assert form["From"] == form["Caller"] == "+1555" and form["CallerCity"] == "X"


def test_parse_connect_stream_twiml():
    answer = parse_twiml(
        '<?xml version="1.0"?><Response><Connect><Stream url="wss://h/ws">'
        '<Parameter name="persona" value="dentist"/><Parameter name="lang" value="en"/>'
        "</Stream></Connect></Response>"
    )
    assert not answer.rejected and answer.stream_url == "wss://h/ws"
    assert answer.parameters == {"persona": "dentist", "lang": "en"}


def test_parse_say_hangup_twiml_is_a_rejection():
    answer = parse_twiml("<Response><Say>We are closed.</Say><Hangup/></Response>")
    assert answer.rejected and answer.hangup and answer.say_text == "We are closed."
    assert parse_twiml("Forbidden", 403).rejected
