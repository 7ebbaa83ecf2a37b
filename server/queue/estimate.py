"""The estimated wait: the counters played forward through the waiting line
(docs/statistics.md, "The estimate").

Cost: three SQL statements per call (the counters with the tickets they hold, the
line's columns with a LIMIT of MAX_PLAYED, the recent service times of the services
in play), none that reads more than MAX_PLAYED rows, no ORM objects; the play itself
runs on plain floats. Once a day, the counters' habits are read from the last days'
event log and cached (_habits)."""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import String, bindparam, func, literal, type_coerce, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session

from server.config import BranchSettings, ServiceSettings
from server.db import connection_of
from server.models import HELD, Counter, CounterState, Ticket, TicketEvent, TicketStatus, utc
from server.queue import ordering
from server.queue.calendar import BusinessDays
from server.queue.line import LINE_COLUMNS
from server.queue.today import Today

# The forward play below reorders the line at most this often (simulated seconds)
# and this many times (a reorder that cannot change the order is skipped), and is
# skipped for longer lines, so that an estimate stays cheap however long the queue
# (a branch never has that many waiting).
REORDER_EVERY_S = 60.0
MAX_REORDERS = 30
MAX_PLAYED = 1000
# A paused counter (lunch, a break) is not gone: it is expected back this long after
# it paused, and at the earliest in PAUSE_MIN_LEFT_S when it has been away longer.
PAUSE_BACK_S = 15 * 60.0
PAUSE_MIN_LEFT_S = 60.0
# A counter busy with a customer is free after the rest of the mean service time, and
# not before this share of it (the customer may be slower than the mean).
MIN_REST_SHARE = 0.25

_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_COUNTER = Counter.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]

# The counters, each with the ticket it holds (if any), in one statement.
_COUNTERS = (
    sa_select(
        _COUNTER.c.number,
        # As stored (JSON text): decoded through _services' cache, not once per row.
        type_coerce(_COUNTER.c.services, String),
        _COUNTER.c.state,
        _COUNTER.c.state_since,
        _TICKET.c.service,
        _TICKET.c.called_at,
        _TICKET.c.status,
    )
    .select_from(_COUNTER.outerjoin(_TICKET, _TICKET.c.id == _COUNTER.c.current_ticket_id))
    .where(_COUNTER.c.branch == bindparam("branch"))
)


# The counters' habits, learned from the last days' event log: when each counter usually
# opens, and the pauses it takes at about the same time on most days (a lunch rota).
HISTORY_DAYS = 7
HISTORY_MAX_EVENTS = 20000
HABIT_WINDOW_S = 30 * 60.0  # pauses starting this close on different days are one habit
LATE_GRACE_S = 15 * 60.0  # a counter later than its usual opening by more: not expected


@dataclass(frozen=True)
class _Habit:
    start: float  # seconds after local midnight (median over the days it happened)
    length: float  # seconds (median)


@dataclass(frozen=True)
class _Habits:
    opens: dict[str, float]  # usual first opening of the day, seconds after midnight
    pauses: dict[str, list[_Habit]]


_HABITS: dict[tuple[str, str, date], _Habits] = {}


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _seconds_of_day(moment: datetime, branch: BranchSettings) -> float:
    local = moment.astimezone(branch.zone)
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def learn_habits(
    changes: Iterable[tuple[date, str, float, str]],
) -> _Habits:
    """From (business day, counter, seconds after midnight, new state) in time order:
    each counter's usual opening (median of its first opening on the days it opened)
    and its usual pauses (pauses starting within HABIT_WINDOW_S of each other, on at
    least half of those days and at least two)."""
    first_open: dict[str, dict[date, float]] = {}
    pauses: dict[str, list[tuple[date, float, float]]] = {}
    state: dict[tuple[date, str], tuple[str, float]] = {}
    for day, counter, at, new in changes:
        before = state.get((day, counter))
        if new == "open":
            first_open.setdefault(counter, {}).setdefault(day, at)
        if before is not None and before[0] == "paused" and new != "paused":
            pauses.setdefault(counter, []).append((day, before[1], at - before[1]))
        state[(day, counter)] = (new, at)
    opens = {c: _median(list(days.values())) for c, days in first_open.items()}
    habits: dict[str, list[_Habit]] = {}
    for counter, taken in pauses.items():
        days_open = len(first_open.get(counter, {}))
        needed = max(2, math.ceil(days_open / 2))
        taken.sort(key=lambda p: p[1])
        group: list[tuple[date, float, float]] = []
        for pause in [*taken, None]:
            if pause is not None and (not group or pause[1] - group[0][1] <= HABIT_WINDOW_S):
                group.append(pause)
                continue
            if len({day for day, _, _ in group}) >= needed:
                habit = _Habit(_median([p[1] for p in group]), _median([p[2] for p in group]))
                habits.setdefault(counter, []).append(habit)
            group = [pause] if pause is not None else []
    return _Habits(opens=opens, pauses=habits)


_LAST_SEQ = sa_select(func.max(_EVENT.c.seq)).where(_EVENT.c.branch == bindparam("branch"))
_AT_SEQ = (
    sa_select(_EVENT.c.at)
    .where(_EVENT.c.branch == bindparam("branch"), _EVENT.c.seq >= bindparam("seq"))
    .order_by(_EVENT.c.seq)
    .limit(1)
)


def _first_seq_from(session: Session, branch: str, moment: datetime) -> int:
    """The first event sequence number at or after `moment`: a binary search over the
    (branch, seq) index (events are in time order), some 20 one-row reads, where a
    filter on the time would read the branch's whole event log."""
    connection = connection_of(session)
    lo, hi = 1, int(connection.execute(_LAST_SEQ, {"branch": branch}).scalar() or 0) + 1
    while lo < hi:
        mid = (lo + hi) // 2
        at = utc(connection.execute(_AT_SEQ, {"branch": branch, "seq": mid}).scalar())
        if at is None or at >= moment:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _habits(session: Session, branch: BranchSettings, day: date) -> _Habits:
    """The habits learned from the HISTORY_DAYS before `day`, read once per day and
    database (a past day's events do not change)."""
    key = (session.get_bind().engine.url.render_as_string(), branch.code, day)
    habits = _HABITS.get(key)
    if habits is not None:
        return habits
    start = datetime.combine(day - timedelta(days=HISTORY_DAYS), time(0), tzinfo=branch.zone)
    end = datetime.combine(day, time(0), tzinfo=branch.zone)
    first = _first_seq_from(session, branch.code, start - timedelta(days=1))
    rows = connection_of(session).execute(
        sa_select(_EVENT.c.at, _EVENT.c.counter, _EVENT.c.data)
        .where(
            _EVENT.c.branch == branch.code,
            _EVENT.c.seq >= first,
            _EVENT.c.type == "counter.updated",
            _EVENT.c.at < end + timedelta(days=1),
        )
        .order_by(_EVENT.c.seq)
        .limit(HISTORY_MAX_EVENTS)
    )
    changes = []
    days = BusinessDays.of(branch, day - timedelta(days=HISTORY_DAYS), HISTORY_DAYS)
    for at, counter, data in rows:
        moment = utc(at)
        if moment is None or counter is None or not isinstance(data, dict):
            continue
        when = days.day_of(moment)
        if when is not None:
            changes.append(
                (when, str(counter), _seconds_of_day(moment, branch), str(data.get("state")))
            )
    habits = learn_habits(changes)
    if len(_HABITS) > 64:
        _HABITS.clear()
    _HABITS[key] = habits
    return habits


@dataclass(frozen=True)
class _Desk:
    number: str
    services: list[str]
    state: str
    state_since: datetime | None
    held: tuple[str, datetime] | None  # the service of the ticket it holds, called at


@lru_cache(maxsize=256)
def _services(stored: str | None) -> tuple[str, ...]:
    """A counter's services column, decoded once per distinct value: every estimate
    reads every counter, and decoding 30 JSON lists each time was most of its cost."""
    value = json.loads(stored) if stored else []
    return tuple(str(code) for code in value) if isinstance(value, list) else ()


def _desks(session: Session, branch: BranchSettings) -> list[_Desk]:
    rows = connection_of(session).execute(_COUNTERS, {"branch": branch.code}).all()
    desks = []
    for number, services, state, since, service, called, status in rows:
        called = utc(called)
        held = (str(service), called) if status in HELD and called is not None else None
        # SQLite gives the stored text; psycopg decodes a json column itself.
        codes = _services(services) if isinstance(services, str | None) else services
        desks.append(_Desk(str(number), [str(c) for c in codes], str(state), utc(since), held))
    return desks


_RECENT: dict[tuple[int, int], Any] = {}


def _recent_statement(services: int, window: int) -> Any:
    """The latest `window` completed tickets of each of `services` services (bound as
    s0, s1...), one UNION ALL over ix_ticket_finished; built once per shape, so that
    SQLAlchemy reuses its compiled form."""
    key = (services, window)
    statement = _RECENT.get(key)
    if statement is None:
        parts = []
        for i in range(services):
            code: Any = bindparam(f"s{i}")
            sub = (
                sa_select(
                    literal(i).label("i"),
                    _TICKET.c.called_at.label("called_at"),
                    _TICKET.c.finished_at.label("finished_at"),
                )
                .where(
                    _TICKET.c.branch == bindparam("branch"),
                    _TICKET.c.service == code,
                    _TICKET.c.status == TicketStatus.completed,
                )
                .order_by(_TICKET.c.finished_at.desc())
                .limit(window)
                .subquery()
            )
            parts.append(sa_select(sub.c.i, sub.c.called_at, sub.c.finished_at))
        statement = _RECENT[key] = parts[0] if services == 1 else union_all(*parts)
    return statement


def recent_service_times_s(
    session: Session, branch: BranchSettings, codes: Iterable[str]
) -> dict[str, float]:
    """Rolling mean of call-to-finish time over the last `service_time_window`
    completed tickets of each service, in one statement; the configured service time
    for a service with none yet."""
    wanted = sorted(set(codes))
    means: dict[str, float] = {}
    for code in wanted:
        settings = branch.service(code)
        means[code] = (settings.service_time_min if settings else 5.0) * 60
    if not wanted:
        return means
    statement = _recent_statement(len(wanted), branch.service_time_window)
    params: dict[str, Any] = {"branch": branch.code}
    params.update({f"s{i}": code for i, code in enumerate(wanted)})
    durations: dict[int, list[float]] = {}
    for i, called, finished in connection_of(session).execute(statement, params).all():
        start, end = utc(called), utc(finished)
        if start is not None and end is not None:
            durations.setdefault(int(i), []).append((end - start).total_seconds())
    for i, values in durations.items():
        means[wanted[i]] = sum(values) / len(values)
    return means


def recent_service_time_s(
    session: Session, branch: BranchSettings, service: ServiceSettings
) -> float:
    """Rolling mean of call-to-finish time over the last completed tickets."""
    return recent_service_times_s(session, branch, [service.code])[service.code]


def _division(desks: Sequence[_Desk], service: str, ahead: int, per_customer: float) -> int:
    """The plain rule: people ahead x service time / counters serving the service
    (open ones; before any opens, the configured ones)."""
    serving = [d for d in desks if service in d.services]
    open_now = [d for d in serving if d.state == CounterState.open]
    return round(ahead * per_customer / (len(open_now) or len(serving) or 1))


_LINE_WHERE = (
    _TICKET.c.branch == bindparam("branch"),
    _TICKET.c.status == TicketStatus.waiting,
    _TICKET.c.business_day == bindparam("day"),
)
_LINE = sa_select(*LINE_COLUMNS).where(*_LINE_WHERE).limit(MAX_PLAYED)


def _line(session: Session, today: Today, skip: int | None) -> list[_Played] | None:
    """Today's line as the play needs it (the hot part of an estimate: plain loops);
    None when it has MAX_PLAYED tickets or more (too long to play). The same tickets
    as line.waiting_in_line reads."""
    rules, now = today.rules, today.now
    params = {"branch": today.branch.code, "day": today.day}
    rows = connection_of(session).execute(_LINE, params).all()
    if len(rows) >= MAX_PLAYED:
        return None
    weights, ranks, targets = rules.weights, rules.ranks, rules.target_wait_s
    normal_weight = weights.get(ordering.NORMAL, 1.0)
    unranked = float(len(ranks))
    normal_rank = float(ranks.get(ordering.NORMAL, unranked))
    line = []
    for id_, number, service, priority, enqueued, since, target_counter in rows:
        if id_ == skip:
            continue
        enqueued, since = utc(enqueued) or now, utc(since)
        line.append(
            _Played(
                (enqueued - now).total_seconds(),
                number,
                service,
                weights.get(priority, 1.0),
                normal_weight,
                float(ranks.get(priority, unranked)),
                normal_rank,
                (since - now).total_seconds() if since is not None else None,
                targets.get(service),
                target_counter,
            )
        )
    return line


@dataclass(slots=True)
class _Played:
    """One waiting ticket in the play, in seconds from `now`."""

    enqueued: float  # <= 0: it has waited -enqueued seconds
    number: str
    service: str
    weight: float
    normal_weight: float
    rank: float
    normal_rank: float
    priority_from: float | None  # before this moment it ranks as normal
    target: float | None  # escalated once it has waited longer
    target_counter: str | None
    me: bool = False


def _played(
    rules: ordering.Rules,
    now: datetime,
    number: str,
    service: str,
    priority: str,
    enqueued_at: datetime | None,
    priority_from: datetime | None,
    target_counter: str | None,
    me: bool = False,
) -> _Played:
    enqueued = utc(enqueued_at) or now
    since = utc(priority_from)
    return _Played(
        enqueued=(enqueued - now).total_seconds(),
        number=number,
        service=service,
        weight=rules.weights.get(priority, 1.0),
        normal_weight=rules.weights.get(ordering.NORMAL, 1.0),
        rank=float(rules.ranks.get(priority, len(rules.ranks))),
        normal_rank=float(rules.ranks.get(ordering.NORMAL, len(rules.ranks))),
        priority_from=(since - now).total_seconds() if since is not None else None,
        target=rules.target_wait_s.get(service),
        target_counter=target_counter,
        me=me,
    )


def _changes(line: Sequence[_Played], strict: bool) -> list[float] | None:
    """The moments (seconds from now) the order of the line may change: escalations
    and appointment windows opening; None when it changes all the time (weighted
    scores of different weights keep crossing)."""
    if not strict:
        weights = {p.weight for p in line}
        weights |= {p.normal_weight for p in line if p.priority_from is not None}
        if len(weights) > 1:
            return None
    moments = [p.enqueued + p.target for p in line if p.target is not None]
    moments += [p.priority_from for p in line if p.priority_from is not None]
    return sorted(moments)


def _order(line: list[_Played], strict: bool, t: float) -> list[_Played]:
    """ordering.sort_key at `t` seconds from now, as one float per ticket (cheaper than
    tuples): the escalated first, oldest first; then by score (weighted) or class rank,
    then FIFO (strict). The sort is stable and the line starts in (enqueued, number)
    order, so equal keys keep sort_key's ties (enqueued, then number)."""
    escalated = -1e12  # enqueued offsets are far smaller than these steps
    rank_step = 1e7

    def key(p: _Played) -> float:
        waited = t - p.enqueued
        if p.target is not None and waited > p.target:
            return escalated + p.enqueued
        as_normal = p.priority_from is not None and t < p.priority_from
        if strict:
            return (p.normal_rank if as_normal else p.rank) * rank_step + p.enqueued
        weight = p.normal_weight if as_normal else p.weight
        return -weight * waited if waited > 0.0 else 0.0

    return sorted(line, key=key)


def _starts(
    desks: Sequence[_Desk],
    means: dict[str, float],
    habits: _Habits,
    branch: BranchSettings,
    now: datetime,
) -> tuple[dict[str, float], dict[str, list[tuple[float, float]]]]:
    """When each counter can take its next ticket (seconds from now), and the pauses
    it is expected to take later (start, length), from its state and its habits."""
    tod = _seconds_of_day(now, branch)
    free_at: dict[str, float] = {}
    pauses: dict[str, list[tuple[float, float]]] = {}
    for d in desks:
        # Since when (seconds after midnight) the counter is in its state.
        since = tod + (d.state_since - now).total_seconds() if d.state_since else -math.inf
        usual = habits.pauses.get(d.number, [])
        current: _Habit | None = None
        if d.state == CounterState.paused:
            # Back after its usual pause at this time of day, else after PAUSE_BACK_S.
            near = [h for h in usual if abs(h.start - since) <= HABIT_WINDOW_S]
            current = min(near, key=lambda h: abs(h.start - since)) if near else None
            length = current.length if current else PAUSE_BACK_S
            free_at[d.number] = max(since + length - tod, PAUSE_MIN_LEFT_S)
        elif d.state == CounterState.open:
            if d.held is not None:
                mean = means[d.held[0]]
                busy = (now - d.held[1]).total_seconds()
                free_at[d.number] = max(mean - busy, mean * MIN_REST_SHARE)
            else:
                free_at[d.number] = 0.0
        else:
            # Closed: expected if it usually opens later today (or a little earlier)
            # and has not opened since.
            opens = habits.opens.get(d.number)
            if opens is None or since >= opens or tod > opens + LATE_GRACE_S:
                continue
            free_at[d.number] = max(opens - tod, PAUSE_MIN_LEFT_S)
        planned = []
        for h in usual:
            if h is current:
                continue
            if h.start >= tod:
                planned.append((h.start - tod, h.length))
            elif d.state == CounterState.open and since < h.start and tod - h.start < h.length:
                planned.append((0.0, h.length))  # due: it pauses once it is free
        if planned:
            pauses[d.number] = sorted(planned)
    return free_at, pauses


def estimate_wait_s(
    session: Session,
    service: ServiceSettings,
    ahead: int,
    *,
    today: Today,
    ticket: ordering.Waiting | None = None,
) -> int:
    """The counters are played forward from `today.now`, each taking the next ticket it may call
    in the order of the rules at that moment and holding it for its service's recent
    mean time, until one takes `ticket` (None: a new ticket of `service`). An open
    counter starts when its customer's mean time is over (at once when idle); a
    paused one when it is expected back; a closed one when it usually opens; and a
    counter goes on its usual pauses (learned from the last days, see _Habits).
    Playing it forward counts what the plain division misses: counters shared with
    other services, a counter busy with a customer, priority tickets overtaking, a
    counter at lunch."""
    branch, now = today.branch, today.now
    desks = _desks(session, branch)
    habits = _habits(session, branch, today.day)
    if (
        not any(
            service.code in d.services
            and (d.state != CounterState.closed or d.number in habits.opens)
            for d in desks
        )
        or ahead >= MAX_PLAYED  # the line is longer still: too long to play
    ):
        # No counter that may serve the service today, or a line too long to play: the
        # plain division (people ahead x recent service time / counters serving).
        per_customer = recent_service_time_s(session, branch, service)
        return _division(desks, service.code, ahead, per_customer)
    rules = today.rules
    line = _line(session, today, ticket.id if ticket is not None else None)
    if line is None:  # too long to play
        per_customer = recent_service_time_s(session, branch, service)
        return _division(desks, service.code, ahead, per_customer)
    if ticket is not None:
        me = _played(
            rules,
            now,
            ticket.number,
            ticket.service,
            ticket.priority,
            ticket.enqueued_at,
            ticket.priority_from,
            ticket.target_counter,
            me=True,
        )
    else:
        me = _played(rules, now, "", service.code, ordering.NORMAL, now, None, None, me=True)
    line.append(me)
    line.sort(key=lambda p: (p.enqueued, p.number))  # sort_key's ties, for _order

    codes = {p.service for p in line} | {d.held[0] for d in desks if d.held is not None}
    means = recent_service_times_s(session, branch, codes)
    free_at, pauses = _starts(desks, means, habits, branch, now)
    services = {d.number: d.services for d in desks if d.number in free_at}
    if not any(service.code in served for served in services.values()):
        return _division(desks, service.code, ahead, means[service.code])

    strict = rules.mode == "strict"
    changes = _changes(line, strict)
    ordered_at, reorders = -math.inf, 0
    while free_at:
        number = min(free_at, key=lambda n: (free_at[n], n))
        planned = pauses.get(number)
        if planned and planned[0][0] <= free_at[number]:
            free_at[number] += planned.pop(0)[1]  # the pause starts once it is free
            continue
        moment = free_at[number]
        if (
            moment - ordered_at >= REORDER_EVERY_S
            and reorders < MAX_REORDERS
            and (
                changes is None
                or ordered_at == -math.inf
                or bisect_right(changes, moment) > bisect_right(changes, ordered_at)
            )
        ):
            # The order as it will be then: weighted scores grow while people wait
            # (a reorder that cannot change the order is skipped).
            ordered_at, reorders = moment, reorders + 1
            line = _order(line, strict, ordered_at)
        serves = services[number]
        index = next(
            (
                i
                for i, p in enumerate(line)
                if (
                    p.target_counter == number
                    if p.target_counter is not None
                    else p.service in serves
                )
            ),
            None,
        )
        if index is None:
            del free_at[number]  # nothing left that this counter may call
            continue
        if line[index].me:
            return round(free_at[number])
        free_at[number] += means[line.pop(index).service]
    return round(ahead * means[service.code] / max(1, len(services)))
