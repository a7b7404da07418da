"""A simulated Twilio phone call against a Media Streams websocket (what Twilio itself does).

``TwilioCaller`` optionally POSTs the signed voice webhook and follows ``<Connect><Stream>``, then
speaks the Media Streams protocol in real time: ``connected``, ``start``, one 20 ms μ-law
``media`` frame every 20 ms (speech or silence), ``dtmf``, ``mark`` echoes, ``stop``. It records
every message and measures what the caller hears (see ``result.CallResult``).

Run ``python -m simulators.callers.twilio --help`` for the command line version.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import websockets
from loguru import logger
from websockets.asyncio.client import ClientConnection, connect

from simulators.callers.audio import resample, speech_pcm, trim_silence
from simulators.callers.playout import PlayoutModel
from simulators.callers.result import BargeInMetrics, CallerTurn, CallResult, MarkRecord
from simulators.callers.script import (
    BargeIn,
    HangUp,
    Say,
    SendDigits,
    Step,
    Wait,
    WaitForBotSilence,
    WaitForBotSpeech,
)
from simulators.callers.twilio_link import (
    FRAME_SAMPLES,
    FRAME_SECS,
    RATE,
    CallOver,
    MediaStreamLink,
)
from simulators.callers.twiml import TwimlAnswer, fetch_twiml, random_sid, voice_webhook_form


class TwilioCaller(MediaStreamLink):
    """One simulated inbound phone call.

    Either give ``ws_url`` (connect straight to the stream, sending ``custom_parameters``) or
    ``webhook_url`` (POST the voice webhook first and use the TwiML's ``<Stream>`` URL and
    ``<Parameter>`` values; ``custom_parameters`` are added on top).

    Args:
        ws_url: Media Streams websocket URL.
        webhook_url: Voice webhook URL, signed with ``auth_token``.
        auth_token: Twilio auth token for ``X-Twilio-Signature`` (default ``$TWILIO_AUTH_TOKEN``;
            unsigned if neither).
        custom_parameters: ``start.customParameters``.
        from_number: Caller number (webhook ``From``).
        to_number: Called number (webhook ``To``).
        account_sid: ``AC…`` SID (random by default); also ``call_sid`` (``CA…``) and
            ``stream_sid`` (``MZ…``).
        webhook_extra: More webhook form fields.
        voice_threshold: 10 ms RMS (int16) above which audio counts as voice.
        utterance_gap_secs: Bot silence that separates two bot utterances.
        gap_threshold_secs: Underruns longer than this are counted in ``gaps_over_threshold``.
        open_timeout: Websocket connect timeout.
    """

    def __init__(
        self,
        ws_url: str | None = None,
        *,
        webhook_url: str | None = None,
        auth_token: str | None = None,
        custom_parameters: Mapping[str, str] | None = None,
        from_number: str = "+15005550006",
        to_number: str = "+15005550001",
        account_sid: str | None = None,
        call_sid: str | None = None,
        stream_sid: str | None = None,
        webhook_extra: Mapping[str, str] | None = None,
        voice_threshold: float = 300.0,
        utterance_gap_secs: float = 1.5,
        gap_threshold_secs: float = 0.06,
        open_timeout: float = 10.0,
    ):
        if not ws_url and not webhook_url:
            raise ValueError("TwilioCaller needs ws_url or webhook_url")
        self.ws_url = ws_url
        self.webhook_url = webhook_url
        self.auth_token = auth_token if auth_token is not None else os.getenv("TWILIO_AUTH_TOKEN")
        self.custom_parameters = dict(custom_parameters or {})
        self.from_number, self.to_number = from_number, to_number
        self.account_sid = account_sid or random_sid("AC")
        self.call_sid = call_sid or random_sid("CA")
        self.stream_sid = stream_sid or random_sid("MZ")
        self.webhook_extra = dict(webhook_extra or {})
        self.voice_threshold = voice_threshold
        self.utterance_gap_secs = utterance_gap_secs
        self.gap_threshold_secs = gap_threshold_secs
        self.open_timeout = open_timeout
        self._hang_up_requested = False

    # ------------------------------------------------------------------ public

    async def run(self, script: Sequence[Step], max_duration: float = 120.0) -> CallResult:
        """Place the call, play the script, hang up (unless the bot did) and measure.

        Args:
            script: Steps from ``simulators.callers.script``. When they run out the caller hangs up.
            max_duration: Hard limit on the call in seconds (recorded as an error if hit).

        Returns:
            The measurements. Connection failures and webhook refusals do not raise: see
            ``result.connected``, ``result.rejected`` and ``result.errors``.
        """
        self._result = r = CallResult(
            call_sid=self.call_sid,
            stream_sid=self.stream_sid,
            account_sid=self.account_sid,
            custom_parameters=dict(self.custom_parameters),
            gap_threshold_secs=self.gap_threshold_secs,
        )
        self._model = PlayoutModel(RATE, self.voice_threshold, self.utterance_gap_secs)
        self._frames = self._seq = 0
        self._lag = 0.0  # how far behind its frame clock the caller was at the last frame
        self._stall_end = float("-inf")  # when the caller last noticed it had stalled
        self._caller_closed = self._bot_closed = False
        self._pending_marks: list[tuple[float, MarkRecord]] = []
        self._last_turn_end = 0.0
        self._max_duration = max_duration
        self._t0 = time.monotonic()

        ws_url = self.ws_url
        if self.webhook_url:
            r.twiml = await self._fetch_answer()
            if r.twiml.rejected:
                r.rejected = True
                r.rejected_text = r.twiml.say_text or f"HTTP {r.twiml.status_code}"
                logger.info(f"call {self.call_sid} rejected by webhook: {r.rejected_text!r}")
                return r
            ws_url = r.twiml.stream_url
            r.custom_parameters = {**r.twiml.parameters, **self.custom_parameters}
        r.ws_url = ws_url
        assert ws_url is not None
        try:
            ws = await connect(
                ws_url, open_timeout=self.open_timeout, max_size=None, ping_interval=None,
                user_agent_header="Twilio.TmeWs/1.0",
            )
        except (OSError, TimeoutError, websockets.exceptions.InvalidHandshake) as e:
            r.errors.append(f"connect failed: {e!r}")
            logger.warning(f"call {self.call_sid}: websocket connect to {ws_url} failed: {e!r}")
            return r
        r.connected = True
        await self._call(ws, script)
        return r

    async def _fetch_answer(self) -> TwimlAnswer:
        """POST the signed voice webhook and parse its answer (the carrier's part)."""
        assert self.webhook_url is not None
        form = voice_webhook_form(
            self.call_sid, self.account_sid, self.from_number, self.to_number, self.webhook_extra
        )
        return await fetch_twiml(self.webhook_url, form, self.auth_token)

    def hang_up(self) -> None:
        """Hang up as soon as possible, even in the middle of a step (call from another task).

        The caller sends ``stop`` and closes before its next 20 ms frame; remaining steps are
        skipped and ``run()`` returns normally.
        """
        self._hang_up_requested = True

    # ------------------------------------------------------------------ call

    async def _call(self, ws: ClientConnection, script: Sequence[Step]) -> None:
        r = self._result
        self._ws = ws
        if (hello := self.wire.connected()) is not None:  # Plivo starts with ``start``
            await self._send(hello)
        self._t0 = time.monotonic()
        r.t0_monotonic = self._t0
        if r.messages:
            r.messages[0].t = 0.0
        await self._send(self.wire.start(
            self._next_seq(), self.account_sid, self.call_sid, self.stream_sid,
            r.custom_parameters,
        ))
        receiver = asyncio.create_task(self._receive())
        try:
            await self._play(script, receiver)
        finally:  # also on errors in the script itself: never leak the socket or the task
            self._caller_closed = self._caller_closed or not self._bot_closed
            await ws.close()
            try:
                await asyncio.wait_for(receiver, timeout=5.0)
            except TimeoutError:
                receiver.cancel()
        r.close_code, r.close_reason = ws.close_code, ws.close_reason or ""
        r.duration_secs = round(self._now(), 3)
        r.analyse(self._model, self._now())
        logger.info(
            f"call {self.call_sid} over after {r.duration_secs}s: bot hung up={r.hung_up_by_bot}"
            f" first audio={r.time_to_first_audio_secs} v2v={r.voice_to_voice_secs}"
        )

    async def _play(self, script: Sequence[Step], receiver: asyncio.Task) -> None:
        try:
            for step in script:
                if isinstance(step, HangUp):
                    break
                await self._run_step(step)
        except CallOver as e:
            if str(e):
                self._result.errors.append(str(e))
        except websockets.exceptions.ConnectionClosed:
            await asyncio.wait({receiver}, timeout=2.0)  # let it record who closed
        if not self._bot_closed:
            self._caller_closed = True
            try:
                await self._send(
                    self.wire.stop(
                        self._next_seq(), self.account_sid, self.call_sid, self.stream_sid
                    )
                )
            except websockets.exceptions.ConnectionClosed:
                pass

    async def _run_step(self, step: Step) -> None:
        if isinstance(step, Wait):
            for _ in range(round(step.seconds / FRAME_SECS)):
                await self._tick()
        elif isinstance(step, Say):
            await self._say(step.speech, step.rate)
        elif isinstance(step, WaitForBotSpeech):
            def started(now: float) -> bool:
                s = self._model.first_voice_since(self._last_turn_end)
                return s is not None and s <= now

            await self._silence_until(started, step.timeout, step)
        elif isinstance(step, WaitForBotSilence):
            deadline = self._now() + step.timeout
            if step.require_reply:
                ok = await self._silence_until(
                    lambda now: self._model.first_voice_since(self._last_turn_end) is not None,
                    step.timeout, step,
                )
                if not ok:
                    return
            # Time this process spent stalled was not heard: quiet counts from the stall's end.
            await self._silence_until(
                lambda now: self._model.quiet_for(now, step.quiet)
                and now - self._stall_end >= step.quiet,
                deadline - self._now(),
                step,
            )
        elif isinstance(step, BargeIn):
            def long_enough(now: float) -> bool:
                spans = self._model.utterances()
                return (
                    bool(spans)
                    and spans[-1].start >= self._last_turn_end
                    and now - spans[-1].start >= step.after_bot_audio_secs
                    and self._model.speaking_at(now)
                )

            await self._silence_until(long_enough, step.timeout, step)
            await self._say(step.speech, step.rate, barge_in=True)
        elif isinstance(step, SendDigits):
            for digit in step.digits:
                await self._send(self.wire.dtmf(self._next_seq(), self.stream_sid, digit))
                for _ in range(max(1, round(step.gap / FRAME_SECS))):
                    await self._tick()
        else:
            raise TypeError(f"unknown script step {step!r}")

    async def _silence_until(
        self, cond: Callable[[float], bool], timeout: float, step: Step
    ) -> bool:
        deadline = self._now() + timeout
        while not cond(self._now()):
            if self._now() >= deadline:
                self._result.errors.append(f"{step!r} timed out at t={self._now():.2f}s")
                return False
            await self._tick()
        return True

    async def _say(self, speech: str | np.ndarray, rate: int, barge_in: bool = False) -> None:
        pcm = self._trimmed(speech_pcm(speech, RATE) if isinstance(speech, str) else
                            resample(np.asarray(speech, dtype=np.int16), rate, RATE))
        bot_speaking = self._model.speaking_at(self._now())
        start = end = None
        for i in range(0, len(pcm), FRAME_SAMPLES):
            await self._tick(pcm[i : i + FRAME_SAMPLES])
            end = self._now()
            start = end - FRAME_SECS if start is None else start
        if start is None or end is None:
            return
        turn = CallerTurn(
            index=len(self._result.turns),
            label=speech if isinstance(speech, str) else "<pcm>",
            start=round(start, 4),
            end=round(end, 4),
            barge_in=barge_in,
        )
        self._result.turns.append(turn)
        self._last_turn_end = end
        if barge_in:
            self._result.barge_ins.append(
                BargeInMetrics(turn_index=turn.index, start=turn.start, bot_speaking=bot_speaking)
            )

    def _trimmed(self, pcm: np.ndarray) -> np.ndarray:
        pcm = trim_silence(pcm, RATE, self.voice_threshold)
        return np.pad(pcm, (0, -len(pcm) % FRAME_SAMPLES)).astype(np.int16)


if __name__ == "__main__":
    from simulators.callers.twilio_cli import main

    raise SystemExit(main())
