"""The shared assembly: how any persona becomes a running Pipecat call.

Persona files import what they need from here: the ``Persona`` model, the ``stt``/``llm``/``tts``
helpers, ``TurnSettings`` and ``run_bot`` (Pipecat's ``bot(runner_args)`` contract).
"""

from assembly.persona import Persona, TurnSettings, llm, stt, tts
from assembly.run import run_bot

__all__ = ["Persona", "TurnSettings", "llm", "run_bot", "stt", "tts"]
