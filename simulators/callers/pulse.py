"""A private PulseAudio server with a virtual microphone and speaker, for local-audio callers.

Layout (all 16 kHz mono by default):
    * ``spk``  - null sink, the default output: whatever the bot plays ends up in ``spk.monitor``;
    * ``feed`` - null sink that :meth:`PulseAudioSession.play` writes to, in real time;
    * ``mic``  - remapped source of ``feed.monitor``, the default input: what the bot hears.

The daemon runs in per-user mode in a temporary directory (no D-Bus, no system socket), also as
root. Give ``session.env()`` to a child process (e.g. a ``LocalAudioTransport`` bot), or call
``session.apply_env()`` to use it from this process (PyAudio reaches it via ALSA's pulse plugin).
Everything started here is stopped by PID in :meth:`PulseAudioSession.stop`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from loguru import logger


class PulseAudioSession:
    """Start/stop a private PulseAudio daemon with ``spk``, ``feed`` and ``mic``.

    Args:
        rate: Sample rate of the virtual devices.
        channels: Channel count of the virtual devices.
    """

    def __init__(self, rate: int = 16000, channels: int = 1):
        self.rate = rate
        self.channels = channels
        self.dir: Path | None = None
        self._daemon: subprocess.Popen | None = None
        self._children: list[subprocess.Popen] = []

    @property
    def socket(self) -> Path:
        """Path of the native protocol socket."""
        assert self.dir is not None, "session not started"
        return self.dir / "native"

    def env(self) -> dict[str, str]:
        """Environment variables that point a PulseAudio/ALSA client at this server."""
        assert self.dir is not None, "session not started"
        return {"PULSE_SERVER": f"unix:{self.socket}", "XDG_RUNTIME_DIR": str(self.dir / "xdg")}

    def child_env(self) -> dict[str, str]:
        """``os.environ`` plus :meth:`env`, ready for ``subprocess``."""
        return {**os.environ, **self.env()}

    def apply_env(self) -> None:
        """Export :meth:`env` into this process's ``os.environ`` (for in-process PyAudio)."""
        os.environ.update(self.env())

    def start(self, timeout: float = 10.0) -> PulseAudioSession:
        """Start the daemon and wait until it answers.

        Raises:
            RuntimeError: If pulseaudio is missing or does not come up.
        """
        for tool in ("pulseaudio", "pactl", "paplay", "parec"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} not found (apt install pulseaudio pulseaudio-utils)")
        self.dir = Path(tempfile.mkdtemp(prefix="switchboard-pulse-"))
        (self.dir / "xdg").mkdir(mode=0o700)
        (self.dir / "home").mkdir()
        fmt = f"rate={self.rate} channels={self.channels}"
        cmd = [
            "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit=yes",
            "--use-pid-file=no", "--system=no", f"--log-target=file:{self.dir / 'pulse.log'}",
            f"--load=module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
            f"--load=module-null-sink sink_name=spk {fmt}",
            f"--load=module-null-sink sink_name=feed {fmt}",
            "--load=module-remap-source master=feed.monitor source_name=mic",
        ]
        env = {**self.child_env(), "HOME": str(self.dir / "home")}
        self._daemon = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._daemon.poll() is not None:
                rc = self._daemon.returncode
                log = (self.dir / "pulse.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"pulseaudio exited with {rc}: {log}")
            if self.socket.exists() and self._pactl("info", check=False).returncode == 0:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("pulseaudio did not come up")
            time.sleep(0.02)
        self._pactl("set-default-sink", "spk")
        self._pactl("set-default-source", "mic")
        logger.debug(f"pulseaudio pid {self._daemon.pid} at {self.socket}")
        return self

    def _pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["pactl", *args], env=self.child_env(), capture_output=True, text=True, check=check,
            timeout=10,
        )

    def list_short(self, kind: str) -> list[str]:
        """Names from ``pactl list short <kind>`` (``sinks``, ``sources``, ...)."""
        out = self._pactl("list", "short", kind).stdout
        return [line.split("\t")[1] for line in out.splitlines() if "\t" in line]

    def play(self, wav: str | Path, device: str = "feed", wait: bool = True) -> subprocess.Popen:
        """Play a WAV into ``device`` in real time (into the virtual mic by default).

        Args:
            wav: The file (any format paplay reads).
            device: Sink name.
            wait: Block until playback ends; otherwise return the running process.
        """
        proc = self._spawn(["paplay", "-d", device, "--latency-msec=20", str(wav)])
        if wait:
            proc.wait(timeout=600)
            if proc.returncode != 0:
                raise RuntimeError(f"paplay failed with {proc.returncode}")
        return proc

    def record(self, path: str | Path, device: str = "spk.monitor") -> subprocess.Popen:
        """Start recording ``device`` to a WAV at ``path``; stop it with :meth:`stop_process`.

        Records what the bot plays by default; use ``device="mic"`` to capture the virtual mic.
        """
        return self._spawn([
            "parec", "-d", device, "--latency-msec=20", "--format=s16le", f"--rate={self.rate}",
            f"--channels={self.channels}", "--file-format=wav", str(path),
        ])

    def stop_process(self, proc: subprocess.Popen, timeout: float = 5.0) -> int | None:
        """Stop a process started by this session (SIGTERM, then SIGKILL) and return its code."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        if proc in self._children:
            self._children.remove(proc)
        return proc.returncode

    def _spawn(self, cmd: list[str]) -> subprocess.Popen:
        if self._daemon is None:
            raise RuntimeError("PulseAudioSession is not started")
        proc = subprocess.Popen(cmd, env=self.child_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self._children.append(proc)
        return proc

    def stop(self) -> None:
        """Stop every process this session started (children first, then the daemon)."""
        for proc in list(self._children):
            self.stop_process(proc)
        if self._daemon is not None:
            self.stop_process(self._daemon)
            self._daemon = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> PulseAudioSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
