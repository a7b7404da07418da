"""Early replies: start the LLM on complete words before the end of the turn is confirmed.

The end of a turn is confirmed only once the VAD has heard ``vad_stop_secs`` of silence, but
an STT that endpoints on its own (Deepgram's default is 10 ms) sends the final words well
before that. When those words are complete (a question, a closing, a finished clause), the
reply is started at once through Pipecat's speculation path
(``trigger_user_turn_inference_triggered(speculation=...)``): the LLM answers a provisional
context, and its ``SpeculationGate`` holds the reply until the turn ends. Then:

* the turn ends on the same words: the held reply is released
  (``confirms_speculation=True``), and no second request is made;
* the caller says more first (new words, or their voice comes back): the reply is withdrawn
  (``EagerEndOfTurnCancelFrame``, the LLM stops) and the turn is answered as a whole later;
* the LLM withdraws it itself (it wanted a tool call, which must not run on a guess): the turn
  is answered normally, and if the withdrawal crosses the confirmation on its way, the
  ``on_reply_lost`` event asks for a new inference, so the caller never waits in silence.

The owning strategy turns ``on_lost`` into its ``on_reply_lost`` event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.turns.types import UserTurnSpeculation
from pipecat.turns.user_stop import BaseUserTurnStopStrategy
from pipecat.turns.user_stop.eager_match_policy import NormalizedMatch

# Same words whatever the casing and punctuation: a final often only adds the formatting.
_SAME_WORDS = NormalizedMatch()


class EarlyReply:
    """The early reply of one stop strategy's turns (at most one in flight).

    Args:
        strategy: The stop strategy that starts, confirms and withdraws the replies.
        enabled: Whether to start early replies at all (``TurnSettings.early_reply``).
        on_lost: Called when a confirmed early reply is withdrawn: the turn needs an answer.
    """

    def __init__(
        self,
        strategy: BaseUserTurnStopStrategy,
        *,
        enabled: bool,
        on_lost: Callable[[], Awaitable[None]],
    ) -> None:
        self._strategy = strategy
        self._enabled = enabled
        self._on_lost = on_lost
        self._pending: UserTurnSpeculation | None = None  # started, turn not ended yet
        self._confirmed = False  # the turn ended on it; the reply has not been heard yet

    def answers(self, text: str) -> bool:
        """Whether an early reply to exactly these words waits for the turn to end."""
        return self._pending is not None and _SAME_WORDS.matches(self._pending.text, text)

    async def words(self, text: str, *, complete: bool) -> None:
        """The turn's words changed: withdraw a reply to other words, maybe start one.

        Args:
            text: All the turn's words so far, with nothing still interim.
            complete: Whether those words read as a finished utterance.
        """
        if self._pending is not None and not _SAME_WORDS.matches(self._pending.text, text):
            await self.withdraw("the caller said more")
        if self._enabled and complete and self._pending is None and text.strip():
            self._pending = UserTurnSpeculation(text=text)
            logger.debug(f"{self._strategy}: early reply to {text!r}")
            await self._strategy.trigger_user_turn_inference_triggered(speculation=self._pending)

    async def withdraw(self, why: str) -> None:
        """Withdraw the reply in flight, if any (the turn is not over, or ended otherwise)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            logger.debug(f"{self._strategy}: early reply withdrawn ({why})")
            await self._strategy.trigger_user_turn_speculation_cancelled()

    async def end_turn(self, text: str) -> bool:
        """End the turn on ``text``: release the early reply if it answers exactly that.

        Returns:
            True when the early reply was kept (the turn is finalized without a new
            inference); False when the caller should be answered the usual way.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            return False
        if not _SAME_WORDS.matches(pending.text, text):
            logger.debug(f"{self._strategy}: early reply was to other words, withdrawn")
            await self._strategy.trigger_user_turn_speculation_cancelled()
            return False
        self._confirmed = True
        await self._strategy.trigger_user_turn_finalized(confirms_speculation=True)
        return True

    async def withdrawn_by_llm(self) -> None:
        """The LLM withdrew the early reply itself (an ``EagerEndOfTurnCancelFrame`` came back).

        Before the turn ended, the turn is simply answered the usual way when it ends. After
        the turn was confirmed on it, nothing else would answer: ask for a new inference.
        """
        if self._pending is not None:
            self._pending = None
            logger.debug(f"{self._strategy}: the LLM withdrew the early reply")
        elif self._confirmed:
            self._confirmed = False
            logger.debug(f"{self._strategy}: confirmed early reply withdrawn, answering again")
            await self._on_lost()

    def settled(self) -> None:
        """A confirmed reply can no longer be lost: the bot spoke, or a new turn began."""
        self._confirmed = False
