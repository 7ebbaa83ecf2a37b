"""Builders for announcer tests: an announcer per test in its own cache folder."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lobby_display.announcer import Announcer, Pyttsx3Synth
from lobby_display.announcer.synth import VoiceSynth

TEMPLATES = {
    "zh": "请{number}号到{counter}号窗口办理",
    "en": "Number {number}, please go to counter {counter}",
}

MakeAnnouncer = Callable[..., Announcer]


@pytest.fixture
def make_announcer(tmp_path: Path) -> Iterator[MakeAnnouncer]:
    made: list[Announcer] = []

    def make(
        *,
        synth: VoiceSynth,
        strategy: str = "whole",
        languages: tuple[str, ...] = ("zh", "en"),
        repeat: int = 1,
        **options: Any,
    ) -> Announcer:
        announcer = Announcer(
            languages=list(languages),
            templates=TEMPLATES,
            repeat=repeat,
            cache_dir=tmp_path / "audio",
            synth=synth,
            strategy=strategy,
            **options,
        )
        made.append(announcer)
        return announcer

    yield make
    for announcer in made:
        announcer.close(timeout=5)


@pytest.fixture
def gate(make_announcer: MakeAnnouncer) -> Iterator[threading.Event]:
    """An Event a FakeSynth waits on; set at teardown (before the announcers close, as
    this fixture depends on theirs) so no worker stays stuck."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(scope="session")
def espeak() -> Pyttsx3Synth:
    synth = Pyttsx3Synth()
    # scripts/test.sh installs espeak-ng: a missing engine is a failure, not a skip.
    assert synth.available(), f"pyttsx3 with espeak-ng is not available: {synth.unavailable_reason}"
    return synth
