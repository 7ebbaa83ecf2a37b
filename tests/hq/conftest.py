"""A head office: several branches on one database and a regional manager who
oversees the first two of them."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import AppConfig, parse_config
from tests.support import BASE_CONFIG, PASSWORDS, FakeClock, LiveServer, live_server

REGIONAL = "region1"
PASSWORDS.setdefault(REGIONAL, "region1-pass")
NAMES = [("福田支行", "Futian"), ("南山支行", "Nanshan"), ("罗湖支行", "Luohu")]


def hq_config(database_url: str, data_dir: Path, branches: int = 3) -> AppConfig:
    data: dict[str, Any] = copy.deepcopy(BASE_CONFIG)
    data["server"]["database_url"] = database_url
    data["server"]["data_dir"] = str(data_dir)
    template = data["branches"][0]
    made = []
    for i in range(branches):
        branch = copy.deepcopy(template)
        zh, en = NAMES[i] if i < len(NAMES) else (f"支行{i}", f"Branch {i}")
        branch.update(code=f"b{i + 1:02d}", name={"zh": zh, "en": en})
        if i:  # device tokens are unique across branches
            branch["kiosks"] = [{"id": "k1", "token": f"kiosk-token-{i}", "printer": "p1"}]
            branch["displays"] = [{"id": "tv1", "token": f"display-token-{i}"}]
        made.append(branch)
    data["branches"] = made
    data["users"].append(
        {
            "username": REGIONAL,
            "password": PASSWORDS[REGIONAL],
            "role": "regional",
            "branches": ["b01", "b02"],
        }
    )
    return parse_config(data, source="<hq test>")


@pytest.fixture
def hq(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    with live_server(hq_config(database_url, tmp_path / "data"), clock=clock) as server:
        yield server
