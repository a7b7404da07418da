"""Caller voices and the turn corpus, with the real espeak-ng and Festival (no mocks).

Fast once the voice cache is warm (``.cache/test-audio/voices``): about 45 s on a cold cache.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter

import numpy as np
import pytest

from bench import turn_corpus
from bench.turn_corpus import KINDS, corpus, dropped
from bench.voices import (
    PEAK_LIMIT,
    VOICES,
    pause_span,
    silences,
    speech_runs,
    synthesize,
    synthesize_with_pause,
)
from simulators.callers.audio import CACHE_ENV, frame_rms

RATE = 8000
SENTENCE = "Do you take new patients?"
FIRST, SECOND = "I'd like to book an appointment for", "next Tuesday."


def _log_spectrum(pcm: np.ndarray, n: int = 256) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(pcm.astype(np.float64), n)[:: n // 2]
    power = np.mean(np.abs(np.fft.rfft(frames * np.hanning(n))) ** 2, axis=0)
    return 10 * np.log10(power + 1e-9)


@pytest.fixture(scope="module")
def items() -> list[turn_corpus.Item]:
    return corpus()


def test_there_are_at_least_seven_voices_from_both_engines():
    engines = Counter(v.engine for v in VOICES.values())
    assert len(VOICES) >= 7
    assert engines["espeak"] >= 5 and engines["festival"] >= 3
    assert "festival-slt-hts" in VOICES


@pytest.mark.parametrize("voice", list(VOICES))
def test_every_voice_speaks_a_short_sentence_plausibly(voice):
    pcm = synthesize(SENTENCE, voice)
    assert pcm.dtype == np.int16
    assert 0.8 < len(pcm) / RATE < 3.0
    peak = int(np.abs(pcm.astype(np.int32)).max())
    assert 8000 < peak <= PEAK_LIMIT  # loud enough, never clipped
    levels = frame_rms(pcm, RATE)
    assert np.mean(levels > 300) > 0.6  # mostly voice by the callers' definition (RMS > 300)
    assert np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) > 1500
    assert levels[0] > 0.005 * peak and levels[-1] > 0.005 * peak  # trimmed: no silent edges


def test_distinct_voices_sound_different():
    clips = {v: synthesize(SENTENCE, v) for v in VOICES}
    spectra = {v: _log_spectrum(pcm) for v, pcm in clips.items()}
    assert len(VOICES) >= 2, VOICES  # else there is no pair to compare
    for a, b in itertools.combinations(VOICES, 2):
        spectral = float(np.sqrt(np.mean((spectra[a] - spectra[b]) ** 2)))
        durations = abs(len(clips[a]) - len(clips[b])) / RATE
        assert spectral > 2.0 or durations > 0.1, (a, b, spectral, durations)


@pytest.mark.parametrize("voice", list(VOICES))
@pytest.mark.parametrize("pause", [0.5, 1.25])
def test_pause_is_exact_and_the_sentence_is_two_speech_runs(voice, pause):
    pcm = synthesize_with_pause(FIRST, SECOND, pause, voice)
    a, b = pause_span(pcm, RATE)
    assert abs((b - a) / RATE - pause) <= 0.02
    # an independent measure: the longest run of 10 ms frames below 1 % of the peak
    quiet = frame_rms(pcm, RATE) < 0.01 * np.abs(pcm.astype(np.int32)).max()
    longest = max(len(run) for run in "".join("q" if q else " " for q in quiet).split())
    assert abs(longest * 0.01 - pause) <= 0.02
    assert len(speech_runs(pcm, RATE)) == 2
    assert len(speech_runs(pcm, RATE, threshold=300.0)) == 2
    # no other silence anywhere near the pause's length
    others = [g for g in silences(pcm, RATE, min_secs=0.1) if g != (a, b)]
    assert all((e - s) / RATE < 0.25 for s, e in others)
    # the first part is most of the sentence's first half, not a stray syllable
    assert 1.0 < a / RATE < len(pcm) / RATE - pause - 0.5


def test_fresh_synthesis_is_byte_identical_to_the_cache(tmp_path, monkeypatch):
    cached = {v: (synthesize(SENTENCE, v), synthesize_with_pause(FIRST, SECOND, 0.6, v))
              for v in VOICES}
    assert cached, VOICES
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    for v, (plain, paused) in cached.items():
        assert synthesize(SENTENCE, v).tobytes() == plain.tobytes(), v
        assert synthesize_with_pause(FIRST, SECOND, 0.6, v).tobytes() == paused.tobytes(), v


def test_corpus_covers_every_kind_in_every_voice(items):
    counts = Counter((i.voice, i.kind) for i in items)
    per_voice = {k: len(turn_corpus.texts(k)) for k in KINDS}
    per_voice["pause"] *= len(turn_corpus.PAUSE_SECS)
    assert per_voice["statement"] >= 10 and per_voice["question"] >= 8
    assert per_voice["closing"] >= 5 and per_voice["pause"] >= 32
    assert per_voice["backchannel"] == 8 and per_voice["interrupt_short"] == 4
    for voice, kind in itertools.product(VOICES, KINDS):
        assert counts[voice, kind] >= per_voice[kind] - 1, (voice, kind, dropped())
    assert len(dropped()) <= 5, dropped()
    assert len({i.id for i in items}) == len(items)


def test_corpus_chunks_match_the_speech_runs(items):
    assert items, dropped()
    for item in items:
        assert item.pcm.dtype == np.int16 and item.rate == RATE
        for threshold in (None, 300.0, 500.0):
            runs = speech_runs(item.pcm, RATE, 0.25, threshold=threshold)
            assert len(runs) == len(item.chunks), (item.id, threshold, len(runs))


def test_corpus_pause_items_are_labelled_exactly(items):
    pauses = [i for i in items if i.kind == "pause"]
    assert {i.pause_secs for i in pauses} == {0.5, 0.6, 1.0, 1.5}
    for item in pauses:
        a, b = pause_span(item.pcm, RATE)
        assert abs((b - a) / RATE - item.pause_secs) <= 0.02, item.id
        assert item.pause_at_secs == a / RATE
        assert item.chunks[0] and item.chunks[1][-1] in ".?"
    for item in items:
        if item.kind != "pause":
            assert item.pause_secs is None and item.pause_at_secs is None


def test_corpus_durations_are_plausible(items):
    for item in items:
        lo, hi = turn_corpus.DURATION_SECS[item.kind]
        assert lo <= item.duration_secs <= hi, item.id
    backchannels = [i.duration_secs for i in items if i.kind == "backchannel"]
    assert 0.2 <= min(backchannels) and max(backchannels) <= 0.9


def test_corpus_is_deterministic(items):
    def digest(its: list[turn_corpus.Item]) -> str:
        h = hashlib.sha256()
        for i in its:
            h.update(f"{i.id}|{i.chunks}|{i.pause_secs}|{i.pause_at_secs}|".encode())
            h.update(i.pcm.tobytes())
        return h.hexdigest()

    assert digest(corpus()) == digest(items)
    backchannel_labels = [i.text for i in items if i.kind == "backchannel"][:8]
    assert backchannel_labels == list(turn_corpus.BACKCHANNELS)
