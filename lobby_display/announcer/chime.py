"""The ding-dong played before every announcement, generated in code (no asset file).

Two bell-like tones a major third apart (E5 then C5), each a sine with a little
second harmonic and an exponential decay. A short linear attack and a fade to zero
at the end keep the speaker from clicking: a waveform that starts or stops at a
non-zero sample is heard as a pop.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from dataclasses import dataclass
from pathlib import Path

from lobby_display.announcer.wav import MONO_16, Clip, WavFormat, to_frames, write_wav


@dataclass(frozen=True)
class ChimeSpec:
    ding_hz: float = 659.25  # E5
    dong_hz: float = 523.25  # C5
    tone_s: float = 0.5
    gap_s: float = 0.0  # the dong starts as the ding decays, like a door chime
    decay_per_s: float = 4.5
    attack_s: float = 0.008
    fade_out_s: float = 0.05
    peak: float = 0.45  # of full scale: loud enough for a lobby, far from clipping

    def digest(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:12]


def chime_clip(spec: ChimeSpec = ChimeSpec(), fmt: WavFormat = MONO_16) -> Clip:
    if fmt.channels != 1 or fmt.sample_width != 2:
        raise ValueError("the chime is generated as 16-bit mono")
    rate = fmt.frame_rate
    values = array("h")
    for hz in (spec.ding_hz, spec.dong_hz):
        values.extend(_tone(hz, spec, rate))
        values.extend([0] * round(spec.gap_s * rate))
    return Clip(fmt, to_frames(values))


def write_chime(path: Path, spec: ChimeSpec = ChimeSpec(), fmt: WavFormat = MONO_16) -> None:
    write_wav(path, chime_clip(spec, fmt))


def _tone(hz: float, spec: ChimeSpec, rate: int) -> array[int]:
    count = round(spec.tone_s * rate)
    attack = max(1, round(spec.attack_s * rate))
    fade = max(1, round(spec.fade_out_s * rate))
    full_scale = 32767 * spec.peak
    out = array("h", bytes(2 * count))
    for i in range(count):
        t = i / rate
        envelope = math.exp(-spec.decay_per_s * t)
        if i < attack:
            envelope *= i / attack
        if i >= count - fade:
            envelope *= (count - 1 - i) / fade
        wave_value = math.sin(2 * math.pi * hz * t) + 0.25 * math.sin(4 * math.pi * hz * t)
        out[i] = round(full_scale * envelope * wave_value / 1.25)
    return out
