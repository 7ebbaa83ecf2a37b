"""`lobbyq simulate --bulk` copies template days; the real path runs each day. Under
one seed schedule both give every (branch, day) the same statistics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlmodel import col

from server.app import prepare_database
from server.config import AppConfig
from server.dashboard import stamp
from server.dashboard.fill import fill_days
from server.db import Database
from server.errors import LobbyQError
from server.models import FactDay, TicketEvent, TicketFact, now_utc
from server.stats.compute import DateRange, build_report, log_facts
from server.stats.facts import facts_in, local_midnight, rebuild
from tests.hq.conftest import hq_config
from tests.support import drop_database, fresh_database_url

pytestmark = pytest.mark.own_database  # makes its own databases: both passes

FIRST, LAST = date(2026, 11, 2), date(2026, 11, 5)  # Monday .. Thursday
SCHEDULE: dict[str, Any] = dict(first=FIRST, last=LAST, seed=3, volume=0.15, distinct_days=2)


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[AppConfig, Database, AppConfig, Database]]:
    made = []
    for name in ("real", "bulk"):
        url = fresh_database_url(tmp_path / name)
        (tmp_path / name).mkdir(exist_ok=True)
        config = hq_config(url, tmp_path / name / "data", branches=2)
        db = Database(url)
        prepare_database(config, db)
        made.append((config, db, url))
    yield made[0][0], made[0][1], made[1][0], made[1][1]
    for _, db, url in made:
        db.dispose()
        drop_database(url)


def report(config: AppConfig, db: Database, code: str, span: DateRange, group_by: str) -> Any:
    branch = config.branch(code)
    assert branch is not None
    with db.read() as session:
        fast = build_report(
            facts_in(session, branch, span),
            branch=branch,
            group_by=group_by,  # type: ignore[arg-type]
            span=span,
        )
        slow = build_report(
            log_facts(session, branch, span),
            branch=branch,
            group_by=group_by,  # type: ignore[arg-type]
            span=span,
        )
    assert fast.as_dict() == slow.as_dict()  # each database agrees with its own log
    return fast.as_dict()


def test_bulk_days_have_the_real_days_statistics(two: Any) -> None:
    real_config, real_db, bulk_config, bulk_db = two
    fill_days(real_config, real_db, branches=real_config.branches, **SCHEDULE)
    fill_days(bulk_config, bulk_db, branches=bulk_config.branches, bulk=True, **SCHEDULE)
    zone = real_config.branches[0].zone
    spans = [
        DateRange(local_midnight(d, zone), local_midnight(d + timedelta(days=1), zone))
        for d in (FIRST, FIRST + timedelta(days=1), LAST)
    ]
    spans.append(
        DateRange(local_midnight(FIRST, zone), local_midnight(LAST + timedelta(days=1), zone))
    )
    for code in ("b01", "b02"):
        for span in spans:
            for group_by in ("service", "teller", "hour", "day"):
                real = report(real_config, real_db, code, span, group_by)
                bulk = report(bulk_config, bulk_db, code, span, group_by)
                assert bulk == real, (code, span, group_by)
    whole = report(real_config, real_db, "b01", spans[-1], "day")
    assert len(whole["rows"]) == 4 and whole["totals"]["served"] > 0
    # The same events, type by type, and the filled days are sealed in the bulk one.
    for db in (real_db, bulk_db):
        with db.read() as session:
            kinds = session.execute(
                select(col(TicketEvent.type), func.count())
                .group_by(col(TicketEvent.type))
                .order_by(col(TicketEvent.type))
            ).all()
        if db is real_db:
            real_kinds = kinds
    assert kinds == real_kinds
    with bulk_db.read() as session:
        sealed = session.execute(select(func.count()).select_from(FactDay)).scalar()
    assert sealed == 8  # 2 branches x 4 days


def test_bulk_refuses_a_filled_day(two: Any) -> None:
    _, _, config, db = two
    fill_days(config, db, branches=config.branches[:1], bulk=True, **SCHEDULE)
    with pytest.raises(LobbyQError) as refused:
        fill_days(config, db, branches=config.branches[:1], bulk=True, **SCHEDULE)
    assert refused.value.code == "day_not_empty"


def index_definitions(db: Database) -> list[Any]:
    with db.read() as session:
        if db.is_sqlite:
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        else:
            query = "SELECT indexname, indexdef FROM pg_indexes ORDER BY indexname"
        return list(session.execute(text(query)).all())


def test_rebuild_from_the_log_gives_the_bulk_facts_and_rollups(
    two: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk path writes fact rows and rollups itself (on PostgreSQL stamped by the
    server, stamp.py); `lobbyq rebuild-facts` folding the copied log must make the same.
    On PostgreSQL every other batch takes its ticket ids as an array, as when a live
    server took numbers between them; two workers fill side by side, and the fill drops
    and makes the indexes again."""
    _, _, config, db = two
    calls = iter(range(1_000))
    monkeypatch.setattr(stamp, "one_block", lambda ids: next(calls) % 2 == 0)
    indexes_before = index_definitions(db)
    fill_days(
        config, db, branches=config.branches, bulk=True, defer_indexes=True, workers=2, **SCHEDULE
    )
    assert index_definitions(db) == indexes_before
    if not db.is_sqlite:
        assert next(calls) >= 2  # both kinds of batch ran

    def derived() -> tuple[list[Any], list[Any]]:
        with db.read() as session:
            fact_rows = session.execute(
                select(TicketFact).order_by(col(TicketFact.ticket_id))
            ).scalars()
            days = session.execute(
                select(FactDay).order_by(col(FactDay.branch), col(FactDay.day))
            ).scalars()
            return (
                [f.model_dump() for f in fact_rows],
                [d.model_dump(exclude={"sealed_at"}) for d in days],
            )

    written = derived()
    assert len(written[0]) > 100 and len(written[1]) == 8
    with db.write() as session:
        for branch in config.branches:
            rebuild(session, branch, now_utc())
    rebuilt_facts, rebuilt_days = derived()
    assert rebuilt_facts == written[0]
    # The rebuild also seals the empty days after the filled ones, up to the day
    # before yesterday: zero rollups.
    assert [d for d in rebuilt_days if d["issued"]] == written[1]
    assert len(rebuilt_days) > len(written[1])
