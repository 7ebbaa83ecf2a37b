"""The printers, the voice and the webhook are ports built once by create_app and kept
on the store: the real ones by default, fakes when a test gives them, and every
committed event and issued ticket reaches them through those fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import col, select

from kiosk.printing import PrinterPort
from lobby_display import voice
from server.config import AppConfig, BranchSettings
from server.customer.webhook import Webhooks
from server.models import TicketEvent
from server.ports import AppPorts, NoNotifier, NoPrinting, TextAnnouncer
from server.realtime.stream import read_events
from server.store import Store
from tests.support import FakeClock, LiveServer, make_config


def test_create_app_builds_the_real_ports_once(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    config: AppConfig = make_config(database_url, tmp_path / "data")
    server = LiveServer(config=config, clock=clock).start()
    try:
        assert server.store is not None
        ports = server.store.ports
        assert isinstance(ports.printing, PrinterPort)
        assert isinstance(ports.notifier, Webhooks)
        assert voice.voice_of(server.store) is ports.announcer
    finally:
        server.stop()


def test_fakes_given_to_create_app_see_each_issue_and_event(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    config: AppConfig = make_config(database_url, tmp_path / "data")
    announcer, notifier = TextAnnouncer(), NoNotifier()

    def fakes(_: Store) -> AppPorts:
        return AppPorts(printing=NoPrinting(), announcer=announcer, notifier=notifier)

    server = LiveServer(config=config, clock=clock, ports=fakes).start()
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
    config: AppConfig = make_config(database_url, tmp_path / "data")
    announcer, notifier = CountingAnnouncer(), NoNotifier()

    def fakes(_: Store) -> AppPorts:
        return AppPorts(announcer=announcer, notifier=notifier)

    server = LiveServer(config=config, clock=clock, ports=fakes).start()
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
