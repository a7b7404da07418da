"""The steps of a simulated caller's script.

A script is a list of steps run in order while the media clock keeps ticking: the caller sends
one 20 ms frame every 20 ms for the whole call, speech when a step says so and silence otherwise.

Example:
    >>> script = [
    ...     WaitForBotSilence(timeout=10),             # let the greeting finish
    ...     Say("I would like to book an appointment"),
    ...     WaitForBotSilence(timeout=15),             # the bot's reply, fully played
    ...     BargeIn("stop", after_bot_audio_secs=1.0), # talk over the next reply
    ...     Wait(2.0),
    ...     HangUp(),
    ... ]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Wait:
    """Send silence for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Say:
    """Speak: ``speech`` is text (synthesised with espeak-ng) or int16 PCM at ``rate`` Hz.

    Leading and trailing silence is trimmed so the turn's start and end are the voice's.
    """

    speech: str | np.ndarray
    rate: int = 8000


@dataclass(frozen=True)
class WaitForBotSpeech:
    """Send silence until bot speech that began after the caller's last turn starts playing."""

    timeout: float = 15.0


@dataclass(frozen=True)
class WaitForBotSilence:
    """Send silence until the bot has been quiet for ``quiet`` seconds.

    With ``require_reply`` (the default), first wait for bot speech that began after the caller's
    last turn (or after call start), so the step waits for a reply rather than passing at once.
    A timeout is recorded in ``CallResult.errors`` and the script goes on.
    """

    timeout: float = 15.0
    quiet: float = 0.8
    require_reply: bool = True


@dataclass(frozen=True)
class BargeIn:
    """Speak over the bot once its current utterance has played for ``after_bot_audio_secs``.

    The utterance must have started after the caller's previous turn and still be playing. If
    that does not happen within ``timeout``, the caller speaks anyway and an error is recorded.
    """

    speech: str | np.ndarray
    after_bot_audio_secs: float = 1.0
    timeout: float = 15.0
    rate: int = 8000


@dataclass(frozen=True)
class SendDigits:
    """Press keys: one Twilio ``dtmf`` message per digit, ``gap`` seconds apart."""

    digits: str
    gap: float = 0.2


@dataclass(frozen=True)
class HangUp:
    """Send ``stop`` and close the websocket; any later steps are skipped."""


Step = Wait | Say | WaitForBotSpeech | WaitForBotSilence | BargeIn | SendDigits | HangUp
