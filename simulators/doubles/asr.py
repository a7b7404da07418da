"""Speech recognition for the STT doubles: pocketsphinx with a JSGF grammar of phrases."""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from loguru import logger
from pocketsphinx import Decoder

from simulators.doubles.audio import resample
from simulators.doubles.config import DEFAULT_PHRASES

ASR_RATE = 16000
DITHER = 16
_FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}


@dataclass(frozen=True)
class Hypothesis:
    """A decoded utterance.

    Attributes:
        text: Lowercase words, space separated ("" when nothing in grammar was heard); in
            text-exact mode the registered text, already cased and punctuated.
        words: ``(word, start_s, end_s)`` relative to the decoded audio (``word`` lowercase,
            without punctuation).
        confidence: A 0..1 score.
        punctuated: Whether ``text`` and ``shown`` are final (text-exact mode): renderers
            send them unchanged instead of calling :func:`punctuate`.
        shown: With ``punctuated``, each word as written (``"Saturday?"``).
    """

    text: str
    words: tuple[tuple[str, float, float], ...]
    confidence: float
    punctuated: bool = False
    shown: tuple[str, ...] = ()


def normalize(phrase: str) -> str:
    """Lowercase a phrase and drop punctuation, keeping apostrophes."""
    return " ".join(re.sub(r"[^a-z' ]+", " ", phrase.lower()).split())


def punctuate(text: str) -> str:
    """Render a lowercase hypothesis the way punctuating ASR services do."""
    if not text:
        return ""
    words = ["I" if w == "i" else "I'" + w[2:] if w.startswith("i'") else w for w in text.split()]
    out = " ".join(words)
    return out[0].upper() + out[1:] + "."


def display_text(hyp: Hypothesis) -> str:
    """The transcript a punctuating service sends: registered text as is, else punctuated."""
    return hyp.text if hyp.punctuated else punctuate(hyp.text)


def shown_words(hyp: Hypothesis) -> list[str]:
    """Each word as a punctuating service writes it (``punctuated_word``)."""
    if hyp.punctuated and len(hyp.shown) == len(hyp.words):
        return list(hyp.shown)
    shown = display_text(hyp).split()
    return [shown[i] if i < len(shown) else w for i, (w, _, _) in enumerate(hyp.words)]


class Recognizer:
    """Grammar-constrained pocketsphinx decoding on worker threads.

    Each worker thread owns its own decoder (they are not thread-safe) and reloads
    the grammar when the phrase list changes.
    """

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asr")
        self._local = threading.local()
        self._phrases: list[str] = []
        self._version = 0
        self._vocab_decoder: Decoder | None = None
        self._lock = threading.Lock()
        self.set_phrases(DEFAULT_PHRASES)

    @property
    def phrases(self) -> list[str]:
        """The phrases currently in the grammar."""
        return list(self._phrases)

    def set_phrases(self, phrases: list[str]) -> tuple[list[str], list[str]]:
        """Replace the grammar's phrases, dropping those with out-of-dictionary words.

        Args:
            phrases: Phrases to recognise.

        Returns:
            ``(accepted, rejected)`` normalized phrases.
        """
        with self._lock:
            if self._vocab_decoder is None:
                self._vocab_decoder = Decoder(loglevel="FATAL")
            accepted, rejected = [], []
            for phrase in phrases:
                norm = normalize(phrase)
                ok = bool(norm) and all(self._vocab_decoder.lookup_word(w) for w in norm.split())
                (accepted if ok else rejected).append(norm or phrase)
            if rejected:
                logger.warning(f"asr: phrases with unknown words dropped: {rejected}")
            self._phrases = list(dict.fromkeys(accepted))
            self._version += 1
        return self._phrases, rejected

    def _grammar(self) -> str:
        alts = " | ".join(f"( {p} )" for p in self._phrases) or "( hello )"
        return f"#JSGF V1.0;\ngrammar doubles;\npublic <utt> = {alts};\n"

    def _decoder(self, kind: str, fresh: bool = False) -> Decoder:
        """This thread's decoder for ``kind`` (``partial`` or ``final``).

        Partial and final decodes use separate decoders: a decoder's feature normalisation
        adapts to what it last heard, and a stream of half-utterance partials left it unable
        to match whole phrases. ``fresh`` replaces the decoder (a retry after a miss).
        """
        local = self._local
        decoders = getattr(local, "decoders", None)
        if decoders is None:
            decoders = local.decoders = {}
        entry = decoders.get(kind)
        if entry is None or fresh:
            entry = decoders[kind] = [Decoder(loglevel="FATAL"), -1]
        if entry[1] != self._version:
            with self._lock:
                name = f"g{self._version}"
                entry[0].add_jsgf_string(name, self._grammar())
                entry[0].activate_search(name)
                entry[1] = self._version
        return entry[0]

    def _decode(self, pcm: np.ndarray, rate: int, final: bool) -> Hypothesis:
        hyp = self._decode_once(pcm, rate, final, fresh=False)
        if final and not hyp.text:
            # One retry on a fresh decoder: a miss can be adaptation left by earlier audio.
            hyp = self._decode_once(pcm, rate, final, fresh=True)
        return hyp

    def _decode_once(self, pcm: np.ndarray, rate: int, final: bool, fresh: bool) -> Hypothesis:
        audio = resample(pcm, rate, ASR_RATE)
        # A faint noise floor: digital silence upsets the decoder's feature normalization.
        noise = np.random.default_rng(len(audio)).integers(-DITHER, DITHER + 1, len(audio))
        audio = np.clip(audio.astype(np.int32) + noise, -32768, 32767).astype(np.int16)
        dec = self._decoder("final" if final else "partial", fresh=fresh)
        dec.start_utt()
        dec.process_raw(audio.astype("<i2").tobytes(), full_utt=final)
        if not final:
            # A partial result is read mid-utterance: the grammar's end isn't reached yet.
            hyp = dec.hyp()
            segs = list(dec.seg()) if hyp is not None else []
            dec.end_utt()
        else:
            dec.end_utt()
            hyp = dec.hyp()
            segs = list(dec.seg()) if hyp is not None else []
        if hyp is None or not hyp.hypstr:
            return Hypothesis("", (), 0.0)
        words = []
        for seg in segs:
            if seg.word in _FILLERS or seg.word.startswith(("(", "[", "<")):
                continue
            word = re.sub(r"\(\d+\)$", "", seg.word)
            words.append((word, seg.start_frame / 100.0, (seg.end_frame + 1) / 100.0))
        confidence = float(min(0.999, max(0.5, np.exp(hyp.prob / 1000.0)))) if hyp.prob else 0.98
        text = " ".join(w for w, _, _ in words)
        if final and text not in self._phrases:
            # The search stopped inside the grammar: no phrase was recognised.
            return Hypothesis("", (), 0.0)
        return Hypothesis(text, tuple(words), confidence)

    async def decode(self, pcm: np.ndarray, rate: int, final: bool = True) -> Hypothesis:
        """Decode speech without blocking the event loop.

        Args:
            pcm: Mono int16 samples.
            rate: Their sample rate (upsampled to 16 kHz for the model).
            final: Whether this is the whole utterance (vs. a partial for an interim).

        Returns:
            The hypothesis.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._decode, pcm, rate, final)

    def warm_up(self) -> None:
        """Load one decoder now so the first call isn't slow."""
        self._pool.submit(self._decode, np.zeros(1600, dtype=np.int16), ASR_RATE, True).result()
