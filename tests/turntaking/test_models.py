"""The shared Silero analyzer decides exactly as Pipecat's own, on real speech, at both rates."""

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from tests.callers.audio import speech_pcm
from turntaking.models import SharedSileroVADAnalyzer


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
    ours = await _states(SharedSileroVADAnalyzer(params=params), pcm, rate, chunk_ms)
    theirs = await _states(SileroVADAnalyzer(params=params), pcm, rate, chunk_ms)
    assert ours == theirs
    assert VADState.SPEAKING in ours and ours[-1] == VADState.QUIET
