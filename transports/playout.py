"""Pause, resume or discard the bot's audio at the listener: one ``PlayoutGate`` per call.

Barge-in is "pause, then decide": when the caller starts talking over the bot, the turn-taking
controller pauses the gate, then within a fraction of a second either resumes it (a backchannel:
the caller hears the rest from where they stopped hearing) or discards what was paused (a real
interruption: Pipecat's ``InterruptionFrame`` follows and resets the output).

The gate sits in the output transport as its ``audio_out_filter`` (``PlayoutGateFilter``).
Pipecat's ``MediaSender`` filters each audio chunk it takes from its queue, in order, and awaits
the filter before it handles or writes that chunk, so a filter that blocks holds the output's
whole audio task: the audio queued behind it, the frames synchronised with it (TTS text without
presentation timestamps, ``TTSStoppedFrame``) and the bot-stopped-speaking report all wait (the
3 s fallback only times the queue ``get``, never the filter). A chunk whose audio the filter
empties is skipped. Frames with a presentation timestamp (word timestamps from TTS services)
run on the output's clock task instead and are not held.

A far end that buffers audio we already sent (Twilio) is a ``RemotePlayout``: pausing flushes
it, resuming replays what it had not played, discarding tells it to forget that.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any, Literal, Protocol

from loguru import logger
from pipecat.audio.filters.base_audio_filter import BaseAudioFilter
from pipecat.frames.frames import FilterControlFrame, Frame, InterruptionFrame

# A pause nobody decides about ends by itself after this long (the caller hears the rest).
MAX_PAUSE_SECS = 3.0
# After discard(), how long the gate waits for the interruption to reach the output.
INTERRUPTION_WAIT_SECS = 1.0

GateState = Literal["open", "paused", "discarding"]


class RemotePlayout(Protocol):
    """A far end that buffers audio already sent to it (the gate keeps a weak reference)."""

    async def flush(self) -> None:
        """Stop playback at the far end now; remember what it had received but not played."""

    async def replay(self) -> None:
        """Send the remembered audio again, before anything newer."""

    async def forget(self) -> None:
        """Drop the remembered audio."""


class _Ticket:
    """One audio chunk waiting at the gate."""

    __slots__ = ("audio", "stale", "future")

    def __init__(self, audio: bytes, stale: bool, future: asyncio.Future[bytes]):
        self.audio = audio
        self.stale = stale  # queued before a discard: released as b""
        self.future = future


class PlayoutGate:
    """Holds the bot's audio at the output while paused; shared by the output and the controller.

    Args:
        max_pause_secs: A pause longer than this resumes by itself (with a warning), so an
            ``EndFrame`` queued behind paused audio can never deadlock the call.
    """

    def __init__(self, max_pause_secs: float = MAX_PAUSE_SECS):
        self.max_pause_secs = max_pause_secs
        self.pauses = 0
        self.resumes = 0
        self.discards = 0
        self.auto_resumes = 0
        self.reports_interruptions = False  # set by attach_playout_gate
        self._state: GateState = "open"
        self._since = 0.0  # monotonic time the current pause or discard began
        self._paused_total = 0.0
        self._interrupted_at = float("-inf")  # when the output last reported an interruption
        self._waiting: list[_Ticket] = []
        self._remote: weakref.ref[Any] | None = None
        self._lock = asyncio.Lock()
        self._watchdog: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ state

    @property
    def paused(self) -> bool:
        """Whether the gate is paused (audio held until resume, discard or the time limit)."""
        return self._state == "paused"

    @property
    def state(self) -> GateState:
        """``open``, ``paused``, or ``discarding`` (waiting for the interruption to arrive)."""
        return self._state

    @property
    def paused_secs(self) -> float:
        """Total time spent paused, the current pause included."""
        current = time.monotonic() - self._since if self._state == "paused" else 0.0
        return self._paused_total + current

    def attach_remote(self, remote: RemotePlayout) -> None:
        """Flush, replay and forget ``remote`` with the gate (weakly referenced)."""
        self._remote = weakref.ref(remote)

    async def _tell_remote(self, action: Literal["flush", "replay", "forget"]) -> None:
        """Ask the far end to act; its failure never stops the gate (nor Pipecat's audio task)."""
        remote = self._remote() if self._remote is not None else None
        if remote is None:
            return
        try:
            await getattr(remote, action)()
        except Exception as e:  # logged: the gate goes on
            logger.warning(f"playout remote {action} failed: {e!r}")

    # ------------------------------------------------------------------ controller side

    async def pause(self) -> None:
        """Close the gate and flush the far end; pausing a paused gate does nothing."""
        async with self._lock:
            if self._state == "paused":
                return
            self._state = "paused"
            self._since = time.monotonic()
            self.pauses += 1
            self._arm_watchdog(self.max_pause_secs)
            await self._tell_remote("flush")

    async def resume(self) -> None:
        """Replay what the far end had not played, then open; an open gate stays as it is."""
        async with self._lock:
            await self._resume()

    async def discard(self) -> None:
        """Drop what is held at the gate and what the far end had not played, then open.

        When the output reports interruptions (``attach_playout_gate``), the gate stays shut
        until Pipecat's ``InterruptionFrame`` has reset the output queue (at most
        ``INTERRUPTION_WAIT_SECS``): otherwise the stale audio queued behind the held chunk, and
        the text synchronised with it, would slip out in between. Either order works: an
        interruption that already reached the output (since the pause began, or in the last
        ``INTERRUPTION_WAIT_SECS`` when not paused) opens the gate at once.
        """
        async with self._lock:
            self.discards += 1
            now = time.monotonic()
            since = self._since if self._state == "paused" else now - INTERRUPTION_WAIT_SECS
            already_interrupted = self._interrupted_at >= since
            self._end_pause()
            for ticket in self._waiting:
                ticket.stale = True
            await self._tell_remote("forget")
            if self.reports_interruptions and not already_interrupted:
                self._state = "discarding"
                self._since = now
                self._arm_watchdog(INTERRUPTION_WAIT_SECS)
            else:
                self._open()

    def interrupted(self) -> None:
        """The output handled an ``InterruptionFrame``: whatever is held is stale.

        Releases held chunks as ``b""``; ends a discard. A pause stays paused.
        """
        self._interrupted_at = time.monotonic()
        for ticket in self._waiting:
            ticket.stale = True
        self._release()
        if self._state == "discarding":
            self._open()

    def close(self) -> None:
        """The output is gone: stop the watchdog and let anything held through."""
        self._cancel_watchdog()
        self._end_pause()
        self._state = "open"
        self._release()

    # ------------------------------------------------------------------ output side

    async def admit(self, audio: bytes) -> bytes:
        """Let one chunk through: at once when open, else when resumed or discarded.

        Args:
            audio: The chunk, in the order the output plays it.

        Returns:
            ``audio``, or ``b""`` for a chunk dropped by a discard or an interruption.
        """
        if self._state == "open":
            return audio
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        ticket = _Ticket(audio, self._state == "discarding", future)
        self._waiting.append(ticket)
        try:
            while not future.done():
                if self._state == "open":  # opened without releasing us: never spin
                    return b"" if ticket.stale else audio
                timeout = self._deadline() - time.monotonic()
                if timeout <= 0:
                    await self._expire()
                    continue
                # asyncio.wait never raises TimeoutError (MediaSender would take it for an
                # empty queue and lose the chunk).
                await asyncio.wait({future}, timeout=timeout)
            return future.result()
        finally:
            if ticket in self._waiting:
                self._waiting.remove(ticket)

    # ------------------------------------------------------------------ internals

    def _deadline(self) -> float:
        limit = self.max_pause_secs if self._state == "paused" else INTERRUPTION_WAIT_SECS
        return self._since + limit

    async def _resume(self) -> None:
        if self._state == "open":
            return
        if self._state == "paused":
            self.resumes += 1
        self._end_pause()
        self._cancel_watchdog()
        await self._tell_remote("replay")
        self._open()

    async def _expire(self) -> None:
        """End a pause or a discard that outlived its limit (from admit or the watchdog)."""
        async with self._lock:
            if self._state == "open" or time.monotonic() < self._deadline():
                return
            if self._state == "paused":
                self.auto_resumes += 1
                logger.warning(
                    f"playout paused for {self.max_pause_secs:.1f}s without a decision: resuming"
                )
                await self._resume()
            else:
                logger.warning(
                    f"no interruption reached the output {INTERRUPTION_WAIT_SECS:.1f}s after "
                    "a discard: opening"
                )
                self._open()

    def _open(self) -> None:
        self._cancel_watchdog()
        self._state = "open"
        self._release()

    def _release(self) -> None:
        """Hand every held chunk back: its audio, or ``b""`` if stale."""
        for ticket in self._waiting:
            if ticket.stale or self._state != "paused":
                if not ticket.future.done():
                    ticket.future.set_result(b"" if ticket.stale else ticket.audio)
        self._waiting = [t for t in self._waiting if not t.future.done()]

    def _end_pause(self) -> None:
        if self._state == "paused":
            self._paused_total += time.monotonic() - self._since

    def _arm_watchdog(self, secs: float) -> None:
        """Expire even when no chunk is waiting (a pause at the very end of an utterance)."""
        self._cancel_watchdog()

        async def watch() -> None:
            await asyncio.sleep(secs)
            self._watchdog = None
            await self._expire()

        self._watchdog = asyncio.get_running_loop().create_task(watch())

    def _cancel_watchdog(self) -> None:
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        self._watchdog = None


class PlayoutGateFilter(BaseAudioFilter):
    """The gate as Pipecat's output audio filter (``TransportParams.audio_out_filter``).

    Args:
        gate: The call's gate.
    """

    def __init__(self, gate: PlayoutGate):
        self.gate = gate

    async def start(self, sample_rate: int) -> None:
        """Nothing to set up (the gate does not look at the audio)."""

    async def stop(self) -> None:
        """The output is being cleaned up: release the gate."""
        self.gate.close()

    async def process_frame(self, frame: FilterControlFrame) -> None:
        """No runtime settings."""

    async def filter(self, audio: bytes) -> bytes:
        """Wait at the gate; see ``PlayoutGate.admit``."""
        return await self.gate.admit(audio)


_GATES: weakref.WeakKeyDictionary[Any, PlayoutGate] = weakref.WeakKeyDictionary()


def attach_playout_gate(transport: Any, gate: PlayoutGate) -> PlayoutGate:
    """Register ``gate`` as ``transport``'s gate and tell it about the output's interruptions.

    The transport's output must already filter its audio through ``PlayoutGateFilter(gate)``.

    Args:
        transport: A Pipecat transport built by ``transports``.
        gate: Its gate.

    Returns:
        The gate.
    """
    _GATES[transport] = gate
    gate.reports_interruptions = True

    @transport.output().event_handler("on_after_process_frame")
    async def _after_frame(_output: Any, frame: Frame) -> None:
        if isinstance(frame, InterruptionFrame):
            gate.interrupted()

    return gate


def playout_gate(transport: Any) -> PlayoutGate | None:
    """The gate of a transport built by ``transports`` (None for anything else)."""
    try:
        return _GATES.get(transport)
    except TypeError:  # not weakly referenceable: not one of ours
        return None
