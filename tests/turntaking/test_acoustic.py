"""The audio side of turn-taking: the audio clock, resumed speech, the end of an utterance."""

import numpy as np

from turntaking.acoustic import AudioRing, UtteranceEnd, VoiceResumption

RATE = 8000
CHUNK = 160  # 20 ms


def tone(secs: float, level: float = 3000.0) -> bytes:
    t = np.arange(int(secs * RATE)) / RATE
    return (level * np.sin(2 * np.pi * 200 * t)).astype(np.int16).tobytes()


def quiet(secs: float) -> bytes:
    return np.zeros(int(secs * RATE), dtype=np.int16).tobytes()


def chunks(audio: bytes):
    for i in range(0, len(audio), CHUNK * 2):
        yield audio[i : i + CHUNK * 2]


def test_the_audio_clock_counts_samples_not_wall_time():
    ring = AudioRing(keep_secs=1.0)
    ring.set_rate(RATE)
    for chunk in chunks(quiet(0.5) + tone(1.0)):  # appended in one burst
        ring.append(chunk)
    assert ring.now == 1.5
    kept = ring.since(0.0)
    assert 1.0 * RATE <= len(kept) <= 1.0 * RATE + CHUNK  # only the last second is kept
    assert len(ring.since(1.2)) == int(0.3 * RATE)


def test_loud_audio_after_the_vad_stop_holds_the_decision_but_a_click_does_not():
    resumed = VoiceResumption()
    for chunk in chunks(tone(0.5)):
        resumed.voice(chunk)
    now = 0.5
    for chunk in chunks(quiet(0.3) + tone(0.02) + quiet(0.2)):  # a 20 ms click
        now += 0.02
        resumed.silence(chunk, now, RATE)
    assert not resumed.resuming(now)
    for chunk in chunks(tone(0.1)):  # the caller speaks again
        now += 0.02
        resumed.silence(chunk, now, RATE)
    assert resumed.resuming(now)
    assert not resumed.resuming(now + 0.31)


def test_new_words_after_the_final_hold_the_decision():
    resumed = VoiceResumption(hold_secs=0.3)
    resumed.words(1.0)
    assert resumed.resuming(1.2) and not resumed.resuming(1.31)


def test_an_utterance_ends_once_after_enough_quiet():
    end = UtteranceEnd(quiet_secs=0.12)
    fired = [end.feed(c, RATE) for c in chunks(tone(0.3) + quiet(0.3))]
    assert fired.count(True) == 1
    assert fired.index(True) == int((0.3 + 0.12) / 0.02) - 1
    assert end.ended


def test_silence_alone_is_not_the_end_of_an_utterance():
    end = UtteranceEnd()
    assert not any(end.feed(c, RATE) for c in chunks(quiet(1.0)))
