"""The generated ding-dong."""

from __future__ import annotations

from pathlib import Path

from lobby_display.announcer.chime import chime_clip, write_chime
from lobby_display.announcer.wav import read_wav, rms, samples


def test_chime_file_is_16_bit_mono_22050_about_one_second(tmp_path: Path) -> None:
    path = tmp_path / "chime.wav"
    write_chime(path)
    header = path.read_bytes()[:12]
    assert header[:4] == b"RIFF" and header[8:12] == b"WAVE"
    clip = read_wav(path)
    assert (clip.format.channels, clip.format.sample_width, clip.format.frame_rate) == (1, 2, 22050)
    assert 0.8 <= clip.duration_s <= 1.5


def test_chime_is_audible_and_does_not_clip() -> None:
    clip = chime_clip()
    values = samples(clip.frames)
    assert rms(clip) > 1000
    assert max(abs(v) for v in values) < 32767


def test_chime_starts_and_ends_at_silence_so_it_does_not_click() -> None:
    values = samples(chime_clip().frames)
    assert abs(values[0]) < 50
    assert all(abs(v) < 200 for v in values[-20:])


def test_two_tones() -> None:
    # The ding and the dong each start from silence and rise: two attacks.
    values = samples(chime_clip().frames)
    half = len(values) // 2
    first = max(abs(v) for v in values[: half // 4])
    second = max(abs(v) for v in values[half : half + half // 4])
    tail_of_first = max(abs(v) for v in values[half - 2000 : half - 1500])
    assert first > 3 * tail_of_first
    assert second > 3 * tail_of_first
