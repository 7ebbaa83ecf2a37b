from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.builders import QueueEnv, make_env
from tests.support import FakeClock


@pytest.fixture
def env(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[QueueEnv]:
    queue_env = make_env(database_url, tmp_path, clock)
    yield queue_env
    queue_env.db.dispose()


@pytest.fixture(params=["weighted", "strict"])
def ordered_env(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[QueueEnv]:
    """A branch under each ordering mode in turn."""
    queue_env = make_env(database_url, tmp_path, clock, ordering=request.param)
    yield queue_env
    queue_env.db.dispose()
