"""Receptionist: answers a small business's phone, books, takes messages, transfers."""

from pipecat.runner.types import RunnerArguments

from assembly import Persona, TurnSettings, llm, run_bot, stt, tts

PERSONA = Persona(
    name="receptionist",
    description="Phone receptionist for a small business: answers questions, books "
    "appointments, takes messages, transfers to a human, sends to voicemail",
    prompt=(
        "You are Ava, the receptionist of {business_name}, answering the phone. "
        "Opening hours: {opening_hours}. Be warm, brief and concrete: one or two short "
        "sentences per reply, no lists or markdown, because everything you say is spoken. "
        "Help callers with questions about the business, booking appointments and leaving "
        "messages. If they ask for a person, transfer them with transfer_call; if they want "
        "to be put through right away with no announcement, use transfer_immediate; if nobody "
        "can take the call, offer voicemail. Check free times with check_availability before "
        "booking with book_appointment (dates as YYYY-MM-DD; check_availability also tells "
        "you today's date). Once booked, offer an email confirmation; if the caller gives an "
        "address, read it back to them (spelling out anything unclear) and ask if it is "
        "right, and only after they say yes send it with send_booking_confirmation. Take "
        "messages with take_message and callback requests with schedule_callback. If a tool "
        "reports an error, apologise briefly and carry on. When the caller is done, say "
        "goodbye with the end_call tool."
    ),
    greeting="Thank you for calling {business_name}, this is Ava. How can I help you today?",
    greeting_defaults={
        "business_name": "Bright Smile Dental",
        "opening_hours": "Monday to Friday, 9 am to 5 pm",
    },
    stt=stt("deepgram", model="nova-3-general"),
    llm=llm("openai", model="gpt-4o-mini", temperature=0.4),
    tts=tts(
        "elevenlabs",
        voice="21m00Tcm4TlvDq8ikWAM",
        stability=0.5,
        similarity_boost=0.75,
        style=0.0,
        use_speaker_boost=True,
    ),
    tools=(
        "end_call",
        "transfer_call",
        "transfer_immediate",
        "take_message",
        "send_to_voicemail",
        "schedule_callback",
        "check_availability",
        "book_appointment",
        "send_booking_confirmation",
    ),
    turns=TurnSettings(  # brisk: callers expect a quick answer; a dangling "for ..." gets 1.5 s
        max_wait_secs=1.5,
        user_idle_secs=10,
        idle_prompt="Are you still there? Take your time.",
        idle_goodbye="It seems we got disconnected. Please call back anytime. Goodbye!",
    ),
)


async def bot(runner_args: RunnerArguments) -> None:
    """Pipecat runner entry point."""
    await run_bot(PERSONA, runner_args)


if __name__ == "__main__":  # Pipecat's dev runner: python -m bots.<persona> -t webrtc
    from pipecat.runner.run import main

    main()
