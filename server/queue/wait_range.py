"""The promised wait as an honest range (docs/statistics.md, "The range").

The played-forward estimate (server/queue/estimate.py, the *raw* estimate) is right
on average but a single customer's wait spreads around it: the service times of the
few people ahead are not known at issue. The range says how far, from the estimate's
own record: the ratio r = (actual + K) / (raw + K) of the tickets called lately (the
last HISTORY_DAYS days and today until `now`), grouped by the size of the raw
estimate; the range is the shortest interval of r holding COVER of the group (r is
skewed: a long tail of waits far beyond the promise, so the shortest interval is
narrower than the central one for the same share) applied to this raw estimate, and
the point (`estimated_wait_s`) its median. A service or a priority
class whose waits run consistently longer or shorter than promised (its median r
away from its group's) is corrected by that factor. Until a group has MIN_GROUP
tickets, PRIOR (measured on simulated days) fills in.

Cost: nothing per issue beyond arithmetic; the record is read in one statement (the
ix_ticket_called index) at most every REFRESH_S of `now`, per process and branch."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from server.config import BranchSettings, ServiceSettings
from server.db import connection_of
from server.models import Ticket, utc
from server.queue import ordering
from server.queue.estimate import estimate_wait_s
from server.queue.today import Today

K_S = 30.0  # added to both sides of the ratio: a 0 s estimate still has a spread
# Groups by the raw estimate (seconds): a long promise is relatively surer.
BOUNDS = (90.0, 300.0, 900.0)
COVER = 0.78  # share of the group's r inside its range (aim: 80 % +- 5 of waits)
STEP = 0.01  # the range's lower quantile is searched in [0, 1 - COVER] by this step
MIN_GROUP = 40  # tickets of a group before its own record outweighs the prior
MIN_CLASS = 25  # tickets of a service or class before its own correction applies
CLASS_LIMITS = (0.6, 1.6)  # a class correction stays within these factors
HISTORY_DAYS = 7
HISTORY_ROWS = 800
REFRESH_S = 600.0

# (low, median, high) of r per group: starting values (set from the spread the
# docs/statistics.md analysis found: about +-50 % for one customer's service time,
# narrower for longer promises), NOT yet fitted on bench/bench_wait_range.py's days;
# the record replaces them as it grows (MIN_GROUP).
PRIOR: tuple[tuple[float, float, float], ...] = (
    (0.45, 1.0, 3.4),
    (0.45, 1.0, 2.2),
    (0.55, 1.0, 1.6),
    (0.65, 1.0, 1.35),
)


@dataclass(frozen=True)
class Observed:
    """One called ticket of the record: its raw estimate and its actual wait."""

    raw: float
    wait: float
    service: str
    priority: str


@dataclass(frozen=True)
class WaitRange:
    point: int
    low: int
    high: int

    @property
    def pair(self) -> tuple[int, int]:
        return (self.low, self.high)


@dataclass(frozen=True)
class Calibration:
    groups: tuple[tuple[float, float, float], ...]  # (low, median, high) of r per group
    factors: dict[tuple[str, str], float]  # ("service"|"priority", code) -> r factor

    def apply(self, raw: float, service: str, priority: str) -> WaitRange:
        low_r, mid_r, high_r = self.groups[bisect_right(BOUNDS, raw)]
        factor = self.factors.get(("service", service), 1.0)
        factor *= self.factors.get(("priority", priority), 1.0)
        base = raw + K_S
        point = max(0.0, base * mid_r * factor - K_S)
        low = max(0.0, min(point, base * low_r * factor - K_S))
        high = max(point, base * high_r * factor - K_S)
        return WaitRange(round(point), math.floor(low), math.ceil(high))


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between the nearest ranks of a sorted list."""
    at = q * (len(ordered) - 1)
    below = math.floor(at)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (at - below)


def _shortest(ordered: Sequence[float]) -> tuple[float, float]:
    """The narrowest (q, q + COVER) quantile pair of a sorted list."""
    steps = round((1.0 - COVER) / STEP)
    pairs = (
        (_quantile(ordered, k * STEP), _quantile(ordered, min(1.0, k * STEP + COVER)))
        for k in range(steps + 1)
    )
    return min(pairs, key=lambda pair: pair[1] - pair[0])


def _ratio(o: Observed) -> float:
    return (o.wait + K_S) / (o.raw + K_S)


def calibrate(record: Iterable[Observed]) -> Calibration:
    """The groups' quantiles of r (blended with PRIOR while a group is small), then
    each service's and priority class's median r relative to its groups'."""
    observed = list(record)
    by_group: list[list[float]] = [[] for _ in PRIOR]
    for o in observed:
        by_group[bisect_right(BOUNDS, o.raw)].append(_ratio(o))
    groups = []
    for prior, ratios in zip(PRIOR, by_group, strict=True):
        ratios.sort()
        if not ratios:
            groups.append(prior)
            continue
        low, high = _shortest(ratios)
        own = (low, _quantile(ratios, 0.5), high)
        w = len(ratios) / (len(ratios) + MIN_GROUP)
        low, mid, high = (w * o + (1 - w) * p for o, p in zip(own, prior, strict=True))
        groups.append((low, mid, high))
    medians = [g[1] for g in groups]
    factors: dict[tuple[str, str], float] = {}
    for kind in ("service", "priority"):
        members: dict[str, list[float]] = {}
        for o in observed:
            code = o.service if kind == "service" else o.priority
            relative = _ratio(o) / medians[bisect_right(BOUNDS, o.raw)]
            members.setdefault(code, []).append(relative)
        for code, values in members.items():
            if len(values) < MIN_CLASS:
                continue
            values.sort()
            factor = _quantile(values, 0.5)
            w = len(values) / (len(values) + MIN_CLASS)
            factor = 1.0 + w * (factor - 1.0)
            factors[(kind, code)] = min(CLASS_LIMITS[1], max(CLASS_LIMITS[0], factor))
    return Calibration(tuple(groups), factors)


PRIOR_CALIBRATION = Calibration(PRIOR, {})

_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_RECORD = (
    sa_select(
        _TICKET.c.estimate_raw_s,
        _TICKET.c.enqueued_at,
        _TICKET.c.called_at,
        _TICKET.c.service_seq_key,
        _TICKET.c.priority,
    )
    .where(
        _TICKET.c.branch == bindparam("branch"),
        _TICKET.c.called_at.is_not(None),
        _TICKET.c.called_at >= bindparam("since"),
        _TICKET.c.called_at <= bindparam("now"),
        _TICKET.c.estimate_raw_s.is_not(None),
    )
    .order_by(_TICKET.c.called_at.desc())
    .limit(HISTORY_ROWS)
)

# (database, branch) -> (read at, business day, calibration)
_CACHE: dict[tuple[str, str], tuple[datetime, Any, Calibration]] = {}


def read_record(session: Session, branch: BranchSettings, now: datetime) -> list[Observed]:
    """The called tickets of the last HISTORY_DAYS days until `now`, newest first.
    The service is the one the ticket was issued for (service_seq_key: a transfer
    changes `service`, not the queue the customer waited in)."""
    params = {"branch": branch.code, "since": now - timedelta(days=HISTORY_DAYS), "now": now}
    record = []
    for raw, enqueued, called, service, priority in connection_of(session).execute(_RECORD, params):
        start, end = utc(enqueued), utc(called)
        if start is None or end is None:
            continue
        wait = (end - start).total_seconds()
        if wait >= 0:
            record.append(Observed(float(raw), wait, str(service), str(priority)))
    return record


def calibration_for(session: Session, today: Today) -> Calibration:
    """The branch's calibration, re-read when REFRESH_S of `now` have passed (or the
    day changed, or the clock went back)."""
    branch, now, day = today.branch, today.now, today.day
    key = (session.get_bind().engine.url.render_as_string(), branch.code)
    cached = _CACHE.get(key)
    if cached is not None:
        read_at, cached_day, calibration = cached
        if cached_day == day and timedelta(0) <= now - read_at < timedelta(seconds=REFRESH_S):
            return calibration
    calibration = calibrate(read_record(session, branch, now))
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = (now, day, calibration)
    return calibration


def wait_range(session: Session, today: Today, raw: int, service: str, priority: str) -> WaitRange:
    """The point and range promised for a raw estimate of `raw` seconds."""
    return calibration_for(session, today).apply(float(raw), service, priority)


def estimate_with_range(
    session: Session,
    service: ServiceSettings,
    ahead: int,
    *,
    today: Today,
    ticket: ordering.Waiting | None = None,
) -> tuple[int, WaitRange]:
    """The raw estimate (estimate.estimate_wait_s) and the promise made of it."""
    raw = estimate_wait_s(session, service, ahead, today=today, ticket=ticket)
    priority = ticket.priority if ticket is not None else ordering.NORMAL
    return raw, wait_range(session, today, raw, service.code, priority)
