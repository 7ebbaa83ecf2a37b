"""SQLite writers of several processes wait in line on a lock file beside the
database (server/db.py _FileLock), held for exactly the write transaction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from server.db import Database

TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("busy")
else:
    print("free")
"""


def other_process_can_lock(path: Path) -> bool:
    """Whether another process could take the lock right now (it never waits)."""
    result = subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(path)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip() == "free"


def test_a_write_holds_the_lock_file_for_its_transaction(tmp_path: Path) -> None:
    database = tmp_path / "lobbyq.db"
    db = Database(f"sqlite:///{database}")
    lock = Path(f"{database}.lock")
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        assert lock.exists() and other_process_can_lock(lock)
        with db.write() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            assert not other_process_can_lock(lock)  # a second process would wait here
        assert other_process_can_lock(lock)
        # A failed write lets go of it too.
        with pytest.raises(OperationalError), db.write() as session:
            session.execute(text("INSERT INTO nowhere VALUES (1)"))
        assert other_process_can_lock(lock)
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    finally:
        db.dispose()


def test_the_lock_file_is_private(tmp_path: Path) -> None:
    database = tmp_path / "lobbyq.db"
    db = Database(f"sqlite:///{database}")
    try:
        mode = os.stat(f"{database}.lock").st_mode & 0o777
        assert mode == 0o600
    finally:
        db.dispose()
