"""The shared Silero analyzer decides exactly as Pipecat's own, on real speech, at both rates."""

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from simulators.callers.audio import speech_pcm
from turntaking.models import PRIME_WINDOWS, SharedSileroVADAnalyzer


async def _states(analyzer, pcm: np.ndarray, rate: int, chunk_ms: int) -> list[VADState]:
    analyzer.set_sample_rate(rate)
    step = rate * chunk_ms // 1000
    return [
        await analyzer.analyze_audio(pcm[i : i + step].tobytes())
        for i in range(0, len(pcm) - step, step)
    ]


@pytest.mark.parametrize(("rate", "chunk_ms"), [(8000, 20), (16000, 20), (16000, 10)])
async def test_shared_vad_matches_pipecat_silero_chunk_for_chunk(rate, chunk_ms):
    silence = np.zeros(rate // 2, dtype=np.int16)
    speech = speech_pcm("I would like to book an appointment for tomorrow", rate)
    pcm = np.concatenate([silence, speech, silence, silence])
    params = VADParams(confidence=0.7, start_secs=0.2, stop_secs=0.2)
    shared = SharedSileroVADAnalyzer(params=params, quiet_rms=0)  # Silero on every window
    ours = await _states(shared, pcm, rate, chunk_ms)
    theirs = await _states(SileroVADAnalyzer(params=params), pcm, rate, chunk_ms)
    assert ours == theirs
    assert VADState.SPEAKING in ours and ours[-1] == VADState.QUIET


def _utterances(states: list[VADState]) -> list[tuple[int, int]]:
    """(chunk where SPEAKING began, chunk where QUIET came back) per utterance."""
    spans, start = [], None
    for i, (a, b) in enumerate(zip(states, states[1:], strict=False), 1):
        if b == VADState.SPEAKING and a != VADState.STOPPING and start is None:
            start = i
        if b == VADState.QUIET and a != VADState.QUIET and start is not None:
            spans.append((start, i))
            start = None
    return spans


@pytest.mark.parametrize("noise_rms", [0.0, 8.0, 30.0, 40.0])  # 30: a line at the threshold
async def test_quiet_windows_skip_silero_without_changing_a_decision(noise_rms):
    """The line between utterances (digital silence, or faint line noise) is scored without
    Silero; the same utterances are found, each starting and ending within two chunks of where
    Pipecat's own analyzer puts them."""
    rate = 8000
    rng = np.random.default_rng(7)
    parts = []
    for text, gain in [("Yes, that works for me", 1.0), ("mm-hmm", 0.3), ("Tuesday at ten", 0.1)]:
        parts += [np.zeros(int(rate * 2.5)), speech_pcm(text, rate).astype(np.float64) * gain]
    parts.append(np.zeros(rate))
    pcm = np.concatenate(parts)
    pcm = np.clip(pcm + rng.normal(0.0, noise_rms, len(pcm)), -32768, 32767).astype(np.int16)
    params = VADParams(confidence=0.7, start_secs=0.2, stop_secs=0.2, min_volume=0.3)
    ours = SharedSileroVADAnalyzer(params=params)
    scored = 0
    model = ours._model

    class _Counting:
        def __call__(self, x, sr):
            nonlocal scored
            scored += 1
            return model(x, sr)

        def reset_states(self):
            model.reset_states()

    ours._model = _Counting()
    mine = _utterances(await _states(ours, pcm, rate, 20))
    theirs = _utterances(await _states(SileroVADAnalyzer(params=params), pcm, rate, 20))
    assert len(mine) == len(theirs) >= 3, (mine, theirs)
    for (start, end), (their_start, their_end) in zip(mine, theirs, strict=True):
        assert abs(start - their_start) <= 2 and abs(end - their_end) <= 2, (mine, theirs)
    windows = len(pcm) // 256
    assert scored <= windows + 3 * PRIME_WINDOWS, (scored, windows)  # never more than Pipecat
    if noise_rms < 16:  # the silences (most of the audio) never reach the model
        assert scored < windows / 2, (scored, windows)
    elif noise_rms > 32:  # a line louder than the quiet threshold: every window is scored
        assert scored >= windows - 2, (scored, windows)
