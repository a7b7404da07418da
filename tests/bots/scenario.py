"""The conversation the end-to-end suites hold with a persona, on any transport."""

BOOKING = "I would like to book an appointment for tomorrow"
SERVICES_Q = "tell me about your services"
LONG_REPLY = (
    "We offer cleanings, fillings, crowns and whitening for the whole family. "
    "Our hygienists are gentle and our dentists have twenty years of experience. "
    "We also accept most insurance plans and offer payment plans for larger treatments."
)
STOP = "stop please"
GOODBYE_Q = "goodbye"
GOODBYE = "Thank you for calling, have a great day, goodbye"
GOODBYE_HEARD = "thank you for calling have a great day goodbye"  # as the listener spells it


def full_call_rules() -> list[dict]:
    """LLM double rules: a long reply to barge into, a short one after, end_call on goodbye."""
    return [
        {"match": "about your services", "reply": LONG_REPLY},
        {"match": "stop", "reply": "Of course."},  # "stop please", or "stop" heard alone
        {
            "match": GOODBYE_Q,
            "tool_calls": [{"name": "end_call", "arguments": {"goodbye": GOODBYE}}],
        },
    ]


def spoken_before_barge_in(llm_requests: list[dict]) -> str:
    """What the context kept of the reply the caller interrupted (asked with "stop please")."""
    request = next(r for r in llm_requests if STOP in str(r["messages"]).lower())
    return [m["content"] for m in request["messages"] if m["role"] == "assistant"][-1]


def user_texts(llm_requests: list[dict]) -> list[str]:
    """Every user message the LLM was sent, lower-cased."""
    return [
        str(m["content"]).lower()
        for r in llm_requests
        for m in r["messages"]
        if m["role"] == "user"
    ]
