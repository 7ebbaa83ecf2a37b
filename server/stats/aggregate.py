"""Reports over long ranges without pulling every ticket into Python.

A report's rows are made of tallies (`compute.Tally`: counts, exact sums in
microseconds, maximum and nearest-rank percentiles). The log path makes them from
`TicketFacts` in Python (`compute.tally`, the definition). On PostgreSQL the tallies
of the sealed days are made in SQL over `ticket_fact` instead (one GROUP BY with a
grouping set per grouping, `percentile_disc` for the percentiles: it picks the value
at rank ceil(p * n), the nearest rank of docs/statistics.md), and the tickets of the
days not sealed yet (today, yesterday: folded from the log in Python) are sent along
as arrays and counted in the same statement, so a percentile is over every ticket of
the range at once: the same value the log path picks. On SQLite the same tallies are
made in Python from `facts.facts_in` (a branch on SQLite is one branch's data).

tests/stats/test_facts.py checks that both give the same report as the log alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from server.config import BranchSettings
from server.db import connection_of
from server.models import utc
from server.stats import facts
from server.stats.compute import (
    SATISFIED_FROM,
    DateRange,
    GroupBy,
    Key,
    Report,
    Tally,
    TicketFacts,
    group_tickets,
    log_facts,
    report_of,
    tally,
    targets_of,
)

TOTAL = "total"  # the grouping of a report's totals row: one key, None

# The fact columns a tally needs, in the order of the arrays sent for unsealed days.
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("issued_at", "timestamptz"),
    ("issue_service", "text"),
    ("service", "text"),
    ("priority", "text"),
    ("wait_s", "float8"),
    ("outcome", "text"),
    ("counter", "text"),
    ("teller", "text"),
    ("service_s", "float8"),
    ("transferred", "bool"),
    ("transfer_wait_s", "float8"),
    ("recalls", "int"),
    ("rating", "int"),
)
_NAMES = ", ".join(f'"{name}"' for name, _ in _COLUMNS)
_ARRAYS = ", ".join(f"%({name})s::{kind}[]" for name, kind in _COLUMNS)
_ROWS = f"""
    SELECT {_NAMES} FROM ticket_fact
     WHERE branch = %(branch)s AND issued_at >= %(start)s AND issued_at < %(cut)s
    UNION ALL
    SELECT * FROM unnest({_ARRAYS}) AS recent({_NAMES})
"""
_KEYS: dict[str, str] = {
    "service": "service",
    "counter": '"counter"',
    "teller": "teller",
    "priority": "priority",
    "hour": "extract(hour FROM issued_at AT TIME ZONE %(zone)s)::int",
    "day": "to_char(issued_at AT TIME ZONE %(zone)s, 'YYYY-MM-DD')",
}
_SERVED = "outcome = 'served'"
# One column per Tally field, in its order (after the keys and the grouping bits).
_TALLY_SQL = (
    "count(*)",
    f"count(*) FILTER (WHERE {_SERVED})",
    "count(*) FILTER (WHERE outcome = 'no_show')",
    "count(*) FILTER (WHERE outcome = 'cancelled')",
    "count(*) FILTER (WHERE transferred)",
    "count(wait_s)",
    "sum(round(wait_s * 1000000)::bigint)",
    "max(wait_s)",
    "percentile_disc(0.5) WITHIN GROUP (ORDER BY wait_s)",
    "percentile_disc(0.9) WITHIN GROUP (ORDER BY wait_s)",
    f"count(wait_s) FILTER (WHERE {_SERVED})",
    f"count(*) FILTER (WHERE {_SERVED} AND wait_s <= {{target}})",
    f"count(service_s) FILTER (WHERE {_SERVED})",
    f"sum(round(service_s * 1000000)::bigint) FILTER (WHERE {_SERVED})",
    f"percentile_disc(0.9) WITHIN GROUP (ORDER BY service_s) FILTER (WHERE {_SERVED})",
    "count(rating)",
    f"count(*) FILTER (WHERE rating >= {SATISFIED_FROM})",
    "sum(rating)",
    "count(transfer_wait_s)",
    "sum(round(transfer_wait_s * 1000000)::bigint)",
    "sum(recalls)",
)
# The columns the tallies read (the sorts carry these and the keys only).
_TALLIED = (
    "issue_service, wait_s, outcome, service_s, transferred, transfer_wait_s, recalls, rating"
)
_FIELDS = [f.name for f in fields(Tally)]
assert len(_FIELDS) == len(_TALLY_SQL)


@dataclass(frozen=True)
class _Parts:
    """A range split at the end of the sealed days: fact rows before, log after."""

    sealed: DateRange | None
    recent: list[TicketFacts]


def _parts(session: Session, branch: BranchSettings, span: DateRange) -> _Parts:
    through = facts.sealed_through(session, branch.code)
    if through is None:
        return _Parts(None, log_facts(session, branch, span))
    cutoff = facts.local_midnight(through + timedelta(days=1), branch.zone)
    if span.start >= cutoff:
        return _Parts(None, log_facts(session, branch, span))
    if span.end <= cutoff:
        return _Parts(span, [])
    return _Parts(
        DateRange(span.start, cutoff),
        log_facts(session, branch, DateRange(start=cutoff, end=span.end)),
    )


def _target_sql(branch: BranchSettings, params: dict[str, Any]) -> str:
    """The target wait of a ticket's issue service; a service no longer configured
    has none (every wait is within it), as `targets.get(code, inf)` in the log path."""
    whens = []
    for i, (code, seconds) in enumerate(targets_of(branch).items()):
        params[f"tc{i}"], params[f"tv{i}"] = code, seconds
        whens.append(f"WHEN %(tc{i})s THEN %(tv{i})s::float8")
    return f"CASE issue_service {' '.join(whens)} ELSE 'Infinity'::float8 END"


def _params(branch: BranchSettings, parts: _Parts) -> dict[str, Any]:
    assert parts.sealed is not None
    params: dict[str, Any] = {
        "branch": branch.code,
        "start": utc(parts.sealed.start),
        "cut": utc(parts.sealed.end),
        "zone": branch.timezone,
    }
    for name, _ in _COLUMNS:
        params[name] = [getattr(t, name) for t in parts.recent]
    return params


_WORK_MEM = b"SELECT set_config('work_mem', '64MB', true)"


def _execute(session: Session, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Straight on the driver, in the session's transaction (as facts.read_facts)."""
    driver = connection_of(session).connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        # The sorts behind GROUP BY and percentile_disc: a year of a branch (~150,000
        # rows) sorts in memory, not in temporary files (for this transaction only).
        cursor.execute(_WORK_MEM)
        cursor.execute(sql.encode(), params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


_PICKED = frozenset({"wait_max", "wait_p50", "wait_p90", "service_p90"})


def _tally_of(values: Sequence[Any]) -> Tally:
    return Tally(
        **{
            name: value if name in _PICKED else int(value or 0)
            for name, value in zip(_FIELDS, values, strict=True)
        }
    )


@dataclass(frozen=True)
class Tickets:
    """The tickets of a range, as the fastest path reads them: on PostgreSQL the
    sealed part stays in the database (`parts.sealed`) and only the recent tickets
    are in Python; otherwise every ticket is (`parts.sealed` is None)."""

    branch: BranchSettings
    parts: _Parts
    session: Session

    def tallies(self, groupings: Sequence[GroupBy]) -> dict[str, dict[Key, Tally]]:
        """The tally of each row of each grouping, and of the totals (`TOTAL`)."""
        if self.parts.sealed is None:
            return _python_tallies(self.branch, self.parts.recent, groupings)
        params = _params(self.branch, self.parts)
        target = _target_sql(self.branch, params)
        names = [f"k{i}" for i in range(len(groupings))]
        keys = "".join(f", {_KEYS[g]} AS k{i}" for i, g in enumerate(groupings))
        sets = ", ".join([*(f"({n})" for n in names), "()"])
        bits = f"GROUPING({', '.join(names)})" if names else "0"
        tallied = ", ".join(expr.format(target=target) for expr in _TALLY_SQL)
        sql = (
            f"WITH t AS ({_ROWS}) SELECT {', '.join([*names, bits, tallied])} "
            f"FROM (SELECT {_TALLIED}{keys} FROM t) u GROUP BY GROUPING SETS ({sets})"
        )
        width = len(groupings)
        found: dict[str, dict[Key, Tally]] = {g: {} for g in (*groupings, TOTAL)}
        for row in _execute(self.session, sql, params):
            mask = row[width]  # bit set: that key is not in the row's grouping set
            made = _tally_of(row[width + 1 :])
            grouped = [i for i in range(width) if not mask >> (width - 1 - i) & 1]
            if grouped:
                found[groupings[grouped[0]]][row[grouped[0]]] = made
            else:
                found[TOTAL][None] = made
        found[TOTAL].setdefault(None, Tally())
        return found

    def service_bins(self, bin_s: int, last: int) -> list[tuple[str, int, int]]:
        """(final service, bin, served tickets) of the service times of served
        tickets, bin = min(seconds // bin_s, last): the dashboard's histogram."""
        if self.parts.sealed is None:
            counted: dict[tuple[str, int], int] = {}
            for t in self.parts.recent:
                if t.outcome == "served" and t.service_s is not None:
                    slot = (t.service, min(int(t.service_s // bin_s), last))
                    counted[slot] = counted.get(slot, 0) + 1
            return [(service, index, n) for (service, index), n in counted.items()]
        params = {**_params(self.branch, self.parts), "bin": float(bin_s), "last": last}
        sql = (
            f"WITH t AS ({_ROWS}) SELECT service, "
            "least(floor(service_s / %(bin)s)::int, %(last)s) AS b, count(*) FROM t "
            f"WHERE {_SERVED} AND service_s IS NOT NULL GROUP BY service, b"
        )
        return [(str(s), int(b), int(n)) for s, b, n in _execute(self.session, sql, params)]


def _python_tallies(
    branch: BranchSettings, tickets: Sequence[TicketFacts], groupings: Sequence[GroupBy]
) -> dict[str, dict[Key, Tally]]:
    found: dict[str, dict[Key, Tally]] = {TOTAL: {None: tally(tickets, branch)}}
    for grouping in groupings:
        groups = group_tickets(tickets, grouping, branch)
        found[grouping] = {key: tally(group, branch) for key, group in groups.items()}
    return found


def tickets_of(session: Session, branch: BranchSettings, span: DateRange) -> Tickets:
    """The report's tickets, for `Tickets.tallies`: fact rows of the sealed days stay
    in PostgreSQL; on SQLite they are read (facts.facts_in)."""
    if connection_of(session).dialect.name == "postgresql":
        parts = _parts(session, branch, span)
    else:
        parts = _Parts(None, facts.facts_in(session, branch, span))
    return Tickets(branch=branch, parts=parts, session=session)


def reports(
    session: Session,
    *,
    branch: BranchSettings,
    groupings: Sequence[GroupBy],
    span: DateRange,
    tellers: dict[str, str] | None = None,
) -> tuple[Tickets, dict[GroupBy, Report]]:
    """The reports of `compute.build_report` over the range's tickets, one per
    grouping, from one read (and the tickets, for more tallies of the same range)."""
    tickets = tickets_of(session, branch, span)
    found = tickets.tallies(groupings)
    made = {
        group: report_of(
            found[group],
            found[TOTAL][None],
            branch=branch,
            group_by=group,
            span=span,
            tellers=tellers,
        )
        for group in groupings
    }
    return tickets, made


def fast_report(
    session: Session,
    *,
    branch: BranchSettings,
    group_by: GroupBy,
    span: DateRange,
    tellers: dict[str, str] | None = None,
) -> Report:
    """The report of `compute.build_report` over the same tickets, read fast."""
    _, made = reports(session, branch=branch, groupings=[group_by], span=span, tellers=tellers)
    return made[group_by]
