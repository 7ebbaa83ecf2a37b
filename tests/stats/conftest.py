"""Fixtures of the statistics tests. The hand-built day is built once per module
(read-only tests share it); `day` gives a fresh, empty one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import prepare_database
from server.config import AppConfig
from server.db import Database
from tests.stats.history import Day, build_history
from tests.support import FakeClock, drop_database, fresh_database_url, make_config


@pytest.fixture
def day(config: AppConfig, clock: FakeClock) -> Iterator[Day]:
    db = Database(config.server.database_url)
    prepare_database(config, db)
    yield Day(config=config, db=db, clock=clock)
    db.dispose()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    tmp: Path = tmp_path_factory.mktemp("history")
    url = fresh_database_url(tmp)
    config = make_config(url, tmp / "data")
    db = Database(url)
    prepare_database(config, db)
    built = Day(config=config, db=db, clock=FakeClock())
    build_history(built)
    yield built
    db.dispose()
    drop_database(url)
