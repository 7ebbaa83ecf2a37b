"""What the branch's customers ask for, learned from the event log: arrivals per
service per 30-minute slot on one weekday (averaged over the last weeks), each
service's service times and its mix of priority classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from server.config import BranchSettings
from server.db import connection_of
from server.errors import InvalidInput
from server.events import EventType
from server.models import TicketEvent, utc
from server.queue.calendar import BusinessDays, business_day
from server.queue.estimate import _first_seq_from

SLOT_MIN = 30
SLOTS = 24 * 60 // SLOT_MIN
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TAIL = timedelta(hours=6)  # a day's tickets are called and served by then

_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_KINDS = [
    str(EventType.ticket_issued),
    str(EventType.ticket_called),
    str(EventType.ticket_started),
    str(EventType.ticket_completed),
]
_EVENTS = (
    sa_select(_EVENT.c.type, _EVENT.c.at, _EVENT.c.ticket_id, _EVENT.c.data)
    .where(
        _EVENT.c.branch == bindparam("branch"),
        _EVENT.c.seq >= bindparam("first"),
        _EVENT.c.seq < bindparam("last"),
        _EVENT.c.type.in_(_KINDS),
    )
    .order_by(_EVENT.c.seq)
)


@dataclass
class ServiceDemand:
    code: str
    target_s: float
    rates: list[float]  # arrivals per hour in each slot of the day (SLOTS of them)
    times_s: list[float]  # observed service times (call or start -> completion)
    priorities: dict[str, float] = field(default_factory=dict)  # class -> share

    @property
    def mean_s(self) -> float:
        return sum(self.times_s) / len(self.times_s)


@dataclass
class Demand:
    weekday: str
    days: list[date]  # the days learned from (those with tickets)
    services: dict[str, ServiceDemand]

    def open_slots(self) -> list[int]:
        """The slots with any arrivals, first to last."""
        busy = [i for i in range(SLOTS) if any(s.rates[i] > 0 for s in self.services.values())]
        return list(range(busy[0], busy[-1] + 1)) if busy else []


def weekday_index(weekday: str) -> int:
    try:
        return WEEKDAYS.index(weekday.strip().lower()[:3])
    except ValueError as exc:
        raise InvalidInput(
            f"weekday must be one of {', '.join(WEEKDAYS)}", code="invalid_weekday"
        ) from exc


def today_weekday(branch: BranchSettings, now: datetime) -> str:
    """The weekday of the branch's business day at `now` (its reset time, its zone):
    the plan's default, on the server's clock."""
    return WEEKDAYS[business_day(branch, now).weekday()]


def slot_label(slot: int) -> str:
    start = slot * SLOT_MIN
    end = start + SLOT_MIN
    return f"{start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}"


def learn_demand(
    session: Session, branch: BranchSettings, weekday: str | None, weeks: int, today: date
) -> Demand:
    """The last `weeks` days of that weekday (default: `today`'s) before `today` (the
    business day the plan is made on), from the event log (read by sequence number:
    the (branch, seq) index, a binary search for each day)."""
    if not 1 <= weeks <= 26:
        raise InvalidInput("weeks must be between 1 and 26", code="invalid_weeks")
    wanted = weekday_index(weekday) if weekday is not None else today.weekday()
    back = (today.weekday() - wanted) % 7 or 7
    days = [today - timedelta(days=back + 7 * k) for k in range(weeks)]
    counts: dict[str, list[float]] = {s.code: [0.0] * SLOTS for s in branch.services}
    times: dict[str, list[float]] = {s.code: [] for s in branch.services}
    classes: dict[str, dict[str, int]] = {s.code: {} for s in branch.services}
    learned = []
    connection = connection_of(session)
    for day in days:
        start = datetime.combine(day, time(0), tzinfo=branch.zone)
        first = _first_seq_from(session, branch.code, start)
        last = _first_seq_from(session, branch.code, start + timedelta(days=1) + TAIL)
        rows = connection.execute(_EVENTS, {"branch": branch.code, "first": first, "last": last})
        if _fold_day(rows, branch, BusinessDays.of(branch, day, 1), counts, times, classes):
            learned.append(day)
    services = {}
    for s in branch.services:
        n = max(1, len(learned))
        total = sum(classes[s.code].values())
        services[s.code] = ServiceDemand(
            code=s.code,
            target_s=s.target_wait_min * 60,
            rates=[c / n * (60 / SLOT_MIN) for c in counts[s.code]],
            times_s=times[s.code] or [s.service_time_min * 60],
            priorities={k: v / total for k, v in classes[s.code].items()} if total else {},
        )
    return Demand(weekday=WEEKDAYS[wanted], days=learned, services=services)


def _fold_day(
    rows: Sequence[Any] | Any,
    branch: BranchSettings,
    day: BusinessDays,
    counts: dict[str, list[float]],
    times: dict[str, list[float]],
    classes: dict[str, dict[str, int]],
) -> bool:
    """Adds one business day's arrivals and service times (tickets issued from its
    reset time to the next one's); False when it had no ticket."""
    begun: dict[int, datetime] = {}  # ticket -> its last call or start
    mine: set[int] = set()
    for kind, at, ticket_id, data in rows:
        moment = utc(at)
        if moment is None or ticket_id is None:
            continue
        values = data if isinstance(data, dict) else {}
        if kind == EventType.ticket_issued:
            if day.day_of(moment) is None:
                continue
            service = str(values.get("service") or "")
            if service not in counts:
                continue
            mine.add(ticket_id)
            local = moment.astimezone(branch.zone)
            counts[service][(local.hour * 60 + local.minute) // SLOT_MIN] += 1
            priority = str(values.get("priority") or "normal")
            classes[service][priority] = classes[service].get(priority, 0) + 1
        elif ticket_id not in mine:
            continue
        elif kind in (EventType.ticket_called, EventType.ticket_started):
            begun[ticket_id] = moment
        elif kind == EventType.ticket_completed and ticket_id in begun:
            service = str(values.get("service") or "")
            if service in times:
                times[service].append((moment - begun.pop(ticket_id)).total_seconds())
    return bool(mine)
