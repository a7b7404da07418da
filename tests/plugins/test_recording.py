"""Recording: the caller-clock stereo layout (Pipecat run_test) and the streamed WAV."""

import wave

import numpy as np
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    InputAudioRawFrame,
    OutputAudioRawFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.tests.utils import SleepFrame, run_test

from plugins.recording_buffer import CallerClockAudioBuffer
from plugins.wav_stream import WavStream

RATE = 8000
FRAME = 160  # 20 ms


def _pcm(value: int, samples: int = FRAME) -> bytes:
    return np.full(samples, value, dtype=np.int16).tobytes()


def _call_frames() -> list:
    """2 s of continuous caller audio; 1 s of bot speech passes at once after 0.2 s (fast send)."""
    user = [InputAudioRawFrame(audio=_pcm(1000), sample_rate=RATE, num_channels=1)] * 100
    bot = [OutputAudioRawFrame(audio=_pcm(2000), sample_rate=RATE, num_channels=1)] * 50
    frames = [*user[:10], BotStartedSpeakingFrame(), *bot, BotStoppedSpeakingFrame(), *user[10:]]
    # Input audio is a system frame and output audio a data frame: let each one through in turn.
    return [f for frame in frames for f in (frame, SleepFrame(sleep=0.002))]


async def _record(buffer) -> np.ndarray:
    chunks: list[bytes] = []

    @buffer.event_handler("on_audio_data")
    async def _on_audio(_buf, pcm, _rate, channels):
        assert channels == 2
        chunks.append(pcm)

    await run_test(
        buffer,
        frames_to_send=_call_frames(),
        pipeline_params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
    )
    return np.frombuffer(b"".join(chunks), dtype=np.int16).reshape(-1, 2)


async def test_recording_lasts_as_long_as_the_caller_stream_with_bot_audio_in_place():
    stereo = await _record(CallerClockAudioBuffer(
        sample_rate=RATE, buffer_size=RATE * 2 // 4, auto_start_recording=True
    ))
    assert len(stereo) == 100 * FRAME  # 2.0 s: the caller's stream, nothing inserted
    assert (stereo[:, 0] == 1000).all()  # caller left, untouched
    bot = np.flatnonzero(stereo[:, 1] == 2000)
    assert len(bot) == 50 * FRAME  # bot right, 1 s long, from 0.2 s (Pipecat lags it one frame)
    assert abs(bot[0] - 10 * FRAME) <= FRAME and (stereo[bot[0] : bot[-1] + 1, 1] == 2000).all()
    # Pipecat's stock layout pads the caller's track to the bot's burst: a longer recording.
    stock = await _record(
        AudioBufferProcessor(
            sample_rate=RATE, num_channels=2, buffer_size=RATE * 2 // 4, auto_start_recording=True
        )
    )
    assert len(stock) > len(stereo)


async def test_wav_stream_writes_a_valid_stereo_file_chunk_by_chunk(tmp_path):
    stream = WavStream(tmp_path / "rec" / "call.wav", RATE, channels=2)
    for _ in range(10):
        stream.write(np.full(RATE * 2, 7, dtype=np.int16).tobytes())  # 1 s of stereo
    await stream.close()
    with wave.open(str(stream.path), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (2, RATE, 10 * RATE)
    assert stream.duration_secs == 10.0
