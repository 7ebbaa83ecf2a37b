"""The printers, the voice and the webhook are ports built once by create_app and kept
on the store: the real ones by default, fakes when a test gives them, and every
committed event and issued ticket reaches them through those fields."""

from __future__ import annotations

from pathlib import Path

from kiosk.printing import PrinterPort
from lobby_display import voice
from server.config import AppConfig
from server.customer.webhook import Webhooks
from server.ports import AppPorts, NoNotifier, NoPrinting, TextAnnouncer
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
