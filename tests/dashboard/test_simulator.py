"""The day simulator: driven through the real use-cases, deterministic with a seed,
and its events read back by the statistics."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from server.app import prepare_database
from server.dashboard.simulator import DayPlan, SimulationResult, simulate_day
from server.db import Database
from server.errors import LobbyQError
from server.models import TicketEvent, User
from server.stats.compute import DateRange, branch_report
from tests.support import drop_database, fresh_database_url, make_config

pytestmark = pytest.mark.own_database  # makes its own databases: both passes

DAY = date(2026, 11, 27)
# A short, busy morning with many absent and transferred customers: every kind of event.
BUSY: dict[str, Any] = dict(
    volume=0.3,
    closes=time(11, 0),
    absent_share=0.25,
    transfer_share=0.1,
    patience_mean_min=40,
)


def run_day(tmp: Path, seed: int) -> tuple[SimulationResult, dict[str, Any], list[str]]:
    url = fresh_database_url(tmp)
    config = make_config(url, tmp / "data")
    branch = config.branches[0]
    db = Database(url)
    try:
        prepare_database(config, db)
        result = simulate_day(
            branch=branch, write=db.write, read=db.read, day=DAY, plan=DayPlan(seed=seed, **BUSY)
        )
        start = datetime.combine(DAY, time(0, 0), tzinfo=branch.zone)
        with db.read() as session:
            report = branch_report(
                session,
                branch=branch,
                group_by="service",
                span=DateRange(start, start + timedelta(days=1)),
            )
            events = session.exec(select(TicketEvent).order_by(col(TicketEvent.seq)))
            kinds = [e.type for e in events]
        with pytest.raises(LobbyQError) as refused:  # the day is filled: no second run
            simulate_day(branch=branch, write=db.write, read=db.read, day=DAY)
        assert refused.value.code == "day_not_empty"
        return result, report.as_dict(), kinds
    finally:
        db.dispose()
        drop_database(url)


@pytest.fixture(scope="module")
def seed_11(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SimulationResult, dict[str, Any], list[str]]:
    return run_day(tmp_path_factory.mktemp("seed11"), seed=11)


def test_same_seed_same_day_and_a_full_range_of_events(
    tmp_path: Path, seed_11: tuple[SimulationResult, dict[str, Any], list[str]]
) -> None:
    first, report1, kinds1 = seed_11
    second, report2, kinds2 = run_day(tmp_path / "two", seed=11)
    assert report1 == report2
    assert kinds1 == kinds2
    assert first.lines() == second.lines()
    assert first.accuracy == second.accuracy
    # A real day's events, through the real use-cases.
    seen = Tally(kinds1)
    for kind in (
        "ticket.issued",
        "ticket.called",
        "ticket.recalled",
        "ticket.started",
        "ticket.completed",
        "ticket.no_show",
        "ticket.transferred",
        "counter.updated",
    ):
        assert seen[kind] > 0, kind
    assert seen["ticket.issued"] == first.issued
    totals = report1["totals"]
    assert totals["issued"] == first.issued
    assert totals["served"] == first.served
    assert totals["no_show"] == first.no_show
    assert totals["cancelled"] == first.cancelled
    # Every ticket ends served, absent or cancelled: the counters close on an empty queue.
    assert first.served + first.no_show + first.cancelled == first.issued
    assert first.accuracy["tickets"] == totals["called"]


def test_another_seed_gives_another_day(
    tmp_path: Path, seed_11: tuple[SimulationResult, dict[str, Any], list[str]]
) -> None:
    _, report1, _ = seed_11
    _, report2, _ = run_day(tmp_path / "two", seed=12)
    assert report1["totals"] != report2["totals"]


def test_simulated_tellers_are_created_when_too_few(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path)
    config = make_config(url, tmp_path / "data")
    branch = config.branches[0]
    db = Database(url)
    try:
        prepare_database(config, db)
        with db.write() as session:  # only two tellers left for four counters
            for user in session.exec(select(User).where(User.username.in_(["teller3", "teller4"]))):  # type: ignore[attr-defined]
                session.delete(user)
        result = simulate_day(
            branch=branch, write=db.write, read=db.read, day=DAY, plan=DayPlan(volume=0.05)
        )
        assert result.tellers_created == ["sim-teller1", "sim-teller2"]
        with db.read() as session:
            created = session.exec(select(User).where(User.username == "sim-teller1")).one()
        assert created.role == "teller"
        assert created.password_hash == "!simulated"  # nobody can sign in as one
    finally:
        db.dispose()
        drop_database(url)
