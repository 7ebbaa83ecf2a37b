"""The real engine: pyttsx3 driving espeak-ng, writing WAV files (no sound device)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lobby_display.announcer import Announcer, Pyttsx3Synth, SynthError
from lobby_display.announcer.wav import Clip, read_wav, rms

MakeAnnouncer = Callable[..., Announcer]


def assert_speech_wav(path: Path, *, min_s: float, max_s: float) -> Clip:
    header = path.read_bytes()[:12]
    assert header[:4] == b"RIFF" and header[8:12] == b"WAVE"
    clip = read_wav(path)
    assert clip.format.channels == 1
    assert clip.format.sample_width == 2
    assert clip.format.frame_rate == 22050
    assert min_s <= clip.duration_s <= max_s, clip.duration_s
    assert rms(clip) > 500, "the file is (nearly) silent"
    return clip


@pytest.fixture
def engine_threads(monkeypatch: pytest.MonkeyPatch, espeak: Pyttsx3Synth) -> Iterator[set[int]]:
    """Ids of the threads on which pyttsx3 runs its loop during the test."""
    import pyttsx3.engine

    seen: set[int] = set()
    original = pyttsx3.engine.Engine.runAndWait

    def spy(self: pyttsx3.engine.Engine) -> None:
        seen.add(threading.get_ident())
        original(self)

    monkeypatch.setattr(pyttsx3.engine.Engine, "runAndWait", spy)
    yield seen


class TestPyttsx3Synth:
    def test_voices(self, espeak: Pyttsx3Synth) -> None:
        assert espeak.voice_for("zh") == "cmn-latn-pinyin"
        assert espeak.voice_for("en") in {"en", "en-us"}
        assert espeak.voice_for("xx") is None

    def test_zh_sentence(self, espeak: Pyttsx3Synth, tmp_path: Path) -> None:
        path = tmp_path / "zh.wav"
        espeak.synthesize("请A 零 一 二号到三号窗口办理", "cmn-latn-pinyin", path)
        assert_speech_wav(path, min_s=1.5, max_s=10)

    def test_en_sentence(self, espeak: Pyttsx3Synth, tmp_path: Path) -> None:
        path = tmp_path / "en.wav"
        espeak.synthesize("Number A, zero one two, please go to counter 3", "en-us", path)
        assert_speech_wav(path, min_s=1.5, max_s=10)

    def test_rate_changes_the_sound_and_the_cache_key(self, tmp_path: Path) -> None:
        slow, fast = Pyttsx3Synth(rate=110), Pyttsx3Synth(rate=220)
        assert slow.tag != fast.tag
        slow.synthesize("please go to counter 3", "en-us", tmp_path / "slow.wav")
        fast.synthesize("please go to counter 3", "en-us", tmp_path / "fast.wav")
        slow_s = read_wav(tmp_path / "slow.wav").duration_s
        assert slow_s > 1.4 * read_wav(tmp_path / "fast.wav").duration_s

    def test_short_words_always_have_audio(self, espeak: Pyttsx3Synth, tmp_path: Path) -> None:
        # pyttsx3 2.99 sometimes writes an empty WAV for a short word; we retry.
        for i in range(30):
            path = tmp_path / f"{i}.wav"
            espeak.synthesize("six", "en-us", path)
            assert read_wav(path).duration_s > 0.2

    def test_calls_from_many_threads_run_on_one_engine_thread(
        self, espeak: Pyttsx3Synth, tmp_path: Path, engine_threads: set[int]
    ) -> None:
        def say(i: int) -> Path:
            path = tmp_path / f"{i}.wav"
            espeak.synthesize(f"{i}号窗口", "cmn-latn-pinyin", path)
            return path

        with ThreadPoolExecutor(max_workers=6) as pool:
            paths = list(pool.map(say, range(24)))
        assert all(read_wav(p).duration_s > 0.3 for p in paths)
        assert engine_threads == {espeak.engine_thread.ident}


class TestAnnouncerWithEspeak:
    def test_call_audio_for_both_languages(
        self, make_announcer: MakeAnnouncer, espeak: Pyttsx3Synth
    ) -> None:
        announcer = make_announcer(synth=espeak)
        result = announcer.announcement("A012", "3")
        chime, zh, en = (url.rsplit("/", 1)[1] for url in result.audio)
        for name in (zh, en):
            path = announcer.wait_for(name, timeout=10)
            assert path is not None
            assert_speech_wav(path, min_s=1.5, max_s=10)

    def test_fragments_spliced_from_espeak(
        self, make_announcer: MakeAnnouncer, espeak: Pyttsx3Synth
    ) -> None:
        announcer = make_announcer(synth=espeak, strategy="fragments", letters="AB", counters=["3"])
        assert announcer.drain(timeout=20)
        result = announcer.announcement("B907", "3")
        for url in result.audio[1:]:
            path = announcer.wait_for(url.rsplit("/", 1)[1], timeout=10)
            assert path is not None
            assert_speech_wav(path, min_s=1.5, max_s=10)

    def test_many_prepares_from_several_threads(
        self, make_announcer: MakeAnnouncer, espeak: Pyttsx3Synth, engine_threads: set[int]
    ) -> None:
        announcer = make_announcer(synth=espeak)
        tickets = [(f"{letter}{i:03}", str(i % 5 + 1)) for letter in "ABCD" for i in range(8)]

        def issue(batch: list[tuple[str, str]]) -> None:
            for number, counter in batch:
                announcer.prepare(number, counter)

        threads = [threading.Thread(target=issue, args=(tickets[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert announcer.drain(timeout=30)
        for number, counter in tickets:
            result = announcer.announcement(number, counter)
            for url in result.audio:
                assert announcer.audio_path(url.rsplit("/", 1)[1]) is not None, (number, url)
        assert engine_threads == {espeak.engine_thread.ident}


def test_unknown_voice_is_an_error_and_the_engine_recovers(
    espeak: Pyttsx3Synth, tmp_path: Path
) -> None:
    with pytest.raises(SynthError):
        espeak.synthesize("hello", "no-such-voice", tmp_path / "bad.wav")
    espeak.synthesize("hello", "en-us", tmp_path / "good.wav")
    assert read_wav(tmp_path / "good.wav").duration_s > 0.2


FIRST_UTTERANCE = """
import sys
from pathlib import Path
from lobby_display.announcer import Pyttsx3Synth
from lobby_display.announcer.wav import read_wav
synth = Pyttsx3Synth()
folder = Path(sys.argv[1])
text = "请A 零 一 二号到三号窗口办理，请A 零 一 二号到三号窗口办理"
for name in ("first.wav", "second.wav"):
    synth.synthesize(text, "cmn-latn-pinyin", folder / name)
first, second = (read_wav(folder / n).duration_s for n in ("first.wav", "second.wav"))
sys.stderr.write(f"{first} {second}")
sys.exit(0 if abs(first - second) < 0.1 else 1)
"""


def test_first_utterance_of_a_fresh_engine_is_complete(
    espeak: Pyttsx3Synth, tmp_path: Path
) -> None:
    # pyttsx3's first runAndWait in a process returns while espeak is still speaking
    # (half the time, without the warm-up run): each process gets one chance, so try
    # a few.
    runs = []
    for i in range(3):
        folder = tmp_path / str(i)
        folder.mkdir()
        runs.append(
            subprocess.Popen(
                [sys.executable, "-c", FIRST_UTTERANCE, str(folder)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for run in runs:
        _out, err = run.communicate(timeout=30)
        assert run.returncode == 0, err
