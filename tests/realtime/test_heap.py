"""`lobbyq serve` sets the collector for thousands of sockets before it serves
(server/realtime/heap.py): the start's objects frozen, a larger young generation, and
an accept queue long enough for a reconnect storm."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from server import cli
from server.realtime.heap import OLDER_THRESHOLDS, YOUNG_THRESHOLD


def test_serve_settles_the_heap_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(application: Any, **options: Any) -> None:
        seen["threshold"] = gc.get_threshold()
        seen["frozen"] = gc.get_freeze_count()
        seen["options"] = options

    before = gc.get_threshold()
    monkeypatch.setattr(uvicorn, "run", fake_run)
    try:
        cli.run_server(object(), host="127.0.0.1", port=1)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert seen["threshold"] == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    assert seen["threshold"] != before
    assert seen["frozen"] > 10_000  # the modules and objects of the start
    assert seen["options"]["backlog"] >= 4096
