from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.config import AppConfig
from tests.devices.helpers import device_config
from tests.support import FakeClock, LiveServer, live_server


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> AppConfig:
    return device_config(database_url, tmp_path / "data")


@pytest.fixture
def hall(config: AppConfig, clock: FakeClock) -> Iterator[LiveServer]:
    """The server with the hall's devices, on a clock the test moves."""
    with live_server(config, clock) as server:
        yield server
