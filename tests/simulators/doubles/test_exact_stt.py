"""Text-exact STT mode: registered utterances in, their exact text out, through real services.

Speech is espeak-ng (``simulators.callers.audio.speech_pcm``), trimmed like the Twilio caller trims
it, and fed in real time through Silero VAD into Pipecat's own STT services.
"""

from __future__ import annotations

import io
import wave

import httpx
import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.services.cartesia.stt import CartesiaSTTService
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.openai.stt import OpenAISTTService

from simulators.callers.audio import (
    mulaw_decode,
    mulaw_encode,
    resample,
    silence,
    speech_pcm,
    trim_silence,
)
from simulators.doubles.harness import Collector, feed_realtime, run_pipeline

SATURDAY = "What time do you open on Saturday?"
BOOK, TUESDAY = "I'd like to book an appointment for", "next Tuesday."
PATIENTS = "Do you take new patients?"
OTHERS = ["What time do you close on Saturday?", "Cancel my appointment.", "Yes, please."]


def say(text: str, rate: int = 8000, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """espeak speech, trimmed the way the Twilio caller trims what it says."""
    return trim_silence(speech_pcm(text, rate, voice, speed), rate)


def phone(pcm: np.ndarray) -> np.ndarray:
    """What a Twilio call hands Deepgram: the caller's μ-law, decoded back to PCM."""
    return mulaw_decode(mulaw_encode(pcm))


def line(*parts: np.ndarray | float, rate: int) -> np.ndarray:
    """Concatenate speech and pauses (seconds), with lead-in and tail silence."""
    pieces = [silence(p, rate) if isinstance(p, float) else p for p in (0.5, *parts, 1.2)]
    return np.concatenate(pieces).astype(np.int16)


async def register(doubles, utterances, **profile) -> None:
    """Register utterances and switch the STT doubles to text-exact mode."""
    answer = await doubles.client.astt_utterances(utterances)
    assert answer == {"registered": len(utterances), "rejected": []}, answer
    await doubles.client.aset_profile(stt_mode="exact", **profile)


def distractors(rate: int = 8000) -> list[tuple[np.ndarray, int, list[str]]]:
    return [(say(t.rstrip(".?"), rate), rate, [t]) for t in OTHERS]


async def run_stt(stt, pcm: np.ndarray, rate: int) -> Collector:
    """Feed ``pcm`` in real time through Silero VAD into ``stt``; collect what comes out."""

    async def drive(worker, collector):
        await feed_realtime(worker, pcm.astype("<i2").tobytes(), rate)

    return await run_pipeline(
        [VADProcessor(vad_analyzer=SileroVADAnalyzer()), stt],
        drive,
        params=PipelineParams(audio_in_sample_rate=rate),
        timeout=30,
    )


def deepgram(doubles) -> DeepgramSTTService:
    env = doubles.env()
    return DeepgramSTTService(
        api_key=env["DEEPGRAM_API_KEY"],
        base_url=env["DEEPGRAM_BASE_URL"],
        settings=DeepgramSTTService.Settings(model="nova-3-general"),
    )


def finals(collector: Collector) -> list[str]:
    return [f.text for f in collector.of(TranscriptionFrame)]


async def test_deepgram_8k_interims_grow_and_finalize_gives_exact_text(doubles):
    final_ms = 150
    await register(
        doubles,
        [(say(SATURDAY.rstrip("?")), 8000, [SATURDAY]), *distractors()],
        stt_final_ms=final_ms,
        stt_interim_ms=250,
        stt_endpointing_ms=800,  # the Finalize after Silero's stop, not the double's endpoint
    )
    pcm = phone(line(say(SATURDAY.rstrip("?")), rate=8000))
    collector = await run_stt(deepgram(doubles), pcm, 8000)
    assert finals(collector) == [SATURDAY]
    final = collector.of(TranscriptionFrame)[0]
    assert final.finalized and final.result.from_finalize
    words = final.result.channel.alternatives[0].words
    assert [w.punctuated_word for w in words] == SATURDAY.split()
    assert [w.word for w in words] == ["what", "time", "do", "you", "open", "on", "saturday"]
    interims = [f.text.split() for f in collector.of(InterimTranscriptionFrame)]
    assert len({len(i) for i in interims}) >= 3, interims  # they grow, word by word
    assert all(i == SATURDAY.split()[: len(i)] for i in interims), interims
    assert [len(i) for i in interims] == sorted(len(i) for i in interims), interims
    stopped = next(t for t, f in collector.frames if isinstance(f, VADUserStoppedSpeakingFrame))
    arrived = collector.first_time(TranscriptionFrame)
    assert arrived is not None
    assert final_ms / 1000 - 0.02 <= arrived - stopped <= final_ms / 1000 + 0.15
    transcripts = await doubles.client.astt_transcripts()
    assert [t["kind"] for t in transcripts if t["text"]] == ["finalize"]


async def test_deepgram_pause_inside_an_utterance_gives_one_final_per_chunk(doubles):
    pcm = np.concatenate([say(BOOK), silence(1.0, 8000), say(TUESDAY)])
    await register(doubles, [(pcm, 8000, [BOOK, TUESDAY]), *distractors()])
    collector = await run_stt(deepgram(doubles), phone(line(pcm, rate=8000)), 8000)
    assert finals(collector) == [BOOK, TUESDAY]


async def test_unregistered_speech_and_noise_give_no_transcript(doubles):
    await register(doubles, [(say(SATURDAY.rstrip("?")), 8000, [SATURDAY]), *distractors()])
    noise = (np.random.default_rng(7).normal(0, 3000, 4000)).astype(np.int16)  # a 0.5 s burst
    pcm = line(noise, 1.0, say("the weather is nice today"), 1.0, say("hello there"), rate=8000)
    collector = await run_stt(deepgram(doubles), phone(pcm), 8000)
    assert not collector.of(TranscriptionFrame)
    assert not collector.of(InterimTranscriptionFrame)
    stats = (await doubles.client.astt_registered())["stats"]
    assert stats["decodes"] > 0 and stats["matched"] == 0


async def test_16k_two_voices_same_text_each_match_their_own_registration(doubles):
    us, gb = say(PATIENTS.rstrip("?")), say(PATIENTS.rstrip("?"), voice="en-gb", speed=140)
    await register(doubles, [(us, 8000, [PATIENTS]), (gb, 8000, [PATIENTS]), *distractors()])
    pcm = resample(line(us, 1.5, gb, rate=8000), 8000, 16000)  # a 16 kHz pipeline
    collector = await run_stt(deepgram(doubles), pcm, 16000)
    assert finals(collector) == [PATIENTS, PATIENTS]
    listed = (await doubles.client.astt_registered())["utterances"]
    assert [u["matches"] for u in listed[:2]] == [1, 1]  # one final each: voices not confused
    assert all(u["matches"] == 0 for u in listed[2:])


async def test_cartesia_stt_16k_sends_registered_text(doubles):
    await register(doubles, [(say(SATURDAY.rstrip("?")), 8000, [SATURDAY]), *distractors()])
    env = doubles.env()
    stt = CartesiaSTTService(
        api_key=env["CARTESIA_API_KEY"],
        base_url=env["CARTESIA_BASE_URL"],
        settings=CartesiaSTTService.Settings(model="ink-whisper"),
    )
    pcm = resample(line(say(SATURDAY.rstrip("?")), rate=8000), 8000, 16000)
    collector = await run_stt(stt, pcm, 16000)
    assert finals(collector) == [SATURDAY]


def _wav(pcm: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


async def test_whisper_endpoint_returns_exact_text(doubles):
    us, gb = say(PATIENTS.rstrip("?")), say(PATIENTS.rstrip("?"), voice="en-gb", speed=140)
    await register(doubles, [(us, 8000, [PATIENTS]), (gb, 8000, ["Do you take NEW patients?"])])
    env = doubles.env()
    stt = OpenAISTTService(
        api_key=env["OPENAI_API_KEY"],
        base_url=env["OPENAI_BASE_URL"],
        settings=OpenAISTTService.Settings(model="gpt-4o-transcribe"),
    )
    collector = await run_stt(stt, resample(line(us, rate=8000), 8000, 16000), 16000)
    assert finals(collector) == [PATIENTS]
    headers = {"Authorization": f"Bearer {env['OPENAI_API_KEY']}"}
    async with httpx.AsyncClient(base_url=env["OPENAI_BASE_URL"], headers=headers) as http:
        for pcm, rate, want in [
            (line(gb, rate=8000), 8000, "Do you take NEW patients?"),
            (phone(line(us, rate=8000))[1234:], 8000, PATIENTS),
            (line(say("the weather is nice today"), rate=8000), 8000, ""),
        ]:
            resp = await http.post(
                "/audio/transcriptions",
                data={"model": "whisper-1", "response_format": "json"},
                files={"file": ("a.wav", _wav(pcm, rate), "audio/wav")},
            )
            assert resp.json()["text"] == want


async def test_control_api_registration_mode_and_reset(doubles):
    client = doubles.client
    two = np.concatenate([say(BOOK), silence(1.0, 8000), say(TUESDAY)])
    answer = await client.astt_utterances(
        [(two, 8000, [f"{BOOK} {TUESDAY}"]), (two, 8000, [BOOK, TUESDAY]), (two, 12345, ["x"])]
    )
    assert answer["registered"] == 1
    assert [r["index"] for r in answer["rejected"]] == [0, 2]
    assert "1 chunk(s) but 2 speech run(s)" in answer["rejected"][0]["reason"]
    more = await client.astt_utterances(distractors(), append=True, batch_size=2)
    assert more == {"registered": 3, "rejected": []}
    listed = await client.astt_registered()
    assert listed["mode"] == "asr" and len(listed["utterances"]) == 4
    first = listed["utterances"][0]
    assert first["chunks"] == [BOOK, TUESDAY] and first["rate"] == 8000
    assert len(first["runs"]) == 2 and first["runs"][1][0] - first["runs"][0][1] >= 0.9
    assert "pcm_b64" not in first and abs(first["duration"] - len(two) / 8000) < 0.01
    async with httpx.AsyncClient(base_url=doubles.base_url) as http:
        bad = await http.post("/_doubles/profile", json={"stt_mode": "whisper"})
        assert bad.status_code == 400
        bad = await http.post("/_doubles/stt/utterances", json={"utterances": "nope"})
        assert bad.status_code == 400
        odd = await http.post(
            "/_doubles/stt/utterances",
            json={"utterances": [{"pcm_b64": "AAA=", "rate": 8000, "chunks": ["x"]}]},
        )
        assert odd.json()["rejected"][0]["index"] == 0
    assert (await client.aset_profile(stt_mode="exact"))["stt_mode"] == "exact"
    await client.areset()
    listed = await client.astt_registered()
    assert listed["mode"] == "asr" and listed["utterances"] == []
