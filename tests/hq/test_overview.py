"""GET /overview, the comparison and its CSV, and the regional role: live over HTTP
against the real server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from server.config import ConfigError, parse_config
from server.stats.compute import branch_report, parse_range
from tests.hq.conftest import REGIONAL, hq_config
from tests.support import KIOSK_TOKEN, FakeClock, LiveServer

T = TypeVar("T")


def eventually(read: Callable[[], T], ok: Callable[[T], bool], within_s: float = 10) -> T:
    """The overview is shared and recomputed at most once a second: poll for it."""
    deadline = time.monotonic() + within_s
    while True:
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def issue(hq: LiveServer, branch: str, service: str, token: str = KIOSK_TOKEN) -> str:
    response = httpx.post(
        f"{hq.api}/branches/{branch}/tickets",
        json={"service": service, "print": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def serve(hq: LiveServer, clock: FakeClock, branch: str, rating: int) -> None:
    """Call, serve and complete the next ticket; the customer rates it on the phone
    (a teller-entered rating never counts, API.md v1.1)."""
    with hq.client("teller1") as teller:
        called = teller.post(f"/branches/{branch}/counters/1/call-next")
        assert called.status_code == 200
        clock.advance(120)
        assert teller.post(f"/branches/{branch}/counters/1/complete").status_code == 200
    token = called.json()["ticket"]["token"]
    rated = httpx.post(f"{hq.api}/tickets/{token}/feedback", json={"rating": rating})
    assert rated.status_code == 200, rated.text


def fill(hq: LiveServer, clock: FakeClock) -> None:
    """b01: one counter open, four A tickets, two served (ratings 5 and 2) after a
    wait of over 15 min (A's target), two still waiting past it. b02: one C ticket and
    counter 4 (C's only one) closed. b03: one served ticket (not the regional's)."""
    with hq.client("teller1") as teller:
        assert teller.post("/branches/b01/counters/1/open").status_code == 200
    for _ in range(4):
        issue(hq, "b01", "A")
    clock.advance(16 * 60)
    serve(hq, clock, "b01", 5)
    serve(hq, clock, "b01", 2)
    with hq.client("teller1") as teller:
        assert teller.post("/branches/b01/counters/1/close").status_code == 200
    issue(hq, "b02", "C", "kiosk-token-1")
    with hq.client("teller1") as teller:
        assert teller.post("/branches/b03/counters/1/open").status_code == 200
    issue(hq, "b03", "A", "kiosk-token-2")
    serve(hq, clock, "b03", 4)


def overview(hq: LiveServer, who: str) -> Any:
    with hq.client(who) as client:
        response = client.get("/overview")
    assert response.status_code == 200, response.text
    return response.json()


def test_overview_of_the_regionals_branches(hq: LiveServer, clock: FakeClock) -> None:
    fill(hq, clock)
    rows = eventually(
        lambda: overview(hq, REGIONAL), lambda r: bool(r) and r[0]["served_today"] == 2
    )
    assert [r["branch"] for r in rows] == ["b01", "b02"]  # not b03: not one of theirs
    b01, b02 = rows
    assert b01["waiting"] == 2 and b01["open_counters"] == 0 and b01["counters"] == 4
    assert b01["longest_wait_s"] == 16 * 60 + 3 * 120  # the clock moved 3 services on
    assert b01["served_today"] == 2 and b01["within_target_pct"] == 0.0
    assert b01["satisfied_pct"] == 50.0 and b01["ratings_today"] == 2
    kinds = {(a["kind"], a["service"]) for a in b01["alerts"]}
    assert ("over_target", "A") in kinds and ("no_open_counter", "A") in kinds
    assert b02["waiting"] == 1 and b02["served_today"] == 0 and b02["satisfied_pct"] is None
    (alert,) = b02["alerts"]
    assert alert["kind"] == "no_open_counter" and alert["service"] == "C"
    assert alert["counters"] == [
        {"number": "4", "name": alert["counters"][0]["name"], "state": "closed"}
    ]
    everyone = eventually(lambda: overview(hq, "admin"), lambda r: len(r) == 3)
    assert [r["branch"] for r in everyone] == ["b01", "b02", "b03"]
    assert everyone[2]["served_today"] == 1 and everyone[2]["satisfied_pct"] == 100.0


def test_overview_equals_the_logs_report_of_today(hq: LiveServer, clock: FakeClock) -> None:
    fill(hq, clock)
    assert hq.store is not None
    rows = eventually(lambda: overview(hq, "admin"), lambda r: r[0]["served_today"] == 2)
    for row in rows:
        branch = hq.store.config.branch(row["branch"])
        assert branch is not None
        with hq.store.read() as session:
            totals = branch_report(
                session,
                branch=branch,
                group_by="service",
                span=parse_range(branch, None, None, clock()),
            ).totals
        assert row["served_today"] == totals["served"]
        assert row["within_target_pct"] == totals["within_target_pct"]
        assert row["satisfied_pct"] == totals["satisfied_pct"]
        assert row["ratings_today"] == totals["ratings"]


def test_who_may_see_the_overview(hq: LiveServer) -> None:
    assert httpx.get(f"{hq.api}/overview").status_code == 401
    for who in ("manager", "teller1", "kiosk"):
        with hq.client(who) as client:
            response = client.get("/overview")
        assert response.status_code == 403, who
        assert response.json()["error"]["code"] == "regional_only"


def test_regional_reads_its_branches_and_changes_nothing(hq: LiveServer, clock: FakeClock) -> None:
    with hq.client(REGIONAL) as region:
        assert region.get("/branches/b01/stats").status_code == 200
        assert region.get("/branches/b02/stats.csv").status_code == 200
        refused = region.get("/branches/b03/stats")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_your_branch"
        for method, path, body in (
            ("POST", "/branches/b01/tickets", {"service": "A"}),
            ("POST", "/branches/b01/counters/1/open", None),
            ("PUT", "/branches/b01/notice", {"zh": "x", "en": "x"}),
        ):
            response = region.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"]["code"] == "read_only_role"
        assert region.get("/branches/b01/queue").status_code == 200
    with hq.client("teller1") as teller:  # tellers still read no statistics
        assert teller.get("/branches/b01/stats").status_code == 403


def test_comparison_and_its_csv(hq: LiveServer, clock: FakeClock) -> None:
    fill(hq, clock)
    day = clock().astimezone(hq.config.branches[0].zone).date().isoformat()
    with hq.client(REGIONAL) as region:
        table = region.get("/overview/compare", params={"from": day, "to": day}).json()
        csv = region.get("/overview/compare.csv", params={"from": day, "to": day})
        bad = region.get("/overview/compare", params={"from": "yesterday"})
    assert [r["key"] for r in table["rows"]] == ["b01", "b02"]
    b01 = table["rows"][0]
    assert b01["issued"] == 4 and b01["served"] == 2 and b01["wait_p90_s"] == 16 * 60 + 120
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("branch,name,issued,served")
    assert lines[1].startswith("b01,福田支行 / Futian,4,2,") and len(lines) == 3
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_date"


def test_a_config_naming_an_unknown_branch_is_refused(tmp_path: Path) -> None:
    data = hq_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path).model_dump(exclude={"source"})
    data["users"][-1]["branches"] = ["zz99"]
    with pytest.raises(ConfigError, match="zz99"):
        parse_config(data, source="<t>")
