"""Assistant: a work assistant with webhook tools (email, knowledge base), n8n-style."""

from pipecat.runner.types import RunnerArguments

from assembly import Persona, TurnSettings, llm, run_bot, stt, tts
from tools.declared import WebhookTool

PERSONA = Persona(
    name="assistant",
    description="Work assistant with webhook tools (send an email, query a knowledge base), "
    "n8n-style",
    prompt=(
        "You are a concise work assistant on a voice call. Answer in one or two spoken "
        "sentences, without lists or markdown. Confirm details before acting. Use "
        "query_knowledge_base for questions about the company and send_email to send "
        "emails. If a tool reports an error, apologise briefly and carry on. When the user "
        "is done, say goodbye with the end_call tool."
    ),
    greeting="Hi, I'm your assistant. What can I do for you?",
    stt=stt("deepgram", model="nova-3-general"),
    llm=llm("groq", model="llama-3.3-70b-versatile", temperature=0.3),
    # Any OpenAI-compatible streaming TTS server works too: TTS_PROVIDER=openai_compatible.
    tts=tts("cartesia", voice="79a125e8-cd45-4c13-8a67-188112f4dd22"),
    tools=("end_call",),
    # n8n-style webhooks: each call is POSTed, signed with TOOL_WEBHOOK_SECRET, to its URL.
    webhook_tools=(
        WebhookTool(
            name="send_email",
            description="Send an email on the user's behalf.",
            parameters={
                "type": "object",
                "properties": {
                    "to": {"type": "string", "description": "Recipient email address."},
                    "subject": {"type": "string", "description": "Subject line."},
                    "body": {"type": "string", "description": "The message, plain text."},
                },
                "required": ["to", "subject", "body"],
            },
            url="$ASSISTANT_EMAIL_WEBHOOK_URL",
            secret="$TOOL_WEBHOOK_SECRET",
        ),
        WebhookTool(
            name="query_knowledge_base",
            description="Search the company knowledge base and return the relevant passages.",
            parameters={
                "type": "object",
                "properties": {"query": {"type": "string", "description": "What to look up."}},
                "required": ["query"],
            },
            url="$ASSISTANT_KB_WEBHOOK_URL",
            secret="$TOOL_WEBHOOK_SECRET",
        ),
    ),
    turns=TurnSettings(),
)


async def bot(runner_args: RunnerArguments) -> None:
    """Pipecat runner entry point."""
    await run_bot(PERSONA, runner_args)


if __name__ == "__main__":  # Pipecat's dev runner: python -m bots.<persona> -t webrtc
    from pipecat.runner.run import main

    main()
