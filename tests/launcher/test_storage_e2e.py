"""Storage end to end: a real launcher, a simulated Twilio caller, the real SQLite file."""

import asyncio
import time
import wave

from simulators.callers.listen import PhraseListener
from simulators.callers.script import Say, Wait, WaitForBotSilence
from storage.base import AgentConfig
from storage.sqlite import SQLiteStorage
from tests.bots.scenario import BOOKING
from tests.eventually import aeventually

CANCEL = "cancel my appointment"
BOOKED = "Sure, what time works for you?"
CANCELLED = "Your appointment is cancelled."


async def _stored(db_path, fn):
    storage = SQLiteStorage(db_path)
    await storage.open()
    try:
        return await fn(storage)
    finally:
        await storage.close()


async def _second_reply_spoken(launcher, timeout: float = 90) -> None:
    """Wait until the launcher's live transcript (its LLM context) has the second reply."""

    def spoken() -> bool:
        calls = launcher.get("/calls").json()
        if not calls:
            return False
        details = launcher.get(f"/calls/{calls[0]['call_id']}").json()
        return any(CANCELLED in (t.get("text") or "") for t in details.get("transcript", []))

    await aeventually(spoken, timeout, "the second reply in the transcript", every=0.2)


async def test_kill_9_mid_call_keeps_every_completed_turn(
    doubles, twilio_caller, launcher_factory, tmp_path
):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING, CANCEL])
    doubles.client.llm_rules(
        [{"match": "book an appointment", "reply": BOOKED}, {"match": CANCEL, "reply": CANCELLED}]
    )
    launcher = launcher_factory(
        DATA_DIR=str(tmp_path), IDLE_HANGUP_SECS="120", RECORDING_ENABLED="true"
    )
    caller = twilio_caller(launcher)
    call = asyncio.create_task(
        caller.run(
            [
                WaitForBotSilence(timeout=15),
                Say(BOOKING),
                WaitForBotSilence(timeout=15),
                Say(CANCEL),
                WaitForBotSilence(timeout=15),
                Wait(60),
            ]
        )
    )
    started = time.monotonic()
    await _second_reply_spoken(launcher)
    await asyncio.sleep(0.5)
    launcher.proc.kill()  # SIGKILL: no shutdown, no flush, no detach
    killed_after = time.monotonic() - started
    launcher.proc.wait(timeout=10)
    result = await call
    assert result.errors == [], result.errors

    async def read(storage):
        [record] = await storage.list_calls()
        return record, await storage.list_turns(record.id)

    record, turns = await _stored(tmp_path / "switchboard.db", read)
    assert record.status == "active" and record.answered_at is not None  # it never ended
    said = [(t.role, t.text.lower().strip(" .?!")) for t in turns]
    print("turns in the SQLite file after kill -9:", said)
    assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
    assert said[0][0] == "assistant" and said[0][1].startswith("thank you for calling")
    assert said[1:] == [
        ("user", BOOKING.lower()),
        ("assistant", BOOKED.lower().strip("?")),
        ("user", CANCEL),
        ("assistant", CANCELLED.lower().strip(".")),
    ]
    assert all(t.ended_at is not None and t.ended_at >= t.started_at for t in turns)
    assert not any(t.interrupted for t in turns)
    # The recording on disk is a valid stereo WAV of the call up to about the last 1 s chunk.
    with wave.open(str(tmp_path / "recordings" / f"{record.id}.wav"), "rb") as wav:
        kept = wav.getnframes() / wav.getframerate()
        assert wav.getnchannels() == 2
    print(f"recording after kill -9: {kept:.2f} s of a call killed after >= {killed_after:.2f} s")
    assert killed_after - 2.5 <= kept <= killed_after + 1.0, (kept, killed_after)


TENANT_GREETING = "Welcome to the green garden shop, how may we help you today?"
TENANT_GREETING_HEARD = "welcome to the green garden shop how may we help you today"
TENANT_PROMPT = "You answer the phone for the green garden shop. Be brief."
TENANT_VOICE = "acmeVoice0000000001"


async def test_tenant_row_overrides_prompt_voice_and_greeting(
    doubles, twilio_caller, launcher_factory, tmp_path
):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book an appointment", "reply": BOOKED}])
    row = AgentConfig(
        tenant="acme",
        persona="receptionist",
        prompt=TENANT_PROMPT,
        greeting=TENANT_GREETING,
        voice_id=TENANT_VOICE,
    )
    await _stored(tmp_path / "switchboard.db", lambda s: s.put_agent_config(row))
    launcher = launcher_factory(DATA_DIR=str(tmp_path))
    caller = twilio_caller(launcher, persona="receptionist", tenant="acme")
    result = await caller.run(
        [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15)]
    )
    assert result.connected and result.errors == [], result.errors
    listener = PhraseListener([TENANT_GREETING_HEARD, "thank you for calling bright smile dental"])
    greeting = listener.heard(result.bot_utterances[0].pcm, result.sample_rate)
    assert greeting == TENANT_GREETING_HEARD, greeting
    [request] = [
        r
        for r in doubles.client.llm_requests()
        if any("book an appointment" in str(m["content"]) for m in r["messages"])
        and r["messages"][-1]["role"] == "user"
    ][:1]
    system = request["messages"][0]
    assert system["role"] == "system" and system["content"] == TENANT_PROMPT, system
    voices = {r["voice"] for r in doubles.client.tts_requests() if r["service"] == "elevenlabs"}
    assert voices == {TENANT_VOICE}, voices

    async def read(storage):
        [record] = await storage.list_calls()
        return record

    record = await _stored(tmp_path / "switchboard.db", read)
    assert record.tenant == "acme" and record.persona == "receptionist"
