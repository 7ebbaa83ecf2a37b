"""The fast path (fact rows of sealed days + the log for the rest) gives the same
report as the log alone, on random spans of simulated days; the live rows written
as tickets end equal the log's fold; `rebuild` makes the same rows again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.app import prepare_database
from server.config import AppConfig
from server.dashboard.simulator import DayPlan, simulate_day
from server.dashboard.summary import (
    BIN_S,
    GROUPS,
    LAST_BIN_S,
    dashboard_summary,
    service_time_histogram,
)
from server.db import Database
from server.models import FactDay, TicketFact
from server.stats import facts
from server.stats.aggregate import fast_report, tickets_of
from server.stats.compute import GROUPINGS, DateRange, build_report, log_facts, teller_names
from tests.support import drop_database, fresh_database_url, make_config

pytestmark = pytest.mark.own_database  # makes its own databases: both passes

DAYS = [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]
BUSY = dict(volume=0.25, closes=time(12, 0), absent_share=0.2, transfer_share=0.1)


@dataclass
class Filled:
    config: AppConfig
    db: Database

    @property
    def branch(self) -> Any:
        return self.config.branches[0]

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0, 0), tzinfo=self.branch.zone)

    def rows(self) -> list[dict[str, Any]]:
        with self.db.read() as session:
            table = TicketFact.__table__  # type: ignore[attr-defined]
            found = session.execute(select(table).order_by(table.c.ticket_id))
            return [dict(r._mapping) for r in found]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    tmp: Path = tmp_path_factory.mktemp("facts")
    url = fresh_database_url(tmp)
    config = make_config(url, tmp / "data")
    db = Database(url)
    prepare_database(config, db)
    for seed, day in enumerate(DAYS, start=7):
        simulate_day(
            branch=config.branches[0],
            write=db.write,
            read=db.read,
            day=day,
            plan=DayPlan(seed=seed, **BUSY),  # type: ignore[arg-type]
        )
    yield Filled(config=config, db=db)
    db.dispose()
    drop_database(url)


def reports(filled: Filled, span: DateRange, group_by: str) -> tuple[Any, Any]:
    with filled.db.read() as session:
        slow = build_report(
            log_facts(session, filled.branch, span),
            branch=filled.branch,
            group_by=group_by,  # type: ignore[arg-type]
            span=span,
        )
        fast = build_report(
            facts.facts_in(session, filled.branch, span),
            branch=filled.branch,
            group_by=group_by,  # type: ignore[arg-type]
            span=span,
        )
        # The report as GET /stats reads it: tallied in SQL on PostgreSQL.
        tallied = fast_report(
            session,
            branch=filled.branch,
            group_by=group_by,  # type: ignore[arg-type]
            span=span,
        )
    assert tallied.as_dict() == fast.as_dict()
    return slow.as_dict(), fast.as_dict()


def log_summary(filled: Filled, span: DateRange) -> dict[str, Any]:
    """The dashboard's summary made from the log alone, for comparison."""
    with filled.db.read() as session:
        tickets = log_facts(session, filled.branch, span)
        tellers = teller_names(session)
    made = {
        group: build_report(
            tickets, branch=filled.branch, group_by=group, span=span, tellers=tellers
        ).as_dict()
        for group in GROUPS
    }
    bins: dict[tuple[str, int], int] = {}
    for t in tickets:
        if t.outcome == "served" and t.service_s is not None:
            slot = (t.service, min(int(t.service_s // BIN_S), LAST_BIN_S // BIN_S))
            bins[slot] = bins.get(slot, 0) + 1
    return {
        "totals": made["service"]["totals"],
        "by_hour": made["hour"]["rows"],
        "by_teller": [r for r in made["teller"]["rows"] if r["key"] is not None],
        "by_service": made["service"]["rows"],
        "service_times": service_time_histogram(
            [(s, b, n) for (s, b), n in bins.items()], filled.branch
        ),
    }


def test_live_rows_are_the_logs_fold_of_the_ended_tickets(filled: Filled) -> None:
    rows = filled.rows()
    assert rows, "the simulated days ended tickets: each has its row"
    with filled.db.read() as session:
        span = DateRange(filled.midnight(DAYS[0]), filled.midnight(DAYS[-1] + timedelta(days=1)))
        folded = {
            t.ticket_id: facts.row_of(t, filled.branch.code)
            for t in log_facts(session, filled.branch, span)
        }
    for row in rows:
        assert row == folded[row["ticket_id"]]
    outcomes = {row["outcome"] for row in rows}
    assert {"served", "no_show", "cancelled"} <= outcomes
    ended = {i for i, t in folded.items() if t["outcome"] != "open"}
    assert ended <= {row["ticket_id"] for row in rows}  # each ended ticket has its row


def test_sealing_rollup_and_rebuild(filled: Filled) -> None:
    now = filled.midnight(DAYS[0] + timedelta(days=2)) + timedelta(hours=1)  # only day 1 sealable
    with filled.db.write() as session:
        assert facts.seal_days(session, filled.branch, now) == 1
        assert facts.sealed_through(session, filled.branch.code) == DAYS[0]
        assert facts.seal_days(session, filled.branch, now) == 0  # nothing more yet
    with filled.db.read() as session:
        day = session.get(FactDay, (filled.branch.code, DAYS[0]))
        span = DateRange(filled.midnight(DAYS[0]), filled.midnight(DAYS[1]))
        tickets = log_facts(session, filled.branch, span)
    assert day is not None and day.issued == len(tickets) > 0
    assert day.served == sum(1 for t in tickets if t.outcome == "served")
    before = filled.rows()
    with filled.db.write() as session:
        facts.rebuild(session, filled.branch, now)
    assert filled.rows() == before


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sealed=st.integers(min_value=0, max_value=len(DAYS)),
    start_min=st.integers(min_value=0, max_value=len(DAYS) * 24 * 60),
    length_min=st.integers(min_value=1, max_value=len(DAYS) * 24 * 60),
    whole_days=st.booleans(),
    group_by=st.sampled_from(GROUPINGS),
)
def test_fast_path_equals_the_log(
    filled: Filled, sealed: int, start_min: int, length_min: int, whole_days: bool, group_by: str
) -> None:
    """Any span, any grouping, whatever number of days is sealed: the same report."""
    now = filled.midnight(DAYS[0] + timedelta(days=sealed + 1)) + timedelta(minutes=5)
    with filled.db.write() as session:
        facts.rebuild(session, filled.branch, now)
        assert facts.sealed_through(session, filled.branch.code) == (
            DAYS[sealed - 1] if sealed else None
        )
    begin = filled.midnight(DAYS[0]) + timedelta(minutes=start_min)
    end = begin + timedelta(minutes=length_min)
    if whole_days:
        begin = filled.midnight(begin.astimezone(filled.branch.zone).date())
        end = filled.midnight(end.astimezone(filled.branch.zone).date() + timedelta(days=1))
    slow, fast = reports(filled, DateRange(begin, end), group_by)
    assert fast == slow
    if group_by == "hour":  # the dashboard's summary reads the same path, three groupings
        span = DateRange(begin, end)
        with filled.db.read() as session:
            summary = dashboard_summary(session, branch=filled.branch, span=span, now=now)
        expected = log_summary(filled, span)
        assert {key: summary[key] for key in expected} == expected
        assert summary["totals"]["issued"] == slow["totals"]["issued"]


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_every_day_sealed_the_tallies_equal_the_log(filled: Filled, group_by: str) -> None:
    """All days sealed (on PostgreSQL the whole range is tallied in SQL), then one day
    left to the log (SQL over the sealed days plus the recent tickets sent along)."""
    for sealed in (len(DAYS), len(DAYS) - 1):
        now = filled.midnight(DAYS[0] + timedelta(days=sealed + 1)) + timedelta(minutes=5)
        with filled.db.write() as session:
            facts.rebuild(session, filled.branch, now)
        span = DateRange(filled.midnight(DAYS[0]), filled.midnight(DAYS[-1] + timedelta(days=1)))
        last_day = DateRange(filled.midnight(DAYS[-1]), span.end)
        with filled.db.read() as session:
            tickets = tickets_of(session, filled.branch, span)
            if session.get_bind().dialect.name == "postgresql":
                assert tickets.parts.sealed is not None  # tallied in SQL
                recent = [] if sealed == len(DAYS) else log_facts(session, filled.branch, last_day)
                assert len(tickets.parts.recent) == len(recent)
            else:
                assert tickets.parts.sealed is None  # tallied in Python
        slow, fast = reports(filled, span, group_by)
        assert fast == slow
        assert slow["totals"]["issued"] > 0 and slow["totals"]["wait_p90_s"] is not None
