"""Coach: conversation practice; the scenario arrives as call metadata."""

from pipecat.runner.types import RunnerArguments

from assembly import Persona, TurnSettings, llm, run_bot, stt, tts

PERSONA = Persona(
    name="coach",
    description="Conversation-practice coach; the scenario (whom to play, the learner's goal) "
    "arrives as call metadata",
    prompt=(
        "You are a conversation-practice partner. Play {role} in this scenario: {scenario}. "
        "The learner's goal: {goal}. Stay in character, keep replies short and natural, and "
        "let the learner lead. If the learner says 'pause coaching', step out of character "
        "and give one concrete tip, then resume. When the learner wants to stop, give two "
        "sentences of feedback and end the call with the end_call tool."
    ),
    greeting="Hi! Let's practise. I'll play {role}. Whenever you're ready, go ahead.",
    greeting_defaults={
        "role": "a friendly colleague",
        "scenario": "a casual chat at the coffee machine",
        "goal": "practise small talk",
    },
    stt=stt("groq", model="whisper-large-v3-turbo"),
    llm=llm("groq", model="llama-3.3-70b-versatile", temperature=0.7),
    tts=tts("elevenlabs", voice="pNInz6obpgDQGcFmaJgB", stability=0.4, similarity_boost=0.8),
    tools=("end_call",),
    turns=TurnSettings(  # patient: learners pause mid-sentence to find words
        max_wait_secs=2.5,
        hold_secs=1.2,
        interrupt_after_secs=1.2,
    ),
    analysis_fields={
        "feedback": "two or three sentences of concrete feedback for the learner",
    },
    metadata_schema={
        "role": "whom the coach plays",
        "scenario": "the situation to practise",
        "goal": "what the learner wants to get better at",
    },
)


async def bot(runner_args: RunnerArguments) -> None:
    """Pipecat runner entry point."""
    await run_bot(PERSONA, runner_args)


if __name__ == "__main__":  # Pipecat's dev runner: python -m bots.<persona> -t webrtc
    from pipecat.runner.run import main

    main()
