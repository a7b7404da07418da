"""Caller voices for the turn-taking benchmark: several synthetic voices, deterministic, cached.

Nine voices (:data:`VOICES`): six espeak-ng variants (accents, a female variant, a slow low one)
and three Festival voices (diphone ``kal`` and ``ked``, HTS ``slt``; phrase breaks at punctuation
only, so no unplanned mid-sentence pauses). Output: mono int16 at ``rate`` (8 kHz), leading and
trailing silence trimmed, speech RMS :data:`TARGET_RMS`, peak at most :data:`PEAK_LIMIT`. Audio
the engine clipped or built from missing diphones raises :class:`SynthesisError`.

:func:`synthesize` takes text or SSML whose only tag is ``<break time="..."/>``: espeak-ng renders
it itself; Festival synthesises the whole sentence without it and splices the silence in at the
token boundary from its segment timings, so the first part keeps the continuing intonation.
:func:`synthesize_with_pause` then sets that silence to exactly ``pause_secs`` as measured by
:func:`silences` (centred 10 ms RMS below 1 % of the clip's peak).

Clips are cached under ``$SWITCHBOARD_TEST_AUDIO_CACHE`` (default ``<repo>/.cache/test-audio``)
in ``voices/``, keyed on voice, text, rate and :data:`VERSION`; failures are cached as ``.err``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, unescape

import numpy as np
import soxr
from loguru import logger

from simulators.callers.audio import cache_dir, read_wav, write_wav

VERSION = "2"  # bump to invalidate every cached voice clip
TARGET_RMS = 3000.0  # RMS of the speech samples (int16)
PEAK_LIMIT = 28000  # the level is lowered rather than let a peak go above this
SILENCE_RATIO = 0.01  # silence: centred 10 ms RMS below 1 % of the clip's peak
WINDOW_MS = 10.0
MAX_NATURAL_GAP_SECS = 0.2  # natural pauses (commas) are shortened to this
CAP_RMS = 500.0  # strict silence level for cap_gaps (~ a 20 ms mean |x| of 400)
_PAUSE_PROBE_SECS = 1.0  # break length synthesised before the pause is set exactly
_FADE_MS = 5.0  # fade at Festival cut points (no clicks)
_BREAK_RE = re.compile(r"<break\s+time\s*=\s*\"([0-9.]+)(ms|s)\"\s*/>")


class SynthesisError(RuntimeError):
    """The engine produced unusable audio (clipped, missing units); the reason is the message."""


@dataclass(frozen=True)
class Voice:
    """One caller voice.

    Attributes:
        name: Registry key, e.g. ``"espeak-en-us"``.
        engine: ``"espeak"`` or ``"festival"``.
        ident: espeak-ng voice (``-v``) or Festival voice function (without parentheses).
        gender: ``"m"`` or ``"f"``.
        speed: espeak-ng words per minute (``-s``); unused for Festival.
        pitch: espeak-ng pitch 0-99 (``-p``); unused for Festival.
        package: Debian package that provides the voice.
    """

    name: str
    engine: str
    ident: str
    gender: str
    speed: int = 160
    pitch: int = 50
    package: str = "espeak-ng"


VOICES: dict[str, Voice] = {
    v.name: v
    for v in (
        Voice("espeak-en-us", "espeak", "en-us", "m"),
        Voice("espeak-en-us-f3", "espeak", "en-us+f3", "f"),
        Voice("espeak-en-gb", "espeak", "en-gb", "m"),
        Voice("espeak-en-gb-scotland", "espeak", "en-gb-scotland", "m"),
        Voice("espeak-en-029", "espeak", "en-029", "m"),
        Voice("espeak-en-us-slow-low", "espeak", "en-us+m3", "m", speed=125, pitch=25),
        Voice("festival-kal", "festival", "voice_kal_diphone", "m", package="festvox-kallpc16k"),
        Voice("festival-ked", "festival", "voice_ked_diphone", "m", package="festvox-kdlpc16k"),
        Voice("festival-slt-hts", "festival", "voice_cmu_us_slt_arctic_hts", "f",
              package="festvox-us-slt-hts"),
    )
}
"""All caller voices, by name (``festival-ked`` is Debian's ``festvox-kdlpc16k``)."""


def get_voice(voice: str | Voice) -> Voice:
    """Return the :class:`Voice` for a registry name (or the voice itself)."""
    if isinstance(voice, Voice) or voice in VOICES:
        return voice if isinstance(voice, Voice) else VOICES[voice]
    raise ValueError(f"unknown voice {voice!r}; known: {', '.join(VOICES)}")


def _require(tool: str, package: str) -> str:
    if (exe := shutil.which(tool)) is None:
        raise RuntimeError(f"{tool} is not installed (apt-get install {package})")
    return exe



def moving_rms(pcm: np.ndarray, rate: int, window_ms: float = WINDOW_MS) -> np.ndarray:
    """RMS of a centred ``window_ms`` window around every sample (shift-invariant)."""
    x = np.asarray(pcm, dtype=np.float64)
    n = max(1, int(round(rate * window_ms / 1000)))
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    idx = np.arange(len(x))
    lo = np.clip(idx - n // 2, 0, len(x))
    hi = np.clip(idx - n // 2 + n, 0, len(x))
    return np.sqrt((csum[hi] - csum[lo]) / n)


def silence_threshold(pcm: np.ndarray, ratio: float = SILENCE_RATIO) -> float:
    """The silence level of a clip: ``ratio`` of its peak absolute sample."""
    return ratio * float(np.max(np.abs(np.asarray(pcm, dtype=np.float64)))) if len(pcm) else 0.0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` runs of True in a boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


def silences(pcm: np.ndarray, rate: int, threshold: float | None = None,
             min_secs: float = 0.0) -> list[tuple[int, int]]:
    """Internal silences at least ``min_secs`` long, as ``[start, end)`` sample ranges.

    Silent: centred 10 ms RMS below ``threshold`` (default 1 % of the clip's peak).
    """
    thr = silence_threshold(pcm) if threshold is None else threshold
    runs = _runs(moving_rms(pcm, rate) < thr)
    return [(a, b) for a, b in runs
            if a > 0 and b < len(pcm) and (b - a) >= min_secs * rate]


def speech_runs(pcm: np.ndarray, rate: int, min_gap_secs: float = 0.25,
                threshold: float | None = None) -> list[tuple[int, int]]:
    """Speech runs separated by silences of at least ``min_gap_secs`` (``[start, end)``)."""
    thr = silence_threshold(pcm) if threshold is None else threshold
    voiced = _runs(moving_rms(pcm, rate) >= thr)
    merged: list[tuple[int, int]] = []
    for a, b in voiced:
        if merged and a - merged[-1][1] < min_gap_secs * rate:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged



def _finish(audio: np.ndarray, from_rate: int, rate: int) -> np.ndarray:
    """Resample float audio, trim leading/trailing silence and set the level; int16 out."""
    x = np.asarray(audio, dtype=np.float64)
    if from_rate != rate:
        x = soxr.resample(x, from_rate, rate, quality="HQ")
    if not np.any(x):
        return np.zeros(0, dtype=np.int16)
    level = moving_rms(x, rate)
    voiced = np.flatnonzero(level >= silence_threshold(x))
    x = x[voiced[0] : voiced[-1] + 1]
    speech = x[level[voiced[0] : voiced[-1] + 1] >= silence_threshold(x)]
    gain = TARGET_RMS / float(np.sqrt(np.mean(speech * speech)))
    gain = min(gain, PEAK_LIMIT / float(np.max(np.abs(x))))
    return np.clip(np.round(x * gain), -32768, 32767).astype(np.int16)


def _fade(x: np.ndarray, rate: int, head: bool) -> np.ndarray:
    """``x`` faded out at its end, and in at its start if ``head`` (no clicks at cut points)."""
    ramp = np.minimum(1.0, np.arange(1, len(x) + 1) / (rate * _FADE_MS / 1000))
    return x * ramp[::-1] * (ramp if head else 1.0)



def _parse_ssml(text: str) -> list[tuple[str, float]]:
    """Split ``<speak>`` SSML into ``(text, break_secs_after)`` pieces (only breaks allowed)."""
    body = re.sub(r"^\s*<speak[^>]*>|</speak>\s*$", "", text)
    pieces: list[tuple[str, float]] = []
    pos = 0
    for m in _BREAK_RE.finditer(body):
        secs = float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
        pieces.append((body[pos : m.start()], secs))
        pos = m.end()
    pieces.append((body[pos:], 0.0))
    if any("<" in p or ">" in p for p, _ in pieces):
        raise ValueError(f"only <break time=.../> is supported in SSML: {text!r}")
    return [(unescape(p, {"&apos;": "'", "&quot;": '"'}).strip(), s) for p, s in pieces]


def _espeak(text: str, v: Voice, tmp: Path) -> tuple[np.ndarray, int]:
    out, ssml = tmp / "espeak.wav", ["-m"] if text.lstrip().startswith("<speak") else []
    subprocess.run([_require("espeak-ng", v.package), "-v", v.ident, "-s", str(v.speed), "-p",
                    str(v.pitch), "-w", str(out), *ssml, text], check=True, capture_output=True)
    pcm, rate = read_wav(out)
    return pcm.astype(np.float64), rate


_FESTIVAL_SCRIPT = """({voice})
(Parameter.set 'Phrase_Method 'cart_tree)
(set! phrase_cart_tree simple_phrase_cart_tree)
(lex.add.entry '("mmhum" nil (((m) 0) ((hh ah m) 1))))
(set! utt (utt.synth (Utterance Text "{text}")))
(utt.save.wave utt "{wav}" 'riff)
(define (sb_walk tok i)
  (if tok
    (begin
      (mapcar (lambda (w)
                (if (item.relation w 'SylStructure)
                  (format t "W\\t%d\\t%s\\t%s\\n" i
                    (item.feat w "R:SylStructure.daughter1.daughter1.segment_start")
                    (item.feat w "R:SylStructure.daughtern.daughtern.end"))))
              (item.daughters tok))
      (sb_walk (item.next tok) (+ i 1)))))
(sb_walk (utt.relation.first utt 'Token) 0)
"""


def _festival(pieces: list[tuple[str, float]], v: Voice, tmp: Path) -> tuple[np.ndarray, int]:
    """Synthesise the joined pieces once; splice in each break at its token boundary."""
    exe = _require("festival", v.package)
    text = " ".join(p for p, _ in pieces if p)
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    wav, script = tmp / "festival.wav", tmp / "synth.scm"
    script.write_text(_FESTIVAL_SCRIPT.format(voice=v.ident, text=quoted, wav=wav))
    proc = subprocess.run([exe, "-b", str(script)], check=True, capture_output=True, text=True)
    if missing := sorted(set(re.findall(r"default diphone \S+ for (\S+)",
                                        proc.stdout + proc.stderr))):
        raise SynthesisError(f"{v.name} lacks diphone(s) {', '.join(missing)}")
    pcm, rate = read_wav(wav)
    audio = pcm.astype(np.float64)
    if all(secs <= 0 for _, secs in pieces[:-1]):
        return audio, rate
    starts: dict[int, float] = {}  # token index -> its first word's start, last word's end
    ends: dict[int, float] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("W\t"):
            _, tok, start, end = line.split("\t")
            starts.setdefault(int(tok), float(start))
            ends[int(tok)] = float(end)
    n_tokens = len(text.split())
    if sorted(starts) != list(range(n_tokens)):
        raise RuntimeError(f"festival tokenised {text!r} into tokens {sorted(starts)}, "
                           f"expected {n_tokens}")
    parts: list[np.ndarray] = []
    cut, done = 0, 0
    for piece, secs in pieces[:-1]:
        done += len(piece.split())
        if secs > 0 and 0 < done < n_tokens:
            end = int(round(ends[done - 1] * rate))
            parts += [_fade(audio[cut:end], rate, cut > 0), np.zeros(int(secs * rate))]
            cut = int(round(starts[done] * rate))
    return np.concatenate([*parts, _fade(audio[cut:], rate, cut > 0)]), rate


def _render(text_or_ssml: str, v: Voice, rate: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmpdir:
        if v.engine == "espeak":
            audio, from_rate = _espeak(text_or_ssml, v, Path(tmpdir))
        else:
            ssml = text_or_ssml.lstrip().startswith("<speak")
            pieces = _parse_ssml(text_or_ssml) if ssml else [(text_or_ssml, 0.0)]
            audio, from_rate = _festival(pieces, v, Path(tmpdir))
    if (clipped := int(np.sum(np.abs(audio) >= 32767))) > 1:
        raise SynthesisError(f"{v.name} clipped {clipped} samples")
    return _finish(audio, from_rate, rate)


def _cached(key_text: str, make: Callable[[], np.ndarray], rate: int) -> np.ndarray:
    key = hashlib.sha1(f"{VERSION}|{key_text}|{rate}".encode()).hexdigest()[:24]
    folder = cache_dir() / "voices"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.wav"
    failed = path.with_suffix(".err")
    if path.exists():
        pcm, file_rate = read_wav(path)
        assert file_rate == rate
        return pcm
    if failed.exists():
        raise SynthesisError(failed.read_text())
    try:
        pcm = make()
    except SynthesisError as e:
        failed.write_text(str(e))  # deterministic: no point in trying again
        raise
    fd, tmp_name = tempfile.mkstemp(dir=folder, suffix=".wav")
    os.close(fd)
    write_wav(tmp_name, pcm, rate)
    os.replace(tmp_name, path)  # atomic, safe with parallel workers
    logger.debug(f"synthesised {key_text!r} -> {path.name}")
    return pcm


def synthesize(text_or_ssml: str, voice: str | Voice, rate: int = 8000) -> np.ndarray:
    """Speak plain text, or ``<speak>`` SSML whose only tag is ``<break time="..."/>``.

    Args:
        text_or_ssml: What to say.
        voice: A :data:`VOICES` name or a :class:`Voice`.
        rate: Output sample rate in Hz.

    Returns:
        Mono int16 PCM at ``rate``, trimmed, speech RMS ~ :data:`TARGET_RMS` (peak-limited).
    """
    v = get_voice(voice)
    return _cached(f"{v!r}|{text_or_ssml}", lambda: _render(text_or_ssml, v, rate), rate)


def cap_gaps(pcm: np.ndarray, rate: int, max_secs: float = MAX_NATURAL_GAP_SECS,
             keep: tuple[int, int] | None = None) -> np.ndarray:
    """Shorten internal silences to at most ``max_secs``, wherever the audio is near-silent.

    A silence is measured strictly (RMS below ``max(500, 2 % of peak)``, so every laxer
    definition finds it no longer); only samples that are silent by the default 1 % measure are
    removed, from the middle of the quiet stretch. The silence overlapping ``keep`` (the pause
    of a pause clip) is left alone.
    """
    strict = max(CAP_RMS, 2 * silence_threshold(pcm))
    quiet = moving_rms(pcm, rate) < silence_threshold(pcm)
    cuts: list[tuple[int, int]] = []
    for a, b in silences(pcm, rate, threshold=strict, min_secs=max_secs):
        if keep is not None and a < keep[1] and b > keep[0]:
            continue
        excess = (b - a) - int(max_secs * rate)
        runs = _runs(quiet[a:b])
        if not runs:
            continue
        c, d = max(runs, key=lambda r: r[1] - r[0])
        n = min(excess, max(0, d - c - 2 * int(rate * WINDOW_MS / 1000)))
        mid = a + (c + d) // 2
        cuts.append((mid - n // 2, mid - n // 2 + n))
    kept = np.ones(len(pcm), dtype=bool)
    for a, b in cuts:
        kept[a:b] = False
    return np.asarray(pcm[kept], dtype=np.int16)


def pause_ssml(first: str, second: str, break_secs: float) -> str:
    """SSML for one sentence with a break between ``first`` and ``second``."""
    ms = int(round(break_secs * 1000))
    return f'<speak>{escape(first)} <break time="{ms}ms"/> {escape(second)}</speak>'


def set_pause(pcm: np.ndarray, rate: int, pause_secs: float) -> np.ndarray:
    """Make the longest internal silence of ``pcm`` exactly ``pause_secs`` of digital zeros.

    The near-silence is replaced with zeros (sharp edges, so frame-based measures agree within
    a frame), then zeros are added or removed in the middle until :func:`pause_span` measures
    ``pause_secs`` to the sample.
    """
    want = int(round(pause_secs * rate))
    a, b = pause_span(pcm, rate)
    out = np.concatenate([pcm[:a], np.zeros(want, dtype=np.int16), pcm[b:]])
    a, b = pause_span(out, rate)
    mid, delta = (a + b) // 2, want - (b - a)
    if delta >= 0:
        return np.concatenate([out[:mid], np.zeros(delta, dtype=np.int16), out[mid:]])
    return np.concatenate([out[:mid], out[mid - delta :]])


def synthesize_with_pause(first: str, second: str, pause_secs: float, voice: str | Voice,
                          rate: int = 8000) -> np.ndarray:
    """One sentence, ``first`` + ``second``, with exactly ``pause_secs`` of silence inside.

    Synthesised as a whole with a break (``first`` does not end like a finished sentence); the
    break is then set to ``pause_secs`` as :func:`silences` measures it (:func:`pause_span`
    finds it again) and natural silences are capped at 0.2 s (:func:`cap_gaps`).

    Args:
        first: The words before the pause (no final punctuation).
        second: The words after it (with the sentence's final punctuation).
        pause_secs: Silence in seconds (at least 0.3, to stand out from word gaps).
        voice: A :data:`VOICES` name or a :class:`Voice`.
        rate: Output sample rate in Hz.
    """
    if pause_secs < 0.3:
        raise ValueError("pause_secs must be at least 0.3")
    v = get_voice(voice)
    key = f"pause|{v!r}|{first}|{second}|{pause_secs:.4f}"

    def make() -> np.ndarray:
        pcm = synthesize(pause_ssml(first, second, _PAUSE_PROBE_SECS), v, rate)
        pcm = cap_gaps(pcm, rate, keep=pause_span(pcm, rate))
        return set_pause(pcm, rate, pause_secs)

    return _cached(key, make, rate)


def pause_span(pcm: np.ndarray, rate: int) -> tuple[int, int]:
    """``[start, end)`` samples of the longest internal silence (the pause of a pause clip)."""
    if not (gaps := silences(pcm, rate)):
        raise ValueError("no internal silence")
    return max(gaps, key=lambda g: g[1] - g[0])
