"""Engine, sessions and migrations.

SQLite runs in WAL mode and every write transaction starts with BEGIN IMMEDIATE,
so two writers never deadlock upgrading a read lock. Inside one process the
writers also queue on a lock, so they wait in line instead of spinning on the
SQLite busy handler; clients never see "database is locked"."""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from server.errors import InvalidInput

MIGRATIONS = Path(__file__).parent / "migrations"


def _has_nul(parameters: Any, depth: int = 0) -> bool:
    if isinstance(parameters, str):
        return "\x00" in parameters
    if depth > 3:
        return False
    if isinstance(parameters, dict):
        return any(_has_nul(v, depth + 1) for v in parameters.values())
    if isinstance(parameters, list | tuple):
        return any(_has_nul(v, depth + 1) for v in parameters)
    return False


def _refuse_nul(engine: Engine) -> None:
    """PostgreSQL cannot store a NUL character in text and fails the query with a
    driver error (a 5xx); refuse such input as invalid instead, on every database
    alike (tests/scale/test_hostile.py)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _check(
        _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if _has_nul(parameters):
            raise InvalidInput("text may not contain NUL characters", code="nul_character")


def connection_of(session: Session) -> Connection:
    """`session.connection()`, looked up once per transaction: the hot paths run
    several Core statements each, and the lookup through the session's transaction
    machinery cost more than some of the statements (bench/bench_core.py)."""
    connection: Connection | None = session.info.get("lobbyq_connection")
    if connection is None or connection.closed or connection.invalidated:
        connection = session.info["lobbyq_connection"] = session.connection()
    return connection


class _FileLock:
    """An exclusive lock on a file beside the SQLite database (flock), taken after the
    in-process lock: writers of several processes on one SQLite file wait in line
    for each other, woken at once when the lock is free, instead of sleeping in
    SQLite's busy handler and retrying."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


def private_files(database: Path) -> None:
    """The SQLite file and its -wal/-shm are the owner's alone (0600): created so
    before SQLite opens it (SQLite gives -wal/-shm the database file's mode), and
    tightened when an older version left them 0644."""
    os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


_LIVE: weakref.WeakSet[Database] = weakref.WeakSet()


def _forget_parents_connections() -> None:
    """In a forked child, drop the pools inherited from the parent without closing
    their connections: those sockets are the parent's, still in use by its threads.
    Closing one here (or letting the child's garbage collector do it) sends the
    server a Terminate on the parent's connection; using one mixes two processes'
    protocol streams. SQLAlchemy's advice for os.fork / multiprocessing."""
    for database in list(_LIVE):
        database.engine.dispose(close=False)
        database._write_engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_parents_connections)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = threading.Lock()
        self._file_lock: _FileLock | None = None
        database = make_url(url).database if self.is_sqlite else None
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # before the engines
            private_files(Path(database))
            self._file_lock = _FileLock(Path(database + ".lock"))
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, begin="BEGIN")
            self._write_engine = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
        else:
            self.engine = create_engine(url, pool_size=20, max_overflow=30, pool_pre_ping=True)
            self._write_engine = self.engine
        for engine in {self.engine, self._write_engine}:
            _refuse_nul(engine)
        _LIVE.add(self)
        from server.stats.facts import install as keep_facts

        keep_facts()  # the tickets a write transaction ends get their fact rows

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back on error."""
        lock = self._write_lock if self.is_sqlite else nullcontext()
        file_lock = self._file_lock or nullcontext()
        with lock, file_lock, Session(self._write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
        self._write_engine.dispose()
        if self._file_lock is not None:
            self._file_lock.close()
            self._file_lock = None


def _sqlite_engine(url: str, *, begin: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=32,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: exec_driver_sql would take this through the whole
        # execution machinery (events, result) once per transaction.
        connection.connection.driver_connection.execute(begin)

    return engine


def migrate(url: str) -> None:
    """Apply all Alembic migrations (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
