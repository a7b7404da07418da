import os
import time

from simulators.callers.audio import pad, read_wav, rms, speech_pcm, write_wav
from simulators.callers.listen import speech_segments
from simulators.callers.pulse import PulseAudioSession


def test_play_into_virtual_mic_and_record_it(tmp_path):
    wav = write_wav(tmp_path / "in.wav", pad(speech_pcm("hello there", 16000), 16000, 0.2, 0.3),
                    16000)
    with PulseAudioSession() as pulse:
        env = pulse.env()
        assert env["PULSE_SERVER"] == f"unix:{pulse.socket}"
        assert {"spk", "feed"} <= set(pulse.list_short("sinks"))
        assert "mic" in pulse.list_short("sources")
        recorder = pulse.record(tmp_path / "mic.wav", device="mic")
        time.sleep(0.2)
        pulse.play(wav)  # real-time paced: blocks about as long as the file
        time.sleep(0.3)
        pulse.stop_process(recorder)
        daemon_pid = pulse._daemon.pid
    pcm, rate = read_wav(tmp_path / "mic.wav")
    assert rate == 16000 and rms(pcm) > 300
    assert len(speech_segments(pcm, rate)) >= 1
    # everything it started is gone
    assert pulse.dir is None
    try:
        os.kill(daemon_pid, 0)
    except ProcessLookupError:
        return
    raise AssertionError(f"pulseaudio {daemon_pid} still running")
