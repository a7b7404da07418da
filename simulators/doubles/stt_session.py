"""Shared machinery of the streaming STT doubles (Deepgram, Cartesia).

A session feeds received PCM to a :class:`Segmenter`, decodes partial speech for
interim results and whole segments for finals, and sends results in order with the
latency of the profile. Subclasses render the provider's JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
from aiohttp import web
from loguru import logger

from simulators.doubles.asr import Hypothesis, Recognizer
from simulators.doubles.audio import decode
from simulators.doubles.config import DoublesState
from simulators.doubles.exact import ExactRecognizer, ExactStream
from simulators.doubles.segmenter import Segment, Segmenter


class StreamingSTTSession:
    """One live transcription websocket.

    Args:
        ws: The prepared websocket.
        state: Shared doubles state.
        recognizer: The ASR engine.
        service: Name used for counters.
        sample_rate: Rate of the client's audio.
        encoding: Encoding of the client's audio.
        endpointing_ms: Silence that ends an utterance.
        exact: The text-exact engine, used instead of ``recognizer`` while the profile's
            ``stt_mode`` is ``"exact"`` (chosen at each decode).
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        state: DoublesState,
        recognizer: Recognizer,
        service: str,
        sample_rate: int,
        encoding: str,
        endpointing_ms: int,
        exact: ExactRecognizer | None = None,
    ) -> None:
        self.ws = ws
        self.state = state
        self.recognizer = recognizer
        self.exact = exact
        self.service = service
        self.rate = sample_rate
        self.encoding = encoding
        self.seg = Segmenter(sample_rate, endpointing_ms)
        self.window_start = 0.0
        self.last_activity = time.monotonic()
        self._chain: asyncio.Task | None = None
        self._interim: asyncio.Task | None = None
        self._interim_at = 0.0
        self._finalized_ids: set[int] = set()
        self._send_lock = asyncio.Lock()
        self._final_lock = asyncio.Lock()  # finals are decoded one at a time, in order
        self.exact_stream = ExactStream()
        self._received = 0  # samples received

    # --- to override -------------------------------------------------------------

    def render(self, hyp: Hypothesis, seg_start: float, seg_end: float, kind: str) -> dict | None:
        """Render a result message; ``kind`` is interim, endpoint, finalize or close."""
        raise NotImplementedError

    async def on_text(self, text: str) -> bool:
        """Handle a text frame from the client; return False to stop the session."""
        raise NotImplementedError

    async def on_speech_started(self) -> None:
        """Hook called when the VAD detects the start of speech."""

    # --- plumbing ----------------------------------------------------------------

    async def decode(
        self, pcm: np.ndarray, final: bool, start: float = 0.0, kind: str = ""
    ) -> Hypothesis:
        """Decode with the engine of the current ``stt_mode``.

        Args:
            pcm: The segment's samples (so far, for an interim).
            final: A whole segment, for a final result.
            start: Stream time of the segment's first sample: text-exact finals go through
                the session's :class:`ExactStream`, so that a final cut inside a registered
                speech run sends the words on its side of the cut.
            kind: What ended the segment (``endpoint``, ``finalize`` or ``close``).
        """
        if self.exact is not None and self.state.profile.stt_mode == "exact":
            return await self.exact.decode(
                pcm,
                self.rate,
                final,
                stream=self.exact_stream if final else None,
                start=start,
                endpoint=kind == "endpoint",
            )
        return await self.recognizer.decode(pcm, self.rate, final=final)

    async def send(self, msg: dict[str, Any]) -> None:
        """Send one JSON message if the socket is still open."""
        async with self._send_lock:
            if not self.ws.closed:
                await self.ws.send_str(json.dumps(msg))

    async def run(self) -> None:
        """Serve the socket until either side closes it."""
        try:
            async for msg in self.ws:
                self.last_activity = time.monotonic()
                if msg.type == web.WSMsgType.BINARY:
                    await self.on_audio(msg.data)
                elif msg.type == web.WSMsgType.TEXT:
                    if not await self.on_text(msg.data):
                        break
                elif msg.type == web.WSMsgType.ERROR:
                    logger.warning(f"{self.service}: socket error {self.ws.exception()}")
                    break
        finally:
            for task in (self._interim, self._chain):
                if task and not task.done():
                    task.cancel()

    async def on_audio(self, data: bytes) -> None:
        """Feed audio, emitting interims while speech goes on and finals at endpoints."""
        self.state.count(self.service, "audio_bytes", len(data))
        try:
            pcm = decode(data, self.encoding)
        except ValueError:
            return
        if self.exact is not None and self.state.profile.stt_mode == "exact":
            self.exact_stream.hear(pcm, self.rate, self._received)
        self._received += len(pcm)
        for event in self.seg.feed(pcm):
            if event == "start":
                self._interim_at = self.seg.now
                await self.on_speech_started()
            elif event == "end":
                self.schedule_final("endpoint")
        interval = self.state.profile.stt_interim_ms / 1000.0
        if self.seg.in_speech and self.seg.now - self._interim_at >= interval:
            if self._interim is None or self._interim.done():
                self._interim_at = self.seg.now
                snap = self.seg.snapshot()
                if snap is not None:
                    self._interim = asyncio.create_task(self._emit_interim(snap))

    async def _emit_interim(self, snap: Segment) -> None:
        if self.exact is not None and self.state.profile.stt_mode == "exact":
            hyp, run_end = await self.exact.interim(snap.pcm, self.rate)
            if run_end is not None and snap.seg_id == self.seg.seg_id and self.seg.in_speech:
                self.seg.run_end = snap.start + run_end  # the words' end is known now
        else:
            hyp = await self.decode(snap.pcm, final=False)
        if not hyp.text or snap.seg_id in self._finalized_ids:
            return
        msg = self.render(hyp, snap.start, snap.end, "interim")
        if msg is not None:
            self.state.count(self.service, "results_interim")
            await self.send(msg)

    def schedule_final(self, kind: str, delay_ms: int | None = None) -> asyncio.Task:
        """Take pending speech and send its final result after the profile's latency.

        Args:
            kind: ``endpoint``, ``finalize`` or ``close``.
            delay_ms: Latency override; defaults to ``stt_final_ms``.

        Returns:
            The task that sends it; results are sent in the order they were scheduled.
        """
        seg = self.seg.take()
        if seg is not None:
            self._finalized_ids.add(seg.seg_id)
        delay = self.state.profile.stt_final_ms if delay_ms is None else delay_ms
        due = time.monotonic() + delay / 1000.0
        prev = self._chain
        self._chain = asyncio.create_task(self._emit_final(seg, due, kind, prev))
        return self._chain

    async def _emit_final(
        self, seg: Segment | None, due: float, kind: str, prev: asyncio.Task | None
    ) -> None:
        if seg is not None:
            async with self._final_lock:  # FIFO: finals scheduled earlier decode first
                hyp = await self.decode(seg.pcm, final=True, start=seg.start, kind=kind)
            start, end = seg.start, seg.end
        else:
            hyp, start, end = Hypothesis("", (), 0.0), self.window_start, self.seg.now
        if prev is not None:
            await asyncio.wait([prev])
        if seg is None and kind in ("endpoint", "close"):
            return
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        self.state.transcripts.append(
            {"service": self.service, "kind": kind, "text": hyp.text, "time": time.time()}
        )
        logger.debug(f"{self.service}: final ({kind}) {hyp.text!r}")
        msg = self.render(hyp, start, end, kind)
        self.window_start = max(self.window_start, end)
        if msg is not None:
            self.state.count(self.service, "results_final")
            await self.send(msg)

    async def drain(self) -> None:
        """Wait until every scheduled final has been sent."""
        if self._chain is not None:
            await asyncio.wait([self._chain])

    def words(self, hyp: Hypothesis, offset: float) -> list[tuple[str, float, float]]:
        """Word timings shifted to stream time."""
        return [(w, round(offset + s, 3), round(offset + e, 3)) for w, s, e in hyp.words]
