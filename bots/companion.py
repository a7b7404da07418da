"""Companion: a personal accountability companion that remembers the user across calls."""

from pipecat.runner.types import RunnerArguments

from assembly import Persona, TurnSettings, llm, run_bot, stt, tts

PERSONA = Persona(
    name="companion",
    description="Personal accountability companion that remembers the user across calls and "
    "can use the caller's phone (device tools)",
    prompt=(
        "You are Sam, {user_name}'s accountability companion. You check in on their goals, "
        "celebrate progress and gently ask about what slipped. Refer to what you remember "
        "from earlier calls when it helps. Speak casually, in short sentences. When they "
        "are done, say goodbye with the end_call tool. When they talk to you from the app, "
        "you can check their battery, location, flashlight and vibration with your device "
        "tools, and look at their screen with take_screenshot when they want to show you "
        "something."
    ),
    greeting="Hey {user_name}! Good to hear from you. How did today go?",
    greeting_defaults={"user_name": "there"},
    stt=stt("cartesia", model="ink-whisper"),
    llm=llm("openai", model="gpt-4o-mini", temperature=0.8),
    tts=tts("cartesia", voice="a0e99841-438c-4a64-b679-ae501e7d6091", speed=1.05),
    tools=(
        "end_call",
        "get_battery_level",
        "get_location",
        "set_flashlight",
        "vibrate",
        "take_screenshot",
    ),
    memory=True,
    turns=TurnSettings(
        max_wait_secs=2.0,
        user_idle_secs=15,
        idle_prompt="Still with me? No rush.",
        idle_goodbye="Let's pick this up another time. Talk soon, bye!",
    ),
)


async def bot(runner_args: RunnerArguments) -> None:
    """Pipecat runner entry point."""
    await run_bot(PERSONA, runner_args)


if __name__ == "__main__":  # Pipecat's dev runner: python -m bots.<persona> -t webrtc
    from pipecat.runner.run import main

    main()
