"""Driving the queue use-cases directly on a real database, with a hand clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from server.app import prepare_database
from server.config import AppConfig, BranchSettings
from server.db import Database
from server.models import Ticket
from server.queue import counters, tickets
from tests.support import FakeClock, make_config


@dataclass
class QueueEnv:
    config: AppConfig
    db: Database
    clock: FakeClock

    @property
    def branch(self) -> BranchSettings:
        return self.config.branches[0]

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.db.write() as session:
            yield session

    def issue(self, service: str = "A", priority: str = "normal", **kwargs: Any) -> Ticket:
        with self.write() as session:
            return tickets.issue_ticket(
                session=session,
                branch=self.branch,
                service=service,
                priority=priority,
                now=self.clock(),
                **kwargs,
            ).ticket

    def open(self, counter: str, username: str = "teller1") -> None:
        with self.write() as session:
            counters.open_counter(
                session=session,
                branch=self.branch,
                counter=counter,
                username=username,
                now=self.clock(),
            )

    def act(self, action: Any, counter: str, username: str = "teller1", **kwargs: Any) -> Any:
        with self.write() as session:
            return action(
                session=session,
                branch=self.branch,
                counter=counter,
                username=username,
                now=self.clock(),
                **kwargs,
            )

    def call(self, counter: str, username: str = "teller1") -> Ticket:
        return self.act(tickets.call_next, counter, username)  # type: ignore[no-any-return]

    def serve(self, counter: str, username: str = "teller1") -> Ticket:
        """Call the next ticket and complete it at once."""
        called = self.call(counter, username)
        self.act(tickets.complete, counter, username)
        return called

    def get(self, ticket_id: int | None) -> Ticket:
        with self.db.read() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            return ticket


def make_env(database_url: str, tmp_path: Path, clock: FakeClock, **branch: Any) -> QueueEnv:
    config = make_config(database_url, tmp_path / "data", **branch)
    db = Database(config.server.database_url)
    prepare_database(config, db)
    return QueueEnv(config=config, db=db, clock=clock)
