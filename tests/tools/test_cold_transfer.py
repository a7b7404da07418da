"""transfer_immediate (the cold transfer) on LiveKit SIP and in the browser.

The Twilio side is tested at the caller (tests/bots/test_e2e_tools.py). Here the tool runs
against the LiveKit double: one SIP REFER of the caller's participant, nothing spoken, the
pipeline ended as transferred; a browser call is refused aloud and goes on.
"""

from types import SimpleNamespace

from pipecat.frames.frames import EndWorkerFrame, TTSSpeakFrame

from config import Settings
from tools.transfer import REFUSAL, transfer_immediate
from transports.kinds import TransportKind


class _Params:
    def __init__(self, call, settings):
        self.app_resources = {"call": call, "settings": settings}
        self.results: list = []
        self.frames: list = []
        self.llm = SimpleNamespace(push_frame=self._push)

    async def _push(self, frame, *_args):
        self.frames.append(frame)

    async def result_callback(self, result, properties=None):
        self.results.append((result, properties))


def _call(transport: TransportKind, metadata: dict):
    ctx = SimpleNamespace(call_id="call-1", transport=transport, metadata=metadata,
                          room="room-9", provider_call_id=None)  # fmt: skip
    return SimpleNamespace(ctx=ctx, end_reason=None, transport=None)


def _settings(doubles) -> Settings:
    env = {k.lower(): v for k, v in doubles.env().items() if k.startswith("LIVEKIT_")}
    return Settings(_env_file=None, transfer_number="+15550001111", **env)


async def test_livekit_sip_cold_transfer_refers_once_and_says_nothing(doubles):
    doubles.client.reset()
    call = _call(TransportKind.LIVEKIT, {"sip_participant_identity": "sip_+15551234567"})
    params = _Params(call, _settings(doubles))
    await transfer_immediate(params, reason="wants a person now")
    assert doubles.client.livekit_sip_transfers() == [
        {"room": "room-9", "identity": "sip_+15551234567", "transfer_to": "tel:+15550001111",
         "play_dialtone": False}
    ]  # fmt: skip
    ((result, properties),) = params.results
    assert result == {"status": "transferred"} and properties.run_llm is False
    assert not [f for f in params.frames if isinstance(f, TTSSpeakFrame)]  # no announcement
    assert [type(f) for f in params.frames] == [EndWorkerFrame]
    assert call.end_reason == "transferred"


async def test_browser_call_cold_transfer_is_refused_aloud_and_the_call_goes_on(doubles):
    doubles.client.reset()
    params = _Params(_call(TransportKind.WEBRTC, {}), _settings(doubles))
    await transfer_immediate(params, reason="wants a person")
    assert params.results[0][0]["status"] == "refused"
    assert [f.text for f in params.frames if isinstance(f, TTSSpeakFrame)] == [REFUSAL]
    assert not [f for f in params.frames if isinstance(f, EndWorkerFrame)]
    assert doubles.client.livekit_sip_transfers() == []
