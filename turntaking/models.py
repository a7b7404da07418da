"""Process-wide ONNX models: Silero VAD and smart-turn v3 are loaded once, not per call.

Each call still gets its own analyzer (its own audio buffers and recurrent state); only the
read-only ``onnxruntime.InferenceSession`` is shared, which onnxruntime allows across threads.
That keeps model loads off the per-call path and saves ~10-20 MB of RSS per concurrent call.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources

import numpy as np
import onnxruntime as ort
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from turntaking.levels import peak, rms


def _session(package: str, name: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    path = str(resources.files(package).joinpath(name))
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=1)
def silero_session() -> ort.InferenceSession:
    """The bundled Silero VAD model, loaded once per process."""
    return _session("pipecat.audio.vad.data", "silero_vad.onnx", threads=1)


@lru_cache(maxsize=1)
def smart_turn_session() -> ort.InferenceSession:
    """The bundled smart-turn v3 model, loaded once per process."""
    return _session("pipecat.audio.turn.smart_turn.data", "smart-turn-v3.2-cpu.onnx", threads=1)


class _SharedSileroModel(SileroOnnxModel):
    """Silero's stateful wrapper over the shared session (state stays per call)."""

    def __init__(self) -> None:  # noqa: D107 - parent loads a session; we reuse one
        self.session = silero_session()
        self.reset_states()
        self.sample_rates = [8000, 16000]


# A window this quiet (RMS of int16 samples, about -60 dBFS) is not speech on any phone line:
# speech sits around -20 to -30 dBFS, a whisper near -45. Silero is not run on it.
QUIET_RMS = 32.0
PRIME_WINDOWS = 8  # ~0.25 s of the skipped silence, scored when sound comes back


@lru_cache(maxsize=1)
def vad_executor() -> ThreadPoolExecutor:
    """Threads that run Silero windows for every call in the process, one per core."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="vad")


class SharedSileroVADAnalyzer(SileroVADAnalyzer):
    """``SileroVADAnalyzer`` on the process-wide model session and VAD threads.

    Pipecat hands every audio chunk to a per-call thread, even the chunks that only top up the
    buffer (a 20 ms phone chunk never fills a 32 ms window). Here such a chunk is buffered
    inline, and full windows run on threads shared by all calls: half the thread hops and no
    thread per call (bench profile at 10 calls: the hand-off alone was ~9 % of the samples).

    While the VAD is quiet, a quiet window (``QUIET_RMS``: the line between the caller's words,
    the caller listening to the bot) is scored 0 without running Silero, and when every window a
    chunk completes is quiet it is analysed inline, with no thread hop. When sound comes back,
    the model first scores what it skipped: after a short run, every skipped window in order
    (exactly Pipecat's sequence, only later); after a long one, it is reset and scores the last
    ``PRIME_WINDOWS``, so its recurrent state is the one a silence leaves; the utterances
    found match Pipecat's own analyzer (``tests/turntaking/test_models.py``). Bench (5 calls on
    one worker): worker CPU 71.6 % → 50.2 % of a core.
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        params: VADParams | None = None,
        quiet_rms: float = QUIET_RMS,
    ):
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        self._quiet_rms = quiet_rms  # 0: run Silero on every window, as Pipecat does
        # The last quiet windows the model skipped: it scores them (from a fresh state) when
        # sound comes back, so its recurrent state is the one a silence leaves.
        self._skipped: deque[bytes] = deque(maxlen=PRIME_WINDOWS)
        self._skipped_run = 0  # quiet windows skipped in a row (a line hovering at the threshold
        # must not pay a reset and PRIME_WINDOWS inferences for every window of sound)
        self._model = _SharedSileroModel()
        self._windows_since_reset = 0
        self._low_confidence_windows = 0

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Buffer a chunk that completes no window; analyse full windows off the loop."""
        if len(self._vad_buffer) + len(buffer) < self._vad_frames_num_bytes:
            self._vad_buffer += buffer  # exactly what _run_analyzer would do, minus the hop
            return self._vad_state
        quiet = self._vad_state == VADState.QUIET
        if quiet and max(peak(self._vad_buffer), peak(buffer)) < self._quiet_rms:
            return self._run_analyzer(buffer)  # every window is quiet: no inference to offload
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(vad_executor(), self._run_analyzer, buffer)

    def voice_confidence(self, buffer: bytes) -> float:
        """Silero's confidence for one window; 0 for a quiet window, without the model."""
        # Only between utterances: inside one, a quiet stop closure still gets the model's say.
        if self._vad_state == VADState.QUIET and rms(buffer) < self._quiet_rms:
            self._skipped.append(buffer)
            self._skipped_run += 1
            return 0.0
        if self._skipped:  # sound again: catch the model up on the silence, then this window
            if self._skipped_run > PRIME_WINDOWS:
                self._model.reset_states()  # a long silence: its last windows from a fresh state
            for window in self._skipped:  # a short one: every window, in order, as Pipecat does
                super().voice_confidence(window)
            self._skipped.clear()
            self._skipped_run = 0
        return super().voice_confidence(buffer)


@lru_cache(maxsize=1)
def smart_turn_executor() -> ThreadPoolExecutor:
    """Threads that run smart-turn for every call in the process, one per core.

    Each analyzer used to start its own thread: with many calls, simultaneous inferences then
    fought over the cores and each grew its own ~20 MB onnxruntime arena (bench, 10 calls).
    """
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="smart-turn")


class SharedSmartTurnAnalyzer(LocalSmartTurnAnalyzerV3):
    """``LocalSmartTurnAnalyzerV3`` on the process-wide model session and inference threads."""

    def __init__(self, **kwargs) -> None:
        BaseSmartTurn.__init__(self, **kwargs)
        self._log_data = False
        self._session = smart_turn_session()

    @property
    def _model_executor(self) -> ThreadPoolExecutor:
        return smart_turn_executor()


def preload() -> None:
    """Load both models and run each once (launcher start-up, or a pre-fork parent).

    The first inference allocates onnxruntime's buffers; paying it here keeps it off the first
    call's turn. Both VAD rates and smart-turn's longest input (8 s) are run, so the arenas
    reach their working size now (bench: the first call used to add ~26 MB of RSS).
    """
    for rate, window in ((8000, 256), (16000, 512)):
        vad = SharedSileroVADAnalyzer()
        vad.set_sample_rate(rate)
        vad.voice_confidence(np.zeros(window, dtype=np.int16).tobytes())
    turn = SharedSmartTurnAnalyzer(sample_rate=16000)
    for seconds in (1, 8):
        turn._predict_endpoint(np.zeros(16000 * seconds, dtype=np.float32))
