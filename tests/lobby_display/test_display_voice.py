"""The lobby voice wired into the server: announcements on calls, pre-synthesis at issue,
`/audio/{name}` serving real espeak-ng WAVs, and the text-only fallback."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lobby_display import voice
from lobby_display.announcer import FakeSynth
from server.config import AppConfig
from tests.support import LiveServer, live_server


def open_and_call(server: LiveServer, service: str = "A", counter: str = "1") -> dict[str, Any]:
    """Open the counter, issue a ticket, call it; the ticket.called announcement."""
    with server.client("teller1") as teller, server.client("kiosk") as kiosk:
        teller.post(f"/branches/b1/counters/{counter}/open").raise_for_status()
        kiosk.post("/branches/b1/tickets", json={"service": service}).raise_for_status()
        teller.post(f"/branches/b1/counters/{counter}/call-next").raise_for_status()
    return last_announcement(server)


def last_announcement(server: LiveServer) -> dict[str, Any]:
    with server.client("display") as display:
        seq = display.get("/branches/b1/queue").json()["seq"]
    assert server.store is not None
    from server.realtime.stream import read_events

    events = read_events(server.store, "b1", after=0, upto=seq, limit=1000)
    assert events is not None
    called = [e for e in events if e.type in ("ticket.called", "ticket.recalled")]
    announcement: dict[str, Any] = called[-1].data["announcement"]
    return announcement


def wav_seconds(body: bytes) -> float:
    with wave.open(io.BytesIO(body)) as clip:
        assert clip.getnchannels() in (1, 2) and clip.getsampwidth() == 2
        frames: int = clip.getnframes()
        rate: int = clip.getframerate()
        return frames / rate


def test_a_call_gets_real_espeak_wavs_in_play_order(server: LiveServer) -> None:
    announcement = open_and_call(server)
    assert announcement["text"]["zh"] == "请A001号到1号窗口办理"
    assert announcement["text"]["en"].startswith("Number A001")
    chime, zh, en = announcement["audio"]
    assert "chime" in chime and announcement["repeat"] == 1
    durations = []
    for url in (chime, zh, en):
        response = httpx.get(server.url + url, timeout=30)
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/wav"
        assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
        durations.append(wav_seconds(response.content))
    assert 0.3 < durations[0] < 2.5  # the chime
    assert durations[1] > 2 and durations[2] > 2  # whole sentences, spoken slowly


@pytest.mark.parametrize(
    "name", ["nope.wav", "..%2F..%2Fetc%2Fpasswd", ".hidden.wav", "x" * 300 + ".wav", "a.mp3"]
)
def test_unknown_audio_is_a_404_in_the_error_shape(server: LiveServer, name: str) -> None:
    response = httpx.get(f"{server.url}/audio/{name}", timeout=30)
    assert response.status_code == 404
    assert response.json()["error"]["code"] in ("audio_not_found", "not_found")


@pytest.fixture
def fake_synth(monkeypatch: pytest.MonkeyPatch) -> FakeSynth:
    synth = FakeSynth(seconds_per_char=0.01)
    monkeypatch.setattr(voice, "synth_factory", lambda: synth)
    return synth


@pytest.fixture
def fake_voice_server(config: AppConfig, fake_synth: FakeSynth) -> Iterator[LiveServer]:
    with live_server(config) as server:
        yield server


def test_issue_pre_synthesizes_for_open_counters_so_the_call_makes_nothing(
    fake_voice_server: LiveServer, fake_synth: FakeSynth
) -> None:
    server = fake_voice_server
    assert server.store is not None
    lobby_voice = server.store.ports.announcer
    assert isinstance(lobby_voice, voice.LobbyVoice)
    announcer = lobby_voice.announcer("b1")
    assert announcer is not None
    with server.client("teller1") as teller, server.client("kiosk") as kiosk:
        teller.post("/branches/b1/counters/1/open").raise_for_status()
        kiosk.post("/branches/b1/tickets", json={"service": "A"}).raise_for_status()
        assert announcer.drain(10)
        made_at_issue = list(fake_synth.calls)
        teller.post("/branches/b1/counters/1/call-next").raise_for_status()
        assert announcer.drain(10)
    assert len(made_at_issue) == 2  # zh and en for counter 1, the one open counter
    assert fake_synth.calls == made_at_issue  # the call found them on disk
    assert len(fake_synth.thread_ids) == 1  # one worker thread


def test_recall_is_announced_again_with_the_same_audio(fake_voice_server: LiveServer) -> None:
    server = fake_voice_server
    first = open_and_call(server)
    with server.client("teller1") as teller:
        teller.post("/branches/b1/counters/1/recall").raise_for_status()
    again = last_announcement(server)
    assert again["audio"] == first["audio"] and len(first["audio"]) == 3


def test_without_a_synthesizer_calls_go_out_text_only(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> FakeSynth:
        raise OSError("libespeak-ng.so.1: cannot open shared object file")

    monkeypatch.setattr(voice, "synth_factory", broken)
    with caplog.at_level("WARNING", logger="lobbyq.voice"), live_server(config) as server:
        announcement = open_and_call(server)
    assert announcement["audio"] == []
    assert announcement["text"]["zh"].startswith("请A001号")
    assert any("text-only" in r.getMessage() for r in caplog.records)


def test_an_unavailable_engine_still_chimes_and_shows_text(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(voice, "synth_factory", lambda: FakeSynth(is_available=False))
    with live_server(config) as server:
        announcement = open_and_call(server)
    assert len(announcement["audio"]) == 1 and "chime" in announcement["audio"][0]
    assert announcement["text"]["en"].startswith("Number A001")
