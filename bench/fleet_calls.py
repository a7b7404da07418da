"""One simulated phone call of the fleet bench, from the webhook to the hang-up, across a crash.

The caller says one turn, then holds the line (silence, as a thinking caller would) at a
:class:`Hold` until the bench lets its host's calls go on. A call whose host was killed sees its
stream break; it then plays Twilio's part (``simulators/callers/twilio_redirect.py``): it holds
the line on the TwiML's ``<Pause>`` until the fleet redirects it over the Twilio REST double,
connects to the new stream, hears the apology and says its second turn there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench import scenario
from simulators.callers.result import CallResult
from simulators.callers.script import HangUp, Say, WaitForBotSilence
from simulators.callers.twilio import TwilioCaller
from simulators.callers.twilio_redirect import next_twiml

HOLD_TIMEOUT_SECS = 120.0
APOLOGY_TIMEOUT_SECS = 15.0


@dataclass(frozen=True)
class Hold:
    """Send silence until the caller's ``may_go_on`` says so (or ``timeout`` passes)."""

    timeout: float = HOLD_TIMEOUT_SECS


class HeldCaller(TwilioCaller):
    """A ``TwilioCaller`` whose script can :class:`Hold` until the bench releases it.

    Args:
        may_go_on: Called every 20 ms during a hold with the call's result so far (its
            ``ws_url`` names the host); the hold ends when it returns True.
        on_hold: Called with the call's result so far when the caller reaches a hold.
        **kwargs: ``TwilioCaller`` arguments.
    """

    def __init__(
        self,
        may_go_on: Callable[[CallResult], bool],
        on_hold: Callable[[CallResult], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._may_go_on = may_go_on
        self._on_hold = on_hold

    async def _run_step(self, step: Any) -> None:
        if not isinstance(step, Hold):
            await super()._run_step(step)
            return
        self._on_hold(self._result)
        deadline = self._now() + step.timeout
        while not self._may_go_on(self._result):
            if self._now() >= deadline:
                self._result.errors.append(f"{step!r} timed out at t={self._now():.2f}s")
                return
            await self._tick()


def exchanges_for(index: int) -> tuple[scenario.Exchange, scenario.Exchange]:
    """Call ``index``'s two turns: an ordered pair of phrases no other call of the first 20 has.

    Unique pairs let the bench tell which LLM request belongs to which call.
    """
    n = len(scenario.EXCHANGES)
    first = index % n
    second = (first + 1 + (index // n) % (n - 1)) % n
    return scenario.EXCHANGES[first], scenario.EXCHANGES[second]


@dataclass
class Kill:
    """The host the bench killed, and when (``at``: monotonic, ``wall``: ``time.time()``)."""

    host: str
    at: float
    wall: float


@dataclass
class FleetCall:
    """One call of the fleet bench and what happened to it.

    Attributes:
        index: Caller number, in dialling order.
        webhook_host: The launcher whose ``/twilio/voice`` the call came in through.
        exchanges: The two turns: the first before the hold, the second after it.
        stage: ``dialling``, ``held``, ``done`` or ``refused``.
        host: The host the TwiML's ``<Stream url>`` named (None: refused or never answered).
        first: The caller's result on that host.
        moved: None unless the host was killed under the call; then whether it was redirected.
        moved_to: The host the redirect's ``<Stream url>`` named.
        redirect_text: The ``<Say>`` of a redirect without a stream (the fleet had no room).
        after_move: The caller's result on the new host.
        kill_to_first_audio_secs: From the kill to the first bot audio heard on the new host.
        crash: The caller's own exception, if any.
    """

    index: int
    webhook_host: str
    exchanges: tuple[scenario.Exchange, scenario.Exchange]
    stage: str = "dialling"
    host: str | None = None
    first: CallResult | None = None
    moved: bool | None = None
    moved_to: str | None = None
    redirect_text: str = ""
    after_move: CallResult | None = None
    kill_to_first_audio_secs: float | None = None
    crash: str | None = None
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def call_sid(self) -> str | None:
        """Twilio's call SID (``CA…``)."""
        return self.first.call_sid if self.first else None

    @property
    def call_id(self) -> str | None:
        """Switchboard's call id (the stream's ``call_id`` parameter)."""
        return self.first.custom_parameters.get("call_id") if self.first else None

    @property
    def refused(self) -> bool:
        """True when the webhook answered with no stream."""
        return self.first is not None and self.first.rejected

    @property
    def continued(self) -> bool:
        """The second turn got a spoken reply (on the new host for a moved call)."""
        r = self.after_move if self.moved else self.first
        if r is None or len(r.turns) < (1 if self.moved else 2):
            return False
        return r.turns[-1].voice_to_voice_secs is not None and not r.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the caller results without audio or messages)."""
        return {
            "index": self.index,
            "webhook_host": self.webhook_host,
            "phrases": [e.phrase for e in self.exchanges],
            "call_sid": self.call_sid,
            "call_id": self.call_id,
            "host": self.host,
            "refused": self.refused,
            "refusal_text": self.first.rejected_text if self.refused and self.first else None,
            "moved": self.moved,
            "moved_to": self.moved_to,
            "redirect_text": self.redirect_text or None,
            "kill_to_first_audio_secs": self.kill_to_first_audio_secs,
            "continued": self.continued,
            "crash": self.crash,
            "checks": self.checks,
            "first": self.first.to_dict() if self.first else None,
            "after_move": self.after_move.to_dict() if self.after_move else None,
        }


def host_of(url: str | None, hosts: Mapping[str, str]) -> str | None:
    """The host id whose websocket base (``hosts``: id → ``ws://…``) ``url`` starts with."""
    if not url:
        return None
    return next((h for h, base in hosts.items() if url.startswith(base + "/")), None)


def first_script(call: FleetCall) -> list[Any]:
    """Greeting, turn one, reply, hold; then turn two and its reply; hang up."""
    one, two = call.exchanges
    return [
        WaitForBotSilence(timeout=scenario.GREETING_TIMEOUT_SECS),
        Say(one.phrase),
        WaitForBotSilence(timeout=scenario.REPLY_TIMEOUT_SECS),
        Hold(),
        Say(two.phrase),
        WaitForBotSilence(timeout=scenario.REPLY_TIMEOUT_SECS),
        HangUp(),
    ]


async def place(
    call: FleetCall,
    webhook_url: str,
    auth_token: str,
    hosts: Mapping[str, str],
    may_go_on: Callable[[str | None], bool],
) -> None:
    """Dial through ``webhook_url`` and play :func:`first_script` on the host the TwiML names.

    Args:
        call: The call (updated in place).
        webhook_url: A launcher's voice webhook.
        auth_token: Signs the webhook.
        hosts: Host id → websocket base URL.
        may_go_on: Whether calls on a host (its id) may leave their hold.
    """

    def held(live: CallResult) -> None:
        call.first, call.host, call.stage = live, host_of(live.ws_url, hosts), "held"

    caller = HeldCaller(
        lambda r: may_go_on(host_of(r.ws_url, hosts)),
        held,
        webhook_url=webhook_url,
        auth_token=auth_token,
    )
    try:
        call.first = await caller.run(first_script(call), max_duration=HOLD_TIMEOUT_SECS + 90)
        call.host = host_of(call.first.ws_url, hosts)
    except Exception as exc:  # a caller crash is a measurement, not a reason to stop the run
        call.crash = repr(exc)
    call.stage = "refused" if call.refused else "done"


async def follow_move(call: FleetCall, env: Mapping[str, str], kill: Kill,
                      hosts: Mapping[str, str]) -> None:
    """Be Twilio after the host died: hold on the ``<Pause>``, follow the redirect, go on.

    Args:
        call: A call whose host was killed under it (updated in place).
        env: The doubles' environment (the Twilio REST double and its credentials).
        kill: The kill.
        hosts: Host id → websocket base URL.
    """
    assert call.first is not None and call.first.twiml is not None and call.call_sid
    hold = max(0.5, call.first.twiml.pause_secs - (time.monotonic() - kill.at))
    moved = await next_twiml(env, call.call_sid, hold_secs=hold)
    call.moved = moved is not None and not moved.rejected
    if moved is None or moved.rejected:
        call.redirect_text = moved.say_text if moved else ""
        return
    call.moved_to = host_of(moved.stream_url, hosts)
    second = TwilioCaller(
        moved.stream_url, custom_parameters=moved.parameters, call_sid=call.call_sid
    )
    script = [
        WaitForBotSilence(timeout=APOLOGY_TIMEOUT_SECS),  # the apology
        Say(call.exchanges[1].phrase),
        WaitForBotSilence(timeout=scenario.REPLY_TIMEOUT_SECS),
        HangUp(),
    ]
    try:
        call.after_move = r = await second.run(script, max_duration=90)
    except Exception as exc:
        call.crash = repr(exc)
        return
    if r.time_to_first_audio_secs is not None:
        call.kill_to_first_audio_secs = round(
            r.t0_monotonic + r.time_to_first_audio_secs - kill.at, 3
        )


async def run_call(
    call: FleetCall,
    webhook_url: str,
    auth_token: str,
    hosts: Mapping[str, str],
    may_go_on: Callable[[str | None], bool],
    killed: Callable[[], Kill | None],
    env: Mapping[str, str],
    delay: float,
) -> FleetCall:
    """Dial after ``delay`` seconds; if the host was killed under the call, follow the move."""
    await asyncio.sleep(delay)
    await place(call, webhook_url, auth_token, hosts, may_go_on)
    kill = killed()
    if kill is not None and call.host == kill.host and call.first and call.first.connected:
        await follow_move(call, env, kill, hosts)
    return call
