"""The bulk path's fast lane on PostgreSQL: template days stamped by the server.

bulk.py's `copy_day` moves a template day row by row in Python and sends it by COPY:
about 0.4 s a branch-day, so a year of 200 branches (73,000 branch-days) would take
eight hours. Here each template is staged once in temporary tables of one connection,
and one `INSERT … SELECT` per table writes it into many (branch, day)s at once: the
rows never leave the server, nothing is parsed, no Python runs per row.

What a copy changes, and how the server does it:

- ticket ids: taken from the ticket sequence (`nextval`, so a live server's tickets
  never collide): the first of the block plus the place of (target, ticket of the
  template), or when the numbers are not one block, an array indexed by that place;
- event numbers: each target's block reserved on the branch row (`event_seq`), as
  `copy_day` does;
- times: moved by the whole days between the two dates (`n * interval '24 hours'`,
  an absolute shift); inside an event's JSON the times are ISO strings, so each
  `"YYYY-MM-DDT` of the template becomes the moved date (the time of day is the
  same: the shift is whole days). A shift that is not whole days (a daylight-saving
  change between the dates) is left to `copy_day`;
- the ticket id inside an event's JSON: a marker put there when the template is
  staged, replaced by the new id;
- tokens: 18 bytes of `secrets.token_bytes` each, in the shape of
  `secrets.token_urlsafe(18)`.

The result is the rows `copy_day` writes (tests/dashboard/test_bulk.py runs both
paths: SQLite takes `copy_day`, PostgreSQL this), and the rollups are the template's
counts, sealed in the same order.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
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
    """One template day in temporary tables `<prefix>_<table>` (ticket, ticketevent,
    ticket_fact, dailysequence) of the connection that staged it."""

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
            copy_rows(cursor, name, rows)
    return Staged(
        prefix=prefix,
        tickets=len(tickets),
        events=len(events),
        dates=dates,
        outcomes=[(r["outcome"], r["first_call_at"] is not None, r["rating"]) for r in fact_rows],
    )


def copy_rows(cursor: Any, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """COPY these rows (dicts of the same keys) into a table: the fastest way into
    Postgres; values in text form, None as NULL."""
    if not rows:
        return
    names = list(rows[0])
    quoted = ", ".join(f'"{n}"' for n in names)
    with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_text_of(row[n]) for n in names])


def _text_of(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value.value if isinstance(value, Enum) else value


def _columns(table: str) -> list[tuple[str, bool]]:
    """(name, is a time) of each column of a table, from the models' metadata."""
    return [
        (c.name, isinstance(getattr(c.type, "impl_instance", c.type), DateTime))
        for c in SQLModel.metadata.tables[table].columns
    ]


# A ticket's token: its 18 bytes of a batch's `secrets.token_bytes` (one bytea: a slice
# of it is read in place) in URL-safe base64, the shape of `secrets.token_urlsafe(18)`.
# (Made per row by `gen_random_uuid()` it cost 15 us a row; a text array of tokens is
# read element by element, quadratic in the batch.)
_TOKEN = (
    "translate(encode(substring(%(random)s::bytea"
    " FROM ((t.k * %(per)s + s.id - 1) * 18 + 1)::int FOR 18), 'base64'), '+/', '-_')"
)
_SHIFT = "t.shift"  # the target's days as an interval, made once per target
# A new ticket id: the batch's ids are one block from the sequence (the usual case:
# nothing else took numbers meanwhile), or else an array of them, read by position.
_NEW_ID = {
    True: "(%(id0)s::bigint + t.k * %(per)s + s.{0} - 1)",
    False: "(%(ids)s::bigint[])[t.k * %(per)s + s.{0}]",
}


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


def one_block(ids: Sequence[int]) -> bool:
    """Whether the ids follow one another (nothing else took numbers meanwhile)."""
    return list(ids) == list(range(ids[0], ids[0] + len(ids)))


@dataclass
class Stamper:
    """Stamps staged templates into (branch, day)s (their statements made once)."""

    _sql: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Seconds spent per step ("ids": numbers reserved, else the table written): the
    # profile bench/bench_fill.py prints.
    spent: dict[str, float] = field(default_factory=dict)

    def write(self, session: Session, staged: Staged, targets: Sequence[Target]) -> None:
        """Every row of `staged` into each target, in this session's transaction."""
        for start in range(0, len(targets), BATCH):
            self._batch(session, staged, targets[start : start + BATCH])

    def _batch(self, session: Session, staged: Staged, targets: Sequence[Target]) -> None:
        connection = connection_of(session)
        raw = connection.connection.driver_connection
        assert raw is not None
        tickets = staged.tickets * len(targets)
        started = time.perf_counter()
        with raw.cursor() as cursor:
            # Compiling these wide statements (JIT) cost more than it saved: a 20-day
            # fill took 2.4 s with it, 1.4 s without (bench/bench_fill.py, loaded).
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('ticket', 'id')) "
                "FROM generate_series(1, %s)",
                (tickets,),
            )
            ids = [int(v) for (v,) in cursor.fetchall()]
            block = one_block(ids)
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
                "id0": ids[0],
                "random": secrets.token_bytes(18 * tickets),
                "per": staged.tickets,
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
            self._spend("ids", started)
            key = f"{staged.prefix}:{block}"
            if key not in self._sql:
                self._sql[key] = self._make(staged, block)
            for table, statement in self._sql[key]:
                started = time.perf_counter()
                cursor.execute(statement, params)
                self._spend(table, started)

    def _spend(self, step: str, started: float) -> None:
        self.spent[step] = self.spent.get(step, 0.0) + time.perf_counter() - started

    def _make(self, staged: Staged, block: bool) -> list[tuple[str, str]]:
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
        # shift: the target's days as an interval, made once per target.
        source = (
            f'FROM "{staged.prefix}_{{0}}" s CROSS JOIN (SELECT *, k1 - 1 AS k,'
            f" days * interval '24 hours' AS shift FROM {targets}) t"
        )
        data = "s.data::text"
        for j in range(len(staged.dates)):
            data = f"replace({data}, %(from{j})s::text, t.to{j})"
        new_id = f"coalesce({_NEW_ID[block].format('ticket_id')}::text, '0')"
        data = f"replace({data}, '\"{_ID_MARK}\"', {new_id})::json"
        special: dict[str, dict[str, str]] = {
            "ticket": {
                "id": _NEW_ID[block].format("id"),
                "token": _TOKEN,
                "branch": "t.branch",
                "business_day": "s.business_day + t.days",
                "appointment_id": "NULL",
            },
            "ticketevent": {
                "branch": "t.branch",
                "seq": "t.seq0 + s.seq",
                "ticket_id": _NEW_ID[block].format("ticket_id"),
                "data": data,
            },
            "ticket_fact": {"ticket_id": _NEW_ID[block].format("ticket_id"), "branch": "t.branch"},
            "dailysequence": {"branch": "t.branch", "business_day": "s.business_day + t.days"},
        }
        return [
            (table, f"{_select(table, columns)} {source.format(table)}")
            for table, columns in special.items()
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


# --- a big fill: the secondary indexes made once at the end ---------------------------

BULK_TABLES = ("ticket", "ticketevent", "ticket_fact")
DEFER_FROM = 1_000  # branch-days: below this, index upkeep during the fill is cheap enough


def heal_indexes(connection: Connection) -> None:
    """Make the models' indexes of the bulk tables that are missing: those a deferred
    fill dropped and could not make again (the process was killed)."""
    for table in BULK_TABLES:
        for index in SQLModel.metadata.tables[table].indexes:
            index.create(connection, checkfirst=True)


def worth_deferring(connection: Connection, codes: Sequence[str], branch_days: int) -> bool:
    """Drop the secondary indexes for this fill only when it is big, its branches have
    no tickets yet, and the tickets already there (of other branches) are few beside
    the fill's: rebuilding indexes over a big live table would cost more than it saves,
    and block that table's writers while it runs."""
    if branch_days < DEFER_FROM:
        return False
    ours = connection.execute(
        text("SELECT 1 FROM ticket WHERE branch = ANY(:codes) LIMIT 1"), {"codes": list(codes)}
    ).first()
    if ours is not None:
        return False
    bound = branch_days * 20  # a busy branch-day is ~400 tickets: the fill is 20x more
    present = connection.execute(
        text("SELECT count(*) FROM (SELECT 1 FROM ticket LIMIT :n) s"), {"n": bound}
    ).scalar_one()
    return int(present) < bound


def drop_secondary_indexes(connection: Connection) -> list[tuple[str, str]]:
    """Drop the non-unique indexes of the bulk tables (keys and unique constraints stay:
    they keep the fill correct); returns (name, definition) to make them again."""
    dropped = [
        (str(name), str(definition))
        for name, definition in connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = ANY(:tables) "
                "AND indexdef NOT LIKE 'CREATE UNIQUE INDEX%'"
            ),
            {"tables": list(BULK_TABLES)},
        )
    ]
    for name, _ in dropped:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    connection.commit()
    return dropped


def make_indexes(connection: Connection, dropped: Sequence[tuple[str, str]]) -> None:
    """Make the dropped indexes again, from their own definitions (one sort each), and
    refresh the planner's statistics of the filled tables."""
    connection.rollback()  # whatever a failed fill left open
    connection.exec_driver_sql("SET maintenance_work_mem = '256MB'")
    for _, definition in dropped:
        connection.exec_driver_sql(definition)
        connection.commit()
    connection.exec_driver_sql(f"ANALYZE {', '.join(BULK_TABLES)}")
    connection.commit()
