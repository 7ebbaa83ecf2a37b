"""The announcer's promises, with a fake synthesizer: calls never wait, the cache is
used, failures fall back to text."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lobby_display.announcer import Announcer, FakeSynth, Pyttsx3Synth, TemplateError
from lobby_display.announcer.cache import AudioCache
from lobby_display.announcer.wav import read_wav

MakeAnnouncer = Callable[..., Announcer]


def names(urls: list[str]) -> list[str]:
    return [url.rsplit("/", 1)[1] for url in urls]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


class TestAnnouncement:
    def test_text_and_audio_in_play_order(self, make_announcer: MakeAnnouncer) -> None:
        announcer = make_announcer(synth=FakeSynth(), repeat=2)
        result = announcer.announcement("A012", "3")
        assert result.text == {
            "zh": "请A012号到3号窗口办理",
            "en": "Number A012, please go to counter 3",
        }
        assert result.speech["zh"] == "请A 零 一 二号到三号窗口办理"
        assert len(result.audio) == 3
        assert result.audio[0].startswith("/audio/chime-")
        assert all(url.startswith("/audio/") and url.endswith(".wav") for url in result.audio)
        assert result.repeat == 2
        assert set(result.to_dict()) >= {"text", "audio"}

    def test_every_url_becomes_a_readable_wav(self, make_announcer: MakeAnnouncer) -> None:
        announcer = make_announcer(synth=FakeSynth())
        for name in names(announcer.announcement("A012", "3").audio):
            path = announcer.wait_for(name, timeout=5)
            assert path is not None and read_wav(path).duration_s > 0.05
            assert announcer.audio_path(name) == path

    def test_returns_at_once_while_the_synth_is_stuck(
        self, make_announcer: MakeAnnouncer, gate: threading.Event
    ) -> None:
        synth = FakeSynth(gate=gate)
        announcer = make_announcer(synth=synth)
        started = time.perf_counter()
        results = [announcer.announcement(f"A{i:03}", "3") for i in range(20)]
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5, f"20 calls took {elapsed:.3f} s with a stuck synthesizer"
        speech_name = names(results[0].audio)[1]
        assert announcer.audio_path(speech_name) is None
        assert announcer.wait_for(speech_name, timeout=0.05) is None
        gate.set()
        assert announcer.wait_for(speech_name, timeout=5) is not None

    def test_cache_hit_does_not_synthesize_again(
        self, make_announcer: MakeAnnouncer, tmp_path: Path
    ) -> None:
        synth = FakeSynth()
        announcer = make_announcer(synth=synth)
        first = announcer.announcement("A012", "3")
        assert announcer.drain(timeout=5)
        assert len(synth.calls) == 2
        again = announcer.announcement("A012", "3")
        assert again.audio == first.audio
        assert announcer.drain(timeout=5)
        assert len(synth.calls) == 2
        # A new announcer on the same folder (a restart) finds the files on disk.
        restarted = make_announcer(synth=synth)
        assert restarted.announcement("A012", "3").audio == first.audio
        assert restarted.drain(timeout=5)
        assert len(synth.calls) == 2

    def test_same_words_queued_once(
        self, make_announcer: MakeAnnouncer, gate: threading.Event
    ) -> None:
        synth = FakeSynth(gate=gate)
        announcer = make_announcer(synth=synth)
        for _ in range(10):
            announcer.prepare("A012", "3")
            announcer.announcement("A012", "3")
        gate.set()
        assert announcer.drain(timeout=5)
        assert len(synth.calls) == 2

    def test_calls_go_before_queued_preparations(
        self, make_announcer: MakeAnnouncer, gate: threading.Event
    ) -> None:
        synth = FakeSynth(gate=gate, languages=("zh",))
        announcer = make_announcer(synth=synth, languages=("zh",))
        announcer.prepare("B000", "5")
        wait_until(lambda: len(synth.calls) == 1)  # the worker is stuck in B000
        for i in range(1, 10):
            announcer.prepare(f"B{i:03}", "5")
        announcer.announcement("A999", "3")
        gate.set()
        assert announcer.drain(timeout=5)
        spoken = [text for text, _voice in synth.calls]
        assert spoken[:2] == ["请B 零 零 零号到五号窗口办理", "请A 九 九 九号到三号窗口办理"]
        assert len(spoken) == 11

    def test_prepare_with_counter_makes_the_call_ready(self, make_announcer: MakeAnnouncer) -> None:
        announcer = make_announcer(synth=FakeSynth())
        announcer.prepare("A012", "3")
        assert announcer.drain(timeout=5)
        result = announcer.announcement("A012", "3")
        assert all(announcer.audio_path(name) for name in names(result.audio))

    def test_audio_names_are_not_paths(self, make_announcer: MakeAnnouncer) -> None:
        announcer = make_announcer(synth=FakeSynth())
        for name in ["../secret.wav", "fragments/x.wav", ".x.part.wav", "a.txt", ""]:
            assert announcer.audio_path(name) is None
            assert announcer.wait_for(name, timeout=0.01) is None

    def test_close_releases_waiters(
        self, make_announcer: MakeAnnouncer, gate: threading.Event
    ) -> None:
        announcer = make_announcer(synth=FakeSynth(gate=gate))
        result = announcer.announcement("A001", "1")
        announcer.announcement("A002", "1")
        waiting = names(result.audio)[2]  # queued behind the stuck zh sentence
        got: list[Path | None] = []
        waiter = threading.Thread(target=lambda: got.append(announcer.wait_for(waiting, 10)))
        waiter.start()
        announcer.close(timeout=0.1)  # the worker is still stuck in the zh sentence
        waiter.join(timeout=5)
        assert not waiter.is_alive()
        assert got == [None]


class TestFallback:
    def test_text_only_when_synth_unavailable(
        self, make_announcer: MakeAnnouncer, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING):
            announcer = make_announcer(synth=FakeSynth(is_available=False))
        assert "text-only" in caplog.text
        result = announcer.announcement("A012", "3")
        assert result.text["zh"] == "请A012号到3号窗口办理"
        assert len(result.audio) == 1 and result.audio[0].startswith("/audio/chime-")
        announcer.prepare("A013", "3")
        assert announcer.voices == {}

    def test_real_engine_missing_means_text_only(self, make_announcer: MakeAnnouncer) -> None:
        synth = Pyttsx3Synth(driver="no_such_driver", init_timeout_s=5)
        assert not synth.available()
        assert synth.unavailable_reason and "no_such_driver" in synth.unavailable_reason
        announcer = make_announcer(synth=synth)
        assert len(announcer.announcement("A012", "3").audio) == 1

    def test_language_without_voice_is_text_only(self, make_announcer: MakeAnnouncer) -> None:
        announcer = make_announcer(synth=FakeSynth(languages=("en",)))
        result = announcer.announcement("A012", "3")
        assert set(result.text) == {"zh", "en"}
        assert len(result.audio) == 2

    def test_failing_synth_never_raises_into_the_caller(
        self, make_announcer: MakeAnnouncer
    ) -> None:
        announcer = make_announcer(synth=FakeSynth(fail=True))
        result = announcer.announcement("A012", "3")
        announcer.prepare("A013")
        assert announcer.wait_for(names(result.audio)[1], timeout=5) is None
        assert announcer.wait_for(names(result.audio)[0], timeout=5) is not None  # chime

    def test_config_errors_fail_at_start(self, tmp_path: Path) -> None:
        def make(languages: list[str], templates: dict[str, str]) -> Announcer:
            return Announcer(
                languages=languages,
                templates=templates,
                repeat=1,
                cache_dir=tmp_path,
                synth=FakeSynth(),
            )

        with pytest.raises(ValueError, match="without a template"):
            make(["zh", "ja"], {"zh": "请{number}号"})
        with pytest.raises(TemplateError):
            make(["zh"], {"zh": "请{ticket}号"})


class TestFragments:
    def test_call_is_spliced_without_synthesis(self, make_announcer: MakeAnnouncer) -> None:
        synth = FakeSynth()
        announcer = make_announcer(synth=synth, strategy="fragments", counters=["3", "12"])
        assert announcer.drain(timeout=10)
        warmed = len(synth.calls)
        assert warmed > 40  # fixed parts, digits, letters and counters in two languages
        result = announcer.announcement("Q907", "12")
        for name in names(result.audio):
            assert announcer.wait_for(name, timeout=5) is not None
        assert len(synth.calls) == warmed

    def test_unknown_counter_is_made_on_demand(self, make_announcer: MakeAnnouncer) -> None:
        synth = FakeSynth()
        announcer = make_announcer(synth=synth, strategy="fragments", letters="A")
        result = announcer.announcement("A001", "7")
        for name in names(result.audio):
            assert announcer.wait_for(name, timeout=5) is not None
        assert ("七", "fake-zh") in synth.calls

    def test_spliced_sentence_is_a_joined_wav(self, make_announcer: MakeAnnouncer) -> None:
        announcer = make_announcer(synth=FakeSynth(), strategy="fragments", letters="A")
        path = announcer.wait_for(names(announcer.announcement("A012", "3").audio)[1], 5)
        assert path is not None
        clip = read_wav(path)
        # 请, A, 零, 一, 二, 号到, 三, 号窗口办理 at 30 ms per character, plus gaps.
        assert 0.9 < clip.duration_s < 2.0


def write_riff(path: Path) -> None:
    path.write_bytes(b"RIFF")


def test_cache_prunes_oldest_sentences(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_files=3)
    (tmp_path / "chime-abc.wav").write_bytes(b"x")
    for i in range(5):
        path = tmp_path / f"{i:032x}.wav"
        future, _ = cache.claim(path)
        assert cache.produce(path, future, write_riff)
        time.sleep(0.01)
    assert cache.prune() == 2
    left = {p.name for p in tmp_path.glob("*.wav")}
    assert left == {"chime-abc.wav"} | {f"{i:032x}.wav" for i in (2, 3, 4)}
