from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from printer_fakes import FakeNetworkPrinter

from printers.jobs import RetryPolicy
from printers.spooler import Spooler

# Fast enough for a quick suite, slow enough that loopback never trips a timeout by accident.
FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.01, factor=2.0, max_delay_s=0.05)


@pytest.fixture
def network_printer() -> Iterator[Callable[..., FakeNetworkPrinter]]:
    started: list[FakeNetworkPrinter] = []

    def start(mode: str = "ok", **kwargs: Any) -> FakeNetworkPrinter:
        printer = FakeNetworkPrinter(mode, **kwargs)
        started.append(printer)
        return printer

    yield start
    for printer in started:
        printer.stop()


@pytest.fixture
def make_spooler() -> Iterator[Callable[..., Spooler]]:
    made: list[Spooler] = []

    def make(**kwargs: Any) -> Spooler:
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("probe_interval_s", None)  # tests ask with refresh(): deterministic
        spooler = Spooler(**kwargs)
        made.append(spooler)
        return spooler

    yield make
    for spooler in made:
        spooler.close(timeout_s=5)
