"""The event log is kept for years and never rewritten: rows an earlier LobbyQ wrote —
fields added since missing, fields dropped since present — still read, and give the same
figures and the same recent calls (server/events.py `as_stored`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select

from server.events import EventType
from server.models import TicketEvent
from server.queue.snapshot import queue_snapshot
from server.stats.compute import figures, log_facts, parse_range
from tests.stats.history import T0, Day, build_history

ADDED_SINCE = ("estimated_wait_range_s", "estimate_raw_s", "appointment")


def _figures(day: Day) -> dict[str, Any]:
    span = parse_range(day.branch, "2026-11-30", None, T0)
    with day.db.read() as session:
        return figures(log_facts(session, day.branch, span), day.branch)


def _age_the_log(day: Day) -> int:
    """Payloads as an earlier version wrote them; returns how many rows were changed."""
    changed = 0
    with day.db.write() as session:
        for row in session.exec(select(TicketEvent).order_by(col(TicketEvent.seq))):
            data = dict(row.data or {})
            if row.type == EventType.ticket_issued:
                for key in ADDED_SINCE:
                    data.pop(key, None)
            elif row.type in (EventType.ticket_called, EventType.ticket_completed):
                data["audio"] = ["/audio/old.wav"]  # a key no model has any more
            else:
                continue
            row.data = data
            flag_modified(row, "data")
            session.add(row)
            changed += 1
    return changed


def test_rows_of_an_earlier_version_give_the_same_figures_and_calls(day: Day) -> None:
    build_history(day)
    before = _figures(day)
    with day.db.read() as session:
        calls_before = queue_snapshot(session, day.branch, day.clock())["recent_calls"]
    assert before["issued"] == 7 and calls_before

    assert _age_the_log(day) >= 7 + 5
    assert _figures(day) == before
    with day.db.read() as session:
        assert queue_snapshot(session, day.branch, day.clock())["recent_calls"] == calls_before
