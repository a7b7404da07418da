"""What a soak call says, which of its turns get a fault, and how each fault is injected.

Faults go through the doubles' control API (``simulators/doubles/control.py``):

- ``stt_drop``: ``POST /_doubles/drop/deepgram`` (close 1011 or 1000) while the caller speaks;
- ``tts_drop``: ``POST /_doubles/drop/elevenlabs`` as the bot's reply starts to arrive;
- ``llm_5xx`` / ``llm_hang``: the turn says a phrase that an LLM double rule answers with a 500
  or a 30 s first token, for the primary model only when the double knows the rule key
  ``model`` (a backup LLM on another model then answers).

A drop closes every open socket of the service, so it also hits the other calls' turns that
are in progress: ``bench/soak_measure.py`` counts those as collateral.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.turn_corpus import Item
from bench.turn_plan import SHORT_REPLY
from simulators.callers.script import HangUp, Say, Step, Wait, WaitForBotSilence
from simulators.callers.twilio import TwilioCaller

FAULT_KINDS = ("stt_drop", "llm_5xx", "llm_hang", "tts_drop")
LLM_FAULTS = {  # the phrase a caller says to get this LLM fault (never said on a clean turn)
    "llm_5xx": "I have a toothache on the left side.",
    "llm_hang": "Is there parking near the office?",
}
HANG_FIRST_TOKEN_MS = 30000
GOODBYE = "Thank you for calling, have a great day, goodbye."
CLOSING_MATCH = "bye"  # the closings the callers say all contain it; the LLM ends the call
REPLY_WAIT_SECS = 14.0  # WaitForBotSilence timeout after a turn (reply, or apology at ~8 s)
TTS_DROP_AFTER_SECS = 0.15  # after the reply's first audio arrives at the caller


@dataclass(frozen=True)
class FaultSay(Say):
    """A ``Say`` step that may carry a fault to inject while (or after) it is spoken."""

    fault: str | None = None
    turn: int = 0


@dataclass
class FaultEvent:
    """One fault, as planned for a turn and as injected.

    Attributes:
        kind: One of :data:`FAULT_KINDS`.
        call: Index of the call in the run.
        turn: The caller turn it was planned for.
        at: ``time.monotonic()`` of the injection (LLM faults: when the turn ended).
        injected: Whether the fault took effect (a drop that closed no socket did not).
        detail: The control API's answer, or why it was not injected.
    """

    kind: str
    call: int
    turn: int
    at: float
    injected: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {k: getattr(self, k) for k in ("kind", "call", "turn", "at", "injected", "detail")}


@dataclass
class CallPlan:
    """One soak call: a voice, the caller's utterances and the fault of each turn.

    Attributes:
        index: The call's index in the run.
        voice: The corpus voice every utterance is spoken in.
        items: The caller's utterances in order; the last one is a closing ("... bye").
        faults: One entry per item: a fault kind or None.
    """

    index: int
    voice: str
    items: list[Item]
    faults: list[str | None] = field(default_factory=list)


def pick_fault(rng: random.Random, rate: float, kinds: tuple[str, ...],
               closing: bool) -> str | None:
    """The fault of one turn: None with probability ``1 - rate``, else one of ``kinds``.

    A closing turn never gets an LLM fault (its reply is the ``end_call`` goodbye).
    """
    allowed = [k for k in kinds if not (closing and k in LLM_FAULTS)]
    if not allowed or rng.random() >= rate:
        return None
    return rng.choice(allowed)


def plan_call(index: int, rng: random.Random, pools: dict[str, dict[str, list[Item]]],
              turns: tuple[int, int], rate: float, kinds: tuple[str, ...]) -> CallPlan:
    """Draw one call: a voice, ``turns`` ordinary utterances and a closing, and their faults.

    Args:
        index: The call's index.
        rng: The run's seeded generator.
        pools: ``voice -> {"clean": [...], "closing": [...], "llm_5xx": [...], ...}``.
        turns: Inclusive range of ordinary turns before the closing.
        rate: Probability that a turn gets a fault.
        kinds: The fault kinds to draw from.
    """
    voice = rng.choice(sorted(pools))
    pool = pools[voice]
    items: list[Item] = []
    faults: list[str | None] = []
    for _ in range(rng.randint(*turns)):
        fault = pick_fault(rng, rate, kinds, closing=False)
        if fault in LLM_FAULTS and not pool.get(fault):
            fault = None  # this voice lost the fault phrase (dropped from the corpus)
        items.append(rng.choice(pool[fault] if fault in LLM_FAULTS else pool["clean"]))
        faults.append(fault)
    items.append(rng.choice(pool["closing"]))
    faults.append(pick_fault(rng, rate, kinds, closing=True))
    return CallPlan(index, voice, items, faults)


def pools_by_voice(items: list[Item]) -> dict[str, dict[str, list[Item]]]:
    """Sort the corpus' complete utterances per voice into clean, closing and fault phrases."""
    fault_of = {text: kind for kind, text in LLM_FAULTS.items()}
    out: dict[str, dict[str, list[Item]]] = {}
    for item in items:
        pool = out.setdefault(item.voice, {"clean": [], "closing": []})
        if item.text in fault_of:
            pool.setdefault(fault_of[item.text], []).append(item)
        elif item.kind == "closing":
            if CLOSING_MATCH in item.text.lower():
                pool["closing"].append(item)
        else:
            pool["clean"].append(item)
    return {v: p for v, p in out.items() if p["clean"] and p["closing"]}


def script(plan: CallPlan) -> list[Step]:
    """The caller's steps: the greeting, each utterance and its reply, then a wait to be hung up on.

    After the closing the caller waits for the goodbye and for the bot to hang up; if it does
    not, the caller hangs up itself (the call then counts as dropped).
    """
    steps: list[Step] = [WaitForBotSilence(timeout=20)]
    for turn, (item, fault) in enumerate(zip(plan.items, plan.faults, strict=True)):
        steps += [FaultSay(item.pcm, rate=item.rate, fault=fault, turn=turn),
                  WaitForBotSilence(timeout=REPLY_WAIT_SECS)]
    steps += [Wait(6.0), HangUp()]
    return steps


def llm_rules(primary_model: str | None) -> list[dict[str, Any]]:
    """The LLM double's script: faults on the fault phrases, ``end_call`` on a closing.

    Args:
        primary_model: Restrict the fault rules to this model (the rule key ``model``), so that a
            backup LLM on another model answers; None: the faults hit every model.
    """
    only = {} if primary_model is None else {"model": primary_model}
    return [
        {"match": LLM_FAULTS["llm_5xx"].rstrip(".?"), "status": 500, **only},
        {"match": LLM_FAULTS["llm_hang"].rstrip(".?"), "reply": SHORT_REPLY,
         "first_token_ms": HANG_FIRST_TOKEN_MS, **only},
        {"match": CLOSING_MATCH,
         "tool_calls": [{"name": "end_call", "arguments": {"goodbye": GOODBYE}}]},
        {"match": None, "reply": SHORT_REPLY},
    ]


Injector = Callable[[str, int, int], Awaitable[FaultEvent]]
"""``inject(kind, call, turn)``: inject a drop now and return what happened."""


class FaultingCaller(TwilioCaller):
    """A ``TwilioCaller`` that injects each ``FaultSay``'s drop at the right moment.

    ``stt_drop``: at a random point of the first 70 % of the utterance (the caller speaking);
    ``tts_drop``: once the reply's first audio arrives after the utterance. LLM faults need no
    action here (the phrase itself triggers them): they are recorded when the turn ends.

    Args:
        call: The call's index.
        inject: Injects a drop (see :data:`Injector`).
        rng: Draws the drop's moment.
        **kwargs: ``TwilioCaller`` arguments.
    """

    def __init__(self, call: int, inject: Injector, rng: random.Random, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.call = call
        self.inject = inject
        self.rng = rng
        self.events: list[FaultEvent] = []
        self._tasks: set[asyncio.Task] = set()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop_later(self, kind: str, turn: int, delay: float) -> None:
        await asyncio.sleep(delay)
        self.events.append(await self.inject(kind, self.call, turn))

    async def _drop_on_reply(self, turn: int, received: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._result.received_media <= received:  # the reply's audio has not come yet
            if time.monotonic() > deadline or self._bot_closed:
                self.events.append(FaultEvent("tts_drop", self.call, turn, time.monotonic(),
                                              False, "no reply audio to cut"))
                return
            await asyncio.sleep(0.02)
        await self._drop_later("tts_drop", turn, TTS_DROP_AFTER_SECS)

    async def _run_step(self, step: Step) -> None:
        if not isinstance(step, FaultSay) or step.fault is None:
            await super()._run_step(step)
            return
        if step.fault == "stt_drop":
            secs = len(step.speech) / step.rate if not isinstance(step.speech, str) else 1.0
            self._spawn(self._drop_later("stt_drop", step.turn, self.rng.uniform(0, 0.7 * secs)))
        await super()._run_step(step)
        if step.fault == "tts_drop":
            self._spawn(self._drop_on_reply(step.turn, self._result.received_media))
        elif step.fault in LLM_FAULTS:
            self.events.append(FaultEvent(step.fault, self.call, step.turn, time.monotonic(),
                                          True, "fault phrase said"))

    async def finish(self) -> None:
        """Wait for injections still pending (a drop scheduled as the call ended)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
