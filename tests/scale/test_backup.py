"""`lobbyq backup` while a real server is issuing and calling: the copy restores
(SQLite: the file; PostgreSQL: pg_restore) with every ticket acknowledged before the
backup began and a whole, gapless event log; bad input gets a clear error."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from server.backup import find_pg_dump
from server.db import Database
from server.models import Ticket, TicketEvent
from tests.scale.conftest import PG_ADMIN_URL
from tests.scale.procs import (
    ROOT,
    ServerProcess,
    config_data,
    drop_pg_database,
    fresh_pg_database,
    login,
    write_config,
)
from tests.server.test_cli import lobbyq as run_cli
from tests.support import KIOSK_TOKEN, PASSWORDS

pytestmark = pytest.mark.own_database  # makes its own databases: both passes


def lobbyq(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=ROOT)


class Load:
    """A kiosk issuing and a counter calling and completing, until told to stop."""

    def __init__(self, server: ServerProcess, token: str) -> None:
        self.server = server
        self.token = token
        self.acked: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.halt = threading.Event()
        self.threads = [
            threading.Thread(target=self.kiosk),
            threading.Thread(target=self.counter),
        ]

    def kiosk(self) -> None:
        headers = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
        with httpx.Client(base_url=self.server.api, headers=headers, timeout=60) as http:
            while not self.halt.is_set():
                try:
                    response = http.post(
                        "/branches/b1/tickets", json={"service": "A", "print": False}
                    )
                except httpx.HTTPError as exc:
                    self.errors.append(f"issue: {exc!r}")
                    time.sleep(0.5)
                    continue
                if response.status_code == 201:
                    self.acked.append(response.json())
                else:
                    self.errors.append(f"issue {response.status_code}")

    def counter(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        base = "/branches/b1/counters/1"
        with httpx.Client(base_url=self.server.api, headers=headers, timeout=60) as http:
            http.post(f"{base}/open").raise_for_status()
            while not self.halt.is_set():
                try:
                    called = http.post(f"{base}/call-next")
                    if called.status_code == 200:
                        http.post(f"{base}/complete").raise_for_status()
                    elif called.status_code != 204:
                        self.errors.append(f"call {called.status_code}")
                except httpx.HTTPError as exc:
                    self.errors.append(f"call: {exc!r}")
                    time.sleep(0.5)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.halt.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def wait_acked(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.acked) >= count, (self.errors[:5], self.server.tail())


@pytest.fixture(params=["sqlite", "postgres"])
def source(request: pytest.FixtureRequest, workdir: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{workdir / 'lobbyq.db'}"
        return
    url = fresh_pg_database(PG_ADMIN_URL)
    yield url
    drop_pg_database(PG_ADMIN_URL, url)


def restore(backup: Path, source_url: str) -> Iterator[Database]:
    if source_url.startswith("sqlite"):
        db = Database(f"sqlite:///{backup}")
        yield db
        db.dispose()
        return
    url = fresh_pg_database(PG_ADMIN_URL)
    try:
        pg_restore = str(Path(find_pg_dump()).with_name("pg_restore"))
        target = url.replace("postgresql+psycopg://", "postgresql://")
        done = subprocess.run(
            [pg_restore, "--no-owner", f"--dbname={target}", str(backup)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        db = Database(url)
        yield db
        db.dispose()
    finally:
        drop_pg_database(PG_ADMIN_URL, url)


@pytest.mark.timeout(900)
def test_backup_while_serving_restores_every_ticket_and_event(source: str, workdir: Path) -> None:
    config = write_config(
        workdir / "lobbyq.toml", config_data(source, workdir / "data", users=("teller1",))
    )
    server = ServerProcess(config, log=workdir / "server.log").start()
    backup = workdir / "copy.backup"
    try:
        with Load(server, login(server.api, "teller1", PASSWORDS["teller1"])) as load:
            load.wait_acked(20)
            before = list(load.acked)
            done = lobbyq("backup", str(backup), "--config", str(config))  # under load
            load.wait_acked(len(before) + 10)
        assert done.returncode == 0, done.stderr
        assert "backup written" in done.stdout
        assert load.errors == [], (load.errors[:5], server.tail())
    finally:
        server.stop()

    for db in restore(backup, source):
        with db.read() as session:
            tickets = {t.id: t for t in session.exec(select(Ticket))}
            events = list(session.exec(select(TicketEvent).order_by(col(TicketEvent.seq))))
        # Everything acknowledged before the backup began is in it, as it was issued.
        for ticket in before:
            assert tickets[ticket["id"]].number == ticket["number"]
        assert len(tickets) < len(load.acked)  # and the copy is of a moment, not the end
        # One instant: the event log is whole and gapless, and agrees with the tickets.
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        issued = {e.ticket_id for e in events if e.type == "ticket.issued"}
        assert issued == set(tickets)
        completed = {e.ticket_id for e in events if e.type == "ticket.completed"}
        assert completed == {i for i, t in tickets.items() if t.status == "completed"}
        assert completed  # the counter was working while the copy was made


@pytest.mark.timeout(900)  # five CLI runs, each a Python start-up on a loaded machine
def test_backup_bad_input_is_refused_clearly(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'lobbyq.db'}"
    config = write_config(workdir / "lobbyq.toml", config_data(url, workdir / "data", users=()))
    assert lobbyq("init-db", "--config", str(config)).returncode == 0
    existing = workdir / "existing.backup"
    existing.write_text("keep me")

    refused = lobbyq("backup", str(existing), "--config", str(config))
    assert refused.returncode == 1
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert existing.read_text() == "keep me"  # nothing lost

    for path, reason in (
        (workdir / "no-such-folder" / "x.backup", "does not exist"),
        (workdir, "is a folder"),
        (Path("/proc/lobbyq.backup"), "failed"),  # a folder nobody can write in, even root
    ):
        result = lobbyq("backup", str(path), "--config", str(config))
        assert result.returncode == 1, path
        assert reason in result.stderr, result.stderr
        assert "Traceback" not in result.stderr

    replaced = lobbyq("backup", str(existing), "--force", "--config", str(config))
    assert replaced.returncode == 0, replaced.stderr
    db = Database(f"sqlite:///{existing}")
    with db.read() as session:
        assert session.exec(select(TicketEvent)).first() is None  # a real, empty database
    db.dispose()
