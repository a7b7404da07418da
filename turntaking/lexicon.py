"""What the caller's words say about turn-taking: backchannels, stop words, unfinished endings.

Pure functions over transcript text, used by the barge-in and end-of-turn decisions. English
only; the word lists are data a persona can extend (``TurnSettings.extra_backchannels``).
"""

from __future__ import annotations

import re
from enum import StrEnum

# Acknowledgements that keep the bot talking. Multi-word entries are matched as phrases.
BACKCHANNELS: frozenset[str] = frozenset(
    {
        "mm hmm", "mhm", "mm", "mmm", "hmm", "uh huh", "uh-huh", "mm-hmm", "okay", "ok", "k",
        "yeah", "yep", "yup", "yes", "yeah yeah", "right", "i see", "sure", "got it", "alright",
        "all right", "cool", "great", "good", "nice", "fine", "exactly", "true", "oh", "ah",
        "aha", "uh", "um", "of course", "sounds good", "makes sense", "i know", "indeed",
        "perfect", "wow", "really", "gotcha", "understood", "sure thing", "totally",
        "absolutely", "definitely", "oh okay", "oh i see", "that's right", "that's true",
    }
)

# Words that always mean "stop talking", even said once while the bot speaks.
STOP_WORDS: frozenset[str] = frozenset(
    {
        "wait", "stop", "no", "nope", "hold on", "hang on", "excuse me", "sorry", "actually",
        "pause", "one second", "one sec", "just a second", "just a moment", "hey", "listen",
        "but", "shut up", "enough", "cancel",
    }
)

# A turn ending on one of these is almost never finished ("... an appointment for").
_DANGLING: frozenset[str] = frozenset(
    {
        # conjunctions and subordinators
        "and", "but", "or", "so", "because", "cause", "cuz", "if", "when", "while", "although",
        "though", "unless", "whether", "than", "which", "whose", "where",
        # prepositions that need an object
        "for", "with", "at", "to", "from", "of", "about", "by", "into", "onto", "after",
        "before", "until", "till", "between", "without", "through", "towards", "toward",
        "during", "regarding", "like", "per", "via", "including",
        # determiners and possessives
        "the", "a", "an", "my", "your", "his", "her", "our", "their", "its", "this", "these",
        "those", "some", "any", "every", "each", "another",
        # fillers and hesitations
        "um", "uh", "er", "erm", "uhm", "umm", "uhh", "hmm", "mmm",
        # verbs of intent left hanging
        "wanna", "gonna", "gotta",
    }
)
# Multi-word endings that leave the sentence open.
_DANGLING_ENDINGS: tuple[tuple[str, ...], ...] = (
    ("i", "mean"),
    ("you", "know"),
    ("i", "think"),
    ("i", "want"),
    ("i", "need"),
    ("i'd", "like"),
    ("i", "would", "like"),
    ("let", "me"),
    ("is", "it"),
    ("can", "you"),
    ("could", "you"),
    ("would", "you"),
)
# Endings that look dangling but close the sentence ("I think so").
_SETTLED_ENDINGS: tuple[tuple[str, ...], ...] = (
    ("think", "so"),
    ("hope", "so"),
    ("guess", "so"),
    ("believe", "so"),
    ("and", "so", "on"),
)
# Words after which the caller will say more: "wait, ..." / "hold on, ...".
_LEAD_INS: frozenset[str] = frozenset(
    {"wait", "hold on", "hang on", "one second", "one sec", "actually", "so", "well", "listen"}
)

_CLOSINGS: tuple[str, ...] = (
    "goodbye", "good bye", "bye", "bye bye", "thank you", "thanks", "that's all",
    "that is all", "that's it", "that's everything", "have a good day", "have a nice day",
    "see you", "take care", "talk to you later", "that will be all", "nothing else",
)
_SHORT_ANSWERS: frozenset[str] = frozenset(
    {
        "yes", "no", "yeah", "yep", "nope", "okay", "ok", "sure", "right", "correct",
        "exactly", "please", "yes please", "no thanks", "no thank you", "not really",
        "of course", "definitely", "absolutely", "perfect", "great", "fine", "sounds good",
        "that works", "that's fine", "that's right", "that's correct", "i think so",
        "i guess so", "i hope so", "i don't know", "not sure",
    }
)
_QUESTION_STARTS: frozenset[str] = frozenset(
    {
        "what", "when", "where", "who", "whom", "why", "how", "which", "can", "could",
        "would", "will", "do", "does", "did", "is", "are", "was", "were", "should", "may",
        "have", "has", "shall", "am", "what's", "where's", "when's", "who's", "how's",
    }
)

_WORD = re.compile(r"[a-z0-9']+(?:-[a-z0-9']+)*")


class TextCue(StrEnum):
    """What the words of a finished-looking stretch of speech suggest."""

    COMPLETE = "complete"  # a question, a closing, a short answer: answer now
    UNFINISHED = "unfinished"  # ends on "for", "and", "um", "wait": more is coming
    NEUTRAL = "neutral"  # the words alone cannot tell; ask the acoustic model


def words(text: str) -> list[str]:
    """Lowercase words of a transcript, punctuation dropped ("Mm-hmm." -> ["mm-hmm"])."""
    return _WORD.findall(text.lower().replace("’", "'"))


def _phrases(tokens: list[str], vocabulary: frozenset[str]) -> list[str] | None:
    """Split ``tokens`` into phrases of ``vocabulary`` (longest first), or None if impossible."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in (3, 2, 1):
            phrase = " ".join(tokens[i : i + size])
            if size <= len(tokens) - i and phrase in vocabulary:
                out.append(phrase)
                i += size
                break
        else:
            return None
    return out


def is_backchannel(
    text: str, extra: frozenset[str] = frozenset(), max_words: int = 4
) -> bool:
    """Whether ``text`` is only acknowledgements ("mm-hmm", "okay, got it"), no real content.

    Args:
        text: One caller utterance (its own words, not the whole bot turn's).
        extra: More backchannel phrases (lowercase) a persona accepts.
        max_words: Longer utterances are never backchannels.

    Returns:
        True for a non-empty utterance made only of backchannel phrases and no stop word.
    """
    tokens = [t.replace("-", " ") for t in words(text)]
    tokens = " ".join(tokens).split()
    if not tokens or len(tokens) > max_words:
        return False
    if has_stop_word(text):
        return False
    return _phrases(tokens, BACKCHANNELS | extra) is not None


def has_stop_word(text: str) -> bool:
    """Whether the caller said an explicit "wait", "stop", "no", "hold on" ..."""
    tokens = words(text)
    joined = f" {' '.join(tokens)} "
    return any(f" {w} " in joined for w in STOP_WORDS)


def interrupts(
    text: str, extra: frozenset[str] = frozenset(), max_words: int = 4, partial: bool = False
) -> bool:
    """Whether words heard while the bot speaks make a real interruption.

    Any stop word, or any word that is not an acknowledgement, interrupts. A partial (interim)
    transcript that so far holds only acknowledgements does not, nor does one whose last word
    may still become one ("I" of "I see", "got" of "got it").

    Args:
        text: The caller's words in this utterance so far.
        extra: More backchannel phrases (lowercase).
        max_words: Longer utterances are never acknowledgements.
        partial: ``text`` is an interim transcript: more words may follow.
    """
    tokens = words(text)
    if not tokens:
        return False
    if not is_backchannel(text, extra, max_words):
        if not partial or has_stop_word(text) or len(tokens) > max_words:
            return True
        head = " ".join(tokens[:-1])
        return not (_starts_backchannel(tokens[-1], extra) and (
            not head or is_backchannel(head, extra, max_words)))
    return False


def _starts_backchannel(word: str, extra: frozenset[str]) -> bool:
    """Whether ``word`` is the first word of a multi-word acknowledgement."""
    return any(p.split()[0] == word for p in BACKCHANNELS | extra if " " in p)


def _ends_with(tokens: list[str], endings: tuple[tuple[str, ...], ...]) -> bool:
    return any(tuple(tokens[-len(e) :]) == e for e in endings if len(tokens) >= len(e))


def text_cue(text: str) -> TextCue:
    """What the words say about whether the caller finished.

    Args:
        text: Everything the caller said in this turn so far (finals, then the latest interim).

    Returns:
        ``UNFINISHED`` for a dangling ending (conjunction, preposition, article, filler, "I'd
        like", a lone "wait"); ``COMPLETE`` for a question mark, a question word at the start,
        a closing ("thanks, goodbye") or a short answer; otherwise ``NEUTRAL``.
    """
    tokens = words(text)
    if not tokens:
        return TextCue.NEUTRAL
    joined = " ".join(tokens)
    if text.rstrip().endswith("?"):
        return TextCue.COMPLETE
    dangling = tokens[-1] in _DANGLING and not _ends_with(tokens, _SETTLED_ENDINGS)
    if dangling or _ends_with(tokens, _DANGLING_ENDINGS) or joined in _LEAD_INS:
        return TextCue.UNFINISHED
    if joined in _SHORT_ANSWERS or is_backchannel(text):
        return TextCue.COMPLETE
    if any(joined.endswith(c) for c in _CLOSINGS):
        return TextCue.COMPLETE
    if tokens[0] in _QUESTION_STARTS and len(tokens) >= 3:
        return TextCue.COMPLETE
    return TextCue.NEUTRAL
