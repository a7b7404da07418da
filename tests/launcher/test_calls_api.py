"""Calls API over real HTTP: a live call's details, and ending it with a goodbye."""

import asyncio

import httpx

from simulators.callers.listen import PhraseListener
from simulators.callers.script import Say, Wait, WaitForBotSilence
from tests.bots.scenario import BOOKING
from tests.eventually import aeventually


async def test_call_details_and_graceful_end_through_the_api(
    doubles, twilio_caller, launcher_factory
):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book an appointment", "reply": "Sure, what time?"}])
    launcher = launcher_factory()
    caller = twilio_caller(launcher, from_number="+15551230000")
    script = [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15), Wait(20)]
    call = asyncio.create_task(caller.run(script))

    def answered() -> dict | None:
        calls = launcher.get("/calls").json()
        if not calls:
            return None
        details = launcher.get(f"/calls/{calls[0]['call_id']}").json()
        return details if details["turn_latency_secs"] else None

    details = await aeventually(answered, 20, "the first turn to be answered")
    assert details["persona"] == "receptionist" and details["transport"] == "twilio"
    assert details["caller_number"] == "+15551230000" and details["active"]
    roles = [t["role"] for t in details["transcript"]]
    assert roles[:2] == ["assistant", "user"], details["transcript"]  # greeting, then the caller
    assert "book an appointment" in details["transcript"][1]["text"].lower()
    assert 0.2 < details["turn_latency_secs"][0] < 5
    await asyncio.sleep(2)  # let the reply finish playing
    goodbye = "Thank you for calling goodbye"
    response = httpx.post(
        f"{launcher.base_url}/calls/{details['call_id']}/end", json={"goodbye": goodbye}
    )
    assert response.status_code == 202
    result = await call
    assert result.hung_up_by_bot
    heard = PhraseListener([goodbye.lower()]).heard(result.bot_utterances[-1].pcm, 8000)
    assert heard == goodbye.lower()
    final = launcher.get(f"/calls/{details['call_id']}").json()
    assert final["active"] is False and final["end_reason"] == "ended_by_api"
    assert final["transcript"][-1] == {"role": "assistant", "text": goodbye}
    assert launcher.get("/calls/nope").status_code == 404
    assert httpx.post(f"{launcher.base_url}/calls/nope/end").status_code == 404
    assert "call=" + details["call_id"] in launcher.log()  # call id on the call's log lines
