"""`lobbyq backup PATH`: a consistent copy of the database while the server runs.

SQLite: the online backup API (sqlite3's `Connection.backup`), page by page from one
read snapshot while writers go on; the copy is written beside PATH and renamed into
place, so PATH is never half written. PostgreSQL: `pg_dump --format=custom` (one
transaction snapshot), restored with `pg_restore`. The password is passed to pg_dump
in its environment, never on its command line (where `ps` shows it)."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """Said to the operator as is (no traceback): what is wrong and what to do."""


@dataclass(frozen=True)
class BackupDone:
    path: Path
    size: int
    kind: str  # "sqlite" or "pg_dump"


def check_target(path: Path, *, force: bool) -> None:
    if path.is_dir():
        raise BackupError(f"{path} is a folder: give a file name, e.g. {path / 'lobbyq.backup'}")
    if path.exists() and not force:
        raise BackupError(f"{path} already exists: choose another name, or add --force")
    folder = path.parent
    if not folder.is_dir():
        raise BackupError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"cannot write in folder {folder} (permission denied)")


def backup(database_url: str, path: Path, *, force: bool = False) -> BackupDone:
    path = path.expanduser().absolute()
    check_target(path, force=force)
    temp = path.with_name(f".{path.name}.part")
    try:
        if database_url.startswith("sqlite"):
            _sqlite_backup(database_url, temp)
            kind = "sqlite"
        elif database_url.startswith("postgresql"):
            _pg_dump(database_url, temp)
            kind = "pg_dump"
        else:
            raise BackupError(f"cannot back up {make_url(database_url).drivername} databases")
        temp.replace(path)
    except OSError as exc:
        raise BackupError(f"writing {path}: {exc.strerror or exc}") from exc
    finally:
        temp.unlink(missing_ok=True)
    return BackupDone(path, path.stat().st_size, kind)


def _sqlite_backup(database_url: str, temp: Path) -> None:
    source_path = make_url(database_url).database
    if not source_path or source_path == ":memory:" or not Path(source_path).is_file():
        raise BackupError(f"no SQLite database at {source_path!r}")
    try:
        source = sqlite3.connect(source_path, timeout=30)
        try:
            target = sqlite3.connect(temp)
            try:
                # pages=-1: the whole database in one step, i.e. from one read snapshot.
                source.backup(target, pages=-1)
                check = target.execute("PRAGMA integrity_check").fetchone()
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup to {temp.parent} failed: {exc}") from exc
    if not check or check[0] != "ok":
        raise BackupError(f"the copy failed its integrity check: {check}")


def find_pg_dump() -> str:
    found = shutil.which("pg_dump")
    if found:
        return found
    # Debian keeps the client programs per version, off the PATH.
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_dump"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[4].split(".")],
    )
    if not candidates:
        raise BackupError(
            "pg_dump not found: install the PostgreSQL client (Debian: apt install "
            "postgresql-client) of the server's version or newer"
        )
    return candidates[-1]


def libpq_url(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL pg_dump takes (no SQLAlchemy driver, no password) and its environment."""
    url = make_url(database_url)
    env = {}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_dump(database_url: str, temp: Path) -> None:
    url, env = libpq_url(database_url)
    command = [find_pg_dump(), "--format=custom", "--no-owner", f"--file={temp}", f"--dbname={url}"]
    try:
        done = subprocess.run(
            command,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError("pg_dump took more than an hour") from exc
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip() or done.returncode}")
