"""Test helpers: run real Pipecat services in a small pipeline against the doubles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    StartFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from simulators.doubles.audio import Synthesizer

_SYNTH = Synthesizer()


class Collector(FrameProcessor):
    """Records every frame reaching the end of the pipeline (and errors going up)."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[tuple[float, Frame]] = []
        self.errors: list[ErrorFrame] = []
        self._changed = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Record the frame, then pass it on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, ErrorFrame) and direction == FrameDirection.DOWNSTREAM:
            self.errors.append(frame)
        if direction == FrameDirection.DOWNSTREAM and not isinstance(frame, StartFrame):
            self.frames.append((time.monotonic(), frame))
            self._changed.set()
        await self.push_frame(frame, direction)

    def of(self, kind: type[Frame]) -> list[Frame]:
        """Frames of one type, in arrival order."""
        return [f for _, f in self.frames if isinstance(f, kind)]

    def first_time(self, kind: type[Frame]) -> float | None:
        """Arrival time of the first frame of a type."""
        return next((t for t, f in self.frames if isinstance(f, kind)), None)

    async def wait_for(self, pred: Callable[[Collector], bool], timeout: float = 10.0) -> None:
        """Wait until ``pred(self)`` holds.

        Raises:
            TimeoutError: If it does not hold in time.
        """
        async with asyncio.timeout(timeout):
            while not pred(self):
                self._changed.clear()
                await self._changed.wait()


class ErrorTap(FrameProcessor):
    """Sits at the head of the pipeline and hands upstream errors to a collector."""

    def __init__(self, collector: Collector) -> None:
        super().__init__()
        self._collector = collector

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Record the frame, then pass it on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, ErrorFrame) and direction == FrameDirection.UPSTREAM:
            self._collector.errors.append(frame)
            self._collector._changed.set()
        await self.push_frame(frame, direction)


async def run_pipeline(
    processors: Sequence[FrameProcessor],
    drive: Callable[[PipelineWorker, Collector], Awaitable[None]],
    params: PipelineParams | None = None,
    timeout: float = 20.0,
) -> Collector:
    """Run ``processors`` + a :class:`Collector` with PipelineWorker and WorkerRunner.

    Args:
        processors: The processors under test, in pipeline order.
        drive: Coroutine that feeds frames and waits for results; the pipeline then ends.
        params: Pipeline params.
        timeout: Overall limit in seconds.

    Returns:
        The collector.
    """
    collector = Collector()
    worker = PipelineWorker(
        Pipeline([ErrorTap(collector), *processors, collector]),
        params=params or PipelineParams(),
        enable_rtvi=False,
        enable_turn_tracking=False,
        idle_timeout_secs=None,
        cancel_on_idle_timeout=False,
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(worker: PipelineWorker, frame: Frame) -> None:
        started.set()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(timeout):
            await started.wait()
            await drive(worker, collector)
            await worker.queue_frame(EndFrame())
            await run
    finally:
        if not run.done():
            await worker.cancel()
            await asyncio.wait([run], timeout=5)
    return collector


async def speech_pcm(text: str, rate: int, lead_s: float = 0.5, tail_s: float = 1.0) -> bytes:
    """espeak-ng speech as int16 PCM at ``rate``, padded with silence."""
    clip = await _SYNTH.synth(text, rate)
    pad = lambda s: b"\x00\x00" * int(s * rate)  # noqa: E731
    return pad(lead_s) + clip.pcm.astype("<i2").tobytes() + pad(tail_s)


async def feed_realtime(worker: PipelineWorker, pcm: bytes, rate: int, chunk_ms: int = 20) -> None:
    """Queue ``pcm`` as InputAudioRawFrames at real-time pace."""
    step = rate * chunk_ms // 1000 * 2
    t0 = time.monotonic()
    for i, start in enumerate(range(0, len(pcm), step)):
        frame = InputAudioRawFrame(
            audio=pcm[start : start + step], sample_rate=rate, num_channels=1
        )
        await worker.queue_frame(frame)
        await asyncio.sleep(max(0.0, t0 + (i + 1) * chunk_ms / 1000 - time.monotonic()))


async def transcribe(stt: FrameProcessor, phrase: str, rate: int = 16000) -> Collector:
    """Speak ``phrase`` (espeak) in real time through Silero VAD into a real STT service.

    Returns:
        The collector, once a final transcript arrived (or 5 s passed).
    """
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.frames.frames import TranscriptionFrame
    from pipecat.pipeline.worker import PipelineParams
    from pipecat.processors.audio.vad_processor import VADProcessor

    pcm = await speech_pcm(phrase, rate)

    async def drive(worker: PipelineWorker, collector: Collector) -> None:
        await feed_realtime(worker, pcm, rate)
        await collector.wait_for(lambda c: c.of(TranscriptionFrame), timeout=5)

    return await run_pipeline(
        [VADProcessor(vad_analyzer=SileroVADAnalyzer()), stt],
        drive,
        params=PipelineParams(audio_in_sample_rate=rate),
    )
