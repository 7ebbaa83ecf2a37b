"""Wait-time statistics, computed from the TicketEvent log and nothing else.

The exact definitions are written in docs/statistics.md; this module follows
them line by line:

1. The tickets of a report are those whose `ticket.issued` event falls in the
   range [start, end). All their events are read, in seq order.
2. Each ticket is folded into one `TicketFacts` (its first call, its outcome,
   its final service, the counter and teller that last held it...).
3. Each ticket lands in exactly one row per grouping; a row's figures and the
   totals are computed by the same function from the tickets in it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Text
from sqlalchemy import cast as sa_cast
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from server.config import BranchSettings
from server.db import connection_of
from server.errors import InvalidInput
from server.events import (
    EventType,
    TicketCompletedData,
    TicketIssuedData,
    TicketRatedData,
    TicketTransferredData,
    stored_data,
)
from server.models import TicketEvent, User, utc
from server.queue.calendar import business_day, day_starts, today_window
from server.stats.answers import StatsOut, StatsRow

GroupBy = Literal["service", "counter", "teller", "priority", "hour", "day"]
GROUPINGS: tuple[str, ...] = ("service", "counter", "teller", "priority", "hour", "day")
Outcome = Literal["served", "no_show", "cancelled", "open"]

TICKET_EVENTS = (
    EventType.ticket_issued,
    EventType.ticket_called,
    EventType.ticket_recalled,
    EventType.ticket_started,
    EventType.ticket_completed,
    EventType.ticket_no_show,
    EventType.ticket_transferred,
    EventType.ticket_cancelled,
    EventType.ticket_rated,
)
SATISFIED_FROM = 4  # a rating of 4 or 5 (of 5) is "satisfied"
MAX_RANGE_DAYS = 366
# A ticket lives within one business day; its events count up to the end of the day
# after the local day it was issued on (`cutoff_of`), so a ticket issued at 23:59 keeps
# its call and completion. The log is read this long after the range ends (two days and
# a daylight-saving hour), and each ticket's own cutoff decides.
TAIL = timedelta(hours=50)

# The columns of a row, in API.md order, then the extras.
FIGURES = (
    "issued",
    "served",
    "no_show",
    "cancelled",
    "transferred",
    "wait_avg_s",
    "wait_p50_s",
    "wait_p90_s",
    "wait_max_s",
    "service_avg_s",
    "service_p90_s",
    "within_target_pct",
    "ratings",
    "satisfied_pct",
    "called",
    "no_show_pct",
    "transfer_wait_avg_s",
    "recalls",
    "rating_avg",
)


# --- one ticket, folded from its events ------------------------------------------


@dataclass(slots=True)
class TicketFacts:
    ticket_id: int
    number: str = ""
    issued_at: datetime | None = None
    enqueued_at: datetime | None = None
    issue_service: str = ""
    service: str = ""  # the final service: where it was completed, or where it is now
    priority: str = "normal"
    estimated_wait_s: int | None = None  # as promised at issue
    first_call_at: datetime | None = None
    segment_start: datetime | None = None  # last call, or the start after it
    outcome: Outcome = "open"
    counter: str | None = None  # the counter that last held it
    teller: str | None = None
    service_s: float | None = None
    transferred: bool = False
    transfer_wait_s: float | None = None  # summed waits from each transfer to the next call
    recalls: int = 0
    rating: int | None = None
    _transfer_at: datetime | None = field(default=None, repr=False)

    @property
    def wait_s(self) -> float | None:
        """First call - enqueued_at (at issue). Nothing later changes it."""
        if self.first_call_at is None or self.enqueued_at is None:
            return None
        return (self.first_call_at - self.enqueued_at).total_seconds()

    def apply(self, event: LoggedEvent) -> None:
        """One event of the ticket, in seq order. Only the kinds whose payload the figures
        read have it parsed (into its model of server/events.py): a report folds up to a
        year of events, most of them calls and starts that need only the row's columns."""
        at = utc(event.at)
        assert at is not None
        kind = event.type
        if kind == EventType.ticket_issued:
            issued = stored_data(event.data, TicketIssuedData)
            self.number = issued.number
            self.issued_at = at
            self.enqueued_at = utc(issued.enqueued_at) or at
            self.issue_service = self.service = issued.service
            self.priority = issued.priority
            self.estimated_wait_s = issued.estimated_wait_s
        elif kind == EventType.ticket_called:
            if self.first_call_at is None:
                self.first_call_at = at
            if self._transfer_at is not None:
                waited = (at - self._transfer_at).total_seconds()
                self.transfer_wait_s = (self.transfer_wait_s or 0.0) + waited
                self._transfer_at = None
            self.segment_start = at
            self.counter, self.teller = event.counter, event.teller
            self.outcome = "open"  # a reinstated no-show is no longer one
        elif kind == EventType.ticket_recalled:
            self.recalls += 1
        elif kind == EventType.ticket_started:
            self.segment_start = at
        elif kind == EventType.ticket_completed:
            self.outcome = "served"
            self.service = stored_data(event.data, TicketCompletedData).service or self.service
            self.counter, self.teller = event.counter, event.teller
            start = self.segment_start or self.first_call_at
            self.service_s = (at - start).total_seconds() if start else None
            # A rating typed by the teller at completion is never counted (API.md v1.1).
        elif kind == EventType.ticket_no_show:
            self.outcome = "no_show"
            self.counter, self.teller = event.counter, event.teller
        elif kind == EventType.ticket_transferred:
            self.transferred = True
            moved = stored_data(event.data, TicketTransferredData)
            self.service = moved.to_service or moved.service or self.service
            self._transfer_at = at
            self.counter = event.counter or self.counter
            self.teller = event.teller or self.teller
        elif kind == EventType.ticket_cancelled:
            self.outcome = "cancelled"
        elif kind == EventType.ticket_rated:
            rating = stored_data(event.data, TicketRatedData).rating
            if rating is not None:
                self.rating = rating


def cutoff_of(issued_at: datetime, zone: ZoneInfo) -> datetime:
    """A ticket's events count until 00:00 local two days after its issue day."""
    day = issued_at.astimezone(zone).date() + timedelta(days=2)
    cutoff = utc(datetime.combine(day, time(0, 0), tzinfo=zone))
    assert cutoff is not None
    return cutoff


class LoggedEvent(Protocol):
    """A logged ticket event as the fold reads it: a row of _LOG (its payload as JSON
    text) or of the event table (decoded)."""

    @property
    def type(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def data(self) -> str | dict[str, Any] | None: ...
    @property
    def ticket_id(self) -> int | None: ...
    @property
    def counter(self) -> str | None: ...
    @property
    def teller(self) -> str | None: ...


def fold(events: Iterable[LoggedEvent], zone: ZoneInfo) -> dict[int, TicketFacts]:
    """Events in seq order -> one TicketFacts per ticket that has its issued event."""
    facts: dict[int, TicketFacts] = {}
    cutoffs: dict[int, datetime] = {}
    for event in events:
        if event.ticket_id is None:
            continue
        ticket = facts.get(event.ticket_id)
        if ticket is None:
            if event.type != EventType.ticket_issued:
                continue  # issued before the range: not part of this report
            ticket = facts[event.ticket_id] = TicketFacts(ticket_id=event.ticket_id)
            at = utc(event.at)
            assert at is not None
            cutoffs[event.ticket_id] = cutoff_of(at, zone)
        elif utc(event.at) >= cutoffs[event.ticket_id]:  # type: ignore[operator]
            continue
        ticket.apply(event)
    return facts


# --- the date range, in the branch's timezone ---------------------------------------


@dataclass(frozen=True)
class DateRange:
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive


FIRST_YEAR, LAST_YEAR = 1970, 9000  # report bounds outside these are refused


def _parse_bound(value: str, branch: BranchSettings, *, is_end: bool, name: str) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise OverflowError(day)  # said as out of range below
            if is_end:  # a date as `to` includes that whole day
                day += timedelta(days=1)
            moment = day_starts(branch, day)  # a day is a business day: from the reset time
        else:
            moment = datetime.fromisoformat(text)
    except OverflowError as exc:
        raise InvalidInput(
            f"{name}={value!r} is out of range (years {FIRST_YEAR}-{LAST_YEAR})",
            code="invalid_date",
        ) from exc
    except ValueError as exc:
        raise InvalidInput(
            f"{name}={value!r} is not a date (YYYY-MM-DD) or an ISO datetime",
            code="invalid_date",
        ) from exc
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        # 0001-01-01 or 9999-12-31 overflow when moved to UTC or given a margin.
        raise InvalidInput(
            f"{name}={value!r} is out of range (years {FIRST_YEAR}-{LAST_YEAR})",
            code="invalid_date",
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=branch.zone)


def parse_range(
    branch: BranchSettings, from_: str | None, to: str | None, now: datetime
) -> DateRange:
    """Dates or ISO datetimes, local to the branch; the default is today. The business
    day the range begins in is worked out once: `now`'s, or `from`'s."""
    if from_:
        start = _parse_bound(from_, branch, is_end=False, name="from")
        first_ends = day_starts(branch, business_day(branch, start) + timedelta(days=1))
    else:
        start, first_ends = today_window(branch, now)
    end = _parse_bound(to, branch, is_end=True, name="to") if to else first_ends
    if end <= start:
        raise InvalidInput("`to` must come after `from`", code="invalid_range")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidInput(f"a report spans at most {MAX_RANGE_DAYS} days", code="invalid_range")
    return DateRange(start=start, end=end)


def check_group_by(value: str) -> GroupBy:
    if value not in GROUPINGS:
        raise InvalidInput(
            f"group_by={value!r}: use one of {', '.join(GROUPINGS)}", code="invalid_group_by"
        )
    return value  # type: ignore[return-value]


# --- reading the log ----------------------------------------------------------------


def load_facts(session: Session, branch: BranchSettings, span: DateRange) -> list[TicketFacts]:
    """The report's tickets: from the fact table for sealed days, from the log for the
    rest (server/stats/facts.py); the same figures as `log_facts` alone."""
    from server.stats.facts import facts_in

    return facts_in(session, branch, span)


_EVENTS = TicketEvent.__table__  # type: ignore[attr-defined]
_LOG = (
    sa_select(
        _EVENTS.c.ticket_id,
        _EVENTS.c.type,
        _EVENTS.c.at,
        # As JSON text: only the kinds whose payload the fold reads parse it (below).
        sa_cast(_EVENTS.c.data, Text).label("data"),
        _EVENTS.c.counter,
        _EVENTS.c.teller,
    )
    .where(_EVENTS.c.type.in_([str(t) for t in TICKET_EVENTS]))
    .order_by(_EVENTS.c.seq)
)


def log_facts(session: Session, branch: BranchSettings, span: DateRange) -> list[TicketFacts]:
    """The report's tickets folded from the event log: the definition."""
    # Plain rows of the columns the fold reads, not ORM objects: a day of a busy
    # branch is thousands of events, and building entities was most of the time.
    events = connection_of(session).execute(
        _LOG.where(
            _EVENTS.c.branch == branch.code,
            _EVENTS.c.at >= utc(span.start),
            _EVENTS.c.at < utc(span.end + TAIL),
        )
    )
    start, end = utc(span.start), utc(span.end)
    assert start is not None and end is not None
    return [
        facts
        for facts in fold(events, branch.zone).values()
        if facts.issued_at is not None and start <= facts.issued_at < end
    ]


# --- figures ------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


US = 1_000_000  # sums are kept in whole microseconds: exact, whatever the order


def _us(seconds: float) -> int:
    """A duration of the log (datetimes to the microsecond) as whole microseconds."""
    return round(seconds * US)


def _mean_s(total_us: int, count: int) -> float | None:
    return None if count == 0 else round(total_us / (count * US), 1)


@dataclass(slots=True)
class Tally:
    """What a row's figures are made of: counts, exact sums, and the percentiles and
    maximum picked from the values (nearest rank). The log path makes it from the
    tickets (`tally`); PostgreSQL makes the same in SQL (server/stats/aggregate.py)."""

    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    transferred: int = 0
    called: int = 0  # tickets with a wait
    wait_us: int = 0
    wait_max: float | None = None
    wait_p50: float | None = None
    wait_p90: float | None = None
    timed: int = 0  # served tickets with a wait
    within: int = 0  # ... of which within the target of their issue service
    service_n: int = 0
    service_us: int = 0
    service_p90: float | None = None
    ratings: int = 0
    satisfied: int = 0
    rating_sum: int = 0
    transfer_n: int = 0
    transfer_us: int = 0
    recalls: int = 0


def targets_of(branch: BranchSettings) -> dict[str, float]:
    """The target wait in seconds of each service (a ticket's issue service decides)."""
    return {s.code: float(s.target_wait_min * 60) for s in branch.services}


def tally(tickets: Sequence[TicketFacts], branch: BranchSettings) -> Tally:
    targets = targets_of(branch)
    waits = [w for t in tickets if (w := t.wait_s) is not None]
    served = [t for t in tickets if t.outcome == "served"]
    service_times = [s for t in served if (s := t.service_s) is not None]
    timed = [w for t in served if (w := t.wait_s) is not None]
    within = sum(
        1
        for t in served
        if t.wait_s is not None and t.wait_s <= targets.get(t.issue_service, math.inf)
    )
    rated = [t.rating for t in tickets if t.rating is not None]
    transfer_waits = [w for t in tickets if (w := t.transfer_wait_s) is not None]
    return Tally(
        issued=len(tickets),
        served=len(served),
        no_show=sum(1 for t in tickets if t.outcome == "no_show"),
        cancelled=sum(1 for t in tickets if t.outcome == "cancelled"),
        transferred=sum(1 for t in tickets if t.transferred),
        called=len(waits),
        wait_us=sum(_us(w) for w in waits),
        wait_max=max(waits) if waits else None,
        wait_p50=percentile(waits, 50),
        wait_p90=percentile(waits, 90),
        timed=len(timed),
        within=within,
        service_n=len(service_times),
        service_us=sum(_us(s) for s in service_times),
        service_p90=percentile(service_times, 90),
        ratings=len(rated),
        satisfied=sum(1 for r in rated if r >= SATISFIED_FROM),
        rating_sum=sum(rated),
        transfer_n=len(transfer_waits),
        transfer_us=sum(_us(w) for w in transfer_waits),
        recalls=sum(t.recalls for t in tickets),
    )


def figures_of(t: Tally) -> dict[str, Any]:
    """The columns of a row (docs/statistics.md) from its tally."""
    return {
        "issued": t.issued,
        "served": t.served,
        "no_show": t.no_show,
        "cancelled": t.cancelled,
        "transferred": t.transferred,
        "wait_avg_s": _mean_s(t.wait_us, t.called),
        "wait_p50_s": _r(t.wait_p50),
        "wait_p90_s": _r(t.wait_p90),
        "wait_max_s": _r(t.wait_max),
        "service_avg_s": _mean_s(t.service_us, t.service_n),
        "service_p90_s": _r(t.service_p90),
        "within_target_pct": _pct(t.within, t.timed),
        "ratings": t.ratings,
        "satisfied_pct": _pct(t.satisfied, t.ratings),
        "called": t.called,
        "no_show_pct": _pct(t.no_show, t.issued),
        "transfer_wait_avg_s": _mean_s(t.transfer_us, t.transfer_n),
        "recalls": t.recalls,
        "rating_avg": round(t.rating_sum / t.ratings, 2) if t.ratings else None,
    }


def figures(tickets: Sequence[TicketFacts], branch: BranchSettings) -> dict[str, Any]:
    return figures_of(tally(tickets, branch))


# --- grouping -------------------------------------------------------------------------


def key_of(ticket: TicketFacts, group_by: GroupBy, branch: BranchSettings) -> str | int | None:
    if group_by == "service":
        return ticket.service
    if group_by == "counter":
        return ticket.counter
    if group_by == "teller":
        return ticket.teller
    if group_by == "priority":
        return ticket.priority
    assert ticket.issued_at is not None
    local = ticket.issued_at.astimezone(branch.zone)
    return local.hour if group_by == "hour" else local.date().isoformat()


def _order(
    keys: Iterable[str | int | None], group_by: GroupBy, branch: BranchSettings
) -> list[Any]:
    listed: list[str] = []
    if group_by == "service":
        listed = [s.code for s in branch.services]
    elif group_by == "counter":
        listed = [c.number for c in branch.counters]
    elif group_by == "priority":
        listed = [p.code for p in branch.all_priorities()]
    rank = {code: i for i, code in enumerate(listed)}

    def sort_key(key: str | int | None) -> tuple[int, int, str]:
        if key is None:
            return (2, 0, "")
        if key in rank:
            return (0, rank[str(key)], "")
        return (1, key if isinstance(key, int) else 0, str(key))

    return sorted(set(keys), key=sort_key)


NOT_CALLED = {"zh": "未叫号", "en": "Not called"}


def name_of(
    key: str | int | None, group_by: GroupBy, branch: BranchSettings, tellers: dict[str, str]
) -> dict[str, str]:
    if key is None:
        return dict(NOT_CALLED)
    if group_by == "service":
        service = branch.service(str(key))
        return service.name.model_dump() if service else {"zh": str(key), "en": str(key)}
    if group_by == "counter":
        return branch.counter_name(str(key))
    if group_by == "teller":
        shown = tellers.get(str(key)) or str(key)
        return {"zh": shown, "en": shown}
    if group_by == "priority":
        priority = branch.priority(str(key))
        return priority.shown_name() if priority else {"zh": str(key), "en": str(key)}
    if group_by == "hour":
        hour = int(key)
        span = f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"
        return {"zh": span, "en": span}
    return {"zh": str(key), "en": str(key)}


def teller_names(session: Session) -> dict[str, str]:
    return {u.username: u.display_name or u.username for u in session.exec(select(User))}


@dataclass(frozen=True)
class Report:
    branch: str
    group_by: GroupBy
    span: DateRange
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    timezone: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "group_by": self.group_by,
            "from": self.span.start.isoformat(),
            "to": self.span.end.isoformat(),
            "timezone": self.timezone,
            "rows": self.rows,
            "totals": self.totals,
        }

    def answer(self) -> StatsOut:
        """GET /stats' answer: the rows' figures as their typed shape."""
        return StatsOut(
            branch=self.branch,
            group_by=self.group_by,
            from_=self.span.start.isoformat(),
            to=self.span.end.isoformat(),
            timezone=self.timezone,
            rows=[StatsRow(**row) for row in self.rows],
            totals=StatsRow(**self.totals),
        )


Key = str | int | None


def group_tickets(
    tickets: Sequence[TicketFacts], group_by: GroupBy, branch: BranchSettings
) -> dict[Key, list[TicketFacts]]:
    groups: dict[Key, list[TicketFacts]] = {}
    for ticket in tickets:
        groups.setdefault(key_of(ticket, group_by, branch), []).append(ticket)
    return groups


def build_report(
    tickets: Sequence[TicketFacts],
    *,
    branch: BranchSettings,
    group_by: GroupBy,
    span: DateRange,
    tellers: dict[str, str] | None = None,
) -> Report:
    """The report of these tickets: the definition (the log path)."""
    groups = group_tickets(tickets, group_by, branch)
    return report_of(
        {key: tally(group, branch) for key, group in groups.items()},
        tally(tickets, branch),
        branch=branch,
        group_by=group_by,
        span=span,
        tellers=tellers,
    )


def report_of(
    rows: dict[Key, Tally],
    total: Tally,
    *,
    branch: BranchSettings,
    group_by: GroupBy,
    span: DateRange,
    tellers: dict[str, str] | None = None,
) -> Report:
    """A report from the tally of each row and of all its tickets."""
    return Report(
        branch=branch.code,
        group_by=group_by,
        span=span,
        rows=[
            {
                "key": key,
                "name": name_of(key, group_by, branch, tellers or {}),
                **figures_of(rows[key]),
            }
            for key in _order(rows, group_by, branch)
        ],
        totals={"key": "total", "name": {"zh": "合计", "en": "Total"}, **figures_of(total)},
        timezone=branch.timezone,
    )


def branch_report(
    session: Session,
    *,
    branch: BranchSettings,
    group_by: GroupBy,
    span: DateRange,
) -> Report:
    """The use-case behind GET /stats, /stats.csv and `lobbyq stats`: the report of
    `build_report` over `load_facts`, tallied in the database where it can be
    (server/stats/aggregate.py)."""
    from server.stats.aggregate import fast_report

    return fast_report(
        session, branch=branch, group_by=group_by, span=span, tellers=teller_names(session)
    )
