"""Filling many branches and days fast (`lobbyq simulate --bulk`).

The real simulator (simulator.py) drives every action through the queue use-cases,
each in its own write transaction: right for a sample, about 3 s a day, so a year of
200 branches would take days. The bulk path still runs the **real** simulator, once
per distinct (branch layout, seed), on a scratch SQLite file, and then copies that
day's rows (tickets, their events, their facts) into each (branch, day) it is asked
for: ids, sequence numbers, tokens and the branch are renumbered, every time is moved
by the whole days between the two dates (local midnight to local midnight), and the
rows go in with a few multi-row statements per day (COPY on Postgres).

So a bulk day *is* a simulated day of the same seed, moved: its statistics are those
of `simulate_day` with that seed on that date (tests/dashboard/test_bulk.py). What may
differ is `estimated_wait_s` (the promise at issue depends on the history the real
run sees; the template has none).

A filled day is sealed at once when it can be (server/stats/facts.py): its fact rows
are the template's, moved, and its rollup is written, so reports over the filled
range read facts and never fold the log.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from server.config import AppConfig, BranchSettings
from server.dashboard import stamp
from server.dashboard.simulator import DayPlan, simulate_day
from server.db import Database, connection_of
from server.errors import LobbyQError
from server.models import (
    Branch,
    DailySequence,
    FactDay,
    Ticket,
    TicketEvent,
    TicketFact,
    User,
)
from server.stats import facts
from server.stats.compute import DateRange, log_facts

_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_FACT = TicketFact.__table__  # type: ignore[attr-defined]
_DAY = FactDay.__table__  # type: ignore[attr-defined]
_SEQ = DailySequence.__table__  # type: ignore[attr-defined]
_BRANCH = Branch.__table__  # type: ignore[attr-defined]
_USER = User.__table__  # type: ignore[attr-defined]

TEMPLATE_DAY = date(2026, 1, 5)  # any weekday: the template is moved to each date
# Times inside an event's data (ticket_data): moved with the row's own times.
DATA_TIMES = ("issued_at", "enqueued_at", "called_at")


@dataclass
class Template:
    """One simulated day, as rows ready to be moved and renumbered."""

    day: date
    tickets: list[dict[str, Any]]
    events: list[dict[str, Any]]  # in seq order
    facts: list[dict[str, Any]]
    sequences: list[dict[str, Any]]
    tellers: list[dict[str, Any]]


@dataclass
class Filler:
    """Copies templates into the target database; templates are made once per
    (branch layout, seed) and kept."""

    config: AppConfig
    db: Database
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lobbyq-bulk-")))
    _templates: dict[tuple[str, int, float], Template] = field(default_factory=dict)
    template_s: float = 0.0  # time spent simulating templates (real use-cases)
    copy_s: float = 0.0  # time spent copying them
    # PostgreSQL: templates staged on one connection and stamped (stamp.py).
    _connection: Connection | None = None
    _staged: dict[int, stamp.Staged | None] = field(default_factory=dict)
    stamper: stamp.Stamper = field(default_factory=stamp.Stamper)
    stage_s: float = 0.0  # time spent staging templates (PostgreSQL)
    index_s: float = 0.0  # time spent dropping and making indexes (a deferred fill)

    def template(self, branch: BranchSettings, plan: DayPlan) -> Template:
        layout = branch.model_dump_json(exclude={"code", "name", "kiosks", "displays"})
        key = (layout, plan.seed, plan.volume)
        if key not in self._templates:
            started = time.perf_counter()
            self._templates[key] = make_template(self.config, branch, plan, self.scratch)
            self.template_s += time.perf_counter() - started
        return self._templates[key]

    def fill(self, branch: BranchSettings, day: date, plan: DayPlan, now: datetime) -> int:
        """Copy the template of `plan` into (branch, day); returns the tickets written."""
        template = self.template(branch, plan)
        started = time.perf_counter()
        with self.db.write() as session:
            copied = copy_day(session, branch, day, template, now)
        self.copy_s += time.perf_counter() - started
        return copied

    def fill_branch(
        self, branch: BranchSettings, days: Sequence[tuple[date, DayPlan]], now: datetime
    ) -> int:
        """Fill these days of one branch (in ascending order); returns the tickets
        written. PostgreSQL stamps them in one transaction; else day by day."""
        chosen = [(day, self.template(branch, plan)) for day, plan in days]
        if not self.db.is_sqlite and chosen:
            started = time.perf_counter()
            stamped = self._stamp(branch, chosen, now)
            self.copy_s += time.perf_counter() - started
            if stamped is not None:
                return stamped
        return sum(self.fill(branch, day, plan, now) for day, plan in days)

    def fill_many(
        self,
        work: Sequence[tuple[BranchSettings, Sequence[tuple[date, DayPlan]]]],
        now_of: Callable[[], datetime],
        *,
        workers: int = 1,
        done: Callable[[BranchSettings, int], None] = lambda _b, _n: None,
    ) -> int:
        """Fill each branch's days; returns the tickets written. On PostgreSQL with
        `workers` > 1, that many connections fill branches side by side (a branch is
        one worker's, in one transaction; the templates are made first, once): the
        server's cores share the work of stamping."""
        if workers <= 1 or self.db.is_sqlite or len(work) < 2:
            total = 0
            for branch, plans in work:
                total += self.fill_branch(branch, plans, now_of())
                done(branch, total)
            return total
        made = {id(t): t for t in (self.template(b, plan) for b, ps in work for _, plan in ps)}
        with self.db.write() as session:  # once, before the workers (each would add them)
            tellers = {t["username"]: t for m in made.values() for t in m.tellers}
            _ensure_tellers(session, tellers.values())
        crew = [
            Filler(config=self.config, db=self.db, scratch=self.scratch, _templates=self._templates)
            for _ in range(workers)
        ]
        lock = threading.Lock()
        total = 0

        def share(member: Filler, mine: Sequence[Any]) -> None:
            nonlocal total
            for branch, plans in mine:
                written = member.fill_branch(branch, plans, now_of())
                with lock:
                    total += written
                    done(branch, total)

        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="lobbyq-fill") as pool:
                shares = [pool.submit(share, crew[i], work[i::workers]) for i in range(workers)]
                for one in shares:
                    one.result()
        finally:
            for member in crew:
                member.close()
                for step, spent in member.stamper.spent.items():
                    self.stamper.spent[step] = self.stamper.spent.get(step, 0.0) + spent
            self.copy_s += time.perf_counter() - started
            self.stage_s += max(member.stage_s for member in crew)
        return total

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()  # its temporary tables go with it
            self._connection = None

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self.db.engine.connect()
        return self._connection

    @contextmanager
    def indexes_deferred(
        self, codes: Sequence[str], branch_days: int, wanted: bool | None = None
    ) -> Iterator[bool]:
        """PostgreSQL: for a big fill (stamp.worth_deferring, or `wanted`), drop the
        secondary indexes of the bulk tables and make them again at the end, even
        when the fill fails. Yields whether it did."""
        if self.db.is_sqlite or wanted is False:
            yield False
            return
        connection = self._connect()
        stamp.heal_indexes(connection)
        connection.commit()
        if wanted is None:
            wanted = stamp.worth_deferring(connection, codes, branch_days)
            connection.commit()
        if not wanted:
            yield False
            return
        started = time.perf_counter()
        dropped = stamp.drop_secondary_indexes(connection)
        self.index_s += time.perf_counter() - started
        try:
            yield True
        finally:
            started = time.perf_counter()
            stamp.make_indexes(connection, dropped)
            self.index_s += time.perf_counter() - started

    def _staged_of(self, template: Template) -> stamp.Staged | None:
        self._connect()
        if id(template) not in self._staged:
            started = time.perf_counter()
            with Session(bind=self._connection) as session:
                self._staged[id(template)] = stamp.stage(connection_of(session), template)
                session.commit()
            self.stage_s += time.perf_counter() - started
        return self._staged[id(template)]

    def _stamp(
        self, branch: BranchSettings, chosen: Sequence[tuple[date, Template]], now: datetime
    ) -> int | None:
        """None when a day cannot be stamped (copy_day then does them all)."""
        targets: dict[int, list[stamp.Target]] = {}
        staged_of: dict[int, stamp.Staged] = {}
        for day, template in chosen:
            staged = self._staged_of(template)
            delta = facts.local_midnight(day, branch.zone) - facts.local_midnight(
                template.day, branch.zone
            )
            days = stamp.whole_days(delta)
            if staged is None or days is None:
                return None
            staged_of[id(template)] = staged
            targets.setdefault(id(template), []).append(stamp.Target(branch.code, day, days))
        first, last = chosen[0][0], chosen[-1][0]
        assert self._connection is not None
        with Session(bind=self._connection) as session:
            taken = stamp.taken_days(session, branch.code, first, last) & {d for d, _ in chosen}
            if taken:
                raise LobbyQError(
                    f"branch {branch.code} already has tickets on {min(taken).isoformat()}",
                    code="day_not_empty",
                )
            if facts.sealed_through(session, branch.code) is None:
                sealed = facts.local_midnight(first + stamp.DAY, branch.zone)
                facts.seal_days(session, branch, sealed)
            tellers = {t["username"]: t for _, tm in chosen for t in tm.tellers}
            _ensure_tellers(session, tellers.values())
            for key, batch in targets.items():
                self.stamper.write(session, staged_of[key], batch)
            stamp.seal_in_order(session, branch, [(d, staged_of[id(tm)]) for d, tm in chosen], now)
            session.commit()
        return sum(len(template.tickets) for _, template in chosen)


def alone_on(config: AppConfig, branch: BranchSettings, url: str) -> AppConfig:
    """The config with this one branch, on the database at `url`."""
    return config.model_copy(
        update={
            "branches": [branch],
            "server": config.server.model_copy(update={"database_url": url}),
        }
    )


def make_template(
    config: AppConfig, branch: BranchSettings, plan: DayPlan, scratch: Path
) -> Template:
    from server.app import prepare_database

    path = scratch / f"template-{secrets.token_hex(6)}.db"
    url = f"sqlite:///{path}"
    alone = alone_on(config, branch, url)
    db = Database(url)
    try:
        prepare_database(alone, db)
        simulate_day(branch=branch, write=db.write, read=db.read, day=TEMPLATE_DAY, plan=plan)
        with db.read() as session:
            connection = connection_of(session)

            def rows(statement: Any) -> list[dict[str, Any]]:
                return [dict(r._mapping) for r in connection.execute(statement)]

            tickets = rows(select(_TICKET).where(_TICKET.c.branch == branch.code))
            events = rows(
                select(_EVENT).where(_EVENT.c.branch == branch.code).order_by(_EVENT.c.seq)
            )
            fact_rows = rows(select(_FACT).where(_FACT.c.branch == branch.code))
            sequences = rows(select(_SEQ).where(_SEQ.c.branch == branch.code))
            tellers = rows(select(_USER).where(_USER.c.password_hash == "!simulated"))
        # The template's facts are those of a sealed day: every ticket, open ones too.
        by_id = {f["ticket_id"]: f for f in fact_rows}
        with db.read() as session:
            for folded in log_facts(
                session,
                branch,
                DateRange(
                    start=facts.local_midnight(TEMPLATE_DAY, branch.zone),
                    end=facts.local_midnight(TEMPLATE_DAY + timedelta(days=1), branch.zone),
                ),
            ):
                by_id[folded.ticket_id] = facts.row_of(folded, branch.code)
        return Template(
            day=TEMPLATE_DAY,
            tickets=tickets,
            events=events,
            facts=list(by_id.values()),
            sequences=sequences,
            tellers=tellers,
        )
    finally:
        db.dispose()
        path.unlink(missing_ok=True)
        for extra in path.parent.glob(path.name + "*"):
            extra.unlink(missing_ok=True)


def _moved(value: Any, delta: timedelta) -> Any:
    return value + delta if isinstance(value, datetime) else value


def _moved_iso(value: Any, delta: timedelta) -> Any:
    if not isinstance(value, str) or not value:
        return value
    try:
        return (datetime.fromisoformat(value) + delta).isoformat()
    except ValueError:
        return value


def _new_ticket_ids(session: Session, count: int) -> list[int]:
    connection = connection_of(session)
    if session.get_bind().dialect.name == "postgresql":
        result = connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('ticket', 'id')) FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return [int(v) for (v,) in result]
    highest = connection.execute(select(func.max(_TICKET.c.id))).scalar() or 0
    return list(range(int(highest) + 1, int(highest) + 1 + count))


def _reserve_seq(session: Session, branch: str, count: int) -> int:
    """The branch's next `count` event numbers; returns the last one before them."""
    last = (
        connection_of(session)
        .execute(
            update(_BRANCH)
            .where(_BRANCH.c.code == branch)
            .values(event_seq=_BRANCH.c.event_seq + count)
            .returning(_BRANCH.c.event_seq)
        )
        .scalar_one()
    )
    return int(last) - count


def _ensure_tellers(session: Session, tellers: Iterable[dict[str, Any]]) -> None:
    connection = connection_of(session)
    known = {u for (u,) in connection.execute(select(_USER.c.username))}
    missing = [
        {k: v for k, v in t.items() if k != "id"} for t in tellers if t["username"] not in known
    ]
    if missing:
        connection.execute(insert(_USER), missing)


def copy_day(
    session: Session, branch: BranchSettings, day: date, template: Template, now: datetime
) -> int:
    """Write the template's rows as (branch, day). Refuses a day that has tickets."""
    connection = connection_of(session)
    taken = connection.execute(
        select(_TICKET.c.id)
        .where(_TICKET.c.branch == branch.code, _TICKET.c.business_day == day)
        .limit(1)
    ).first()
    if taken is not None:
        raise LobbyQError(
            f"branch {branch.code} already has tickets on {day.isoformat()}", code="day_not_empty"
        )
    delta = facts.local_midnight(day, branch.zone) - facts.local_midnight(template.day, branch.zone)
    if facts.sealed_through(session, branch.code) is None:
        # Older days of the log are sealed first (from the log), so that sealing this
        # one keeps "sealed through D" meaning every day up to D.
        facts.seal_days(session, branch, facts.local_midnight(day + timedelta(days=1), branch.zone))
    _ensure_tellers(session, template.tellers)
    ids = dict(
        zip(
            (t["id"] for t in template.tickets),
            _new_ticket_ids(session, len(template.tickets)),
            strict=True,
        )
    )
    tickets = []
    for row in template.tickets:
        moved = {k: _moved(v, delta) for k, v in row.items()}
        moved.update(
            id=ids[row["id"]],
            branch=branch.code,
            token=secrets.token_urlsafe(18),
            business_day=row["business_day"] + timedelta(days=(day - template.day).days),
            status=str(row["status"]),  # a StrEnum or its value: str() is the value
            appointment_id=None,
        )
        tickets.append(moved)
    base = _reserve_seq(session, branch.code, len(template.events))
    first_seq = template.events[0]["seq"] if template.events else 0
    events = []
    for row in template.events:
        data = dict(row["data"] or {})
        for key in DATA_TIMES:
            if key in data:
                data[key] = _moved_iso(data[key], delta)
        if isinstance(data.get("id"), int):
            data["id"] = ids.get(data["id"], data["id"])
        events.append(
            {
                "branch": branch.code,
                "seq": base + row["seq"] - first_seq + 1,
                "type": row["type"],
                "ticket_id": ids.get(row["ticket_id"]) if row["ticket_id"] else None,
                "counter": row["counter"],
                "teller": row["teller"],
                "at": row["at"] + delta,
                "data": data,
            }
        )
    fact_rows = [
        {
            **{k: _moved(v, delta) for k, v in row.items()},
            "ticket_id": ids[row["ticket_id"]],
            "branch": branch.code,
        }
        for row in template.facts
    ]
    _write(session, tickets, events, fact_rows)
    shift = timedelta(days=(day - template.day).days)
    sequences = [
        {**s, "branch": branch.code, "business_day": s["business_day"] + shift}
        for s in template.sequences
    ]
    if sequences:
        connection.execute(insert(_SEQ), sequences)
    _seal_if_next(session, branch, day, fact_rows, now)
    return len(tickets)


def _write(
    session: Session,
    tickets: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    fact_rows: Sequence[dict[str, Any]],
) -> None:
    connection = connection_of(session)
    if session.get_bind().dialect.name != "postgresql":
        for table, rows in ((_TICKET, tickets), (_EVENT, events), (_FACT, fact_rows)):
            if rows:
                connection.execute(insert(table), list(rows))
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        for table, rows in ((_TICKET, tickets), (_EVENT, events), (_FACT, fact_rows)):
            stamp.copy_rows(cursor, table.name, rows)


def _seal_if_next(
    session: Session,
    branch: BranchSettings,
    day: date,
    fact_rows: Sequence[dict[str, Any]],
    now: datetime,
) -> None:
    """Write the day's rollup when it is the next day to seal and may be sealed."""
    through = facts.sealed_through(session, branch.code)
    if day > facts.last_sealable(branch, now):
        return
    if through is not None and day != through + timedelta(days=1):
        return
    rollup = facts.day_rollup(
        branch.code,
        day,
        now,
        ((r["outcome"], r["first_call_at"] is not None, r["rating"]) for r in fact_rows),
    )
    connection_of(session).execute(insert(_DAY), [rollup])
