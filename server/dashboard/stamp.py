"""The bulk path's fast lane on PostgreSQL: template days stamped by the server.

bulk.py's `copy_day` moves a template day row by row in Python and sends it by COPY:
about 0.4 s a branch-day, so a year of 200 branches (73,000 branch-days) would take
eight hours. Here each template is staged once in temporary tables of one connection,
and one `INSERT … SELECT` per table writes it into many (branch, day)s at once: the
rows never leave the server, nothing is parsed, no Python runs per row.

What a copy changes, and how the server does it:

- ticket ids: taken from the ticket sequence (`nextval`, so a live server's tickets
  never collide), passed as one array and indexed by (target, ticket of the template);
- event numbers: each target's block reserved on the branch row (`event_seq`), as
  `copy_day` does;
- times: moved by the whole days between the two dates (`n * interval '24 hours'`,
  an absolute shift); inside an event's JSON the times are ISO strings, so each
  `"YYYY-MM-DDT` of the template becomes the moved date (the time of day is the
  same: the shift is whole days). A shift that is not whole days (a daylight-saving
  change between the dates) is left to `copy_day`;
- the ticket id inside an event's JSON: a marker put there when the template is
  staged, replaced by the new id;
- tokens: `secrets.token_urlsafe`, passed as an array.

The result is the rows `copy_day` writes (tests/dashboard/test_bulk.py runs both
paths: SQLite takes `copy_day`, PostgreSQL this), and the rollups are the template's
counts, sealed in the same order.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import DateTime, insert, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel

from server.config import BranchSettings
from server.db import connection_of
from server.stats import facts

_ID_MARK = "@@lobbyq-ticket-id@@"
_DATE_IN_JSON = re.compile(r'"(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}')
DAY = timedelta(days=1)
BATCH = 32  # targets per statement: ~50,000 event rows


def whole_days(delta: timedelta) -> int | None:
    """The shift in whole days, or None when it is not whole days."""
    days, rest = divmod(delta, DAY)
    return None if rest else int(days)


@dataclass
class Staged:
    """One template day in temporary tables `<prefix>_ticket`, `_event`, `_fact`, `_seq`."""

    prefix: str
    tickets: int
    events: int
    dates: list[str]  # the template's dates found inside its events' JSON
    outcomes: list[tuple[str, bool, int | None]]  # per ticket, for the rollup


@dataclass
class Target:
    branch: str
    day: date
    days: int  # the shift from the template, whole days


_COUNTER = count(1)


def stage(connection: Connection, template: Any) -> Staged | None:
    """Put a template (bulk.Template) into temporary tables, ids renumbered 1..n and
    event numbers 1..m; None when it cannot be stamped (a JSON id of another ticket)."""
    order = {row["id"]: ix for ix, row in enumerate(template.tickets, start=1)}
    first_seq = template.events[0]["seq"] if template.events else 0
    events = []
    for row in template.events:
        data = dict(row["data"] or {})
        ticket = order.get(row["ticket_id"]) if row["ticket_id"] else None
        if isinstance(data.get("id"), int) and data["id"] in order:
            if order[data["id"]] != ticket:
                return None
            data["id"] = _ID_MARK
        events.append(
            {
                **row,
                "id": row["seq"] - first_seq + 1,
                "seq": row["seq"] - first_seq + 1,
                "ticket_id": ticket,
                "data": json.dumps(data, ensure_ascii=False),
            }
        )
    dates = sorted({m for e in events for m in _DATE_IN_JSON.findall(e["data"])})
    tickets = [{**row, "id": order[row["id"]]} for row in template.tickets]
    fact_rows = [{**row, "ticket_id": order[row["ticket_id"]]} for row in template.facts]
    prefix = f"lobbyq_stamp_{next(_COUNTER)}"
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        for table, rows in (
            ("ticket", tickets),
            ("ticketevent", events),
            ("ticket_fact", fact_rows),
            ("dailysequence", template.sequences),
        ):
            name = f"{prefix}_{table}"
            cursor.execute(f'CREATE TEMP TABLE "{name}" (LIKE "{table}")')
            if not rows:
                continue
            names = list(rows[0])
            quoted = ", ".join(f'"{n}"' for n in names)
            with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row([_text_of(row[n]) for n in names])
    return Staged(
        prefix=prefix,
        tickets=len(tickets),
        events=len(events),
        dates=dates,
        outcomes=[(r["outcome"], r["first_call_at"] is not None, r["rating"]) for r in fact_rows],
    )


def _text_of(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value.value if hasattr(value, "value") else value


def _columns(table: str) -> list[tuple[str, bool]]:
    """(name, is a time) of each column of a table, from the models' metadata."""
    return [
        (c.name, isinstance(getattr(c.type, "impl_instance", c.type), DateTime))
        for c in SQLModel.metadata.tables[table].columns
    ]


_SHIFT = "t.days * interval '24 hours'"
_NEW_ID = "(%(ids)s::bigint[])[t.k * %(per)s + s.{0}]"


def _select(table: str, special: dict[str, str]) -> str:
    names, values = [], []
    for name, is_time in _columns(table):
        if name == "id" and table == "ticketevent":
            continue  # its own sequence
        names.append(f'"{name}"')
        if name in special:
            values.append(special[name])
        elif is_time:
            values.append(f's."{name}" + {_SHIFT}')
        else:
            values.append(f's."{name}"')
    return f'INSERT INTO "{table}" ({", ".join(names)}) SELECT {", ".join(values)}'


@dataclass
class Stamper:
    """Stamps staged templates into (branch, day)s (their statements made once)."""

    _sql: dict[str, str] = field(default_factory=dict)

    def write(self, session: Session, staged: Staged, targets: Sequence[Target]) -> None:
        """Every row of `staged` into each target, in this session's transaction."""
        for start in range(0, len(targets), BATCH):
            self._batch(session, staged, targets[start : start + BATCH])

    def _batch(self, session: Session, staged: Staged, targets: Sequence[Target]) -> None:
        connection = connection_of(session)
        raw = connection.connection.driver_connection
        assert raw is not None
        tickets = staged.tickets * len(targets)
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('ticket', 'id')) "
                "FROM generate_series(1, %s)",
                (tickets,),
            )
            ids = [int(v) for (v,) in cursor.fetchall()]
            seq0 = []
            for target in targets:
                cursor.execute(
                    "UPDATE branch SET event_seq = event_seq + %s WHERE code = %s "
                    "RETURNING event_seq",
                    (staged.events, target.branch),
                )
                row = cursor.fetchone()
                assert row is not None
                seq0.append(int(row[0]) - staged.events)
            params: dict[str, Any] = {
                "ids": ids,
                "per": staged.tickets,
                "tokens": [secrets.token_urlsafe(18) for _ in range(tickets)],
                "branch": [t.branch for t in targets],
                "days": [t.days for t in targets],
                "seq0": seq0,
            }
            for j, template_day in enumerate(staged.dates):
                params[f"from{j}"] = f'"{template_day}T'
                params[f"to{j}"] = [
                    f'"{(date.fromisoformat(template_day) + timedelta(days=t.days)).isoformat()}T'
                    for t in targets
                ]
            for statement in self._statements(staged):
                cursor.execute(statement, params)

    def _statements(self, staged: Staged) -> list[str]:
        key = f"{staged.prefix}:{len(staged.dates)}"
        if key not in self._sql:
            self._sql[key] = "\n;\n".join(self._make(staged))
        return self._sql[key].split("\n;\n")

    def _make(self, staged: Staged) -> list[str]:
        moved = ", ".join(f"%(to{j})s::text[]" for j in range(len(staged.dates)))
        names = ", ".join(f"to{j}" for j in range(len(staged.dates)))
        targets = (
            "unnest(%(branch)s::text[], %(days)s::int[], %(seq0)s::bigint[]"
            + (f", {moved}" if moved else "")
            + ") WITH ORDINALITY AS t(branch, days, seq0"
            + (f", {names}" if names else "")
            + ", k1)"
        )
        # k: the target's place in the batch from 0 (ORDINALITY counts from 1).
        source = (
            f'FROM "{staged.prefix}_{{0}}" s CROSS JOIN (SELECT *, k1 - 1 AS k FROM {targets}) t'
        )
        data = "s.data::text"
        for j in range(len(staged.dates)):
            data = f"replace({data}, %(from{j})s::text, t.to{j})"
        new_id = f"coalesce({_NEW_ID.format('ticket_id')}::text, '0')"
        data = f"replace({data}, '\"{_ID_MARK}\"', {new_id})::json"
        return [
            _select(
                "ticket",
                {
                    "id": _NEW_ID.format("id"),
                    "token": "(%(tokens)s::text[])[t.k * %(per)s + s.id]",
                    "branch": "t.branch",
                    "business_day": "s.business_day + t.days",
                    "appointment_id": "NULL",
                },
            )
            + " "
            + source.format("ticket"),
            _select(
                "ticketevent",
                {
                    "branch": "t.branch",
                    "seq": "t.seq0 + s.seq",
                    "ticket_id": _NEW_ID.format("ticket_id"),
                    "data": data,
                },
            )
            + " "
            + source.format("ticketevent"),
            _select("ticket_fact", {"ticket_id": _NEW_ID.format("ticket_id"), "branch": "t.branch"})
            + " "
            + source.format("ticket_fact"),
            _select(
                "dailysequence",
                {"branch": "t.branch", "business_day": "s.business_day + t.days"},
            )
            + " "
            + source.format("dailysequence"),
        ]


def seal_in_order(
    session: Session,
    branch: BranchSettings,
    days: Iterable[tuple[date, Staged]],
    now: datetime,
) -> None:
    """The rollups of the filled days that are next in line and sealable (as
    bulk._seal_if_next does day by day), from their templates' counts."""
    through = facts.sealed_through(session, branch.code)
    last = facts.last_sealable(branch, now)
    rollups = []
    for day, staged in sorted(days, key=lambda pair: pair[0]):
        if day > last or (through is not None and day != through + DAY):
            continue
        rollups.append(facts.day_rollup(branch.code, day, now, staged.outcomes))
        through = day
    if rollups:
        from server.dashboard.bulk import _DAY

        connection_of(session).execute(insert(_DAY), rollups)


def taken_days(session: Session, branch: str, first: date, last: date) -> set[date]:
    """The days of [first, last] on which the branch has tickets."""
    rows = connection_of(session).execute(
        text(
            "SELECT DISTINCT business_day FROM ticket "
            "WHERE branch = :b AND business_day BETWEEN :first AND :last"
        ),
        {"b": branch, "first": first, "last": last},
    )
    return {d for (d,) in rows}
