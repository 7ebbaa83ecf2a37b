"""The printers, the voice and the webhook are ports built once by create_app and kept
on the store: the real ones by default, fakes when a test gives them, and every
committed event and issued ticket reaches them through those fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from kiosk.printing import PrinterPort
from lobby_display import voice
from printers import TicketPrint
from server.config import AppConfig, BranchSettings
from server.customer.webhook import Webhooks
from server.models import TicketEvent
from server.ports import AppPorts, NoNotifier, NoPrinting, TextAnnouncer
from server.realtime.stream import read_events
from tests.support import FakeClock, LiveServer, make_config


def started(
    database_url: str, tmp_path: Path, clock: FakeClock, ports: AppPorts | None = None
) -> LiveServer:
    """The real app with the real ports, or with these (built once, as create_app does)."""
    config: AppConfig = make_config(database_url, tmp_path / "data")
    given = None if ports is None else (lambda _: ports)
    return LiveServer(config=config, clock=clock, ports=given).start()


def test_create_app_builds_the_real_ports_once(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    server = started(database_url, tmp_path, clock)
    try:
        assert server.store is not None
        ports = server.store.ports
        assert isinstance(ports.printing, PrinterPort)
        assert isinstance(ports.notifier, Webhooks)
        assert isinstance(ports.announcer, voice.LobbyVoice)
    finally:
        server.stop()


def test_fakes_given_to_create_app_see_each_issue_and_event(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    announcer, notifier = TextAnnouncer(), NoNotifier()
    fakes = AppPorts(printing=NoPrinting(), announcer=announcer, notifier=notifier)
    server = started(database_url, tmp_path, clock, fakes)
    try:
        with server.client("kiosk") as kiosk, server.client("teller1") as desk:
            issued = kiosk.post("/branches/b1/tickets", json={"service": "A"})
            assert issued.status_code == 201, issued.text
            assert issued.json()["print"] is None  # no printer port: nothing printed
            desk.post("/branches/b1/counters/1/open").raise_for_status()
            called = desk.post("/branches/b1/counters/1/call-next")
            assert called.status_code == 200, called.text
        number = issued.json()["number"]
        assert announcer.issued == [number]
        kinds = [e.type for e in notifier.events]
        assert kinds == ["ticket.issued", "counter.updated", "ticket.called"]
        assert [e.type for e in announcer.events] == kinds
        health = server.client().get("/health").json()
        assert "printers" not in health
    finally:
        server.stop()


class CountingAnnouncer(TextAnnouncer):
    """A voice that names one made-up file per call and counts how often it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, str]] = []

    def announce(
        self, branch: BranchSettings, number: str, counter: str, name: dict[str, str]
    ) -> dict[str, Any]:
        self.asked.append((number, counter))
        return {
            "text": {"zh": f"{number}@{counter}"},
            "audio": [f"/audio/{number}.wav"],
            "repeat": 1,
        }


def test_the_display_side_announces_a_call_live_and_replayed(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """The queue logs a bare call; the voice port adds the announcement as the event
    leaves the server, the same live (hub, webhook) and replayed from the log."""
    announcer, notifier = CountingAnnouncer(), NoNotifier()
    server = started(
        database_url, tmp_path, clock, AppPorts(announcer=announcer, notifier=notifier)
    )
    try:
        with server.client("kiosk") as kiosk, server.client("teller1") as desk:
            kiosk.post("/branches/b1/tickets", json={"service": "A"}).raise_for_status()
            desk.post("/branches/b1/counters/1/open").raise_for_status()
            desk.post("/branches/b1/counters/1/call-next").raise_for_status()
            desk.post("/branches/b1/counters/1/recall").raise_for_status()
        store = server.store
        assert store is not None
        expected = {"text": {"zh": "A001@1"}, "audio": ["/audio/A001.wav"], "repeat": 1}
        live = [e for e in notifier.events if e.type in ("ticket.called", "ticket.recalled")]
        assert [e.data["announcement"] for e in live] == [expected, expected]
        with store.read() as session:
            logged = session.exec(
                select(TicketEvent)
                .where(col(TicketEvent.type).in_(["ticket.called", "ticket.recalled"]))
                .order_by(col(TicketEvent.seq))
            ).all()
            assert [("announcement" in row.data) for row in logged] == [False, False]
            last = max(row.seq for row in logged)
        replayed = read_events(store, "b1", after=0, upto=last, limit=100)
        assert replayed is not None
        calls = [e for e in replayed if e.type in ("ticket.called", "ticket.recalled")]
        assert [e.data["announcement"] for e in calls] == [expected, expected]
        assert calls[0].typed().data == live[0].typed().data  # one shape, either way
        # Once per call: the replay reuses what the live event was given.
        assert announcer.asked == [("A001", "1"), ("A001", "1")]
    finally:
        server.stop()


class ShelfPrinting(NoPrinting):
    """A printer port that keeps what it is given instead of printing it."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, str, str]] = []

    def printer_states(self, branch: BranchSettings) -> list[dict[str, Any]]:
        return [{"id": p.id, "state": "shelf"} for p in branch.printers]

    def job(self, branch: str, printer_id: str, job_id: str) -> dict[str, Any] | None:
        return {"printer": printer_id, "job": job_id, "state": "printed"}

    def submit(self, branch: str, printer_id: str, ticket: TicketPrint) -> dict[str, Any]:
        self.submitted.append((branch, printer_id, ticket.number))
        return {"printer": printer_id, "job": "shelved", "state": "queued"}


class OneFileAnnouncer(TextAnnouncer):
    """A voice with one WAV on disk."""

    def __init__(self, wav: Path) -> None:
        super().__init__()
        self.wav = wav

    def audio_file(self, name: str, wait_s: float) -> Path | None:
        return self.wav if name == self.wav.name else None


def test_the_printer_api_and_the_audio_route_use_the_ports_fields(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """The routes take the printers and the voice from `store.ports`, whatever they are."""
    wav = tmp_path / "0123abcd.wav"
    wav.write_bytes(b"RIFF-not-really")
    printing = ShelfPrinting()
    fakes = AppPorts(printing=printing, announcer=OneFileAnnouncer(wav))
    server = started(database_url, tmp_path, clock, fakes)
    try:
        with server.client("kiosk") as kiosk, server.client("manager") as manager:
            ticket = kiosk.post("/branches/b1/tickets", json={"service": "A"}).json()
            states = manager.get("/branches/b1/printers")
            assert states.json() == [{"id": "p1", "state": "shelf"}], states.text
            job = kiosk.get(f"/branches/b1/printers/p1/jobs/{'a' * 32}")
            assert job.json() == {"printer": "p1", "job": "a" * 32, "state": "printed"}
            printed = manager.post(
                "/branches/b1/printers/p1/print", json={"ticket": ticket["token"]}
            )
            assert printed.status_code == 202, printed.text
        assert printing.submitted == [("b1", "p1", ticket["number"])]
        audio = httpx.get(f"{server.url}/audio/{wav.name}", timeout=30)
        assert audio.status_code == 200 and audio.content == b"RIFF-not-really"
        assert httpx.get(f"{server.url}/audio/ffff.wav", timeout=30).status_code == 404
    finally:
        server.stop()


def test_without_printers_the_printer_api_is_a_404(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    server = started(database_url, tmp_path, clock, AppPorts(printing=NoPrinting()))
    try:
        with server.client("manager") as manager:
            states = manager.get("/branches/b1/printers")
            assert states.status_code == 404, states.text
            assert states.json()["error"]["code"] == "printer_not_found"
            job = manager.get(f"/branches/b1/printers/p1/jobs/{'a' * 32}")
            assert job.status_code == 404
            assert job.json()["error"]["code"] == "printer_not_found"
    finally:
        server.stop()
