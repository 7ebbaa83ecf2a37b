"""Every event is one typed model of server/events.py, and the model's JSON is the wire
format: each event a real day at the branch publishes, read back through the union,
gives exactly the dict that was sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import col, select

from server.config import AppConfig
from server.events import (
    Event,
    EventType,
    TicketCalled,
    TicketIssued,
    TicketIssuedData,
    TicketTransferred,
    parse_event,
    stored_data,
    stored_event,
)
from server.models import TicketEvent
from tests.devices.helpers import counter_headers, device_config, image_bytes
from tests.support import FakeClock, LiveServer, live_server

RATES = {
    "title": {"zh": "利率", "en": "Rates"},
    "columns": [{"zh": "期限", "en": "Term"}, {"zh": "年利率", "en": "Rate"}],
    "rows": [["活期", "0.10%"]],
}
NEVER_PUBLISHED = {EventType.printer_updated}  # declared for the printers; not sent yet


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    config: AppConfig = device_config(database_url, tmp_path / "data")
    with live_server(config, clock) as server:
        yield server


def a_day(hall: LiveServer, clock: FakeClock) -> None:
    """One of each change a branch sees in a day, through the API as the devices send it."""
    with (
        hall.client("kiosk") as kiosk,
        hall.client("teller1") as desk,
        hall.client("manager") as manager,
        hall.client("lobby1") as lobby,
        hall.client() as public,
    ):

        def issue(service: str = "A", by: Any = kiosk, **extra: Any) -> dict[str, Any]:
            answer = by.post(
                "/branches/b1/tickets", json={"service": service, "print": False, **extra}
            )
            answer.raise_for_status()
            clock.advance(30)
            ticket: dict[str, Any] = answer.json()
            return ticket

        def at_counter(action: str, **body: Any) -> dict[str, Any]:
            answer = desk.post(f"/branches/b1/counters/1/{action}", json=body or None)
            assert answer.status_code == 200, answer.text
            clock.advance(20)
            out: dict[str, Any] = answer.json()
            return out

        manager.put("/branches/b1/notice", json={"zh": "通知", "en": "Notice"}).raise_for_status()
        manager.put("/branches/b1/services/B/state", json={"open": False}).raise_for_status()
        manager.put("/branches/b1/services/B/state", json={"open": True}).raise_for_status()
        manager.put("/branches/b1/boards/rates", json=RATES).raise_for_status()
        manager.post(
            "/branches/b1/slides", files={"file": ("s.png", image_bytes(), "image/png")}
        ).raise_for_status()
        served = issue("A")
        missed = issue("A")
        moved = issue("A")
        issue("A", by=desk, priority="vip")
        cancelled = issue("B")
        waiting = issue("A")
        at_counter("open")
        at_counter("call-next")  # the vip
        at_counter("recall")
        at_counter("start")
        at_counter("complete")
        desk.post("/branches/b1/counters/1/ask-rating").raise_for_status()
        with_pad = desk.__class__(base_url=hall.api, headers=counter_headers("1"), timeout=30)
        with with_pad:
            last = at_counter("call-next")["ticket"]
            assert last["number"] == served["number"]
            at_counter("complete")
            with_pad.post(
                "/branches/b1/counters/1/ratings",
                json={"ticket": served["number"], "rating": 1, "reasons": [] or None},
            )
        assert at_counter("call-next")["ticket"]["number"] == missed["number"]
        at_counter("no-show")
        at_counter("call", number=missed["number"])  # reinstated within the grace period
        at_counter("transfer", service="B")
        lobby.post(
            f"/branches/b1/tickets/{waiting['number']}/move", json={"service": "B"}
        ).raise_for_status()
        assert public.delete(f"/tickets/{cancelled['token']}").status_code == 200
        assert moved["number"]
        at_counter("pause")
        at_counter("resume")
        public.post(f"/tickets/{served['token']}/feedback", json={"comment": "谢谢"})
        at_counter("call-next")
        at_counter("complete")
        at_counter("close")


def published(hall: LiveServer) -> list[dict[str, Any]]:
    assert hall.store is not None
    with hall.store.read() as session:
        rows = session.exec(select(TicketEvent).order_by(col(TicketEvent.seq))).all()
        return [Event.from_row(row).wire() for row in rows]


class TestTheUnionIsTheWire:
    def test_every_event_of_a_day_reads_back_to_the_same_json(
        self, hall: LiveServer, clock: FakeClock
    ) -> None:
        a_day(hall, clock)
        sent = published(hall)
        kinds = {wire["type"] for wire in sent}
        assert kinds == {str(t) for t in EventType} - NEVER_PUBLISHED
        for wire in sent:
            typed = parse_event(wire)
            assert typed.type == wire["type"]
            assert typed.wire() == wire
            assert json.dumps(typed.wire(), sort_keys=True) == json.dumps(wire, sort_keys=True)

    def test_a_reinstated_call_says_so_and_a_plain_one_does_not(
        self, hall: LiveServer, clock: FakeClock
    ) -> None:
        a_day(hall, clock)
        calls = [parse_event(w) for w in published(hall) if w["type"] == "ticket.called"]
        assert all(isinstance(c, TicketCalled) for c in calls)
        flags = [c.data.reinstated for c in calls if isinstance(c, TicketCalled)]
        assert flags.count(True) == 1 and flags.count(False) == len(flags) - 1
        moves = [parse_event(w) for w in published(hall) if w["type"] == "ticket.transferred"]
        assert [m.data.by for m in moves if isinstance(m, TicketTransferred)] == [None, "lobby"]

    def test_an_unknown_type_or_a_missing_field_is_refused(self) -> None:
        wire = {
            "type": "ticket.issued",
            "seq": 1,
            "at": "2026-11-30T01:00:00+00:00",
            "data": {"number": "A001"},
        }
        with pytest.raises(ValidationError):
            parse_event(wire)
        with pytest.raises(ValidationError):
            parse_event({**wire, "type": "ticket.vanished"})

    def test_times_keep_their_utc_offset(self) -> None:
        data = {
            "id": 1,
            "number": "A001",
            "service": "A",
            "priority": "normal",
            "status": "waiting",
            "counter": None,
            "teller": None,
            "issued_at": "2026-11-30T01:00:00+00:00",
            "enqueued_at": "2026-11-30T01:00:00+00:00",
            "called_at": None,
            "position": 0,
            "estimated_wait_s": 0,
            "estimated_wait_range_s": None,
            "estimate_raw_s": None,
            "appointment": None,
        }
        wire = {"type": "ticket.issued", "seq": 1, "at": "2026-11-30T01:00:00+00:00", "data": data}
        typed = parse_event(wire)
        assert isinstance(typed, TicketIssued)
        assert typed.wire()["at"].endswith("+00:00") and typed.wire() == wire


class TestStoredRowsReadBackTyped:
    def test_every_stored_row_is_its_model_from_the_column_or_its_json_text(
        self, hall: LiveServer, clock: FakeClock
    ) -> None:
        """What the statistics' fold and the snapshot read: the row's payload parsed
        once into its model, the same from the decoded column as from its JSON text."""
        a_day(hall, clock)
        assert hall.store is not None
        with hall.store.read() as session:
            rows = session.exec(select(TicketEvent).order_by(col(TicketEvent.seq))).all()
            for row in rows:
                typed = stored_event(row)
                assert typed.wire() == Event.from_row(row).wire()
                data_model = type(typed.data)
                from_text = stored_data(json.dumps(row.data), data_model)
                assert from_text == stored_data(row.data, data_model) == typed.data

    def test_a_payload_missing_a_field_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            stored_data('{"number": "A001"}', TicketIssuedData)
