"""Fixtures of the scale, crash and hostile-input tests: Redis and Postgres URLs
(always real ones: CI starts both), and real `lobbyq serve` processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale.procs import drop_pg_database, fresh_pg_database

REDIS_URL = os.environ.get("LOBBYQ_TEST_REDIS") or "redis://127.0.0.1:63799/0"
PG_ADMIN_URL = (
    os.environ.get("LOBBYQ_TEST_POSTGRES")
    or "postgresql+psycopg://postgres@127.0.0.1:54329/postgres"
)


@pytest.fixture
def redis_url() -> str:
    """The test Redis, with a channel prefix of this test's own (pub/sub channels are
    shared by all Redis databases, so a DB number alone would not isolate tests)."""
    sep = "&" if "?" in REDIS_URL else "?"
    return f"{REDIS_URL}{sep}channel_prefix=lobbyq-test-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh Postgres database, whichever pass of the suite this is."""
    url = fresh_pg_database(PG_ADMIN_URL)
    yield url
    drop_pg_database(PG_ADMIN_URL, url)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path
