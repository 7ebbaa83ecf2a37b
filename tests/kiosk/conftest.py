"""Kiosk fixtures: a TCP fake printer on loopback and a live server printing to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import AppConfig
from tests.printers.printer_fakes import FakeNetworkPrinter, free_port
from tests.support import KIOSK_TOKEN, LiveServer, make_config


def network_printer_config(
    database_url: str, data_dir: Path, port: int, timeout_s: float = 2, **overrides: Any
) -> AppConfig:
    return make_config(
        database_url,
        data_dir,
        printers=[
            {
                "id": "p1",
                "driver": "network",
                "host": "127.0.0.1",
                "port": port,
                "timeout_s": timeout_s,
                "profile": "TM-T88V-CN",  # a Chinese model: gb18030 is its font
                "chinese_mode": "gb18030",
            }
        ],
        kiosks=[{"id": "k1", "token": KIOSK_TOKEN, "printer": "p1"}],
        **overrides,
    )


@pytest.fixture
def tcp_printer() -> Iterator[FakeNetworkPrinter]:
    printer = FakeNetworkPrinter("ok")
    yield printer
    printer.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(config: AppConfig, clock: Any = None) -> LiveServer:
        live = LiveServer(config=config, clock=clock).start()
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


@pytest.fixture
def printing_server(
    database_url: str,
    tmp_path: Path,
    tcp_printer: FakeNetworkPrinter,
    start_server: Callable[..., LiveServer],
) -> LiveServer:
    """The branch's kiosk k1 prints on the TCP fake printer."""
    return start_server(network_printer_config(database_url, tmp_path / "data", tcp_printer.port))


@pytest.fixture
def dead_printer_server(
    database_url: str, tmp_path: Path, start_server: Callable[..., LiveServer]
) -> LiveServer:
    """The kiosk's printer is configured on a closed port: every job fails."""
    return start_server(network_printer_config(database_url, tmp_path / "data", free_port()))
