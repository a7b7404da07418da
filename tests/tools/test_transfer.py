"""transfer_call's provider side: TwiML for Twilio, a SIP REFER through LiveKit's SIP service."""

import pytest

from config import Settings
from tools.transfer import livekit_sip_transfer, transfer_twiml


def test_twiml_says_the_announcement_then_dials_and_escapes_xml():
    assert transfer_twiml("+15550001111", "Please hold & wait.") == (
        "<Response><Say>Please hold &amp; wait.</Say><Dial>+15550001111</Dial></Response>"
    )
    assert transfer_twiml("+15550001111", None) == "<Response><Dial>+15550001111</Dial></Response>"


async def test_livekit_sip_transfer_refers_the_sip_participant_with_admin_and_sip_grants(doubles):
    doubles.client.reset()
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in doubles.env().items()
                                           if k.startswith("LIVEKIT_")})  # fmt: skip
    await livekit_sip_transfer(settings, "room-7", "sip_+15551234567", "+15550001111")
    assert doubles.client.livekit_sip_transfers() == [
        {"room": "room-7", "identity": "sip_+15551234567", "transfer_to": "tel:+15550001111",
         "play_dialtone": False}
    ]  # fmt: skip


async def test_livekit_sip_transfer_with_wrong_credentials_fails_loudly(doubles):
    env = doubles.env()
    settings = Settings(
        _env_file=None,
        livekit_url=env["LIVEKIT_URL"],
        livekit_api_key=env["LIVEKIT_API_KEY"],
        livekit_api_secret="wrong" * 8,
    )
    with pytest.raises(Exception, match="(?i)unauthenticated|401"):
        await livekit_sip_transfer(settings, "room-7", "sip_x", "+15550001111")
