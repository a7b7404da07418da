"""DeepgramSTTService against the Deepgram double, fed espeak speech in real time."""

from __future__ import annotations

import asyncio
import json

import websockets
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import InterimTranscriptionFrame, TranscriptionFrame
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.services.deepgram.stt import DeepgramSTTService

from simulators.doubles.harness import feed_realtime, run_pipeline, speech_pcm, transcribe

PHRASE = "please book a table for two people"


async def test_deepgram_transcribes_registered_phrase(doubles):
    await doubles.client.astt_phrases([PHRASE, "cancel my appointment", "goodbye"])
    env = doubles.env()
    rate = 16000
    stt = DeepgramSTTService(
        api_key=env["DEEPGRAM_API_KEY"],
        base_url=env["DEEPGRAM_BASE_URL"],
        settings=DeepgramSTTService.Settings(model="nova-3-general"),
    )
    collector = await transcribe(stt, PHRASE, rate)
    finals = [f.text for f in collector.of(TranscriptionFrame)]
    assert finals, "no final transcript"
    assert PHRASE in " ".join(finals).lower().replace(".", "")
    assert collector.of(InterimTranscriptionFrame), "no interim results while speaking"
    stats = (await doubles.client.astats())["services"]["deepgram"]
    assert stats["finalize"] >= 1
    assert stats["close_stream"] == 1
    assert stats["open"] == 0


async def test_deepgram_out_of_grammar_gives_no_transcript(doubles):
    await doubles.client.astt_phrases(["cancel my appointment"])
    env = doubles.env()
    rate = 8000
    stt = DeepgramSTTService(api_key=env["DEEPGRAM_API_KEY"], base_url=env["DEEPGRAM_BASE_URL"])
    pcm = await speech_pcm("the weather is nice today", rate, tail_s=0.8)

    async def drive(worker, collector):
        await feed_realtime(worker, pcm, rate)

    collector = await run_pipeline(
        [VADProcessor(vad_analyzer=SileroVADAnalyzer()), stt],
        drive,
        params=PipelineParams(audio_in_sample_rate=rate),
    )
    assert not collector.of(TranscriptionFrame)


async def test_deepgram_wire_protocol_auth_finalize_idle(doubles):
    env = doubles.env()
    base = env["DEEPGRAM_BASE_URL"]
    url = f"{base}/v1/listen?encoding=linear16&sample_rate=16000&channels=1&interim_results=true"
    try:
        async with websockets.connect(url, additional_headers={"Authorization": "Token nope"}):
            raise AssertionError("bad key accepted")
    except websockets.InvalidStatus as exc:
        assert exc.response.status_code == 401

    await doubles.client.aset_profile(stt_idle_timeout_s=1.0)
    headers = {"Authorization": f"Token {env['DEEPGRAM_API_KEY']}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "Finalize"}))
        msg = json.loads(await asyncio.wait_for(ws.recv(), 2))
        assert msg["type"] == "Results" and msg["from_finalize"] is True
        assert msg["is_final"] is True and msg["channel"]["alternatives"][0]["transcript"] == ""
        assert set(msg["metadata"]) >= {"request_id", "model_info", "model_uuid"}
        await ws.send(json.dumps({"type": "KeepAlive"}))
        await asyncio.sleep(0.6)
        await ws.send(json.dumps({"type": "KeepAlive"}))
        try:
            await asyncio.wait_for(ws.recv(), 3)
            raise AssertionError("socket not closed while idle")
        except websockets.ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 1011

    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "CloseStream"}))
        msgs = [json.loads(m) async for m in ws]
        assert msgs[-1]["type"] == "Metadata"
    stats = (await doubles.client.astats())["services"]["deepgram"]
    assert stats["idle_timeouts"] == 1 and stats["keepalive"] == 2 and stats["open"] == 0
