"""The end-of-turn decision: bounded waits, words first, smart-turn for neutral words."""

import pytest

from turntaking.decision import EndOfTurnPolicy, TurnSignals, decide

POLICY = EndOfTurnPolicy(
    max_wait_secs=1.5, hold_secs=0.8, veto_threshold=0.05, transcript_wait_secs=0.35
)


def verdict(silence: float, text: str, final: bool = True, p: float | None = None):
    return decide(TurnSignals(silence, text, final, p), POLICY)


def test_a_closing_is_answered_as_soon_as_its_final_is_in_whatever_smart_turn_says() -> None:
    v = verdict(0.2, "Thanks, that's all, goodbye.", p=0.03)
    assert v.answer and v.reason == "words"


def test_a_dangling_for_waits_until_the_cap_then_answers() -> None:
    waiting = verdict(1.0, "I'd like to book an appointment for", p=0.99)
    assert not waiting.answer and waiting.wait_until_secs == 1.5
    capped = verdict(1.5, "I'd like to book an appointment for", p=0.99)
    assert capped.answer and capped.reason == "cap"


def test_neutral_words_are_answered_unless_smart_turn_is_near_certain_they_are_unfinished(
) -> None:
    assert verdict(0.3, "My name is Sarah Johnson.", p=0.3).reason == "acoustic"
    held = verdict(0.3, "My name is Sarah Johnson.", p=0.01)
    assert not held.answer and held.wait_until_secs == 0.8
    assert verdict(0.8, "My name is Sarah Johnson.", p=0.01).reason == "hold"


def test_neutral_words_wait_for_the_model_but_not_for_long() -> None:
    assert verdict(0.3, "My name is Sarah Johnson.").reason == "wait_model"
    assert verdict(0.45, "My name is Sarah Johnson.").reason == "model_late"


def test_unconfirmed_words_wait_for_the_stt_p99_only() -> None:
    assert verdict(0.2, "Do you take new patients?", final=False).reason == "wait_final"
    assert verdict(0.35, "Do you take new patients?", final=False).answer


@pytest.mark.parametrize("silence", [0.0, 0.5, 1.49])
def test_no_words_yet_waits_for_them(silence: float) -> None:
    assert not verdict(silence, "").answer


def test_no_words_at_all_gives_up_at_the_cap() -> None:
    assert verdict(1.5, "").reason == "no_words"


def test_every_wait_is_bounded_by_the_cap() -> None:
    for text in ["", "um", "My name is", "Sure.", "I want to"]:
        for p in (None, 0.0, 1.0):
            assert verdict(POLICY.max_wait_secs, text, final=False, p=p).answer


def test_interim_words_alone_are_not_answered_only_finals_reach_the_llm() -> None:
    interim_only = decide(TurnSignals(0.4, "Okay, bye.", False, 0.9, has_final_words=False), POLICY)
    assert not interim_only.answer and interim_only.reason == "wait_words"
