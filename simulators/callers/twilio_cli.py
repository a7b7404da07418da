r"""Command line for ``TwilioCaller``: call a running launcher by hand and print the measurements.

Examples:
    python -m simulators.callers.twilio --webhook http://127.0.0.1:7860/twilio/voice \\
        --auth-token "$TWILIO_AUTH_TOKEN" --say "I would like to book an appointment"
    python -m simulators.callers.twilio --ws ws://127.0.0.1:7860/ws --param persona=weather \\
        --say "what is the weather" --listen "hello|goodbye" --wav /tmp/bot.wav
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from simulators.callers.audio import write_wav
from simulators.callers.listen import PhraseListener
from simulators.callers.script import BargeIn, Say, Step, Wait, WaitForBotSilence
from simulators.callers.twilio import TwilioCaller


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the CLI."""
    p = argparse.ArgumentParser(prog="python -m simulators.callers.twilio", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--webhook", help="voice webhook URL (POSTed and signed like Twilio)")
    target.add_argument("--ws", help="Media Streams websocket URL (skip the webhook)")
    p.add_argument("--auth-token", help="signs the webhook (default $TWILIO_AUTH_TOKEN)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="custom stream parameter (repeatable)")
    p.add_argument("--from", dest="from_number", default="+15005550006")
    p.add_argument("--to", dest="to_number", default="+15005550001")
    p.add_argument("--say", action="append", default=[], help="a caller turn (repeatable)")
    p.add_argument("--barge-in", help="talk over the reply to the last --say (or the greeting)")
    p.add_argument("--greeting-timeout", type=float, default=10.0,
                   help="wait this long for a greeting first (0: do not wait)")
    p.add_argument("--reply-timeout", type=float, default=20.0)
    p.add_argument("--linger", type=float, default=1.0, help="silence before hanging up")
    p.add_argument("--listen", help="'|'-separated phrases to recognise in each bot utterance")
    p.add_argument("--wav", help="write the bot audio the caller heard to this WAV (8 kHz)")
    p.add_argument("--json", dest="json_out", help="write the full result JSON here")
    p.add_argument("--max-duration", type=float, default=120.0)
    return p


def build_script(args: argparse.Namespace) -> list[Step]:
    """Turn the CLI options into a caller script."""
    script: list[Step] = []
    if args.greeting_timeout > 0 and not (args.barge_in and not args.say):
        script.append(WaitForBotSilence(timeout=args.greeting_timeout))
    for text in args.say:
        script.append(Say(text))
        if text is not args.say[-1] or not args.barge_in:
            script.append(WaitForBotSilence(timeout=args.reply_timeout))
    if args.barge_in:  # talk over the reply to the last --say (or over the greeting)
        script += [BargeIn(args.barge_in, timeout=args.reply_timeout),
                   WaitForBotSilence(timeout=args.reply_timeout)]
    script.append(Wait(args.linger))
    return script


def main(argv: list[str] | None = None) -> int:
    """Run one call and print its summary as JSON; exit 1 if it never connected."""
    args = build_parser().parse_args(argv)
    params = dict(p.split("=", 1) for p in args.param)
    caller = TwilioCaller(
        args.ws, webhook_url=args.webhook, auth_token=args.auth_token, custom_parameters=params,
        from_number=args.from_number, to_number=args.to_number,
    )
    result = asyncio.run(caller.run(build_script(args), max_duration=args.max_duration))
    summary = result.to_dict()
    if args.listen:
        listener = PhraseListener(args.listen.split("|"))
        summary["heard"] = [listener.heard(u.pcm, result.sample_rate)
                            for u in result.bot_utterances]
    if args.wav:
        write_wav(args.wav, result.bot_audio, result.sample_rate)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result.to_dict(include_messages=True) | summary, f, indent=2)
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 0 if result.connected or result.rejected else 1


if __name__ == "__main__":
    sys.exit(main())
