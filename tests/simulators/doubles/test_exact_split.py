"""Text-exact STT: a final cut inside a registered speech run sends the words on each side of it.

The bot's VAD sends Deepgram ``Finalize`` after a short silence, often inside what the test
registered as one speech run (the comma of "Okay, bye." is shorter than the 250 ms that separates
runs). Each final must then carry the words its audio holds: "Okay," then "bye.", never a word
twice and never a word lost. Speech is the turn benchmark's own voices (``bench.voices``), fed in
real time at 8 kHz into Pipecat's DeepgramSTTService; ``Finalize`` is sent at exact stream
positions by queueing ``VADUserStoppedSpeakingFrame`` between the audio frames.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np
import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams, PipelineWorker

from bench.voices import synthesize
from simulators.callers.audio import silence
from simulators.doubles.harness import Collector, run_pipeline
from tests.simulators.doubles.test_exact_stt import deepgram, finals, register

RATE = 8000
VOICES = ("espeak-en-us", "festival-slt-hts")
OKAY_BYE = "Okay, bye."
MARIA = "Hi, this is Maria, I need to reschedule my appointment."  # pauses not where estimated
SENTENCES = ("Thanks, that's all, goodbye.", "I would like to book a cleaning for next Monday.")
OTHERS = ("Bye.", "Okay.", "Thanks, that's all.", "I would like to book a cleaning.")
LEAD, GAP, TAIL = 0.5, 1.5, 1.2


def speak(text: str, voice: str) -> np.ndarray:
    """The benchmark's caller audio (trimmed, 8 kHz)."""
    return synthesize(text, voice, RATE)


def quiet_spans(pcm: np.ndarray) -> list[tuple[float, float]]:
    """Silent stretches (10 ms mean |x| ≤ 100) inside ``pcm``, in seconds."""
    n = RATE // 100
    amp = np.abs(pcm[: len(pcm) // n * n].astype(np.int32)).reshape(-1, n).mean(axis=1)
    quiet = np.flatnonzero(amp <= 100)
    spans: list[tuple[float, float]] = []
    for q in np.split(quiet, np.flatnonzero(np.diff(quiet) > 1) + 1):
        if len(q) and q[0] > 0 and q[-1] < len(amp) - 1:
            spans.append((q[0] / 100, (q[-1] + 1) / 100))
    return spans


@dataclass
class Stream:
    """Caller audio with the stream positions (samples) where ``Finalize`` is sent."""

    pcm: np.ndarray
    cuts: list[int]
    spans: list[tuple[float, float]]  # each utterance's stream span, in seconds


def build(utterances: list[tuple[np.ndarray, list[float]]]) -> Stream:
    """Lay utterances out with silence around them; cuts are seconds into each utterance."""
    pieces, cuts, spans, at = [silence(LEAD, RATE)], [], [], int(LEAD * RATE)
    for i, (pcm, cut_s) in enumerate(utterances):
        cuts += [at + int(c * RATE) for c in cut_s]
        spans.append((at / RATE, (at + len(pcm)) / RATE))
        pieces.append(pcm)
        at += len(pcm)
        pause = silence(TAIL if i == len(utterances) - 1 else GAP, RATE)
        pieces.append(pause)
        at += len(pause)
    return Stream(np.concatenate(pieces).astype(np.int16), sorted(cuts), spans)


async def run_cuts(doubles, stream: Stream) -> Collector:
    """Stream in real time (20 ms frames), queueing a VAD stop (→ ``Finalize``) at each cut."""
    step = RATE // 50
    bounds = sorted(set(range(0, len(stream.pcm), step)) | set(stream.cuts))
    cuts = set(stream.cuts)

    async def drive(worker: PipelineWorker, collector: Collector) -> None:
        t0 = time.monotonic()
        for a, b in zip(bounds, [*bounds[1:], len(stream.pcm)], strict=True):
            if a in cuts:
                await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
            audio = stream.pcm[a:b].astype("<i2").tobytes()
            await worker.queue_frame(
                InputAudioRawFrame(audio=audio, sample_rate=RATE, num_channels=1)
            )
            await asyncio.sleep(max(0.0, t0 + b / RATE - time.monotonic()))

    return await run_pipeline(
        [deepgram(doubles)],
        drive,
        params=PipelineParams(audio_in_sample_rate=RATE),
        timeout=len(stream.pcm) / RATE + 20,
    )


def per_utterance(collector: Collector, stream: Stream) -> list[list[str]]:
    """Each utterance's finals, attributed by the stream time of their first word."""
    out: list[list[str]] = [[] for _ in stream.spans]
    for frame in collector.of(TranscriptionFrame):
        start = frame.result.channel.alternatives[0].words[0].start
        k = min(
            range(len(stream.spans)), key=lambda i: abs(start - np.clip(start, *stream.spans[i]))
        )
        out[k].append(frame.text)
    return out


async def register_all(doubles, texts: list[str], voices: tuple[str, ...]) -> None:
    utterances = [(speak(t, v), RATE, [t]) for v in voices for t in [*texts, *OTHERS]]
    await register(doubles, utterances)


@pytest.mark.parametrize("text", [OKAY_BYE, MARIA])
@pytest.mark.parametrize("voice", VOICES)
async def test_finalize_in_comma_pauses_gives_each_side_its_words(doubles, voice, text):
    """Early, mid and late in each comma's pause (three streams at once)."""
    await register_all(doubles, [text], VOICES)
    pcm = speak(text, voice)
    clauses = [c.strip() + "," for c in text.split(",")]
    clauses[-1] = clauses[-1][:-1]
    pauses = sorted(sorted(quiet_spans(pcm), key=lambda g: g[0] - g[1])[: len(clauses) - 1])
    assert all(0.1 <= b - a < 0.25 for a, b in pauses), pauses  # shorter than a run gap
    streams = [build([(pcm, [a + w * (b - a) for a, b in pauses])]) for w in (0.25, 0.5, 0.75)]
    collectors = await asyncio.gather(*(run_cuts(doubles, s) for s in streams))
    transcripts = [(t["kind"], t["text"]) for t in await doubles.client.astt_transcripts()]
    assert [finals(c) for c in collectors] == [clauses] * 3, transcripts
    kinds = ["finalize"] * (len(clauses) - 1) + ["endpoint"]
    assert sorted(transcripts) == sorted(list(zip(kinds, clauses, strict=True)) * 3)  # none empty


@pytest.mark.parametrize("voice", VOICES)
async def test_no_finalize_in_the_gap_gives_one_final(doubles, voice):
    await register_all(doubles, [OKAY_BYE], VOICES)
    collector = await run_cuts(doubles, build([(speak(OKAY_BYE, voice), [])]))
    assert finals(collector) == [OKAY_BYE]
    transcripts = [(t["kind"], t["text"]) for t in await doubles.client.astt_transcripts()]
    assert transcripts == [("endpoint", OKAY_BYE)]


async def test_random_cuts_never_lose_or_repeat_a_word(doubles):
    """20 random cut points per sentence (fixed seed), both voices, 5 utterances a stream."""
    await register_all(doubles, list(SENTENCES), VOICES)
    rng = np.random.default_rng(20261206)
    streams: list[tuple[str, Stream]] = []
    for text in SENTENCES:
        for voice in VOICES:
            pcm = speak(text, voice)
            for _ in range(2):
                cuts = rng.uniform(0.05, len(pcm) / RATE - 0.05, 5)
                streams.append((text, build([(pcm, [c]) for c in cuts])))
    collectors = await asyncio.gather(*(run_cuts(doubles, s) for _, s in streams))
    failures, total = [], 0
    for (text, stream), collector in zip(streams, collectors, strict=True):
        for k, got in enumerate(per_utterance(collector, stream)):
            total += 1
            cut = stream.cuts[k] / RATE - stream.spans[k][0]
            if " ".join(got).split() != text.split():
                failures.append((text, round(cut, 3), got))
    assert total == 40
    assert not failures, f"{len(failures)}/{total} cuts failed: {failures}"


async def test_pieces_too_short_to_match_alone_are_matched_with_their_neighbours(doubles):
    """Cuts 60 ms into the speech, 120 ms apart mid-sentence and 80 ms before its end."""
    text = SENTENCES[1]
    await register_all(doubles, [text], VOICES)
    utterances = []
    for voice in VOICES:
        pcm = speak(text, voice)
        mid = len(pcm) / RATE / 2
        utterances.append((pcm, [0.06, mid, mid + 0.12, len(pcm) / RATE - 0.08]))
    stream = build(utterances)
    collector = await run_cuts(doubles, stream)
    transcripts = [(t["kind"], t["text"]) for t in await doubles.client.astt_transcripts()]
    for got in per_utterance(collector, stream):
        assert " ".join(got) == text, (got, transcripts)
    assert [k for k, _ in transcripts] == (["finalize"] * 4 + ["endpoint"]) * 2, transcripts
