import hashlib
import sys
import warnings

import numpy as np

from simulators.callers.audio import (
    mulaw_decode,
    mulaw_encode,
    pad,
    read_wav,
    resample,
    rms,
    speech_pcm,
    speech_wav,
    trim_silence,
    write_wav,
)


def test_mulaw_round_trip_all_codes():
    codes = bytes(range(256))
    again = mulaw_encode(mulaw_decode(codes))
    # 0x7F (negative zero) is the only code that re-encodes differently (as 0xFF, positive zero)
    assert [i for i in range(256) if again[i] != codes[i]] == [0x7F]


def test_mulaw_pcm_round_trip_error_is_bounded():
    x = np.arange(-32768, 32768, 7, dtype=np.int16)
    y = mulaw_decode(mulaw_encode(x)).astype(np.int32)
    err = np.abs(y - x.astype(np.int32))
    # G.711's coarsest step is 1024 (top segment): error at most half of it, plus rounding
    assert err[np.abs(x.astype(np.int32)) < 32000].max() <= 520
    assert mulaw_encode(np.zeros(160, dtype=np.int16)) == b"\xff" * 160


def test_mulaw_matches_audioop_when_available():
    if sys.version_info >= (3, 13):  # audioop is gone; the fixed properties above still hold
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    x = np.arange(-32768, 32768, dtype=np.int16)
    assert mulaw_encode(x) == audioop.lin2ulaw(x.tobytes(), 2)
    codes = bytes(range(256))
    assert mulaw_decode(codes).tobytes() == audioop.ulaw2lin(codes, 2)


def test_speech_fixture_is_deterministic_and_cached(tmp_path, monkeypatch):
    text = "please hold the line"
    cached = speech_wav(text, 8000)
    monkeypatch.setenv("SWITCHBOARD_TEST_AUDIO_CACHE", str(tmp_path))
    fresh = speech_wav(text, 8000)
    assert fresh.parent == tmp_path and fresh != cached
    assert hashlib.md5(fresh.read_bytes()).digest() == hashlib.md5(cached.read_bytes()).digest()
    pcm = speech_pcm(text, 8000)
    assert pcm.dtype == np.int16 and 0.8 < len(pcm) / 8000 < 3.0 and rms(pcm) > 1000
    assert np.array_equal(pcm, speech_pcm(text, 8000))


def test_wav_resample_and_trim(tmp_path):
    pcm = speech_pcm("hello there", 16000)
    path = write_wav(tmp_path / "x.wav", pcm, 16000)
    back, rate = read_wav(path)
    assert rate == 16000 and np.array_equal(back, pcm)
    down = resample(pcm, 16000, 8000)
    assert down.dtype == np.int16 and abs(len(down) - len(pcm) // 2) <= 1
    padded = pad(pcm, 16000, before=0.5, after=0.5)
    trimmed = trim_silence(padded, 16000)
    assert len(trimmed) < len(pcm) + 320 and rms(trimmed) > rms(padded)
