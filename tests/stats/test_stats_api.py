"""GET /stats and /stats.csv on a live server: who may read them, bad parameters,
and the CSV read back as Excel would (BOM, Chinese names)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.stats.history import Day, build_history
from tests.support import (
    DISPLAY_TOKEN,
    FakeClock,
    LiveServer,
    drop_database,
    fresh_database_url,
    live_server,
    make_config,
)

pytestmark = pytest.mark.own_database  # makes its own databases: both passes


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server with the hand-built day, shared by these read-only tests."""
    tmp = tmp_path_factory.mktemp("stats-api")
    url = fresh_database_url(tmp)
    config = make_config(url, tmp / "data")
    clock = FakeClock()
    with live_server(config, clock) as server:
        assert server.store is not None
        build_history(Day(config=config, db=server.store.db, clock=clock))
        yield server
    drop_database(url)


def test_manager_reads_today_by_service(filled: LiveServer) -> None:
    with filled.client("manager") as client:
        response = client.get("/branches/b1/stats")
    assert response.status_code == 200
    body = response.json()
    assert [row["key"] for row in body["rows"]] == ["A", "B", "C"]
    keys = {
        "key",
        "issued",
        "served",
        "no_show",
        "cancelled",
        "transferred",
        "wait_avg_s",
        "wait_p50_s",
        "wait_p90_s",
        "wait_max_s",
        "service_avg_s",
        "service_p90_s",
        "within_target_pct",
        "ratings",
        "satisfied_pct",
    }
    assert keys <= set(body["rows"][0])
    assert body["totals"]["issued"] == 7
    assert body["totals"]["wait_avg_s"] == 464.0
    assert body["from"] == "2026-11-30T00:00:00+08:00"


def test_group_by_hour_with_a_range(filled: LiveServer) -> None:
    with filled.client("admin") as client:
        response = client.get(
            "/branches/b1/stats",
            params={"from": "2026-11-30", "to": "2026-11-30", "group_by": "hour"},
        )
    assert response.status_code == 200
    assert [(r["key"], r["issued"]) for r in response.json()["rows"]] == [(10, 6), (11, 1)]


def test_csv_reads_back_with_bom_and_chinese(filled: LiveServer) -> None:
    with filled.client("manager") as client:
        response = client.get("/branches/b1/stats.csv", params={"group_by": "service"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["service"] for row in table] == ["A", "B", "C", "total"]
    assert table[0]["name"] == "个人现金 / Cash"
    assert table[3]["name"] == "合计 / Total"
    assert table[0]["issued"] == "3"
    assert float(table[0]["wait_avg_s"]) == 720.0
    assert table[3]["within_target_pct"] == "75.0"
    assert table[2]["transferred"] == "1"


def test_teller_is_refused(filled: LiveServer) -> None:
    with filled.client("teller1") as client:
        for path in ("/branches/b1/stats", "/branches/b1/stats.csv"):
            response = client.get(path)
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "managers_only"


def test_devices_and_strangers_are_refused(filled: LiveServer) -> None:
    with filled.client("display") as client:
        assert client.get("/branches/b1/stats").status_code == 403
    with filled.client(None) as client:
        response = client.get("/branches/b1/stats.csv")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"group_by": "weekday"}, "invalid_group_by"),
        ({"from": "30/11/2026"}, "invalid_date"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "invalid_range"),
        ({"from": "2026-02-30"}, "invalid_date"),
        ({"to": "x" * 200}, "invalid_input"),
    ],
)
def test_bad_params_are_422(filled: LiveServer, params: dict[str, str], code: str) -> None:
    with filled.client("manager") as client:
        for path in ("/branches/b1/stats", "/branches/b1/stats.csv"):
            response = client.get(path, params=params)
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == code


def test_unknown_branch_is_404(filled: LiveServer) -> None:
    with filled.client("manager") as client:
        response = client.get("/branches/nope/stats")
    assert response.status_code == 404


def scrape(server: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.api}/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_todays_events(filled: LiveServer) -> None:
    from websockets.sync.client import connect

    with connect(
        f"ws://{filled.url.removeprefix('http://')}/ws/branches/b1?token={DISPLAY_TOKEN}"
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        metrics = scrape(filled)
    b1 = (("branch", "b1"),)

    def today(name: str, service: str) -> float:
        return metrics[(f"lobbyq_{name}_today", (("branch", "b1"), ("service", service)))]

    # history.py: issued A001 A002 VA003 A004 (A), B001 B002 (B), C001 (C).
    assert [today("issued", s) for s in "ABC"] == [4, 2, 1]
    # Calls carry the service at call time: VA003 was called in A, then again in C
    # after its transfer; B001 twice (reinstated).
    assert [today("calls", s) for s in "ABC"] == [3, 3, 1]
    assert [today("served", s) for s in "ABC"] == [2, 1, 1]
    assert [today("no_shows", s) for s in "ABC"] == [0, 2, 0]  # no-show events
    assert today("recalls", "B") == 2
    assert today("cancelled", "A") == 1
    assert metrics[("lobbyq_waiting", (("branch", "b1"), ("service", "C")))] == 1
    assert metrics[("lobbyq_counters", (("branch", "b1"), ("state", "open")))] == 3
    assert metrics[("lobbyq_branch_websocket_clients", b1)] == 1
    assert metrics[("lobbyq_websocket_clients", ())] >= 1
    assert ("lobbyq_printer_online", (("branch", "b1"), ("printer", "p1"))) in metrics
