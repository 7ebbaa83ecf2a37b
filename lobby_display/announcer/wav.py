"""Small WAV helpers on the standard library (no numpy): read, write, trim, splice.

The announcer only handles PCM WAV: espeak-ng (through pyttsx3) writes 16-bit mono
22050 Hz, and the chime is generated in the same format so the display can play
every file with the same decoder.
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 22050
SAMPLE_WIDTH = 2  # bytes: 16-bit PCM
# Below this a 16-bit sample is treated as silence when trimming (about -44 dBFS).
SILENCE_THRESHOLD = 200


@dataclass(frozen=True)
class WavFormat:
    channels: int = 1
    sample_width: int = SAMPLE_WIDTH
    frame_rate: int = SAMPLE_RATE

    @property
    def bytes_per_second(self) -> int:
        return self.channels * self.sample_width * self.frame_rate


MONO_16 = WavFormat()


@dataclass(frozen=True)
class Clip:
    """PCM frames with their format."""

    format: WavFormat
    frames: bytes

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.format.bytes_per_second


def read_wav(path: Path) -> Clip:
    with wave.open(str(path), "rb") as reader:
        fmt = WavFormat(reader.getnchannels(), reader.getsampwidth(), reader.getframerate())
        return Clip(fmt, reader.readframes(reader.getnframes()))


def write_wav(path: Path, clip: Clip) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(clip.format.channels)
        writer.setsampwidth(clip.format.sample_width)
        writer.setframerate(clip.format.frame_rate)
        writer.writeframes(clip.frames)


def silence(fmt: WavFormat, seconds: float) -> bytes:
    frames = round(seconds * fmt.frame_rate)
    return b"\x00" * (frames * fmt.channels * fmt.sample_width)


def samples(frames: bytes) -> array[int]:
    """16-bit little-endian PCM as signed integers."""
    values = array("h")
    values.frombytes(frames[: len(frames) - len(frames) % 2])
    if sys.byteorder == "big":
        values.byteswap()
    return values


def to_frames(values: array[int]) -> bytes:
    if sys.byteorder == "big":
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


def rms(clip: Clip) -> float:
    """Root mean square of a 16-bit clip, 0–32767."""
    values = samples(clip.frames)
    if not values:
        return 0.0
    return math.sqrt(sum(v * v for v in values) / len(values))


def trim_silence(clip: Clip, *, keep_s: float = 0.01) -> Clip:
    """Drop leading and trailing silence, so spliced fragments are not padded twice.

    espeak ends every utterance with a sentence pause; left in, each spliced digit
    would be followed by a long gap.
    """
    if clip.format != MONO_16:
        return clip
    values = samples(clip.frames)
    loud = [i for i in (_first_loud(values), _last_loud(values)) if i is not None]
    if len(loud) < 2:
        return Clip(clip.format, b"")
    keep = round(keep_s * clip.format.frame_rate)
    start = max(0, loud[0] - keep)
    end = min(len(values), loud[1] + 1 + keep)
    return Clip(clip.format, to_frames(values[start:end]))


def splice(clips: Iterable[Clip], gaps_s: Iterable[float]) -> Clip:
    """Join clips with the given silence before each one after the first.

    All clips must share a format: splicing a 16 kHz piece into 22 kHz audio would
    play it at the wrong pitch.
    """
    parts: list[bytes] = []
    fmt: WavFormat | None = None
    for index, (clip, gap) in enumerate(zip(clips, gaps_s, strict=True)):
        if fmt is None:
            fmt = clip.format
        elif clip.format != fmt:
            raise ValueError(f"cannot splice {clip.format} into {fmt}")
        if index and gap > 0:
            parts.append(silence(fmt, gap))
        parts.append(clip.frames)
    return Clip(fmt or MONO_16, b"".join(parts))


def _first_loud(values: array[int]) -> int | None:
    for index, value in enumerate(values):
        if abs(value) > SILENCE_THRESHOLD:
            return index
    return None


def _last_loud(values: array[int]) -> int | None:
    for index in range(len(values) - 1, -1, -1):
        if abs(values[index]) > SILENCE_THRESHOLD:
            return index
    return None
