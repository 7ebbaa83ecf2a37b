"""`GET /overview`: every branch at a glance, in a fixed number of statements
however many branches there are (four: waiting tickets per service, counters, today's
ended tickets from the fact table, services' targets; none grows with the event log).

Per branch: `{branch, name, waiting, longest_wait_s, open_counters, paused_counters,
counters, served_today, within_target_pct, satisfied_pct, ratings_today, alerts}`.

- waiting / longest_wait_s: today's (business day) waiting tickets and the longest
  of their waits so far (now − enqueued_at);
- served_today, within_target_pct, satisfied_pct: the statistics' definitions
  (docs/statistics.md) over the tickets issued today (local calendar day), read from
  the fact rows written when each ticket ended; these figures only concern ended
  tickets, so they equal the log's report of today (tests/hq/test_overview.py);
- alerts: a service whose longest wait is past its target (`over_target`, red), and
  one that customers wait for while no open counter serves it (`no_open_counter`,
  amber; tickets transferred to one counter are not counted), as on the dashboard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from server.config import BranchSettings
from server.db import connection_of
from server.hq.answers import AlertCounter, BranchAlert, BranchOverview, NoOpenCounter, OverTarget
from server.models import (
    Counter,
    CounterState,
    Service,
    Ticket,
    TicketFact,
    TicketStatus,
    as_utc,
    utc,
)
from server.public import Names
from server.queue.calendar import business_day, day_span
from server.stats.compute import SATISFIED_FROM

_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_COUNTER = Counter.__table__  # type: ignore[attr-defined]
_FACT = TicketFact.__table__  # type: ignore[attr-defined]
_SERVICE = Service.__table__  # type: ignore[attr-defined]


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def _waiting(
    session: Session, business_days: dict[str, date]
) -> dict[tuple[str, str], tuple[int, int, datetime | None]]:
    """(branch, service) -> (waiting, of them for any counter, oldest enqueued_at), in
    each branch's business day."""
    days: dict[date, list[str]] = defaultdict(list)
    for code, day in business_days.items():
        days[day].append(code)
    rows = connection_of(session).execute(
        select(
            _TICKET.c.branch,
            _TICKET.c.service,
            func.count(),
            func.sum(case((_TICKET.c.target_counter.is_(None), 1), else_=0)),
            func.min(_TICKET.c.enqueued_at),
        )
        .where(
            _TICKET.c.status == TicketStatus.waiting.name,
            or_(
                *(
                    and_(_TICKET.c.branch.in_(codes), _TICKET.c.business_day == day)
                    for day, codes in days.items()
                )
            ),
        )
        .group_by(_TICKET.c.branch, _TICKET.c.service)
    )
    return {(b, s): (int(n), int(free or 0), utc(oldest)) for b, s, n, free, oldest in rows}


def _today(
    session: Session, branches: Sequence[BranchSettings], business_days: dict[str, date]
) -> dict[str, dict[str, int]]:
    """branch -> counts of the ended tickets issued in its business day (from its reset
    time, as every "today" of LobbyQ: issue 12)."""
    days: dict[tuple[datetime, datetime], list[str]] = defaultdict(list)
    for branch in branches:
        start, end = day_span(branch, business_days[branch.code])
        days[(as_utc(start), as_utc(end))].append(branch.code)
    served = _FACT.c.outcome == "served"
    timed = and_(served, _FACT.c.wait_s.is_not(None))
    within = and_(timed, _FACT.c.wait_s <= _SERVICE.c.target_wait_s)
    rows = connection_of(session).execute(
        select(
            _FACT.c.branch,
            func.sum(case((served, 1), else_=0)),
            func.sum(case((timed, 1), else_=0)),
            func.sum(case((within, 1), else_=0)),
            func.count(_FACT.c.rating),
            func.sum(case((_FACT.c.rating >= SATISFIED_FROM, 1), else_=0)),
        )
        .select_from(
            _FACT.outerjoin(
                _SERVICE,
                and_(_SERVICE.c.branch == _FACT.c.branch, _SERVICE.c.code == _FACT.c.issue_service),
            )
        )
        .where(
            or_(
                *(
                    and_(
                        _FACT.c.branch.in_(codes),
                        _FACT.c.issued_at >= start,
                        _FACT.c.issued_at < end,
                    )
                    for (start, end), codes in days.items()
                )
            )
        )
        .group_by(_FACT.c.branch)
    )
    today: dict[str, dict[str, int]] = {}
    for branch, n_served, n_timed, n_within, n_rated, n_satisfied in rows:
        today[branch] = {
            "served": int(n_served or 0),
            "timed": int(n_timed or 0),
            "within": int(n_within or 0),
            "ratings": int(n_rated or 0),
            "satisfied": int(n_satisfied or 0),
        }
    return today


def _counters(
    session: Session, codes: Sequence[str]
) -> dict[str, list[tuple[str, str, list[str]]]]:
    rows = connection_of(session).execute(
        select(_COUNTER.c.branch, _COUNTER.c.number, _COUNTER.c.state, _COUNTER.c.services)
        .where(_COUNTER.c.branch.in_(list(codes)))
        .order_by(_COUNTER.c.id)
    )
    found: dict[str, list[tuple[str, str, list[str]]]] = defaultdict(list)
    for branch, number, state, services in rows:
        found[branch].append((str(number), CounterState[str(state)].value, list(services or [])))
    return found


def branch_alerts(
    branch: BranchSettings,
    waiting: dict[tuple[str, str], tuple[int, int, datetime | None]],
    counters: list[tuple[str, str, list[str]]],
    now: datetime,
) -> list[BranchAlert]:
    alerts: list[BranchAlert] = []
    for service in branch.services:
        count, for_anyone, oldest = waiting.get((branch.code, service.code), (0, 0, None))
        if not count:
            continue
        name = Names.of(service.name)
        longest = (now - oldest).total_seconds() if oldest else 0.0
        target = service.target_wait_min * 60
        if longest > target:
            alerts.append(
                OverTarget(
                    kind="over_target",
                    service=service.code,
                    service_name=name,
                    waiting=count,
                    longest_wait_s=round(longest),
                    target_wait_s=round(target),
                )
            )
        serving = [(n, state) for n, state, services in counters if service.code in services]
        if for_anyone and not any(state == "open" for _, state in serving):
            alerts.append(
                NoOpenCounter(
                    kind="no_open_counter",
                    service=service.code,
                    service_name=name,
                    waiting=for_anyone,
                    counters=[
                        AlertCounter(number=n, name=Names(**branch.counter_name(n)), state=state)
                        for n, state in serving
                    ],
                )
            )
    return alerts


def overview(
    session: Session, *, branches: Sequence[BranchSettings], now: datetime
) -> list[BranchOverview]:
    """The use-case behind `GET /overview` and `/hq`."""
    if not branches:
        return []
    # Each branch's business day, worked out once (its reset time, its timezone).
    business_days = {b.code: business_day(b, now) for b in branches}
    waiting = _waiting(session, business_days)
    today = _today(session, branches, business_days)
    counters = _counters(session, [b.code for b in branches])
    by_branch: dict[str, list[tuple[int, int, datetime | None]]] = defaultdict(list)
    for (code, _), line in waiting.items():
        by_branch[code].append(line)
    rows = []
    for branch in branches:
        mine = by_branch.get(branch.code, [])
        oldest_all = [oldest for _, _, oldest in mine if oldest is not None]
        states = [state for _, state, _ in counters.get(branch.code, [])]
        counts = today.get(branch.code, {})
        served = counts.get("served", 0)
        rows.append(
            BranchOverview(
                branch=branch.code,
                name=Names.of(branch.name),
                waiting=sum(n for n, _, _ in mine),
                longest_wait_s=(
                    round((now - min(oldest_all)).total_seconds()) if oldest_all else None
                ),
                open_counters=states.count("open"),
                paused_counters=states.count("paused"),
                counters=len(states),
                served_today=served,
                within_target_pct=_pct(counts.get("within", 0), counts.get("timed", 0)),
                ratings_today=counts.get("ratings", 0),
                satisfied_pct=_pct(counts.get("satisfied", 0), counts.get("ratings", 0)),
                alerts=branch_alerts(branch, waiting, counters.get(branch.code, []), now),
            )
        )
    return rows
