"""The words side of turn-taking: backchannels, stop words, unfinished endings."""

import pytest

from turntaking.lexicon import TextCue, interrupts, is_backchannel, text_cue

BACKCHANNELS = ["mm-hmm", "Mm-hmm.", "uh-huh", "Okay.", "yeah", "Right.", "I see.", "Sure.",
                "Got it.", "mhm", "okay okay", "yeah, got it", "oh I see"]


@pytest.mark.parametrize("text", BACKCHANNELS)
def test_acknowledgements_do_not_interrupt(text: str) -> None:
    assert is_backchannel(text)
    assert not interrupts(text)


@pytest.mark.parametrize(
    "text", ["wait", "Stop.", "no no", "Hold on.", "okay wait", "yeah but", "sorry",
             "What about Thursday?", "Actually, can we do Thursday instead?", "book it"]
)
def test_stop_words_and_real_words_interrupt(text: str) -> None:
    assert interrupts(text)


def test_three_yeahs_in_one_utterance_are_still_a_backchannel() -> None:
    assert is_backchannel("yeah yeah yeah")


def test_long_utterances_are_never_backchannels() -> None:
    assert not is_backchannel("okay okay okay okay okay")


def test_persona_extra_backchannels() -> None:
    assert interrupts("you bet")
    assert not interrupts("you bet", frozenset({"you bet"}))


def test_empty_words_neither_interrupt_nor_acknowledge() -> None:
    assert not interrupts("")
    assert not is_backchannel("")


@pytest.mark.parametrize(
    "text",
    ["I'd like to book an appointment for", "I want to come in on Monday and",
     "Can I bring my daughter with", "um", "I need an appointment because", "I would like",
     "Let me see, it's the", "so, um", "Wait", "Hold on"],
)
def test_dangling_endings_are_unfinished(text: str) -> None:
    assert text_cue(text) is TextCue.UNFINISHED


@pytest.mark.parametrize(
    "text",
    ["Thanks, that's all, goodbye.", "Okay, bye.", "What time do you open on Saturday?",
     "what time do you open on saturday", "Do you take new patients", "Yes please.",
     "No, that's everything, thank you.", "What are you waiting for?", "I think so."],
)
def test_questions_closings_and_short_answers_are_complete(text: str) -> None:
    assert text_cue(text) is TextCue.COMPLETE


@pytest.mark.parametrize(
    "text", ["I would like to book a cleaning for next Monday.", "My name is Sarah Johnson."]
)
def test_plain_statements_are_left_to_the_acoustic_model(text: str) -> None:
    assert text_cue(text) is TextCue.NEUTRAL


@pytest.mark.parametrize("partial", ["I", "got", "uh", "okay I", "mm"])
def test_an_interim_that_may_still_become_an_acknowledgement_waits(partial: str) -> None:
    assert not interrupts(partial, partial=True)


@pytest.mark.parametrize("partial", ["I want", "wait", "can", "okay but"])
def test_an_interim_with_real_words_interrupts_at_once(partial: str) -> None:
    assert interrupts(partial, partial=True)


def test_a_final_lone_i_is_a_real_word() -> None:
    assert interrupts("I")
