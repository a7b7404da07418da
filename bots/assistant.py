"""Assistant: a work assistant with webhook tools (email, knowledge base), n8n-style."""

from pipecat.runner.types import RunnerArguments

from assembly import Persona, TurnSettings, llm, run_bot, stt, tts

PERSONA = Persona(
    name="assistant",
    description="Work assistant with webhook tools (send an email, query a knowledge base), "
    "n8n-style",
    prompt=(
        "You are a concise work assistant on a voice call. Answer in one or two spoken "
        "sentences, without lists or markdown. Confirm details before acting. When the user "
        "is done, say goodbye with the end_call tool."
    ),
    greeting="Hi, I'm your assistant. What can I do for you?",
    stt=stt("deepgram", model="nova-3-general"),
    llm=llm("groq", model="llama-3.3-70b-versatile", temperature=0.3),
    # Any OpenAI-compatible streaming TTS server works too: TTS_PROVIDER=openai_compatible.
    tts=tts("cartesia", voice="79a125e8-cd45-4c13-8a67-188112f4dd22"),
    tools=("end_call",),
    turns=TurnSettings(end_of_turn="silence", silence_secs=0.7),
)


async def bot(runner_args: RunnerArguments) -> None:
    """Pipecat runner entry point."""
    await run_bot(PERSONA, runner_args)


if __name__ == "__main__":  # Pipecat's dev runner: python -m bots.<persona> -t webrtc
    from pipecat.runner.run import main

    main()
