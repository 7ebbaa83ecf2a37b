"""Per-ticket facts and sealed days: what keeps reports fast with years of data.

The event log stays the truth (docs/statistics.md, server/stats/compute.py). Two
derived tables make reading it cheap, and both are rebuilt from it exactly:

- `ticket_fact`: one row per ticket, the `TicketFacts` that `compute.fold` makes of
  its events. It is written in the transaction of the event that ends the ticket
  (completed, no-show, cancelled), and again when it is rated or a no-show is
  reinstated; so today's ended tickets are there at once (the HQ overview reads
  them for hundreds of branches).
- `fact_day`: a (branch, day) is **sealed** once no event can reach its tickets any
  more (00:00 two days later, `compute.cutoff_of`): every ticket issued that day,
  open ones too, then has its fact row, rewritten from the log at sealing, and the
  day's counts are kept (a daily rollup). Days are sealed in order, so "sealed
  through D" means every day up to D.

A report reads the fact rows for the sealed part of its range and folds the log for
the rest (today, yesterday): `facts_in`. `lobbyq rebuild-facts` drops both tables'
rows of a branch and seals again from the log; tests/stats/test_facts.py checks that
both paths give the same report on random days.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, event, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from server.config import BranchSettings
from server.db import connection_of
from server.events import Event, EventType, TicketCalledData, stored_data
from server.models import Branch, FactDay, TicketEvent, TicketFact, utc
from server.stats.compute import (
    SATISFIED_FROM,
    TICKET_EVENTS,
    DateRange,
    TicketFacts,
    fold,
    log_facts,
)

log = logging.getLogger("lobbyq.stats")

_FACT = TicketFact.__table__  # type: ignore[attr-defined]
_DAY = FactDay.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_BRANCH = Branch.__table__  # type: ignore[attr-defined]

# Events after which a ticket's fact row is (re)written.
ENDING = frozenset(
    {
        EventType.ticket_completed,
        EventType.ticket_no_show,
        EventType.ticket_cancelled,
        EventType.ticket_rated,
    }
)
COLUMNS = tuple(c.name for c in _FACT.columns)
_FACT_FIELDS = tuple(c for c in COLUMNS if c != "branch" and c != "wait_s")
_TICKET_EVENT_TYPES = [str(t) for t in TICKET_EVENTS]


# --- one row <-> one TicketFacts ------------------------------------------------------


def row_of(facts: TicketFacts, branch: str) -> dict[str, Any]:
    return {
        "ticket_id": facts.ticket_id,
        "branch": branch,
        "number": facts.number,
        "issued_at": facts.issued_at,
        "enqueued_at": facts.enqueued_at,
        "issue_service": facts.issue_service,
        "service": facts.service,
        "priority": facts.priority,
        "estimated_wait_s": facts.estimated_wait_s,
        "first_call_at": facts.first_call_at,
        "wait_s": facts.wait_s,
        "outcome": facts.outcome,
        "counter": facts.counter,
        "teller": facts.teller,
        "service_s": facts.service_s,
        "transferred": facts.transferred,
        "transfer_wait_s": facts.transfer_wait_s,
        "recalls": facts.recalls,
        "rating": facts.rating,
    }


_READ = select(*(_FACT.c[name] for name in _FACT_FIELDS))


def _facts_of(rows: Iterable[Sequence[Any]]) -> list[TicketFacts]:
    made = []
    for row in rows:
        values = dict(zip(_FACT_FIELDS, row, strict=True))
        for moment in ("issued_at", "enqueued_at", "first_call_at"):
            values[moment] = utc(values[moment])
        made.append(TicketFacts(**values))
    return made


# Built once per dialect: every completion runs it (bench/bench_core.py call-next rows).
_UPSERTS: dict[str, Any] = {}


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = connection_of(session)
    dialect = connection.dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = maker(_FACT)
        statement = _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[_FACT.c.ticket_id],
            set_={name: statement.excluded[name] for name in COLUMNS if name != "ticket_id"},
        )
    connection.execute(statement, rows)


# --- written as tickets end ---------------------------------------------------------


_ZONE = select(_BRANCH.c.timezone).where(_BRANCH.c.code == bindparam("branch"))
_EVENTS_OF = (
    select(_EVENT)
    .where(
        _EVENT.c.ticket_id.in_(bindparam("ids", expanding=True)),
        _EVENT.c.type.in_(_TICKET_EVENT_TYPES),
    )
    .order_by(_EVENT.c.seq)
)


def _zone(session: Session, branch: str) -> ZoneInfo:
    name = connection_of(session).execute(_ZONE, {"branch": branch}).scalar_one()
    return ZoneInfo(str(name))


def refresh_tickets(session: Session, branch: str, ticket_ids: Iterable[int]) -> None:
    """Fold these tickets' events (in this transaction) into their fact rows."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return
    events = connection_of(session).execute(_EVENTS_OF, {"ids": ids})
    folded = fold(events, _zone(session, branch))
    _upsert(session, [row_of(f, branch) for f in folded.values() if f.issued_at is not None])


def _ending(event: Event) -> bool:
    if event.type in ENDING:
        return True
    # A no-show called back within its grace period is no longer one.
    return event.type == EventType.ticket_called and bool(event.data.get("reinstated"))


def _ticket_of(session: Session, event: Event) -> int | None:
    data = event.data if isinstance(event.data, dict) else {}
    ticket = data.get("id", data.get("ticket_id"))
    if isinstance(ticket, int) and not isinstance(ticket, bool):
        return ticket
    found = (
        connection_of(session)
        .execute(  # the row says, whatever the data holds
            select(_EVENT.c.ticket_id).where(
                _EVENT.c.branch == event.branch, _EVENT.c.seq == event.seq
            )
        )
        .scalar()
    )
    return found if isinstance(found, int) else None


def _before_commit(session: Session) -> None:
    """Every write transaction: the tickets its events ended get their fact rows."""
    pending: list[Event] = session.info.get("lobbyq_events") or []
    done = session.info.get("lobbyq_facts_done", 0)
    if len(pending) <= done:
        return
    session.info["lobbyq_facts_done"] = len(pending)
    ended: dict[str, set[int]] = {}
    for item in pending[done:]:
        if _ending(item):
            ticket = _ticket_of(session, item)
            if ticket is not None:
                ended.setdefault(item.branch, set()).add(ticket)
    for branch, tickets in ended.items():
        refresh_tickets(session, branch, tickets)


def install() -> None:
    """Hook `_before_commit` into every session (once per process)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)


# --- sealed days ----------------------------------------------------------------------


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    moment = utc(datetime.combine(day, time(0, 0), tzinfo=zone))
    assert moment is not None
    return moment


def sealed_through(session: Session, branch: str) -> date | None:
    value = (
        connection_of(session)
        .execute(select(func.max(_DAY.c.day)).where(_DAY.c.branch == branch))
        .scalar()
    )
    return value if isinstance(value, date) else None


def _first_day(session: Session, branch: BranchSettings) -> date | None:
    first = (
        connection_of(session)
        .execute(
            select(_EVENT.c.at)
            .where(_EVENT.c.branch == branch.code)
            .order_by(_EVENT.c.seq)
            .limit(1)
        )
        .scalar()
    )
    aware = utc(first) if isinstance(first, datetime) else None
    return aware.astimezone(branch.zone).date() if aware else None


def last_sealable(branch: BranchSettings, now: datetime) -> date:
    """The latest day no event can reach any more: the day before yesterday."""
    return now.astimezone(branch.zone).date() - timedelta(days=2)


def seal_day(session: Session, branch: BranchSettings, day: date, now: datetime) -> FactDay:
    """Rewrite every fact row of tickets issued on `day` from the log, and its rollup."""
    span = DateRange(
        start=local_midnight(day, branch.zone),
        end=local_midnight(day + timedelta(days=1), branch.zone),
    )
    tickets = log_facts(session, branch, span)
    connection = connection_of(session)
    connection.execute(
        delete(_FACT).where(
            _FACT.c.branch == branch.code,
            _FACT.c.issued_at >= span.start,
            _FACT.c.issued_at < span.end,
        )
    )
    if tickets:
        connection.execute(insert(_FACT), [row_of(t, branch.code) for t in tickets])
    rollup = day_rollup(
        branch.code,
        day,
        now,
        ((t.outcome, t.first_call_at is not None, t.rating) for t in tickets),
    )
    connection.execute(delete(_DAY).where(_DAY.c.branch == branch.code, _DAY.c.day == day))
    connection.execute(insert(_DAY), [rollup])
    return FactDay(**rollup)


def day_rollup(
    branch: str,
    day: date,
    now: datetime,
    tickets: Iterable[tuple[str, bool, int | None]],
) -> dict[str, Any]:
    """A fact_day row from each ticket's (outcome, called, rating)."""
    rollup: dict[str, Any] = {
        "branch": branch,
        "day": day,
        "sealed_at": utc(now),
        "issued": 0,
        "served": 0,
        "no_show": 0,
        "cancelled": 0,
        "called": 0,
        "ratings": 0,
        "satisfied": 0,
    }
    for outcome, called, rating in tickets:
        rollup["issued"] += 1
        if outcome in ("served", "no_show", "cancelled"):
            rollup[outcome] += 1
        rollup["called"] += called
        if rating is not None:
            rollup["ratings"] += 1
            rollup["satisfied"] += rating >= SATISFIED_FROM
    return rollup


def seal_days(
    session: Session, branch: BranchSettings, now: datetime, *, limit: int | None = None
) -> int:
    """Seal the days after the last sealed one up to the day before yesterday, in
    order (at most `limit`). Returns how many were sealed."""
    through = sealed_through(session, branch.code)
    first = through + timedelta(days=1) if through else _first_day(session, branch)
    if first is None:
        return 0
    last = last_sealable(branch, now)
    sealed = 0
    day = first
    while day <= last and (limit is None or sealed < limit):
        seal_day(session, branch, day, now)
        sealed += 1
        day += timedelta(days=1)
    return sealed


def reseal(session: Session, branch: BranchSettings, day: date, now: datetime) -> None:
    """After writing into a day that is already sealed (the simulator filling a past
    day): seal it again, so its facts hold the new tickets too."""
    through = sealed_through(session, branch.code)
    if through is not None and day <= through:
        seal_day(session, branch, day, now)


def rebuild(session: Session, branch: BranchSettings, now: datetime) -> int:
    """Drop every fact and sealed day of the branch and make them again from the log:
    the sealed days, then the ended tickets of the days not sealed yet."""
    connection = connection_of(session)
    connection.execute(delete(_FACT).where(_FACT.c.branch == branch.code))
    connection.execute(delete(_DAY).where(_DAY.c.branch == branch.code))
    sealed = seal_days(session, branch, now)
    through = sealed_through(session, branch.code)
    start = (
        local_midnight(through + timedelta(days=1), branch.zone)
        if through
        else local_midnight(_first_day(session, branch) or now.date(), branch.zone)
    )
    recent = log_facts(session, branch, DateRange(start=start, end=now + timedelta(days=1)))
    ended = [t for t in recent if _has_ended(session, t.ticket_id)]
    if ended:
        connection.execute(insert(_FACT), [row_of(t, branch.code) for t in ended])
    return sealed


def _has_ended(session: Session, ticket_id: int) -> bool:
    """Whether the live hook would have written this ticket's row: it has an event of
    ENDING, or a reinstating call."""
    rows = connection_of(session).execute(
        select(_EVENT.c.type, _EVENT.c.data).where(_EVENT.c.ticket_id == ticket_id)
    )
    for kind, data in rows:
        if kind in ENDING:
            return True
        if kind == EventType.ticket_called and stored_data(data, TicketCalledData).reinstated:
            return True
    return False


# --- reading --------------------------------------------------------------------------


# TicketFacts' fields in order, as stored (segment_start is not: it only matters while
# folding), for building the objects positionally from plain rows.
_POSITIONAL = [
    f.name if f.name in _FACT.c else None
    for f in dataclasses.fields(TicketFacts)
    if not f.name.startswith("_")
]
_PG_READ = (
    "SELECT "
    + ", ".join(f'"{name}"' if name else "NULL" for name in _POSITIONAL)
    + " FROM ticket_fact WHERE branch = %s AND issued_at >= %s AND issued_at < %s"
)


def read_facts(session: Session, branch: str, start: datetime, end: datetime) -> list[TicketFacts]:
    """The fact rows of tickets issued in [start, end). On Postgres straight from the
    driver: a year is ~150,000 rows, and SQLAlchemy's per-value processing of three
    datetimes per row was most of the time (psycopg already gives aware datetimes)."""
    connection = connection_of(session)
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(_PG_READ, (branch, utc(start), utc(end)))
            return [TicketFacts(*row) for row in cursor.fetchall()]
    rows = connection.execute(
        _READ.where(
            _FACT.c.branch == branch,
            _FACT.c.issued_at >= utc(start),
            _FACT.c.issued_at < utc(end),
        )
    )
    return _facts_of(rows)


def facts_in(session: Session, branch: BranchSettings, span: DateRange) -> list[TicketFacts]:
    """The tickets of a report: fact rows for the sealed days, the log for the rest."""
    through = sealed_through(session, branch.code)
    if through is None:
        return log_facts(session, branch, span)
    cutoff = local_midnight(through + timedelta(days=1), branch.zone)
    start, end = utc(span.start), utc(span.end)
    assert start is not None and end is not None
    if end <= cutoff:
        return read_facts(session, branch.code, start, end)
    if start >= cutoff:
        return log_facts(session, branch, span)
    return read_facts(session, branch.code, start, cutoff) + log_facts(
        session, branch, DateRange(start=cutoff, end=end)
    )
