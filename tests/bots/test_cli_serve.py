"""``python -m bots <persona> --transport twilio`` serves the launcher with that persona answering.

The command becomes ``server.py`` (it replaces its process rather than importing the launcher),
so a phone call to it that names no persona is answered by the persona on the command line.
"""

from __future__ import annotations

from simulators.callers.script import HangUp, WaitForBotSilence, WaitForBotSpeech
from tests.launcher.process import LauncherProcess


async def test_bots_cli_serves_the_launcher_with_its_persona_answering(doubles, twilio_caller):
    launcher = LauncherProcess(
        doubles.env(), command=("-m", "bots", "coach", "--transport", "twilio")
    ).start()
    try:
        assert launcher.get("/healthz").status_code == 200
        result = await twilio_caller(launcher).run(
            [WaitForBotSpeech(timeout=15), WaitForBotSilence(timeout=20), HangUp()]
        )
        assert result.errors == [], result.errors
        assert result.bot_utterances, "the caller heard no greeting"
        call = await launcher.last_call_over()
        assert call["persona"] == "coach"
    finally:
        launcher.stop()
